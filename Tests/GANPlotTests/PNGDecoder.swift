import CZlib
import Foundation
@testable import GANPlot

/// A strict reader for the PNGs GANPlot writes (8-bit grey/RGB, non-interlaced), used to check the
/// encoder independently: every chunk's CRC is recomputed with zlib and the IDAT stream is inflated
/// with zlib `uncompress`.
struct DecodedPNG {
    struct Chunk {
        var type: String
        var data: [UInt8]
    }

    enum Failure: Error, CustomStringConvertible {
        case bad(String)
        var description: String { if case .bad(let s) = self { return s }; return "" }
    }

    var chunks: [Chunk] = []
    var width = 0, height = 0, bitDepth = 0, colorType = 0, compression = 0, filter = 0, interlace = 0
    /// Scanlines as stored: filter byte + row, per row.
    var raw: [UInt8] = []

    var channels: Int { colorType == 2 ? 3 : 1 }

    static func be32(_ b: [UInt8], _ o: Int) -> UInt32 {
        UInt32(b[o]) << 24 | UInt32(b[o + 1]) << 16 | UInt32(b[o + 2]) << 8 | UInt32(b[o + 3])
    }

    init(_ bytes: [UInt8]) throws {
        guard bytes.count >= 8, Array(bytes[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else {
            throw Failure.bad("bad signature")
        }
        var o = 8
        while o < bytes.count {
            guard o + 12 <= bytes.count else { throw Failure.bad("truncated chunk header at \(o)") }
            let length = Int(Self.be32(bytes, o))
            guard o + 12 + length <= bytes.count else { throw Failure.bad("truncated chunk at \(o)") }
            let typeAndData = Array(bytes[(o + 4)..<(o + 8 + length)])
            let stored = Self.be32(bytes, o + 8 + length)
            let computed = typeAndData.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
            let type = String(decoding: typeAndData[0..<4], as: UTF8.self)
            guard stored == computed else { throw Failure.bad("CRC mismatch in \(type)") }
            chunks.append(Chunk(type: type, data: Array(typeAndData[4...])))
            o += 12 + length
        }
        guard chunks.first?.type == "IHDR", chunks.last?.type == "IEND", chunks.last?.data.isEmpty == true else {
            throw Failure.bad("chunk order \(chunks.map(\.type))")
        }
        let h = chunks[0].data
        guard h.count == 13 else { throw Failure.bad("IHDR length \(h.count)") }
        width = Int(Self.be32(h, 0))
        height = Int(Self.be32(h, 4))
        (bitDepth, colorType, compression, filter, interlace) = (Int(h[8]), Int(h[9]), Int(h[10]), Int(h[11]), Int(h[12]))
        let idat = chunks.filter { $0.type == "IDAT" }.flatMap(\.data)
        var size = uLongf((width * channels + 1) * height)
        raw = [UInt8](repeating: 0, count: Int(size) + 1)
        let status = raw.withUnsafeMutableBufferPointer { dst in
            idat.withUnsafeBufferPointer { src in uncompress(dst.baseAddress, &size, src.baseAddress, uLong(src.count)) }
        }
        guard status == Z_OK else { throw Failure.bad("uncompress status \(status)") }
        raw.removeLast(raw.count - Int(size))
        guard raw.count == (width * channels + 1) * height else { throw Failure.bad("inflated \(raw.count) bytes") }
    }

    /// Pixel bytes without the filter bytes (valid when every row uses filter 0).
    var pixels: [UInt8] {
        let rowBytes = width * channels
        var out: [UInt8] = []
        for y in 0..<height {
            let start: Int = y * (rowBytes + 1) + 1
            out += raw[start..<(start + rowBytes)]
        }
        return out
    }

    var filterBytes: [UInt8] { (0..<height).map { raw[$0 * (width * channels + 1)] } }
}

func readBytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

func temporaryDirectory(_ tag: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ganplot-\(tag)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}
