import Foundation
import Testing
import GANNN
import GANTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Feature matching (Salimans et al. 2016 §3.1) in `AdversarialTrainer`, and its virtual-batch-norm
/// hooks (`Options.generatorReferenceNoise`, `Options.discriminatorReference`).
@Suite("Feature matching")
struct FeatureMatchingTests {
    /// G: 2 -> 6 -> 2 (tanh); D: (m · 2) -> 8 -> 8 -> 1 with leaky ReLUs (5 layers, so L = 2 and 4
    /// end after a LeakyReLU). SGD so a step is easy to reason about.
    static func trainer(layer: Int?, pack: Int = 1, seed: UInt64 = 31, lr: Float = 0.05,
                        emaDecay: Float? = nil) throws -> AdversarialTrainer {
        var rng = RNG(seed: seed, stream: .initialization)
        let g = Sequential(Linear(2, 6, rng: &rng), Tanh(), Linear(6, 2, rng: &rng))
        let d = Sequential(Linear(2 * pack, 8, rng: &rng), LeakyReLU(alpha: 0.2),
                           Linear(8, 8, rng: &rng), LeakyReLU(alpha: 0.2), Linear(8, 1, rng: &rng))
        return try AdversarialTrainer(generator: g, discriminator: d, generatorOptimizer: .sgd(learningRate: .constant(lr)),
                                      discriminatorOptimizer: .sgd(learningRate: .constant(lr)), noiseDimension: 2,
                                      noiseRNG: RNG(seed: seed, stream: .noise),
                                      options: .init(pack: pack, featureMatchingLayer: layer, emaDecay: emaDecay,
                                                     emaWarmUp: emaDecay != nil))
    }

    /// mean_j (mean_i fake[i, j] - mean_i real[i, j])², directly in Double.
    static func directLoss(real: Tensor, fake: Tensor) -> Double {
        let f = real.columns
        var s = 0.0
        for j in 0..<f {
            let mr = (0..<real.rows).reduce(0.0) { $0 + Double(real[$1 * f + j]) } / Double(real.rows)
            let mf = (0..<fake.rows).reduce(0.0) { $0 + Double(fake[$1 * f + j]) } / Double(fake.rows)
            s += (mf - mr) * (mf - mr)
        }
        return s / Double(f)
    }

    @Test("Loss.featureMatching(realMean:) = featureMatching(real:fake:), gradient by central differences")
    func precomputedMeanLoss() {
        let real = randomTensor([5, 3, 2], seed: 41, mean: 0.5)  // F = 6 features per sample
        let fake = randomTensor([4, 3, 2], seed: 42)
        let mean = Tensor(shape: [0]), g = Tensor(shape: [0]), g2 = Tensor(shape: [0])
        Loss.columnMeans(real, into: mean)
        #expect(mean.count == 6)
        let loss = Loss.featureMatching(realMean: mean, fake: fake, gradient: g)
        let reference = Loss.featureMatching(real: real, fake: fake, gradient: g2)
        let direct = Self.directLoss(real: real, fake: fake)
        #expect(abs(Double(loss) - direct) <= 1e-6 * direct)
        #expect(abs(loss - reference) <= 1e-6 * reference)
        #expect(g.shape == fake.shape)
        #expect(closeness(g.array, g2.array, rtol: 1e-6, atol: 1e-9) <= 1)
        let check = functionGradientCheck(input: fake) { Loss.featureMatching(realMean: mean, fake: $0, gradient: $1) }
        #expect(check.worstError < gradientTolerance, "\(check)")
    }

    @Test("G's feature-matching loss equals a direct computation on D's features", arguments: [1, 2, 4, 5])
    func lossValue(_ layer: Int) throws {
        let t = try Self.trainer(layer: layer)
        let z = randomTensor([8, 2], seed: 5), real = randomTensor([6, 2], seed: 6, mean: 1)
        let loss = t.generatorGradients(noise: z, real: real, step: 0)
        let fake = t.generator.forward(z, training: true).clone()
        let fr = t.discriminator.forward(real, training: true, throughLayer: layer).clone()
        let ff = t.discriminator.forward(fake, training: true, throughLayer: layer).clone()
        let direct = Self.directLoss(real: fr, fake: ff)
        #expect(direct > 1e-4, "the test needs a non-trivial loss")
        #expect(abs(Double(loss) - direct) <= 1e-5 * direct, "loss \(loss) direct \(direct)")
    }

