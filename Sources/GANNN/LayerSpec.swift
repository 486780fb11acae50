/// A layer's architecture, without its weights: enough to rebuild the layer. Checkpoints store it
/// as attributes of each layer's group (`kind` plus the fields below, snake_case), which makes a
/// checkpoint self-describing: `gan-sample` rebuilds G and D from the file alone.
public enum LayerSpec: Equatable, Sendable {
    case linear(inFeatures: Int, outFeatures: Int, bias: Bool)
    case relu
    case leakyReLU(alpha: Float)
    case sigmoid
    case tanh
    case maxout(pieces: Int)
    case clamp(min: Float, max: Float)
    case batchNorm(features: Int, momentum: Float, eps: Float)
    case conv2d(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, bias: Bool)
    case convTranspose2d(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, bias: Bool)
    /// Per-sample shape after the layer (batch dimension excluded).
    case reshape(sampleShape: [Int])
    /// A `linear` or `conv2d` layer under spectral normalisation (`SpectralNorm`): kind
    /// `sn_linear` / `sn_conv2d`, the wrapped layer's attributes plus `power_iterations` and `eps`.
    /// New kinds rather than a flag on the old ones, so every existing checkpoint reads unchanged.
    indirect case spectralNorm(LayerSpec, powerIterations: Int, eps: Float)
    /// Virtual batch normalisation (`VirtualBatchNorm`): kind `virtual_batch_norm`, attributes
    /// `features`, `eps`.
    case virtualBatchNorm(features: Int, eps: Float)
    /// One-hot class concatenation (`OneHotConcat`, issue 22): kind `one_hot_concat`, attribute `classes`.
    case oneHotConcat(classes: Int)
    /// A projection discriminator's output layer (`ClassProjection`) around a `linear` or
    /// `sn_linear` ψ: kind `projection_` + ψ's kind, ψ's attributes plus `classes`.
    indirect case classProjection(LayerSpec, classes: Int)

    /// The kind name (checkpoint group suffix and `kind` attribute).
    public var kind: String {
        switch self {
        case .linear: "linear"
        case .relu: "relu"
        case .leakyReLU: "leaky_relu"
        case .sigmoid: "sigmoid"
        case .tanh: "tanh"
        case .maxout: "maxout"
        case .clamp: "clamp"
        case .batchNorm: "batch_norm"
        case .conv2d: "conv2d"
        case .convTranspose2d: "conv_transpose2d"
        case .reshape: "reshape"
        case .spectralNorm(let inner, _, _): "sn_" + inner.kind
        case .virtualBatchNorm: "virtual_batch_norm"
        case .oneHotConcat: "one_hot_concat"
        case .classProjection(let inner, _): "projection_" + inner.kind
        }
    }

    /// Numeric fields, in a stable order, with their checkpoint attribute names.
    public var attributes: [(name: String, value: Double)] {
        switch self {
        case .linear(let i, let o, let b): [("in_features", Double(i)), ("out_features", Double(o)), ("bias", b ? 1 : 0)]
        case .leakyReLU(let a): [("alpha", Double(a))]
        case .maxout(let p): [("pieces", Double(p))]
        case .clamp(let lo, let hi): [("min", Double(lo)), ("max", Double(hi))]
        case .batchNorm(let f, let m, let e): [("features", Double(f)), ("momentum", Double(m)), ("eps", Double(e))]
        case .conv2d(let i, let o, let k, let s, let p, let b), .convTranspose2d(let i, let o, let k, let s, let p, let b):
            [("in_channels", Double(i)), ("out_channels", Double(o)), ("kernel", Double(k)), ("stride", Double(s)),
             ("padding", Double(p)), ("bias", b ? 1 : 0)]
        case .reshape(let shape):
            [("rank", Double(shape.count))] + shape.enumerated().map { ("dim\($0.offset)", Double($0.element)) }
        case .spectralNorm(let inner, let k, let e): inner.attributes + [("power_iterations", Double(k)), ("eps", Double(e))]
        case .virtualBatchNorm(let f, let e): [("features", Double(f)), ("eps", Double(e))]
        case .oneHotConcat(let k): [("classes", Double(k))]
        case .classProjection(let inner, let k): inner.attributes + [("classes", Double(k))]
        case .relu, .sigmoid, .tanh: []
        }
    }

