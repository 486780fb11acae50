import Foundation

// The three optimisers, each a transcription of PyTorch 2.x's single-tensor implementation
// (`torch/optim/{sgd,rmsprop,adam}.py`, `_single_tensor_*`, `foreach=False`, `maximize=False`,
// float32 parameters). Scalars PyTorch hands to a float32 kernel are rounded to Float first and
// the element-wise expressions keep PyTorch's operation order:
//   `a.add_(b, alpha=s)` → a + s*b        `a.mul_(s)` → a*s
//   `a.addcmul_(b, c, value=s)` → a + s*b*c    `a.addcdiv_(b, c, value=s)` → a + s*b/c
//   `a.lerp_(b, w)` → |w| < 0.5 ? a + w*(b - a) : b + (w - 1)*(b - a)
// (PyTorch's AVX2 kernels fuse `a + s*b` into an FMA and its MKL `sqrt` is not correctly rounded,
// so results agree to an ulp or two, not always bit for bit; see OptimizerTests.) Inner loops run over raw pointers, allocate nothing and call nothing
// but the square root (`vectorSquareRoot`, which becomes `sqrtps`), so they vectorise; options are
// loop-invariant selects or separate loops, never conditional loads or stores.

// MARK: - SGD

/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight
/// decay: PyTorch `torch.optim.SGD` (`_single_tensor_sgd`). Per element, with `g` the gradient:
///
///     g = g + weight_decay * p                       (if weight_decay != 0)
///     if momentum != 0:
///         buf = g                                    (first step: no dampening)
///         buf = momentum * buf + (1 - dampening) * g (later steps)
///         g = nesterov ? g + momentum * buf : buf
///     p = p - lr * g
///
/// PyTorch detects the first step by the buffer being absent; here it is `stepCount == 0`, so
/// restoring `stepCount` together with "momentum_buffer" continues a run exactly.
public final class SGD: Optimizer, UpdateRule {
    public let kind = "sgd"
    let name = "SGD"
    public let parameters: [Parameter]
    public var learningRate: Float
    public var stepCount = 0
    public var clipValue: Float?
    public let momentum: Float
    public let dampening: Float
    public let nesterov: Bool
    public let weightDecay: Float

    /// "momentum_buffer" when momentum != 0, otherwise none.
    let states: [[Tensor]]
    var stateNames: [String] { momentum != 0 ? ["momentum_buffer"] : [] }
    private let keep: Float                              // add_(grad, alpha=1 - dampening)

    /// Same argument checks as PyTorch: lr, momentum, weight_decay >= 0; Nesterov needs a positive
    /// momentum and zero dampening.
    public init(parameters: [Parameter], learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                nesterov: Bool = false, weightDecay: Float = 0) {
        checkHyperparameter(learningRate >= 0, "SGD", "learning rate", learningRate, ">= 0")
        checkHyperparameter(momentum >= 0, "SGD", "momentum", momentum, ">= 0")
        checkHyperparameter(dampening.isFinite, "SGD", "dampening", dampening, "finite")
        checkHyperparameter(weightDecay >= 0, "SGD", "weight decay", weightDecay, ">= 0")
        precondition(!nesterov || (momentum > 0 && dampening == 0),
                     "SGD: Nesterov momentum requires a momentum and zero dampening (momentum \(momentum), dampening \(dampening))")
        validateParameters(parameters, "SGD")
        (self.parameters, self.learningRate) = (parameters, learningRate)
        (self.momentum, self.dampening, self.nesterov, self.weightDecay) = (momentum, dampening, nesterov, weightDecay)
        keep = Float(1 - pythonDouble(dampening))
        states = zeroStates(momentum != 0 ? ["momentum_buffer"] : [], like: parameters)
    }

    /// PyTorch's `defaults` order: lr, momentum, dampening, weight_decay, nesterov.
    public var hyperparameters: [(name: String, value: Double)] {
        [("lr", pythonDouble(learningRate)), ("momentum", pythonDouble(momentum)),
         ("dampening", pythonDouble(dampening)), ("weight_decay", pythonDouble(weightDecay)),
         ("nesterov", nesterov ? 1 : 0)]
    }

    public var parameterStates: [[(name: String, tensor: Tensor)]] { namedStates }

    public func step() { updateParameters() }

