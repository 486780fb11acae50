import Foundation
import Testing
import GANNN
import GANTestSupport

/// End-to-end behaviour: small problems the engine must actually learn, bit-for-bit determinism,
/// the adversarial step's wiring, and WGAN weight clipping. Fixed seeds; sizes chosen so each
/// test runs in about a second in a debug build.

// MARK: - Helpers

/// The 1-D GAN of the toy systems: 1 -> 16 -> 16 -> 1 with leaky ReLUs, for G and D alike.
func mlp1D(_ rng: inout RNG) -> Sequential {
    Sequential(Linear(1, 16, rng: &rng), LeakyReLU(alpha: 0.2),
               Linear(16, 16, rng: &rng), LeakyReLU(alpha: 0.2),
               Linear(16, 1, rng: &rng))
}

struct GAN1D {
    let trainer: AdversarialTrainer
    var dataRNG: RNG
    let real: Tensor
    var steps = 0

    init(seed: UInt64, batchSize: Int = 64, objective: GANObjective = .nonSaturating,
         generator: OptimizerDescription, discriminator: OptimizerDescription) throws {
        var initRNG = RNG(seed: seed, stream: .initialization)
        let g = mlp1D(&initRNG), d = mlp1D(&initRNG)
        trainer = try AdversarialTrainer(generator: g, discriminator: d, generatorOptimizer: generator, discriminatorOptimizer: discriminator,
                                         noiseDimension: 1, noiseRNG: RNG(seed: seed, stream: .noise),
                                         options: .init(objective: objective, noisePrior: .normal()))
        dataRNG = RNG(seed: seed, stream: .data)
        real = Tensor(shape: [batchSize, 1])
    }

    init(seed: UInt64, batchSize: Int = 64, objective: GANObjective = .nonSaturating, optimizer: OptimizerDescription) throws {
        try self.init(seed: seed, batchSize: batchSize, objective: objective, generator: optimizer, discriminator: optimizer)
    }

    /// One D step on a fresh real batch ~ N(4, 0.5²), then one G step.
    mutating func step() -> DiscriminatorStepResult {
        dataRNG.fillNormal(real, mean: 4, std: 0.5)
        let r = trainer.discriminatorStep(real: real, step: steps)
        trainer.generatorStep(batchSize: real.rows, real: real, step: steps)
        steps += 1
        return r
    }

    /// Mean and std of G's output over `n` noise samples from a separate evaluation stream.
    func generatorMoments(n: Int = 2000) -> (mean: Double, std: Double) {
        var rng = RNG(seed: 777, stream: .eval)
        let z = Tensor(shape: [n, 1])
        rng.fillNormal(z)
        let y = trainer.generator.forward(z, training: false).array
        let mean = y.reduce(0.0) { $0 + Double($1) } / Double(n)
        let variance = y.reduce(0.0) { $0 + pow(Double($1) - mean, 2) } / Double(n - 1)
        return (mean, variance.squareRoot())
    }
}

@Suite("Learning")
struct LearningTests {
    /// XOR with a 2-8-1 tanh MLP on logits, full batch, Adam. The positives and negatives are two
    /// half-batches with targets 1 and 0 (`Loss.sigmoidCrossEntropy` takes one target per call);
    /// the reported loss is their average, i.e. the mean cross-entropy over the 4 points.
    @Test("a 2-8-1 tanh MLP learns XOR with Adam")
    func xor() {
        var rng = RNG(seed: 3, stream: .initialization)
        let net = Sequential(Linear(2, 8, weightInit: .xavierNormal(), rng: &rng), Tanh(),
                             Linear(8, 1, weightInit: .xavierNormal(), rng: &rng))
        let adam = Adam(parameters: net.parameters, learningRate: 0.05)
        let positives = Tensor(shape: [2, 2], values: [0, 1, 1, 0])
        let negatives = Tensor(shape: [2, 2], values: [0, 0, 1, 1])
        let g = Tensor(shape: [0])
        func lossAndAccuracy(train: Bool) -> (Float, Int) {
            var loss: Float = 0, correct = 0
            for (x, target) in [(positives, Float(1)), (negatives, Float(0))] {
                let logits = net.forward(x, training: train)
                loss += Loss.sigmoidCrossEntropy(logits: logits, target: target, gradient: g) / 2
                correct += logits.array.filter { ($0 > 0) == (target == 1) }.count
                if train { net.backward(g, mode: .parameterGradients) }
            }
            return (loss, correct)
        }
        let (initialLoss, _) = lossAndAccuracy(train: false)
        var steps = 0
        var (loss, correct) = (initialLoss, 0)
        while steps < 1000 {
            adam.zeroGradients()
            _ = lossAndAccuracy(train: true)
            adam.step()
            steps += 1
            (loss, correct) = lossAndAccuracy(train: false)
            if loss < 0.05 && correct == 4 { break }
        }
        #expect(correct == 4, "accuracy \(correct)/4 after \(steps) steps")
        #expect(loss < 0.05, "loss \(loss) (initially \(initialLoss)) after \(steps) steps")
        #expect(initialLoss > 0.5, "the problem starts unsolved")
    }

