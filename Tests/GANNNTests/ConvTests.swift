import Foundation
import Testing
import GANNN
import GANTestSupport
@_spi(Testing) import GANTensor

// MARK: - Reference values from PyTorch

/// Obtained by running `Tests/GANNNTests/Reference/conv_reference.py` with
/// `$HOME/.cache/gan-peers-venv/bin/python` (torch 2.13.0+cpu, float32) and pasting its output
/// verbatim. The script documents the dyadic inputs, which `ConvTests.dyadic` reproduces exactly.
private enum ConvReference {
    // conv: y [2, 3, 3, 3]
    static let convOutput: [Float] = [-0.390625, -0.328125, -0.3203125, -0.421875, -0.296875, -0.5, 0.0390625, 0.1875, -0.0625, 0.1875, -0.1328125, -0.2421875, -0.2421875, 0.0703125, 0.4140625, -0.03125, -0.03125, -0.1171875, 0.25, 0.0625, 0.1796875, 0.28125, 0.265625, 0.296875, 0.15625, 0.265625, 0.2578125, -0.1328125, -0.421875, -0.3984375, -0.4765625, -0.53125, -0.109375, -0.015625, 0.2109375, -0.0625, -0.21875, 0.046875, -0.1875, -0.2265625, 0.1015625, 0.1640625, 0.046875, 0.0625, -0.0703125, 0.296875, 0.515625, 0.1953125, 0.28125, 0.4765625, 0.3515625, 0.109375, 0.171875, 0.1796875]
    static let convInputGradient: [Float] = [-0.515625, 0.046875, 0.171875, -0.03125, -0.015625, -0.125, -0.078125, 0.015625, 0.671875, -0.0625, 0.234375, -0.078125, 0.046875, 0.0625, -0.03125, -0.03125, 0.421875, 0.109375, -0.796875, 0.03125, 0.109375, 0.125, -0.515625, 0.046875, 0.171875, -0.484375, 0.03125, 0.125, 0.015625, 0.078125, -0.1875, 0.203125, 0.015625, 0.046875, 0.0, 0.140625, -0.125, 0.09375, 0.078125, -0.0625, -0.125, 0.0625, 0.1875, 0.234375, -0.046875, 0.109375, 0.15625, -0.484375, 0.03125, 0.125, 0.109375, 0.125, -0.515625, 0.046875, 0.171875, 0.0625, 0.375, -0.125, -0.078125, 0.015625, -0.015625, -0.21875, 0.234375, -0.078125, 0.046875, -0.0625, 0.0, -0.03125, 0.421875, 0.109375, -0.03125, 0.09375, 0.109375, 0.125, -0.515625, 0.109375, 0.15625, -0.484375, 0.03125, 0.125, 0.15625, -0.625, -0.1875, 0.203125, 0.015625, 0.078125, -0.21875, 0.140625, -0.125, 0.09375, 0.0, 0.65625, -0.125, 0.0625, 0.1875, -0.0625, 0.0625, 0.109375, 0.15625, -0.484375]
    static let convWeightGradient: [Float] = [-0.46875, 1.0, -0.53125, 1.4375, -0.125, -0.3125, 0.21875, -0.59375, 0.59375, 0.8125, -0.78125, 0.6875, -1.75, 1.78125, 0.78125, 0.0, 0.40625, -1.0, 0.53125, -0.5625, 0.25, 0.34375, -0.6875, -0.3125, -0.53125, 0.90625, -0.59375, -1.125, 0.46875, 0.0625, 1.28125, 0.65625, -0.78125, 0.6875, -0.96875, 0.5625, 0.21875, -0.59375, 0.59375, -1.1875, 0.0625, -1.1875, 0.25, 0.4375, -0.46875, 0.0, 0.40625, -1.0, 1.25, -1.78125, -0.15625, 0.0625, 0.0625, 0.8125]
    static let convBiasGradient: [Float] = [-1.25, 1.25, 0.25]
    // convT: y [2, 2, 6, 6]
    static let convTOutput: [Float] = [-0.0234375, -0.453125, -0.0625, -0.3515625, -0.015625, -0.3359375, -0.0703125, -0.328125, 0.2109375, -0.8125, -0.296875, -0.2578125, -0.6171875, 0.109375, -0.3828125, -0.296875, -0.8125, 0.046875, -0.0234375, -0.5625, -0.6015625, 0.375, -0.1953125, -0.1171875, -0.25, 0.3125, -0.7578125, -0.703125, -0.0703125, -0.40625, -0.375, -0.0078125, -0.453125, -0.359375, -0.25, -0.234375, -0.15625, 0.203125, -0.1796875, 0.203125, -0.1484375, 0.1171875, 0.2265625, -0.1328125, 0.3203125, -0.5625, 0.46875, -0.078125, 0.1953125, -0.296875, 0.4140625, -0.21875, 0.46875, -0.203125, 0.1796875, -0.5078125, 0.0546875, 0.1796875, -0.3046875, 0.09375, 0.2109375, -0.0625, 0.0703125, 0.21875, -0.1796875, 0.234375, -0.171875, 0.3359375, -0.109375, 0.265625, -0.140625, -0.265625, -0.2734375, -0.3515625, -0.015625, -0.3515625, -0.0703125, -0.265625, 0.046875, -0.8125, -0.296875, -0.3828125, 0.109375, -0.6171875, -0.2578125, -0.296875, -0.8125, 0.2109375, -0.328125, -0.0703125, -0.4140625, 0.375, -0.1953125, -0.109375, -0.703125, 0.1328125, -0.6015625, -0.703125, -0.0703125, 0.0078125, -0.5, -0.3203125, -0.34375, -0.359375, -0.25, -0.203125, -0.1484375, -0.2890625, -0.0078125, 0.203125, -0.1484375, 0.1015625, -0.21875, -0.015625, 0.109375, -0.5625, 0.46875, -0.078125, 0.4140625, -0.15625, 0.234375, -0.21875, 0.46875, -0.34375, 0.3203125, -0.125, -0.140625, 0.1796875, -0.3046875, -0.25, -0.15625, 0.1171875, -0.15625, 0.21875, -0.1796875, 0.296875, -0.125, 0.0078125, 0.046875, 0.265625, -0.140625, -0.109375, 0.03125, 0.171875]
    static let convTInputGradient: [Float] = [-0.9375, -0.765625, 0.0, -0.28125, -0.03125, -0.796875, -0.15625, 0.671875, 0.71875, 0.5625, 0.765625, -0.015625, -0.28125, 0.09375, 0.390625, -0.328125, -0.703125, -0.359375, -0.6875, -0.109375, -0.203125, 0.234375, -0.46875, -0.484375, 0.1875, 0.671875, -0.0625, -0.34375, 0.328125, -0.15625, -0.4375, -0.5625, 0.171875, 0.171875, 0.5625, -0.515625, 0.515625, 0.203125, 0.03125, 0.25, 0.46875, -0.125, -0.6875, -0.125, 0.515625, 0.34375, 0.078125, -0.296875, -0.609375, -0.21875, -0.25, 0.515625, -0.125, -0.6875]
    static let convTWeightGradient: [Float] = [1.34375, -0.03125, -1.28125, 0.03125, 0.28125, 1.625, 0.34375, -2.09375, -1.84375, 0.0625, 1.625, 0.28125, -0.09375, -1.03125, -0.03125, 1.34375, -0.03125, -1.28125, -0.125, 0.6875, 0.875, 0.34375, -2.03125, 0.5625, 0.28125, 1.625, 0.34375, -2.09375, -1.5, -0.03125, 1.1875, 0.21875, 1.34375, -0.03125, -1.78125, 0.28125, -0.53125, 2.03125, -0.71875, -0.96875, 1.09375, -0.90625, 2.03125, -0.53125, -0.34375, 1.09375, -0.4375, 0.9375, 0.21875, -1.78125, 0.625, -0.125, 2.0, -0.71875, -1.0625, -0.3125, -0.53125, 2.03125, -0.71875, -0.96875, 0.9375, -0.4375, 1.09375, -0.34375, 0.9375, -0.03125, -0.25, 0.125, -0.53125, 0.0, -0.15625, 0.15625, 2.0, 0.15625, 0.0, 0.28125, 0.21875, 1.1875, -0.03125, -1.5, -0.34375, -0.25, -0.25, -0.53125, 1.09375, -0.15625, -0.09375, 0.03125, -0.53125, 0.0, -0.15625, 0.15625, 1.34375, -0.03125, -1.03125, -0.09375]
    static let convTBiasGradient: [Float] = [0.0, -0.25]
}

