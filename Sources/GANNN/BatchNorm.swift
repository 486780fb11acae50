/// Batch normalisation (Ioffe & Szegedy 2015) with PyTorch's semantics (`BatchNorm1d/2d`):
/// input `[N, C]` or `[N, C, H, W]`, statistics per channel over N (and H·W).
///
/// Training: y = γ · (x - μ_B) / sqrt(σ²_B + eps) + β with the batch's biased variance; the
/// running statistics move by `momentum`: running_mean ← (1 - m)·running_mean + m·μ_B and
/// running_var ← (1 - m)·running_var + m·σ²_B·M/(M - 1) (unbiased, M = N·H·W).
/// Evaluation (`training: false`): the running statistics are used instead.
/// `running_mean` / `running_var` are buffers, so checkpoints carry them and resume is exact.
///
/// Keeps a reference to its input (as the layer contract allows) and recomputes x̂ in backward
/// instead of storing it: one buffer less and one store stream less in forward. Every pass runs
/// per channel, channels split over `ComputeThreads`, so the bits do not depend on the thread count.
public final class BatchNorm: Layer, BlockedLayoutLayer {
    public let features: Int
    public let momentum: Float
    public let eps: Float
    public let weight: Parameter
    public let bias: Parameter
    public let runningMean: Tensor
    public let runningVar: Tensor
    public var kind: String { "batch_norm" }
    public var backwardReadsOutput: Bool { false }
    public var parameters: [Parameter] { [weight, bias] }
    public var buffers: [(name: String, tensor: Tensor)] { [("running_mean", runningMean), ("running_var", runningVar)] }

    private let output = Tensor(shape: [0])
    private var input: Tensor?                     // x (the contract lets layers keep it): x̂ is recomputed from it
    private let inputGradient = Tensor(shape: [0])
    // Per-channel scratch, as tensors so the channel-parallel passes share plain pointers.
    private let inverseStd: Tensor
    private let mean: Tensor
    private var usedBatchStatistics = true

    public init(features: Int, momentum: Float = 0.1, eps: Float = 1e-5) {
        precondition(features > 0, "BatchNorm needs features > 0")
        precondition(momentum >= 0 && momentum <= 1 && eps > 0, "BatchNorm: momentum in [0, 1] and eps > 0")
        (self.features, self.momentum, self.eps) = (features, momentum, eps)
        (weight, bias) = affineParameters(features: features)
        runningMean = Tensor(shape: [features])
        runningVar = Tensor(shape: [features])
        runningVar.fill(1)
        inverseStd = Tensor(shape: [features])
        inverseStd.fill(1)
        mean = Tensor(shape: [features])
    }

    public func outputShape(for inputShape: [Int]) -> [Int]? {
        inputShape.first == features ? inputShape : nil
    }

    private func geometry(_ x: Tensor) -> (Int, Int) { channelGeometry(x, features: features, layer: "BatchNorm") }

    /// Statistics (training) and normalisation, one channel at a time, channels split over
    /// `ComputeThreads`: each channel's sums run in a fixed order, so the bits do not depend on
    /// the thread count, and its values are still in cache when they are normalised.
    /// For `Sequential`: the output has the input's layout, plain or blocked.
    func inputBlock(for shape: [Int]) -> Int? { nil }
    func forward(_ x: Tensor, training: Bool, outputBlock: Int) -> Tensor { forward(x, training: training) }

