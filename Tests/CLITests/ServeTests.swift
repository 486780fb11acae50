import Foundation
import Testing

/// `gan-sample serve` end to end: the built binary on a free loopback port, driven over HTTP.
@Suite(.serialized) struct ServeTests {
    let dir: URL

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("serve-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    func generateCLI(_ ck: URL, seed: Int, n: Int) throws -> [Float] {
        let r = try CLI.run(try #require(ImageFixture.binary), ["generate", ck.path, "--seed", "\(seed)", "-n", "\(n)", "-o", "-"])
        try #require(r.status == 0, "\(r.stderr)")
        return OIP.csv(r.stdout)
    }

    func scoreCLI(_ ck: URL, _ rows: [Float], features: Int) throws -> [Float] {
        let csv = dir.appendingPathComponent("rows-\(UUID().uuidString).csv")
        let text = stride(from: 0, to: rows.count, by: features).map { rows[$0..<$0 + features].map(\.description).joined(separator: ",") }
        try (text.joined(separator: "\n") + "\n").write(to: csv, atomically: true, encoding: .utf8)
        let r = try CLI.run(try #require(ImageFixture.binary), ["score", ck.path, csv.path])
        try #require(r.status == 0, "\(r.stderr)")
        return OIP.csv(r.stdout)
    }

    static func bits(_ v: [Float]) -> [UInt32] { v.map(\.bitPattern) }

    /// Every endpoint answers, and the answers are those of `generate` and `score`, bit for bit,
    /// for a vector model and an image model.
    @Test func endpointsAnswerWithTheValuesOfGenerateAndScore() throws {
        let vector = try GANSampleGenerateScoreTests.makeCheckpoint(dir, name: "vec.h5")
        let image = try ImageFixture.makeCheckpoint(dir, ImageFixture.grey, name: "img.h5")
        let server = try ServeProcess([vector.path, image.path, "--name", "vec", "--name", "img"])

        #expect(try server.request("GET", "/v2/health/live").status == 200)
        #expect(try server.request("GET", "/v2/health/ready").status == 200)
        let meta = try server.request("GET", "/v2")
        #expect(meta.status == 200 && meta.text.contains("\"binary_tensor_data\""))
        for model in ["vec-g", "vec-d", "img-g", "img-d"] {
            #expect(try server.request("GET", "/v2/models/\(model)/ready").status == 200)
        }
        let g = try server.request("GET", "/v2/models/img-g")
        #expect(g.text.contains("{\"name\":\"samples\",\"datatype\":\"FP32\",\"shape\":[-1,1,28,28]}"), "\(g.text)")
        #expect(g.text.contains("\"stage\":\"train\",\"step\":5"))
        let d = try server.request("GET", "/v2/models/vec-d")
        #expect(d.text.contains("{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[-1,2]}") && d.text.contains("\"probability\""), "\(d.text)")

        for (model, ck, features) in [("vec", vector, 2), ("img", image, 784)] {
            for (seed, n) in [(0, 1), (7, 5), (3, 64)] {
                let answer = try server.infer("\(model)-g", OIP.generate(seed: seed, count: n))
                #expect(answer.status == 200, "\(answer.text.prefix(300))")
                let samples = answer.floats
                #expect(samples.count == n * features)
                #expect(Self.bits(samples) == Self.bits(try generateCLI(ck, seed: seed, n: n)), "\(model) seed \(seed) n \(n)")
                let shape = model == "vec" ? [n, 2] : [n, 1, 28, 28]
                let scored = try server.infer("\(model)-d", OIP.tensor("x", shape: shape, samples))
                #expect(scored.status == 200, "\(scored.text.prefix(300))")
                #expect(Self.bits(scored.floats) == Self.bits(try scoreCLI(ck, samples, features: features)))
            }
        }
        // Explicit z: the seed's own noise given as z gives the seed's samples.
        let byZ = try server.infer("vec-g", OIP.tensor("z", shape: [2, 3], [-0.6, 1.2, 0.3, 2.5, -1, 0]))
        #expect(byZ.status == 200 && byZ.floats.count == 4)
        #expect(Self.bits(byZ.floats) == Self.bits(try GANSampleGenerateScoreTests.expectedGenerator(vector, z: [-0.6, 1.2, 0.3, 2.5, -1, 0])))

        // The convenience route: files with their content types, the same samples.
        let csv = try server.request("GET", "/v2/models/vec-g/generate?count=5&seed=7&format=csv")
        #expect(csv.status == 200 && csv.headers["content-type"] == "text/csv")
        #expect(Self.bits(OIP.csv(csv.text)) == Self.bits(try generateCLI(vector, seed: 7, n: 5)))
        let png = try server.request("GET", "/v2/models/img-g/generate?count=16&seed=1")
        #expect(png.status == 200 && png.headers["content-type"] == "image/png" && Array(png.body.prefix(4)) == [0x89, 0x50, 0x4E, 0x47])
        let cliPNG = dir.appendingPathComponent("grid.png")
        let r = try CLI.run(try #require(ImageFixture.binary), ["generate", image.path, "--seed", "1", "-n", "16", "-o", cliPNG.path])
        #expect(r.status == 0)
        #expect(png.body == (try ImageFixture.bytes(cliPNG)))
        let npy = try server.request("GET", "/v2/models/img-g/generate?count=2&format=npy")
        #expect(npy.status == 200 && Array(npy.body.prefix(6)) == [0x93] + Array("NUMPY".utf8))

        let metrics = try server.request("GET", "/metrics")
        #expect(metrics.status == 200 && metrics.text.contains("gan_serve_checkpoint_step{model=\"img-g\"} 5.0"))
        #expect(metrics.text.contains("gan_serve_requests_total{model=\"vec-g\",endpoint=\"infer\",status=\"200\"}"))
    }

    /// The binary tensor extension: raw little-endian inputs and outputs, the same values as JSON.
    @Test func binaryTensorExtensionCarriesTheSameValues() throws {
        let vector = try GANSampleGenerateScoreTests.makeCheckpoint(dir, name: "vec.h5")
        let server = try ServeProcess([vector.path, "--name", "v"])
        let json = try server.infer("v-g", OIP.generate(seed: 4, count: 3))
        let header = Array(OIP.generate(seed: 4, count: 3, extra: ",\"outputs\":[{\"name\":\"samples\",\"parameters\":{\"binary_data\":true}}]").utf8)
        let binary = try server.request("POST", "/v2/models/v-g/infer", headers: ["Inference-Header-Content-Length": "\(header.count)"], body: header)
        #expect(binary.status == 200 && binary.headers["content-type"] == "application/octet-stream")
        let length = try #require(binary.headers["inference-header-content-length"].flatMap { Int($0) })
        let raw = Array(binary.body[length...])
        let values = raw.withUnsafeBytes { p in (0..<raw.count / 4).map { Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) } }
        #expect(Self.bits(values) == Self.bits(json.floats))
        #expect(String(decoding: binary.body[..<length], as: UTF8.self).contains("\"binary_data_size\":24"))

        // A binary input to D: the samples' bytes.
        let scoreHeader = Array("{\"inputs\":[{\"name\":\"x\",\"shape\":[3,2],\"datatype\":\"FP32\",\"parameters\":{\"binary_data_size\":24}}]}".utf8)
        let scored = try server.request("POST", "/v2/models/v-d/infer", headers: ["Inference-Header-Content-Length": "\(scoreHeader.count)"],
                                        body: scoreHeader + raw)
        let viaJSON = try server.infer("v-d", OIP.tensor("x", shape: [3, 2], json.floats))
        #expect(scored.status == 200 && Self.bits(scored.floats) == Self.bits(viaJSON.floats))
    }

    /// Bodies of any framing and size get the same answers: a chunked body (no Content-Length,
    /// collected as it comes) and, through the server's pool of body blocks, a short body read
    /// into the block a longer one left behind.
    @Test func bodiesOfEveryFramingAndSizeGetTheSameAnswers() throws {
        let vector = try GANSampleGenerateScoreTests.makeCheckpoint(dir, name: "vec.h5")
        let server = try ServeProcess([vector.path, "--name", "v"])
        let rows: [Float] = [0.5, 1.5, -2, 3, 0.25, 0]
        let short = try server.infer("v-d", OIP.tensor("x", shape: [3, 2], rows))
        let cli = try scoreCLI(vector, rows, features: 2)
        #expect(short.status == 200 && Self.bits(short.floats) == Self.bits(cli))

        // Chunked: the body in three chunks of 7 bytes, the rest, and the last (empty) chunk.
        let json = Array(OIP.tensor("x", shape: [3, 2], rows).utf8)
        var raw = Array("POST /v2/models/v-d/infer HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        var start = 0
        for size in [7, 7, 7, json.count - 21] {
            raw += Array((String(size, radix: 16) + "\r\n").utf8) + json[start..<(start + size)] + Array("\r\n".utf8)
            start += size
        }
        raw += Array("0\r\n\r\n".utf8)
        let fd = try HTTPAnswer.connect(port: server.port)
        defer { close(fd) }
        try HTTPAnswer.write(fd, raw)
        let chunked = try HTTPAnswer.read(fd)
        #expect(chunked.status == 200 && Self.bits(chunked.floats) == Self.bits(short.floats), "\(chunked.status) \(chunked.text)")

        // 3,000 rows (~40 KB of JSON), then the 3 rows again: the short text is read from the
        // start of the long one's block and ends where its Content-Length says.
        var many: [Float] = []
        for i in 0..<3000 { many += [Float(i % 7) * 0.25 - 0.5, Float(i % 5) * 0.5] }
        let long = try server.infer("v-d", OIP.tensor("x", shape: [3000, 2], many))
        #expect(long.status == 200 && long.floats.count == 3000)
        let again = try server.infer("v-d", OIP.tensor("x", shape: [3, 2], rows))
        #expect(again.status == 200 && Self.bits(again.floats) == Self.bits(short.floats))
    }

    /// A WGAN critic answers `critic` values (the raw outputs), as `score` writes them.
    @Test func wassersteinCriticAnswersCriticValues() throws {
        let critic = try GANSampleGenerateScoreTests.makeCheckpoint(dir, name: "wgan.h5", config: "loss:\n  objective: wasserstein\n")
        let server = try ServeProcess([critic.path, "--name", "w"])
        #expect(try server.request("GET", "/v2/models/w-d").text.contains("{\"name\":\"critic\",\"datatype\":\"FP32\",\"shape\":[-1]}"))
        let rows: [Float] = [0.5, 1.5, -2, 3, 0.25, 0]
        let answer = try server.infer("w-d", OIP.tensor("x", shape: [3, 2], rows))
        #expect(answer.status == 200 && answer.text.contains("\"name\":\"critic\""))
        #expect(Self.bits(answer.floats) == Self.bits(try scoreCLI(critic, rows, features: 2)))
    }

    /// Bad requests get their status and `{"error": ...}`, and the server keeps serving.
    @Test func badRequestsAreAnsweredAndTheServerStaysUp() throws {
        let vector = try GANSampleGenerateScoreTests.makeCheckpoint(dir, name: "vec.h5")
        let server = try ServeProcess([vector.path, "--name", "v", "--max-count", "100", "--max-body-mb", "0.01"])
        let x = "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,2],\"datatype\":\"FP32\",\"data\":[NaN,1]}]}"
        let cases: [(String, Int, () throws -> HTTPAnswer)] = [
            ("malformed JSON", 400, { try server.infer("v-g", "{\"inputs\":[") }),
            ("empty body", 400, { try server.infer("v-g", "") }),
            ("not an object", 400, { try server.infer("v-g", "[1,2]") }),
            ("unknown model, text body", 404, { try server.request("POST", "/v2/models/nope/infer", headers: ["Content-Type": "text/plain"], body: Array("hi".utf8)) }),
            ("unknown model metadata", 404, { try server.request("GET", "/v2/models/nope") }),
            ("unknown model ready", 404, { try server.request("GET", "/v2/models/nope/ready") }),
            ("unknown endpoint", 404, { try server.request("GET", "/v3/everything") }),
            ("unknown input name", 400, { try server.infer("v-g", OIP.tensor("noise", shape: [1, 3], [0, 0, 0])) }),
            ("seed as FP32", 400, { try server.infer("v-g", "{\"inputs\":[{\"name\":\"seed\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]},{\"name\":\"count\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[1]}]}") }),
            ("seed of shape [2]", 400, { try server.infer("v-g", "{\"inputs\":[{\"name\":\"seed\",\"shape\":[2],\"datatype\":\"INT64\",\"data\":[1,2]},{\"name\":\"count\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[1]}]}") }),
            ("count 0", 400, { try server.infer("v-g", OIP.generate(seed: 1, count: 0)) }),
            ("count over --max-count", 400, { try server.infer("v-g", OIP.generate(seed: 1, count: 101)) }),
            ("negative seed", 400, { try server.infer("v-g", OIP.generate(seed: -1, count: 1)) }),
            ("z of the wrong width", 400, { try server.infer("v-g", OIP.tensor("z", shape: [1, 2], [0, 0])) }),
            ("x of the wrong shape", 400, { try server.infer("v-d", OIP.tensor("x", shape: [1, 3], [0, 0, 0])) }),
            ("x with NaN", 400, { try server.infer("v-d", x) }),
            ("data shorter than the shape", 400, { try server.infer("v-d", OIP.tensor("x", shape: [2, 2], [0, 0, 0])) }),
            ("unknown requested output", 400, { try server.infer("v-g", OIP.generate(seed: 1, count: 1, extra: ",\"outputs\":[{\"name\":\"images\"}]")) }),
            ("binary header longer than the body", 400, { try server.request("POST", "/v2/models/v-g/infer", headers: ["Inference-Header-Content-Length": "999"], body: Array("{}".utf8)) }),
            ("body over --max-body-mb", 413, { try server.infer("v-d", OIP.tensor("x", shape: [2000, 2], [Float](repeating: 0.25, count: 4000))) }),
            ("generate?format=gif", 400, { try server.request("GET", "/v2/models/v-g/generate?format=gif") }),
            ("generate on a discriminator", 400, { try server.request("GET", "/v2/models/v-d/generate") }),
            ("generate?count=many", 400, { try server.request("GET", "/v2/models/v-g/generate?count=many") }),
        ]
        for (what, status, send) in cases {
            let answer = try send()
            #expect(answer.status == status, "\(what): \(answer.status) \(answer.text)")
            #expect(answer.error?.isEmpty == false, "\(what): no {\"error\": ...} in \(answer.text)")
            #expect(answer.headers["content-type"] == "application/json", "\(what)")
        }
        #expect(server.child.isRunning)
        let ok = try server.infer("v-g", OIP.generate(seed: 1, count: 2))
        #expect(ok.status == 200 && ok.floats.count == 4)
        #expect(try server.metric("gan_serve_requests_total{model=\"v-g\",endpoint=\"infer\",status=\"400\"}") ?? 0 >= 10)
    }

    /// With --token-file every request but the health probes needs `Authorization: Bearer TOKEN`.
    @Test func tokenIsEnforced() throws {
        let vector = try GANSampleGenerateScoreTests.makeCheckpoint(dir, name: "vec.h5")
        let tokenFile = dir.appendingPathComponent("token")
        try "s3cret-token\n".write(to: tokenFile, atomically: true, encoding: .utf8)
        let server = try ServeProcess([vector.path, "--name", "v", "--token-file", tokenFile.path])
        let body = OIP.generate(seed: 1, count: 1)
        #expect(try server.infer("v-g", body).status == 401)
        #expect(try server.infer("v-g", body, headers: ["Authorization": "Bearer s3cret-tokeX"]).status == 401)
        #expect(try server.infer("v-g", body, headers: ["Authorization": "s3cret-token"]).status == 401)
        #expect(try server.request("GET", "/v2/models/v-g").status == 401)
        #expect(try server.request("GET", "/metrics").status == 401)
        #expect(try server.request("GET", "/v2/health/ready").status == 200)
        let ok = try server.infer("v-g", body, headers: ["Authorization": "Bearer s3cret-token"])
        #expect(ok.status == 200 && ok.floats.count == 2)
        #expect(try server.request("GET", "/v2/models/v-g", headers: ["Authorization": "Bearer s3cret-token"]).status == 200)
    }
}
