import Testing
@_spi(Testing) import GANTensor

/// Where the products run on oneDNN's matmul (AVX-512 CPUs), a row of a Linear layer's product
/// (`C = A·Bᵀ + bias`) has the same bits whatever rows are stacked around it, one row alone
/// included, at one thread (`gan-sample`'s default): oneDNN's kernels sum every element over k in
/// one order for any m (measured, not promised by oneDNN; this test keeps it true for the shapes
/// the shipped models use). `gan-sample score` on a folder then gives each file the bits it gets
/// alone. With more threads a product of few rows is split by C's columns, and oneDNN blocks k by
/// the number of columns it is given (k >= 400 here), so the split changes bits: not row-invariant.
@Suite(.enabled(if: OneDNN.runsMatrixProducts, "the products run on OpenBLAS here (no AVX-512 oneDNN kernels)"))
struct OneDNNRowTests {
    /// (n, k) of the fashion MLPs' and DCGANs' Linear layers.
    static let shapes: [(n: Int, k: Int)] = [(400, 100), (784, 400), (400, 784), (1, 400), (6272, 100), (1, 6272), (1024, 784)]

    @Test(arguments: 0..<shapes.count)
    func aRowHasTheSameBitsWhateverRowsSurroundIt(_ s: Int) {
        let (n, k) = Self.shapes[s]
        ComputeThreads.$chunksOverride.withValue(1) {
            checkRowInvariance(n: n, k: k, total: 70, seed: UInt64(s + 11), runs: [2, 3, 7, 16, 17, 33, 64, 70],
                               starts: [0, 1, 5]) { m in !SmallGEMM.applies(transB: true, m: m, n: n, k: k) }
        }
    }
}
