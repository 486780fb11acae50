import Foundation
import GANCheckpoint
import GANNN
import GANTestSupport
import Testing
@_spi(Testing) import GANTensor

/// `gan-sample export` and the serving options it relies on, without Python: refusals are one
/// line with exit 2 (64 for a malformed command line) and write nothing, `generate --noise`
/// serves the given z, and `score --packs` packs rows for a PacGAN discriminator.
@Suite struct ExportCommandTests {
    let sample = CLI.binary("gan-sample")
    typealias Fixtures = GANSampleGenerateScoreTests

    /// A checkpoint whose D packs 2 samples (`train.pack: 2` in the stored configuration) and whose
    /// D starts with a linear layer on an unflattened [1, 2, 2] sample after a convolution.
    static func packedCheckpoint(_ dir: URL) throws -> URL {
        var rng = RNG(seed: 31, stream: .initialization)
        let g = Sequential(Linear(3, 8, rng: &rng), ReLU(), Linear(8, 2, rng: &rng))
        let d = Sequential(Linear(4, 8, rng: &rng), LeakyReLU(alpha: 0.2), Linear(8, 1, rng: &rng))
        var c = TrainingCheckpoint(stage: .train, step: 9, data: DataDescription(sampleShape: [2], scale: 0.5, offset: -1, noiseDimension: 3),
                                   networks: [NetworkEntry("generator", g), NetworkEntry("discriminator", d)])
        c.config = "train:\n  pack: 2\n"
        c.rngs = [("noise", RNG(seed: 1))]
        let url = dir.appendingPathComponent("packed.h5")
        try c.write(to: url.path)
        return url
    }

    static func unflattenedCheckpoint(_ dir: URL) throws -> URL {
        var rng = RNG(seed: 32, stream: .initialization)
        let g = Sequential(Linear(3, 4, rng: &rng), Reshape([1, 2, 2]), Conv2d(1, 1, kernel: 1), Linear(4, 4, rng: &rng))
        let d = Sequential(Linear(4, 1, rng: &rng))
        let c = TrainingCheckpoint(stage: .train, step: 1, data: DataDescription(sampleShape: [1, 2, 2], noiseDimension: 3),
                                   networks: [NetworkEntry("generator", g), NetworkEntry("discriminator", d)])
        let url = dir.appendingPathComponent("unflattened.h5")
        try c.write(to: url.path)
        return url
    }

    /// Arguments as in the generate/score table, plus "PACKED" (the packed checkpoint) and "FLAT"
    /// (the unflattened one).
    typealias BadCase = GANSampleGenerateScoreTests.BadCase

    static let badCases: [BadCase] = [
        BadCase(name: "unknown extension", args: ["export", "CK", "-o", "DIR/g.pt"], status: 2,
                message: "g.pt: unsupported export format (\".pt\"): use FILE.onnx or FILE.safetensors"),
        BadCase(name: "no extension", args: ["export", "CK", "-o", "DIR/model"], status: 2, message: "use FILE.onnx or FILE.safetensors"),
        BadCase(name: "standard output", args: ["export", "CK", "-o", "-"], status: 2, message: "use FILE.onnx or FILE.safetensors"),
        BadCase(name: "missing directory", args: ["export", "CK", "-o", "DIR/no/g.onnx"], status: 2, message: "does not exist"),
        BadCase(name: "output is a directory", args: ["export", "CK", "-o", "DIR/sub.onnx"], status: 2, message: "it is a directory"),
        BadCase(name: "missing checkpoint", args: ["export", "DIR/nope.h5", "-o", "DIR/g.onnx"], status: 2, message: "nope.h5"),
        BadCase(name: "opset too old", args: ["export", "CK", "--opset", "12", "-o", "DIR/g.onnx"], status: 64, message: "--opset must be in 13...21, got 12"),
        BadCase(name: "opset for safetensors", args: ["export", "CK", "--opset", "17", "-o", "DIR/g.safetensors"], status: 64,
                message: "--opset applies to ONNX output"),
        BadCase(name: "raw discriminator", args: ["export", "CK", "--network", "d", "--raw", "-o", "DIR/d.onnx"], status: 64,
                message: "--raw applies to the generator"),
        BadCase(name: "unknown network", args: ["export", "CK", "--network", "x", "-o", "DIR/d.onnx"], status: 64, message: "--network"),
        BadCase(name: "linear on an unflattened sample in PyTorch", args: ["export", "FLAT", "-o", "DIR/g.safetensors"], status: 2,
                message: "/generator/3_linear: takes a [1, 2, 2] sample, which PyTorch's nn.Linear would not flatten"),
        BadCase(name: "noise of the wrong width", args: ["generate", "CK", "--noise", "DIR/z4.npy", "-o", "DIR/s.npy"], status: 2,
                message: "z4.npy: shape [2, 4], expected [N, 3]"),
        BadCase(name: "-n differs from the noise rows", args: ["generate", "CK", "--noise", "DIR/z3.npy", "-n", "5", "-o", "DIR/s.npy"],
                status: 2, message: "-n 5 differs from the 2 rows of --noise"),
        BadCase(name: "noise with a seed", args: ["generate", "CK", "--noise", "DIR/z3.npy", "--seed", "1", "-o", "DIR/s.npy"], status: 64,
                message: "--seed has no effect with --noise"),
        BadCase(name: "missing noise file", args: ["generate", "CK", "--noise", "DIR/none.npy", "-o", "DIR/s.npy"], status: 2,
                message: "none.npy"),
        BadCase(name: "odd rows for a packed D", args: ["score", "PACKED", "DIR/three-rows.npy", "--packs", "-o", "DIR/s.csv"], status: 2,
                message: "3 rows, not a multiple of the packing degree 2"),
        BadCase(name: "packed D without --packs", args: ["score", "PACKED", "DIR/three-rows.npy", "-o", "DIR/s.csv"], status: 2,
                message: "/discriminator: cannot take a sample of shape [2] (2 values)"),
    ]

