/// Batch normalisation (Ioffe & Szegedy 2015) with PyTorch's semantics (`BatchNorm1d/2d`):
/// input `[N, C]` or `[N, C, H, W]`, statistics per channel over N (and H·W).
///
/// Training: y = γ · (x - μ_B) / sqrt(σ²_B + eps) + β with the batch's biased variance; the
/// running statistics move by `momentum`: running_mean ← (1 - m)·running_mean + m·μ_B and
/// running_var ← (1 - m)·running_var + m·σ²_B·M/(M - 1) (unbiased, M = N·H·W).
/// Evaluation (`training: false`): the running statistics are used instead.
/// `running_mean` / `running_var` are buffers, so checkpoints carry them and resume is exact.
public final class BatchNorm: Layer {
    public let features: Int
    public let momentum: Float
    public let eps: Float
    public let weight: Parameter
    public let bias: Parameter
    public let runningMean: Tensor
    public let runningVar: Tensor
    public var kind: String { "batch_norm" }
    public var parameters: [Parameter] { [weight, bias] }
    public var buffers: [(name: String, tensor: Tensor)] { [("running_mean", runningMean), ("running_var", runningVar)] }

    private let output = Tensor(shape: [0])
    private let normalized = Tensor(shape: [0])   // x̂, kept for backward
    private let inputGradient = Tensor(shape: [0])
    private var inverseStd: [Float]
    private var sum: [Double]
    private var sumSquares: [Double]
    private var usedBatchStatistics = true

    public init(features: Int, momentum: Float = 0.1, eps: Float = 1e-5) {
        precondition(features > 0, "BatchNorm needs features > 0")
        precondition(momentum >= 0 && momentum <= 1 && eps > 0, "BatchNorm: momentum in [0, 1] and eps > 0")
        self.features = features
        self.momentum = momentum
        self.eps = eps
        weight = Parameter("weight", shape: [features])
        bias = Parameter("bias", shape: [features])
        weight.value.fill(1)
        runningMean = Tensor(shape: [features])
        runningVar = Tensor(shape: [features])
        runningVar.fill(1)
        inverseStd = [Float](repeating: 1, count: features)
        sum = [Double](repeating: 0, count: features)
        sumSquares = [Double](repeating: 0, count: features)
    }

    public func outputShape(for inputShape: [Int]) -> [Int]? {
        inputShape.first == features ? inputShape : nil
    }

