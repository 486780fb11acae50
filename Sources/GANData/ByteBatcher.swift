import GANTensor

/// Epoch-shuffled mini-batches of uint8 samples, converted to Float32 model units inside the step
/// (`scale · byte + offset`, e.g. 1/255 and 0 for [0, 1]). A new permutation is drawn from the
/// "data" RNG at the start of each epoch; a final partial batch is dropped (as the peers do).
/// `cursor` (epoch, position and the RNG state from which this epoch's order was drawn) is what a
/// checkpoint stores; `restore(_:)` continues with exactly the same batches.
public final class ByteBatcher {
    public let samples: [UInt8]
    public let sampleCount: Int
    /// Bytes per sample (e.g. 784).
    public let sampleSize: Int
    public let batchSize: Int
    public private(set) var epoch = 0
    public private(set) var position = 0
    public private(set) var order: [Int] = []
    public private(set) var rng: RNG
    /// The RNG state just before this epoch's permutation was drawn.
    public private(set) var epochStartRNG: RNG
    private var staging: [UInt8]

    /// Where the batcher is: restore it with `restore(_:)`.
    public struct Cursor: Equatable, Sendable {
        public var epoch: Int
        public var position: Int
        public var epochStartRNG: RNG
        public init(epoch: Int, position: Int, epochStartRNG: RNG) {
            self.epoch = epoch
            self.position = position
            self.epochStartRNG = epochStartRNG
        }
    }

    public var cursor: Cursor { Cursor(epoch: epoch, position: position, epochStartRNG: epochStartRNG) }

    /// Continues from a saved cursor: redraws that epoch's order from its RNG state.
    public func restore(_ c: Cursor) {
        precondition(c.position >= 0 && c.position <= sampleCount, "ByteBatcher.restore: position \(c.position) outside 0...\(sampleCount)")
        epoch = c.epoch
        position = c.position
        epochStartRNG = c.epochStartRNG
        rng = c.epochStartRNG
        order = rng.permutation(sampleCount)
    }

    public init(samples: [UInt8], sampleSize: Int, batchSize: Int, rng: RNG) {
        precondition(sampleSize > 0 && samples.count % sampleSize == 0, "ByteBatcher: \(samples.count) bytes is not a multiple of \(sampleSize)")
        self.samples = samples
        self.sampleSize = sampleSize
        self.sampleCount = samples.count / sampleSize
        precondition(batchSize >= 1 && batchSize <= sampleCount, "ByteBatcher: batch \(batchSize) for \(sampleCount) samples")
        self.batchSize = batchSize
        self.rng = rng
        self.epochStartRNG = rng
        staging = [UInt8](repeating: 0, count: batchSize * sampleSize)
        order = self.rng.permutation(sampleCount)
    }

    /// Fills `batch` (resized to `[batchSize] + sampleShape`) with the next batch in model units.
    public func next(into batch: Tensor, sampleShape: [Int], scale: Float, offset: Float) {
        if position + batchSize > sampleCount {
            epoch += 1
            position = 0
            epochStartRNG = rng
            order = rng.permutation(sampleCount)
        }
        batch.resize(batch: batchSize, sampleShape: sampleShape)
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
