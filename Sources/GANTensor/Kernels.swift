import CMathShim

/// Element-wise and reduction kernels over raw buffers. Loops are written over contiguous memory
/// with no calls inside, so the optimiser vectorises them.
public enum Kernels {
    /// Each of the `rows` rows of `y` (`[rows, n]`) := `bias`.
    @inlinable
    public static func broadcastRows(_ bias: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
        if rows == 0 { return }
        // Row 0 from the bias, then the filled prefix copied onto the rest, doubling: log2(rows)
        // contiguous copies instead of a short copy per row (toy MLPs: 10 values per row).
        y.update(from: bias, count: n)
        var filled = 1
        while filled < rows {
            let c = min(filled, rows - filled)
            (y + filled * n).update(from: y, count: c * n)
            filled += c
        }
    }

    /// `sums[j] += Σ_r x[r, j]` for `x` of shape `[rows, n]` (bias gradients). Each column's rows
    /// are summed first (in row order, one lane per column; a single column in 8 row lanes, added
    /// pairwise), then added to `sums[j]`: a fixed order for a given shape.
    @inlinable
    public static func accumulateColumnSums(_ x: UnsafePointer<Float>, rows: Int, n: Int, into sums: UnsafeMutablePointer<Float>) {
        if n == 1 {
            var acc = SIMD8<Float>.zero
            var r = 0
            while rows - r >= 8 {
                acc += UnsafeRawPointer(x + r).loadUnaligned(as: SIMD8<Float>.self)
                r += 8
            }
            let a4 = acc.lowHalf + acc.highHalf, a2 = a4.lowHalf + a4.highHalf
            var s = a2.x + a2.y
            while r < rows { s += x[r]; r += 1 }
            sums[0] += s
            return
        }
        // Every column is summed over the rows in order, each in its own lane; the columns of one
        // pass over the rows are independent chains of adds, so their latencies overlap: 16
        // columns per pass, then whatever is left (8 + 4 + 2 + 1 lanes at most) in one more pass.
        var j = 0
        while n - j >= 16 {
            var a = SIMD8<Float>.zero, b = SIMD8<Float>.zero
            for r in 0..<rows {
                let row = UnsafeRawPointer(x + r * n + j)
                a += row.loadUnaligned(as: SIMD8<Float>.self)
                b += row.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
            }
            addLanes(a, into: sums + j)
            addLanes(b, into: sums + j + 8)
            j += 16
        }
        let t = n - j, has8 = t >= 8, u = has8 ? t - 8 : t
        if t == 0 { return }
        let j4 = j + (has8 ? 8 : 0), j2 = j4 + (u & 4), j1 = j2 + (u & 2)
        var a8 = SIMD8<Float>.zero, a4 = SIMD4<Float>.zero, a2 = SIMD2<Float>.zero, a1: Float = 0
        let o8 = j &* 4, o4 = j4 &* 4, o2 = j2 &* 4, o1 = j1 &* 4, rowBytes = n &* 4
        var row = UnsafeRawPointer(x)
        for _ in 0..<rows {
            if has8 { a8 += row.loadUnaligned(fromByteOffset: o8, as: SIMD8<Float>.self) }
            if u & 4 != 0 { a4 += row.loadUnaligned(fromByteOffset: o4, as: SIMD4<Float>.self) }
            if u & 2 != 0 { a2 += row.loadUnaligned(fromByteOffset: o2, as: SIMD2<Float>.self) }
            if u & 1 != 0 { a1 += row.load(fromByteOffset: o1, as: Float.self) }
            row += rowBytes
        }
        if has8 { addLanes(a8, into: sums + j) }
        if u & 4 != 0 { addLanes(a4, into: sums + j4) }
        if u & 2 != 0 { addLanes(a2, into: sums + j2) }
        if u & 1 != 0 { sums[j1] += a1 }
    }

    /// `p[0..<lanes] += v`.
    @inlinable @inline(__always)
    static func addLanes<V: SIMD>(_ v: V, into p: UnsafeMutablePointer<Float>) where V.Scalar == Float {
        let out = UnsafeMutableRawPointer(p)
        out.storeBytes(of: out.loadUnaligned(as: V.self) + v, as: V.self)
    }

    /// `y[i] += alpha * x[i]`.
    @inlinable
    public static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] += alpha * x[i] }
    }

    /// `x[i] *= alpha`.
    @inlinable
    public static func scale(_ x: UnsafeMutablePointer<Float>, by alpha: Float, count: Int) {
        for i in 0..<count { x[i] *= alpha }
    }

    /// Mean of `count` values, accumulated in Double.
    @inlinable
    public static func mean(_ x: UnsafePointer<Float>, count: Int) -> Double {
        if count == 0 { return 0 }
        var s = 0.0
        for i in 0..<count { s += Double(x[i]) }
        return s / Double(count)
    }

    /// `y[i] = scale * Float(u[i]) + offset`: uint8 images to model units inside the step.
    @inlinable
    public static func bytesToFloat(_ u: UnsafePointer<UInt8>, _ y: UnsafeMutablePointer<Float>, count: Int,
                                    scale: Float, offset: Float) {
        for i in 0..<count { y[i] = Float(u[i]) * scale + offset }
    }
}