// MARK: - Direct-loop references (Double accumulation)

/// PyTorch's Conv2d by its definition: y[n, o, i, j] = b[o] + Σ x[n, c, i·s - p + ki, j·s - p + kj] · w[o, c, ki, kj].
private func directConv2d(_ x: Tensor, _ layer: Conv2d) -> [Float] {
    let n = x.shape[0], c = layer.inChannels, h = x.shape[2], w = x.shape[3]
    let k = layer.kernel, s = layer.stride, p = layer.padding, o = layer.outChannels
    let oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1
    var y = [Float]()
    for b in 0..<n { for oc in 0..<o { for i in 0..<oh { for j in 0..<ow {
        var sum = layer.bias.map { Double($0.value[oc]) } ?? 0
        for ic in 0..<c { for ki in 0..<k { for kj in 0..<k {
            let r = i * s - p + ki, q = j * s - p + kj
            guard r >= 0, r < h, q >= 0, q < w else { continue }
            sum += Double(x[((b * c + ic) * h + r) * w + q]) * Double(layer.weight.value[((oc * c + ic) * k + ki) * k + kj])
        } } }
        y.append(Float(sum))
    } } } }
    return y
}

/// PyTorch's ConvTranspose2d by its definition: each input pixel scatters x · w[ci, co] onto the
/// output at (i·s - p + ki, j·s - p + kj); output (H - 1)·s - 2p + k.
private func directConvTranspose2d(_ x: Tensor, _ layer: ConvTranspose2d) -> [Float] {
    let n = x.shape[0], c = layer.inChannels, h = x.shape[2], w = x.shape[3]
    let k = layer.kernel, s = layer.stride, p = layer.padding, o = layer.outChannels
    let oh = (h - 1) * s - 2 * p + k, ow = (w - 1) * s - 2 * p + k
    var y = [Double](repeating: 0, count: n * o * oh * ow)
    for b in 0..<n { for oc in 0..<o { for r in 0..<(oh * ow) {
        y[(b * o + oc) * oh * ow + r] = layer.bias.map { Double($0.value[oc]) } ?? 0
    } } }
    for b in 0..<n { for ic in 0..<c { for i in 0..<h { for j in 0..<w {
        let v = Double(x[((b * c + ic) * h + i) * w + j])
        for oc in 0..<o { for ki in 0..<k { for kj in 0..<k {
            let r = i * s - p + ki, q = j * s - p + kj
            guard r >= 0, r < oh, q >= 0, q < ow else { continue }
            y[((b * o + oc) * oh + r) * ow + q] += v * Double(layer.weight.value[((ic * o + oc) * k + ki) * k + kj])
        } } }
    } } } }
    return y.map { Float($0) }
}

