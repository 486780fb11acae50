import ArgumentParser
import CPlatform
import GANTensor

// The options every SwiftGAN command spells the same way, declared once and included with
// `@OptionGroup` (gan-pipeline run, gan-sample generate and score, gan-bench).

/// `--threads N`: the compute threads of OpenBLAS and of the engine's element-wise passes.
public struct ThreadsOption: ParsableArguments {
    @Option(help: "Compute threads (>= 1). Bitwise results are reproducible for equal thread counts.")
    public var threads: Int = 1

    public init() {}

    public func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    /// Makes this process compute on `threads` threads, with glibc's malloc bounded: fixed mmap and
    /// trim thresholds and two arenas. Otherwise glibc raises its mmap threshold after the first
    /// large free (up to 32 MiB) and keeps such memory in per-thread arenas, so the resident set
    /// grows with the largest burst seen.
    ///
    /// Training and sampling (`forServing: false`): blocks under 4 MiB come from the heap and up to
    /// 64 MiB of free heap top is kept. A lower threshold costs speed: oneDNN allocates ~0.2-0.6 MB
    /// inside some primitive executions (brgemm matmul on a split product), and at 128 KiB each
    /// such block was a fresh mapping faulted in page by page, 410,000 faults in 2 s of mlp_gan's
    /// products at 2 threads (396 -> 288 it/s; session 11). Peak RSS moved 59 -> 61 MB (mlp_gan) and
    /// 363 -> 369 MB (dcgan64).
    ///
    /// `gan-sample serve` (`forServing: true`): blocks under 256 KiB from the heap, 1 MiB of free
    /// heap top kept. A 64-row score request's 200 KB of floats come from the heap, reused from
    /// request to request; a body (527 KB for it) comes from the server's own bounded pool;
    /// anything larger is mapped and unmapped per request, so a long soak's resident set stays
    /// flat. (At 128 KiB the floats were fresh mappings, ~50 page faults per request; with the
    /// training thresholds the resident set grew to 105 MB, 0.31x the peer's: session 11.)
    public func apply(forServing: Bool = false) {
        if forServing {
            _ = platform_bound_malloc_retention(256 << 10, 1 << 20, 2)
        } else {
            _ = platform_bound_malloc_retention(4 << 20, 64 << 20, 2)
        }
        ComputeThreads.set(threads)
    }
}

/// `--seed S`: the seed of a command's random streams (each command says which; absent means
/// the command's default: the pipeline file's seed for gan-pipeline, 0 elsewhere).
public struct SeedOption: ParsableArguments {
    @Option(help: "Seed of the random streams (an integer >= 0).")
    public var seed: UInt64?

    public init() {}
}

/// `--quiet`: no progress output (errors and results still print).
public struct QuietFlag: ParsableArguments {
    @Flag(help: "No progress output.")
    public var quiet = false

    public init() {}
}
