import Foundation
import GANCheckpoint
import GANNN
import GANTestSupport
import Testing

/// `CheckpointReader.objective`: the typed `loss.objective` of the stored configuration, with the
/// default (a classifier D) for anything missing or unreadable.
@Suite("Checkpoint objective")
struct CheckpointObjectiveTests {
    static let cases: [(config: String, objective: GANObjective)] = [
        ("seed: 1\nloss:\n  objective: wasserstein\n  real_label: 1.0\n", .wasserstein),
        ("loss:\n  objective: \"minimax\"\n", .minimax),
        ("loss: {objective: non_saturating, feature_matching_layer: 1}\ntrain: {steps: 3}\n", .nonSaturating),
        ("", .nonSaturating),                                        // no configuration stored
        (testConfigYAML, .nonSaturating),                            // no loss section
        ("loss:\n  real_label: 0.9\n", .nonSaturating),              // no objective
        ("loss:\n  objective: Wasserstein\n", .nonSaturating),       // not a known objective
        ("loss: 3\n", .nonSaturating),                               // not a mapping
        ("loss: [objective: wasserstein\n", .nonSaturating),         // not YAML
    ]

    @Test func objectiveComesFromTheStoredConfiguration() throws {
        let dir = try TempDir()
        let gan = try TestGAN(seed: 6, steps: 1)
        for (i, c) in Self.cases.enumerated() {
            var checkpoint = gan.checkpoint(step: i)
            checkpoint.config = c.config
            let path = dir.path("c\(i).h5")
            try checkpoint.write(to: path)
            let r = try CheckpointReader(path: path)
            #expect(r.objective == c.objective, "\(c.config)")
            r.close()
        }
    }
}