/// A convolution configuration under test (layers themselves are not Sendable).
struct ConvCase: Sendable, CustomTestStringConvertible {
    var inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int
    var height: Int, width: Int, batch: Int = 2, bias = true
    var testDescription: String {
        "\(inChannels)->\(outChannels) k\(kernel) s\(stride) p\(padding) on \(height)x\(width)\(bias ? "" : " no bias")"
    }

    static let conv: [ConvCase] = [
        ConvCase(inChannels: 2, outChannels: 3, kernel: 4, stride: 2, padding: 1, height: 8, width: 8),    // DCGAN's
        ConvCase(inChannels: 2, outChannels: 3, kernel: 3, stride: 1, padding: 1, height: 5, width: 5),
        ConvCase(inChannels: 3, outChannels: 2, kernel: 3, stride: 2, padding: 0, height: 7, width: 5),    // odd, non-square
        ConvCase(inChannels: 1, outChannels: 2, kernel: 4, stride: 2, padding: 1, height: 7, width: 9, bias: false),
        ConvCase(inChannels: 2, outChannels: 2, kernel: 2, stride: 3, padding: 2, height: 6, width: 5),    // stride > kernel
        ConvCase(inChannels: 2, outChannels: 1, kernel: 5, stride: 1, padding: 0, height: 5, width: 6),    // one output row
        ConvCase(inChannels: 8, outChannels: 1, kernel: 4, stride: 1, padding: 0, height: 4, width: 4, bias: false),  // dcgan64's logit
        ConvCase(inChannels: 16, outChannels: 16, kernel: 4, stride: 2, padding: 1, height: 8, width: 8, bias: false), // blocked layouts
    ]
    static let convTranspose: [ConvCase] = [
        ConvCase(inChannels: 3, outChannels: 2, kernel: 4, stride: 2, padding: 1, height: 3, width: 3),    // DCGAN's
        ConvCase(inChannels: 2, outChannels: 3, kernel: 3, stride: 1, padding: 1, height: 4, width: 5),
        ConvCase(inChannels: 2, outChannels: 2, kernel: 3, stride: 2, padding: 0, height: 3, width: 4),
        ConvCase(inChannels: 2, outChannels: 1, kernel: 4, stride: 2, padding: 1, height: 5, width: 3, bias: false),
        ConvCase(inChannels: 1, outChannels: 2, kernel: 5, stride: 3, padding: 2, height: 3, width: 2),
        ConvCase(inChannels: 4, outChannels: 8, kernel: 4, stride: 1, padding: 0, height: 1, width: 1, bias: false),  // dcgan64's first
        ConvCase(inChannels: 16, outChannels: 16, kernel: 4, stride: 2, padding: 1, height: 4, width: 4, bias: false), // blocked layouts
    ]

