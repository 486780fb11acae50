import Foundation

// The sections of a pipeline file. Defaults live on the properties; each `init(from:)` only
// overrides what the file sets (absent or `null` keys keep the default). Required keys have none.

/// `data:` the target distribution (a built-in toy source or the user's file).
public struct DataConfig: Codable, Equatable, Sendable {
    public enum Source: String, ConfigChoice {
        case gaussian, parabola, ring, grid, csv, npy, h5, idx
        case pngFolder = "png_folder"
    }
    /// `none`: model units = data units (images: [0, 1], for a sigmoid G); `standardize`: zero
    /// mean, unit std; `minmax`: the data's range to [-1, 1]; `symmetric`: 2x - 1, i.e. images'
    /// [0, 1] to [-1, 1] (for a tanh G) whatever the data's own range.
    public enum Normalization: String, ConfigChoice { case none, standardize, minmax, symmetric }

    public var source: Source
    /// gaussian: the mean.
    public var mean = 4.0
    /// gaussian: the std; ring/grid: each component's std; parabola: the noise std.
    /// Default by source: gaussian 0.5, parabola 0.02, ring 0.01, grid 0.05 (0.5 for file sources, unused).
    public var std: Double
    /// ring: number of modes on the circle.
    public var modes = 8
    public var radius = 1.0
    /// grid: modes per side (5 -> 25 modes), `spacing` apart and centred on 0.
    public var gridSize = 5
    public var spacing = 2.0
    /// parabola: y = a x², x ~ U(-1, 1), plus N(0, std²) noise.
    public var parabolaA = 1.0
    /// Number of samples `prep` draws for the toy sources.
    public var size = 100_000
    /// csv/npy/h5/idx file; relative paths are resolved by `ConfigLoader` (absolute after loading).
    public var path: String?
    /// h5: the dataset name.
    public var dataset = "samples"
    public var normalize = Normalization.none
    /// idx: the training labels (IDX, optional; the image evaluation's classifier needs them).
    public var labels: String?
    /// idx / png_folder: the held-out real images (IDX, e.g. `t10k-images-idx3-ubyte.gz`) and
    /// their labels, which the image evaluation compares samples against.
    public var testPath: String?
    public var testLabels: String?
    /// Images: the last `floor_size` training images are the "real" row of every image metric
    /// (the floor); the evaluation's classifier never trains on them.
    public var floorSize = 10_000
    /// Images: prep resizes every image (training and held-out) to `resize` x `resize` pixels,
    /// bilinearly (as PyTorch's `interpolate(mode="bilinear", align_corners=False)`), e.g. 64 for
    /// the 64x64 DCGAN. nil = as stored (and then absent from the stored configuration text).
    public var resize: Int?
    /// Tables (csv, npy, h5): the column holding each row's class label (an integer 0...255),
    /// which prep stores as the labels and removes from the features: a CSV header name or a
    /// 0-based column number (csv, npy), or for h5 the name of a dataset of one label per row.
    /// nil = no labels (stored only when set).
    public var labelColumn: String?
    /// The names of the classes, label 0 first (e.g. Fashion-MNIST's ten); stored in data.h5 and
    /// in every checkpoint of a conditional run. nil = the labels' numbers (png_folder: the
    /// subfolder names). Stored only when set.
    public var classNames: [String]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case source, mean, std, modes, radius
        case gridSize = "grid_size"
        case spacing
        case parabolaA = "parabola_a"
        case size, path, dataset, normalize, labels
        case testPath = "test_path"
        case testLabels = "test_labels"
        case floorSize = "floor_size"
        case resize
        case labelColumn = "label_column"
        case classNames = "class_names"
    }
    static let schema = ConfigSchema(CodingKeys.self)

    /// Whether the source reads the user's file (`path` required).
    public var isFileSource: Bool { [.csv, .npy, .h5, .idx, .pngFolder].contains(source) }
    /// Whether the source holds images (stored as uint8, data units [0, 1]).
    public var isImageSource: Bool { [.idx, .pngFolder].contains(source) }

    public static func defaultStd(for source: Source) -> Double {
        switch source {
        case .parabola: 0.02
        case .ring: 0.01
        case .grid: 0.05
        default: 0.5
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        source = try c.choice(.source)
        std = try c(.std, or: Self.defaultStd(for: source))
        mean = try c(.mean, or: mean)
        modes = try c(.modes, or: modes)
        radius = try c(.radius, or: radius)
        gridSize = try c(.gridSize, or: gridSize)
        spacing = try c(.spacing, or: spacing)
        parabolaA = try c(.parabolaA, or: parabolaA)
        size = try c(.size, or: size)
        path = try c.decodeIfPresent(String.self, forKey: .path)
        dataset = try c(.dataset, or: dataset)
        normalize = try c.choice(.normalize, or: normalize)
        labels = try c.decodeIfPresent(String.self, forKey: .labels)
        testPath = try c.decodeIfPresent(String.self, forKey: .testPath)
        testLabels = try c.decodeIfPresent(String.self, forKey: .testLabels)
        floorSize = try c(.floorSize, or: floorSize)
        resize = try c.decodeIfPresent(Int.self, forKey: .resize)
        labelColumn = try c.decodeIfPresent(String.self, forKey: .labelColumn)
        classNames = try c.decodeIfPresent([String].self, forKey: .classNames)
    }

    /// Every key in schema order; `resize` only when set, so a configuration from before it
    /// stores the same text.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(source, forKey: .source)
        try c.encode(mean, forKey: .mean)
        try c.encode(std, forKey: .std)
        try c.encode(modes, forKey: .modes)
        try c.encode(radius, forKey: .radius)
        try c.encode(gridSize, forKey: .gridSize)
        try c.encode(spacing, forKey: .spacing)
        try c.encode(parabolaA, forKey: .parabolaA)
        try c.encode(size, forKey: .size)
        try c.encodeIfPresent(path, forKey: .path)
        try c.encode(dataset, forKey: .dataset)
        try c.encode(normalize, forKey: .normalize)
        try c.encodeIfPresent(labels, forKey: .labels)
        try c.encodeIfPresent(testPath, forKey: .testPath)
        try c.encodeIfPresent(testLabels, forKey: .testLabels)
        try c.encode(floorSize, forKey: .floorSize)
        if let resize { try c.encode(resize, forKey: .resize) }
        if let labelColumn { try c.encode(labelColumn, forKey: .labelColumn) }
        if let classNames { try c.encode(classNames, forKey: .classNames) }
    }
}

