import Foundation
import GANNN
import GANPlot
import GANTestSupport
import Testing
@_spi(Testing) import GANTensor

/// End-to-end tests of image pipelines on the built binaries: a synthetic IDX data set through
/// every stage (metrics, sample grids, best.h5, serving), and the shipped Fashion-MNIST pipelines
/// (networks shrunk with --set) resuming bit-exactly after SIGKILL.
@Suite struct ImagePipelineCLITests {
    let bin = CLI.binary("gan-pipeline")
    let sample = CLI.binary("gan-sample")

    /// MNIST-format bytes: magic 0x0000 08 NDIM, big-endian dimensions, data.
    static func idx(_ shape: [Int], _ bytes: [UInt8]) -> Data {
        var d = Data([0, 0, 8, UInt8(shape.count)])
        for s in shape { d.append(contentsOf: [UInt8(s >> 24 & 255), UInt8(s >> 16 & 255), UInt8(s >> 8 & 255), UInt8(s & 255)]) }
        d.append(contentsOf: bytes)
        return d
    }

    /// `n` 8x8 images of 4 classes: class c is a bright 4x4 block in quadrant c on dim noise.
    static func images(_ n: Int, seed: UInt64) -> (images: [UInt8], labels: [UInt8]) {
        var rng = RNG(seed: seed, stream: RNGStream("test-images"))
        var images: [UInt8] = [], labels: [UInt8] = []
        for i in 0..<n {
            let c = i % 4
            labels.append(UInt8(c))
            for y in 0..<8 {
                for x in 0..<8 {
                    let inside = (y / 4) == c / 2 && (x / 4) == c % 2
                    images.append(UInt8(inside ? 180 + Int(rng.uniform() * 75) : Int(rng.uniform() * 60)))
                }
            }
        }
        return (images, labels)
    }

    static func writeDataSet(_ dir: URL) throws {
        let train = images(400, seed: 1), test = images(120, seed: 2)
        try idx([400, 8, 8], train.images).write(to: dir.appendingPathComponent("train-images.idx"))
        try idx([400], train.labels).write(to: dir.appendingPathComponent("train-labels.idx"))
        try idx([120, 8, 8], test.images).write(to: dir.appendingPathComponent("test-images.idx"))
        try idx([120], test.labels).write(to: dir.appendingPathComponent("test-labels.idx"))
    }

    static let yaml = """
    name: tiny-images
    seed: 3
    data: {source: idx, path: train-images.idx, labels: train-labels.idx, test_path: test-images.idx,
           test_labels: test-labels.idx, floor_size: 100, normalize: none}
    noise: {dimension: 8}
    generator: {hidden: [32], activation: relu, output: sigmoid, init: xavier_normal}
    discriminator: {hidden: [32], activation: leaky_relu, init: xavier_normal}
    generator_optimizer: {kind: adam, learning_rate: 0.001, beta1: 0.5}
    discriminator_optimizer: {kind: adam, learning_rate: 0.001, beta1: 0.5}
    train: {steps: 300, batch_size: 32, checkpoint_every: 100, eval_every: 50, log_every: 100}
    evaluate: {samples: 300}
    """

    static func metrics(_ run: String) throws -> [String: Double] {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(run)/eval/metrics.json")))
        return (json as? [String: Any] ?? [:]).compactMapValues { $0 as? Double }
    }

