import Foundation
import GANNN

/// One GEMM of a benchmark set: C[m, n] = op(A)[m, k] · op(B)[k, n].
struct GEMMShape {
    var m: Int, k: Int, n: Int
    var transA = false, transB = false
    var flops: Double { 2 * Double(m) * Double(k) * Double(n) }
}

/// The 21 GEMMs of one mlp_gan iteration (`common.mlp_gan_gemm_shapes`), with the transposes the
/// engine really uses: weight gradients dW = dYᵀ·X (transA), forward Y = X·Wᵀ (transB), input
/// gradients dX = dY·W (no transpose).
func mlpGANGEMMs(b: Int = 128, z: Int = 100, h: Int = 400, x: Int = 784) -> [GEMMShape] {
    let gFwd = [GEMMShape(m: b, k: z, n: h, transB: true), GEMMShape(m: b, k: h, n: x, transB: true)]
    let dFwd = [GEMMShape(m: b, k: x, n: h, transB: true), GEMMShape(m: b, k: h, n: 1, transB: true)]
    let dBwdPar = [GEMMShape(m: x, k: b, n: h, transA: true), GEMMShape(m: h, k: b, n: 1, transA: true),
                   GEMMShape(m: b, k: 1, n: h)]
    let dBwdIn = [GEMMShape(m: b, k: 1, n: h), GEMMShape(m: b, k: h, n: x)]
    let gBwd = [GEMMShape(m: h, k: b, n: x, transA: true), GEMMShape(m: b, k: x, n: h),
                GEMMShape(m: z, k: b, n: h, transA: true)]
    return gFwd + dFwd + dFwd + dBwdPar + dBwdPar + gFwd + dFwd + dBwdIn + gBwd
}

/// Buffers for running a list of GEMMs back to back.
final class GEMMSet {
    let shapes: [GEMMShape]
    let a: [Tensor], b: [Tensor], c: [Tensor]
    init(_ shapes: [GEMMShape], seed: UInt64) {
        var rng = RNG(seed: seed, stream: .gemm)
        self.shapes = shapes
        a = shapes.map { s in let t = Tensor(shape: [s.m * s.k]); rng.fillNormal(t); return t }
        b = shapes.map { s in let t = Tensor(shape: [s.k * s.n]); rng.fillNormal(t); return t }
        c = shapes.map { s in Tensor(shape: [s.m * s.n]) }
    }
    var flops: Double { shapes.reduce(0) { $0 + $1.flops } }
    enum Path { case dispatch, kernel, blas }
    /// Runs every product through `gemm` (the engine's choice), or forced through the SmallGEMM
    /// kernel or OpenBLAS.
    func run(_ path: Path = .dispatch) {
        for (i, s) in shapes.enumerated() {
            let lda = s.transA ? s.m : s.k, ldb = s.transB ? s.k : s.n
            switch path {
            case .dispatch:
                gemm(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k,
                     a: a[i].data, lda: lda, b: b[i].data, ldb: ldb, c: c[i].data, ldc: s.n)
            case .kernel:
                SmallGEMM.run(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, alpha: 1,
                              a: a[i].data, lda: lda, b: b[i].data, ldb: ldb, beta: 0, c: c[i].data, ldc: s.n)
            case .blas:
                blasGEMM(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k,
                         a: a[i].data, lda: lda, b: b[i].data, ldb: ldb, c: c[i].data, ldc: s.n)
            }
        }
    }
}

extension GANBench {
    func benchMLPGANGEMMs() -> BenchResult {
        let set = GEMMSet(mlpGANGEMMs(), seed: seed)
        for _ in 0..<warmup { set.run() }
        let m = Measurement.run { for _ in 0..<iters { set.run() } }
        return BenchResult(model: model.rawValue, threads: threads, iters: iters, batch: 128, measurement: m,
                           flopPerIteration: set.flops)
    }

