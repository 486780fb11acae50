import GANNN

/// Data-parallel adversarial steps whose results do not depend on the number of processes.
///
/// Every batch of B rows (real rows and noise rows alike) is split into K fixed shards of B/K
/// consecutive rows; shard k always draws its z from its own stream, `RNGStream.noise(shard: k,
/// of: K)`. A process computes the gradients of whole shards (`ShardedSum.localShards`), one at a
/// time through the wrapped `AdversarialTrainer`'s gradient halves, each shard's loss a mean over
/// its own rows. The shards' gradients are combined by `ShardedSum` (a mean in a fixed tree order,
/// exchanged over MPI when there are several ranks) and every process then applies the identical
/// optimiser update. So one process computing all K shards and R processes computing K/R each end
/// with the same bits, step after step.
///
/// Layer buffers follow the same rule: every shard starts from the same buffers (batch norm's
/// running statistics, spectral norm's power-iteration vectors, virtual batch norm's reference
/// statistics), and the buffers after the step are the mean of the shards' buffers. Batch norm
/// therefore normalises with per-shard statistics (as PyTorch DDP does without SyncBatchNorm), and
/// its running statistics move towards the mean of the shards' statistics. Losses and D's scores
/// are means over the shards too.
///
/// With one shard and one process this is not used: the trainer's own steps are exactly today's.
public final class ShardedTrainer {
    public let trainer: AdversarialTrainer
    public let shards: Int
    /// The combination of the shards' vectors (and, over MPI, the exchange).
    public let sum: ShardedSum
    /// The z streams of this process's shards, in shard order (`localShards`).
    public var noiseRNGs: [RNG]
    public var localShards: Range<Int> { sum.localShards }

    private let generatorGradients: [Tensor]
    private let discriminatorGradients: [Tensor]
    private let buffers: [Tensor]
    private let real = Tensor(shape: [0])
    private let noise = Tensor(shape: [0])
    private var snapshot: [Float] = []
    private var combined: [Float] = []

    /// `trainer`'s steps over `shards` shards; with a communicator, this rank's share of them
    /// (shards must be a multiple of the number of ranks). Each shard's z stream starts from `seed`.
    public init(trainer: AdversarialTrainer, shards: Int, communicator: Communicator?, seed: UInt64) {
        self.trainer = trainer
        self.shards = shards
        sum = ShardedSum(shards: shards, communicator: communicator)
        noiseRNGs = sum.localShards.map { RNG(seed: seed, stream: .noise(shard: $0, of: shards)) }
        generatorGradients = trainer.generator.parameters.map(\.gradient)
        discriminatorGradients = trainer.discriminator.parameters.map(\.gradient)
        buffers = trainer.generator.namedBuffers.map(\.tensor) + trainer.discriminator.namedBuffers.map(\.tensor)
    }

    /// (1) The D step on a whole batch `real` (B rows in model units, B a multiple of the shards):
    /// per local shard, D's gradients on its rows and on G's samples of its z; their mean over all
    /// shards; then D's update. Returns the shards' mean loss and scores.
    public func discriminatorStep(real batch: Tensor, step: Int) throws -> DiscriminatorStepResult {
        let scalars = try combine(gradients: discriminatorGradients, scalarCount: 3) { shard, i in
            let r = trainer.discriminatorGradients(real: rows(of: batch, shard: shard), noise: drawNoise(batch.rows, localIndex: i))
            return [r.loss, r.realScore, r.fakeScore]
        }
        trainer.applyDiscriminatorGradients(step: step)
        return DiscriminatorStepResult(loss: scalars[0], realScore: scalars[1], fakeScore: scalars[2])
    }

