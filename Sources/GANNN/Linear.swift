/// Fully connected layer `y = x Wᵀ + b` with `W: [out, in]` (PyTorch's layout) and `b: [out]`.
/// Input `[N, in]` (any trailing shape whose product is `in` is flattened), output `[N, out]`.
public final class Linear: WeightedLayer {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: Parameter
    public let bias: Parameter?
    public var kind: String { "linear" }

    private let output = Tensor(shape: [0])
    private let inputGradient = Tensor(shape: [0])
    private var input: Tensor?

    /// Creates the layer with zero weights; initialise with `Initializer.apply(to:rng:)` or
    /// `init(_:_:bias:weightInit:biasInit:rng:)`.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        precondition(inFeatures > 0 && outFeatures > 0, "Linear(\(inFeatures), \(outFeatures)): sizes must be positive")
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = Parameter("weight", shape: [outFeatures, inFeatures])
        self.bias = bias ? Parameter("bias", shape: [outFeatures]) : nil
    }

    /// Creates and initialises the layer (PyTorch's default initialisation unless given).
    public convenience init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true,
                            weightInit: Initializer = .pytorchDefault, biasInit: Initializer? = nil,
                            rng: inout RNG) {
        self.init(inFeatures, outFeatures, bias: bias)
        initialize(weightInit: weightInit, biasInit: biasInit, rng: &rng)   // fans (in, out) of [out, in]
    }

    public func outputShape(for inputShape: [Int]) -> [Int]? {
        inputShape.reduce(1, *) == inFeatures ? [outFeatures] : nil
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor { forward(x, epilogue: .none) }

    /// The forward pass with the activation after this layer applied as the product stores its
    /// output (the same bits as the activation's own pass), when the product runs in `SmallGEMM`'s
    /// AVX-512 panels and the layer has a bias; nil otherwise (call `forward(_:training:)` and the
    /// activation: its own SIMD pass beats a pass after the Swift panels).
    /// `Sequential` uses it for a Linear layer followed by an in-place ReLU or LeakyReLU, which
    /// then adopts the output.
    func forward(_ x: Tensor, training: Bool, fusing activation: FusedActivation) -> Tensor? {
        guard bias != nil, SmallGEMM.usesAVX512, SmallGEMM.applies(transB: true, m: x.rows, n: outFeatures, k: inFeatures)
        else { return nil }
        return forward(x, epilogue: activation.epilogue)
    }

    private func forward(_ x: Tensor, epilogue: SmallGEMMEpilogue) -> Tensor {
        let n = x.rows
        precondition(x.columns == inFeatures || n == 0,
                     "Linear(\(inFeatures), \(outFeatures)): input \(x.shape) has \(x.columns) features per sample")
        // x is the same tensor call after call (the previous layer's output): assigning only when
        // it changes saves a retain and a release per call (toy_1d makes ~500 such calls a G step).
        if input !== x { input = x }
        output.resize(rows: n, columns: outFeatures)
        // y[N, out] = x[N, in] · Wᵀ (+ b in every row). Every pointer is read before the product.
        let a = x.data, w = weight.value.data, y = output.data
        if let b = bias?.value.data {
            gemm(transB: true, m: n, n: outFeatures, k: inFeatures,
                 a: a, lda: inFeatures, b: w, ldb: inFeatures,
                 addingRow: b, c: y, ldc: outFeatures, epilogue: epilogue)
        } else {
            gemm(transB: true, m: n, n: outFeatures, k: inFeatures,
                 a: a, lda: inFeatures, b: w, ldb: inFeatures,
                 c: y, ldc: outFeatures)
        }
        return output
    }

    public func backward(_ dy: Tensor, mode: BackwardMode) -> Tensor? { backward(dy, mode: mode, into: inputGradient) }

    public func backward(_ dy: Tensor, mode: BackwardMode, into gradient: Tensor) -> Tensor? {
        guard input != nil else { preconditionFailure("Linear.backward called before forward") }
        // `input` holds x until the next forward, which cannot run during this call: used unretained.
        unowned(unsafe) let x = input!
        let n = x.rows
        precondition(dy.count == n * outFeatures, "Linear.backward: dy \(dy.shape) does not match output [\(n), \(outFeatures)]")
        // Every pointer is read before the products (no tensor is kept across a call).
        let g = dy.data, xData = x.data, w = weight.value.data
        if mode.contains(.parameterGradients) {
            // dW[out, in] += dyᵀ[out, N] · x[N, in]; db[out] += Σ_N dy (from the same pass over dy)
            let dW = weight.gradient.data
            if let db = bias?.gradient.data {
                gemm(m: outFeatures, n: inFeatures, k: n, transposedA: g, b: xData, ldb: inFeatures,
                     beta: 1, c: dW, ldc: inFeatures, addingColumnSumsOfATo: db)
            } else {
                gemm(transA: true, m: outFeatures, n: inFeatures, k: n,
                     a: g, lda: outFeatures, b: xData, ldb: inFeatures,
                     beta: 1, c: dW, ldc: inFeatures)
            }
        }
        guard mode.contains(.inputGradient) else { return nil }
        // dx[N, in] = dy[N, out] · W[out, in], shaped as x (x's own shape array: `gradient` is one of a
        // network's shared pair, which cycles through more shapes than resize(rows:columns:) keeps)
        gradient.resize(x.shape)
        gemm(m: n, n: inFeatures, k: outFeatures,
             a: g, lda: outFeatures, b: w, ldb: inFeatures,
             c: gradient.data, ldc: inFeatures)
        return gradient
    }
}
