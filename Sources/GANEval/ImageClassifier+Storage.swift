import Foundation
import GANFiles
import GANHDF5
import GANNN

/// The classifier's HDF5 file (a cache next to the data; rebuilt when stale):
///
///     /                                  attributes: format = "swiftgan-image-classifier",
///                                        format_version = 1, layer_sizes = [784, 512, 256, 10],
///                                        layers = "0_linear,1_relu,...", feature_layer = "3_relu",
///                                        input = "pixel / 255 in [0, 1], [N, C*H*W] row-major",
///                                        training_data (dataIdentifier), training_samples, epochs,
///                                        seed, batch_size, learning_rate, created_utc,
///                                        tool_version, complete = 1 (written last)
///     /classifier/<i>_linear/weight      [out, in] float32 (PyTorch layout)
///     /classifier/<i>_linear/bias        [out]
///
/// Written crash-safely (`AtomicFile`: `.NAME.tmp` in the same directory, closed, fsynced, renamed
/// over NAME, the directory fsynced), so a reader sees the old file or the complete new one.
extension ImageClassifier {
    public static let fileFormat = "swiftgan-image-classifier"
    public static let fileFormatVersion = 1

    public func save(to path: String) throws {
        try AtomicFile.createDirectory(URL(fileURLWithPath: path).deletingLastPathComponent().path)
        try AtomicFile.write(to: path) { tmp in
            let file = try HDF5File.create(tmp)
            let root = file.root
            try root.setAttribute("format", Self.fileFormat)
            try root.setAttribute("format_version", Self.fileFormatVersion)
            try root.setAttribute("layer_sizes", layerSizes)
            try root.setAttribute("layers", network.layerNames.joined(separator: ","))
            try root.setAttribute("feature_layer", network.layerNames[featureLayerCount - 1])
            try root.setAttribute("input", "pixel / 255 in [0, 1], [N, C*H*W] row-major")
            try root.setAttribute("training_data", provenance.trainingData)
            try root.setAttribute("training_samples", provenance.trainingSamples)
            try root.setAttribute("epochs", provenance.epochs)
            try root.setAttribute("seed", String(provenance.seed))  // UInt64 may not fit int64
            try root.setAttribute("batch_size", provenance.batchSize)
            try root.setAttribute("learning_rate", provenance.learningRate)
            try root.setAttribute("created_utc", ISO8601DateFormatter().string(from: Date()))
            try root.setAttribute("tool_version", SwiftGANVersion.string)
            for (p, param) in network.namedParameters {
                try root.writeFloats("classifier/\(p)", shape: param.value.shape, values: param.value.data)
            }
            try root.setAttribute("complete", 1)
            try file.flush()
            try file.close()
        }
    }

    /// Loads a classifier file, checking format, completeness and every tensor's shape.
    public static func load(path: String) throws -> ImageClassifier {
        guard FileManager.default.fileExists(atPath: path) else { throw EvalError(.io, path, "no such file") }
        let file = try HDF5File.open(path)
        defer { try? file.close() }
        let root = file.root
        guard case .string(let format)? = try root.attribute("format"), format == fileFormat else {
            throw EvalError(.format, path, "not an image-classifier file (attribute format is not \"\(fileFormat)\")")
        }
        let version = try root.intAttribute("format_version")
        guard version == fileFormatVersion else {
            throw EvalError(.format, path, "unsupported format_version \(version) (this build reads \(fileFormatVersion))")
        }
        guard try root.attribute("complete") == .int(1) else {
            throw EvalError(.format, path, "incomplete file (the write was interrupted)")
        }
        let sizes = try root.intArrayAttribute("layer_sizes").map { Int($0) }
        guard sizes.count >= 3, sizes.allSatisfy({ $0 > 0 }), sizes.last! > 1 else {
            throw EvalError(.format, path, "invalid layer_sizes \(sizes)")
        }
        let model = ImageClassifier(inputSize: sizes[0], hiddenSizes: Array(sizes.dropFirst().dropLast()),
                                    classes: sizes.last!, seed: 0)
        let stored = try root.stringAttribute("layers")
        guard stored == model.network.layerNames.joined(separator: ",") else {
            throw EvalError(.format, path, "layers \"\(stored)\" do not match layer_sizes \(sizes)")
        }
        for (p, param) in model.network.namedParameters {
            // Throws "FILE: /classifier/...: expected shape [a, b], found [c, d]" on a mismatch.
            try root.read("classifier/\(p)", shape: param.value.shape) { param.value.data }
        }
        guard let seed = UInt64(try root.stringAttribute("seed")) else {
            throw EvalError(.format, path, "attribute seed is not an unsigned integer")
        }
        model.provenance = Provenance(trainingData: try root.stringAttribute("training_data"),
                                      trainingSamples: Int(try root.intAttribute("training_samples")),
                                      epochs: Int(try root.intAttribute("epochs")), seed: seed,
                                      batchSize: Int(try root.intAttribute("batch_size")),
                                      learningRate: try root.doubleAttribute("learning_rate"))
        return model
    }

    /// Loads `path` when it holds a classifier of this architecture trained on exactly these
    /// images and labels with these settings; otherwise (missing, stale, unreadable) trains one and
    /// saves it to `path`. Returns the classifier and why it was (re)trained, nil when loaded.
    public static func loadOrTrain(path: String, images: [UInt8], labels: [UInt8], sampleSize: Int,
                                   classes: Int = 10, epochs: Int = 6, seed: UInt64,
                                   hiddenSizes: [Int] = [512, 256],
                                   progress: ((String) -> Void)? = nil) throws -> (classifier: ImageClassifier, retrainReason: String?) {
        let reason: String
        do {
            let model = try load(path: path)
            let id = dataIdentifier(images: images, labels: labels)
            let want = [sampleSize] + hiddenSizes + [classes]
            if model.layerSizes != want {
                reason = "stale: layer sizes \(model.layerSizes), expected \(want)"
            } else if model.provenance.trainingData != id {
                reason = "stale: trained on \(model.provenance.trainingData), expected \(id)"
            } else if model.provenance.epochs != epochs || model.provenance.seed != seed {
                reason = "stale: trained \(model.provenance.epochs) epochs with seed \(model.provenance.seed), expected \(epochs) with \(seed)"
            } else {
                return (model, nil)
            }
        } catch {
            reason = "\(error)"
        }
        progress?("classifier \(path): training (\(reason))")
        let model = train(images: images, labels: labels, sampleSize: sampleSize, classes: classes, epochs: epochs,
                          seed: seed, hiddenSizes: hiddenSizes, progress: progress)
        try model.save(to: path)
        return (model, reason)
    }
}
