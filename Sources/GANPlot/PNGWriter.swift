import CZlib
import GANFiles

/// An 8-bit raster: grey (1 byte per pixel) or RGB (3 bytes per pixel), rows top to bottom.
public struct PixelImage: Sendable, Equatable {
    public enum Format: Sendable, Equatable {
        case gray8, rgb8
        public var channels: Int { self == .gray8 ? 1 : 3 }
    }

    public let width: Int
    public let height: Int
    public let format: Format
    /// `height · width · channels` bytes, row-major, channels interleaved.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, format: Format, pixels: [UInt8]) {
        precondition(width > 0 && height > 0, "PixelImage: size \(width)x\(height) must be positive")
        precondition(pixels.count == width * height * format.channels,
                     "PixelImage: \(pixels.count) bytes for \(width)x\(height)x\(format.channels)")
        self.width = width
        self.height = height
        self.format = format
        self.pixels = pixels
    }

    /// The channel values of pixel (x, y): one value for grey, three for RGB.
    public func pixel(x: Int, y: Int) -> [UInt8] {
        let c = format.channels, o = (y * width + x) * c
        return Array(pixels[o..<(o + c)])
    }

    /// PNG file bytes.
    public func pngData() -> [UInt8] { PNGWriter.encode(self) }

    /// Writes a PNG crash-safely (see `PNGWriter.write(_:to:)`).
    public func write(to path: String) throws { try PNGWriter.write(pngData(), to: path) }
}

/// A minimal PNG encoder (8-bit grey or RGB, no interlace, filter 0 on every row, one IDAT chunk)
/// over zlib `compress2` + `crc32`.
public enum PNGWriter {
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// PNG bytes for `image`.
    public static func encode(_ image: PixelImage) -> [UInt8] {
        encode(pixels: image.pixels, width: image.width, height: image.height, format: image.format)
    }

    /// PNG bytes for a raw `height · width · channels` buffer.
    public static func encode(pixels: [UInt8], width: Int, height: Int, format: PixelImage.Format) -> [UInt8] {
        precondition(width > 0 && height > 0 && width <= Int(Int32.max) && height <= Int(Int32.max),
                     "PNG size \(width)x\(height) out of range")
        let rowBytes = width * format.channels
        precondition(pixels.count == rowBytes * height, "PNG: \(pixels.count) bytes for \(width)x\(height)x\(format.channels)")
        var ihdr: [UInt8] = []
        appendBigEndian(UInt32(width), to: &ihdr)
        appendBigEndian(UInt32(height), to: &ihdr)
        ihdr += [8, format == .gray8 ? 0 : 2, 0, 0, 0]  // depth, colour type, compression, filter, interlace

        // Scanlines: filter byte 0 (None) then the row.
        var raw = [UInt8](repeating: 0, count: (rowBytes + 1) * height)
        raw.withUnsafeMutableBufferPointer { dst in
            pixels.withUnsafeBufferPointer { src in
                for y in 0..<height {
                    let d = dst.baseAddress! + y * (rowBytes + 1) + 1
                    d.update(from: src.baseAddress! + y * rowBytes, count: rowBytes)
                }
            }
        }
        var out = signature
        appendChunk("IHDR", ihdr, to: &out)
        appendChunk("IDAT", deflate(raw), to: &out)
        appendChunk("IEND", [], to: &out)
        return out
    }

    /// PNG bytes for a grey image.
    public static func encodeGray(_ pixels: [UInt8], width: Int, height: Int) -> [UInt8] {
        encode(pixels: pixels, width: width, height: height, format: .gray8)
    }

    /// PNG bytes for an RGB image.
    public static func encodeRGB(_ pixels: [UInt8], width: Int, height: Int) -> [UInt8] {
        encode(pixels: pixels, width: width, height: height, format: .rgb8)
    }

    /// Writes `bytes` to `path` crash-safely (`AtomicFile`): a reader sees the old file or the
    /// whole new one. Throws `FileWriteError` naming `path` on failure (e.g. a missing directory).
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try AtomicFile.write(bytes, to: path)
    }

    // MARK: - Pieces

    static func appendBigEndian(_ v: UInt32, to out: inout [UInt8]) {
        out += [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
    }

    /// length, type, data, CRC-32 of type + data.
    static func appendChunk(_ type: String, _ data: [UInt8], to out: inout [UInt8]) {
        let typeAndData = Array(type.utf8) + data
        appendBigEndian(UInt32(data.count), to: &out)
        out += typeAndData
        appendBigEndian(crc(typeAndData), to: &out)
    }

    static func crc(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { UInt32(truncatingIfNeeded: crc32(0, $0.baseAddress, uInt($0.count))) }
    }

    /// zlib stream (RFC 1950) of `raw`, default compression level.
    static func deflate(_ raw: [UInt8]) -> [UInt8] {
        var size = compressBound(uLong(raw.count))
        var out = [UInt8](repeating: 0, count: Int(size))
        let status = out.withUnsafeMutableBufferPointer { dst in
            raw.withUnsafeBufferPointer { src in
                compress2(dst.baseAddress, &size, src.baseAddress, uLong(src.count), 6)
            }
        }
        precondition(status == Z_OK, "zlib compress2 failed with status \(status)")
        out.removeLast(out.count - Int(size))
        return out
    }
}
