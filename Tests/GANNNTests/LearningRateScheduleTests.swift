import Foundation
import Testing
import GANNN

/// `LearningRateSchedule` is the per-step learning rate the pipeline computed before it existed
/// (`ModelFactory.learningRate(_:step:)`), bit for bit, and the one writer of an optimiser's rate.
@Suite("Learning-rate schedule")
struct LearningRateScheduleTests {
    /// The formula as the pipeline wrote it: lr · factor^⌊step / every⌋ in Double by repeated
    /// multiplication, then Float.
    static func old(lr: Double, factor: Double, every: Int, step: Int) -> Float {
        guard every > 0, factor != 1 else { return Float(lr) }
        var r = lr
        for _ in 0..<(step / every) { r *= factor }
        return Float(r)
    }

    @Test("step decay equals the old formula bit for bit", arguments: [
        (2e-4, 0.5, 40_000), (2e-4, 0.7, 100_000), (1e-3, 0.9, 1), (0.05, 0.95, 7), (5e-5, 1.0, 10), (1e-2, 0.3, 0), (3e-4, 1.01, 13),
    ])
    func equalsTheOldFormula(_ lr: Double, _ factor: Double, _ every: Int) {
        let s = LearningRateSchedule.stepDecay(initial: lr, factor: factor, every: every)
        let steps = Array(0..<3000) + [39_999, 40_000, 40_001, 99_999, 100_000, 250_000, 400_000]
        for step in steps where every != 1 || step < 3000 {
            #expect(s.rate(at: step).bitPattern == Self.old(lr: lr, factor: factor, every: every, step: step).bitPattern,
                    "lr \(lr) factor \(factor) every \(every) step \(step)")
        }
    }

    @Test("a constant rate is its Float at every step; a literal is a constant")
    func constant() {
        let c = LearningRateSchedule.constant(2e-4)
        #expect([0, 1, 1000, 1_000_000].allSatisfy { c.rate(at: $0).bitPattern == Float(2e-4).bitPattern })
        let literal: LearningRateSchedule = 2e-4
        #expect(literal == c)
        #expect(LearningRateSchedule.stepDecay(initial: 0.1, factor: 0.5, every: 0).rate(at: 10) == Float(0.1))
    }

    /// The optimiser starts at the step-0 rate; the trainer sets each step's rate right before the
    /// update, so after step s the optimiser holds rate(s) (the value checkpoints store as "lr").
    @Test("the trainer applies the schedule before every update")
    func trainerAppliesTheSchedule() throws {
        var rng = RNG(seed: 2, stream: .initialization)
        let g = Sequential(Linear(1, 4, rng: &rng), Tanh(), Linear(4, 1, rng: &rng))
        let d = Sequential(Linear(1, 4, rng: &rng), Tanh(), Linear(4, 1, rng: &rng))
        let gRate = LearningRateSchedule.stepDecay(initial: 0.01, factor: 0.5, every: 2)
        let dRate = LearningRateSchedule.stepDecay(initial: 0.02, factor: 0.9, every: 3)
        let t = try AdversarialTrainer(generator: g, discriminator: d, generatorOptimizer: .adam(learningRate: gRate),
                                       discriminatorOptimizer: .rmsprop(learningRate: dRate), noiseDimension: 1,
                                       noiseRNG: RNG(seed: 2, stream: .noise))
        #expect(t.generatorOptimizer.learningRate == gRate.rate(at: 0) && t.discriminatorOptimizer.learningRate == dRate.rate(at: 0))
        let real = Tensor(shape: [8, 1], values: (0..<8).map { Float($0) / 4 })
        for step in 0..<7 {
            t.discriminatorStep(real: real, step: step)
            t.discriminatorStep(real: real, step: step)
            #expect(t.discriminatorOptimizer.learningRate == dRate.rate(at: step))
            t.generatorStep(batchSize: 8, real: real, step: step)
            #expect(t.generatorOptimizer.learningRate == gRate.rate(at: step))
            #expect(t.generatorOptimizer.hyperparameters.first { $0.name == "lr" }?.value == Double(gRate.rate(at: step).description))
        }
        #expect(t.discriminatorOptimizer.stepCount == 14 && t.generatorOptimizer.stepCount == 7)
    }

    /// One factory for every optimiser: the description's rule, hyper-parameters, rate and clipping.
    @Test func descriptionsBuildTheirOptimisers() throws {
        let p = [Parameter("w", shape: [3])]
        let sgd = try #require(OptimizerDescription.sgd(learningRate: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 1e-4,
                                                        clipValue: 0.5).makeOptimizer(parameters: p) as? SGD)
        #expect(sgd.learningRate == 0.1 && sgd.momentum == 0.9 && sgd.dampening == 0.1 && !sgd.nesterov && sgd.weightDecay == 1e-4)
        #expect(sgd.clipValue == 0.5 && sgd.stepCount == 0)
        let rms = try #require(OptimizerDescription.rmsprop(learningRate: .stepDecay(initial: 5e-5, factor: 0.5, every: 10), centered: true)
            .makeOptimizer(parameters: p) as? RMSProp)
        #expect(rms.learningRate == Float(5e-5) && rms.alpha == 0.99 && rms.eps == 1e-8 && rms.centered && rms.clipValue == nil)
        let adam = try #require(OptimizerDescription.adam(learningRate: 2e-4, beta1: 0.5).makeOptimizer(parameters: p) as? Adam)
        #expect(adam.learningRate == 2e-4 && adam.beta1 == 0.5 && adam.beta2 == 0.999 && adam.eps == 1e-8 && adam.weightDecay == 0)
    }
}
