import Foundation
import GANCheckpoint
import GANNN
import GANServe

/// One checkpoint loaded for serving: its G and D, built once and never changed (a reload builds
/// a new one and swaps it in, so a request keeps the checkpoint it started with). The networks
/// own their activation buffers and are used by the batcher's compute thread alone.
final class LoadedCheckpoint: @unchecked Sendable {
    let path: String
    let stage: String
    let step: Int
    let space: SampleSpace
    let generator: Sequential
    let discriminator: Sequential
    let discriminatorInputShape: [Int]
    let isCritic: Bool
    let generatorIsUntrained: Bool
    /// A class-conditional model's classes (nil: unconditional); whether D takes the labels too
    /// (concat, projection; an ACGAN D predicts them).
    let classes: ClassInfo?
    let discriminatorTakesLabels: Bool
    /// The most rows one forward pass of each network may merge from several requests (1: none);
    /// see `RowMerging`.
    let generatorMergeLimit: Int
    let discriminatorMergeLimit: Int
    /// Input buffers of the compute thread, reused between passes.
    let noiseScratch = Tensor(shape: [0])
    let dataScratch = Tensor(shape: [0])

    /// Builds both networks exactly as `gan-sample generate` and `score` do (`ServedModel`: the
    /// moving average of G's weights when stored), then closes the file.
    init(_ reader: CheckpointReader) throws {
        defer { reader.close() }
        let model = try ServedModel(reader)
        path = reader.path
        stage = reader.stage.rawValue
        step = reader.step
        space = model.space
        generator = try model.generator()
        discriminator = try model.discriminator()
        discriminatorInputShape = model.discriminatorInputShape(discriminator)
        isCritic = model.isCritic
        generatorIsUntrained = model.generatorIsUntrained
        classes = model.classes
        discriminatorTakesLabels = discriminator.conditionalClassCount != nil
        generatorMergeLimit = RowMerging.limit(generator)
        discriminatorMergeLimit = RowMerging.limit(discriminator)
    }

    /// Opens RUN_OR_CHECKPOINT as `gan-sample generate` does (the newest complete checkpoint of a
    /// directory, falling back past damaged ones with a warning).
    static func open(_ source: String) throws -> (checkpoint: LoadedCheckpoint, warnings: [String]) {
        let (reader, warnings) = try CheckpointLocator.open(source)
        return (try LoadedCheckpoint(reader), warnings)
    }
}

/// When rows of different requests may share one forward pass without changing a bit of any
/// answer.
///
/// Every layer but the matrix products maps each row on its own (`RowIndependentLayer`s
/// element-wise with the same arithmetic in SIMD lanes and tails, batch norm in evaluation mode
/// with its running statistics, virtual batch norm with its stored reference). The products are
/// where rows meet: `gemm` picks the SmallGEMM kernel or OpenBLAS from the matrix size, and
/// - SmallGEMM sums every element in increasing k, whatever rows surround it (its documented
///   determinism), so a pass in which every product stays on SmallGEMM for the merged row count
///   gives each row the bits it has alone;
/// - OpenBLAS (0.3.21, Haswell kernel, measured: `Benchmarks/serving-batching.md`) computes a row
///   with a different micro-kernel depending on where it falls in the call's 12-row tiles and
///   on the rows after it (classes 1-3, 4-7, 8-11 and the two halves of a 12-row tile), so a row
///   merged with others can change in the last bits; and a merge that moves a product from
///   SmallGEMM to OpenBLAS changes rows too.
/// - oneDNN's matmul, which runs the products above SmallGEMM's limits on AVX-512 CPUs, gives a row
///   the same bits for any row count at one thread (`OneDNNRowTests`, measured up to 70 rows), so
///   a product that is on oneDNN even for one row merges up to `oneDNNRows` rows when the server
///   computes on one thread (`--threads 1`; with more, few-row products split by columns).
/// So the limit is the largest row count at which every product of the network still takes
/// SmallGEMM (monotone in the row count) or is on oneDNN at every row count, and 1 — each request's chunk in a pass of its own, as
/// `gan-sample generate` computes it — for networks with a product OpenBLAS computes at one row,
/// with convolutions (their products' shapes are the layers' business), or with a layer kind not
/// known to be row-local.
enum RowMerging {
    /// The most rows merged into one oneDNN product: the row counts `OneDNNRowTests` covers.
    static let oneDNNRows = 64

