import Foundation
import Testing
@_spi(Testing) import GANTensor

/// Statistical tests use fixed seeds (so they are deterministic) and bounds that a correct
/// generator passes with overwhelming probability for *any* seed: 5 sigma for means and standard
/// deviations, the 1 % Kolmogorov-Smirnov critical value, and chi-square bounds far in the tail.
@Suite("RNG")
struct RNGTests {
    // MARK: Golden values

    /// The stream is part of the checkpoint format (saved RNG states must continue identically
    /// after an upgrade, and a seed must reproduce a run). If this test fails, the generator
    /// changed: that needs a checkpoint format-version bump, not a new literal.
    /// Values computed with an independent Python implementation of SplitMix64 + xoshiro256**.
    @Test("golden: first outputs of RNG(seed: 42) and of the \"noise\" stream")
    func golden() {
        var rng = RNG(seed: 42)
        let first = (0..<4).map { _ in rng.next() }
        #expect(first == [0x1578_0b2e_0c2e_c716, 0x6104_d986_6d11_3a7e, 0xae17_5332_39e4_99a1, 0xecb8_ad47_03b3_60a1])
        var noise = RNG(seed: 42, stream: .noise)
        #expect([noise.next(), noise.next()] == [0xe1bd_45c9_9185_9719, 0x6f7c_53fb_1c62_19a3])
    }

