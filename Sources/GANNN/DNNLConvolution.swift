import CDNNL
import Foundation
import GANTensor

/// A convolution layer's passes on oneDNN (Debian's libdnnl, the CPU primitive library under
/// PyTorch and TensorFlow, which picks AVX2 or AVX-512 kernels at run time), for `Conv2d` and
/// `ConvTranspose2d` (`transposed`). Weights stay in the layers' PyTorch layouts and images are
/// NCHW or, where `Sequential` keeps them so between convolutions (`Tensor.blockSize`), in the
/// blocked layout (nChw16c / nChw8c) a pass uses, which it then reads or writes in place; oneDNN
/// reorders everything else into its layouts inside each call (`CDNNL/gan_dnnl.c`).
///
/// Threads: oneDNN runs single-threaded here (no OpenMP pool spinning beside OpenBLAS's); a batch
/// is split over `ComputeThreads` into contiguous chunks of images, each with its own oneDNN
/// primitives, as `parallelFor` would split it. Forward and input-gradient results are per image,
/// so their bits do not depend on the split; the weight gradient is each chunk's partial sum
/// added in chunk order, so it has the same bits for the same thread count, as the GEMM path's.
final class DNNLConvolution {
    /// Whether oneDNN runs here and is wanted: `SWIFTGAN_CONVOLUTION=im2col` turns it off (the
    /// engine then lowers every convolution to im2col + sgemm, as before oneDNN).
    static let isAvailable: Bool = ProcessInfo.processInfo.environment["SWIFTGAN_CONVOLUTION"] != "im2col" && OneDNN.isAvailable

    let transposed: Bool
    let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, hasBias: Bool
    private var shape: (batch: Int, height: Int, width: Int, chunks: Int)?
    /// The blocked layout (8 or 16, else 0) of each pass of the current primitives (forward,
    /// backward data, backward weights) on its input side (src, diff_src) and output side (dst, diff_dst).
    private var passBlocks = [[0, 0], [0, 0], [0, 0]]
    private var convolutions: [OpaquePointer] = []
    private var workspaceFloats: [Int] = []
    /// The kernels oneDNN chose, per chunk and pass (forward, backward data, backward weights).
    private(set) var implementations: [[String]] = []

    init(transposed: Bool, inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, hasBias: Bool) {
        (self.transposed, self.inChannels, self.outChannels) = (transposed, inChannels, outChannels)
        (self.kernel, self.stride, self.padding, self.hasBias) = (kernel, stride, padding, hasBias)
    }

    deinit { release() }

    private func release() {
        for c in convolutions { gan_conv_destroy(c) }
        convolutions = []
    }

    /// Whether oneDNN has real kernels for this input size (made on first use, ~1 ms per layer):
    /// false where it would fall back to its reference code (e.g. a one-channel output on a 4x4
    /// image, D's last layer in the 64x64 DCGAN), which the im2col lowering beats.
    func isFast(batch n: Int, height h: Int, width w: Int) -> Bool {
        prepare(batch: n, height: h, width: w)
        return !implementations.joined().contains { $0.hasPrefix("ref") }
    }

    /// The primitives for this input size and thread count.
    private func prepare(batch n: Int, height h: Int, width w: Int) {
        let chunks = min(ComputeThreads.count, n)
        if let s = shape, s.batch == n, s.height == h, s.width == w, s.chunks == chunks { return }
        release()
        var error = [CChar](repeating: 0, count: 256)
        for c in 0..<chunks {
            let rows = ComputeThreads.chunkRange(c, of: chunks, count: n).count
            guard let conv = gan_conv_create(transposed ? 1 : 0, Int32(rows), Int32(inChannels), Int32(h), Int32(w), Int32(outChannels),
                                             Int32(kernel), Int32(stride), Int32(padding), hasBias ? 1 : 0, &error, error.count) else {
                let message = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                preconditionFailure("\(transposed ? "ConvTranspose2d" : "Conv2d"): \(message)")
            }
            convolutions.append(conv)
        }
        shape = (n, h, w, chunks)
        implementations = convolutions.map { c in
            (0..<3).map { p in
                guard let s = gan_conv_implementation(c, Int32(p)) else { return "" }
                return String(decoding: UnsafeRawBufferPointer(start: s, count: strlen(s)), as: UTF8.self)
            }
        }
        workspaceFloats = convolutions.map { (gan_conv_workspace_size($0) + 3) / 4 }
        // A layout every chunk's primitive uses, else 0 (a tensor in a blocked layout is then copied plain for that pass).
        passBlocks = (0..<3).map { pass in
            (0..<2).map { side in
                let blocks = Set(convolutions.map { Int(gan_conv_blocking($0, Int32(pass), Int32(side))) })
                return blocks.count == 1 ? blocks.first! : 0
            }
        }
    }

