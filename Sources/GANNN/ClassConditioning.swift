/// Class-conditional layers (issue 22): layers whose output depends on each row's class label as
/// well as on the row. The caller gives the labels of the next forward's rows with
/// `setLabels(_:)` (`Sequential.setLabels` reaches every such layer of a network); the layer keeps
/// its own copy, so the following `backward` uses the labels of its forward whatever the caller
/// does with its array in between. Given the labels, each output row depends on its input row
/// only, so stacked batches are fine when their labels are stacked the same way.
public protocol ClassConditionalLayer: RowIndependentLayer {
    /// K: labels are in `0..<classCount`.
    var classCount: Int { get }
    /// The class of each row of the next forward's input (one per row).
    func setLabels(_ labels: [Int])
}

/// A label store the conditional layers share: a copy of the caller's labels, reusing its
/// capacity (no allocation per step once warmed up).
struct RowLabels {
    private(set) var values: [Int] = []

    mutating func set(_ labels: [Int], classes: Int, layer: String) {
        values.removeAll(keepingCapacity: true)
        values.append(contentsOf: labels)
        for y in values { precondition(y >= 0 && y < classes, "\(layer): label \(y) is not in 0..<\(classes)") }
    }

    /// The labels, checked to be one per row of a batch of `rows`.
    func forRows(_ rows: Int, layer: String) -> [Int] {
        precondition(values.count == rows, "\(layer): \(values.count) labels for \(rows) rows (call setLabels before forward)")
        return values
    }
}

/// Concatenation of a one-hot class code to every sample (Mirza & Osindero 2014, "Conditional
/// Generative Adversarial Nets"): a flat sample `[d]` becomes `[d + K]` (the one-hot vector after
/// the values), an image `[C, H, W]` becomes `[C + K, H, W]` (K more channels, all zero but the
/// label's, which is all ones: the usual way to feed a class to a convolutional D). The first
/// layer of a concat-conditioned G (after z) or D (after the sample). No parameters; the input
/// gradient is the first C (or d) channels of the output gradient. Kind `one_hot_concat`,
/// attribute `classes`.
public final class OneHotConcat: ClassConditionalLayer {
    public let classCount: Int
    public var kind: String { "one_hot_concat" }
    private var labels = RowLabels()
    private let output = Tensor(shape: [0])
    private let inputGradient = Tensor(shape: [0])

    public init(classes: Int) {
        precondition(classes >= 1, "OneHotConcat: classes must be >= 1, got \(classes)")
        classCount = classes
    }

    public func setLabels(_ labels: [Int]) { self.labels.set(labels, classes: classCount, layer: "OneHotConcat") }

    /// `[d] -> [d + K]`, `[C, H, W] -> [C + K, H, W]`.
    public func outputShape(for s: [Int]) -> [Int]? {
        guard s.count == 1 || s.count == 3 else { return nil }
        return [s[0] + classCount] + s.dropFirst()
    }

    /// (channels, plane) of one input sample: C and H·W for images, d and 1 for flat rows.
    private func layout(_ x: Tensor) -> (channels: Int, plane: Int) {
        x.shape.count == 4 ? (x.shape[1], x.shape[2] * x.shape[3]) : (x.columns, 1)
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let n = x.rows, (c, p) = layout(x), k = classCount
        let y = labels.forRows(n, layer: "OneHotConcat")
        if x.shape.count == 4 { output.resize(batch: n, sampleShape: [c + k, x.shape[2], x.shape[3]]) } else { output.resize(rows: n, columns: c + k) }
        let inSize = c * p, outSize = (c + k) * p
        for i in 0..<n {
            let dst = output.data + i * outSize
            dst.update(from: x.data + i * inSize, count: inSize)
            (dst + inSize).update(repeating: 0, count: k * p)
            (dst + inSize + y[i] * p).update(repeating: 1, count: p)
        }
        return output
    }

    public func backward(_ dy: Tensor, mode: BackwardMode) -> Tensor? { backward(dy, mode: mode, into: inputGradient) }

    public func backward(_ dy: Tensor, mode: BackwardMode, into gradient: Tensor) -> Tensor? {
        guard mode.contains(.inputGradient) else { return nil }
        let n = dy.rows, k = classCount
        let isImage = dy.shape.count == 4
        let p = isImage ? dy.shape[2] * dy.shape[3] : 1
        let c = dy.columns / p - k
        if isImage { gradient.resize(batch: n, sampleShape: [c, dy.shape[2], dy.shape[3]]) } else { gradient.resize(rows: n, columns: c) }
        for i in 0..<n { (gradient.data + i * c * p).update(from: dy.data + i * (c + k) * p, count: c * p) }
        return gradient
    }
}

