import CBLAS

/// Thread count of the compute engine. Today that is OpenBLAS's pool; element-wise kernels are
/// single-threaded. Bitwise determinism holds for equal thread counts only (BLAS may split sums
/// differently with more threads).
public enum ComputeThreads {
    /// Sets the number of threads every following matrix product may use (>= 1).
    public static func set(_ n: Int) {
        precondition(n >= 1, "thread count must be >= 1, got \(n)")
        openblas_set_num_threads(Int32(n))
    }

    public static var count: Int { Int(openblas_get_num_threads()) }

    /// The OpenBLAS kernel chosen for this CPU, e.g. "SkylakeX" or "Haswell".
    public static var blasCoreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// OpenBLAS's build description, e.g. "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ...".
    public static var blasConfig: String {
        guard let p = openblas_get_config() else { return "unknown" }
        return String(cString: p)
    }
}
