import Foundation
import Testing
import GANNN
import GANTestSupport
@_spi(Testing) import GANTensor

/// Tolerance on `gradientCheck`'s relative error |num - ana| / max(|num| + |ana|, 1e-3).
///
/// With h = 1e-2 central differences the truncation error is h²/6·|f'''| (~1e-5 relative for the
/// smooth layers here) and Float32 rounding of the loss adds ~1e-7·|L| / 2h (~1e-5); linear and
/// piecewise-linear layers (away from kinks) are exact up to rounding. Observed errors are ~1e-4
/// or below, so 1e-2 leaves a wide margin, while a wrong gradient (a missing factor, a transposed
/// weight, a dropped term) gives errors of order 1.
let gradientTolerance = 1e-2

/// `x` pushed away from 0: `sign(x) · (|x| + margin)`, so ±h perturbations never cross a kink at 0.
func awayFromZero(_ x: Tensor, margin: Float) -> Tensor {
    tensor(x.shape) { i in x[i] >= 0 ? x[i] + margin : x[i] - margin }
}

/// Maxout input `[rows, units · pieces]` whose pieces, per unit, are a random base plus a random
/// permutation of {0, 0.3, 0.6, ...}: the winner beats the runner-up by 0.3 >> 2h.
func maxoutInput(rows: Int, units: Int, pieces: Int, seed: UInt64) -> Tensor {
    var rng = RNG(seed: seed)
    let x = Tensor(shape: [rows, units * pieces])
    for o in 0..<(rows * units) {
        let base = rng.normal()
        let order = rng.permutation(pieces)
        for p in 0..<pieces { x[o * pieces + p] = base + 0.3 * Float(order[p]) }
    }
    return x
}

/// Which linear piece every kinked layer of `net` is on for input `x`: the sign of each
/// (Leaky)ReLU input, the winning piece of each Maxout unit, the region of each Clamp input.
func kinkPattern(_ net: Sequential, _ x: Tensor) -> [Int] {
    var h = x
    var pattern: [Int] = []
    for layer in net.layers {
        switch layer {
        case is ReLU, is LeakyReLU:
            for i in 0..<h.count { pattern.append(h[i] > 0 ? 1 : 0) }
        case let m as Maxout:
            for o in 0..<(h.count / m.pieces) {
                var best = 0
                for p in 1..<m.pieces where h[o * m.pieces + p] > h[o * m.pieces + best] { best = p }
                pattern.append(best)
            }
        case let c as Clamp:
            for i in 0..<h.count { pattern.append(h[i] < c.minimum ? -1 : (h[i] > c.maximum ? 1 : 0)) }
        default:
            break
        }
        h = layer.forward(h, training: true)
    }
    return pattern
}

/// True when perturbing any single input or parameter entry by ±h leaves every kinked layer on
/// the same piece: then central differences see a smooth function and the check is valid.
func noKinkCrossed(_ net: Sequential, _ x: Tensor, h: Float = 1e-2) -> Bool {
    let nominal = kinkPattern(net, x)
    for t in [x] + net.parameters.map(\.value) {
        for i in 0..<t.count {
            let saved = t[i]
            defer { t[i] = saved }
            for d in [h, -h] {
                t[i] = saved + d
                if kinkPattern(net, x) != nominal { return false }
            }
        }
    }
    return true
}

/// Activations under test, as arguments (layers themselves are not Sendable).
enum ActivationCase: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case relu, leakyReLU, sigmoid, tanh, maxout, clamp
    var testDescription: String { rawValue }

    func make() -> Layer {
        switch self {
        case .relu: ReLU()
        case .leakyReLU: LeakyReLU(alpha: 0.2)
        case .sigmoid: Sigmoid()
        case .tanh: Tanh()
        case .maxout: Maxout(pieces: 3)
        case .clamp: Clamp(min: -1, max: 2)
        }
    }

    /// An input with every element at least 2h = 0.02 away from the layer's kinks.
    func input() -> Tensor {
        switch self {
        case .relu, .leakyReLU: awayFromZero(randomTensor([4, 6], seed: 5, std: 2), margin: 0.05)
        case .sigmoid, .tanh: randomTensor([4, 6], seed: 6, std: 2)
        case .maxout: maxoutInput(rows: 3, units: 4, pieces: 3, seed: 7)
        case .clamp:
            // Below, inside and above [-1, 2], each at least 0.03 from a bound.
            tensor([3, 8]) { i in [-3, -1.5, -1.03, -0.5, 0, 0.7, 1.97, 2.3, 4, 1.2, -0.97, 2.05][i % 12] + Float(i / 12) * 0.001 }
        }
    }
}

