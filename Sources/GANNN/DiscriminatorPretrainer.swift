/// Pretraining of D alone, as in the 1-D seed system: regress D's probability D(x) = σ(logit)
/// onto a target density p(x) at stratified points of an interval, minimising
/// `mean (D(x) - p(x))²`, so that adversarial training starts from a D that already knows where
/// the data are. One `step()` = one optimiser step on one batch of points.
public final class DiscriminatorPretrainer {
    public let discriminator: Sequential
    public let optimizer: Optimizer
    public let low: Float
    public let high: Float
    public let batchSize: Int
    public let density: @Sendable (Float) -> Float
    /// Stream of the jitter inside each stratum (checkpointed as "pretrain").
    public var rng: RNG

    private let x = Tensor(shape: [0])
    private let target = Tensor(shape: [0])
    private let gradient = Tensor(shape: [0])

    public init(discriminator: Sequential, optimizer: Optimizer, low: Float, high: Float, batchSize: Int,
                rng: RNG, density: @escaping @Sendable (Float) -> Float) {
        precondition(low < high && batchSize >= 1, "DiscriminatorPretrainer: need low < high and batchSize >= 1")
        self.discriminator = discriminator
        self.optimizer = optimizer
        self.low = low
        self.high = high
        self.batchSize = batchSize
        self.rng = rng
        self.density = density
    }

    /// One regression step; returns the mean squared error before the update.
    @discardableResult
    public func step() -> Float {
        x.resize(rows: batchSize, columns: 1)
        target.resize(rows: batchSize, columns: 1)
        let width = (high - low) / Float(batchSize)
        for i in 0..<batchSize {
            let v = min(low + width * (Float(i) + rng.uniform()), high.nextDown)
            x[i] = v
            target[i] = density(v)
        }
        optimizer.zeroGradients()
        let logits = discriminator.forward(x, training: true)
        let loss = Loss.sigmoidMeanSquaredError(logits: logits, targets: target, gradient: gradient)
        discriminator.backward(gradient, mode: .parameterGradients)
        optimizer.step()
        return loss
    }
}
