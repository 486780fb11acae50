extension AdversarialTrainer {
    /// Everything that shapes the adversarial steps besides the networks, their optimisers and
    /// the noise: given once to `init` and checked there (a bad value throws `OptionError`), then
    /// fixed for the trainer's life. All tricks are off by default.
    public struct Options {
        /// How D's outputs become losses.
        public var objective: GANObjective
        /// Target for real samples in D's cross-entropy: 1, or e.g. 0.9 for one-sided label
        /// smoothing (Salimans et al. 2016 §3.4). In (0, 1]; unused by the Wasserstein objective.
        public var realLabel: Float
        /// The prior p(z) every training z is drawn from.
        public var noisePrior: NoisePrior
        /// Stratified noise (the 1-D system's trick): with a uniform prior and one noise value per
        /// sample, a batch is one jittered point per stratum, z_i = low + (high - low)·(i + u_i)/n,
        /// so it is sorted and covers the range evenly. Needs noise dimension 1; a normal prior
        /// ignores it.
        public var stratifiedNoise: Bool
        /// PacGAN packing degree m (Lin et al. 2018): D judges m samples at once. A batch `[n, d]`
        /// is fed to D as `[n / m, m · d]` (m consecutive samples concatenated, the same row-major
        /// bytes), so D's first layer must take `m · d` inputs and batches must be multiples of m;
        /// G's gradient comes back through the same layout. Real batches are already shuffled and
        /// fake samples are independent, so packs are random groups and no extra randomness is
        /// drawn. 1 = off.
        public var pack: Int
        /// Top-k training (see `TopKSchedule`): the G step's loss is the objective's generator loss
        /// averaged over only the k(step) fake rows of D's input with the highest logits (D's
        /// "best" samples; with `pack > 1` a row is a pack, so packs are ranked); the other rows
        /// get a zero gradient. Ties go to the lower row index; k at least the number of rows is
        /// plain training. nil = off. Not with `featureMatchingLayer` (its loss is not per sample).
        public var topK: TopKSchedule?
        /// Feature matching (Salimans et al. 2016, "Improved Techniques for Training GANs", §3.1):
        /// when set to L, the G step minimises
        ///
        ///     L_FM = (1/F) Σ_j ( mean_batch f(G(z))_j − mean_batch f(x)_j )²
        ///
        /// where f is the output of D's first L layers (`discriminator.forward(_:training:throughLayer:)`,
        /// flattened to F features per sample, e.g. C·H·W for a convolutional layer), x the real
        /// batch given to the G step. The squared difference is *averaged* over the features, as in
        /// the authors' code (`T.mean(T.square(m1 - m2))` in openai/improved-gan) and PyTorch's
        /// `mse_loss(f_fake.mean(0), f_real.mean(0))`; see `Loss.featureMatching(realMean:fake:gradient:)`.
        /// The real features are a constant target: gradients flow only through f(G(z)), back
        /// through D's first L layers (input gradients only, `.inputOnly`: D's parameter gradients
        /// are not touched) into G. The D step is unchanged. With packing, f sees packs on both
        /// sides. nil = off (G uses `objective`'s generator loss); else in 1...D's layer count.
        public var featureMatchingLayer: Int?
        /// Virtual batch normalisation (Salimans et al. 2016 §3.4): G's fixed reference noise batch
        /// `[r, noiseDimension]`, drawn once by the caller (store it in checkpoints for an exact
        /// resume: a loader copies into this tensor). Required exactly when the generator has
        /// `ReferenceBatchLayer`s; it is run through G before every G forward pass (both steps).
        public var generatorReferenceNoise: Tensor?
        /// Virtual batch normalisation for D: a reference batch of real data in model units,
        /// `[r, d]` like the D step's `real` (packed like every D input, so r must be a multiple of
        /// `pack`). Required exactly when the discriminator has `ReferenceBatchLayer`s; run through
        /// D before every D forward pass of a batch (real, fake, and both feature passes of a
        /// feature-matching G step). Store it in checkpoints.
        public var discriminatorReference: Tensor?
        /// Exponential moving average of G's weights with this decay, in [0, 1] (`WeightAverage`,
        /// updated after every G step; nil = off). It starts from G's weights and buffers at
        /// construction (after G's reference batch was recorded).
        public var emaDecay: Float?
        /// The average's TensorFlow-style warm-up (`WeightAverage.warmUp`); needs `emaDecay`.
        public var emaWarmUp: Bool
        /// Run D once on `[real; fake]` stacked when every layer of D is row-independent and D has
        /// no reference batch (`stacksDiscriminatorBatches`); false always runs two passes (tests).
        public var stackDiscriminatorBatches: Bool
        /// Class-conditional training (issue 22): how labels enter G, D and the losses; nil = off.
        /// Not with packing, top-k, feature matching, virtual batch norm or stratified noise.
        public var conditioning: Conditioning?

        public init(objective: GANObjective = .nonSaturating, realLabel: Float = 1, noisePrior: NoisePrior = .normal(),
                    stratifiedNoise: Bool = false, pack: Int = 1, topK: TopKSchedule? = nil, featureMatchingLayer: Int? = nil,
                    generatorReferenceNoise: Tensor? = nil, discriminatorReference: Tensor? = nil,
                    emaDecay: Float? = nil, emaWarmUp: Bool = false, stackDiscriminatorBatches: Bool = true,
                    conditioning: Conditioning? = nil) {
            self.conditioning = conditioning
            (self.objective, self.realLabel, self.noisePrior, self.stratifiedNoise) = (objective, realLabel, noisePrior, stratifiedNoise)
            (self.pack, self.topK, self.featureMatchingLayer) = (pack, topK, featureMatchingLayer)
            (self.generatorReferenceNoise, self.discriminatorReference) = (generatorReferenceNoise, discriminatorReference)
            (self.emaDecay, self.emaWarmUp, self.stackDiscriminatorBatches) = (emaDecay, emaWarmUp, stackDiscriminatorBatches)
        }
    }

    /// An option the networks cannot train with: one line naming the option and what was expected.
    public struct OptionError: Error, Equatable, CustomStringConvertible {
        /// The option's name in `Options` (or `noiseDimension`).
        public let option: String
        /// What was expected and what was given.
        public let expected: String

        public var description: String { "AdversarialTrainer: \(option): \(expected)" }
    }
}

