import Foundation
import Testing
import GANNN
import GANTestSupport
@_spi(Testing) import GANTensor

/// Empirical moments of each initialiser over a large tensor against `torch.nn.init`'s formulas.
///
/// Bounds: 5 standard errors. For n samples with standard deviation σ, SE(mean) = σ/√n and
/// SE(std) ≈ σ·√((κ - 1) / 4n), with kurtosis κ = 3 for a normal and 9/5 for a uniform.
/// Uniform initialisers are also checked for their exact support [-a, a).
@Suite("Initializers")
struct InitializerTests {
    static let shape = [256, 400]   // weight [out, in]: fanIn 400, fanOut 256
    static let fanIn = 400, fanOut = 256

    struct Moments { var mean: Double, std: Double, min: Float, max: Float, n: Int }

    func sample(_ initializer: Initializer, shape: [Int] = shape, fanIn: Int = fanIn, fanOut: Int = fanOut,
                seed: UInt64 = 1) -> (Tensor, Moments) {
        let t = Tensor(shape: shape)
        t.fill(.nan)
        var rng = RNG(seed: seed)
        initializer.fill(t, fanIn: fanIn, fanOut: fanOut, rng: &rng)
        let v = t.array
        let n = Double(v.count)
        let mean = v.reduce(0.0) { $0 + Double($1) } / n
        let variance = v.reduce(0.0) { $0 + pow(Double($1) - mean, 2) } / (n - 1)
        return (t, Moments(mean: mean, std: variance.squareRoot(), min: v.min()!, max: v.max()!, n: v.count))
    }

    func expectNormal(_ m: Moments, mean: Double, std: Double, _ label: String) {
        let n = Double(m.n)
        #expect(abs(m.mean - mean) < 5 * std / n.squareRoot(), "\(label): mean \(m.mean) expected \(mean)")
        #expect(abs(m.std - std) < 5 * std * (2 / (4 * n)).squareRoot(), "\(label): std \(m.std) expected \(std)")
    }

