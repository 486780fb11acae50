import Foundation
import GANNN
import GANTestSupport
import Testing
@testable import GANExport
@_spi(Testing) import GANTensor

/// The safetensors layout read back by hand: header length, 8-byte alignment, contiguous offsets,
/// PyTorch's state_dict names per layer kind, and the metadata the README's snippet builds from.
@Suite struct SafetensorsExportTests {
    struct Parsed {
        var tensors: [String: (dtype: String, shape: [Int], bytes: Data)]
        var metadata: [String: String]
    }

    static func parse(_ file: Data) throws -> Parsed {
        let length = Int(file.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian)
        #expect((8 + length) % 8 == 0, "the data must start 8-byte aligned")
        let header = try #require(try JSONSerialization.jsonObject(with: file.subdata(in: 8..<(8 + length))) as? [String: Any])
        let data = file.subdata(in: (8 + length)..<file.count)
        var tensors: [String: (String, [Int], Data)] = [:], ends: [Int] = [0]
        for (name, value) in header where name != "__metadata__" {
            let info = try #require(value as? [String: Any])
            let offsets = try #require(info["data_offsets"] as? [Int])
            tensors[name] = (try #require(info["dtype"] as? String), try #require(info["shape"] as? [Int]),
                             data.subdata(in: offsets[0]..<offsets[1]))
            ends.append(offsets[1])
        }
        #expect(ends.max() == data.count, "the offsets must cover the data")
        #expect(tensors.values.map(\.2.count).reduce(0, +) == data.count, "tensors must not overlap")
        return Parsed(tensors: tensors, metadata: try #require(header["__metadata__"] as? [String: String]))
    }

    static func floats(_ d: Data) -> [Float] { d.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } }

    @Test func everyKindWithStateHasPyTorchsNamesAndLayout() throws {
        var rng = RNG(seed: 11)
        let sn = SpectralNorm(wrapping: Conv2d(1, 2, kernel: 4, stride: 2, padding: 1), rng: &rng)
        let bn = BatchNorm(features: 2), vbn = VirtualBatchNorm(features: 2)
        vbn.referenceSize[0] = 16
        let up = ConvTranspose2d(2, 1, kernel: 4, stride: 2, padding: 1)
        let d = Sequential(sn, bn, vbn, LeakyReLU(alpha: 0.2), up, Reshape([64]), Linear(64, 1, rng: &rng), Clamp(min: -4, max: 4))
        let n = try ExportedNetwork(name: "discriminator", network: d, role: .discriminator(output: .probability, pack: 1),
                                    inputShape: [1, 8, 8], sampleShape: [1, 8, 8], scale: 2, offset: -1, provenance: [("step", "3")])
        let p = try Self.parse(try SafetensorsExport.file(n))
        let expected: [String: [Int]] = [
            "0.weight_orig": [2, 1, 4, 4], "0.bias": [2], "0.weight_u": [2], "0.weight_v": [16],
            "1.weight": [2], "1.bias": [2], "1.running_mean": [2], "1.running_var": [2], "1.num_batches_tracked": [],
            "2.weight": [2], "2.bias": [2], "2.reference_mean": [2], "2.reference_mean_sq": [2], "2.reference_size": [1],
            "4.weight": [2, 1, 4, 4], "4.bias": [1], "6.weight": [1, 64], "6.bias": [1],
        ]
        #expect(Dictionary(uniqueKeysWithValues: p.tensors.map { ($0.key, $0.value.shape) }) == expected)
        #expect(p.tensors["1.num_batches_tracked"]?.dtype == "I64" && p.tensors["0.weight_u"]?.dtype == "F32")
        #expect(Self.floats(p.tensors["0.weight_orig"]!.bytes) == sn.weight.value.array)
        #expect(Self.floats(p.tensors["2.reference_size"]!.bytes) == [16])
        #expect(Self.floats(p.tensors["4.weight"]!.bytes) == up.weight.value.array)
        #expect(p.metadata["format"] == "pt" && p.metadata["role"] == "discriminator" && p.metadata["output"] == "probability")
        #expect(p.metadata["input_shape"] == "[1, 8, 8]" && p.metadata["pack"] == "1" && p.metadata["step"] == "3")
        let layers = try #require(try JSONSerialization.jsonObject(with: Data(p.metadata["layers"]!.utf8)) as? [[String: Any]])
        #expect(layers.map { $0["kind"] as? String } == ["sn_conv2d", "batch_norm", "virtual_batch_norm", "leaky_relu",
                                                          "conv_transpose2d", "reshape", "linear", "clamp"])
        #expect(layers[1]["input_shape"] as? [Int] == [2, 4, 4] && layers[5]["dim0"] as? Int == 64)
        #expect((layers[3]["alpha"] as? Double).map { Float($0) } == Float(0.2))
    }

    @Test func aLinearLayerOnAnUnflattenedSampleIsRefusedNamingIt() throws {
        var rng = RNG(seed: 12)
        let d = Sequential(Conv2d(1, 2, kernel: 4, stride: 2, padding: 1), Linear(32, 1, rng: &rng))
        let n = try ExportedNetwork(name: "discriminator", network: d, role: .discriminator(output: .critic, pack: 1),
                                    inputShape: [1, 8, 8], sampleShape: [1, 8, 8], scale: 1, offset: 0)
        #expect { try SafetensorsExport.file(n) } throws: { error in
            "\(error)".hasPrefix("/discriminator/1_linear: takes a [2, 4, 4] sample") && !"\(error)".contains("\n")
        }
        // ONNX flattens like the engine does.
        #expect(try ONNXExport.model(n).count > 0)
    }
}
