import Foundation
import Testing
import GANNN
import GANTestSupport

/// `WeightAverage`: EMA of a network's weights (Yazıcı et al. 2019; Karras et al.).
@Suite("Weight average")
struct WeightAverageTests {
    /// Linear(1, 2) with weight [w0, w1] and bias [b0, b1] set by hand.
    static func network(_ values: [Float]) -> Sequential {
        var rng = RNG(seed: 1, stream: .initialization)
        let n = Sequential(Linear(1, 2, rng: &rng))
        set(n, values)
        return n
    }

    static func set(_ n: Sequential, _ values: [Float]) {
        let p = n.parameters
        p[0].value[0] = values[0]; p[0].value[1] = values[1]
        p[1].value[0] = values[2]; p[1].value[1] = values[3]
    }

    static func shadow(_ w: WeightAverage) -> [Float] { w.namedShadowParameters.flatMap { $0.tensor.array } }

    @Test("exact EMA values after three updates (decay 3/4, dyadic numbers)")
    func exactValues() {
        let n = Self.network([1, -2, 0.5, 8])
        let w = WeightAverage(network: n, decay: 0.75)
        #expect(Self.shadow(w) == [1, -2, 0.5, 8], "the average starts at the current weights")
        // shadow ← 3/4 shadow + 1/4 param, by hand:
        Self.set(n, [3, 2, 0.5, 0])
        w.update()
        #expect(Self.shadow(w) == [1.5, -1, 0.5, 6])
        Self.set(n, [-0.5, 7, 4.5, 2])
        w.update()
        #expect(Self.shadow(w) == [1, 1, 1.5, 5])
        Self.set(n, [9, 1, -2.5, 1])
        w.update(decay: 0.5)  // an explicit decay: halfway
        #expect(Self.shadow(w) == [5, 1, -0.5, 3])
        #expect(w.updateCount == 3)
        #expect(n.parameters.flatMap { $0.value.array } == [9, 1, -2.5, 1], "the live weights are not changed")
    }

