import Foundation
import Testing
import GANNN
import GANTestSupport

/// `AdversarialTrainer.Options` are checked once, at construction: each bad option throws an
/// `OptionError` naming it and what was expected; nothing is checked (or can be changed) later.
@Suite("Trainer options")
struct TrainerOptionsTests {
    /// G: 2 -> 6 -> 2; D: 4 -> 8 -> 1 (3 layers; takes packs of 2), optionally with a virtual batch
    /// norm layer in G and D.
    static func networks(virtualBatchNorm: Bool = false) -> (Sequential, Sequential) {
        var rng = RNG(seed: 1, stream: .initialization)
        let g = Sequential([Linear(2, 6, rng: &rng)] + (virtualBatchNorm ? [VirtualBatchNorm(features: 6)] : [])
                           + [Tanh(), Linear(6, 2, rng: &rng)])
        let d = Sequential([Linear(4, 8, rng: &rng)] + (virtualBatchNorm ? [VirtualBatchNorm(features: 8)] : [])
                           + [Tanh(), Linear(8, 1, rng: &rng)])
        return (g, d)
    }

    static func make(_ options: AdversarialTrainer.Options, noiseDimension: Int = 2,
                     virtualBatchNorm: Bool = false) throws -> AdversarialTrainer {
        let (g, d) = networks(virtualBatchNorm: virtualBatchNorm)
        return try AdversarialTrainer(generator: g, discriminator: d, generatorOptimizer: .sgd(learningRate: 0.1),
                                      discriminatorOptimizer: .sgd(learningRate: 0.1), noiseDimension: noiseDimension,
                                      noiseRNG: RNG(seed: 1, stream: .noise), options: options)
    }

