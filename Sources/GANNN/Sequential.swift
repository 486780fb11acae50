import Foundation

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

    /// The layers that take part in blocked layouts (nil for the others).
    private let blockedLayers: [BlockedLayoutLayer?]
    /// `layoutPlan`'s answers for the latest two input shapes and thread counts (the D step and the
    /// G step may give D different batch sizes).
    private var plans: [(shape: [Int], threads: Int, outputBlocks: [Int])] = []
    /// The layout of each layer's output in the latest forward: its dy must come in the same one.
    private var outputBlocks: [Int]
    /// Where forward copies a layer's input into a layout the layer takes (index i: before layer
    /// i, which the plan avoids) and the output into plain (index `layers.count`: a forward that
    /// stops inside the network, e.g. D's features for feature matching); allocated on first use.
    private let layoutCopies: [Tensor]
    /// Where backward copies a dy into the layout the layer gave its output (the caller's dy is
    /// plain, and might come for such an output).
    private let gradientCopy = Tensor(shape: [0])
    /// Whether some layer is a convolution (the only layers that choose blocked layouts).
    private let hasConvolution: Bool
    /// At a batch norm followed by an in-place ReLU or LeakyReLU: that activation, which the batch
    /// norm then applies itself (`BatchNorm.forward(_:training:fusing:)`), one pass over the
    /// batch less in forward and in backward. At a Linear layer followed by one: that activation,
    /// which the layer's product applies as it stores the output where the product runs in
    /// SmallGEMM (`Linear.forward(_:training:fusing:)`), one pass less in forward; the
    /// activation's backward is its own.
    private let fusedAfter: [FusableActivation?]
    /// Whether layer i is a Linear layer with an activation in `fusedAfter`.
    private let fusesIntoLinear: [Bool]
    /// Whether the latest forward fused the activation after layer i into it.
    private var fusedInForward: [Bool]
    /// The network as a `SmallMLP` when it is one (nil elsewhere), and whether the latest forward
    /// ran there (then so does the backward after it).
    let smallMLP: SmallMLP?
    private var forwardRanSmallMLP = false
    /// Whether forward keeps blocked layouts between layers; `SWIFTGAN_BLOCKED_LAYOUTS=0` turns
    /// it off (every layer then sees plain tensors, as before: the same bits, more copies).
    static let keepsBlockedLayouts = ProcessInfo.processInfo.environment["SWIFTGAN_BLOCKED_LAYOUTS"] != "0"
    /// `BlockedLayoutLayer.inputBlock`'s "takes every layout".
    static let anyLayout = -1

    public init(_ layers: [Layer]) {
        self.layers = layers
        let inPlace = layers.indices.map { i in i > 0 && !layers[i - 1].backwardReadsOutput ? layers[i] as? InPlaceActivation : nil }
        self.inPlace = inPlace
        blockedLayers = layers.map { $0 as? BlockedLayoutLayer }
        outputBlocks = [Int](repeating: 0, count: layers.count)
        layoutCopies = (0...layers.count).map { _ in Tensor(shape: [0]) }
        hasConvolution = layers.contains { $0 is ConvolutionLayer }
        let fusedAfter = layers.indices.map { i in
            i + 1 < layers.count && (layers[i] is BatchNorm || layers[i] is Linear) ? inPlace[i + 1] as? FusableActivation : nil
        }
        self.fusedAfter = fusedAfter
        fusesIntoLinear = layers.indices.map { i in fusedAfter[i] != nil && layers[i] is Linear }
        fusedInForward = [Bool](repeating: false, count: layers.count)
        smallMLP = SmallMLP(layers)
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
        precondition(x.blockSize == 0, "Sequential.forward: the input must be plain NCHW")
        if let mlp = smallMLP {
            forwardRanSmallMLP = count >= layers.count && mlp.applies(to: x)
            if forwardRanSmallMLP { return mlp.forward(x) }
        }
        let plan = layoutPlan(for: x)
        var h = x
        let end = min(count, layers.count)
        var adopting = false
        for i in 0..<end {   // as `layers.prefix(count)`
            if adopting {
                // The batch norm before wrote this activation's output.
                (layers[i] as! FusableActivation).adopt(inPlace: h)
                outputBlocks[i] = h.blockSize
                adopting = false
                continue
            }
            fusedInForward[i] = false
            if h.blockSize != 0 {
                // Only where the plan did not foresee it (a layer whose blocking changed): plain.
                let accepted = blockedLayers[i].map { $0.inputBlock(for: h.shape) ?? h.blockSize } ?? 0
                if accepted != h.blockSize && accepted != Sequential.anyLayout {
                    h.copy(toBlockSize: 0, into: layoutCopies[i])
                    h = layoutCopies[i]
                }
            }
            if let a = fusedAfter[i], i + 1 < end {
                if fusesIntoLinear[i] {
                    let linear = unsafeDowncast(layers[i], to: Linear.self)
                    if let y = linear.forward(h, training: training, fusing: a.fused) {
                        h = y
                        adopting = true
                    } else {
                        h = linear.forward(h, training: training)
                    }
                } else {
                    h = (layers[i] as! BatchNorm).forward(h, training: training, fusing: a.fused)
                    fusedInForward[i] = true
                    adopting = true
                }
            } else if let a = inPlace[i] {
                h = a.forward(inPlace: h, training: training)
            } else if let b = blockedLayers[i], let plan {
                h = b.forward(h, training: training, outputBlock: plan[i])
            } else {
                h = layers[i].forward(h, training: training)
            }
            outputBlocks[i] = h.blockSize
        }
        if h.blockSize != 0 {
            h.copy(toBlockSize: 0, into: layoutCopies[layers.count])
            h = layoutCopies[layers.count]
        }
        return h
    }

    /// For each layer, the layout its output should be in for an input batch `x`: that of the
    /// layer that next reads it (through element-wise maps and batch norms, which keep their
    /// input's layout), so that an image batch stays in a oneDNN convolution's blocked layout
    /// until a layer that needs it plain; nil when no layer here uses a blocked layout. Kept for
    /// the latest two input shapes.
    func layoutPlan(for x: Tensor) -> [Int]? {
        guard Sequential.keepsBlockedLayouts, hasConvolution else { return nil }
        let threads = ComputeThreads.count
        if let p = plans.first(where: { $0.shape == x.shape && $0.threads == threads }) { return p.outputBlocks }
        var shapes = [x.shape]
        for l in layers {
            guard let next = l.outputShape(for: Array(shapes.last!.dropFirst())) else { return nil }
            shapes.append([x.shape[0]] + next)
        }
        var want = [Int](repeating: 0, count: layers.count + 1)
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            guard let b = blockedLayers[i] else { continue }
            want[i] = b.inputBlock(for: shapes[i]) ?? want[i + 1]
        }
        let outputs = Array(want.dropFirst())
        plans = [(x.shape, threads, outputs)] + plans.prefix(1)
        return outputs
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
        if forwardRanSmallMLP, let mlp = smallMLP {
            precondition(end == layers.count, "Sequential.backward from layer \(end) after a forward through all \(layers.count)")
            return mlp.backward(dy, mode: mode, into: dy === gradients.0 ? gradients.1 : gradients.0)
        }
        var g: Tensor? = dy
        var i = end - 1
        while i >= 0 {
            // An activation the batch norm before it ran in forward: the batch norm takes its dy.
            let fused = i >= 1 && fusedInForward[i - 1] ? fusedAfter[i - 1] : nil
            let layer = fused == nil ? i : i - 1
            // The first layer needs to compute dx only when the caller asked for it.
            let m: BackwardMode = layer == 0 ? mode : mode.union(.inputGradient)
            // dy in the layout the layer gave its output (the caller's dy is plain).
            if g!.blockSize != outputBlocks[i] {
                g!.copy(toBlockSize: outputBlocks[i], into: gradientCopy)
                g = gradientCopy
            }
            // Into the buffer that is neither dy nor the caller's dy (which may be another network's).
            let into = g === gradients.0 || (g === gradientCopy && dy === gradients.0) ? gradients.1 : gradients.0
            if let fused {
                g = (layers[layer] as! BatchNorm).backward(g!, mode: m, into: into, fusing: fused.fused)
            } else {
                g = layers[i].backward(g!, mode: m, into: into)
            }
            i = layer - 1
        }
        return g
    }
}