    /// xoshiro256** reference vector (Blackman & Vigna's C code from state {1, 2, 3, 4}).
    @Test("xoshiro256** reference vector")
    func referenceVector() throws {
        var rng = try #require(RNG(stateWords: [1, 2, 3, 4]))
        let out = (0..<6).map { _ in rng.next() }
        #expect(out == [11520, 0, 1_509_978_240, 1_215_971_899_390_074_240,
                        1_216_172_134_540_287_360, 607_988_272_756_665_600])
    }

    // MARK: Streams and state

    @Test("same seed gives the same stream, different seeds differ")
    func sameSeed() {
        var a = RNG(seed: 7), b = RNG(seed: 7), c = RNG(seed: 8)
        let sa = (0..<64).map { _ in a.next() }
        #expect(sa == (0..<64).map { _ in b.next() })
        #expect(sa != (0..<64).map { _ in c.next() })
        #expect(a == b && a != c)
    }

    @Test("different streams differ; the same stream repeats")
    func streams() {
        func head(_ r: RNG) -> [UInt64] { var r = r; return (0..<8).map { _ in r.next() } }
        let streams: [RNGStream] = [.initialization, .data, .noise, .eval]
        let heads = streams.map { head(RNG(seed: 1, stream: $0)) }
        #expect(Set(heads).count == streams.count)
        #expect(!heads.contains(head(RNG(seed: 1))), "a named stream differs from the plain seed stream")
        #expect(head(RNG(seed: 1, stream: .noise)) == heads[2])
        #expect(head(RNG(seed: 2, stream: .noise)) != heads[2])
    }

    @Test("stateWords round-trip continues the exact stream (incl. odd-count fillNormal)")
    func saveRestore() throws {
        var rng = RNG(seed: 2024, stream: .data)
        for _ in 0..<37 { _ = rng.next() }
        var scratch = [Float](repeating: 0, count: 5)
        scratch.withUnsafeMutableBufferPointer { rng.fillNormal($0.baseAddress!, count: 5) }   // odd count mid-stream
        let saved = rng.stateWords
        #expect(saved.count == 4)

        func continuation(_ r: inout RNG) -> [Double] {
            var out: [Double] = []
            var buf = [Float](repeating: 0, count: 7)
            buf.withUnsafeMutableBufferPointer { r.fillNormal($0.baseAddress!, count: 7, mean: 1, std: 2) }
            out += buf.map(Double.init)
            out.append(Double(r.uniform()))
            out.append(r.uniformDouble())
            out.append(Double(r.normal()))
            out.append(Double(r.int(below: 1000)))
            out += r.permutation(10).map(Double.init)
            buf.withUnsafeMutableBufferPointer { r.fillUniform($0.baseAddress!, count: 3, low: -1, high: 1) }
            out += buf.prefix(3).map(Double.init)
            out.append(Double(bitPattern: r.next()))
            return out
        }
        let expected = continuation(&rng)
        var restored = try #require(RNG(stateWords: saved))
        let got = continuation(&restored)
        #expect(got.map(\.bitPattern) == expected.map(\.bitPattern))
        #expect(restored == rng)
    }

    @Test("invalid states are rejected")
    func invalidStates() {
        #expect(RNG(stateWords: [0, 0, 0, 0]) == nil)
        #expect(RNG(stateWords: [1, 2, 3]) == nil)
        #expect(RNG(stateWords: [1, 2, 3, 4, 5]) == nil)
        #expect(RNG(stateWords: [0, 0, 0, 1]) != nil)
    }

    @Test("fillNormal consumes a whole pair per two values, odd counts included")
    func fillNormalStreamPosition() {
        // Each Box-Muller pair uses two 64-bit words; an odd count still consumes the last pair.
        for count in [1, 2, 3, 6, 7] {
            var a = RNG(seed: 5), b = RNG(seed: 5)
            var buf = [Float](repeating: 0, count: count)
            buf.withUnsafeMutableBufferPointer { a.fillNormal($0.baseAddress!, count: count) }
            for _ in 0..<(2 * ((count + 1) / 2)) { _ = b.next() }
            #expect(a == b, "count \(count)")
        }
        // An odd-count fill is a prefix of the next even-count fill from the same state.
        var a = RNG(seed: 9), b = RNG(seed: 9)
        var three = [Float](repeating: 0, count: 3), four = [Float](repeating: 0, count: 4)
        three.withUnsafeMutableBufferPointer { a.fillNormal($0.baseAddress!, count: 3) }
        four.withUnsafeMutableBufferPointer { b.fillNormal($0.baseAddress!, count: 4) }
        #expect(three == Array(four.prefix(3)))
        // normal() is the first value of a pair.
        var c = RNG(seed: 9)
        #expect(c.normal() == four[0])
    }

    /// The normal stream is fixed too: each pair is the Box-Muller transform of two words computed
    /// with Foundation's log, cos and sin (the engine calls glibc's sincos, whose bits must be
    /// those of sin and cos), and a large fill split over threads gives the serial values.
    @Test("fillNormal: Box-Muller of the word stream, bit for bit, serial and split over 2 threads")
    func fillNormalBits() {
        let count = 200_001   // odd, and enough pairs for parallelFor to split
        var words = RNG(seed: 77)
        var want = [Float](repeating: 0, count: count)
        for k in 0..<((count + 1) / 2) {
            let b1 = words.next(), b2 = words.next()
            let u1 = Double((b1 >> 11) + 1) * 0x1p-53, u2 = Double(b2 >> 11) * 0x1p-53
            let r = (-2 * Foundation.log(u1)).squareRoot(), theta = 2 * Double.pi * u2
            want[2 * k] = 0.5 + 2 * Float(r * Foundation.cos(theta))
            if 2 * k + 1 < count { want[2 * k + 1] = 0.5 + 2 * Float(r * Foundation.sin(theta)) }
        }
        for chunks in [1, 2] {
            var rng = RNG(seed: 77)
            var got = [Float](repeating: .nan, count: count)
            ComputeThreads.$chunksOverride.withValue(chunks) {
                got.withUnsafeMutableBufferPointer { rng.fillNormal($0.baseAddress!, count: count, mean: 0.5, std: 2) }
            }
            let mismatches = zip(got, want).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(mismatches == 0, "\(chunks) chunks: \(mismatches) values differ")
            #expect(rng == words, "\(chunks) chunks: same stream position")
        }
    }

    // MARK: Distributions

    @Test("uniform: range [0, 1) and mean 1/2 within 5 sigma")
    func uniform() {
        var rng = RNG(seed: 11)
        let n = 100_000
        var sum = 0.0, lo = Float.infinity, hi = -Float.infinity
        for _ in 0..<n {
            let u = rng.uniform()
            sum += Double(u); lo = min(lo, u); hi = max(hi, u)
        }
        #expect(lo >= 0 && hi < 1)
        let sigma = (1.0 / 12).squareRoot() / Double(n).squareRoot()
        #expect(abs(sum / Double(n) - 0.5) < 5 * sigma)
        #expect(lo < 1e-3 && hi > 1 - 1e-3, "covers the interval")

        var dsum = 0.0, outside = 0
        for _ in 0..<n {
            let u = rng.uniformDouble()
            if !(u >= 0 && u < 1) { outside += 1 }
            dsum += u
        }
        #expect(outside == 0)
        #expect(abs(dsum / Double(n) - 0.5) < 5 * sigma)

        // fillUniform maps to [low, high).
        let t = Tensor(shape: [n])
        rng.fillUniform(t, low: -3, high: 5)
        let a = t.array
        #expect(a.min()! >= -3 && a.max()! < 5)
        let mean = a.reduce(0.0) { $0 + Double($1) } / Double(n)
        #expect(abs(mean - 1) < 5 * 8 * sigma)
    }

    @Test("normal: mean, std within 5 sigma and Kolmogorov-Smirnov below the 1 % critical value")
    func normal() {
        var rng = RNG(seed: 12)
        let n = 200_000
        let t = Tensor(shape: [n])
        rng.fillNormal(t)
        var samples = t.array
        let (mean, std) = meanStd(samples)
        // SE(mean) = 1/sqrt(n); SE(std) ≈ 1/sqrt(2n) for a normal.
        #expect(abs(mean) < 5 / Double(n).squareRoot(), "mean \(mean)")
        #expect(abs(std - 1) < 5 / (2 * Double(n)).squareRoot(), "std \(std)")

        samples.sort()
        var d = 0.0
        for (i, x) in samples.enumerated() {
            let cdf = 0.5 * erfc(-Double(x) / 2.0.squareRoot())
            d = max(d, abs(cdf - Double(i) / Double(n)), abs(Double(i + 1) / Double(n) - cdf))
        }
        #expect(d < 1.63 / Double(n).squareRoot(), "KS statistic \(d)")

        // Scaled fills and single draws.
        let s = Tensor(shape: [50_000])
        rng.fillNormal(s, mean: -2, std: 0.5)
        let (m2, s2) = meanStd(s.array)
        #expect(abs(m2 + 2) < 5 * 0.5 / 50_000.0.squareRoot())
        #expect(abs(s2 - 0.5) < 5 * 0.5 / 100_000.0.squareRoot())
        let singles = (0..<50_000).map { _ in rng.normal() }
        let (m3, s3) = meanStd(singles)
        #expect(abs(m3) < 5 / 50_000.0.squareRoot())
        #expect(abs(s3 - 1) < 5 / 100_000.0.squareRoot())
        #expect(samples.allSatisfy { $0.isFinite })
    }

    @Test("int(below:) is uniform (chi-square) and in range", arguments: [1, 2, 7, 10])
    func intBelow(bound: Int) {
        var rng = RNG(seed: UInt64(20 + bound))
        let perBin = 10_000
        var counts = [Int](repeating: 0, count: bound), outside = 0
        for _ in 0..<(perBin * bound) {
            let v = rng.int(below: bound)
            if v >= 0 && v < bound { counts[v] += 1 } else { outside += 1 }
        }
        #expect(outside == 0)
        // Chi-square with bound - 1 degrees of freedom: mean bound - 1, sd sqrt(2(bound - 1)).
        // Bound: mean + 8 sd + 10 (p far below 1e-6 for a correct generator).
        let chi2 = counts.reduce(0.0) { $0 + pow(Double($1 - perBin), 2) / Double(perBin) }
        let dof = Double(bound - 1)
        #expect(chi2 <= dof + 8 * (2 * dof).squareRoot() + 10, "chi2 \(chi2) counts \(counts)")
    }

    /// With bound = 3·2⁶¹ (3/8 of 2⁶⁴), the two classic biased methods are far from uniform:
    /// plain `next() % bound` gives 3/8, 3/8, 2/8 to the three thirds of the range, and Lemire's
    /// multiply-shift without its rejection step (`v = ⌊x·3/8⌋`) gives 3/8, 3/8, 2/8 to v mod 3.
    /// An unbiased method gives 1/3 each in both views.
    @Test("int(below:) is unbiased for a huge bound (rejection works)")
    func intBelowHugeBound() {
        var rng = RNG(seed: 31)
        let bound = 3 << 61, third = 1 << 61
        let n = 30_000
        var byThird = [0, 0, 0], byResidue = [0, 0, 0], outside = 0
        for _ in 0..<n {
            let v = rng.int(below: bound)
            if v >= 0 && v < bound { byThird[v / third] += 1; byResidue[v % 3] += 1 } else { outside += 1 }
        }
        #expect(outside == 0)
        let e = Double(n) / 3
        for counts in [byThird, byResidue] {
            // Chi-square with 2 dof: mean 2, sd 2; bound mean + 8 sd + 10. The biased methods give ~750.
            let chi2 = counts.reduce(0.0) { $0 + pow(Double($1) - e, 2) / e }
            #expect(chi2 < 2 + 8 * 2 + 10, "counts \(counts)")
        }
    }

    @Test("permutation is a permutation, uniform for n = 3, and seed-dependent")
    func permutation() {
        var rng = RNG(seed: 40)
        for n in [0, 1, 2, 17, 100] {
            #expect(rng.permutation(n).sorted() == Array(0..<n))
        }
        // All 6 orders of 3 elements equally likely (chi-square, 5 dof).
        var counts: [[Int]: Int] = [:]
        let draws = 12_000
        for _ in 0..<draws { counts[rng.permutation(3), default: 0] += 1 }
        #expect(counts.count == 6)
        let e = Double(draws) / 6
        let chi2 = counts.values.reduce(0.0) { $0 + pow(Double($1) - e, 2) / e }
        #expect(chi2 < 5 + 8 * 10.0.squareRoot() + 10, "counts \(counts)")

        var a = RNG(seed: 1), b = RNG(seed: 1), c = RNG(seed: 2)
        let pa = a.permutation(50)
        #expect(pa == b.permutation(50))
        #expect(pa != c.permutation(50))
        #expect(pa != Array(0..<50))

        var items = ["a", "b", "c", "d", "e", "f", "g", "h"]
        var d = RNG(seed: 3)
        d.shuffle(&items)
        #expect(items.sorted() == ["a", "b", "c", "d", "e", "f", "g", "h"])
    }
}

func meanStd(_ x: [Float]) -> (Double, Double) {
    let n = Double(x.count)
    let mean = x.reduce(0.0) { $0 + Double($1) } / n
    let variance = x.reduce(0.0) { $0 + pow(Double($1) - mean, 2) } / (n - 1)
    return (mean, variance.squareRoot())
}
