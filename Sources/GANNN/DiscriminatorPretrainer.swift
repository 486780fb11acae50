/// Pretraining of D alone, as in the 1-D seed system: regress D's probability D(x) = σ(logit)
/// onto a target density p(x) at stratified points of an interval, minimising
/// `mean (D(x) - p(x))²`, so that adversarial training starts from a D that already knows where
/// the data are. One `step(step:)` = one optimiser step on one batch of points.
public final class DiscriminatorPretrainer {
    public let discriminator: Sequential
    /// Built from the description given to `init`; the pretrainer sets its learning rate.
    public let optimizer: Optimizer
    public let learningRate: LearningRateSchedule
    public let low: Float
    public let high: Float
    public let batchSize: Int
    public let density: @Sendable (Float) -> Float
    /// Stream of the jitter inside each stratum (checkpointed as "pretrain").
    public var rng: RNG

    private let x = Tensor(shape: [0])
    private let target = Tensor(shape: [0])
    private let gradient = Tensor(shape: [0])

    public init(discriminator: Sequential, optimizer: OptimizerDescription, low: Float, high: Float, batchSize: Int,
                rng: RNG, density: @escaping @Sendable (Float) -> Float) {
        precondition(low < high && batchSize >= 1, "DiscriminatorPretrainer: need low < high and batchSize >= 1")
        self.discriminator = discriminator
        self.optimizer = optimizer.makeOptimizer(parameters: discriminator.parameters)
        learningRate = optimizer.learningRate
        self.low = low
        self.high = high
        self.batchSize = batchSize
        self.rng = rng
        self.density = density
    }

    /// One regression step at pretraining step `step` (0-based count of completed steps: the
    /// learning-rate schedule's clock); returns the mean squared error before the update.
    @discardableResult
    public func step(step: Int) -> Float {
        x.resize(rows: batchSize, columns: 1)
        target.resize(rows: batchSize, columns: 1)
        rng.fillStratified(x.data, count: batchSize, low: low, high: high)
        for i in 0..<batchSize { target[i] = density(x[i]) }
        optimizer.zeroGradients()
        let logits = discriminator.forward(x, training: true)
        let loss = Loss.sigmoidMeanSquaredError(logits: logits, targets: target, gradient: gradient)
        discriminator.backward(gradient, mode: .parameterGradients)
        optimizer.learningRate = learningRate.rate(at: step)
        optimizer.step()
        return loss
    }
}
