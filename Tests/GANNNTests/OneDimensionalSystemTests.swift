import Foundation
import GANNN
import GANTestSupport
import Testing
@_spi(Testing) import GANTensor

/// Pieces of the 1-D Gaussian system: stratified noise, D's regression pretraining onto the pdf.
@Suite("1-D system") struct OneDimensionalSystemTests {
    static func trainer(stratified: Bool, prior: NoisePrior) throws -> AdversarialTrainer {
        var rng = RNG(seed: 1)
        let g = Sequential(Linear(1, 4, rng: &rng), Tanh(), Linear(4, 1, rng: &rng))
        let d = Sequential(Linear(1, 4, rng: &rng), Tanh(), Linear(4, 1, rng: &rng))
        return try AdversarialTrainer(generator: g, discriminator: d, generatorOptimizer: .sgd(learningRate: 0.1),
                                      discriminatorOptimizer: .sgd(learningRate: 0.1), noiseDimension: 1, noiseRNG: RNG(seed: 2),
                                      options: .init(noisePrior: prior, stratifiedNoise: stratified))
    }

    @Test func stratifiedNoiseHasOnePointPerStratumSorted() throws {
        let t = try Self.trainer(stratified: true, prior: .uniform(low: -2, high: 6))
        let z = t.sampleNoise(batchSize: 16).array
        for (i, v) in z.enumerated() {
            // Stratum i of [-2, 6) split in 16: [-2 + 0.5 i, -2 + 0.5 (i + 1)).
            #expect(v >= -2 + 0.5 * Float(i) && v < -2 + 0.5 * Float(i + 1), "z[\(i)] = \(v)")
        }
        #expect(z == z.sorted())
        // Jittered: two batches differ.
        #expect(t.sampleNoise(batchSize: 16).array != z)
        // A normal prior ignores the switch.
        let n = try Self.trainer(stratified: true, prior: .normal()).sampleNoise(batchSize: 1000).array
        #expect(n != n.sorted())
    }

    @Test func sigmoidMSEGradient() {
        let targets = randomTensor([5, 1], seed: 3, std: 0.2, mean: 0.5)
        let r = functionGradientCheck(input: randomTensor([5, 1], seed: 4, std: 2)) { l, g in
            Loss.sigmoidMeanSquaredError(logits: l, targets: targets, gradient: g)
        }
        #expect(r.worstError < 1e-2, "\(r)")
    }

    @Test func pretrainingFitsDToTheDensity() {
        var rng = RNG(seed: 5, stream: .initialization)
        let d = Sequential(Linear(1, 16, rng: &rng), Tanh(), Linear(16, 16, rng: &rng), Tanh(), Linear(16, 1, rng: &rng))
        let pdf: @Sendable (Float) -> Float = { x in Float(exp(-0.5 * Double((x - 4) / 0.5) * Double((x - 4) / 0.5)) / (0.5 * (2 * Double.pi).squareRoot())) }
        let p = DiscriminatorPretrainer(discriminator: d, optimizer: .adam(learningRate: 0.01),
                                        low: 0, high: 8, batchSize: 64, rng: RNG(seed: 6), density: pdf)
        let first = p.step(step: 0)
        var last = first
        for step in 1...1500 { last = p.step(step: step) }
        #expect(last < first / 10, "MSE \(first) -> \(last)")
        // D(x) follows the pdf: peak near 4 (pdf 0.798), small far away.
        let xs = Tensor(shape: [3, 1], values: [4, 1, 7])
        let probs = d.forward(xs, training: false).array.map { 1 / (1 + exp(-$0)) }
        #expect(abs(probs[0] - 0.798) < 0.1, "D(4) = \(probs[0])")
        #expect(probs[1] < 0.1 && probs[2] < 0.1, "D(1), D(7) = \(probs[1]), \(probs[2])")
    }
}
