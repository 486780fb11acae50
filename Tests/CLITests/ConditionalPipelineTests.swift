import Foundation
import GANPlot
import GANTestSupport
import Testing
@_spi(Testing) import GANTensor

/// Class-conditional GANs end to end (issue 22) on the built binaries: a labelled PNG folder
/// (one subfolder per class) through every stage in every conditioning and both architectures,
/// serving the class asked for (CLI and HTTP); bad classes refused; a shrunk run SIGKILLed and
/// resumed bit-exactly. (The shrunk conditional Fashion-MNIST runs that resume after SIGKILL are
/// in `ImagePipelineCLITests`.)
@Suite struct ConditionalPipelineCLITests {
    let bin = CLI.binary("gan-pipeline")
    let sample = CLI.binary("gan-sample")

    /// `bright/` and `dark/` subfolders of 8x8 grey PNGs: bright pixels in 180...255, dark in 0...75.
    static func writeFolder(_ dir: URL, count: Int, seed: UInt64) throws {
        var rng = RNG(seed: seed, stream: RNGStream("test-images"))
        for (name, base) in [("bright", 180), ("dark", 0)] {
            let folder = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for i in 0..<count {
                let pixels = (0..<64).map { _ in UInt8(base + Int(rng.uniform() * 75)) }
                try PixelImage(width: 8, height: 8, format: .gray8, pixels: pixels).write(to: folder.appendingPathComponent(String(format: "%03d.png", i)).path)
            }
        }
    }

    static func yaml(mode: String?, dcgan: Bool) -> String {
        let g = dcgan ? "{architecture: dcgan, channels: [8, 4], batch_norm: true, activation: relu, output: sigmoid}"
                      : "{hidden: [16], activation: relu, output: sigmoid}"
        let d = dcgan ? "{architecture: dcgan, channels: [4, 8], batch_norm: true, activation: leaky_relu}" : "{hidden: [16], activation: leaky_relu}"
        return """
        name: bright-dark
        data: {source: png_folder, path: train, test_path: test, floor_size: 16}
        noise: {dimension: 4}
        generator: \(g)
        discriminator: \(d)
        \(mode.map { "conditioning: \($0)" } ?? "")
        generator_optimizer: {kind: adam, learning_rate: 0.002, beta1: 0.5}
        discriminator_optimizer: {kind: adam, learning_rate: 0.002, beta1: 0.5}
        train: {steps: 600, batch_size: 16, checkpoint_every: 100, log_every: 0}
        evaluate: {samples: 200}

        """
    }

    /// `dir/name`: prep and 20 training steps of the bright/dark folders (written into `dir` by
    /// the first call) with conditioning `mode` (nil: unconditional).
    static func shrunkRun(_ bin: URL, in dir: URL, name: String, mode: String?) throws -> String {
        if !FileManager.default.fileExists(atPath: dir.appendingPathComponent("train").path) {
            try writeFolder(dir.appendingPathComponent("train"), count: 24, seed: 1)
            try writeFolder(dir.appendingPathComponent("test"), count: 8, seed: 2)
        }
        let yaml = dir.appendingPathComponent("\(name).yaml").path
        try Self.yaml(mode: mode, dcgan: false).replacingOccurrences(of: "steps: 600", with: "steps: 20")
            .write(toFile: yaml, atomically: true, encoding: .utf8)
        let run = dir.appendingPathComponent(name).path
        let r = try CLI.run(bin, ["run", yaml, "--run-dir", run, "--quiet", "--stages", "prep,train"])
        try #require(r.status == 0, "\(r.stderr)")
        return run
    }

    /// Rows of a CSV written by `generate` for a conditional model: (label, mean pixel).
    static func labelledMeans(_ csv: String) -> [(label: Int, mean: Double)] {
        csv.split(separator: "\n").map { line in
            let v = line.split(separator: ",").compactMap { Double($0) }
            return (Int(v[0]), v.dropFirst().reduce(0, +) / Double(max(v.count - 1, 1)))
        }
    }

