@_exported import GANTensor

/// A trainable tensor and its accumulated gradient (same shape).
public final class Parameter {
    /// Name within its layer: "weight", "bias", ...
    public let name: String
    public let value: Tensor
    public let gradient: Tensor

    public init(_ name: String, shape: [Int]) {
        self.name = name
        value = Tensor(shape: shape)
        gradient = Tensor(shape: shape)
    }

    public func zeroGradient() { gradient.fill(0) }
}

/// What a backward pass computes.
public struct BackwardMode: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Accumulate dLoss/dParameter into every parameter's `gradient`.
    public static let parameterGradients = BackwardMode(rawValue: 1)
    /// Return dLoss/dInput.
    public static let inputGradient = BackwardMode(rawValue: 2)

    /// Both: the usual training backward.
    public static let full: BackwardMode = [.parameterGradients, .inputGradient]
    /// Input gradient only: back-propagating through a frozen network (D during the G step).
    public static let inputOnly: BackwardMode = [.inputGradient]
}

/// A network layer with an explicit forward and backward.
///
/// Contract ("forward caches what backward needs", as in llm.c):
/// - `forward(x, training:)` returns a tensor the layer owns and reuses; it stays valid until the
///   layer's next `forward`. The layer may keep a reference to `x`, which the caller must leave
///   unchanged until `backward` has run.
/// - `backward(dy, mode)` uses the caches of the latest `forward`. With `.parameterGradients` it
///   *adds* into each parameter's gradient (call `zeroGradients()` explicitly between steps); with
///   `.inputGradient` it returns dLoss/dx (a layer-owned tensor), otherwise it returns nil and may
///   skip that work. It never modifies `dy`. `backward(dy, mode:, into:)` does the same into a
///   caller's tensor.
public protocol Layer: AnyObject {
    /// Kind name used in checkpoint paths and summaries: "linear", "leaky_relu", ...
    var kind: String { get }
    /// Trainable parameters, in a stable order.
    var parameters: [Parameter] { get }
    /// Non-trainable state that belongs in a checkpoint (e.g. batch-norm running statistics).
    var buffers: [(name: String, tensor: Tensor)] { get }
    /// Shape of one output sample for one input sample of `inputShape` (batch dimension excluded),
    /// or nil when the layer cannot take that input.
    func outputShape(for inputShape: [Int]) -> [Int]?
    func forward(_ x: Tensor, training: Bool) -> Tensor
    @discardableResult
    func backward(_ dy: Tensor, mode: BackwardMode) -> Tensor?
    /// `backward(dy, mode:)` with dLoss/dx written into `gradient` (resized to the input's shape)
    /// and returned, in place of the layer-owned tensor; `gradient` must not be `dy`, and the
    /// layer keeps no reference to it. `Sequential` passes two buffers in turn, so a chain holds
    /// two input gradients instead of one per layer. Layers without it return their own tensor.
    @discardableResult
    func backward(_ dy: Tensor, mode: BackwardMode, into gradient: Tensor) -> Tensor?
    /// Whether backward reads this layer's output tensor. False (only) for layers that return a
    /// tensor of their own and back-propagate from their input: the next layer may then
    /// overwrite the output (`InPlaceActivation`). Defaults to true.
    var backwardReadsOutput: Bool { get }
}

extension Layer {
    public var backwardReadsOutput: Bool { true }
    @discardableResult
    public func backward(_ dy: Tensor, mode: BackwardMode, into gradient: Tensor) -> Tensor? { backward(dy, mode: mode) }
    public var parameters: [Parameter] { [] }
    public var buffers: [(name: String, tensor: Tensor)] { [] }
    public func zeroGradients() { for p in parameters { p.zeroGradient() } }
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }
}

/// Layers that map each element independently (activations): output shape = input shape.
/// A layer whose output row `i` depends only on input row `i`, with nothing carried from one
/// forward call to the next (no batch statistics, no power iteration): two batches passed through
/// it one after the other or stacked into one batch give the same rows. The trainer then runs D
/// once on real and fake rows stacked (half the layer calls, products twice as tall).
public protocol RowIndependentLayer: Layer {}

/// A layer with a weight and an optional bias (`Linear`, `Conv2d`, `ConvTranspose2d`): its
/// parameters are [weight, bias], in checkpoint order, and its backward reads the input it kept
/// and its weight, never its output.
public protocol WeightedLayer: RowIndependentLayer {
    var weight: Parameter { get }
    var bias: Parameter? { get }
}

extension WeightedLayer {
    public var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }
    public var backwardReadsOutput: Bool { false }

    /// Fills the weight with `weightInit` and the bias with `biasInit` (default: PyTorch's bias
    /// rule for `.pytorchDefault`, else zeros), with the fans of the weight's layout.
    func initialize(weightInit: Initializer, biasInit: Initializer?, rng: inout RNG) {
        Initializer.initialize(weight: weight, bias: bias, weightInit: weightInit, biasInit: biasInit, rng: &rng)
    }
}

public protocol ElementwiseLayer: RowIndependentLayer {}

/// A layer that takes part in keeping oneDNN's blocked image layouts (`Tensor.blockSize`) from
/// one convolution to the next, through the layers between them, instead of copying every image
/// batch into and out of them around each convolution. `Sequential` picks the layouts
/// (`Sequential.layoutPlan`); a layer called on its own sees and gives plain tensors only.
protocol BlockedLayoutLayer: Layer {
    /// For an input batch of `shape`: the blocked layout the layer reads without a copy (a oneDNN
    /// convolution's input side), `Sequential.anyLayout` when it takes every layout at the same
    /// cost (`Reshape`), 0 when only plain, or nil when its output has its input's layout, which
    /// may be any (element-wise maps, batch norm).
    func inputBlock(for shape: [Int]) -> Int?
    /// `forward(x, training:)` with the output in layout `outputBlock` if the layer writes that
    /// one without a copy (`anyLayout`: the layer's own choice), else plain; layers whose output
    /// has their input's layout ignore it. The output's `blockSize` says which it is.
    func forward(_ x: Tensor, training: Bool, outputBlock: Int) -> Tensor
}

extension BlockedLayoutLayer where Self: ElementwiseLayer {
    func inputBlock(for shape: [Int]) -> Int? { nil }
    func forward(_ x: Tensor, training: Bool, outputBlock: Int) -> Tensor { forward(x, training: training) }
}
extension ElementwiseLayer {
    public func outputShape(for inputShape: [Int]) -> [Int]? { inputShape }
}
