import CMathShim
import Foundation
import GANTensor

/// A `Sequential` that is a small MLP, run in one C call per pass (CMathShim/smallmlp.c): Linear
/// layers with biases and at most 16 inputs and outputs, each optionally followed by ReLU or
/// LeakyReLU (the toy systems' networks: toy_1d's 1-10-10-10-1). Each pass is one loop over the
/// rows per layer, with the activation and, in backward, its mask, dW, db and the input gradient
/// in that loop, instead of a product call per operand and a pass per activation.
///
/// The bits are those of the layers one by one on SmallGEMM's panels (the AVX-512 ones and the
/// Swift ones give the same bits), so it runs only where every product of the batch is one
/// SmallGEMM takes (`applies`), on a CPU with AVX-512 F or AVX2 (the C copy `gan_simd16_isa()`
/// picks; SWIFTGAN_SIMD=avx2 forces the AVX2 copy), and not when `SWIFTGAN_SMALL_MLP=0`.
final class SmallMLP {
    let linears: [Linear]
    private let descriptors: UnsafeMutablePointer<gan_mlp_layer>
    private let hidden = Tensor(shape: [0]), output = Tensor(shape: [0]), scratch = Tensor(shape: [0])
    /// The latest forward's input: backward reads it (like `Linear`, the caller keeps it unchanged).
    private var input: Tensor?
    /// The C copy this network's passes run (`SmallMLP.isa`; tests set another the CPU has,
    /// `gan_simd16_cpu_isa()`, on their own network).
    var isa = SmallMLP.isa

    /// The C copy that runs here: 2 AVX-512, 1 AVX2, 0 none (`gan_simd16_isa()`).
    static let isa = gan_simd16_isa()
    static let enabled = isa != 0 && ProcessInfo.processInfo.environment["SWIFTGAN_SMALL_MLP"] != "0"
    static let maxWidth = 16

    /// nil unless `layers` are Linear layers with biases, each optionally followed by a ReLU or a
    /// LeakyReLU, every width at most 16.
    init?(_ layers: [Layer]) {
        guard SmallMLP.enabled, !layers.isEmpty else { return nil }
        var linears: [Linear] = []
        var layerDescriptors: [gan_mlp_layer] = []
        var i = 0
        while i < layers.count {
            guard let linear = layers[i] as? Linear, linear.bias != nil,
                  linear.inFeatures <= SmallMLP.maxWidth, linear.outFeatures <= SmallMLP.maxWidth else { return nil }
            if let previous = linears.last, previous.outFeatures != linear.inFeatures { return nil }
            var d = gan_mlp_layer()
            d.in = Int32(linear.inFeatures)
            d.out = Int32(linear.outFeatures)
            i += 1
            if i < layers.count, !(layers[i] is Linear) {
                guard let activation = layers[i] as? FusableActivation else { return nil }
                (d.act, d.leak) = activation.fused.epilogue.code
                i += 1
            }
            linears.append(linear)
            layerDescriptors.append(d)
        }
        self.linears = linears
        descriptors = .allocate(capacity: layerDescriptors.count)
        descriptors.initialize(from: layerDescriptors, count: layerDescriptors.count)
    }

    deinit { descriptors.deallocate() }

    /// Whether a batch of `rows` runs here: every product the layers would compute one by one is
    /// one SmallGEMM takes (else their bits are another kernel's).
    func applies(to x: Tensor) -> Bool {
        let rows = x.rows
        guard rows > 0, x.columns == linears[0].inFeatures else { return false }
        for l in linears {
            let (i, o) = (l.inFeatures, l.outFeatures)
            guard SmallGEMM.applies(transB: true, m: rows, n: o, k: i),   // forward
                  SmallGEMM.applies(transA: true, m: o, n: i, k: rows),   // dW
                  SmallGEMM.applies(m: rows, n: i, k: o)                  // dx
            else { return false }
        }
        return true
    }

    /// Points the descriptors at the parameters' current storage.
    private func refresh() {
        for (k, l) in linears.enumerated() {
            descriptors[k].w = UnsafePointer(l.weight.value.data)
            descriptors[k].b = UnsafePointer(l.bias!.value.data)
            descriptors[k].dw = l.weight.gradient.data
            descriptors[k].db = l.bias!.gradient.data
        }
    }

    func forward(_ x: Tensor) -> Tensor {
        let rows = x.rows
        if input !== x { input = x }
        hidden.resize(rows: max(linears.count - 1, 1) * rows, columns: SmallMLP.maxWidth)
        output.resize(rows: rows, columns: linears[linears.count - 1].outFeatures)
        refresh()
        gan_mlp_forward(isa, rows, Int32(linears.count), descriptors, x.data, hidden.data, output.data)
        return output
    }

    /// The backward pass after `forward`: dLoss/dx into `gradient` (shaped as x) when `mode`
    /// asks for it, else nil.
    func backward(_ dy: Tensor, mode: BackwardMode, into gradient: Tensor) -> Tensor? {
        guard let x = input else { preconditionFailure("SmallMLP.backward called before forward") }
        let rows = x.rows
        precondition(dy.count == rows * linears[linears.count - 1].outFeatures,
                     "Sequential.backward: dy \(dy.shape) does not match the output \(output.shape)")
        scratch.resize(rows: rows, columns: 3 * SmallMLP.maxWidth)
        let wantsInput = mode.contains(.inputGradient)
        if wantsInput { gradient.resize(x.shape) }
        refresh()
        gan_mlp_backward(isa, rows, Int32(linears.count), descriptors, x.data, hidden.data, output.data, dy.data,
                         mode.contains(.parameterGradients) ? 1 : 0, wantsInput ? gradient.data : nil, scratch.data)
        return wantsInput ? gradient : nil
    }
}
