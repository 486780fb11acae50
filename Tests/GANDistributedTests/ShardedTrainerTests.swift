import GANNN
import GANTestSupport
import Testing
@_spi(Testing) import GANTensor
@testable import GANDistributed

/// Data-parallel steps on one process (the MPI path is tested end to end in CLITests).
@Suite("Sharded trainer")
struct ShardedTrainerTests {
    @Test("the mean of the leaves, in the tree's order, for any number of shards", arguments: [1, 2, 3, 4, 8])
    func shardedSumIsTheTreeMean(shards: Int) throws {
        let sum = ShardedSum(shards: shards, communicator: nil)
        #expect(sum.localShards == 0..<shards)
        let count = 1000
        var leaves: [[Float]] = []
        for k in 0..<shards {
            var rng = RNG(seed: UInt64(k + 1))
            let p = sum.leaf(k, count: count)
            rng.fillNormal(p, count: count)
            leaves.append(Array(UnsafeBufferPointer(start: p, count: count)))
        }
        let out = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { out.deallocate() }
        try sum.mean(count: count, into: out)
        func tree(_ lo: Int, _ hi: Int, _ i: Int) -> Float {
            hi - lo == 1 ? leaves[lo][i] : tree(lo, lo + (hi - lo) / 2, i) + tree(lo + (hi - lo) / 2, hi, i)
        }
        for i in 0..<count { #expect(out[i].bitPattern == (tree(0, shards, i) / Float(shards)).bitPattern) }
    }

    /// An MLP GAN without batch statistics: the mean over shards of per-shard mean losses is the
    /// full batch's mean loss, so the sharded gradients match the unsharded ones up to rounding.
    static func makeTrainer(seed: UInt64) throws -> AdversarialTrainer {
        var rng = RNG(seed: seed, stream: .initialization)
        let g = Sequential([Linear(4, 16, rng: &rng), LeakyReLU(alpha: 0.2), Linear(16, 6, rng: &rng)])
        let d = Sequential([Linear(6, 16, rng: &rng), LeakyReLU(alpha: 0.2), Linear(16, 1, rng: &rng)])
        return try AdversarialTrainer(generator: g, discriminator: d, generatorOptimizer: .sgd(learningRate: 0.01),
                                      discriminatorOptimizer: .sgd(learningRate: 0.01), noiseDimension: 4,
                                      noiseRNG: RNG(seed: seed, stream: .noise))
    }

    @Test("sharded D and G gradients equal the whole batch's, up to rounding")
    func gradientsMatchTheWholeBatch() throws {
        let shards = 4, batch = 32
        let real = randomTensor([batch, 6], seed: 9)
        // The sharded trainer draws shard k's z from its own stream; give the plain trainer the
        // same z, stacked in shard order.
        let plain = try Self.makeTrainer(seed: 5), split = try Self.makeTrainer(seed: 5)
        let sharded = ShardedTrainer(trainer: split, shards: shards, communicator: nil, seed: 5)
        let z = Tensor(shape: [batch, 4])
        let part = Tensor(shape: [batch / shards, 4])
        for k in 0..<shards {
            var rng = RNG(seed: 5, stream: .noise(shard: k, of: shards))
            NoisePrior.normal().fill(part, rng: &rng, stratified: false)
            (z.data + k * part.count).update(from: part.data, count: part.count)
        }
        let dPlain = plain.discriminatorGradients(real: real, noise: z)
        let dSharded = try sharded.discriminatorStep(real: real, step: 0)
        #expect(abs(dPlain.loss - dSharded.loss) < 1e-5 && abs(dPlain.realScore - dSharded.realScore) < 1e-6)
        // The sharded step already applied its update; compare D's new weights with the plain
        // trainer's after its own update from the same gradients.
        plain.applyDiscriminatorGradients(step: 0)
        for (a, b) in zip(plain.discriminator.parameters, split.discriminator.parameters) {
            #expect(closeness(a.value.array, b.value.array, rtol: 1e-5, atol: 1e-6) <= 1, "\(a.name)")
        }
    }

    @Test("the same seed gives the same bits, step after step; the noise streams are per shard")
    func deterministicAndPerShardStreams() throws {
        func run() throws -> ([Float], [[UInt64]]) {
            let t = try Self.makeTrainer(seed: 3)
            let s = ShardedTrainer(trainer: t, shards: 2, communicator: nil, seed: 3)
            let real = randomTensor([16, 6], seed: 4)
            for step in 0..<3 {
                _ = try s.discriminatorStep(real: real, step: step)
                _ = try s.generatorStep(batchSize: 16, step: step, stop: false)
            }
            return (t.generator.parameters.flatMap(\.value.array), try s.allNoiseRNGs().map(\.stateWords))
        }
        let (a, streams) = try run(), (b, again) = try run()
        #expect(a.map(\.bitPattern) == b.map(\.bitPattern) && streams == again)
        #expect(streams.count == 2 && streams[0] != streams[1])
        #expect(RNGStream.noise(shard: 0, of: 1) == .noise && RNGStream.noise(shard: 1, of: 2).name == "noise-shard-1")
    }

    @Test("a stop asked for on the G step's exchange comes back as agreed")
    func stopFlagIsCombined() throws {
        let s = ShardedTrainer(trainer: try Self.makeTrainer(seed: 1), shards: 2, communicator: nil, seed: 1)
        #expect(try s.generatorStep(batchSize: 8, step: 0, stop: false).stop == false)
        #expect(try s.generatorStep(batchSize: 8, step: 1, stop: true).stop == true)
    }
}
