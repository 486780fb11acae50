import Foundation

/// An activation that can write its output over its input (`forward(inPlace:)`: x then holds
/// the output, which the layer's backward reads instead of x). `Sequential` runs it that way when
/// the layer before it does not read its own output in backward (`Layer.backwardReadsOutput`),
/// so e.g. a ReLU after a convolution or batch norm keeps no tensor of its own. (ReLU and
/// LeakyReLU; Sigmoid and Tanh keep their outputs: their loops vectorise only between two buffers.)
public protocol InPlaceActivation: ElementwiseLayer {
    func forward(inPlace x: Tensor, training: Bool) -> Tensor
}

/// An in-place activation that `Sequential` runs inside the batch norm before it
/// (`BatchNorm.forward(_:training:fusing:)` applies it to each value it writes, and its backward
/// applies the activation's derivative to each dy it reads): one pass over the batch less each way,
/// with the activation's own arithmetic, so the same bits.
protocol FusableActivation: InPlaceActivation {
    var fused: FusedActivation { get }
    /// Takes `x`, which already holds this activation's output (computed by the batch norm), as
    /// `forward(inPlace: x, training:)` would have left it, without a pass over it.
    func adopt(inPlace x: Tensor)
}

enum FusedActivation {
    case relu
    case leakyReLU(Float)

    /// The same map as a product's epilogue (`Linear.forward(_:training:fusing:)`, `SmallMLP`).
    var epilogue: SmallGEMMEpilogue {
        switch self {
        case .relu: .relu
        case .leakyReLU(let a): .leakyReLU(a)
        }
    }
}

/// x (a batch norm with no activation fused into it).
struct IdentityMap: LaneMap {
    @inline(__always) func callAsFunction(_ v: SIMD8<Float>) -> SIMD8<Float> { v }
    @inline(__always) func callAsFunction(_ v: Float) -> Float { v }
}

/// dLoss/dx of an activation from dLoss/dy `g` and its output `y`, in a SIMD and a scalar form that
/// give what the activation's own backward loop gives (`ReLU`: y > 0 ? g : 0; `LeakyReLU`, whose
/// output has its input's sign: y > 0 ? g : a·g).
protocol GradientMask {
    func callAsFunction(_ g: SIMD8<Float>, _ y: SIMD8<Float>) -> SIMD8<Float>
    func callAsFunction(_ g: Float, _ y: Float) -> Float
}

/// g (no activation).
struct PassGradient: GradientMask {
    @inline(__always) func callAsFunction(_ g: SIMD8<Float>, _ y: SIMD8<Float>) -> SIMD8<Float> { g }
    @inline(__always) func callAsFunction(_ g: Float, _ y: Float) -> Float { g }
}

struct ReLUGradient: GradientMask {
    @inline(__always) func callAsFunction(_ g: SIMD8<Float>, _ y: SIMD8<Float>) -> SIMD8<Float> {
        SIMD8<Float>(repeating: 0).replacing(with: g, where: y .> 0)
    }
    @inline(__always) func callAsFunction(_ g: Float, _ y: Float) -> Float { y > 0 ? g : 0 }
}

struct LeakyReLUGradient: GradientMask {
    let a: Float
    @inline(__always) func callAsFunction(_ g: SIMD8<Float>, _ y: SIMD8<Float>) -> SIMD8<Float> { (g * a).replacing(with: g, where: y .> 0) }
    @inline(__always) func callAsFunction(_ g: Float, _ y: Float) -> Float { y > 0 ? g : a * g }
}

/// An element-wise map with a SIMD form and a scalar form doing the same arithmetic.
protocol LaneMap {
    func callAsFunction(_ v: SIMD8<Float>) -> SIMD8<Float>
    func callAsFunction(_ v: Float) -> Float
}

/// `y[i] = f(x[i])`, eight lanes at a time (the scalar form for the tail), split over
/// `ComputeThreads`. Explicit SIMD because the compiler's own vectorisation of such a loop falls
/// back to scalar code when x and y are the same buffer, as in place they are; generic rather
/// than a closure so that `f` is inlined.
@inline(__always)
func mapLanes<F: LaneMap>(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int, _ f: F) {
    ComputeThreads.parallelFor(n) { r in
        var i = r.lowerBound
        while i + 8 <= r.upperBound {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: f(v), as: SIMD8<Float>.self)
            i += 8
        }
        while i < r.upperBound { y[i] = f(x[i]); i += 1 }
    }
}