    @Test("warm-up: decay min(β, (1 + t) / (10 + t))")
    func warmUp() {
        let n = Self.network([0, 0, 0, 0])
        let w = WeightAverage(network: n, decay: 0.2, warmUp: true)
        #expect(w.effectiveDecay(0.999) == 0.1)
        // t = 0: min(0.2, 1/10) = 0.1; t = 1: min(0.2, 2/11) = 2/11; t = 2: min(0.2, 3/12) = 0.2.
        var expected = [Double](repeating: 0, count: 4)
        for (t, d) in [(0, 0.1), (1, 2.0 / 11), (2, 0.2)] {
            #expect(abs(Double(w.effectiveDecay(w.decay)) - d) < 1e-7, "t = \(t)")
            Self.set(n, [1, 2, 3, 4])
            w.update()
            expected = expected.enumerated().map { d * $0.element + (1 - d) * Double($0.offset + 1) }
        }
        #expect(closeness(Self.shadow(w), expected.map(Float.init), rtol: 1e-6, atol: 1e-7) <= 1,
                "\(Self.shadow(w)) vs \(expected)")
        // Without warm-up the first update already uses β.
        let plain = WeightAverage(network: Self.network([0, 0, 0, 0]), decay: 0.2)
        #expect(plain.effectiveDecay(0.2) == 0.2)
    }

    @Test("swapIn puts the average in the network; swapOut restores the raw weights bit-exactly")
    func swapRestoresBitExactly() {
        var rng = RNG(seed: 4, stream: .initialization)
        let n = Sequential(Linear(3, 5, rng: &rng), BatchNorm(features: 5), LeakyReLU(alpha: 0.2), Linear(5, 2, rng: &rng))
        let w = WeightAverage(network: n, decay: 0.9)
        for step in 0..<4 {
            for p in n.parameters { for i in 0..<p.value.count { p.value[i] += Float(step + 1) * 0.37 * Float(i % 3 - 1) } }
            _ = n.forward(randomTensor([6, 3], seed: UInt64(step)), training: true)  // moves the running stats
            w.update()
        }
        let raw = n.namedParameters.map { $0.parameter.value.clone() } + n.namedBuffers.map { $0.tensor.clone() }
        let average = w.namedShadowParameters.map { $0.tensor.clone() } + w.namedShadowBuffers.map { $0.tensor.clone() }
        // Buffers are copied, not averaged.
        for (b, s) in zip(n.namedBuffers, w.namedShadowBuffers) { #expect(b.tensor.bitwiseEqual(s.tensor), "\(b.path)") }
        #expect(!zip(raw, average).prefix(n.namedParameters.count).allSatisfy { $0.bitwiseEqual($1) })

        w.swapIn()
        #expect(w.isSwappedIn)
        let live = n.namedParameters.map(\.parameter.value) + n.namedBuffers.map(\.tensor)
        for (t, a) in zip(live, average) { #expect(t.bitwiseEqual(a)) }
        w.swapOut()
        for (t, r) in zip(live, raw) { #expect(t.bitwiseEqual(r)) }
        for (s, a) in zip(w.namedShadowParameters.map(\.tensor) + w.namedShadowBuffers.map(\.tensor), average) {
            #expect(s.bitwiseEqual(a), "the shadow storage is restored too")
        }

        let sampled = w.withAveragedWeights { n.forward(randomTensor([2, 3], seed: 9), training: false).clone() }
        for (t, r) in zip(live, raw) { #expect(t.bitwiseEqual(r)) }

        // apply(to:) gives another network the same averaged weights: same outputs.
        var rng2 = RNG(seed: 5, stream: .initialization)
        let copy = Sequential(Linear(3, 5, rng: &rng2), BatchNorm(features: 5), LeakyReLU(alpha: 0.2), Linear(5, 2, rng: &rng2))
        w.apply(to: copy)
        #expect(copy.forward(randomTensor([2, 3], seed: 9), training: false).bitwiseEqual(sampled))
    }

    @Test("shadow tensors carry the network's parameter and buffer paths")
    func names() {
        var rng = RNG(seed: 6, stream: .initialization)
        let n = Sequential(Linear(2, 3, rng: &rng), BatchNorm(features: 3), Linear(3, 1, rng: &rng))
        let w = WeightAverage(network: n)
        #expect(w.namedShadowParameters.map(\.name) == n.namedParameters.map(\.path))
        #expect(w.namedShadowBuffers.map(\.name) == n.namedBuffers.map(\.path))
        #expect(w.namedShadowParameters.map(\.name) == ["0_linear/weight", "0_linear/bias", "1_batch_norm/weight",
                                                        "1_batch_norm/bias", "2_linear/weight", "2_linear/bias"])
        // A loader copies into the live shadow tensors.
        w.namedShadowParameters[0].tensor.fill(0.25)
        #expect(w.namedShadowParameters[0].tensor.array.allSatisfy { $0 == 0.25 })
    }

    @Test("the trainer updates the average after every G step")
    func trainerUpdates() throws {
        var rng = RNG(seed: 21, stream: .initialization)
        let g = Sequential(Linear(2, 6, rng: &rng), Tanh(), Linear(6, 2, rng: &rng))
        let d = Sequential(Linear(2, 8, rng: &rng), Tanh(), Linear(8, 1, rng: &rng))
        let t = try AdversarialTrainer(generator: g, discriminator: d, generatorOptimizer: .sgd(learningRate: 0.05),
                                       discriminatorOptimizer: .sgd(learningRate: 0.05), noiseDimension: 2,
                                       noiseRNG: RNG(seed: 21, stream: .noise), options: .init(emaDecay: 0.5))
        let before = t.generator.parameters.map { $0.value.clone() }
        let average = try #require(t.weightAverage)
        #expect(average.decay == 0.5 && !average.warmUp)
        let real = randomTensor([8, 2], seed: 3)
        t.discriminatorStep(real: real, step: 0)
        #expect(average.updateCount == 0, "D steps do not update it")
        t.generatorGradients(noise: t.sampleNoise(batchSize: 8), real: nil, step: 0)
        #expect(average.updateCount == 0, "computing G's gradients does not update it")
        t.applyGeneratorGradients(step: 0)
        #expect(average.updateCount == 1)
        for (k, (s, p)) in zip(average.namedShadowParameters, t.generator.parameters).enumerated() {
            for i in 0..<p.value.count {
                let b = before[k][i]
                #expect(s.tensor[i] == b + 0.5 * (p.value[i] - b), "\(s.name)[\(i)]")
            }
        }
    }
}
