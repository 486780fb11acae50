/// 2-D transposed convolution with PyTorch's semantics (`nn.ConvTranspose2d`, square kernel, no
/// output padding, dilation or groups): input `[N, C_in, H, W]`, weight `[C_in, C_out, k, k]`
/// (PyTorch's layout), bias `[C_out]`, output `[N, C_out, H_out, W_out]` with
/// H_out = (H - 1)·s - 2p + k.
///
/// The adjoint of `Conv2d(C_out, C_in, k, s, p)` with the same weight array: that convolution
/// maps the output size back to the input size, and this layer runs its passes in reverse. With
/// `X' [C_in, H·W·N]` the input with the batch innermost (as `ConvGeometry` lays columns out) and
/// the weight seen as `[C_in, C_out·k·k]`:
///
///     forward      cols [C_out·k·k, HW·N] = Wᵀ · X'           (then bias + col2im -> y)
///     weight grad  dW [C_in, C_out·k·k]  += X' · dcolsᵀ       (dcols = im2col(dy))
///     input grad   dX' [C_in, HW·N]       = W · dcols          (then -> NCHW)
public final class ConvTranspose2d: RowIndependentLayer {
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Int
    public let stride: Int
    public let padding: Int
    public let weight: Parameter
    public let bias: Parameter?
    public var kind: String { "conv_transpose2d" }
    public var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }

    private let output = Tensor(shape: [0])
    private let inputGradient = Tensor(shape: [0])
    private let input = Tensor(shape: [0])            // X', kept for dW
    private let columns = Tensor(shape: [0])          // cols in forward, dcols in backward
    private let batchInnermost = Tensor(shape: [0])   // y as [C_out, H, W, N] in forward, dy so then dX' in backward
    private var geometry: ConvGeometry?               // of the adjoint convolution (output -> input)
    private var batch = 0
    private var inputSampleShape: [Int] = []
    private var outputSampleShape: [Int] = []

    /// Creates the layer with zero weights; initialise with `Initializer.fill` (PyTorch's fans for
    /// this layout: fan-in C_out·k·k, fan-out C_in·k·k) or use the initialising convenience init.
    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true) {
        precondition(inChannels > 0 && outChannels > 0 && kernel > 0 && stride > 0 && padding >= 0,
                     "ConvTranspose2d(\(inChannels), \(outChannels), kernel \(kernel), stride \(stride), padding \(padding)): sizes must be positive, padding >= 0")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        weight = Parameter("weight", shape: [inChannels, outChannels, kernel, kernel])
        self.bias = bias ? Parameter("bias", shape: [outChannels]) : nil
    }

    /// Creates and initialises the layer (PyTorch's default initialisation unless given).
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                            bias: Bool = true, weightInit: Initializer = .pytorchDefault, biasInit: Initializer? = nil,
                            rng: inout RNG) {
        self.init(inChannels, outChannels, kernel: kernel, stride: stride, padding: padding, bias: bias)
        Initializer.initialize(weight: weight, bias: self.bias, weightInit: weightInit, biasInit: biasInit, rng: &rng)
    }

    /// (H - 1)·s - 2p + k for one spatial size.
    private func outputSize(_ size: Int) -> Int { (size - 1) * stride - 2 * padding + kernel }

    public func outputShape(for inputShape: [Int]) -> [Int]? {
        guard inputShape.count == 3, inputShape[0] == inChannels, inputShape[1] > 0, inputShape[2] > 0,
              outputSize(inputShape[1]) > 0, outputSize(inputShape[2]) > 0 else { return nil }
        return [outChannels, outputSize(inputShape[1]), outputSize(inputShape[2])]
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.shape.count == 4 && x.shape[1] == inChannels,
                     "ConvTranspose2d(\(inChannels), \(outChannels)): input \(x.shape) must be [N, \(inChannels), H, W]")
        let n = x.shape[0], h = x.shape[2], w = x.shape[3]
        precondition(h > 0 && w > 0 && outputSize(h) > 0 && outputSize(w) > 0,
                     "ConvTranspose2d: input \(h)x\(w) gives an empty output with kernel \(kernel), stride \(stride), padding \(padding)")
        let g = prepare(batch: n, height: h, width: w)
        let ckk = g.patchSize, m = n * h * w
        // X'[C_in, HW·N] from x[N, C_in·HW].
        input.resize(rows: inChannels, columns: m)
        transpose(x.data, rows: n, columns: inChannels * h * w, into: input.data)
        // cols[C_out·k·k, HW·N] = Wᵀ · X'
        columns.resize(rows: ckk, columns: m)
        gemm(transA: true, m: ckk, n: m, k: inChannels, a: weight.value.data, lda: ckk, b: input.data, ldb: m,
             c: columns.data, ldc: m)
        let plane = g.height * g.width
        let yImage = scratch(batchInnermost, count: outChannels * plane * n)
        g.col2im(columns.data, batch: n, bias: bias?.value.data, into: yImage)   // starts at the bias
        output.resize(batch: n, sampleShape: outputSampleShape)
        transpose(yImage, rows: outChannels * plane, columns: n, into: output.data)
        return output
    }

    public func backward(_ dy: Tensor, mode: BackwardMode) -> Tensor? {
        guard let g = geometry else { preconditionFailure("ConvTranspose2d.backward called before forward") }
        precondition(dy.count == output.count, "ConvTranspose2d.backward: dy \(dy.shape) does not match output \(output.shape)")
        let n = batch, ckk = g.patchSize, hw = g.outHeight * g.outWidth, m = n * hw
        let plane = g.height * g.width
        let dyImage = scratch(batchInnermost, count: outChannels * plane * n)
        transpose(dy.data, rows: n, columns: outChannels * plane, into: dyImage)
        columns.resize(rows: ckk, columns: m)
        g.im2col(dyImage, batch: n, into: columns.data)
        if mode.contains(.parameterGradients) {
            // dW[C_in, C_out·k·k] += X' · dcolsᵀ
            gemm(transB: true, m: inChannels, n: ckk, k: m, a: input.data, lda: m, b: columns.data, ldb: m,
                 beta: 1, c: weight.gradient.data, ldc: ckk)
            // db[c] += Σ over the plane and N: channel c is one contiguous block of dy as [C_out, H, W, N].
            if let b = bias { addRowSums(dyImage, rows: outChannels, columns: plane * n, into: b.gradient.data) }
        }
        guard mode.contains(.inputGradient) else { return nil }
        // dX'[C_in, HW·N] = W · dcols, then back to NCHW.
        let dxPrime = scratch(batchInnermost, count: inChannels * m)   // dy as [C_out, H, W, N] is no longer needed
        gemm(m: inChannels, n: m, k: ckk, a: weight.value.data, lda: ckk, b: columns.data, ldb: m,
             c: dxPrime, ldc: m)
        inputGradient.resize(batch: n, sampleShape: inputSampleShape)
        transpose(dxPrime, rows: inChannels * hw, columns: n, into: inputGradient.data)
        return inputGradient
    }

    /// Geometry of the adjoint convolution and cached shapes; rebuilt only when the size changes.
    private func prepare(batch n: Int, height h: Int, width w: Int) -> ConvGeometry {
        batch = n
        if let g = geometry, g.outHeight == h, g.outWidth == w { return g }
        let g = ConvGeometry(channels: outChannels, height: outputSize(h), width: outputSize(w),
                             kernel: kernel, stride: stride, padding: padding)
        precondition(g.outHeight == h && g.outWidth == w, "ConvTranspose2d: adjoint geometry mismatch")
        geometry = g
        inputSampleShape = [inChannels, h, w]
        outputSampleShape = [outChannels, g.height, g.width]
        return g
    }
}
