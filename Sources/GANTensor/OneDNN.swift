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
