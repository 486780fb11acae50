import Foundation

/// Evaluation metrics of generated samples against the toy targets. All in Double.
public enum SampleMetrics {
    public static func mean(_ x: [Float]) -> Double {
        x.isEmpty ? .nan : x.reduce(0.0) { $0 + Double($1) } / Double(x.count)
    }

    /// Sample standard deviation (n - 1).
    public static func std(_ x: [Float]) -> Double {
        guard x.count > 1 else { return .nan }
        let m = mean(x)
        return (x.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) } / Double(x.count - 1)).squareRoot()
    }

    /// Φ, the standard normal CDF.
    public static func normalCDF(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }

    /// Φ⁻¹ for p in (0, 1): Acklam's rational approximation refined by one Halley step
    /// (relative error ~1e-15).
    public static func normalQuantile(_ p: Double) -> Double {
        precondition(p > 0 && p < 1, "normalQuantile needs p in (0, 1), got \(p)")
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        var x: Double
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p <= 1 - low {
            let q = p - 0.5, r = q * q
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let q = (-2 * log(1 - p)).squareRoot()
            x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        let e = normalCDF(x) - p
        let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
        return x - u / (1 + x * u / 2)
    }

    /// Kolmogorov–Smirnov statistic sup |F_n(x) - Φ((x - μ)/σ)| of samples against N(μ, σ²).
    public static func ksNormal(_ x: [Float], mean mu: Double, std sigma: Double) -> Double {
        let s = x.map(Double.init).sorted(), n = Double(s.count)
        var d = 0.0
        for (i, v) in s.enumerated() {
            let f = normalCDF((v - mu) / sigma)
            d = max(d, abs(Double(i + 1) / n - f), abs(f - Double(i) / n))
        }
        return d
    }

    /// Wasserstein-1 distance between the samples' empirical distribution and N(μ, σ²), by the
    /// quantile coupling: (1/n) Σ |x_(i) - F⁻¹((i - ½)/n)|.
    public static func w1Normal(_ x: [Float], mean mu: Double, std sigma: Double) -> Double {
        let s = x.map(Double.init).sorted(), n = Double(s.count)
        var total = 0.0
        for (i, v) in s.enumerated() { total += abs(v - (mu + sigma * normalQuantile((Double(i) + 0.5) / n))) }
        return total / n
    }

    /// Mode coverage of 2-D samples against mixture centres, with the protocol of the
    /// mode-collapse literature (VEEGAN, PacGAN): a sample is high quality when it lies within
    /// `3 · std` of its nearest centre; a mode is covered when at least `minimumShare` of its
    /// expected number of samples (count / modes) are high-quality samples registered to it
    /// (PacGAN: 1/5, i.e. 20 of the expected 100 for 2,500 samples over 25 modes).
    public static func modeCoverage(_ samples: [Float], centers: [[Float]], std: Float,
                                    minimumShare: Double = 0.2) -> (covered: Int, highQualityFraction: Double, perMode: [Int]) {
        precondition(samples.count % 2 == 0, "modeCoverage needs 2-D samples")
        let n = samples.count / 2
        var perMode = [Int](repeating: 0, count: centers.count)
        var good = 0
        let limit = Double(3 * std) * Double(3 * std)
        for i in 0..<n {
            let x = Double(samples[2 * i]), y = Double(samples[2 * i + 1])
            var best = Double.infinity, arg = 0
            for (k, c) in centers.enumerated() {
                let dx = x - Double(c[0]), dy = y - Double(c[1]), d = dx * dx + dy * dy
                if d < best { best = d; arg = k }
            }
            if best <= limit { good += 1; perMode[arg] += 1 }
        }
        let threshold = minimumShare * Double(n) / Double(max(centers.count, 1))
        let covered = perMode.filter { Double($0) >= threshold && $0 > 0 }.count
        return (covered, n == 0 ? 0 : Double(good) / Double(n), perMode)
    }
}
