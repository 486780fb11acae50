/// The learning rate as a function of the training step: constant, or step decay
/// lr · factor^⌊step / every⌋ (PyTorch's `StepLR`).
///
/// `step` is the number of completed training steps (G steps, in the adversarial loop; every D
/// step of one training step uses that step's rate). The owner of an optimiser's schedule (the
/// `AdversarialTrainer` or `DiscriminatorPretrainer` that built it from an `OptimizerDescription`)
/// sets the rate once per step, right before the optimiser's update; nothing else writes it, so a
/// resumed run gets its rate from the step counter alone.
///
/// Numerics: the decayed rate is formed in `Double` from the configured `Double` rate by repeated
/// multiplication (⌊step / every⌋ times, not `pow`) and rounded to `Float` once: the rate of every
/// step is a fixed function of (lr, factor, every, step), the same bits on every machine.
public struct LearningRateSchedule: Equatable, Sendable, ExpressibleByFloatLiteral {
    /// The rate at step 0, as configured (a `Double`: YAML's number).
    public let initial: Double
    /// Multiplier applied every `every` steps (1 = constant).
    public let factor: Double
    /// Steps between decays (0 = constant).
    public let every: Int

    /// A constant rate.
    public static func constant(_ rate: Float) -> LearningRateSchedule {
        LearningRateSchedule(initial: Double(rate), factor: 1, every: 0)
    }

    /// `initial` · `factor`^⌊step / `every`⌋; `every` = 0 or `factor` = 1 is constant.
    public static func stepDecay(initial: Double, factor: Double, every: Int) -> LearningRateSchedule {
        precondition(every >= 0, "LearningRateSchedule: decay interval must be >= 0 steps, got \(every)")
        return LearningRateSchedule(initial: initial, factor: factor, every: every)
    }

    /// A constant rate from a literal (`learningRate: 2e-4`).
    public init(floatLiteral value: Float) {
        self = .constant(value)
    }

    private init(initial: Double, factor: Double, every: Int) {
        self.initial = initial
        self.factor = factor
        self.every = every
    }

    /// The rate of training step `step` (0-based count of completed steps).
    public func rate(at step: Int) -> Float {
        guard every > 0, factor != 1 else { return Float(initial) }
        var lr = initial
        for _ in 0..<(step / every) { lr *= factor }
        return Float(lr)
    }
}
