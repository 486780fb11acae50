import GANNN
import GANTestSupport
import Testing
@_spi(Testing) import GANTensor

/// `CanonicalDCGAN`: pytorch/examples' dcgan/main.py networks, layer for layer.
@Suite struct CanonicalDCGANTests {
    @Test func layersAreTheExample() {
        var rng = RNG(seed: 1)
        let g = CanonicalDCGAN.generator(noiseDimension: 100, imageShape: [3, 64, 64], features: 64, rng: &rng)
        let d = CanonicalDCGAN.discriminator(imageShape: [3, 64, 64], features: 64, rng: &rng)
        #expect(g.layers.map(\.kind) == ["reshape"] + Array(repeating: ["conv_transpose2d", "batch_norm", "relu"], count: 4).flatMap { $0 }
                    + ["conv_transpose2d", "tanh"])
        #expect(d.layers.map(\.kind) == ["conv2d", "leaky_relu"] + Array(repeating: ["conv2d", "batch_norm", "leaky_relu"], count: 3).flatMap { $0 }
                    + ["conv2d", "reshape"])
        let convs = (g.layers + d.layers).compactMap { $0 as? WeightedLayer }
        #expect(convs.map { $0.weight.value.shape } == [[100, 512, 4, 4], [512, 256, 4, 4], [256, 128, 4, 4], [128, 64, 4, 4], [64, 3, 4, 4],
                                                 [64, 3, 4, 4], [128, 64, 4, 4], [256, 128, 4, 4], [512, 256, 4, 4], [1, 512, 4, 4]])
        #expect(convs.allSatisfy { $0.bias == nil })   // bias=False everywhere
        #expect(g.outputShape(for: [100]) == [3, 64, 64] && d.outputShape(for: [3, 64, 64]) == [1])
        // weights_init: conv weights N(0, 0.02), batch-norm scales N(1, 0.02), shifts 0.
        let w = convs.flatMap { $0.weight.value.array }.map(Double.init)
        let mean = w.reduce(0, +) / Double(w.count), std = (w.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(w.count)).squareRoot()
        #expect(abs(mean) < 1e-3 && abs(std - 0.02) < 1e-3)
        let norms = (g.layers + d.layers).compactMap { $0 as? BatchNorm }
        let gamma = norms.flatMap { $0.weight.value.array }.map(Double.init)
        #expect(abs(gamma.reduce(0, +) / Double(gamma.count) - 1) < 2e-3 && norms.allSatisfy { $0.bias.value.array.allSatisfy { $0 == 0 } })
        #expect(CanonicalDCGAN.problem(imageShape: [1, 28, 28]) != nil && CanonicalDCGAN.problem(imageShape: [1, 32, 16]) != nil)
        #expect(CanonicalDCGAN.problem(imageShape: [1, 16, 16]) == nil)
    }
}
