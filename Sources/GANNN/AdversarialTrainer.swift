/// The GAN objective: how D's (or the critic's) outputs become losses.
public enum GANObjective: Equatable, Sendable {
    /// Goodfellow et al. 2014: D maximises log D(x) + log(1 - D(G(z))); G minimises log(1 - D(G(z))).
    case minimax
    /// Same D loss; G minimises -log D(G(z)) (the paper's practical recommendation).
    case nonSaturating
    /// WGAN (Arjovsky et al. 2017): critic minimises -(mean f(x) - mean f(G(z))); G minimises
    /// -mean f(G(z)). Pair with weight clipping (`Optimizer.clipValue`) on the critic.
    case wasserstein
}

/// The prior p(z) of the generator's noise.
public enum NoisePrior: Equatable, Sendable {
    case normal(mean: Float = 0, std: Float = 1)
    case uniform(low: Float = -1, high: Float = 1)

    public func fill(_ z: Tensor, rng: inout RNG) {
        switch self {
        case .normal(let mean, let std): rng.fillNormal(z, mean: mean, std: std)
        case .uniform(let low, let high): rng.fillUniform(z, low: low, high: high)
        }
    }
}

/// What one D step measured.
public struct DiscriminatorStepResult: Sendable {
    /// D's loss (both terms), or the critic loss for WGAN.
    public var loss: Float
    /// Mean D(x) over the real batch: a probability, or the critic value for WGAN.
    public var realScore: Float
    /// Mean D(G(z)) over the fake batch, same units.
    public var fakeScore: Float

    public init(loss: Float, realScore: Float, fakeScore: Float) {
        self.loss = loss
        self.realScore = realScore
        self.fakeScore = fakeScore
    }
}

/// One adversarial training step pair, as in Algorithm 1 of Goodfellow et al. 2014:
///
///     (1) D step: maximise log D(x) + log(1 - D(G(z)))    — `discriminatorStep(real:)`, k times
///     (2) G step: fresh z, minimise the generator loss   — `generatorStep(batchSize:)`
///
/// D's two terms are back-propagated one batch at a time (forward real, backward, forward fake,
/// backward) so that batch-norm statistics stay per batch, as in PyTorch. During the G step D is
/// frozen: only input gradients flow through it (`BackwardMode.inputOnly`), skipping its weight
/// gradients. All buffers are owned and reused: no allocation per step once warmed up.
public final class AdversarialTrainer {
    public let generator: Sequential
    public let discriminator: Sequential
    public let generatorOptimizer: Optimizer
    public let discriminatorOptimizer: Optimizer
    public var objective: GANObjective
    /// Target for real samples in D's cross-entropy: 1, or e.g. 0.9 for one-sided label smoothing.
    public var realLabel: Float = 1
    public let noiseDimension: Int
    public var noisePrior: NoisePrior
    /// The "noise" stream: every z drawn for training comes from here (checkpointed).
    public var noiseRNG: RNG
    /// Stratified noise (the 1-D system's trick): for a 1-D uniform prior on [low, high], the
    /// batch is one jittered point per stratum, z_i = low + (high - low)·(i + u_i)/n, so it is
    /// sorted and covers the range evenly. Ignored for other priors or dimensions.
    public var stratifiedNoise = false
    /// PacGAN packing degree m (Lin et al. 2018): D judges m samples at once. A batch `[n, d]` is
    /// fed to D as `[n / m, m · d]` (m consecutive samples concatenated, the same row-major bytes),
    /// so D's first layer must take `m · d` inputs and batches must be multiples of m; G's gradient
    /// comes back through the same layout. Real batches are already shuffled and fake samples are
    /// independent, so packs are random groups and no extra randomness is drawn. 1 = off.
    public var pack = 1 {
        didSet { precondition(pack >= 1, "AdversarialTrainer.pack must be >= 1, got \(pack)") }
    }

    private let z = Tensor(shape: [0])
    private let scoreGradient = Tensor(shape: [0])
    private let packedReal = Tensor(shape: [0])
    private let packedFake = Tensor(shape: [0])
    private let unpackedGradient = Tensor(shape: [0])

    public init(generator: Sequential, discriminator: Sequential,
                generatorOptimizer: Optimizer, discriminatorOptimizer: Optimizer,
                objective: GANObjective = .nonSaturating, noiseDimension: Int,
                noisePrior: NoisePrior = .normal(), noiseRNG: RNG) {
        self.generator = generator
        self.discriminator = discriminator
        self.generatorOptimizer = generatorOptimizer
        self.discriminatorOptimizer = discriminatorOptimizer
        self.objective = objective
        self.noiseDimension = noiseDimension
        self.noisePrior = noisePrior
        self.noiseRNG = noiseRNG
    }

