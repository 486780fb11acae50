import CMathShim
import Foundation

/// The register-blocked kernel behind `SmallGEMM.run`: tiny row-major products (the toy systems'
/// 1-10-10-10-1 MLPs at batch 100) without the per-call cost of BLAS (argument checks, buffer
/// allocation, packing both operands, a generic micro-kernel sized for large matrices).
///
/// Layout: C is computed in column panels whose widths come from {8, 4, 2, 1} lanes (a panel of 10
/// is one 8 + 2 pair, so no lane of a load or store falls outside the matrix and nothing is
/// padded), and within a panel in blocks of up to 4 rows whose accumulators stay in registers
/// while the inner dimension runs. Row i of `op(B)` is read as a vector; `op(A)(i, p)` is a scalar
/// broadcast. When B is transposed it is first copied into a small stack buffer as `op(B)`
/// (`[kc, n]`, kc·n <= 256 floats, the inner dimension in blocks when that does not fit).
///
/// Determinism: every C element is `alpha · (Σ_p a·b) + beta · c` with the sum taken in increasing
/// p (one k block when B is not transposed or k·n <= 256), independent of the panel or row block it
/// falls in; no threads, no runtime dispatch. Without FMA contraction (generic x86-64 build) each
/// product is rounded before it is added.
protocol SmallGEMMLanes {
    static var lanes: Int { get }
    static func zeros() -> Self
    static func splat(_ x: Float) -> Self
    static func loadLanes(_ p: UnsafePointer<Float>) -> Self
    func store(_ p: UnsafeMutablePointer<Float>)
    /// self + a · b
    func adding(_ a: Self, times b: Self) -> Self
    func times(_ s: Self) -> Self
    func plus(_ s: Self) -> Self
}

extension Float: SmallGEMMLanes {
    static var lanes: Int { 1 }
    @inline(__always) static func zeros() -> Float { 0 }
    @inline(__always) static func splat(_ x: Float) -> Float { x }
    @inline(__always) static func loadLanes(_ p: UnsafePointer<Float>) -> Float { p.pointee }
    @inline(__always) func store(_ p: UnsafeMutablePointer<Float>) { p.pointee = self }
    @inline(__always) func adding(_ a: Float, times b: Float) -> Float { self + a * b }
    @inline(__always) func times(_ s: Float) -> Float { self * s }
    @inline(__always) func plus(_ s: Float) -> Float { self + s }
}

/// The vector widths share one implementation (unaligned loads and stores of the whole vector).
extension SmallGEMMLanes where Self: SIMD, Self.Scalar == Float {
    static var lanes: Int { scalarCount }
    @inline(__always) static func zeros() -> Self { .zero }
    @inline(__always) static func splat(_ x: Float) -> Self { Self(repeating: x) }
    @inline(__always) static func loadLanes(_ p: UnsafePointer<Float>) -> Self {
        UnsafeRawPointer(p).loadUnaligned(as: Self.self)
    }
    @inline(__always) func store(_ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: self, as: Self.self)
    }
    @inline(__always) func adding(_ a: Self, times b: Self) -> Self { self + a * b }
    @inline(__always) func times(_ s: Self) -> Self { self * s }
    @inline(__always) func plus(_ s: Self) -> Self { self + s }
}

extension SIMD2: SmallGEMMLanes where Scalar == Float {}
extension SIMD4: SmallGEMMLanes where Scalar == Float {}
extension SIMD8: SmallGEMMLanes where Scalar == Float {}