    /// The scalars the layer's parameters and buffers hold (weights, biases, batch-norm
    /// statistics): what building it allocates before any value is read. A reader checks it
    /// against the bytes a file stores (`CheckpointReader.buildNetwork`). A Double: a bound that
    /// cannot overflow.
    public var parameterScalars: Double {
        switch self {
        case .linear(let i, let o, let b): Double(i) * Double(o) + (b ? Double(o) : 0)
        case .conv2d(let i, let o, let k, _, _, let b), .convTranspose2d(let i, let o, let k, _, _, let b):
            Double(i) * Double(o) * Double(k) * Double(k) + (b ? Double(o) : 0)
        case .batchNorm(let f, _, _): 4 * Double(f)
        case .virtualBatchNorm(let f, _): 2 * Double(f)
        case .spectralNorm(let inner, _, _): inner.parameterScalars
        case .classProjection(let inner, let k): inner.parameterScalars + Double(k) * Double(inner.inputFeatures ?? 0)
        case .relu, .leakyReLU, .sigmoid, .tanh, .maxout, .clamp, .reshape, .oneHotConcat: 0
        }
    }

    /// Largest rank a `reshape` spec may declare (a corrupt `rank` must not drive a huge loop).
    public static let maxReshapeRank = 8

    /// Rebuilds a spec from a kind and its attributes; nil names what is wrong.
    public static func make(kind: String, attributes: [String: Double]) -> Result<LayerSpec, LayerSpecError> {
        func int(_ name: String, min: Int = 1) -> Result<Int, LayerSpecError> {
            guard let v = attributes[name] else { return .failure(.missing(kind: kind, attribute: name)) }
            guard v == v.rounded(), v >= Double(min), v <= 1e9 else { return .failure(.invalid(kind: kind, attribute: name, value: v)) }
            return .success(Int(v))
        }
        func float(_ name: String) -> Result<Float, LayerSpecError> {
            guard let v = attributes[name] else { return .failure(.missing(kind: kind, attribute: name)) }
            guard v.isFinite else { return .failure(.invalid(kind: kind, attribute: name, value: v)) }
            return .success(Float(v))
        }
        func flag(_ name: String) -> Result<Bool, LayerSpecError> {
            guard let v = attributes[name] else { return .failure(.missing(kind: kind, attribute: name)) }
            guard v == 0 || v == 1 else { return .failure(.invalid(kind: kind, attribute: name, value: v)) }
            return .success(v == 1)
        }
        /// The spec of a wrapped layer (`sn_*`, `projection_*`), its errors reported under the wrapping kind.
        func wrapped(_ innerKind: String) throws(LayerSpecError) -> LayerSpec {
            try make(kind: innerKind, attributes: attributes).mapError { e in
                switch e {
                case .missing(_, let a): LayerSpecError.missing(kind: kind, attribute: a)
                case .invalid(_, let a, let v): LayerSpecError.invalid(kind: kind, attribute: a, value: v)
                case .unknownKind: e
                }
            }.get()
        }
        do {
            switch kind {
            case "linear":
                let bias = try int("bias", min: 0).get()
                guard bias <= 1 else { return .failure(.invalid(kind: kind, attribute: "bias", value: Double(bias))) }
                return .success(.linear(inFeatures: try int("in_features").get(), outFeatures: try int("out_features").get(), bias: bias == 1))
            case "relu": return .success(.relu)
            case "sigmoid": return .success(.sigmoid)
            case "tanh": return .success(.tanh)
            case "leaky_relu":
                let a = try float("alpha").get()
                guard a >= 0 && a < 1 else { return .failure(.invalid(kind: kind, attribute: "alpha", value: Double(a))) }
                return .success(.leakyReLU(alpha: a))
            case "maxout": return .success(.maxout(pieces: try int("pieces").get()))
            case "clamp":
                let lo = try float("min").get(), hi = try float("max").get()
                guard lo <= hi else { return .failure(.invalid(kind: kind, attribute: "max", value: Double(hi))) }
                return .success(.clamp(min: lo, max: hi))
            case "batch_norm":
                let m = try float("momentum").get(), e = try float("eps").get()
                guard m >= 0 && m <= 1 else { return .failure(.invalid(kind: kind, attribute: "momentum", value: Double(m))) }
                guard e > 0 else { return .failure(.invalid(kind: kind, attribute: "eps", value: Double(e))) }
                return .success(.batchNorm(features: try int("features").get(), momentum: m, eps: e))
            case "conv2d", "conv_transpose2d":
                let i = try int("in_channels").get(), o = try int("out_channels").get(), k = try int("kernel").get()
                let s = try int("stride").get(), p = try int("padding", min: 0).get(), b = try flag("bias").get()
                return .success(kind == "conv2d"
                    ? .conv2d(inChannels: i, outChannels: o, kernel: k, stride: s, padding: p, bias: b)
                    : .convTranspose2d(inChannels: i, outChannels: o, kernel: k, stride: s, padding: p, bias: b))
            case "reshape":
                let rank = try int("rank").get()
                guard rank <= maxReshapeRank else { return .failure(.invalid(kind: kind, attribute: "rank", value: Double(rank))) }
                var shape: [Int] = []
                for d in 0..<rank { shape.append(try int("dim\(d)").get()) }
                guard shape.reduce(1.0, { $0 * Double($1) }) <= 1e9 else {
                    return .failure(.invalid(kind: kind, attribute: "rank", value: Double(rank)))
                }
                return .success(.reshape(sampleShape: shape))
            case "sn_linear", "sn_conv2d":
                let inner = try wrapped(String(kind.dropFirst(3)))
                let k = try int("power_iterations").get(), e = try float("eps").get()
                guard k <= 1000 else { return .failure(.invalid(kind: kind, attribute: "power_iterations", value: Double(k))) }
                guard e > 0 else { return .failure(.invalid(kind: kind, attribute: "eps", value: Double(e))) }
                return .success(.spectralNorm(inner, powerIterations: k, eps: e))
            case "virtual_batch_norm":
                let e = try float("eps").get()
                guard e > 0 else { return .failure(.invalid(kind: kind, attribute: "eps", value: Double(e))) }
                return .success(.virtualBatchNorm(features: try int("features").get(), eps: e))
            case "one_hot_concat":
                return .success(.oneHotConcat(classes: try int("classes").get()))
            case "projection_linear", "projection_sn_linear":
                let inner = try wrapped(String(kind.dropFirst("projection_".count)))
                guard inner.outputFeatures == 1 else {
                    return .failure(.invalid(kind: kind, attribute: "out_features", value: Double(inner.outputFeatures ?? 0)))
                }
                return .success(.classProjection(inner, classes: try int("classes").get()))
            default: return .failure(.unknownKind(kind))
            }
        } catch {
            return .failure(error)
        }
    }