/// `noise:` the generator's prior p(z).
public struct NoiseConfig: Codable, Equatable, Sendable {
    public enum Prior: String, ConfigChoice { case normal, uniform }

    public var dimension: Int
    public var prior = Prior.normal
    public var mean = 0.0
    public var std = 1.0
    public var low = -1.0
    public var high = 1.0
    /// 1-D trick: a linspace over [low, high] plus small uniform jitter, sorted (needs dimension 1).
    public var stratified = false

    enum CodingKeys: String, CodingKey, CaseIterable { case dimension, prior, mean, std, low, high, stratified }
    static let schema = ConfigSchema(CodingKeys.self)

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dimension = try c.decode(Int.self, forKey: .dimension)
        prior = try c.choice(.prior, or: prior)
        mean = try c(.mean, or: mean)
        std = try c(.std, or: std)
        low = try c(.low, or: low)
        high = try c(.high, or: high)
        stratified = try c(.stratified, or: stratified)
    }
}

/// `generator:` / `discriminator:` an MLP, or a DCGAN-style convolutional network for images.
public struct NetworkConfig: Codable, Equatable, Sendable {
    /// `mlp`: Linear layers over flattened samples. `dcgan` (Radford et al. 2016, images only):
    /// G = Linear(z, c₀·h·w) -> c₀×h×w -> [BN] -> act -> ConvT(c₀ -> c₁, k4 s2 p1) -> [BN] -> act
    /// ... -> ConvT(c_last -> C) -> output; D = Conv(C -> c₀, k4 s2 p1) -> act -> Conv(c₀ -> c₁)
    /// -> [BN] -> act ... -> Linear(c_last·h·w -> 1), where h×w is the image size / 2^len(channels).
    ///
    /// `dcgan64`: the DCGAN of pytorch/examples `dcgan/main.py` (`CanonicalDCGAN`) for square
    /// images of a power-of-two side >= 16 (64x64: exactly the example; `data.resize` makes them):
    /// G = ConvT(z -> f·2^(n-1), 1 -> 4) then k4 s2 p1 ConvT up to the image, BN + ReLU between,
    /// tanh out; D mirrors it with LeakyReLU(`leaky_alpha`) and ends in a k4 conv to one logit;
    /// no biases; f = `features` (the example's ngf = ndf = 64); weights N(0, 0.02).
    public enum Architecture: String, ConfigChoice { case mlp, dcgan, dcgan64 }
    public enum Activation: String, ConfigChoice {
        case relu
        case leakyReLU = "leaky_relu"
        case tanh, sigmoid, maxout
    }
    public enum Output: String, ConfigChoice { case linear, sigmoid, tanh }
    public enum Initialization: String, ConfigChoice {
        case pytorch
        case xavierNormal = "xavier_normal"
        case xavierUniform = "xavier_uniform"
        case heNormal = "he_normal"
        case heUniform = "he_uniform"
        case normal
    }

