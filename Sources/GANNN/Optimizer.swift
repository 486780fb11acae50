/// A first-order optimiser over a fixed list of parameters, with PyTorch's (`torch.optim`, 2.x,
/// single-tensor `foreach=False` path) update rules. The concrete optimisers are `SGD`, `RMSProp`
/// and `Adam` (Optimizers.swift); they share their step (`UpdateRule`) and differ only in their
/// maths. `OptimizerDescription` builds one from a description (kind, hyper-parameters, schedule).
///
/// Usage per training step: `zeroGradients()`, forward + backward (which *adds* into every
/// parameter's `gradient`), then `step()`. `step()` reads the gradients, updates every parameter
/// value in place, increments `stepCount` and finally applies the optional WGAN weight clipping.
///
/// Checkpointing: `kind`, `hyperparameters`, `stepCount` and `parameterStates` use PyTorch's
/// names. The state tensors are the optimiser's live buffers (allocated zero at init with each
/// parameter's shape), so a loader restores an optimiser by copying into them and setting
/// `stepCount`; the next `step()` then continues exactly as if the run had not been interrupted.
///
/// Numerics: hyper-parameters are stored as `Float`, but where PyTorch combines them in Python
/// floats (e.g. `1 - beta2`, `lr / bias_correction1`) this code does the same in `Double`, starting
/// from the shortest decimal that round-trips the `Float` (so `0.999` is Python's `0.999`, not
/// `0.99900001287…`), and only then rounds to `Float` as PyTorch does when it hands a scalar to a
/// float32 kernel. Element-wise arithmetic is Float32 in PyTorch's operation order.
public protocol Optimizer: AnyObject {
    /// "sgd", "rmsprop", "adam" (checkpoint attribute).
    var kind: String { get }
    var parameters: [Parameter] { get }
    /// Mutable so a schedule can decay it.
    var learningRate: Float { get set }
    /// Number of `step()` calls so far (PyTorch's `step` for Adam's bias correction; restored from checkpoints).
    var stepCount: Int { get set }
    /// Optional WGAN weight clipping: after each step every parameter value is clamped to [-c, c].
    var clipValue: Float? { get set }
    /// Applies one update to every parameter from its `gradient` (does not zero gradients).
    func step()
    /// Hyper-parameters for checkpoint attributes, stable order, PyTorch names: e.g. ("lr", 2e-4),
    /// ("beta1", 0.5), ("beta2", 0.999), ("eps", 1e-8), ("weight_decay", 0) ...
    /// Boolean options ("nesterov", "centered") are 0 or 1.
    var hyperparameters: [(name: String, value: Double)] { get }
    /// Per-parameter state tensors, parallel to `parameters`, with PyTorch's state names:
    /// SGD "momentum_buffer" (only when momentum != 0); RMSProp "square_avg", plus "momentum_buffer"
    /// when momentum != 0, plus "grad_avg" when centered; Adam "exp_avg", "exp_avg_sq".
    /// The tensors are the live state (a checkpoint loader copies into them), allocated at init
    /// with the parameter's shape, zero.
    var parameterStates: [[(name: String, tensor: Tensor)]] { get }
}

extension Optimizer {
    /// Sets every parameter's gradient to zero (PyTorch `zero_grad(set_to_none=False)`).
    public func zeroGradients() {
        // Each gradient's pointer and count are read with no call in between, then zeroed as
        // `Tensor.fill` does: no parameter or tensor is retained around the fill (a retain and a
        // release per parameter and step were measurable on toy_1d's small layers).
        let parameters = self.parameters
        for k in parameters.indices {
            let d = parameters[k].gradient.data, n = parameters[k].gradient.count
            ComputeThreads.parallelFor(n) { r in (d + r.lowerBound).update(repeating: 0, count: r.count) }
        }
    }
}

// MARK: - The shared step

/// What `SGD`, `RMSProp` and `Adam` share, in the shape of mlx-swift's optimisers
/// (`applySingle`): `updateParameters()` is their `step()`. It checks the learning rate (settable,
/// so re-validated each step), counts the step, lets the rule compute its per-step scalars once,
/// hands every parameter with its state tensors to the rule's `applySingle`, and finally applies
/// the optional WGAN weight clipping. A rule is then only its maths: the per-step scalars (Python
/// floats where PyTorch has them) and one vectorised loop per parameter.
protocol UpdateRule: Optimizer {
    /// The per-step scalars of the rule (learning rate, bias corrections, ...).
    associatedtype StepScalars
    /// The optimiser's name in messages ("SGD").
    var name: String { get }
    /// State tensors per parameter, parallel to `parameters`, allocated zero at init with the
    /// parameter's shape, named by `stateNames` (`parameterStates`).
    var states: [[Tensor]] { get }
    var stateNames: [String] { get }
    /// The scalars of the step just counted (`stepCount` is its 1-based number).
    func stepScalars() -> StepScalars
    /// Updates the `n` values at `x` in place from their gradients at `g` and the parameter's state
    /// (the data of its `states` tensors, in order).
    func applySingle(_ x: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>, count n: Int,
                     state: StateData, _ scalars: StepScalars)
}

/// The data pointers of one parameter's state tensors, in `stateNames` order.
typealias StateData = UnsafeBufferPointer<UnsafeMutablePointer<Float>>