/// max(v, 0), which is `0 >= v ? 0 : v`.
struct ReLUMap: LaneMap {
    @inline(__always) func callAsFunction(_ v: SIMD8<Float>) -> SIMD8<Float> { v.replacing(with: 0, where: v .<= 0) }
    @inline(__always) func callAsFunction(_ v: Float) -> Float { max(v, 0) }
}

/// v > 0 ? v : a · v.
struct LeakyReLUMap: LaneMap {
    let a: Float
    @inline(__always) func callAsFunction(_ v: SIMD8<Float>) -> SIMD8<Float> { (v * a).replacing(with: v, where: v .> 0) }
    @inline(__always) func callAsFunction(_ v: Float) -> Float { v > 0 ? v : a * v }
}

/// Shared plumbing of element-wise activations: owned output and input-gradient buffers.
public class ActivationBase {
    private let ownOutput = Tensor(shape: [0])
    /// `ownOutput`, or after an in-place forward the input's tensor.
    private(set) var output: Tensor
    let inputGradient = Tensor(shape: [0])
    var input: Tensor?

    init() { output = ownOutput }

    func prepareForward(_ x: Tensor, inPlace: Bool = false) -> Int {
        // Assigned only when they change (x is usually the same tensor call after call): a
        // retain and a release less each.
        if input !== x { input = x }
        if inPlace {
            if output !== x { output = x }
        } else {
            output = ownOutput
            ownOutput.resize(x.shape)
            ownOutput.blockSize = x.blockSize   // element-wise: any layout
        }
        return x.count
    }

    func prepareBackward(_ dy: Tensor, _ name: String, into gradient: Tensor) -> Int {
        precondition(dy.count == output.count, "\(name).backward: dy \(dy.shape) does not match output \(output.shape)")
        precondition(dy.blockSize == output.blockSize, "\(name).backward: dy in layout \(dy.blockSize), the output in \(output.blockSize)")
        gradient.resize(output.shape)
        gradient.blockSize = dy.blockSize
        return dy.count
    }

    /// `dx[i] = f(dy[i], y[i])` for an activation whose derivative is a function of its output y,
    /// split over `ComputeThreads` (generic, not a closure, so `f` is inlined and the loop vectorises).
    @inline(__always)
    func backwardFromOutput<F: OutputDerivative>(_ dy: Tensor, _ name: String, into gradient: Tensor, _ f: F) -> Tensor {
        let n = prepareBackward(dy, name, into: gradient), y = output.data, g = dy.data, dx = gradient.data
        ComputeThreads.parallelFor(n) { r in for i in r { dx[i] = f(g[i], y[i]) } }
        return gradient
    }
}

extension ElementwiseLayer where Self: ActivationBase {
    /// The input gradient into the layer's own buffer.
    public func backward(_ dy: Tensor, mode: BackwardMode) -> Tensor? { backward(dy, mode: mode, into: inputGradient) }
}

/// dLoss/dx from dLoss/dy and the activation's output y.
protocol OutputDerivative {
    func callAsFunction(_ g: Float, _ y: Float) -> Float
}

/// `max(0, x)`. Gradient at 0 is 0, as in PyTorch.
public final class ReLU: ActivationBase, InPlaceActivation, BlockedLayoutLayer, FusableActivation {
    public var kind: String { "relu" }
    public override init() {}

    public func forward(_ x: Tensor, training: Bool) -> Tensor { activate(x, inPlace: false) }
    public func forward(inPlace x: Tensor, training: Bool) -> Tensor { activate(x, inPlace: true) }
    var fused: FusedActivation { .relu }
    func adopt(inPlace x: Tensor) { _ = prepareForward(x, inPlace: true) }

    private func activate(_ x: Tensor, inPlace: Bool) -> Tensor {
        let n = prepareForward(x, inPlace: inPlace), xp = x.data, y = output.data
        mapLanes(xp, y, count: n, ReLUMap())
        return output
    }

    public func backward(_ dy: Tensor, mode: BackwardMode, into gradient: Tensor) -> Tensor? {
        guard mode.contains(.inputGradient) else { return nil }
        let n = prepareBackward(dy, "ReLU", into: gradient), y = output.data, g = dy.data, dx = gradient.data
        // Both loads unconditional, so the select vectorises.
        ComputeThreads.parallelFor(n) { r in for i in r { let gi = g[i]; dx[i] = y[i] > 0 ? gi : 0 } }
        return gradient
    }
}

