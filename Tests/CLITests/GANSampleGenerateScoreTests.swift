import Foundation
import GANCheckpoint
import GANHDF5
import GANNN
import GANTestSupport
import Testing
@_spi(Testing) import GANTensor

/// End-to-end tests of `gan-sample generate` and `gan-sample score` on vector-model checkpoints
/// written by the library: every format both ways, determinism, the σ relation, WGAN critics,
/// pretrain-d checkpoints and every bad-input case (exit code, one line, nothing written).
@Suite struct GANSampleGenerateScoreTests {
    let sample = CLI.binary("gan-sample")

    // MARK: - Formats both ways

    @Test(arguments: ["csv", "npy", "h5"])
    func generateInEveryFormatThenScoreIt(_ ext: String) throws {
        let bin = try #require(sample, "build gan-sample first (make test does)")
        let dir = try makeTemporaryDirectory("sample-fmt")
        let ck = try Self.makeCheckpoint(dir)
        let out = dir.appendingPathComponent("samples.\(ext)")
        let g = try CLI.run(bin, ["generate", ck.path, "-n", "100", "--seed", "7", "-o", out.path])
        #expect(g.status == 0, "\(g.stderr)")
        #expect(g.stderr.isEmpty, "\(g.stderr)")
        #expect(g.stdout.isEmpty)
        #expect(try Self.listing(dir) == ["ck.h5", "samples.\(ext)"], "no temporary file left")

        // The values: z from RNG(seed: 7, stream: .sample), G, de-normalised.
        let got = try Self.values(of: out)
        let want = try Self.expectedSamples(ck, n: 100, seed: 7)
        #expect(got.count == 200)
        #expect(Self.close(got, want), "generated values differ from G(z) in data units")
        switch ext {
        case "npy": #expect(try Self.readNPY(out).shape == [100, 2])
        case "h5":
            let r = try Self.readH5(out, dataset: "samples")
            #expect(r.shape == [100, 2])
            #expect(try r.file.root.stringAttribute("checkpoint") == ck.path)
            #expect(try r.file.root.stringAttribute("stage") == "train")
            #expect(try r.file.root.intAttribute("step") == 42)
            #expect(try r.file.root.intAttribute("seed") == 7)
            try r.file.close()
        default:
            let t = try Self.readCSV(out)
            #expect(t.header == nil && t.rows.count == 100 && t.rows.allSatisfy { $0.count == 2 })
        }

        // Score what was generated: stdout CSV with a header, summary on stderr.
        let s = try CLI.run(bin, ["score", ck.path, out.path])
        #expect(s.status == 0, "\(s.stderr)")
        let (header, probs) = Self.scores(s)
        #expect(header == "score")
        let logits = try Self.expectedLogits(ck, rows: got, features: 2)
        #expect(Self.close(probs, logits.map(Self.sigmoid)))
        #expect(s.stderr.contains("gan-sample: scored 100 rows: mean "), "\(s.stderr)")
        let summary = try #require(s.stderr.split(separator: "\n").last { $0.contains("scored") })
        let mean = probs.reduce(0, +) / Float(probs.count)
        let shown = try #require(Float(summary.components(separatedBy: "mean ")[1].components(separatedBy: ",")[0]))
        #expect(abs(shown - mean) < 1e-4)
        #expect(summary.contains("min \(String(format: "%.6g", Double(probs.min()!)))"))
        #expect(summary.contains("max \(String(format: "%.6g", Double(probs.max()!)))"))

        // And the scores themselves in every format (-o), the same numbers.
        for sext in ["csv", "npy", "h5"] {
            let so = dir.appendingPathComponent("scores-of-\(ext).\(sext)")
            let r = try CLI.run(bin, ["score", ck.path, out.path, "-o", so.path])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.isEmpty)
            switch sext {
            case "csv":
                let t = try Self.readCSV(so)
                #expect(t.header == ["score"])
                #expect(t.rows.map { $0[0] } == probs)
            case "npy":
                let a = try Self.readNPY(so)
                #expect(a.shape == [100])
                #expect(a.values == probs)
            default:
                let h = try Self.readH5(so, dataset: "scores")
                #expect(h.shape == [100])
                #expect(h.values == probs)
                #expect(try h.file.root.stringAttribute("kind") == "score")
                try h.file.close()
            }
        }
    }

    /// Data the test writes (not generated), read in every format, including a CSV header, a
    /// [N] array for a one-feature model and an HDF5 dataset under another name.
    @Test func scoreReadsForeignFilesInEveryFormat() throws {
        let bin = try #require(sample)
        let dir = try makeTemporaryDirectory("sample-read")
        let ck = try Self.makeCheckpoint(dir)
        let rows: [Float] = [0.5, 1.5, -2, 3.25, 0, 0, 10, -10]
        let want = try Self.expectedLogits(ck, rows: rows, features: 2)

        let csv = dir.appendingPathComponent("in.csv")
        try "x,y\n0.5,1.5\n-2,3.25\n# a comment\n0,0\n10,-10\n".write(to: csv, atomically: true, encoding: .utf8)
        let npy = dir.appendingPathComponent("in.npy")
        try Self.writeNPY(npy, shape: [4, 2], values: rows)
        let h5 = dir.appendingPathComponent("in.h5")
        let f = try HDF5File.create(h5.path)
        try f.root.write("points", shape: [4, 2], values: rows.map(Double.init))  // float64 is read too
        try f.close()

        for args in [[csv.path], [npy.path], [h5.path, "--dataset", "points"]] {
            let r = try CLI.run(bin, ["score", ck.path] + args + ["--logits"])
            #expect(r.status == 0, "\(args): \(r.stderr)")
            let (header, values) = Self.scores(r)
            #expect(header == "logit")
            #expect(Self.close(values, want), "\(args)")
        }

        // A one-feature model takes a 1-d array.
        let one = try Self.makeCheckpoint(dir, name: "one.h5", sampleShape: [1])
        let flat = dir.appendingPathComponent("flat.npy")
        try Self.writeNPY(flat, shape: [3], values: [1, 2, 3])
        let r = try CLI.run(bin, ["score", one.path, flat.path, "--logits"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Self.close(Self.scores(r).values, try Self.expectedLogits(one, rows: [1, 2, 3], features: 1)))
    }

    @Test func scoreReadsStandardInput() throws {
        let bin = try #require(sample)
        let dir = try makeTemporaryDirectory("sample-stdin")
        let ck = try Self.makeCheckpoint(dir)
        let csv = dir.appendingPathComponent("in.csv")
        try "1,2\n3,4\n".write(to: csv, atomically: true, encoding: .utf8)
        let r = try CLI.run(URL(fileURLWithPath: "/bin/sh"), ["-c", "\"$0\" score \"$1\" - < \"$2\"", bin.path, ck.path, csv.path])
        #expect(r.status == 0, "\(r.stderr)")
        let file = try CLI.run(bin, ["score", ck.path, csv.path])
        #expect(r.stdout == file.stdout && Self.scores(r).values.count == 2)
    }

    // MARK: - Determinism, standard output, σ

    @Test func sameSeedSameBytesOtherSeedDiffers() throws {
        let bin = try #require(sample)
        let dir = try makeTemporaryDirectory("sample-det")
        let ck = try Self.makeCheckpoint(dir)
        for ext in ["csv", "npy", "h5"] {
            var files: [Data] = []
            for (i, seed) in ["3", "3", "4"].enumerated() {
                let out = dir.appendingPathComponent("s\(i).\(ext)")
                let r = try CLI.run(bin, ["generate", ck.path, "-n", "500", "--seed", seed, "-o", out.path])
                #expect(r.status == 0, "\(r.stderr)")
                files.append(try Data(contentsOf: out))
                if i == 0 { Thread.sleep(forTimeInterval: 1.1) }  // HDF5 object times would differ now
            }
            #expect(files[0] == files[1], "\(ext): same checkpoint and seed must give identical bytes")
            #expect(files[0] != files[2], "\(ext): another seed must give other samples")
        }
        // Sample i's noise does not depend on -n or --batch: a prefix, equal up to GEMM rounding.
        let all = try CLI.run(bin, ["generate", ck.path, "-n", "50", "-o", "-"])
        let few = try CLI.run(bin, ["generate", ck.path, "-n", "7", "--batch", "3", "-o", "-"])
        let a = Self.parseCSV(all.stdout).rows.flatMap { $0 }, b = Self.parseCSV(few.stdout).rows.flatMap { $0 }
        #expect(Self.close(Array(a.prefix(14)), b))
        // A uniform prior works and is deterministic too.
        let u = try Self.makeCheckpoint(dir, name: "u.h5", prior: .uniform(low: -1, high: 1))
        let u1 = try CLI.run(bin, ["generate", u.path, "-n", "9", "-o", "-"])
        let u2 = try CLI.run(bin, ["generate", u.path, "-n", "9", "-o", "-"])
        #expect(u1.status == 0 && u1.stdout == u2.stdout && u1.stdout != all.stdout)
    }

    @Test func dashWritesTheCSVFileToStandardOutput() throws {
        let bin = try #require(sample)
        let dir = try makeTemporaryDirectory("sample-dash")
        let ck = try Self.makeCheckpoint(dir)
        let file = dir.appendingPathComponent("s.csv")
        let f = try CLI.run(bin, ["generate", ck.path, "-n", "33", "-o", file.path])
        let s = try CLI.run(bin, ["generate", ck.path, "-n", "33", "-o", "-"])
        #expect(f.status == 0 && s.status == 0)
        #expect(s.stdout == (try String(contentsOf: file, encoding: .utf8)))
        #expect(s.stdout.split(separator: "\n").count == 33)
        #expect(try Self.listing(dir) == ["ck.h5", "s.csv"])
        // Default -n is 64; score -o - is standard output as well.
        let d = try CLI.run(bin, ["generate", ck.path, "-o", "-"])
        #expect(d.stdout.split(separator: "\n").count == 64)
        let sc = try CLI.run(bin, ["score", ck.path, file.path, "-o", "-"])
        #expect(sc.status == 0 && Self.scores(sc).values.count == 33)
    }

    @Test func logitsAndProbabilitiesAreRelatedBySigmoid() throws {
        let bin = try #require(sample)
        let dir = try makeTemporaryDirectory("sample-sigma")
        let ck = try Self.makeCheckpoint(dir)
        let input = dir.appendingPathComponent("in.csv")
        #expect(try CLI.run(bin, ["generate", ck.path, "-n", "200", "-o", input.path]).status == 0)
        let p = try CLI.run(bin, ["score", ck.path, input.path])
        let l = try CLI.run(bin, ["score", ck.path, input.path, "--logits"])
        #expect(p.status == 0 && l.status == 0)
        let (ph, probs) = Self.scores(p), (lh, logits) = Self.scores(l)
        #expect(ph == "score" && lh == "logit")
        #expect(probs.count == 200 && logits.count == 200)
        #expect(Self.close(probs, logits.map(Self.sigmoid), tolerance: 1e-6))
        #expect(probs.allSatisfy { $0 > 0 && $0 < 1 })
        #expect(!l.stderr.contains("critic"))
    }

    // MARK: - Stages and objectives

    @Test func pretrainDCheckpointGeneratesWithAWarning() throws {
        let bin = try #require(sample)
        let dir = try makeTemporaryDirectory("sample-pre")
        let ck = try Self.makeCheckpoint(dir, stage: .pretrainD)
        let out = dir.appendingPathComponent("s.csv")
        let r = try CLI.run(bin, ["generate", ck.path, "-n", "10", "-o", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(r.stderr.contains("warning") && r.stderr.contains("pretrain-d") && r.stderr.contains("has not been trained"), "\(r.stderr)")
        #expect(try Self.readCSV(out).rows.count == 10)
        let s = try CLI.run(bin, ["score", ck.path, out.path])
        #expect(s.status == 0 && Self.scores(s).values.count == 10, "\(s.stderr)")

        // Through a run directory that only has pretrain-d/.
        let run = try makeTemporaryDirectory("sample-pre-run")
        var rng = RNG(seed: 1)
        let g = Sequential(Linear(3, 2, rng: &rng)), d = Sequential(Linear(2, 1, rng: &rng))
        try CheckpointDirectory(run.appendingPathComponent("pretrain-d")).save(
            TrainingCheckpoint(stage: .pretrainD, step: 5, data: DataDescription(sampleShape: [2], noiseDimension: 3),
                               networks: [NetworkEntry("generator", g), NetworkEntry("discriminator", d)]))
        let viaRun = try CLI.run(bin, ["generate", run.path, "-n", "4", "-o", "-"])
        #expect(viaRun.status == 0 && viaRun.stdout.split(separator: "\n").count == 4)
        #expect(viaRun.stderr.contains("has not been trained"))
    }

    @Test func wassersteinCriticWritesCriticValues() throws {
        let bin = try #require(sample)
        let dir = try makeTemporaryDirectory("sample-wgan")
        let critic = try Self.makeCheckpoint(dir, name: "wgan.h5", config: "name: w\nloss:\n  objective: wasserstein\ntrain:\n  steps: 5\n")
        let plain = try Self.makeCheckpoint(dir, name: "gan.h5", config: "name: g\nloss:\n  objective: non_saturating\n")
        let input = dir.appendingPathComponent("in.csv")
        #expect(try CLI.run(bin, ["generate", plain.path, "-n", "50", "-o", input.path]).status == 0)
        let c = try CLI.run(bin, ["score", critic.path, input.path])
        #expect(c.status == 0, "\(c.stderr)")
        #expect(c.stderr.contains("critic"), "says so: \(c.stderr)")
        let (header, values) = Self.scores(c)
        #expect(header == "critic")
        // Same weights: the critic values are D's raw outputs, i.e. the plain model's logits.
        let l = try CLI.run(bin, ["score", plain.path, input.path, "--logits"])
        #expect(values == Self.scores(l).values)
        #expect(c.stderr.contains("scored 50 rows"))
        // --logits on a critic changes nothing.
        let cl = try CLI.run(bin, ["score", critic.path, input.path, "--logits"])
        #expect(cl.stdout == c.stdout)
        // Flow-style YAML is recognised too.
        let flow = try Self.makeCheckpoint(dir, name: "flow.h5", config: "loss: {objective: wasserstein}\n")
        #expect(Self.scores(try CLI.run(bin, ["score", flow.path, input.path])).header == "critic")
    }

    @Test func damagedCheckpointFailsWhenNamedButFallsBackThroughItsDirectory() throws {
        let bin = try #require(sample)
        let run = try GANSampleInfoTests.makeRun()
        let newest = GANSampleInfoTests.file(run, step: 3)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: newest.path)[.size] as? Int)
        let h = try FileHandle(forWritingTo: newest)
        try h.truncate(atOffset: UInt64(size / 2))
        try h.close()
        let out = try makeTemporaryDirectory("sample-damaged")
        let input = out.appendingPathComponent("in.csv")
        try "1,2\n".write(to: input, atomically: true, encoding: .utf8)

        for cmd in [["generate", newest.path, "-o", out.appendingPathComponent("g.csv").path],
                    ["score", newest.path, input.path, "-o", out.appendingPathComponent("s.csv").path]] {
            let r = try CLI.run(bin, cmd)
            #expect(r.status == 2, "\(cmd)")
            #expect(r.stderr.split(separator: "\n").count == 1, "one line: \(r.stderr)")
            #expect(r.stderr.contains(newest.path))
        }
        #expect(try Self.listing(out) == ["in.csv"])

        let g = try CLI.run(bin, ["generate", run.path, "-n", "5", "-o", out.appendingPathComponent("g.csv").path])
        #expect(g.status == 0, "\(g.stderr)")
        #expect(g.stderr.contains("warning") && g.stderr.contains(newest.path))
        let s = try CLI.run(bin, ["score", run.appendingPathComponent("train").path, input.path])
        #expect(s.status == 0 && Self.scores(s).values.count == 1, "\(s.stderr)")
        #expect(s.stderr.contains("warning"))
    }

    // MARK: - Bad input: one line, exit 2 (64 for malformed command lines), nothing written

    struct BadCase: CustomTestStringConvertible, Sendable {
        var name: String
        /// Arguments; "CK" is the checkpoint, "DIR/" the test directory.
        var args: [String]
        var status: Int32
        var message: String
        var testDescription: String { name }
    }

    static let badCases: [BadCase] = [
        BadCase(name: "missing checkpoint (generate)", args: ["generate", "DIR/nope.h5", "-o", "DIR/out.csv"], status: 2, message: "nope.h5"),
        BadCase(name: "missing checkpoint (score)", args: ["score", "DIR/nope.h5", "DIR/good.csv"], status: 2, message: "nope.h5"),
        BadCase(name: "not a checkpoint", args: ["generate", "DIR/good.csv", "-o", "DIR/out.csv"], status: 2, message: "good.csv"),
        BadCase(name: "3 features in CSV", args: ["score", "CK", "DIR/three.csv", "-o", "DIR/out.csv"], status: 2,
                message: "three.csv: 3 features per row, the discriminator expects 2"),
        BadCase(name: "3 features in NPY", args: ["score", "CK", "DIR/three.npy", "-o", "DIR/out.csv"], status: 2,
                message: "three.npy: 3 features per row (shape [2, 3]), the discriminator expects 2"),
        BadCase(name: "3 features in HDF5", args: ["score", "CK", "DIR/three.h5", "-o", "DIR/out.csv"], status: 2,
                message: "3 features per row (shape [2, 3]), the discriminator expects 2"),
        BadCase(name: "non-numeric CSV cell", args: ["score", "CK", "DIR/word.csv", "-o", "DIR/out.csv"], status: 2,
                message: "word.csv: line 3, column 2: \"abc\" is not a number"),
        BadCase(name: "NaN CSV cell", args: ["score", "CK", "DIR/nan.csv", "-o", "DIR/out.csv"], status: 2,
                message: "nan.csv: line 2, column 1: NaN is not allowed"),
        BadCase(name: "NaN in HDF5", args: ["score", "CK", "DIR/nan.h5", "-o", "DIR/out.csv"], status: 2,
                message: "/samples element [1, 0]: NaN is not allowed"),
        BadCase(name: "missing HDF5 dataset", args: ["score", "CK", "DIR/three.h5", "--dataset", "zz"], status: 2,
                message: "no dataset named \"zz\" (top level: samples); choose one with --dataset"),
        BadCase(name: "missing input", args: ["score", "CK", "DIR/absent.csv"], status: 2, message: "absent.csv: no such file"),
        BadCase(name: "output dir missing (generate)", args: ["generate", "CK", "-o", "DIR/no/out.csv"], status: 2,
                message: "out.csv: cannot write: directory"),
        BadCase(name: "output dir missing (generate h5)", args: ["generate", "CK", "-o", "DIR/no/out.h5"], status: 2,
                message: "does not exist"),
        BadCase(name: "output dir missing (score)", args: ["score", "CK", "DIR/good.csv", "-o", "DIR/no/s.csv"], status: 2,
                message: "does not exist"),
        BadCase(name: "output is a directory", args: ["generate", "CK", "-o", "DIR/sub.csv"], status: 2, message: "it is a directory"),
        BadCase(name: "output is the checkpoint", args: ["generate", "CK", "-o", "CK"], status: 2,
                message: "cannot write: it is the checkpoint being served"),
        BadCase(name: "score output is the checkpoint", args: ["score", "CK", "DIR/good.csv", "-o", "CK"], status: 2,
                message: "cannot write: it is the checkpoint being served"),
        BadCase(name: "N = 0", args: ["generate", "CK", "-n", "0", "-o", "DIR/out.csv"], status: 64, message: "-n must be at least 1, got 0"),
        BadCase(name: "N < 0", args: ["generate", "CK", "--count=-5", "-o", "DIR/out.csv"], status: 64, message: "got -5"),
        BadCase(name: "batch 0", args: ["generate", "CK", "--batch", "0", "-o", "DIR/out.csv"], status: 64, message: "--batch"),
        BadCase(name: "no -o", args: ["generate", "CK"], status: 64, message: "--output"),
        BadCase(name: "unsupported output extension", args: ["generate", "CK", "-o", "DIR/out.txt"], status: 2,
                message: "out.txt: unsupported output format (\".txt\"): use .csv, .npy, .h5 or -"),
        BadCase(name: "no output extension", args: ["generate", "CK", "-o", "DIR/out"], status: 2, message: "no extension"),
        BadCase(name: "unsupported input extension", args: ["score", "CK", "DIR/in.txt"], status: 2, message: "unsupported input format"),
        BadCase(name: "PNG output of a vector model", args: ["generate", "CK", "-o", "DIR/grid.png"], status: 2,
                message: "grid.png: PNG output needs an image model (this checkpoint's samples have shape [2])"),
        BadCase(name: "IDX output of a vector model", args: ["generate", "CK", "-o", "DIR/x.idx"], status: 2,
                message: "IDX output needs an image model"),
        BadCase(name: "IDX input of a vector model", args: ["score", "CK", "DIR/x.idx.gz"], status: 2,
                message: "IDX input needs an image model"),
        BadCase(name: "PNG folder input of a vector model", args: ["score", "CK", "DIR/pngs"], status: 2,
                message: "PNG folder input needs an image model"),
        BadCase(name: "PNG scores", args: ["score", "CK", "DIR/good.csv", "-o", "DIR/s.png"], status: 2,
                message: "PNG output is not available here"),
        BadCase(name: "IDX input that is not IDX", args: ["score", "DIR/image.h5", "DIR/x.idx.gz"], status: 2,
                message: "not an IDX file"),
    ]

    @Test(arguments: badCases)
    func badInputIsOneLineAndWritesNothing(_ c: BadCase) throws {
        let bin = try #require(sample)
        let dir = try makeTemporaryDirectory("sample-bad")
        let ck = try Self.makeCheckpoint(dir)
        try Self.makeCheckpoint(dir, name: "image.h5", sampleShape: [1, 2, 2])
        func write(_ name: String, _ text: String) throws { try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        try write("good.csv", "1,2\n3,4\n")
        try write("three.csv", "1,2,3\n4,5,6\n")
        try write("word.csv", "1,2\n3,4\n5,abc\n")
        try write("nan.csv", "1,2\nnan,4\n")
        try write("in.txt", "1,2\n")
        try write("x.idx.gz", "not really")
        try Self.writeNPY(dir.appendingPathComponent("three.npy"), shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let f = try HDF5File.create(dir.appendingPathComponent("three.h5").path)
        try f.root.writeFloats("samples", shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        try f.close()
        let n = try HDF5File.create(dir.appendingPathComponent("nan.h5").path)
        try n.root.writeFloats("samples", shape: [2, 2], values: [1, 2, .nan, 4])
        try n.close()
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("pngs"), withIntermediateDirectories: false)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub.csv"), withIntermediateDirectories: false)
        let before = try Self.listing(dir)

        let args = c.args.map { $0 == "CK" ? ck.path : $0.replacingOccurrences(of: "DIR/", with: dir.path + "/") }
        let r = try CLI.run(bin, args)
        #expect(r.status == c.status, "\(c.name): exit \(r.status), stderr: \(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(c.name): one line: \(r.stderr)")
        #expect(r.stderr.hasPrefix("gan-sample: "), "\(r.stderr)")
        #expect(r.stderr.contains(c.message), "\(c.name): \(r.stderr)")
        #expect(r.stdout.isEmpty, "\(c.name): nothing on stdout: \(r.stdout)")
        #expect(try Self.listing(dir) == before, "\(c.name): nothing written")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("no").path))
    }

    /// A failing write leaves nothing: an unwritable directory (skipped when running as root,
    /// which may write anywhere).
    @Test func unwritableDirectoryLeavesNothing() throws {
        let bin = try #require(sample)
        guard getuid() != 0 else { return }
        let dir = try makeTemporaryDirectory("sample-ro")
        let ck = try Self.makeCheckpoint(dir)
        let ro = dir.appendingPathComponent("ro")
        try FileManager.default.createDirectory(at: ro, withIntermediateDirectories: false)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: ro.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: ro.path) }
        for ext in ["csv", "npy", "h5"] {
            let r = try CLI.run(bin, ["generate", ck.path, "-o", ro.appendingPathComponent("s.\(ext)").path])
            #expect(r.status == 2 && r.stderr.split(separator: "\n").count == 1, "\(ext): \(r.stderr)")
        }
        #expect(try Self.listing(ro).isEmpty)
    }

    // MARK: - Image models: array formats (PNG and IDX: GANSampleImageTests)

    @Test func imageModelWritesArraysWithTheSampleShape() throws {
        let bin = try #require(sample)
        let dir = try makeTemporaryDirectory("sample-img")
        let ck = try Self.makeCheckpoint(dir, sampleShape: [1, 2, 2])
        let npy = dir.appendingPathComponent("s.npy"), h5 = dir.appendingPathComponent("s.h5")
        #expect(try CLI.run(bin, ["generate", ck.path, "-n", "5", "-o", npy.path]).status == 0)
        #expect(try CLI.run(bin, ["generate", ck.path, "-n", "5", "-o", h5.path]).status == 0)
        #expect(try Self.readNPY(npy).shape == [5, 1, 2, 2])
        let r = try Self.readH5(h5, dataset: "samples")
        #expect(r.shape == [5, 1, 2, 2])
        try r.file.close()
        for input in [npy, h5] {
            let s = try CLI.run(bin, ["score", ck.path, input.path])
            #expect(s.status == 0 && Self.scores(s).values.count == 5, "\(s.stderr)")
        }
    }

    @Test func helpDescribesTheCommands() throws {
        let bin = try #require(sample)
        for sub in ["generate", "score"] {
            let r = try CLI.run(bin, [sub, "--help"])
            #expect(r.status == 0)
            #expect(r.stdout.contains("Exit codes"))
        }
        let top = try CLI.run(bin, ["--help"])
        #expect(top.stdout.contains("generate") && top.stdout.contains("score") && top.stdout.contains("info"))
        for command in [[], ["generate"], ["score"], ["info"], ["serve"], ["export"]] {
            #expect(try CLI.helpProblems(bin, command) == [])
        }
    }
}