    /// The first step (PyTorch: no buffer yet) and -lr (`param.add_(grad, alpha=-lr)`).
    func stepScalars() -> (firstStep: Bool, negLR: Float) { (stepCount == 1, -learningRate) }

    func applySingle(_ x: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>, count n: Int,
                     state: StateData, _ s: (firstStep: Bool, negLR: Float)) {
        let negLR = s.negLR, firstStep = s.firstStep
        let wd = weightDecay, hasWD = weightDecay != 0
        let mom = momentum, keep = self.keep, nesterov = self.nesterov
        guard let b = state.first else {
            ComputeThreads.parallelFor(n) { r in for i in r {
                let xi = x[i]
                let d = hasWD ? g[i] + wd * xi : g[i]
                x[i] = xi + negLR * d
            } }
            return
        }
        ComputeThreads.parallelFor(n) { r in for i in r {
            let xi = x[i], b0 = b[i]
            let d = hasWD ? g[i] + wd * xi : g[i]
            let bi = firstStep ? d : b0 * mom + keep * d   // buf.mul_(momentum).add_(grad, alpha=1-dampening)
            b[i] = bi
            let u = nesterov ? d + mom * bi : bi          // grad.add(buf, alpha=momentum)
            x[i] = xi + negLR * u
        } }
    }
}

// MARK: - RMSProp

/// RMSProp: PyTorch `torch.optim.RMSprop` (`_single_tensor_rmsprop`). Per element:
///
///     g = g + weight_decay * p                              (if weight_decay != 0)
///     square_avg = alpha * square_avg + (1 - alpha) * g * g
///     if centered:
///         grad_avg = lerp(grad_avg, g, 1 - alpha)           (= alpha * grad_avg + (1 - alpha) * g)
///         avg = sqrt(square_avg - grad_avg * grad_avg) + eps
///     else:
///         avg = sqrt(square_avg) + eps
///     if momentum > 0:
///         buf = momentum * buf + g / avg;  p = p - lr * buf
///     else:
///         p = p - lr * g / avg
///
/// Note PyTorch adds eps *outside* the square root (unlike Keras/TF), and has no first-step special
/// case: all state starts at zero. The WGAN recipe is RMSProp(lr 5e-5) with `clipValue` 0.01.
public final class RMSProp: Optimizer, UpdateRule {
    public let kind = "rmsprop"
    let name = "RMSProp"
    public let parameters: [Parameter]
    public var learningRate: Float
    public var stepCount = 0
    public var clipValue: Float?
    public let alpha: Float
    public let eps: Float
    public let weightDecay: Float
    public let momentum: Float
    public let centered: Bool

    /// "square_avg", then "momentum_buffer" when momentum > 0, then "grad_avg" when centered.
    let states: [[Tensor]]
    let stateNames: [String]
    private let w: Float                                 // addcmul_ value and lerp_ weight: 1 - alpha

    /// Same argument checks as PyTorch: lr, alpha, eps, weight_decay, momentum >= 0.
    public init(parameters: [Parameter], learningRate: Float = 1e-2, alpha: Float = 0.99, eps: Float = 1e-8,
                weightDecay: Float = 0, momentum: Float = 0, centered: Bool = false) {
        checkHyperparameter(learningRate >= 0, "RMSProp", "learning rate", learningRate, ">= 0")
        checkHyperparameter(alpha >= 0, "RMSProp", "alpha", alpha, ">= 0")
        checkHyperparameter(eps >= 0, "RMSProp", "eps", eps, ">= 0")
        checkHyperparameter(weightDecay >= 0, "RMSProp", "weight decay", weightDecay, ">= 0")
        checkHyperparameter(momentum >= 0, "RMSProp", "momentum", momentum, ">= 0")
        validateParameters(parameters, "RMSProp")
        (self.parameters, self.learningRate) = (parameters, learningRate)
        (self.alpha, self.eps, self.weightDecay, self.momentum, self.centered) = (alpha, eps, weightDecay, momentum, centered)
        w = Float(1 - pythonDouble(alpha))
        stateNames = ["square_avg"] + (momentum > 0 ? ["momentum_buffer"] : []) + (centered ? ["grad_avg"] : [])
        states = zeroStates(stateNames, like: parameters)
    }