    /// The batch statistics of channel `ch` from its sums (Double, over all N·S values): μ and
    /// 1/σ for this batch, and the running statistics moved.
    @inline(__always)
    private static func finishStatistics(_ ch: Int, sum: Double, sumSquares: Double, m: Int, momentum: Float, eps: Float,
                                         mu: UnsafeMutablePointer<Float>, inv: UnsafeMutablePointer<Float>,
                                         rm: UnsafeMutablePointer<Float>, rv: UnsafeMutablePointer<Float>) {
        let mean = sum / Double(m)
        let variance = max(sumSquares / Double(m) - mean * mean, 0)
        inv[ch] = Float(1 / (variance + Double(eps)).squareRoot())
        mu[ch] = Float(mean)
        rm[ch] = (1 - momentum) * rm[ch] + momentum * Float(mean)
        rv[ch] = (1 - momentum) * rv[ch] + momentum * Float(variance * Double(m) / Double(m - 1))
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor { forward(x, training: training, fusing: nil) }

    /// `forward(x, training:)` with `activation` applied to every value written (for `Sequential`:
    /// the in-place activation after this layer, `FusableActivation`).
    func forward(_ x: Tensor, training: Bool, fusing activation: FusedActivation?) -> Tensor {
        switch activation {
        case nil: return forward(x, training: training, IdentityMap())
        case .relu: return forward(x, training: training, ReLUMap())
        case .leakyReLU(let a): return forward(x, training: training, LeakyReLUMap(a: a))
        }
    }

    private func forward<F: LaneMap>(_ x: Tensor, training: Bool, _ f: F) -> Tensor {
        let (n, s) = geometry(x), c = features, m = n * s
        output.resize(x.shape)
        output.blockSize = x.blockSize
        input = x
        let xp = UnsafePointer(x.data), y = output.data
        let g = weight.value.data, b = bias.value.data, rm = runningMean.data, rv = runningVar.data
        let mu = mean.data, inv = inverseStd.data, momentum = momentum, eps = eps
        usedBatchStatistics = training
        if training {
            precondition(m > 1, "BatchNorm in training mode needs more than one value per channel, got input \(x.shape)")
        }
        if x.blockSize != 0 {
            let layout = BlockedRuns(block: x.blockSize, channels: c, plane: s)
            ComputeThreads.parallelFor(c / 8, grain: max(1, 2 * m / 8)) { groups in
                for group in groups {
                    let base = 8 * group
                    if training {
                        let (sum, sumSquares) = layout.sumsAndSquares(xp, group: group, batch: n)
                        for j in 0..<8 {
                            BatchNorm.finishStatistics(base + j, sum: sum[j], sumSquares: sumSquares[j], m: m, momentum: momentum, eps: eps,
                                                       mu: mu, inv: inv, rm: rm, rv: rv)
                        }
                    } else {
                        for ch in base..<base + 8 { mu[ch] = rm[ch]; inv[ch] = 1 / (rv[ch] + eps).squareRoot() }
                    }
                    layout.normalize(xp, group: group, batch: n, mean: mu + base, inverseStd: inv + base, gamma: g + base,
                                     beta: b + base, into: y, f)
                }
            }
            return output
        }
        ComputeThreads.parallelFor(c, grain: 2 * m) { channels in
            for ch in channels {
                if training {
                    // Each (example, channel) run summed in Float lanes, accumulated in Double.
                    var sum = 0.0, sumSquares = 0.0
                    for i in 0..<n {
                        let (s1, s2) = runSumAndSquares(xp + (i * c + ch) * s, count: s)
                        sum += Double(s1)
                        sumSquares += Double(s2)
                    }
                    BatchNorm.finishStatistics(ch, sum: sum, sumSquares: sumSquares, m: m, momentum: momentum, eps: eps,
                                               mu: mu, inv: inv, rm: rm, rv: rv)
                } else {
                    mu[ch] = rm[ch]
                    inv[ch] = 1 / (rv[ch] + eps).squareRoot()
                }
                let mean = mu[ch], invStd = inv[ch], gc = g[ch], bc = b[ch]
                for i in 0..<n {
                    let o = (i * c + ch) * s
                    normalizeRun(xp + o, count: s, mean: mean, inverseStd: invStd, gamma: gc, beta: bc, output: y + o, f)
                }
            }
        }
        return output
    }

    public func backward(_ dy: Tensor, mode: BackwardMode) -> Tensor? { backward(dy, mode: mode, into: inputGradient) }

    public func backward(_ dy: Tensor, mode: BackwardMode, into gradient: Tensor) -> Tensor? {
        backward(dy, mode: mode, into: gradient, fusing: nil)
    }

    /// The backward pass from dy at the output of the activation fused into the last forward
    /// (`activation`, which then holds its output in this layer's output tensor).
    func backward(_ dy: Tensor, mode: BackwardMode, into gradient: Tensor, fusing activation: FusedActivation?) -> Tensor? {
        switch activation {
        case nil: return backward(dy, mode: mode, into: gradient, PassGradient())
        case .relu: return backward(dy, mode: mode, into: gradient, ReLUGradient())
        case .leakyReLU(let a): return backward(dy, mode: mode, into: gradient, LeakyReLUGradient(a: a))
        }
    }

    private func backward<M: GradientMask>(_ dy: Tensor, mode: BackwardMode, into gradient: Tensor, _ mk: M) -> Tensor? {
        precondition(dy.count == output.count, "BatchNorm.backward: dy \(dy.shape) does not match output \(output.shape)")
        guard let x = input else { preconditionFailure("BatchNorm.backward called before forward") }
        let n = output.shape[0], c = features, s = output.count / max(n * c, 1), m = Double(n * s)
        let g = UnsafePointer(dy.data), xp = UnsafePointer(x.data), mu = mean.data
        let yp = M.self == PassGradient.self ? g : UnsafePointer(output.data)   // the fused activation's output
        let wantsParameters = mode.contains(.parameterGradients), wantsInput = mode.contains(.inputGradient)
        precondition(dy.blockSize == x.blockSize, "BatchNorm.backward: dy in layout \(dy.blockSize), the output in \(x.blockSize)")
        if wantsInput { gradient.resize(output.shape); gradient.blockSize = x.blockSize }
        let dx = gradient.data, w = weight.value.data, inv = inverseStd.data
        let dw = weight.gradient.data, db = bias.gradient.data, batchStatistics = usedBatchStatistics
        if x.blockSize != 0 {
            let layout = BlockedRuns(block: x.blockSize, channels: c, plane: s)
            ComputeThreads.parallelFor(c / 8, grain: max(1, 3 * n * s / 8)) { groups in
                for group in groups {
                    let base = 8 * group
                    let (sumDy, sumDyXh) = layout.gradientSums(g, xp, group: group, batch: n, mean: mu + base, inverseStd: inv + base, y: yp, mk)
                    if wantsParameters {
                        for j in 0..<8 { dw[base + j] += Float(sumDyXh[j]); db[base + j] += Float(sumDy[j]) }
                    }
                    guard wantsInput else { continue }
                    var scale = SIMD8<Float>(), meanDy = SIMD8<Float>(), meanDyXh = SIMD8<Float>()
                    for j in 0..<8 {
                        scale[j] = w[base + j] * inv[base + j]
                        meanDy[j] = Float(sumDy[j] / m)
                        meanDyXh[j] = Float(sumDyXh[j] / m)
                    }
                    layout.inputGradient(g, xp, group: group, batch: n, mean: mu + base, inverseStd: inv + base, scale: scale,
                                         meanDy: meanDy, meanDyXh: meanDyXh, batchStatistics: batchStatistics, into: dx, y: yp, mk)
                }
            }
            return wantsInput ? gradient : nil
        }
        // Per channel: Σ dy and Σ dy·x̂ (dγ, dβ and the batch-statistics input gradient), then dx
        // while the channel is in cache; channels split over `ComputeThreads`. x̂ = (x - μ)·inv is
        // recomputed, the same bits forward computed.
        ComputeThreads.parallelFor(c, grain: 3 * n * s) { channels in
            for ch in channels {
                let mean = mu[ch], invStd = inv[ch]
                let (sumDy, sumDyXh) = channelGradientSums(g, xp, mean: mean, inverseStd: invStd, n: n, c: c, s: s, channel: ch,
                                                           y: yp, mk)
                if wantsParameters { dw[ch] += Float(sumDyXh); db[ch] += Float(sumDy) }
                guard wantsInput else { continue }
                let k0 = w[ch] * inv[ch]
                if batchStatistics {
                    // dx = γ/σ · (dy - mean(dy) - x̂ · mean(dy·x̂))
                    let meanDy = Float(sumDy / m), meanDyXh = Float(sumDyXh / m)
                    for i in 0..<n {
                        let o = (i * c + ch) * s
                        batchNormInputGradientRun(g + o, xp + o, mean: mean, inverseStd: invStd, count: s, scale: k0,
                                                  meanDy: meanDy, meanDyXh: meanDyXh, into: dx + o, y: yp + o, mk)
                    }
                } else {
                    for i in 0..<n {
                        let o = (i * c + ch) * s
                        for k in 0..<s { dx[o + k] = k0 * mk(g[o + k], yp[o + k]) }
                    }
                }
            }
        }
        return wantsInput ? gradient : nil
    }
}

/// y = γ·x̂ + β with x̂ = (x - mean)·inverseStd over `count` contiguous floats, eight lanes at a
/// time (the same arithmetic per element as the scalar tail).
@inline(__always)
func normalizeRun<F: LaneMap>(_ x: UnsafePointer<Float>, count: Int, mean: Float, inverseStd: Float, gamma: Float, beta: Float,
                              output y: UnsafeMutablePointer<Float>, _ f: F) {
    let xr = UnsafeRawPointer(x), yr = UnsafeMutableRawPointer(y)
    let m8 = SIMD8<Float>(repeating: mean), i8 = SIMD8<Float>(repeating: inverseStd)
    let g8 = SIMD8<Float>(repeating: gamma), b8 = SIMD8<Float>(repeating: beta)
    var k = 0
    while k + 8 <= count {
        let v = (xr.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self) - m8) * i8
        yr.storeBytes(of: f(g8 * v + b8), toByteOffset: k * 4, as: SIMD8<Float>.self)
        k += 8
    }
    while k < count {
        y[k] = f(gamma * ((x[k] - mean) * inverseStd) + beta)
        k += 1
    }
}

