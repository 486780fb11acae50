/// Class-conditional GANs (issue 22): how labels enter the networks and the losses.
public struct Conditioning: Equatable, Sendable {
    public enum Mode: String, CaseIterable, Sendable {
        /// Mirza & Osindero 2014: a one-hot label concatenated to G's z and to D's input
        /// (`OneHotConcat` as the first layer of each network).
        case concat
        /// Miyato & Koyama 2018: G as with `concat`; D's output layer is a `ClassProjection`
        /// (ψ(φ(x)) + embed(y)·φ(x)); D's input is the sample alone.
        case projection
        /// Odena et al. 2017 (ACGAN): G as with `concat`; D takes the sample alone and outputs
        /// `1 + K` values per row: the adversarial logit, then K class logits, whose softmax
        /// cross-entropy against the row's label (real and fake rows alike) is added to D's loss
        /// and to G's (times `auxiliaryWeight`).
        case acgan
    }

    public var mode: Mode
    /// K.
    public var classCount: Int
    /// How often each class occurs in the training labels (`[K]`, sum > 0): the fakes' labels are
    /// drawn with these weights (`ClassDistribution`).
    public var labelCounts: [Int]
    /// ACGAN: the weight of the class terms (Odena et al. use 1).
    public var auxiliaryWeight: Float

    public init(mode: Mode, classCount: Int, labelCounts: [Int], auxiliaryWeight: Float = 1) {
        (self.mode, self.classCount, self.labelCounts, self.auxiliaryWeight) = (mode, classCount, labelCounts, auxiliaryWeight)
    }

    /// D's values per row: 1 + K for ACGAN, else 1.
    public var discriminatorOutputs: Int { mode == .acgan ? 1 + classCount : 1 }
    /// Whether D takes the labels (concat, projection) or predicts them (acgan).
    public var discriminatorTakesLabels: Bool { mode != .acgan }
}

/// Draws class labels with given weights: label c with probability counts[c] / Σ counts, from one
/// uniform integer below Σ counts per label (`RNG.int(below:)`), so the same RNG state gives the
/// same labels on every machine.
public struct ClassDistribution: Equatable, Sendable {
    public let counts: [Int]
    private let cumulative: [Int]

    public init(counts: [Int]) {
        precondition(!counts.isEmpty && counts.allSatisfy { $0 >= 0 } && counts.reduce(0, +) > 0,
                     "ClassDistribution: counts must be non-negative with a positive sum, got \(counts)")
        self.counts = counts
        var c: [Int] = []
        var s = 0
        for n in counts { s += n; c.append(s) }
        cumulative = c
    }

    /// Replaces `labels` with `count` draws (keeping its capacity).
    public func sample(_ count: Int, rng: inout RNG, into labels: inout [Int]) {
        labels.removeAll(keepingCapacity: true)
        let total = cumulative[cumulative.count - 1]
        for _ in 0..<count {
            let u = rng.int(below: total)
            var lo = 0, hi = cumulative.count - 1   // the first class whose cumulative count exceeds u
            while lo < hi {
                let mid = (lo + hi) / 2
                if cumulative[mid] > u { hi = mid } else { lo = mid + 1 }
            }
            labels.append(lo)
        }
    }
}

extension AdversarialTrainer {
    /// Draws the labels of `count` fakes from the training label distribution into the trainer's
    /// buffer (the "labels" stream, `labelRNG`) and returns them.
    public func sampleLabels(count: Int) -> [Int] {
        guard let distribution = classDistribution else { preconditionFailure("AdversarialTrainer: sampleLabels needs Options.conditioning") }
        distribution.sample(count, rng: &labelRNG, into: &fakeLabels)
        return fakeLabels
    }

    /// (1) for a conditional trainer: updates D on a real batch with its labels and as many fakes
    /// of fresh noise with labels from the label stream.
    @discardableResult
    public func discriminatorStep(real: Tensor, labels: [Int], step: Int) -> DiscriminatorStepResult {
        let noise = sampleNoise(batchSize: real.rows)
        let result = conditionalDiscriminatorGradients(real: real, realLabels: labels, noise: noise,
                                                       fakeLabels: sampleLabels(count: real.rows))
        applyDiscriminatorGradients(step: step)
        return result
    }

