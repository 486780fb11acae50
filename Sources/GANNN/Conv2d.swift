import CBLAS

/// 2-D convolution with PyTorch's semantics (`nn.Conv2d`, square kernel, same stride and padding
/// on both axes, no dilation or groups): input `[N, C_in, H, W]`, weight `[C_out, C_in, k, k]`,
/// bias `[C_out]`, output `[N, C_out, H_out, W_out]` with H_out = (H + 2p - k) / s + 1.
///
/// Lowered to one GEMM over the whole batch: the im2col matrix `cols [C_in·k·k, H_out·W_out·N]`
/// (see `ConvGeometry`; batch innermost) is multiplied by the weight seen as `[C_out, C_in·k·k]`:
///
///     forward      Y' [C_out, HW·N]      = W · cols + bias     (then Y' -> NCHW)
///     weight grad  dW [C_out, C_in·k·k] += dY' · colsᵀ         (dY' = dy as [C_out, HW·N])
///     input grad   dcols                 = Wᵀ · dY'            (then col2im -> dx)
///
/// Images enter and leave im2col / col2im as `[C, H, W, N]` (one transpose of the image, which
/// is k²/s² times smaller than `cols`), so every im2col run is N contiguous floats.
///
/// Memory: only the output and the input gradient belong to the layer. `cols` and the transposed
/// images live in the thread's `Workspace` for the length of one call; backward keeps a reference
/// to the input (as the layer contract allows) and rebuilds `cols` from it for dW, unless nothing
/// borrowed the workspace since forward (then they are still there): at most one im2col more per
/// backward, for not holding a `[C_in·k·k, HW·N]` matrix per layer between the passes.
public final class Conv2d: ConvolutionLayer, BlockedLayoutLayer {
    public let inChannels: Int, outChannels: Int
    public let kernel: Int, stride: Int, padding: Int
    public let weight: Parameter, bias: Parameter?
    public var kind: String { "conv2d" }

    private let output = Tensor(shape: [0])
    private let inputGradient = Tensor(shape: [0])
    private var input: Tensor?                        // x, to rebuild cols for dW
    // Where forward left cols in the workspace, and the workspace's token after it: when no
    // other call borrowed since (D's last conv layer in the D step), backward finds them there.
    private var columnsLeft: (UnsafeMutablePointer<Float>, Workspace.Token)?
    private var geometry: ConvGeometry?
    private var outputSampleShape: [Int] = []
    /// oneDNN's passes when it runs here (`DNNLConvolution.isAvailable`), else the im2col lowering.
    private lazy var dnnl: DNNLConvolution? = DNNLConvolution.isAvailable
        ? DNNLConvolution(transposed: false, inChannels: inChannels, outChannels: outChannels, kernel: kernel,
                          stride: stride, padding: padding, hasBias: bias != nil)
        : nil