    /// Goodfellow et al.'s algorithm on 1-D data: G must move its output distribution from near 0
    /// (PyTorch-default initialisation) onto the data N(4, 0.5²). With these settings every seed
    /// tried (1-12) is within 0.1 of 4 after 500 steps; 1500 steps and a 0.5 tolerance leave room
    /// for rounding-level changes in the engine (e.g. another GEMM path) that alter the trajectory.
    @Test("1-D GAN: G's output mean moves to the data mean 4")
    func gan1D() throws {
        var gan = try GAN1D(seed: 1, optimizer: .adam(learningRate: 2e-3, beta1: 0.5))
        let initial = gan.generatorMoments()
        #expect(abs(initial.mean) < 1, "starts near 0: \(initial)")
        var last = DiscriminatorStepResult(loss: 0, realScore: 0, fakeScore: 0)
        for _ in 0..<1500 { last = gan.step() }
        let final = gan.generatorMoments()
        #expect(abs(final.mean - 4) < 0.5, "G mean \(final.mean) (started at \(initial.mean)); last D step \(last)")
        // Data std is 0.5; G should neither collapse to a point nor spread far beyond the data.
        #expect(final.std > 0.05 && final.std < 2, "G std \(final.std)")
        #expect(last.loss.isFinite && last.realScore > 0 && last.realScore < 1)
    }