/// dx = scale·(dy - meanDy - x̂·meanDyXh) with x̂ = (x - mean)·inverseStd over `count` contiguous
/// floats, eight lanes at a time.
@inline(__always)
func batchNormInputGradientRun<M: GradientMask>(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, mean: Float, inverseStd: Float,
                                                count: Int, scale: Float, meanDy: Float, meanDyXh: Float, into dx: UnsafeMutablePointer<Float>,
                                                y: UnsafePointer<Float>, _ mk: M) {
    let gr = UnsafeRawPointer(dy), xr = UnsafeRawPointer(x), dr = UnsafeMutableRawPointer(dx), yr = UnsafeRawPointer(y)
    let s8 = SIMD8<Float>(repeating: scale), a8 = SIMD8<Float>(repeating: meanDy), b8 = SIMD8<Float>(repeating: meanDyXh)
    let m8 = SIMD8<Float>(repeating: mean), i8 = SIMD8<Float>(repeating: inverseStd)
    var k = 0
    while k + 8 <= count {
        let gv = mk(gr.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self), yr.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self))
        let hv = (xr.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self) - m8) * i8
        dr.storeBytes(of: s8 * (gv - a8 - hv * b8), toByteOffset: k * 4, as: SIMD8<Float>.self)
        k += 8
    }
    while k < count { dx[k] = scale * (mk(dy[k], y[k]) - meanDy - (x[k] - mean) * inverseStd * meanDyXh); k += 1 }
}

