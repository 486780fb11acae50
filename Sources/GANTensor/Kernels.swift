/// Element-wise and reduction kernels over raw buffers. Loops are written over contiguous memory
/// with no calls inside, so the optimiser vectorises them.
public enum Kernels {
    /// Each of the `rows` rows of `y` (`[rows, n]`) := `bias`.
    @inlinable
    public static func broadcastRows(_ bias: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
        // A plain loop: a memcpy call per row costs more than the copy for short rows (toy MLPs).
        for r in 0..<rows { let yr = y + r * n; for j in 0..<n { yr[j] = bias[j] } }
    }

    /// `sums[j] += Σ_r x[r, j]` for `x` of shape `[rows, n]` (bias gradients).
    @inlinable
    public static func accumulateColumnSums(_ x: UnsafePointer<Float>, rows: Int, n: Int, into sums: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let xr = x + r * n
            for j in 0..<n { sums[j] += xr[j] }
        }
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
        var t = -x
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
        var y = 1 / (1 + er * scale)
        y = -x > 88.72283935 ? 0 : y     // expf(-x) = inf
        return x.isNaN ? x : y
    }

    /// `y[i] = sigmoid(x[i])`, vectorised.
    @inlinable
    public static func sigmoid(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] = sigmoid(x[i]) }
    }
}
