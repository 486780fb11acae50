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

    /// Makes this process compute on `threads` threads, with glibc's malloc bounded: a fixed mmap
    /// threshold (128 KiB) returns large freed buffers to the system, and two arenas hold the rest.
    /// Otherwise glibc raises its threshold after the first large free and keeps such memory in
    /// per-thread arenas, so the resident set grows with the largest burst seen: a server's
    /// request buffers (`make bench-server`'s soak measures it), a training run's warm-up
    /// (dcgan64's peak RSS 353 -> 345 MB).
    public func apply() {
        _ = platform_bound_malloc_retention(128 * 1024, 2)
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
