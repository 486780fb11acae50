/// Virtual batch normalisation (Salimans et al. 2016, "Improved Techniques for Training GANs",
/// §3.4), following the authors' code (openai/improved-gan, `VBN`): input `[N, C]` or
/// `[N, C, H, W]`, learnable γ (`weight`, init 1) and β (`bias`, init 0) per channel.
///
/// Reference pass (`recordingReference == true`, see `Sequential.recordReference`): the layer
/// computes the reference batch's per-channel mean μ_R and mean of squares s_R over N·H·W
/// (accumulated in Double), stores them with the batch size n, and outputs the reference
/// normalised by them: y = γ · (x - μ_R) / sqrt(s_R - μ_R² + eps) + β.
///
/// Ordinary pass: each example i is normalised with the statistics of the reference batch plus
/// itself. With x̄_i and x²̄_i its own per-channel spatial means (the value and its square for
/// `[N, C]`) and a = 1/(n + 1):
///
///     μ_i = a·x̄_i + (1 - a)·μ_R      s_i = a·x²̄_i + (1 - a)·s_R      σ²_i = s_i - μ_i²
///     y_i = γ · (x_i - μ_i) / sqrt(σ²_i + eps) + β
///
/// so an example's output depends on the reference batch and on itself, never on the other
/// examples of its batch. `training` makes no difference.
///
/// Backward: the reference statistics are constants — gradients do not flow through the
/// reference batch's statistics into the reference examples (as if the reference pass were run
/// under stop-gradient) — but the example's own contribution to μ_i and σ²_i is differentiated
/// exactly. With x̂ = (x - μ_i)/σ_i, d = γ·dy and S values per (example, channel):
/// dx = (1/σ_i) · (d - (a/S)·Σd - x̂·(a/S)·Σ d·x̂). A backward after a reference pass is the exact
/// gradient of that pass (batch normalisation over the reference batch, a = 1, S = N·H·W).
///
/// `reference_mean`, `reference_mean_sq` `[C]` and `reference_size` `[1]` (n) are buffers, so a
/// checkpoint carries the latest reference statistics: a resumed run, or a generator loaded for
/// sampling, has them before (or without) its first reference pass.
public final class VirtualBatchNorm: ReferenceBatchLayer {
    public let features: Int
    public let eps: Float
    public let weight: Parameter
    public let bias: Parameter
    /// μ_R per channel.
    public let referenceMean: Tensor
    /// s_R (mean of squares) per channel.
    public let referenceMeanSquare: Tensor
    /// [n], the reference batch size; 0 until a reference has been recorded or loaded.
    public let referenceSize: Tensor
    /// When true, `forward` records its batch as the reference (set by `Sequential.recordReference`).
    public var recordingReference = false
    public var kind: String { "virtual_batch_norm" }
    public var parameters: [Parameter] { [weight, bias] }
    public var buffers: [(name: String, tensor: Tensor)] {
        [("reference_mean", referenceMean), ("reference_mean_sq", referenceMeanSquare), ("reference_size", referenceSize)]
    }

    private let output = Tensor(shape: [0])
    private let normalized = Tensor(shape: [0])      // x̂, kept for backward
    private let inverseStd = Tensor(shape: [0])      // 1/σ_i per (example, channel) of an ordinary pass
    private let referenceInverseStd: Tensor          // 1/σ_R per channel of a reference pass
    private let inputGradient = Tensor(shape: [0])
    private var sum: [Double]
    private var sumSquares: [Double]
    private var lastWasReference = false
    private var newCoefficient = 0.0                 // a = 1/(n + 1) of the latest ordinary pass

    public init(features: Int, eps: Float = 1e-5) {
        precondition(features > 0, "VirtualBatchNorm needs features > 0")
        precondition(eps > 0, "VirtualBatchNorm: eps must be positive")
        (self.features, self.eps) = (features, eps)
        (weight, bias) = affineParameters(features: features)
        referenceMean = Tensor(shape: [features])
        referenceMeanSquare = Tensor(shape: [features])
        referenceSize = Tensor(shape: [1])
        referenceInverseStd = Tensor(shape: [features])
        sum = [Double](repeating: 0, count: features)
        sumSquares = [Double](repeating: 0, count: features)
    }

    /// Whether reference statistics are available (recorded or loaded).
    public var hasReference: Bool { referenceSize[0] > 0 }

    public func outputShape(for inputShape: [Int]) -> [Int]? {
        inputShape.first == features ? inputShape : nil
    }

