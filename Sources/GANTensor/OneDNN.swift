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

    /// Matrix products through oneDNN's sgemm: where its kernels are AVX-512 ones. OpenBLAS runs
    /// AVX-512 kernels only when it recognises the CPU (0.3.21 does not know Zen 5) and
    /// OPENBLAS_CORETYPE does not say otherwise, and then it is as fast; on AVX2 CPUs the two are
    /// even and OpenBLAS stays. `SWIFTGAN_GEMM=openblas` keeps OpenBLAS everywhere.
    public static let runsMatrixProducts: Bool = {
        if ProcessInfo.processInfo.environment["SWIFTGAN_GEMM"] == "openblas" { return false }
        return isAvailable && gan_dnnl_has_avx512() != 0
    }()
}