    @Test("training is bit-for-bit deterministic given the seed")
    func determinism() throws {
        func run(_ seed: UInt64) throws -> [Tensor] {
            var gan = try GAN1D(seed: seed, batchSize: 32, generator: .adam(learningRate: 1e-3, beta1: 0.5),
                                discriminator: .rmsprop(learningRate: 1e-3))
            for _ in 0..<40 { _ = gan.step() }
            return (gan.trainer.generator.parameters + gan.trainer.discriminator.parameters).map { $0.value }
        }
        let a = try run(5), b = try run(5), c = try run(6)
        #expect(a.count == 12)
        for (i, (x, y)) in zip(a, b).enumerated() { #expect(x.bitwiseEqual(y), "parameter \(i)") }
        #expect(zip(a, c).allSatisfy { !$0.bitwiseEqual($1) }, "a different seed gives different weights")
    }

    /// The trainer's D and G steps against the same computation spelled out with layers, losses and
    /// plain SGD (p -= lr·grad) on an identical copy of the networks: D's gradient is the sum of the
    /// real (target `realLabel`) and fake (target 0) terms; G's step uses fresh noise, back-propagates
    /// through D without touching D's parameters or gradients.
    @Test("AdversarialTrainer steps equal the hand-written algorithm",
          arguments: [GANObjective.minimax, .nonSaturating, .wasserstein], [true, false])
    func trainerWiring(_ objective: GANObjective, stacked: Bool) throws {
        let lr: Float = 0.05
        func networks() -> (Sequential, Sequential) {
            var rng = RNG(seed: 9, stream: .initialization)
            return (mlp1D(&rng), mlp1D(&rng))
        }
        let (g, d) = networks()
        let (g2, d2) = networks()
        let trainer = try AdversarialTrainer(generator: g, discriminator: d,
                                             generatorOptimizer: .sgd(learningRate: .constant(lr)),
                                             discriminatorOptimizer: .sgd(learningRate: .constant(lr)),
                                             noiseDimension: 1, noiseRNG: RNG(seed: 9, stream: .noise),
                                             options: .init(objective: objective, realLabel: 0.9, stackDiscriminatorBatches: stacked))
        #expect(trainer.stacksDiscriminatorBatches == stacked, "an MLP D stacks real and fake rows unless told not to")
        var noise = RNG(seed: 9, stream: .noise)
        let real = randomTensor([8, 1], seed: 10, std: 0.5, mean: 4)
        let gradient = Tensor(shape: [0])
        func sgd(_ net: Sequential) {
            for p in net.parameters { Kernels.axpy(-lr, p.gradient.data, p.value.data, count: p.value.count) }
        }

        // D step by hand.
        let z = Tensor(shape: [8, 1])
        noise.fillNormal(z)
        let fake = g2.forward(z, training: true).clone()
        d2.zeroGradients()
        var handLoss: Float = 0
        func term(_ logits: UnsafePointer<Float>, _ n: Int, isReal: Bool, _ g: UnsafeMutablePointer<Float>) -> Float {
            switch objective {
            case .minimax, .nonSaturating: Loss.sigmoidCrossEntropy(logits, count: n, target: isReal ? 0.9 : 0, gradient: g).loss
            case .wasserstein: Loss.signedMean(logits, count: n, sign: isReal ? -1 : 1, gradient: g)
            }
        }
        if stacked {
            // One pass over [real; fake], each half's loss its own mean.
            let logits = d2.forward(Tensor(shape: [16, 1], values: real.array + fake.array), training: true)
            gradient.resize(logits.shape)
            handLoss = term(logits.data, 8, isReal: true, gradient.data) + term(logits.data + 8, 8, isReal: false, gradient.data + 8)
            d2.backward(gradient, mode: .parameterGradients)
        } else {
            for (batch, isReal) in [(real, true), (fake, false)] {
                let logits = d2.forward(batch, training: true)
                gradient.resize(logits.shape)
                handLoss += term(logits.data, logits.count, isReal: isReal, gradient.data)
                d2.backward(gradient, mode: .parameterGradients)
            }
        }
        sgd(d2)
        let result = trainer.discriminatorStep(real: real, step: 0)
        #expect(abs(result.loss - handLoss) <= 1e-6 * max(1, abs(handLoss)))
        for (p, q) in zip(d.parameters, d2.parameters) { #expect(p.value.bitwiseEqual(q.value), "D \(p.name)") }
        for (p, q) in zip(g.parameters, g2.parameters) { #expect(p.value.bitwiseEqual(q.value), "G untouched by the D step") }

        // G step by hand (fresh noise, D frozen).
        let dBefore = d.parameters.map { $0.value.clone() }
        let dGradBefore = d.parameters.map { $0.gradient.clone() }
        noise.fillNormal(z)
        let logits = d2.forward(g2.forward(z, training: true), training: true)
        let handG: Float
        switch objective {
        case .minimax: handG = Loss.generatorMinimax(logits: logits, gradient: gradient)
        case .nonSaturating: handG = Loss.generatorNonSaturating(logits: logits, gradient: gradient)
        case .wasserstein: handG = Loss.signedMean(logits, sign: -1, gradient: gradient)
        }
        let dFake = d2.backward(gradient, mode: .inputOnly)!
        g2.zeroGradients()
        g2.backward(dFake, mode: .parameterGradients)
        sgd(g2)
        let gLoss = trainer.generatorStep(batchSize: 8, real: real, step: 0)
        #expect(gLoss == handG)
        for (p, q) in zip(g.parameters, g2.parameters) { #expect(p.value.bitwiseEqual(q.value), "G \(p.name)") }
        for (p, before) in zip(d.parameters, dBefore) { #expect(p.value.bitwiseEqual(before), "D frozen during the G step") }
        for (p, before) in zip(d.parameters, dGradBefore) { #expect(p.gradient.bitwiseEqual(before), "D gradients untouched by the G step") }
        #expect(trainer.noiseRNG == noise, "the trainer drew exactly the same noise")
    }

    /// WGAN (Arjovsky et al. 2017): the critic's weights are clipped to [-c, c] after every update.
    @Test("WGAN critic step with clipValue 0.01 keeps every critic parameter in [-0.01, 0.01]")
    func wassersteinClipping() throws {
        var gan = try GAN1D(seed: 4, batchSize: 16, objective: .wasserstein, generator: .rmsprop(learningRate: 5e-5),
                            discriminator: .rmsprop(learningRate: 5e-5, clipValue: 0.01))
        let critic = gan.trainer.discriminator.parameters
        #expect(critic.contains { $0.value.array.contains { abs($0) > 0.01 } }, "initial weights exceed the clip")
        var atBound = 0
        for step in 0..<20 {
            gan.dataRNG.fillNormal(gan.real, mean: 4, std: 0.5)
            let r = gan.trainer.discriminatorStep(real: gan.real, step: step / 5)
            #expect(r.loss.isFinite)
            for p in critic {
                let v = p.value.array
                #expect(v.allSatisfy { $0 >= -0.01 && $0 <= 0.01 }, "step \(step) \(p.name): [\(v.min()!), \(v.max()!)]")
                atBound += v.filter { abs($0) == 0.01 }.count
            }
            if step % 5 == 4 { gan.trainer.generatorStep(batchSize: 16, real: gan.real, step: step / 5) }
        }
        #expect(atBound > 0, "the clipping was exercised")
        // G is not clipped.
        #expect(gan.trainer.generator.parameters.contains { $0.value.array.contains { abs($0) > 0.01 } })
    }
}
