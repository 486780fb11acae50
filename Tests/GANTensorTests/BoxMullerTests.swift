import CMathShim
import Foundation
import Testing
@_spi(Testing) import GANTensor

/// The four- and eight-wide Box-Muller (CMathShim/boxmuller.c) must give glibc's floats bit for bit. It rounds
/// its own approximation only where every double within |z| 2^-40 + r 2^-44 of it rounds to the same
/// float, so the proof rests on its log, sin and cos staying far inside those bounds: checked here
/// against glibc, then the floats themselves, on every instruction-set copy.
@Suite("Box-Muller, four or eight pairs at a time")
struct BoxMullerTests {
    /// Random words plus the edges: u1 = 1 (r = 0), u1 = 2^-53 (largest r), θ = 0, and θ at the
    /// quadrant boundaries π/2, π, 3π/2 and just below 2π.
    static func words(pairs: Int, seed: UInt64) -> [UInt64] {
        var rng = RNG(seed: seed)
        var w = (0..<(2 * pairs)).map { _ in rng.next() }
        let edges: [(UInt64, UInt64)] = [
            (~0, 0), (0, ~0), (0x7ff, 1 << 62), (1 << 63, 1 << 63), (0x8000_0000_0000_0000, 0xc000_0000_0000_0000),
            (0x3ff0_0000_0000_0000, 0x4000_0000_0000_0800), (0xffff_ffff_ffff_f7ff, 0x3fff_ffff_ffff_f800),
            (0x0000_0000_0000_0800, 0xffff_ffff_ffff_f800),
        ]
        for (i, e) in edges.enumerated() { (w[2 * i], w[2 * i + 1]) = e }
        return w
    }

    @Test("log, sin and cos of the vector path: within 2^-51 relative and 4e-16 absolute of glibc")
    func approximationErrors() {
        let pairs = 300_000
        let w = Self.words(pairs: pairs, seed: 3)
        var logs = [Double](repeating: 0, count: pairs), sines = logs, cosines = logs
        gan_box_muller_approximations(w, pairs, &logs, &sines, &cosines)
        var logErr = 0.0, trigErr = 0.0, zeroLogs = 0
        for k in 0..<pairs {
            let u1 = Double((w[2 * k] >> 11) + 1) * 0x1p-53, u2 = Double(w[2 * k + 1] >> 11) * 0x1p-53
            let l = Foundation.log(u1), theta = 2 * Double.pi * u2
            if l == 0 {
                zeroLogs += 1
                #expect(logs[k].bitPattern == l.bitPattern, "log(1) is +0")
            } else {
                logErr = max(logErr, abs(logs[k] - l) / abs(l))
            }
            trigErr = max(trigErr, abs(sines[k] - Foundation.sin(theta)), abs(cosines[k] - Foundation.cos(theta)))
        }
        #expect(zeroLogs == 1)
        #expect(logErr <= 0x1p-51, "log relative error \(logErr / 0x1p-53) ulp")
        #expect(trigErr <= 4e-16, "sin/cos absolute error \(trigErr)")
    }

    @Test("floats equal the scalar glibc transform bit for bit, every copy this CPU runs (AVX-512, AVX2, baseline), any pair count")
    func bitsMatchScalar() {
        let pairs = 400_003   // not a multiple of 4 or 8: the padded tail runs too
        let w = Self.words(pairs: pairs, seed: 4)
        var want = [Float](repeating: 0, count: 2 * pairs)
        for k in 0..<pairs {
            let u1 = Double((w[2 * k] >> 11) + 1) * 0x1p-53, u2 = Double(w[2 * k + 1] >> 11) * 0x1p-53
            let r = (-2 * Foundation.log(u1)).squareRoot(), theta = 2 * Double.pi * u2
            want[2 * k] = Float(r * Foundation.cos(theta))
            want[2 * k + 1] = Float(r * Foundation.sin(theta))
        }
        #expect(want[0] == 0 && want[1] == 0, "the u1 = 1 edge gives r = 0")
        typealias Transform = (UnsafePointer<UInt64>?, Int, UnsafeMutablePointer<Float>?) -> Void
        var copies: [(String, Transform)] = [("dispatched", gan_box_muller), ("baseline", gan_box_muller_baseline)]
        var probe: [Float] = [0, 0]   // one pair
        for (copy, name) in [(1, "AVX2"), (2, "AVX-512")] where gan_box_muller_copy(Int32(copy), w, 1, &probe) == 1 {
            copies.append((name, { _ = gan_box_muller_copy(Int32(copy), $0, $1, $2) }))
        }
        for (name, transform) in copies {
            var got = [Float](repeating: .nan, count: 2 * pairs)
            transform(w, pairs, &got)
            let mismatches = zip(got, want).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(mismatches == 0, "\(name): \(mismatches) of \(2 * pairs) floats differ")
            for short in 1...19 {   // the padded last block (of 4 or of 8) alone, and after full blocks
                var few = [Float](repeating: .nan, count: 2 * short + 1)
                transform(w, short, &few)
                #expect(few.prefix(2 * short).map(\.bitPattern) == want.prefix(2 * short).map(\.bitPattern), "\(name): \(short) pairs")
                #expect(few[2 * short].isNaN, "\(name): \(short) pairs write nothing past their floats")
            }
        }
    }
}

extension BoxMullerTests {
    @Test("the rounding check keeps only approximations whose whole tolerance rounds to one float")
    func roundingCheck() {
        for z in [1.0, -0.75, 3.1, 1e-3, -4.2e-5] {
            let f = Float(z), mid = (Double(f) + Double(f.nextUp)) / 2, r = 2.0
            #expect(gan_box_muller_settled(Double(f), r) == 1, "\(z): a float itself")
            #expect(gan_box_muller_settled(mid, r) == 0, "\(z): the midpoint to the next float")
            let tol = abs(mid) * 0x1p-40 + r * 0x1p-44
            #expect(gan_box_muller_settled(mid - 0.9 * tol, r) == 0, "\(z): within tolerance of the midpoint")
            #expect(gan_box_muller_settled(mid + 0.9 * tol, r) == 0, "\(z): within tolerance above the midpoint")
            #expect(gan_box_muller_settled(mid - 1.1 * tol, r) == 1, "\(z): just outside the tolerance")
        }
        #expect(gan_box_muller_settled(0, 1) == 0, "zero: its sign would depend on the last bits")
        #expect(gan_box_muller_settled(1e-14, 1) == 0, "below the absolute tolerance: either sign is possible")
        #expect(gan_box_muller_settled(Double(Float(-1e-5)), 1) == 1, "a float whose spacing (9e-13) exceeds the tolerance")
        #expect(gan_box_muller_settled(Double(Float(-1e-7)), 1) == 0, "a float whose spacing (7e-15) is below it")
    }
}
