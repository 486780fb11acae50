import CBLAS
import Foundation
import GANNN

/// The Fréchet distance between two Gaussians fitted to feature sets (Dowson & Landau 1982; as
/// the FID of Heusel et al. 2017, "GANs trained by a two time-scale update rule converge to a
/// local Nash equilibrium", with our classifier's features in place of Inception-v3's):
///
///     FD = |μ1 - μ2|² + tr(Σ1 + Σ2 - 2 (Σ1 Σ2)^{1/2})
///
/// Means and covariances (unbiased, `np.cov(rowvar=False)`) are accumulated in Double. The trace
/// of the matrix square root uses symmetric eigendecompositions only, which stay stable for
/// singular covariances (dead ReLU features) where pytorch-fid's `scipy.linalg.sqrtm` needs an
/// ε-offset retry: with S = Σ1^{1/2} (from eigh(Σ1), negative round-off eigenvalues clipped to 0),
/// Σ1 Σ2 is similar to the symmetric PSD matrix S Σ2 S, so
/// tr (Σ1 Σ2)^{1/2} = Σ_i sqrt(max(λ_i(S Σ2 S), 0)).
public enum FrechetDistance {
    /// The distance between the Gaussians of two feature sets `[N, D]` (N >= 2).
    public static func distance(_ a: Tensor, _ b: Tensor) throws -> Double {
        try distance(FeatureStatistics(features: a), FeatureStatistics(features: b))
    }

    /// The distance between two Gaussians. Round-off can make the exact value 0 come out a tiny
    /// negative number; the result is clamped at 0.
    public static func distance(_ s1: FeatureStatistics, _ s2: FeatureStatistics) throws -> Double {
        try components(s1, s2).distance
    }

    /// The terms of the distance: `meanTerm` = |μ1 - μ2|², `traceTerm` = tr Σ1 + tr Σ2 - 2 tr (Σ1 Σ2)^{1/2}.
    public static func components(_ s1: FeatureStatistics, _ s2: FeatureStatistics) throws
        -> (distance: Double, meanTerm: Double, traceTerm: Double) {
        let d = s1.dimension
        guard s2.dimension == d else {
            throw EvalError(.invalidInput, "-", "Fréchet distance: feature dimensions differ (\(d) vs \(s2.dimension))")
        }
        var meanTerm = 0.0
        for i in 0..<d { let e = s1.mean[i] - s2.mean[i]; meanTerm += e * e }
        var trace1 = 0.0, trace2 = 0.0
        for i in 0..<d { trace1 += s1.covariance[i * d + i]; trace2 += s2.covariance[i * d + i] }
        let traceTerm = trace1 + trace2 - 2 * (try traceOfSquareRootOfProduct(s1.covariance, s2.covariance, n: d))
        return (max(meanTerm + traceTerm, 0), meanTerm, traceTerm)
    }

    /// tr (A B)^{1/2} for symmetric PSD A, B (n x n).
    public static func traceOfSquareRootOfProduct(_ a: [Double], _ b: [Double], n: Int) throws -> Double {
        if n == 0 { return 0 }
        let (lambda, v) = try SymmetricEigen.decompose(a, n: n, vectors: true)
        // S = V diag(sqrt λ) Vᵀ. With the eigenvectors as rows of `v` (V = vᵀ): S = vᵀ diag vᵢ.
        var scaled = v  // row j scaled by sqrt(λ_j)
        for j in 0..<n {
            let r = max(lambda[j], 0).squareRoot()
            for i in 0..<n { scaled[j * n + i] *= r }
        }
        var s = [Double](repeating: 0, count: n * n)
        var t = [Double](repeating: 0, count: n * n)
        let nn = Int32(n)
        // S = vᵀ · scaled (only the square roots enter, so S is exactly symmetric up to round-off).
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nn, nn, nn, 1, v, nn, scaled, nn, 0, &s, nn)
        // T = S B, M = T S
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nn, nn, nn, 1, s, nn, b, nn, 0, &t, nn)
        var m = [Double](repeating: 0, count: n * n)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nn, nn, nn, 1, t, nn, s, nn, 0, &m, nn)
        for i in 0..<n {  // symmetrise away the round-off
            for j in (i + 1)..<max(n, i + 1) {
                let avg = 0.5 * (m[i * n + j] + m[j * n + i])
                m[i * n + j] = avg
                m[j * n + i] = avg
            }
        }
        let mu = try SymmetricEigen.decompose(m, n: n, vectors: false).values
        return mu.reduce(0.0) { $0 + max($1, 0).squareRoot() }
    }
}

/// Mean and covariance of a feature set, in Double: the sufficient statistics of the Fréchet
/// distance (cache the real data's once).
public struct FeatureStatistics: Sendable, Equatable {
    public let count: Int
    public let dimension: Int
    public let mean: [Double]
    /// `[D, D]` row-major, unbiased (divided by N - 1, as `np.cov`).
    public let covariance: [Double]

    public init(mean: [Double], covariance: [Double], count: Int) {
        precondition(covariance.count == mean.count * mean.count, "FeatureStatistics: covariance is not D x D")
        self.mean = mean
        self.covariance = covariance
        self.count = count
        dimension = mean.count
    }

    /// Statistics of `features` (`[N, D]`, N >= 2).
    public init(features: Tensor) {
        self.init(features: features.data, count: features.rows, dimension: features.columns)
    }

    public init(features x: UnsafePointer<Float>, count n: Int, dimension d: Int) {
        precondition(n >= 2 && d >= 1, "FeatureStatistics needs at least 2 samples of dimension >= 1 (got \(n) x \(d))")
        var mu = [Double](repeating: 0, count: d)
        for r in 0..<n {
            let row = x + r * d
            for j in 0..<d { mu[j] += Double(row[j]) }
        }
        for j in 0..<d { mu[j] /= Double(n) }
        // Σ = Xcᵀ Xc / (n - 1), centred rows converted to Double in blocks, upper triangle by dsyrk.
        var cov = [Double](repeating: 0, count: d * d)
        let block = max(1, min(n, (1 << 21) / d))
        var xc = [Double](repeating: 0, count: block * d)
        var lo = 0
        while lo < n {
            let m = min(block, n - lo)
            for r in 0..<m {
                let row = x + (lo + r) * d
                for j in 0..<d { xc[r * d + j] = Double(row[j]) - mu[j] }
            }
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(d), Int32(m), 1 / Double(n - 1),
                        xc, Int32(d), lo == 0 ? 0 : 1, &cov, Int32(d))
            lo += m
        }
        for i in 0..<d { for j in 0..<i { cov[i * d + j] = cov[j * d + i] } }
        self.init(mean: mu, covariance: cov, count: n)
    }
}