    /// Creates the layer with zero weights; initialise with `Initializer.fill` (fan-in C_in·k·k,
    /// fan-out C_out·k·k) or use `init(_:_:kernel:stride:padding:bias:weightInit:biasInit:rng:)`.
    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true) {
        checkConvolutionSizes("Conv2d", inChannels, outChannels, kernel: kernel, stride: stride, padding: padding)
        (self.inChannels, self.outChannels, self.kernel, self.stride, self.padding) = (inChannels, outChannels, kernel, stride, padding)
        weight = Parameter("weight", shape: [outChannels, inChannels, kernel, kernel])
        self.bias = bias ? Parameter("bias", shape: [outChannels]) : nil
    }

    public func outputShape(for inputShape: [Int]) -> [Int]? {
        guard inputShape.count == 3, inputShape[0] == inChannels,
              inputShape[1] + 2 * padding >= kernel, inputShape[2] + 2 * padding >= kernel else { return nil }
        let g = ConvGeometry(channels: inChannels, height: inputShape[1], width: inputShape[2],
                             kernel: kernel, stride: stride, padding: padding)
        return [outChannels, g.outHeight, g.outWidth]
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor { forward(x, training: training, outputBlock: 0) }

    /// For `Sequential` (`BlockedLayoutLayer`): oneDNN's input-side blocked layout for this input.
    func inputBlock(for shape: [Int]) -> Int? { shape.count == 4 && shape[1] == inChannels ? dnnl?.inputBlock(for: shape) ?? 0 : 0 }

    /// The forward pass with the output in oneDNN's output-side blocked layout where `outputBlock`
    /// asks for it (that block, or `Sequential.anyLayout`), else plain.
    func forward(_ x: Tensor, training: Bool, outputBlock: Int) -> Tensor {
        precondition(x.shape.count == 4 && x.shape[1] == inChannels,
                     "Conv2d(\(inChannels), \(outChannels)): input \(x.shape) must be [N, \(inChannels), H, W]")
        let n = x.shape[0], h = x.shape[2], w = x.shape[3]
        precondition(h + 2 * padding >= kernel && w + 2 * padding >= kernel,
                     "Conv2d: input \(h)x\(w) with padding \(padding) is smaller than the kernel \(kernel)")
        let g = prepare(height: h, width: w)
        let ckk = g.patchSize, hw = g.outHeight * g.outWidth, m = n * hw
        input = x
        output.resize(batch: n, sampleShape: outputSampleShape)
        if let dnnl, dnnl.isFast(batch: n, height: h, width: w) {
            dnnl.forward(x, weight: weight.value, bias: bias?.value, into: output, requested: outputBlock)
            return output
        }
        precondition(x.blockSize == 0, "\(kind): a blocked input without oneDNN")
        // Workspace: x as [C, H, W, N], then Y' (x is dead once cols exist) | cols.
        let left = Workspace.borrow(max(x.count, outChannels * m), ckk * m) { image, cols, _ in
            transpose(x.data, rows: n, columns: x.columns, into: image)
            g.im2col(image, batch: n, into: cols)
            // Y'[C_out, HW·N] = W[C_out, C_in·k·k] · cols[C_in·k·k, HW·N]
            // (+ bias: Y' starts as the bias broadcast along its rows and the GEMM adds with beta = 1,
            // which also spares OpenBLAS's zeroing pass over C.)
            let yPrime = image
            if let b = bias { fillRows(yPrime, rows: outChannels, columns: m, with: b.value.data) }
            gemm(m: outChannels, n: m, k: ckk, a: weight.value.data, lda: ckk, b: cols, ldb: m,
                 beta: bias == nil ? 0 : 1, c: yPrime, ldc: m)
            // Y' is [C_out·HW, N]: its transpose is the NCHW output.
            transpose(yPrime, rows: outChannels * hw, columns: n, into: output.data)
            return cols
        }
        columnsLeft = (left, Workspace.token)
        return output
    }

    public func backward(_ dy: Tensor, mode: BackwardMode) -> Tensor? { backward(dy, mode: mode, into: inputGradient) }

    public func backward(_ dy: Tensor, mode: BackwardMode, into gradient: Tensor) -> Tensor? {
        guard let g = geometry, let x = input else { preconditionFailure("Conv2d.backward called before forward") }
        precondition(dy.count == output.count, "Conv2d.backward: dy \(dy.shape) does not match output \(output.shape)")
        let n = x.rows, ckk = g.patchSize, hw = g.outHeight * g.outWidth, m = n * hw
        let wantsInput = mode.contains(.inputGradient)
        if wantsInput { gradient.resize(x.shape) }   // x's own array: no shape array built per step
        if let dnnl, dnnl.isFast(batch: n, height: x.shape[2], width: x.shape[3]) {
            let parameters = mode.contains(.parameterGradients)
            dnnl.backward(x, dy, weight: weight.value, weightGradient: parameters ? weight.gradient : nil,
                          biasGradient: parameters ? bias?.gradient : nil, inputGradient: wantsInput ? gradient : nil)
            return wantsInput ? gradient : nil
        }
        let untouched = columnsLeft?.1 == Workspace.token
        defer { columnsLeft = nil }   // dcols overwrite them
        // Workspace, laid out as in forward: x as [C, H, W, N], later dx so | cols, later dcols | dY'.
        Workspace.borrow(max(x.count, outChannels * m), ckk * m, outChannels * m) { image, cols, dyPrime in
            // dY'[C_out, HW·N] from dy[N, C_out·HW].
            transpose(dy.data, rows: n, columns: outChannels * hw, into: dyPrime)
            if mode.contains(.parameterGradients) {
                if !(untouched && columnsLeft?.0 == cols) {
                    transpose(x.data, rows: n, columns: x.columns, into: image)
                    g.im2col(image, batch: n, into: cols)
                }
                // dW[C_out, C_in·k·k] += dY' · colsᵀ
                gemm(transB: true, m: outChannels, n: ckk, k: m, a: dyPrime, lda: m, b: cols, ldb: m,
                     beta: 1, c: weight.gradient.data, ldc: ckk)
                if let b = bias { addRowSums(dyPrime, rows: outChannels, columns: m, into: b.gradient.data) }
            }
            guard wantsInput else { return }
            // dcols[C_in·k·k, HW·N] = Wᵀ · dY', then scattered back onto the [C, H, W, N] image.
            gemm(transA: true, m: ckk, n: m, k: outChannels, a: weight.value.data, lda: ckk, b: dyPrime, ldb: m,
                 c: cols, ldc: m)
            g.col2im(cols, batch: n, into: image)
            transpose(image, rows: x.columns, columns: n, into: gradient.data)
        }
        return wantsInput ? gradient : nil
    }

    /// Geometry and cached shapes for this input size; arrays are rebuilt only when it changes.
    private func prepare(height h: Int, width w: Int) -> ConvGeometry {
        if let g = geometry, g.height == h, g.width == w { return g }
        let g = ConvGeometry(channels: inChannels, height: h, width: w, kernel: kernel, stride: stride, padding: padding)
        geometry = g
        outputSampleShape = [outChannels, g.outHeight, g.outWidth]
        return g
    }
}

