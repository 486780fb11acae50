import GANTensor

/// Epoch-shuffled mini-batches of uint8 samples, converted to Float32 model units inside the step
/// (`scale · byte + offset`, e.g. 1/255 and 0 for [0, 1]). A new permutation is drawn from the
/// "data" RNG at the start of each epoch; a final partial batch is dropped (as the peers do).
/// The cursor (`epoch`, `position`) and the RNG state are what a checkpoint needs to resume the
/// exact order.
public final class ByteBatcher {
    public let samples: [UInt8]
    public let sampleCount: Int
    /// Bytes per sample (e.g. 784).
    public let sampleSize: Int
    public let batchSize: Int
    public private(set) var epoch = 0
    public private(set) var position = 0
    public private(set) var order: [Int] = []
    public var rng: RNG
    private var staging: [UInt8]

    public init(samples: [UInt8], sampleSize: Int, batchSize: Int, rng: RNG) {
        precondition(sampleSize > 0 && samples.count % sampleSize == 0, "ByteBatcher: \(samples.count) bytes is not a multiple of \(sampleSize)")
        self.samples = samples
        self.sampleSize = sampleSize
        self.sampleCount = samples.count / sampleSize
        precondition(batchSize >= 1 && batchSize <= sampleCount, "ByteBatcher: batch \(batchSize) for \(sampleCount) samples")
        self.batchSize = batchSize
        self.rng = rng
        staging = [UInt8](repeating: 0, count: batchSize * sampleSize)
        order = self.rng.permutation(sampleCount)
    }

    /// Fills `batch` (resized to `[batchSize] + sampleShape`) with the next batch in model units.
    public func next(into batch: Tensor, sampleShape: [Int], scale: Float, offset: Float) {
        if position + batchSize > sampleCount {
            epoch += 1
            position = 0
            order = rng.permutation(sampleCount)
        }
        batch.resize([batchSize] + sampleShape)
        let s = sampleSize
        samples.withUnsafeBufferPointer { src in
            staging.withUnsafeMutableBufferPointer { dst in
                for b in 0..<batchSize {
                    let from = src.baseAddress! + order[position + b] * s
                    (dst.baseAddress! + b * s).update(from: from, count: s)
                }
                Kernels.bytesToFloat(dst.baseAddress!, batch.data, count: batchSize * s, scale: scale, offset: offset)
            }
        }
        position += batchSize
    }
}
