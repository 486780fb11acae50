import CZlib
import Foundation
import GANData
import GANPlot
import GANTestSupport
import Testing

/// A test-only PNG encoder, independent of the reader: it applies the *forward* scanline filters
/// and writes chunks with zlib's CRC, so every decoder path (filters, bit depths, colour types,
/// split IDAT, ancillary chunks) can be exercised on hand-built files.
enum PNGBuilder {
    static func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let td = Array(type.utf8) + data
        let crc = td.withUnsafeBufferPointer { Int(crc32(0, $0.baseAddress, uInt($0.count))) }
        return be32(data.count) + td + be32(crc)
    }

    static func zlib(_ raw: [UInt8]) -> [UInt8] {
        var size = compressBound(uLong(raw.count))
        var out = [UInt8](repeating: 0, count: Int(size))
        let status = out.withUnsafeMutableBufferPointer { d in raw.withUnsafeBufferPointer { s in compress2(d.baseAddress, &size, s.baseAddress, uLong(s.count), 9) } }
        precondition(status == Z_OK)
        return Array(out[0..<Int(size)])
    }

    /// Forward filter `type` of one row (`prev` nil for the first row), bytes per pixel `bpp`.
    static func filter(_ type: UInt8, row: [UInt8], prev: [UInt8]?, bpp: Int) -> [UInt8] {
        let up = prev ?? [UInt8](repeating: 0, count: row.count)
        return row.indices.map { i in
            let a = i >= bpp ? Int(row[i - bpp]) : 0, b = Int(up[i]), c = i >= bpp ? Int(up[i - bpp]) : 0
            let predictor: Int
            switch type {
            case 0: predictor = 0
            case 1: predictor = a
            case 2: predictor = b
            case 3: predictor = (a + b) / 2
            default:
                let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
            }
            return UInt8(truncatingIfNeeded: Int(row[i]) - predictor)
        }
    }

    /// A PNG of `rows` (raw scanline bytes without filter bytes); filter of row y = filters[y % count].
    static func png(width: Int, height: Int, bitDepth: Int, colorType: Int, rows: [[UInt8]], filters: [UInt8] = [0],
                    interlace: UInt8 = 0, before: [(String, [UInt8])] = [], idatPieces: Int = 1) -> [UInt8] {
        let spp = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][colorType] ?? 1
        let bpp = max(1, spp * bitDepth / 8)
        var raw: [UInt8] = []
        for (y, row) in rows.enumerated() {
            let f = filters[y % filters.count]
            raw.append(f)
            raw += filter(f, row: row, prev: y > 0 ? rows[y - 1] : nil, bpp: bpp)
        }
        let z = zlib(raw)
        var out = PNGImage.signature
        out += chunk("IHDR", be32(width) + be32(height) + [UInt8(bitDepth), UInt8(colorType), 0, 0, interlace])
        for (t, d) in before { out += chunk(t, d) }
        let piece = (z.count + idatPieces - 1) / idatPieces
        var o = 0
        while o < z.count {
            out += chunk("IDAT", Array(z[o..<min(z.count, o + piece)]))
            o += piece
        }
        out += chunk("IEND", [])
        return out
    }

    /// Deterministic pseudo-random bytes.
    static func noise(_ n: Int, seed: UInt64) -> [UInt8] {
        var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<n).map { _ in
            s ^= s << 13; s ^= s >> 7; s ^= s << 17
            return UInt8(truncatingIfNeeded: s >> 24)
        }
    }
}

@Suite struct PNGTests {
    static func decode(_ bytes: [UInt8]) throws -> PNGImage { try PNGImage.decode(bytes, name: "t.png") }

