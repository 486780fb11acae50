import GANTensor

/// Epoch-shuffled mini-batches of uint8 samples (images), converted to Float32 model units inside
/// the step (`scale · byte + offset`, e.g. 1/255 and 0 for [0, 1]). Order and resume semantics:
/// `EpochOrder`. The samples are in memory (`samples`) or read from an `IDXFile` per batch
/// (`file`: the data set stays out of the process's memory; the same batches either way).
public final class ByteBatcher {
    /// The samples when held in memory; empty when they are read from `file`.
    public let samples: [UInt8]
    public let file: IDXFile?
    /// Bytes per sample (e.g. 784).
    public let sampleSize: Int
    public var sampleCount: Int { order.sampleCount }
    public var batchSize: Int { order.batchSize }
    public var epoch: Int { order.epoch }
    public var position: Int { order.position }
    public var rng: RNG { order.rng }
    public private(set) var order: EpochOrder
    private var staging: [UInt8]

    public typealias Cursor = EpochOrder.Cursor
    public var cursor: Cursor { order.cursor }
    public func restore(_ c: Cursor) { order.restore(c) }

    public init(samples: [UInt8], sampleSize: Int, batchSize: Int, rng: RNG) {
        precondition(sampleSize > 0 && samples.count % sampleSize == 0, "ByteBatcher: \(samples.count) bytes is not a multiple of \(sampleSize)")
        self.samples = samples
        file = nil
        self.sampleSize = sampleSize
        order = EpochOrder(sampleCount: samples.count / sampleSize, batchSize: batchSize, rng: rng)
        staging = [UInt8](repeating: 0, count: batchSize * sampleSize)
    }

    /// Batches of the samples of `file` (its slices along the first dimension), read per batch.
    public init(file: IDXFile, batchSize: Int, rng: RNG) {
        samples = []
        self.file = file
        sampleSize = file.sampleSize
        order = EpochOrder(sampleCount: file.count, batchSize: batchSize, rng: rng)
        staging = [UInt8](repeating: 0, count: batchSize * sampleSize)
    }

    /// Fills `batch` (resized to `[batchSize] + sampleShape`) with the next batch in model units.
    public func next(into batch: Tensor, sampleShape: [Int], scale: Float, offset: Float) {
        let start = order.nextBatchStart(), n = batchSize, s = sampleSize
        batch.resize(batch: n, sampleShape: sampleShape)
        samples.withUnsafeBufferPointer { src in
            staging.withUnsafeMutableBufferPointer { dst in
                order.order.withUnsafeBufferPointer { idx in
                    if let file {
                        for b in 0..<n { file.read(sample: idx[start + b], into: dst.baseAddress! + b * s) }
                    } else {
                        for b in 0..<n { (dst.baseAddress! + b * s).update(from: src.baseAddress! + idx[start + b] * s, count: s) }
                    }
                }
                Kernels.bytesToFloat(dst.baseAddress!, batch.data, count: n * s, scale: scale, offset: offset)
            }
        }
    }
}
