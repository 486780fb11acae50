import Foundation
@testable import GANPipeline
import GANNN
import Testing
@_spi(Testing) import GANTensor

/// `conditioning`, `data.label_column`, `data.class_names`, `loss.auxiliary_weight` (issue 22):
/// stored only when set, checked at load with the key named, and the conditional networks built.
@Suite struct ConditioningConfigTests {
    static let images = ImageConfigTests.images
    static let mlpImages = images.replacingOccurrences(of: "architecture: dcgan, channels: [128, 64], batch_norm: true, ", with: "")
        .replacingOccurrences(of: "architecture: dcgan, channels: [64, 128], batch_norm: true, ", with: "")

    @Test func unsetKeysAreNotStored() throws {
        let plain = try ConfigLoader.parse(yaml: Self.images, file: "t.yaml")
        let text = plain.encodeYAML()
        for key in ["conditioning", "label_column", "class_names", "auxiliary_weight"] { #expect(!text.contains(key), "\(key)") }
        let c = try ConfigLoader.parse(yaml: Self.images + "conditioning: acgan\nloss: {auxiliary_weight: 0.5}\n", file: "t.yaml",
                                       overrides: ["data.class_names=[a, b, c]"])
        #expect(c.conditioning == .acgan && c.loss.auxiliaryWeight == 0.5 && c.data.classNames == ["a", "b", "c"])
        #expect(try ConfigLoader.parse(yaml: c.encodeYAML(), file: "stored.yaml") == c)
        #expect(c.resumeConflicts(with: plain).contains("conditioning"))
    }

    @Test func mistakesNameTheKey() {
        let cases: [(String, String)] = [
            (minimalYAML + "conditioning: concat\n", "conditioning: needs labelled data"),
            (Self.images.replacingOccurrences(of: "labels: /data/train-labels.idx, ", with: "") + "conditioning: concat\n",
             "conditioning: needs class labels: set data.labels"),
            (Self.images + "conditioning: cgan\n", "conditioning: invalid value `cgan`; expected one of: concat, projection, acgan"),
            (Self.images + "conditioning: concat\ntrain: {steps: 3, batch_size: 8, shards: 2}\n", "train.shards: data-parallel conditional runs are not supported"),
            (Self.images + "conditioning: projection\nloss: {auxiliary_weight: 1}\n", "loss.auxiliary_weight: weights ACGAN's class loss"),
            (Self.images + "loss: {auxiliary_weight: 1}\n", "loss.auxiliary_weight: weights ACGAN's class loss: needs conditioning: acgan"),
            (Self.mlpImages + "conditioning: concat\ntrain: {steps: 3, pack: 2}\n", "train.pack: PacGAN packing mixes the labels"),
            (minimalYAML.replacingOccurrences(of: "source: gaussian", with: "source: csv\n  path: /x.csv\n  label_column: y") + "conditioning: acgan\n", ""),
            (Self.images.replacingOccurrences(of: "normalize: symmetric", with: "normalize: symmetric, label_column: y"), "data.label_column: only tables"),
            (Self.images.replacingOccurrences(of: "normalize: symmetric", with: "normalize: symmetric, class_names: [a, A]"), "data.class_names: names must differ"),
        ]
        for (yaml, message) in cases {
            let e = configError(yaml)
            if message.isEmpty { #expect(e == nil, "\(e ?? "")") } else { #expect(e?.contains(message) == true, "\(message): \(e ?? "nil")") }
        }
    }

    /// Every mode builds G on [z; one-hot] and the D the mode needs, for mlp and dcgan.
    @Test(arguments: [ConditioningMode.concat, .projection, .acgan])
    func conditionalNetworks(_ mode: ConditioningMode) throws {
        for yaml in [Self.images, Self.mlpImages] {
            let c = try ConfigLoader.parse(yaml: yaml + "conditioning: \(mode.rawValue)\n", file: "t.yaml")
            let cond = try #require(ModelFactory.conditioning(c, labelCounts: [5, 5, 5]))
            var rng = RNG(seed: 0)
            let g = ModelFactory.conditionalNetwork(c.generator, noiseDimension: 100, sampleShape: [1, 28, 28], conditioning: cond,
                                                    isDiscriminator: false, rng: &rng)
            let d = ModelFactory.conditionalNetwork(c.discriminator, noiseDimension: 100, sampleShape: [1, 28, 28], conditioning: cond,
                                                    isDiscriminator: true, rng: &rng)
            #expect(g.layers.first is OneHotConcat && g.outputShape(for: [100])?.reduce(1, *) == 784)
            let input = c.discriminator.architecture == .dcgan ? [1, 28, 28] : [784]
            #expect(d.outputShape(for: input) == [mode == .acgan ? 4 : 1], "\(mode) \(c.discriminator.architecture)")
            #expect((d.layers.first is OneHotConcat) == (mode == .concat) && (d.layers.last is ClassProjection) == (mode == .projection))
        }
    }
}