    /// HWC interleaved -> CHW planar.
    static func planar(_ hwc: [UInt8], channels c: Int, height h: Int, width w: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: hwc.count)
        for y in 0..<h { for x in 0..<w { for k in 0..<c { out[k * h * w + y * w + x] = hwc[(y * w + x) * c + k] } } }
        return out
    }

    /// Expects a one-line `DataError` naming `name` whose text contains `fragment`.
    static func expectError(_ bytes: [UInt8], _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let image = try PNGImage.decode(bytes, name: "bad.png")
            Issue.record("decoded \(image.shape) instead of failing with \"\(fragment)\"", sourceLocation: sourceLocation)
        } catch let e as DataError {
            let text = "\(e)"
            #expect(text.hasPrefix("bad.png: "), "\(text)", sourceLocation: sourceLocation)
            #expect(text.contains(fragment), "\(text)", sourceLocation: sourceLocation)
            #expect(!text.contains("\n"), "one line: \(text)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        }
    }

    // MARK: - Round trip with GANPlot's writer

    @Test(arguments: [(1, 28, 28), (3, 5, 7), (1, 1, 1), (3, 64, 3)])
    func readsWhatPNGWriterWrites(_ shape: (Int, Int, Int)) throws {
        let (c, h, w) = shape
        let hwc = PNGBuilder.noise(c * h * w, seed: UInt64(c * 1000 + h * 10 + w))
        let bytes = PNGWriter.encode(pixels: hwc, width: w, height: h, format: c == 1 ? .gray8 : .rgb8)
        let image = try Self.decode(bytes)
        #expect(image.shape == [c, h, w])
        #expect(image.bytes == Self.planar(hwc, channels: c, height: h, width: w))
    }

    @Test func readsAFileWrittenByImageGrid() throws {
        let dir = try makeTemporaryDirectory("png-grid")
        let path = dir.appendingPathComponent("grid.png").path
        let values: [Float] = (0..<(4 * 3 * 2)).map { Float($0) / 23 }
        try ImageGrid.tile(values, count: 4, channels: 1, height: 3, width: 2, rows: 2, columns: 2, padding: 1).write(to: path)
        let image = try PNGImage.read(path)
        #expect(image.shape == [1, 2 * 3 + 3, 2 * 2 + 3])
        #expect(image.bytes[0] == 128)  // padding: grey 0.5
        #expect(image.bytes[1 * image.width + 1] == 0)  // first pixel of the first tile: value 0
    }

    // MARK: - Filters

    /// Every filter type, on rows where the filter matters (first row included), for 1, 3, 4 and
    /// 8 bytes per pixel.
    @Test(arguments: [(0, 8), (2, 8), (6, 8), (6, 16)])
    func everyFilterType(_ format: (Int, Int)) throws {
        let (colorType, depth) = format
        let spp = [0: 1, 2: 3, 6: 4][colorType]!
        let (w, h) = (9, 11)
        let rowBytes = w * spp * depth / 8
        let rows = (0..<h).map { PNGBuilder.noise(rowBytes, seed: UInt64(100 + $0)) }
        for filters: [UInt8] in [[0], [1], [2], [3], [4], [4, 3, 2, 1, 0], [2, 4, 1, 3]] {
            let png = PNGBuilder.png(width: w, height: h, bitDepth: depth, colorType: colorType, rows: rows, filters: filters)
            let image = try Self.decode(png)
            #expect(image.shape == [spp, h, w])
            // Expected CHW: sample k of pixel (x, y), high byte for 16-bit.
            let step = depth / 8
            var expected = [UInt8](repeating: 0, count: spp * h * w)
            for y in 0..<h { for x in 0..<w { for k in 0..<spp { expected[k * h * w + y * w + x] = rows[y][(x * spp + k) * step] } } }
            #expect(image.bytes == expected, "filters \(filters), colour type \(colorType), depth \(depth)")
        }
    }

    // MARK: - Colour types and bit depths

    @Test func greyAtEveryBitDepth() throws {
        let w = 13, h = 3
        for depth in [1, 2, 4, 8, 16] {
            let maxValue = (1 << depth) - 1
            let values = (0..<(w * h)).map { ($0 * 7919 + 3) % (maxValue + 1) }
            var rows: [[UInt8]] = []
            for y in 0..<h {
                var row = [UInt8](repeating: 0, count: (w * depth + 7) / 8)
                for x in 0..<w {
                    let v = values[y * w + x]
                    switch depth {
                    case 16: row[2 * x] = UInt8(v >> 8); row[2 * x + 1] = UInt8(v & 255)
                    case 8: row[x] = UInt8(v)
                    default:
                        let bit = x * depth
                        row[bit / 8] |= UInt8(v << (8 - depth - bit % 8))
                    }
                }
                rows.append(row)
            }
            let image = try Self.decode(PNGBuilder.png(width: w, height: h, bitDepth: depth, colorType: 0, rows: rows, filters: [0, 1, 4]))
            let expected = values.map { v in depth == 16 ? UInt8(v >> 8) : UInt8(v * 255 / maxValue) }
            #expect(image.shape == [1, h, w])
            #expect(image.bytes == expected, "depth \(depth)")
        }
    }

    @Test func greyAlphaRGBAndRGBA() throws {
        // 2x2: grey+alpha 8, RGB 16, RGBA 8.
        let ga = try Self.decode(PNGBuilder.png(width: 2, height: 2, bitDepth: 8, colorType: 4, rows: [[10, 255, 20, 128], [30, 0, 40, 1]]))
        #expect(ga.shape == [2, 2, 2] && ga.hasAlpha)
        #expect(ga.bytes == [10, 20, 30, 40, 255, 128, 0, 1])
        #expect(ga.droppingAlpha().shape == [1, 2, 2] && ga.droppingAlpha().bytes == [10, 20, 30, 40])

        let rgb16 = try Self.decode(PNGBuilder.png(width: 2, height: 1, bitDepth: 16, colorType: 2,
                                                   rows: [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]]))
        #expect(rgb16.shape == [3, 1, 2])
        #expect(rgb16.bytes == [1, 7, 3, 9, 5, 11])

        let rgba = try Self.decode(PNGBuilder.png(width: 1, height: 2, bitDepth: 8, colorType: 6, rows: [[1, 2, 3, 4], [5, 6, 7, 8]], filters: [3]))
        #expect(rgba.shape == [4, 2, 1])
        #expect(rgba.bytes == [1, 5, 2, 6, 3, 7, 4, 8])
        #expect(rgba.droppingAlpha().bytes == [1, 5, 2, 6, 3, 7])
    }

    @Test(arguments: [1, 2, 4, 8])
    func paletteIsExpanded(_ depth: Int) throws {
        let entries = min(1 << depth, 5)
        var palette: [UInt8] = []
        for e in 0..<entries { for k in 0..<3 { palette.append(UInt8(e * 10 + k)) } }
        let w = 7, h = 2
        let indices = (0..<(w * h)).map { $0 % entries }
        let rows: [[UInt8]] = (0..<h).map { y in
            var row = [UInt8](repeating: 0, count: (w * depth + 7) / 8)
            for x in 0..<w {
                let bit = x * depth
                row[bit / 8] |= UInt8(indices[y * w + x] << (8 - depth - bit % 8))
            }
            return row
        }
        let plain = try Self.decode(PNGBuilder.png(width: w, height: h, bitDepth: depth, colorType: 3, rows: rows,
                                                   before: [("PLTE", palette)]))
        #expect(plain.shape == [3, h, w])
        var expected: [UInt8] = []
        for k in 0..<3 { for i in indices { expected.append(UInt8(i * 10 + k)) } }
        #expect(plain.bytes == expected)

        // tRNS: alpha for the first entries, 255 for the rest.
        let withAlpha = try Self.decode(PNGBuilder.png(width: w, height: h, bitDepth: depth, colorType: 3, rows: rows,
                                                       before: [("PLTE", palette), ("tRNS", [0, 77])]))
        #expect(withAlpha.shape == [4, h, w])
        let alpha: [UInt8] = indices.map { i -> UInt8 in i == 0 ? 0 : i == 1 ? 77 : 255 }
        #expect(Array(withAlpha.bytes[(3 * w * h)...]) == alpha)
        #expect(withAlpha.droppingAlpha() == plain)
    }

    @Test func splitIDATAndAncillaryChunks() throws {
        let rows = (0..<20).map { PNGBuilder.noise(30, seed: UInt64($0)) }
        let one = try Self.decode(PNGBuilder.png(width: 10, height: 20, bitDepth: 8, colorType: 2, rows: rows, filters: [1, 2, 3, 4]))
        let split = try Self.decode(PNGBuilder.png(width: 10, height: 20, bitDepth: 8, colorType: 2, rows: rows, filters: [1, 2, 3, 4],
                                                   before: [("tEXt", Array("Comment\u{0}hello".utf8)), ("gAMA", PNGBuilder.be32(45455))],
                                                   idatPieces: 7))
        #expect(split == one)
    }

    // MARK: - Bad files

    static let good = PNGBuilder.png(width: 4, height: 4, bitDepth: 8, colorType: 0, rows: (0..<4).map { PNGBuilder.noise(4, seed: UInt64($0)) })

    @Test func rejectsAWrongSignature() {
        var b = Self.good
        b[1] = UInt8(ascii: "J")
        Self.expectError(b, "not a PNG file")
        Self.expectError(Array("P5\n28 28\n255\n".utf8) + [UInt8](repeating: 0, count: 30), "not a PNG file")
        Self.expectError([], "truncated PNG: 0 bytes")
        Self.expectError(Array(PNGImage.signature[0..<5]), "truncated PNG")
    }

    @Test func rejectsTruncatedFilesAtEveryCut() {
        let b = Self.good
        // Every proper prefix after the signature must fail cleanly (never trap, never decode).
        for cut in 8..<b.count {
            do {
                _ = try PNGImage.decode(Array(b[0..<cut]), name: "cut.png")
                Issue.record("a \(cut)-byte prefix decoded")
            } catch let e as DataError {
                #expect(e.file == "cut.png" && !"\(e)".contains("\n"))
                #expect(e.message.contains("truncated") || e.message.contains("no IHDR"), "\(cut): \(e)")
            } catch {
                Issue.record("\(error)")
            }
        }
        Self.expectError(Array(b[0..<(b.count - 12)]), "the file ends before the IEND chunk")
        Self.expectError(Array(b[0..<40]), "truncated PNG")
    }

    @Test func rejectsShortImageData() {
        // A complete zlib stream that holds one row fewer than the header promises.
        let rows = (0..<4).map { PNGBuilder.noise(4, seed: UInt64($0)) }
        var raw: [UInt8] = []
        for r in rows.prefix(3) { raw += [0] + r }
        let png = PNGImage.signature + PNGBuilder.chunk("IHDR", PNGBuilder.be32(4) + PNGBuilder.be32(4) + [8, 0, 0, 0, 0])
            + PNGBuilder.chunk("IDAT", PNGBuilder.zlib(raw)) + PNGBuilder.chunk("IEND", [])
        Self.expectError(png, "decompresses to 15 bytes, 20 needed")
        // Garbage instead of a zlib stream.
        let junk = PNGImage.signature + PNGBuilder.chunk("IHDR", PNGBuilder.be32(4) + PNGBuilder.be32(4) + [8, 0, 0, 0, 0])
            + PNGBuilder.chunk("IDAT", [1, 2, 3, 4, 5, 6]) + PNGBuilder.chunk("IEND", [])
        Self.expectError(junk, "bad compressed image data")
    }

    @Test func rejectsInterlacedImages() {
        let png = PNGBuilder.png(width: 4, height: 4, bitDepth: 8, colorType: 0, rows: (0..<4).map { PNGBuilder.noise(4, seed: UInt64($0)) }, interlace: 1)
        Self.expectError(png, "interlaced (Adam7) images are not supported")
    }

    @Test func rejectsCorruptAndUnsupportedFiles() {
        var crc = Self.good
        crc[20] ^= 1  // inside IHDR's data
        Self.expectError(crc, "CRC mismatch in the IHDR chunk")

        let rows = [[UInt8](repeating: 1, count: 4)]
        Self.expectError(PNGBuilder.png(width: 4, height: 1, bitDepth: 8, colorType: 0, rows: rows, filters: [5]), "row 0 has filter type 5")
        Self.expectError(PNGBuilder.png(width: 2, height: 1, bitDepth: 4, colorType: 2, rows: [[0, 0, 0]]), "bit depth 4 with colour type 2")
        Self.expectError(PNGBuilder.png(width: 2, height: 1, bitDepth: 8, colorType: 5, rows: [[0, 0]]), "colour type 5")
        Self.expectError(PNGBuilder.png(width: 2, height: 1, bitDepth: 8, colorType: 3, rows: [[0, 0]]), "without a PLTE chunk")
        Self.expectError(PNGBuilder.png(width: 2, height: 1, bitDepth: 8, colorType: 3, rows: [[0, 2]], before: [("PLTE", [1, 2, 3, 4, 5, 6])]),
                         "pixel (1, 0) uses palette entry 2, the palette has 2")
        Self.expectError(PNGBuilder.png(width: 2, height: 1, bitDepth: 8, colorType: 0, rows: [[0, 0]], before: [("ZZZZ", [])]),
                         "unknown critical chunk ZZZZ")
        let zeroWidth = PNGImage.signature + PNGBuilder.chunk("IHDR", PNGBuilder.be32(0) + PNGBuilder.be32(4) + [8, 0, 0, 0, 0]) + PNGBuilder.chunk("IEND", [])
        Self.expectError(zeroWidth, "image size 0x4")
        let noIDAT = PNGImage.signature + PNGBuilder.chunk("IHDR", PNGBuilder.be32(1) + PNGBuilder.be32(1) + [8, 0, 0, 0, 0]) + PNGBuilder.chunk("IEND", [])
        Self.expectError(noIDAT, "no image data")
        let huge = PNGImage.signature + PNGBuilder.chunk("IHDR", PNGBuilder.be32(1 << 30) + PNGBuilder.be32(1 << 30) + [8, 6, 0, 0, 0])
            + PNGBuilder.chunk("IDAT", [1]) + PNGBuilder.chunk("IEND", [])
        Self.expectError(huge, "is larger than")
        let textFirst = PNGImage.signature + PNGBuilder.chunk("tEXt", [65, 0, 66]) + Array(Self.good[8...])
        Self.expectError(textFirst, "the first chunk is tEXt, expected IHDR")
    }

    @Test func readNamesTheFile() throws {
        let dir = try makeTemporaryDirectory("png-read")
        let path = dir.appendingPathComponent("x.png").path
        try Data("hello".utf8).write(to: URL(fileURLWithPath: path))
        #expect { try PNGImage.read(path) } throws: { "\($0)" == "\(path): not a PNG file: the first bytes are not the PNG signature 89 50 4E 47 0D 0A 1A 0A" }
        #expect { try PNGImage.read(dir.path + "/missing.png") } throws: { "\($0)" == "\(dir.path)/missing.png: no such file" }
        #expect { try PNGImage.read(dir.path) } throws: { "\($0)".contains("is a directory") }
    }

    // MARK: - Folders

    static func writeFolder(_ files: [(String, [UInt8])]) throws -> String {
        let dir = try makeTemporaryDirectory("png-folder")
        for (name, bytes) in files { try Data(bytes).write(to: dir.appendingPathComponent(name)) }
        return dir.path
    }

    static func grey(_ w: Int, _ h: Int, seed: UInt64) -> (png: [UInt8], pixels: [UInt8]) {
        let p = PNGBuilder.noise(w * h, seed: seed)
        return (PNGWriter.encodeGray(p, width: w, height: h), p)
    }

    @Test func folderReadsSortedPNGsOnly() throws {
        let a = Self.grey(3, 2, seed: 1), b = Self.grey(3, 2, seed: 2), c = Self.grey(3, 2, seed: 3)
        let ga = PNGBuilder.png(width: 3, height: 2, bitDepth: 8, colorType: 4, rows: [[1, 9, 2, 9, 3, 9], [4, 9, 5, 9, 6, 9]])
        let dir = try Self.writeFolder([("b.png", b.png), ("a.png", a.png), ("C.PNG", c.png), ("d-alpha.png", ga),
                                        ("notes.txt", Array("x".utf8)), (".hidden.png", [1, 2, 3])])
        try FileManager.default.createDirectory(atPath: dir + "/sub.png", withIntermediateDirectories: false)
        let f = try PNGFolder.read(dir)
        #expect(f.files.map { ($0 as NSString).lastPathComponent } == ["C.PNG", "a.png", "b.png", "d-alpha.png"])
        #expect(f.shape == [4, 1, 2, 3])
        #expect((f.count, f.channels, f.height, f.width) == (4, 1, 2, 3))
        #expect(f.bytes == c.pixels + a.pixels + b.pixels + [1, 2, 3, 4, 5, 6])
    }

    @Test func folderReadsRGB() throws {
        let hwc = PNGBuilder.noise(2 * 2 * 3, seed: 4)
        let dir = try Self.writeFolder([("1.png", PNGWriter.encodeRGB(hwc, width: 2, height: 2)), ("2.png", PNGWriter.encodeRGB(hwc, width: 2, height: 2))])
        let f = try PNGFolder.read(dir)
        #expect(f.shape == [2, 3, 2, 2])
        let chw = Self.planar(hwc, channels: 3, height: 2, width: 2)
        #expect(f.bytes == chw + chw)
    }

    @Test func folderRejectsMixedSizesAndChannelsNamingTheFile() throws {
        let dir = try Self.writeFolder([("a.png", Self.grey(28, 28, seed: 1).png), ("b.png", Self.grey(28, 28, seed: 2).png),
                                        ("c.png", Self.grey(30, 28, seed: 3).png)])
        #expect { try PNGFolder.read(dir) } throws: { e in
            "\(e)" == "\(dir)/c.png: grey 30x28 (shape [1, 28, 30]), but a.png is grey 28x28 (shape [1, 28, 28]); the images of a folder must all have one size and channel count"
        }
        let rgb = try Self.writeFolder([("a.png", Self.grey(2, 2, seed: 1).png), ("z.png", PNGWriter.encodeRGB(PNGBuilder.noise(12, seed: 1), width: 2, height: 2))])
        #expect { try PNGFolder.read(rgb) } throws: { e in "\(e)".hasPrefix("\(rgb)/z.png: RGB 2x2") && "\(e)".contains("a.png is grey 2x2") }
    }

    @Test func folderErrors() throws {
        let empty = try Self.writeFolder([("x.txt", [1])])
        #expect { try PNGFolder.read(empty) } throws: { "\($0)" == "\(empty): no .png files in the directory" }
        let bad = try Self.writeFolder([("a.png", Self.grey(2, 2, seed: 1).png), ("b.png", [0x89, 0x50, 0x4E])])
        #expect { try PNGFolder.read(bad) } throws: { "\($0)".hasPrefix("\(bad)/b.png: truncated PNG") }
        #expect { try PNGFolder.read("/nonexistent-dir") } throws: { "\($0)" == "/nonexistent-dir: no such directory" }
    }
}
