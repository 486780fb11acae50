import GANData
import GANNN

/// Builds engine objects from a pipeline configuration. Initialisation draws from the "init"
/// stream only, so the same seed gives the same networks whatever happens elsewhere.
public enum ModelFactory {
    /// The network a config describes: `mlp` (below) or `dcgan` (`convolutional`). G maps
    /// `[noise]` to `sampleShape`, D maps `sampleShape` (times `pack` for an MLP) to one logit.
    public static func network(_ c: NetworkConfig, noiseDimension: Int, sampleShape: [Int], pack: Int = 1,
                               isDiscriminator: Bool, rng: inout RNG) -> Sequential {
        let features = sampleShape.reduce(1, *)
        if c.architecture == .dcgan64 {
            return isDiscriminator
                ? CanonicalDCGAN.discriminator(imageShape: sampleShape, features: c.features, alpha: Float(c.leakyAlpha), rng: &rng)
                : CanonicalDCGAN.generator(noiseDimension: noiseDimension, imageShape: sampleShape, features: c.features, rng: &rng)
        }
        if c.architecture == .dcgan {
            return convolutional(c, noiseDimension: noiseDimension, imageShape: sampleShape, isDiscriminator: isDiscriminator, rng: &rng)
        }
        return isDiscriminator
            ? network(c, inputs: features * pack, outputs: 1, isDiscriminator: true, rng: &rng)
            : network(c, inputs: noiseDimension, outputs: features, isDiscriminator: false, rng: &rng)
    }

    /// Feature matching: the number of D's leading layers whose output is the feature of hidden
    /// block `block` (1-based), i.e. through that block's activation.
    public static func featureLayerCount(_ d: Sequential, block: Int) -> Int? {
        var seen = 0
        for (i, l) in d.layers.enumerated() where l is ReLU || l is LeakyReLU || l is Tanh || l is Sigmoid || l is Maxout {
            seen += 1
            if seen == block { return i + 1 }
        }
        return nil
    }

    /// The input shape D's first layer takes per sample: `[C, H, W]` for the convolutional
    /// networks, flat otherwise.
    public static func discriminatorInputShape(_ c: NetworkConfig, sampleShape: [Int]) -> [Int] {
        c.architecture == .mlp ? [sampleShape.reduce(1, *)] : sampleShape
    }

    /// Why the configured networks cannot take images of `sampleShape` (nil when they can): the
    /// convolutional networks halve the image per level, which the data's size must allow. Known
    /// only once the data are prepared, so checked when the networks are built.
    public static func shapeProblem(_ config: PipelineConfig, sampleShape: [Int]) -> String? {
        for (n, section) in [(config.generator, "generator"), (config.discriminator, "discriminator")] {
            switch n.architecture {
            case .mlp: continue
            case .dcgan64:
                if let problem = CanonicalDCGAN.problem(imageShape: sampleShape) { return "\(section).architecture: dcgan64 \(problem)" }
            case .dcgan:
                let down = 1 << n.channels.count
                guard sampleShape.count == 3, sampleShape[1] % down == 0, sampleShape[2] % down == 0 else {
                    return "\(section).channels: \(n.channels.count) levels halve the image \(n.channels.count) times, "
                        + "so its sides must be multiples of \(down); the data's images are \(sampleShape.dropFirst().map(String.init).joined(separator: "x"))"
                }
            }
        }
        return nil
    }