    func expectUniform(_ m: Moments, low: Double, high: Double, _ label: String) {
        let n = Double(m.n), std = (high - low) / 12.0.squareRoot()
        #expect(Double(m.min) >= low && Double(m.max) < high, "\(label): range [\(m.min), \(m.max)] outside [\(low), \(high))")
        // With 10^5 samples the extremes come within 1e-3 of the bounds (miss probability ~e^-100).
        #expect(Double(m.min) < low + 1e-3 * (high - low) && Double(m.max) > high - 1e-3 * (high - low),
                "\(label): range [\(m.min), \(m.max)] does not fill [\(low), \(high))")
        #expect(abs(m.mean - (low + high) / 2) < 5 * std / n.squareRoot(), "\(label): mean \(m.mean)")
        #expect(abs(m.std - std) < 5 * std * (0.8 / (4 * n)).squareRoot(), "\(label): std \(m.std) expected \(std)")
    }

    @Test("xavier_normal: std = gain·sqrt(2 / (fanIn + fanOut))")
    func xavierNormal() {
        for gain: Float in [1, 2] {
            let (_, m) = sample(.xavierNormal(gain: gain))
            expectNormal(m, mean: 0, std: Double(gain) * (2.0 / Double(Self.fanIn + Self.fanOut)).squareRoot(), "gain \(gain)")
        }
    }

    @Test("xavier_uniform: U(±gain·sqrt(6 / (fanIn + fanOut)))")
    func xavierUniform() {
        for gain: Float in [1, 0.5] {
            let a = Double(gain) * (6.0 / Double(Self.fanIn + Self.fanOut)).squareRoot()
            let (_, m) = sample(.xavierUniform(gain: gain))
            expectUniform(m, low: -a, high: a, "gain \(gain)")
        }
    }

    @Test("kaiming_normal (fan_in): std = sqrt(2 / (1 + a²)) / sqrt(fanIn)")
    func heNormal() {
        for slope: Float in [0, 0.2] {
            let gain = (2 / (1 + Double(slope) * Double(slope))).squareRoot()
            let (_, m) = sample(.heNormal(negativeSlope: slope))
            expectNormal(m, mean: 0, std: gain / Double(Self.fanIn).squareRoot(), "slope \(slope)")
        }
    }

    @Test("kaiming_uniform (fan_in): U(±sqrt(2 / (1 + a²))·sqrt(3 / fanIn))")
    func heUniform() {
        for slope: Float in [0, 0.2] {
            let b = (2 / (1 + Double(slope) * Double(slope))).squareRoot() * (3 / Double(Self.fanIn)).squareRoot()
            let (_, m) = sample(.heUniform(negativeSlope: slope))
            expectUniform(m, low: -b, high: b, "slope \(slope)")
        }
    }

    @Test("PyTorch Linear default: kaiming_uniform(a = √5) = U(±1/√fanIn), bias U(±1/√fanIn)")
    func pytorchDefault() {
        // kaiming_uniform_ with a = √5: gain = sqrt(2 / 6), bound = gain·sqrt(3 / fanIn) = 1/√fanIn.
        let b = 1 / Double(Self.fanIn).squareRoot()
        let gain = (2.0 / (1 + 5)).squareRoot()
        #expect(abs(gain * (3 / Double(Self.fanIn)).squareRoot() - b) < 1e-12)
        let (_, m) = sample(.pytorchDefault)
        expectUniform(m, low: -b, high: b, "weight")
        let (_, mb) = sample(.pytorchDefaultBias, shape: [100_000])
        expectUniform(mb, low: -b, high: b, "bias")
    }

    @Test("normal(mean, std), uniform(low, high), zeros, constant")
    func simple() {
        let (_, m) = sample(.normal(mean: 0.5, std: 0.02))
        expectNormal(m, mean: 0.5, std: 0.02, "normal")
        let (_, u) = sample(.uniform(low: -0.3, high: 0.7))
        expectUniform(u, low: -0.3, high: 0.7, "uniform")
        let (z, _) = sample(.zeros, shape: [3, 4])
        #expect(z.array == [Float](repeating: 0, count: 12))
        let (c, _) = sample(.constant(2.5), shape: [3, 4])
        #expect(c.array == [Float](repeating: 2.5, count: 12))
    }

    @Test("initialisation is reproducible from the seed")
    func reproducible() {
        for initializer in [Initializer.xavierNormal(), .heUniform(), .pytorchDefault] {
            let (a, _) = sample(initializer, shape: [8, 8], seed: 3)
            let (b, _) = sample(initializer, shape: [8, 8], seed: 3)
            let (c, _) = sample(initializer, shape: [8, 8], seed: 4)
            #expect(a.bitwiseEqual(b))
            #expect(!a.bitwiseEqual(c))
        }
    }

    @Test("Linear(in, out, rng:) uses fanIn = in: PyTorch default weight and bias, or zero bias otherwise")
    func linearInit() {
        var rng = RNG(seed: 5)
        let layer = Linear(400, 300, rng: &rng)
        let b = 1 / 400.0.squareRoot()
        let w = layer.weight.value.array, bias = layer.bias!.value.array
        #expect(w.allSatisfy { abs(Double($0)) <= b } && w.contains { abs(Double($0)) > 0.99 * b })
        #expect(bias.allSatisfy { abs(Double($0)) <= b } && bias.contains { abs(Double($0)) > 0.9 * b })
        let wStd = (w.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(w.count)).squareRoot()
        #expect(abs(wStd - b / 3.0.squareRoot()) < 5 * b / 3.0.squareRoot() * (0.8 / (4 * Double(w.count))).squareRoot())

        var rng2 = RNG(seed: 6)
        let xavier = Linear(400, 300, weightInit: .xavierNormal(), rng: &rng2)
        #expect(xavier.bias!.value.array.allSatisfy { $0 == 0 }, "non-default weight init: zero bias unless given")
        let xs = xavier.weight.value.array
        let xStd = (xs.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(xs.count)).squareRoot()
        let expected = (2.0 / 700).squareRoot()
        #expect(abs(xStd - expected) < 5 * expected / (2 * Double(xs.count)).squareRoot())

        var rng3 = RNG(seed: 7)
        let custom = Linear(4, 3, weightInit: .zeros, biasInit: .constant(0.1), rng: &rng3)
        #expect(custom.bias!.value.array == [0.1, 0.1, 0.1])
        #expect(custom.weight.value.array.allSatisfy { $0 == 0 })
    }
}
