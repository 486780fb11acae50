import GANData
import GANNN

/// Builds engine objects from a pipeline configuration. Initialisation draws from the "init"
/// stream only, so the same seed gives the same networks whatever happens elsewhere.
public enum ModelFactory {
    /// An MLP: Linear + activation per hidden width (maxout: Linear to width·pieces + Maxout),
    /// then Linear to `outputs`; G gets its output nonlinearity, D stays on logits and gets the
    /// optional probability clamp (a logit clamp, see `Clamp.probability`).
    public static func network(_ c: NetworkConfig, inputs: Int, outputs: Int, isDiscriminator: Bool, rng: inout RNG) -> Sequential {
        var layers: [Layer] = []
        var width = inputs
        let slope: Float = c.activation == .leakyReLU ? Float(c.leakyAlpha) : 0
        func linear(_ i: Int, _ o: Int) -> Linear {
            let (w, b) = initializers(c, slope: slope)
            return Linear(i, o, weightInit: w, biasInit: b, rng: &rng)
        }
        for h in c.hidden {
            let units = c.activation == .maxout ? h * c.maxoutPieces : h
            layers.append(linear(width, units))
            if c.batchNorm { layers.append(BatchNorm(features: units)) }
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

    public static func optimizer(_ c: OptimizerConfig, parameters: [Parameter]) -> Optimizer {
        let o: Optimizer
        switch c.kind {
        case .sgd:
            o = SGD(parameters: parameters, learningRate: Float(c.learningRate), momentum: Float(c.momentum),
                    dampening: Float(c.dampening), nesterov: c.nesterov, weightDecay: Float(c.weightDecay))
        case .rmsprop:
            o = RMSProp(parameters: parameters, learningRate: Float(c.learningRate), alpha: Float(c.alpha), eps: Float(c.eps),
                        weightDecay: Float(c.weightDecay), momentum: Float(c.momentum), centered: c.centered)
        case .adam:
            o = Adam(parameters: parameters, learningRate: Float(c.learningRate), beta1: Float(c.beta1), beta2: Float(c.beta2),
                     eps: Float(c.eps), weightDecay: Float(c.weightDecay))
        }
        o.clipValue = c.clipValue.map { Float($0) }
        return o
    }

    /// Learning rate at G step `step` (0-based count of completed steps): lr · factor^⌊step / every⌋.
    public static func learningRate(_ c: OptimizerConfig, step: Int) -> Float {
        guard c.decayEvery > 0, c.decayFactor != 1 else { return Float(c.learningRate) }
        var lr = c.learningRate
        for _ in 0..<(step / c.decayEvery) { lr *= c.decayFactor }
        return Float(lr)
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
        case .csv, .npy, .h5, .idx: nil
        }
    }
}