/// `channelGradientSums` with x̂ = (x - mean)·inverseStd computed from x on the fly (the same bits).
@inline(__always)
func channelGradientSums<M: GradientMask>(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, mean: Float, inverseStd: Float,
                                          n: Int, c: Int, s: Int, channel ch: Int, y: UnsafePointer<Float>, _ mk: M) -> (Double, Double) {
    let m8 = SIMD8<Float>(repeating: mean), i8 = SIMD8<Float>(repeating: inverseStd)
    var sum = 0.0, sumDyXh = 0.0
    for i in 0..<n {
        let o = (i * c + ch) * s
        let gr = UnsafeRawPointer(dy + o), xr = UnsafeRawPointer(x + o), yr = UnsafeRawPointer(y + o)
        var a = SIMD8<Float>(), b = SIMD8<Float>(), k = 0
        while k + 8 <= s {
            let gv = mk(gr.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self), yr.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self))
            a += gv
            b += gv * ((xr.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self) - m8) * i8)
            k += 8
        }
        var s1 = a.sum(), s2 = b.sum()
        while k < s { let gk = mk(dy[o + k], y[o + k]); s1 += gk; s2 += gk * ((x[o + k] - mean) * inverseStd); k += 1 }
        sum += Double(s1)
        sumDyXh += Double(s2)
    }
    return (sum, sumDyXh)
}