    @Test(arguments: badCases)
    func badExportsAreOneLineAndWriteNothing(_ c: BadCase) throws {
        let bin = try #require(sample)
        let dir = try makeTemporaryDirectory("export-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let ck = try Fixtures.makeCheckpoint(dir), packed = try Self.packedCheckpoint(dir), flat = try Self.unflattenedCheckpoint(dir)
        try Fixtures.writeNPY(dir.appendingPathComponent("z4.npy"), shape: [2, 4], values: Array(repeating: 0.5, count: 8))
        try Fixtures.writeNPY(dir.appendingPathComponent("z3.npy"), shape: [2, 3], values: Array(repeating: 0.5, count: 6))
        try Fixtures.writeNPY(dir.appendingPathComponent("three-rows.npy"), shape: [3, 2], values: [1, 2, 3, 4, 5, 6])
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub.onnx"), withIntermediateDirectories: false)
        let before = try Fixtures.listing(dir)
        let args = c.args.map {
            switch $0 {
            case "CK": ck.path
            case "PACKED": packed.path
            case "FLAT": flat.path
            default: $0.replacingOccurrences(of: "DIR/", with: dir.path + "/")
            }
        }
        let r = try CLI.run(bin, args)
        #expect(r.status == c.status, "\(c.name): exit \(r.status), stderr: \(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.hasPrefix("gan-sample: "), "\(c.name): one line: \(r.stderr)")
        #expect(r.stderr.contains(c.message), "\(c.name): \(r.stderr)")
        #expect(try Fixtures.listing(dir) == before, "\(c.name): nothing written")
    }

    @Test func generateServesTheGivenNoiseOneSamplePerRow() throws {
        let bin = try #require(sample)
        let dir = try makeTemporaryDirectory("export-noise")
        defer { try? FileManager.default.removeItem(at: dir) }
        let ck = try Fixtures.makeCheckpoint(dir)
        let z = randomTensor([5, 3], seed: 4)
        try Fixtures.writeNPY(dir.appendingPathComponent("z.npy"), shape: [5, 3], values: z.array)
        for extra in [[], ["-n", "5"], ["--batch", "2"]] {
            let out = dir.appendingPathComponent("s.npy")
            let r = try CLI.run(bin, ["generate", ck.path, "--noise", dir.appendingPathComponent("z.npy").path, "-o", out.path] + extra)
            #expect(r.status == 0, "\(extra): \(r.stderr)")
            let g = try CheckpointReader(path: ck.path).buildNetwork("generator")
            let want = g.forward(z, training: false).array.map { ($0 - Fixtures.offset) / Fixtures.scale }
            let got = try Fixtures.readNPY(out)
            #expect(got.shape == [5, 2])
            #expect(Fixtures.close(got.values, want, tolerance: 1e-6), "\(extra)")
        }
    }

    @Test func scoreJudgesPacksOfConsecutiveRows() throws {
        let bin = try #require(sample)
        let dir = try makeTemporaryDirectory("export-pack")
        defer { try? FileManager.default.removeItem(at: dir) }
        let ck = try Self.packedCheckpoint(dir)
        let rows: [Float] = [1, 2, 3, 4, 5, 6, 7, 8]   // 4 samples of 2 values = 2 packs of 4
        try Fixtures.writeNPY(dir.appendingPathComponent("x.npy"), shape: [4, 2], values: rows)
        let r = try CLI.run(bin, ["score", ck.path, dir.appendingPathComponent("x.npy").path, "--logits", "--packs"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("packs of 2 consecutive rows"))
        let got = Fixtures.parseCSV(r.stdout).rows.map { $0[0] }
        let want = try Fixtures.expectedLogits(ck, rows: rows, features: 4)
        #expect(got.count == 2 && Fixtures.close(got, want), "\(got) vs \(want)")
    }

    @Test func exportWritesBothFormatsAndSaysWhat() throws {
        let bin = try #require(sample)
        let dir = try makeTemporaryDirectory("export-ok")
        defer { try? FileManager.default.removeItem(at: dir) }
        let ck = try Self.packedCheckpoint(dir)
        for (network, file) in [("g", "g.onnx"), ("d", "d.onnx"), ("g", "g.safetensors"), ("d", "d.safetensors")] {
            let out = dir.appendingPathComponent(file)
            let r = try CLI.run(bin, ["export", ck.path, "--network", network, "-o", out.path])
            #expect(r.status == 0 && r.stderr.contains("wrote \(out.path): /\(network == "g" ? "generator" : "discriminator")"), "\(r.stderr)")
            let size = try FileManager.default.attributesOfItem(atPath: out.path)[.size] as? Int ?? 0
            #expect(size > 200, "\(file): \(size) bytes")
        }
        // The safetensors header says the discriminator packs 2 samples.
        let st = try Data(contentsOf: dir.appendingPathComponent("d.safetensors"))
        let n = Int(st.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        #expect(String(decoding: st.subdata(in: 8..<(8 + n)), as: UTF8.self).contains("\"pack\": \"2\""))
        let help = try CLI.run(bin, ["export", "--help"])
        #expect(help.status == 0 && help.stdout.contains("--opset") && help.stdout.contains("safetensors"))
    }
}