    /// Draws a batch of noise into the trainer's buffer and returns it.
    public func sampleNoise(batchSize: Int) -> Tensor {
        z.resize(rows: batchSize, columns: noiseDimension)
        if stratifiedNoise, noiseDimension == 1, case .uniform(let low, let high) = noisePrior {
            let width = (high - low) / Float(batchSize)
            for i in 0..<batchSize { z[i] = min(low + width * (Float(i) + noiseRNG.uniform()), high.nextDown) }
        } else {
            noisePrior.fill(z, rng: &noiseRNG)
        }
        return z
    }

    /// `x` (`[n, d]`) as D's input: itself when not packing, else a copy shaped `[n / m, m · d]`
    /// in the given owned buffer (no allocation once warmed up).
    private func packed(_ x: Tensor, into buffer: Tensor) -> Tensor {
        guard pack > 1 else { return x }
        precondition(x.rows % pack == 0, "AdversarialTrainer: batch of \(x.rows) is not a multiple of pack \(pack)")
        buffer.resize(rows: x.rows / pack, columns: x.columns * pack)
        buffer.data.update(from: x.data, count: x.count)
        return buffer
    }

    /// (1) Update D on one real batch (in model units) and one fake batch of the same size.
    @discardableResult
    public func discriminatorStep(real: Tensor) -> DiscriminatorStepResult {
        let fake = packed(generator.forward(sampleNoise(batchSize: real.rows), training: true), into: packedFake)
        discriminatorOptimizer.zeroGradients()

        let realLogits = discriminator.forward(packed(real, into: packedReal), training: true)
        let (realLoss, realScore) = discriminatorTerm(realLogits, real: true)
        discriminator.backward(scoreGradient, mode: .parameterGradients)

        let fakeLogits = discriminator.forward(fake, training: true)
        let (fakeLoss, fakeScore) = discriminatorTerm(fakeLogits, real: false)
        discriminator.backward(scoreGradient, mode: .parameterGradients)

        discriminatorOptimizer.step()
        return DiscriminatorStepResult(loss: realLoss + fakeLoss, realScore: realScore, fakeScore: fakeScore)
    }

    /// Loss and mean score of one D term; leaves dLoss/dlogits in `scoreGradient`.
    private func discriminatorTerm(_ logits: Tensor, real: Bool) -> (Float, Float) {
        switch objective {
        case .minimax, .nonSaturating:
            let loss = Loss.sigmoidCrossEntropy(logits: logits, target: real ? realLabel : 0, gradient: scoreGradient)
            return (loss, Loss.meanProbability(logits))
        case .wasserstein:
            let loss = Loss.signedMean(logits, sign: real ? -1 : 1, gradient: scoreGradient)
            return (loss, real ? -loss : loss)
        }
    }

    /// (2) Update G once with fresh noise through a frozen D. Returns G's loss.
    @discardableResult
    public func generatorStep(batchSize: Int) -> Float {
        let loss = generatorGradients(noise: sampleNoise(batchSize: batchSize))
        generatorOptimizer.step()
        return loss
    }

    /// G's loss on the given noise through a frozen D, leaving its gradient in G's parameter
    /// gradients (zeroed first) without stepping: the G half of `generatorStep`.
    @discardableResult
    public func generatorGradients(noise: Tensor) -> Float {
        let fake = generator.forward(noise, training: true)
        let logits = discriminator.forward(packed(fake, into: packedFake), training: true)
        let loss: Float
        switch objective {
        case .minimax: loss = Loss.generatorMinimax(logits: logits, gradient: scoreGradient)
        case .nonSaturating: loss = Loss.generatorNonSaturating(logits: logits, gradient: scoreGradient)
        case .wasserstein: loss = Loss.signedMean(logits, sign: -1, gradient: scoreGradient)
        }
        var dFake = discriminator.backward(scoreGradient, mode: .inputOnly)!
        if pack > 1 {  // [n / m, m · d] back to G's [n, d]: same bytes
            unpackedGradient.resize(rows: fake.rows, columns: fake.columns)
            unpackedGradient.data.update(from: dFake.data, count: dFake.count)
            dFake = unpackedGradient
        }
        generatorOptimizer.zeroGradients()
        generator.backward(dFake, mode: .parameterGradients)
        return loss
    }
}
