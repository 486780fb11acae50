import Foundation
import GANCheckpoint
import GANData
import GANNN

/// One stage of a pipeline: `run()` does the stage's work in the run directory, resuming from its
/// newest complete checkpoint and skipping itself when finished.
protocol PipelineStage {
    static var stage: Stage { get }
    var context: StageContext { get }
    func run() throws
}

/// What every stage works with: the configuration, the run directory and where user lines go.
struct StageContext {
    let config: PipelineConfig
    let run: RunDirectory
    let quiet: Bool
    let log: (String) -> Void

    /// The resolved configuration as stored in every checkpoint.
    var configYAML: String { config.encodeYAML() }

    /// The prepared data of the prep stage (`RUN/data.h5`).
    func loadPrepared() throws -> PreparedData {
        guard FileManager.default.fileExists(atPath: run.dataFile.path) else {
            throw PipelineError.badState("\(run.dataFile.path): missing; run the prep stage first (--stages prep)")
        }
        return try PreparedData.read(from: run.dataFile)
    }

    /// A progress line for `stage` from `startStep` to `total`.
    func progress(_ stage: Stage, total: Int, startStep: Int) -> Progress {
        Progress(stage: stage.rawValue, total: total, startStep: startStep, every: config.train.logEvery, quiet: quiet)
    }

    /// The checkpoint directory of `stage` (`RUN/<stage>/`, keeping `checkpoint.keep_last` files).
    func store(_ stage: Stage) -> CheckpointDirectory {
        run.stage(stage, keepLast: config.checkpoint.keepLast)
    }

    /// The newest complete checkpoint of `stage`; damaged newer files are skipped with a warning.
    /// Resuming with another thread count is allowed, with a warning (BLAS may sum differently).
    func openLatest(_ stage: Stage, resuming: Bool) throws -> CheckpointReader {
        let (reader, warnings) = try store(stage).openLatest()
        warnings.forEach(log)
        if resuming, reader.threads != ComputeThreads.count {
            log("warning: \(reader.path) was written with \(reader.threads) thread(s), now \(ComputeThreads.count): results stay valid, but bitwise determinism holds only for equal thread counts")
        }
        return reader
    }
}
