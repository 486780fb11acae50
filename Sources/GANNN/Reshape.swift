/// Gives each sample a new shape with the same number of elements, in row-major order (PyTorch's
/// `x.view(N, *sampleShape)`): e.g. `[N, 6272]` -> `[N, 128, 7, 7]`, or `[N, 128, 7, 7]` ->
/// `[N, 6272]` as `nn.Flatten()`.
///
/// The output is a copy in a layer-owned tensor: `Tensor` owns its storage (no views), and the
/// contract needs an output that stays valid until this layer's next forward even if the caller
/// reuses its input. The copy is a memcpy (split over `ComputeThreads`), small next to the layers around it.
public final class Reshape: RowIndependentLayer {
    public let sampleShape: [Int]
    public var kind: String { "reshape" }
    public var backwardReadsOutput: Bool { false }

    private let sampleCount: Int
    private let output = Tensor(shape: [0])
    private let inputGradient = Tensor(shape: [0])
    private var inputShape: [Int] = []

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

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let n = x.rows
        precondition(x.shape.count >= 1 && x.count == n * sampleCount,
                     "Reshape(\(sampleShape)): input \(x.shape) does not have \(sampleCount) elements per sample")
        inputShape = x.shape
        output.resize(batch: n, sampleShape: sampleShape)
        parallelCopy(x.data, into: output.data, count: x.count)
        return output
    }

    public func backward(_ dy: Tensor, mode: BackwardMode) -> Tensor? { backward(dy, mode: mode, into: inputGradient) }

    public func backward(_ dy: Tensor, mode: BackwardMode, into gradient: Tensor) -> Tensor? {
        precondition(!inputShape.isEmpty, "Reshape.backward called before forward")
        precondition(dy.count == output.count, "Reshape.backward: dy \(dy.shape) does not match output \(output.shape)")
        guard mode.contains(.inputGradient) else { return nil }
        gradient.resize(inputShape)
        parallelCopy(dy.data, into: gradient.data, count: dy.count)
        return gradient
    }
}

/// `dst[0..<count] = src[0..<count]`, split over `ComputeThreads`.
func parallelCopy(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count: Int) {
    ComputeThreads.parallelFor(count) { r in (dst + r.lowerBound).update(from: src + r.lowerBound, count: r.count) }
}
