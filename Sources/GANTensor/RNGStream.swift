/// A named random stream: `RNG(seed:stream:)` derives one independent generator per stream from a
/// run's seed, so that drawing more of one (say, noise) never shifts another (the data order).
///
/// The names are part of the results and of the checkpoint format: a stream's bits are a function
/// of its name, and the streams a run must resume ("noise", "data", "pretrain") are stored under
/// their names in `/rng/`. So every stream is declared once, here, and callers name a constant
/// (`RNG(seed: seed, stream: .noise)`) instead of spelling a string: a typo is a compile error, not
/// a silently different stream. A stream that depends on a value is a static function
/// (`eval(step:)`); a later stream family (one noise stream per data-parallel shard, say) is added
/// the same way, as a function whose first member is today's stream, without touching a caller.
///
/// Changing a name changes results for every seed and needs a checkpoint-format version bump.
public struct RNGStream: Hashable, Sendable, CustomStringConvertible {
    /// The name hashed into the stream's seed and used as its checkpoint dataset name.
    public let name: String

    /// Only the constants below (and tests, through `@_spi(Testing)`) create streams.
    @_spi(Testing) public init(_ name: String) { self.name = name }

    public var description: String { name }

    // MARK: Training (GANPipeline's stages)

    /// Weight initialisation of G and D ("init").
    public static let initialization = RNGStream("init")
    /// The order of the real batches ("data"; checkpointed as the epoch's start state).
    public static let data = RNGStream("data")
    /// Every z drawn for training ("noise"; checkpointed).
    public static let noise = RNGStream("noise")
    /// The z of batch shard `shard` when a batch is split into `shards` > 1 fixed shards for
    /// data-parallel training ("noise-shard-<k>"; checkpointed); with one shard, `.noise` itself,
    /// so an unsharded run draws exactly what it always drew.
    public static func noise(shard: Int, of shards: Int) -> RNGStream {
        shards == 1 ? noise : RNGStream("noise-shard-\(shard)")
    }
    /// The class labels of the fakes of a class-conditional run (issue 22), drawn from the training
    /// labels' distribution for every D and G step ("labels"; checkpointed; drawn only by
    /// conditional runs, so an unconditional run draws exactly what it always drew).
    public static let labels = RNGStream("labels")
    /// Samples of a built-in toy distribution drawn by the prep stage ("prep").
    public static let prep = RNGStream("prep")
    /// The jitter of D's pretraining points ("pretrain"; checkpointed).
    public static let pretrain = RNGStream("pretrain")
    /// The 64 z of the per-checkpoint sample grids ("fixed-noise").
    public static let fixedNoise = RNGStream("fixed-noise")
    /// G's virtual-batch-norm reference batch of z ("reference-noise").
    public static let referenceNoise = RNGStream("reference-noise")
    /// The batch order that picks D's virtual-batch-norm reference batch ("reference-data").
    public static let referenceData = RNGStream("reference-data")
    /// Spectral norm's initial power-iteration vector of a layer rebuilt from its spec ("spectral_norm").
    public static let spectralNorm = RNGStream("spectral_norm")

    // MARK: Evaluation and serving

    /// The evaluate stage's samples ("eval").
    public static let eval = RNGStream("eval")
    /// The quick score of `train.eval_every` at training step `step` ("eval-<step>"): a fresh
    /// stream per evaluation, independent of training and of the other evaluations.
    public static func eval(step: Int) -> RNGStream { RNGStream("eval-\(step)") }
    /// The 1-D evaluation plot's G samples ("plot").
    public static let plot = RNGStream("plot")
    /// `gan-sample generate`'s z ("sample").
    public static let sample = RNGStream("sample")
    /// The evaluation classifier's initialisation ("classifier-init").
    public static let classifierInitialization = RNGStream("classifier-init")
    /// The evaluation classifier's batch order ("classifier-data").
    public static let classifierData = RNGStream("classifier-data")
}

// MARK: - Benchmarks (gan-bench)

extension RNGStream {
    /// Random uint8 images in place of Fashion-MNIST (`--random-data`) ("random-images").
    public static let randomImages = RNGStream("random-images")
    /// The operands of the GEMM benchmarks ("gemm").
    public static let gemm = RNGStream("gemm")
    /// The random features, samples and test rows of the evaluation benchmark ("random-features").
    public static let randomFeatures = RNGStream("random-features")
    /// Shard `shard`'s vector in the shard-sum benchmark ("shard-sum-<k>").
    public static func shardSum(shard: Int) -> RNGStream { RNGStream("shard-sum-\(shard)") }
    /// The values of the JSON parsing benchmark's request body ("json-floats").
    public static let jsonFloats = RNGStream("json-floats")
}