@Suite("Gradient checks: layers")
struct LayerGradientTests {
    @Test("Linear: input, weight and bias gradients", arguments: [true, false])
    func linear(bias: Bool) {
        var rng = RNG(seed: 1)
        let layer = Linear(5, 3, bias: bias, rng: &rng)
        let r = gradientCheck(layer, input: randomTensor([4, 5], seed: 2))
        #expect(r.worstError < gradientTolerance, "\(r)")
        #expect(r.checked == 4 * 5 + 3 * 5 + (bias ? 3 : 0), "every entry checked")
    }

    @Test("Linear on [N, C, H, W] input: gradient has the input's shape")
    func linearFlattens() {
        var rng = RNG(seed: 3)
        let layer = Linear(8, 2, rng: &rng)
        let x = randomTensor([3, 2, 2, 2], seed: 4)
        let r = gradientCheck(layer, input: x)
        #expect(r.worstError < gradientTolerance, "\(r)")
        _ = layer.forward(x, training: true)
        #expect(layer.backward(randomTensor([3, 2], seed: 5), mode: .full)?.shape == [3, 2, 2, 2])
    }

    @Test("activations: input gradients", arguments: ActivationCase.allCases)
    func activation(_ c: ActivationCase) {
        let r = gradientCheck(c.make(), input: c.input())
        #expect(r.worstError < gradientTolerance, "\(r)")
        #expect(r.checked == c.input().count)
    }

    @Test("Sequential Linear-LeakyReLU-Linear-Maxout-Linear-Sigmoid and Linear-Tanh-Linear-ReLU-Linear-Clamp",
          arguments: [0, 1])
    func sequential(stack: Int) throws {
        // The first seed whose nominal point has no kink within ±h of any perturbation.
        var found: (Sequential, Tensor)?
        for seed in UInt64(0)..<200 {
            let (net, x) = Self.stack(stack, seed: seed)
            if noKinkCrossed(net, x) { found = (net, x); break }
        }
        let (net, x) = try #require(found, "no kink-free seed")
        // The check is not vacuous: every kinked layer uses more than one of its pieces
        // (both ReLU sides, several Maxout winners, clamped and unclamped outputs).
        var h = x
        for layer in net.layers {
            switch layer {
            case is ReLU, is LeakyReLU:
                #expect(h.array.contains { $0 > 0 } && h.array.contains { $0 < 0 }, "\(layer.kind)")
            case let c as Clamp:
                #expect(h.array.contains { $0 < c.minimum || $0 > c.maximum }, "some outputs clamped")
                #expect(h.array.contains { $0 > c.minimum && $0 < c.maximum }, "some outputs inside")
            case is Maxout:
                #expect(Set(kinkPattern(Sequential(layer), h)).count > 1, "several winning pieces")
            default: break
            }
            h = layer.forward(h, training: true).clone()
        }
        let r = gradientCheck(net, input: x)
        #expect(r.worstError < gradientTolerance, "\(r)")
        #expect(r.checked == x.count + net.parameterCount)
        // Same network, frozen: input gradient only, parameter gradients untouched (the helper
        // checks they stay zero).
        let frozen = gradientCheck(net, input: x, parameterGradients: false)
        #expect(frozen.worstError < gradientTolerance, "\(frozen)")
        #expect(net.parameters.allSatisfy { $0.gradient.array.allSatisfy { $0 == 0 } })
    }

    static func stack(_ which: Int, seed: UInt64) -> (Sequential, Tensor) {
        var rng = RNG(seed: seed)
        let x = randomTensor([3, 3], seed: seed &+ 1000)
        if which == 0 {
            let net = Sequential(Linear(3, 8, rng: &rng), LeakyReLU(alpha: 0.2), Linear(8, 12, rng: &rng),
                                 Maxout(pieces: 3), Linear(4, 2, rng: &rng), Sigmoid())
            return (net, x)
        }
        // Clamp bounds inside the output range so some outputs are clamped, some not.
        let net = Sequential(Linear(3, 6, rng: &rng), Tanh(), Linear(6, 6, rng: &rng), ReLU(),
                             Linear(6, 4, rng: &rng), Clamp(min: -0.2, max: 0.2))
        return (net, x)
    }