/// Two panels side by side handled as one (e.g. 8 + 2 lanes for 10 columns): one broadcast of
/// `op(A)(i, p)` serves both.
struct SmallGEMMPair<X: SmallGEMMLanes, Y: SmallGEMMLanes>: SmallGEMMLanes {
    var x: X
    var y: Y
    @inline(__always) init(_ x: X, _ y: Y) { self.x = x; self.y = y }
    static var lanes: Int { X.lanes + Y.lanes }
    @inline(__always) static func zeros() -> Self { Self(.zeros(), .zeros()) }
    @inline(__always) static func splat(_ s: Float) -> Self { Self(.splat(s), .splat(s)) }
    @inline(__always) static func loadLanes(_ p: UnsafePointer<Float>) -> Self {
        Self(.loadLanes(p), .loadLanes(p + X.lanes))
    }
    @inline(__always) func store(_ p: UnsafeMutablePointer<Float>) {
        x.store(p)
        y.store(p + X.lanes)
    }
    @inline(__always) func adding(_ a: Self, times b: Self) -> Self {
        Self(x.adding(a.x, times: b.x), y.adding(a.y, times: b.y))
    }
    @inline(__always) func times(_ s: Self) -> Self { Self(x.times(s.x), y.times(s.y)) }
    @inline(__always) func plus(_ s: Self) -> Self { Self(x.plus(s.x), y.plus(s.y)) }
}

/// Operands of one call, as strides: `op(A)(i, p) = a[i·ars + p·acs]`, `op(B)` row p at `b + p·ldb`.
struct SmallGEMMOperands {
    var a: UnsafePointer<Float>
    var ars: Int, acs: Int
    var b: UnsafePointer<Float>
    var ldb: Int
    var c: UnsafeMutablePointer<Float>
    var ldc: Int
    var alpha: Float, beta: Float
    /// Where `beta · C` reads C from: C itself (`ldcIn = ldc`), or one row for every row of C
    /// (`ldcIn = 0`: the bias of `gemm(addingRow:)`, never written into C first).
    var cIn: UnsafePointer<Float>
    var ldcIn: Int
    /// With `WithRowSums` blocks: `rowSums[i] += Σ_p op(A)(i, p)` (op(A)'s rows contiguous, ars = 1).
    var rowSums: UnsafeMutablePointer<Float>?
    /// Applied to every element of C as the AVX-512 panels store it (never with row sums; the
    /// Swift panels leave it to a pass after the product: inside their generic blocks it cost the
    /// portable path 3.6x on toy_1d).
    var epilogue: SmallGEMMEpilogue

    init(a: UnsafePointer<Float>, ars: Int, acs: Int, b: UnsafePointer<Float>, ldb: Int,
         c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float,
         cIn: UnsafePointer<Float>? = nil, ldcIn: Int? = nil, rowSums: UnsafeMutablePointer<Float>? = nil,
         epilogue: SmallGEMMEpilogue = .none) {
        self.a = a; self.ars = ars; self.acs = acs
        self.b = b; self.ldb = ldb
        self.c = c; self.ldc = ldc
        self.alpha = alpha; self.beta = beta
        self.cIn = cIn ?? UnsafePointer(c)
        self.ldcIn = ldcIn ?? ldc
        self.rowSums = rowSums
        self.epilogue = epilogue
    }
}

/// Whether a block also sums its rows of op(A) (a Linear layer's bias gradient, which is dW's op(A)
/// = dyᵀ summed over the batch): a type, so that the kernels without sums carry no trace of them.
/// `WithColumnSumsOfB` is the same sums when the kernel runs the product transposed (C a column
/// computed as the row Cᵀ = bᵀ·A, where A's rows are the panels' B rows).
protocol SmallGEMMRowSumMode {
    static var rowsOfA: Bool { get }
    static var columnsOfB: Bool { get }
}
enum NoRowSums: SmallGEMMRowSumMode {
    static var rowsOfA: Bool { false }
    static var columnsOfB: Bool { false }
}
enum WithRowSums: SmallGEMMRowSumMode {
    static var rowsOfA: Bool { true }
    static var columnsOfB: Bool { false }
}
enum WithColumnSumsOfB: SmallGEMMRowSumMode {
    static var rowsOfA: Bool { false }
    static var columnsOfB: Bool { true }
}

extension SmallGEMM {
    /// Whether `panels` runs in CMathShim's 16-lane AVX-512 copy (`gan_small_panels`, the same bits):
    /// on CPUs with AVX-512 F unless `SWIFTGAN_SMALLGEMM=swift` (`runPortable` is the other path).
    public static let usesAVX512: Bool = gan_small_panels_available() != 0
        && ProcessInfo.processInfo.environment["SWIFTGAN_SMALLGEMM"] != "swift"

