import Foundation
import GANCheckpoint
import GANData
import GANNN
import GANTestSupport
import Testing
@_spi(Testing) import GANTensor

/// Exact resume: N steps straight == N/2 steps, save, load into fresh objects, N/2 steps.
///
/// What a resume needs from the checkpoint (the convention the pipeline follows):
/// - both networks and both optimisers (state tensors, `stepCount`);
/// - the step, the clock of the learning-rate schedules (the stored rate is not read back);
/// - `rng/noise`: the trainer's `noiseRNG`;
/// - `rng/data`: the batcher's `epochStartRNG` (the state from which the current epoch's order was
///   drawn) with the root attributes `epoch` and `position`; `ByteBatcher.restore` redraws the
///   epoch's permutation from it and continues at `position`;
/// - `history/*` so the metric series continue.
@Suite("Checkpoint exact resume")
struct CheckpointResumeTests {
    static let sampleShape = [1, 4, 4]
    static let images: [UInt8] = {   // 40 synthetic 4x4 "images": a gradient plus noise
        var rng = RNG(seed: 2024)
        return (0..<40 * 16).map { i in UInt8(truncatingIfNeeded: (i % 16) * 12 + Int(rng.next() % 64)) }
    }()

    /// Which optimisers G and D use; one of each pair decays its learning rate, so the resumed
    /// run must take its rates from the step counter.
    enum Optimisers: String, CaseIterable, Sendable {
        case adamAndSGDMomentum, rmspropCenteredAndAdamWeightDecay

        var descriptions: (OptimizerDescription, OptimizerDescription) {
            switch self {
            case .adamAndSGDMomentum:
                (.adam(learningRate: .stepDecay(initial: 2e-3, factor: 0.5, every: 3), beta1: 0.5),
                 .sgd(learningRate: 0.02, momentum: 0.9, nesterov: true))
            case .rmspropCenteredAndAdamWeightDecay:
                (.rmsprop(learningRate: 1e-3, momentum: 0.3, centered: true),
                 .adam(learningRate: .stepDecay(initial: 1e-3, factor: 0.7, every: 4), beta1: 0.5, weightDecay: 1e-3))
            }
        }
    }

    /// A GAN whose real data come from a ByteBatcher (batch 16 of 40 samples: 2 batches per epoch,
    /// the last 8 samples dropped, so epochs wrap every 2 steps).
    final class Rig {
        let trainer: AdversarialTrainer
        let batcher: ByteBatcher
        let real = Tensor(shape: [0])
        var dLoss: [Double] = [], gLoss: [Double] = []
        var step = 0

        init(_ g: Sequential, _ d: Sequential, _ kind: Optimisers, noiseRNG: RNG, dataRNG: RNG) throws {
            let (og, od) = kind.descriptions
            trainer = try AdversarialTrainer(generator: g, discriminator: d, generatorOptimizer: og, discriminatorOptimizer: od,
                                             noiseDimension: 6, noiseRNG: noiseRNG)
            batcher = ByteBatcher(samples: CheckpointResumeTests.images, sampleSize: 16, batchSize: 16, rng: dataRNG)
        }

        convenience init(seed: UInt64, _ kind: Optimisers) throws {
            try self.init(makeTestGenerator(z: 6, hidden: 24, out: 16, seed: seed),
                          makeTestDiscriminator(input: 16, hidden: 24, seed: seed),
                          kind, noiseRNG: RNG(seed: seed, stream: .noise), dataRNG: RNG(seed: seed, stream: .data))
        }

        func train(_ steps: Int) {
            for _ in 0..<steps {
                batcher.next(into: real, sampleShape: CheckpointResumeTests.sampleShape, scale: 1 / 127.5, offset: -1)
                let r = trainer.discriminatorStep(real: real, step: step)
                dLoss.append(Double(r.loss))
                gLoss.append(Double(trainer.generatorStep(batchSize: 16, real: real, step: step)))
                step += 1
            }
        }

        func checkpoint(step: Int) -> TrainingCheckpoint {
            var c = TrainingCheckpoint(stage: .train, step: step,
                                       data: DataDescription(sampleShape: CheckpointResumeTests.sampleShape, scale: 1 / 127.5,
                                                             offset: -1, noiseDimension: 6),
                                       networks: [NetworkEntry("generator", trainer.generator, optimizer: trainer.generatorOptimizer),
                                                  NetworkEntry("discriminator", trainer.discriminator, optimizer: trainer.discriminatorOptimizer)])
            let cursor = batcher.cursor
            c.epoch = cursor.epoch
            c.position = cursor.position
            c.rngs = [(RNGStream.noise.name, trainer.noiseRNG), (RNGStream.data.name, cursor.epochStartRNG)]
            c.history = [("d_loss", dLoss), ("g_loss", gLoss)]
            return c
        }

