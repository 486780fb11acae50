/// An optimiser as data: its update rule with the rule's hyper-parameters, its learning-rate
/// schedule, L2 weight decay and the optional WGAN weight clipping. `makeOptimizer(parameters:)`
/// is the one place that builds an optimiser for training (`AdversarialTrainer`) and for D's
/// pretraining (`DiscriminatorPretrainer`); the component that builds it also owns the schedule.
///
/// The defaults are PyTorch's (`torch.optim`).
public struct OptimizerDescription: Equatable, Sendable {
    public enum Rule: Equatable, Sendable {
        case sgd(momentum: Float, dampening: Float, nesterov: Bool)
        case rmsprop(alpha: Float, eps: Float, momentum: Float, centered: Bool)
        case adam(beta1: Float, beta2: Float, eps: Float)
    }

    public var rule: Rule
    public var learningRate: LearningRateSchedule
    public var weightDecay: Float
    /// WGAN weight clipping: every parameter clamped to [-c, c] after each step (nil = off).
    public var clipValue: Float?

    public init(_ rule: Rule, learningRate: LearningRateSchedule, weightDecay: Float = 0, clipValue: Float? = nil) {
        self.rule = rule
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.clipValue = clipValue
    }

    public static func sgd(learningRate: LearningRateSchedule, momentum: Float = 0, dampening: Float = 0, nesterov: Bool = false,
                           weightDecay: Float = 0, clipValue: Float? = nil) -> OptimizerDescription {
        OptimizerDescription(.sgd(momentum: momentum, dampening: dampening, nesterov: nesterov), learningRate: learningRate,
                             weightDecay: weightDecay, clipValue: clipValue)
    }

    public static func rmsprop(learningRate: LearningRateSchedule = 1e-2, alpha: Float = 0.99, eps: Float = 1e-8, momentum: Float = 0,
                               centered: Bool = false, weightDecay: Float = 0, clipValue: Float? = nil) -> OptimizerDescription {
        OptimizerDescription(.rmsprop(alpha: alpha, eps: eps, momentum: momentum, centered: centered), learningRate: learningRate,
                             weightDecay: weightDecay, clipValue: clipValue)
    }

    public static func adam(learningRate: LearningRateSchedule = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
                            weightDecay: Float = 0, clipValue: Float? = nil) -> OptimizerDescription {
        OptimizerDescription(.adam(beta1: beta1, beta2: beta2, eps: eps), learningRate: learningRate,
                             weightDecay: weightDecay, clipValue: clipValue)
    }

    /// A new optimiser over `parameters` at the schedule's step-0 rate, with zero state.
    public func makeOptimizer(parameters: [Parameter]) -> Optimizer {
        let lr = learningRate.rate(at: 0)
        let o: Optimizer
        switch rule {
        case .sgd(let momentum, let dampening, let nesterov):
            o = SGD(parameters: parameters, learningRate: lr, momentum: momentum, dampening: dampening, nesterov: nesterov,
                    weightDecay: weightDecay)
        case .rmsprop(let alpha, let eps, let momentum, let centered):
            o = RMSProp(parameters: parameters, learningRate: lr, alpha: alpha, eps: eps, weightDecay: weightDecay,
                        momentum: momentum, centered: centered)
        case .adam(let beta1, let beta2, let eps):
            o = Adam(parameters: parameters, learningRate: lr, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay)
        }
        o.clipValue = clipValue
        return o
    }
}
