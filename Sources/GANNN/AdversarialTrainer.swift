/// What one D step measured.
public struct DiscriminatorStepResult: Sendable {
    /// D's loss (both terms), or the critic loss for WGAN.
    public var loss: Float
    /// Mean D(x) over the real batch: a probability, or the critic value for WGAN.
    public var realScore: Float
    /// Mean D(G(z)) over the fake batch, same units.
    public var fakeScore: Float

    public init(loss: Float, realScore: Float, fakeScore: Float) {
        (self.loss, self.realScore, self.fakeScore) = (loss, realScore, fakeScore)
    }
}

/// One adversarial training step pair, as in Algorithm 1 of Goodfellow et al. 2014:
///
///     (1) D step: maximise log D(x) + log(1 - D(G(z)))    — `discriminatorStep(real:step:)`, k times
///     (2) G step: fresh z, minimise the generator loss   — `generatorStep(batchSize:real:step:)`
///
/// Each step is its two halves: the gradients (`discriminatorGradients(real:noise:)`,
/// `generatorGradients(noise:real:step:)`: forward and backward into the network's zeroed
/// parameter gradients, no update) and the update (`applyDiscriminatorGradients(step:)`,
/// `applyGeneratorGradients(step:)`: the schedule's learning rate of that step, one optimiser
/// step, and for G the weight average). Data-parallel training computes the first half per batch
/// shard, sums the gradients in a fixed order across processes, then runs the second.
///
/// `step` is the training step (the number of completed G steps, the pipeline's step counter):
/// the clock of the learning-rate schedules and of top-k's k, passed in so that the trainer holds
/// no counter a caller must keep in sync (a resumed run passes the step it resumes from).
///
/// D's two terms are back-propagated one batch at a time (forward real, backward, forward fake,
/// backward) so that batch-norm statistics stay per batch, as in PyTorch, unless every layer of D
/// is row-independent: then real and fake rows are stacked into one pass (`stacksDiscriminatorBatches`).
/// During the G step D is frozen: only input gradients flow through it (`BackwardMode.inputOnly`),
/// skipping its weight gradients. All buffers are owned and reused: no allocation per step once
/// warmed up.
///
/// Stabilisation tricks (all off by default) are `Options`, fixed at construction: packing,
/// top-k, feature matching, virtual-batch-norm reference batches, the weight average of G,
/// stratified noise, label smoothing.
public final class AdversarialTrainer {
    public let generator: Sequential
    public let discriminator: Sequential
    /// Built from the descriptions given to `init`; the trainer sets their learning rates.
    public let generatorOptimizer: Optimizer
    public let discriminatorOptimizer: Optimizer
    public let generatorLearningRate: LearningRateSchedule
    public let discriminatorLearningRate: LearningRateSchedule
    public let options: Options
    public let noiseDimension: Int
    /// Every z drawn for training comes from here (the "noise" stream; checkpointed).
    public var noiseRNG: RNG
    /// The moving average of G's weights (`Options.emaDecay`), updated after every G step; nil when off.
    public let weightAverage: WeightAverage?
    /// D runs once on `[real; fake]` stacked (`Options.stackDiscriminatorBatches`, D row-independent
    /// and without a reference batch); otherwise once per batch (BatchNorm needs separate batches).
    public let stacksDiscriminatorBatches: Bool

    let z = Tensor(shape: [0])
    let scoreGradient = Tensor(shape: [0])
    let packedReal = Tensor(shape: [0])
    let packedFake = Tensor(shape: [0])
    private let stacked = Tensor(shape: [0])
    let unpackedGradient = Tensor(shape: [0])
    private let packedReference = Tensor(shape: [0])
    let realFeatureMean = Tensor(shape: [0])
    /// Top-k: the selected logits `[k, 1]`, their loss gradient, and the row order (reused).
    let topLogits = Tensor(shape: [0])
    let topGradient = Tensor(shape: [0])
    var rowOrder: [Int] = []
    /// Class-conditional training (`Options.conditioning`): the fakes' labels come from here (the
    /// "labels" stream; checkpointed by conditional runs), drawn with the training label weights.
    public var labelRNG: RNG
    let classDistribution: ClassDistribution?
    var fakeLabels: [Int] = []
    var stackedLabels: [Int] = []
    let conditionalStack = Tensor(shape: [0])
    let adversarialLogits = Tensor(shape: [0])
    let adversarialGradient = Tensor(shape: [0])

    /// Builds the optimisers from their descriptions and checks `options` against the networks
    /// (throws `OptionError`). With a generator reference batch, G's reference statistics are
    /// recorded once here, so G can sample before the first step; the weight average then starts
    /// from G's weights and buffers.
    public init(generator: Sequential, discriminator: Sequential,
                generatorOptimizer: OptimizerDescription, discriminatorOptimizer: OptimizerDescription,
                noiseDimension: Int, noiseRNG: RNG, labelRNG: RNG = RNG(seed: 0, stream: .labels),
                options: Options = Options()) throws {
        try options.validate(generator: generator, discriminator: discriminator, noiseDimension: noiseDimension)
        try options.validateConditioning(generator: generator, discriminator: discriminator)
        self.labelRNG = labelRNG
        classDistribution = options.conditioning.map { ClassDistribution(counts: $0.labelCounts) }
        self.generator = generator
        self.discriminator = discriminator
        generator.shareGradientBuffers(with: discriminator)
        self.generatorOptimizer = generatorOptimizer.makeOptimizer(parameters: generator.parameters)
        self.discriminatorOptimizer = discriminatorOptimizer.makeOptimizer(parameters: discriminator.parameters)
        generatorLearningRate = generatorOptimizer.learningRate
        discriminatorLearningRate = discriminatorOptimizer.learningRate
        self.options = options
        self.noiseDimension = noiseDimension
        self.noiseRNG = noiseRNG
        stacksDiscriminatorBatches = options.stackDiscriminatorBatches && discriminator.isRowIndependent
            && !discriminator.needsReferenceBatch
        if let reference = options.generatorReferenceNoise { generator.recordReference(reference) }
        weightAverage = options.emaDecay.map { WeightAverage(network: generator, decay: $0, warmUp: options.emaWarmUp) }
    }