    /// PyTorch's `defaults` order: lr, momentum, alpha, eps, centered, weight_decay.
    public var hyperparameters: [(name: String, value: Double)] {
        [("lr", pythonDouble(learningRate)), ("momentum", pythonDouble(momentum)),
         ("alpha", pythonDouble(alpha)), ("eps", pythonDouble(eps)), ("centered", centered ? 1 : 0),
         ("weight_decay", pythonDouble(weightDecay))]
    }

    public var parameterStates: [[(name: String, tensor: Tensor)]] { namedStates }

    public func step() { updateParameters() }

    /// -lr (`param.addcdiv_(g, avg, value=-lr)`).
    func stepScalars() -> Float { -learningRate }

    func applySingle(_ x: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>, count n: Int,
                     state: StateData, _ negLR: Float) {
        let wd = weightDecay, hasWD = weightDecay != 0
        let a = alpha, w = self.w
        let lerpSmall = abs(w) < 0.5, lerpCoeff = lerpSmall ? w : w - 1
        let eps = self.eps, mom = momentum
        let useMomentum = momentum > 0
        let sq = state[0]
        // One loop per (centered, momentum) variant: state a variant lacks is never touched, and
        // no load or store is conditional, so every variant vectorises.
        switch (centered, useMomentum) {
        case (false, false):
            ComputeThreads.parallelFor(n) { r in for i in r {
                let xi = x[i]
                let d = hasWD ? g[i] + wd * xi : g[i]
                let s = sq[i] * a + w * d * d             // square_avg.mul_(alpha).addcmul_(g, g, value=1-alpha)
                sq[i] = s
                let avg = vectorSquareRoot(s) + eps       // square_avg.sqrt().add_(eps)
                x[i] = xi + negLR * d / avg               // param.addcdiv_(g, avg, value=-lr)
            } }
        case (false, true):
            let b = state[1]
            ComputeThreads.parallelFor(n) { r in for i in r {
                let xi = x[i]
                let d = hasWD ? g[i] + wd * xi : g[i]
                let s = sq[i] * a + w * d * d
                sq[i] = s
                let avg = vectorSquareRoot(s) + eps
                let bi = b[i] * mom + d / avg             // buf.mul_(momentum).addcdiv_(g, avg)
                b[i] = bi
                x[i] = xi + negLR * bi                    // param.add_(buf, alpha=-lr)
            } }
        case (true, false):
            let ga = state[1]
            ComputeThreads.parallelFor(n) { r in for i in r {
                let xi = x[i], ga0 = ga[i]
                let d = hasWD ? g[i] + wd * xi : g[i]
                let s = sq[i] * a + w * d * d
                sq[i] = s
                let gai = (lerpSmall ? ga0 : d) + lerpCoeff * (d - ga0)  // grad_avg.lerp_(g, 1-alpha)
                ga[i] = gai
                let avg = vectorSquareRoot(s - gai * gai) + eps  // square_avg.addcmul(ga, ga, value=-1).sqrt_().add_(eps)
                x[i] = xi + negLR * d / avg
            } }
        case (true, true):
            let b = state[1], ga = state[2]
            ComputeThreads.parallelFor(n) { r in for i in r {
                let xi = x[i], ga0 = ga[i]
                let d = hasWD ? g[i] + wd * xi : g[i]
                let s = sq[i] * a + w * d * d
                sq[i] = s
                let gai = (lerpSmall ? ga0 : d) + lerpCoeff * (d - ga0)
                ga[i] = gai
                let avg = vectorSquareRoot(s - gai * gai) + eps
                let bi = b[i] * mom + d / avg
                b[i] = bi
                x[i] = xi + negLR * bi
            } }
        }
    }
}

// MARK: - Adam

/// Adam (L2 weight decay added to the gradient, i.e. not AdamW; no AMSGrad): PyTorch
/// `torch.optim.Adam` (`_single_tensor_adam`). With t = `stepCount` after the increment:
///
///     g = g + weight_decay * p                    (if weight_decay != 0)
///     m = lerp(m, g, 1 - beta1)                   (= beta1 * m + (1 - beta1) * g)
///     v = beta2 * v + (1 - beta2) * g * g
///     bias_correction1 = 1 - beta1^t,  bias_correction2 = 1 - beta2^t    (Python floats: Double)
///     step_size = lr / bias_correction1
///     denom = sqrt(v) / bias_correction2^0.5 + eps
///     p = p - step_size * m / denom
///
/// Note eps is added after the bias correction of sqrt(v), as in PyTorch (not to sqrt(v̂) of the
/// paper's pseudo-code with eps inside), and the bias corrections use the optimiser's step count,
/// so `stepCount` must be restored with "exp_avg"/"exp_avg_sq".
public final class Adam: Optimizer, UpdateRule {
    public let kind = "adam"
    let name = "Adam"
    public let parameters: [Parameter]
    public var learningRate: Float
    public var stepCount = 0
    public var clipValue: Float?
    public let beta1: Float
    public let beta2: Float
    public let eps: Float
    public let weightDecay: Float

