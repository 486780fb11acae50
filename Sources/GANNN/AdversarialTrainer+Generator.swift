// MARK: - (2) The G step

extension AdversarialTrainer {
    /// (2) Updates G once with `batchSize` fresh z through a frozen D: `generatorGradients`, then
    /// `applyGeneratorGradients(step:)` (which also updates `weightAverage`). Returns G's loss.
    /// `real` is the training step's real batch (model units): the target of feature matching,
    /// required with `Options.featureMatchingLayer` and unused by the other losses.
    @discardableResult
    public func generatorStep(batchSize: Int, real: Tensor?, step: Int) -> Float {
        let loss = options.conditioning == nil
            ? generatorGradients(noise: sampleNoise(batchSize: batchSize), real: real, step: step)
            : conditionalGeneratorGradients(noise: sampleNoise(batchSize: batchSize), labels: sampleLabels(count: batchSize))
        applyGeneratorGradients(step: step)
        return loss
    }

    /// G's loss on the given noise through a frozen D, leaving its gradient in G's parameter
    /// gradients (zeroed first) without updating G: the first half of the G step. The loss is the
    /// feature-matching loss against `real` with `Options.featureMatchingLayer` (`real` required),
    /// else the objective's generator loss, over the top-k(`step`) rows with `Options.topK`.
    /// D's parameters and parameter gradients are untouched.
    @discardableResult
    public func generatorGradients(noise: Tensor, real: Tensor?, step: Int) -> Float {
        if let layers = options.featureMatchingLayer {
            guard let real else {
                preconditionFailure("AdversarialTrainer: feature matching is on: the G step needs the real batch")
            }
            return featureMatchingGradients(noise: noise, real: real, throughLayer: layers)
        }
        let fake = generatorForward(noise)
        let logits = discriminatorForward(packed(fake, into: packedFake), throughLayer: discriminator.layers.count)
        let loss: Float
        if let k = options.topK?.k(at: step), k < logits.rows {
            loss = topKGeneratorLoss(logits: logits, k: k)
        } else {
            loss = options.objective.generatorLoss(logits: logits, gradient: scoreGradient)
        }
        backpropagateToGenerator(fake: fake, throughLayer: discriminator.layers.count)
        return loss
    }

    /// The second half of the G step: G's learning rate of training step `step`, one update from
    /// the gradients `generatorGradients` left (summed over shards, if sharded), then the weight
    /// average's update.
    public func applyGeneratorGradients(step: Int) {
        generatorOptimizer.learningRate = generatorLearningRate.rate(at: step)
        generatorOptimizer.step()
        weightAverage?.update()
    }

    /// Top-k (see `Options.topK`): the generator loss over the k rows of `logits` (`[n, 1]`, k < n)
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
        let loss = options.objective.generatorLoss(logits: topLogits, gradient: topGradient)
        scoreGradient.resize(logits.shape)
        scoreGradient.fill(0)
        for i in 0..<k { scoreGradient[rowOrder[i]] = topGradient[i] }
        return loss
    }

    /// The feature-matching loss (see `Options.featureMatchingLayer`) of G on `noise` against the
    /// real batch `real` (model units, `[n, d]`; its features are constants) at D's first `layers`
    /// layers, leaving dLoss/dθ_G in G's parameter gradients (zeroed first).
    private func featureMatchingGradients(noise: Tensor, real: Tensor, throughLayer layers: Int) -> Float {
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
    func backpropagateToGenerator(fake: Tensor, throughLayer layerCount: Int) {
        var dFake = discriminator.backward(scoreGradient, mode: .inputOnly, fromLayer: layerCount)!
        if options.pack > 1 {  // [n / m, m · d] back to G's [n, d]: same bytes
            unpackedGradient.resize(fake.shape)
            unpackedGradient.data.update(from: dFake.data, count: dFake.count)
            dFake = unpackedGradient
        }
        generatorOptimizer.zeroGradients()
        generator.backward(dFake, mode: .parameterGradients)
    }
}