// MARK: - Logistic sigmoid

extension Kernels {
    /// `1 / (1 + e^-x)` with e^-x from a Cephes-style exp (range reduction by ln 2 in two parts,
    /// degree-5 polynomial, 2^n through the exponent bits), written as straight-line selects so
    /// the loop in `sigmoid(_:_:count:)` vectorises (8 lanes with AVX2) instead of calling `expf`
    /// per element. The vectorised loop computes exactly these bits (same operations per lane, no
    /// FMA contraction). Agrees with `1 / (1 + expf(-x))` to a few ulp for x >= -88.37 (below that
    /// both are denormal or 0); as there: e^-x overflows (x < -88.72...) → exactly 0, large x →
    /// 1, NaN stays NaN.
    @inlinable @inline(__always)
    public static func sigmoid(_ x: Float) -> Float {
        var y = 1 / (1 + exp(-x))
        y = -x > 88.72283935 ? 0 : y     // expf(-x) = inf
        return x.isNaN ? x : y
    }

    /// e^t for t clamped to [-87.33, 88.37626] (so never 0 or inf; callers select the edge cases),
    /// straight-line code that vectorises: the exp of `sigmoid` and `softplusTerms`.
    @inlinable @inline(__always)
    public static func exp(_ x: Float) -> Float {
        var t = x
        t = t < -87.33 ? -87.33 : t
        t = t > 88.37626 ? 88.37626 : t
        // t = n·ln2 + r, |r| <= ln2 / 2. n = round(t·log2 e) by adding 1.5·2^23, which leaves n in
        // the low mantissa bits (no float-to-int conversion in the loop).
        let shifted = t * 1.442695040888963 + 12_582_912
        let n = shifted - 12_582_912
        let r = t - n * 0.693359375 + n * 2.12194440e-4
        var p: Float = 1.9875691500e-4
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let er = p * (r * r) + r + 1
        let nBits = Int32(bitPattern: shifted.bitPattern) &- 0x4B40_0000   // = n, in [-126, 127]
        let scale = Float(bitPattern: UInt32(bitPattern: (nBits &+ 127) &<< 23))
        return er * scale
    }

    /// log(1 + e) for e in [0, 1] (Cephes logf's polynomial): for e <= √2 − 1 the polynomial in e
    /// itself, so tiny e keeps full relative precision (as log1pf); above, ln 2 + log1p((e − 1) / 2).
    /// Within a few ulp of `log1pf`; straight-line code that vectorises.
    @inlinable @inline(__always)
    public static func log1pUnit(_ e: Float) -> Float {
        let high = e > 0.41421356
        let x = high ? (e - 1) * 0.5 : e
        let z = x * x
        var p: Float = 7.0376836292e-2
        p = p * x - 1.1514610310e-1
        p = p * x + 1.1676998740e-1
        p = p * x - 1.2420140846e-1
        p = p * x + 1.4249322787e-1
        p = p * x - 1.6668057665e-1
        p = p * x + 2.0000714765e-1
        p = p * x - 2.4999993993e-1
        p = p * x + 3.3333331174e-1
        var y = p * x * z
        y = high ? y - 2.12194440e-4 : y
        y = y - 0.5 * z
        let r = x + y
        return high ? r + 0.693359375 : r
    }

    /// For each logit x: `softplusTail[i] = log(1 + e^-|x|)` and `sigmoid[i] = 1 / (1 + e^-x)`,
    /// from one exp per element (softplus(x) = max(x, 0) + softplusTail, kept apart so that callers
    /// subtracting x do not cancel). Vectorised; NaN logits give NaN.
    @inlinable
    public static func softplusTerms(_ x: UnsafePointer<Float>, count: Int,
                                     softplusTail: UnsafeMutablePointer<Float>, sigmoid: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            let v = x[i]
            let e = exp(-abs(v))                 // in (0, 1]; e^-88 clamps to ~1e-38, log1p ~ e: fine
            softplusTail[i] = v.isNaN ? v : log1pUnit(e)
            let inv = 1 / (1 + e)
            let sg = v >= 0 ? inv : e * inv
            sigmoid[i] = v.isNaN ? v : sg
        }
    }

    /// `y[i] = sigmoid(x[i])`, vectorised.
    @inlinable
    public static func sigmoid(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] = sigmoid(x[i]) }
    }

    /// `y[i] = tanhf(x[i])` with glibc's bits (every float input checked once, all 2^32 of them):
    /// sixteen lanes at a time with AVX-512, glibc's own tanhf elsewhere (CMathShim/tanh.c). At
    /// 786,432 values (dcgan64's G output), 9.8 ms -> 0.8 ms on Zen 5.
    public static func tanh(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        gan_tanhf(x, y, count)
    }
}
