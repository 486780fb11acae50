import Foundation
import GANData
@_spi(Testing) import GANTensor
import Testing

@Suite struct ToyDistributionTests {
    @Test func gaussianMomentsAndPDF() {
        var rng = RNG(seed: 1)
        let t = ToyDistribution.gaussian(mean: 4, std: 0.5).sample(count: 100_000, rng: &rng)
        #expect(t.shape == [100_000, 1])
        // 5-sigma bounds: sd of the mean 0.5/sqrt(n) = 0.0016.
        #expect(abs(SampleMetrics.mean(t.array) - 4) < 0.008)
        #expect(abs(SampleMetrics.std(t.array) - 0.5) < 0.006)
        let pdf = ToyDistribution.gaussian(mean: 4, std: 0.5).pdf(4)!
        #expect(abs(Double(pdf) - 1 / (0.5 * (2 * Double.pi).squareRoot())) < 1e-6)
        #expect(ToyDistribution.ring(modes: 8, radius: 1, std: 0.01).pdf(0) == nil)
    }

    @Test func ringAndGridCentresMatchThePacGANProtocol() {
        let ring = ToyDistribution.ring(modes: 8, radius: 1, std: 0.01).centers
        #expect(ring.count == 8)
        for c in ring { #expect(abs(Double(c[0] * c[0] + c[1] * c[1]) - 1) < 1e-6) }
        let grid = ToyDistribution.grid(size: 5, spacing: 2, std: 0.05).centers
        #expect(grid.count == 25)
        #expect(Set(grid.map { $0[0] }) == [-4, -2, 0, 2, 4])
        #expect(Set(grid.map { $0[1] }) == [-4, -2, 0, 2, 4])
    }

    @Test func realMixtureSamplesCoverEveryModeWithHighQuality() {
        var rng = RNG(seed: 2)
        for d in [ToyDistribution.ring(modes: 8, radius: 1, std: 0.01), .grid(size: 5, spacing: 2, std: 0.05)] {
            let s = d.sample(count: 2500, rng: &rng).array
            let m = SampleMetrics.modeCoverage(s, centers: d.centers, std: d.componentStd)
            #expect(m.covered == d.centers.count)
            // Within 3 std in 2-D: P(chi2_2 <= 9) = 1 - e^-4.5 = 0.989.
            #expect(m.highQualityFraction > 0.97)
        }
    }

    @Test func collapsedSamplesCoverOneMode() {
        let grid = ToyDistribution.grid(size: 5, spacing: 2, std: 0.05)
        let collapsed = [Float](repeating: 0, count: 2 * 2500)  // everything at the centre mode
        let m = SampleMetrics.modeCoverage(collapsed, centers: grid.centers, std: 0.05)
        #expect(m.covered == 1)
        #expect(m.highQualityFraction == 1)
        // Samples between modes are low quality and cover nothing.
        let between = (0..<2500).flatMap { _ in [Float(1), Float(1)] }
        #expect(SampleMetrics.modeCoverage(between, centers: grid.centers, std: 0.05).covered == 0)
        // A mode with fewer than 1/5 of its expected 100 samples is not covered.
        var few = [Float](repeating: 0, count: 2 * 2500)
        for i in 0..<19 { few[2 * i] = 4; few[2 * i + 1] = 4 }
        #expect(SampleMetrics.modeCoverage(few, centers: grid.centers, std: 0.05).covered == 1)
        for i in 0..<20 { few[2 * i] = 4; few[2 * i + 1] = 4 }
        #expect(SampleMetrics.modeCoverage(few, centers: grid.centers, std: 0.05).covered == 2)
    }

    @Test func parabolaPointsLieOnTheCurve() {
        var rng = RNG(seed: 3)
        let s = ToyDistribution.parabola(a: 1, std: 0.02).sample(count: 5000, rng: &rng).array
        var residual: [Float] = []
        for i in 0..<5000 {
            #expect(s[2 * i] >= -1 && s[2 * i] < 1)
            residual.append(s[2 * i + 1] - s[2 * i] * s[2 * i])
        }
        #expect(abs(SampleMetrics.std(residual) - 0.02) < 0.002)
    }

    @Test func ksAndW1AgainstTheNormal() {
        var rng = RNG(seed: 4)
        let good = ToyDistribution.gaussian(mean: 4, std: 0.5).sample(count: 10_000, rng: &rng).array
        // KS 1 % critical value 1.63/sqrt(n) = 0.0163; W1 of an exact sample is O(1/sqrt(n)).
        #expect(SampleMetrics.ksNormal(good, mean: 4, std: 0.5) < 0.0163)
        #expect(SampleMetrics.w1Normal(good, mean: 4, std: 0.5) < 0.02)
        // Shifted by 0.1: W1 of a pure shift is the shift; KS = Φ(0.1) - Φ(-0.1) ≈ 0.0797.
        let shifted = good.map { $0 + 0.5 * 0.2 }
        #expect(abs(SampleMetrics.w1Normal(shifted, mean: 4, std: 0.5) - 0.1) < 0.02)
        #expect(abs(SampleMetrics.ksNormal(shifted, mean: 4, std: 0.5) - 0.0797) < 0.02)
        // Quantile function inverts the CDF.
        for p in [1e-6, 0.01, 0.3, 0.5, 0.9, 0.999] {
            #expect(abs(SampleMetrics.normalCDF(SampleMetrics.normalQuantile(p)) - p) < 1e-12 * max(1, p * 1e3))
        }
    }
}
