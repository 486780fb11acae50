import Foundation
import GANNN

/// Everything needed to serve a model or resume a stage exactly. The file layout is specified in
/// Checkpoints/README.md; this type and `CheckpointReader` are its only writer and reader.
public struct TrainingCheckpoint {
    public static let format = "swiftgan-checkpoint"
    public static let formatVersion = 1

    /// "pretrain-d" or "train".
    public var stage: String
    /// G steps for `train`, D steps for `pretrain-d`.
    public var step: Int
    /// Data cursor: epochs completed and position inside the current epoch's order.
    public var epoch = 0
    public var position = 0
    public var threads = ComputeThreads.count
    /// The resolved configuration (YAML text).
    public var config = ""
    public var data: DataDescription
    /// Networks in file order ("generator", "discriminator"), each with its optimiser if any.
    public var networks: [NetworkEntry]
    /// RNG streams by purpose ("init", "data", "noise", ...).
    public var rngs: [(purpose: String, rng: RNG)] = []
    /// Per-step metric histories ("step", "d_loss", "g_loss", "d_real", "d_fake", ...).
    public var history: [(metric: String, values: [Double])] = []
    /// The z used for progress samples.
    public var fixedNoise: Tensor?
    /// Fixed batches a run draws once and needs for an exact resume, stored as
    /// `/reference/<name>` (e.g. virtual batch norm's reference batches "generator", "discriminator").
    public var references: [(name: String, tensor: Tensor)] = []

    public init(stage: String, step: Int, data: DataDescription, networks: [NetworkEntry]) {
        self.stage = stage
        self.step = step
        self.data = data
        self.networks = networks
    }
}

public struct NetworkEntry {
    public var name: String
    public var network: Sequential
    public var optimizer: Optimizer?
    public init(_ name: String, _ network: Sequential, optimizer: Optimizer? = nil) {
        self.name = name
        self.network = network
        self.optimizer = optimizer
    }
}

/// What a checkpoint must say about the data so that a served model needs nothing else:
/// model units = `scale` · data units + `offset`.
public struct DataDescription: Equatable, Sendable {
    /// Shape of one sample, e.g. [1] for the 1-D system, [1, 28, 28] for images (C, H, W).
    public var sampleShape: [Int]
    public var scale: Float
    public var offset: Float
    public var noiseDimension: Int
    public var noisePrior: NoisePrior

    public init(sampleShape: [Int], scale: Float = 1, offset: Float = 0, noiseDimension: Int, noisePrior: NoisePrior = .normal()) {
        self.sampleShape = sampleShape
        self.scale = scale
        self.offset = offset
        self.noiseDimension = noiseDimension
        self.noisePrior = noisePrior
    }
}

/// A schema-level problem with a checkpoint: one line, `FILE: PATH: what was expected and found`.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var path: String
    public var message: String
    public init(_ file: String, _ path: String, _ message: String) {
        self.file = file
        self.path = path
        self.message = message
    }
    public var description: String { "\(file): \(path): \(message)" }
}

extension TrainingCheckpoint {
    /// Writes the checkpoint to `path` (truncating). Not atomic by itself: `CheckpointDirectory.save`
    /// writes to a temporary name, syncs and renames. The `complete` attribute is written last.
    public func write(to path: String) throws {
        let file = try HDF5File.create(path)
        do {
            try writeContents(file.root)
            try file.root.setAttribute("complete", 1)
            try file.flush()
            try file.close()
        } catch {
            try? file.close()
            throw error
        }
    }

    private func writeContents(_ root: HDF5Group) throws {
        try root.setAttribute("format", Self.format)
        try root.setAttribute("format_version", Self.formatVersion)
        try root.setAttribute("stage", stage)
        try root.setAttribute("step", step)
        try root.setAttribute("epoch", epoch)
        try root.setAttribute("position", position)
        try root.setAttribute("created_utc", ISO8601DateFormatter().string(from: Date()))
        try root.setAttribute("tool_version", SwiftGANVersion.string)
        try root.setAttribute("threads", threads)
        try root.setAttribute("config", config)

        let d = try root.createGroup("data")
        try d.setAttribute("sample_shape", data.sampleShape)
        try d.setAttribute("scale", Double(data.scale))
        try d.setAttribute("offset", Double(data.offset))
        try d.setAttribute("noise_dimension", data.noiseDimension)
        switch data.noisePrior {
        case .normal(let mean, let std):
            try d.setAttribute("noise_prior", "normal")
            try d.setAttribute("noise_parameters", [Double(mean), Double(std)])
        case .uniform(let low, let high):
            try d.setAttribute("noise_prior", "uniform")
            try d.setAttribute("noise_parameters", [Double(low), Double(high)])
        }

        let opt = try root.createGroup("optimizer")
        for entry in networks {
            try writeNetwork(entry, root)
            if let o = entry.optimizer { try writeOptimizer(o, of: entry, in: opt) }
        }
        let r = try root.createGroup("rng")
        for (purpose, rng) in rngs {
            try r.write(purpose, values: rng.stateWords)
            try r.dataset(purpose).setAttribute("algorithm", "xoshiro256**")
        }
        let h = try root.createGroup("history")
        for (metric, values) in history { try h.write(metric, values: values) }
        if let z = fixedNoise { try root.writeFloats("fixed_noise", z) }
        if !references.isEmpty {
            let g = try root.createGroup("reference")
            for (name, t) in references { try g.writeFloats(name, t) }
        }
    }

    private func writeNetwork(_ entry: NetworkEntry, _ root: HDF5Group) throws {
        guard let specs = entry.network.specs else {
            throw CheckpointError("(writing)", entry.name, "a layer cannot describe its architecture")
        }
        let g = try root.createGroup(entry.name)
        try g.setAttribute("layers", entry.network.layerNames.joined(separator: ","))
        try g.setAttribute("parameter_count", entry.network.parameterCount)
        for ((name, layer), spec) in zip(zip(entry.network.layerNames, entry.network.layers), specs) {
            let lg = try g.createGroup(name)
            try lg.setAttribute("kind", spec.kind)
            for (key, value) in spec.attributes { try lg.setAttribute(key, value) }
            for p in layer.parameters { try lg.writeFloats(p.name, p.value) }
            for b in layer.buffers { try lg.writeFloats(b.name, b.tensor) }
        }
    }

    private func writeOptimizer(_ o: Optimizer, of entry: NetworkEntry, in group: HDF5Group) throws {
        let g = try group.createGroup(entry.name)
        try g.setAttribute("kind", o.kind)
        try g.setAttribute("step", o.stepCount)
        try g.setAttribute("clip_value", o.clipValue.map(Double.init) ?? 0)
        for (name, value) in o.hyperparameters { try g.setAttribute(name, value) }
        let index = Dictionary(uniqueKeysWithValues: o.parameters.enumerated().map { (ObjectIdentifier($0.element), $0.offset) })
        for (path, p) in entry.network.namedParameters {
            guard let i = index[ObjectIdentifier(p)] else { continue }
            for (stateName, tensor) in o.parameterStates[i] { try g.writeFloats("\(path)/\(stateName)", tensor) }
        }
    }
}
