import Foundation
import GANTestSupport
import Testing

/// Data-parallel training under Open MPI on the built gan-pipeline: the same run on 1 process, on
/// `mpirun -np 1`, `-np 2` and `-np 4` (oversubscribed), over shared memory and over TCP, ends with
/// the same checkpoint bits; a killed rank stops the job and the run resumes on another world
/// size; SIGTERM to mpirun writes one agreed checkpoint; bad set-ups are one-line errors. Skipped
/// only where `mpirun` is missing (`make deps` installs it).
@Suite(.serialized) struct DistributedCLITests {
    let bin = CLI.binary("gan-pipeline")
    static let mpirun = findTool("mpirun")
    static let h5dump = findTool("h5dump")
    /// Exactly the launch the README gives (as root Open MPI needs --allow-run-as-root).
    static let launch = ["--allow-run-as-root", "--oversubscribe"]
    static let tcp = ["--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", "lo"]

    /// Shrunk shipped pipelines: fashion-mlp (MLP) and fashion-dcgan (convolutions, batch norm
    /// with per-shard statistics), four shards.
    static let mlp = ["--set", "train.shards=4", "--set", "train.steps=6", "--set", "train.checkpoint_every=3"]
    static let dcgan = ["--set", "train.shards=4", "--set", "train.steps=3", "--set", "train.checkpoint_every=3",
                        "--set", "generator.channels=[32,16]", "--set", "discriminator.channels=[16,32]"]

    /// Runs gan-pipeline on `ranks` processes (nil: no mpirun at all).
    func pipeline(_ ranks: Int?, _ mpiOptions: [String] = [], _ arguments: [String]) throws -> CommandResult {
        let bin = try #require(bin)
        guard let ranks else { return try CLI.run(bin, arguments) }
        let mpirun = try #require(Self.mpirun)
        return try CLI.run(URL(fileURLWithPath: mpirun), Self.launch + mpiOptions + ["-np", "\(ranks)", bin.path] + arguments)
    }

    func train(_ pipeline: String, _ dir: URL, _ name: String, ranks: Int?, mpiOptions: [String] = [], _ extra: [String]) throws -> CommandResult {
        try self.pipeline(ranks, mpiOptions, ["run", packageRoot().appendingPathComponent("Pipelines/\(pipeline).yaml").path,
                                              "--run-dir", dir.appendingPathComponent(name).path, "--stages", "prep,train", "--quiet"] + extra)
    }

    /// A checkpoint's contents as h5dump prints them, without what may differ between equal runs:
    /// the file name, the save time, the build and the world size it ran with.
    static func contents(_ path: String) throws -> String {
        let dump = try runTool(try #require(h5dump), [path])
        var lines: [Substring] = [], depth = 0, skipping = false
        for line in dump.split(separator: "\n").dropFirst() {
            if !skipping, line.contains("ATTRIBUTE \"created_utc\"") || line.contains("ATTRIBUTE \"tool_version\"")
                || line.contains("ATTRIBUTE \"world_size\"") {
                skipping = true
                depth = 0
            }
            guard skipping else { lines.append(line); continue }
            depth += line.filter { $0 == "{" }.count - line.filter { $0 == "}" }.count
            if depth <= 0 { skipping = false }
        }
        return lines.joined(separator: "\n")
    }

    func expectSameCheckpoints(_ dir: URL, _ runs: [String], step: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let file = String(format: "train/step-%08d.h5", step)
        let reference = try Self.contents(dir.appendingPathComponent("\(runs[0])/\(file)").path)
        #expect(reference.contains("noise-shard-3"), "a sharded checkpoint stores every shard's noise stream", sourceLocation: sourceLocation)
        for run in runs.dropFirst() {
            let other = try Self.contents(dir.appendingPathComponent("\(run)/\(file)").path)
            #expect(other == reference, "\(run)/\(file) differs from \(runs[0])/\(file)", sourceLocation: sourceLocation)
        }
    }

    @Test(.enabled(if: mpirun != nil && h5dump != nil, "mpirun (openmpi-bin) or h5dump (hdf5-tools) is missing: run make deps"),
          arguments: [("fashion-mlp", mlp, 6), ("fashion-dcgan", dcgan, 3)])
    func sameBitsOnOneTwoAndFourProcesses(_ pipeline: String, _ settings: [String], steps: Int) throws {
        let dir = try TempDir()
        for (name, ranks) in [("single", nil), ("np1", 1), ("np2", 2), ("np4", 4)] as [(String, Int?)] {
            let r = try train(pipeline, dir.url, name, ranks: ranks, settings)
            #expect(r.status == 0, "\(pipeline) \(name): \(r.stderr)")
        }
        let r = try train(pipeline, dir.url, "tcp", ranks: 2, mpiOptions: Self.tcp, settings)
        #expect(r.status == 0, "\(pipeline) over TCP: \(r.stderr)")
        try expectSameCheckpoints(dir.url, ["single", "np1", "np2", "np4", "tcp"], step: steps)
    }

    /// The ranks of a running mpirun job: pid by rank.
    static func ranks(of mpirun: Int32) -> [Int: Int32] {
        var out: [Int: Int32] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 1, Int32(fields[1]) == mpirun,
                  let env = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ")) else { continue }
            for variable in env.split(separator: 0) {
                let text = String(decoding: variable, as: UTF8.self)
                if text.hasPrefix("OMPI_COMM_WORLD_RANK="), let rank = Int(text.dropFirst("OMPI_COMM_WORLD_RANK=".count)) { out[rank] = pid }
            }
        }
        return out
    }