    @Test("Linear in .inputOnly mode: correct input gradient, no parameter gradients")
    func linearInputOnly() {
        var rng = RNG(seed: 8)
        let layer = Linear(4, 3, rng: &rng)
        let r = gradientCheck(layer, input: randomTensor([5, 4], seed: 9), parameterGradients: false)
        #expect(r.worstError < gradientTolerance, "\(r)")
        #expect(layer.parameters.allSatisfy { $0.gradient.array.allSatisfy { $0 == 0 } })
    }

    /// `.parameterGradients` alone returns nil and accumulates exactly what `.full` accumulates;
    /// `.inputOnly` returns exactly the `.full` input gradient.
    @Test("backward modes agree with .full")
    func modes() throws {
        let (net, x) = Self.stack(0, seed: 11)
        let dy = randomTensor([3, 2], seed: 12)
        net.zeroGradients()
        _ = net.forward(x, training: true)
        let dxFull = try #require(net.backward(dy, mode: .full)).clone()
        let gradsFull = net.parameters.map { $0.gradient.clone() }
        #expect(gradsFull.contains { $0.array.contains { $0 != 0 } })

        net.zeroGradients()
        _ = net.forward(x, training: true)
        #expect(net.backward(dy, mode: .parameterGradients) == nil)
        for (p, g) in zip(net.parameters, gradsFull) { #expect(p.gradient.bitwiseEqual(g), "\(p.name)") }

        net.zeroGradients()
        _ = net.forward(x, training: true)
        let dxInput = try #require(net.backward(dy, mode: .inputOnly))
        #expect(dxInput.bitwiseEqual(dxFull))
        #expect(net.parameters.allSatisfy { $0.gradient.array.allSatisfy { $0 == 0 } })

        // Every layer kind on its own returns nil without .inputGradient.
        for c in ActivationCase.allCases {
            let layer = c.make()
            let y = layer.forward(c.input(), training: true)
            #expect(layer.backward(y.clone(), mode: .parameterGradients) == nil, "\(c)")
        }
        var rng = RNG(seed: 13)
        let linear = Linear(3, 2, rng: &rng)
        _ = linear.forward(x, training: true)
        #expect(linear.backward(dy, mode: .parameterGradients) == nil)
    }

    @Test("parameter gradients accumulate: two backward passes give twice the gradient")
    func accumulation() {
        let (net, x) = Self.stack(0, seed: 14)
        let dy = randomTensor([3, 2], seed: 15)
        net.zeroGradients()
        _ = net.forward(x, training: true)
        net.backward(dy, mode: .full)
        let once = net.parameters.map { $0.gradient.array }
        net.backward(dy, mode: .full)
        for (p, g) in zip(net.parameters, once) {
            #expect(closeness(p.gradient.array, g.map { 2 * $0 }, rtol: 1e-6, atol: 1e-7) <= 1, "\(p.name)")
        }
        // A third pass on a different batch adds that batch's gradient.
        let x2 = randomTensor([3, 3], seed: 16)
        let before = net.parameters.map { $0.gradient.array }
        let single = Self.stack(0, seed: 14).0   // same weights, fresh gradients
        _ = single.forward(x2, training: true)
        single.backward(dy, mode: .full)
        _ = net.forward(x2, training: true)
        net.backward(dy, mode: .full)
        for ((p, b), s) in zip(zip(net.parameters, before), single.parameters) {
            let expected = zip(b, s.gradient.array).map { $0 + $1 }
            #expect(closeness(p.gradient.array, expected, rtol: 1e-6, atol: 1e-7) <= 1, "\(p.name)")
        }
    }

    @Test("Maxout sends the gradient to the first maximal piece on ties")
    func maxoutTies() throws {
        let m = Maxout(pieces: 3)
        let x = Tensor(shape: [1, 6], values: [1, 5, 5, 2, 2, 2])
        let y = m.forward(x, training: true)
        #expect(y.shape == [1, 2] && y.array == [5, 2])
        let dx = try #require(m.backward(Tensor(shape: [1, 2], values: [3, 7]), mode: .full))
        #expect(dx.array == [0, 3, 0, 7, 0, 0])
    }
}

@Suite("Layer forward values")
struct LayerForwardTests {
    @Test("Linear computes x·Wᵀ + b")
    func linear() {
        for bias in [true, false] {
            var rng = RNG(seed: 21)
            let layer = Linear(5, 3, bias: bias, rng: &rng)
            let x = randomTensor([4, 5], seed: 22)
            let y = layer.forward(x, training: true)
            #expect(y.shape == [4, 3])
            var expected = [Float]()
            for n in 0..<4 {
                for o in 0..<3 {
                    var s = bias ? Double(layer.bias!.value[o]) : 0
                    for i in 0..<5 { s += Double(x[n * 5 + i]) * Double(layer.weight.value[o * 5 + i]) }
                    expected.append(Float(s))
                }
            }
            #expect(closeness(y.array, expected, rtol: 1e-5, atol: 1e-6) <= 1)
        }
    }