    /// "exp_avg", "exp_avg_sq".
    let states: [[Tensor]]
    let stateNames = ["exp_avg", "exp_avg_sq"]
    private var lrCache = LearningRateCache()
    private let beta1Double: Double, beta2Double: Double

    /// Same argument checks as PyTorch: lr, eps, weight_decay >= 0; 0 <= beta1, beta2 < 1.
    public init(parameters: [Parameter], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                eps: Float = 1e-8, weightDecay: Float = 0) {
        checkHyperparameter(learningRate >= 0, "Adam", "learning rate", learningRate, ">= 0")
        checkHyperparameter(eps >= 0, "Adam", "eps", eps, ">= 0")
        checkHyperparameter(beta1 >= 0 && beta1 < 1, "Adam", "beta1", beta1, "in [0, 1)")
        checkHyperparameter(beta2 >= 0 && beta2 < 1, "Adam", "beta2", beta2, "in [0, 1)")
        checkHyperparameter(weightDecay >= 0, "Adam", "weight decay", weightDecay, ">= 0")
        validateParameters(parameters, "Adam")
        (self.parameters, self.learningRate) = (parameters, learningRate)
        (self.beta1, self.beta2, self.eps, self.weightDecay) = (beta1, beta2, eps, weightDecay)
        beta1Double = pythonDouble(beta1)
        beta2Double = pythonDouble(beta2)
        states = zeroStates(stateNames, like: parameters)
    }

    /// PyTorch's `defaults` order, with `betas` split: lr, beta1, beta2, eps, weight_decay.
    public var hyperparameters: [(name: String, value: Double)] {
        [("lr", pythonDouble(learningRate)), ("beta1", beta1Double), ("beta2", beta2Double),
         ("eps", pythonDouble(eps)), ("weight_decay", pythonDouble(weightDecay))]
    }

    public var parameterStates: [[(name: String, tensor: Tensor)]] { namedStates }

    public func step() { updateParameters() }

    /// Python-float scalars, as in `_single_tensor_adam` (step is `state_steps[i].item()`):
    /// -step_size (`addcdiv_` value) and bias_correction2 ** 0.5.
    func stepScalars() -> (negStep: Float, bc2Sqrt: Float) {
        let t = Double(stepCount)
        let biasCorrection1 = 1 - pow(beta1Double, t)
        let biasCorrection2 = 1 - pow(beta2Double, t)
        let stepSize = lrCache.value(learningRate) / biasCorrection1
        return (Float(-stepSize), Float(pow(biasCorrection2, 0.5)))
    }

    func applySingle(_ x: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>, count n: Int,
                     state: StateData, _ s: (negStep: Float, bc2Sqrt: Float)) {
        let negStep = s.negStep, bc2Sqrt = s.bc2Sqrt
        let w1 = Float(1 - beta1Double)                    // exp_avg.lerp_(grad, 1 - beta1)
        let lerpSmall = abs(w1) < 0.5, lerpCoeff = lerpSmall ? w1 : w1 - 1
        let b2 = beta2, w2 = Float(1 - beta2Double)        // exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1-beta2)
        let eps = self.eps
        let wd = weightDecay, hasWD = weightDecay != 0
        let m = state[0], v = state[1]
        ComputeThreads.parallelFor(n) { r in for i in r {
            let xi = x[i]
            let d = hasWD ? g[i] + wd * xi : g[i]
            let m0 = m[i]
            let mi = (lerpSmall ? m0 : d) + lerpCoeff * (d - m0)
            m[i] = mi
            let vi = v[i] * b2 + w2 * d * d
            v[i] = vi
            let denom = vectorSquareRoot(vi) / bc2Sqrt + eps    // (exp_avg_sq.sqrt() / bc2_sqrt).add_(eps)
            x[i] = xi + negStep * mi / denom               // param.addcdiv_(exp_avg, denom, value=-step_size)
        } }
    }
}