    static func limit(_ network: Sequential) -> Int {
        var limit = SmallGEMM.maxDimension
        for layer in network.layers {
            switch layer {
            case let linear as Linear:
                if OneDNN.runsMatrixProducts && ComputeThreads.count == 1
                    && !SmallGEMM.applies(transB: true, m: 1, n: linear.outFeatures, k: linear.inFeatures) {
                    limit = min(limit, oneDNNRows)
                    continue
                }
                var m = 0
                while m < limit, SmallGEMM.applies(transB: true, m: m + 1, n: linear.outFeatures, k: linear.inFeatures) { m += 1 }
                limit = m
            case is ElementwiseLayer, is Maxout, is Reshape, is BatchNorm, is VirtualBatchNorm:
                continue
            default:
                return 1
            }
        }
        return max(limit, 1)
    }
}

/// A run served under one name (`NAME-g`, `NAME-d`): the checkpoint it serves now, swapped
/// atomically by the reloader.
final class ServedRun: @unchecked Sendable {
    let name: String
    /// What was named on the command line (a run or stage directory, or a file).
    let source: String
    private let lock = NSLock()
    private var loaded: LoadedCheckpoint

    init(name: String, source: String, checkpoint: LoadedCheckpoint) {
        self.name = name
        self.source = source
        loaded = checkpoint
    }

    var current: LoadedCheckpoint { lock.withLock { loaded } }

    func swap(to checkpoint: LoadedCheckpoint) { lock.withLock { loaded = checkpoint } }

    /// The default NAME: the run directory's name (for a stage directory or a file in one, the
    /// directory above the stage).
    static func defaultName(for source: String) -> String {
        var url = URL(fileURLWithPath: source).standardizedFileURL
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue {
            url.deleteLastPathComponent()
        }
        if Stage.checkpointed.map(\.rawValue).contains(url.lastPathComponent) { url.deleteLastPathComponent() }
        return url.lastPathComponent
    }
}

/// One forward pass worth of a request: up to `ServeLimits.passRows` rows (the `--batch` default
/// of `generate` and `score`, so a request is cut into the passes those commands make), for one
/// network of one checkpoint.
final class ForwardJob: @unchecked Sendable {
    enum Network { case generator, discriminator }
    let network: Network
    /// `NAME-g` or `NAME-d` (the metrics' label).
    let modelName: String
    let checkpoint: LoadedCheckpoint
    let rows: Int
    /// Noise (rows x noise dimension) or data-unit samples (rows x features).
    let input: [Float]
    /// The rows' class labels for a class-conditional network (whose passes are never merged:
    /// `RowMerging` keeps its layers to one request per pass), else nil.
    let labels: [Int]?
    private var continuation: CheckedContinuation<[Float]?, Never>?

    init(_ network: Network, model: String, checkpoint: LoadedCheckpoint, rows: Int, input: [Float], labels: [Int]? = nil) {
        self.network = network
        self.labels = labels
        modelName = model
        self.checkpoint = checkpoint
        self.rows = rows
        self.input = input
    }

    var mergeLimit: Int { network == .generator ? checkpoint.generatorMergeLimit : checkpoint.discriminatorMergeLimit }
    var outputWidth: Int { network == .generator ? checkpoint.space.features : 1 }

    func canShare(with other: ForwardJob) -> Bool { other.checkpoint === checkpoint && other.network == network }

    /// Runs on the compute thread; `submit`'s caller gets the rows' outputs (de-normalised
    /// samples, or D's raw outputs).
    func finish(_ output: [Float]) {
        continuation?.resume(returning: output)
        continuation = nil
    }

    /// Queues the job and waits for its outputs; nil when the server is shutting down.
    func submit(to batcher: DynamicBatcher<ForwardJob>) async -> [Float]? {
        await withCheckedContinuation { c in
            continuation = c  // set before the compute thread can see the job (enqueue locks)
            if !batcher.enqueue(self, rows: rows) {
                continuation = nil
                c.resume(returning: nil)
            }
        }
    }
}
