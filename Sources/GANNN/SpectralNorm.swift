import CBLAS

/// Spectral normalisation (Miyato et al. 2018, "Spectral Normalization for Generative Adversarial
/// Networks") of a `Linear` or `Conv2d` layer, with the semantics of PyTorch's
/// `torch.nn.utils.spectral_norm(module, n_power_iterations, eps, dim=0)`.
///
/// The weight W (seen as the matrix `[out, rest]`: `[out, in]` or `[C_out, C_in·k·k]`) is divided
/// by an estimate of its largest singular value, σ = uᵀ W v. Every training-mode forward first
/// runs `powerIterations` steps of the power method, updating u and v in place (Miyato et al.,
/// Algorithm 1; PyTorch's `compute_weight`):
///
///     v ← Wᵀu / max(‖Wᵀu‖, eps)      u ← W v / max(‖W v‖, eps)
///
/// then uses W_sn = W / σ. Evaluation-mode forwards (`training: false`) reuse the stored u, v
/// (σ is still recomputed from the current W). u and v start as normalised N(0, 1) draws, as in
/// PyTorch, and are the buffers `weight_u [out]` and `weight_v [rest]`, so checkpoints carry them
/// and a resumed run continues the same power iteration.
///
/// Backward treats u and v as constants (PyTorch's behaviour: they are updated under no_grad).
/// With G = dL/dW_sn, and dσ/dW = u vᵀ:
///
///     dL/dW = G / σ - (Σ G ⊙ W) / σ² · u vᵀ
///
/// Layout: `weight` is the raw, trainable W (PyTorch's `weight_orig`), `bias` the wrapped layer's
/// bias. The wrapped layer's own `weight` is working storage: after each forward it holds W_sn and
/// during backward its gradient receives G. Kind `"sn_" + wrapped kind` (`sn_linear`, `sn_conv2d`).
///
/// Every forward (training or not) costs two matrix-vector products per power iteration plus one,
/// and one pass over W; no allocation once the wrapped layer is warmed up.
public final class SpectralNorm: Layer {
    /// The wrapped layer (`Linear` or `Conv2d`) computing with W_sn.
    public let wrapped: SpecifiedLayer
    /// Power-method steps per training-mode forward (PyTorch's `n_power_iterations`).
    public let powerIterations: Int
    /// Floor on the norms in the power method's normalisations (PyTorch's `eps`).
    public let eps: Float
    /// The raw weight W, the trainable parameter (same shape as the wrapped layer's weight).
    public let weight: Parameter
    public let bias: Parameter?
    /// Left singular vector estimate `[out]`.
    public let u: Tensor
    /// Right singular vector estimate `[rest]`.
    public let v: Tensor
    /// σ = uᵀ W v of the latest forward (0 before the first).
    public private(set) var sigma: Float = 0