/// The convolution window over one image size, and the im2col / col2im lowering shared by
/// `Conv2d` (im2col forward, col2im backward) and `ConvTranspose2d` (the reverse).
///
/// Layouts, batch innermost: images `x [C, H, W, N]`, columns
/// `cols[(c·k + ki)·k + kj, (oh·W_out + ow)·N + n] = x[c, oh·s - p + ki, ow·s - p + kj, n]`, 0 where
/// the index falls into the padding: one row per kernel tap, one column per output pixel of the
/// whole batch. Every run copied or added is the N samples of one pixel: contiguous, vectorised.
struct ConvGeometry: Equatable {
    let channels: Int, height: Int, width: Int
    let kernel: Int, stride: Int, padding: Int
    let outHeight: Int, outWidth: Int

    init(channels: Int, height: Int, width: Int, kernel: Int, stride: Int, padding: Int) {
        precondition(height + 2 * padding >= kernel && width + 2 * padding >= kernel && stride > 0)
        (self.channels, self.height, self.width) = (channels, height, width)
        (self.kernel, self.stride, self.padding) = (kernel, stride, padding)
        outHeight = (height + 2 * padding - kernel) / stride + 1
        outWidth = (width + 2 * padding - kernel) / stride + 1
    }

    /// Rows of the column matrix: C·k·k.
    var patchSize: Int { channels * kernel * kernel }

    /// Output positions `lo..<hi` whose input index `o·s - p + tap` lies in `0..<size`.
    @inline(__always)
    private func validRange(tap: Int, size: Int, outSize: Int) -> (Int, Int) {
        // o >= ceil((p - tap) / s) and o <= floor((size - 1 + p - tap) / s)
        let lo = min(max(0, floorDivide(padding - tap + stride - 1, stride)), outSize)
        let hi = min(outSize, floorDivide(size - 1 + padding - tap, stride) + 1)
        return (lo, max(lo, hi))
    }

    /// `x [C, H, W, N]` -> `cols [C·k·k, H_out·W_out·N]` (every element written). The rows of
    /// `cols` are split over `ComputeThreads` (pure copies: the same bits at any thread count).
    func im2col(_ x: UnsafePointer<Float>, batch n: Int, into cols: UnsafeMutablePointer<Float>) {
        let rowLength = outHeight * outWidth * n
        ComputeThreads.parallelFor(patchSize, grain: rowLength) { rows in
            for r in rows { im2colRow(x, batch: n, row: r, into: cols + r * rowLength) }
        }
    }

