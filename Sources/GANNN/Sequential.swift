/// Layers applied in order. Parameter paths are `"<index>_<kind>/<param>"` (e.g. `0_linear/weight`),
/// the names checkpoints use.
public final class Sequential: Layer {
    public let layers: [Layer]
    public var kind: String { "sequential" }

    /// The input gradients passed between layers in backward: layer i writes into the one its
    /// dy is not in (`Layer.backward(_:mode:into:)`), so the chain holds two, not one per layer.
    /// A trainer's G and D share one pair (`shareGradientBuffers`).
    private var gradients = (Tensor(shape: [0]), Tensor(shape: [0]))

    /// Layer i as an in-place activation where it may overwrite layer i-1's output (that layer's
    /// backward does not read it): the chain then keeps one activation tensor less per such pair.
    private let inPlace: [InPlaceActivation?]

    public init(_ layers: [Layer]) {
        self.layers = layers
        inPlace = layers.indices.map { i in i > 0 && !layers[i - 1].backwardReadsOutput ? layers[i] as? InPlaceActivation : nil }
    }
    public convenience init(_ layers: Layer...) { self.init(layers) }

    public var parameters: [Parameter] { layers.flatMap(\.parameters) }

    /// Every layer is a `RowIndependentLayer`: batches may be stacked into one pass.
    public var isRowIndependent: Bool { layers.allSatisfy { $0 is RowIndependentLayer } }

    /// Layer names as used in checkpoints: "0_linear", "1_relu", ...
    public var layerNames: [String] { layers.enumerated().map { "\($0.offset)_\($0.element.kind)" } }

    /// Every parameter with its path `"<index>_<kind>/<name>"`.
    public var namedParameters: [(path: String, parameter: Parameter)] {
        zip(layerNames, layers).flatMap { name, layer in layer.parameters.map { ("\(name)/\($0.name)", $0) } }
    }

    /// Every buffer with its path `"<index>_<kind>/<name>"`.
    public var namedBuffers: [(path: String, tensor: Tensor)] {
        zip(layerNames, layers).flatMap { name, layer in layer.buffers.map { ("\(name)/\($0.name)", $0.tensor) } }
    }

    public func outputShape(for inputShape: [Int]) -> [Int]? {
        var s = inputShape
        for l in layers {
            guard let next = l.outputShape(for: s) else { return nil }
            s = next
        }
        return s
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        forward(x, training: training, throughLayer: layers.count)
    }

    /// Runs the first `count` layers only (e.g. D's features for feature matching). An in-place
    /// activation overwrites the previous layer's output, never `x`.
    public func forward(_ x: Tensor, training: Bool, throughLayer count: Int) -> Tensor {
        var h = x
        for i in 0..<min(count, layers.count) {   // as `layers.prefix(count)`
            if let a = inPlace[i] { h = a.forward(inPlace: h, training: training) } else { h = layers[i].forward(h, training: training) }
        }
        return h
    }

    /// Makes this network pass its input gradients in `other`'s two buffers. For two networks
    /// whose backward passes never overlap, where one's input gradient is at most the other's
    /// first dy (D's gradient at the fake images, then G's backward from it): G's first layer
    /// writes into the buffer D's gradient is not in, and every layer writes its whole input
    /// gradient, so the results are the same bits, and the pair is held once, not twice (33.6 MB
    /// of dcgan64's peak: each network's largest input gradient is 64 x 64 x 32 x 32 floats).
    public func shareGradientBuffers(with other: Sequential) {
        gradients = other.gradients
    }

    @discardableResult
    public func backward(_ dy: Tensor, mode: BackwardMode) -> Tensor? {
        backward(dy, mode: mode, fromLayer: layers.count)
    }

    /// Back-propagates from the output of layer `end - 1` down to the input. The returned input
    /// gradient is one of this network's two gradient buffers: valid until its next backward.
    @discardableResult
    public func backward(_ dy: Tensor, mode: BackwardMode, fromLayer end: Int) -> Tensor? {
        var g: Tensor? = dy
        for i in stride(from: end - 1, through: 0, by: -1) {
            // The first layer needs to compute dx only when the caller asked for it.
            let m: BackwardMode = i == 0 ? mode : mode.union(.inputGradient)
            g = layers[i].backward(g!, mode: m, into: g === gradients.0 ? gradients.1 : gradients.0)
        }
        return g
    }
}