/// (Σ x, Σ x²) of `count` contiguous floats, in eight Float lanes (then the tail in order): a
/// fixed order, vectorised.
@inline(__always)
func runSumAndSquares(_ x: UnsafePointer<Float>, count: Int) -> (Float, Float) {
    let raw = UnsafeRawPointer(x)
    var a = SIMD8<Float>(), b = SIMD8<Float>(), k = 0
    while k + 8 <= count {
        let v = raw.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self)
        a += v
        b += v * v
        k += 8
    }
    var s1 = a.sum(), s2 = b.sum()
    while k < count { let v = x[k]; s1 += v; s2 += v * v; k += 1 }
    return (s1, s2)
}

/// Σ dy and Σ dy·x̂ of one channel over the batch and spatial positions of `[N, C]` or
/// `[N, C, H, W]` tensors (`s` = H·W, 1 for `[N, C]`): each (example, channel) run summed in
/// eight Float lanes, then accumulated in Double over the examples in order.
@inline(__always)
func channelGradientSums(_ dy: UnsafePointer<Float>, _ xh: UnsafePointer<Float>, n: Int, c: Int, s: Int,
                         channel ch: Int) -> (Double, Double) {
    // (x̂ - 0)·1 is x̂ bit for bit: the on-the-fly variant with the identity normalisation.
    channelGradientSums(dy, xh, mean: 0, inverseStd: 1, n: n, c: c, s: s, channel: ch, y: dy, PassGradient())
}

/// Per-channel Σ dy and Σ dy·x̂ (see `channelGradientSums(_:_:n:c:s:channel:)`) for every channel,
/// channels split over `ComputeThreads` (the same bits at any thread count): the two sums every
/// batch-norm-style backward needs (VirtualBatchNorm's reference pass) for dγ, dβ and the
/// batch-statistics input gradient.
func channelGradientSums(_ dy: UnsafePointer<Float>, _ xh: UnsafePointer<Float>, n: Int, c: Int, s: Int,
                         sum: inout [Double], sumDyXh: inout [Double]) {
    sum.withUnsafeMutableBufferPointer { sp in
        sumDyXh.withUnsafeMutableBufferPointer { qp in
            let sp = sp.baseAddress!, qp = qp.baseAddress!
            ComputeThreads.parallelFor(c, grain: 2 * n * s) { channels in
                for ch in channels { (sp[ch], qp[ch]) = channelGradientSums(dy, xh, n: n, c: c, s: s, channel: ch) }
            }
        }
    }
}

/// (N, S) of a `[N, C]` or `[N, C, H, W]` input to a per-channel normalisation layer: the batch
/// and the spatial size per channel (1 for `[N, C]`); traps with the layer's name on a wrong shape.
func channelGeometry(_ x: Tensor, features: Int, layer: String) -> (Int, Int) {
    precondition(x.shape.count >= 2 && x.shape[1] == features, "\(layer)(\(features)): input \(x.shape) must be [N, \(features), ...]")
    return (x.shape[0], x.count / max(x.shape[0] * features, 1))
}

/// The per-channel affine transform of a normalisation layer (`BatchNorm`, `VirtualBatchNorm`):
/// γ ("weight") initialised to 1 and β ("bias") to 0, as PyTorch's `affine=True`.
func affineParameters(features: Int) -> (weight: Parameter, bias: Parameter) {
    let weight = Parameter("weight", shape: [features]), bias = Parameter("bias", shape: [features])
    weight.value.fill(1)
    return (weight, bias)
}

