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
        var rng = RNG(seed: seed, purpose: "gemm")
        self.shapes = shapes
        a = shapes.map { s in let t = Tensor(shape: [s.m * s.k]); rng.fillNormal(t); return t }
        b = shapes.map { s in let t = Tensor(shape: [s.k * s.n]); rng.fillNormal(t); return t }
        c = shapes.map { s in Tensor(shape: [s.m * s.n]) }
    }
    var flops: Double { shapes.reduce(0) { $0 + $1.flops } }
    func run() {
        for (i, s) in shapes.enumerated() {
            gemm(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k,
                 a: a[i].data, lda: s.transA ? s.m : s.k, b: b[i].data, ldb: s.transB ? s.k : s.n,
                 c: c[i].data, ldc: s.n)
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
        // Products of the toy 1-10-10-10-1 MLPs at batch 100 (forward, weight and input gradients).
        let shapes = [GEMMShape(m: 100, k: 1, n: 10, transB: true), GEMMShape(m: 100, k: 10, n: 10, transB: true),
                      GEMMShape(m: 100, k: 10, n: 1, transB: true), GEMMShape(m: 10, k: 100, n: 10, transA: true),
                      GEMMShape(m: 1, k: 100, n: 10, transA: true), GEMMShape(m: 10, k: 100, n: 1, transA: true),
                      GEMMShape(m: 100, k: 10, n: 10), GEMMShape(m: 100, k: 1, n: 10), GEMMShape(m: 100, k: 10, n: 1),
                      // Larger cubes: where BLAS takes over (SmallGEMM.maxWork).
                      GEMMShape(m: 16, k: 16, n: 16), GEMMShape(m: 20, k: 20, n: 20), GEMMShape(m: 32, k: 32, n: 32),
                      GEMMShape(m: 64, k: 64, n: 64), GEMMShape(m: 128, k: 128, n: 128)]
        let saved = SmallGEMM.maxWork
        var lines = ["| m | k | n | tA | tB | kernel ns | BLAS ns | kernel/BLAS |", "|---|---|---|---|---|---|---|---|"]
        for s in shapes {
            let one = GEMMSet([s], seed: seed)
            // Best of 7 rounds, the two paths alternating so that a burst of load hits both.
            let reps = max(200, min(200_000, Int(2e8 / max(s.flops, 1))))
            func round(_ maxWork: Int) -> Double {
                SmallGEMM.maxWork = maxWork
                let t0 = Measurement.monotonicSeconds()
                for _ in 0..<reps { one.run() }
                return (Measurement.monotonicSeconds() - t0) / Double(reps) * 1e9
            }
            _ = round(Int.max); _ = round(0)
            var kernel = Double.infinity, blas = Double.infinity
            for _ in 0..<7 {
                kernel = min(kernel, round(Int.max))
                blas = min(blas, round(0))
            }
            lines.append("| \(s.m) | \(s.k) | \(s.n) | \(s.transA ? "T" : "N") | \(s.transB ? "T" : "N") | "
                         + String(format: "%.0f | %.0f | %.2f |", kernel, blas, kernel / blas))
        }
        SmallGEMM.maxWork = saved
        FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        let set = GEMMSet(Array(shapes.prefix(9)), seed: seed)
        for _ in 0..<warmup { set.run() }
        let m = Measurement.run { for _ in 0..<iters { set.run() } }
        return BenchResult(model: model.rawValue, threads: threads, iters: iters, batch: 100, measurement: m,
                           flopPerIteration: set.flops, extra: [("small_gemm_max_work", SmallGEMM.maxWork)])
    }
}