/// `x` for x > 0, `alpha · x` otherwise (0 <= alpha < 1). Backward tests the sign of what it kept:
/// x, or after an in-place forward the output, whose sign is x's (alpha >= 0).
public final class LeakyReLU: ActivationBase, InPlaceActivation, BlockedLayoutLayer, FusableActivation {
    public let alpha: Float
    public var kind: String { "leaky_relu" }

    public init(alpha: Float = 0.01) {
        precondition(alpha >= 0 && alpha < 1, "LeakyReLU alpha must be in [0, 1), got \(alpha)")
        self.alpha = alpha
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor { activate(x, inPlace: false) }
    public func forward(inPlace x: Tensor, training: Bool) -> Tensor { activate(x, inPlace: true) }
    var fused: FusedActivation { .leakyReLU(alpha) }
    func adopt(inPlace x: Tensor) { _ = prepareForward(x, inPlace: true) }

    private func activate(_ x: Tensor, inPlace: Bool) -> Tensor {
        let n = prepareForward(x, inPlace: inPlace), xp = x.data, y = output.data, a = alpha
        mapLanes(xp, y, count: n, LeakyReLUMap(a: a))
        return output
    }

    public func backward(_ dy: Tensor, mode: BackwardMode, into gradient: Tensor) -> Tensor? {
        guard mode.contains(.inputGradient) else { return nil }
        let n = prepareBackward(dy, "LeakyReLU", into: gradient), x = input!.data, g = dy.data, dx = gradient.data, a = alpha
        ComputeThreads.parallelFor(n) { r in for i in r { let gi = g[i]; dx[i] = x[i] > 0 ? gi : a * gi } }
        return gradient
    }
}

/// Logistic sigmoid `1 / (1 + e^-x)` (`Kernels.sigmoid`: a vectorised exp, not `expf`).
public final class Sigmoid: ActivationBase, ElementwiseLayer, BlockedLayoutLayer {
    public var kind: String { "sigmoid" }
    public override init() {}

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let n = prepareForward(x), xp = x.data, y = output.data
        ComputeThreads.parallelFor(n) { r in Kernels.sigmoid(xp + r.lowerBound, y + r.lowerBound, count: r.count) }
        return output
    }

    public func backward(_ dy: Tensor, mode: BackwardMode, into gradient: Tensor) -> Tensor? {
        guard mode.contains(.inputGradient) else { return nil }
        return backwardFromOutput(dy, "Sigmoid", into: gradient, Derivative())
    }

    /// σ' = σ (1 - σ).
    struct Derivative: OutputDerivative {
        @inline(__always) func callAsFunction(_ g: Float, _ y: Float) -> Float { g * y * (1 - y) }
    }
}

/// Hyperbolic tangent.
public final class Tanh: ActivationBase, ElementwiseLayer, BlockedLayoutLayer {
    public var kind: String { "tanh" }
    public override init() {}

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let n = prepareForward(x), xp = x.data, y = output.data
        ComputeThreads.parallelFor(n) { r in Kernels.tanh(xp + r.lowerBound, y + r.lowerBound, count: r.count) }
        return output
    }

    public func backward(_ dy: Tensor, mode: BackwardMode, into gradient: Tensor) -> Tensor? {
        guard mode.contains(.inputGradient) else { return nil }
        return backwardFromOutput(dy, "Tanh", into: gradient, Derivative())
    }

    /// tanh' = 1 - tanh².
    struct Derivative: OutputDerivative {
        @inline(__always) func callAsFunction(_ g: Float, _ y: Float) -> Float { g * (1 - y * y) }
    }
}

/// Clamps to [min, max]; the gradient passes where min <= x <= max (PyTorch's `clamp`).
///
/// The 1-D system clips D's probability to [0.01, 0.99]; since the sigmoid is monotone that is
/// the same as clamping D's *logit* to [logit(0.01), logit(0.99)], which keeps the losses on
/// logits: use `Clamp.probability(0.01, 0.99)` as D's last layer.
public final class Clamp: ActivationBase, ElementwiseLayer, BlockedLayoutLayer {
    public let minimum: Float
    public let maximum: Float
    public var kind: String { "clamp" }

    public init(min: Float, max: Float) {
        precondition(min <= max, "Clamp: min \(min) > max \(max)")
        minimum = min
        maximum = max
    }