    /// Times each toy_1d product with the SmallGEMM kernel and with BLAS; prints a table on stderr.
    /// The RESULT line reports the toy products through the default dispatch (`SmallGEMM.maxWork`).
    func benchSmallGEMM() -> BenchResult {
        // Products of the toy 1-10-10-10-1 MLPs at batch b (forward, weight and input gradients):
        // b = 100 in G, 200 in D (real and fake rows stacked).
        func toy(_ b: Int) -> [GEMMShape] {
            [GEMMShape(m: b, k: 1, n: 10, transB: true), GEMMShape(m: b, k: 10, n: 10, transB: true),
             GEMMShape(m: b, k: 10, n: 1, transB: true), GEMMShape(m: 10, k: b, n: 10, transA: true),
             GEMMShape(m: 1, k: b, n: 10, transA: true), GEMMShape(m: 10, k: b, n: 1, transA: true),
             GEMMShape(m: b, k: 10, n: 10), GEMMShape(m: b, k: 1, n: 10), GEMMShape(m: b, k: 10, n: 1)]
        }
        // grid25's thin products (G 2-128-128-2 at batch 100; D 4-128-128-1 on 100 stacked packs of
        // 2 in the D step, 50 in the G step), then cubes: where BLAS takes over (SmallGEMM's limits).
        let grid = [GEMMShape(m: 100, k: 2, n: 128, transB: true), GEMMShape(m: 100, k: 128, n: 2, transB: true),
                    GEMMShape(m: 100, k: 4, n: 128, transB: true), GEMMShape(m: 100, k: 128, n: 1, transB: true),
                    GEMMShape(m: 50, k: 4, n: 128, transB: true), GEMMShape(m: 50, k: 128, n: 1, transB: true),
                    GEMMShape(m: 128, k: 100, n: 2, transA: true), GEMMShape(m: 2, k: 100, n: 128, transA: true),
                    GEMMShape(m: 128, k: 100, n: 4, transA: true), GEMMShape(m: 1, k: 100, n: 128, transA: true),
                    GEMMShape(m: 100, k: 1, n: 128), GEMMShape(m: 50, k: 1, n: 128), GEMMShape(m: 50, k: 128, n: 4),
                    GEMMShape(m: 100, k: 2, n: 128)]
        let shapes = toy(100) + toy(200) + toy(400) + grid
            + [GEMMShape(m: 16, k: 16, n: 16), GEMMShape(m: 20, k: 20, n: 20), GEMMShape(m: 32, k: 32, n: 32),
               GEMMShape(m: 64, k: 64, n: 64), GEMMShape(m: 128, k: 128, n: 128)]
        var lines = ["| m | k | n | tA | tB | kernel ns | BLAS ns | kernel/BLAS | gemm uses |", "|---|---|---|---|---|---|---|---|---|"]
        for s in shapes {
            let one = GEMMSet([s], seed: seed)
            // Best of 7 rounds, the two paths alternating so that a burst of load hits both.
            let reps = max(200, min(200_000, Int(2e8 / max(s.flops, 1))))
            func round(_ path: GEMMSet.Path) -> Double {
                let t0 = Measurement.monotonicSeconds()
                for _ in 0..<reps { one.run(path) }
                return (Measurement.monotonicSeconds() - t0) / Double(reps) * 1e9
            }
            _ = round(.kernel); _ = round(.blas)
            var kernel = Double.infinity, blas = Double.infinity
            for _ in 0..<7 {
                kernel = min(kernel, round(.kernel))
                blas = min(blas, round(.blas))
            }
            let used = SmallGEMM.applies(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k) ? "kernel" : "BLAS"
            lines.append("| \(s.m) | \(s.k) | \(s.n) | \(s.transA ? "T" : "N") | \(s.transB ? "T" : "N") | "
                         + String(format: "%.0f | %.0f | %.2f | ", kernel, blas, kernel / blas) + used + " |")
        }
        FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        let set = GEMMSet(Array(shapes.prefix(9)), seed: seed)
        for _ in 0..<warmup { set.run() }
        let m = Measurement.run { for _ in 0..<iters { set.run() } }
        return BenchResult(model: model.rawValue, threads: threads, iters: iters, batch: 100, measurement: m,
                           flopPerIteration: set.flops, extra: [("small_gemm_max_work", SmallGEMM.maxWork)])
    }
}