    /// (2) The G step with `batchSize` z (B/K per shard from the shards' streams): the mean of the
    /// shards' G gradients, then G's update (and its weight average). `stop` is this process's
    /// wish to stop after the step; the result's `stop` is true when any process wished it, so
    /// every process sees the same answer at the same step.
    public func generatorStep(batchSize: Int, step: Int, stop: Bool) throws -> (loss: Float, stop: Bool) {
        let scalars = try combine(gradients: generatorGradients, scalarCount: 2) { _, i in
            let loss = trainer.generatorGradients(noise: drawNoise(batchSize, localIndex: i), real: nil, step: step)
            return [loss, stop ? 1 : 0]
        }
        trainer.applyGeneratorGradients(step: step)
        return (scalars[0], scalars[1] > 0)
    }

    /// The noise streams of all K shards, in shard order, on every process (for checkpoints).
    public func allNoiseRNGs() throws -> [RNG] {
        guard let communicator = sum.communicator, communicator.size > 1 else { return noiseRNGs }
        let words = noiseRNGs.flatMap(\.stateWords)
        let bytes = words.withUnsafeBytes { Array($0) }
        let all = try communicator.allgather(bytes: bytes).flatMap { $0 }
        let gathered: [UInt64] = all.withUnsafeBytes { Array($0.bindMemory(to: UInt64.self)) }
        return stride(from: 0, to: gathered.count, by: 4).map { RNG(stateWords: Array(gathered[$0..<($0 + 4)]))! }
    }

    /// Runs `shard` for every local shard from the same buffers, collects each one's gradients,
    /// buffers and `scalarCount` scalars as one vector, and leaves their mean over all shards in
    /// the gradients and buffers; returns the mean scalars.
    private func combine(gradients: [Tensor], scalarCount: Int,
                         _ shard: (_ shard: Int, _ localIndex: Int) -> [Float]) throws -> [Float] {
        let count = (gradients + buffers).reduce(scalarCount) { $0 + $1.count }
        Self.pack(buffers, into: &snapshot)
        for (i, k) in localShards.enumerated() {
            if i > 0 { Self.unpack(snapshot, into: buffers) }
            let scalars = shard(k, i)
            var p = sum.leaf(k, count: count)
            for t in gradients + buffers {
                p.update(from: t.data, count: t.count)
                p += t.count
            }
            p.update(from: scalars, count: scalarCount)
        }
        if combined.count < count { combined = [Float](repeating: 0, count: count) }
        try combined.withUnsafeMutableBufferPointer { out in
            try sum.mean(count: count, into: out.baseAddress!)
            var p = out.baseAddress!
            for t in gradients + buffers {
                t.data.update(from: p, count: t.count)
                p += t.count
            }
        }
        return Array(combined[(count - scalarCount)..<count])
    }

    /// Rows `[k·B/K, (k+1)·B/K)` of `batch` (any sample shape) in an owned buffer.
    private func rows(of batch: Tensor, shard k: Int) -> Tensor {
        let n = batch.rows / shards, width = batch.count / max(batch.rows, 1)
        real.resize([n] + batch.shape.dropFirst())
        real.data.update(from: batch.data + k * n * width, count: n * width)
        return real
    }

    /// B/K z of the `localIndex`-th local shard's stream.
    private func drawNoise(_ batchSize: Int, localIndex: Int) -> Tensor {
        noise.resize(rows: batchSize / shards, columns: trainer.noiseDimension)
        trainer.options.noisePrior.fill(noise, rng: &noiseRNGs[localIndex], stratified: false)
        return noise
    }

    private static func pack(_ tensors: [Tensor], into flat: inout [Float]) {
        let total = tensors.reduce(0) { $0 + $1.count }
        if flat.count != total { flat = [Float](repeating: 0, count: total) }
        flat.withUnsafeMutableBufferPointer { out in
            var p = out.baseAddress!
            for t in tensors {
                p.update(from: t.data, count: t.count)
                p += t.count
            }
        }
    }

    private static func unpack(_ flat: [Float], into tensors: [Tensor]) {
        flat.withUnsafeBufferPointer { src in
            var p = src.baseAddress!
            for t in tensors {
                t.data.update(from: p, count: t.count)
                p += t.count
            }
        }
    }
}