    /// Draws a batch of noise into the trainer's buffer and returns it.
    public func sampleNoise(batchSize: Int) -> Tensor {
        z.resize(rows: batchSize, columns: noiseDimension)
        options.noisePrior.fill(z, rng: &noiseRNG, stratified: options.stratifiedNoise)
        return z
    }

    /// G's forward pass in training mode, after recording the VBN reference when G has one.
    func generatorForward(_ z: Tensor) -> Tensor {
        if let reference = options.generatorReferenceNoise { generator.recordReference(reference) }
        return generator.forward(z, training: true)
    }

    /// D's first `layerCount` layers in training mode on `x` (already packed), after recording the
    /// VBN reference (packed like `x`) when D has one.
    func discriminatorForward(_ x: Tensor, throughLayer layerCount: Int) -> Tensor {
        if let reference = options.discriminatorReference {
            discriminator.recordReference(packed(reference, into: packedReference))
        }
        return discriminator.forward(x, training: true, throughLayer: layerCount)
    }

    /// `x` (`[n, d]`) as D's input: itself when not packing, else a copy shaped `[n / m, m · d]`
    /// in the given owned buffer (no allocation once warmed up).
    func packed(_ x: Tensor, into buffer: Tensor) -> Tensor {
        let pack = options.pack
        guard pack > 1 else { return x }
        precondition(x.rows % pack == 0, "AdversarialTrainer: batch of \(x.rows) is not a multiple of pack \(pack)")
        buffer.resize(rows: x.rows / pack, columns: x.columns * pack)
        buffer.data.update(from: x.data, count: x.count)
        return buffer
    }

    // MARK: - (1) The D step

    /// (1) Updates D on one real batch (in model units) and one fake batch of the same size from
    /// fresh noise: `discriminatorGradients`, then `applyDiscriminatorGradients(step:)`.
    @discardableResult
    public func discriminatorStep(real: Tensor, step: Int) -> DiscriminatorStepResult {
        precondition(options.conditioning == nil, "AdversarialTrainer: a conditional D step needs the real labels")
        let result = discriminatorGradients(real: real, noise: sampleNoise(batchSize: real.rows))
        applyDiscriminatorGradients(step: step)
        return result
    }

    /// D's loss on the real batch `real` (model units) and on G's samples of `noise`, leaving its
    /// gradient in D's parameter gradients (zeroed first) without updating D: the first half of
    /// the D step. G runs forward in training mode; its parameter gradients are not touched.
    @discardableResult
    public func discriminatorGradients(real: Tensor, noise: Tensor) -> DiscriminatorStepResult {
        if stacksDiscriminatorBatches { return stackedDiscriminatorGradients(real: real, fake: generatorForward(noise)) }
        let all = discriminator.layers.count
        let fake = packed(generatorForward(noise), into: packedFake)
        discriminatorOptimizer.zeroGradients()

        let realLogits = discriminatorForward(packed(real, into: packedReal), throughLayer: all)
        let (realLoss, realScore) = discriminatorTerm(realLogits, real: true)
        discriminator.backward(scoreGradient, mode: .parameterGradients)

        let fakeLogits = discriminatorForward(fake, throughLayer: all)
        let (fakeLoss, fakeScore) = discriminatorTerm(fakeLogits, real: false)
        discriminator.backward(scoreGradient, mode: .parameterGradients)
        return DiscriminatorStepResult(loss: realLoss + fakeLoss, realScore: realScore, fakeScore: fakeScore)
    }

    /// The second half of the D step: D's learning rate of training step `step`, then one update
    /// from the gradients `discriminatorGradients` left (summed over shards, if sharded).
    public func applyDiscriminatorGradients(step: Int) {
        discriminatorOptimizer.learningRate = discriminatorLearningRate.rate(at: step)
        discriminatorOptimizer.step()
    }

    /// The D gradients with real and fake rows stacked into one batch `[real packs; fake packs]`
    /// and one forward and backward pass: the same loss and gradients as two passes (each half's
    /// loss is its own mean), up to the order in which the weight gradients sum over rows.
    private func stackedDiscriminatorGradients(real: Tensor, fake: Tensor) -> DiscriminatorStepResult {
        let pack = options.pack
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
        // Both halves' terms in one pass (each its own mean): the bits of two discriminatorTerm calls.
        let terms = options.objective.discriminatorTerms(logits.data, realCount: realCount, fakeCount: logits.count - realCount,
                                                         realLabel: options.realLabel, gradient: scoreGradient.data)
        let (realLoss, realScore) = terms.real, (fakeLoss, fakeScore) = terms.fake
        discriminator.backward(scoreGradient, mode: .parameterGradients)
        return DiscriminatorStepResult(loss: realLoss + fakeLoss, realScore: realScore, fakeScore: fakeScore)
    }

    /// Loss and mean score of one D term; leaves dLoss/dlogits in `scoreGradient`.
    private func discriminatorTerm(_ logits: Tensor, real: Bool) -> (Float, Float) {
        scoreGradient.resize(logits.shape)
        return options.objective.discriminatorTerm(logits.data, count: logits.count, real: real, realLabel: options.realLabel,
                                                   gradient: scoreGradient.data)
    }
}
