import Foundation
import GANCheckpoint
import GANDistributed
import GANFiles

/// Runs (or resumes) a pipeline in a run directory: checks the requested configuration against the
/// stored one, then runs the stages in order (`PrepStage`, `PretrainStage`, `TrainStage`,
/// `EvaluateStage`, one file each). Each stage resumes from its own newest checkpoint and skips
/// itself when finished.
///
/// Under MPI (a `job` with a communicator) every rank runs the runner: the train stage on all ranks
/// (data-parallel, `train.shards`), prep, pretrain-d and evaluate on rank 0 alone while the others
/// wait for their outcome. Only rank 0 writes into the run directory and prints.
public final class PipelineRunner {
    public let config: PipelineConfig
    public let run: RunDirectory
    public let job: PipelineJob
    public var quiet = false
    /// Lines for the user (stage starts, skips, results); stderr by default, nothing on ranks but 0.
    public var log: (String) -> Void

    public init(config: PipelineConfig, run: RunDirectory, job: PipelineJob = PipelineJob(nil)) {
        self.config = config
        self.run = run
        self.job = job
        let root = job.isRoot
        log = { if root { FileHandle.standardError.write(Data(("gan-pipeline: " + $0 + "\n").utf8)) } }
    }

    var context: StageContext {
        StageContext(config: config, run: run, quiet: quiet || !job.isRoot, log: log, job: job)
    }

    /// Checks the requested config against the one stored in the run (the run's wins: a change of
    /// anything but the resumable keys is an error naming the key), then stores the new one.
    public func reconcileConfig() throws {
        let fm = FileManager.default
        // The stored config binds only once a stage has produced something from it: a run whose
        // prep failed (say, a wrong data path) can be fixed and rerun without --fresh.
        if run.hasStageOutput, fm.fileExists(atPath: run.configFile.path) {
            let text = try String(contentsOf: run.configFile, encoding: .utf8)
            let stored = try ConfigLoader.parse(yaml: text, file: run.configFile.path, overrides: [])
            for key in config.changedKeys(from: stored) where !PipelineConfig.isChangeableOnResume(key) {
                throw PipelineError.changedConfig(run.url.path, key: key, stored: stored.yamlValue(of: key), requested: config.yamlValue(of: key))
            }
        }
        try AtomicFile.createDirectory(run.url.path)
        try AtomicFile.write(Array(config.encodeYAML().utf8), to: run.configFile.path)
    }

    /// Runs the given stages (default: all that apply) in pipeline order, skipping finished ones.
    public func runStages(_ requested: [Stage]? = nil) throws {
        let context = context
        for stage in requested ?? Stage.allCases {
            switch stage {
            case .prep: try context.rootOnly { try PrepStage(context: context).run() }
            case .pretrainD:
                if config.pretrainD != nil {
                    try context.rootOnly { try PretrainStage(context: context).run() }
                } else if requested != nil {
                    log("pretrain-d: not configured (no pretrain_d section); skipped")
                }
            case .train: try TrainStage(context: context).run()
            case .evaluate: try context.rootOnly { try EvaluateStage(context: context).run() }
            }
        }
    }

    /// The evaluate stage on a given checkpoint file instead of the newest train checkpoint.
    public func evaluate(checkpoint file: String) throws {
        let context = context
        try context.rootOnly { try EvaluateStage(context: context, checkpoint: file).run() }
    }
}
