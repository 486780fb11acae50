import Testing
@_spi(Testing) import GANTensor

/// The property `gan-sample serve` relies on to merge requests into one forward pass: on the
/// SmallGEMM kernel a row of a Linear layer's product (`C = A·Bᵀ + bias`, `gemm(transB:addingRow:)`)
/// has the same bits whatever rows are stacked around it, so a row computed in a merged pass
/// equals the row computed alone (and OpenBLAS, which does not have this property, is never
/// given merged rows; see Benchmarks/serving-batching.md).
@Suite struct SmallGEMMRowTests {
    /// (n, k) of Linear layers that SmallGEMM takes: the served toy models' 1-8-8-1 and
    /// 1-10-10-10-1 MLPs, the CLI fixtures' 3-16-2 and 2-8-1.
    static let shapes: [(n: Int, k: Int)] = [(8, 1), (8, 8), (1, 8), (10, 10), (16, 3), (2, 16), (8, 2), (1, 8), (16, 16)]

    @Test(arguments: 0..<shapes.count)
    func aRowHasTheSameBitsWhateverRowsSurroundIt(_ s: Int) {
        let (n, k) = Self.shapes[s]
        checkRowInvariance(n: n, k: k, total: 80, seed: UInt64(s + 1), runs: [2, 3, 4, 5, 7, 8, 12, 13, 31, 64, 80],
                           starts: [0, 1, 3]) { m in SmallGEMM.applies(transB: true, m: m, n: n, k: k) }
    }
}

/// Computes every row of `C = A·Bᵀ + bias` (`total` rows of random A, B `[n, k]`) alone, then every
/// run of `runs` rows starting at `starts` (and at the end) as one product, and expects each run's
/// rows to carry the bits of the rows alone. `taken(m)` says whether an m-row product takes the
/// path under test (runs it rejects are skipped; a rejected single row is an error).
func checkRowInvariance(n: Int, k: Int, total: Int, seed: UInt64, runs: [Int], starts: [Int],
                        taken: (Int) -> Bool = { _ in true }) {
    var rng = RNG(seed: seed)
    let a = Tensor(shape: [total, k]), w = Tensor(shape: [n, k]), bias = Tensor(shape: [n])
    rng.fillNormal(a)
    rng.fillNormal(w)
    rng.fillNormal(bias)
    #expect(taken(1), "n \(n) k \(k): one row does not take the path under test")
    var alone = [Float](repeating: 0, count: total * n)
    for i in 0..<total {
        alone.withUnsafeMutableBufferPointer { c in
            gemm(transB: true, m: 1, n: n, k: k, a: a.data + i * k, lda: k, b: w.data, ldb: k,
                 addingRow: bias.data, c: c.baseAddress! + i * n, ldc: n)
        }
    }
    for m in runs {
        for start in Set((starts + [total - m]).filter { $0 >= 0 && $0 + m <= total }) where taken(m) {
            var merged = [Float](repeating: .nan, count: m * n)
            merged.withUnsafeMutableBufferPointer { c in
                gemm(transB: true, m: m, n: n, k: k, a: a.data + start * k, lda: k, b: w.data, ldb: k,
                     addingRow: bias.data, c: c.baseAddress!, ldc: n)
            }
            let differing = zip(merged, alone[start * n ..< (start + m) * n]).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "n \(n) k \(k): rows \(start)..<\(start + m) differ from each row alone in \(differing) values")
        }
    }
}