    /// DCGAN (k4 s2 p1 (transposed) convolutions, see `NetworkConfig.Architecture`).
    static func convolutional(_ c: NetworkConfig, noiseDimension: Int, imageShape: [Int], isDiscriminator: Bool, outputs: Int = 1,
                              rng: inout RNG) -> Sequential {
        precondition(imageShape.count == 3, "dcgan needs [C, H, W] samples")
        let (channels, height, width) = (imageShape[0], imageShape[1], imageShape[2])
        let down = 1 << c.channels.count
        precondition(height % down == 0 && width % down == 0, "dcgan: \(height)x\(width) not divisible by \(down)")
        let (h, w) = (height / down, width / down)
        let slope: Float = c.activation == .leakyReLU ? Float(c.leakyAlpha) : 0
        let (wInit, bInit) = initializers(c, slope: slope)
        func activation() -> Layer {
            switch c.activation {
            case .relu: ReLU()
            case .leakyReLU: LeakyReLU(alpha: Float(c.leakyAlpha))
            case .tanh: Tanh()
            case .sigmoid: Sigmoid()
            case .maxout: preconditionFailure("maxout is rejected for dcgan at config load")
            }
        }
        func normalization(_ features: Int) -> Layer? {
            c.batchNorm ? BatchNorm(features: features) : c.virtualBatchNorm ? VirtualBatchNorm(features: features) : nil
        }
        var layers: [Layer] = []
        if isDiscriminator {
            var inC = channels
            for (i, outC) in c.channels.enumerated() {
                let conv = Conv2d(inC, outC, kernel: 4, stride: 2, padding: 1, weightInit: wInit, biasInit: bInit, rng: &rng)
                layers.append(c.spectralNorm ? SpectralNorm(wrapping: conv, rng: &rng) : conv)
                if i > 0, let n = normalization(outC) { layers.append(n) }
                layers.append(activation())
                inC = outC
            }
            layers.append(Reshape([inC * h * w]))
            let out = Linear(inC * h * w, outputs, weightInit: wInit, biasInit: bInit, rng: &rng)
            layers.append(c.spectralNorm ? SpectralNorm(wrapping: out, rng: &rng) : out)
            if let clip = c.clipProbability, clip.count == 2 { layers.append(Clamp.probability(Float(clip[0]), Float(clip[1]))) }
        } else {
            var inC = c.channels[0]
            layers.append(Linear(noiseDimension, inC * h * w, weightInit: wInit, biasInit: bInit, rng: &rng))
            layers.append(Reshape([inC, h, w]))
            for outC in c.channels.dropFirst() + [channels] {
                if let n = normalization(inC) { layers.append(n) }
                layers.append(activation())
                layers.append(ConvTranspose2d(inC, outC, kernel: 4, stride: 2, padding: 1, weightInit: wInit, biasInit: bInit, rng: &rng))
                inC = outC
            }
            switch c.output {
            case .linear: break
            case .sigmoid: layers.append(Sigmoid())
            case .tanh: layers.append(Tanh())
            }
        }
        return Sequential(layers)
    }

    /// An MLP: Linear + activation per hidden width (maxout: Linear to width·pieces + Maxout),
    /// then Linear to `outputs`; G gets its output nonlinearity, D stays on logits and gets the
    /// optional probability clamp (a logit clamp, see `Clamp.probability`).
    public static func network(_ c: NetworkConfig, inputs: Int, outputs: Int, isDiscriminator: Bool, rng: inout RNG) -> Sequential {
        var layers: [Layer] = []
        var width = inputs
        let slope: Float = c.activation == .leakyReLU ? Float(c.leakyAlpha) : 0
        func linear(_ i: Int, _ o: Int) -> Layer {
            let (w, b) = initializers(c, slope: slope)
            let l = Linear(i, o, weightInit: w, biasInit: b, rng: &rng)
            return c.spectralNorm ? SpectralNorm(wrapping: l, rng: &rng) : l
        }
        for h in c.hidden {
            let units = c.activation == .maxout ? h * c.maxoutPieces : h
            layers.append(linear(width, units))
            if c.batchNorm { layers.append(BatchNorm(features: units)) }
            if c.virtualBatchNorm { layers.append(VirtualBatchNorm(features: units)) }
            switch c.activation {
            case .maxout: layers.append(Maxout(pieces: c.maxoutPieces))
            case .relu: layers.append(ReLU())
            case .leakyReLU: layers.append(LeakyReLU(alpha: Float(c.leakyAlpha)))
            case .tanh: layers.append(Tanh())
            case .sigmoid: layers.append(Sigmoid())
            }
            width = h
        }
        layers.append(linear(width, outputs))
        if isDiscriminator {
            if let clip = c.clipProbability, clip.count == 2 { layers.append(Clamp.probability(Float(clip[0]), Float(clip[1]))) }
        } else {
            switch c.output {
            case .linear: break
            case .sigmoid: layers.append(Sigmoid())
            case .tanh: layers.append(Tanh())
            }
        }
        return Sequential(layers)
    }

