import Foundation
import GANCheckpoint
import GANNN
import Testing
@_spi(Testing) import GANTensor

/// Fixtures and small independent readers/writers for the image-format tests of `gan-sample`
/// (the CLI test target has neither GANData nor GANPlot, so the checks here do not share code
/// with what they check).
enum ImageFixture {
    /// The `gan-sample` to test: `$GAN_SAMPLE` if set, else the one built next to this test
    /// bundle (same build, same sources), else `CLI.binary` (`.build/release`, `.build/debug`).
    static let binary: URL? = {
        let fm = FileManager.default
        if let p = ProcessInfo.processInfo.environment["GAN_SAMPLE"], fm.isExecutableFile(atPath: p) { return URL(fileURLWithPath: p) }
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let sibling = me.deletingLastPathComponent().appendingPathComponent("gan-sample")
        if fm.isExecutableFile(atPath: sibling.path) { return sibling }
        return CLI.binary("gan-sample")
    }()

    struct Model {
        var shape: [Int]  // [C, H, W]
        var scale: Float
        var offset: Float
        var z: Int
        var features: Int { shape.reduce(1, *) }
    }

    /// Grey 28x28 with a sigmoid G: model units are data units (scale 1, offset 0).
    static let grey = Model(shape: [1, 28, 28], scale: 1, offset: 0, z: 8)
    /// RGB 8x8 with a tanh G: model = 2 · data - 1.
    static let rgb = Model(shape: [3, 8, 8], scale: 2, offset: -1, z: 8)

    /// A checkpoint for `m`: G z -> 16 -> C·H·W (sigmoid, or tanh when offset is -1), D C·H·W -> 16 -> 1.
    @discardableResult
    static func makeCheckpoint(_ dir: URL, _ m: Model, name: String = "ck.h5") throws -> URL {
        var rng = RNG(seed: 23, stream: .initialization)
        let f = m.features
        let out: any Layer = m.offset == -1 ? Tanh() : Sigmoid()
        let g = Sequential(Linear(m.z, 16, rng: &rng), LeakyReLU(alpha: 0.2), Linear(16, f, rng: &rng), out)
        let d = Sequential(Linear(f, 16, rng: &rng), LeakyReLU(alpha: 0.2), Linear(16, 1, rng: &rng))
        var c = TrainingCheckpoint(stage: .train, step: 5,
                                   data: DataDescription(sampleShape: m.shape, scale: m.scale, offset: m.offset,
                                                         noiseDimension: m.z, noisePrior: .normal(mean: 0, std: 1)),
                                   networks: [NetworkEntry("generator", g), NetworkEntry("discriminator", d)])
        c.rngs = [("noise", RNG(seed: 1))]
        let url = dir.appendingPathComponent(name)
        try c.write(to: url.path)
        return url
    }

    /// What `generate --seed seed -n n` computes, in data units (n · z must be even: the z stream
    /// is then one `fillNormal`).
    static func expectedSamples(_ ck: URL, _ m: Model, n: Int, seed: UInt64) throws -> [Float] {
        let g = try CheckpointReader(path: ck.path).buildNetwork("generator")
        var rng = RNG(seed: seed, stream: .sample)
        let z = Tensor(shape: [n, m.z])
        rng.fillNormal(z)
        return g.forward(z, training: false).array.map { ($0 - m.offset) / m.scale }
    }

    /// D's logits on samples in data units.
    static func expectedLogits(_ ck: URL, _ m: Model, _ values: [Float]) throws -> [Float] {
        let d = try CheckpointReader(path: ck.path).buildNetwork("discriminator")
        let x = Tensor(shape: [values.count / m.features, m.features], values: values.map { m.scale * $0 + m.offset })
        return d.forward(x, training: false).array
    }

