import CMathShim
import Foundation
import Testing
@testable import GANNN
import GANTestSupport
@_spi(Testing) import GANTensor

/// Double reference helpers.
private func sigmoidD(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
private func meanD(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }

@Suite("Losses: values and gradients")
struct LossTests {
    let logits = randomTensor([4, 3], seed: 31, std: 2)

    func expectGradient(_ x: Tensor, _ label: String, _ f: (Tensor, Tensor) -> Float) {
        let r = functionGradientCheck(input: x.clone(), f)
        #expect(r.worstError < gradientTolerance, "\(label): \(r)")
    }

    @Test("sigmoidCrossEntropy: value, gradient", arguments: [Float(1), 0.9, 0])
    func sigmoidCrossEntropy(target: Float) {
        let l = logits, g = Tensor(shape: [0])
        let loss = Loss.sigmoidCrossEntropy(logits: l, target: target, gradient: g)
        let t = Double(target)
        let ref = meanD(l.array.map { let s = sigmoidD(Double($0)); return -t * log(s) - (1 - t) * log(1 - s) })
        #expect(abs(Double(loss) - ref) <= 1e-6 * abs(ref), "loss \(loss) reference \(ref)")
        #expect(g.shape == l.shape)
        #expect(closeness(g.array, l.array.map { Float((sigmoidD(Double($0)) - t) / 12) }, rtol: 1e-5, atol: 1e-8) <= 1)
        expectGradient(l, "bce t=\(target)") { Loss.sigmoidCrossEntropy(logits: $0, target: target, gradient: $1) }
    }

    @Test("generatorMinimax = mean log(1 - σ(l)): value, gradient")
    func generatorMinimax() {
        let l = logits, g = Tensor(shape: [0])
        let loss = Loss.generatorMinimax(logits: l, gradient: g)
        let ref = meanD(l.array.map { log(1 - sigmoidD(Double($0))) })
        #expect(abs(Double(loss) - ref) <= 1e-6 * abs(ref))
        expectGradient(l, "minimax") { Loss.generatorMinimax(logits: $0, gradient: $1) }
    }

    @Test("generatorNonSaturating = -mean log σ(l): value, gradient")
    func generatorNonSaturating() {
        let l = logits, g = Tensor(shape: [0])
        let loss = Loss.generatorNonSaturating(logits: l, gradient: g)
        let ref = meanD(l.array.map { -log(sigmoidD(Double($0))) })
        #expect(abs(Double(loss) - ref) <= 1e-6 * abs(ref))
        expectGradient(l, "non-saturating") { Loss.generatorNonSaturating(logits: $0, gradient: $1) }
    }

    @Test("signedMean: value, gradient", arguments: [Float(1), -1])
    func signedMean(sign: Float) {
        let v = logits, g = Tensor(shape: [0])
        let loss = Loss.signedMean(v, sign: sign, gradient: g)
        let ref = Double(sign) * meanD(v.array.map(Double.init))
        #expect(abs(Double(loss) - ref) <= 1e-6 * max(abs(ref), 1e-3))
        #expect(g.array == [Float](repeating: sign / 12, count: 12))
        expectGradient(v, "signedMean \(sign)") { Loss.signedMean($0, sign: sign, gradient: $1) }
    }

    @Test("featureMatching = mean_j (mean fake[:, j] - mean real[:, j])²: value, gradient w.r.t. fake")
    func featureMatching() {
        let real = randomTensor([5, 3], seed: 32, mean: 0.5)
        let fake = randomTensor([4, 3], seed: 33)
        let g = Tensor(shape: [0])
        let loss = Loss.featureMatching(real: real, fake: fake, gradient: g)
        var ref = 0.0
        for j in 0..<3 {
            let mr = meanD((0..<5).map { Double(real[$0 * 3 + j]) })
            let mf = meanD((0..<4).map { Double(fake[$0 * 3 + j]) })
            ref += (mf - mr) * (mf - mr) / 3
        }
        #expect(abs(Double(loss) - ref) <= 1e-6 * abs(ref))
        #expect(g.shape == fake.shape)
        expectGradient(fake, "featureMatching") { Loss.featureMatching(real: real, fake: $0, gradient: $1) }
        // Identical batch statistics: zero loss and gradient.
        #expect(Loss.featureMatching(real: fake, fake: fake, gradient: g) == 0)
        #expect(g.array.allSatisfy { $0 == 0 })
    }

    @Test("meanSquaredError: value, gradient")
    func meanSquaredError() {
        let p = randomTensor([3, 4], seed: 34), t = randomTensor([3, 4], seed: 35)
        let g = Tensor(shape: [0])
        let loss = Loss.meanSquaredError(prediction: p, target: t, gradient: g)
        let ref = meanD(zip(p.array, t.array).map { pow(Double($0) - Double($1), 2) })
        #expect(abs(Double(loss) - ref) <= 1e-6 * abs(ref))
        expectGradient(p, "mse") { Loss.meanSquaredError(prediction: $0, target: t, gradient: $1) }
    }

    @Test("meanProbability is mean σ(l)")
    func meanProbability() {
        let ref = meanD(logits.array.map { sigmoidD(Double($0)) })
        #expect(abs(Double(Loss.meanProbability(logits)) - ref) < 1e-6)
    }

    /// Logits of ±100 (and ±1000): finite values and the asymptotes. For a single logit the loss is
    /// the element's value: softplus(l) - t·l → 0 or |l|·(...) linearly, gradient → σ(l) - t ∈ {-t, 1-t}.
    @Test("numerical stability at extreme logits")
    func stability() {
        let g = Tensor(shape: [0])
        func one(_ l: Float, _ f: (Tensor, Tensor) -> Float) -> (Float, Float) {
            let loss = f(Tensor(shape: [1], values: [l]), g)
            return (loss, g[0])
        }
        func expectClose(_ got: (Float, Float), _ want: (Double, Double), _ label: String) {
            #expect(got.0.isFinite && got.1.isFinite, "\(label) \(got)")
            #expect(abs(Double(got.0) - want.0) <= 1e-6 * max(1, abs(want.0)), "\(label) loss \(got.0) want \(want.0)")
            #expect(abs(Double(got.1) - want.1) <= 1e-6, "\(label) gradient \(got.1) want \(want.1)")
        }
        for big: Float in [100, 1000] {
            let b = Double(big)
            // D on real data (t = 1): confident right → 0, confident wrong → |l|.
            expectClose(one(big) { Loss.sigmoidCrossEntropy(logits: $0, target: 1, gradient: $1) }, (0, 0), "bce1 +\(big)")
            expectClose(one(-big) { Loss.sigmoidCrossEntropy(logits: $0, target: 1, gradient: $1) }, (b, -1), "bce1 -\(big)")
            // D on fake data (t = 0).
            expectClose(one(big) { Loss.sigmoidCrossEntropy(logits: $0, target: 0, gradient: $1) }, (b, 1), "bce0 +\(big)")
            expectClose(one(-big) { Loss.sigmoidCrossEntropy(logits: $0, target: 0, gradient: $1) }, (0, 0), "bce0 -\(big)")
            // One-sided label smoothing (t = 0.9): softplus(l) - 0.9 l → 0.1 l or 0.9 |l|.
            expectClose(one(big) { Loss.sigmoidCrossEntropy(logits: $0, target: 0.9, gradient: $1) }, (0.1 * b, 0.1), "bce.9 +\(big)")
            expectClose(one(-big) { Loss.sigmoidCrossEntropy(logits: $0, target: 0.9, gradient: $1) }, (0.9 * b, -0.9), "bce.9 -\(big)")
            // Minimax G: saturates (zero gradient) when D rejects the fake (l → -∞).
            expectClose(one(-big) { Loss.generatorMinimax(logits: $0, gradient: $1) }, (0, 0), "minimax -\(big)")
            expectClose(one(big) { Loss.generatorMinimax(logits: $0, gradient: $1) }, (-b, -1), "minimax +\(big)")
            // Non-saturating G: full gradient exactly where minimax saturates.
            expectClose(one(-big) { Loss.generatorNonSaturating(logits: $0, gradient: $1) }, (b, -1), "nonsat -\(big)")
            expectClose(one(big) { Loss.generatorNonSaturating(logits: $0, gradient: $1) }, (0, 0), "nonsat +\(big)")
        }
        #expect(Loss.meanProbability(Tensor(shape: [2], values: [-1000, 1000])) == 0.5)
    }
}

/// `Loss.sigmoidCrossEntropy`'s C pass (CMathShim/softplus.c), its AVX-512 copy (isa 2) and its
/// AVX2 copy (isa 1), each where the CPU has it, against the Swift loop: the same gradients, loss
/// and mean probability, bit for bit, over every tail length and the edges of exp's clamp, log1p's
/// two branches, ±0, ±inf and NaN.
@Test(arguments: [Float(1), 0.9, 0], [Int32(2), 1])
func sigmoidCrossEntropyVectorisedIsTheSwiftLoop(target: Float, isa: Int32) {
    guard isa <= gan_simd16_cpu_isa() else { return }   // a copy this CPU cannot run
    var rng = RNG(seed: 41)
    var logits: [Float] = [0, -0, .infinity, -.infinity, 87.33, -87.33, 88.37626, -88.37626, 100, -100, 1e-30, -1e-30,
                           0.8813736, -0.8813736, 0.88137364, -0.88137364, 3e38, -3e38, 1, -1]
    for _ in 0..<4000 { logits.append(rng.normal() * 6) }
    for _ in 0..<500 { logits.append(rng.normal() * 60) }
    for n in [0, 1, 7, 15, 16, 17, 31, 100, 129, logits.count] {
        var g = [Float](repeating: .nan, count: max(n, 1)), g1 = g
        let r = Loss.sigmoidCrossEntropyVectorised(logits, count: n, target: target, gradient: &g, isa: isa)
        let r1 = Loss.sigmoidCrossEntropyPortable(logits, count: n, target: target, gradient: &g1)
        #expect(r.loss.bitPattern == r1.loss.bitPattern && r.meanProbability.bitPattern == r1.meanProbability.bitPattern,
                "\(n) logits: \(r) against \(r1)")
        #expect(g.map(\.bitPattern) == g1.map(\.bitPattern), "\(n) logits: gradients")
    }
    // One logit at a time: its loss is its own term (with target 0 and a negative logit exactly
    // log1p(e^l)), so no sum hides a last-bit difference of one term.
    for i in 0..<1500 {
        var g: Float = 0, g1: Float = 0
        let r = Loss.sigmoidCrossEntropyVectorised([logits[i]], count: 1, target: target, gradient: &g, isa: isa)
        let r1 = Loss.sigmoidCrossEntropyPortable([logits[i]], count: 1, target: target, gradient: &g1)
        #expect(r.loss.bitPattern == r1.loss.bitPattern && r.meanProbability.bitPattern == r1.meanProbability.bitPattern
                && g.bitPattern == g1.bitPattern, "logit \(logits[i])")
    }
    // A NaN logit gives a NaN loss and a NaN gradient there, as in Swift.
    var g = [Float](repeating: 0, count: 3)
    let r = Loss.sigmoidCrossEntropyVectorised([1, .nan, -1], count: 3, target: target, gradient: &g, isa: isa)
    #expect(r.loss.isNaN && g[1].isNaN && !g[0].isNaN && !g[2].isNaN)
}

