import Foundation
import GANFiles
import GANHDF5
import GANNN

/// Everything needed to serve a model or resume a stage exactly. The file layout is specified in
/// Checkpoints/README.md; this type and `CheckpointReader` are its only writer and reader.
public struct TrainingCheckpoint {
    public static let format = "swiftgan-checkpoint"
    /// The newest version this build writes and reads. Version 2 (data-parallel runs with more
    /// than one batch shard) adds the root attributes `shards` and `world_size` and one noise
    /// stream per shard; an unsharded run still writes version 1, bit for bit as before.
    public static let formatVersion = 2

    /// The stage that wrote it: `.pretrainD` or `.train`.
    public var stage: Stage
    /// G steps for `train`, D steps for `pretrain-d`.
    public var step: Int
    /// Data cursor: epochs completed and position inside the current epoch's order.
    public var epoch = 0
    public var position = 0
    public var threads = ComputeThreads.count
    /// Data parallelism: the number of fixed shards each batch is split into (`train.shards`) and
    /// the number of processes that computed them. Written only when `shards` > 1.
    public var shards = 1
    public var worldSize = 1
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

    public init(stage: Stage, step: Int, data: DataDescription, networks: [NetworkEntry]) {
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
    /// The classes of a class-conditional model (issue 22); nil for an unconditional one.
    public var classes: ClassInfo?

    public init(sampleShape: [Int], scale: Float = 1, offset: Float = 0, noiseDimension: Int, noisePrior: NoisePrior = .normal(),
                classes: ClassInfo? = nil) {
        self.classes = classes
        self.sampleShape = sampleShape
        self.scale = scale
        self.offset = offset
        self.noiseDimension = noiseDimension
        self.noisePrior = noisePrior
    }
}

/// What a class-conditional checkpoint says about its classes (`/data` attributes `classes`,
/// `class_names`, `class_counts`, `conditioning`; absent for unconditional models).
public struct ClassInfo: Equatable, Sendable {
    /// The class names, label 0 first (the labels' numbers when the data named none).
    public var names: [String]
    /// How many training samples carry each label (the fakes' label distribution).
    public var counts: [Int]
    /// `concat`, `projection` or `acgan` (`Conditioning.Mode`).
    public var conditioning: String

    public init(names: [String], counts: [Int], conditioning: String) {
        (self.names, self.counts, self.conditioning) = (names, counts, conditioning)
    }

    public var count: Int { names.count }

    /// The labels of `rows` samples generated without a class asked for: sample i is class i mod K
    /// (`gan-sample generate` without `--class`, a served request without `class`).
    public func cyclingLabels(_ rows: Int) -> [Int] { (0..<rows).map { $0 % count } }

    /// The label a user's `--class` text names: a number in 0..<K, or a class name (ignoring
    /// case); nil when it names none.
    public func label(for text: String) -> Int? {
        if let n = Int(text), n >= 0, n < count { return n }
        let lower = text.lowercased()
        return names.firstIndex { $0.lowercased() == lower }
    }
}

extension TrainingCheckpoint {
    /// Writes the checkpoint to `path`, crash-safely (`AtomicFile`): `record()`, then
    /// `RecordedCheckpoint.write` into the temporary file, then the commit.
    public func write(to path: String) throws {
        let recorded = try record()
        try AtomicFile.write(to: path) { try recorded.write(to: $0) }
    }

    /// The checkpoint's contents copied into memory, ready to be written (on any one thread).
    public func record() throws -> RecordedCheckpoint {
        let root = RecordedGroup()
        try writeContents(root)
        return RecordedCheckpoint(step: step, root: root)
    }

    /// Made once: creating an ISO8601DateFormatter costs about half a millisecond, most of a toy
    /// checkpoint's `record()`. (ISO8601DateFormatter is thread-safe.)
    private nonisolated(unsafe) static let timestamp = ISO8601DateFormatter()

