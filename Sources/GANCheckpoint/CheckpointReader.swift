import Foundation
import GANHDF5
import GANNN

/// Reads and validates a checkpoint. Opening checks the format name, the version and the
/// completeness marker; every tensor read is checked against the model being built (path and
/// shape) and against its Fletcher-32 checksum. Every problem is a thrown one-line error
/// (`CheckpointError` or `HDF5Error`, both `FILE: PATH: message`), never a trap.
public final class CheckpointReader {
    public let path: String
    public let file: HDF5File
    public let stage: Stage
    public let step: Int
    public let epoch: Int
    public let position: Int
    public let threads: Int
    /// Data parallelism (format version 2): the batch shards and the processes of the run that
    /// wrote the file; 1 and 1 for an unsharded run.
    public let shards: Int
    public let worldSize: Int
    public let config: String
    public let createdUTC: String
    public let toolVersion: String
    public let formatVersion: Int

    public init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw CheckpointError(path, "/", "no such file") }
        self.path = path
        file = try HDF5File.open(path)
        let root = file.root
        func fail(_ attr: String, _ msg: String) -> CheckpointError { CheckpointError(path, "/@\(attr)", msg) }
        // Attribute reads propagate HDF5 errors (e.g. a corrupt global heap) rather than reporting
        // them as a missing attribute.
        guard let formatValue = try root.attribute("format") else {
            throw fail("format", "not a checkpoint: attribute missing (expected \"\(TrainingCheckpoint.format)\")")
        }
        guard formatValue == .string(TrainingCheckpoint.format) else {
            throw fail("format", "not a checkpoint: expected \"\(TrainingCheckpoint.format)\", found \(formatValue)")
        }
        guard let versionValue = try root.attribute("format_version"), case .int(let version) = versionValue else {
            throw fail("format_version", "missing or not an integer")
        }
        formatVersion = Int(version)
        guard formatVersion >= 1 && formatVersion <= TrainingCheckpoint.formatVersion else {
            throw fail("format_version", "unsupported version \(formatVersion) (this build reads 1...\(TrainingCheckpoint.formatVersion))")
        }
        guard try root.attribute("complete") == .int(1) else {
            throw fail("complete", "incomplete checkpoint (the write was interrupted)")
        }
        let stageName = try root.stringAttribute("stage")
        guard let stage = Stage(rawValue: stageName), Stage.checkpointed.contains(stage) else {
            throw fail("stage", "unknown stage '\(stageName)' (expected \(Stage.checkpointed.map(\.rawValue).joined(separator: " or ")))")
        }
        self.stage = stage
        step = Int(try root.intAttribute("step"))
        epoch = Int(try root.intAttribute("epoch"))
        position = Int(try root.intAttribute("position"))
        threads = Int(try root.intAttribute("threads"))
        if formatVersion >= 2, try root.attribute("shards") != nil {
            shards = Int(try root.intAttribute("shards"))
            worldSize = Int(try root.intAttribute("world_size"))
            guard shards >= 1, worldSize >= 1, shards % worldSize == 0 else {
                throw fail("shards", "\(shards) shards over \(worldSize) processes is not a data-parallel layout")
            }
        } else {
            (shards, worldSize) = (1, 1)
        }
        config = try root.stringAttribute("config")
        createdUTC = try root.stringAttribute("created_utc")
        toolVersion = try root.stringAttribute("tool_version")
    }

    deinit { try? file.close() }

    public func close() { try? file.close() }

    /// Reads every dataset once, so that a checksum failure anywhere is found now rather than
    /// halfway through loading a model. ~10 ms for an mlp_gan checkpoint with Adam state.
    public func verifyAllData() throws {
        try file.root.verifyAllData()
    }

    /// The `data/` description.
    public func dataDescription() throws -> DataDescription {
        let d = try file.root.group("data")
        let shape = try d.intArrayAttribute("sample_shape").map { Int($0) }
        let prior = try d.stringAttribute("noise_prior")
        let params = try d.doubleArrayAttribute("noise_parameters").map { Float($0) }
        guard params.count == 2 else { throw CheckpointError(path, "/data@noise_parameters", "expected 2 values, found \(params.count)") }
        let noise: NoisePrior
        switch prior {
        case "normal": noise = .normal(mean: params[0], std: params[1])
        case "uniform": noise = .uniform(low: params[0], high: params[1])
        default: throw CheckpointError(path, "/data@noise_prior", "expected \"normal\" or \"uniform\", found \"\(prior)\"")
        }
        return DataDescription(sampleShape: shape, scale: Float(try d.doubleAttribute("scale")),
                               offset: Float(try d.doubleAttribute("offset")),
                               noiseDimension: Int(try d.intAttribute("noise_dimension")), noisePrior: noise,
                               classes: try classInfo(d))
    }

    /// The `/data` class attributes of a conditional checkpoint, checked to agree; nil when absent.
    private func classInfo(_ d: HDF5Group) throws -> ClassInfo? {
        guard try d.hasAttribute("classes") else { return nil }
        let k = Int(try d.intAttribute("classes"))
        let names = try d.stringAttribute("class_names").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let counts = try d.intArrayAttribute("class_counts").map { Int($0) }
        let mode = try d.stringAttribute("conditioning")
        guard k >= 2, k <= 256 else { throw CheckpointError(path, "/data@classes", "expected 2...256 classes, found \(k)") }
        guard names.count == k else { throw CheckpointError(path, "/data@class_names", "expected \(k) names (one per line), found \(names.count)") }
        guard counts.count == k, counts.allSatisfy({ $0 >= 0 }), counts.reduce(0, +) > 0 else {
            throw CheckpointError(path, "/data@class_counts", "expected \(k) non-negative counts with a positive sum, found \(counts)")
        }
        guard ["concat", "projection", "acgan"].contains(mode) else {
            throw CheckpointError(path, "/data@conditioning", "expected \"concat\", \"projection\" or \"acgan\", found \"\(mode)\"")
        }
        return ClassInfo(names: names, counts: counts, conditioning: mode)
    }

    public func hasNetwork(_ name: String) -> Bool { file.root.contains(name) }

    /// The architecture of a stored network, from its layer groups' attributes. Building it
    /// allocates every parameter before any is read, so an architecture that declares more
    /// parameters than the file stores (damage, or a hostile file declaring a billion-wide
    /// layer) is refused here: what a reader builds follows the file's size.
    public func specs(of network: String) throws -> [LayerSpec] {
        let g = try file.root.group(network)
        let names = try g.stringAttribute("layers").split(separator: ",").map(String.init)
        let specs = try names.map { name in
            let lg = try g.group(name)
            let kind = try lg.stringAttribute("kind")
            var attrs: [String: Double] = [:]
            for a in try lg.attributeNames() where a != "kind" {
                if case .double(let v)? = try lg.attribute(a) { attrs[a] = v }
                if case .int(let v)? = try lg.attribute(a) { attrs[a] = Double(v) }
            }
            switch LayerSpec.make(kind: kind, attributes: attrs) {
            case .success(let spec): return spec
            case .failure(let e): throw CheckpointError(path, "/\(network)/\(name)", "\(e)")
            }
        }
        let declared = specs.reduce(0) { $0 + $1.parameterScalars } * Double(MemoryLayout<Float>.size)
        let stored = try g.storedByteCount()
        guard declared <= Double(stored) else {
            throw CheckpointError(path, "/\(network)", "the architecture declares \(String(format: "%.0f", declared)) bytes of parameters but the file stores \(stored)")
        }
        return specs
    }

    /// Builds a network from the stored architecture and loads its weights.
    public func buildNetwork(_ name: String) throws -> Sequential {
        let net = Sequential(specs: try specs(of: name))
        try load(name, into: net)
        return net
    }

    /// Loads stored weights into `network`, which must have the same architecture. Everything is
    /// validated before anything is copied, naming the first mismatch: the layer names (index and
    /// kind), every parameter's and buffer's presence and shape, no unexpected stored tensor, and
    /// each layer's architecture attributes (e.g. a LeakyReLU's alpha). Only a failing read itself
    /// (a checksum error) can leave the network partly loaded.
    public func load(_ name: String, into network: Sequential) throws {
        let g = try file.root.group(name)
        let stored = try g.stringAttribute("layers").split(separator: ",").map(String.init)
        let expected = network.layerNames
        guard stored == expected else {
            let i = (0..<min(stored.count, expected.count)).first { stored[$0] != expected[$0] } ?? min(stored.count, expected.count)
            let found = i < stored.count ? stored[i] : "nothing", want = i < expected.count ? expected[i] : "nothing"
            throw CheckpointError(path, "/\(name)", "different architecture: layer \(i) expected \(want), found \(found) (\(expected.count) vs \(stored.count) layers)")
        }
        var tensors: [(path: String, tensor: Tensor)] = []
        for (layerName, layer) in zip(expected, network.layers) {
            let own = layer.parameters.map { ($0.name, $0.value) } + layer.buffers.map { ($0.name, $0.tensor) }
            for (tensorName, t) in own {
                let p = "/\(name)/\(layerName)/\(tensorName)"
                try checkShape(p, t.shape)
                tensors.append((p, t))
            }
            let lg = try g.group(layerName)
            for child in try lg.childNames() where !own.contains(where: { $0.0 == child }) {
                throw CheckpointError(path, "/\(name)/\(layerName)/\(child)", "unexpected tensor (the network's layer has \(own.map(\.0)))")
            }
        }
        if let want = network.specs {
            let found = try specs(of: name)
            for (i, (w, f)) in zip(want, found).enumerated() where w != f {
                throw CheckpointError(path, "/\(name)/\(expected[i])", "different architecture: expected \(w), found \(f)")
            }
        }
        for (p, t) in tensors { try file.root.read(String(p.dropFirst()), into: t, expectedShape: t.shape) }
    }

    /// Restores an optimiser of `network`: kind and hyper-parameters checked (all but the learning
    /// rate, which a schedule changes: its owner sets each step's rate from the step counter, so
    /// the stored rate of the last step is not read back), every state tensor validated (presence
    /// and shape) and then read, step count set.
    public func loadOptimizer(_ name: String, into o: Optimizer, of network: Sequential) throws {
        let gpath = "/optimizer/\(name)"
        guard file.root.contains("optimizer/\(name)") else { throw CheckpointError(path, gpath, "missing (no optimiser state stored)") }
        let g = try file.root.group("optimizer/\(name)")
        let kind = try g.stringAttribute("kind")
        guard kind == o.kind else { throw CheckpointError(path, gpath, "optimizer kind: expected \(o.kind), found \(kind)") }
        let expectedHyper = o.hyperparameters.filter { $0.name != "lr" } + [("clip_value", o.clipValue.map(Double.init) ?? 0)]
        for (hName, want) in expectedHyper {
            guard let v = try g.attribute(hName) else { throw CheckpointError(path, "\(gpath)@\(hName)", "missing hyper-parameter") }
            guard v == .double(want) || v == .int(Int64(exactly: want) ?? .min) else {
                throw CheckpointError(path, "\(gpath)@\(hName)", "optimizer hyper-parameter: expected \(want), found \(v)")
            }
        }
        let index = Dictionary(uniqueKeysWithValues: o.parameters.enumerated().map { (ObjectIdentifier($0.element), $0.offset) })
        var tensors: [(path: String, tensor: Tensor)] = []
        for (ppath, p) in network.namedParameters {
            guard let i = index[ObjectIdentifier(p)] else { continue }
            for (stateName, tensor) in o.parameterStates[i] {
                let sp = "\(gpath)/\(ppath)/\(stateName)"
                try checkShape(sp, tensor.shape)
                tensors.append((sp, tensor))
            }
        }
        for (sp, t) in tensors { try file.root.read(String(sp.dropFirst()), into: t, expectedShape: t.shape) }
        o.stepCount = Int(try g.intAttribute("step"))
    }

    public func rng(_ purpose: String) throws -> RNG {
        let p = "/rng/\(purpose)"
        guard file.root.contains("rng/\(purpose)") else { throw CheckpointError(path, p, "missing RNG state") }
        let (shape, words) = try file.root.read("rng/\(purpose)", as: UInt64.self)
        guard shape == [4], let r = RNG(stateWords: words) else {
            throw CheckpointError(path, p, "expected 4 non-zero state words, found shape \(shape)")
        }
        return r
    }

    public func rngPurposes() throws -> [String] { try file.root.group("rng").childNames() }

    public func history() throws -> [(metric: String, values: [Double])] {
        let h = try file.root.group("history")
        return try h.childNames().map { ($0, try h.read($0, as: Double.self).values) }
    }

    public func fixedNoise() throws -> Tensor? {
        file.root.contains("fixed_noise") ? try file.root.readTensor("fixed_noise") : nil
    }

    /// `/reference/<name>` (see `TrainingCheckpoint.references`), nil when absent.
    public func reference(_ name: String) throws -> Tensor? {
        file.root.contains("reference/" + name) ? try file.root.readTensor("reference/" + name) : nil
    }

    /// Throws unless a float32 dataset of exactly `shape` exists at the absolute path `p`.
    private func checkShape(_ p: String, _ shape: [Int]) throws {
        let rel = String(p.dropFirst())
        guard file.root.contains(rel) else { throw CheckpointError(path, p, "missing tensor (expected shape \(shape))") }
        let ds = try file.root.dataset(rel)
        let found = try ds.shape()
        guard found == shape else { throw CheckpointError(path, p, "expected shape \(shape), found \(found)") }
        let kind = try ds.elementKind()
        guard kind == .float32 else { throw CheckpointError(path, p, "expected float32 data, found \(kind.rawValue)") }
    }
}
