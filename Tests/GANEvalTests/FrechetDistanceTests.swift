import Foundation
import GANEval
import GANTensor
import GANTestSupport
import Testing

@Suite struct FrechetDistanceTests {
    /// The feature sets of Reference/frechet_reference.py, rounded to Float32 as there.
    static func features(_ n: Int, _ d: Int, phase: Double, scale: Double) -> Tensor {
        tensor([n, d]) { k in
            let i = Double(k / d), j = Double(k % d)
            return Float(scale * sin(0.37 * i * (j + 1) + phase) + 0.05 * j + 0.01 * cos(1.7 * i + j))
        }
    }

    static func relativeError(_ a: Double, _ b: Double) -> Double { abs(a - b) / max(abs(b), 1e-300) }

    @Test func matchesScipy() throws {
        let a = Self.features(40, 5, phase: 0, scale: 1), b = Self.features(55, 5, phase: 0.9, scale: 0.7)
        let c = Self.features(30, 5, phase: 2.1, scale: 1.3)
        // pytorch-fid's formula with scipy.linalg.sqrtm (numpy 2.4.6, scipy 1.17.1).
        let reference = [0.2248246999673209, 0.34041709564969835, 0.9727024139314935]
        let ours = [try FrechetDistance.distance(a, b), try FrechetDistance.distance(a, c), try FrechetDistance.distance(b, c)]
        for (o, r) in zip(ours, reference) { #expect(Self.relativeError(o, r) < 1e-9, "FD \(o), scipy \(r)") }
    }

    @Test func selfDistanceIsZeroAndSymmetric() throws {
        let x = randomTensor([300, 16], seed: 1, std: 2, mean: 0.5)
        let y = randomTensor([200, 16], seed: 2, std: 1.5)
        let sx = FeatureStatistics(features: x), sy = FeatureStatistics(features: y)
        let scale = sx.covariance.enumerated().filter { $0.offset % 17 == 0 }.reduce(0.0) { $0 + $1.element }
        let (self0, meanTerm, traceTerm) = try FrechetDistance.components(sx, sx)
        #expect(meanTerm == 0)
        #expect(abs(traceTerm) <= 1e-6 * scale, "trace term \(traceTerm) vs tr Σ = \(scale)")
        #expect(self0 <= 1e-6 * scale)
        let ab = try FrechetDistance.distance(sx, sy), ba = try FrechetDistance.distance(sy, sx)
        #expect(ab > 1)
        #expect(Self.relativeError(ab, ba) < 1e-10, "\(ab) vs \(ba)")
    }

    @Test func diagonalGaussiansClosedForm() throws {
        // FD = Σ (m1 - m2)² + Σ (s1 - s2)² for diagonal covariances diag(s²).
        let m1 = [0.5, -1.0, 2.0, 0.0], m2 = [0.0, 1.0, 2.5, -0.25]
        let s1 = [1.0, 0.5, 2.0, 0.0], s2 = [2.0, 0.5, 0.1, 3.0]
        func diag(_ s: [Double]) -> [Double] {
            var c = [Double](repeating: 0, count: s.count * s.count)
            for i in s.indices { c[i * s.count + i] = s[i] * s[i] }
            return c
        }
        let a = FeatureStatistics(mean: m1, covariance: diag(s1), count: 100)
        let b = FeatureStatistics(mean: m2, covariance: diag(s2), count: 100)
        var expected = 0.0
        for i in m1.indices { expected += (m1[i] - m2[i]) * (m1[i] - m2[i]) + (s1[i] - s2[i]) * (s1[i] - s2[i]) }
        let fd = try FrechetDistance.distance(a, b)
        #expect(Self.relativeError(fd, expected) < 1e-12, "FD \(fd), closed form \(expected)")
    }

    @Test func rotatedGaussiansClosedForm() throws {
        // Same diagonal case seen in a rotated basis: FD is invariant under a common rotation.
        let theta = 0.7, c = cos(theta), s = sin(theta)
        let r = [c, -s, s, c]
        func rotate(_ d: [Double]) -> [Double] {  // R diag(d) Rᵀ, 2 x 2
            var out = [Double](repeating: 0, count: 4)
            for i in 0..<2 { for j in 0..<2 { out[i * 2 + j] = r[i * 2] * d[0] * r[j * 2] + r[i * 2 + 1] * d[1] * r[j * 2 + 1] } }
            return out
        }
        let a = FeatureStatistics(mean: [0, 0], covariance: rotate([4, 1]), count: 10)
        let b = FeatureStatistics(mean: [3, 4], covariance: rotate([1, 9]), count: 10)
        let expected = 25.0 + (2.0 - 1.0) * (2.0 - 1.0) + (1.0 - 3.0) * (1.0 - 3.0)
        #expect(Self.relativeError(try FrechetDistance.distance(a, b), expected) < 1e-12)
    }

    @Test func singularCovariance() throws {
        // A dead feature (always 0) and a duplicated one make Σ singular; FD stays finite and exact.
        let base = randomTensor([500, 6], seed: 5)
        let x = tensor([500, 8]) { k in
            let i = k / 8, j = k % 8
            return j < 6 ? base[i * 6 + j] : (j == 6 ? 0 : base[i * 6])
        }
        let shifted = tensor([500, 8]) { k in k % 8 == 6 ? 0 : x[k] + 1 }
        let sx = FeatureStatistics(features: x)
        #expect(try FrechetDistance.distance(sx, sx) < 1e-9)
        // Shifting every live feature by 1 moves only the mean: FD = 7.
        let fd = try FrechetDistance.distance(sx, FeatureStatistics(features: shifted))
        #expect(abs(fd - 7) < 1e-6, "\(fd)")
    }

    @Test func statisticsMatchTwoPassFormula() {
        let x = randomTensor([1000, 3], seed: 9, std: 3, mean: 100)
        let s = FeatureStatistics(features: x)
        for a in 0..<3 {
            for b in 0..<3 {
                var ma = 0.0, mb = 0.0
                for i in 0..<1000 { ma += Double(x[i * 3 + a]); mb += Double(x[i * 3 + b]) }
                ma /= 1000; mb /= 1000
                var c = 0.0
                for i in 0..<1000 { c += (Double(x[i * 3 + a]) - ma) * (Double(x[i * 3 + b]) - mb) }
                #expect(abs(s.covariance[a * 3 + b] - c / 999) < 1e-9 * 9)
                if a == b { #expect(abs(s.mean[a] - ma) < 1e-12 * 100) }
            }
        }
    }

    @Test func eigendecomposition() throws {
        // [[2, 1], [1, 2]]: eigenvalues 1 and 3.
        let (values, vectors) = try SymmetricEigen.decompose([2, 1, 1, 2], n: 2, vectors: true)
        #expect(abs(values[0] - 1) < 1e-14 && abs(values[1] - 3) < 1e-14)
        #expect(abs(abs(vectors[2]) - 0.5.squareRoot()) < 1e-14 && abs(vectors[2] - vectors[3]) < 1e-14)
    }
}
