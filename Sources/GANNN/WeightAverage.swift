/// Exponential moving average (EMA) of a network's weights, for sampling from G with averaged
/// weights: Yazıcı et al. 2019, "The Unusual Effectiveness of Averaging in GAN Training" (EMA of
/// G's parameters, β = 0.999–0.9999), and Karras et al. 2018 (ProGAN) / 2019 (StyleGAN), whose
/// `G_ema` starts as a copy of G and follows it with decay 0.999.
///
/// After every G step, `update()` moves each shadow parameter towards the live one:
///
///     shadow ← decay · shadow + (1 − decay) · param,   computed as   shadow += w · (param − shadow)
///
/// with w = 1 − decay (formed in Double, rounded to Float once), PyTorch's `ema.lerp_(param, w)`
/// and TensorFlow's `shadow -= (1 - decay) * (shadow - value)`.
///
/// Warm-up (optional, `warmUp`, off by default as in Karras et al. and Yazıcı et al.): the decay of
/// update number t (t = `updateCount` before the update, 0 for the first) is
/// `min(decay, (1 + t) / (10 + t))`, TensorFlow's `tf.train.ExponentialMovingAverage(decay,
/// num_updates=t)`; early updates then follow the fast-changing weights closely instead of staying
/// near the random initialisation.
///
/// Buffers (non-trainable state such as batch-norm running statistics) are *copied*, not averaged,
/// at every update, as StyleGAN2-ADA's `G_ema` does (`b_ema.copy_(b)`) and PyTorch's
/// `AveragedModel(use_buffers=False)` leaves them to be recomputed; the averaged network then runs
/// with G's latest statistics.
///
/// The shadow tensors start as copies of the network's current values. `swapIn()` exchanges them
/// with the live tensors (e.g. to sample with the averaged weights) and `swapOut()` exchanges them
/// back, bit-exactly; `apply(to:)` copies them into another network of the same architecture.
///
/// Checkpoints: `namedShadowParameters` / `namedShadowBuffers` are the live shadow tensors under
/// the network's `namedParameters` / `namedBuffers` paths; a loader copies into them and sets
/// `updateCount` (it matters only with warm-up) to resume exactly. No allocation per `update()`.
public final class WeightAverage {
    /// The network whose weights are averaged.
    public let network: Sequential
    /// The target decay β in [0, 1] (`update()` uses it).
    public var decay: Float {
        didSet { precondition(decay >= 0 && decay <= 1, "WeightAverage.decay must be in [0, 1], got \(decay)") }
    }
    /// TensorFlow-style warm-up: effective decay min(decay, (1 + t) / (10 + t)).
    public var warmUp: Bool
    /// Number of `update` calls so far (checkpointed; drives the warm-up).
    public var updateCount = 0
    /// Whether the shadow weights are currently in the network (between `swapIn` and `swapOut`).
    public private(set) var isSwappedIn = false

    private let parameterPaths: [String]
    private let bufferPaths: [String]
    /// Live tensors, parameters first then buffers, parallel to `shadows`.
    private let live: [Tensor]
    private let shadows: [Tensor]
    private let parameterTensorCount: Int

    /// Shadows start as copies of `network`'s current parameters and buffers.
    public init(network: Sequential, decay: Float = 0.999, warmUp: Bool = false) {
        precondition(decay >= 0 && decay <= 1, "WeightAverage.decay must be in [0, 1], got \(decay)")
        self.network = network
        self.decay = decay
        self.warmUp = warmUp
        let parameters = network.namedParameters, buffers = network.namedBuffers
        parameterPaths = parameters.map(\.path)
        bufferPaths = buffers.map(\.path)
        live = parameters.map(\.parameter.value) + buffers.map(\.tensor)
        shadows = live.map { $0.clone() }
        parameterTensorCount = parameters.count
    }

    /// The decay the next `update(decay:)` applies: `decay`, or with warm-up
    /// min(decay, (1 + t) / (10 + t)) for t = `updateCount`.
    public func effectiveDecay(_ decay: Float) -> Float {
        guard warmUp else { return decay }
        let t = Double(updateCount)
        return Float(min(Double(decay), (1 + t) / (10 + t)))
    }

    /// One EMA update with the stored `decay` (call after every G step).
    public func update() { update(decay: decay) }

