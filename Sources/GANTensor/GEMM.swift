import CBLAS

/// Row-major single-precision matrix product through OpenBLAS:
/// `C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C`, where `op(X)` is `X` or `Xᵀ`.
///
/// Transposes are expressed with the BLAS flags, never materialised. `lda`, `ldb`, `ldc` are the
/// row strides of A, B and C as stored (A is `[m, k]` or, when `transA`, `[k, m]`).
///
/// Products within `SmallGEMM`'s limits skip BLAS. That path is off by default: measured with
/// `gan-bench --model gemm_small`, OpenBLAS beat this plain loop on every toy-MLP product but one
/// (Benchmarks/README.md), so it stays opt-in until a faster tiny kernel earns its place.
@inlinable
public func gemm(
    transA: Bool = false, transB: Bool = false,
    m: Int, n: Int, k: Int,
    alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int
) {
    if m == 0 || n == 0 { return }
    if SmallGEMM.applies(m: m, n: n, k: k) {
        SmallGEMM.run(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                      a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        return
    }
    cblas_sgemm(CblasRowMajor,
                transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha,
                a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// `gemm` on tensors seen as matrices `[rows, columns]` (first dimension x the rest).
/// `c` is resized to `[m, n]` (no allocation when its capacity suffices).
public func gemm(_ a: Tensor, transposed transA: Bool = false,
                 _ b: Tensor, transposed transB: Bool = false,
                 into c: Tensor, alpha: Float = 1, beta: Float = 0) {
    let (ar, ac) = (a.rows, a.columns)
    let (br, bc) = (b.rows, b.columns)
    let m = transA ? ac : ar, k = transA ? ar : ac
    let k2 = transB ? bc : br, n = transB ? br : bc
    precondition(k == k2, "gemm: inner dimensions differ: op(A) is [\(m), \(k)], op(B) is [\(k2), \(n)]")
    if beta != 0 {
        precondition(c.rows == m && c.columns == n, "gemm: C is \(c.shape), expected [\(m), \(n)] with beta != 0")
    } else if !(c.shape.count == 2 && c.shape[0] == m && c.shape[1] == n) && !(c.rows == m && c.columns == n) {
        c.resize([m, n])
    }
    gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
         a: a.data, lda: ac, b: b.data, ldb: bc, beta: beta, c: c.data, ldc: n)
}

/// Plain-loop matrix product for products too small for BLAS to pay off (the toy systems' 1-10-10-1
/// MLPs). Loops are ordered so that the innermost one runs over contiguous memory and vectorises.
public enum SmallGEMM {
    /// Largest `m * n * k` handled without BLAS; 0 (the default) disables the path. Set it only
    /// from a `gan-bench --model gemm_small` measurement (see Benchmarks/README.md).
    nonisolated(unsafe) public static var maxWork = 0
    /// Every dimension must also be at most this.
    public static let maxDimension = 128

    @inlinable
    public static func applies(m: Int, n: Int, k: Int) -> Bool {
        m <= maxDimension && n <= maxDimension && k <= maxDimension && m * n * k <= maxWork
    }

    @inlinable
    public static func run(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                           beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        for i in 0..<m {
            let ci = c + i * ldc
            if beta == 0 {
                ci.update(repeating: 0, count: n)
            } else if beta != 1 {
                for j in 0..<n { ci[j] *= beta }
            }
        }
        if !transB {
            // C[i, :] += alpha * A(i, p) * B[p, :]  (B rows contiguous)
            for i in 0..<m {
                let ci = c + i * ldc
                for p in 0..<k {
                    let aip = alpha * (transA ? a[p * lda + i] : a[i * lda + p])
                    let bp = b + p * ldb
                    for j in 0..<n { ci[j] += aip * bp[j] }
                }
            }
        } else if !transA {
            // C[i, j] = alpha * dot(A[i, :], B[j, :])  (both rows contiguous)
            for i in 0..<m {
                let ai = a + i * lda, ci = c + i * ldc
                for j in 0..<n {
                    let bj = b + j * ldb
                    var s: Float = 0
                    for p in 0..<k { s += ai[p] * bj[p] }
                    ci[j] += alpha * s
                }
            }
        } else {
            for i in 0..<m {
                let ci = c + i * ldc
                for j in 0..<n {
                    var s: Float = 0
                    for p in 0..<k { s += a[p * lda + i] * b[j * ldb + p] }
                    ci[j] += alpha * s
                }
            }
        }
    }
}
