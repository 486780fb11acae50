import Dispatch
import Foundation
import Testing
@_spi(Testing) import GANTensor
import GANTestSupport

/// `gemm` against a plain Double reference.
///
/// Every case stores A, B and C as sub-matrices of larger buffers (`lda`, `ldb`, `ldc` larger than
/// the logical row length). The padding of A and B holds NaN, so reading outside the sub-matrix
/// poisons the result; the padding of C holds a sentinel that must come back bit-for-bit
/// unchanged. With `beta == 0`, C starts as NaN: BLAS semantics say C is then not read.
///
/// Tolerance: the Float32 result of a k-term dot product differs from the exact one by at most
/// about k·u·Σ|a||b| (u = 2⁻²⁴, recursive summation); we allow (k + 2)·2u·(|α|Σ|a||b| + |β·c|),
/// twice the worst-case bound. A wrong transpose, stride or scaling gives O(1) errors.
private enum Path: String, CaseIterable, CustomTestStringConvertible {
    /// The public entry point (BLAS or SmallGEMM, chosen by the shape).
    case dispatch
    /// `SmallGEMM.run` called directly, whatever the shape (no global to mutate).
    case small
    var testDescription: String { rawValue }
}

private struct GEMMCase: CustomTestStringConvertible, Sendable {
    var m: Int, n: Int, k: Int
    var testDescription: String { "\(m)x\(n)x\(k)" }
}

private let sentinel: Float = 12345.5

/// Runs one product and returns the worst error divided by its allowed bound (<= 1 passes), after
/// checking C's padding.
private func runCase(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, beta: Float,
                     path: Path, seed: UInt64) -> Double {
    var rng = RNG(seed: seed)
    let (padA, padB, padC) = (3, 5, 2)
    // Stored shapes: A is [m, k] or, transposed, [k, m]; B is [k, n] or [n, k].
    let (aRows, aCols) = transA ? (k, m) : (m, k)
    let (bRows, bCols) = transB ? (n, k) : (k, n)
    let lda = aCols + padA, ldb = bCols + padB, ldc = n + padC
    var a = [Float](repeating: .nan, count: max(aRows * lda, 1))
    var b = [Float](repeating: .nan, count: max(bRows * ldb, 1))
    var c = [Float](repeating: sentinel, count: max(m * ldc, 1))
    for r in 0..<aRows { for col in 0..<aCols { a[r * lda + col] = rng.normal() } }
    for r in 0..<bRows { for col in 0..<bCols { b[r * ldb + col] = rng.normal() } }
    for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? .nan : rng.normal() } }
    let c0 = c

    a.withUnsafeBufferPointer { ap in
        b.withUnsafeBufferPointer { bp in
            c.withUnsafeMutableBufferPointer { cp in
                switch path {
                case .dispatch:
                    gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                         a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb,
                         beta: beta, c: cp.baseAddress!, ldc: ldc)
                case .small:
                    SmallGEMM.run(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                  a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb,
                                  beta: beta, c: cp.baseAddress!, ldc: ldc)
                }
            }
        }
    }

    // Dense Double copies of op(A) [m, k] and op(B) [k, n] for the reference.
    var opA = [Double](repeating: 0, count: m * k), opB = [Double](repeating: 0, count: k * n)
    for i in 0..<m { for p in 0..<k { opA[i * k + p] = Double(transA ? a[p * lda + i] : a[i * lda + p]) } }
    for p in 0..<k { for j in 0..<n { opB[p * n + j] = Double(transB ? b[j * ldb + p] : b[p * ldb + j]) } }

    var worst = 0.0
    let u = 0x1p-24
    for i in 0..<m {
        for j in 0..<n {
            var s = 0.0, mag = 0.0
            for p in 0..<k { let t = opA[i * k + p] * opB[p * n + j]; s += t; mag += abs(t) }
            let cOld = beta == 0 ? 0 : Double(c0[i * ldc + j])
            let ref = Double(alpha) * s + Double(beta) * cOld
            let bound = Double(k + 2) * 2 * u * (abs(Double(alpha)) * mag + abs(Double(beta) * cOld)) + 1e-30
            let err = abs(Double(c[i * ldc + j]) - ref) / bound
            if !(err <= worst) { worst = err.isNaN ? .infinity : err }
        }
        // Padding columns of C untouched.
        for j in n..<ldc where c[i * ldc + j].bitPattern != sentinel.bitPattern { return .infinity }
    }
    return worst
}

