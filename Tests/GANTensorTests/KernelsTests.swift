import Foundation
import Testing
import GANTensor
import GANTestSupport

@Suite("Kernels")
struct KernelsTests {
    /// The vectorised sigmoid against the Double formula on a dense grid over the whole range where
    /// the result is a normal float, plus the edge cases `1 / (1 + expf(-x))` has.
    @Test("sigmoid: within 4 ulp of the exact value, exact edge cases, scalar == vector bits")
    func sigmoidAccuracy() {
        let xs: [Float] = stride(from: -87.0, through: 40.0, by: 0.0037).map { Float($0) }
            + [0, -0.0, 1e-8, -1e-8, 1e-30, 17.3, -17.3]
        var y = [Float](repeating: .nan, count: xs.count)
        xs.withUnsafeBufferPointer { x in
            y.withUnsafeMutableBufferPointer { Kernels.sigmoid(x.baseAddress!, $0.baseAddress!, count: x.count) }
        }
        var worst = 0.0
        for (x, v) in zip(xs, y) {
            let exact = 1 / (1 + Foundation.exp(-Double(x)))
            let ulps = abs(Double(v) - exact) / Double(Float(exact).ulp)
            worst = max(worst, ulps)
            #expect(v.bitPattern == Kernels.sigmoid(x).bitPattern, "x = \(x): scalar and vector paths differ")
        }
        #expect(worst <= 4, "worst error \(worst) ulp")
        #expect(Kernels.sigmoid(Float(0)) == 0.5)
        #expect(Kernels.sigmoid(Float(-100)) == 0 && Kernels.sigmoid(Float(-1000)) == 0)
        #expect(Kernels.sigmoid(-Float.infinity) == 0 && Kernels.sigmoid(Float.infinity) == 1)
        #expect(Kernels.sigmoid(Float(100)) == 1 && Kernels.sigmoid(Float(30)) == 1)
        #expect(Kernels.sigmoid(Float.nan).isNaN)
        let tiny = Kernels.sigmoid(Float(-88))   // e^-88 ≈ 6e-39: a denormal, not 0 or NaN
        #expect(tiny > 0 && tiny < 1e-37)
    }

