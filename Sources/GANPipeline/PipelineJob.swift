import Foundation
import GANDistributed
import GANTensor

/// The processes running one pipeline: a plain single process, or the ranks of an MPI job
/// (`mpirun -np N gan-pipeline run ...`). Every fallible step that ranks must pass together goes
/// through `everyRank` (each rank does it, a failure anywhere stops all) or `rootOnly` (rank 0
/// does it, the others learn the outcome), so that no rank waits forever in a collective for a
/// rank that has failed. Without MPI both simply run the body.
public struct PipelineJob {
    public let communicator: Communicator?

    public init(_ communicator: Communicator?) { self.communicator = communicator }

    /// The single process, or rank 0: the one that writes into the run directory and prints.
    public var isRoot: Bool { communicator?.isRoot ?? true }

    /// `body` on every rank, failing everywhere (with the lowest failing rank's code and line)
    /// when it fails on any.
    public func everyRank<T>(_ body: () throws -> T) throws -> T {
        guard let communicator else { return try body() }
        return try communicator.everyRank(PipelineError.describe, body)
    }

    /// `body` on rank 0 only, its failure reaching every rank; nil on the other ranks.
    @discardableResult
    public func rootOnly<T>(_ body: () throws -> T) throws -> T? {
        guard let communicator else { return try body() }
        return try communicator.rootOnly(PipelineError.describe, body)
    }

    /// `body`'s text computed on rank 0 and received by every rank (a path, a score).
    public func fromRoot(_ body: () throws -> String) throws -> String {
        guard let communicator else { return try body() }
        let value = try communicator.rootOnly(PipelineError.describe, body) ?? ""
        return String(decoding: try communicator.broadcast(bytes: Array(value.utf8)), as: UTF8.self)
    }

    /// Refuses a configuration this job cannot train: every process computes whole batch shards,
    /// so `train.shards` must be a multiple of the number of processes.
    public func checkShards(_ config: PipelineConfig) throws {
        guard let ranks = communicator?.size, config.train.shards % ranks != 0 else { return }
        throw PipelineError.config("train.shards (\(config.train.shards)) must be a multiple of the number of processes (\(ranks)): "
                                   + "each process computes whole batch shards; run with -np dividing \(config.train.shards)")
    }

    /// Refuses a job whose ranks would not compute the same run: a different gan-pipeline binary
    /// (hash of the executable), configuration (hash of the resolved YAML) or thread count on some
    /// rank than on rank 0. Data-parallel results are identical across world sizes only when every
    /// rank runs the same program the same way.
    public func checkSameRun(configuration: String, threads: Int) throws {
        guard let communicator, communicator.size > 1 else { return }
        let executable = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/self/exe"))) ?? Data()
        let mine = [Hashing.fnv1a64(executable), Hashing.fnv1a64(configuration.utf8), UInt64(threads)]
        let all = try communicator.allgather(bytes: mine.withUnsafeBytes { Array($0) }).map { bytes in
            bytes.withUnsafeBytes { Array($0.bindMemory(to: UInt64.self)) }
        }
        for (rank, theirs) in all.enumerated() where theirs != all[0] {
            let what = theirs[0] != all[0][0] ? "a different gan-pipeline binary"
                : theirs[1] != all[0][1] ? "a different configuration (pipeline file or --set/--seed)"
                : "--threads \(theirs[2]) (rank 0: \(all[0][2]))"
            throw PipelineError.config("rank \(rank) runs \(what) than rank 0: every rank must run the same command on the same files")
        }
    }
}