    private func writeContents(_ root: RecordedGroup) throws {
        root.setAttribute("format", Self.format)
        root.setAttribute("format_version", shards > 1 ? 2 : 1)
        root.setAttribute("stage", stage.rawValue)
        root.setAttribute("step", step)
        root.setAttribute("epoch", epoch)
        root.setAttribute("position", position)
        root.setAttribute("created_utc", Self.timestamp.string(from: Date()))
        root.setAttribute("tool_version", SwiftGANVersion.string)
        root.setAttribute("threads", threads)
        root.setAttribute("config", config)
        if shards > 1 {
            root.setAttribute("shards", shards)
            root.setAttribute("world_size", worldSize)
        }

        let d = root.createGroup("data")
        d.setAttribute("sample_shape", data.sampleShape)
        d.setAttribute("scale", Double(data.scale))
        d.setAttribute("offset", Double(data.offset))
        d.setAttribute("noise_dimension", data.noiseDimension)
        switch data.noisePrior {
        case .normal(let mean, let std):
            d.setAttribute("noise_prior", "normal")
            d.setAttribute("noise_parameters", [Double(mean), Double(std)])
        case .uniform(let low, let high):
            d.setAttribute("noise_prior", "uniform")
            d.setAttribute("noise_parameters", [Double(low), Double(high)])
        }
        if let c = data.classes {
            d.setAttribute("classes", c.count)
            d.setAttribute("class_names", c.names.joined(separator: "\n"))
            d.setAttribute("class_counts", c.counts)
            d.setAttribute("conditioning", c.conditioning)
        }

        let opt = root.createGroup("optimizer")
        for entry in networks {
            try writeNetwork(entry, root)
            if let o = entry.optimizer { try writeOptimizer(o, of: entry, in: opt) }
        }
        let r = root.createGroup("rng")
        for (purpose, rng) in rngs {
            r.write(purpose, values: rng.stateWords, attributes: [("algorithm", .string("xoshiro256**"))])
        }
        let h = root.createGroup("history")
        for (metric, values) in history { h.write(metric, values: values) }
        if let z = fixedNoise { root.writeFloats("fixed_noise", z) }
        if !references.isEmpty {
            let g = root.createGroup("reference")
            for (name, t) in references { g.writeFloats(name, t) }
        }
    }

    private func writeNetwork(_ entry: NetworkEntry, _ root: RecordedGroup) throws {
        guard let specs = entry.network.specs else {
            throw CheckpointError("(writing)", entry.name, "a layer cannot describe its architecture")
        }
        let g = root.createGroup(entry.name)
        g.setAttribute("layers", entry.network.layerNames.joined(separator: ","))
        g.setAttribute("parameter_count", entry.network.parameterCount)
        for ((name, layer), spec) in zip(zip(entry.network.layerNames, entry.network.layers), specs) {
            let lg = g.createGroup(name)
            lg.setAttribute("kind", spec.kind)
            for (key, value) in spec.attributes { lg.setAttribute(key, value) }
            for p in layer.parameters { lg.writeFloats(p.name, p.value) }
            for b in layer.buffers { lg.writeFloats(b.name, b.tensor) }
        }
    }

    private func writeOptimizer(_ o: Optimizer, of entry: NetworkEntry, in group: RecordedGroup) throws {
        let g = group.createGroup(entry.name)
        g.setAttribute("kind", o.kind)
        g.setAttribute("step", o.stepCount)
        g.setAttribute("clip_value", o.clipValue.map(Double.init) ?? 0)
        for (name, value) in o.hyperparameters { g.setAttribute(name, value) }
        let index = Dictionary(uniqueKeysWithValues: o.parameters.enumerated().map { (ObjectIdentifier($0.element), $0.offset) })
        for (path, p) in entry.network.namedParameters {
            guard let i = index[ObjectIdentifier(p)] else { continue }
            for (stateName, tensor) in o.parameterStates[i] { g.writeFloats("\(path)/\(stateName)", tensor) }
        }
    }
}
