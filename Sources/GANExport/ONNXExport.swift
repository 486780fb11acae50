import Foundation
import GANNN
import SwiftProtobuf

/// Writes an `ExportedNetwork` as an ONNX model (the default domain's operators only, so any ONNX
/// runtime loads it): inputs and outputs FP32 with a symbolic batch dimension, the weights as
/// initializers named after the checkpoint's groups (`0_linear.weight`), the serving arithmetic
/// around the layers (de-normalisation of G's samples, D's normalisation, packing and sigmoid)
/// included, and the checkpoint's facts as `metadata_props`.
///
/// Each layer becomes the operators that compute what its evaluation-mode forward computes:
/// spectral norm is folded into the weight (W / σ from the stored u, v), batch norm uses its
/// running statistics, and virtual batch norm normalises each example with its frozen reference
/// statistics plus the example itself, in double precision as the engine does.
public enum ONNXExport {
    /// The opsets the exporter writes; `make test` runs both ends and the default in onnxruntime.
    public static let opsets = 13...21
    /// The opset of `gan-sample export` without `--opset` (ONNX 1.12, supported by every current runtime).
    public static let defaultOpset = 17

    /// The oldest IR version that carries `opset` (onnx.helper.VERSION_TABLE), so that older
    /// runtimes still load the file.
    static func irVersion(opset: Int) -> Int {
        switch opset {
        case ...14: 7
        case 15...18: 8
        case 19...20: 9
        default: 10
        }
    }

    /// The serialised model.
    public static func model(_ n: ExportedNetwork, opset: Int = defaultOpset) throws -> Data {
        guard opsets.contains(opset) else { throw ExportError("opset \(opset) is not supported: use \(opsets.lowerBound)...\(opsets.upperBound)") }
        var g = ONNXGraph(opset: opset, reserved: ["z", "x", "probability", "critic", "class", "class_logits"])
        let input: Onnx_ValueInfoProto, output: Onnx_ValueInfoProto
        var extraOutputs: [Onnx_ValueInfoProto] = []
        var x: String
        switch n.role {
        case .generator:
            input = ONNXGraph.value("z", batch: "batch", perRow: n.inputShape, doc: "noise drawn from the prior in metadata noise_prior")
            x = try layers(n, from: "z", &g)
            if n.outputShape != n.sampleShape { x = g.reshape(x, perRow: n.sampleShape, name: "sample_shape") }
            // data = (G(z) - offset) / scale, Checkpoints/README.md
            if n.offset != 0 { x = g.node("Sub", [x, g.constant("offset", [n.offset], shape: [])], name: "denormalise_offset") }
            if n.scale != 1 { x = g.node("Div", [x, g.constant("scale", [n.scale], shape: [])], name: "denormalise_scale") }
            g.output(x, as: "x")
            output = ONNXGraph.value("x", batch: "batch", perRow: n.sampleShape, doc: "samples in data units")
        case .discriminator(let kind, let pack):
            input = ONNXGraph.value("x", batch: "batch", perRow: n.sampleShape,
                                    doc: pack > 1 ? "samples in data units; every \(pack) consecutive rows are one pack" : "samples in data units")
            x = "x"
            // model units = scale · x + offset, as the training data were normalised
            if n.scale != 1 { x = g.node("Mul", [x, g.constant("scale", [n.scale], shape: [])], name: "normalise_scale") }
            if n.offset != 0 { x = g.node("Add", [x, g.constant("offset", [n.offset], shape: [])], name: "normalise_offset") }
            if pack > 1 || n.inputShape != n.sampleShape { x = g.reshape(x, perRow: n.inputShape, name: pack > 1 ? "pack" : "input_shape") }
            x = try layers(n, from: x, &g)
            if n.auxiliaryClasses > 0 {
                // ACGAN: the adversarial value (column 0), then the K class logits as their own output.
                let k = n.auxiliaryClasses
                let logits = slice(x, from: 1, to: 1 + k, name: "class_logits_columns", &g)
                g.output(logits, as: "class_logits")
                extraOutputs.append(ONNXGraph.value("class_logits", batch: "batch", perRow: [k], doc: "ACGAN: D's logits of the K classes"))
                x = slice(x, from: 0, to: 1, name: "adversarial_column", &g)
            }
            x = g.reshape(x, perRow: [], name: "one_value_per_row")
            if kind == .probability { x = g.node("Sigmoid", [x], name: "sigmoid") }
            let outputName = kind.rawValue
            g.output(x, as: outputName)
            output = ONNXGraph.value(outputName, batch: pack > 1 ? "packs" : "batch", perRow: [],
                                     doc: kind == .probability ? "D's probability that the row (pack) is real" : "the WGAN critic's value")
        }
        var graph = Onnx_GraphProto()
        graph.name = n.name
        graph.node = g.nodes
        graph.initializer = g.initializers
        graph.input = [input]
        if let k = n.inputClasses {
            graph.input.append(ONNXGraph.value("class", batch: "batch", perRow: [],
                                               elementType: .int64, doc: "one class label per row, in 0..<\(k) (metadata class_names)"))
        }
        graph.output = [output] + extraOutputs
        graph.docString = "SwiftGAN \(n.name), exported by gan-sample export"
        var model = Onnx_ModelProto()
        model.irVersion = Int64(irVersion(opset: opset))
        var set = Onnx_OperatorSetIdProto()
        (set.domain, set.version) = ("", Int64(opset))
        model.opsetImport = [set]
        model.producerName = "SwiftGAN"
        model.producerVersion = SwiftGANVersion.string
        model.graph = graph
        model.metadataProps = n.metadata.map { key, value in
            var e = Onnx_StringStringEntryProto()
            (e.key, e.value) = (key, value)
            return e
        }
        return try model.serializedData()
    }

