import Foundation
import Yams

/// A pipeline file (`Pipelines/NAME.yaml`), decoded and with every default filled in.
///
/// YAML keys are snake_case (`generator_optimizer.learning_rate`), Swift names camelCase. Load files
/// with `ConfigLoader`, which also rejects unknown keys, reports every error as `FILE:LINE:COL: KEY:
/// message` and validates ranges; `encodeYAML()` gives the fully resolved form stored in checkpoints.
public struct PipelineConfig: Codable, Equatable, Sendable {
    /// Run name (default run dir `Checkpoints/NAME`); default: the file name without `.yaml`.
    public var name: String
    public var seed: UInt64 = 0
    public var data: DataConfig
    public var noise: NoiseConfig
    public var generator: NetworkConfig
    public var discriminator: NetworkConfig
    /// Class-conditional GAN (issue 22): `concat`, `projection` or `acgan` (see `Conditioning.Mode`);
    /// nil = unconditional. Needs labelled data. Stored only when set.
    public var conditioning: ConditioningMode?
    public var loss = LossConfig()
    public var generatorOptimizer: OptimizerConfig
    public var discriminatorOptimizer: OptimizerConfig
    /// The `pretrain-d` stage runs only when this section is present.
    public var pretrainD: PretrainConfig?
    public var train = TrainConfig()
    public var checkpoint = CheckpointConfig()
    public var evaluate = EvaluateConfig()

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, seed, data, noise, generator, discriminator, conditioning, loss
        case generatorOptimizer = "generator_optimizer"
        case discriminatorOptimizer = "discriminator_optimizer"
        case pretrainD = "pretrain_d"
        case train, checkpoint, evaluate
    }

    static let schema = ConfigSchema(CodingKeys.self, sections: [
        .data: DataConfig.schema, .noise: NoiseConfig.schema,
        .generator: NetworkConfig.schema, .discriminator: NetworkConfig.schema, .loss: LossConfig.schema,
        .generatorOptimizer: OptimizerConfig.schema, .discriminatorOptimizer: OptimizerConfig.schema,
        .pretrainD: PretrainConfig.schema, .train: TrainConfig.schema,
        .checkpoint: CheckpointConfig.schema, .evaluate: EvaluateConfig.schema,
    ])

    /// `userInfo` key carrying the default `name` (the file name) into decoding.
    static let defaultNameKey = CodingUserInfoKey(rawValue: "GANPipeline.defaultName")!

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
            ?? (decoder.userInfo[Self.defaultNameKey] as? String) ?? "pipeline"
        seed = try c(.seed, or: seed)
        data = try c.decode(DataConfig.self, forKey: .data)
        noise = try c.decode(NoiseConfig.self, forKey: .noise)
        generator = try c.decode(NetworkConfig.self, forKey: .generator)
        discriminator = try c.decode(NetworkConfig.self, forKey: .discriminator)
        conditioning = try c.decodeIfPresent(String.self, forKey: .conditioning) == nil ? nil : try c.choice(.conditioning)
        loss = try c(.loss, or: loss)
        generatorOptimizer = try c.decode(OptimizerConfig.self, forKey: .generatorOptimizer)
        discriminatorOptimizer = try c.decode(OptimizerConfig.self, forKey: .discriminatorOptimizer)
        pretrainD = try c.decodeIfPresent(PretrainConfig.self, forKey: .pretrainD)
        train = try c(.train, or: train)
        checkpoint = try c(.checkpoint, or: checkpoint)
        evaluate = try c(.evaluate, or: evaluate)
    }

    /// Every key in schema order, `conditioning` only when set: an unconditional run stores the
    /// configuration text it stored before conditioning existed.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(seed, forKey: .seed)
        try c.encode(data, forKey: .data)
        try c.encode(noise, forKey: .noise)
        try c.encode(generator, forKey: .generator)
        try c.encode(discriminator, forKey: .discriminator)
        if let conditioning { try c.encode(conditioning, forKey: .conditioning) }
        try c.encode(loss, forKey: .loss)
        try c.encode(generatorOptimizer, forKey: .generatorOptimizer)
        try c.encode(discriminatorOptimizer, forKey: .discriminatorOptimizer)
        try c.encodeIfPresent(pretrainD, forKey: .pretrainD)
        try c.encode(train, forKey: .train)
        try c.encode(checkpoint, forKey: .checkpoint)
        try c.encode(evaluate, forKey: .evaluate)
    }

    /// The fully resolved configuration as YAML: every key present, defaults filled in, absent
    /// optional values written as `null`, numbers in their shortest exact form. Parsing it back
    /// (`ConfigLoader.parse`) gives an equal config; checkpoints store it and resume compares it.
    public func encodeYAML() -> String {
        do {
            return try Yams.serialize(node: ConfigTreeEncoder.node(for: self))
        } catch {
            preconditionFailure("PipelineConfig.encodeYAML: \(error)")  // plain values always encode
        }
    }

    // MARK: Resume

    /// Keys that may differ between the configuration stored in a run and the one it is resumed
    /// with; a section name stands for every key under it. Everything else (data, architectures,
    /// losses, optimisers, seed, batch sizes, k) must match: see `resumeConflicts(with:)`.
    public static let keysChangeableOnResume: [String] = [
        "name", "train.steps", "train.checkpoint_every", "train.log_every", "train.eval_every",
        "checkpoint", "evaluate",
    ]

    /// Whether a dotted key (as returned by `changedKeys(from:)`) may change on resume.
    public static func isChangeableOnResume(_ key: String) -> Bool {
        keysChangeableOnResume.contains { key == $0 || key.hasPrefix($0 + ".") }
    }

    /// Dotted keys (e.g. `generator.hidden`, `train.steps`) whose resolved values differ between
    /// `stored` and this config, in schema order. A whole optional section present in one and absent
    /// in the other is reported by its name (`pretrain_d`); lists are compared whole.
    public func changedKeys(from stored: PipelineConfig) -> [String] {
        var out: [String] = []
        func diff(_ a: Node, _ b: Node, _ path: String) {
            if let ma = a.mapping, let mb = b.mapping {
                var keys: [String] = ma.keys.compactMap(\.string)
                keys += mb.keys.compactMap(\.string).filter { !keys.contains($0) }
                for k in keys {
                    let sub = path.isEmpty ? k : path + "." + k
                    guard let va = ma[k], let vb = mb[k] else { out.append(sub); continue }
                    diff(va, vb, sub)
                }
            } else if a != b {
                out.append(path)
            }
        }
        do {
            diff(try ConfigTreeEncoder.node(for: self), try ConfigTreeEncoder.node(for: stored), "")
        } catch {
            preconditionFailure("PipelineConfig.changedKeys: \(error)")
        }
        return out
    }

    /// The value of a dotted key as its line of `encodeYAML()` shows it (`[10, 10]` for
    /// `generator.hidden`), for messages; "?" when the key is not there.
    public func yamlValue(of key: String) -> String {
        let leaf = String(key.split(separator: ".").last ?? "")
        var path = key.split(separator: ".").map(String.init)
        var depth = 0
        for line in encodeYAML().split(separator: "\n") {
            let trimmed = line.drop { $0 == " " }
            let indent = line.count - trimmed.count
            guard indent == depth * 2, path.count > 0, trimmed.hasPrefix(path[0] + ":") else { continue }
            if path.count == 1 { return String(trimmed.dropFirst(leaf.count + 1)).trimmingCharacters(in: .whitespaces) }
            path.removeFirst()
            depth += 1
        }
        return "?"
    }

    /// The changed keys that are not allowed to change on resume (empty: resuming is fine).
    public func resumeConflicts(with stored: PipelineConfig) -> [String] {
        changedKeys(from: stored).filter { !Self.isChangeableOnResume($0) }
    }
}

