import Foundation
import GANNN
import GANTestSupport
import Testing

/// The stabilisation switches of issue 8 through the built binaries: every switch on at once
/// resumes bit-exactly after SIGKILL, the checkpoint carries what each needs (EMA network,
/// reference batches, spectral-norm vectors), and gan-sample serves the moving average.
@Suite struct VariantsPipelineCLITests {
    let bin = CLI.binary("gan-pipeline")
    let sample = CLI.binary("gan-sample")

    static let yaml = """
    name: all-switches
    seed: 5
    data: {source: ring, size: 4000, normalize: standardize}
    noise: {dimension: 2}
    generator: {hidden: [16, 16], activation: relu, virtual_batch_norm: true}
    discriminator: {hidden: [16, 16], activation: leaky_relu, virtual_batch_norm: true, spectral_norm: true}
    loss: {real_label: 0.9, feature_matching_layer: 2}
    generator_optimizer: {kind: adam, learning_rate: 0.001, beta1: 0.5}
    discriminator_optimizer: {kind: adam, learning_rate: 0.001, beta1: 0.5}
    train: {steps: 1200, batch_size: 32, d_steps_per_g_step: 2, reference_batch_size: 16, ema_decay: 0.99,
            checkpoint_every: 100, log_every: 100}
    evaluate: {samples: 1000}
    """

    @Test func everySwitchOnResumesExactlyAndIsServed() throws {
        let bin = try #require(bin, "build gan-pipeline first (make test does)")
        let dir = try makeTemporaryDirectory("variants")
        defer { try? FileManager.default.removeItem(at: dir) }
        let yaml = dir.appendingPathComponent("all.yaml").path
        try Self.yaml.write(toFile: yaml, atomically: true, encoding: .utf8)
        let straight = dir.appendingPathComponent("straight").path, killed = dir.appendingPathComponent("killed").path
        let a = try CLI.run(bin, ["run", yaml, "--run-dir", straight, "--quiet"])
        #expect(a.status == 0, "\(a.stderr)")
        try GANPipelineCLITests.runAndKill(bin, ["run", yaml, "--run-dir", killed, "--quiet"], runDir: killed, killAt: 300, timeout: 120)
        let b = try CLI.run(bin, ["run", yaml, "--run-dir", killed, "--quiet"])
        #expect(b.status == 0, "\(b.stderr)")
        let last = "train/step-00001200.h5"
        #expect(try GANPipelineCLITests.sameState("\(straight)/\(last)", "\(killed)/\(last)"))
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/h5diff") {
            for group in ["/generator_ema", "/reference"] {
                let r = try CLI.run(URL(fileURLWithPath: "/usr/bin/h5diff"), ["-q", "\(straight)/\(last)", "\(killed)/\(last)", group, group])
                #expect(r.status == 0, "\(group) differs after resume")
            }
        }
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(straight)/eval/metrics.json"))) as? [String: Any]
        #expect(metrics?["modes_covered"] is Double)

        // gan-sample: info lists the averaged generator and the new layer kinds; generate serves
        // the average by default and the raw weights with --raw.
        let gs = try #require(sample)
        let info = try CLI.run(gs, ["info", straight])
        #expect(info.status == 0)
        for word in ["generator_ema", "spectral norm"] { #expect(info.stdout.contains(word), "info lacks \(word): \(info.stdout)") }
        let ema = try CLI.run(gs, ["generate", straight, "-n", "8", "-o", "-"]), raw = try CLI.run(gs, ["generate", straight, "-n", "8", "-o", "-", "--raw"])
        #expect(ema.status == 0 && raw.status == 0)
        #expect(ema.stdout != raw.stdout, "the moving average must differ from the raw weights")
    }

    @Test func badCombinationsAreRejectedWithALocation() throws {
        let bin = try #require(bin)
        let dir = try makeTemporaryDirectory("variants-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let yaml = dir.appendingPathComponent("all.yaml").path
        try Self.yaml.write(toFile: yaml, atomically: true, encoding: .utf8)
        let cases: [(String, String)] = [
            ("loss.feature_matching_layer=3", "--set loss.feature_matching_layer=3: loss.feature_matching_layer: D has 2 hidden block(s)"),
            ("train.reference_batch_size=0", "train.reference_batch_size: generator.virtual_batch_norm needs a reference batch"),
            ("generator.spectral_norm=true", "generator.spectral_norm: spectral normalisation is for the discriminator"),
            ("train.ema_decay=1", "train.ema_decay: must be in [0, 1)"),
            ("generator.batch_norm=true", "generator.virtual_batch_norm: use batch_norm or virtual_batch_norm, not both"),
        ]
        for (set, message) in cases {
            let r = try CLI.run(bin, ["run", yaml, "--run-dir", dir.appendingPathComponent("r").path, "--set", set])
            #expect(r.status == 2 && r.stderr.contains(message) && r.stderr.split(separator: "\n").count == 1, "\(set): \(r.stderr)")
        }
        // In the file itself the error points at the line and column of the value.
        try Self.yaml.replacingOccurrences(of: "feature_matching_layer: 2", with: "feature_matching_layer: 5").write(toFile: yaml, atomically: true, encoding: .utf8)
        let fm = try CLI.run(bin, ["run", yaml, "--run-dir", dir.appendingPathComponent("r").path])
        #expect(fm.status == 2 && fm.stderr.contains("all.yaml:7:49:") && fm.stderr.contains("must be in 1...2, got 5"), "\(fm.stderr)")
    }
}