    /// dL_FM/dθ_G through D's first L layers (and packing) against central differences of the loss.
    @Test("feature-matching G gradient, end to end", arguments: [(2, 1), (4, 1), (5, 1), (2, 2), (4, 2)])
    func generatorGradientCheck(_ layer: Int, _ pack: Int) throws {
        let t = try Self.trainer(layer: layer, pack: pack)
        let z = randomTensor([8, 2], seed: 7), real = randomTensor([8, 2], seed: 8, mean: 1)
        t.generatorGradients(noise: z, real: real, step: 0)
        let analytic = t.generator.parameters.map { $0.gradient.clone() }
        var worst = 0.0, at = ""
        let h: Float = 1e-2
        for (p, grad) in zip(t.generator.parameters, analytic) {
            for i in 0..<p.value.count {
                let saved = p.value[i]
                p.value[i] = saved + h; let lp = Double(t.generatorGradients(noise: z, real: real, step: 0))
                p.value[i] = saved - h; let lm = Double(t.generatorGradients(noise: z, real: real, step: 0))
                p.value[i] = saved
                let num = (lp - lm) / (2 * Double(h)), ana = Double(grad[i])
                let err = abs(num - ana) / max(abs(num) + abs(ana), 1e-3)
                if err > worst { worst = err; at = "\(p.name)[\(i)] numeric \(num) analytic \(ana)" }
            }
        }
        #expect(worst < gradientTolerance, "worst relative error \(worst) at \(at)")
    }

    @Test("the FM G step leaves D's parameters and gradients untouched and moves G")
    func discriminatorFrozen() throws {
        let t = try Self.trainer(layer: 4)
        for (k, p) in t.discriminator.parameters.enumerated() { p.gradient.fill(Float(k) + 0.5) }
        let dValues = t.discriminator.parameters.map { $0.value.clone() }
        let dGrads = t.discriminator.parameters.map { $0.gradient.clone() }
        let gValues = t.generator.parameters.map { $0.value.clone() }
        let real = randomTensor([8, 2], seed: 9, mean: 1)
        let loss = t.generatorStep(batchSize: 8, real: real, step: 0)
        #expect(loss.isFinite && loss > 0)
        for (p, (v, g)) in zip(t.discriminator.parameters, zip(dValues, dGrads)) {
            #expect(p.value.bitwiseEqual(v), "D \(p.name) value")
            #expect(p.gradient.bitwiseEqual(g), "D \(p.name) gradient")
        }
        #expect(!zip(t.generator.parameters, gValues).allSatisfy { $0.value.bitwiseEqual($1) }, "G must move")
    }

    /// The G step's real batch is the one it is given: the same result whether the D step before
    /// it saw that batch or another one (the trainer keeps no copy of the D step's batch).
    @Test func theGeneratorStepUsesTheRealBatchItIsGiven() throws {
        let a = try Self.trainer(layer: 2), b = try Self.trainer(layer: 2)
        let real = randomTensor([8, 2], seed: 10, mean: 1), other = randomTensor([8, 2], seed: 11, mean: 1)
        a.discriminatorGradients(real: real, noise: randomTensor([8, 2], seed: 12))
        b.discriminatorGradients(real: other, noise: randomTensor([8, 2], seed: 12))
        let la = a.generatorStep(batchSize: 8, real: real, step: 0)
        let lb = b.generatorStep(batchSize: 8, real: real, step: 0)
        #expect(la == lb)
        for (p, q) in zip(a.generator.parameters, b.generator.parameters) { #expect(p.value.bitwiseEqual(q.value)) }
    }

    @Test func featureMatchingWithoutARealBatchIsRejected() async {
        await #expect(processExitsWith: .failure) {
            _ = try? FeatureMatchingTests.trainer(layer: 2).generatorStep(batchSize: 8, real: nil, step: 0)
        }
    }

