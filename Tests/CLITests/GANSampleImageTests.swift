import Foundation
import GANHDF5
import GANTestSupport
import Testing
@_spi(Testing) import GANTensor

@Suite struct GANSampleImageTests {
    typealias F = ImageFixture

    // MARK: - Generate then score, every format

    @Test(arguments: ["idx", "idx.gz", "npy", "h5"])
    func arrayFormatsRoundTrip(_ ext: String) throws {
        let bin = try #require(F.binary, "build gan-sample first")
        let dir = try makeTemporaryDirectory("img-fmt")
        defer { try? FileManager.default.removeItem(at: dir) }
        let m = F.grey
        let ck = try F.makeCheckpoint(dir, m)
        let out = dir.appendingPathComponent("s.\(ext)")
        let g = try CLI.run(bin, ["generate", ck.path, "-n", "6", "--seed", "3", "-o", out.path])
        #expect(g.status == 0, "\(g.stderr)")
        #expect(try F.listing(dir) == ["ck.h5", "s.\(ext)"], "no temporary file left")
        let expected = try F.expectedSamples(ck, m, n: 6, seed: 3)

        // What the file holds, as data units, checked against the in-process generator.
        var held: [Float]
        switch ext {
        case "idx", "idx.gz":
            let raw = ext == "idx" ? try F.bytes(out) : try F.gunzip(out)
            if ext == "idx.gz" { #expect(Array(try F.bytes(out)[0..<2]) == [0x1f, 0x8b]) }
            let (shape, data) = F.parseIDX(raw)
            #expect(shape == [6, 28, 28])
            #expect(data == expected.map(F.byte))
            held = data.map { Float($0) / 255 }
        case "npy":
            let d = try F.bytes(out)
            let hlen = Int(d[8]) | Int(d[9]) << 8
            let header = String(decoding: d[10..<(10 + hlen)], as: UTF8.self)
            #expect(header.contains("'shape': (6, 1, 28, 28)"), "\(header)")
            held = stride(from: 10 + hlen, to: d.count, by: 4).map { i in
                Float(bitPattern: UInt32(d[i]) | UInt32(d[i + 1]) << 8 | UInt32(d[i + 2]) << 16 | UInt32(d[i + 3]) << 24)
            }
            #expect(F.close(held, expected))
        default:
            let f = try HDF5File.open(out.path)
            let (shape, values) = try f.root.readFloats("samples")
            try f.close()
            #expect(shape == [6, 1, 28, 28])
            #expect(F.close(values, expected))
            held = values
        }

        let s = try CLI.run(bin, ["score", ck.path, out.path, "--logits"])
        #expect(s.status == 0, "\(s.stderr)")
        #expect(s.stderr.contains("scored 6 rows"), "\(s.stderr)")
        #expect(F.close(F.scores(s), try F.expectedLogits(ck, m, held), tolerance: 1e-4), "\(ext): \(s.stdout)")
    }

    @Test func pngOfOneSampleIsTheBareImageAndScoresBack() throws {
        let bin = try #require(F.binary)
        let dir = try makeTemporaryDirectory("img-png1")
        defer { try? FileManager.default.removeItem(at: dir) }
        let m = F.grey
        let ck = try F.makeCheckpoint(dir, m)
        let png = dir.appendingPathComponent("one.png"), idx = dir.appendingPathComponent("one.idx")
        #expect(try CLI.run(bin, ["generate", ck.path, "-n", "1", "--seed", "9", "-o", png.path]).status == 0)
        #expect(try CLI.run(bin, ["generate", ck.path, "-n", "1", "--seed", "9", "-o", idx.path]).status == 0)
        let h = F.pngHeader(try F.bytes(png))
        #expect((h.width, h.height, h.depth, h.colorType) == (28, 28, 8, 0))

        let fromPNG = try CLI.run(bin, ["score", ck.path, png.path, "--logits"])
        let fromIDX = try CLI.run(bin, ["score", ck.path, idx.path, "--logits"])
        #expect(fromPNG.status == 0 && fromIDX.status == 0, "\(fromPNG.stderr) \(fromIDX.stderr)")
        #expect(F.scores(fromPNG).count == 1)
        #expect(F.scores(fromPNG) == F.scores(fromIDX), "the PNG holds the same bytes as the IDX")
        let bytes = F.parseIDX(try F.bytes(idx)).data
        #expect(F.close(F.scores(fromPNG), try F.expectedLogits(ck, m, bytes.map { Float($0) / 255 }), tolerance: 1e-4))
        // Probabilities are σ(logit).
        let p = try CLI.run(bin, ["score", ck.path, png.path])
        #expect(p.stdout.hasPrefix("score\n"))
        #expect(F.close(F.scores(p), F.scores(fromPNG).map(F.sigmoid)))
    }

    @Test func folderOfGeneratedPNGsScoresLikeEachFile() throws {
        let bin = try #require(F.binary)
        let dir = try makeTemporaryDirectory("img-folder")
        defer { try? FileManager.default.removeItem(at: dir) }
        let ck = try F.makeCheckpoint(dir, F.grey)
        let folder = dir.appendingPathComponent("pngs")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
        var single: [Float] = []
        for seed in [4, 1, 7] {  // file names sort as 1, 4, 7
            let f = folder.appendingPathComponent("s\(seed).png")
            #expect(try CLI.run(bin, ["generate", ck.path, "-n", "1", "--seed", "\(seed)", "-o", f.path]).status == 0)
        }
        try F.write(Array("not an image".utf8), folder.appendingPathComponent("README.txt"))
        for seed in [1, 4, 7] {
            single += F.scores(try CLI.run(bin, ["score", ck.path, folder.appendingPathComponent("s\(seed).png").path]))
        }
        let out = dir.appendingPathComponent("scores.csv")
        let r = try CLI.run(bin, ["score", ck.path, folder.path, "-o", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("scored 3 rows"))
        let text = try String(contentsOf: out, encoding: .utf8)
        #expect(text.split(separator: "\n").dropFirst().map { Float($0)! } == single)
    }

    /// Hand-made inputs (an IDX file, PNG files with stored deflate blocks, a Debian-style
    /// `*-idx3-ubyte.gz` name) score exactly as D on bytes / 255.
    @Test func foreignImagesScoreAsDOnBytesOver255() throws {
        let bin = try #require(F.binary)
        let dir = try makeTemporaryDirectory("img-foreign")
        defer { try? FileManager.default.removeItem(at: dir) }
        let m = F.grey
        let ck = try F.makeCheckpoint(dir, m)
        let images = F.pattern(3 * 784, seed: 1)
        let expected = try F.expectedLogits(ck, m, images.map { Float($0) / 255 })

        let idx = dir.appendingPathComponent("x.idx")
        try F.write(F.idx(shape: [3, 28, 28], data: images), idx)
        let idx4 = dir.appendingPathComponent("x4.idx")
        try F.write(F.idx(shape: [3, 1, 28, 28], data: images), idx4)
        // Debian's file names: gzip made by the system's gzip.
        let ubyte = dir.appendingPathComponent("t10k-images-idx3-ubyte.gz")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "gzip -c '\(idx.path)' > '\(ubyte.path)'"]
        try p.run()
        p.waitUntilExit()
        for input in [idx, idx4, ubyte] {
            let r = try CLI.run(bin, ["score", ck.path, input.path, "--logits"])
            #expect(r.status == 0, "\(input.lastPathComponent): \(r.stderr)")
            #expect(F.close(F.scores(r), expected, tolerance: 1e-4), "\(input.lastPathComponent)")
        }
        let pngs = dir.appendingPathComponent("pngs")
        try FileManager.default.createDirectory(at: pngs, withIntermediateDirectories: false)
        for i in 0..<3 {
            try F.write(F.png(chw: Array(images[(i * 784)..<((i + 1) * 784)]), channels: 1, height: 28, width: 28),
                        pngs.appendingPathComponent("img\(i).png"))
        }
        let one = try CLI.run(bin, ["score", ck.path, pngs.appendingPathComponent("img1.png").path, "--logits"])
        #expect(one.status == 0, "\(one.stderr)")
        #expect(F.close(F.scores(one), [expected[1]], tolerance: 1e-4))
        let all = try CLI.run(bin, ["score", ck.path, pngs.path, "--logits"])
        #expect(all.status == 0, "\(all.stderr)")
        #expect(F.close(F.scores(all), expected, tolerance: 1e-4))
    }

    @Test func rgbModelWritesAndReadsRGBImages() throws {
        let bin = try #require(F.binary)
        let dir = try makeTemporaryDirectory("img-rgb")
        defer { try? FileManager.default.removeItem(at: dir) }
        let m = F.rgb
        let ck = try F.makeCheckpoint(dir, m)
        let idx = dir.appendingPathComponent("s.idx"), png = dir.appendingPathComponent("s.png"), grid = dir.appendingPathComponent("g.png")
        #expect(try CLI.run(bin, ["generate", ck.path, "-n", "4", "-o", idx.path]).status == 0)
        #expect(try CLI.run(bin, ["generate", ck.path, "-n", "1", "-o", png.path]).status == 0)
        #expect(try CLI.run(bin, ["generate", ck.path, "-n", "4", "-o", grid.path]).status == 0)
        let (shape, data) = F.parseIDX(try F.bytes(idx))
        #expect(shape == [4, 3, 8, 8])
        #expect(data == (try F.expectedSamples(ck, m, n: 4, seed: 0)).map(F.byte))
        let h = F.pngHeader(try F.bytes(png))
        #expect((h.width, h.height, h.colorType) == (8, 8, 2))
        let gh = F.pngHeader(try F.bytes(grid))
        #expect((gh.width, gh.height, gh.colorType) == (2 * 8 + 3 * 2, 2 * 8 + 3 * 2, 2))

        // The tanh model normalises: model = 2 · (byte / 255) - 1.
        let s = try CLI.run(bin, ["score", ck.path, idx.path, "--logits"])
        #expect(s.status == 0, "\(s.stderr)")
        #expect(F.close(F.scores(s), try F.expectedLogits(ck, m, data.map { Float($0) / 255 }), tolerance: 1e-4))
        let one = try CLI.run(bin, ["score", ck.path, png.path, "--logits"])
        #expect(F.close(F.scores(one), [F.scores(s)[0]]), "a batch of 1 may differ in the last bits")

        // A hand-made RGB PNG reads planar.
        let chw = F.pattern(3 * 64, seed: 5)
        let mine = dir.appendingPathComponent("mine.png")
        try F.write(F.png(chw: chw, channels: 3, height: 8, width: 8), mine)
        let r = try CLI.run(bin, ["score", ck.path, mine.path, "--logits"])
        #expect(F.close(F.scores(r), try F.expectedLogits(ck, m, chw.map { Float($0) / 255 }), tolerance: 1e-4))
    }

    /// The Fashion-MNIST test images (Debian's dataset-fashion-mnist), when installed.
    @Test func scoresTheFashionMNISTTestFileWhenInstalled() throws {
        let bin = try #require(F.binary)
        let dir = (ProcessInfo.processInfo.environment["FASHION_MNIST_DIR"] ?? "/usr/share/datasets/fashion-mnist")
        let file = URL(fileURLWithPath: dir + "/t10k-images-idx3-ubyte.gz")
        guard FileManager.default.fileExists(atPath: file.path) else { return }
        let tmp = try makeTemporaryDirectory("img-fashion")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let m = F.grey
        let ck = try F.makeCheckpoint(tmp, m)
        let out = tmp.appendingPathComponent("scores.npy")
        let r = try CLI.run(bin, ["score", ck.path, file.path, "--logits", "-o", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("scored 10000 rows"), "\(r.stderr)")
        let d = try F.bytes(out)
        let hlen = Int(d[8]) | Int(d[9]) << 8
        let logits = stride(from: 10 + hlen, to: d.count, by: 4).map { i in
            Float(bitPattern: UInt32(d[i]) | UInt32(d[i + 1]) << 8 | UInt32(d[i + 2]) << 16 | UInt32(d[i + 3]) << 24)
        }
        #expect(logits.count == 10000)
        let (shape, images) = F.parseIDX(try F.gunzip(file))
        #expect(shape == [10000, 28, 28])
        let first = try F.expectedLogits(ck, m, images[0..<(16 * 784)].map { Float($0) / 255 })
        #expect(F.close(Array(logits[0..<16]), first, tolerance: 1e-4))
    }

    // MARK: - Grid

    @Test func gridDimensions() throws {
        let bin = try #require(F.binary)
        let dir = try makeTemporaryDirectory("img-grid")
        defer { try? FileManager.default.removeItem(at: dir) }
        let ck = try F.makeCheckpoint(dir, F.grey)
        func size(_ args: [String]) throws -> (Int, Int) {
            let out = dir.appendingPathComponent("g.png")
            let r = try CLI.run(bin, ["generate", ck.path] + args + ["-o", out.path])
            #expect(r.status == 0, "\(args): \(r.stderr)")
            let h = F.pngHeader(try F.bytes(out))
            #expect(h.depth == 8 && h.colorType == 0)
            return (h.width, h.height)
        }
        // 28 px tiles, 2 px padding between and around.
        #expect(try size(["-n", "10", "--grid", "2x5"]) == (5 * 28 + 6 * 2, 2 * 28 + 3 * 2))
        #expect(try size(["-n", "10", "--grid", "5x2"]) == (2 * 28 + 3 * 2, 5 * 28 + 6 * 2))
        #expect(try size(["-n", "3", "--grid", "1X3"]) == (3 * 28 + 4 * 2, 28 + 2 * 2))
        #expect(try size(["-n", "10", "--grid", "4x4"]) == (4 * 28 + 5 * 2, 4 * 28 + 5 * 2))
        #expect(try size(["-n", "10"]) == (4 * 28 + 5 * 2, 3 * 28 + 4 * 2), "near-square: 3 rows of 4")
        #expect(try size(["-n", "64"]) == (8 * 28 + 9 * 2, 8 * 28 + 9 * 2))
        #expect(try size(["-n", "1", "--grid", "1x1"]) == (28, 28))
        #expect(try size(["-n", "2"]) == (2 * 28 + 3 * 2, 28 + 2 * 2))
    }

    @Test(arguments: [
        (["-n", "10", "--grid", "2x3"], "--grid 2x3 has 6 cells for 10 samples"),
        (["-n", "4", "--grid", "0x4"], "--grid must be ROWSxCOLUMNS"),
        (["-n", "4", "--grid", "2by2"], "--grid must be ROWSxCOLUMNS"),
        (["-n", "4", "--grid", "2x2", "-o", "IDX"], "--grid applies to PNG output only"),
    ])
    func badGridIsAMalformedCommandLine(_ c: ([String], String)) throws {
        let bin = try #require(F.binary)
        let dir = try makeTemporaryDirectory("img-badgrid")
        defer { try? FileManager.default.removeItem(at: dir) }
        let ck = try F.makeCheckpoint(dir, F.grey)
        var args = ["generate", ck.path] + c.0
        if let i = args.firstIndex(of: "IDX") { args[i] = dir.appendingPathComponent("x.idx").path } else { args += ["-o", dir.appendingPathComponent("g.png").path] }
        let r = try CLI.run(bin, args)
        #expect(r.status == 64, "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.contains(c.1), "\(r.stderr)")
        #expect(try F.listing(dir) == ["ck.h5"])
    }

    // MARK: - Determinism

    @Test(arguments: ["png", "idx", "idx.gz"])
    func sameSeedSameBytes(_ ext: String) throws {
        let bin = try #require(F.binary)
        let dir = try makeTemporaryDirectory("img-det")
        defer { try? FileManager.default.removeItem(at: dir) }
        let ck = try F.makeCheckpoint(dir, F.grey)
        func run(_ name: String, _ seed: Int) throws -> [UInt8] {
            let out = dir.appendingPathComponent("\(name).\(ext)")
            let r = try CLI.run(bin, ["generate", ck.path, "-n", "12", "--seed", "\(seed)", "-o", out.path])
            #expect(r.status == 0, "\(r.stderr)")
            return try F.bytes(out)
        }
        let a = try run("a", 5), b = try run("b", 5), c = try run("c", 6)
        #expect(a == b, "same checkpoint + seed => identical bytes")
        #expect(a != c, "another seed differs")
    }

    // MARK: - Bad inputs

    struct BadInput: CustomTestStringConvertible, Sendable {
        var name: String
        /// File (or folder) under test, relative to the temporary directory.
        var input: String
        var message: String
        var testDescription: String { name }
    }

    static let badInputs: [BadInput] = [
        BadInput(name: "PNG of the wrong size", input: "wide.png",
                 message: "wide.png: the image is grey 30x28 (shape [1, 28, 30]), the discriminator expects grey 28x28 (shape [1, 28, 28])"),
        BadInput(name: "RGB PNG for a grey model", input: "colour.png",
                 message: "colour.png: the image is RGB 28x28 (shape [3, 28, 28]), the discriminator expects grey 28x28 (shape [1, 28, 28])"),
        BadInput(name: "not a PNG", input: "text.png", message: "text.png: not a PNG file"),
        BadInput(name: "truncated PNG", input: "cut.png", message: "cut.png: truncated PNG"),
        BadInput(name: "interlaced PNG", input: "interlaced.png", message: "interlaced.png: unsupported PNG: interlaced (Adam7)"),
        BadInput(name: "IDX with the wrong magic", input: "magic.idx", message: "magic.idx: not an IDX file: magic starts with 0x1f00, expected 0x0000"),
        BadInput(name: "truncated IDX", input: "short.idx", message: "short.idx: IDX dimensions [2, 28, 28] need 1568 data bytes, found 1000 (truncated file)"),
        BadInput(name: "truncated gzip IDX", input: "short-images-idx3-ubyte.gz", message: "short-images-idx3-ubyte.gz: "),
        BadInput(name: "IDX images of the wrong size", input: "small.idx",
                 message: "small.idx: the IDX array of shape [2, 27, 28] holds images of shape [27, 28], the discriminator expects grey 28x28"),
        BadInput(name: "IDX label file", input: "labels.idx", message: "labels.idx: the IDX array of shape [5] is not an image array"),
        BadInput(name: "folder with mixed sizes", input: "mixed/b.png",
                 message: "b.png: grey 28x27 (shape [1, 27, 28]), but a.png is grey 28x28 (shape [1, 28, 28])"),
        BadInput(name: "folder of the wrong size", input: "small",
                 message: "small: the images are grey 27x27 (shape [1, 27, 27]), the discriminator expects grey 28x28"),
        BadInput(name: "folder without PNGs", input: "empty", message: "empty: no .png files in the directory"),
        BadInput(name: "missing file", input: "missing.idx", message: "missing.idx: no such file"),
    ]

    @Test(arguments: badInputs)
    func badInputIsOneLineExit2AndWritesNothing(_ c: BadInput) throws {
        let bin = try #require(F.binary)
        let dir = try makeTemporaryDirectory("img-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let ck = try F.makeCheckpoint(dir, F.grey)
        func url(_ name: String) -> URL { dir.appendingPathComponent(name) }
        func mkdir(_ name: String) throws { try FileManager.default.createDirectory(at: url(name), withIntermediateDirectories: false) }
        let image = F.pattern(784, seed: 2)
        try F.write(F.png(chw: F.pattern(28 * 30, seed: 1), channels: 1, height: 28, width: 30), url("wide.png"))
        try F.write(F.png(chw: F.pattern(3 * 784, seed: 1), channels: 3, height: 28, width: 28), url("colour.png"))
        try F.write(Array("P2 28 28 255".utf8), url("text.png"))
        let good = F.png(chw: image, channels: 1, height: 28, width: 28)
        try F.write(Array(good[0..<(good.count / 2)]), url("cut.png"))
        try F.write(F.png(chw: image, channels: 1, height: 28, width: 28, interlace: 1), url("interlaced.png"))
        var magic = F.idx(shape: [1, 28, 28], data: image)
        magic[0] = 0x1f
        try F.write(magic, url("magic.idx"))
        try F.write(F.idx(shape: [2, 28, 28], data: Array(F.pattern(1000, seed: 3))), url("short.idx"))
        try F.write(F.idx(shape: [2, 27, 28], data: F.pattern(2 * 27 * 28, seed: 3)), url("small.idx"))
        try F.write(F.idx(shape: [5], data: [1, 2, 3, 4, 5]), url("labels.idx"))
        // A gzip stream cut in the middle.
        try F.write(F.idx(shape: [20, 28, 28], data: F.pattern(20 * 784, seed: 4)), url("full.idx"))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "gzip -c '\(url("full.idx").path)' > '\(url("full.idx.gz").path)'"]
        try p.run()
        p.waitUntilExit()
        let gz = try F.bytes(url("full.idx.gz"))
        try F.write(Array(gz[0..<(gz.count / 2)]), url("short-images-idx3-ubyte.gz"))
        try mkdir("mixed")
        try F.write(good, url("mixed/a.png"))
        try F.write(F.png(chw: F.pattern(27 * 28, seed: 1), channels: 1, height: 27, width: 28), url("mixed/b.png"))
        try F.write(good, url("mixed/c.png"))
        try mkdir("small")
        try F.write(F.png(chw: F.pattern(27 * 27, seed: 1), channels: 1, height: 27, width: 27), url("small/a.png"))
        try mkdir("empty")
        try F.write([1, 2, 3], url("empty/notes.txt"))
        let before = try F.listing(dir)

        // The input: a folder case names the folder (mixed/b.png -> mixed).
        let input = c.input.contains("/") ? String(c.input.split(separator: "/")[0]) : c.input
        for output in [nil, "scores.csv"] as [String?] {
            var args = ["score", ck.path, url(input).path]
            if let output { args += ["-o", url(output).path] }
            let r = try CLI.run(bin, args)
            #expect(r.status == 2, "\(c.name): exit \(r.status), \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(c.name): one line: \(r.stderr)")
            #expect(r.stderr.hasPrefix("gan-sample: \(dir.path)/"), "\(c.name): names the file: \(r.stderr)")
            #expect(r.stderr.contains(c.message), "\(c.name): \(r.stderr)")
            #expect(r.stdout.isEmpty, "\(c.name): \(r.stdout)")
            #expect(try F.listing(dir) == before, "\(c.name): nothing written")
        }
    }

    /// Output problems of the image formats: nothing is written, one line, exit 2.
    @Test func badImageOutputs() throws {
        let bin = try #require(F.binary)
        let dir = try makeTemporaryDirectory("img-badout")
        defer { try? FileManager.default.removeItem(at: dir) }
        let ck = try F.makeCheckpoint(dir, F.grey)
        let four = try F.makeCheckpoint(dir, ImageFixture.Model(shape: [4, 2, 2], scale: 1, offset: 0, z: 8), name: "four.h5")
        let cases: [([String], String)] = [
            (["generate", ck.path, "-o", dir.appendingPathComponent("no/x.png").path], "no/x.png: cannot write: directory"),
            (["generate", ck.path, "-o", dir.appendingPathComponent("no/x.idx.gz").path], "no/x.idx.gz: cannot write: directory"),
            (["generate", four.path, "-o", dir.appendingPathComponent("x.png").path],
             "x.png: PNG output needs grey (1-channel) or RGB (3-channel) samples, this checkpoint's have shape [4, 2, 2]"),
            (["score", ck.path, ck.path, "-o", dir.appendingPathComponent("s.idx").path], "s.idx: IDX output is not available here"),
            (["score", ck.path, dir.appendingPathComponent("x.bmp").path], "unsupported input format"),
        ]
        try F.write([0], dir.appendingPathComponent("x.bmp"))
        let before = try F.listing(dir)
        for (args, message) in cases {
            let r = try CLI.run(bin, args)
            #expect(r.status == 2, "\(args): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.contains(message), "\(r.stderr)")
            #expect(try F.listing(dir) == before)
        }
        // A four-channel model still writes IDX, as [N, C, H, W].
        let idx = dir.appendingPathComponent("four.idx")
        #expect(try CLI.run(bin, ["generate", four.path, "-n", "3", "-o", idx.path]).status == 0)
        #expect(F.parseIDX(try F.bytes(idx)).shape == [3, 4, 2, 2])
        let s = try CLI.run(bin, ["score", four.path, idx.path])
        #expect(s.status == 0 && F.scores(s).count == 3, "\(s.stderr)")
    }
}
