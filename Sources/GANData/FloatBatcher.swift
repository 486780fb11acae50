import GANTensor

/// Epoch-shuffled mini-batches of float samples (the prepared toy and table data sets). Order and
/// resume semantics: `EpochOrder`.
public final class FloatBatcher {
    public let samples: [Float]
    public let sampleSize: Int
    public var sampleCount: Int { order.sampleCount }
    public var batchSize: Int { order.batchSize }
    public private(set) var order: EpochOrder

    public var cursor: EpochOrder.Cursor { order.cursor }
    public func restore(_ c: EpochOrder.Cursor) { order.restore(c) }

    public init(samples: [Float], sampleSize: Int, batchSize: Int, rng: RNG) {
        precondition(sampleSize > 0 && samples.count % sampleSize == 0, "FloatBatcher: \(samples.count) values is not a multiple of \(sampleSize)")
        self.samples = samples
        self.sampleSize = sampleSize
        order = EpochOrder(sampleCount: samples.count / sampleSize, batchSize: batchSize, rng: rng)
    }

    /// Fills `batch` (resized to `[batchSize, sampleSize]`) with the next batch.
    public func next(into batch: Tensor) {
        let start = order.nextBatchStart(), n = batchSize, s = sampleSize
        batch.resize(rows: n, columns: s)
        samples.withUnsafeBufferPointer { src in
            order.order.withUnsafeBufferPointer { idx in
                for b in 0..<n { (batch.data + b * s).update(from: src.baseAddress! + idx[start + b] * s, count: s) }
            }
        }
    }
}