    /// A new layer with this architecture (parameters zero; initialise or load them).
    public func makeLayer() -> Layer {
        switch self {
        case .linear(let i, let o, let b): Linear(i, o, bias: b)
        case .relu: ReLU()
        case .leakyReLU(let a): LeakyReLU(alpha: a)
        case .sigmoid: Sigmoid()
        case .tanh: Tanh()
        case .maxout(let p): Maxout(pieces: p)
        case .clamp(let lo, let hi): Clamp(min: lo, max: hi)
        case .batchNorm(let f, let m, let e): BatchNorm(features: f, momentum: m, eps: e)
        case .conv2d(let i, let o, let k, let s, let p, let b): Conv2d(i, o, kernel: k, stride: s, padding: p, bias: b)
        case .convTranspose2d(let i, let o, let k, let s, let p, let b):
            ConvTranspose2d(i, o, kernel: k, stride: s, padding: p, bias: b)
        case .reshape(let shape): Reshape(sampleShape: shape)
        case .spectralNorm(let inner, let k, let e):
            // u, v from a fixed stream: a network built from specs gets its u, v from the checkpoint.
            spectralNormLayer(inner.makeLayer(), powerIterations: k, eps: e)
        case .virtualBatchNorm(let f, let e): VirtualBatchNorm(features: f, eps: e)
        case .oneHotConcat(let k): OneHotConcat(classes: k)
        case .classProjection(let inner, let k):
            // `make` admits only linear and sn_linear inner specs, which describe themselves.
            ClassProjection(wrapping: inner.makeLayer() as! SpecifiedLayer, features: inner.inputFeatures ?? 1, classes: k)
        }
    }