extension UpdateRule {
    /// One update of every parameter (see `UpdateRule`); the concrete `step()`.
    func updateParameters() {
        checkLearningRate(learningRate, name)
        stepCount += 1
        let scalars = stepScalars()
        let parameters = self.parameters, states = self.states
        withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<Float>.self, capacity: max(stateNames.count, 1)) { slots in
            for k in parameters.indices {
                // Every pointer and count the update needs is read first, with no call in between,
                // so no parameter or state tensor is retained around the update (a retain and a
                // release per parameter and per state list were ~2% of toy_1d's time).
                let x = parameters[k].value.data, g = parameters[k].gradient.data
                let n = parameters[k].value.count, gradientCount = parameters[k].gradient.count
                var sizesMatch = true
                for (j, t) in states[k].enumerated() {
                    sizesMatch = sizesMatch && t.count == n && t.count == gradientCount
                    slots[j] = t.data
                }
                if !sizesMatch { for t in states[k] { checkStateSize(parameters[k], t, name) } }
                applySingle(x, gradient: g, count: n, state: StateData(rebasing: slots[..<states[k].count]), scalars)
            }
        }
        clampParameters(parameters, clipValue, name)
    }

    /// `states` under their PyTorch names (the `parameterStates` of the protocol).
    var namedStates: [[(name: String, tensor: Tensor)]] {
        states.map { zip(stateNames, $0).map { (name: $0, tensor: $1) } }
    }
}

/// `states` for a rule: per parameter, one zero tensor of its shape per state name.
func zeroStates(_ names: [String], like parameters: [Parameter]) -> [[Tensor]] {
    parameters.map { p in names.map { _ in Tensor(shape: p.value.shape) } }
}

// MARK: - Shared helpers for the concrete optimisers

/// The Python float a hyper-parameter would have had: the `Double` of the shortest decimal that
/// round-trips `x` as a `Float` (`Float(0.999)` → `0.999`). Not for hot loops (formats a string).
func pythonDouble(_ x: Float) -> Double {
    guard x.isFinite else { return Double(x) }
    return Double(x.description) ?? Double(x)
}

/// `pythonDouble(learningRate)`, recomputed only when the learning rate changes, so a step does not
/// format a string unless a schedule has just decayed the rate.
struct LearningRateCache {
    private var float: Float = .nan
    private var double: Double = .nan

    mutating func value(_ lr: Float) -> Double {
        if lr.bitPattern != float.bitPattern {
            float = lr
            double = pythonDouble(lr)
        }
        return double
    }
}

/// Checks the invariants every optimiser relies on: distinct parameters (PyTorch warns about
/// duplicates; here a duplicate would be updated twice per step) and gradients shaped like values.
func validateParameters(_ parameters: [Parameter], _ who: String) {
    var seen = Set<ObjectIdentifier>()
    for p in parameters {
        precondition(seen.insert(ObjectIdentifier(p)).inserted,
                     "\(who): parameter '\(p.name)' appears more than once in the parameter list")
        precondition(p.gradient.count == p.value.count,
                     "\(who): parameter '\(p.name)' has \(p.value.count) values but \(p.gradient.count) gradients")
    }
}

/// Checks a hyper-parameter against PyTorch's constructor rule; NaN always fails.
func checkHyperparameter(_ ok: Bool, _ who: String, _ what: String, _ value: Float, _ rule: String) {
    precondition(ok, "\(who): invalid \(what) \(value) (must be \(rule))")
}

/// Checks that a parameter still has the element count its state was allocated for.
@inline(__always)
func checkStateSize(_ p: Parameter, _ state: Tensor, _ who: String) {
    precondition(p.value.count == state.count && p.gradient.count == state.count,
                 "\(who): parameter '\(p.name)' changed size (\(p.value.count) values, \(p.gradient.count) gradients, state \(state.count))")
}

/// Checks the learning rate before a step.
@inline(__always)
func checkLearningRate(_ lr: Float, _ who: String) {
    precondition(lr >= 0, "\(who): invalid learning rate \(lr) (must be >= 0)")
}

/// IEEE square root (NaN for x < 0, as `torch.sqrt`) that vectorises.
///
/// On Linux `Float.squareRoot()` lowers to a call of libm's `sqrtf` (which may set errno), and
/// that call blocks loop vectorisation. Taking the root of `abs(x)` lets LLVM prove no errno and
/// use the `sqrtps` instruction; the select restores NaN for negative inputs. Same result as
/// `squareRoot()` for every input except -0 (gives +0), which the optimisers never produce there.
@inline(__always)
func vectorSquareRoot(_ x: Float) -> Float {
    let r = abs(x).squareRoot()
    return x < 0 ? .nan : r
}

/// WGAN weight clipping, as `for p in critic.parameters(): p.data.clamp_(-c, c)` in PyTorch:
/// `min(max(x, -c), c)` per element, NaN stays NaN.
func clampParameters(_ parameters: [Parameter], _ clipValue: Float?, _ who: String) {
    guard let c = clipValue else { return }
    precondition(c >= 0, "\(who): invalid clipValue \(c) (must be >= 0)")
    let lo = -c, hi = c
    for p in parameters {
        let x = p.value.data
        ComputeThreads.parallelFor(p.value.count) { r in
            for i in r {
                let v = x[i]
                x[i] = v < lo ? lo : (v > hi ? hi : v)
            }
        }
    }
}