/// The runs of 8 channels of an image batch in oneDNN's blocked layout nChw{B}c (`Tensor.blockSize`),
/// for batch norm: channels 8·group ..< 8·group + 8 of image n at position k are 8 contiguous floats
/// at `offset(n, group) + k·B`. Every value is computed with the arithmetic of the plain layout's
/// run loops, channel by channel (the 8 Float lanes of a run sum, one per position k mod 8, are
/// here 8 vectors, one per k mod 8, whose lanes are the channels), so both layouts give the same bits.
struct BlockedRuns {
    let block: Int, channels: Int, plane: Int

    init(block: Int, channels: Int, plane: Int) {
        precondition((block == 8 || block == 16) && channels % block == 0, "BatchNorm: no blocked layout \(block) for \(channels) channels")
        (self.block, self.channels, self.plane) = (block, channels, plane)
    }

    @inline(__always)
    func offset(_ n: Int, group: Int) -> Int {
        let ch = 8 * group
        return ((n * (channels / block) + ch / block) * plane) * block + ch % block
    }

    typealias Lanes = (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)

    /// Per channel, the plain layout's `SIMD8.sum()` of its 8 lane sums (lane l of a run: positions
    /// k ≡ l mod 8), which adds the lanes in order from -0 (Swift's definition): here the 8 vectors
    /// indexed by l, added in that order, all 8 channels at once.
    @inline(__always)
    private func laneSums(_ a: Lanes) -> SIMD8<Float> { a.0 + a.1 + a.2 + a.3 + a.4 + a.5 + a.6 + a.7 }

    /// Per channel of the group, over the batch: the sums of the two terms `term(o, k)` gives for
    /// the image at offset o and position k, each image's run in the plain layout's 8 Float lanes
    /// (positions k ≡ l mod 8 below the last multiple of 8, then `laneSums`, then the tail in
    /// order), the images accumulated in Double in order.
    @inline(__always)
    private func runSums(group: Int, batch n: Int, _ term: (Int, Int) -> (SIMD8<Float>, SIMD8<Float>)) -> (SIMD8<Double>, SIMD8<Double>) {
        var first = SIMD8<Double>(), second = SIMD8<Double>()
        let full = plane / 8 * 8
        for i in 0..<n {
            let o = offset(i, group: group)
            var a: Lanes = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
            var q = a
            var k = 0
            while k < full {
                var t = term(o, k); a.0 += t.0; q.0 += t.1
                t = term(o, k + 1); a.1 += t.0; q.1 += t.1
                t = term(o, k + 2); a.2 += t.0; q.2 += t.1
                t = term(o, k + 3); a.3 += t.0; q.3 += t.1
                t = term(o, k + 4); a.4 += t.0; q.4 += t.1
                t = term(o, k + 5); a.5 += t.0; q.5 += t.1
                t = term(o, k + 6); a.6 += t.0; q.6 += t.1
                t = term(o, k + 7); a.7 += t.0; q.7 += t.1
                k += 8
            }
            var s1 = laneSums(a), s2 = laneSums(q)
            while k < plane {
                let t = term(o, k)
                s1 += t.0
                s2 += t.1
                k += 1
            }
            first += SIMD8<Double>(s1)
            second += SIMD8<Double>(s2)
        }
        return (first, second)
    }

    /// Σ x and Σ x² per channel of the group over the batch, as `runSumAndSquares` and
    /// `BatchNorm.forward` form them.
    func sumsAndSquares(_ x: UnsafePointer<Float>, group: Int, batch n: Int) -> (SIMD8<Double>, SIMD8<Double>) {
        let stride = block * 4
        return runSums(group: group, batch: n) { o, k in
            let v = UnsafeRawPointer(x + o).loadUnaligned(fromByteOffset: k * stride, as: SIMD8<Float>.self)
            return (v, v * v)
        }
    }

