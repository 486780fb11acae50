import Foundation
import GANCheckpoint
import Testing

/// `gan-sample serve` under concurrency and over time: batching, hot reload, shutdown, uploads.
@Suite(.serialized) struct ServeLifecycleTests {
    let dir: URL

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("serve-life-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    /// Runs `body(k)` for k in 0..<n, each on a thread of its own, all at once (a start gate
    /// releases them together); returns the results in order.
    static func concurrently<T: Sendable>(_ n: Int, _ body: @escaping @Sendable (Int) throws -> T) -> [Result<T, any Error>] {
        let box = ResultBox<T>(n)
        let gate = DispatchSemaphore(value: 0), done = DispatchGroup()
        for k in 0..<n {
            done.enter()
            Thread {
                gate.wait()
                box.set(k, Result { try body(k) })
                done.leave()
            }.start()
        }
        for _ in 0..<n { gate.signal() }
        done.wait()
        return box.all
    }

    /// Concurrent requests to a model whose products run on SmallGEMM share forward passes
    /// (visible in /metrics), and every answer is the bits of the same request sent alone.
    @Test func concurrentRequestsAreBatchedWithAnswersIdenticalToSingleRequests() throws {
        let ck = try GANSampleGenerateScoreTests.makeCheckpoint(dir, name: "vec.h5")
        let server = try ServeProcess([ck.path, "--name", "v", "--max-delay-ms", "100", "--max-batch", "512"])
        #expect(try server.request("GET", "/v2/models/v-g").text.contains("\"merge_rows\":512"))
        let requests = (0..<24).map { (seed: $0 * 7 + 1, count: 1 + $0 % 9) }
        let alone = try requests.map { try server.infer("v-g", OIP.generate(seed: $0.seed, count: $0.count)).floats }
        let passesBefore = try #require(try server.metric("gan_serve_forward_passes_total{model=\"v-g\"}"))
        let port = server.port
        let together = Self.concurrently(requests.count) { k in
            try HTTPAnswer.send(port: port, "POST", "/v2/models/v-g/infer",
                                body: Array(OIP.generate(seed: requests[k].seed, count: requests[k].count).utf8))
        }
        for (k, r) in together.enumerated() {
            let answer = try r.get()
            #expect(answer.status == 200)
            #expect(answer.floats.map(\.bitPattern) == alone[k].map(\.bitPattern), "request \(k)")
        }
        let passes = try #require(try server.metric("gan_serve_forward_passes_total{model=\"v-g\"}")) - passesBefore
        #expect(passes < Double(requests.count), "\(passes) passes for \(requests.count) concurrent requests: nothing was merged")
        let single = try #require(try server.metric("gan_serve_batch_requests_bucket{model=\"v-g\",le=\"1.0\"}"))
        let all = try #require(try server.metric("gan_serve_batch_requests_count{model=\"v-g\"}"))
        #expect(all > single, "every pass served one request")

        // D: merged passes give the bits of single ones too.
        let rows = alone.prefix(8).map { Array($0.prefix(2)) }
        let scoreAlone = try rows.map { try server.infer("v-d", OIP.tensor("x", shape: [1, 2], $0)).floats }
        let scoreTogether = Self.concurrently(rows.count) { k in
            try HTTPAnswer.send(port: port, "POST", "/v2/models/v-d/infer", body: Array(OIP.tensor("x", shape: [1, 2], rows[k]).utf8)).floats
        }
        for k in rows.indices { #expect(try scoreTogether[k].get().map(\.bitPattern) == scoreAlone[k].map(\.bitPattern)) }
    }

    /// An image MLP (a product too large for SmallGEMM at one row) is merged only where that product
    /// runs on oneDNN's matmul (AVX-512 CPUs, one thread: row-invariant, up to 64 rows); on
    /// OpenBLAS each request keeps a pass of its own. Either way concurrent answers equal single ones.
    @Test func imageMLPsMergeOnlyOnRowInvariantProducts() throws {
        let ck = try ImageFixture.makeCheckpoint(dir, ImageFixture.grey, name: "img.h5")
        let server = try ServeProcess([ck.path, "--name", "i", "--max-delay-ms", "200"])
        let metadata = try server.request("GET", "/v2/models/i-g").text
        let merged = metadata.contains("\"merge_rows\":64")
        #expect(merged || metadata.contains("\"merge_rows\":1"), "\(metadata)")
        let counts = [1, 3, 12, 13, 20, 1, 7, 64]
        let alone = try counts.enumerated().map { try server.infer("i-g", OIP.generate(seed: $0.offset, count: $0.element)).floats }
        let passesBefore = try #require(try server.metric("gan_serve_forward_passes_total{model=\"i-g\"}"))
        let port = server.port
        let together = Self.concurrently(counts.count) { k in
            try HTTPAnswer.send(port: port, "POST", "/v2/models/i-g/infer", body: Array(OIP.generate(seed: k, count: counts[k]).utf8)).floats
        }
        for k in counts.indices { #expect(try together[k].get().map(\.bitPattern) == alone[k].map(\.bitPattern)) }
        let passes = try #require(try server.metric("gan_serve_forward_passes_total{model=\"i-g\"}")) - passesBefore
        if merged {
            #expect(passes < Double(counts.count), "\(passes) passes for \(counts.count) concurrent requests: nothing was merged")
        } else {
            #expect(try server.metric("gan_serve_batch_requests_bucket{model=\"i-g\",le=\"1.0\"}")
                    == (try server.metric("gan_serve_batch_requests_count{model=\"i-g\"}")))
        }
    }

    /// While a pipeline trains, the server picks up each newer checkpoint (metadata shows the
    /// step) and every request succeeds.
    @Test func hotReloadFollowsATrainingRun() throws {
        let pipeline = try #require(CLI.binary("gan-pipeline"), "gan-pipeline is not built")
        let run = dir.appendingPathComponent("g1")
        let yaml = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Pipelines/gaussian-1d.yaml").standardized
        let training = try Child(pipeline.path, ["run", yaml.path, "--run-dir", run.path, "--quiet", "--stages", "prep,pretrain-d,train",
                                                 "--set", "train.steps=3000", "--set", "train.checkpoint_every=100"])
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, (try? CheckpointLocator.open(run.path)) == nil { usleep(20_000) }
        let server = try ServeProcess([run.path, "--reload-interval", "0.05"])
        var steps: [String] = [], failures = 0
        while training.isRunning || steps.last != "train 3000", Date() < deadline {
            let meta = try server.request("GET", "/v2/models/g1-g")
            let answer = try server.infer("g1-g", OIP.generate(seed: 3, count: 5))
            if meta.status != 200 || answer.status != 200 || answer.floats.count != 5 { failures += 1 }
            let stage = meta.text.contains("\"stage\":\"train\"") ? "train" : "pretrain-d"
            let step = meta.text.range(of: "\"step\":").map { String(meta.text[$0.upperBound...].prefix { $0.isNumber }) } ?? "?"
            if steps.last != "\(stage) \(step)" { steps.append("\(stage) \(step)") }
            usleep(20_000)
        }
        #expect(training.exitCode == 0)
        #expect(failures == 0)
        #expect(steps.last == "train 3000", "\(steps)")
        #expect(steps.count >= 3, "reloads seen: \(steps)")
        #expect(try server.metric("gan_serve_checkpoint_step{model=\"g1-d\"}") == 3000)
        let final = try server.infer("g1-g", OIP.generate(seed: 3, count: 5)).floats
        let r = try CLI.run(try #require(ImageFixture.binary), ["generate", run.path, "--seed", "3", "-n", "5", "-o", "-"])
        #expect(final.map(\.bitPattern) == OIP.csv(r.stdout).map(\.bitPattern))
    }

    /// A damaged or partial newest file is logged and ignored; the old checkpoint keeps serving
    /// until a good newer one arrives.
    @Test func damagedCheckpointsAreIgnoredUntilAGoodOneArrives() throws {
        let stage = dir.appendingPathComponent("r/train")
        try FileManager.default.createDirectory(at: stage, withIntermediateDirectories: true)
        try GANSampleGenerateScoreTests.makeCheckpoint(stage, name: "step-00000042.h5")
        let server = try ServeProcess([dir.appendingPathComponent("r").path, "--reload-interval", "0.05"])
        let before = try server.infer("r-g", OIP.generate(seed: 1, count: 4)).floats
        let good = try Data(contentsOf: stage.appendingPathComponent("step-00000042.h5"))
        try good.prefix(good.count / 2).write(to: stage.appendingPathComponent("step-00000050.h5"))  // a truncated copy
        try FileManager.default.createSymbolicLink(atPath: stage.appendingPathComponent("latest.h5").path, withDestinationPath: "step-00000050.h5")
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, !server.child.errorOutput().contains("skipping damaged checkpoint") { usleep(20_000) }
        #expect(server.child.errorOutput().contains("skipping damaged checkpoint"), "\(server.child.errorOutput())")
        #expect(try server.request("GET", "/v2/models/r-g").text.contains("\"step\":42"))
        #expect(try server.infer("r-g", OIP.generate(seed: 1, count: 4)).floats.map(\.bitPattern) == before.map(\.bitPattern))

        // A good checkpoint at step 60 (other weights) is loaded.
        try GANSampleGenerateScoreTests.makeCheckpoint(stage, name: "step-00000060.h5", step: 60, initSeed: 99)
        try FileManager.default.removeItem(at: stage.appendingPathComponent("latest.h5"))
        try FileManager.default.createSymbolicLink(atPath: stage.appendingPathComponent("latest.h5").path, withDestinationPath: "step-00000060.h5")
        while Date() < deadline, !(try server.request("GET", "/v2/models/r-g").text.contains("\"step\":60")) { usleep(20_000) }
        #expect(try server.request("GET", "/v2/models/r-g").text.contains("\"step\":60"))
        #expect(try server.infer("r-g", OIP.generate(seed: 1, count: 4)).floats.map(\.bitPattern) != before.map(\.bitPattern))
        #expect(try server.metric("gan_serve_reloads_total{run=\"r\",result=\"loaded\"}") == 1)
    }

    /// SIGTERM while requests are being computed: each of them is answered, then the process
    /// exits 0. Six clients send a large request each at once; the server computes them one after
    /// another on its one compute thread, so when the first answer arrives the other five have
    /// long been accepted and are waiting or computing, and SIGTERM goes out then. (Clients that
    /// keep opening new connections race the signal: a connection still in the kernel's accept
    /// queue when the listener closes is reset, as with any server, and is not in flight.)
    @Test func sigtermFinishesRequestsInFlightAndExitsZero() throws {
        let ck = try ImageFixture.makeCheckpoint(dir, ImageFixture.grey, name: "img.h5")
        let server = try ServeProcess([ck.path, "--name", "i"])
        let port = server.port
        final class Flag: @unchecked Sendable {
            let lock = NSLock()
            var signalledAt = Date.distantFuture
            var signalled: Date { lock.withLock { signalledAt } }
        }
        let flag = Flag()
        let group = DispatchGroup()
        let results = ServeResults()
        let answered = DispatchSemaphore(value: 0)
        for k in 0..<6 {
            group.enter()
            Thread {
                defer { group.leave() }
                let started = Date()
                let r = Result { try HTTPAnswer.send(port: port, "POST", "/v2/models/i-g/infer", body: Array(OIP.generate(seed: k, count: 1024).utf8)) }
                let signalled = flag.signalled
                results.add(r, overlapsSignal: Date() > signalled && started < signalled)
                answered.signal()
            }.start()
        }
        answered.wait()  // the first answer: the other requests are in the server
        flag.lock.withLock { flag.signalledAt = Date() }
        server.child.signal(SIGTERM)
        group.wait()
        #expect(server.child.exitCode == 0, "\(server.child.errorOutput().suffix(500))")
        #expect(results.failures.isEmpty, "\(results.failures)")
        #expect(results.inFlightAtSignal > 0, "no request was in flight when SIGTERM arrived")
        #expect(server.child.errorOutput().contains("gan-sample: stopped"))
    }

    /// A body over the limit gets its 413: at once without a 100 Continue when the client asks
    /// (`Expect: 100-continue`), and after the upload (never a reset) when it does not.
    @Test func oversizedBodiesGet413WithoutAReset() throws {
        let ck = try GANSampleGenerateScoreTests.makeCheckpoint(dir, name: "vec.h5")
        let server = try ServeProcess([ck.path, "--name", "v", "--max-body-mb", "1"])
        let big = [UInt8](repeating: UInt8(ascii: " "), count: 8 << 20)

        // Expect: 100-continue and too large: the final 413 comes without an interim 100, and the
        // server ends its side; the body is never sent.
        let fd = try HTTPAnswer.connect(port: server.port)
        defer { close(fd) }
        try HTTPAnswer.write(fd, HTTPAnswer.head("POST", "/v2/models/v-g/infer", headers: ["Content-Length": "\(big.count)", "Expect": "100-continue"], bodyLength: big.count))
        let refused = try HTTPAnswer.read(fd)
        #expect(refused.status == 413 && refused.error?.contains("limit") == true, "\(refused.status) \(refused.text)")

        // Within the limit, Expect gets its 100 Continue (then the answer).
        let small = Array(OIP.generate(seed: 1, count: 1).utf8)
        let fd2 = try HTTPAnswer.connect(port: server.port)
        defer { close(fd2) }
        try HTTPAnswer.write(fd2, HTTPAnswer.head("POST", "/v2/models/v-g/infer", headers: ["Expect": "100-continue"], bodyLength: small.count))
        var interim = [UInt8](repeating: 0, count: 64)
        let n = interim.withUnsafeMutableBytes { recv(fd2, $0.baseAddress, $0.count, 0) }
        #expect(String(decoding: interim.prefix(max(n, 0)), as: UTF8.self).hasPrefix("HTTP/1.1 100 Continue"))
        try HTTPAnswer.write(fd2, small)
        #expect(try HTTPAnswer.read(fd2).status == 200)

        // No Expect: the whole 8 MiB goes up, the answer is 413, and the connection is not reset.
        let plain = try server.request("POST", "/v2/models/v-g/infer", body: big)
        #expect(plain.status == 413)
        #expect(try server.infer("v-g", OIP.generate(seed: 1, count: 1)).status == 200)
    }
}

/// Results written by several threads.
final class ResultBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<T, any Error>?]
    init(_ n: Int) { results = Array(repeating: nil, count: n) }
    func set(_ k: Int, _ r: Result<T, any Error>) { lock.withLock { results[k] = r } }
    var all: [Result<T, any Error>] { lock.withLock { results.map { $0! } } }
}

/// Outcomes of the shutdown test's clients.
final class ServeResults: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var failures: [String] = []
    private(set) var inFlightAtSignal = 0

    func add(_ r: Result<HTTPAnswer, any Error>, overlapsSignal: Bool) {
        lock.withLock {
            switch r {
            case .success(let a) where a.status == 200 && a.text.hasSuffix("]}]}"):
                if overlapsSignal { inFlightAtSignal += 1 }
            case .success(let a): failures.append("status \(a.status): \(a.text.prefix(200))")
            case .failure(let e): failures.append("\(e)")
            }
        }
    }
}
