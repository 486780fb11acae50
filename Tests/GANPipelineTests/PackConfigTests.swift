import Foundation
@testable import GANPipeline
import GANNN
import Testing
@_spi(Testing) import GANTensor

/// `train.pack`: PacGAN packing degree (default 1 = off).
@Suite struct PackConfigTests {
    let ring = minimalYAML.replacingOccurrences(of: "source: gaussian", with: "source: ring")
        .replacingOccurrences(of: "dimension: 1", with: "dimension: 2")

    @Test func defaultsToOffAndRoundTrips() throws {
        #expect(try ConfigLoader.parse(yaml: minimalYAML, file: "t.yaml").train.pack == 1)
        let c = try ConfigLoader.parse(yaml: ring + "train:\n  steps: 4\n  batch_size: 8\n  pack: 4\n", file: "t.yaml")
        #expect(c.train.pack == 4)
        #expect(c.encodeYAML().contains("pack: 4"))
        let again = try ConfigLoader.parse(yaml: c.encodeYAML(), file: "stored.yaml")
        #expect(again == c)
        var d = c
        d.train.pack = 2
        #expect(d.changedKeys(from: c) == ["train.pack"])
        #expect(!PipelineConfig.isChangeableOnResume("train.pack"))
    }

    @Test func validation() {
        #expect(configError(ring + "train:\n  steps: 3\n  pack: 0\n")?.hasSuffix("train.pack: must be >= 1, got 0") == true)
        #expect(configError(ring + "train:\n  steps: 3\n  batch_size: 10\n  pack: 4\n")?
                    .hasSuffix("train.pack: train.batch_size (10) must be a multiple of the packing degree 4") == true)
        #expect(configError(minimalYAML + "train:\n  steps: 3\n  batch_size: 8\n  pack: 2\n")?.contains("train.pack: packing is for the 2-D") == true)
        #expect(configError(ring + "train:\n  steps: 3\n  batch_size: 8\n  pack: 2\n") == nil)
    }

    @Test func discriminatorTakesPackedInput() throws {
        let c = try ConfigLoader.parse(yaml: ring + "train:\n  steps: 3\n  batch_size: 8\n  pack: 3\n", file: "t.yaml", overrides: ["train.batch_size=9"])
        var rng = RNG(seed: 1)
        let d = ModelFactory.network(c.discriminator, inputs: 2 * c.train.pack, outputs: 1, isDiscriminator: true, rng: &rng)
        #expect((d.layers.first as? Linear)?.inFeatures == 6)
    }
}
