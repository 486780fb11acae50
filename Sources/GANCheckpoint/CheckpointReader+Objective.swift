import GANNN
import Yams

extension CheckpointReader {
    /// The objective the checkpoint's networks were trained with: the stored configuration's
    /// `loss.objective`. A configuration that is missing, does not parse or names no known
    /// objective counts as the pipeline's default, `.nonSaturating` (D a classifier), so only a
    /// stored `wasserstein` makes D a critic.
    public var objective: GANObjective { StoredConfiguration.objective(in: config) }

    /// PacGAN's packing degree, the stored `train.pack`: D judges this many consecutive samples at
    /// once. A configuration without it (or that does not parse) counts as 1, no packing.
    public var pack: Int { StoredConfiguration.pack(in: config) }
}

/// The part of the stored configuration (root attribute `config`, the pipeline's resolved YAML)
/// that a reader of the checkpoint needs, decoded with types; every other key is ignored. This is
/// the one place that reads the stored YAML outside the pipeline.
struct StoredConfiguration: Decodable {
    struct Loss: Decodable {
        /// The YAML spellings (`LossConfig.Objective` in GANPipeline).
        enum Objective: String, Decodable {
            case minimax
            case nonSaturating = "non_saturating"
            case wasserstein
        }
        var objective: Objective?
    }

    struct Train: Decodable {
        var pack: Int?
    }

    var loss: Loss?
    var train: Train?

    static func objective(in yaml: String) -> GANObjective {
        switch (try? YAMLDecoder().decode(StoredConfiguration.self, from: yaml))?.loss?.objective {
        case .minimax: .minimax
        case .wasserstein: .wasserstein
        case .nonSaturating, nil: .nonSaturating
        }
    }

    static func pack(in yaml: String) -> Int {
        max((try? YAMLDecoder().decode(StoredConfiguration.self, from: yaml))?.train?.pack ?? 1, 1)
    }
}