    private func geometry(_ x: Tensor) -> (Int, Int) { channelGeometry(x, features: features, layer: "VirtualBatchNorm") }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let (n, s) = geometry(x), c = features
        output.resize(x.shape)
        normalized.resize(x.shape)
        lastWasReference = recordingReference
        let xp = x.data, y = output.data, xh = normalized.data, g = weight.value.data, b = bias.value.data
        if recordingReference {
            precondition(n > 0, "VirtualBatchNorm: the reference batch is empty")
            let m = Double(n * s)
            for ch in 0..<c { sum[ch] = 0; sumSquares[ch] = 0 }
            for i in 0..<n {
                for ch in 0..<c {
                    let row = xp + (i * c + ch) * s
                    var s1 = 0.0, s2 = 0.0
                    for k in 0..<s { let v = Double(row[k]); s1 += v; s2 += v * v }
                    sum[ch] += s1
                    sumSquares[ch] += s2
                }
            }
            for ch in 0..<c {
                referenceMean[ch] = Float(sum[ch] / m)
                referenceMeanSquare[ch] = Float(sumSquares[ch] / m)
            }
            referenceSize[0] = Float(n)
            // Normalise by the stored (Float) statistics, exactly as later passes combine them.
            for ch in 0..<c {
                let mean = Double(referenceMean[ch]), variance = max(Double(referenceMeanSquare[ch]) - mean * mean, 0)
                referenceInverseStd[ch] = Float(1 / (variance + Double(eps)).squareRoot())
            }
            for i in 0..<n {
                for ch in 0..<c {
                    let o = (i * c + ch) * s, mean = referenceMean[ch], inv = referenceInverseStd[ch], gc = g[ch], bc = b[ch]
                    for k in 0..<s {
                        let v = (xp[o + k] - mean) * inv
                        xh[o + k] = v
                        y[o + k] = gc * v + bc
                    }
                }
            }
            return output
        }
        precondition(hasReference, "VirtualBatchNorm: no reference statistics; record a reference batch first "
                     + "(Sequential.recordReference) or load them from a checkpoint")
        newCoefficient = 1 / (Double(referenceSize[0]) + 1)
        let oldCoefficient = 1 - newCoefficient
        inverseStd.resize(rows: n, columns: c)
        let inv = inverseStd.data
        for i in 0..<n {
            for ch in 0..<c {
                let o = (i * c + ch) * s
                var s1 = 0.0, s2 = 0.0
                for k in 0..<s { let v = Double(xp[o + k]); s1 += v; s2 += v * v }
                let mean = newCoefficient * s1 / Double(s) + oldCoefficient * Double(referenceMean[ch])
                let meanSquare = newCoefficient * s2 / Double(s) + oldCoefficient * Double(referenceMeanSquare[ch])
                let variance = max(meanSquare - mean * mean, 0)
                let invStd = Float(1 / (variance + Double(eps)).squareRoot())
                inv[i * c + ch] = invStd
                let mu = Float(mean), gc = g[ch], bc = b[ch]
                for k in 0..<s {
                    let v = (xp[o + k] - mu) * invStd
                    xh[o + k] = v
                    y[o + k] = gc * v + bc
                }
            }
        }
        return output
    }

    public func backward(_ dy: Tensor, mode: BackwardMode) -> Tensor? { backward(dy, mode: mode, into: inputGradient) }

    public func backward(_ dy: Tensor, mode: BackwardMode, into gradient: Tensor) -> Tensor? {
        precondition(dy.count == output.count, "VirtualBatchNorm.backward: dy \(dy.shape) does not match output \(output.shape)")
        let n = output.shape[0], c = features, s = output.count / max(n * c, 1)
        let gy = dy.data, xh = normalized.data
        // Σ dy and Σ dy·x̂ per channel: dγ, dβ and the reference pass's input gradient need them.
        let wantsInput = mode.contains(.inputGradient)
        if mode.contains(.parameterGradients) || (wantsInput && lastWasReference) {
            channelGradientSums(gy, xh, n: n, c: c, s: s, sum: &sum, sumDyXh: &sumSquares)
        }
        if mode.contains(.parameterGradients) {
            let dw = weight.gradient.data, db = bias.gradient.data
            for ch in 0..<c { dw[ch] += Float(sumSquares[ch]); db[ch] += Float(sum[ch]) }
        }
        guard wantsInput else { return nil }
        gradient.resize(output.shape)
        let dx = gradient.data, w = weight.value.data
        if lastWasReference {
            // Batch normalisation over the reference batch: dx = γ/σ · (dy - mean(dy) - x̂·mean(dy·x̂)).
            let m = Double(n * s)
            for i in 0..<n {
                for ch in 0..<c {
                    let o = (i * c + ch) * s, k0 = w[ch] * referenceInverseStd[ch]
                    let meanDy = Float(sum[ch] / m), meanDyXh = Float(sumSquares[ch] / m)
                    for k in 0..<s { dx[o + k] = k0 * (gy[o + k] - meanDy - xh[o + k] * meanDyXh) }
                }
            }
            return gradient
        }
        // Per example: dx = γ/σ_i · (dy - (a/S)·Σdy - x̂·(a/S)·Σ dy·x̂), a = 1/(n + 1).
        let scale = newCoefficient / Double(s), inv = inverseStd.data
        for i in 0..<n {
            for ch in 0..<c {
                let o = (i * c + ch) * s
                var s1 = 0.0, s2 = 0.0
                for k in 0..<s { s1 += Double(gy[o + k]); s2 += Double(gy[o + k]) * Double(xh[o + k]) }
                let k0 = w[ch] * inv[i * c + ch], c1 = Float(scale * s1), c2 = Float(scale * s2)
                for k in 0..<s { dx[o + k] = k0 * (gy[o + k] - c1 - xh[o + k] * c2) }
            }
        }
        return gradient
    }
}

extension VirtualBatchNorm: SpecifiedLayer {
    public var spec: LayerSpec { .virtualBatchNorm(features: features, eps: eps) }
}
