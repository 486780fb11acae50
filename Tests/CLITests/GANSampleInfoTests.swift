import Foundation
import GANCheckpoint
import GANNN
import GANTestSupport
import Testing
@_spi(Testing) import GANTensor

/// End-to-end tests of `gan-sample info` on checkpoints written by the library.
@Suite struct GANSampleInfoTests {
    let sample = CLI.binary("gan-sample")

    /// A run directory with train/ checkpoints at steps 1...3 (keepLast 3) of a tiny GAN whose
    /// generator's first weight is filled with a recognisable value.
    static func makeRun(marker: Float = 1234.5678) throws -> URL {
        let run = try makeTemporaryDirectory("info-run")
        var rng = RNG(seed: 5, stream: .initialization)
        let g = Sequential(Linear(3, 64, rng: &rng), LeakyReLU(alpha: 0.2), Linear(64, 2, rng: &rng))
        let d = Sequential(Linear(2, 8, rng: &rng), ReLU(), Linear(8, 1, rng: &rng))
        g.layers[0].parameters[0].value.fill(marker)
        let optG = Adam(parameters: g.parameters, learningRate: 1e-3)
        let store = CheckpointDirectory(run.appendingPathComponent("train"), keepLast: 3)
        for step in 1...3 {
            var c = TrainingCheckpoint(stage: .train, step: step,
                                       data: DataDescription(sampleShape: [2], noiseDimension: 3),
                                       networks: [NetworkEntry("generator", g, optimizer: optG), NetworkEntry("discriminator", d)])
            c.history = [("step", (1...step).map(Double.init)), ("d_loss", (1...step).map { 1.0 / Double($0) })]
            c.rngs = [("noise", RNG(seed: 1))]
            try store.save(c)
        }
        return run
    }

    static func file(_ run: URL, step: Int) -> URL {
        run.appendingPathComponent("train").appendingPathComponent(CheckpointDirectory.fileName(step: step))
    }

    @Test func infoOnFileStageDirAndRunDir() throws {
        let bin = try #require(sample, "build gan-sample first (make test does)")
        let run = try Self.makeRun()
        defer { try? FileManager.default.removeItem(at: run) }
        for target in [Self.file(run, step: 3).path, run.appendingPathComponent("train").path, run.path] {
            let r = try CLI.run(bin, ["info", target])
            #expect(r.status == 0, "\(target): \(r.stderr)")
            #expect(r.stderr.isEmpty)
            #expect(r.stdout.contains("stage        train, step 3"))
            #expect(r.stdout.contains("generator  386 parameters, 3 layers"))  // 3·64 + 64 + 64·2 + 2
        }
    }

    @Test func jsonIsParseableAndComplete() throws {
        let bin = try #require(sample)
        let run = try Self.makeRun()
        defer { try? FileManager.default.removeItem(at: run) }
        let r = try CLI.run(bin, ["info", run.path, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(obj["stage"] as? String == "train")
        #expect(obj["step"] as? Int == 3)
        #expect(obj["format_version"] as? Int == 1)
        let nets = try #require(obj["networks"] as? [String: Any])
        let g = try #require(nets["generator"] as? [String: Any])
        #expect(g["parameters"] as? Int == 3 * 64 + 64 + 64 * 2 + 2)
        #expect((g["optimizer"] as? [String: Any])?["kind"] as? String == "adam")
        #expect((nets["discriminator"] as? [String: Any])?["optimizer"] is NSNull)
        let metrics = try #require(obj["last_metrics"] as? [String: Any])
        #expect(metrics["d_loss"] as? Double == 1.0 / 3.0)
    }

    @Test func damagedNewestFallsBackThroughDirectoryButFailsWhenNamed() throws {
        let bin = try #require(sample)
        let run = try Self.makeRun()
        defer { try? FileManager.default.removeItem(at: run) }
        let newest = Self.file(run, step: 3)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: newest.path)[.size] as? Int)
        let h = try FileHandle(forWritingTo: newest)
        try h.truncate(atOffset: UInt64(size / 2))
        try h.close()

        let viaDir = try CLI.run(bin, ["info", run.path])
        #expect(viaDir.status == 0, "\(viaDir.stderr)")
        #expect(viaDir.stdout.contains("step 2"))
        #expect(viaDir.stderr.contains("warning") && viaDir.stderr.contains(newest.path))

        let named = try CLI.run(bin, ["info", newest.path])
        #expect(named.status == 2)
        #expect(named.stderr.split(separator: "\n").count == 1, "one line: \(named.stderr)")
        #expect(named.stderr.contains(newest.path))
        #expect(named.stdout.isEmpty)
    }

    @Test func flippedByteInsideWeightsIsDetected() throws {
        let bin = try #require(sample)
        let run = try Self.makeRun()
        defer { try? FileManager.default.removeItem(at: run) }
        let f = Self.file(run, step: 3)
        var bytes = try [UInt8](Data(contentsOf: f))
        var pattern: [UInt8] = []
        let v = Float(1234.5678).bitPattern
        for _ in 0..<8 { pattern += [UInt8(v & 255), UInt8(v >> 8 & 255), UInt8(v >> 16 & 255), UInt8(v >> 24)] }
        let at = try #require((0...(bytes.count - pattern.count)).first { bytes[$0..<($0 + pattern.count)].elementsEqual(pattern) },
                              "weight pattern not found in the file")
        bytes[at + 13] ^= 0x10
        try Data(bytes).write(to: f)
        let r = try CLI.run(bin, ["info", f.path])
        #expect(r.status == 2)
        #expect(r.stderr.split(separator: "\n").count == 1, "one line: \(r.stderr)")
        #expect(r.stderr.contains("Fletcher32"), "\(r.stderr)")
    }

    @Test(arguments: ["garbage", "", "missing"])
    func notACheckpointIsOneLineExit2(_ kind: String) throws {
        let bin = try #require(sample)
        let dir = try makeTemporaryDirectory("info-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("x.h5").path
        if kind != "missing" { try Data(kind.utf8).write(to: URL(fileURLWithPath: path)) }
        let r = try CLI.run(bin, ["info", path])
        #expect(r.status == 2)
        #expect(r.stderr.split(separator: "\n").count == 1, "one line: \(r.stderr)")
        #expect(r.stderr.hasPrefix("gan-sample: \(path)"))
    }

    @Test func emptyDirectoryAndLeftoverTmpAreHandled() throws {
        let bin = try #require(sample)
        let dir = try makeTemporaryDirectory("info-empty")
        defer { try? FileManager.default.removeItem(at: dir) }
        let empty = try CLI.run(bin, ["info", dir.path])
        #expect(empty.status == 2)
        #expect(empty.stderr.contains("no checkpoint here"))

        let run = try Self.makeRun()
        defer { try? FileManager.default.removeItem(at: run) }
        let tmp = run.appendingPathComponent("train/.step-00000009.h5.tmp")
        try Data("half-written".utf8).write(to: tmp)
        let r = try CLI.run(bin, ["info", run.path])
        #expect(r.status == 0)
        #expect(r.stderr.isEmpty, "a .tmp file is not a checkpoint: \(r.stderr)")
        #expect(r.stdout.contains("step 3"))
    }

    @Test func helpWorksInDebugBuild() throws {
        guard let debug = CLI.binary("gan-sample", configuration: "debug") else { return }
        for args in [["--help"], ["info", "--help"]] {
            let r = try CLI.run(debug, args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
        }
    }
}