    /// A linear layer's (or its spectrally normalised form's) input and output sizes; nil for other kinds.
    public var inputFeatures: Int? {
        switch self {
        case .linear(let i, _, _): i
        case .spectralNorm(let inner, _, _): inner.inputFeatures
        default: nil
        }
    }

    var outputFeatures: Int? {
        switch self {
        case .linear(_, let o, _): o
        case .spectralNorm(let inner, _, _): inner.outputFeatures
        default: nil
        }
    }

    private func spectralNormLayer(_ layer: Layer, powerIterations k: Int, eps e: Float) -> SpectralNorm {
        var rng = RNG(seed: 0, stream: .spectralNorm)
        switch layer {
        case let l as Linear: return SpectralNorm(wrapping: l, powerIterations: k, eps: e, rng: &rng)
        case let c as Conv2d: return SpectralNorm(wrapping: c, powerIterations: k, eps: e, rng: &rng)
        default: preconditionFailure("spectral normalisation applies to linear and conv2d layers, not \(layer.kind)")
        }
    }
}

public enum LayerSpecError: Error, Equatable, CustomStringConvertible {
    case unknownKind(String)
    case missing(kind: String, attribute: String)
    case invalid(kind: String, attribute: String, value: Double)

    public var description: String {
        switch self {
        case .unknownKind(let k): "unknown layer kind '\(k)'"
        case .missing(let k, let a): "layer kind '\(k)' needs attribute '\(a)'"
        case .invalid(let k, let a, let v): "layer kind '\(k)': invalid \(a) = \(v)"
        }
    }
}

/// Layers that can describe their own architecture.
public protocol SpecifiedLayer: Layer {
    var spec: LayerSpec { get }
}

extension Linear: SpecifiedLayer { public var spec: LayerSpec { .linear(inFeatures: inFeatures, outFeatures: outFeatures, bias: bias != nil) } }
extension ReLU: SpecifiedLayer { public var spec: LayerSpec { .relu } }
extension LeakyReLU: SpecifiedLayer { public var spec: LayerSpec { .leakyReLU(alpha: alpha) } }
extension Sigmoid: SpecifiedLayer { public var spec: LayerSpec { .sigmoid } }
extension Tanh: SpecifiedLayer { public var spec: LayerSpec { .tanh } }
extension Maxout: SpecifiedLayer { public var spec: LayerSpec { .maxout(pieces: pieces) } }
extension BatchNorm: SpecifiedLayer { public var spec: LayerSpec { .batchNorm(features: features, momentum: momentum, eps: eps) } }
extension Conv2d: SpecifiedLayer {
    public var spec: LayerSpec {
        .conv2d(inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride, padding: padding, bias: bias != nil)
    }
}
extension ConvTranspose2d: SpecifiedLayer {
    public var spec: LayerSpec {
        .convTranspose2d(inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride, padding: padding,
                         bias: bias != nil)
    }
}
extension Reshape: SpecifiedLayer { public var spec: LayerSpec { .reshape(sampleShape: sampleShape) } }
extension Clamp: SpecifiedLayer { public var spec: LayerSpec { .clamp(min: minimum, max: maximum) } }

extension Sequential {
    /// Builds a network from specs (zero parameters).
    public convenience init(specs: [LayerSpec]) { self.init(specs.map { $0.makeLayer() }) }

    /// Every layer's spec; nil if some layer cannot describe itself.
    public var specs: [LayerSpec]? {
        var out: [LayerSpec] = []
        for l in layers {
            guard let s = (l as? SpecifiedLayer)?.spec else { return nil }
            out.append(s)
        }
        return out
    }
}