    /// C[i, j..<j+V.lanes] of `rows` (1...4) rows starting at `i`. With `S == WithRowSums` also
    /// `o.rowSums[i + r] += Σ_p op(A)(i + r, p)`, each row's sum taken from 0 in increasing p and
    /// then added: the bits of `Kernels.accumulateColumnSums` over op(A)ᵀ (needs ars = 1).
    @inline(__always)
    static func block<V: SmallGEMMLanes, S: SmallGEMMRowSumMode>(_: V.Type, _: S.Type, rows: Int, i: Int, j: Int, k: Int,
                                                                 _ o: SmallGEMMOperands) {
        let ars = o.ars, acs = o.acs, ldb = o.ldb, ldc = o.ldc
        var pa = o.a + i * ars
        var pb = o.b + j
        let alpha = V.splat(o.alpha), beta = V.splat(o.beta)
        @inline(__always) func finish(_ acc: V, _ r: Int) {
            let pc = o.c + (i + r) * ldc + j, pin = o.cIn + (i + r) * o.ldcIn + j
            // alpha = 1 and beta = 1 skip multiplications by one (same bits).
            if o.beta == 0 {
                (o.alpha == 1 ? acc : acc.times(alpha)).store(pc)
            } else if o.alpha == 1 && o.beta == 1 {
                V.loadLanes(pin).plus(acc).store(pc)
            } else {
                V.loadLanes(pin).times(beta).adding(acc, times: alpha).store(pc)
            }
        }
        switch rows {
        case 4:
            var c0 = V.zeros(), c1 = V.zeros(), c2 = V.zeros(), c3 = V.zeros(), sums = SIMD4<Float>.zero
            let r1 = ars, r2 = 2 * ars, r3 = 3 * ars
            for _ in 0..<k {
                let bv = V.loadLanes(pb)
                c0 = c0.adding(V.splat(pa[0]), times: bv)
                c1 = c1.adding(V.splat(pa[r1]), times: bv)
                c2 = c2.adding(V.splat(pa[r2]), times: bv)
                c3 = c3.adding(V.splat(pa[r3]), times: bv)
                if S.rowsOfA { sums += SIMD4.loadLanes(pa) }
                pa += acs
                pb += ldb
            }
            finish(c0, 0); finish(c1, 1); finish(c2, 2); finish(c3, 3)
            if S.rowsOfA, let out = o.rowSums { (SIMD4.loadLanes(out + i) + sums).store(out + i) }
        case 3:
            var c0 = V.zeros(), c1 = V.zeros(), c2 = V.zeros(), sums = SIMD2<Float>.zero, sum2: Float = 0
            let r1 = ars, r2 = 2 * ars
            for _ in 0..<k {
                let bv = V.loadLanes(pb)
                c0 = c0.adding(V.splat(pa[0]), times: bv)
                c1 = c1.adding(V.splat(pa[r1]), times: bv)
                c2 = c2.adding(V.splat(pa[r2]), times: bv)
                if S.rowsOfA { sums += SIMD2.loadLanes(pa); sum2 += pa[2] }
                pa += acs
                pb += ldb
            }
            finish(c0, 0); finish(c1, 1); finish(c2, 2)
            if S.rowsOfA, let out = o.rowSums {
                (SIMD2.loadLanes(out + i) + sums).store(out + i)
                out[i + 2] += sum2
            }
        case 2:
            var c0 = V.zeros(), c1 = V.zeros(), sums = SIMD2<Float>.zero
            let r1 = ars
            for _ in 0..<k {
                let bv = V.loadLanes(pb)
                c0 = c0.adding(V.splat(pa[0]), times: bv)
                c1 = c1.adding(V.splat(pa[r1]), times: bv)
                if S.rowsOfA { sums += SIMD2.loadLanes(pa) }
                pa += acs
                pb += ldb
            }
            finish(c0, 0); finish(c1, 1)
            if S.rowsOfA, let out = o.rowSums { (SIMD2.loadLanes(out + i) + sums).store(out + i) }
        default:
            var c0 = V.zeros(), sum: Float = 0, bSums = V.zeros()
            for _ in 0..<k {
                let bv = V.loadLanes(pb)
                c0 = c0.adding(V.splat(pa[0]), times: bv)
                if S.rowsOfA { sum += pa[0] }
                if S.columnsOfB { bSums = bSums.plus(bv) }
                pa += acs
                pb += ldb
            }
            finish(c0, 0)
            if S.rowsOfA, let out = o.rowSums { out[i] += sum }
            if S.columnsOfB, let out = o.rowSums { V.loadLanes(out + j).plus(bSums).store(out + j) }
        }
    }