/// The keys one section accepts, derived from its `CodingKeys` (so the unknown-key check cannot
/// drift from decoding), and the schemas of the keys that are themselves sections.
struct ConfigSchema: Sendable {
    let keys: [String]
    let sections: [String: ConfigSchema]

    init<K: CodingKey & CaseIterable & RawRepresentable & Hashable>(
        _ keys: K.Type, sections: [K: ConfigSchema] = [:]
    ) where K.RawValue == String {
        self.keys = K.allCases.map(\.rawValue)
        self.sections = Dictionary(uniqueKeysWithValues: sections.map { ($0.key.rawValue, $0.value) })
    }
}

/// `conditioning:` the class-conditional GAN variants (`GANNN.Conditioning.Mode`).
public enum ConditioningMode: String, ConfigChoice {
    case concat, projection, acgan
}

/// A closed set of string values (`kind: adam`); decoding errors list the accepted values.
public protocol ConfigChoice: RawRepresentable, CaseIterable, Codable, Sendable, Hashable
where RawValue == String {}

extension KeyedDecodingContainer {
    /// The value at `key`, or `fallback` when the key is absent or null.
    func callAsFunction<T: Decodable>(_ key: Key, or fallback: T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? fallback
    }

    /// A closed-set value at `key` (required when `fallback` is nil).
    func choice<T: ConfigChoice>(_ key: Key, or fallback: T? = nil) throws -> T {
        let raw: String
        if let fallback {
            guard let s = try decodeIfPresent(String.self, forKey: key) else { return fallback }
            raw = s
        } else {
            raw = try decode(String.self, forKey: key)
        }
        guard let value = T(rawValue: raw) else {
            let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigIssue(codingPath: codingPath + [key],
                              message: "invalid value `\(raw)`; expected one of: \(allowed)")
        }
        return value
    }
}