    func makeConv(seed: UInt64 = 1) -> Conv2d {
        var rng = RNG(seed: seed)
        return Conv2d(inChannels, outChannels, kernel: kernel, stride: stride, padding: padding, bias: bias, rng: &rng)
    }
    func makeConvTranspose(seed: UInt64 = 1) -> ConvTranspose2d {
        var rng = RNG(seed: seed)
        return ConvTranspose2d(inChannels, outChannels, kernel: kernel, stride: stride, padding: padding, bias: bias, rng: &rng)
    }
    /// True when the conv reads every input row and column ((H + 2p - k) divisible by s): then
    /// ConvTranspose2d with the same k, s, p maps its output size back to H x W. Otherwise the
    /// exact adjoint needs PyTorch's `output_padding`, which ConvTranspose2d does not take.
    var convCoversInput: Bool {
        (height + 2 * padding - kernel) % stride == 0 && (width + 2 * padding - kernel) % stride == 0
    }
    func input(seed: UInt64 = 2) -> Tensor { randomTensor([batch, inChannels, height, width], seed: seed) }
}

@Suite("Conv2d, ConvTranspose2d, Reshape")
struct ConvTests {
    /// Dyadic test values (exact in Float32), as `conv_reference.py` builds them.
    static func dyadic(_ shape: [Int], _ f: (Int) -> Double) -> Tensor { tensor(shape) { Float(f($0)) } }

    // MARK: Gradients

    /// Input, weight and bias gradients (.full), then the input gradient alone (.inputOnly), of a
    /// fresh layer from `make` each time. A (transposed) convolution is linear in its input and in
    /// its parameters, so central differences are exact for any step: a step of 0.25 keeps the
    /// Float32 rounding of the forward passes (~1e-7 of each output) from dominating the numeric
    /// slope of small gradients, as it does at 0.01.
    func expectGradients(_ make: () -> Layer, input: () -> Tensor) {
        let full = gradientCheck(make(), input: input(), h: 0.25)
        #expect(full.worstError < gradientTolerance, "\(full)")
        let frozen = gradientCheck(make(), input: input(), h: 0.25, parameterGradients: false)
        #expect(frozen.worstError < gradientTolerance, "\(frozen)")
    }

    @Test("Conv2d: input, weight and bias gradients (.full and .inputOnly)", arguments: ConvCase.conv)
    func conv2dGradients(_ c: ConvCase) { expectGradients({ c.makeConv() }, input: { c.input() }) }

    @Test("ConvTranspose2d: input, weight and bias gradients (.full and .inputOnly)", arguments: ConvCase.convTranspose)
    func convTranspose2dGradients(_ c: ConvCase) { expectGradients({ c.makeConvTranspose() }, input: { c.input() }) }

