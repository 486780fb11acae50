import Foundation
import GANNN
import GANTestSupport
import Testing
@_spi(Testing) import GANTensor

/// End-to-end tests of the built `gan-pipeline`: runs, resume after SIGKILL (bit-exact), lock,
/// --fresh, extending a finished run, refused config changes, status. Tiny step counts.
@Suite struct GANPipelineCLITests {
    let bin = CLI.binary("gan-pipeline")

    /// A small 1-D pipeline (fast: ~1k steps/s in release).
    static let yaml = """
    name: tiny
    seed: 7
    data: {source: gaussian, mean: 4.0, std: 0.5, size: 5000}
    noise: {dimension: 1, prior: uniform, low: -1.0, high: 1.0, stratified: true}
    generator: {hidden: [8], activation: tanh}
    discriminator: {hidden: [8], activation: tanh, clip_probability: [0.01, 0.99]}
    generator_optimizer: {kind: adam, learning_rate: 0.001, beta1: 0.5}
    discriminator_optimizer: {kind: sgd, learning_rate: 0.01, momentum: 0.9}
    pretrain_d: {steps: 50, batch_size: 50}
    train: {steps: 400, batch_size: 50, checkpoint_every: 100, log_every: 100}
    evaluate: {samples: 2000}
    """

    static func setUp() throws -> (yaml: String, dir: URL) {
        let dir = try makeTemporaryDirectory("pipeline")
        let path = dir.appendingPathComponent("tiny.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return (path, dir)
    }

    /// Bitwise comparison of the stored tensors, RNG states and history of two checkpoints (not
    /// the bytes: files carry their creation time), with h5diff from hdf5-tools.
    static func sameState(_ a: String, _ b: String) throws -> Bool {
        guard let h5diff = ["/usr/bin/h5diff"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return true }
        for group in ["/generator", "/discriminator", "/optimizer", "/rng", "/history"] {
            let r = try CLI.run(URL(fileURLWithPath: h5diff), ["-q", a, b, group, group])
            if r.status != 0 { return false }
        }
        return true
    }

    /// Starts `gan-pipeline run ARGS` and SIGKILLs it once `RUN/train` holds a checkpoint of at
    /// least step `killAt` (or after `timeout` seconds).
    static func runAndKill(_ bin: URL, _ args: [String], runDir: String, killAt: Int, timeout: TimeInterval) throws {
        let p = Process()
        p.executableURL = bin
        p.arguments = args
        p.standardError = FileHandle.nullDevice
        try p.run()
        let target = String(format: "step-%08d.h5", killAt)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: "\(runDir)/train")) ?? []
            if files.contains(where: { $0.hasPrefix("step-") && $0 >= target }) { break }
            usleep(10_000)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    @Test func fullRunWritesEveryStageAndMetrics() throws {
        let bin = try #require(bin, "build gan-pipeline first (make test does)")
        let (yaml, dir) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = dir.appendingPathComponent("run").path
        let r = try CLI.run(bin, ["run", yaml, "--run-dir", run, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let fm = FileManager.default
        for f in ["config.yaml", "data.h5", "pretrain-d/latest.h5", "train/latest.h5", "train/step-00000400.h5", "eval/metrics.json"] {
            #expect(fm.fileExists(atPath: "\(run)/\(f)"), "missing \(f)")
        }
        // keep_last 3 (default): steps 0, 100 pruned.
        #expect(!fm.fileExists(atPath: "\(run)/train/step-00000100.h5"))
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(run)/eval/metrics.json"))) as? [String: Any]
        for k in ["mean", "std", "ks", "w1", "d_flatness", "step", "wall_seconds"] { #expect(metrics?[k] is Double, "metrics.json lacks \(k)") }
        #expect(metrics?["step"] as? Double == 400)
        // Running again: everything finished, nothing retrained.
        let again = try CLI.run(bin, ["run", yaml, "--run-dir", run, "--quiet", "--stages", "prep,pretrain-d,train"])
        #expect(again.status == 0)
        #expect(again.stderr.contains("train: finished (step 400 of 400); skipped"))
        // status
        let s = try CLI.run(bin, ["status", run])
        #expect(s.status == 0)
        #expect(s.stdout.contains("train       step 400"), "\(s.stdout)")
    }

    @Test func sigkillThenResumeIsBitIdenticalToAStraightRun() throws {
        let bin = try #require(bin)
        let (yaml, dir) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let straight = dir.appendingPathComponent("straight").path, killed = dir.appendingPathComponent("killed").path
        let steps = ["--set", "train.steps=6000", "--set", "train.checkpoint_every=250", "--set", "train.eval_every=300",
                     "--quiet", "--stages", "prep,pretrain-d,train"]
        #expect(try CLI.run(bin, ["run", yaml, "--run-dir", straight] + steps).status == 0)

        // Kill once training has written a few checkpoints, well before the end.
        try Self.runAndKill(bin, ["run", yaml, "--run-dir", killed] + steps, runDir: killed, killAt: 500, timeout: 60)
        let left = try FileManager.default.contentsOfDirectory(atPath: "\(killed)/train")
        #expect(!left.contains("step-00006000.h5"), "the run finished before it was killed; raise train.steps")

        let resumed = try CLI.run(bin, ["run", yaml, "--run-dir", killed] + steps)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("train: resuming from step"))
        #expect(try Self.sameState("\(straight)/train/step-00006000.h5", "\(killed)/train/step-00006000.h5"))
        // eval_every pinned the same best checkpoint in both runs.
        let fm = FileManager.default
        let bestA = try fm.destinationOfSymbolicLink(atPath: "\(straight)/train/best.h5")
        #expect(try fm.destinationOfSymbolicLink(atPath: "\(killed)/train/best.h5") == bestA)
        #expect(fm.fileExists(atPath: "\(straight)/train/\(bestA)"), "best.h5 must never be pruned")
    }

    /// Each shipped toy pipeline (networks shrunk and steps cut with --set) resumes bit-exactly
    /// after SIGKILL.
    @Test(arguments: ["gaussian-1d", "parabola-2d", "ring8", "grid25"])
    func shippedPipelineResumesExactlyAfterSIGKILL(_ name: String) throws {
        let bin = try #require(bin)
        let yaml = packageRoot().appendingPathComponent("Pipelines/\(name).yaml").path
        let dir = try makeTemporaryDirectory("shipped-\(name)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var args = ["--quiet", "--stages", "prep,pretrain-d,train", "--set", "data.size=4000", "--set", "train.steps=1500",
                    "--set", "train.checkpoint_every=100", "--set", "generator.hidden=[16,16]", "--set", "discriminator.hidden=[16,16]"]
        if name == "gaussian-1d" { args += ["--set", "pretrain_d.steps=50"] }
        let straight = dir.appendingPathComponent("straight").path, killed = dir.appendingPathComponent("killed").path
        let a = try CLI.run(bin, ["run", yaml, "--run-dir", straight] + args)
        #expect(a.status == 0, "\(a.stderr)")

        try Self.runAndKill(bin, ["run", yaml, "--run-dir", killed] + args, runDir: killed, killAt: 300, timeout: 120)
        let b = try CLI.run(bin, ["run", yaml, "--run-dir", killed] + args)
        #expect(b.status == 0, "\(b.stderr)")
        #expect(b.stderr.contains("train: resuming from step") || b.stderr.contains("train: finished"), "\(b.stderr)")
        #expect(try Self.sameState("\(straight)/train/step-00001500.h5", "\(killed)/train/step-00001500.h5"))
    }

    @Test func extendingAFinishedRunAndRefusingAnArchitectureChange() throws {
        let bin = try #require(bin)
        let (yaml, dir) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = dir.appendingPathComponent("run").path
        #expect(try CLI.run(bin, ["run", yaml, "--run-dir", run, "--quiet", "--stages", "prep,pretrain-d,train"]).status == 0)
        let more = try CLI.run(bin, ["run", yaml, "--run-dir", run, "--quiet", "--stages", "train", "--set", "train.steps=500"])
        #expect(more.status == 0, "\(more.stderr)")
        #expect(more.stderr.contains("resuming from step 400 of 500"))
        #expect(FileManager.default.fileExists(atPath: "\(run)/train/step-00000500.h5"))

        let changed = try CLI.run(bin, ["run", yaml, "--run-dir", run, "--quiet", "--set", "generator.hidden=[16]"])
        #expect(changed.status == 2)
        #expect(changed.stderr.contains("generator.hidden"), "\(changed.stderr)")
        #expect(changed.stderr.contains("--fresh"))
        #expect(changed.stderr.split(separator: "\n").count == 1)

        let fresh = try CLI.run(bin, ["run", yaml, "--run-dir", run, "--quiet", "--fresh", "--stages", "prep", "--set", "generator.hidden=[16]"])
        #expect(fresh.status == 0, "\(fresh.stderr)")
        let siblings = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(siblings.contains { $0.hasPrefix("run.old-") }, "the old run must be moved aside, not deleted: \(siblings)")
    }

    @Test func secondProcessIsLockedOut() throws {
        let bin = try #require(bin)
        let (yaml, dir) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = dir.appendingPathComponent("run").path
        let p = Process()
        p.executableURL = bin
        p.arguments = ["run", yaml, "--run-dir", run, "--quiet", "--set", "train.steps=200000"]
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { p.terminate(); p.waitUntilExit() }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline && !FileManager.default.fileExists(atPath: "\(run)/train/latest.h5") { usleep(20_000) }
        let second = try CLI.run(bin, ["run", yaml, "--run-dir", run, "--quiet", "--set", "train.steps=200000"])
        #expect(second.status == 2)
        #expect(second.stderr.contains("in use by process \(p.processIdentifier)"), "\(second.stderr)")
    }

    @Test func sigtermWritesACheckpointAndExits130() throws {
        let bin = try #require(bin)
        let (yaml, dir) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = dir.appendingPathComponent("run").path
        let p = Process()
        p.executableURL = bin
        p.arguments = ["run", yaml, "--run-dir", run, "--quiet", "--set", "train.steps=200000", "--set", "train.checkpoint_every=100000"]
        let err = Pipe()
        p.standardError = err
        try p.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline && !FileManager.default.fileExists(atPath: "\(run)/train/latest.h5") { usleep(20_000) }
        usleep(300_000)
        p.terminate()  // SIGTERM
        p.waitUntilExit()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationStatus == 130, "\(text)")
        #expect(text.contains("interrupted at step"))
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(run)/train").filter { $0.hasPrefix("step-") }.sorted()
        #expect(files.count == 2, "step 0 plus the checkpoint written on SIGTERM: \(files)")
    }

    @Test func userCSVTableTrainsAndBadCellsAreRejected() throws {
        let bin = try #require(bin)
        let dir = try makeTemporaryDirectory("pipeline-csv")
        defer { try? FileManager.default.removeItem(at: dir) }
        var rows = ["x,y"]
        var rng = RNG(seed: 1)
        for _ in 0..<500 { rows.append("\(3 + rng.normal()),\(-2 + 0.5 * rng.normal())") }
        let csv = dir.appendingPathComponent("table.csv").path
        try rows.joined(separator: "\n").write(toFile: csv, atomically: true, encoding: .utf8)
        let yaml = dir.appendingPathComponent("mine.yaml").path
        try """
        data: {source: csv, path: table.csv, normalize: standardize}
        noise: {dimension: 2}
        generator: {hidden: [8]}
        discriminator: {hidden: [8]}
        generator_optimizer: {learning_rate: 0.001}
        discriminator_optimizer: {learning_rate: 0.001}
        train: {steps: 50, batch_size: 32}
        """.write(toFile: yaml, atomically: true, encoding: .utf8)
        let run = dir.appendingPathComponent("run").path
        let r = try CLI.run(bin, ["run", yaml, "--run-dir", run, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("prep: 500 samples of shape 2 from csv"))
        #expect(FileManager.default.fileExists(atPath: "\(run)/eval/metrics.json"))

        rows[7] = "1.5,abc"
        try rows.joined(separator: "\n").write(toFile: csv, atomically: true, encoding: .utf8)
        let bad = try CLI.run(bin, ["run", yaml, "--run-dir", dir.appendingPathComponent("run2").path, "--quiet"])
        #expect(bad.status == 2)
        #expect(bad.stderr.split(separator: "\n").count == 1, "\(bad.stderr)")
        #expect(bad.stderr.contains(csv) && bad.stderr.contains("abc"), "\(bad.stderr)")
    }

    @Test func badConfigIsOneLineWithLocation() throws {
        let bin = try #require(bin)
        let (yaml, dir) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.yaml").path
        try Self.yaml.replacingOccurrences(of: "learning_rate: 0.001", with: "learnin_rate: 0.001").write(toFile: bad, atomically: true, encoding: .utf8)
        let r = try CLI.run(bin, ["run", bad, "--run-dir", dir.appendingPathComponent("r").path])
        #expect(r.status == 2)
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("\(bad):7:"), "\(r.stderr)")
        _ = yaml
    }
}