    public var architecture = Architecture.mlp
    /// dcgan: channels per resolution in data-flow order (G [128, 64], D [64, 128] for 28×28).
    public var channels: [Int] = []
    /// Hidden layer widths (maxout: units per layer); may be empty.
    public var hidden = [10, 10, 10]
    public var activation = Activation.leakyReLU
    public var leakyAlpha = 0.2
    public var maxoutPieces = 2
    /// The generator's output nonlinearity; D's output is always a logit (must stay `linear`).
    public var output = Output.linear
    /// YAML key `init`.
    public var initialization = Initialization.pytorch
    /// Std of `init: normal`.
    public var initStd = 0.02
    /// Discriminator only: clip D's probability to [lo, hi] (a logit clamp, `Clamp.probability`).
    public var clipProbability: [Double]?
    /// Batch normalisation after every hidden Linear, before the activation (as in the generators
    /// of DCGAN and of PacGAN's 2-D experiments). Evaluation and sampling use running statistics.
    public var batchNorm = false
    /// Virtual batch normalisation (Salimans et al. 2016) after every hidden Linear/conv instead:
    /// statistics of a reference batch drawn once (`train.reference_batch_size`) plus the example.
    public var virtualBatchNorm = false
    /// Discriminator only: spectral normalisation (Miyato et al. 2018) of every Linear/conv weight,
    /// one power iteration per training step.
    public var spectralNorm = false
    /// dcgan64: the channel width f of the highest-resolution layer (ngf / ndf); stored only for
    /// dcgan64.
    public var features = 64