    static func byte(_ v: Float) -> UInt8 { v.isNaN ? 0 : UInt8((min(max(v, 0), 1) * 255).rounded()) }
    static func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }

    static func close(_ a: [Float], _ b: [Float], tolerance: Float = 1e-5) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * (1 + abs($1)) }
    }

    // MARK: - Files

    static func bytes(_ url: URL) throws -> [UInt8] { [UInt8](try Data(contentsOf: url)) }
    static func write(_ bytes: [UInt8], _ url: URL) throws { try Data(bytes).write(to: url) }
    static func listing(_ dir: URL) throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() }

    /// `gzip -dc FILE` (the system's gzip, independent of the code under test).
    static func gunzip(_ url: URL) throws -> [UInt8] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "gzip -dc '\(url.path)'"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "gzip -dc \(url.path)")
        return [UInt8](data)
    }

    static func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
    static func be32(_ b: [UInt8], _ o: Int) -> Int { Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3]) }

    /// IDX bytes: 00 00 08 NDIM, big-endian dimensions, data.
    static func idx(shape: [Int], data: [UInt8]) -> [UInt8] { [0, 0, 8, UInt8(shape.count)] + shape.flatMap { be32($0) } + data }

    /// Parses IDX bytes (uint8 only).
    static func parseIDX(_ b: [UInt8]) -> (shape: [Int], data: [UInt8]) {
        #expect(b.count >= 4 && b[0] == 0 && b[1] == 0 && b[2] == 8)
        let n = Int(b[3])
        let shape = (0..<n).map { be32(b, 4 + 4 * $0) }
        return (shape, Array(b[(4 + 4 * n)...]))
    }

    /// PNG header facts: (width, height, bit depth, colour type).
    static func pngHeader(_ b: [UInt8]) -> (width: Int, height: Int, depth: Int, colorType: Int) {
        #expect(Array(b[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(String(decoding: b[12..<16], as: UTF8.self) == "IHDR")
        return (be32(b, 16), be32(b, 20), Int(b[24]), Int(b[25]))
    }

    // A PNG encoder with stored (uncompressed) deflate blocks and its own CRC-32 and Adler-32,
    // for hand-made inputs.

    static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ b: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for x in b { c = crcTable[Int((c ^ UInt32(x)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let td = Array(type.utf8) + data
        return be32(data.count) + td + be32(Int(crc32(td)))
    }

    static func storedZlib(_ raw: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var o = 0
        repeat {
            let n = min(65535, raw.count - o)
            let final: UInt8 = o + n == raw.count ? 1 : 0
            out += [final, UInt8(n & 255), UInt8(n >> 8), UInt8(~n & 255), UInt8(~n >> 8 & 255)]
            out += raw[o..<(o + n)]
            o += n
        } while o < raw.count
        var a: UInt32 = 1, b: UInt32 = 0
        for x in raw { a = (a + UInt32(x)) % 65521; b = (b + a) % 65521 }
        return out + be32(Int(b << 16 | a))
    }

    /// An 8-bit PNG from CHW bytes (channels 1 grey, 3 RGB); filter 0; `interlace` sets the flag only.
    static func png(chw: [UInt8], channels c: Int, height h: Int, width w: Int, interlace: UInt8 = 0) -> [UInt8] {
        var raw: [UInt8] = []
        for y in 0..<h {
            raw.append(0)
            for x in 0..<w { for k in 0..<c { raw.append(chw[k * h * w + y * w + x]) } }
        }
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            + chunk("IHDR", be32(w) + be32(h) + [8, c == 1 ? 0 : 2, 0, 0, interlace])
            + chunk("IDAT", storedZlib(raw)) + chunk("IEND", [])
    }

    static func pattern(_ n: Int, seed: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ seed &* 101 &+ $0 / 5) } }

    /// Scores from `score` CSV on standard output.
    static func scores(_ r: CommandResult) -> [Float] {
        r.stdout.split(whereSeparator: \.isNewline).dropFirst().map { Float($0)! }
    }
}
