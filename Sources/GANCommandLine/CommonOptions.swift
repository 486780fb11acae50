import ArgumentParser
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

    /// Makes this process compute on `threads` threads.
    public func apply() { ComputeThreads.set(threads) }
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
