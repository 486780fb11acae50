/// Gives each sample a new shape with the same number of elements, in row-major order (PyTorch's
/// `x.view(N, *sampleShape)`): e.g. `[N, 6272]` -> `[N, 128, 7, 7]`, or `[N, 128, 7, 7]` ->
/// `[N, 6272]` as `nn.Flatten()`.
///
/// The output is a copy in a layer-owned tensor: `Tensor` owns its storage (no views), and the
/// contract needs an output that stays valid until this layer's next forward even if the caller
/// reuses its input. The copy is a memcpy (split over `ComputeThreads`), small next to the layers around it.
public final class Reshape: RowIndependentLayer, BlockedLayoutLayer {
    public let sampleShape: [Int]
    public var kind: String { "reshape" }
    public var backwardReadsOutput: Bool { false }

    private let sampleCount: Int
    private let output = Tensor(shape: [0])
    private let inputGradient = Tensor(shape: [0])
    private var inputShape: [Int] = []
    private var inputBlock = 0                   // the layout x came in (dx goes out in it)

    public init(sampleShape: [Int]) {
        precondition(!sampleShape.isEmpty && sampleShape.allSatisfy { $0 > 0 },
                     "Reshape(sampleShape: \(sampleShape)): dimensions must be positive")
        self.sampleShape = sampleShape
        sampleCount = sampleShape.reduce(1, *)
    }

    /// `Reshape(sampleShape:)` without the label: `Reshape([128, 7, 7])`.
    public convenience init(_ sampleShape: [Int]) { self.init(sampleShape: sampleShape) }

    public func outputShape(for inputShape: [Int]) -> [Int]? {
        inputShape.reduce(1, *) == sampleCount ? sampleShape : nil
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor { forward(x, training: training, outputBlock: 0) }

    /// For `Sequential`: a reshape copies, and copies into or out of a blocked layout at about the
    /// same cost, so it takes any input layout and gives its output plain or, when it is an image
    /// batch the next convolution reads in a blocked layout, in that one (G's Linear -> image).
    func inputBlock(for shape: [Int]) -> Int? { Sequential.anyLayout }

    func forward(_ x: Tensor, training: Bool, outputBlock: Int) -> Tensor {
        let n = x.rows
        precondition(x.shape.count >= 1 && x.count == n * sampleCount,
                     "Reshape(\(sampleShape)): input \(x.shape) does not have \(sampleCount) elements per sample")
        inputShape = x.shape
        inputBlock = x.blockSize
        output.resize(batch: n, sampleShape: sampleShape)
        // Out of x's blocked layout, or into the one asked for (plain from plain: a copy).
        let to = x.blockSize == 0 && outputBlock > 0 && sampleShape.count == 3 && sampleShape[0] % outputBlock == 0 ? outputBlock : 0
        Tensor.copyLayout(x.data, into: output.data, shape: x.blockSize != 0 ? x.shape : output.shape, from: x.blockSize, to: to)
        output.blockSize = to
        return output
    }

    public func backward(_ dy: Tensor, mode: BackwardMode) -> Tensor? { backward(dy, mode: mode, into: inputGradient) }

    public func backward(_ dy: Tensor, mode: BackwardMode, into gradient: Tensor) -> Tensor? {
        precondition(!inputShape.isEmpty, "Reshape.backward called before forward")
        precondition(dy.count == output.count, "Reshape.backward: dy \(dy.shape) does not match output \(output.shape)")
        guard mode.contains(.inputGradient) else { return nil }
        precondition(dy.blockSize == output.blockSize, "Reshape.backward: dy in layout \(dy.blockSize), the output in \(output.blockSize)")
        gradient.resize(inputShape)
        // Back into the layout x came in (forward gave a blocked output only from a plain x).
        Tensor.copyLayout(dy.data, into: gradient.data, shape: dy.blockSize != 0 ? output.shape : inputShape, from: dy.blockSize, to: inputBlock)
        gradient.blockSize = inputBlock
        return gradient
    }
}
