import GANNN

/// A network as it leaves SwiftGAN, with what surrounds its layers when `gan-sample` serves it,
/// so that an exported file computes in data units exactly what `generate` and `score` compute:
///
/// - generator: z `[N, noise]` -> `(G(z) - offset) / scale`, shaped `[N, sample shape]`;
/// - discriminator: samples `[N, sample shape]` in data units -> `scale · x + offset`, every
///   `pack` consecutive rows concatenated into one row of D (PacGAN), D's logit through the
///   sigmoid (a probability) or as is (a WGAN critic's value), one value per pack.
///
/// A class-conditional network (issue 22) takes a second input, `class` INT64 `[N]`, one label
/// per row (`inputClasses`: its K); an ACGAN discriminator takes none but outputs K class logits
/// after its adversarial value (`auxiliaryClasses`).
public struct ExportedNetwork {
    public enum Role: Equatable, Sendable {
        case generator
        case discriminator(output: DiscriminatorOutput, pack: Int)
    }

    /// What D's value means: a classifier's probability, or a WGAN critic's unbounded value.
    public enum DiscriminatorOutput: String, Sendable {
        case probability, critic
    }

    /// The checkpoint's group name (`generator`, `generator_ema`, `discriminator`).
    public let name: String
    public let network: Sequential
    public let role: Role
    /// The per-row input shape of `network` (`[noise]` for G; D's own, `pack` samples wide).
    public let inputShape: [Int]
    public let sampleShape: [Int]
    /// model units = scale · data units + offset (`data/scale`, `data/offset` of the checkpoint).
    public let scale: Float
    public let offset: Float
    /// Provenance and serving facts (checkpoint, step, noise prior, ...) for both formats' metadata.
    public let provenance: [(key: String, value: String)]
    /// Every layer's spec with its per-row input shape, in forward order.
    let layers: [(layer: Layer, spec: LayerSpec, input: [Int])]
    /// The per-row output shape of `network`.
    let outputShape: [Int]
    /// K when the network's layers take each row's class (`OneHotConcat`, `ClassProjection`), else nil.
    public let inputClasses: Int?
    /// K for an ACGAN discriminator (1 + K outputs per row), else 0.
    public let auxiliaryClasses: Int

    public init(name: String, network: Sequential, role: Role, inputShape: [Int], sampleShape: [Int], scale: Float,
                offset: Float, provenance: [(key: String, value: String)] = [], auxiliaryClasses: Int = 0) throws {
        guard let specs = network.specs else {
            throw ExportError("/\(name): a layer cannot describe itself (not a checkpoint layer kind)")
        }
        var shape = inputShape, layers: [(layer: Layer, spec: LayerSpec, input: [Int])] = []
        for (i, (layer, spec)) in zip(network.layers, specs).enumerated() {
            guard let next = layer.outputShape(for: shape) else {
                throw ExportError("/\(name)/\(i)_\(spec.kind): cannot take a per-sample input of shape \(shape)")
            }
            layers.append((layer, spec, shape))
            shape = next
        }
        let features = sampleShape.reduce(1, *)
        switch role {
        case .generator:
            guard shape.reduce(1, *) == features else {
                throw ExportError("/\(name): outputs \(shape.reduce(1, *)) values per sample, the sample shape \(sampleShape) has \(features)")
            }
        case .discriminator(_, let pack):
            guard pack >= 1, inputShape.reduce(1, *) == pack * features, shape.reduce(1, *) == 1 + auxiliaryClasses else {
                throw ExportError("/\(name): takes \(inputShape) and outputs \(shape) per row; expected \(pack) sample(s) of \(features) values in, "
                                  + (auxiliaryClasses > 0 ? "1 + \(auxiliaryClasses) values out" : "one value out"))
            }
        }
        (self.name, self.network, self.role, self.inputShape, self.sampleShape) = (name, network, role, inputShape, sampleShape)
        (self.scale, self.offset, self.provenance, self.layers, self.outputShape) = (scale, offset, provenance, layers, shape)
        (inputClasses, self.auxiliaryClasses) = (network.conditionalClassCount, auxiliaryClasses)
    }

    /// A JSON array of strings, as the metadata writes them (e.g. a conditional model's class names).
    public static func jsonArray(_ strings: [String]) -> String { "[" + strings.map(JSON.string).joined(separator: ", ") + "]" }

    /// The group name of layer `i` in the checkpoint (`0_linear`), which exported names reuse.
    func layerName(_ i: Int) -> String { "\(i)_\(layers[i].spec.kind)" }

    /// The facts both exports record as string metadata: role, shapes, normalisation, then the
    /// caller's provenance. Values are JSON where they are not plain words.
    var metadata: [(key: String, value: String)] {
        var m: [(key: String, value: String)] = [("producer", "SwiftGAN \(SwiftGANVersion.string)"), ("network", name)]
        switch role {
        case .generator:
            m += [("role", "generator"), ("output", "samples")]
        case .discriminator(let output, let pack):
            m += [("role", "discriminator"), ("output", output.rawValue), ("pack", "\(pack)")]
        }
        if let k = inputClasses { m.append(("class_input", "\(k)")) }
        if auxiliaryClasses > 0 { m.append(("class_logits", "\(auxiliaryClasses)")) }
        m += [("input_shape", JSON.array(inputShape)), ("sample_shape", JSON.array(sampleShape)),
              ("scale", JSON.number(Double(scale))), ("offset", JSON.number(Double(offset)))]
        return m + provenance
    }
}

/// A network that cannot be exported, or a format that cannot express one of its layers: one line
/// naming the layer and why.
public struct ExportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}

/// The few JSON spellings the exports write (metadata values, the safetensors header): numbers
/// as the shortest text that reads back as the same Double (a Float's value widens exactly),
/// integral ones without a fraction.
enum JSON {
    static func number(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : "\(x)"
    }

    static func array(_ xs: [Int]) -> String { "[" + xs.map(String.init).joined(separator: ", ") + "]" }

    static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    /// An object with its keys in the given order.
    static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { string($0.0) + ": " + $0.1 }.joined(separator: ", ") + "}"
    }
}