    /// y = γ·x̂ + β with x̂ = (x - μ)·inverseStd for the group's channels (pointers at its first).
    func normalize(_ x: UnsafePointer<Float>, group: Int, batch n: Int, mean: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>,
                   gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, _ f: some LaneMap) {
        let m8 = UnsafeRawPointer(mean).loadUnaligned(as: SIMD8<Float>.self), i8 = UnsafeRawPointer(inverseStd).loadUnaligned(as: SIMD8<Float>.self)
        let g8 = UnsafeRawPointer(gamma).loadUnaligned(as: SIMD8<Float>.self), b8 = UnsafeRawPointer(beta).loadUnaligned(as: SIMD8<Float>.self)
        let stride = block * 4
        for i in 0..<n {
            let o = offset(i, group: group)
            let xr = UnsafeRawPointer(x + o), yr = UnsafeMutableRawPointer(y + o)
            for k in 0..<plane {
                let v = (xr.loadUnaligned(fromByteOffset: k * stride, as: SIMD8<Float>.self) - m8) * i8
                yr.storeBytes(of: f(g8 * v + b8), toByteOffset: k * stride, as: SIMD8<Float>.self)
            }
        }
    }

    /// Σ dy and Σ dy·x̂ per channel of the group, as `channelGradientSums` forms them.
    func gradientSums(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, group: Int, batch n: Int,
                      mean: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>, y: UnsafePointer<Float>, _ mk: some GradientMask)
        -> (SIMD8<Double>, SIMD8<Double>) {
        let m8 = UnsafeRawPointer(mean).loadUnaligned(as: SIMD8<Float>.self), i8 = UnsafeRawPointer(inverseStd).loadUnaligned(as: SIMD8<Float>.self)
        let stride = block * 4
        return runSums(group: group, batch: n) { o, k in
            let b = k * stride
            let gv = mk(UnsafeRawPointer(dy + o).loadUnaligned(fromByteOffset: b, as: SIMD8<Float>.self),
                        UnsafeRawPointer(y + o).loadUnaligned(fromByteOffset: b, as: SIMD8<Float>.self))
            return (gv, gv * ((UnsafeRawPointer(x + o).loadUnaligned(fromByteOffset: b, as: SIMD8<Float>.self) - m8) * i8))
        }
    }

    /// dx for the group's channels: scale·(dy - meanDy - x̂·meanDyXh) with batch statistics, else scale·dy.
    func inputGradient(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, group: Int, batch n: Int,
                       mean: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>, scale s8: SIMD8<Float>,
                       meanDy a8: SIMD8<Float>, meanDyXh b8: SIMD8<Float>, batchStatistics: Bool,
                       into dx: UnsafeMutablePointer<Float>, y: UnsafePointer<Float>, _ mk: some GradientMask) {
        let m8 = UnsafeRawPointer(mean).loadUnaligned(as: SIMD8<Float>.self), i8 = UnsafeRawPointer(inverseStd).loadUnaligned(as: SIMD8<Float>.self)
        let stride = block * 4
        for i in 0..<n {
            let o = offset(i, group: group)
            let gr = UnsafeRawPointer(dy + o), xr = UnsafeRawPointer(x + o), dr = UnsafeMutableRawPointer(dx + o), yr = UnsafeRawPointer(y + o)
            @inline(__always) func gradient(_ k: Int) -> SIMD8<Float> {
                mk(gr.loadUnaligned(fromByteOffset: k * stride, as: SIMD8<Float>.self), yr.loadUnaligned(fromByteOffset: k * stride, as: SIMD8<Float>.self))
            }
            if batchStatistics {
                for k in 0..<plane {
                    let gv = gradient(k)
                    let hv = (xr.loadUnaligned(fromByteOffset: k * stride, as: SIMD8<Float>.self) - m8) * i8
                    dr.storeBytes(of: s8 * (gv - a8 - hv * b8), toByteOffset: k * stride, as: SIMD8<Float>.self)
                }
            } else {
                for k in 0..<plane {
                    dr.storeBytes(of: s8 * gradient(k), toByteOffset: k * stride, as: SIMD8<Float>.self)
                }
            }
        }
    }
}
