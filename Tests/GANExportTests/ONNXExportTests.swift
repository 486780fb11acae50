import Foundation
import GANNN
import GANTestSupport
import SwiftProtobuf
import Testing
@testable import GANExport
@_spi(Testing) import GANTensor

/// The ONNX bytes decoded with the same generated messages: the graph's interface, the weights
/// and the opset-dependent spellings. (Running the models is the CLI tests' job, in onnxruntime.)
@Suite struct ONNXExportTests {
    static func generator(seed: UInt64 = 3) -> Sequential {
        var rng = RNG(seed: seed)
        return Sequential(Linear(4, 8, rng: &rng), LeakyReLU(alpha: 0.2), Linear(8, 6, rng: &rng), Tanh())
    }

    static func decode(_ data: Data) throws -> Onnx_ModelProto { try Onnx_ModelProto(serializedBytes: data) }

    static func dims(_ v: Onnx_ValueInfoProto) -> [String] {
        v.type.tensorType.shape.dim.map { d in d.dimParam.isEmpty ? "\(d.dimValue)" : d.dimParam }
    }

    @Test func generatorHasASymbolicBatchItsWeightsAndTheDenormalisation() throws {
        let g = Self.generator()
        let n = try ExportedNetwork(name: "generator", network: g, role: .generator, inputShape: [4], sampleShape: [1, 2, 3],
                                    scale: 2, offset: -1, provenance: [("step", "7")])
        let model = try Self.decode(try ONNXExport.model(n))
        #expect(model.irVersion == 8 && model.opsetImport.map(\.version) == [17] && model.opsetImport[0].domain == "")
        #expect(model.graph.input.map(\.name) == ["z"] && Self.dims(model.graph.input[0]) == ["batch", "4"])
        #expect(model.graph.output.map(\.name) == ["x"] && Self.dims(model.graph.output[0]) == ["batch", "1", "2", "3"])
        #expect(model.graph.node.map(\.opType) == ["Gemm", "LeakyRelu", "Gemm", "Tanh", "Reshape", "Sub", "Div"])
        #expect(model.graph.node.last?.output == ["x"])
        #expect(model.graph.node[1].attribute.first { $0.name == "alpha" }?.f == Float(0.2))
        let w = try #require(model.graph.initializer.first { $0.name == "0_linear.weight" })
        #expect(w.dims == [8, 4] && w.dataType == 1)
        let stored = w.rawData.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        #expect(stored == (g.layers[0] as! Linear).weight.value.array)
        let meta = Dictionary(uniqueKeysWithValues: model.metadataProps.map { ($0.key, $0.value) })
        #expect(meta["role"] == "generator" && meta["sample_shape"] == "[1, 2, 3]" && meta["scale"] == "2" && meta["offset"] == "-1")
        #expect(meta["step"] == "7")
    }

    @Test func reductionAxesAreAnAttributeBeforeOpset18AndAnInputFrom18() throws {
        var rng = RNG(seed: 4)
        let d = Sequential(Linear(6, 8, rng: &rng), Maxout(pieces: 4), Linear(2, 1, rng: &rng))
        let n = try ExportedNetwork(name: "discriminator", network: d, role: .discriminator(output: .probability, pack: 1),
                                    inputShape: [6], sampleShape: [6], scale: 1, offset: 0)
        for (opset, inputs) in [(17, 1), (18, 2)] {
            let model = try Self.decode(try ONNXExport.model(n, opset: opset))
            let reduce = try #require(model.graph.node.first { $0.opType == "ReduceMax" })
            #expect(reduce.input.count == inputs)
            #expect(reduce.attribute.contains { $0.name == "axes" } == (opset < 18))
        }
        #expect(throws: ExportError.self) { try ONNXExport.model(n, opset: 12) }
        #expect(throws: ExportError.self) { try ONNXExport.model(n, opset: ONNXExport.opsets.upperBound + 1) }
    }

    @Test func discriminatorNormalisesPacksAndEndsInAProbabilityOrACriticValue() throws {
        var rng = RNG(seed: 5)
        let d = Sequential(Linear(4, 8, rng: &rng), ReLU(), Linear(8, 1, rng: &rng))
        for output in [ExportedNetwork.DiscriminatorOutput.probability, .critic] {
            let n = try ExportedNetwork(name: "discriminator", network: d, role: .discriminator(output: output, pack: 2),
                                        inputShape: [4], sampleShape: [2], scale: 0.5, offset: 3)
            let model = try Self.decode(try ONNXExport.model(n))
            #expect(Self.dims(model.graph.input[0]) == ["batch", "2"])
            #expect(model.graph.output.map(\.name) == [output.rawValue] && Self.dims(model.graph.output[0]) == ["packs"])
            let ops = model.graph.node.map(\.opType)
            #expect(Array(ops.prefix(3)) == ["Mul", "Add", "Reshape"])
            #expect(ops.last == (output == .probability ? "Sigmoid" : "Reshape"))
            let packShape = try #require(model.graph.initializer.first { $0.name == "pack.shape" })
            #expect(packShape.rawData.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) } == [-1, 4])
        }
        // A D whose input is not pack samples wide is refused.
        #expect(throws: ExportError.self) {
            try ExportedNetwork(name: "discriminator", network: d, role: .discriminator(output: .critic, pack: 1), inputShape: [4],
                                sampleShape: [2], scale: 1, offset: 0)
        }
    }

    @Test func spectralNormIsFoldedIntoAPlainWeight() throws {
        var rng = RNG(seed: 6)
        let sn = SpectralNorm(wrapping: Linear(5, 3, rng: &rng), rng: &rng)
        let d = Sequential(sn, LeakyReLU(alpha: 0.2), Linear(3, 1, rng: &rng))
        let x = randomTensor([4, 5], seed: 8)
        _ = d.forward(x, training: true)   // moves u, v off their initial values
        let expected = sn.forward(x, training: false).array
        let n = try ExportedNetwork(name: "discriminator", network: d, role: .discriminator(output: .critic, pack: 1), inputShape: [5],
                                    sampleShape: [5], scale: 1, offset: 0)
        let model = try Self.decode(try ONNXExport.model(n))
        let w = try #require(model.graph.initializer.first { $0.name == "0_sn_linear.weight" })
        let folded = Linear(5, 3)
        folded.weight.value.copy(from: Tensor(shape: [3, 5], values: w.rawData.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }))
        folded.bias!.value.copy(from: sn.bias!.value)
        #expect(folded.forward(x, training: false).array == expected)
        #expect(!model.graph.initializer.contains { $0.name.contains("weight_u") })
    }
}
