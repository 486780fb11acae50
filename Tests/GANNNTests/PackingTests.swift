import Foundation
import Testing
import GANNN
import GANTestSupport

/// PacGAN packing (`AdversarialTrainer.Options.pack`): D sees m samples concatenated, `[n / m, m · d]`.
@Suite("Packing")
struct PackingTests {
    /// G: 2 -> 6 -> 2 (tanh, smooth so central differences are valid); D: (m · 2) -> 8 -> 1 (tanh).
    /// The trainer packs `trainerPack` samples (default `pack`, which sizes D's input).
    static func trainer(pack: Int, seed: UInt64 = 21, lr: Float = 0.05, trainerPack: Int? = nil,
                        stacked: Bool = true) throws -> AdversarialTrainer {
        var rng = RNG(seed: seed, stream: .initialization)
        let g = Sequential(Linear(2, 6, rng: &rng), Tanh(), Linear(6, 2, rng: &rng))
        let d = Sequential(Linear(2 * pack, 8, rng: &rng), Tanh(), Linear(8, 1, rng: &rng))
        return try AdversarialTrainer(generator: g, discriminator: d, generatorOptimizer: .sgd(learningRate: .constant(lr)),
                                      discriminatorOptimizer: .sgd(learningRate: .constant(lr)), noiseDimension: 2,
                                      noiseRNG: RNG(seed: seed, stream: .noise),
                                      options: .init(pack: trainerPack ?? pack, stackDiscriminatorBatches: stacked))
    }

    /// G's gradient through the packed D against central differences of G's loss on fixed noise.
    @Test("generator gradient through a packed D", arguments: [1, 2, 4])
    func generatorGradientCheck(_ pack: Int) throws {
        let t = try Self.trainer(pack: pack)
        let z = randomTensor([8, 2], seed: 5)
        let worst = generatorGradientWorstError(t, noise: z)
        #expect(worst < gradientTolerance, "worst relative error \(worst)")
    }

    /// A packed D step equals an unpacked step of the same D on hand-concatenated packs.
    @Test func discriminatorSeesConcatenatedPacks() throws {
        let packed = try Self.trainer(pack: 2, stacked: false)  // two D passes, as by hand below (stacking: LearningTests)
        // Same networks (D takes 4 inputs), not packing: fed hand-packed [n / 2, 4] batches.
        let reference = try Self.trainer(pack: 2, trainerPack: 1)
        let real = randomTensor([6, 2], seed: 8)
        let r = packed.discriminatorStep(real: real, step: 0)

        var noise = RNG(seed: 21, stream: .noise)
        let z = Tensor(shape: [6, 2])
        noise.fillNormal(z)
        let fake = reference.generator.forward(z, training: true).clone()
        let gradient = Tensor(shape: [0])
        let d = reference.discriminator
        reference.discriminatorOptimizer.zeroGradients()
        var loss: Float = 0
        for (batch, isReal) in [(real, true), (fake, false)] {
            let x = Tensor(shape: [3, 4], values: batch.array)  // rows 2i, 2i + 1 side by side
            loss += Loss.sigmoidCrossEntropy(logits: d.forward(x, training: true), target: isReal ? 1 : 0, gradient: gradient)
            d.backward(gradient, mode: .parameterGradients)
        }
        reference.discriminatorOptimizer.step()
        #expect(abs(r.loss - loss) <= 1e-6 * max(1, abs(loss)))
        for (p, q) in zip(packed.discriminator.parameters, d.parameters) { #expect(p.value.bitwiseEqual(q.value), "D \(p.name)") }
        #expect(packed.noiseRNG == noise, "packing draws no extra randomness")
    }

    /// Packing a batch that is not a multiple of m is a programming error caught by validation;
    /// pack 1 leaves the trainer's arithmetic unchanged (the wiring test covers it bit for bit).
    @Test func trainingWithPackingRunsAndStaysFinite() throws {
        let t = try Self.trainer(pack: 4, lr: 0.01)
        let real = randomTensor([16, 2], seed: 3)
        for step in 0..<20 {
            let r = t.discriminatorStep(real: real, step: step)
            let g = t.generatorStep(batchSize: 16, real: real, step: step)
            #expect(r.loss.isFinite && g.isFinite)
        }
    }
}

/// `AdversarialTrainer.stacksDiscriminatorBatches`: D runs once on [real; fake] when every layer is
/// row-independent, and the result matches two separate passes up to summation order.
@Suite("Stacked D batches")
struct StackedDiscriminatorTests {
    @Test("stacked and two-pass D steps agree", arguments: [1, 2])
    func stackedMatchesTwoPasses(_ pack: Int) throws {
        let stacked = try PackingTests.trainer(pack: pack), separate = try PackingTests.trainer(pack: pack, stacked: false)
        #expect(stacked.stacksDiscriminatorBatches && !separate.stacksDiscriminatorBatches)
        let real = randomTensor([8, 2], seed: 4)
        for step in 0..<3 {
            let a = stacked.discriminatorStep(real: real, step: step), b = separate.discriminatorStep(real: real, step: step)
            #expect(abs(a.loss - b.loss) <= 1e-5 && abs(a.realScore - b.realScore) <= 1e-6 && abs(a.fakeScore - b.fakeScore) <= 1e-6)
            let ga = stacked.generatorStep(batchSize: 8, real: real, step: step)
            let gb = separate.generatorStep(batchSize: 8, real: real, step: step)
            #expect(abs(ga - gb) <= 1e-5)
        }
        for (p, q) in zip(stacked.discriminator.parameters + stacked.generator.parameters,
                          separate.discriminator.parameters + separate.generator.parameters) {
            for i in 0..<p.value.count { #expect(abs(p.value[i] - q.value[i]) <= 1e-5, "\(p.name)[\(i)]") }
        }
        #expect(stacked.noiseRNG == separate.noiseRNG)
    }

    @Test("a D with batch statistics or per-call state is never stacked")
    func batchDependentLayersTurnStackingOff() throws {
        var rng = RNG(seed: 1, stream: .initialization)
        let g = Sequential(Linear(2, 2, rng: &rng))
        func trainer(_ d: Sequential) throws -> AdversarialTrainer {
            try AdversarialTrainer(generator: g, discriminator: d, generatorOptimizer: .sgd(learningRate: 0.1),
                                   discriminatorOptimizer: .sgd(learningRate: 0.1), noiseDimension: 2, noiseRNG: RNG(seed: 1, stream: .noise))
        }
        #expect(try trainer(Sequential(Linear(2, 4, rng: &rng), LeakyReLU(alpha: 0.2), Linear(4, 1, rng: &rng))).stacksDiscriminatorBatches)
        #expect(try !trainer(Sequential(Linear(2, 4, rng: &rng), BatchNorm(features: 4), Linear(4, 1, rng: &rng))).stacksDiscriminatorBatches)
        #expect(try !trainer(Sequential(SpectralNorm(wrapping: Linear(2, 1, rng: &rng), rng: &rng))).stacksDiscriminatorBatches)
    }
}