    /// One column panel over all m rows, in blocks of `rowsPerBlock` (the last block smaller).
    @inline(__always)
    static func panel<V: SmallGEMMLanes, S: SmallGEMMRowSumMode>(_: V.Type, _: S.Type, rowsPerBlock: Int, m: Int, j: Int,
                                                                 k: Int, _ o: SmallGEMMOperands) {
        var i = 0
        while m - i >= rowsPerBlock {
            block(V.self, S.self, rows: rowsPerBlock, i: i, j: j, k: k, o)
            i += rowsPerBlock
        }
        if i < m { block(V.self, S.self, rows: m - i, i: i, j: j, k: k, o) }
    }

    /// All of C's columns for `op(B)` rows contiguous: panels of 8 (+ a narrower pair for the rest).
    /// With `S == WithRowSums` the first panel also sums op(A)'s rows into `o.rowSums`; with
    /// `WithColumnSumsOfB` (m = 1) every panel sums its columns of op(B) there.
    static func panels<S: SmallGEMMRowSumMode>(m: Int, n: Int, k: Int, _ o: SmallGEMMOperands, _: S.Type = NoRowSums.self,
                                               avx512: Bool) {
        if avx512 {
            let (act, leak) = o.epilogue.code
            gan_small_panels(m, n, k, o.a, o.ars, o.acs, o.b, o.ldb, o.c, o.ldc, o.alpha, o.beta, o.cIn, o.ldcIn, o.rowSums,
                             S.rowsOfA ? 1 : S.columnsOfB ? 2 : 0, act, leak)
            return
        }
        typealias V8 = SIMD8<Float>
        var j = 0
        // Full 8-wide panels, keeping a tail of 9...15 for the combined panels below.
        while n - j >= 16 || n - j == 8 {
            if j == 0 || S.columnsOfB {
                panel(V8.self, S.self, rowsPerBlock: 4, m: m, j: j, k: k, o)
            } else {
                panel(V8.self, NoRowSums.self, rowsPerBlock: 4, m: m, j: j, k: k, o)
            }
            j += 8
        }
        if j == 0 || S.columnsOfB {
            tailPanel(S.self, m: m, n: n, j: j, k: k, o)
        } else {
            tailPanel(NoRowSums.self, m: m, n: n, j: j, k: k, o)
        }
    }

