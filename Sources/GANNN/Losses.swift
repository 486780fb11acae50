import CMathShim
import Foundation

/// Losses on D's logits (or a WGAN critic's raw values). Each returns the loss and writes
/// dLoss/dInput into `gradient` (resized to the input's shape). Means are over all elements,
/// like PyTorch's default `reduction="mean"`; sums are accumulated in Double.
///
/// Numerically stable forms: softplus(x) = max(x, 0) + log1p(exp(-|x|)).
public enum Loss {
    /// Runs `body(i, x, tail, σ)` for every logit, where softplus(x) = max(x, 0) + tail: the
    /// exp and log of each chunk of 128 logits are computed first in one vectorised pass
    /// (`Kernels.softplusTerms`, one exp per logit), so that only the Double sums stay serial.
    @inline(__always)
    static func forEachSoftplus(_ l: UnsafePointer<Float>, count n: Int, _ body: (Int, Float, Float, Float) -> Void) {
        // 2 x 128 floats = 1 KiB: small enough to stay on the stack (no heap allocation per call).
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 256) { buffer in
            let tail = buffer.baseAddress!, sig = tail + 128
            var start = 0
            while start < n {
                let c = min(128, n - start)
                Kernels.softplusTerms(l + start, count: c, softplusTail: tail, sigmoid: sig)
                for j in 0..<c { body(start + j, l[start + j], tail[j], sig[j]) }
                start += c
            }
        }
    }

    /// Binary cross-entropy with logits against one target for every element:
    /// mean of `softplus(l) - t·l` (= -t·log σ(l) - (1-t)·log(1-σ(l))). Gradient `(σ(l) - t) / n`.
    /// D's loss is this with t = 1 (or a smoothed 0.9, one-sided label smoothing) on real logits
    /// plus t = 0 on fake logits.
    public static func sigmoidCrossEntropy(logits: Tensor, target: Float, gradient: Tensor) -> Float {
        gradient.resize(logits.shape)
        return sigmoidCrossEntropy(logits.data, count: logits.count, target: target, gradient: gradient.data).loss
    }

    /// `sigmoidCrossEntropy(logits:target:gradient:)` on `n` logits at `l`, gradients to `g`; also
    /// returns `meanProbability` of the logits (mean σ, from the same exps).
    public static func sigmoidCrossEntropy(_ l: UnsafePointer<Float>, count n: Int, target: Float,
                                           gradient g: UnsafeMutablePointer<Float>) -> (loss: Float, meanProbability: Float) {
        guard vectorised else { return sigmoidCrossEntropyPortable(l, count: n, target: target, gradient: g) }
        return sigmoidCrossEntropyVectorised(l, count: n, target: target, gradient: g, isa: isa)
    }

    /// Whether `sigmoidCrossEntropy` runs in CMathShim's C (softplus.c: the same floats and the same
    /// Double sums, sixteen logits per step): on CPUs with AVX-512 F or AVX2, in the copy `isa`
    /// (`gan_simd16_isa()`: 2 AVX-512, 1 AVX2, 0 none; SWIFTGAN_SIMD=avx2 forces the AVX2 copy).
    static let isa = gan_simd16_isa()
    static let vectorised = isa != 0

    /// `sigmoidCrossEntropy` in softplus.c's copy `isa` (2 AVX-512, 1 AVX2: one the CPU has).
    static func sigmoidCrossEntropyVectorised(_ l: UnsafePointer<Float>, count n: Int, target: Float,
                                              gradient g: UnsafeMutablePointer<Float>,
                                              isa: Int32) -> (loss: Float, meanProbability: Float) {
        sigmoidCrossEntropyVectorised(l, count: n, target: target, count: 0, target: 0, gradient: g, isa: isa).0
    }

    /// `sigmoidCrossEntropy` of the n1 logits at l against t1 and of the n2 after them against t2
    /// (each run its own mean, gradients likewise after each other in g), in one pass whose four
    /// Double sums overlap: the bits of two calls. D's real and fake halves of a stacked batch.
    static func sigmoidCrossEntropy(_ l: UnsafePointer<Float>, count n1: Int, target t1: Float, count n2: Int,
                                    target t2: Float, gradient g: UnsafeMutablePointer<Float>)
        -> ((loss: Float, meanProbability: Float), (loss: Float, meanProbability: Float)) {
        guard vectorised else {
            return (sigmoidCrossEntropyPortable(l, count: n1, target: t1, gradient: g),
                    sigmoidCrossEntropyPortable(l + n1, count: n2, target: t2, gradient: g + n1))
        }
        return sigmoidCrossEntropyVectorised(l, count: n1, target: t1, count: n2, target: t2, gradient: g, isa: isa)
    }

    static func sigmoidCrossEntropyVectorised(_ l: UnsafePointer<Float>, count n1: Int, target t1: Float, count n2: Int,
                                              target t2: Float, gradient g: UnsafeMutablePointer<Float>, isa: Int32)
        -> ((loss: Float, meanProbability: Float), (loss: Float, meanProbability: Float)) {
        var sums = (0.0, 0.0, 0.0, 0.0)
        withUnsafeMutableBytes(of: &sums) { raw in
            gan_sigmoid_cross_entropy(isa, l, n1, t1, 1 / Float(max(n1, 1)), n2, t2, 1 / Float(max(n2, 1)), g,
                                      raw.baseAddress!.assumingMemoryBound(to: Double.self))
        }
        let d1 = Double(max(n1, 1)), d2 = Double(max(n2, 1))
        return ((Float(sums.0 / d1), Float(sums.1 / d1)), (Float(sums.2 / d2), Float(sums.3 / d2)))
    }

    /// `sigmoidCrossEntropy` in Swift (the terms eight lanes wide, then the sums), whatever the CPU.
    static func sigmoidCrossEntropyPortable(_ l: UnsafePointer<Float>, count n: Int, target: Float,
                                            gradient g: UnsafeMutablePointer<Float>) -> (loss: Float, meanProbability: Float) {
        let scale = 1 / Float(max(n, 1)), t = Double(target)
        var s = 0.0, p = 0.0
        forEachSoftplus(l, count: n) { i, x, tail, sig in
            s += Double(max(x, 0)) + Double(tail) - t * Double(x)
            p += Double(sig)
            g[i] = (sig - target) * scale
        }
        return (Float(s / Double(max(n, 1))), Float(p / Double(max(n, 1))))
    }

    /// The generator's minimax loss of Goodfellow et al. 2014, `mean log(1 - D(G(z)))`
    /// = -mean softplus(l). Gradient `-σ(l) / n`. (Saturates when D rejects the samples.)
    public static func generatorMinimax(logits: Tensor, gradient: Tensor) -> Float {
        meanOfSoftplusTerms(logits, gradient) { x, tail, sig, scale in
            (-(Double(max(x, 0)) + Double(tail)), -sig * scale)
        }
    }

    /// The non-saturating generator loss, `-mean log D(G(z))` = mean softplus(-l).
    /// Gradient `(σ(l) - 1) / n`.
    public static func generatorNonSaturating(logits: Tensor, gradient: Tensor) -> Float {
        meanOfSoftplusTerms(logits, gradient) { x, tail, sig, scale in
            (Double(max(x, 0)) + Double(tail) - Double(x), (sig - 1) * scale)   // softplus(-l) = softplus(l) - l
        }
    }

    /// The mean over the logits of the first value `term(x, tail, σ, 1/n)` gives (summed in Double;
    /// softplus(x) = max(x, 0) + tail), the second being dLoss/dx, written to `gradient` (resized
    /// to the logits' shape).
    @inline(__always)
    private static func meanOfSoftplusTerms(_ logits: Tensor, _ gradient: Tensor,
                                            _ term: (Float, Float, Float, Float) -> (Double, Float)) -> Float {
        let n = logits.count
        gradient.resize(logits.shape)
        let g = gradient.data, scale = 1 / Float(max(n, 1))
        var s = 0.0
        forEachSoftplus(logits.data, count: n) { i, x, tail, sig in
            let (value, grad) = term(x, tail, sig, scale)
            s += value
            g[i] = grad
        }
        return Float(s / Double(max(n, 1)))
    }

    /// `sign · mean(values)`, gradient `sign / n`: the WGAN terms (Arjovsky et al. 2017).
    /// Critic loss = signedMean(f(x), -1) + signedMean(f(G(z)), +1); generator loss =
    /// signedMean(f(G(z)), -1).
    public static func signedMean(_ values: Tensor, sign: Float, gradient: Tensor) -> Float {
        gradient.resize(values.shape)
        return signedMean(values.data, count: values.count, sign: sign, gradient: gradient.data)
    }

    /// `signedMean(_:sign:gradient:)` on `n` values at `v`, gradients to `g`.
    public static func signedMean(_ v: UnsafePointer<Float>, count n: Int, sign: Float,
                                  gradient g: UnsafeMutablePointer<Float>) -> Float {
        g.update(repeating: sign / Float(max(n, 1)), count: n)
        return sign * Float(Kernels.mean(v, count: n))
    }

    /// Feature matching (Salimans et al. 2016): mean over the F features of
    /// `(mean_batch fake[:, j] - mean_batch real[:, j])²` (PyTorch: `mse_loss(fake.mean(0), real.mean(0))`).
    /// Gradient with respect to `fake` only (real features are a constant target):
    /// `2 (μ_fake[j] - μ_real[j]) / (F · N_fake)` on every row.
    public static func featureMatching(real: Tensor, fake: Tensor, gradient: Tensor) -> Float {
        let f = fake.columns, nf = fake.rows, nr = real.rows
        precondition(real.columns == f, "featureMatching: real has \(real.columns) features, fake \(f)")
        gradient.resize(fake.shape)
        var diff = [Double](repeating: 0, count: f)
        for r in 0..<nr { let row = real.data + r * f; for j in 0..<f { diff[j] -= Double(row[j]) } }
        for j in 0..<f { diff[j] /= Double(max(nr, 1)) }
        var fakeMean = [Double](repeating: 0, count: f)
        for r in 0..<nf { let row = fake.data + r * f; for j in 0..<f { fakeMean[j] += Double(row[j]) } }
        var s = 0.0
        var rowGrad = [Float](repeating: 0, count: f)
        for j in 0..<f {
            diff[j] += fakeMean[j] / Double(max(nf, 1))
            s += diff[j] * diff[j]
            rowGrad[j] = Float(2 * diff[j] / Double(f * max(nf, 1)))
        }
        rowGrad.withUnsafeBufferPointer { src in
            for r in 0..<nf { (gradient.data + r * f).update(from: src.baseAddress!, count: f) }
        }
        return Float(s / Double(max(f, 1)))
    }

    /// Per-feature batch means: `mean[j] = (1/N) Σ_i x[i, j]` for `x` viewed as `[N, F]`
    /// (F = `x.columns`, e.g. C·H·W), accumulated in Double and rounded once. `mean` is resized to
    /// `[F]`; no allocation once it has the capacity. The real side of feature matching.
    public static func columnMeans(_ x: Tensor, into mean: Tensor) {
        let n = x.rows, f = x.columns
        mean.resize(rows: 1, columns: f)
        let src = x.data, dst = mean.data
        for j in 0..<f {
            var s = 0.0
            for r in 0..<n { s += Double(src[r * f + j]) }
            dst[j] = Float(s / Double(max(n, 1)))
        }
    }

    /// Feature matching (Salimans et al. 2016 §3.1) against precomputed real feature means
    /// (`columnMeans`, shape `[1, F]` or `[F]`): `(1/F) Σ_j (μ_fake[j] - realMean[j])²`, the mean of
    /// squared differences as in the authors' code (`T.mean(T.square(m1 - m2))`) and
    /// `featureMatching(real:fake:gradient:)`. Gradient with respect to `fake` (resized to its
    /// shape), the same on every row: `2 (μ_fake[j] - realMean[j]) / (F · N_fake)`. Allocation-free
    /// (the trainer's per-step form); sums in Double.
    public static func featureMatching(realMean: Tensor, fake: Tensor, gradient: Tensor) -> Float {
        let f = fake.columns, nf = fake.rows
        precondition(realMean.count == f, "featureMatching: real mean has \(realMean.count) features, fake \(f)")
        gradient.resize(fake.shape)
        let x = fake.data, m = realMean.data, g = gradient.data
        let scale = 2 / Double(max(f, 1) * max(nf, 1))
        var s = 0.0
        for j in 0..<f {
            var sum = 0.0
            for r in 0..<nf { sum += Double(x[r * f + j]) }
            let d = sum / Double(max(nf, 1)) - Double(m[j])
            s += d * d
            if nf > 0 { g[j] = Float(d * scale) }  // row 0; copied to the other rows below
        }
        for r in 1..<max(nf, 1) { (g + r * f).update(from: g, count: f) }
        return Float(s / Double(max(f, 1)))
    }

    /// Mean squared error `mean (p - t)²`, gradient `2 (p - t) / n`.
    public static func meanSquaredError(prediction: Tensor, target: Tensor, gradient: Tensor) -> Float {
        meanSquare(prediction, target, gradient, "meanSquaredError") { p, t, scale in
            let d = p - t
            return (d, d * scale)
        }
    }

    /// `mean (σ(l) - t)²` with gradient `2 (σ(l) - t) σ(l) (1 - σ(l)) / n`: regression of D's
    /// probability onto targets (the 1-D system pretrains D onto the data pdf this way).
    public static func sigmoidMeanSquaredError(logits: Tensor, targets: Tensor, gradient: Tensor) -> Float {
        meanSquare(logits, targets, gradient, "sigmoidMeanSquaredError") { l, t, scale in
            let p = Kernels.sigmoid(l), d = p - t
            return (d, scale * d * p * (1 - p))
        }
    }

    /// The loop of the squared errors: `mean d²` over the elements of `x` against `targets`, with
    /// (d, dLoss/dx) = `term(x_i, t_i, 2 / n)`; the sum in Double, `gradient` resized to `x`'s shape.
    @inline(__always)
    private static func meanSquare(_ x: Tensor, _ targets: Tensor, _ gradient: Tensor, _ name: String,
                                   _ term: (Float, Float, Float) -> (Float, Float)) -> Float {
        precondition(x.count == targets.count, "\(name): \(x.shape) vs \(targets.shape)")
        let n = x.count
        gradient.resize(x.shape)
        let xp = x.data, t = targets.data, g = gradient.data, scale = 2 / Float(max(n, 1))
        var s = 0.0
        for i in 0..<n {
            let (d, gi) = term(xp[i], t[i], scale)
            s += Double(d) * Double(d)
            g[i] = gi
        }
        return Float(s / Double(max(n, 1)))
    }

    /// Mean of σ(logits) accumulated in Double: mean D(x) as a probability.
    public static func meanProbability(_ logits: Tensor) -> Float {
        var s = 0.0
        for i in 0..<logits.count { s += Double(Kernels.sigmoid(logits[i])) }
        return Float(s / Double(max(logits.count, 1)))
    }
}
