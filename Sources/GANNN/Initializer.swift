import Foundation

/// Weight initialisers, with PyTorch's definitions of fan-in / fan-out (for a weight `[out, in, ...]`:
/// fanIn = in x receptive field, fanOut = out x receptive field).
public enum Initializer: Equatable, Sendable {
    /// `torch.nn.init.xavier_normal_`: N(0, gain² · 2 / (fanIn + fanOut)).
    case xavierNormal(gain: Float = 1)
    /// `xavier_uniform_`: U(-a, a), a = gain · sqrt(6 / (fanIn + fanOut)).
    case xavierUniform(gain: Float = 1)
    /// `kaiming_normal_(mode="fan_in")`: N(0, gain² / fanIn), gain = sqrt(2 / (1 + a²)).
    case heNormal(negativeSlope: Float = 0)
    /// `kaiming_uniform_(mode="fan_in")`: U(-b, b), b = gain · sqrt(3 / fanIn).
    case heUniform(negativeSlope: Float = 0)
    /// N(mean, std²), e.g. DCGAN's N(0, 0.02).
    case normal(mean: Float = 0, std: Float)
    /// U(low, high).
    case uniform(low: Float, high: Float)
    case zeros
    case constant(Float)
    /// PyTorch's default for Linear/Conv weights: kaiming_uniform_(a = sqrt(5)) = U(±1/sqrt(fanIn)).
    case pytorchDefault
    /// PyTorch's default for Linear/Conv biases: U(±1/sqrt(fanIn)).
    case pytorchDefaultBias

    public func fill(_ t: Tensor, fanIn: Int, fanOut: Int, rng: inout RNG) {
        let fi = Float(fanIn), fo = Float(fanOut)
        switch self {
        case .xavierNormal(let gain):
            rng.fillNormal(t, std: gain * (2 / (fi + fo)).squareRoot())
        case .xavierUniform(let gain):
            let a = gain * (6 / (fi + fo)).squareRoot()
            rng.fillUniform(t, low: -a, high: a)
        case .heNormal(let slope):
            let gain = (2 / (1 + slope * slope)).squareRoot()
            rng.fillNormal(t, std: gain / fi.squareRoot())
        case .heUniform(let slope):
            let b = (2 / (1 + slope * slope)).squareRoot() * (3 / fi).squareRoot()
            rng.fillUniform(t, low: -b, high: b)
        case .normal(let mean, let std):
            rng.fillNormal(t, mean: mean, std: std)
        case .uniform(let low, let high):
            rng.fillUniform(t, low: low, high: high)
        case .zeros:
            t.fill(0)
        case .constant(let v):
            t.fill(v)
        case .pytorchDefault, .pytorchDefaultBias:
            let b = 1 / fi.squareRoot()
            rng.fillUniform(t, low: -b, high: b)
        }
    }
}

extension Initializer {
    /// Initialises a layer's weight and optional bias with the fans of the weight's layout
    /// (`fans(weightShape:)`); the bias defaults to PyTorch's bias rule for `.pytorchDefault`,
    /// else zeros.
    static func initialize(weight: Parameter, bias: Parameter?, weightInit: Initializer, biasInit: Initializer?, rng: inout RNG) {
        let (fanIn, fanOut) = fans(weightShape: weight.value.shape)
        weightInit.fill(weight.value, fanIn: fanIn, fanOut: fanOut, rng: &rng)
        if let b = bias {
            (biasInit ?? (weightInit == .pytorchDefault ? .pytorchDefaultBias : .zeros)).fill(b.value, fanIn: fanIn, fanOut: fanOut, rng: &rng)
        }
    }

    /// PyTorch's `_calculate_fan_in_and_fan_out` for a weight of shape `[d0, d1, ...]`:
    /// fanIn = d1 · receptive field, fanOut = d0 · receptive field (receptive field = Π d2...).
    /// So Linear `[out, in]` -> (in, out), Conv2d `[out, in, k, k]` -> (in·k², out·k²) and
    /// ConvTranspose2d `[in, out, k, k]` -> (out·k², in·k²), as PyTorch computes them.
    public static func fans(weightShape shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        precondition(shape.count >= 2, "Initializer.fans: weight shape \(shape) needs at least 2 dimensions")
        let receptive = shape.dropFirst(2).reduce(1, *)
        return (shape[1] * receptive, shape[0] * receptive)
    }
}