    @Test("Reshape: values unchanged, gradient reshaped back")
    func reshape() throws {
        let r = Reshape(sampleShape: [2, 3, 2])
        let x = randomTensor([4, 12], seed: 3)
        let y = r.forward(x, training: true)
        #expect(y.shape == [4, 2, 3, 2] && y.array == x.array)
        let dy = randomTensor([4, 2, 3, 2], seed: 4)
        let dx = try #require(r.backward(dy, mode: .full))
        #expect(dx.shape == [4, 12] && dx.array == dy.array)
        #expect(r.backward(dy, mode: .parameterGradients) == nil)
        #expect(gradientCheck(Reshape([6, 2]), input: x).worstError < gradientTolerance)
        // The output is the layer's own: changing the input afterwards does not change it.
        x.fill(7)
        #expect(y.array != x.array)
    }

    /// A small D-like stack: conv -> BN (NCHW) -> tanh -> conv -> flatten -> linear (smooth, so
    /// central differences are valid everywhere).
    @Test("Conv2d-BatchNorm-Tanh-Conv2d-Reshape-Linear stack and ConvT-BatchNorm-Tanh-ConvT stack")
    func stacks() {
        var rng = RNG(seed: 5)
        let d = Sequential(Conv2d(1, 3, kernel: 4, stride: 2, padding: 1, rng: &rng), BatchNorm(features: 3), Tanh(),
                           Conv2d(3, 4, kernel: 3, stride: 2, padding: 1, rng: &rng), Reshape([4 * 2 * 2]),
                           Linear(16, 2, rng: &rng))
        #expect(d.outputShape(for: [1, 8, 8]) == [2])
        let x = randomTensor([3, 1, 8, 8], seed: 6)
        for parameters in [true, false] {
            // Batch norm over 3 x 16 values is curved enough that h = 1e-2 leaves ~2e-2 truncation
            // error, so h = 3e-3; the Float32 loss rounding then reaches ~5e-5 absolute on the
            // slope, hence the floor 1e-2 (absolute error 1e-4 allowed on small gradients).
            let r = gradientCheck(d, input: x, h: 3e-3, floor: 1e-2, parameterGradients: parameters)
            #expect(r.worstError < gradientTolerance, "D, parameters \(parameters): \(r)")
        }
        let g = Sequential(Linear(5, 4 * 3 * 3, rng: &rng), Reshape([4, 3, 3]), BatchNorm(features: 4), Tanh(),
                           ConvTranspose2d(4, 2, kernel: 4, stride: 2, padding: 1, rng: &rng), Tanh())
        #expect(g.outputShape(for: [5]) == [2, 6, 6])
        let r = gradientCheck(g, input: randomTensor([3, 5], seed: 7))
        #expect(r.worstError < gradientTolerance, "G: \(r)")
    }

    @Test("backward modes: .parameterGradients returns nil, gradients accumulate over two passes")
    func modesAndAccumulation() throws {
        let c = ConvCase.conv[0], t = ConvCase.convTranspose[0]
        let layers: [(Layer, Tensor)] = [(c.makeConv(), c.input()), (t.makeConvTranspose(), t.input())]
        for (layer, x) in layers {
            let y = layer.forward(x, training: true)
            let dy = randomTensor(y.shape, seed: 8)
            layer.zeroGradients()
            let dxFull = try #require(layer.backward(dy, mode: .full)).clone()
            let once = layer.parameters.map { $0.gradient.array }
            #expect(layer.backward(dy, mode: .parameterGradients) == nil, "\(layer.kind)")
            for (p, g) in zip(layer.parameters, once) {
                #expect(closeness(p.gradient.array, g.map { 2 * $0 }, rtol: 1e-5, atol: 1e-6) <= 1, "\(layer.kind) \(p.name)")
            }
            let dxInput = try #require(layer.backward(dy, mode: .inputOnly))
            #expect(dxInput.bitwiseEqual(dxFull), "\(layer.kind)")
        }
    }

    // MARK: Values

    @Test("Conv2d (im2col + GEMM) matches the direct loop", arguments: ConvCase.conv)
    func conv2dMatchesDirectLoop(_ c: ConvCase) {
        let layer = c.makeConv(seed: 9), x = c.input(seed: 10)
        let y = layer.forward(x, training: true)
        #expect(y.shape == [c.batch, c.outChannels] + layer.outputShape(for: [c.inChannels, c.height, c.width])!.dropFirst())
        #expect(closeness(y.array, directConv2d(x, layer), rtol: 1e-5, atol: 1e-5) <= 1)
    }

