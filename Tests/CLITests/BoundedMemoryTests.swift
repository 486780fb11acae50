import CZlib
import Foundation
import GANTestSupport
import Testing

/// Bounded memory on every input: a compressed input is inflated as a stream and refused as soon
/// as it runs past what its header declares, and a header that declares more than any file holds
/// is a one-line error, never a trap (issue 20: a 1 MB `.idx.gz` declaring one image but inflating
/// to 1 GB took 1.09 GB and 3 s; a 42-dimension IDX header overflowed and crashed).
@Suite("Bounded memory: bombs and hostile headers")
struct BoundedMemoryTests {
    /// A gzip file whose stream is `head` followed by zero bytes up to `inflatedSize` (CRC and
    /// length in the trailer right: `gzip -t` accepts it), about 1/1000 of that on disk: one
    /// compressed MiB of zeros, written again and again.
    static func writeGzipBomb(_ path: String, head: [UInt8], inflatedSize: Int) throws {
        var z = z_stream()
        guard deflateInit2_(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw POSIXError(.EINVAL)
        }
        defer { deflateEnd(&z) }
        func deflated(_ input: [UInt8], _ flush: Int32) -> [UInt8] {
            var input = input, out = [UInt8](repeating: 0, count: input.count / 2 + 4096)
            var n = 0
            input.withUnsafeMutableBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    z.next_in = src.baseAddress
                    z.avail_in = uInt(src.count)
                    z.next_out = dst.baseAddress
                    z.avail_out = uInt(dst.count)
                    _ = deflate(&z, flush)
                    n = dst.count - Int(z.avail_out)
                }
            }
            return Array(out[..<n])
        }
        let block = [UInt8](repeating: 0, count: 1 << 20)
        let start = deflated(head, Z_FULL_FLUSH), repeated = deflated(block, Z_FULL_FLUSH)
        let blocks = (inflatedSize - head.count) / block.count
        var crc = head.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
        let blockCRC = block.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
        for _ in 0..<blocks { crc = crc32_combine(crc, blockCRC, block.count) }
        let size = UInt32(truncatingIfNeeded: head.count + blocks * block.count)
        var file: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3] + start
        file.reserveCapacity(file.count + blocks * repeated.count + 16)
        for _ in 0..<blocks { file += repeated }
        file += deflated([], Z_FINISH)
        for v in [UInt32(truncatingIfNeeded: crc), size] { file += (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        try Data(file).write(to: URL(fileURLWithPath: path))
    }

    /// An IDX header `00 00 08 NDIM` with big-endian dimensions.
    static func idxHeader(_ shape: [Int]) -> [UInt8] {
        [0, 0, 8, UInt8(shape.count)] + shape.flatMap { d in (0..<4).reversed().map { UInt8(truncatingIfNeeded: d >> (8 * $0)) } }
    }

    /// Runs a command under GNU time (`make deps` installs it) for its peak RSS: the child's own
    /// `ru_maxrss` would start at the test runner's (a spawned child shares its memory until exec).
    static func measured(_ executable: String, _ arguments: [String], in dir: TempDir) throws -> (code: Int32, stderr: String, kilobytes: Int?) {
        guard let time = ["/usr/bin/time"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            let child = try Child(executable, arguments)
            return (child.exitCode, child.errorOutput(), nil)
        }
        let report = dir.path("time-\(UUID().uuidString)")
        let child = try Child(time, ["-o", report, "-f", "%M", executable] + arguments)
        let code = child.exitCode
        let kilobytes = (try? String(contentsOfFile: report, encoding: .utf8))?.split(separator: "\n").last.flatMap { Int($0) }
        return (code, child.errorOutput(), kilobytes)
    }

    /// A grey PNG whose header declares `width` x `height` over a few bytes of image data.
    static func pngDeclaring(width: Int, height: Int) -> [UInt8] {
        func be32(_ v: Int) -> [UInt8] { (0..<4).reversed().map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
            let typed = Array(type.utf8) + body
            let crc = typed.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
            return be32(body.count) + typed + be32(Int(crc))
        }
        let idat: [UInt8] = [0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01]   // zlib of [0, 0]
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", be32(width) + be32(height) + [8, 0, 0, 0, 0])
            + chunk("IDAT", idat) + chunk("IEND", [])
    }

    /// The smallest pipeline that reads the bomb (prep fails before anything trains).
    static let pipelineYAML = """
    {data: {source: idx, path: bomb.idx.gz}, noise: {dimension: 4}, generator: {hidden: [4]}, discriminator: {hidden: [4]},
     generator_optimizer: {learning_rate: 0.01}, discriminator_optimizer: {learning_rate: 0.01}, train: {steps: 1, batch_size: 1}}
    """

    /// The issue's bomb, 2 GiB inflated behind a header declaring one 28x28 image, read by both
    /// commands that read IDX files: exit 2 with one line, in well under 300 MB and a second.
    @Test func aGzipBombIsRefusedInBoundedMemory() throws {
        let sample = try #require(ImageFixture.binary, "build gan-sample first (make test does)")
        let pipeline = try #require(CLI.binary("gan-pipeline"))
        let dir = try TempDir()
        let bomb = dir.path("bomb.idx.gz")
        try Self.writeGzipBomb(bomb, head: Self.idxHeader([1, 28, 28]) + [UInt8](repeating: 7, count: 784), inflatedSize: 2 << 30)
        #expect(try FileManager.default.attributesOfItem(atPath: bomb)[.size] as? Int ?? 0 < 4 << 20)
        let checkpoint = try ImageFixture.makeCheckpoint(dir.url, ImageFixture.grey)
        try Self.pipelineYAML.write(toFile: dir.path("bomb.yaml"), atomically: true, encoding: .utf8)
        let commands = [(sample.path, ["score", checkpoint.path, bomb, "-o", dir.path("scores.csv")]),
                        (pipeline.path, ["run", dir.path("bomb.yaml"), "--run-dir", dir.path("run"), "--quiet"])]
        for (executable, arguments) in commands {
            let started = Date()
            let (code, err, kilobytes) = try Self.measured(executable, arguments, in: dir)
            #expect(code == 2)
            let seconds = Date().timeIntervalSince(started)
            #expect(err.split(separator: "\n").count == 1 && err.contains("\(bomb): IDX dimensions [1, 28, 28] need 784 data bytes, found more"), "\(err)")
            let rss = try #require(kilobytes, "GNU time (make deps) measures the peak RSS")
            #expect(rss < 300 << 10, "peak RSS \(rss) KiB for \(arguments[0])")
            #expect(seconds < 10, "\(seconds) s")
            print("bomb: \((executable as NSString).lastPathComponent) \(arguments[0]): exit 2 after \(String(format: "%.2f", seconds)) s, peak RSS \(rss / 1024) MiB")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path("scores.csv")))
    }

    /// Headers whose dimensions multiply past Int.max (the issue's crash: 42 dimensions), or that
    /// declare far more than the file holds, are one-line errors at once.
    @Test func hostileHeadersAreOneLineErrors() throws {
        let sample = try #require(ImageFixture.binary)
        let dir = try TempDir()
        let checkpoint = try ImageFixture.makeCheckpoint(dir.url, ImageFixture.grey)
        var inputs: [(name: String, bytes: [UInt8], message: String)] = [
            ("dims42.idx", Self.idxHeader([Int](repeating: 28, count: 42)), "declare more data than any file can hold"),
            ("zero.idx", Self.idxHeader([0, 1 << 31, 1 << 31, 1 << 31]), "declare more data than any file can hold"),
            ("huge.idx", Self.idxHeader([1 << 30, 28, 28]) + [1, 2, 3], "need \((1 << 30) * 784) data bytes, found 3 (truncated file)"),
        ]
        var gz = [UInt8]()
        do {
            try Self.writeGzipBomb(dir.path("t.gz"), head: Self.idxHeader([1 << 30, 28, 28]), inflatedSize: (3 << 20) + 16)
            gz = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.path("t.gz"))))
        }
        inputs.append(("lying.idx.gz", gz, "need \((1 << 30) * 784) data bytes, found \(3 << 20) (truncated file)"))
        inputs.append(("huge.png", Self.pngDeclaring(width: 30_000, height: 30_000), "truncated PNG: the image data decompresses to 2 bytes"))
        for (name, bytes, message) in inputs {
            let path = dir.path(name)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let (code, err, kilobytes) = try Self.measured(sample.path, ["score", checkpoint.path, path], in: dir)
            #expect(code == 2, "\(name)")
            #expect(err.split(separator: "\n").count == 1 && err.contains(message), "\(name): \(err)")
            #expect(kilobytes ?? 0 < 200 << 10, "\(name): \(kilobytes ?? -1) KiB")
        }
    }
}