    /// Runs `body(chunk, rows, workspace)` for every chunk of the batch, concurrently, each with
    /// temporary memory from its thread's `Workspace` (oneDNN's blocked copies and scratchpad live
    /// only during the call, so a network holds the largest layer's, not every layer's). A oneDNN
    /// failure (a non-zero status) is a programming error, as an out-of-bounds index would be.
    private func eachChunk(_ n: Int, _ body: (Int, Range<Int>, UnsafeMutableRawPointer) -> Int32) {
        let chunks = convolutions.count
        let what = transposed ? "ConvTranspose2d" : "Conv2d"
        withoutActuallyEscaping(body) { body in
            let box = ChunkWork(run: body, floats: workspaceFloats, what: what)
            if chunks == 1 { return box.run(0, 0..<n) }
            ComputeThreads.forEachChunk(chunks) { c in box.run(c, ComputeThreads.chunkRange(c, of: chunks, count: n)) }
        }
    }

    /// The blocked layouts (`Tensor.blockSize`: 8 or 16, else 0) this input size's passes take
    /// in place: `input`, the one the passes that read x or write dx use (when they agree),
    /// `output`, the forward pass's for y. A pass given a tensor in another blocked layout reads a
    /// plain copy of it (a oneDNN reorder, as a plain tensor would have needed).
    func blocking(batch n: Int, height h: Int, width w: Int) -> (input: Int, output: Int) {
        prepare(batch: n, height: h, width: w)
        let inputs = Set(passBlocks.map { $0[0] }).subtracting([0])
        return (inputs.count == 1 ? inputs.first! : 0, passBlocks[0][1])
    }

    /// `BlockedLayoutLayer.inputBlock` of a convolution on oneDNN: `blocking`'s input layout
    /// where oneDNN has real kernels for this input, else 0 (the im2col lowering reads NCHW).
    func inputBlock(for shape: [Int]) -> Int {
        guard shape.count == 4, isFast(batch: shape[0], height: shape[2], width: shape[3]) else { return 0 }
        return blocking(batch: shape[0], height: shape[2], width: shape[3]).input
    }

    /// A pass's `blocked` flags.
    private func flags(input: Bool, output: Bool) -> UInt32 {
        (input ? UInt32(GAN_CONV_INPUT_BLOCKED) : 0) | (output ? UInt32(GAN_CONV_OUTPUT_BLOCKED) : 0)
    }

    /// `y = conv(x) + bias` for `x [N, C_in, H, W]` (plain or blocked) into `y` (already shaped),
    /// in the forward pass's blocked layout where `requested` asks for it (that block, or
    /// `Sequential.anyLayout`), else plain.
    func forward(_ x: Tensor, weight: Tensor, bias: Tensor?, into y: Tensor, requested: Int = 0) {
        let n = x.shape[0]
        prepare(batch: n, height: x.shape[2], width: x.shape[3])
        let block = passBlocks[0][1]
        let outputBlock = block != 0 && (requested == block || requested == Sequential.anyLayout) ? block : 0
        let inSize = x.count / n, outSize = y.count / n
        let xDirect = x.blockSize != 0 && x.blockSize == passBlocks[0][0], xCopied = x.blockSize != 0 && !xDirect
        Workspace.borrow(xCopied ? x.count : 0, 0) { plainX, _, _ in
            if xCopied { Tensor.copyLayout(x.data, into: plainX, shape: x.shape, from: x.blockSize, to: 0) }
            let xp = xCopied ? UnsafePointer(plainX) : UnsafePointer(x.data)
            let blocked = flags(input: xDirect, output: outputBlock != 0)
            eachChunk(n) { c, rows, workspace in
                gan_conv_forward(convolutions[c], xp + rows.lowerBound * inSize, weight.data, bias?.data, y.data + rows.lowerBound * outSize,
                                 workspace, blocked)
            }
        }
        y.blockSize = outputBlock
    }

