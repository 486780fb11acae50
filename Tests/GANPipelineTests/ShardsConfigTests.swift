import Foundation
@testable import GANPipeline
import Testing

/// `train.shards`: data-parallel batch shards, default 1 (and then absent from the stored text).
@Suite struct ShardsConfigTests {
    let ring = minimalYAML.replacingOccurrences(of: "source: gaussian", with: "source: ring")
        .replacingOccurrences(of: "dimension: 1", with: "dimension: 2")
    var withTrain: String { ring + "train:\n  steps: 3\n  batch_size: 64\n" }

    @Test func defaultIsOneAndIsNotStored() throws {
        let plain = try ConfigLoader.parse(yaml: withTrain, file: "t.yaml")
        #expect(plain.train.shards == 1 && !plain.encodeYAML().contains("shards"))
        let explicitOne = try ConfigLoader.parse(yaml: withTrain, file: "t.yaml", overrides: ["train.shards=1"])
        #expect(explicitOne.encodeYAML() == plain.encodeYAML() && explicitOne.changedKeys(from: plain).isEmpty)
        let four = try ConfigLoader.parse(yaml: withTrain, file: "t.yaml", overrides: ["train.shards=4"])
        #expect(four.train.shards == 4 && four.encodeYAML().contains("  shards: 4\n"))
        #expect(try ConfigLoader.parse(yaml: four.encodeYAML(), file: "stored.yaml") == four)
        var two = four
        two.train.shards = 2
        #expect(two.changedKeys(from: four) == ["train.shards"] && !PipelineConfig.isChangeableOnResume("train.shards"))
    }

    @Test func validation() {
        let t = withTrain
        #expect(configError(t + "  shards: 0\n")?.hasSuffix("train.shards: must be >= 1, got 0") == true)
        #expect(configError(t + "  shards: 3\n")?.hasSuffix("train.shards: train.batch_size (64) must be a multiple of train.shards (3)") == true)
        #expect(configError(t + "  shards: 8\n  pack: 16\n")?
                    .hasSuffix("train.shards: each shard (train.batch_size / train.shards = 8 rows) must be a multiple of train.pack (16)") == true)
        #expect(configError(t + "  shards: 8\n  pack: 8\n") == nil)
        #expect(configError(t + "  shards: 2\n  top_k_min_fraction: 0.5\n")?
                    .hasSuffix("train.top_k_min_fraction: top-k ranks the whole batch's samples and needs the whole batch at once: not with train.shards > 1") == true)
        #expect(configError(t + "  shards: 2\nloss: {feature_matching_layer: 1}\n")?
                    .contains("loss.feature_matching_layer: feature matching compares whole-batch feature means") == true)
        let gaussian = minimalYAML + "noise: {dimension: 1, prior: uniform, stratified: true}\ntrain: {steps: 3, batch_size: 8, shards: 2}\n"
        #expect(configError(gaussian.replacingOccurrences(of: "noise:\n  dimension: 1\n", with: ""))?
                    .contains("noise.stratified: stratified noise sorts the whole batch") == true)
    }
}