@Suite("gemm")
struct GEMMTests {
    /// Shapes for the small loops (every dimension <= `SmallGEMM.maxDimension`, little work) and
    /// shapes BLAS-sized. `gemm` picks the path from `SmallGEMM.maxWork`, a tunable global (0
    /// disables SmallGEMM), so these tests do not assume its value and never mutate it (tests run in
    /// parallel, and bitwise-determinism tests elsewhere must see one path). Instead both paths are
    /// covered regardless of the threshold: `SmallGEMM.run` is called directly on every shape, and
    /// the shapes with a dimension above `maxDimension` (513) or more work than `maxWork` always
    /// reach BLAS through `gemm`.
    fileprivate static let smallShapes = [GEMMCase(m: 1, n: 1, k: 1), GEMMCase(m: 5, n: 7, k: 3),
                                          GEMMCase(m: 13, n: 9, k: 17), GEMMCase(m: 32, n: 32, k: 128),
                                          // The toy MLP's products (m x n x k) and the kernel's edge widths.
                                          GEMMCase(m: 100, n: 10, k: 10), GEMMCase(m: 100, n: 1, k: 10),
                                          GEMMCase(m: 100, n: 10, k: 1), GEMMCase(m: 10, n: 10, k: 100),
                                          GEMMCase(m: 1, n: 10, k: 100), GEMMCase(m: 10, n: 1, k: 100),
                                          GEMMCase(m: 7, n: 17, k: 9), GEMMCase(m: 17, n: 9, k: 7),
                                          GEMMCase(m: 9, n: 7, k: 17), GEMMCase(m: 3, n: 15, k: 40)]
    fileprivate static let blasShapes = [GEMMCase(m: 33, n: 32, k: 128), GEMMCase(m: 513, n: 2, k: 3),
                                         GEMMCase(m: 129, n: 20, k: 30), GEMMCase(m: 3, n: 200, k: 64)]

    @Test("SmallGEMM.applies honours maxDimension, maxWork and the kernel's two weak spots")
    func threshold() {
        let d = SmallGEMM.maxDimension
        #expect(!SmallGEMM.applies(m: d + 1, n: 1, k: 1))
        #expect(!SmallGEMM.applies(m: 1, n: d + 1, k: 1))
        #expect(!SmallGEMM.applies(m: 1, n: 1, k: d + 1))
        #expect(!SmallGEMM.applies(m: 64, n: 64, k: 64), "64³: BLAS")
        #expect(!SmallGEMM.applies(transB: true, m: 100, n: 128, k: 4), "Bᵀ over 256 floats: BLAS")
        #expect(!SmallGEMM.applies(transA: true, m: 128, n: 2, k: 100), "Aᵀ, 2 columns, long A: BLAS")
        for s in Self.smallShapes + Self.blasShapes where SmallGEMM.applies(m: s.m, n: s.n, k: s.k) {
            #expect(s.m * s.n * s.k <= SmallGEMM.maxWork, "\(s.testDescription)")
        }
        // Every toy_1d product (1-10-10-10-1 MLPs at batch 100, and 200 rows stacked in D) takes the
        // kernel, with the transposes Linear uses.
        for b in [100, 200] {
            for (tA, tB, m, n, k) in [(false, true, b, 10, 1), (false, true, b, 10, 10), (false, true, b, 1, 10),
                                      (true, false, 10, 10, b), (true, false, 10, 1, b), (true, false, 1, 10, b),
                                      (false, false, b, 10, 10), (false, false, b, 1, 10), (false, false, b, 10, 1)] {
                #expect(SmallGEMM.applies(transA: tA, transB: tB, m: m, n: n, k: k), "\(m)x\(n)x\(k)")
            }
        }
    }