/// D's real and fake halves in one pass (`Loss.sigmoidCrossEntropy(_:count:target:count:target:gradient:)`,
/// what a stacked D step calls): the bits of the Swift loop run on each half, for halves of equal
/// and unequal lengths, either one empty, in every copy this CPU has.
@Test(arguments: [Int32(2), 1])
func bothHalvesInOnePassAreTwoCalls(isa: Int32) {
    guard isa <= gan_simd16_cpu_isa() else { return }
    var rng = RNG(seed: 43)
    let logits = (0..<300).map { _ in rng.normal() * 5 }
    for (n1, n2) in [(100, 100), (16, 17), (37, 5), (0, 9), (9, 0), (150, 150), (1, 1)] {
        var g = [Float](repeating: .nan, count: n1 + n2), g1 = g
        let (r, f) = Loss.sigmoidCrossEntropyVectorised(logits, count: n1, target: 0.9, count: n2, target: 0, gradient: &g, isa: isa)
        let r1 = Loss.sigmoidCrossEntropyPortable(logits, count: n1, target: 0.9, gradient: &g1)
        let f1 = g1.withUnsafeMutableBufferPointer { gp in
            Loss.sigmoidCrossEntropyPortable(Array(logits[n1...]), count: n2, target: 0, gradient: gp.baseAddress! + n1)
        }
        let same = [r.loss, r.meanProbability, f.loss, f.meanProbability].map(\.bitPattern)
            == [r1.loss, r1.meanProbability, f1.loss, f1.meanProbability].map(\.bitPattern)
        #expect(same, "\(n1) + \(n2) logits: \(r), \(f) against \(r1), \(f1)")
        #expect(g.map(\.bitPattern) == g1.map(\.bitPattern), "\(n1) + \(n2) logits: gradients")
    }
}
