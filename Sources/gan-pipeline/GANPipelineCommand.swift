import ArgumentParser
import Foundation
import GANCheckpoint
import GANCommandLine
import GANDistributed
import GANNN
import GANPipeline

/// `gan-pipeline`: run a GAN pipeline described by a YAML file as checkpointed stages.
/// Exit codes: 0 done, 1 run failed (diverged), 2 bad input or state, 64 malformed command line,
/// 74 a write failed (disk full, I/O error, permissions), 130 interrupted (after writing a checkpoint).
@main
struct GANPipelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gan-pipeline",
        abstract: "Run GAN pipelines (prep, pretrain-d, train, evaluate) as resumable, checkpointed stages.",
        subcommands: [Run.self, Status.self])
}

func stderr(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

/// Maps a thrown error to one line on stderr and the documented exit code. In an MPI job the
/// ranks agree on failures (`PipelineJob`), so rank 0 prints for all; another rank prints only an
/// error it alone has seen (an MPI failure), naming itself.
func pipelineExitCode(for error: Error, rank: Int? = nil) -> ExitCode {
    if let e = error as? ExitCode { return e }
    let (code, message) = PipelineError.describe(error)
    if let rank, rank != 0 {
        if !(error is PipelineError || error is RankFailure) { stderr("gan-pipeline: rank \(rank): \(message)") }
    } else {
        stderr("gan-pipeline: \(message)")
    }
    return ExitCode(code)
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run or resume a pipeline. A run directory with checkpoints is resumed from its latest complete checkpoint.",
        discussion: "--seed overrides the file's seed and --set seed=; --threads does not change the configuration (resuming with another thread count is allowed, with a warning).")

    @Argument(help: "Pipeline YAML file, e.g. Pipelines/gaussian-1d.yaml.")
    var pipeline: String

    @Option(help: "Run directory (default Checkpoints/NAME).")
    var runDir: String?

    @Option(help: "Comma-separated stages to run: prep,pretrain-d,train,evaluate (default: all).")
    var stages: String?

    @OptionGroup var compute: ThreadsOption

    /// Overrides the file's seed and --set seed=.
    @OptionGroup var seedOption: SeedOption

    @Option(name: .customLong("set"), help: "Override a key: key.path=value (value parsed as YAML); may repeat.")
    var overrides: [String] = []

    @Flag(help: "Start over: move an existing run directory to RUN.old-<UTC time> first.")
    var fresh = false

    @OptionGroup var progress: QuietFlag

    @Option(help: "evaluate: checkpoint file to evaluate (default: the newest train checkpoint).")
    var checkpoint: String?

    func validate() throws {
        if let s = stages {
            for name in s.split(separator: ",") where Stage(rawValue: String(name)) == nil {
                throw ValidationError("--stages: unknown stage '\(name)' (expected \(Stage.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        }
    }

    func run() throws {
        let world: Communicator?
        do { world = try Communicator.world() } catch { throw pipelineExitCode(for: error) }
        defer { world?.finalize() }
        do {
            try run(PipelineJob(world))
        } catch {
            throw pipelineExitCode(for: error, rank: world?.rank)
        }
    }

    /// The run on one process or, under mpirun, on every rank: rank 0 alone moves, locks and
    /// writes the run directory; `PipelineRunner` shares the stages out.
    private func run(_ job: PipelineJob) throws {
        var sets = overrides
        if let s = seedOption.seed { sets.append("seed=\(s)") }
        let config = try job.everyRank { try ConfigLoader.load(path: pipeline, overrides: sets) }
        try job.checkSameRun(configuration: config.encodeYAML(), threads: compute.threads)
        try job.checkShards(config)
        let dir = RunDirectory(URL(fileURLWithPath: runDir ?? "Checkpoints/\(config.name)"))
        let lock = try job.rootOnly { () -> RunLock in
            if fresh, let moved = try dir.moveAside() { stderr("gan-pipeline: moved the old run to \(moved.path)") }
            return try dir.lock()
        } ?? nil
        defer { lock?.release() }
        compute.apply()
        let runner = PipelineRunner(config: config, run: dir, job: job)
        runner.quiet = progress.quiet
        try job.rootOnly { try runner.reconcileConfig() }
        let list = stages.map { $0.split(separator: ",").compactMap { Stage(rawValue: String($0)) } }
        if let file = checkpoint {
            try runner.runStages(list?.filter { $0 != .evaluate })
            if list == nil || list!.contains(.evaluate) { try runner.evaluate(checkpoint: file) }
        } else {
            try runner.runStages(list)
        }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print each stage's step, last losses and the checkpoints present.")

    @Argument(help: "Run directory, e.g. Checkpoints/gaussian-1d.")
    var runDir: String

    func run() throws {
        let dir = RunDirectory(URL(fileURLWithPath: runDir))
        guard dir.exists else { throw pipelineExitCode(for: PipelineError.io(runDir, "no such run directory")) }
        print("run \(dir.url.path)")
        print("  data        " + (FileManager.default.fileExists(atPath: dir.dataFile.path) ? "prepared (data.h5)" : "not prepared"))
        for stage in Stage.checkpointed {
            let store = dir.stage(stage)
            let files = store.stepFiles()
            let name = stage.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)
            guard !files.isEmpty else { print("  \(name)no checkpoints"); continue }
            var line = "  \(name)"
            do {
                let (r, warnings) = try store.openLatest()
                warnings.forEach { stderr("gan-pipeline: warning: \($0)") }
                line += "step \(r.step)"
                let last = try r.history().compactMap { h in h.metric == "step" ? nil : h.values.last.map { "\(h.metric) \(String(format: "%.4f", $0))" } }
                if !last.isEmpty { line += "; last " + last.joined(separator: ", ") }
                r.close()
            } catch {
                line += "unreadable: \(error)"
            }
            print(line)
            print("              checkpoints: " + files.map { $0.url.lastPathComponent }.joined(separator: " "))
        }
        let metrics = dir.evalDirectory.appendingPathComponent("metrics.json")
        if let data = try? Data(contentsOf: metrics),
           let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] {
            let items = obj.keys.sorted().map { k in "\(k) " + ((obj[k] as? Double).map { String(format: "%.4g", $0) } ?? "\(obj[k] ?? "")") }
            print("  evaluate    " + items.joined(separator: ", "))
        } else {
            print("  evaluate    not run")
        }
    }
}
