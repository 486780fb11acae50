import Foundation
import Testing
import GANNN

/// `LearningRateSchedule` is the per-step learning rate the pipeline computes
/// (`ModelFactory.learningRate(_:step:)`), bit for bit.
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
