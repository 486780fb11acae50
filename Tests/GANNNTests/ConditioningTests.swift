import Foundation
import GANNN
import GANTestSupport
import Testing
@_spi(Testing) import GANTensor

/// Class-conditional GANs (issue 22): the new layers and loss terms against central differences,
/// the label distribution, and the conditional trainer's steps.
@Suite struct ConditioningTests {
    @Test func oneHotConcatForwardAndGradient() {
        // Flat rows: [x, one-hot]; images: K more channels, the label's all ones.
        let flat = OneHotConcat(classes: 3)
        flat.setLabels([2, 0])
        let y = flat.forward(Tensor(shape: [2, 2], values: [5, 6, 7, 8]), training: true)
        #expect(y.shape == [2, 5] && y.array == [5, 6, 0, 0, 1, 7, 8, 1, 0, 0])
        #expect(flat.outputShape(for: [2]) == [5] && flat.outputShape(for: [1, 4, 4]) == [4, 4, 4] && flat.outputShape(for: [2, 2]) == nil)
        let r = gradientCheck(flat, input: randomTensor([2, 2], seed: 1))
        #expect(r.worstError < gradientTolerance, "\(r)")

        let image = OneHotConcat(classes: 2)
        image.setLabels([1, 0, 1])
        let x = randomTensor([3, 2, 3, 3], seed: 2)
        let out = image.forward(x, training: true)
        #expect(out.shape == [3, 4, 3, 3])
        #expect(Array(out.array[18..<27]) == [Float](repeating: 0, count: 9) && Array(out.array[27..<36]) == [Float](repeating: 1, count: 9))
        let ri = gradientCheck(image, input: x)
        #expect(ri.worstError < gradientTolerance, "\(ri)")
    }

    @Test(arguments: [false, true])
    func classProjectionGradients(spectral: Bool) {
        var rng = RNG(seed: 3)
        let linear = Linear(6, 1, rng: &rng)
        let psi: SpecifiedLayer = spectral ? SpectralNorm(wrapping: linear, rng: &rng) : linear
        let p = ClassProjection(wrapping: psi, features: 6, classes: 4)
        p.initializeEmbedding(rng: &rng)
        p.setLabels([3, 1, 3, 0, 2])
        let x = randomTensor([5, 6], seed: 4)
        // The output is ψ(x) + embed(y)·x, row by row.
        let psiOut = psi.forward(x, training: false).array
        let out = p.forward(x, training: false)
        for i in 0..<5 {
            let y = [3, 1, 3, 0, 2][i]
            let dot = (0..<6).reduce(Float(0)) { $0 + x[i * 6 + $1] * p.embedding.value[y * 6 + $1] }
            #expect(abs(out[i] - psiOut[i] - dot) < 1e-5)
        }
        // Spectral norm's power iteration changes σ in training mode: check in evaluation mode.
        let r = gradientCheck(p, input: x, training: spectral ? false : true)
        #expect(r.worstError < gradientTolerance, "\(r)")
        #expect(p.parameters.last?.name == "class_embedding" && p.kind == (spectral ? "projection_sn_linear" : "projection_linear"))
    }

    @Test func weightedStridedSoftmaxCrossEntropy() {
        // ACGAN's class term: columns 1...K of [N, 1 + K], times a weight; column 0 untouched.
        let logits = randomTensor([4, 5], seed: 5, std: 2)
        let labels = [0, 3, 1, 3]
        let r = functionGradientCheck(input: logits, h: 0.05) { x, g in
            g.fill(7)
            let loss = SoftmaxCrossEntropy.loss(x.data + 1, rows: 4, classes: 4, stride: 5, labels: labels, gradient: g.data + 1, weight: 0.5)
            for i in 0..<4 { g[i * 5] = 0 }   // column 0 is not part of this loss
            return loss
        }
        #expect(r.worstError < 1e-2, "\(r)")
        let g = Tensor(shape: [4, 5])
        g.fill(7)
        _ = SoftmaxCrossEntropy.loss(logits.data + 1, rows: 4, classes: 4, stride: 5, labels: labels, gradient: g.data + 1, weight: 0.5)
        #expect((0..<4).allSatisfy { g[$0 * 5] == 7 })
    }