    /// Feature matching alone (no D output in G's loss) pulls G's samples toward N(4, 0.5²) from
    /// G's initial samples near 0. D trains normally on the same problem.
    @Test func featureMatchingTrainingMovesTheMeanToTheData() throws {
        var initRNG = RNG(seed: 3, stream: .initialization)
        let g = mlp1D(&initRNG), d = mlp1D(&initRNG)
        let t = try AdversarialTrainer(generator: g, discriminator: d, generatorOptimizer: .adam(learningRate: 2e-3, beta1: 0.5),
                                       discriminatorOptimizer: .adam(learningRate: 2e-3, beta1: 0.5), noiseDimension: 1,
                                       noiseRNG: RNG(seed: 3, stream: .noise), options: .init(featureMatchingLayer: 4))
        var dataRNG = RNG(seed: 3, stream: .data)
        let real = Tensor(shape: [64, 1])
        func sampleMean() -> Double {
            var rng = RNG(seed: 77, stream: .eval)
            let z = Tensor(shape: [512, 1]); rng.fillNormal(z)
            let x = g.forward(z, training: false)
            return x.array.reduce(0.0) { $0 + Double($1) } / Double(x.count)
        }
        let before = sampleMean()
        var lastLoss: Float = 0
        for step in 0..<300 {
            dataRNG.fillNormal(real, mean: 4, std: 0.5)
            t.discriminatorStep(real: real, step: step)
            lastLoss = t.generatorStep(batchSize: 64, real: real, step: step)
        }
        let after = sampleMean()
        #expect(abs(before - 4) > 2, "G starts far from the data (mean \(before))")
        #expect(abs(after - 4) < 0.5, "G's sample mean \(after) (was \(before)), last FM loss \(lastLoss)")
        #expect(lastLoss.isFinite)
    }

    // MARK: - Virtual batch norm hooks

    /// Identity layer that counts how often the network turned reference recording on, and the
    /// batch sizes it saw while recording and otherwise.
    final class RecordingProbe: ReferenceBatchLayer, ElementwiseLayer {
        var kind: String { "probe" }
        var recordingReference = false {
            didSet { if recordingReference && !oldValue { recordings += 1 } }
        }
        var recordings = 0
        var referenceRows: [Int] = []
        var batchForwards = 0
        /// Number of batch forwards that were not preceded by a reference recording.
        var forwardsWithoutFreshReference = 0
        private var fresh = false

        func forward(_ x: Tensor, training: Bool) -> Tensor {
            if recordingReference {
                referenceRows.append(x.rows)
                fresh = true
            } else {
                batchForwards += 1
                if !fresh { forwardsWithoutFreshReference += 1 }
                fresh = false
            }
            return x
        }
        func backward(_ dy: Tensor, mode: BackwardMode) -> Tensor? { mode.contains(.inputGradient) ? dy : nil }
    }

    static func probedNetworks(pack: Int = 1) -> (Sequential, Sequential, RecordingProbe, RecordingProbe) {
        var rng = RNG(seed: 12, stream: .initialization)
        let gp = RecordingProbe(), dp = RecordingProbe()
        let g = Sequential(Linear(2, 6, rng: &rng), gp, Tanh(), Linear(6, 2, rng: &rng))
        let d = Sequential(Linear(2 * pack, 8, rng: &rng), dp, LeakyReLU(alpha: 0.2), Linear(8, 1, rng: &rng))
        return (g, d, gp, dp)
    }

    static func probedTrainer(layer: Int?, pack: Int = 1) throws -> (AdversarialTrainer, RecordingProbe, RecordingProbe) {
        let (g, d, gp, dp) = probedNetworks(pack: pack)
        let t = try AdversarialTrainer(generator: g, discriminator: d, generatorOptimizer: .sgd(learningRate: 0.01),
                                       discriminatorOptimizer: .sgd(learningRate: 0.01), noiseDimension: 2,
                                       noiseRNG: RNG(seed: 12, stream: .noise),
                                       options: .init(pack: pack, featureMatchingLayer: layer,
                                                      generatorReferenceNoise: randomTensor([10, 2], seed: 13),
                                                      discriminatorReference: randomTensor([6, 2], seed: 14)))
        return (t, gp, dp)
    }