    /// Weight and bias initialisers (PyTorch's names; biases zero except for `pytorch`).
    static func initializers(_ c: NetworkConfig, slope: Float) -> (Initializer, Initializer) {
        switch c.initialization {
        case .pytorch: (.pytorchDefault, .pytorchDefaultBias)
        case .xavierNormal: (.xavierNormal(), .zeros)
        case .xavierUniform: (.xavierUniform(), .zeros)
        case .heNormal: (.heNormal(negativeSlope: slope), .zeros)
        case .heUniform: (.heUniform(negativeSlope: slope), .zeros)
        case .normal: (.normal(mean: 0, std: Float(c.initStd)), .zeros)
        }
    }

    /// An optimiser section as an `OptimizerDescription`, with its learning-rate schedule
    /// (`decay_factor` every `decay_every` G steps).
    public static func optimizer(_ c: OptimizerConfig) -> OptimizerDescription {
        let lr = LearningRateSchedule.stepDecay(initial: c.learningRate, factor: c.decayFactor, every: c.decayEvery)
        let rule: OptimizerDescription.Rule
        switch c.kind {
        case .sgd: rule = .sgd(momentum: Float(c.momentum), dampening: Float(c.dampening), nesterov: c.nesterov)
        case .rmsprop: rule = .rmsprop(alpha: Float(c.alpha), eps: Float(c.eps), momentum: Float(c.momentum), centered: c.centered)
        case .adam: rule = .adam(beta1: Float(c.beta1), beta2: Float(c.beta2), eps: Float(c.eps))
        }
        return OptimizerDescription(rule, learningRate: lr, weightDecay: Float(c.weightDecay), clipValue: c.clipValue.map { Float($0) })
    }

    /// D's pretraining optimiser: SGD with momentum at a constant rate.
    public static func optimizer(_ p: PretrainConfig) -> OptimizerDescription {
        .sgd(learningRate: .stepDecay(initial: p.learningRate, factor: 1, every: 0), momentum: Float(p.momentum))
    }

    /// Top-k's schedule (`train.top_k_*`) over the rows of a full batch as D sees it (batch / pack);
    /// nil when off (`top_k_min_fraction` 1).
    public static func topK(_ t: TrainConfig) -> TopKSchedule? {
        guard t.topKMinFraction < 1 else { return nil }
        return TopKSchedule(rows: t.batchSize / max(t.pack, 1), minFraction: t.topKMinFraction, decay: t.topKDecay,
                            decayEvery: t.topKDecayEvery)
    }

    public static func noisePrior(_ n: NoiseConfig) -> NoisePrior {
        switch n.prior {
        case .normal: .normal(mean: Float(n.mean), std: Float(n.std))
        case .uniform: .uniform(low: Float(n.low), high: Float(n.high))
        }
    }

    public static func objective(_ l: LossConfig) -> GANObjective {
        switch l.objective {
        case .minimax: .minimax
        case .nonSaturating: .nonSaturating
        case .wasserstein: .wasserstein
        }
    }

    /// The built-in distribution of a toy source; nil for file sources.
    public static func toyDistribution(_ d: DataConfig) -> ToyDistribution? {
        switch d.source {
        case .gaussian: .gaussian(mean: Float(d.mean), std: Float(d.std))
        case .parabola: .parabola(a: Float(d.parabolaA), std: Float(d.std))
        case .ring: .ring(modes: d.modes, radius: Float(d.radius), std: Float(d.std))
        case .grid: .grid(size: d.gridSize, spacing: Float(d.spacing), std: Float(d.std))
        case .csv, .npy, .h5, .idx, .pngFolder: nil
        }
    }
}
