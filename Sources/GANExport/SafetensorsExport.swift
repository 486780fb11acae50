import Foundation
import GANNN

/// Writes an `ExportedNetwork`'s weights as a safetensors file whose tensor names and layouts are
/// the `state_dict` of the equivalent PyTorch `nn.Sequential` (one module per SwiftGAN layer, same
/// index; Checkpoints/README.md lists the module per layer kind and a snippet that builds it from
/// the file's metadata). Spectral norm keeps PyTorch's `torch.nn.utils.spectral_norm` layout
/// (`weight_orig`, `weight_u`, `weight_v`), whose power iteration order is the engine's, so a
/// fine-tuned D continues the same normalisation.
///
/// Format (https://github.com/huggingface/safetensors): an unsigned 64-bit little-endian header
/// length, a JSON header (padded with spaces to a multiple of 8 bytes) mapping each name to
/// `dtype`, `shape` and `data_offsets` into the data that follows, and `__metadata__` (strings).
public enum SafetensorsExport {
    /// One tensor of the state_dict.
    struct Entry {
        var name: String
        var shape: [Int]
        /// "F32" or "I64"
        var dtype: String
        var bytes: Data
    }

    /// The serialised file.
    public static func file(_ n: ExportedNetwork) throws -> Data {
        let entries = try stateDict(n)
        var members: [(String, String)] = []
        let metadata = [("format", "pt")] + n.metadata.map { ($0.key, $0.value) } + [("layers", layers(n))]
        members.append(("__metadata__", JSON.object(metadata.map { ($0.0, JSON.string($0.1)) })))
        var offset = 0
        for e in entries {
            let info = [("dtype", JSON.string(e.dtype)), ("shape", JSON.array(e.shape)),
                        ("data_offsets", JSON.array([offset, offset + e.bytes.count]))]
            members.append((e.name, JSON.object(info)))
            offset += e.bytes.count
        }
        var header = Data(JSON.object(members).utf8)
        header.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8))
        var out = Data()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(header)
        for e in entries { out.append(e.bytes) }
        return out
    }

    /// The tensors under their PyTorch names, in module order.
    static func stateDict(_ n: ExportedNetwork) throws -> [Entry] {
        var entries: [Entry] = []
        func add(_ i: Int, _ name: String, _ t: Tensor, shape: [Int]? = nil) {
            let bytes = Data(buffer: UnsafeBufferPointer(start: t.data, count: t.count))
            entries.append(Entry(name: "\(i).\(name)", shape: shape ?? t.shape, dtype: "F32", bytes: bytes))
        }
        for (i, (layer, spec, input)) in n.layers.enumerated() {
            switch (spec, layer) {
            case (.linear, let l as Linear):
                try checkFlat(n, i, input)
                add(i, "weight", l.weight.value)
                if let b = l.bias { add(i, "bias", b.value) }
            case (.conv2d, let c as Conv2d):
                add(i, "weight", c.weight.value)
                if let b = c.bias { add(i, "bias", b.value) }
            case (.convTranspose2d, let c as ConvTranspose2d):
                add(i, "weight", c.weight.value)   // [in, out, k, k], PyTorch's layout
                if let b = c.bias { add(i, "bias", b.value) }
            case (.spectralNorm(let inner, _, _), let s as SpectralNorm):
                if case .linear = inner { try checkFlat(n, i, input) }
                add(i, "weight_orig", s.weight.value)
                if let b = s.bias { add(i, "bias", b.value) }
                add(i, "weight_u", s.u)
                add(i, "weight_v", s.v)
            case (.batchNorm, let b as BatchNorm):
                add(i, "weight", b.weight.value)
                add(i, "bias", b.bias.value)
                add(i, "running_mean", b.runningMean)
                add(i, "running_var", b.runningVar)
                // PyTorch counts training batches here and reads the count only when momentum is
                // None (a cumulative average); SwiftGAN's momentum is always set and it keeps no count.
                entries.append(Entry(name: "\(i).num_batches_tracked", shape: [], dtype: "I64",
                                     bytes: withUnsafeBytes(of: Int64(0).littleEndian) { Data($0) }))
            case (.virtualBatchNorm, let v as VirtualBatchNorm):
                add(i, "weight", v.weight.value)
                add(i, "bias", v.bias.value)
                add(i, "reference_mean", v.referenceMean)
                add(i, "reference_mean_sq", v.referenceMeanSquare)
                add(i, "reference_size", v.referenceSize)
            case (.classProjection(let inner, _), let p as ClassProjection):
                // ψ's tensors under the layer's index, then the class embedding (an nn.Embedding's weight).
                try checkFlat(n, i, input)
                switch (inner, p.output) {
                case (.linear, let l as Linear):
                    add(i, "weight", l.weight.value)
                    if let b = l.bias { add(i, "bias", b.value) }
                case (.spectralNorm, let s as SpectralNorm):
                    add(i, "weight_orig", s.weight.value)
                    if let b = s.bias { add(i, "bias", b.value) }
                    add(i, "weight_u", s.u)
                    add(i, "weight_v", s.v)
                default:
                    throw ExportError("/\(n.name)/\(n.layerName(i)): projection around \(inner.kind) has no PyTorch equivalent")
                }
                add(i, "class_embedding", p.embedding.value)
            case (.relu, _), (.leakyReLU, _), (.sigmoid, _), (.tanh, _), (.maxout, _), (.clamp, _), (.reshape, _), (.oneHotConcat, _):
                break
            default:
                throw ExportError("/\(n.name)/\(n.layerName(i)): layer kind \(spec.kind) has no PyTorch equivalent")
            }
        }
        return entries
    }

    /// PyTorch's `nn.Linear` acts on the last dimension, the engine's on the whole flattened sample:
    /// the two agree only on flat samples (every network a pipeline builds has a reshape before).
    private static func checkFlat(_ n: ExportedNetwork, _ i: Int, _ input: [Int]) throws {
        guard input.count == 1 else {
            throw ExportError("/\(n.name)/\(n.layerName(i)): takes a \(input) sample, which PyTorch's nn.Linear would not flatten "
                              + "(add a reshape layer before it; the ONNX export flattens)")
        }
    }

    /// The metadata `layers`: a JSON array with one object per layer, its kind, its per-sample
    /// input shape and its checkpoint attributes (Checkpoints/README.md), from which the README's
    /// snippet builds the PyTorch module.
    static func layers(_ n: ExportedNetwork) -> String {
        "[" + n.layers.map { _, spec, input in
            JSON.object([("kind", JSON.string(spec.kind)), ("input_shape", JSON.array(input))]
                + spec.attributes.map { ($0.name, JSON.number($0.value)) })
        }.joined(separator: ", ") + "]"
    }
}