    enum CodingKeys: String, CodingKey, CaseIterable {
        case architecture, channels, hidden, activation
        case leakyAlpha = "leaky_alpha"
        case maxoutPieces = "maxout_pieces"
        case output
        case initialization = "init"
        case initStd = "init_std"
        case clipProbability = "clip_probability"
        case batchNorm = "batch_norm"
        case virtualBatchNorm = "virtual_batch_norm"
        case spectralNorm = "spectral_norm"
        case features
    }
    static let schema = ConfigSchema(CodingKeys.self)

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        architecture = try c.choice(.architecture, or: architecture)
        features = try c(.features, or: features)
        channels = try c(.channels, or: channels)
        hidden = try c(.hidden, or: hidden)
        activation = try c.choice(.activation, or: activation)
        leakyAlpha = try c(.leakyAlpha, or: leakyAlpha)
        maxoutPieces = try c(.maxoutPieces, or: maxoutPieces)
        output = try c.choice(.output, or: output)
        initialization = try c.choice(.initialization, or: initialization)
        initStd = try c(.initStd, or: initStd)
        clipProbability = try c.decodeIfPresent([Double].self, forKey: .clipProbability)
        batchNorm = try c(.batchNorm, or: batchNorm)
        virtualBatchNorm = try c(.virtualBatchNorm, or: virtualBatchNorm)
        spectralNorm = try c(.spectralNorm, or: spectralNorm)
    }

    /// Every key in schema order; `features` only for dcgan64, so other networks store the text
    /// they stored before it.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(architecture, forKey: .architecture)
        try c.encode(channels, forKey: .channels)
        try c.encode(hidden, forKey: .hidden)
        try c.encode(activation, forKey: .activation)
        try c.encode(leakyAlpha, forKey: .leakyAlpha)
        try c.encode(maxoutPieces, forKey: .maxoutPieces)
        try c.encode(output, forKey: .output)
        try c.encode(initialization, forKey: .initialization)
        try c.encode(initStd, forKey: .initStd)
        try c.encodeIfPresent(clipProbability, forKey: .clipProbability)
        try c.encode(batchNorm, forKey: .batchNorm)
        try c.encode(virtualBatchNorm, forKey: .virtualBatchNorm)
        try c.encode(spectralNorm, forKey: .spectralNorm)
        if architecture == .dcgan64 { try c.encode(features, forKey: .features) }
    }
}

/// `loss:` the GAN objective.
public struct LossConfig: Codable, Equatable, Sendable {
    public enum Objective: String, ConfigChoice {
        case minimax
        case nonSaturating = "non_saturating"
        case wasserstein
    }

    public var objective = Objective.nonSaturating
    /// Target for real samples in D's cross-entropy (one-sided label smoothing, e.g. 0.9).
    public var realLabel = 1.0
    /// Feature matching (Salimans et al. 2016): G minimises the squared distance between the mean
    /// D features of real and generated batches, taken after D's hidden block number
    /// `feature_matching_layer` (1-based: after that block's activation); nil = the usual G loss.
    public var featureMatchingLayer: Int?
    /// `conditioning: acgan`: the weight of the auxiliary classifier's cross-entropy in D's and
    /// G's losses (Odena et al. 2017 use 1). nil = 1; stored only when set.
    public var auxiliaryWeight: Double?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case objective
        case realLabel = "real_label"
        case featureMatchingLayer = "feature_matching_layer"
        case auxiliaryWeight = "auxiliary_weight"
    }
    static let schema = ConfigSchema(CodingKeys.self)

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        objective = try c.choice(.objective, or: objective)
        realLabel = try c(.realLabel, or: realLabel)
        featureMatchingLayer = try c.decodeIfPresent(Int.self, forKey: .featureMatchingLayer)
        auxiliaryWeight = try c.decodeIfPresent(Double.self, forKey: .auxiliaryWeight)
    }

    /// Every key in schema order; `auxiliary_weight` only when set, so an unconditional run
    /// stores the text it stored before conditioning existed.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(objective, forKey: .objective)
        try c.encode(realLabel, forKey: .realLabel)
        try c.encodeIfPresent(featureMatchingLayer, forKey: .featureMatchingLayer)
        if let auxiliaryWeight { try c.encode(auxiliaryWeight, forKey: .auxiliaryWeight) }
    }
}

/// `generator_optimizer:` / `discriminator_optimizer:` (PyTorch's parameter names and defaults).
public struct OptimizerConfig: Codable, Equatable, Sendable {
    public enum Kind: String, ConfigChoice { case sgd, rmsprop, adam }

    public var kind = Kind.adam
    public var learningRate: Double
    /// sgd, rmsprop.
    public var momentum = 0.0
    /// sgd.
    public var nesterov = false
    public var dampening = 0.0
    /// rmsprop.
    public var alpha = 0.99
    public var centered = false
    /// adam.
    public var beta1 = 0.9
    public var beta2 = 0.999
    /// rmsprop, adam.
    public var eps = 1e-8
    public var weightDecay = 0.0
    /// WGAN weight clipping to [-c, c] after each step.
    public var clipValue: Double?
    /// Learning-rate schedule: multiply by `decayFactor` every `decayEvery` steps (0 = off).
    public var decayEvery = 0
    public var decayFactor = 1.0