    /// The trainer records G's reference once at construction (G can sample at once), then before
    /// every G and D forward of a batch.
    @Test("the reference batch is recorded before every G and D forward pass", arguments: [1, 2])
    func referenceBatchHooks(_ pack: Int) throws {
        let (t, gp, dp) = try Self.probedTrainer(layer: nil, pack: pack)
        #expect(t.generator.needsReferenceBatch && t.discriminator.needsReferenceBatch)
        #expect(gp.recordings == 1 && dp.recordings == 0, "G's reference is recorded at construction")
        let real = randomTensor([8, 2], seed: 15)
        t.discriminatorStep(real: real, step: 0)        // G forward; D real and fake forwards
        #expect(gp.recordings == 2 && dp.recordings == 2)
        t.generatorStep(batchSize: 8, real: real, step: 0)  // G forward; D forward
        #expect(gp.recordings == 3 && dp.recordings == 3)
        #expect(gp.referenceRows == [10, 10, 10])
        #expect(dp.referenceRows == [Int](repeating: 6 / pack, count: 3), "D's reference is packed like its inputs")
        #expect(gp.batchForwards == 2 && dp.batchForwards == 3)
        #expect(gp.forwardsWithoutFreshReference == 0 && dp.forwardsWithoutFreshReference == 0)
    }

    @Test func referenceBatchHooksWithFeatureMatching() throws {
        let (t, gp, dp) = try Self.probedTrainer(layer: 2)
        let real = randomTensor([8, 2], seed: 16)
        t.discriminatorStep(real: real, step: 0)
        t.generatorStep(batchSize: 8, real: real, step: 0)  // G forward; D real-feature and fake-feature forwards
        #expect(gp.recordings == 3 && dp.recordings == 4)
        #expect(gp.forwardsWithoutFreshReference == 0 && dp.forwardsWithoutFreshReference == 0)
    }

    // MARK: - Allocations

    /// Zero heap allocations per FM training iteration (D step, G step, weight-average update) once
    /// warm. Needs an allocation counter and a release build (debug builds allocate in the existing steps
    /// too): `swift build -c release --build-tests -Xswiftc -enable-testing`, then run the test binary with
    /// `LD_PRELOAD=<malloc_count.so built from Sources/CMallocCount/malloc_count.c>`; skipped otherwise.
    @Test(.enabled(if: mallocCounter != nil && !debugBuild, "needs a release build and LD_PRELOAD of a malloc_count.so"))
    func noAllocationsPerStep() throws {
        let count = try #require(mallocCounter)
        let t = try Self.trainer(layer: 2, pack: 2, emaDecay: 0.9)  // (the probes record into growing arrays)
        let real = randomTensor([8, 2], seed: 17)
        func iteration() {
            t.discriminatorStep(real: real, step: 0)
            t.generatorStep(batchSize: 8, real: real, step: 0)
        }
        for _ in 0..<3 { iteration() }
        // The counter is process-wide and other tests may run in parallel: a per-step allocation
        // shows in every window, another thread's only in some, so take the quietest window.
        var fewest = Int.max
        for _ in 0..<20 {
            let before = count()
            iteration()
            fewest = min(fewest, count() - before)
        }
        #expect(fewest == 0, "at least \(fewest) allocations per iteration")
    }
}

/// Debug builds allocate in unspecialised generic code, so allocation counts mean something only in release.
#if DEBUG
let debugBuild = true
#else
let debugBuild = false
#endif

/// `malloc_count_total` from an LD_PRELOADed malloc_count.so, if present.
let mallocCounter: (@convention(c) () -> Int)? = {
    #if canImport(Glibc)
    guard let symbol = dlsym(nil, "malloc_count_total") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) () -> Int).self)
    #else
    return nil
    #endif
}()