    /// Starts a long two-rank run, waits for a checkpoint after step 0, returns the mpirun process.
    func startLongRun(_ dir: URL, _ name: String, _ settings: [String], launch extra: [String] = []) throws -> Child {
        let bin = try #require(bin), mpirun = try #require(Self.mpirun)
        let p = try Child(mpirun, Self.launch + extra + ["-np", "2", bin.path, "run", packageRoot().appendingPathComponent("Pipelines/fashion-mlp.yaml").path,
                                                 "--run-dir", dir.appendingPathComponent(name).path, "--stages", "prep,train", "--quiet"] + settings)
        let deadline = Date().addingTimeInterval(60)
        let train = dir.appendingPathComponent("\(name)/train")
        while Date() < deadline && p.isRunning {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: train.path)) ?? []
            if files.contains(where: { $0.hasPrefix("step-") && $0 != "step-00000000.h5" }) { break }
            usleep(50_000)
        }
        return p
    }

    /// The newest step file's step in a run's train/ directory.
    static func lastStep(_ dir: URL, _ name: String) throws -> Int {
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("\(name)/train").path)
        return files.compactMap { $0.hasPrefix("step-") ? Int($0.dropFirst(5).prefix(8)) : nil }.max() ?? 0
    }

    func expectSame(_ dir: URL, _ a: String, _ b: String, step: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let file = String(format: "train/step-%08d.h5", step)
        let x = try Self.contents(dir.appendingPathComponent("\(a)/\(file)").path)
        let y = try Self.contents(dir.appendingPathComponent("\(b)/\(file)").path)
        #expect(x == y, "\(b)/\(file) differs from \(a)/\(file)", sourceLocation: sourceLocation)
    }

    @Test(.enabled(if: mpirun != nil && h5dump != nil, "mpirun or h5dump is missing: run make deps"))
    func aKilledRankStopsTheJobAndTheRunResumesOnAnotherWorldSize() throws {
        let dir = try TempDir()
        let sharding = ["--set", "train.shards=4", "--set", "train.checkpoint_every=10"]
        let p = try startLongRun(dir.url, "killed", sharding + ["--set", "train.steps=100000"])
        let ranks = Self.ranks(of: p.pid)
        let victim = try #require(ranks[1], "rank 1 of mpirun \(p.pid) not found: \(ranks)")
        kill(victim, SIGKILL)
        let killedAt = Date()
        while p.isRunning && Date().timeIntervalSince(killedAt) < 20 { usleep(50_000) }
        #expect(!p.isRunning, "the job did not stop within 20 s of rank 1's death")
        if p.isRunning { p.signal(SIGKILL) }
        #expect(p.exitCode != 0)
        #expect(p.errorOutput().contains("rank 1"), "mpirun names the rank that died: \(p.errorOutput())")
        // The newest complete checkpoint is intact: resume it on four ranks, then on one process
        // without mpirun, and compare with a run that was never interrupted.
        let last = try Self.lastStep(dir.url, "killed")
        #expect(last >= 10)
        let four = try train("fashion-mlp", dir.url, "killed", ranks: 4, sharding + ["--set", "train.steps=\(last + 10)"])
        #expect(four.status == 0 && four.stderr.contains("resuming from step \(last)"), "\(four.stderr)")
        let one = try train("fashion-mlp", dir.url, "killed", ranks: nil, sharding + ["--set", "train.steps=\(last + 20)"])
        #expect(one.status == 0, "\(one.stderr)")
        let straight = try train("fashion-mlp", dir.url, "straight", ranks: 2, sharding + ["--set", "train.steps=\(last + 20)"])
        #expect(straight.status == 0, "\(straight.stderr)")
        try expectSame(dir.url, "straight", "killed", step: last + 20)
    }

    @Test(.enabled(if: mpirun != nil && h5dump != nil, "mpirun or h5dump is missing: run make deps"))
    func sigtermToMpirunWritesOneAgreedCheckpointAndTheRunResumesExactly() throws {
        let dir = try TempDir()
        let sharding = ["--set", "train.shards=2", "--set", "train.checkpoint_every=5"]
        // mpirun SIGKILLs the ranks 1 s after forwarding SIGTERM (odls_base_sigkill_timeout); on a
        // loaded machine agreeing on a step and writing the checkpoint can take longer, so this
        // run gets the 10 s the README recommends (and `make pipeline NP=` passes).
        let p = try startLongRun(dir.url, "stopped", sharding + ["--set", "train.steps=100000"],
                                 launch: ["--mca", "odls_base_sigkill_timeout", "10"])
        p.signal(SIGTERM)  // to mpirun, which forwards it to the ranks
        let stoppedAt = Date()
        while p.isRunning && Date().timeIntervalSince(stoppedAt) < 20 { usleep(50_000) }
        #expect(!p.isRunning, "the job did not stop within 20 s of SIGTERM")
        if p.isRunning { p.signal(SIGKILL) }
        p.wait()
        let stderr = p.errorOutput()
        let last = try Self.lastStep(dir.url, "stopped")
        #expect(last >= 5)
        #expect(stderr.contains("train: interrupted at step \(last); checkpoint written to"), "\(stderr)")
        let resumed = try train("fashion-mlp", dir.url, "stopped", ranks: 2, sharding + ["--set", "train.steps=\(last + 7)"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming from step \(last)"), "\(resumed.stderr)")
        let straight = try train("fashion-mlp", dir.url, "straight", ranks: nil, sharding + ["--set", "train.steps=\(last + 7)"])
        #expect(straight.status == 0, "\(straight.stderr)")
        try expectSame(dir.url, "straight", "stopped", step: last + 7)
    }

    @Test(.enabled(if: mpirun != nil, "mpirun is missing: run make deps"))
    func badSetUpsAreOneLineErrors() throws {
        let dir = try TempDir()
        let bin = try #require(bin), mpirun = try #require(Self.mpirun)
        let yaml = packageRoot().appendingPathComponent("Pipelines/fashion-mlp.yaml").path
        // One line of ours says what is wrong (Open MPI adds its own box about the exit code).
        func expectError(_ r: CommandResult, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(r.status != 0, sourceLocation: sourceLocation)
            let lines = r.stderr.split(separator: "\n").filter { $0.contains(message) }
            #expect(lines.count == 1 && lines[0].hasPrefix("gan-pipeline: "), "\(r.stderr)", sourceLocation: sourceLocation)
            #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("Stack dump"), "\(r.stderr)", sourceLocation: sourceLocation)
        }
        // Three ranks for four shards.
        expectError(try train("fashion-mlp", dir.url, "k", ranks: 3, ["--set", "train.shards=4", "--set", "train.steps=2"]),
                    "train.shards (4) must be a multiple of the number of processes (3)")
        // One shard (the default) on two ranks.
        expectError(try train("fashion-mlp", dir.url, "one", ranks: 2, ["--set", "train.steps=2"]),
                    "train.shards (1) must be a multiple of the number of processes (2)")
        // A different configuration on rank 1 (mpirun's MPMD form: one command per rank).
        let common = ["run", yaml, "--run-dir", dir.url.appendingPathComponent("mpmd").path, "--quiet", "--set", "train.shards=2"]
        let mpmd = try CLI.run(URL(fileURLWithPath: mpirun), Self.launch + ["-np", "1", bin.path] + common + ["--set", "train.steps=2", ":",
                                                                               "-np", "1", bin.path] + common + ["--set", "train.steps=3"])
        expectError(mpmd, "rank 1 runs a different configuration")
        // A run directory that rank 1 cannot read (here: another directory without the prepared data).
        let split = try CLI.run(URL(fileURLWithPath: mpirun), Self.launch + [
            "-np", "1", bin.path, "run", yaml, "--run-dir", dir.url.appendingPathComponent("shared").path, "--quiet",
            "--stages", "prep,train", "--set", "train.shards=2", "--set", "train.steps=2", ":",
            "-np", "1", bin.path, "run", yaml, "--run-dir", dir.url.appendingPathComponent("elsewhere").path, "--quiet",
            "--stages", "prep,train", "--set", "train.shards=2", "--set", "train.steps=2"])
        expectError(split, "rank 1: \(dir.url.appendingPathComponent("elsewhere").path)/data.h5: missing")
    }
}