    /// Lowers every layer in order, starting from value `x`.
    private static func layers(_ n: ExportedNetwork, from x: String, _ g: inout ONNXGraph) throws -> String {
        var x = x
        for i in n.layers.indices { x = try layer(n, i, x, &g) }
        return x
    }

    private static func layer(_ n: ExportedNetwork, _ i: Int, _ x: String, _ g: inout ONNXGraph) throws -> String {
        let (layer, spec, input) = n.layers[i]
        let name = n.layerName(i)
        switch (spec, layer) {
        case (.linear, let l as Linear):
            return gemm(x, input: input, weight: l.weight.value, bias: l.bias?.value, name: name, &g)
        case (.spectralNorm(.linear, _, _), let s as SpectralNorm):
            return gemm(x, input: input, weight: s.evaluationWeight(), bias: s.bias?.value, name: name, &g)
        case (.conv2d(_, _, let k, let stride, let pad, _), let c as Conv2d):
            return convolution("Conv", x, weight: c.weight.value, bias: c.bias?.value, kernel: k, stride: stride, padding: pad, name: name, &g)
        case (.spectralNorm(.conv2d(_, _, let k, let stride, let pad, _), _, _), let s as SpectralNorm):
            return convolution("Conv", x, weight: s.evaluationWeight(), bias: s.bias?.value, kernel: k, stride: stride, padding: pad,
                               name: name, &g)
        case (.convTranspose2d(_, _, let k, let stride, let pad, _), let c as ConvTranspose2d):
            // Weight [in, out, k, k]: PyTorch's layout is ONNX's (C x M/group x kH x kW).
            return convolution("ConvTranspose", x, weight: c.weight.value, bias: c.bias?.value, kernel: k, stride: stride,
                               padding: pad, name: name, &g)
        case (.batchNorm(_, let momentum, let eps), let b as BatchNorm):
            // ONNX's momentum weighs the old running value: PyTorch's 1 - momentum (inference ignores it).
            let inputs = [x, g.constant(name + ".weight", b.weight.value), g.constant(name + ".bias", b.bias.value),
                          g.constant(name + ".running_mean", b.runningMean), g.constant(name + ".running_var", b.runningVar)]
            return g.node("BatchNormalization", inputs, name: name,
                          [ONNXGraph.attribute("epsilon", eps), ONNXGraph.attribute("momentum", 1 - momentum)])
        case (.virtualBatchNorm, let v as VirtualBatchNorm):
            return virtualBatchNorm(x, v, input: input, name: name, &g)
        case (.relu, _): return g.node("Relu", [x], name: name)
        case (.leakyReLU(let alpha), _): return g.node("LeakyRelu", [x], name: name, [ONNXGraph.attribute("alpha", alpha)])
        case (.sigmoid, _): return g.node("Sigmoid", [x], name: name)
        case (.tanh, _): return g.node("Tanh", [x], name: name)
        case (.maxout(let pieces), _):
            // unit j = max of the flattened inputs j·pieces ..< (j+1)·pieces
            let grouped = g.reshape(x, perRow: [input.reduce(1, *) / pieces, pieces], name: name + ".pieces")
            return g.reduce("ReduceMax", grouped, axes: [2], keepDims: false, name: name)
        case (.clamp(let lo, let hi), _):
            return g.node("Clip", [x, g.constant(name + ".min", [lo], shape: []), g.constant(name + ".max", [hi], shape: [])], name: name)
        case (.reshape(let shape), _):
            return g.reshape(x, perRow: shape, name: name)
        case (.oneHotConcat(let k), _):
            // [x; one-hot(class)]: K values after a flat row, K constant planes after an image's channels.
            var code = g.node("OneHot", ["class", g.constant(name + ".depth", int64s: [k], shape: []),
                                         g.constant(name + ".values", [0, 1], shape: [2])], name: name + ".one_hot",
                              [ONNXGraph.attribute("axis", -1)])
            if input.count == 3 {
                code = g.reshape(code, perRow: [k, 1, 1], name: name + ".planes_shape")
                code = g.node("Mul", [code, g.constant(name + ".ones", [Float](repeating: 1, count: input[1] * input[2]),
                                                       shape: [1, 1, input[1], input[2]])], name: name + ".planes")
            }
            return g.node("Concat", [x, code], name: name, [ONNXGraph.attribute("axis", 1)])
        case (.classProjection(let inner, _), let p as ClassProjection):
            // ψ(φ) + embed[class] · φ
            let psi: String
            switch (inner, p.output) {
            case (.linear, let l as Linear): psi = gemm(x, input: input, weight: l.weight.value, bias: l.bias?.value, name: name + ".psi", &g)
            case (.spectralNorm(.linear, _, _), let s as SpectralNorm):
                psi = gemm(x, input: input, weight: s.evaluationWeight(), bias: s.bias?.value, name: name + ".psi", &g)
            default: throw ExportError("/\(n.name)/\(name): projection around \(inner.kind) has no ONNX lowering")
            }
            let flat = input.count == 1 ? x : g.node("Flatten", [x], name: name + ".flatten", [ONNXGraph.attribute("axis", 1)])
            let embedded = g.node("Gather", [g.constant(name + ".class_embedding", p.embedding.value), "class"], name: name + ".embed",
                                  [ONNXGraph.attribute("axis", 0)])
            let product = g.node("Mul", [flat, embedded], name: name + ".product")
            let projection = g.node("ReduceSum", [product, g.constant(name + ".axes", int64s: [1], shape: [1])], name: name + ".projection",
                                    [ONNXGraph.attribute("keepdims", 1)])
            return g.node("Add", [psi, projection], name: name)
        default:
            throw ExportError("/\(n.name)/\(name): layer kind \(spec.kind) has no ONNX lowering")
        }
    }