    /// The error `make` throws, or nil.
    static func error(_ options: AdversarialTrainer.Options, noiseDimension: Int = 2,
                      virtualBatchNorm: Bool = false) -> AdversarialTrainer.OptionError? {
        do {
            _ = try make(options, noiseDimension: noiseDimension, virtualBatchNorm: virtualBatchNorm)
            return nil
        } catch let e as AdversarialTrainer.OptionError {
            return e
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    /// Each bad option with the option the error must name and the end of its message.
    static var bad: [(String, AdversarialTrainer.Options, Int, Bool, String, String)] { [
        ("noise dimension 0", .init(), 0, false, "noiseDimension", "expected >= 1, got 0"),
        ("real label 0", .init(realLabel: 0), 2, false, "realLabel", "expected a target in (0, 1], got 0.0"),
        ("real label 1.5", .init(realLabel: 1.5), 2, false, "realLabel", "expected a target in (0, 1], got 1.5"),
        ("real label NaN", .init(realLabel: .nan), 2, false, "realLabel", "expected a target in (0, 1], got nan"),
        ("pack 0", .init(pack: 0), 2, false, "pack", "expected a packing degree >= 1, got 0"),
        ("stratified 2-D noise", .init(stratifiedNoise: true), 2, false, "stratifiedNoise",
         "expected noise dimension 1 (one stratum per sample), got noise dimension 2"),
        ("top-k rows 0", .init(topK: TopKSchedule(rows: 0, minFraction: 0.5, decay: 0.9, decayEvery: 10)), 2, false, "topK",
         "expected a schedule: rows must be >= 1, got 0"),
        ("top-k fraction 0", .init(topK: TopKSchedule(rows: 4, minFraction: 0, decay: 0.9, decayEvery: 10)), 2, false, "topK",
         "expected a schedule: minFraction must be in (0, 1], got 0.0"),
        ("top-k decay 1.5", .init(topK: TopKSchedule(rows: 4, minFraction: 0.5, decay: 1.5, decayEvery: 10)), 2, false, "topK",
         "expected a schedule: decay must be in (0, 1], got 1.5"),
        ("top-k interval 0", .init(topK: TopKSchedule(rows: 4, minFraction: 0.5, decay: 0.9, decayEvery: 0)), 2, false, "topK",
         "expected a schedule: decayEvery must be >= 1, got 0"),
        ("top-k with feature matching", .init(topK: .constant(2), featureMatchingLayer: 2), 2, false, "topK",
         "expected no featureMatchingLayer: top-k ranks per-sample losses, feature matching has none"),
        ("feature matching layer 0", .init(featureMatchingLayer: 0), 2, false, "featureMatchingLayer",
         "expected a layer count in 1...3 (D's layers), got 0"),
        ("feature matching layer 4 of 3", .init(featureMatchingLayer: 4), 2, false, "featureMatchingLayer",
         "expected a layer count in 1...3 (D's layers), got 4"),
        ("G reference missing", .init(pack: 2, discriminatorReference: Tensor(shape: [4, 2])), 2, true, "generatorReferenceNoise",
         "expected a reference noise batch [r, 2]: the generator has virtual batch norm layers (ReferenceBatchLayer), got none"),
        ("G reference of the wrong width", .init(pack: 2, generatorReferenceNoise: Tensor(shape: [4, 3]),
                                                 discriminatorReference: Tensor(shape: [4, 2])), 2, true,
         "generatorReferenceNoise", "expected a reference noise batch [r, 2], got [4, 3]"),
        ("G reference without VBN", .init(generatorReferenceNoise: Tensor(shape: [4, 2])), 2, false, "generatorReferenceNoise",
         "expected none: the generator has no virtual batch norm layer (ReferenceBatchLayer), got [4, 2]"),
        ("D reference missing", .init(pack: 2, generatorReferenceNoise: Tensor(shape: [4, 2])), 2, true, "discriminatorReference",
         "expected a reference batch of real data whose rows are a multiple of pack 2: the discriminator has virtual batch norm "
            + "layers (ReferenceBatchLayer), got none"),
        ("D reference not a multiple of pack", .init(pack: 2, generatorReferenceNoise: Tensor(shape: [4, 2]),
                                                     discriminatorReference: Tensor(shape: [3, 2])), 2, true,
         "discriminatorReference", "expected a reference batch of real data whose rows are a multiple of pack 2, got [3, 2]"),
        ("D reference without VBN", .init(discriminatorReference: Tensor(shape: [4, 2])), 2, false, "discriminatorReference",
         "expected none: the discriminator has no virtual batch norm layer (ReferenceBatchLayer), got [4, 2]"),
        ("EMA decay 1.5", .init(emaDecay: 1.5), 2, false, "emaDecay", "expected a decay in [0, 1], got 1.5"),
        ("EMA decay -0.1", .init(emaDecay: -0.1), 2, false, "emaDecay", "expected a decay in [0, 1], got -0.1"),
        ("EMA warm-up alone", .init(emaWarmUp: true), 2, false, "emaWarmUp",
         "expected emaDecay to be set (warm-up of which average?)"),
    ] }

    @Test("each bad option throws one line naming it and what was expected", arguments: bad.indices)
    func badOption(_ i: Int) {
        let (label, options, z, vbn, option, expected) = Self.bad[i]
        let e = Self.error(options, noiseDimension: z, virtualBatchNorm: vbn)
        #expect(e?.option == option && e?.expected == expected, "\(label): \(e.map { "\($0)" } ?? "no error")")
        #expect(e?.description == "AdversarialTrainer: \(option): \(expected)", "\(label)")
        #expect(e?.description.contains("\n") == false)
    }

    @Test("good options are accepted and kept as given")
    func goodOptions() throws {
        #expect(Self.error(.init()) == nil)
        let t = try Self.make(.init(objective: .wasserstein, realLabel: 0.9, noisePrior: .uniform(), pack: 2,
                                    topK: TopKSchedule(rows: 4, minFraction: 0.5, decay: 0.9, decayEvery: 10),
                                    emaDecay: 0.999, emaWarmUp: true))
        #expect(t.options.objective == .wasserstein && t.options.realLabel == 0.9 && t.options.pack == 2)
        #expect(t.weightAverage?.decay == 0.999 && t.weightAverage?.warmUp == true && t.weightAverage?.network === t.generator)
        #expect(Self.error(.init(stratifiedNoise: true, emaDecay: 0), noiseDimension: 1) == nil)
        #expect(Self.error(.init(featureMatchingLayer: 3)) == nil)
        let vbn = try Self.make(.init(pack: 2, generatorReferenceNoise: Tensor(shape: [4, 2]), discriminatorReference: Tensor(shape: [4, 2])),
                                virtualBatchNorm: true)
        #expect(!vbn.stacksDiscriminatorBatches, "a D with a reference batch runs real and fake separately")
    }
}