    @Test("matches the Double reference: all transposes, alpha/beta, sub-matrix strides",
          arguments: [false, true], [false, true])
    func reference(transA: Bool, transB: Bool) {
        // beta = 0 (C not read), beta = 1 and a general beta are separate branches.
        let scalings: [(Float, Float)] = [(1, 0), (-0.75, 0), (1.5, 1), (0.5, -2.25)]
        for path in Path.allCases {
            for (index, s) in (Self.smallShapes + Self.blasShapes).enumerated() {
                // Direct SmallGEMM on the BLAS-sized shapes too: the loops must be right at any size.
                // The large shapes (slow in a debug build) get two of the scalings.
                let large = s.m * s.n * s.k > 10_000
                for (si, (alpha, beta)) in scalings.enumerated() where !large || si % 2 == index % 2 {
                    let e = runCase(transA: transA, transB: transB, m: s.m, n: s.n, k: s.k,
                                    alpha: alpha, beta: beta, path: path, seed: UInt64(100 + index))
                    #expect(e <= 1, "\(path) \(s.testDescription) tA=\(transA) tB=\(transB) α=\(alpha) β=\(beta): error/bound \(e)")
                }
            }
        }
    }

    @Test("SmallGEMM matches OpenBLAS: every transpose, widths 1-17, contiguous and padded strides, alpha/beta",
          arguments: [false, true], [false, true])
    func smallMatchesBLAS(transA: Bool, transB: Bool) {
        // Every panel width the kernel has (n = 1...17 covers 8-wide panels plus each tail), row
        // blocks of 1...4 (m), the k-blocked transposed-B path (n·k > 256) and the C-is-a-column
        // paths (n = 1, contiguous C: ldc == 1).
        var shapes: [(Int, Int, Int)] = [(100, 10, 10), (100, 1, 10), (100, 10, 1), (10, 10, 100), (1, 10, 100),
                                         (10, 1, 100), (100, 1, 1), (1, 1, 100), (7, 9, 17), (17, 1, 9)]
        for n in 1...17 { shapes.append((9, n, 7)) }
        for m in [1, 2, 3, 4, 5, 7] { shapes.append((m, 10, 3)) }
        shapes += [(5, 20, 100), (6, 3, 128), (128, 2, 5)]
        let scalings: [(Float, Float)] = [(1, 0), (1, 1), (-0.75, 0), (0.5, -2.25), (2, 1)]
        var rng = RNG(seed: 7)
        for (m, n, k) in shapes {
            for pad in [0, 3] {
                let (aRows, aCols) = transA ? (k, m) : (m, k)
                let (bRows, bCols) = transB ? (n, k) : (k, n)
                let lda = aCols + pad, ldb = bCols + pad, ldc = n + pad
                let a = (0..<max(aRows * lda, 1)).map { _ in rng.normal() }
                let b = (0..<max(bRows * ldb, 1)).map { _ in rng.normal() }
                let c0 = (0..<max(m * ldc, 1)).map { _ in rng.normal() }
                for (alpha, beta) in scalings {
                    var mine = c0, blas = c0
                    a.withUnsafeBufferPointer { ap in
                        b.withUnsafeBufferPointer { bp in
                            mine.withUnsafeMutableBufferPointer { cp in
                                SmallGEMM.run(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                              a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb,
                                              beta: beta, c: cp.baseAddress!, ldc: ldc)
                            }
                            blas.withUnsafeMutableBufferPointer { cp in
                                blasGEMM(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                         a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb,
                                         beta: beta, c: cp.baseAddress!, ldc: ldc)
                            }
                        }
                    }
                    // Both are within k·u·Σ|a||b| of the exact value; allow twice that plus the C term.
                    var worst = 0.0
                    for i in 0..<m {
                        for j in 0..<n {
                            var mag = 0.0
                            for p in 0..<k {
                                let av = Double(transA ? a[p * lda + i] : a[i * lda + p])
                                let bv = Double(transB ? b[j * ldb + p] : b[p * ldb + j])
                                mag += abs(av * bv)
                            }
                            let bound = Double(k + 2) * 4 * 0x1p-24 * (Double(abs(alpha)) * mag + abs(Double(beta * c0[i * ldc + j])))
                                + 1e-30
                            worst = max(worst, abs(Double(mine[i * ldc + j]) - Double(blas[i * ldc + j])) / bound)
                        }
                        for j in n..<ldc { #expect(mine[i * ldc + j].bitPattern == c0[i * ldc + j].bitPattern) }
                    }
                    #expect(worst <= 1, "\(m)x\(n)x\(k) tA=\(transA) tB=\(transB) pad=\(pad) α=\(alpha) β=\(beta): \(worst)")
                }
            }
        }
    }

    @Test("SmallGEMM's AVX-512 panels give the portable Swift panels' bits: every transpose, widths 1-40, row blocks 1-17, bias, sums",
          arguments: [false, true], [false, true])
    func avx512PanelsMatchPortable(transA: Bool, transB: Bool) {
        // Where the CPU lacks AVX-512 both calls run the Swift panels and this checks determinism only.
        var shapes: [(m: Int, n: Int, k: Int)] = []
        for n in [1, 2, 3, 9, 10, 15, 16, 17, 31, 33, 40] {
            // 9-12 rows are one block of their own (AVX-512), 13 and 17 one of 8 and the rest.
            for m in [1, 2, 7, 8, 9, 10, 11, 12, 13, 17, 100] { shapes.append((m, n, [1, 3, 10][(m + n) % 3])) }
        }
        shapes += [(10, 10, 200), (1, 10, 100), (10, 1, 100), (100, 1, 1), (100, 2, 128), (5, 12, 0), (200, 10, 10),
                   (12, 10, 200), (11, 16, 37), (9, 33, 5), (20, 10, 200)]
        let scalings: [(Float, Float)] = [(1, 0), (1, 1), (-0.75, 0), (0.5, -2.25)]
        var rng = RNG(seed: 11)
        for s in shapes {
            let (m, n, k) = s
            for pad in [0, 2] {
                let (aRows, aCols) = transA ? (k, m) : (m, k)
                let (bRows, bCols) = transB ? (n, k) : (k, n)
                let lda = aCols + (transA ? 0 : pad), ldb = bCols + pad, ldc = n + pad
                let a = (0..<max(aRows * lda, 1)).map { _ in rng.normal() }
                let b = (0..<max(bRows * ldb, 1)).map { _ in rng.normal() }
                let c0 = (0..<max(m * ldc, 1)).map { _ in rng.normal() }
                let bias = (0..<n).map { _ in rng.normal() }
                let sums0 = (0..<m).map { _ in rng.normal() }
                for (alpha, beta) in scalings {
                    for variant in 0..<3 {   // plain, a bias row, row sums of op(A) (transA, lda = m)
                        if variant == 2 && !(transA && lda == m) { continue }
                        if variant == 1 && beta != 1 { continue }
                        var out: [[Float]] = []
                        var sums: [[Float]] = []
                        for portable in [false, true] {
                            var c = c0, rs = sums0
                            a.withUnsafeBufferPointer { ap in
                                b.withUnsafeBufferPointer { bp in
                                    bias.withUnsafeBufferPointer { biasp in
                                        c.withUnsafeMutableBufferPointer { cp in
                                            rs.withUnsafeMutableBufferPointer { rsp in
                                                let rowBias = variant == 1 ? biasp.baseAddress : nil
                                                let rowSums = variant == 2 ? rsp.baseAddress : nil
                                                if portable {
                                                    SmallGEMM.runPortable(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                                                          a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb, beta: beta,
                                                                          c: cp.baseAddress!, ldc: ldc, rowBias: rowBias, rowSums: rowSums)
                                                } else {
                                                    SmallGEMM.run(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                                                  a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb, beta: beta,
                                                                  c: cp.baseAddress!, ldc: ldc, rowBias: rowBias, rowSums: rowSums)
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                            out.append(c)
                            sums.append(rs)
                        }
                        let label = "\(m)x\(n)x\(k) tA=\(transA) tB=\(transB) pad=\(pad) α=\(alpha) β=\(beta) variant \(variant)"
                        #expect(out[0].map(\.bitPattern) == out[1].map(\.bitPattern), "\(label)")
                        #expect(sums[0].map(\.bitPattern) == sums[1].map(\.bitPattern), "\(label): row sums")
                    }
                }
            }
        }
    }

    @Test("SmallGEMM's epilogue gives the bits of the product followed by the activation's pass, on every path",
          arguments: [SmallGEMMEpilogue.relu, .leakyReLU(0.2)])
    func epilogueIsTheActivationAfterTheProduct(_ epilogue: SmallGEMMEpilogue) {
        // Panels (9-12 rows in one block, 8-row blocks and the rest), n = 1 (dot products over A's
        // rows, or Cᵀ as one row when A is transposed), k = 0, a transposed B in several inner
        // blocks (k·n > 256), a bias row.
        let shapes: [(m: Int, n: Int, k: Int, transA: Bool, transB: Bool)] = [
            (100, 10, 10, false, true), (200, 10, 1, false, true), (10, 10, 200, true, false), (13, 17, 3, false, false),
            (200, 1, 10, false, true), (100, 1, 10, false, false), (7, 1, 20, true, false), (5, 12, 0, false, true),
            (3, 20, 40, false, true), (11, 33, 5, true, true)]
        var rng = RNG(seed: 21)
        for (m, n, k, transA, transB) in shapes {
            let a = (0..<max(m * k, 1)).map { i in i % 7 == 3 ? 0 : rng.normal() }   // some rows of zeros' products
            let b = (0..<max(k * n, 1)).map { _ in rng.normal() }
            let bias = (0..<n).map { j in j % 5 == 0 ? 0 : rng.normal() }
            let lda = transA ? m : k, ldb = transB ? k : n
            for withBias in [false, true] {
                for portable in [false, true] {
                    var plain = [Float](repeating: .nan, count: m * n), mapped = plain
                    func product(_ c: inout [Float], _ e: SmallGEMMEpilogue) {
                        bias.withUnsafeBufferPointer { bp in
                            c.withUnsafeMutableBufferPointer { cp in
                                let rowBias = withBias ? bp.baseAddress : nil, beta: Float = withBias ? 1 : 0
                                if portable {
                                    SmallGEMM.runPortable(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: a, lda: lda,
                                                          b: b, ldb: ldb, beta: beta, c: cp.baseAddress!, ldc: n, rowBias: rowBias,
                                                          epilogue: e)
                                } else {
                                    SmallGEMM.run(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: a, lda: lda,
                                                  b: b, ldb: ldb, beta: beta, c: cp.baseAddress!, ldc: n, rowBias: rowBias,
                                                  epilogue: e)
                                }
                            }
                        }
                    }
                    product(&plain, .none)
                    product(&mapped, epilogue)
                    let expected = plain.map { v -> Float in
                        switch epilogue {
                        case .none: return v
                        case .relu: return max(v, 0)
                        case .leakyReLU(let s): return v > 0 ? v : s * v
                        }
                    }
                    let label = "\(m)x\(n)x\(k) tA=\(transA) tB=\(transB) bias=\(withBias) portable=\(portable)"
                    #expect(mapped.map(\.bitPattern) == expected.map(\.bitPattern), "\(label)")
                    #expect(plain.contains { $0 < 0 } || k == 0, "\(label): some negative outputs to map")
                }
            }
        }
    }

    @Test("SmallGEMM is deterministic and C's row blocks do not change a row's bits")
    func smallDeterministic() {
        // Each row of a 101-row product must equal the one-row product of that row alone (same
        // summation order whatever block a row falls in: row blocks of 1-4, and for C a column the
        // two-row and one-row dot products), and repeated calls give the same bits.
        var rng = RNG(seed: 11)
        var shapes = [(10, 10), (1, 10)]
        for k in 1...24 { shapes.append((1, k)) }
        for (n, k) in shapes {
            let m = 101
            let a = (0..<m * k).map { _ in rng.normal() }, w = (0..<n * k).map { _ in rng.normal() }
            func product(rows: Int, from row: Int) -> [Float] {
                var c = [Float](repeating: .nan, count: rows * n)
                a.withUnsafeBufferPointer { ap in
                    w.withUnsafeBufferPointer { wp in
                        c.withUnsafeMutableBufferPointer { cp in
                            SmallGEMM.run(transA: false, transB: true, m: rows, n: n, k: k, alpha: 1,
                                          a: ap.baseAddress! + row * k, lda: k, b: wp.baseAddress!, ldb: k,
                                          beta: 0, c: cp.baseAddress!, ldc: n)
                        }
                    }
                }
                return c
            }
            let full = product(rows: m, from: 0)
            #expect(full.map(\.bitPattern) == product(rows: m, from: 0).map(\.bitPattern))
            var differing = 0
            for row in 0..<m where Array(full[(row * n)..<((row + 1) * n)]).map(\.bitPattern)
                != product(rows: 1, from: row).map(\.bitPattern) { differing += 1 }
            #expect(differing == 0, "n \(n), k \(k): \(differing) rows differ from their one-row product")
            for rows in 2...4 {
                #expect(Array(full.prefix(rows * n)).map(\.bitPattern) == product(rows: rows, from: 0).map(\.bitPattern),
                        "n \(n), k \(k): \(rows) rows")
            }
        }
    }

    @Test("gemm(addingRow:) gives the bits of broadcasting the bias and gemm with beta 1, on every kernel path",
          arguments: [false, true], [false, true])
    func addingRowBias(transA: Bool, transB: Bool) {
        // Panel widths 1-17, row blocks, C as a column (n = 1: dot products, and the transposed
        // one-row product when ldc == 1), k = 0, the k-blocked transposed B (k·n > 256, through
        // SmallGEMM.run) and BLAS-sized products through gemm.
        var shapes: [(Int, Int, Int)] = [(100, 10, 10), (100, 1, 10), (100, 10, 1), (7, 1, 300), (5, 20, 100), (2, 300, 3),
                                         (3, 4, 0), (513, 3, 2), (129, 20, 30)]
        for n in 1...17 { shapes.append((9, n, 7)) }
        var rng = RNG(seed: 21)
        for (m, n, k) in shapes {
            for pad in [0, 2] {
                let (aRows, aCols) = transA ? (k, m) : (m, k)
                let (bRows, bCols) = transB ? (n, k) : (k, n)
                let lda = aCols + pad, ldb = bCols + pad, ldc = n + pad
                let a = (0..<max(aRows * lda, 1)).map { _ in rng.normal() }
                let b = (0..<max(bRows * ldb, 1)).map { _ in rng.normal() }
                let bias = (0..<n).map { _ in rng.normal() }
                let padding = (0..<max(m * ldc, 1)).map { _ in rng.normal() }
                var want = padding
                for i in 0..<m { for j in 0..<n { want[i * ldc + j] = bias[j] } }
                var viaGEMM = padding, viaSmall = padding
                a.withUnsafeBufferPointer { ap in
                    b.withUnsafeBufferPointer { bp in
                        bias.withUnsafeBufferPointer { biasp in
                            viaGEMM.withUnsafeMutableBufferPointer { cp in
                                gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: ap.baseAddress!, lda: lda,
                                     b: bp.baseAddress!, ldb: ldb, addingRow: biasp.baseAddress!, c: cp.baseAddress!, ldc: ldc)
                            }
                            viaSmall.withUnsafeMutableBufferPointer { cp in
                                SmallGEMM.run(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1,
                                              a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb, beta: 1,
                                              c: cp.baseAddress!, ldc: ldc, rowBias: biasp.baseAddress!)
                            }
                        }
                        want.withUnsafeMutableBufferPointer { cp in
                            gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: ap.baseAddress!, lda: lda,
                                 b: bp.baseAddress!, ldb: ldb, beta: 1, c: cp.baseAddress!, ldc: ldc)
                        }
                    }
                }
                let label = "\(m)x\(n)x\(k) tA=\(transA) tB=\(transB) pad=\(pad)"
                func differing(_ x: [Float], _ y: [Float]) -> Int { zip(x, y).filter { $0.bitPattern != $1.bitPattern }.count }
                #expect(differing(viaGEMM, want) == 0, "gemm \(label)")
                do {   // SmallGEMM.run on every shape, also those gemm gives to BLAS
                    var small = padding
                    for i in 0..<m { for j in 0..<n { small[i * ldc + j] = bias[j] } }
                    a.withUnsafeBufferPointer { ap in
                        b.withUnsafeBufferPointer { bp in
                            small.withUnsafeMutableBufferPointer { cp in
                                SmallGEMM.run(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1,
                                              a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb, beta: 1,
                                              c: cp.baseAddress!, ldc: ldc)
                            }
                        }
                    }
                    #expect(differing(viaSmall, small) == 0, "SmallGEMM.run \(label)")
                }
            }
        }
    }

    @Test("gemm(transposedA:addingColumnSumsOfATo:) gives the bits of gemm plus accumulateColumnSums, on every kernel path")
    func columnSumsOfA() {
        // m (A's columns, the sums) 1-17 over the row-block sizes, n over the panel widths and the
        // C-is-a-column paths, k = 0, and BLAS-sized products.
        var shapes: [(Int, Int, Int)] = [(10, 10, 200), (10, 1, 200), (1, 10, 200), (10, 10, 100), (3, 4, 0), (400, 30, 64),
                                         (20, 513, 2)]
        for m in 1...17 { shapes.append((m, 10, 9)) }
        for n in 1...17 { shapes.append((7, n, 5)) }
        var rng = RNG(seed: 23)
        for (m, n, k) in shapes {
            for ldc in Set([n, n + 2]) {
                let a = (0..<max(k * m, 1)).map { _ in rng.normal() }
                let b = (0..<max(k * n, 1)).map { _ in rng.normal() }
                let c0 = (0..<max(m * ldc, 1)).map { _ in rng.normal() }
                let s0 = (0..<m).map { _ in rng.normal() }
                var c = c0, sums = s0, wantC = c0, wantSums = s0
                a.withUnsafeBufferPointer { ap in
                    b.withUnsafeBufferPointer { bp in
                        c.withUnsafeMutableBufferPointer { cp in
                            sums.withUnsafeMutableBufferPointer { sp in
                                gemm(m: m, n: n, k: k, alpha: 0.5, transposedA: ap.baseAddress!, b: bp.baseAddress!, ldb: n,
                                     beta: 1, c: cp.baseAddress!, ldc: ldc, addingColumnSumsOfATo: sp.baseAddress!)
                            }
                        }
                        wantC.withUnsafeMutableBufferPointer { cp in
                            gemm(transA: true, m: m, n: n, k: k, alpha: 0.5, a: ap.baseAddress!, lda: m, b: bp.baseAddress!, ldb: n,
                                 beta: 1, c: cp.baseAddress!, ldc: ldc)
                        }
                        wantSums.withUnsafeMutableBufferPointer { sp in
                            Kernels.accumulateColumnSums(ap.baseAddress!, rows: k, n: m, into: sp.baseAddress!)
                        }
                    }
                }
                func differing(_ x: [Float], _ y: [Float]) -> Int { zip(x, y).filter { $0.bitPattern != $1.bitPattern }.count }
                #expect(differing(c, wantC) == 0, "C \(m)x\(n)x\(k) ldc=\(ldc)")
                #expect(differing(sums, wantSums) == 0, "sums \(m)x\(n)x\(k) ldc=\(ldc)")
            }
        }
    }

    @Test("products split over chunks (C's rows or columns, one oneDNN or BLAS call each) match the reference",
          arguments: [false, true], [false, true])
    func splitProducts(transA: Bool, transB: Bool) {
        // 200x300 splits C's columns, 300x200 its rows, in two chunks whatever the machine's thread count.
        ComputeThreads.$chunksOverride.withValue(2) {
            for (index, (m, n)) in [(200, 300), (300, 200)].enumerated() {
                for (alpha, beta) in [(Float(1), Float(0)), (0.5, -2.25)] {
                    let e = runCase(transA: transA, transB: transB, m: m, n: n, k: 100, alpha: alpha, beta: beta,
                                    path: .dispatch, seed: UInt64(300 + index))
                    #expect(e <= 1, "\(m)x\(n)x100 tA=\(transA) tB=\(transB) α=\(alpha) β=\(beta): error/bound \(e)")
                }
            }
        }
    }

    @Test("a product gives the same bits every time and on several threads at once (each keeps its own oneDNN primitives)")
    func concurrentProductsSameBits() {
        let (m, n, k) = (96, 200, 150)
        var rng = RNG(seed: 41)
        let a = (0..<(m * k)).map { _ in rng.normal() }, b = (0..<(n * k)).map { _ in rng.normal() }
        @Sendable func product() -> [Float] {
            var c = [Float](repeating: .nan, count: m * n)
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        gemm(transB: true, m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: k,
                             c: cp.baseAddress!, ldc: n)
                    }
                }
            }
            return c
        }
        let first = product()
        let results = ProductResults()
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<5 { results.append(product()) }
        }
        let all = results.all
        #expect(all.count == 20)
        for c in all { #expect(c.map(\.bitPattern) == first.map(\.bitPattern)) }
    }

    @Test("k = 0 gives C = beta·C")
    func emptyInnerDimension() {
        for path in Path.allCases {
            var c: [Float] = [1, 2, 3, 4, 5, 6]
            let a: [Float] = [.nan], b: [Float] = [.nan]
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        if path == .small {
                            SmallGEMM.run(transA: false, transB: false, m: 2, n: 3, k: 0, alpha: 1,
                                          a: ap.baseAddress!, lda: 1, b: bp.baseAddress!, ldb: 3,
                                          beta: 2, c: cp.baseAddress!, ldc: 3)
                        } else {
                            gemm(m: 2, n: 3, k: 0, a: ap.baseAddress!, lda: 1, b: bp.baseAddress!, ldb: 3,
                                 beta: 2, c: cp.baseAddress!, ldc: 3)
                        }
                    }
                }
            }
            #expect(c == [2, 4, 6, 8, 10, 12], "\(path)")
        }
    }

    @Test("tensor gemm: shapes, transposes, resizing C, accumulation with beta", arguments: [false, true], [false, true])
    func tensorGEMM(transA: Bool, transB: Bool) {
        let (m, n, k) = (6, 4, 5)
        let a = randomTensor(transA ? [k, m] : [m, k], seed: 1)
        let b = randomTensor(transB ? [n, k] : [k, n], seed: 2)
        let c = Tensor(shape: [1])   // wrong shape: resized because beta == 0
        gemm(a, transposed: transA, b, transposed: transB, into: c)
        #expect(c.shape == [m, n])
        var ref = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let av = transA ? a[p * m + i] : a[i * k + p]
                    let bv = transB ? b[j * k + p] : b[p * n + j]
                    s += Double(av) * Double(bv)
                }
                ref[i * n + j] = Float(s)
            }
        }
        #expect(closeness(c.array, ref, rtol: 1e-5, atol: 1e-5) <= 1)
        // beta = 1 accumulates: C := 2·AB + C = 3·AB.
        gemm(a, transposed: transA, b, transposed: transB, into: c, alpha: 2, beta: 1)
        #expect(closeness(c.array, ref.map { 3 * $0 }, rtol: 1e-5, atol: 1e-5) <= 1)
    }

    @Test("tensor gemm flattens trailing dimensions ([N, C, H, W] as [N, C·H·W])")
    func tensorGEMMFlattens() {
        let x = randomTensor([3, 2, 2, 2], seed: 3)
        let w = randomTensor([5, 8], seed: 4)
        let y = Tensor(shape: [0])
        gemm(x, transposed: false, w, transposed: true, into: y)
        #expect(y.shape == [3, 5])
        for i in 0..<3 {
            for j in 0..<5 {
                var s = 0.0
                for p in 0..<8 { s += Double(x[i * 8 + p]) * Double(w[j * 8 + p]) }
                #expect(abs(Double(y[i * 5 + j]) - s) <= 1e-5 * (1 + abs(s)))
            }
        }
    }

    @Test("gemm(addingRow:) with one row and Bᵀ (a Linear layer on one sample) goes through sgemv: correct, padding untouched")
    func oneRowLinearThroughGEMV() {
        var rng = RNG(seed: 33)
        // fashion-mlp's G and D layers (BLAS-sized) and one SmallGEMM-sized product, with strides.
        for (n, k) in [(400, 100), (784, 400), (400, 784), (3, 5)] {
            for pad in [0, 3] {
                let ldb = k + pad
                let a = (0..<k).map { _ in rng.normal() }
                var b = (0..<(n * ldb)).map { _ in rng.normal() }
                for j in 0..<n { for p in k..<ldb { b[j * ldb + p] = .nan } }
                let bias = (0..<n).map { _ in rng.normal() }
                var c = [Float](repeating: -7, count: n + pad)
                a.withUnsafeBufferPointer { ap in
                    b.withUnsafeBufferPointer { bp in
                        bias.withUnsafeBufferPointer { biasp in
                            c.withUnsafeMutableBufferPointer { cp in
                                gemm(transB: true, m: 1, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: ldb,
                                     addingRow: biasp.baseAddress!, c: cp.baseAddress!, ldc: n)
                            }
                        }
                    }
                }
                for j in 0..<n {
                    var exact = Double(bias[j]), magnitude = abs(Double(bias[j]))
                    for p in 0..<k {
                        exact += Double(a[p]) * Double(b[j * ldb + p])
                        magnitude += abs(Double(a[p]) * Double(b[j * ldb + p]))
                    }
                    let bound = Double(k + 2) * 2 * 0x1p-24 * magnitude
                    #expect(abs(Double(c[j]) - exact) <= bound, "n \(n) k \(k) pad \(pad): c[\(j)] = \(c[j]), exact \(exact)")
                }
                #expect(c[n...].allSatisfy { $0 == -7 }, "n \(n) k \(k): wrote past the row")
            }
        }
    }
}

/// Products collected from several threads, behind an NSLock (which ThreadSanitizer models).
private final class ProductResults: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [[Float]] = []
    func append(_ c: [Float]) { lock.withLock { results.append(c) } }
    var all: [[Float]] { lock.withLock { results } }
}