    /// Columns `from ..< to` of a `[N, C]` value.
    private static func slice(_ x: String, from: Int, to: Int, name: String, _ g: inout ONNXGraph) -> String {
        g.node("Slice", [x, g.constant(name + ".starts", int64s: [from], shape: [1]), g.constant(name + ".ends", int64s: [to], shape: [1]),
                         g.constant(name + ".axes", int64s: [1], shape: [1])], name: name)
    }

    /// y = x Wᵀ + b (Gemm, transB): the engine's Linear flattens a multi-dimensional sample first.
    private static func gemm(_ x: String, input: [Int], weight: Tensor, bias: Tensor?, name: String, _ g: inout ONNXGraph) -> String {
        let flat = input.count == 1 ? x : g.node("Flatten", [x], name: name + ".flatten", [ONNXGraph.attribute("axis", 1)])
        var inputs = [flat, g.constant(name + ".weight", weight)]
        if let bias { inputs.append(g.constant(name + ".bias", bias)) }
        return g.node("Gemm", inputs, name: name, [ONNXGraph.attribute("transB", 1)])
    }

    /// Conv / ConvTranspose with square kernels, equal strides and symmetric padding.
    private static func convolution(_ op: String, _ x: String, weight: Tensor, bias: Tensor?, kernel: Int, stride: Int, padding: Int,
                                    name: String, _ g: inout ONNXGraph) -> String {
        var inputs = [x, g.constant(name + ".weight", weight)]
        if let bias { inputs.append(g.constant(name + ".bias", bias)) }
        return g.node(op, inputs, name: name, [ONNXGraph.attribute("kernel_shape", ints: [kernel, kernel]),
                                               ONNXGraph.attribute("strides", ints: [stride, stride]),
                                               ONNXGraph.attribute("pads", ints: [padding, padding, padding, padding])])
    }