    /// The test that fails if the class input is ignored: >= 95 % of the samples generated for
    /// "bright" are bright and of those for "dark" dark, in every conditioning and architecture.
    @Test(arguments: ["concat", "projection", "acgan"], [false, true])
    func theClassAskedForIsTheClassDelivered(_ mode: String, _ dcgan: Bool) throws {
        let bin = try #require(bin, "build gan-pipeline first (make test does)"), gs = try #require(sample)
        let dir = try makeTemporaryDirectory("bright-dark")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.writeFolder(dir.appendingPathComponent("train"), count: 64, seed: 1)
        try Self.writeFolder(dir.appendingPathComponent("test"), count: 16, seed: 2)
        let yaml = dir.appendingPathComponent("c.yaml").path
        try Self.yaml(mode: mode, dcgan: dcgan).write(toFile: yaml, atomically: true, encoding: .utf8)
        let run = dir.appendingPathComponent("run").path
        let r = try CLI.run(bin, ["run", yaml, "--run-dir", run, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let m = try ImagePipelineCLITests.metrics(run)
        for k in ["conditional_accuracy", "conditional_accuracy_min", "conditional_accuracy_real", "conditional_accuracy_min_real"] {
            #expect(m[k] != nil, "metrics.json lacks \(k)")
        }
        // (The evaluation's classifier barely trains on 128 images, so brightness is the judge here.)
        #expect(m["conditional_accuracy_real"] == m["classifier_accuracy"])

        for (name, bright) in [("bright", true), ("DARK", false)] {
            let g = try CLI.run(gs, ["generate", run, "--class", name, "-n", "200", "-o", "-"])
            #expect(g.status == 0, "\(g.stderr)")
            let rows = Self.labelledMeans(g.stdout)
            #expect(rows.count == 200 && rows.allSatisfy { $0.label == (bright ? 0 : 1) })
            let right = rows.filter { ($0.mean > 0.5) == bright }.count
            #expect(right >= 190, "\(mode) dcgan \(dcgan): \(right)/200 samples of \(name) are \(bright ? "bright" : "dark")")
        }
    }

    /// `info` lists the classes; `--class` by number and by name give the same bytes; `--class
    /// all` is a grid row per class with labels alongside; interpolate and score take classes;
    /// bad classes (out of range, unknown name, on an unconditional model) are one line, exit 2,
    /// nothing written.
    @Test func servingClasses() throws {
        let bin = try #require(bin), gs = try #require(sample)
        let dir = try makeTemporaryDirectory("serve-classes")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cond = try Self.shrunkRun(bin, in: dir, name: "cond", mode: "concat")
        let plain = try Self.shrunkRun(bin, in: dir, name: "plain", mode: nil)
        let info = try CLI.run(gs, ["info", cond])
        #expect(info.stdout.contains("classes      2, conditioning concat: 0 bright, 1 dark"), "\(info.stdout)")
        let json = try CLI.run(gs, ["info", cond, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect((object?["classes"] as? [String: Any])?["names"] as? [String] == ["bright", "dark"])
        #expect(try CLI.run(gs, ["info", plain]).stdout.contains("\nclasses ") == false)

        func out(_ name: String) -> String { dir.appendingPathComponent(name).path }
        #expect(try CLI.run(gs, ["generate", cond, "--class", "1", "-n", "5", "-o", out("a.npy")]).status == 0)
        #expect(try CLI.run(gs, ["generate", cond, "--class", "Dark", "-n", "5", "-o", out("b.npy")]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out("a.npy"))) == Data(contentsOf: URL(fileURLWithPath: out("b.npy"))))
        let labels = try Data(contentsOf: URL(fileURLWithPath: out("a.labels.npy")))
        let values = stride(from: labels.count - 40, to: labels.count, by: 8).map { o in
            (0..<8).reduce(Int64(0)) { $0 | Int64(labels[labels.startIndex + o + $1]) << (8 * Int64($1)) }
        }
        #expect(labels.count == 128 + 5 * 8 && values == [1, 1, 1, 1, 1])   // int64 [5] after numpy's 128-byte header
        #expect(String(decoding: labels.prefix(128), as: UTF8.self).contains("'descr': '<i8'"))
        let all = try CLI.run(gs, ["generate", cond, "--class", "all", "-n", "3", "-o", out("all.png")])
        #expect(all.status == 0, "\(all.stderr)")
        let png = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out("all.png"))))
        #expect(ImageFixture.pngHeader(png).width == 3 * 8 + 4 * 2 && ImageFixture.pngHeader(png).height == 2 * 8 + 3 * 2)
        let h5 = try CLI.run(gs, ["generate", cond, "--class", "all", "-n", "2", "-o", out("all.h5")])
        #expect(h5.status == 0, "\(h5.stderr)")
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/h5dump") {
            let dump = try CLI.run(URL(fileURLWithPath: "/usr/bin/h5dump"), ["-d", "labels", out("all.h5")])
            #expect(dump.stdout.contains("0, 0, 1, 1"), "\(dump.stdout)")
        }
        let strip = try CLI.run(gs, ["interpolate", cond, "--from-seed", "1", "--to-seed", "2", "--steps", "5", "-o", out("strip.png")])
        #expect(strip.status == 0, "\(strip.stderr)")
        let stripPNG = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out("strip.png"))))
        #expect(ImageFixture.pngHeader(stripPNG).width == 5 * 8 + 6 * 2 && ImageFixture.pngHeader(stripPNG).height == 2 * 8 + 3 * 2)
        // One row: a single class of the conditional model, or any unconditional image GAN.
        for (run, extra, name) in [(cond, ["--class", "dark"], "dark.png"), (plain, [], "plain.png")] {
            let r = try CLI.run(gs, ["interpolate", run, "--from-seed", "1", "--to-seed", "2", "--steps", "4", "-o", out(name)] + extra)
            #expect(r.status == 0, "\(name): \(r.stderr)")
            let header = ImageFixture.pngHeader([UInt8](try Data(contentsOf: URL(fileURLWithPath: out(name)))))
            #expect(header.width == 4 * 8 + 5 * 2 && header.height == 8 + 2 * 2, "\(name): \(header)")
        }
        #expect(try CLI.run(gs, ["score", cond, out("a.npy"), "--class", "dark"]).status == 0)
        #expect(try CLI.run(gs, ["score", cond, out("a.npy"), "--labels", out("a.labels.npy")]).status == 0)

        let bad: [([String], String)] = [
            (["generate", cond, "--class", "2", "-o", out("x.csv")], "--class 2: expected a class number in 0..<2 or one of the names \"bright\", \"dark\""),
            (["generate", cond, "--class", "grey", "-o", out("x.csv")], "--class grey: expected a class number"),
            (["generate", plain, "--class", "0", "-o", out("x.csv")], "is not a class-conditional model"),
            (["interpolate", plain, "--from-seed", "1", "--to-seed", "2", "--class", "dark", "-o", out("x.png")], "is not a class-conditional model"),
            (["score", cond, out("a.npy"), "-o", out("x.csv")], "give --class N|NAME or --labels FILE"),
            (["score", plain, out("a.npy"), "--class", "1", "-o", out("x.csv")], "is not a class-conditional model"),
        ]
        for (args, message) in bad {
            let r = try CLI.run(gs, args)
            #expect(r.status == 2 && r.stderr.contains(message) && r.stderr.split(separator: "\n").count == 1, "\(args): \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: out("x.csv")) && !FileManager.default.fileExists(atPath: out("x.png")))
    }

    /// `gan-sample serve` of a conditional run: the generator's optional `class` INT64 [n] input
    /// (without it sample i is class i mod K, as `generate`), the concat D's required one, the
    /// metadata and the convenience route's `class=`, each the bits of `generate --class`.
    @Test func servedOverHTTPWithAClassInput() throws {
        let bin = try #require(bin), gs = try #require(sample)
        let dir = try makeTemporaryDirectory("serve-cgan")
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try Self.shrunkRun(bin, in: dir, name: "run", mode: "concat")
        func cli(_ args: [String]) throws -> [Float] {
            let r = try CLI.run(gs, ["generate", run, "--seed", "3", "-n", "4", "-o", "-"] + args)
            try #require(r.status == 0, "\(r.stderr)")
            // Drop the label column: 1 + 64 values per row.
            return r.stdout.split(separator: "\n").flatMap { $0.split(separator: ",").dropFirst().compactMap { Float(String($0)) } }
        }
        let server = try ServeProcess([run, "--name", "c"])
        let meta = try server.request("GET", "/v2/models/c-g")
        #expect(meta.text.contains("{\"name\":\"class\",\"datatype\":\"INT64\",\"shape\":[-1]}") && meta.text.contains("\"classes\":[\"bright\",\"dark\"]"),
                "\(meta.text)")
        let cycling = try server.infer("c-g", OIP.generate(seed: 3, count: 4))
        let cyclingCLI = try cli([]), darkCLI = try cli(["--class", "dark"])
        #expect(cycling.status == 200 && ServeTests.bits(cycling.floats) == ServeTests.bits(cyclingCLI))
        let classInput = #",{"name":"class","shape":[4],"datatype":"INT64","data":[1,1,1,1]}]"#
        let dark = try server.infer("c-g", OIP.generate(seed: 3, count: 4).replacingOccurrences(of: "}]}", with: "}" + classInput + "}"))
        #expect(dark.status == 200, "\(dark.text)")
        #expect(ServeTests.bits(dark.floats) == ServeTests.bits(darkCLI))
        let file = try server.request("GET", "/v2/models/c-g/generate?count=4&seed=3&format=csv&class=DARK")
        #expect(file.status == 200 && ServeTests.bits(OIP.csv(file.text)) == ServeTests.bits(darkCLI))

        let badClass = try server.infer("c-g", OIP.generate(seed: 3, count: 4).replacingOccurrences(of: "}]}", with: "}" + classInput.replacingOccurrences(of: "1,1,1,1", with: "0,2,0,0") + "}"))
        #expect(badClass.status == 400 && badClass.error?.contains("expected a class number in 0..<2") == true, "\(badClass.text)")
        let noClass = try server.infer("c-d", OIP.tensor("x", shape: [4, 1, 8, 8], dark.floats))
        #expect(noClass.status == 400 && noClass.error?.contains("\"class\" (INT64 [n])") == true, "\(noClass.text)")
        let scored = try server.infer("c-d", OIP.tensor("x", shape: [4, 1, 8, 8], dark.floats).replacingOccurrences(of: "]}]}", with: "]}" + classInput + "}"))
        #expect(scored.status == 200 && scored.floats.count == 4, "\(scored.text)")
    }

    /// A shrunk conditional run (projection) through every stage, SIGKILLed during training,
    /// resumes bit-exactly: the same final checkpoint (labels stream included) and the same
    /// metrics.json as a straight run.
    @Test func conditionalRunThroughEveryStageResumesExactlyAfterSIGKILL() throws {
        let bin = try #require(bin)
        let dir = try makeTemporaryDirectory("cgan-resume")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.writeFolder(dir.appendingPathComponent("train"), count: 64, seed: 1)
        try Self.writeFolder(dir.appendingPathComponent("test"), count: 16, seed: 2)
        let yaml = dir.appendingPathComponent("c.yaml").path
        try Self.yaml(mode: "projection", dcgan: false)
            .replacingOccurrences(of: "train: {steps: 600, batch_size: 16, checkpoint_every: 100", with: "train: {steps: 4000, batch_size: 16, checkpoint_every: 100")
            .write(toFile: yaml, atomically: true, encoding: .utf8)
        let straight = dir.appendingPathComponent("straight").path, killed = dir.appendingPathComponent("killed").path
        let a = try CLI.run(bin, ["run", yaml, "--run-dir", straight, "--quiet"])
        #expect(a.status == 0, "\(a.stderr)")
        try GANPipelineCLITests.runAndKill(bin, ["run", yaml, "--run-dir", killed, "--quiet"], runDir: killed, killAt: 500, timeout: 60)
        #expect(!FileManager.default.fileExists(atPath: "\(killed)/eval/metrics.json"), "the run finished before it was killed")
        let b = try CLI.run(bin, ["run", yaml, "--run-dir", killed, "--quiet"])
        #expect(b.status == 0, "\(b.stderr)")
        #expect(try GANPipelineCLITests.sameState("\(straight)/train/step-00004000.h5", "\(killed)/train/step-00004000.h5"))
        func metrics(_ run: String) throws -> [String: Double] { try ImagePipelineCLITests.metrics(run).filter { $0.key != "wall_seconds" } }
        let m = try metrics(straight), resumed = try metrics(killed)
        #expect(m["conditional_accuracy"] != nil)
        #expect(m == resumed)
    }
}