    @Test func syntheticImagesRunEveryStageAndServe() throws {
        let bin = try #require(bin, "build gan-pipeline first (make test does)")
        let dir = try makeTemporaryDirectory("image-pipeline")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.writeDataSet(dir)
        let yaml = dir.appendingPathComponent("tiny-images.yaml").path
        try Self.yaml.write(toFile: yaml, atomically: true, encoding: .utf8)
        let run = dir.appendingPathComponent("runs/tiny").path
        let r = try CLI.run(bin, ["run", yaml, "--run-dir", run, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("prep: 400 samples of shape 1x8x8 (+120 held out)"), "\(r.stderr)")
        let fm = FileManager.default
        for f in ["data.h5", "train/best.h5", "train/step-00000300.h5", "train/samples/step-00000000.png",
                  "train/samples/step-00000300.png", "eval/samples.png", "eval/losses.png"] {
            #expect(fm.fileExists(atPath: "\(run)/\(f)"), "missing \(f)")
        }
        // The classifier is cached next to the run directory and reused by the next evaluation.
        let cache = try fm.contentsOfDirectory(atPath: dir.appendingPathComponent("runs/.cache").path)
        #expect(cache.count == 1 && cache[0].hasPrefix("classifier-"), "\(cache)")
        let m = try Self.metrics(run)
        for k in ["fd", "fd_real_floor", "classes_covered", "class_kl", "classifier_accuracy", "parzen_ll", "parzen_se",
                  "parzen_ll_real_floor", "classes_covered_real_floor", "step", "wall_seconds"] {
            #expect(m[k] != nil, "metrics.json lacks \(k)")
        }
        // The floor (real images) beats a 300-step generator on every metric; the classes are easy.
        #expect((m["classifier_accuracy"] ?? 0) > 0.95)
        #expect(m["classes_covered_real_floor"] == 4)
        #expect((m["fd_real_floor"] ?? .infinity) < (m["fd"] ?? 0))
        #expect((m["parzen_ll_real_floor"] ?? -.infinity) > (m["parzen_ll"] ?? .infinity))
        let again = try CLI.run(bin, ["run", yaml, "--run-dir", run, "--stages", "evaluate"])
        #expect(again.status == 0 && !again.stderr.contains("classifier epoch"), "\(again.stderr)")
        #expect(try Self.metrics(run)["fd"] == m["fd"], "evaluation must be deterministic")

        // Serving: a PNG grid and IDX from the run, and D's scores of the held-out images.
        let gs = try #require(sample)
        let png = dir.appendingPathComponent("grid.png").path
        #expect(try CLI.run(gs, ["generate", run, "-n", "16", "-o", png]).status == 0)
        let score = try CLI.run(gs, ["score", run, dir.appendingPathComponent("test-images.idx").path])
        #expect(score.status == 0, "\(score.stderr)")
        #expect(score.stdout.split(separator: "\n").count >= 120)
    }

    /// A folder of PNGs (the user's own images, no labels) trains and is evaluated without the
    /// classifier metrics; a folder with a different-size image is refused naming the file.
    @Test func pngFolderIsImageData() throws {
        let bin = try #require(bin)
        let dir = try makeTemporaryDirectory("png-folder")
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = dir.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let data = Self.images(40, seed: 4).images
        for i in 0..<40 {
            try PixelImage(width: 8, height: 8, format: .gray8, pixels: Array(data[(i * 64)..<((i + 1) * 64)]))
                .write(to: folder.appendingPathComponent(String(format: "img-%03d.png", i)).path)
        }
        let yaml = dir.appendingPathComponent("folder.yaml").path
        try """
        data: {source: png_folder, path: images, floor_size: 8}
        noise: {dimension: 4}
        generator: {hidden: [16], output: sigmoid}
        discriminator: {hidden: [16]}
        generator_optimizer: {learning_rate: 0.001}
        discriminator_optimizer: {learning_rate: 0.001}
        train: {steps: 30, batch_size: 8, checkpoint_every: 10}
        evaluate: {samples: 50}
        """.write(toFile: yaml, atomically: true, encoding: .utf8)
        let run = dir.appendingPathComponent("run").path
        let r = try CLI.run(bin, ["run", yaml, "--run-dir", run, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("prep: 40 samples of shape 1x8x8 from png_folder"), "\(r.stderr)")
        let m = try Self.metrics(run)
        #expect(m["parzen_ll"] != nil && m["fd"] == nil, "no labels: Parzen only, got \(m.keys.sorted())")
        // The floor row is absent without a test set (the floor images are the held-out set).
        #expect(m["parzen_ll_real_floor"] == nil)

        try PixelImage(width: 9, height: 8, format: .gray8, pixels: [UInt8](repeating: 0, count: 72))
            .write(to: folder.appendingPathComponent("img-999.png").path)
        let bad = try CLI.run(bin, ["run", yaml, "--run-dir", dir.appendingPathComponent("run2").path, "--quiet"])
        #expect(bad.status == 2 && bad.stderr.contains("img-999.png") && bad.stderr.split(separator: "\n").count == 1, "\(bad.stderr)")
    }

    @Test func imageConfigMistakesAreOneLineErrors() throws {
        let bin = try #require(bin)
        let dir = try makeTemporaryDirectory("image-config")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.writeDataSet(dir)
        let yaml = dir.appendingPathComponent("tiny-images.yaml").path
        try Self.yaml.write(toFile: yaml, atomically: true, encoding: .utf8)
        let d = dir.path  // overrides resolve relative paths against the current directory
        let cases: [([String], String)] = [
            (["--set", "data.floor_size=400"], "data.floor_size (400) must be smaller than the number of training images (400)"),
            (["--set", "data.labels=\(d)/test-labels.idx"], "data.labels: expected 400 labels (one per image), found shape [120]"),
            (["--set", "data.test_path=\(d)/train-labels.idx"], "expected IDX images"),
            (["--set", "data.path=missing.idx"], "missing.idx: no such file"),
        ]
        for (args, message) in cases {
            let r = try CLI.run(bin, ["run", yaml, "--run-dir", dir.appendingPathComponent("r").path, "--quiet"] + args)
            #expect(r.status != 0 && r.stderr.contains(message), "\(args): \(r.stderr)")
            #expect(!r.stderr.contains("Fatal error"))
        }
    }

    /// The shipped Fashion-MNIST pipelines, shrunk, resume bit-exactly after SIGKILL (fashion-dcgan64
    /// at 16x16 with 4 features: prep's resize and pytorch/examples' network, small; fashion-cgan
    /// also as a conditional DCGAN with a projection discriminator, the label stream included).
    @Test(arguments: ["fashion-mlp", "fashion-mlp-sn", "fashion-maxout", "fashion-dcgan", "fashion-wgan", "fashion-tricks", "fashion-dcgan64",
                      "fashion-cgan", "fashion-cgan-dcgan-projection"])
    func shippedImagePipelineResumesExactlyAfterSIGKILL(_ name: String) throws {
        let bin = try #require(bin)
        guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz") else {
            Issue.record("dataset-fashion-mnist is not installed (make deps installs it)")
            return
        }
        let file = name.hasPrefix("fashion-cgan") ? "fashion-cgan" : name
        let yaml = packageRoot().appendingPathComponent("Pipelines/\(file).yaml").path
        let dir = try makeTemporaryDirectory("shipped-\(name)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var args = ["--quiet", "--stages", "prep,train", "--set", "train.steps=120", "--set", "train.checkpoint_every=20"]
        switch name {
        case "fashion-dcgan":
            args += ["--set", "generator.channels=[8,4]", "--set", "discriminator.channels=[4,8]", "--set", "train.batch_size=16"]
        case "fashion-cgan-dcgan-projection":
            args += ["--set", "conditioning=projection", "--set", "generator.architecture=dcgan", "--set", "generator.channels=[8,4]",
                     "--set", "discriminator.architecture=dcgan", "--set", "discriminator.channels=[4,8]", "--set", "train.batch_size=16"]
        case "fashion-dcgan64":
            args += ["--set", "data.resize=16", "--set", "generator.features=4", "--set", "discriminator.features=4", "--set", "train.batch_size=8"]
        default:
            args += ["--set", "generator.hidden=[32]", "--set", "discriminator.hidden=[16]"]
        }
        let straight = dir.appendingPathComponent("straight").path, killed = dir.appendingPathComponent("killed").path
        let a = try CLI.run(bin, ["run", yaml, "--run-dir", straight] + args)
        #expect(a.status == 0, "\(a.stderr)")
        try GANPipelineCLITests.runAndKill(bin, ["run", yaml, "--run-dir", killed] + args, runDir: killed, killAt: 40, timeout: 120)
        let b = try CLI.run(bin, ["run", yaml, "--run-dir", killed] + args)
        #expect(b.status == 0, "\(b.stderr)")
        #expect(try GANPipelineCLITests.sameState("\(straight)/train/step-00000120.h5", "\(killed)/train/step-00000120.h5"))
        // Every kind of image model serves: D scores the t10k images (a conv D takes [C, H, W]);
        // the 16x16 model generates 16x16 images.
        let gs = try #require(sample)
        if name == "fashion-dcgan64" {
            let out = dir.appendingPathComponent("g.idx").path
            let g = try CLI.run(gs, ["generate", straight, "-n", "3", "-o", out])
            #expect(g.status == 0, "\(g.stderr)")
            let data = try Data(contentsOf: URL(fileURLWithPath: out))
            #expect(data.count == 4 + 4 * 3 + 3 * 16 * 16)   // IDX [3, 16, 16]
            return
        }
        // A projection D judges each image with a class (fashion-cgan's ACGAN D takes none).
        let score = try CLI.run(gs, ["score", straight, "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"]
                                    + (name.hasSuffix("projection") ? ["--class", "sneaker"] : []))
        #expect(score.status == 0, "\(score.stderr)")
        #expect(score.stdout.split(separator: "\n").count == 10_001)  // header + one row per image
    }
}