    /// One EMA update: shadow += (1 − β)(param − shadow) with β = `effectiveDecay(decay)`; buffers
    /// are copied. Increments `updateCount`.
    public func update(decay: Float) {
        precondition(decay >= 0 && decay <= 1, "WeightAverage.update: decay must be in [0, 1], got \(decay)")
        precondition(!isSwappedIn, "WeightAverage.update: the averaged weights are swapped in; call swapOut() first")
        let w = Float(1 - Double(effectiveDecay(decay)))
        for k in 0..<parameterTensorCount {
            let p = live[k], s = shadows[k]
            precondition(p.count == s.count, "WeightAverage: parameter '\(parameterPaths[k])' changed size")
            let pv = p.data, sv = s.data
            for i in 0..<p.count { sv[i] += w * (pv[i] - sv[i]) }
        }
        for k in parameterTensorCount..<live.count {
            precondition(live[k].count == shadows[k].count, "WeightAverage: buffer '\(bufferPaths[k - parameterTensorCount])' changed size")
            shadows[k].data.update(from: live[k].data, count: live[k].count)
        }
        updateCount += 1
    }

    /// Puts the averaged weights (and buffers) into `network`, keeping the raw ones in the shadow
    /// storage; `swapOut()` restores them bit-exactly. No allocation.
    public func swapIn() {
        precondition(!isSwappedIn, "WeightAverage.swapIn: already swapped in")
        exchange()
        isSwappedIn = true
    }

    /// Restores the raw weights after `swapIn()`.
    public func swapOut() {
        precondition(isSwappedIn, "WeightAverage.swapOut: not swapped in")
        exchange()
        isSwappedIn = false
    }

    /// Runs `body` with the averaged weights swapped in, restoring the raw ones afterwards.
    public func withAveragedWeights<R>(_ body: () throws -> R) rethrows -> R {
        swapIn()
        defer { swapOut() }
        return try body()
    }

    private func exchange() {
        for (a, b) in zip(live, shadows) {
            precondition(a.count == b.count, "WeightAverage: a tensor changed size")
            let x = a.data, y = b.data
            for i in 0..<a.count { let t = x[i]; x[i] = y[i]; y[i] = t }
        }
    }

    /// Copies the averaged weights and buffers into `other`, a network with the same parameter and
    /// buffer paths and shapes (e.g. a separate sampling copy of G).
    public func apply(to other: Sequential) {
        precondition(!isSwappedIn, "WeightAverage.apply: the averaged weights are swapped in; call swapOut() first")
        let targets = other.namedParameters.map { ($0.path, $0.parameter.value) } + other.namedBuffers.map { ($0.path, $0.tensor) }
        let paths = parameterPaths + bufferPaths
        precondition(targets.map(\.0) == paths, "WeightAverage.apply: the network's tensors \(targets.map(\.0)) differ from \(paths)")
        for ((path, t), s) in zip(targets, shadows) {
            precondition(t.shape == s.shape, "WeightAverage.apply: '\(path)' has shape \(t.shape), the average \(s.shape)")
            t.data.update(from: s.data, count: s.count)
        }
    }

    /// The shadow (averaged) parameters under the network's `namedParameters` paths. These are the
    /// live shadow tensors: a checkpoint writer reads them, a loader copies into them. Not
    /// meaningful while swapped in (they then hold the raw weights).
    public var namedShadowParameters: [(name: String, tensor: Tensor)] {
        precondition(!isSwappedIn, "WeightAverage: the averaged weights are swapped in; call swapOut() first")
        return Array(zip(parameterPaths, shadows.prefix(parameterTensorCount))).map { (name: $0.0, tensor: $0.1) }
    }

    /// The shadow buffers (copies of the network's buffers at the last update) under the network's
    /// `namedBuffers` paths; live tensors, as `namedShadowParameters`.
    public var namedShadowBuffers: [(name: String, tensor: Tensor)] {
        precondition(!isSwappedIn, "WeightAverage: the averaged weights are swapped in; call swapOut() first")
        return Array(zip(bufferPaths, shadows.dropFirst(parameterTensorCount))).map { (name: $0.0, tensor: $0.1) }
    }

    /// Restarts the average from the network's current weights (`updateCount` = 0).
    public func reset() {
        precondition(!isSwappedIn, "WeightAverage.reset: the averaged weights are swapped in; call swapOut() first")
        for (a, s) in zip(live, shadows) { s.data.update(from: a.data, count: a.count) }
        updateCount = 0
    }
}
