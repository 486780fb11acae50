import Foundation
import Testing
import GANNN
import GANTestSupport

/// Top-k training (`AdversarialTrainer.Options.topK`, Sinha et al. 2020): only the k fake rows
/// (packs) D scores highest contribute to G's loss and gradient.
@Suite("TopK")
struct TopKTests {
    /// G: 2 -> 6 -> 2 (tanh, smooth); D: (m · 2) -> 8 -> 1 (tanh), as in the packing tests.
    static func trainer(pack: Int, objective: GANObjective = .nonSaturating, topK: TopKSchedule? = nil,
                        seed: UInt64 = 21) throws -> AdversarialTrainer {
        var rng = RNG(seed: seed, stream: .initialization)
        let g = Sequential(Linear(2, 6, rng: &rng), Tanh(), Linear(6, 2, rng: &rng))
        let d = Sequential(Linear(2 * pack, 8, rng: &rng), Tanh(), Linear(8, 1, rng: &rng))
        return try AdversarialTrainer(generator: g, discriminator: d, generatorOptimizer: .sgd(learningRate: 0.05),
                                      discriminatorOptimizer: .sgd(learningRate: 0.05), noiseDimension: 2,
                                      noiseRNG: RNG(seed: seed, stream: .noise),
                                      options: .init(objective: objective, pack: pack, topK: topK))
    }

    /// D's logits for G(z), one per pack, in row order.
    static func logits(_ t: AdversarialTrainer, _ z: Tensor) -> [Float] {
        let x = t.generator.forward(z, training: true).clone()
        let pack = t.options.pack
        let packed = Tensor(shape: [x.rows / pack, x.columns * pack], values: x.array)
        return t.discriminator.forward(packed, training: true).array
    }

    /// The rows of `z` belonging to the k packs with the highest logits (ties to the lower index).
    static func topRows(_ t: AdversarialTrainer, _ z: Tensor, k: Int) -> Tensor {
        let l = logits(t, z)
        let packs = Array(l.indices).sorted { l[$0] != l[$1] ? l[$0] > l[$1] : $0 < $1 }.prefix(k).sorted()
        var values: [Float] = []
        let pack = t.options.pack
        for p in packs { for r in p * pack..<(p + 1) * pack { values += (0..<z.columns).map { z[r * z.columns + $0] } } }
        return Tensor(shape: [k * pack, z.columns], values: values)
    }

    /// The top-k G gradient against central differences of the top-k loss (k fixed; the noise is
    /// chosen so the ranking does not change under the perturbation, which the test checks).
    @Test("top-k generator gradient matches finite differences", arguments: [(1, 3), (2, 2), (4, 1)])
    func gradientCheck(_ pack: Int, _ k: Int) throws {
        let t = try Self.trainer(pack: pack, topK: .constant(k))
        let z = randomTensor([8, 2], seed: 5)
        let selected = Self.topRows(t, z, k: k)
        let worst = generatorGradientWorstError(t, noise: z) {
            #expect(Self.topRows(t, z, k: k).array == selected.array, "the ranking changed under the perturbation")
        }
        #expect(worst < gradientTolerance, "worst relative error \(worst)")
    }

    /// Only the top-k rows receive gradient: the top-k loss and G gradient on z equal the plain
    /// ones on the sub-batch of the k best packs (G and D act row by row), for every objective.
    @Test("only the top-k packs contribute", arguments: [1, 2])
    func onlyTopRowsContribute(_ pack: Int) throws {
        for objective in [GANObjective.minimax, .nonSaturating, .wasserstein] {
            let k = 6 / pack + 1
            // Two trainers with the same networks, one with top-k.
            let t = try Self.trainer(pack: pack, objective: objective, topK: .constant(k))
            let plain = try Self.trainer(pack: pack, objective: objective)
            let z = randomTensor([12, 2], seed: 9)
            let sub = Self.topRows(t, z, k: k)
            let lossTop = t.generatorGradients(noise: z, real: nil, step: 0)
            let gradTop = t.generator.parameters.map { $0.gradient.clone() }
            let lossSub = plain.generatorGradients(noise: sub, real: nil, step: 0)
            let gradSub = plain.generator.parameters.map { $0.gradient.clone() }
            #expect(abs(lossTop - lossSub) <= 1e-6 * max(1, abs(lossSub)), "\(objective) loss")
            for (a, b) in zip(gradTop, gradSub) {
                for i in 0..<a.count { #expect(abs(a[i] - b[i]) <= 1e-5 * max(1, abs(b[i])), "\(objective) gradient") }
            }
            // The loss is the objective's over the k highest logits.
            if objective == .nonSaturating {
                let top = Self.logits(t, z).sorted(by: >).prefix(k)
                let expected = top.map { log1p(exp(-Double($0))) }.reduce(0, +) / Double(k)
                #expect(abs(Double(lossTop) - expected) < 1e-5)
            }
        }
    }

    /// k >= the number of packs is plain training, bit for bit; whole steps stay finite. The
    /// schedule keeps all 4 packs for steps 0-4, then decays k to its floor 1 (⌈0.25 · 4⌉).
    @Test func largeKIsPlainTraining() throws {
        let schedule = TopKSchedule(rows: 4, minFraction: 0.25, decay: 0.01, decayEvery: 5)
        #expect((0..<11).map { schedule.k(at: $0) } == [4, 4, 4, 4, 4, 1, 1, 1, 1, 1, 1])
        let a = try Self.trainer(pack: 2, topK: schedule), b = try Self.trainer(pack: 2)
        let real = randomTensor([8, 2], seed: 3)
        for step in 0..<5 {
            a.discriminatorStep(real: real, step: step); b.discriminatorStep(real: real, step: step)
            let ga = a.generatorStep(batchSize: 8, real: real, step: step), gb = b.generatorStep(batchSize: 8, real: real, step: step)
            #expect(ga.bitPattern == gb.bitPattern)
        }
        for (p, q) in zip(a.generator.parameters, b.generator.parameters) { #expect(p.value.bitwiseEqual(q.value)) }
        for step in 5..<15 {
            let r = a.discriminatorStep(real: real, step: step), s = b.discriminatorStep(real: real, step: step)
            let g = a.generatorStep(batchSize: 8, real: real, step: step)
            let h = b.generatorStep(batchSize: 8, real: real, step: step)
            #expect(r.loss.isFinite && g.isFinite && s.loss.isFinite && h.isFinite)
        }
        #expect(!zip(a.generator.parameters, b.generator.parameters).allSatisfy { $0.value.bitwiseEqual($1.value) },
                "from step 5 only the best pack trains G")
    }
}