    enum CodingKeys: String, CodingKey, CaseIterable {
        case kind
        case learningRate = "learning_rate"
        case momentum, nesterov, dampening, alpha, centered, beta1, beta2, eps
        case weightDecay = "weight_decay"
        case clipValue = "clip_value"
        case decayEvery = "decay_every"
        case decayFactor = "decay_factor"
    }
    static let schema = ConfigSchema(CodingKeys.self)

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.choice(.kind, or: kind)
        learningRate = try c.decode(Double.self, forKey: .learningRate)
        momentum = try c(.momentum, or: momentum)
        nesterov = try c(.nesterov, or: nesterov)
        dampening = try c(.dampening, or: dampening)
        alpha = try c(.alpha, or: alpha)
        centered = try c(.centered, or: centered)
        beta1 = try c(.beta1, or: beta1)
        beta2 = try c(.beta2, or: beta2)
        eps = try c(.eps, or: eps)
        weightDecay = try c(.weightDecay, or: weightDecay)
        clipValue = try c.decodeIfPresent(Double.self, forKey: .clipValue)
        decayEvery = try c(.decayEvery, or: decayEvery)
        decayFactor = try c(.decayFactor, or: decayFactor)
    }
}

/// `pretrain_d:` SGD-momentum regression of D(x) onto the target pdf on a grid (1-D system).
public struct PretrainConfig: Codable, Equatable, Sendable {
    public var steps = 1000
    public var batchSize = 100
    public var learningRate = 0.01
    public var momentum = 0.9

    enum CodingKeys: String, CodingKey, CaseIterable {
        case steps
        case batchSize = "batch_size"
        case learningRate = "learning_rate"
        case momentum
    }
    static let schema = ConfigSchema(CodingKeys.self)

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        steps = try c(.steps, or: steps)
        batchSize = try c(.batchSize, or: batchSize)
        learningRate = try c(.learningRate, or: learningRate)
        momentum = try c(.momentum, or: momentum)
    }
}

/// `train:` Algorithm 1. `steps` counts generator steps; it is required when the section is present.
public struct TrainConfig: Codable, Equatable, Sendable {
    public var steps = 1000
    public var batchSize = 64
    /// k: D (critic) steps per G step; WGAN's n_critic.
    public var dStepsPerGStep = 1
    /// PacGAN packing degree m (Lin et al. 2018): D sees m samples concatenated (input m · dimension)
    /// and labels the pack real or fake; 1 = off. batch_size must be a multiple of it.
    public var pack = 1
    public var checkpointEvery = 500
    /// 0 = off.
    public var evalEvery = 0
    /// 0 = off.
    public var logEvery = 100
    /// Virtual batch norm: size of the reference batches (real data for D, z for G) drawn once at
    /// the start of training and stored in every checkpoint. Required when either network uses it.
    public var referenceBatchSize = 0
    /// Exponential moving average of G's weights after every G step (0 = off), stored in the
    /// checkpoint as `generator_ema` and used for evaluation and by `gan-sample`.
    public var emaDecay = 0.0
    /// Top-k training (Sinha et al. 2020): G's loss only counts the k fake samples (packs, with
    /// `pack` > 1) D scores highest. k starts at the whole batch and is multiplied by `top_k_decay`
    /// every `top_k_decay_every` G steps, down to `top_k_min_fraction` of the batch (the paper's ν);
    /// 1 = off. k is a function of the step counter alone (`topK(step:)`), so resuming is exact.
    public var topKMinFraction = 1.0
    /// The paper's γ: k's factor per `top_k_decay_every` steps (0.99 per epoch in the paper).
    public var topKDecay = 0.99
    public var topKDecayEvery = 1000
    /// Data parallelism: every batch (real rows and noise rows) is split into this many fixed
    /// shards of batch_size / shards rows, each with its own noise stream, and the shards'
    /// gradients are combined in a fixed order, so a run on 1 or N processes (`mpirun -np N`, N
    /// dividing shards) gives the same bits. 1 = off (stored only when > 1, so an unsharded run's
    /// configuration text is unchanged).
    public var shards = 1