    @Test func labelDistributionFollowsTheCounts() {
        let d = ClassDistribution(counts: [1, 0, 3])
        var rng = RNG(seed: 9, stream: .labels)
        var labels: [Int] = []
        d.sample(40_000, rng: &rng, into: &labels)
        #expect(!labels.contains(1))
        let twos = Double(labels.filter { $0 == 2 }.count) / 40_000
        #expect(abs(twos - 0.75) < 0.01, "\(twos)")
        var again = RNG(seed: 9, stream: .labels), same: [Int] = []
        d.sample(40_000, rng: &again, into: &same)
        #expect(same == labels)
    }

    @Test func specsRoundTrip() throws {
        let specs: [LayerSpec] = [.oneHotConcat(classes: 10), .classProjection(.linear(inFeatures: 8, outFeatures: 1, bias: true), classes: 3),
                                  .classProjection(.spectralNorm(.linear(inFeatures: 8, outFeatures: 1, bias: true), powerIterations: 1, eps: 1e-12), classes: 3)]
        for spec in specs {
            let attrs = Dictionary(uniqueKeysWithValues: spec.attributes.map { ($0.name, $0.value) })
            #expect(try LayerSpec.make(kind: spec.kind, attributes: attrs).get() == spec)
            #expect((spec.makeLayer() as? SpecifiedLayer)?.spec == spec)
        }
        #expect(LayerSpec.make(kind: "projection_linear", attributes: ["in_features": 8, "out_features": 2, "bias": 1, "classes": 3])
                == .failure(.invalid(kind: "projection_linear", attribute: "out_features", value: 2)))
    }

    /// Small conditional networks for every mode: G [z; one-hot] -> 6; D per mode.
    static func trainer(_ mode: Conditioning.Mode, stack: Bool = true, seed: UInt64 = 11) throws -> AdversarialTrainer {
        var rng = RNG(seed: seed)
        let k = 3
        let g = Sequential(OneHotConcat(classes: k), Linear(4 + k, 8, rng: &rng), Tanh(), Linear(8, 6, rng: &rng))
        let d: Sequential
        switch mode {
        case .concat: d = Sequential(OneHotConcat(classes: k), Linear(6 + k, 5, rng: &rng), Tanh(), Linear(5, 1, rng: &rng))
        case .projection:
            let p = ClassProjection(wrapping: Linear(5, 1, rng: &rng), features: 5, classes: k)
            p.initializeEmbedding(rng: &rng)
            d = Sequential(Linear(6, 5, rng: &rng), Tanh(), p)
        case .acgan: d = Sequential(Linear(6, 5, rng: &rng), Tanh(), Linear(5, 1 + k, rng: &rng))
        }
        let options = AdversarialTrainer.Options(stackDiscriminatorBatches: stack,
                                                 conditioning: Conditioning(mode: mode, classCount: k, labelCounts: [2, 1, 1], auxiliaryWeight: 0.7))
        return try AdversarialTrainer(generator: g, discriminator: d, generatorOptimizer: .sgd(learningRate: .constant(0.01)),
                                      discriminatorOptimizer: .sgd(learningRate: .constant(0.01)), noiseDimension: 4,
                                      noiseRNG: RNG(seed: seed, stream: .noise), options: options)
    }

    /// D's loss (both terms, ACGAN's class terms included) and G's loss against central
    /// differences over every parameter, in each mode, stacked and in two passes.
    @Test(arguments: [Conditioning.Mode.concat, .projection, .acgan])
    func conditionalLossGradients(_ mode: Conditioning.Mode) throws {
        for stack in [true, false] {
            let t = try Self.trainer(mode, stack: stack)
            let real = randomTensor([6, 6], seed: 12), z = randomTensor([6, 4], seed: 13)
            let realLabels = [0, 1, 2, 2, 1, 0], fakeLabels = [2, 2, 0, 1, 0, 1]
            func dLoss() -> Float { t.conditionalDiscriminatorGradients(real: real, realLabels: realLabels, noise: z, fakeLabels: fakeLabels).loss }
            _ = dLoss()
            #expect(worst(t.discriminator.parameters, dLoss) < 1e-2, "\(mode) D stack \(stack)")
            func gLoss() -> Float { t.conditionalGeneratorGradients(noise: z, labels: fakeLabels) }
            _ = gLoss()
            #expect(worst(t.generator.parameters, gLoss) < 1e-2, "\(mode) G stack \(stack)")
        }
    }

    /// The worst relative error of the parameters' gradients (as `loss()` left them on its last
    /// call) against central differences of `loss()`.
    func worst(_ parameters: [Parameter], _ loss: () -> Float, h: Float = 1e-2) -> Double {
        let analytic = parameters.map { $0.gradient.clone() }
        var worst = 0.0
        for (p, a) in zip(parameters, analytic) {
            for i in 0..<p.value.count {
                let saved = p.value[i]
                p.value[i] = saved + h; let lp = Double(loss())
                p.value[i] = saved - h; let lm = Double(loss())
                p.value[i] = saved
                let num = (lp - lm) / (2 * Double(h))
                worst = max(worst, abs(num - Double(a[i])) / max(abs(num) + abs(Double(a[i])), 1e-3))
            }
        }
        return worst
    }

    /// Stacked and two-pass D steps agree; the labels come from the "labels" stream; options a
    /// conditional step does not implement are refused.
    @Test func stepsAndOptionChecks() throws {
        let a = try Self.trainer(.projection, stack: true), b = try Self.trainer(.projection, stack: false)
        let real = randomTensor([6, 6], seed: 14)
        let ra = a.discriminatorStep(real: real, labels: [0, 1, 2, 0, 1, 2], step: 0)
        let rb = b.discriminatorStep(real: real, labels: [0, 1, 2, 0, 1, 2], step: 0)
        #expect(abs(ra.loss - rb.loss) < 1e-5)
        #expect(closeness(a.discriminator.parameters[0].value.array, b.discriminator.parameters[0].value.array, rtol: 1e-5, atol: 1e-6) <= 1)
        // A trainer's default label stream is RNG(seed: 0, stream: .labels).
        var rng = RNG(seed: 0, stream: .labels), expected: [Int] = []
        ClassDistribution(counts: [2, 1, 1]).sample(6, rng: &rng, into: &expected)
        let c = try Self.trainer(.concat)
        #expect(c.sampleLabels(count: 6) == expected && c.labelRNG == rng)
        #expect(a.generatorStep(batchSize: 6, real: nil, step: 0).isFinite)

        var o = a.options
        o.pack = 2
        #expect(throws: AdversarialTrainer.OptionError.self) {
            try AdversarialTrainer(generator: a.generator, discriminator: a.discriminator, generatorOptimizer: .sgd(learningRate: .constant(0.1)),
                                   discriminatorOptimizer: .sgd(learningRate: .constant(0.1)), noiseDimension: 4, noiseRNG: RNG(seed: 1), options: o)
        }
        o = AdversarialTrainer.Options()   // conditional layers without conditioning
        #expect(throws: AdversarialTrainer.OptionError.self) {
            try AdversarialTrainer(generator: a.generator, discriminator: a.discriminator, generatorOptimizer: .sgd(learningRate: .constant(0.1)),
                                   discriminatorOptimizer: .sgd(learningRate: .constant(0.1)), noiseDimension: 4, noiseRNG: RNG(seed: 1), options: o)
        }
    }
}