/// The projection discriminator's output layer (Miyato & Koyama 2018, "cGANs with Projection
/// Discriminator"): D's last linear layer ψ (a `Linear` or a spectrally normalised one, one
/// output) plus the inner product of a learned class embedding with D's penultimate features φ(x):
///
///     D(x, y) = ψ(φ(x)) + embed(y) · φ(x)          embed: parameter `class_embedding` [K, F]
///
/// Backward: d/dφ = dψ/dφ + dy · embed(y); d/d embed(y) += dy · φ(x) (rows of the same class add).
/// The embedding is not spectrally normalised (ψ is, when wrapped). Kind `projection_` + ψ's kind
/// (`projection_linear`, `projection_sn_linear`), ψ's attributes plus `classes`; parameters ψ's,
/// then `class_embedding`; buffers ψ's.
public final class ClassProjection: ClassConditionalLayer {
    /// ψ: maps F features to one logit.
    public let output: SpecifiedLayer
    public let classCount: Int
    public let features: Int
    public let embedding: Parameter
    public var kind: String { "projection_" + output.kind }
    public var parameters: [Parameter] { output.parameters + [embedding] }
    public var buffers: [(name: String, tensor: Tensor)] { output.buffers }
    private var labels = RowLabels()
    private var input: Tensor?
    private let result = Tensor(shape: [0])
    private let ownGradient = Tensor(shape: [0])

    /// Wraps ψ (`features` inputs, one output); the embedding starts at zero (call
    /// `initializeEmbedding` or load it).
    public init(wrapping output: SpecifiedLayer, features: Int, classes: Int) {
        precondition(output.outputShape(for: [features]) == [1], "ClassProjection: the wrapped layer must map \(features) features to 1 logit")
        precondition(classes >= 1, "ClassProjection: classes must be >= 1, got \(classes)")
        self.output = output
        self.features = features
        classCount = classes
        embedding = Parameter("class_embedding", shape: [classes, features])
    }

    /// Fills the embedding from U(-1/√F, 1/√F) (the bound of PyTorch's default Linear init).
    public func initializeEmbedding(rng: inout RNG) {
        let bound = 1 / Float(features).squareRoot()
        rng.fillUniform(embedding.value.data, count: embedding.value.count, low: -bound, high: bound)
    }

    public func setLabels(_ labels: [Int]) { self.labels.set(labels, classes: classCount, layer: "ClassProjection") }

    public func outputShape(for s: [Int]) -> [Int]? { s.reduce(1, *) == features ? [1] : nil }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let n = x.rows, f = features
        let y = labels.forRows(n, layer: "ClassProjection")
        input = x
        let psi = output.forward(x, training: training)
        result.resize(rows: n, columns: 1)
        for i in 0..<n {
            let row = x.data + i * f, e = embedding.value.data + y[i] * f
            var s: Float = 0
            for j in 0..<f { s += row[j] * e[j] }
            result[i] = psi[i] + s
        }
        return result
    }

    public func backward(_ dy: Tensor, mode: BackwardMode) -> Tensor? { backward(dy, mode: mode, into: ownGradient) }

    public func backward(_ dy: Tensor, mode: BackwardMode, into gradient: Tensor) -> Tensor? {
        guard let x = input else { preconditionFailure("ClassProjection.backward called before forward") }
        let n = x.rows, f = features, y = labels.forRows(n, layer: "ClassProjection")
        let dx = output.backward(dy, mode: mode, into: gradient)
        if mode.contains(.parameterGradients) {
            for i in 0..<n {
                let row = x.data + i * f, g = embedding.gradient.data + y[i] * f, d = dy[i]
                for j in 0..<f { g[j] += d * row[j] }
            }
        }
        guard let dx else { return nil }
        for i in 0..<n {
            let g = dx.data + i * f, e = embedding.value.data + y[i] * f, d = dy[i]
            for j in 0..<f { g[j] += d * e[j] }
        }
        return dx
    }
}

extension Sequential {
    /// Gives every class-conditional layer the labels of the next forward's rows.
    public func setLabels(_ labels: [Int]) {
        for case let l as ClassConditionalLayer in layers { l.setLabels(labels) }
    }

    /// K when some layer is class-conditional (their class counts agree), else nil.
    public var conditionalClassCount: Int? {
        layers.lazy.compactMap { ($0 as? ClassConditionalLayer)?.classCount }.first
    }
}

extension OneHotConcat: SpecifiedLayer { public var spec: LayerSpec { .oneHotConcat(classes: classCount) } }
extension ClassProjection: SpecifiedLayer { public var spec: LayerSpec { .classProjection(output.spec, classes: classCount) } }

extension Sequential {
    /// A forward pass whose rows are labelled `(start + i) mod K` when the network is
    /// class-conditional (balanced classes in a fixed order: evaluation samples and progress
    /// grids); a plain forward otherwise.
    public func forward(_ x: Tensor, training: Bool, cyclingLabelsFrom start: Int) -> Tensor {
        if let k = conditionalClassCount { setLabels((0..<x.rows).map { (start + $0) % k }) }
        return forward(x, training: training)
    }
}
