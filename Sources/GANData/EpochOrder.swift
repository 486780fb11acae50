import GANTensor

/// The sample order of epoch-shuffled mini-batches: a permutation per epoch drawn from the
/// "data" RNG; a final partial batch is dropped (as the peers do). `cursor` (epoch, position and
/// the RNG state from which this epoch's order was drawn) is what a checkpoint stores;
/// `restore(_:)` continues with exactly the same batches.
public struct EpochOrder {
    public let sampleCount: Int
    public let batchSize: Int
    public private(set) var epoch = 0
    public private(set) var position = 0
    public private(set) var rng: RNG
    /// The RNG state just before this epoch's permutation was drawn.
    public private(set) var epochStartRNG: RNG
    public private(set) var order: [Int]

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

    public init(sampleCount: Int, batchSize: Int, rng: RNG) {
        precondition(batchSize >= 1 && batchSize <= sampleCount, "EpochOrder: batch \(batchSize) for \(sampleCount) samples")
        self.sampleCount = sampleCount
        self.batchSize = batchSize
        self.rng = rng
        epochStartRNG = rng
        order = self.rng.permutation(sampleCount)
    }

    public var cursor: Cursor { Cursor(epoch: epoch, position: position, epochStartRNG: epochStartRNG) }

    /// Continues from a saved cursor: redraws that epoch's order from its RNG state.
    public mutating func restore(_ c: Cursor) {
        precondition(c.position >= 0 && c.position <= sampleCount, "EpochOrder.restore: position \(c.position) outside 0...\(sampleCount)")
        epoch = c.epoch
        position = c.position
        epochStartRNG = c.epochStartRNG
        rng = c.epochStartRNG
        order = rng.permutation(sampleCount)
    }

    /// Start index into `order` of the next batch (a new epoch begins when fewer than a batch remain).
    public mutating func nextBatchStart() -> Int {
        if position + batchSize > sampleCount {
            epoch += 1
            position = 0
            epochStartRNG = rng
            order = rng.permutation(sampleCount)
        }
        defer { position += batchSize }
        return position
    }
}
