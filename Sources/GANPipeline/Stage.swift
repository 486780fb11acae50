import Foundation
import GANCheckpoint
import GANData
import GANDistributed
import GANNN

/// One stage of a pipeline: `run()` does the stage's work in the run directory, resuming from its
/// newest complete checkpoint and skipping itself when finished.
protocol PipelineStage {
    static var stage: Stage { get }
    var context: StageContext { get }
    func run() throws
}

/// What every stage works with: the configuration, the run directory, where user lines go and,
/// under MPI, the job's communicator. Only rank 0 writes into the run directory and prints;
/// `everyRank` and `rootOnly` make the ranks agree on failures, so that they stop together.
struct StageContext {
    let config: PipelineConfig
    let run: RunDirectory
    let quiet: Bool
    let log: (String) -> Void
    /// The processes running the pipeline (one, or the ranks of an MPI job).
    let job: PipelineJob

    var communicator: Communicator? { job.communicator }
    /// Whether this process writes the run directory and prints: the single process, or rank 0.
    var isRoot: Bool { job.isRoot }
    func everyRank<T>(_ body: () throws -> T) throws -> T { try job.everyRank(body) }
    @discardableResult func rootOnly<T>(_ body: () throws -> T) throws -> T? { try job.rootOnly(body) }
    func fromRoot(_ body: () throws -> String) throws -> String { try job.fromRoot(body) }

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