    /// `VirtualBatchNorm`'s ordinary pass with its reference statistics frozen: per example and
    /// channel, with a = 1/(n + 1) and the example's own (spatial) means x̄, x²̄ in double,
    /// μ = a·x̄ + (1 - a)·μ_R, σ² = max(a·x²̄ + (1 - a)·s_R - μ², 0), then in float
    /// y = γ · ((x - μ) · (1/sqrt(σ² + eps))) + β, the engine's order of operations.
    private static func virtualBatchNorm(_ x: String, _ v: VirtualBatchNorm, input: [Int], name: String, _ g: inout ONNXGraph) -> String {
        let c = v.features, perChannel = input.count == 1 ? [c] : [c] + Array(repeating: 1, count: input.count - 1)
        let a = 1 / (Double(v.referenceSize[0]) + 1), old = 1 - a
        let xd = g.cast(x, to: .double, name: name + ".double")
        let squares = g.node("Mul", [xd, xd], name: name + ".squares")
        let spatial = Array(2..<(input.count + 1))
        let m1 = spatial.isEmpty ? xd : g.reduce("ReduceMean", xd, axes: spatial, keepDims: true, name: name + ".example_mean")
        let m2 = spatial.isEmpty ? squares : g.reduce("ReduceMean", squares, axes: spatial, keepDims: true, name: name + ".example_mean_sq")
        let newWeight = g.constant(name + ".a", doubles: [a], shape: [])
        let oldMean = g.constant(name + ".reference_mean_term", doubles: v.referenceMean.array.map { old * Double($0) }, shape: perChannel)
        let oldSquare = g.constant(name + ".reference_mean_sq_term", doubles: v.referenceMeanSquare.array.map { old * Double($0) },
                                   shape: perChannel)
        let mean = g.node("Add", [g.node("Mul", [m1, newWeight], name: name + ".a_mean"), oldMean], name: name + ".mean")
        let meanSquare = g.node("Add", [g.node("Mul", [m2, newWeight], name: name + ".a_mean_sq"), oldSquare], name: name + ".mean_sq")
        let spread = g.node("Sub", [meanSquare, g.node("Mul", [mean, mean], name: name + ".mean_squared")], name: name + ".spread")
        let variance = g.node("Max", [spread, g.constant(name + ".zero", doubles: [0], shape: [])], name: name + ".variance")
        let std = g.node("Sqrt", [g.node("Add", [variance, g.constant(name + ".eps", doubles: [Double(v.eps)], shape: [])],
                                         name: name + ".variance_eps")], name: name + ".std")
        let inverse = g.node("Div", [g.constant(name + ".one", doubles: [1], shape: []), std], name: name + ".inverse_std")
        let mu = g.cast(mean, to: .float, name: name + ".mean_float")
        let invStd = g.cast(inverse, to: .float, name: name + ".inverse_std_float")
        let normalised = g.node("Mul", [g.node("Sub", [x, mu], name: name + ".centred"), invStd], name: name + ".normalised")
        let scaled = g.node("Mul", [normalised, g.constant(name + ".weight", v.weight.value, shape: perChannel)], name: name + ".scaled")
        return g.node("Add", [scaled, g.constant(name + ".bias", v.bias.value, shape: perChannel)], name: name)
    }
}