    /// The gradients of `dy` for the input `x` that a backward pass asks for: with
    /// `weightGradient`, the weight (and bias) gradients added to it and `biasGradient` (each
    /// chunk's sum, then the chunks in order); with `dx` (already shaped like `x`), the input
    /// gradient written into it, in x's layout. Both at once take one oneDNN call per chunk, which
    /// reorders `dy` into the primitives' blocked layout once for both passes (`gan_conv_backward`).
    /// x and dy may each be plain or blocked: a pass that reads one in another layout gets a plain copy.
    func backward(_ x: Tensor, _ dy: Tensor, weight: Tensor, weightGradient: Tensor?, biasGradient: Tensor?, inputGradient dx: Tensor?) {
        let n = x.shape[0]
        prepare(batch: n, height: x.shape[2], width: x.shape[3])
        let inSize = x.count / n, outSize = dy.count / n
        let data = dx != nil, weights = weightGradient != nil
        let xb = x.blockSize, dyb = dy.blockSize
        dx?.blockSize = xb
        // In place where the pass uses the tensor's blocked layout; plain copies where it does not.
        let dyDirectData = dyb != 0 && passBlocks[1][1] == dyb, dyDirectWeights = dyb != 0 && passBlocks[2][1] == dyb
        let dyCopied = dyb != 0 && ((data && !dyDirectData) || (weights && !dyDirectWeights))
        let xDirect = xb != 0 && passBlocks[2][0] == xb, xCopied = weights && xb != 0 && !xDirect
        let dxDirect = xb != 0 && passBlocks[1][0] == xb, dxCopied = data && xb != 0 && !dxDirect
        Workspace.borrow(dyCopied ? dy.count : 0, xCopied ? x.count : 0, dxCopied ? x.count : 0) { plainDy, plainX, plainDx in
            if dyCopied { Tensor.copyLayout(dy.data, into: plainDy, shape: dy.shape, from: dyb, to: 0) }
            if xCopied { Tensor.copyLayout(x.data, into: plainX, shape: x.shape, from: xb, to: 0) }
            let dyData = dyb != 0 && !dyDirectData ? UnsafePointer(plainDy) : UnsafePointer(dy.data)
            let dyWeights = dyb != 0 && !dyDirectWeights ? UnsafePointer(plainDy) : UnsafePointer(dy.data)
            let xWeights = xCopied ? UnsafePointer(plainX) : UnsafePointer(x.data)
            let dxp = dxCopied ? plainDx : dx?.data
            let blockedData = flags(input: dxDirect, output: dyDirectData), blockedWeights = flags(input: xDirect, output: dyDirectWeights)
            guard let weightGradient else {
                guard let dxp else { return }
                eachChunk(n) { c, rows, workspace in
                    gan_conv_backward_data(convolutions[c], dyData + rows.lowerBound * outSize, weight.data,
                                           dxp + rows.lowerBound * inSize, workspace, blockedData)
                }
                if dxCopied { Tensor.copyLayout(plainDx, into: dx!.data, shape: x.shape, from: 0, to: xb) }
                return
            }
            let weightCount = weightGradient.count, chunks = convolutions.count
            // Each chunk's gradients go to the calling thread's workspace (live for this call only, so
            // a network holds the largest layer's partial sums, not every layer's: dcgan64 at one
            // thread kept 25 MB of them), then are added in chunk order.
            Workspace.borrow(weightCount * chunks, hasBias ? outChannels * chunks : 0) { w, b, _ in
                eachChunk(n) { c, rows, workspace in
                    let src = xWeights + rows.lowerBound * inSize
                    let gw = w + c * weightCount, gb = hasBias ? b + c * outChannels : nil
                    guard let dxp else {
                        return gan_conv_backward_weights(convolutions[c], src, dyWeights + rows.lowerBound * outSize, gw, gb, workspace,
                                                         blockedWeights)
                    }
                    return gan_conv_backward(convolutions[c], src, dyWeights + rows.lowerBound * outSize, dyData + rows.lowerBound * outSize,
                                             weight.data, dxp + rows.lowerBound * inSize, gw, gb, workspace, blockedWeights, blockedData)
                }
                addChunkSums(w, b, chunks: chunks, into: weightGradient, biasGradient)
            }
            if dxCopied { Tensor.copyLayout(plainDx, into: dx!.data, shape: x.shape, from: 0, to: xb) }
        }
    }

    /// Adds the chunks' partial weight and bias gradients at `w` and `b` to the gradients, each
    /// element taking the chunks in order, whichever thread adds its range: the same bits.
    private func addChunkSums(_ w: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>, chunks: Int,
                              into weightGradient: Tensor, _ biasGradient: Tensor?) {
        let weightCount = weightGradient.count
        ComputeThreads.parallelFor(weightCount) { range in
            for c in 0..<chunks {
                add(w + c * weightCount + range.lowerBound, into: weightGradient.data + range.lowerBound, count: range.count)
            }
        }
        if let g = biasGradient {
            for c in 0..<chunks { add(b + c * outChannels, into: g.data, count: outChannels) }
        }
    }

    /// Whether `backward` reorders dy once for both passes (oneDNN chose one layout for both).
    var sharesOutputGradient: Bool { convolutions.allSatisfy { gan_conv_shares_diff_dst($0) != 0 } }

    private func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] += x[i] }
    }
}

/// `eachChunk`'s body handed to the worker threads, each chunk with its workspace; the chunks
/// touch disjoint memory.
private final class ChunkWork: @unchecked Sendable {
    let body: (Int, Range<Int>, UnsafeMutableRawPointer) -> Int32
    let floats: [Int]
    let what: String
    init(run body: @escaping (Int, Range<Int>, UnsafeMutableRawPointer) -> Int32, floats: [Int], what: String) {
        (self.body, self.floats, self.what) = (body, floats, what)
    }

    func run(_ c: Int, _ rows: Range<Int>) {
        let status = Workspace.borrow(floats[c], 0) { w, _, _ in body(c, rows, UnsafeMutableRawPointer(w)) }
        precondition(status == 0, "\(what): oneDNN failed to execute a pass")
    }
}