    @Test("ConvTranspose2d (GEMM + col2im) matches the direct scatter loop", arguments: ConvCase.convTranspose)
    func convTranspose2dMatchesDirectLoop(_ c: ConvCase) {
        let layer = c.makeConvTranspose(seed: 11), x = c.input(seed: 12)
        let y = layer.forward(x, training: true)
        let oh = (c.height - 1) * c.stride - 2 * c.padding + c.kernel, ow = (c.width - 1) * c.stride - 2 * c.padding + c.kernel
        #expect(y.shape == [c.batch, c.outChannels, oh, ow])
        #expect(layer.outputShape(for: [c.inChannels, c.height, c.width]) == [c.outChannels, oh, ow])
        #expect(closeness(y.array, directConvTranspose2d(x, layer), rtol: 1e-5, atol: 1e-5) <= 1)
    }

    /// <Conv(x), y> = <x, ConvT(y)> when ConvT(C_out -> C_in) shares Conv(C_in -> C_out)'s weight
    /// array (both `[C_out, C_in, k, k]` in memory) and neither has a bias.
    @Test("ConvTranspose2d is the adjoint of Conv2d", arguments: ConvCase.conv.filter(\.convCoversInput))
    func adjoint(_ c: ConvCase) {
        let conv = Conv2d(c.inChannels, c.outChannels, kernel: c.kernel, stride: c.stride, padding: c.padding, bias: false)
        let convT = ConvTranspose2d(c.outChannels, c.inChannels, kernel: c.kernel, stride: c.stride, padding: c.padding, bias: false)
        var rng = RNG(seed: 13)
        rng.fillNormal(conv.weight.value)
        convT.weight.value.copy(from: conv.weight.value)
        let x = c.input(seed: 14)
        let cx = conv.forward(x, training: true)
        let y = randomTensor(cx.shape, seed: 15)
        let ty = convT.forward(y, training: true)
        #expect(ty.shape == x.shape)
        var left = 0.0, right = 0.0
        for i in 0..<cx.count { left += Double(cx[i]) * Double(y[i]) }
        for i in 0..<x.count { right += Double(x[i]) * Double(ty[i]) }
        #expect(abs(left - right) <= 1e-5 * max(abs(left), 1), "<Conv(x), y> \(left) vs <x, ConvT(y)> \(right)")
    }

    @Test("Conv2d (k3 s2 p1) and ConvTranspose2d (k4 s2 p1) match PyTorch: output and gradients")
    func matchesPyTorch() throws {
        try checkAgainstPyTorch(Conv2d(2, 3, kernel: 3, stride: 2, padding: 1), inputShape: [2, 2, 5, 5],
                                output: ConvReference.convOutput, inputGradient: ConvReference.convInputGradient,
                                weightGradient: ConvReference.convWeightGradient, biasGradient: ConvReference.convBiasGradient)
        try checkAgainstPyTorch(ConvTranspose2d(3, 2, kernel: 4, stride: 2, padding: 1), inputShape: [2, 3, 3, 3],
                                output: ConvReference.convTOutput, inputGradient: ConvReference.convTInputGradient,
                                weightGradient: ConvReference.convTWeightGradient, biasGradient: ConvReference.convTBiasGradient)
    }

    func checkAgainstPyTorch(_ layer: WeightedLayer, inputShape: [Int],
                             output: [Float], inputGradient: [Float], weightGradient: [Float], biasGradient: [Float]) throws {
        let weight = layer.weight, bias = try #require(layer.bias)
        weight.value.copy(from: Self.dyadic(weight.value.shape) { Double((5 * $0) % 11 - 5) / 16 })
        bias.value.copy(from: Self.dyadic(bias.value.shape) { Double($0 - 1) / 4 })
        let x = Self.dyadic(inputShape) { Double((7 * $0) % 13 - 6) / 8 }
        let y = layer.forward(x, training: true)
        #expect(y.count == output.count)
        #expect(closeness(y.array, output, rtol: 1e-6, atol: 1e-6) <= 1)
        let r = Self.dyadic(y.shape) { Double((3 * $0) % 7 - 3) / 4 }
        layer.zeroGradients()
        let dx = try #require(layer.backward(r, mode: .full))
        #expect(dx.shape == inputShape)
        #expect(closeness(dx.array, inputGradient, rtol: 1e-6, atol: 1e-6) <= 1)
        #expect(closeness(weight.gradient.array, weightGradient, rtol: 1e-6, atol: 1e-6) <= 1)
        #expect(closeness(bias.gradient.array, biasGradient, rtol: 1e-6, atol: 1e-6) <= 1)
    }

