import CBLAS
import CDNNL

/// Row-major single-precision matrix product through oneDNN's matmul (`OneDNN.runsMatrixProducts`)
/// or OpenBLAS:
/// `C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C`, where `op(X)` is `X` or `Xᵀ`.
///
/// Transposes are expressed with the BLAS flags, never materialised. `lda`, `ldb`, `ldc` are the
/// row strides of A, B and C as stored (A is `[m, k]` or, when `transA`, `[k, m]`).
///
/// Products within `SmallGEMM`'s limits (`SmallGEMM.applies`: m·n·k <= `SmallGEMM.maxWork` and more)
/// skip BLAS and run a register-blocked SIMD kernel: on the toy MLPs' products OpenBLAS's per-call
/// overhead dominates (`gan-bench --model gemm_small`, Benchmarks/README.md).
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
    if SmallGEMM.applies(transA: transA, transB: transB, m: m, n: n, k: k) {
        SmallGEMM.run(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                      a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        return
    }
    largeGEMM(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
              a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
}

/// A product above `SmallGEMM`'s limits: oneDNN's matmul where it runs the products
/// (`OneDNN.runsMatrixProducts`), split over `ComputeThreads` by blocks of C's longer side, one
/// single-threaded oneDNN call per block, so the bits depend on the thread count only as OpenBLAS's
/// do; else OpenBLAS (its own threads). A shape oneDNN has no matmul for goes to OpenBLAS, always.
@usableFromInline
func largeGEMM(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
               a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
               beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    guard OneDNN.runsMatrixProducts, k > 0 else {
        blasGEMM(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        return
    }
    let byRows = m >= n
    ComputeThreads.parallelFor(byRows ? m : n, grain: max(1, (byRows ? n : m) * k / 16)) { part in
        let lo = part.lowerBound, count = part.count
        // Rows lo..<lo+count of C (those rows of op(A)), or its columns (those columns of op(B)).
        let (pm, pn) = byRows ? (count, n) : (m, count)
        let pa = byRows ? (transA ? a + lo : a + lo * lda) : a
        let pb = byRows ? b : (transB ? b + lo * ldb : b + lo)
        let pc = byRows ? c + lo * ldc : c + lo
        let status = gan_matmul(transA ? 1 : 0, transB ? 1 : 0, pm, pn, k, alpha, pa, lda, pb, ldb, beta, pc, ldc)
        if status == 1 {
            blasGEMM(transA: transA, transB: transB, m: pm, n: pn, k: k, alpha: alpha, a: pa, lda: lda, b: pb, ldb: ldb,
                     beta: beta, c: pc, ldc: ldc)
        } else {
            precondition(status == 0, "gemm: oneDNN's matmul failed for [\(pm), \(k)] x [\(k), \(pn)]")
        }
    }
}

/// `C[m, n] = op(A) · op(B) + bias` with `bias[n]` added to every row (a layer's bias), the bits
/// of `Kernels.broadcastRows` into C followed by `gemm` with beta 1. The SmallGEMM kernel reads the
/// bias in place of C's old rows, which saves a pass over C; BLAS products broadcast first.
///
/// One row times a transposed B (a Linear layer on one sample: `gan-sample generate -n 1`, a served
/// count=1 request) goes to `cblas_sgemv` instead, after the broadcast, when the products run on
/// OpenBLAS: its sgemm packs the whole of B on every call, and with its Haswell kernels a
/// 1x400 · 400x784 product took 30x sgemv's time (Benchmarks/README.md). oneDNN's matmul gives a
/// row the same bits whatever rows are stacked with it (`OneDNNRowTests`), one row included, so
/// there it keeps the row (~28 µs for 1x400 · 400x784 against sgemv's ~7 µs on Zen 5): scoring
/// one file gives the bits of scoring it in a folder. No training step has a one-row Linear product.
///
/// With an `epilogue` (the activation after a Linear layer) every element of C is then mapped by
/// it: as the SmallGEMM kernel stores it, else in a pass after the product; the bits of the
/// activation's own pass either way.
@inlinable
public func gemm(
    transA: Bool = false, transB: Bool = false,
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    addingRow bias: UnsafePointer<Float>,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    epilogue: SmallGEMMEpilogue = .none
) {
    if m == 0 || n == 0 { return }
    if SmallGEMM.applies(transA: transA, transB: transB, m: m, n: n, k: k) {
        SmallGEMM.run(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1,
                      a: a, lda: lda, b: b, ldb: ldb, beta: 1, c: c, ldc: ldc, rowBias: bias, epilogue: epilogue)
        return
    }
    defer { epilogue.apply(to: c, rows: m, columns: n, ldc: ldc) }
    if ldc == n {
        Kernels.broadcastRows(bias, into: c, rows: m, n: n)
    } else {
        for i in 0..<m { (c + i * ldc).update(from: bias, count: n) }
    }
    if m == 1 && !transA && transB && !OneDNN.runsMatrixProducts {
        // c[j] += Σ_p a[p] · B[j, p]: B stored [n, k] with row stride ldb.
        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), 1, b, Int32(ldb), a, 1, 1, c, 1)
        return
    }
    largeGEMM(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1,
              a: a, lda: lda, b: b, ldb: ldb, beta: 1, c: c, ldc: ldc)
}