    /// The conditional D gradients (the first half of the D step): G's samples of `noise` for
    /// `fakeLabels`; D's loss on `real` with `realLabels` and on the fakes with `fakeLabels`
    /// (D sees the labels, or predicts them with ACGAN), gradients into D's zeroed parameter
    /// gradients. Stacked into one D pass when D is row-independent, as unconditional D steps.
    @discardableResult
    public func conditionalDiscriminatorGradients(real: Tensor, realLabels: [Int], noise: Tensor,
                                                  fakeLabels: [Int]) -> DiscriminatorStepResult {
        guard let c = options.conditioning else { preconditionFailure("AdversarialTrainer: not a conditional trainer") }
        precondition(realLabels.count == real.rows && fakeLabels.count == noise.rows,
                     "AdversarialTrainer: \(realLabels.count) labels for \(real.rows) real rows, \(fakeLabels.count) for \(noise.rows) fakes")
        generator.setLabels(fakeLabels)
        let fake = generator.forward(noise, training: true)
        discriminatorOptimizer.zeroGradients()
        let all = discriminator.layers.count
        if stacksDiscriminatorBatches {
            precondition(real.count / real.rows == fake.count / max(fake.rows, 1), "AdversarialTrainer: real rows differ from G's")
            conditionalStack.resize(batch: real.rows + fake.rows, sampleShape: Array(real.shape.dropFirst()))
            conditionalStack.data.update(from: real.data, count: real.count)
            (conditionalStack.data + real.count).update(from: fake.data, count: fake.count)
            stackedLabels.removeAll(keepingCapacity: true)
            stackedLabels.append(contentsOf: realLabels)
            stackedLabels.append(contentsOf: fakeLabels)
            if c.discriminatorTakesLabels { discriminator.setLabels(stackedLabels) }
            let logits = discriminator.forward(conditionalStack, training: true, throughLayer: all)
            scoreGradient.resize(logits.shape)
            let r = conditionalDiscriminatorTerm(logits, rows: 0..<real.rows, real: true, labels: realLabels, conditioning: c)
            let f = conditionalDiscriminatorTerm(logits, rows: real.rows..<logits.rows, real: false, labels: fakeLabels, conditioning: c)
            discriminator.backward(scoreGradient, mode: .parameterGradients)
            return DiscriminatorStepResult(loss: r.loss + f.loss, realScore: r.score, fakeScore: f.score)
        }
        var terms: [(loss: Float, score: Float)] = []
        for (x, labels, isReal) in [(real, realLabels, true), (fake, fakeLabels, false)] {
            if c.discriminatorTakesLabels { discriminator.setLabels(labels) }
            let logits = discriminator.forward(x, training: true, throughLayer: all)
            scoreGradient.resize(logits.shape)
            terms.append(conditionalDiscriminatorTerm(logits, rows: 0..<logits.rows, real: isReal, labels: labels, conditioning: c))
            discriminator.backward(scoreGradient, mode: .parameterGradients)
        }
        return DiscriminatorStepResult(loss: terms[0].loss + terms[1].loss, realScore: terms[0].score, fakeScore: terms[1].score)
    }

    /// The conditional G gradients (the first half of the G step): G's samples of `noise` for
    /// `labels` through a frozen D told the same labels (or, ACGAN, asked to predict them); the
    /// objective's generator loss (plus ACGAN's weighted class term), gradients into G's zeroed
    /// parameter gradients.
    @discardableResult
    public func conditionalGeneratorGradients(noise: Tensor, labels: [Int]) -> Float {
        guard let c = options.conditioning else { preconditionFailure("AdversarialTrainer: not a conditional trainer") }
        generator.setLabels(labels)
        let fake = generator.forward(noise, training: true)
        if c.discriminatorTakesLabels { discriminator.setLabels(labels) }
        let logits = discriminator.forward(fake, training: true, throughLayer: discriminator.layers.count)
        let loss: Float
        if c.mode == .acgan {
            let n = logits.rows, stride = logits.columns
            scoreGradient.resize(logits.shape)
            gatherAdversarialColumn(logits, rows: 0..<n)
            let adversarial = options.objective.generatorLoss(logits: adversarialLogits, gradient: adversarialGradient)
            for i in 0..<n { scoreGradient[i * stride] = adversarialGradient[i] }
            loss = adversarial + SoftmaxCrossEntropy.loss(logits.data + 1, rows: n, classes: c.classCount, stride: stride, labels: labels,
                                                          gradient: scoreGradient.data + 1, weight: c.auxiliaryWeight)
        } else {
            loss = options.objective.generatorLoss(logits: logits, gradient: scoreGradient)
        }
        backpropagateToGenerator(fake: fake, throughLayer: discriminator.layers.count)
        return loss
    }

