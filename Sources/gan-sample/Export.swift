import ArgumentParser
import Foundation
import GANCheckpoint
import GANExport
import GANFiles
import GANNN

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a checkpoint's generator or discriminator to ONNX or safetensors.",
        discussion: """
        FILE.onnx: an ONNX model (default opset \(ONNXExport.defaultOpset), --opset \(ONNXExport.opsets.lowerBound)...\
        \(ONNXExport.opsets.upperBound)) that computes what gan-sample serves, in data units, with a \
        symbolic batch dimension. The generator (--network g, the default; the moving average \
        generator_ema when the checkpoint has one, the raw weights with --raw) takes z FP32 \
        [N, noise dimension] and outputs x FP32 [N, sample shape], de-normalised like `generate`. \
        The discriminator (--network d) takes x FP32 [N, sample shape] in data units and outputs \
        `probability` [N] (D's sigmoid, as `score` writes it) or, for a WGAN, `critic` [N]; when D \
        packs samples (train.pack m), every m consecutive rows are one pack and the output has N/m \
        values (as `score --packs`). Batch norm uses its running statistics, virtual batch norm its frozen reference \
        statistics, and spectral norm is folded into the weights. The noise prior, the sample shape \
        and the checkpoint are in the model's metadata_props.

        FILE.safetensors: the network's weights under the names of the equivalent PyTorch \
        nn.Sequential's state_dict (Checkpoints/README.md, "Exported files", lists them per layer \
        kind and has a snippet that builds the module from the file's metadata and loads them).

        A class-conditional model's generator (and its concat or projection discriminator) takes a \
        second input, `class` INT64 [N], one label per row (metadata class_names lists them); an \
        ACGAN discriminator has a second output, `class_logits` FP32 [N, K].

        The file is written to a hidden temporary file beside FILE and renamed. Exit codes: 0 done, \
        2 bad input (one line on stderr, nothing written: an unreadable checkpoint, an output that \
        is neither .onnx nor .safetensors, a layer the format cannot express), 64 malformed command line.

        Examples:
          gan-sample export Checkpoints/fashion-mlp-sn -o generator.onnx
          gan-sample export Checkpoints/fashion-mlp-sn --network d -o discriminator.onnx --opset 13
          gan-sample export Checkpoints/ring8 -o generator.safetensors
        """)

    enum Network: String, ExpressibleByArgument, CaseIterable {
        case g, d
    }

    enum Format {
        case onnx, safetensors
    }

    @Argument(help: "Checkpoint file, stage directory or run directory.")
    var checkpoint: String

    @Option(name: .shortAndLong, help: "Output file: FILE.onnx or FILE.safetensors.")
    var output: String

    @Option(help: "The network: g (generator) or d (discriminator).")
    var network: Network = .g

    @Option(help: "ONNX opset (\(ONNXExport.opsets.lowerBound)...\(ONNXExport.opsets.upperBound); default \(ONNXExport.defaultOpset)).")
    var opset: Int?

    @Flag(help: "Export the raw generator weights even when the checkpoint has their moving average (generator_ema).")
    var raw = false

    func validate() throws {
        if let opset {
            let range = ONNXExport.opsets
            guard range.contains(opset) else { throw ValidationError("--opset must be in \(range.lowerBound)...\(range.upperBound), got \(opset)") }
            guard !output.hasSuffix(".safetensors") else { throw ValidationError("--opset applies to ONNX output (-o FILE.onnx)") }
        }
        guard !raw || network == .g else { throw ValidationError("--raw applies to the generator (--network g)") }
    }

    func run() throws {
        let format = try reportingUserErrors { try Self.format(of: output) }
        let reader = try openCheckpoint(checkpoint)
        try reportingUserErrors {
            let model = try ServedModel(reader)
            try OutputLocation.checkNotOverwriting(output, reader.path, what: "the checkpoint being exported")
            let exported: ExportedNetwork, bytes: Data
            do {
                exported = try network == .g ? generator(model) : discriminator(model)
                bytes = try format == .onnx ? ONNXExport.model(exported, opset: opset ?? ONNXExport.defaultOpset) : SafetensorsExport.file(exported)
            } catch let e as ExportError {
                throw SampleError("\(reader.path): \(e)")
            }
            try bytes.withUnsafeBytes { try AtomicFile.write($0, to: output) }
            if network == .g, model.generatorIsUntrained {
                warn("\(reader.path) is a pretrain-d checkpoint: the generator has not been trained yet")
            }
            let what = format == .onnx ? "ONNX opset \(opset ?? ONNXExport.defaultOpset)" : "safetensors"
            note("wrote \(output): /\(exported.name) of \(reader.path) (step \(reader.step)) as \(what), \(bytes.count) bytes")
        }
    }

    /// The format from the name; a name that is neither, or a destination that cannot be
    /// written (no such directory, a directory), is refused before anything is read.
    static func format(of path: String) throws -> Format {
        let format: Format
        if path.hasSuffix(".onnx") {
            format = .onnx
        } else if path.hasSuffix(".safetensors") {
            format = .safetensors
        } else {
            throw SampleError("\(path): unsupported export format (\(SampleFormat.extensionText(path))): use FILE.onnx or FILE.safetensors")
        }
        _ = try AtomicFile.checkDestination(path)
        return format
    }

    /// Where the network comes from, for both formats' metadata.
    /// The checkpoint's facts, and a conditional model's classes (`class_names` a JSON array,
    /// `conditioning`).
    private func provenance(_ model: ServedModel) -> [(key: String, value: String)] {
        var p = [("checkpoint", model.reader.path), ("stage", model.reader.stage.rawValue), ("step", "\(model.reader.step)")]
        if let c = model.classes {
            p += [("class_names", ExportedNetwork.jsonArray(c.names)), ("conditioning", c.conditioning)]
        }
        return p
    }

    private func generator(_ model: ServedModel) throws -> ExportedNetwork {
        let data = model.space.data
        let prior: (String, [Float])
        switch data.noisePrior {
        case .normal(let mean, let std): prior = ("normal", [mean, std])
        case .uniform(let low, let high): prior = ("uniform", [low, high])
        }
        let noise = [("noise_dimension", "\(data.noiseDimension)"), ("noise_prior", prior.0),
                     ("noise_parameters", "[" + prior.1.map { "\(Double($0))" }.joined(separator: ", ") + "]")]
        return try ExportedNetwork(name: model.generatorName(raw: raw), network: try model.generator(raw: raw), role: .generator,
                                   inputShape: [data.noiseDimension], sampleShape: data.sampleShape, scale: data.scale,
                                   offset: data.offset, provenance: provenance(model) + noise)
    }

    private func discriminator(_ model: ServedModel) throws -> ExportedNetwork {
        let d = try model.discriminator(packs: true)
        return try ExportedNetwork(name: "discriminator", network: d,
                                   role: .discriminator(output: model.isCritic ? .critic : .probability, pack: model.pack),
                                   inputShape: model.discriminatorInputShape(d, packs: true), sampleShape: model.space.data.sampleShape,
                                   scale: model.space.data.scale, offset: model.space.data.offset, provenance: provenance(model),
                                   auxiliaryClasses: model.classes?.conditioning == "acgan" ? model.classes?.count ?? 0 : 0)
    }
}
