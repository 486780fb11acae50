import CDNNL
import Foundation

/// oneDNN (Debian's libdnnl, the CPU primitive library under PyTorch and TensorFlow) in this
/// process: its kernels are JIT-compiled for the CPU found at run time (AVX-512 on Zen 4/5 and
/// Xeon, AVX2 on Zen 3). It runs on the calling thread only (its OpenMP pool is set to one thread,
/// so no second pool spins beside OpenBLAS's); the engine splits work over `ComputeThreads` itself.
public enum OneDNN {
    /// Whether oneDNN runs here (the library found its CPU engine).
    public static let isAvailable: Bool = {
        var error = [CChar](repeating: 0, count: 256)
        return gan_dnnl_init(&error, error.count) == 0
    }()

    /// The instruction set of oneDNN's kernels ("avx512_core", "avx2", ...; "off" without oneDNN).
    public static var instructionSet: String {
        guard isAvailable, let isa = gan_dnnl_isa() else { return "off" }
        return String(decoding: UnsafeRawBufferPointer(start: isa, count: strlen(isa)), as: UTF8.self)
    }

    /// Matrix products through oneDNN's matmul primitive (`gan_matmul`) where its kernels are
    /// AVX-512 ones (on Zen 5: 205-250 GFLOP/s per core, about twice OpenBLAS with the Haswell
    /// kernels its 0.3.21 falls back to there). AVX2 CPUs keep OpenBLAS, the library the earlier
    /// measurements used; `SWIFTGAN_GEMM=openblas` keeps it everywhere.
    public static let runsMatrixProducts: Bool = {
        if ProcessInfo.processInfo.environment["SWIFTGAN_GEMM"] == "openblas" { return false }
        return isAvailable && gan_dnnl_has_avx512() != 0
    }()
}

extension Tensor {
    /// This image batch `[N, C, H, W]` copied into `destination` (resized to its shape) in layout
    /// `block` (0: plain NCHW; 8 or 16: nChw8c / nChw16c, C a multiple of it; see `blockSize`),
    /// with oneDNN's reorder, the batch split over `ComputeThreads`. A copy: the same values.
    public func copy(toBlockSize block: Int, into destination: Tensor) {
        precondition(destination !== self, "Tensor.copy(toBlockSize:into:): the destination is the source")
        destination.resize(shape)
        Tensor.copyLayout(data, into: destination.data, shape: shape, from: blockSize, to: block)
        destination.blockSize = block
    }

    /// Copies the image batch of `shape` `[N, C, H, W]` at `source`, in layout `from`, to
    /// `destination` in layout `to` (0, 8 or 16; one of them 0 unless they are equal).
    public static func copyLayout(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, shape: [Int],
                                  from: Int, to: Int) {
        let count = shape.reduce(1, *)
        if from == to {
            ComputeThreads.parallelFor(count) { r in (destination + r.lowerBound).update(from: source + r.lowerBound, count: r.count) }
            return
        }
        precondition(shape.count == 4 && (from == 0 || to == 0), "Tensor: no layout copy from block \(from) to \(to) for \(shape)")
        let n = shape[0], c = shape[1], h = shape[2], w = shape[3], b = max(from, to), toBlocked: Int32 = to == 0 ? 0 : 1
        let chunks = min(ComputeThreads.count, n), perImage = count / max(n, 1)
        ComputeThreads.forEachChunk(chunks) { k in
            let rows = ComputeThreads.chunkRange(k, of: chunks, count: n)
            let status = gan_reorder(Int32(rows.count), Int32(c), Int32(h), Int32(w), Int32(b), toBlocked,
                                     source + rows.lowerBound * perImage, destination + rows.lowerBound * perImage)
            precondition(status == 0, "Tensor: oneDNN failed to copy \(shape) between layouts")
        }
    }
}