    /// The loss kernels' pieces: log(1 + e) on [0, 1] (dense grid plus tiny e, where log1p must not
    /// lose relative precision) and softplusTerms against the Double formulas, NaN propagated.
    @Test("log1pUnit within 4 ulp of log1p on [0, 1]; softplusTerms match softplus and σ")
    func softplusPieces() {
        let es: [Float] = stride(from: 0.0, through: 1.0, by: 1.0 / 65_536).map { Float($0) }
            + [1e-30, 1e-20, 1e-10, 3e-8, 1e-5, 0.41421354, 0.41421357, 1e-38]
        var worst = 0.0
        for e in es {
            let exact = Foundation.log1p(Double(e)), v = Kernels.log1pUnit(e)
            if exact == 0 { #expect(v == 0); continue }
            worst = max(worst, abs(Double(v) - exact) / Double(Float(exact).ulp))
        }
        #expect(worst <= 4, "worst log1pUnit error \(worst) ulp")

        let xs: [Float] = stride(from: -80.0, through: 80.0, by: 0.0131).map { Float($0) } + [0, -0.0, .nan, 200, -200]
        var tail = [Float](repeating: 0, count: xs.count), sig = tail
        xs.withUnsafeBufferPointer { x in
            Kernels.softplusTerms(x.baseAddress!, count: x.count, softplusTail: &tail, sigmoid: &sig)
        }
        for (i, x) in xs.enumerated() {
            if x.isNaN { #expect(tail[i].isNaN && sig[i].isNaN); continue }
            let d = Double(x), t = Foundation.log1p(Foundation.exp(-abs(d))), s = 1 / (1 + Foundation.exp(-d))
            #expect(abs(Double(tail[i]) - t) <= 4 * Double(max(Float(t).ulp, Float.leastNormalMagnitude)), "tail at \(x)")
            #expect(abs(Double(sig[i]) - s) <= 4 * Double(max(Float(s).ulp, Float.leastNormalMagnitude)), "σ at \(x)")
        }
    }

    /// Every length 0...19 (full vectors and padded tails) writes exactly `count` values.
    @Test("sigmoid: tails are computed and nothing past count is written")
    func sigmoidTails() {
        for count in 0...19 {
            let x = (0..<count).map { Float($0) * 0.5 - 4 }
            var y = [Float](repeating: 7, count: count + 3)
            x.withUnsafeBufferPointer { xb in
                y.withUnsafeMutableBufferPointer { yb in
                    if let xp = xb.baseAddress { Kernels.sigmoid(xp, yb.baseAddress!, count: count) }
                }
            }
            for i in 0..<count { #expect(y[i] == Kernels.sigmoid(x[i]), "count \(count) index \(i)") }
            #expect(Array(y[count...]) == [7, 7, 7], "count \(count)")
        }
    }

    /// Splitting work over threads gives the same chunks for the same thread count, covers the
    /// range exactly once, and runs small inputs on one chunk.
    @Test("parallelFor: chunks cover the range once; element-wise results equal at 1 and 2 threads")
    func parallelFor() {
        for chunks in 1...3 {
            for count in [0, 1, 5, 100, 100_003] {
                var covered = 0, next = 0
                for c in 0..<chunks {
                    let r = ComputeThreads.chunkRange(c, of: chunks, count: count)
                    #expect(r.lowerBound == next)
                    next = r.upperBound
                    covered += r.count
                }
                #expect(covered == count && next == count)
            }
        }
        // Task-local chunk counts: the process-wide thread count (OpenBLAS) is never changed here.
        ComputeThreads.$chunksOverride.withValue(2) {
            #expect(ComputeThreads.chunkCount(1000) == 1)
            #expect(ComputeThreads.chunkCount(100_000) == 2)
        }
        let n = 100_003
        let x = (0..<n).map { Float($0 % 977) * 0.01 - 4 }
        func run() -> [Float] {
            var out = [Float](repeating: 0, count: n)
            x.withUnsafeBufferPointer { xb in
                out.withUnsafeMutableBufferPointer { ob in
                    let xp = xb.baseAddress!, op = ob.baseAddress!
                    ComputeThreads.parallelFor(n) { r in Kernels.sigmoid(xp + r.lowerBound, op + r.lowerBound, count: r.count) }
                }
            }
            return out
        }
        let two = ComputeThreads.$chunksOverride.withValue(2) { run() }
        let one = ComputeThreads.$chunksOverride.withValue(1) { run() }
        #expect(one.map(\.bitPattern) == two.map(\.bitPattern))
    }
}

@Suite("Kernels: broadcasts, sums, axpy, scale, mean, bytes")
struct KernelBasicsTests {
    @Test("broadcastRows, accumulateColumnSums, axpy, scale, mean, bytesToFloat")
    func kernels() {
        let y = Tensor(shape: [3, 2])
        let bias: [Float] = [1, -2]
        bias.withUnsafeBufferPointer { Kernels.broadcastRows($0.baseAddress!, into: y.data, rows: 3, n: 2) }
        #expect(y.array == [1, -2, 1, -2, 1, -2])

        let x = Tensor(shape: [3, 2], values: [1, 2, 3, 4, 5, 6])
        var sums: [Float] = [10, 20]
        sums.withUnsafeMutableBufferPointer { Kernels.accumulateColumnSums(x.data, rows: 3, n: 2, into: $0.baseAddress!) }
        #expect(sums == [19, 32])
        // The SIMD paths: one column (8 row lanes), 16-column passes, the 8 + 4 + 2 + 1 lane tail; every row count.
        for n in [1, 2, 3, 7, 8, 10, 15, 16, 17, 31, 128] {
            for rows in [0, 1, 7, 9, 16, 200] {
                let m = randomTensor([max(rows, 1), n], seed: UInt64(rows * 31 + n))
                var got = (0..<n).map { Float($0) }
                got.withUnsafeMutableBufferPointer { Kernels.accumulateColumnSums(m.data, rows: rows, n: n, into: $0.baseAddress!) }
                for j in 0..<n {
                    let want = Double(j) + (0..<rows).reduce(0.0) { $0 + Double(m[$1 * n + j]) }
                    #expect(abs(Double(got[j]) - want) <= 1e-5 * max(1, abs(want)), "rows \(rows) n \(n) column \(j)")
                }
                if n > 1 {   // every column summed over the rows in order, then added: these exact bits
                    let exact = (0..<n).map { j in Float(j) + (0..<rows).reduce(Float(0)) { $0 + m[$1 * n + j] } }
                    #expect(got == exact, "rows \(rows) n \(n)")
                }
                let b = (0..<n).map { Float($0) - 2.5 }
                let out = Tensor(shape: [rows + 1, n])
                out.fill(99)
                b.withUnsafeBufferPointer { Kernels.broadcastRows($0.baseAddress!, into: out.data, rows: rows, n: n) }
                #expect(out.array == Array((0..<rows).map { _ in b }.joined()) + [Float](repeating: 99, count: n), "rows \(rows) n \(n)")
            }
        }

        let z = Tensor(shape: [6], values: [1, 1, 1, 1, 1, 1])
        Kernels.axpy(-2, x.data, z.data, count: 6)
        #expect(z.array == [-1, -3, -5, -7, -9, -11])
        Kernels.scale(z.data, by: -0.5, count: 6)
        #expect(z.array == [0.5, 1.5, 2.5, 3.5, 4.5, 5.5])
        #expect(Kernels.mean(x.data, count: 6) == 3.5)
        #expect(Kernels.mean(x.data, count: 0) == 0)

        let bytes: [UInt8] = [0, 128, 255]
        let out = Tensor(shape: [3])
        bytes.withUnsafeBufferPointer { Kernels.bytesToFloat($0.baseAddress!, out.data, count: 3, scale: 2 / 255, offset: -1) }
        #expect(out[0] == -1 && abs(out[2] - 1) < 1e-6 && abs(out[1] - (256.0 / 255 - 1)) < 1e-6)
    }

    /// `Kernels.tanh` against glibc's `tanhf`, bit for bit: every 251st float bit pattern (17
    /// million, both signs, NaNs compared as NaN), every float in [-1/64, 1/64] around the cases of
    /// expm1f's reduction (|2x| = ln2 / 2, 1.5 ln2, and x = 1, 22), and arrays of every length
    /// 0...40 at odd offsets (the masked last lanes). All 2^32 inputs were compared once when the
    /// kernel was written (tanh.c).
    @Test("tanh: glibc's tanhf bit for bit (strided sweep of every float, edges, tails)")
    func tanhMatchesGlibc() {
        func check(_ x: [Float]) {
            var y = [Float](repeating: 0, count: x.count)
            x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { Kernels.tanh(xp.baseAddress!, $0.baseAddress!, count: x.count) } }
            var bad = 0
            for i in x.indices {
                let expected = tanhf(x[i])
                if y[i].bitPattern != expected.bitPattern && !(y[i].isNaN && expected.isNaN) {
                    if bad < 5 { Issue.record("tanh(\(x[i]) = 0x\(String(x[i].bitPattern, radix: 16))) = \(y[i]), glibc \(expected)") }
                    bad += 1
                }
            }
            #expect(bad == 0, "\(bad) of \(x.count) differ")
        }
        var strided: [Float] = []
        strided.reserveCapacity(1 << 24)
        var b: UInt64 = 0
        while b < 1 << 32 { strided.append(Float(bitPattern: UInt32(b))); b += 251 }
        check(strided)
        for center: Float in [0, 0.34657359 / 2 * 2, 1.0397208 / 2, 1, 22, 7.5, 19.5] {
            var around: [Float] = []
            var v = center
            for _ in 0..<20000 { around.append(v); around.append(-v); v = v.nextDown }
            v = center
            for _ in 0..<20000 { around.append(v); v = v.nextUp }
            check(around)
        }
        check([0, -0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1e-20, -3e-7, 9.5e-7])
        let values: [Float] = (0..<48).map { Float($0) * 0.37 - 8 }
        for n in 0...40 {
            for offset in [0, 1, 3] where offset + n <= values.count { check(Array(values[offset..<(offset + n)])) }
        }
    }
}