    public var kind: String { "sn_" + wrapped.kind }
    public var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }
    public var buffers: [(name: String, tensor: Tensor)] { [("weight_u", u), ("weight_v", v)] }

    private let normalizedWeight: Parameter   // the wrapped layer's weight: W_sn, and G in backward
    private let rows: Int                      // out
    private let columns: Int                   // rest
    private let wv: Tensor                     // W v, [out]

    /// Wraps a `Linear` layer; its current weight becomes the raw weight W.
    public convenience init(wrapping layer: Linear, powerIterations: Int = 1, eps: Float = 1e-12, rng: inout RNG) {
        self.init(layer, weight: layer.weight, bias: layer.bias, powerIterations: powerIterations, eps: eps, rng: &rng)
    }

    /// Wraps a `Conv2d` layer (W as `[C_out, C_in·k·k]`); its current weight becomes the raw weight W.
    public convenience init(wrapping layer: Conv2d, powerIterations: Int = 1, eps: Float = 1e-12, rng: inout RNG) {
        self.init(layer, weight: layer.weight, bias: layer.bias, powerIterations: powerIterations, eps: eps, rng: &rng)
    }

    private init(_ layer: SpecifiedLayer, weight w: Parameter, bias: Parameter?, powerIterations: Int, eps: Float,
                 rng: inout RNG) {
        precondition(powerIterations > 0, "SpectralNorm: powerIterations must be positive, got \(powerIterations)")
        precondition(eps > 0, "SpectralNorm: eps must be positive")
        wrapped = layer
        self.powerIterations = powerIterations
        self.eps = eps
        normalizedWeight = w
        self.bias = bias
        weight = Parameter("weight", shape: w.value.shape)
        weight.value.copy(from: w.value)
        rows = w.value.shape[0]
        columns = w.value.count / rows
        u = Tensor(shape: [rows])
        v = Tensor(shape: [columns])
        wv = Tensor(shape: [rows])
        // PyTorch: u = normalize(normal_(0, 1)), v = normalize(normal_(0, 1)).
        rng.fillNormal(u)
        rng.fillNormal(v)
        Self.normalize(u.data, count: rows, eps: eps)
        Self.normalize(v.data, count: columns, eps: eps)
    }

    /// x ← x / max(‖x‖, eps) (`torch.nn.functional.normalize`), the norm accumulated in Double.
    private static func normalize(_ x: UnsafeMutablePointer<Float>, count: Int, eps: Float) {
        var s = 0.0
        for i in 0..<count { s += Double(x[i]) * Double(x[i]) }
        let d = Float(max(s.squareRoot(), Double(eps)))
        for i in 0..<count { x[i] /= d }
    }

    /// y[m] = op(W) x, op(W) = W `[rows, columns]` or Wᵀ.
    private func multiply(transposed: Bool, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        cblas_sgemv(CblasRowMajor, transposed ? CblasTrans : CblasNoTrans, Int32(rows), Int32(columns), 1,
                    weight.value.data, Int32(columns), x, 1, 0, y, 1)
    }

    /// Runs the power iteration (training only), computes σ and writes W_sn into the wrapped layer.
    private func updateNormalizedWeight(training: Bool) {
        if training {
            for _ in 0..<powerIterations {
                multiply(transposed: true, u.data, into: v.data)
                Self.normalize(v.data, count: columns, eps: eps)
                multiply(transposed: false, v.data, into: u.data)
                Self.normalize(u.data, count: rows, eps: eps)
            }
        }
        multiply(transposed: false, v.data, into: wv.data)
        var s: Float = 0
        for i in 0..<rows { s += u[i] * wv[i] }
        sigma = s
        let w = weight.value.data, wsn = normalizedWeight.value.data
        for i in 0..<weight.value.count { wsn[i] = w[i] / s }
    }

    /// W_sn = W / σ exactly as an evaluation-mode forward computes it (σ from the stored u, v, no
    /// power iteration), in the wrapped layer's weight tensor: what an exporter folds into a plain
    /// layer so that the exported network computes what `forward(_:training: false)` computes.
    public func evaluationWeight() -> Tensor {
        updateNormalizedWeight(training: false)
        return normalizedWeight.value
    }

    public func outputShape(for inputShape: [Int]) -> [Int]? { wrapped.outputShape(for: inputShape) }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        updateNormalizedWeight(training: training)
        return wrapped.forward(x, training: training)
    }

    public func backward(_ dy: Tensor, mode: BackwardMode) -> Tensor? {
        precondition(sigma != 0, "SpectralNorm.backward called before forward")
        guard mode.contains(.parameterGradients) else { return wrapped.backward(dy, mode: mode) }
        // G = dL/dW_sn into the wrapped layer's (scratch) weight gradient; its bias gradient is ours.
        normalizedWeight.gradient.fill(0)
        let dx = wrapped.backward(dy, mode: mode)
        // dL/dW += G/σ - (Σ G ⊙ W)/σ² · u vᵀ
        let g = normalizedWeight.gradient.data, w = weight.value.data, dw = weight.gradient.data
        var gw = 0.0
        for i in 0..<weight.value.count { gw += Double(g[i]) * Double(w[i]) }
        let inverseSigma = 1 / sigma, c = Float(gw / (Double(sigma) * Double(sigma)))
        for r in 0..<rows {
            let o = r * columns, cu = c * u[r]
            for j in 0..<columns { dw[o + j] += g[o + j] * inverseSigma - cu * v[j] }
        }
        return dx
    }
}

extension SpectralNorm: SpecifiedLayer {
    public var spec: LayerSpec { .spectralNorm(wrapped.spec, powerIterations: powerIterations, eps: eps) }
}