    private func geometry(_ x: Tensor) -> (Int, Int) { channelGeometry(x, features: features, layer: "BatchNorm") }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let (n, s) = geometry(x), c = features, m = n * s
        output.resize(x.shape)
        normalized.resize(x.shape)
        let xp = x.data, y = output.data, xh = normalized.data, g = weight.value.data, b = bias.value.data
        usedBatchStatistics = training
        if training {
            precondition(m > 1, "BatchNorm in training mode needs more than one value per channel, got input \(x.shape)")
            for ch in 0..<c { sum[ch] = 0; sumSquares[ch] = 0 }
            for i in 0..<n {
                for ch in 0..<c {
                    let row = xp + (i * c + ch) * s
                    var s1: Float = 0, s2: Float = 0
                    for k in 0..<s { s1 += row[k]; s2 += row[k] * row[k] }
                    sum[ch] += Double(s1)
                    sumSquares[ch] += Double(s2)
                }
            }
            let rm = runningMean.data, rv = runningVar.data
            for ch in 0..<c {
                let mean = sum[ch] / Double(m)
                let variance = max(sumSquares[ch] / Double(m) - mean * mean, 0)
                inverseStd[ch] = Float(1 / (variance + Double(eps)).squareRoot())
                sum[ch] = mean  // reuse as the mean for normalisation below
                rm[ch] = (1 - momentum) * rm[ch] + momentum * Float(mean)
                rv[ch] = (1 - momentum) * rv[ch] + momentum * Float(variance * Double(m) / Double(m - 1))
            }
        } else {
            let rm = runningMean.data, rv = runningVar.data
            for ch in 0..<c {
                sum[ch] = Double(rm[ch])
                inverseStd[ch] = 1 / (rv[ch] + eps).squareRoot()
            }
        }
        for i in 0..<n {
            for ch in 0..<c {
                let o = (i * c + ch) * s, mean = Float(sum[ch]), inv = inverseStd[ch], gc = g[ch], bc = b[ch]
                for k in 0..<s {
                    let v = (xp[o + k] - mean) * inv
                    xh[o + k] = v
                    y[o + k] = gc * v + bc
                }
            }
        }
        return output
    }

    public func backward(_ dy: Tensor, mode: BackwardMode) -> Tensor? {
        precondition(dy.count == output.count, "BatchNorm.backward: dy \(dy.shape) does not match output \(output.shape)")
        let n = output.shape[0], c = features, s = output.count / max(n * c, 1), m = Double(n * s)
        let g = dy.data, xh = normalized.data
        // Σ dy and Σ dy·x̂ per channel (needed by both gradients).
        channelGradientSums(g, xh, n: n, c: c, s: s, sum: &sum, sumDyXh: &sumSquares)
        if mode.contains(.parameterGradients) {
            let dw = weight.gradient.data, db = bias.gradient.data
            for ch in 0..<c { dw[ch] += Float(sumSquares[ch]); db[ch] += Float(sum[ch]) }
        }
        guard mode.contains(.inputGradient) else { return nil }
        inputGradient.resize(output.shape)
        let dx = inputGradient.data, w = weight.value.data
        for i in 0..<n {
            for ch in 0..<c {
                let o = (i * c + ch) * s, k0 = w[ch] * inverseStd[ch]
                if usedBatchStatistics {
                    // dx = γ/σ · (dy - mean(dy) - x̂ · mean(dy·x̂))
                    let meanDy = Float(sum[ch] / m), meanDyXh = Float(sumSquares[ch] / m)
                    for k in 0..<s { dx[o + k] = k0 * (g[o + k] - meanDy - xh[o + k] * meanDyXh) }
                } else {
                    for k in 0..<s { dx[o + k] = k0 * g[o + k] }
                }
            }
        }
        return inputGradient
    }
}

/// Per-channel Σ dy and Σ dy·x̂ over the batch and spatial positions of `[N, C]` or `[N, C, H, W]`
/// tensors (`s` = H·W, 1 for `[N, C]`), each (example, channel) run summed in Float, then
/// accumulated in Double: the two sums every batch-norm-style backward needs (BatchNorm,
/// VirtualBatchNorm's reference pass) for dγ, dβ and the batch-statistics input gradient.
func channelGradientSums(_ dy: UnsafePointer<Float>, _ xh: UnsafePointer<Float>, n: Int, c: Int, s: Int,
                         sum: inout [Double], sumDyXh: inout [Double]) {
    for ch in 0..<c { sum[ch] = 0; sumDyXh[ch] = 0 }
    for i in 0..<n {
        for ch in 0..<c {
            let o = (i * c + ch) * s
            var a: Float = 0, b: Float = 0
            for k in 0..<s { a += dy[o + k]; b += dy[o + k] * xh[o + k] }
            sum[ch] += Double(a)
            sumDyXh[ch] += Double(b)
        }
    }
}

/// (N, S) of a `[N, C]` or `[N, C, H, W]` input to a per-channel normalisation layer: the batch
/// and the spatial size per channel (1 for `[N, C]`); traps with the layer's name on a wrong shape.
func channelGeometry(_ x: Tensor, features: Int, layer: String) -> (Int, Int) {
    precondition(x.shape.count >= 2 && x.shape[1] == features, "\(layer)(\(features)): input \(x.shape) must be [N, \(features), ...]")
    return (x.shape[0], x.count / max(x.shape[0] * features, 1))
}