    /// The columns j..<n (0...15 of them, not 8) as one panel of combined widths.
    @inline(__always)
    static func tailPanel<S: SmallGEMMRowSumMode>(_: S.Type, m: Int, n: Int, j: Int, k: Int, _ o: SmallGEMMOperands) {
        typealias V8 = SIMD8<Float>
        typealias V4 = SIMD4<Float>
        typealias V2 = SIMD2<Float>
        switch n - j {
        case 0: break
        case 1: panel(Float.self, S.self, rowsPerBlock: 4, m: m, j: j, k: k, o)
        case 2: panel(V2.self, S.self, rowsPerBlock: 4, m: m, j: j, k: k, o)
        case 3: panel(SmallGEMMPair<V2, Float>.self, S.self, rowsPerBlock: 4, m: m, j: j, k: k, o)
        case 4: panel(V4.self, S.self, rowsPerBlock: 4, m: m, j: j, k: k, o)
        case 5: panel(SmallGEMMPair<V4, Float>.self, S.self, rowsPerBlock: 4, m: m, j: j, k: k, o)
        case 6: panel(SmallGEMMPair<V4, V2>.self, S.self, rowsPerBlock: 4, m: m, j: j, k: k, o)
        case 7: panel(SmallGEMMPair<V4, SmallGEMMPair<V2, Float>>.self, S.self, rowsPerBlock: 4, m: m, j: j, k: k, o)
        case 9: panel(SmallGEMMPair<V8, Float>.self, S.self, rowsPerBlock: 3, m: m, j: j, k: k, o)
        case 10: panel(SmallGEMMPair<V8, V2>.self, S.self, rowsPerBlock: 4, m: m, j: j, k: k, o)
        case 11: panel(SmallGEMMPair<V8, SmallGEMMPair<V2, Float>>.self, S.self, rowsPerBlock: 3, m: m, j: j, k: k, o)
        case 12: panel(SmallGEMMPair<V8, V4>.self, S.self, rowsPerBlock: 3, m: m, j: j, k: k, o)
        case 13: panel(SmallGEMMPair<V8, SmallGEMMPair<V4, Float>>.self, S.self, rowsPerBlock: 2, m: m, j: j, k: k, o)
        case 14: panel(SmallGEMMPair<V8, SmallGEMMPair<V4, V2>>.self, S.self, rowsPerBlock: 2, m: m, j: j, k: k, o)
        case 15: panel(SmallGEMMPair<V8, SmallGEMMPair<V4, SmallGEMMPair<V2, Float>>>.self, S.self, rowsPerBlock: 2,
                       m: m, j: j, k: k, o)
        default: preconditionFailure("SmallGEMM.panels: unreachable tail \(n - j)")
        }
    }

    /// `C[i, 0] = alpha · dot(A[i, :], b[0..<k]) + beta · C[i, 0]` with A's rows contiguous: the
    /// dot product runs over k in 8 lanes (lane partial sums added pairwise, then the 4-, 2- and
    /// 1-wide tail), a fixed order.
    static func columnDots(m: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
                           c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float,
                           cIn: UnsafePointer<Float>, ldcIn: Int) {
        // The tail after the 8-lane blocks is the same for every row: decide it once.
        let k8 = k & ~7, rest = k &- k8
        let has4 = rest >= 4, has2 = rest & 2 != 0, has1 = rest & 1 != 0
        let p2 = k8 &+ (has4 ? 4 : 0), p1 = p2 &+ (has2 ? 2 : 0)
        var ai = a, ci = c, oldi = cIn
        @inline(__always) func store(_ sum: Float, _ ci: UnsafeMutablePointer<Float>, _ oldi: UnsafePointer<Float>) {
            if beta == 0 {
                ci.pointee = alpha == 1 ? sum : alpha * sum
            } else if alpha == 1 && beta == 1 {
                ci.pointee = oldi.pointee + sum
            } else {
                ci.pointee = beta * oldi.pointee + alpha * sum
            }
        }
        // Two rows at a time, their reductions side by side in the halves of one SIMD8: the same
        // operations on the same values as the one-row loop below, so the same bits.
        typealias V8 = SIMD8<Float>
        let b4 = has4 ? SIMD4.loadLanes(b + k8) : .zero
        let b2 = has2 ? V8(b[p2], b[p2 + 1], 0, 0, b[p2], b[p2 + 1], 0, 0) : .zero
        var pairs = m / 2
        while pairs > 0 {
            let a1 = ai + lda
            var acc0 = V8.zero, acc1 = V8.zero
            var p = 0
            while p < k8 {
                let bv = V8.loadLanes(b + p)
                acc0 += V8.loadLanes(ai + p) * bv
                acc1 += V8.loadLanes(a1 + p) * bv
                p &+= 8
            }
            var s4 = V8(lowHalf: acc0.lowHalf, highHalf: acc1.lowHalf) + V8(lowHalf: acc0.highHalf, highHalf: acc1.highHalf)
            if has4 { s4 += V8(lowHalf: SIMD4.loadLanes(ai + k8), highHalf: SIMD4.loadLanes(a1 + k8)) * V8(lowHalf: b4, highHalf: b4) }
            // Lanes 0, 1 (row 0) and 4, 5 (row 1) are s4.lowHalf + s4.highHalf of each row.
            var s2 = s4 + V8(s4[2], s4[3], s4[0], s4[1], s4[6], s4[7], s4[4], s4[5])
            if has2 { s2 += V8(ai[p2], ai[p2 + 1], 0, 0, a1[p2], a1[p2 + 1], 0, 0) * b2 }
            var sum0 = s2[0] + s2[1], sum1 = s2[4] + s2[5]
            if has1 {
                sum0 += ai[p1] * b[p1]
                sum1 += a1[p1] * b[p1]
            }
            store(sum0, ci, oldi)
            store(sum1, ci + ldc, oldi + ldcIn)
            ai += 2 &* lda
            ci += 2 &* ldc
            oldi += 2 &* ldcIn
            pairs &-= 1
        }
        if m & 1 != 0 {
            var acc = SIMD8<Float>.zero
            var p = 0
            while p < k8 {
                acc += SIMD8.loadLanes(ai + p) * SIMD8.loadLanes(b + p)
                p &+= 8
            }
            var s4 = acc.lowHalf + acc.highHalf
            if has4 { s4 += SIMD4.loadLanes(ai + k8) * SIMD4.loadLanes(b + k8) }
            var s2 = s4.lowHalf + s4.highHalf
            if has2 { s2 += SIMD2.loadLanes(ai + p2) * SIMD2.loadLanes(b + p2) }
            var sum = s2.x + s2.y
            if has1 { sum += ai[p1] * b[p1] }
            store(sum, ci, oldi)
        }
    }

