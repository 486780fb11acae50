/// Element-wise and reduction kernels over raw buffers. Loops are written over contiguous memory
/// with no calls inside, so the optimiser vectorises them.
public enum Kernels {
    /// Each of the `rows` rows of `y` (`[rows, n]`) := `bias`.
    @inlinable
    public static func broadcastRows(_ bias: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
        for r in 0..<rows { (y + r * n).update(from: bias, count: n) }
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
