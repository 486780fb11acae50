import Foundation
import GANEval
@_spi(Testing) import GANTensor
import GANTestSupport
import Testing

@Suite struct ParzenWindowTests {
    /// The definition, term by term in Double.
    static func bruteForce(_ x: Tensor, _ s: Tensor, sigma: Double) -> [Double] {
        let d = x.columns, m = s.rows
        return (0..<x.rows).map { i in
            let e = (0..<m).map { j -> Double in
                var d2 = 0.0
                for k in 0..<d { let v = Double(x[i * d + k]) - Double(s[j * d + k]); d2 += v * v }
                return -d2 / (2 * sigma * sigma)
            }
            let top = e.max()!
            return top + log(e.reduce(0.0) { $0 + exp($1 - top) }) - log(Double(m)) - Double(d) / 2 * log(2 * Double.pi * sigma * sigma)
        }
    }

    @Test func matchesBruteForce() {
        let samples = randomTensor([70, 7], seed: 1, std: 0.3, mean: 0.5)
        let points = randomTensor([25, 7], seed: 2, std: 0.35, mean: 0.45)
        let window = ParzenWindow(samples: samples)
        let sigmas = [0.05, 0.2, 1.0]
        let all = window.logLikelihoods(points, sigmas: sigmas)
        for (k, sigma) in sigmas.enumerated() {
            let want = Self.bruteForce(points, samples, sigma: sigma)
            for i in want.indices {
                // Float32 GEMM distances: |Δd²| ~ 1e-6, divided by 2σ².
                #expect(abs(all[k][i] - want[i]) < 1e-3 * max(1, abs(want[i])) , "σ \(sigma) point \(i): \(all[k][i]) vs \(want[i])")
            }
            #expect(window.logLikelihoods(points, sigma: sigma) == all[k])
        }
    }

    @Test func imageSizedPointsMatchBruteForce() {
        // 784 dimensions in [0, 1] with σ = 0.05 (the smallest grid value): the regime where the
        // Float32 cross term's rounding is amplified most (by 1/2σ² = 200).
        var rng = RNG(seed: 5)
        let samples = Tensor(shape: [60, 784]), points = Tensor(shape: [8, 784])
        rng.fillUniform(samples)
        for i in 0..<points.count { points[i] = min(max(samples[i] + 0.1 * (rng.uniform() - 0.5), 0), 1) }
        for sigma in [0.05, 0.3] {
            let got = ParzenWindow(samples: samples).logLikelihoods(points, sigma: sigma)
            let want = Self.bruteForce(points, samples, sigma: sigma)
            let worst = zip(got, want).map { abs($0 - $1) }.max()!
            print("Parzen 784-d, σ \(sigma): worst |Δll| \(worst) (ll ≈ \(want[0]))")
            #expect(worst < 0.02, "σ \(sigma): worst |Δll| \(worst)")
        }
    }

    @Test func oneDimensionalKnownValues() {
        // One sample at 0: ll(x) = log N(x; 0, σ²).
        let sigma = 0.5
        let window = ParzenWindow(samples: Tensor(shape: [1, 1], values: [0]))
        let x = Tensor(shape: [3, 1], values: [0, 1, -2])
        let ll = window.logLikelihoods(x, sigma: sigma)
        for (i, v) in [0.0, 1, -2].enumerated() {
            let want = -v * v / (2 * sigma * sigma) - 0.5 * log(2 * Double.pi * sigma * sigma)
            #expect(abs(ll[i] - want) < 1e-6, "\(ll[i]) vs \(want)")
        }
        // Samples at ±1, point 0: the mixture density is N(1; 0, σ²).
        let two = ParzenWindow(samples: Tensor(shape: [2, 1], values: [-1, 1]))
        let at0 = two.logLikelihoods(Tensor(shape: [1, 1], values: [0]), sigma: 1)[0]
        #expect(abs(at0 - (-0.5 - 0.5 * log(2 * Double.pi))) < 1e-7)
        // Mean and standard error (numpy std, ddof 0, / sqrt n).
        let e = window.estimate(x, sigma: sigma)
        let mean = ll.reduce(0, +) / 3
        let sd = (ll.reduce(0.0) { $0 + ($1 - mean) * ($1 - mean) } / 3).squareRoot()
        #expect(abs(e.mean - mean) < 1e-12 && abs(e.standardError - sd / 3.0.squareRoot()) < 1e-12 && e.count == 3)
    }

    @Test func farPointsDoNotUnderflow() {
        // Every kernel value underflows in Float and Double (d² / 2σ² ~ 5e4); logsumexp keeps it finite.
        let window = ParzenWindow(samples: Tensor(shape: [2, 1], values: [0, 0.5]))
        let ll = window.logLikelihoods(Tensor(shape: [1, 1], values: [10]), sigma: 0.03)[0]
        let want = -(9.5 * 9.5) / (2 * 0.03 * 0.03) - log(2.0) - 0.5 * log(2 * Double.pi * 0.03 * 0.03)
        #expect(abs(ll - want) / abs(want) < 1e-6, "\(ll) vs \(want)")
    }

    @Test func chooseSigmaPicksTheBestGridValue() {
        let samples = randomTensor([400, 2], seed: 3, std: 0.3)
        let validation = randomTensor([200, 2], seed: 4, std: 0.3)
        let grid = ParzenWindow.logGrid(from: 0.01, to: 3, count: 12)
        #expect(grid.count == 12 && abs(grid[0] - 0.01) < 1e-15 && abs(grid[11] - 3) < 1e-12)
        let (sigma, means) = ParzenWindow.chooseSigma(samples: samples, validation: validation, grid: grid)
        let window = ParzenWindow(samples: samples)
        for (k, s) in grid.enumerated() { #expect(abs(window.estimate(validation, sigma: s).mean - means[k]) < 1e-9) }
        #expect(means.max() == means[grid.firstIndex(of: sigma)!])
        // Silverman's rule for 400 2-D points of std 0.3 gives ≈ 0.12; the optimum is interior.
        #expect(sigma > 0.03 && sigma < 0.5, "σ \(sigma)")
        #expect(ParzenWindow.logGrid().count == 10)
    }
}
