/// The GAN objective: how D's (or the critic's) outputs become losses.
public enum GANObjective: Equatable, Sendable {
    /// Goodfellow et al. 2014: D maximises log D(x) + log(1 - D(G(z))); G minimises log(1 - D(G(z))).
    case minimax
    /// Same D loss; G minimises -log D(G(z)) (the paper's practical recommendation).
    case nonSaturating
    /// WGAN (Arjovsky et al. 2017): critic minimises -(mean f(x) - mean f(G(z))); G minimises
    /// -mean f(G(z)). Pair with weight clipping (`OptimizerDescription.clipValue`) on the critic.
    case wasserstein

    /// One term of D's loss, over the `n` logits at `l` of a real (target `realLabel`: 1, or e.g.
    /// 0.9 for one-sided label smoothing) or fake (target 0) batch: the loss and the mean score
    /// (D(x) as a probability, or the critic's value), dLoss/dlogits to `g`.
    func discriminatorTerm(_ l: UnsafePointer<Float>, count n: Int, real: Bool, realLabel: Float,
                           gradient g: UnsafeMutablePointer<Float>) -> (loss: Float, score: Float) {
        switch self {
        case .minimax, .nonSaturating:
            let r = Loss.sigmoidCrossEntropy(l, count: n, target: real ? realLabel : 0, gradient: g)
            return (r.loss, r.meanProbability)
        case .wasserstein:
            let loss = Loss.signedMean(l, count: n, sign: real ? -1 : 1, gradient: g)
            return (loss, real ? -loss : loss)
        }
    }

    /// `discriminatorTerm` of the first `realCount` logits at `l` as real and of the `fakeCount`
    /// after them as fake (a stacked D batch), gradients likewise: the same bits as two calls, the
    /// sigmoid objectives' in one pass (`Loss.sigmoidCrossEntropy(_:count:target:count:target:gradient:)`).
    func discriminatorTerms(_ l: UnsafePointer<Float>, realCount: Int, fakeCount: Int, realLabel: Float,
                            gradient g: UnsafeMutablePointer<Float>) -> (real: (loss: Float, score: Float), fake: (loss: Float, score: Float)) {
        switch self {
        case .minimax, .nonSaturating:
            let (r, f) = Loss.sigmoidCrossEntropy(l, count: realCount, target: realLabel, count: fakeCount, target: 0, gradient: g)
            return ((r.loss, r.meanProbability), (f.loss, f.meanProbability))
        case .wasserstein:
            return (discriminatorTerm(l, count: realCount, real: true, realLabel: realLabel, gradient: g),
                    discriminatorTerm(l + realCount, count: fakeCount, real: false, realLabel: realLabel, gradient: g + realCount))
        }
    }

    /// G's loss, the mean over the rows of `logits` (D's outputs on G's samples), its gradient in
    /// `gradient`.
    func generatorLoss(logits: Tensor, gradient: Tensor) -> Float {
        switch self {
        case .minimax: Loss.generatorMinimax(logits: logits, gradient: gradient)
        case .nonSaturating: Loss.generatorNonSaturating(logits: logits, gradient: gradient)
        case .wasserstein: Loss.signedMean(logits, sign: -1, gradient: gradient)
        }
    }
}