        /// Fresh objects restored from a checkpoint: networks built from the file's specs, or built
        /// by the usual builder with another init seed and then loaded; other seeds everywhere.
        static func resume(from r: CheckpointReader, _ kind: Optimisers, networksFromSpecs: Bool) throws -> Rig {
            let g: Sequential, d: Sequential
            if networksFromSpecs {
                g = try r.buildNetwork("generator")
                d = try r.buildNetwork("discriminator")
            } else {
                g = makeTestGenerator(z: 6, hidden: 24, out: 16, seed: 999)
                d = makeTestDiscriminator(input: 16, hidden: 24, seed: 999)
                try r.load("generator", into: g)
                try r.load("discriminator", into: d)
            }
            let rig = try Rig(g, d, kind, noiseRNG: RNG(seed: 31337), dataRNG: RNG(seed: 4242))
            try r.loadOptimizer("generator", into: rig.trainer.generatorOptimizer, of: g)
            try r.loadOptimizer("discriminator", into: rig.trainer.discriminatorOptimizer, of: d)
            rig.trainer.noiseRNG = try r.rng(RNGStream.noise.name)
            rig.batcher.restore(ByteBatcher.Cursor(epoch: r.epoch, position: r.position, epochStartRNG: try r.rng(RNGStream.data.name)))
            rig.step = r.step
            let history = Dictionary(uniqueKeysWithValues: try r.history().map { ($0.metric, $0.values) })
            rig.dLoss = history["d_loss"] ?? []
            rig.gLoss = history["g_loss"] ?? []
            return rig
        }

        var allTensors: [(String, Tensor)] {
            networkTensors(trainer.generator).map { ("G/\($0.0)", $0.1) }
                + networkTensors(trainer.discriminator).map { ("D/\($0.0)", $0.1) }
                + optimizerTensors(trainer.generatorOptimizer, of: trainer.generator).map { ("optG/\($0.0)", $0.1) }
                + optimizerTensors(trainer.discriminatorOptimizer, of: trainer.discriminator).map { ("optD/\($0.0)", $0.1) }
        }
    }

    static let n = 10

    @Test(arguments: Optimisers.allCases, [false, true])
    func resumedRunIsBitIdenticalToStraightRun(optimisers: Optimisers, networksFromSpecs: Bool) throws {
        let straight = try Rig(seed: 5, optimisers)
        straight.train(Self.n)

        let dir = try TempDir()
        let store = CheckpointDirectory(dir.url.appendingPathComponent("train"), keepLast: 3)
        do {
            let first = try Rig(seed: 5, optimisers)
            first.train(Self.n / 2)
            // The save point is inside an epoch after the order has been redrawn twice.
            #expect(first.batcher.epoch == 2 && first.batcher.position == 16)
            try store.save(first.checkpoint(step: Self.n / 2))
        }
        let (reader, warnings) = try store.openLatest()
        #expect(warnings.isEmpty)
        #expect(reader.step == Self.n / 2 && reader.epoch == 2 && reader.position == 16)
        let resumed = try Rig.resume(from: reader, optimisers, networksFromSpecs: networksFromSpecs)
        reader.close()
        resumed.train(Self.n - Self.n / 2)

        let compared = expectBitwise(straight.allTensors, resumed.allTensors, "resumed vs straight")
        #expect(compared == 10 + (optimisers == .adamAndSGDMomentum ? 8 + 6 : 12 + 12))
        #expect(straight.trainer.generatorOptimizer.stepCount == Self.n && resumed.trainer.generatorOptimizer.stepCount == Self.n)
        #expect(resumed.trainer.discriminatorOptimizer.stepCount == Self.n)
        #expect(resumed.trainer.generatorOptimizer.learningRate == straight.trainer.generatorOptimizer.learningRate)
        #expect(resumed.trainer.discriminatorOptimizer.learningRate == straight.trainer.discriminatorOptimizer.learningRate)
        #expect(resumed.trainer.noiseRNG == straight.trainer.noiseRNG)
        #expect(resumed.batcher.cursor == straight.batcher.cursor && resumed.batcher.rng == straight.batcher.rng)
        #expect(resumed.batcher.order.order == straight.batcher.order.order)
        #expect(bits(resumed.dLoss) == bits(straight.dLoss) && bits(resumed.gLoss) == bits(straight.gLoss))
        #expect(resumed.dLoss.count == Self.n)
    }

    /// The comparison above is sensitive: resuming without the data cursor (a fresh batcher),
    /// without the noise stream or without the step (the learning-rate schedule's clock) gives a
    /// different run.
    @Test func resumingWithoutTheDataCursorOrNoiseStreamDiverges() throws {
        let straight = try Rig(seed: 6, .adamAndSGDMomentum)
        straight.train(Self.n)
        let first = try Rig(seed: 6, .adamAndSGDMomentum)
        first.train(Self.n / 2)
        let dir = try TempDir()
        let path = dir.path("half.h5")
        try first.checkpoint(step: Self.n / 2).write(to: path)
        let r = try CheckpointReader(path: path)
        defer { r.close() }

        let noCursor = try Rig.resume(from: r, .adamAndSGDMomentum, networksFromSpecs: true)
        noCursor.batcher.restore(ByteBatcher.Cursor(epoch: 0, position: 0, epochStartRNG: RNG(seed: 6, stream: .data)))
        noCursor.train(Self.n - Self.n / 2)
        let noNoise = try Rig.resume(from: r, .adamAndSGDMomentum, networksFromSpecs: true)
        noNoise.trainer.noiseRNG = RNG(seed: 6, stream: .noise)
        noNoise.train(Self.n - Self.n / 2)
        let noStep = try Rig.resume(from: r, .adamAndSGDMomentum, networksFromSpecs: true)
        noStep.step = 0
        noStep.train(Self.n - Self.n / 2)
        let want = straight.trainer.generator.parameters[0].value
        #expect(!noCursor.trainer.generator.parameters[0].value.bitwiseEqual(want))
        #expect(!noNoise.trainer.generator.parameters[0].value.bitwiseEqual(want))
        #expect(!noStep.trainer.generator.parameters[0].value.bitwiseEqual(want))
    }
}