    enum CodingKeys: String, CodingKey, CaseIterable {
        case steps
        case batchSize = "batch_size"
        case dStepsPerGStep = "d_steps_per_g_step"
        case pack
        case checkpointEvery = "checkpoint_every"
        case evalEvery = "eval_every"
        case logEvery = "log_every"
        case referenceBatchSize = "reference_batch_size"
        case emaDecay = "ema_decay"
        case topKMinFraction = "top_k_min_fraction"
        case topKDecay = "top_k_decay"
        case topKDecayEvery = "top_k_decay_every"
        case shards
    }
    static let schema = ConfigSchema(CodingKeys.self)

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        steps = try c.decode(Int.self, forKey: .steps)
        batchSize = try c(.batchSize, or: batchSize)
        dStepsPerGStep = try c(.dStepsPerGStep, or: dStepsPerGStep)
        pack = try c(.pack, or: pack)
        checkpointEvery = try c(.checkpointEvery, or: checkpointEvery)
        evalEvery = try c(.evalEvery, or: evalEvery)
        logEvery = try c(.logEvery, or: logEvery)
        referenceBatchSize = try c(.referenceBatchSize, or: referenceBatchSize)
        emaDecay = try c(.emaDecay, or: emaDecay)
        topKMinFraction = try c(.topKMinFraction, or: topKMinFraction)
        topKDecay = try c(.topKDecay, or: topKDecay)
        topKDecayEvery = try c(.topKDecayEvery, or: topKDecayEvery)
        shards = try c(.shards, or: shards)
    }

    /// Every key in schema order, but `shards` only when it is not 1: a file from before data
    /// parallelism and an unsharded run store the same text.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(steps, forKey: .steps)
        try c.encode(batchSize, forKey: .batchSize)
        try c.encode(dStepsPerGStep, forKey: .dStepsPerGStep)
        try c.encode(pack, forKey: .pack)
        try c.encode(checkpointEvery, forKey: .checkpointEvery)
        try c.encode(evalEvery, forKey: .evalEvery)
        try c.encode(logEvery, forKey: .logEvery)
        try c.encode(referenceBatchSize, forKey: .referenceBatchSize)
        try c.encode(emaDecay, forKey: .emaDecay)
        try c.encode(topKMinFraction, forKey: .topKMinFraction)
        try c.encode(topKDecay, forKey: .topKDecay)
        try c.encode(topKDecayEvery, forKey: .topKDecayEvery)
        if shards != 1 { try c.encode(shards, forKey: .shards) }
    }

    /// Top-k: how many of the `batchSize / pack` rows D judges count in G's loss at G step `step`
    /// (0-based): max(⌈ν · rows⌉, ⌊rows · γ^⌊step / every⌋⌋), at least 1; nil when off (ν = 1).
    public func topK(step: Int) -> Int? { ModelFactory.topK(self)?.k(at: step) }
}

/// `checkpoint:` retention.
public struct CheckpointConfig: Codable, Equatable, Sendable {
    public var keepLast = 3

    enum CodingKeys: String, CodingKey, CaseIterable { case keepLast = "keep_last" }
    static let schema = ConfigSchema(CodingKeys.self)

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        keepLast = try c(.keepLast, or: keepLast)
    }
}

/// `evaluate:` the final evaluation.
public struct EvaluateConfig: Codable, Equatable, Sendable {
    public var samples = 10_000

    enum CodingKeys: String, CodingKey, CaseIterable { case samples }
    static let schema = ConfigSchema(CodingKeys.self)

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        samples = try c(.samples, or: samples)
    }
}