    @Test("activations match their formulas")
    func activations() {
        let x = randomTensor([5, 6], seed: 23, std: 3)
        let xs = x.array.map(Double.init)
        func check(_ layer: Layer, _ f: (Double) -> Double, _ label: String) {
            let y = layer.forward(x, training: true)
            #expect(y.shape == x.shape, "\(label)")
            #expect(closeness(y.array, xs.map { Float(f($0)) }, rtol: 2e-6, atol: 1e-7) <= 1, "\(label)")
        }
        check(ReLU(), { max($0, 0) }, "relu")
        check(LeakyReLU(alpha: 0.2), { $0 > 0 ? $0 : 0.2 * $0 }, "leaky")
        check(Sigmoid(), { 1 / (1 + exp(-$0)) }, "sigmoid")
        check(Tanh(), { Foundation.tanh($0) }, "tanh")
        check(Clamp(min: -1, max: 2), { min(max($0, -1), 2) }, "clamp")
        let m = Maxout(pieces: 2).forward(x, training: true)
        #expect(m.shape == [5, 3])
        #expect(m.array == (0..<15).map { max(x[2 * $0], x[2 * $0 + 1]) })
        #expect(Maxout(pieces: 3).outputShape(for: [12]) == [4])
        #expect(Maxout(pieces: 5).outputShape(for: [12]) == nil)
    }

    @Test("Sigmoid and Tanh saturate cleanly at ±100")
    func saturation() throws {
        let x = Tensor(shape: [4], values: [-100, 100, -1000, 1000])
        let s = Sigmoid()
        #expect(s.forward(x, training: true).array == [0, 1, 0, 1])
        let ds = try #require(s.backward(Tensor(shape: [4], values: [1, 1, 1, 1]), mode: .full))
        #expect(ds.array.allSatisfy { $0.isFinite && abs($0) < 1e-30 })
        let t = Tanh()
        #expect(t.forward(x, training: true).array == [-1, 1, -1, 1])
        let dt = try #require(t.backward(Tensor(shape: [4], values: [1, 1, 1, 1]), mode: .full))
        #expect(dt.array == [0, 0, 0, 0])
    }

    @Test("Clamp.probability(0.01, 0.99) then a sigmoid stays within [0.01, 0.99]")
    func clampProbability() {
        let c = Clamp.probability(0.01, 0.99)
        #expect(abs(Double(c.minimum) - log(0.01 / 0.99)) < 1e-5)
        #expect(abs(Double(c.maximum) - log(0.99 / 0.01)) < 1e-5)
        let x = tensor([2001]) { Float($0 - 1000) * 0.1 }   // -100 ... 100
        let p = Sigmoid().forward(c.forward(x, training: true), training: true).array
        #expect(p.allSatisfy { $0 >= 0.01 && $0 <= 0.99 }, "min \(p.min()!) max \(p.max()!)")
        #expect(p.first! < 0.0101 && p.last! > 0.9899, "the bounds are reached")
        // Inside the bounds the probability is untouched.
        #expect(abs(p[1000] - 0.5) < 1e-7)
    }
}