    /// Row `(c·k + ki)·k + kj` of `im2col`.
    @inline(__always)
    private func im2colRow(_ x: UnsafePointer<Float>, batch n: Int, row r: Int, into row: UnsafeMutablePointer<Float>) {
        let k = kernel, s = stride, p = padding, ow = outWidth
        let c = r / (k * k), ki = (r / k) % k, kj = r % k
        let (ohLo, ohHi) = validRange(tap: ki, size: height, outSize: outHeight)
        let (owLo, owHi) = validRange(tap: kj, size: width, outSize: outWidth)
        if ohLo > 0 { row.update(repeating: 0, count: ohLo * ow * n) }
        for oh in ohLo..<ohHi {
            let d = row + oh * ow * n
            // Output pixel (oh, o) reads pixel (oh·s - p + ki, o·s - p + kj).
            let src = x + ((c * height + oh * s - p + ki) * width - p + kj) * n
            if owLo > 0 { d.update(repeating: 0, count: owLo * n) }
            if s == 1 {
                (d + owLo * n).update(from: src + owLo * n, count: (owHi - owLo) * n)
            } else {
                for o in owLo..<owHi { (d + o * n).update(from: src + o * s * n, count: n) }
            }
            if owHi < ow { (d + owHi * n).update(repeating: 0, count: (ow - owHi) * n) }
        }
        if ohHi < outHeight { (row + ohHi * ow * n).update(repeating: 0, count: (outHeight - ohHi) * ow * n) }
    }

    /// The adjoint of `im2col`: `x [C, H, W, N]` = Σ of every column entry onto the pixel it was
    /// read from, plus `bias[c]` on channel c when given (`x` is overwritten).
    ///
    /// Every pixel starts at the bias (or 0) and receives its taps in (ki, kj) order, whichever
    /// way the work is split over `ComputeThreads`, so the bits do not depend on the thread count:
    /// by channels when there are enough (scattering each channel's column rows in order, which
    /// streams through `cols`), else by image rows `(c, y)`, each gathering its taps.
    func col2im(_ cols: UnsafePointer<Float>, batch n: Int, bias: UnsafePointer<Float>? = nil,
                into x: UnsafeMutablePointer<Float>) {
        let k = kernel, s = stride, p = padding, ow = outWidth, rowLength = outHeight * outWidth * n
        let plane = height * width * n, runLength = width * n, taps = max(1, (k * k) / (s * s))
        let byChannels = ComputeThreads.chunkCount(channels, grain: k * k * rowLength)
        let byRows = ComputeThreads.chunkCount(channels * height, grain: runLength * taps)
        if byChannels >= byRows && (byChannels == 1 || channels >= 4 * byChannels) {
            ComputeThreads.parallelFor(channels, grain: k * k * rowLength) { cs in
                for c in cs {
                    let xc = x + c * plane
                    xc.update(repeating: bias?[c] ?? 0, count: plane)
                    for ki in 0..<k {
                        let (ohLo, ohHi) = validRange(tap: ki, size: height, outSize: outHeight)
                        for kj in 0..<k {
                            let (owLo, owHi) = validRange(tap: kj, size: width, outSize: outWidth)
                            let row = cols + ((c * k + ki) * k + kj) * rowLength
                            for oh in ohLo..<ohHi {
                                let r = row + oh * ow * n
                                let d = xc + ((oh * s - p + ki) * width - p + kj) * n
                                if s == 1 {
                                    addRun(r + owLo * n, into: d + owLo * n, count: (owHi - owLo) * n)
                                } else {
                                    for o in owLo..<owHi { addRun(r + o * n, into: d + o * s * n, count: n) }
                                }
                            }
                        }
                    }
                }
            }
            return
        }
        ComputeThreads.parallelFor(channels * height, grain: runLength * taps) { imageRows in
            for cy in imageRows {
                let c = cy / height, y = cy % height
                let d = x + cy * runLength
                d.update(repeating: bias?[c] ?? 0, count: runLength)
                for ki in 0..<k {
                    // Output row oh of tap ki reads image row oh·s - p + ki, which must be y.
                    let t = y + p - ki
                    guard t >= 0, t % s == 0, t / s < outHeight else { continue }
                    let oh = t / s
                    for kj in 0..<k {
                        let (owLo, owHi) = validRange(tap: kj, size: width, outSize: outWidth)
                        let r = cols + ((c * k + ki) * k + kj) * rowLength + oh * ow * n
                        // Output column o of tap kj reads image column o·s - p + kj.
                        let dd = d + (kj - p) * n
                        if s == 1 {
                            addRun(r + owLo * n, into: dd + owLo * n, count: (owHi - owLo) * n)
                        } else {
                            for o in owLo..<owHi { addRun(r + o * n, into: dd + o * s * n, count: n) }
                        }
                    }
                }
            }
        }
    }
}