/// `C[m, n] = alpha · Aᵀ · op(B) + beta · C` for A stored `[k, m]` (lda = m), and
/// `sums[i] += Σ_p A[p, i]`: a Linear layer's weight and bias gradients from one call
/// (dW += dyᵀ · x, db += column sums of dy). The sums have the bits of
/// `Kernels.accumulateColumnSums(a, rows: k, n: m, into: sums)`; the SmallGEMM kernel forms them in
/// its pass over A instead of a second pass.
@inlinable
public func gemm(
    transB: Bool = false,
    m: Int, n: Int, k: Int,
    alpha: Float = 1,
    transposedA a: UnsafePointer<Float>,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    addingColumnSumsOfATo sums: UnsafeMutablePointer<Float>
) {
    if m > 0 && n > 0 && SmallGEMM.applies(transA: true, transB: transB, m: m, n: n, k: k) {
        SmallGEMM.run(transA: true, transB: transB, m: m, n: n, k: k, alpha: alpha,
                      a: a, lda: m, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, rowSums: sums)
        return
    }
    gemm(transA: true, transB: transB, m: m, n: n, k: k, alpha: alpha,
         a: a, lda: m, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    if m > 0 { Kernels.accumulateColumnSums(a, rows: k, n: m, into: sums) }
}

/// `gemm` always through OpenBLAS, whatever the shape (tests and `gan-bench --model gemm_small`
/// compare `SmallGEMM` with it).
public func blasGEMM(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    if m == 0 || n == 0 { return }
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

/// Register-blocked SIMD kernel for products too small for BLAS to pay off (the toy systems'
/// 1-10-10-10-1 MLPs at batch 100, where OpenBLAS spends most of each call on per-call work:
/// argument checks, buffer allocation, packing). The kernel is in SmallGEMMKernel.swift.
public enum SmallGEMM {
    /// Largest `m * n * k` handled without BLAS; 0 disables the path. Chosen from the
    /// `gan-bench --model gemm_small` table (Benchmarks/README.md): the kernel takes 0.16-0.7x
    /// BLAS's time on the toy MLPs' products at batch 100-400 and on 16³-32³ cubes (32,768), and
    /// loses from 64³ on, where BLAS's packed AVX2/FMA micro-kernel outweighs its call overhead.
    /// The choice depends only on the shape, never on timing, so results are bitwise reproducible.
    nonisolated(unsafe) public static var maxWork = 32_768
    /// Every dimension must also be at most this.
    public static let maxDimension = 512

    /// The kernel's two weak spots, measured on grid25's products: a transposed B that does not fit
    /// the kernel's 256-float stack buffer in one inner-dimension block (100x4x128 with Bᵀ: 1.1x
    /// BLAS's time), and a transposed A feeding panels of 1-2 columns over a long A
    /// (128x100x2 with Aᵀ: 1.4x).
    @inlinable
    public static func applies(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int) -> Bool {
        m <= maxDimension && n <= maxDimension && k <= maxDimension && m * n * k <= maxWork
            && !(transB && k * n > 256) && !(transA && n <= 2 && m * k > 8192)
    }

    /// `C[m, n] = alpha * op(A) * op(B) + beta * C` with `gemm`'s conventions (row-major, C not read
    /// when beta == 0), any sizes; single-threaded, fixed summation order. With `rowBias` ([n]),
    /// C's old rows are taken to be that row (`gemm(addingRow:)`); with `rowSums` ([m], needs
    /// `transA` and lda = m), `rowSums[i] += Σ_p op(A)(i, p)` (`gemm(transposedA:addingColumnSumsOfATo:)`).
    public static func run(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                           beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                           rowBias: UnsafePointer<Float>? = nil, rowSums: UnsafeMutablePointer<Float>? = nil,
                           epilogue: SmallGEMMEpilogue = .none) {
        kernel(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
               a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, rowBias: rowBias, rowSums: rowSums,
               epilogue: epilogue)
    }

    /// `run` on the portable Swift panels even where `usesAVX512` picks CMathShim's AVX-512 ones:
    /// tests compare the two bit for bit.
    @_spi(Testing)
    public static func runPortable(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                                   a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                   beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                                   rowBias: UnsafePointer<Float>? = nil, rowSums: UnsafeMutablePointer<Float>? = nil,
                                   epilogue: SmallGEMMEpilogue = .none) {
        kernel(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
               beta: beta, c: c, ldc: ldc, rowBias: rowBias, rowSums: rowSums, epilogue: epilogue, avx512: false)
    }
}


/// An element-wise map a product applies to C as it stores it: the activation after a Linear
/// layer, with the bits of that activation's own pass (`ReLU`: v <= 0 ? 0 : v, the `max(v, 0)` of
/// its scalar form; `LeakyReLU`: v > 0 ? v : a · v).
public enum SmallGEMMEpilogue: Equatable, Sendable {
    case none
    case relu
    case leakyReLU(Float)

    /// Maps the `rows` x `columns` elements of C (row stride `ldc`) in place.
    @inlinable
    public func apply(to c: UnsafeMutablePointer<Float>, rows: Int, columns: Int, ldc: Int) {
        switch self {   // once, outside the loops, so that each loop is a plain select that vectorises
        case .none: return
        case .relu:
            for i in 0..<rows {
                let ci = c + i * ldc
                for j in 0..<columns { ci[j] = max(ci[j], 0) }
            }
        case .leakyReLU(let a):
            for i in 0..<rows {
                let ci = c + i * ldc
                for j in 0..<columns { let v = ci[j]; ci[j] = v > 0 ? v : a * v }
            }
        }
    }

    /// CMathShim's `act` and `leak` arguments (`gan_small_panels`, `gan_mlp_layer`).
    public var code: (act: Int32, leak: Float) {
        switch self {
        case .none: return (0, 0)
        case .relu: return (1, 0)
        case .leakyReLU(let a): return (2, a)
        }
    }
}
