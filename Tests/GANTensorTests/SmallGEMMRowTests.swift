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
        let total = 80
        var rng = RNG(seed: UInt64(s + 1))
        let a = Tensor(shape: [total, k]), w = Tensor(shape: [n, k]), bias = Tensor(shape: [n])
        rng.fillNormal(a)
        rng.fillNormal(w)
        rng.fillNormal(bias)
        // Each row alone (m = 1).
        var alone = [Float](repeating: 0, count: total * n)
        for i in 0..<total {
            #expect(SmallGEMM.applies(transB: true, m: 1, n: n, k: k))
            alone.withUnsafeMutableBufferPointer { c in
                gemm(transB: true, m: 1, n: n, k: k, a: a.data + i * k, lda: k, b: w.data, ldb: k,
                     addingRow: bias.data, c: c.baseAddress! + i * n, ldc: n)
            }
        }
        // Every run of rows [start, start + m) as one product.
        for m in [2, 3, 4, 5, 7, 8, 12, 13, 31, 64, 80] {
            for start in Set([0, 1, 3, total - m].filter { $0 >= 0 && $0 + m <= total }) {
                guard SmallGEMM.applies(transB: true, m: m, n: n, k: k) else { continue }
                var merged = [Float](repeating: .nan, count: m * n)
                merged.withUnsafeMutableBufferPointer { c in
                    gemm(transB: true, m: m, n: n, k: k, a: a.data + start * k, lda: k, b: w.data, ldb: k,
                         addingRow: bias.data, c: c.baseAddress!, ldc: n)
                }
                let expected = alone[start * n ..< (start + m) * n].map(\.bitPattern)
                #expect(merged.map(\.bitPattern) == expected, "n \(n) k \(k): rows \(start)..<\(start + m)")
            }
        }
    }
}
