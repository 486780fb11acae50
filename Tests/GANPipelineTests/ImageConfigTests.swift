import Foundation
@testable import GANPipeline
import GANNN
import Testing
@_spi(Testing) import GANTensor

/// Image data sources and the `dcgan` architecture: validation at load, and the networks built.
@Suite struct ImageConfigTests {
    static let images = """
    data: {source: idx, path: /data/train.idx, labels: /data/train-labels.idx, normalize: symmetric}
    noise: {dimension: 100}
    generator: {architecture: dcgan, channels: [128, 64], batch_norm: true, activation: relu, output: tanh, init: normal}
    discriminator: {architecture: dcgan, channels: [64, 128], batch_norm: true, activation: leaky_relu, init: normal}
    generator_optimizer: {kind: adam, learning_rate: 0.0002, beta1: 0.5}
    discriminator_optimizer: {kind: adam, learning_rate: 0.0002, beta1: 0.5}

    """

    @Test func dcgan28IsThePeerNetwork() throws {
        let c = try ConfigLoader.parse(yaml: Self.images, file: "t.yaml")
        var rng = RNG(seed: 0)
        let g = ModelFactory.network(c.generator, noiseDimension: 100, sampleShape: [1, 28, 28], isDiscriminator: false, rng: &rng)
        let d = ModelFactory.network(c.discriminator, noiseDimension: 100, sampleShape: [1, 28, 28], isDiscriminator: true, rng: &rng)
        #expect(g.layerNames == ["0_linear", "1_reshape", "2_batch_norm", "3_relu", "4_conv_transpose2d", "5_batch_norm", "6_relu",
                                 "7_conv_transpose2d", "8_tanh"])
        #expect(d.layerNames == ["0_conv2d", "1_leaky_relu", "2_conv2d", "3_batch_norm", "4_leaky_relu", "5_reshape", "6_linear"])
        #expect(g.parameterCount == 100 * 6272 + 6272 + 2 * 128 + 128 * 64 * 16 + 64 + 2 * 64 + 64 * 16 + 1)
        #expect(d.parameterCount == 64 * 16 + 64 + 64 * 128 * 16 + 128 + 2 * 128 + 6272 + 1)
        #expect(g.outputShape(for: [100]) == [1, 28, 28])
        #expect(d.outputShape(for: [1, 28, 28]) == [1])
        // N(0, 0.02) weights, zero biases.
        let w = (g.layers[0] as! Linear).weight.value.array
        let std = (w.reduce(0) { $0 + Double($1 * $1) } / Double(w.count)).squareRoot()
        #expect(abs(std - 0.02) < 0.001)
    }

    @Test func mistakesAreRejectedAtLoad() {
        let toy = minimalYAML
        #expect(configError(toy.replacingOccurrences(of: "generator:\n", with: "generator:\n  architecture: dcgan\n  channels: [8]\n"))?
                    .contains("generator.architecture: `dcgan` needs image data") == true)
        #expect(configError(Self.images.replacingOccurrences(of: "channels: [128, 64]", with: "channels: []"))?
                    .contains("generator.channels: `dcgan` needs one channel count >= 1 per resolution") == true)
        #expect(configError(toy.replacingOccurrences(of: "source: gaussian", with: "source: gaussian\n  normalize: symmetric"))?
                    .contains("data.normalize: `symmetric` maps images") == true)
        #expect(configError(toy.replacingOccurrences(of: "source: gaussian", with: "source: gaussian\n  labels: x.idx"))?
                    .contains("data.labels: only image sources") == true)
        #expect(configError(Self.images.replacingOccurrences(of: "labels: /data/train-labels.idx, ", with: "") + "train: {steps: 5, eval_every: 5}\n")?
                    .contains("train.eval_every: for images the cheap metric is FD") == true)
        #expect(configError(Self.images + "train: {steps: 5, eval_every: 5}\n") == nil)
    }

    @Test func relativeImagePathsResolveAgainstTheFile() throws {
        let c = try ConfigLoader.parse(yaml: Self.images.replacingOccurrences(of: "/data/train-labels.idx", with: "l.idx")
                                           + "", file: "/some/dir/p.yaml", overrides: ["data.test_path=t.idx"])
        #expect(c.data.labels == "/some/dir/l.idx")
        #expect(c.data.testPath == FileManager.default.currentDirectoryPath + "/t.idx")
    }
}