/// `d[i] += r[i]` for i in 0..<count, eight lanes at a time.
@inline(__always)
func addRun(_ r: UnsafePointer<Float>, into d: UnsafeMutablePointer<Float>, count: Int) {
    let rr = UnsafeRawPointer(r), dr = UnsafeMutableRawPointer(d)
    var i = 0
    while i + 8 <= count {
        let v = dr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) + rr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        dr.storeBytes(of: v, toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count { d[i] += r[i]; i += 1 }
}

/// `dst [columns, rows]` = transpose of `src [rows, columns]` (row-major), through OpenBLAS's
/// `somatcopy` (~0.2 ns per element; a plain tiled Swift loop measured ~10x slower), split over
/// `ComputeThreads` in blocks of destination rows (a pure copy: the same bits at any thread count).
func transpose(_ src: UnsafePointer<Float>, rows: Int, columns: Int, into dst: UnsafeMutablePointer<Float>) {
    if rows == 0 || columns == 0 { return }
    ComputeThreads.parallelFor(columns, grain: rows) { cs in
        // Source columns cs become destination rows cs.
        cblas_somatcopy(CblasRowMajor, CblasTrans, Int32(rows), Int32(cs.count), 1, src + cs.lowerBound, Int32(columns),
                        dst + cs.lowerBound * rows, Int32(rows))
    }
}

/// Fills row r of `y [rows, columns]` with `values[r]` (a bias, before a GEMM with beta = 1 in
/// place of the zeroing that beta = 0 costs), split over `ComputeThreads`.
func fillRows(_ y: UnsafeMutablePointer<Float>, rows: Int, columns: Int, with values: UnsafePointer<Float>) {
    ComputeThreads.parallelFor(rows, grain: columns) { rs in
        for r in rs { (y + r * columns).update(repeating: values[r], count: columns) }
    }
}

/// ⌊a / b⌋ for b > 0 (Swift's `/` truncates toward zero).
@inline(__always)
func floorDivide(_ a: Int, _ b: Int) -> Int {
    a >= 0 ? a / b : -((-a + b - 1) / b)
}

/// `sums[r] += Σ_j x[r, j]` for a row-major `[rows, columns]` matrix: eight Float lanes over
/// blocks of 1024 columns, each block's total added in Double.
/// Rows are split over `ComputeThreads` (each row's sum is the same at any thread count).
func addRowSums(_ x: UnsafePointer<Float>, rows: Int, columns: Int, into sums: UnsafeMutablePointer<Float>) {
    ComputeThreads.parallelFor(rows, grain: columns) { rs in addRowSums(x, rows: rs, columns: columns, into: sums) }
}

private func addRowSums(_ x: UnsafePointer<Float>, rows: Range<Int>, columns: Int, into sums: UnsafeMutablePointer<Float>) {
    for r in rows {
        let row = UnsafeRawPointer(x + r * columns)
        var total = 0.0, j = 0
        while j < columns {
            let end = min(j + 1024, columns)
            var lanes = SIMD8<Float>()
            while j + 8 <= end {
                lanes += row.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
                j += 8
            }
            var s = lanes.sum()
            while j < end { s += row.load(fromByteOffset: j * 4, as: Float.self); j += 1 }
            total += Double(s)
        }
        sums[r] += Float(total)
    }
}

/// A 2-D (transposed) convolution: created from its sizes, and with the initialising init below.
public protocol ConvolutionLayer: WeightedLayer {
    init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int, padding: Int, bias: Bool)
}

extension ConvolutionLayer {
    /// Creates and initialises the layer (PyTorch's default initialisation unless given; the fans
    /// of the weight's layout).
    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                bias: Bool = true, weightInit: Initializer = .pytorchDefault, biasInit: Initializer? = nil,
                rng: inout RNG) {
        self.init(inChannels, outChannels, kernel: kernel, stride: stride, padding: padding, bias: bias)
        initialize(weightInit: weightInit, biasInit: biasInit, rng: &rng)
    }
}

/// The argument checks of a convolution's sizes (`layer` names it in the message).
func checkConvolutionSizes(_ layer: String, _ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int, padding: Int) {
    precondition(inChannels > 0 && outChannels > 0 && kernel > 0 && stride > 0 && padding >= 0,
                 "\(layer)(\(inChannels), \(outChannels), kernel \(kernel), stride \(stride), padding \(padding)): sizes must be positive, padding >= 0")
}