    /// Stack buffer for a transposed B, in floats (1 KiB: always stack-allocated).
    static let packCapacity = 256

    /// `C[m, n] = alpha · op(A) · op(B) + beta · C` (row-major, BLAS semantics: C is not read when
    /// beta == 0). Any sizes; fast for small ones. With `rowBias`, C's old value is that row in
    /// every row (the bits of broadcasting it into C first, without the pass over C).
    /// With an `epilogue`, every element of C is then mapped by it: in the panels' stores where
    /// they write C's final values, else in a pass over C afterwards (the same bits).
    static func kernel(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                       a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                       beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, rowBias: UnsafePointer<Float>? = nil,
                       rowSums: UnsafeMutablePointer<Float>? = nil, epilogue: SmallGEMMEpilogue = .none,
                       avx512: Bool = usesAVX512) {
        if m <= 0 || n <= 0 { return }
        let fused = kernelBody(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                               beta: beta, c: c, ldc: ldc, rowBias: rowBias, rowSums: rowSums, epilogue: epilogue, avx512: avx512)
        if !fused { epilogue.apply(to: c, rows: m, columns: n, ldc: ldc) }
    }

    /// `kernel` without the epilogue's pass; returns whether the panels applied it (the AVX-512
    /// ones do where they write C's final values).
    private static func kernelBody(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                                   a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                   beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, rowBias: UnsafePointer<Float>?,
                                   rowSums: UnsafeMutablePointer<Float>?, epilogue: SmallGEMMEpilogue, avx512: Bool) -> Bool {
        if let sums = rowSums {
            // Fused into the panels when they run once over all of op(A) with its rows contiguous.
            if transA && !transB && m >= 2 && k > 0 && !(n == 1 && ldc == 1) && rowBias == nil {
                panels(m: m, n: n, k: k, SmallGEMMOperands(a: a, ars: 1, acs: lda, b: b, ldb: ldb, c: c, ldc: ldc,
                                                          alpha: alpha, beta: beta, rowSums: sums), WithRowSums.self, avx512: avx512)
                return false
            }
            precondition(transA && lda == m, "SmallGEMM: row sums of op(A) need Aᵀ stored as [k, m]")
            if n == 1 && ldc == 1 && m >= 2 && k > 0 && rowBias == nil {
                // The one-row product below, Cᵀ = op(B)ᵀ·A, reads A's rows as its B rows.
                let bs = transB ? 1 : ldb
                panels(m: 1, n: m, k: k, SmallGEMMOperands(a: b, ars: 0, acs: bs, b: a, ldb: lda, c: c, ldc: 0,
                                                          alpha: alpha, beta: beta, rowSums: sums), WithColumnSumsOfB.self, avx512: avx512)
                return false
            }
            Kernels.accumulateColumnSums(a, rows: k, n: m, into: sums)
        }
        var cIn = UnsafePointer(c), ldcIn = ldc
        if let bias = rowBias {
            if k <= 0 || (n == 1 && transA && ldc == 1) {
                // Paths that read C in another layout: write the rows, then run as beta · C.
                for i in 0..<m { (c + i * ldc).update(from: bias, count: n) }
            } else {
                (cIn, ldcIn) = (bias, 0)
            }
        }
        let ars = transA ? 1 : lda, acs = transA ? lda : 1
        if k <= 0 {
            for i in 0..<m {
                let ci = c + i * ldc
                if beta == 0 {
                    ci.update(repeating: 0, count: n)
                } else {
                    for j in 0..<n { ci[j] *= beta }
                }
            }
            return false
        }
        if n == 1 {
            // C is one column: vectorise over m or over k instead of over a single lane.
            let bs = transB ? 1 : ldb   // op(B)(p, 0) = b[p · bs]
            if transA && ldc == 1 {
                // Cᵀ[0, i] = Σ_p op(B)(p, 0) · a[p · lda + i]: a one-row product whose B rows are A's.
                panels(m: 1, n: m, k: k, SmallGEMMOperands(a: b, ars: 0, acs: bs, b: a, ldb: lda, c: c, ldc: 0,
                                                          alpha: alpha, beta: beta, epilogue: epilogue), avx512: avx512)
                return avx512
            }
            if !transA && (bs == 1 || k <= packCapacity) {
                if bs == 1 {
                    columnDots(m: m, k: k, a: a, lda: lda, b: b, c: c, ldc: ldc, alpha: alpha, beta: beta,
                               cIn: cIn, ldcIn: ldcIn)
                } else {
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: packCapacity) { buffer in
                        let column = buffer.baseAddress!
                        for p in 0..<k { column[p] = b[p * bs] }
                        columnDots(m: m, k: k, a: a, lda: lda, b: column, c: c, ldc: ldc, alpha: alpha, beta: beta,
                                   cIn: cIn, ldcIn: ldcIn)
                    }
                }
                return false
            }
        }
        if !transB {
            panels(m: m, n: n, k: k, SmallGEMMOperands(a: a, ars: ars, acs: acs, b: b, ldb: ldb, c: c, ldc: ldc,
                                                      alpha: alpha, beta: beta, cIn: cIn, ldcIn: ldcIn, epilogue: epilogue),
                   avx512: avx512)
            return avx512
        }
        // op(B)(p, j) = b[j·ldb + p]: copy blocks [kc, nb] of op(B) into a contiguous buffer.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: packCapacity) { buffer in
            let pack = buffer.baseAddress!
            var j0 = 0
            while j0 < n {
                let nb = min(n - j0, packCapacity)
                let kc = packCapacity / nb
                var p0 = 0
                while p0 < k {
                    let kb = min(kc, k - p0)
                    for j in 0..<nb {
                        let src = b + (j0 + j) * ldb + p0
                        var dst = pack + j
                        for p in 0..<kb {
                            dst.pointee = src[p]
                            dst += nb
                        }
                    }
                    panels(m: m, n: nb, k: kb,
                           SmallGEMMOperands(a: a + p0 * acs, ars: ars, acs: acs, b: pack, ldb: nb, c: c + j0, ldc: ldc,
                                             alpha: alpha, beta: p0 == 0 ? beta : 1,
                                             cIn: p0 == 0 ? cIn + j0 : UnsafePointer(c + j0),
                                             ldcIn: p0 == 0 ? ldcIn : ldc,
                                             epilogue: p0 + kb == k ? epilogue : .none), avx512: avx512)
                    p0 += kb
                }
                j0 += nb
            }
        }
        return avx512
    }
}