    // MARK: Shapes, specs, init

    @Test("DCGAN shapes: Conv 28 -> 14 -> 7 and ConvT 7 -> 14 -> 28 (k4 s2 p1)")
    func dcganShapes() {
        let c1 = Conv2d(1, 4, kernel: 4, stride: 2, padding: 1), c2 = Conv2d(4, 8, kernel: 4, stride: 2, padding: 1)
        #expect(c1.outputShape(for: [1, 28, 28]) == [4, 14, 14])
        #expect(c2.outputShape(for: [4, 14, 14]) == [8, 7, 7])
        #expect(c1.outputShape(for: [2, 28, 28]) == nil && c1.outputShape(for: [784]) == nil)
        let h = c2.forward(c1.forward(Tensor(shape: [3, 1, 28, 28]), training: true), training: true)
        #expect(h.shape == [3, 8, 7, 7])
        let t1 = ConvTranspose2d(8, 4, kernel: 4, stride: 2, padding: 1), t2 = ConvTranspose2d(4, 1, kernel: 4, stride: 2, padding: 1)
        #expect(t1.outputShape(for: [8, 7, 7]) == [4, 14, 14])
        #expect(t2.outputShape(for: [4, 14, 14]) == [1, 28, 28])
        #expect(t1.outputShape(for: [4, 7, 7]) == nil)
        let g = t2.forward(t1.forward(Tensor(shape: [3, 8, 7, 7]), training: true), training: true)
        #expect(g.shape == [3, 1, 28, 28])
        #expect(Reshape([6272]).outputShape(for: [128, 7, 7]) == [6272])
        #expect(Reshape([128, 7, 7]).outputShape(for: [6272]) == [128, 7, 7])
        #expect(Reshape([128, 7, 7]).outputShape(for: [6271]) == nil)
        // The peers' dcgan28 as specs, checked end to end by Sequential.
        let gen = Sequential(specs: [.linear(inFeatures: 100, outFeatures: 6272, bias: true), .reshape(sampleShape: [128, 7, 7]),
                                     .batchNorm(features: 128, momentum: 0.1, eps: 1e-5), .relu,
                                     .convTranspose2d(inChannels: 128, outChannels: 64, kernel: 4, stride: 2, padding: 1, bias: true),
                                     .batchNorm(features: 64, momentum: 0.1, eps: 1e-5), .relu,
                                     .convTranspose2d(inChannels: 64, outChannels: 1, kernel: 4, stride: 2, padding: 1, bias: true), .tanh])
        #expect(gen.outputShape(for: [100]) == [1, 28, 28])
        #expect(gen.forward(Tensor(shape: [2, 100]), training: true).shape == [2, 1, 28, 28])
    }

    @Test("LayerSpec round trip: conv2d, conv_transpose2d, reshape")
    func specRoundTrip() throws {
        let specs: [LayerSpec] = [
            .conv2d(inChannels: 1, outChannels: 64, kernel: 4, stride: 2, padding: 1, bias: true),
            .conv2d(inChannels: 3, outChannels: 5, kernel: 3, stride: 1, padding: 0, bias: false),
            .convTranspose2d(inChannels: 128, outChannels: 64, kernel: 4, stride: 2, padding: 1, bias: true),
            .convTranspose2d(inChannels: 2, outChannels: 1, kernel: 5, stride: 3, padding: 2, bias: false),
            .reshape(sampleShape: [128, 7, 7]), .reshape(sampleShape: [6272]),
        ]
        for s in specs {
            let attrs = Dictionary(uniqueKeysWithValues: s.attributes.map { ($0.name, $0.value) })
            #expect(try LayerSpec.make(kind: s.kind, attributes: attrs).get() == s)
            let layer = try #require(s.makeLayer() as? SpecifiedLayer)
            #expect(layer.spec == s && layer.kind == s.kind)
        }
        #expect(LayerSpec.reshape(sampleShape: [128, 7, 7]).attributes.map(\.name) == ["rank", "dim0", "dim1", "dim2"])
        let conv = Sequential(specs: [specs[0]]), convT = Sequential(specs: [specs[2]])
        #expect(conv.namedParameters.map(\.path) == ["0_conv2d/weight", "0_conv2d/bias"])
        #expect(conv.parameters[0].value.shape == [64, 1, 4, 4])
        #expect(convT.namedParameters.map(\.path) == ["0_conv_transpose2d/weight", "0_conv_transpose2d/bias"])
        #expect(convT.parameters[0].value.shape == [128, 64, 4, 4] && convT.parameters[1].value.shape == [64])
        #expect(Sequential(specs: specs).specs == specs)
    }

