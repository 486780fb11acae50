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
///
/// Memory: as `Conv2d`, only the output and the input gradient belong to the layer; X', `cols`
/// and the batch-innermost images live in the thread's `Workspace` for one call, and backward
/// rebuilds X' from the kept input for dW (one transpose of the input).
public final class ConvTranspose2d: ConvolutionLayer, BlockedLayoutLayer {
    public let inChannels: Int, outChannels: Int
    public let kernel: Int, stride: Int, padding: Int
    public let weight: Parameter, bias: Parameter?
    public var kind: String { "conv_transpose2d" }

    private let output = Tensor(shape: [0])
    private let inputGradient = Tensor(shape: [0])
    private var input: Tensor?                        // x, to rebuild X' for dW
    private var geometry: ConvGeometry?               // of the adjoint convolution (output -> input)
    private var outputSampleShape: [Int] = []
    /// oneDNN's passes when it runs here (`DNNLConvolution.isAvailable`), else the im2col lowering.
    private lazy var dnnl: DNNLConvolution? = DNNLConvolution.isAvailable
        ? DNNLConvolution(transposed: true, inChannels: inChannels, outChannels: outChannels, kernel: kernel,
                          stride: stride, padding: padding, hasBias: bias != nil)
        : nil

    /// Creates the layer with zero weights; initialise with `Initializer.fill` (PyTorch's fans for
    /// this layout: fan-in C_out·k·k, fan-out C_in·k·k) or use the initialising convenience init.
    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true) {
        checkConvolutionSizes("ConvTranspose2d", inChannels, outChannels, kernel: kernel, stride: stride, padding: padding)
        (self.inChannels, self.outChannels, self.kernel, self.stride, self.padding) = (inChannels, outChannels, kernel, stride, padding)
        weight = Parameter("weight", shape: [inChannels, outChannels, kernel, kernel])
        self.bias = bias ? Parameter("bias", shape: [outChannels]) : nil
    }

    /// (H - 1)·s - 2p + k for one spatial size.
    private func outputSize(_ size: Int) -> Int { (size - 1) * stride - 2 * padding + kernel }

    public func outputShape(for inputShape: [Int]) -> [Int]? {
        guard inputShape.count == 3, inputShape[0] == inChannels, inputShape[1] > 0, inputShape[2] > 0,
              outputSize(inputShape[1]) > 0, outputSize(inputShape[2]) > 0 else { return nil }
        return [outChannels, outputSize(inputShape[1]), outputSize(inputShape[2])]
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor { forward(x, training: training, outputBlock: 0) }

    /// For `Sequential` (`BlockedLayoutLayer`): oneDNN's input-side blocked layout for this input.
    func inputBlock(for shape: [Int]) -> Int? { shape.count == 4 && shape[1] == inChannels ? dnnl?.inputBlock(for: shape) ?? 0 : 0 }

    /// The forward pass with the output in oneDNN's output-side blocked layout where `outputBlock`
    /// asks for it (that block, or `Sequential.anyLayout`), else plain.
    func forward(_ x: Tensor, training: Bool, outputBlock: Int) -> Tensor {
        precondition(x.shape.count == 4 && x.shape[1] == inChannels,
                     "ConvTranspose2d(\(inChannels), \(outChannels)): input \(x.shape) must be [N, \(inChannels), H, W]")
        let n = x.shape[0], h = x.shape[2], w = x.shape[3]
        precondition(h > 0 && w > 0 && outputSize(h) > 0 && outputSize(w) > 0,
                     "ConvTranspose2d: input \(h)x\(w) gives an empty output with kernel \(kernel), stride \(stride), padding \(padding)")
        let g = prepare(height: h, width: w)
        let ckk = g.patchSize, m = n * h * w, plane = g.height * g.width
        input = x
        output.resize(batch: n, sampleShape: outputSampleShape)
        if let dnnl, dnnl.isFast(batch: n, height: h, width: w) {
            dnnl.forward(x, weight: weight.value, bias: bias?.value, into: output, requested: outputBlock)
            return output
        }
        precondition(x.blockSize == 0, "\(kind): a blocked input without oneDNN")
        // Workspace: X', then y as [C_out, H, W, N] (X' is dead once cols exist) | cols.
        Workspace.borrow(max(inChannels * m, outChannels * plane * n), ckk * m) { image, cols, _ in
            // X'[C_in, HW·N] from x[N, C_in·HW].
            transpose(x.data, rows: n, columns: inChannels * h * w, into: image)
            // cols[C_out·k·k, HW·N] = Wᵀ · X'
            gemm(transA: true, m: ckk, n: m, k: inChannels, a: weight.value.data, lda: ckk, b: image, ldb: m,
                 c: cols, ldc: m)
            g.col2im(cols, batch: n, bias: bias?.value.data, into: image)   // starts at the bias
            transpose(image, rows: outChannels * plane, columns: n, into: output.data)
        }
        return output
    }

    public func backward(_ dy: Tensor, mode: BackwardMode) -> Tensor? { backward(dy, mode: mode, into: inputGradient) }

    public func backward(_ dy: Tensor, mode: BackwardMode, into gradient: Tensor) -> Tensor? {
        guard let g = geometry, let x = input else { preconditionFailure("ConvTranspose2d.backward called before forward") }
        precondition(dy.count == output.count, "ConvTranspose2d.backward: dy \(dy.shape) does not match output \(output.shape)")
        let n = x.rows, ckk = g.patchSize, hw = g.outHeight * g.outWidth, m = n * hw
        let plane = g.height * g.width
        let wantsInput = mode.contains(.inputGradient)
        if wantsInput { gradient.resize(x.shape) }   // x's own array: no shape array built per step
        if let dnnl, dnnl.isFast(batch: n, height: x.shape[2], width: x.shape[3]) {
            let parameters = mode.contains(.parameterGradients)
            dnnl.backward(x, dy, weight: weight.value, weightGradient: parameters ? weight.gradient : nil,
                          biasGradient: parameters ? bias?.gradient : nil, inputGradient: wantsInput ? gradient : nil)
            return wantsInput ? gradient : nil
        }
        // Workspace: dy as [C_out, H, W, N] | dcols | X', later dX'.
        Workspace.borrow(outChannels * plane * n, ckk * m, inChannels * m) { dyImage, cols, xPrime in
            transpose(dy.data, rows: n, columns: outChannels * plane, into: dyImage)
            g.im2col(dyImage, batch: n, into: cols)
            if mode.contains(.parameterGradients) {
                transpose(x.data, rows: n, columns: inChannels * hw, into: xPrime)
                // dW[C_in, C_out·k·k] += X' · dcolsᵀ
                gemm(transB: true, m: inChannels, n: ckk, k: m, a: xPrime, lda: m, b: cols, ldb: m,
                     beta: 1, c: weight.gradient.data, ldc: ckk)
                // db[c] += Σ over the plane and N: channel c is one contiguous block of dy as [C_out, H, W, N].
                if let b = bias { addRowSums(dyImage, rows: outChannels, columns: plane * n, into: b.gradient.data) }
            }
            guard wantsInput else { return }
            // dX'[C_in, HW·N] = W · dcols, then back to NCHW.
            gemm(m: inChannels, n: m, k: ckk, a: weight.value.data, lda: ckk, b: cols, ldb: m,
                 c: xPrime, ldc: m)
            transpose(xPrime, rows: inChannels * hw, columns: n, into: gradient.data)
        }
        return wantsInput ? gradient : nil
    }

    /// Geometry of the adjoint convolution and cached shapes; rebuilt only when the size changes.
    private func prepare(height h: Int, width w: Int) -> ConvGeometry {
        if let g = geometry, g.outHeight == h, g.outWidth == w { return g }
        let g = ConvGeometry(channels: outChannels, height: outputSize(h), width: outputSize(w),
                             kernel: kernel, stride: stride, padding: padding)
        precondition(g.outHeight == h && g.outWidth == w, "ConvTranspose2d: adjoint geometry mismatch")
        geometry = g
        outputSampleShape = [outChannels, g.height, g.width]
        return g
    }
}