    /// One conditional D term over `rows` of `logits`: the objective's term on the adversarial
    /// logits (column 0 of ACGAN's `[N, 1 + K]`), plus ACGAN's weighted class cross-entropy
    /// against `labels`; its gradient into the same rows of `scoreGradient` (already shaped).
    private func conditionalDiscriminatorTerm(_ logits: Tensor, rows: Range<Int>, real: Bool, labels: [Int],
                                              conditioning c: Conditioning) -> (loss: Float, score: Float) {
        guard c.mode == .acgan else {
            return options.objective.discriminatorTerm(logits.data + rows.lowerBound, count: rows.count, real: real,
                                                       realLabel: options.realLabel, gradient: scoreGradient.data + rows.lowerBound)
        }
        let stride = logits.columns
        gatherAdversarialColumn(logits, rows: rows)
        adversarialGradient.resize(adversarialLogits.shape)
        let (loss, score) = options.objective.discriminatorTerm(adversarialLogits.data, count: rows.count, real: real,
                                                                realLabel: options.realLabel, gradient: adversarialGradient.data)
        for (i, r) in rows.enumerated() { scoreGradient[r * stride] = adversarialGradient[i] }
        let classLoss = SoftmaxCrossEntropy.loss(logits.data + rows.lowerBound * stride + 1, rows: rows.count, classes: c.classCount,
                                                 stride: stride, labels: labels, gradient: scoreGradient.data + rows.lowerBound * stride + 1,
                                                 weight: c.auxiliaryWeight)
        return (loss + classLoss, score)
    }

    /// Column 0 (the adversarial logit) of `rows` of ACGAN's `[N, 1 + K]` outputs into `adversarialLogits`.
    private func gatherAdversarialColumn(_ logits: Tensor, rows: Range<Int>) {
        adversarialLogits.resize(rows: rows.count, columns: 1)
        for (i, r) in rows.enumerated() { adversarialLogits[i] = logits[r * logits.columns] }
    }
}

extension AdversarialTrainer.Options {
    /// The conditioning fits the networks: K classes everywhere, G conditional, D conditional
    /// exactly when it takes labels, D's outputs per row, and none of the tricks a conditional
    /// step does not implement.
    func validateConditioning(generator g: Sequential, discriminator d: Sequential) throws {
        func check(_ ok: Bool, _ expected: @autoclosure () -> String) throws {
            if !ok { throw AdversarialTrainer.OptionError(option: "conditioning", expected: expected()) }
        }
        guard let c = conditioning else {
            try check(g.conditionalClassCount == nil && d.conditionalClassCount == nil,
                      "expected conditioning for networks with class-conditional layers")
            return
        }
        try check(c.classCount >= 2, "expected at least 2 classes, got \(c.classCount)")
        try check(c.labelCounts.count == c.classCount && c.labelCounts.allSatisfy { $0 >= 0 } && c.labelCounts.reduce(0, +) > 0,
                  "expected \(c.classCount) non-negative label counts with a positive sum, got \(c.labelCounts)")
        try check(c.auxiliaryWeight.isFinite && c.auxiliaryWeight >= 0, "expected a finite auxiliary weight >= 0, got \(c.auxiliaryWeight)")
        try check(g.conditionalClassCount == c.classCount, "expected a generator conditioned on \(c.classCount) classes")
        try check(d.conditionalClassCount == (c.discriminatorTakesLabels ? c.classCount : nil),
                  c.discriminatorTakesLabels ? "expected a discriminator conditioned on \(c.classCount) classes"
                                             : "expected an ACGAN discriminator without class inputs")
        try check(pack == 1 && topK == nil && featureMatchingLayer == nil && generatorReferenceNoise == nil
                  && discriminatorReference == nil && !stratifiedNoise,
                  "expected no packing, top-k, feature matching, reference batches or stratified noise with \(c.mode.rawValue)")
    }
}