extension AdversarialTrainer.Options {
    /// Throws the first option that does not fit these networks and noise dimension.
    func validate(generator g: Sequential, discriminator d: Sequential, noiseDimension z: Int) throws {
        func check(_ ok: Bool, _ option: String, _ expected: @autoclosure () -> String) throws {
            if !ok { throw AdversarialTrainer.OptionError(option: option, expected: expected()) }
        }
        try check(z >= 1, "noiseDimension", "expected >= 1, got \(z)")
        try check(realLabel > 0 && realLabel <= 1, "realLabel", "expected a target in (0, 1], got \(realLabel)")
        try check(pack >= 1, "pack", "expected a packing degree >= 1, got \(pack)")
        try check(!stratifiedNoise || z == 1, "stratifiedNoise",
                  "expected noise dimension 1 (one stratum per sample), got noise dimension \(z)")
        if let topK {
            try check(topK.problem == nil, "topK", "expected a schedule: \(topK.problem ?? "")")
            try check(featureMatchingLayer == nil, "topK",
                      "expected no featureMatchingLayer: top-k ranks per-sample losses, feature matching has none")
        }
        if let l = featureMatchingLayer {
            try check(l >= 1 && l <= d.layers.count, "featureMatchingLayer",
                      "expected a layer count in 1...\(d.layers.count) (D's layers), got \(l)")
        }
        try checkReference(generatorReferenceNoise, "generatorReferenceNoise", network: g, name: "generator",
                           what: "a reference noise batch [r, \(z)]", columns: z, multiple: 1)
        try checkReference(discriminatorReference, "discriminatorReference", network: d, name: "discriminator",
                           what: "a reference batch of real data whose rows are a multiple of pack \(pack)", columns: nil,
                           multiple: pack)
        if let decay = emaDecay {
            try check(decay >= 0 && decay <= 1, "emaDecay", "expected a decay in [0, 1], got \(decay)")
        }
        try check(!emaWarmUp || emaDecay != nil, "emaWarmUp", "expected emaDecay to be set (warm-up of which average?)")
    }

    /// A reference batch is given exactly when `network` has reference-batch layers, with
    /// `columns` values per row (when given) and a multiple of `multiple` rows.
    private func checkReference(_ t: Tensor?, _ option: String, network: Sequential, name: String, what: String,
                                columns: Int?, multiple: Int) throws {
        let needed = network.needsReferenceBatch
        guard let t else {
            if needed {
                throw AdversarialTrainer.OptionError(option: option, expected: "expected \(what): the \(name) has virtual "
                                                     + "batch norm layers (ReferenceBatchLayer), got none")
            }
            return
        }
        guard needed else {
            throw AdversarialTrainer.OptionError(option: option, expected: "expected none: the \(name) has no virtual batch "
                                                 + "norm layer (ReferenceBatchLayer), got \(t.shape)")
        }
        guard t.rows >= 1, t.rows % multiple == 0, columns.map({ t.columns == $0 }) ?? true else {
            throw AdversarialTrainer.OptionError(option: option, expected: "expected \(what), got \(t.shape)")
        }
    }
}