    @Test("LayerSpec rejects bad conv and reshape attributes")
    func specValidation() {
        let good: [String: Double] = ["in_channels": 2, "out_channels": 3, "kernel": 4, "stride": 2, "padding": 1, "bias": 1]
        func fails(_ kind: String, _ attrs: [String: Double], _ expected: LayerSpecError) {
            if case .failure(let e) = LayerSpec.make(kind: kind, attributes: attrs) { #expect(e == expected) } else {
                Issue.record("\(kind) \(attrs) was accepted")
            }
        }
        for kind in ["conv2d", "conv_transpose2d"] {
            fails(kind, good.merging(["padding": -1]) { $1 }, .invalid(kind: kind, attribute: "padding", value: -1))
            fails(kind, good.merging(["kernel": 0]) { $1 }, .invalid(kind: kind, attribute: "kernel", value: 0))
            fails(kind, good.merging(["stride": 1.5]) { $1 }, .invalid(kind: kind, attribute: "stride", value: 1.5))
            fails(kind, good.merging(["bias": 2]) { $1 }, .invalid(kind: kind, attribute: "bias", value: 2))
            fails(kind, good.filter { $0.key != "out_channels" }, .missing(kind: kind, attribute: "out_channels"))
        }
        fails("reshape", ["rank": 0], .invalid(kind: "reshape", attribute: "rank", value: 0))
        fails("reshape", ["rank": 9], .invalid(kind: "reshape", attribute: "rank", value: 9))
        fails("reshape", ["rank": 2, "dim0": 3], .missing(kind: "reshape", attribute: "dim1"))
        fails("reshape", ["rank": 1, "dim0": 0], .invalid(kind: "reshape", attribute: "dim0", value: 0))
        fails("reshape", [:], .missing(kind: "reshape", attribute: "rank"))
    }

    @Test("PyTorch fans for 4-D weights and the default init bounds")
    func initialisation() {
        for (shape, fanIn, fanOut) in [([64, 1, 4, 4], 16, 1024),       // Conv2d(1, 64, 4)
                                       ([128, 64, 4, 4], 1024, 2048),  // ConvT(128, 64, 4): fan-in from dim 1
                                       ([400, 784], 784, 400)] {       // Linear(784, 400)
            let f = Initializer.fans(weightShape: shape)
            #expect(f.fanIn == fanIn && f.fanOut == fanOut, "\(shape)")
        }
        var rng = RNG(seed: 16)
        let conv = Conv2d(8, 4, kernel: 3, rng: &rng)              // bound 1/sqrt(8·9)
        let convT = ConvTranspose2d(8, 2, kernel: 3, rng: &rng)    // bound 1/sqrt(2·9)
        for (values, bound) in [(conv.weight.value.array + conv.bias!.value.array, 1 / Float(72).squareRoot()),
                                (convT.weight.value.array + convT.bias!.value.array, 1 / Float(18).squareRoot())] {
            #expect(values.allSatisfy { abs($0) <= bound })
            #expect(values.map(abs).max()! > 0.8 * bound, "uses the whole range")
        }
        // DCGAN's N(0, 0.02) with zero biases.
        let dc = ConvTranspose2d(64, 32, kernel: 4, stride: 2, padding: 1, weightInit: .normal(std: 0.02), biasInit: .zeros, rng: &rng)
        let w = dc.weight.value.array.map(Double.init)
        let std = (w.map { $0 * $0 }.reduce(0, +) / Double(w.count)).squareRoot()
        #expect(abs(std - 0.02) < 0.001 && dc.bias!.value.array.allSatisfy { $0 == 0 })
    }
}
