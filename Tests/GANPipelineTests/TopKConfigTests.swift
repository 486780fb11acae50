import Foundation
@testable import GANPipeline
import Testing

/// `train.top_k_min_fraction`, `train.top_k_decay`, `train.top_k_decay_every`: top-k training
/// (Sinha et al. 2020), default off.
@Suite struct TopKConfigTests {
    let ring = minimalYAML.replacingOccurrences(of: "source: gaussian", with: "source: ring")
        .replacingOccurrences(of: "dimension: 1", with: "dimension: 2")

    @Test func defaultsToOffAndRoundTrips() throws {
        let off = try ConfigLoader.parse(yaml: minimalYAML, file: "t.yaml")
        #expect(off.train.topKMinFraction == 1 && off.train.topK(step: 0) == nil && off.train.topK(step: 10_000_000) == nil)
        let c = try ConfigLoader.parse(yaml: ring + "train:\n  steps: 4\n  batch_size: 100\n  pack: 2\n  top_k_min_fraction: 0.5\n  top_k_decay: 0.9\n  top_k_decay_every: 10\n", file: "t.yaml")
        #expect(c.train.topKMinFraction == 0.5 && c.train.topKDecay == 0.9 && c.train.topKDecayEvery == 10)
        let yaml = c.encodeYAML()
        #expect(yaml.contains("top_k_min_fraction: 0.5") && yaml.contains("top_k_decay: 0.9") && yaml.contains("top_k_decay_every: 10"))
        #expect(try ConfigLoader.parse(yaml: yaml, file: "stored.yaml") == c)
        var d = c
        d.train.topKMinFraction = 0.6
        #expect(d.changedKeys(from: c) == ["train.top_k_min_fraction"])
        d = c
        d.train.topKDecay = 0.95
        #expect(d.changedKeys(from: c) == ["train.top_k_decay"])
        d = c
        d.train.topKDecayEvery = 20
        #expect(d.changedKeys(from: c) == ["train.top_k_decay_every"])
        for key in ["train.top_k_min_fraction", "train.top_k_decay", "train.top_k_decay_every"] {
            #expect(!PipelineConfig.isChangeableOnResume(key))
        }
    }

    /// k = max(⌈ν · rows⌉, ⌊rows · γ^⌊step / every⌋⌋) over the batch's rows (packs): a function of the step alone.
    @Test func scheduleDecaysToTheFloor() throws {
        let c = try ConfigLoader.parse(yaml: ring + "train:\n  steps: 4\n  batch_size: 100\n  pack: 2\n  top_k_min_fraction: 0.5\n  top_k_decay: 0.9\n  top_k_decay_every: 10\n", file: "t.yaml")
        // 50 packs: 50 for steps 0-9, then ⌊50 · 0.9⌋ = 45, ⌊50 · 0.81⌋ = 40, ... floor 25.
        #expect([0, 9, 10, 19, 20, 30].map { c.train.topK(step: $0) } == [50, 50, 45, 45, 40, 36])
        #expect(c.train.topK(step: 1000) == 25)
        var one = c
        one.train.pack = 1
        one.train.topKMinFraction = 0.75
        #expect(one.train.topK(step: 0) == 100 && one.train.topK(step: 10) == 90 && one.train.topK(step: 100_000) == 75)
        one.train.topKMinFraction = 0.001
        #expect(one.train.topK(step: 100_000) == 1)
    }

    @Test func validation() {
        let t = ring + "train:\n  steps: 3\n  batch_size: 8\n"
        #expect(configError(t + "  top_k_min_fraction: 0\n")?
                    .hasSuffix("train.top_k_min_fraction: must be in (0, 1] (the smallest fraction of the batch kept in G's loss; 1 = off), got 0.0") == true)
        #expect(configError(t + "  top_k_min_fraction: 1.5\n")?.contains("train.top_k_min_fraction: must be in (0, 1]") == true)
        #expect(configError(t + "  top_k_decay: 0\n")?.hasSuffix("train.top_k_decay: must be in (0, 1], got 0.0") == true)
        #expect(configError(t + "  top_k_decay: 1.01\n")?.hasSuffix("train.top_k_decay: must be in (0, 1], got 1.01") == true)
        #expect(configError(t + "  top_k_decay_every: 0\n")?.hasSuffix("train.top_k_decay_every: must be >= 1, got 0") == true)
        #expect(configError(t + "  top_k_min_fraction: 0.5\n  top_k_decay: 1\n  top_k_decay_every: 1\n") == nil)
        #expect(configError(ring + "loss: {feature_matching_layer: 1}\n" + "train:\n  steps: 3\n  top_k_min_fraction: 0.5\n")?
                    .contains("train.top_k_min_fraction: top-k ranks the samples' own G losses: not with loss.feature_matching_layer") == true)
        #expect(configError(t, overrides: ["train.top_k_min_fraction=0.75"]) == nil)
    }
}