    /// A logit clamp equivalent to clipping the sigmoid probability to [low, high] (0 < low < high < 1).
    ///
    /// The bounds are logit(low) and logit(high) rounded to Float, then stepped inward by a few ulps
    /// where needed so that a Float32 sigmoid of them (either the `Sigmoid` layer's form or the
    /// stable form of `Loss`) lands inside [low, high]: the plain rounded logit(0.01) maps back to
    /// 0.009999999 and logit(0.99) to 0.99000007, one ulp outside.
    public static func probability(_ low: Float, _ high: Float) -> Clamp {
        precondition(low > 0 && high < 1 && low < high, "Clamp.probability needs 0 < low < high < 1")
        func sigmoids(_ x: Float) -> (Float, Float) {
            (Kernels.sigmoid(x), x >= 0 ? 1 / (1 + expf(-x)) : expf(x) / (1 + expf(x)))
        }
        var lo = Float(log(Double(low) / (1 - Double(low))))
        var hi = Float(log(Double(high) / (1 - Double(high))))
        for _ in 0..<256 {
            let (a, b) = sigmoids(lo)
            if (a >= low && b >= low) || lo >= hi { break }
            lo = lo.nextUp
        }
        for _ in 0..<256 {
            let (a, b) = sigmoids(hi)
            if (a <= high && b <= high) || hi <= lo { break }
            hi = hi.nextDown
        }
        return Clamp(min: lo, max: hi)
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let n = prepareForward(x), xp = x.data, y = output.data, lo = minimum, hi = maximum
        ComputeThreads.parallelFor(n) { r in for i in r { y[i] = min(max(xp[i], lo), hi) } }
        return output
    }

    public func backward(_ dy: Tensor, mode: BackwardMode, into gradient: Tensor) -> Tensor? {
        guard mode.contains(.inputGradient) else { return nil }
        let n = prepareBackward(dy, "Clamp", into: gradient), x = input!.data, g = dy.data, dx = gradient.data
        let lo = minimum, hi = maximum
        ComputeThreads.parallelFor(n) { r in for i in r { let xi = x[i], gi = g[i]; dx[i] = (xi >= lo && xi <= hi) ? gi : 0 } }
        return gradient
    }
}

/// Maxout (Goodfellow et al. 2013): input `[N, units · pieces]`, output `[N, units]`, where unit j
/// is the maximum of input features `j·pieces ..< (j+1)·pieces` (pylearn2's grouping; PyTorch:
/// `x.view(N, units, pieces).max(-1)`). Put it after a Linear with `units · pieces` outputs.
/// The gradient goes to the first maximal piece.
public final class Maxout: RowIndependentLayer {
    public let pieces: Int
    public var kind: String { "maxout" }
    private let output = Tensor(shape: [0])
    private let inputGradient = Tensor(shape: [0])
    private var argmax: [Int32] = []
    private var inputShape: [Int] = []

    public init(pieces: Int) {
        precondition(pieces >= 1, "Maxout needs pieces >= 1, got \(pieces)")
        self.pieces = pieces
    }

    public func outputShape(for inputShape: [Int]) -> [Int]? {
        let f = inputShape.reduce(1, *)
        return f % pieces == 0 ? [f / pieces] : nil
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let n = x.rows, f = x.columns
        precondition(f % pieces == 0, "Maxout(pieces: \(pieces)): \(f) input features is not a multiple of the pieces")
        let units = f / pieces, total = n * units
        inputShape = x.shape
        output.resize(rows: n, columns: units)
        if argmax.count < total { argmax = [Int32](repeating: 0, count: total) }
        let xp = x.data, y = output.data, k = pieces
        argmax.withUnsafeMutableBufferPointer { am in
            for o in 0..<total {
                let base = o * k
                var best = xp[base], arg = 0
                for p in 1..<max(k, 1) where xp[base + p] > best { best = xp[base + p]; arg = p }
                y[o] = best
                am[o] = Int32(arg)
            }
        }
        return output
    }

    public func backward(_ dy: Tensor, mode: BackwardMode) -> Tensor? { backward(dy, mode: mode, into: inputGradient) }

    public func backward(_ dy: Tensor, mode: BackwardMode, into gradient: Tensor) -> Tensor? {
        guard mode.contains(.inputGradient) else { return nil }
        precondition(dy.count == output.count, "Maxout.backward: dy \(dy.shape) does not match output \(output.shape)")
        gradient.resize(inputShape)
        gradient.fill(0)
        let g = dy.data, dx = gradient.data, k = pieces
        argmax.withUnsafeBufferPointer { am in
            for o in 0..<output.count { dx[o * k + Int(am[o])] = g[o] }
        }
        return gradient
    }
}
