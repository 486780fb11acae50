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
///
/// Optional stabilisation tricks (all off by default):
/// - **Feature matching** (`featureMatchingLayer`, Salimans et al. 2016 §3.1): G matches the mean
///   of D's intermediate features on real data instead of maximising D's output.
/// - **Virtual batch normalisation** hooks (Salimans et al. 2016 §3.4): when a network contains a
///   `ReferenceBatchLayer`, its fixed reference batch (`generatorReferenceNoise`,
///   `discriminatorReference`) is run through it before every forward pass of a batch.
/// - **Weight averaging** (`weightAverage`): an exponential moving average of G's weights, updated
///   after every G step (Yazıcı et al. 2019; Karras et al. 2018).
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

    /// Top-k training (Sinha et al. 2020, "Top-k Training of GANs: Improving GAN Performance by
    /// Throwing Away Bad Samples"): when set to k, the G step's loss is `objective`'s generator loss
    /// averaged over only the k fake rows of D's input with the highest logits (D's "best" samples;
    /// with `pack > 1` a row is a pack of m samples, so packs are ranked); the other rows get a zero
    /// gradient. Ties go to the lower row index. k larger than the number of rows means all of
    /// them (plain training). The caller sets k before each G step (the pipeline decays it with the
    /// step counter). nil = off. Not with `featureMatchingLayer` (its loss is not per sample).
    public var generatorTopK: Int? {
        didSet {
            if let k = generatorTopK { precondition(k >= 1, "AdversarialTrainer.generatorTopK must be >= 1, got \(k)") }
        }
    }

    /// Feature matching (Salimans et al. 2016, "Improved Techniques for Training GANs", §3.1):
    /// when set to L, the G step minimises
    ///
    ///     L_FM = (1/F) Σ_j ( mean_batch f(G(z))_j − mean_batch f(x)_j )²
    ///
    /// where f is the output of D's first L layers (`discriminator.forward(_:training:throughLayer:)`,
    /// flattened to F features per sample, e.g. C·H·W for a convolutional layer). The squared
    /// difference is *averaged* over the features, as in the authors' code
    /// (`T.mean(T.square(m1 - m2))` in openai/improved-gan) and PyTorch's
    /// `mse_loss(f_fake.mean(0), f_real.mean(0))`; see `Loss.featureMatching(realMean:fake:gradient:)`.
    /// The real features are a constant target: gradients flow only through f(G(z)), back through
    /// D's first L layers (input gradients only, `.inputOnly`: D's parameter gradients are not
    /// touched) into G. The D step is unchanged. With packing, f sees packs on both sides.
    ///
    /// The real batch comes from `generatorStep(batchSize:real:)` (a fresh batch, as the authors'
    /// code draws a separate one for G), or, with `generatorStep(batchSize:)`, from a copy of the
    /// real batch of the most recent `discriminatorStep(real:)` (taken only while this is set).
    /// nil = off (G uses `objective`'s generator loss). Must be in 1...`discriminator.layers.count`.
    public var featureMatchingLayer: Int? {
        didSet {
            if let l = featureMatchingLayer {
                precondition(l >= 1 && l <= discriminator.layers.count,
                             "AdversarialTrainer.featureMatchingLayer must be in 1...\(discriminator.layers.count) (D's layer count), got \(l)")
            } else {
                hasLastReal = false
            }
        }
    }
    /// Virtual batch normalisation (Salimans et al. 2016 §3.4): the reference noise batch `[r, noiseDimension]`,
    /// drawn once by the caller at the start of training (store it in checkpoints for an exact
    /// resume). Required when `generator.needsReferenceBatch`; `generator.recordReference(_:)` runs
    /// it before every G forward pass (in both steps).
    public var generatorReferenceNoise: Tensor?
    /// Virtual batch normalisation for D: a reference batch of real data in model units, `[r, d]`
    /// like `discriminatorStep`'s `real` (packed like every D input when `pack > 1`, so r must be a
    /// multiple of `pack`). Required when `discriminator.needsReferenceBatch`;
    /// `discriminator.recordReference(_:)` runs it before every D forward pass of a batch (real,
    /// fake, and both feature passes of a feature-matching G step). Store it in checkpoints.
    public var discriminatorReference: Tensor?
    /// Exponential moving average of G's weights, updated (`update()`) after every G step
    /// (`generatorStep`; not by `generatorGradients`, which does not step). Must average `generator`.
    public var weightAverage: WeightAverage? {
        didSet {
            if let w = weightAverage {
                precondition(w.network === generator, "AdversarialTrainer.weightAverage must average the trainer's generator")
            }
        }
    }

    private let z = Tensor(shape: [0])
    private let scoreGradient = Tensor(shape: [0])
    private let packedReal = Tensor(shape: [0])
    private let packedFake = Tensor(shape: [0])
    private let stacked = Tensor(shape: [0])
    /// D has only row-independent layers and no reference batch: `discriminatorStep` stacks real
    /// and fake rows into one pass. Off, it runs D on each (BatchNorm needs separate batches).
    public var stacksDiscriminatorBatches: Bool
    private let unpackedGradient = Tensor(shape: [0])
    private let packedReference = Tensor(shape: [0])
    private let realFeatureMean = Tensor(shape: [0])
    /// Top-k: the selected logits `[k, 1]`, their loss gradient, and the row order (reused).
    private let topLogits = Tensor(shape: [0])
    private let topGradient = Tensor(shape: [0])
    private var rowOrder: [Int] = []
    /// Copy of the latest D step's real batch (feature matching via `generatorStep(batchSize:)`).
    private let lastReal = Tensor(shape: [0])
    private var hasLastReal = false
    private let generatorNeedsReference: Bool
    private let discriminatorNeedsReference: Bool

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
        generatorNeedsReference = generator.needsReferenceBatch
        discriminatorNeedsReference = discriminator.needsReferenceBatch
        stacksDiscriminatorBatches = discriminator.isRowIndependent && !discriminatorNeedsReference
    }

    /// G's forward pass in training mode, after recording the VBN reference when G needs one.
    private func generatorForward(_ z: Tensor) -> Tensor {
        if generatorNeedsReference {
            guard let reference = generatorReferenceNoise else {
                preconditionFailure("AdversarialTrainer: the generator has virtual batch norm layers (ReferenceBatchLayer) "
                                    + "but generatorReferenceNoise is not set: draw a reference noise batch once and set it")
            }
            generator.recordReference(reference)
        }
        return generator.forward(z, training: true)
    }

    /// D's first `layerCount` layers in training mode on `x` (already packed), after recording the
    /// VBN reference when D needs one.
    private func discriminatorForward(_ x: Tensor, throughLayer layerCount: Int) -> Tensor {
        if discriminatorNeedsReference {
            guard let reference = discriminatorReference else {
                preconditionFailure("AdversarialTrainer: the discriminator has virtual batch norm layers (ReferenceBatchLayer) "
                                    + "but discriminatorReference is not set: draw a reference batch of real data once and set it")
            }
            discriminator.recordReference(packed(reference, into: packedReference))
        }
        return discriminator.forward(x, training: true, throughLayer: layerCount)
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
        if featureMatchingLayer != nil {
            lastReal.copy(from: real)
            hasLastReal = true
        }
        let all = discriminator.layers.count
        if stacksDiscriminatorBatches {
            return stackedDiscriminatorStep(real: real, fake: generatorForward(sampleNoise(batchSize: real.rows)))
        }
        let fake = packed(generatorForward(sampleNoise(batchSize: real.rows)), into: packedFake)
        discriminatorOptimizer.zeroGradients()

        let realLogits = discriminatorForward(packed(real, into: packedReal), throughLayer: all)
        let (realLoss, realScore) = discriminatorTerm(realLogits, real: true)
        discriminator.backward(scoreGradient, mode: .parameterGradients)

        let fakeLogits = discriminatorForward(fake, throughLayer: all)
        let (fakeLoss, fakeScore) = discriminatorTerm(fakeLogits, real: false)
        discriminator.backward(scoreGradient, mode: .parameterGradients)

        discriminatorOptimizer.step()
        return DiscriminatorStepResult(loss: realLoss + fakeLoss, realScore: realScore, fakeScore: fakeScore)
    }

    /// The D step with real and fake rows stacked into one batch `[real packs; fake packs]` and one
    /// forward and backward pass: the same loss and gradients as two passes (each half's loss is
    /// its own mean), up to the order in which the weight gradients sum over rows.
    private func stackedDiscriminatorStep(real: Tensor, fake: Tensor) -> DiscriminatorStepResult {
        precondition(real.rows % pack == 0 && fake.rows % pack == 0,
                     "AdversarialTrainer: batches of \(real.rows) and \(fake.rows) are not multiples of pack \(pack)")
        precondition(real.columns == fake.columns, "AdversarialTrainer: real rows have \(real.columns) values, G's \(fake.columns)")
        stacked.resize(rows: (real.rows + fake.rows) / pack, columns: real.columns * pack)
        stacked.data.update(from: real.data, count: real.count)
        (stacked.data + real.count).update(from: fake.data, count: fake.count)
        discriminatorOptimizer.zeroGradients()
        let logits = discriminatorForward(stacked, throughLayer: discriminator.layers.count)
        scoreGradient.resize(logits.shape)
        let realCount = real.rows / pack * logits.columns
        let (realLoss, realScore) = discriminatorTerm(logits.data, count: realCount, real: true, gradient: scoreGradient.data)
        let (fakeLoss, fakeScore) = discriminatorTerm(logits.data + realCount, count: logits.count - realCount, real: false,
                                                      gradient: scoreGradient.data + realCount)
        discriminator.backward(scoreGradient, mode: .parameterGradients)
        discriminatorOptimizer.step()
        return DiscriminatorStepResult(loss: realLoss + fakeLoss, realScore: realScore, fakeScore: fakeScore)
    }

    /// Loss and mean score of one D term; leaves dLoss/dlogits in `scoreGradient`.
    private func discriminatorTerm(_ logits: Tensor, real: Bool) -> (Float, Float) {
        scoreGradient.resize(logits.shape)
        return discriminatorTerm(logits.data, count: logits.count, real: real, gradient: scoreGradient.data)
    }

    /// Loss and mean score of the `n` logits at `l`, dLoss/dlogits to `g`.
    private func discriminatorTerm(_ l: UnsafePointer<Float>, count n: Int, real: Bool,
                                   gradient g: UnsafeMutablePointer<Float>) -> (Float, Float) {
        switch objective {
        case .minimax, .nonSaturating:
            let r = Loss.sigmoidCrossEntropy(l, count: n, target: real ? realLabel : 0, gradient: g)
            return (r.loss, r.meanProbability)
        case .wasserstein:
            let loss = Loss.signedMean(l, count: n, sign: real ? -1 : 1, gradient: g)
            return (loss, real ? -loss : loss)
        }
    }

    /// (2) Update G once with fresh noise through a frozen D, then update `weightAverage`.
    /// Returns G's loss. With feature matching on, the real batch is the copy of the latest
    /// `discriminatorStep(real:)`'s batch (a D step must have run since `featureMatchingLayer` was set).
    @discardableResult
    public func generatorStep(batchSize: Int) -> Float {
        let loss: Float
        if featureMatchingLayer != nil {
            precondition(hasLastReal, "AdversarialTrainer: feature matching needs a real batch: run discriminatorStep(real:) "
                                      + "first or call generatorStep(batchSize:real:)")
            loss = generatorGradients(noise: sampleNoise(batchSize: batchSize), real: lastReal)
        } else {
            loss = generatorGradients(noise: sampleNoise(batchSize: batchSize))
        }
        generatorOptimizer.step()
        weightAverage?.update()
        return loss
    }

    /// (2) with an explicit real batch (in model units) for feature matching, then updates
    /// `weightAverage`. Returns the feature-matching loss. Requires `featureMatchingLayer`.
    @discardableResult
    public func generatorStep(batchSize: Int, real: Tensor) -> Float {
        let loss = generatorGradients(noise: sampleNoise(batchSize: batchSize), real: real)
        generatorOptimizer.step()
        weightAverage?.update()
        return loss
    }

    /// G's loss on the given noise through a frozen D, leaving its gradient in G's parameter
    /// gradients (zeroed first) without stepping: the G half of `generatorStep`. Uses `objective`'s
    /// generator loss (feature matching needs `generatorGradients(noise:real:)`).
    @discardableResult
    public func generatorGradients(noise: Tensor) -> Float {
        precondition(featureMatchingLayer == nil, "AdversarialTrainer: feature matching is on: use generatorGradients(noise:real:)")
        let fake = generatorForward(noise)
        let logits = discriminatorForward(packed(fake, into: packedFake), throughLayer: discriminator.layers.count)
        let loss: Float
        if let k = generatorTopK, k < logits.rows {
            loss = topKGeneratorLoss(logits: logits, k: k)
        } else {
            loss = generatorLoss(logits: logits, gradient: scoreGradient)
        }
        backpropagateToGenerator(fake: fake, throughLayer: discriminator.layers.count)
        return loss
    }

    /// `objective`'s generator loss, mean over the rows of `logits`, its gradient in `gradient`.
    private func generatorLoss(logits: Tensor, gradient: Tensor) -> Float {
        switch objective {
        case .minimax: return Loss.generatorMinimax(logits: logits, gradient: gradient)
        case .nonSaturating: return Loss.generatorNonSaturating(logits: logits, gradient: gradient)
        case .wasserstein: return Loss.signedMean(logits, sign: -1, gradient: gradient)
        }
    }

    /// Top-k (see `generatorTopK`): the generator loss over the k rows of `logits` (`[n, 1]`, k < n)
    /// with the highest logits, its gradient in `scoreGradient` (the selected rows' gradient of the
    /// k-row mean, zero elsewhere).
    private func topKGeneratorLoss(logits: Tensor, k: Int) -> Float {
        let n = logits.rows
        precondition(logits.columns == 1, "AdversarialTrainer: top-k needs one logit per row, got \(logits.columns)")
        let l = logits.data
        // Insertion sort of the row indices by logit, descending, ties by index (stable; no allocation
        // once warmed up; n is a batch of packs).
        if rowOrder.count != n { rowOrder = Array(0..<n) } else { for i in 0..<n { rowOrder[i] = i } }
        for i in 1..<max(n, 1) {
            let r = rowOrder[i], v = l[r]
            var j = i
            while j > 0 && l[rowOrder[j - 1]] < v { rowOrder[j] = rowOrder[j - 1]; j -= 1 }
            rowOrder[j] = r
        }
        topLogits.resize(rows: k, columns: 1)
        for i in 0..<k { topLogits[i] = l[rowOrder[i]] }
        let loss = generatorLoss(logits: topLogits, gradient: topGradient)
        scoreGradient.resize(logits.shape)
        scoreGradient.fill(0)
        for i in 0..<k { scoreGradient[rowOrder[i]] = topGradient[i] }
        return loss
    }

    /// The feature-matching loss (see `featureMatchingLayer`) of G on `noise` against the real
    /// batch `real` (model units, `[n, d]`; its features are constants), leaving dLoss/dθ_G in G's
    /// parameter gradients (zeroed first) without stepping. D's parameter gradients are untouched.
    @discardableResult
    public func generatorGradients(noise: Tensor, real: Tensor) -> Float {
        guard let layers = featureMatchingLayer else {
            preconditionFailure("AdversarialTrainer: generatorGradients(noise:real:) needs featureMatchingLayer to be set")
        }
        precondition(generatorTopK == nil, "AdversarialTrainer: top-k training ranks per-sample losses: not with feature matching")
        let fake = generatorForward(noise)
        // Real features first: their mean is copied out before the fake pass reuses D's buffers.
        Loss.columnMeans(discriminatorForward(packed(real, into: packedReal), throughLayer: layers), into: realFeatureMean)
        let fakeFeatures = discriminatorForward(packed(fake, into: packedFake), throughLayer: layers)
        let loss = Loss.featureMatching(realMean: realFeatureMean, fake: fakeFeatures, gradient: scoreGradient)
        backpropagateToGenerator(fake: fake, throughLayer: layers)
        return loss
    }

    /// Back-propagates `scoreGradient` (dLoss/d(output of D's layer `layerCount - 1`)) through D's
    /// first `layerCount` layers, input gradients only, then through G into its zeroed parameter
    /// gradients.
    private func backpropagateToGenerator(fake: Tensor, throughLayer layerCount: Int) {
        var dFake = discriminator.backward(scoreGradient, mode: .inputOnly, fromLayer: layerCount)!
        if pack > 1 {  // [n / m, m · d] back to G's [n, d]: same bytes
            unpackedGradient.resize(fake.shape)
            unpackedGradient.data.update(from: dFake.data, count: dFake.count)
            dFake = unpackedGradient
        }
        generatorOptimizer.zeroGradients()
        generator.backward(dFake, mode: .parameterGradients)
    }
}
