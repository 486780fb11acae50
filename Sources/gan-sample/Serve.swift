import ArgumentParser
import Foundation
import GANCheckpoint
import GANCommandLine
import GANHDF5
import GANServe
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// `serve`'s options are read-only once parsed; the server task reads them from another thread.
struct Serve: ParsableCommand, @unchecked Sendable {
    static let configuration = CommandConfiguration(
        abstract: "Serve checkpoints over HTTP with the Open Inference Protocol (KServe v2 REST).",
        discussion: """
        Each RUN_OR_CHECKPOINT is served as NAME-g (generator) and NAME-d (discriminator), NAME being \
        --name (in order) or the run directory's name. Endpoints: GET /v2/health/live, \
        /v2/health/ready, /v2, /v2/models/MODEL, /v2/models/MODEL/ready, /metrics (Prometheus); \
        POST /v2/models/NAME-g/infer (inputs seed and count INT64 [1] -- the samples of \
        `gan-sample generate CHECKPOINT --seed S -n COUNT` -- or z FP32 [n, noise dimension]; output \
        samples FP32 [n, sample shape] in data units), POST /v2/models/NAME-d/infer (input x FP32 \
        [n, sample shape] in data units; output probability FP32 [n], or critic for a WGAN critic, \
        as `gan-sample score` writes); GET /v2/models/NAME-g/generate?count=&seed=&format=png|npy|csv. \
        Bodies may use the binary tensor extension (Inference-Header-Content-Length). Errors are \
        {"error": "..."} with status 400, 401, 404, 413 or 503.

        Concurrent requests to one model share a forward pass only where that changes no bit of \
        any answer (networks whose products all run on the SmallGEMM kernel); otherwise each \
        request's pass is its own. A newer checkpoint written into a served run directory is \
        loaded in the background and swapped in; a damaged one is logged and ignored. SIGTERM or \
        SIGINT stops accepting connections, finishes the requests in flight and exits 0. One \
        access-log line per request goes to stderr.

        Examples:
          gan-sample serve Checkpoints/fashion-mlp-sn
          gan-sample serve Checkpoints/ring8 Checkpoints/grid25 --port 9000 --threads 2
          gan-sample serve Checkpoints/fashion-mlp-sn --host 0.0.0.0 --token-file token.txt
        """)

    @Argument(help: "Run directories, stage directories or checkpoint files.")
    var sources: [String]

    @Option(name: .customLong("name"), help: "Name of the corresponding RUN_OR_CHECKPOINT (repeat in order; default: the run directory's name).")
    var names: [String] = []

    @Option(help: "Address to listen on (default loopback only).")
    var host = "127.0.0.1"

    @Option(help: "TCP port (0: any free port; the chosen one is printed).")
    var port = 8080

    @OptionGroup var compute: ThreadsOption

    @Option(help: "Most rows of one merged forward pass.")
    var maxBatch = 256

    @Option(help: "Most milliseconds a request waits for others to share its forward pass (0: none; requests that arrive while a pass runs share the next one).")
    var maxDelayMs: Double = 0

    @Option(help: "Most samples (generate) or rows (score) per request.")
    var maxCount = 4096

    @Option(help: "Largest request body, in MiB.")
    var maxBodyMb: Double = 16

    @Option(help: "File holding the bearer token every request but the health probes must carry (Authorization: Bearer TOKEN).")
    var tokenFile: String?

    @Option(help: "Seconds between looks for newer checkpoints (0: no hot reload).")
    var reloadInterval: Double = 2

    func validate() throws {
        guard !sources.isEmpty else { throw ValidationError("give at least one RUN_OR_CHECKPOINT") }
        guard names.count <= sources.count else { throw ValidationError("\(names.count) --name for \(sources.count) RUN_OR_CHECKPOINT") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535, got \(port)") }
        guard maxBatch >= 1 else { throw ValidationError("--max-batch must be at least 1, got \(maxBatch)") }
        guard maxDelayMs >= 0, maxDelayMs <= 10_000 else { throw ValidationError("--max-delay-ms must be in 0...10000, got \(maxDelayMs)") }
        guard maxCount >= 1, maxCount <= 1 << 20 else { throw ValidationError("--max-count must be in 1...\(1 << 20), got \(maxCount)") }
        guard maxBodyMb > 0, maxBodyMb <= 4096 else { throw ValidationError("--max-body-mb must be in (0, 4096], got \(maxBodyMb)") }
        guard reloadInterval >= 0 else { throw ValidationError("--reload-interval must be at least 0, got \(reloadInterval)") }
    }

    func run() throws {
        compute.apply(forServing: true)   // also bounds malloc's retention of request-sized buffers
        let token = try tokenFile.map(Self.readToken)
        var runs: [ServedRun] = []
        for (k, source) in sources.enumerated() {
            let name = k < names.count ? names[k] : ServedRun.defaultName(for: source)
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                throw fail("\(source): \"\(name)\" cannot name a model (letters, digits, - _ . only); give --name")
            }
            guard !runs.contains(where: { $0.name == name }) else { throw fail("two runs are named \"\(name)\"; give --name") }
            let loaded = try reportingUserErrors {
                do {
                    let (c, warnings) = try LoadedCheckpoint.open(source)
                    warnings.forEach(warn)
                    return c
                } catch let e as HDF5Error {
                    throw SampleError(e.description)
                }
            }
            runs.append(ServedRun(name: name, source: source, checkpoint: loaded))
        }
        let options = self
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do { try await options.serve(runs, token: token) } catch { outcome.error = error }
            done.signal()
        }
        done.wait()
        if let error = outcome.error { throw fail("\(error)") }
    }

    /// Where the detached server task leaves its error for `run`.
    final class Outcome: @unchecked Sendable {
        var error: (any Error)?
    }

    static func readToken(_ path: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw fail("\(path): cannot read the token file") }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty, !token.contains(where: \.isNewline) else { throw fail("\(path): the token file must hold one non-empty line") }
        return token
    }

    func serve(_ runs: [ServedRun], token: String?) async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let logger = Logger(label: "gan-sample")
        let metrics = ServeMetrics(modelNames: runs.flatMap { [$0.name + "-g", $0.name + "-d"] })
        let maxBody = Int(maxBodyMb * 1024 * 1024)
        let service = InferenceService(runs: runs, limits: ServeLimits(maxCount: maxCount, maxBodyBytes: maxBody),
                                       batchLimits: .init(maxRows: maxBatch, maxDelay: maxDelayMs / 1000), metrics: metrics)
        service.batcher.start()
        // One event-loop thread: the sockets need little, the compute thread and Swift's pool the rest.
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var services: [any Service] = []
        if reloadInterval > 0 {
            services.append(CheckpointReloader(runs: runs, service: service, interval: reloadInterval, logger: logger))
        }
        let host = host
        let app = Application(
            router: ServeRoutes.router(service, token: token, logger: logger),
            server: .http1(configuration: .init(additionalChannelHandlers: [ServeChannelHandler(maxBodyBytes: maxBody, token: token)])),
            configuration: .init(address: .hostname(host, port: port), serverName: "gan-sample"),
            services: services,
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                let served = runs.map { "\($0.name)-g, \($0.name)-d (\($0.current.stage) step \($0.current.step))" }.joined(separator: "; ")
                note("serving \(served) on http://\(host):\(port)")
            },
            eventLoopGroupProvider: .shared(loops),
            logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            service.batcher.stop()
            throw error
        }
        service.batcher.stop()  // after the server has answered every request in flight
        try await loops.shutdownGracefully()
        note("stopped")
    }
}
