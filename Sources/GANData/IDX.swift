import CZlib
import Foundation

/// An array read from an IDX file (the MNIST format: big-endian header `00 00 TYPE NDIM`, NDIM
/// big-endian UInt32 dimensions, then the data). Only the unsigned-byte type (0x08), used for
/// images and labels, is supported.
public struct IDXArray {
    public var shape: [Int]
    public var bytes: [UInt8]

    /// Reads a plain or gzip-compressed IDX file (zlib detects which), validating the magic, the
    /// type, the dimensions and that the data length matches them exactly.
    public static func read(_ path: String) throws -> IDXArray {
        var raw = try readAllBytes(path)
        let (shape, header) = try parseHeader(raw.prefix(maxHeader), byteCount: raw.count, path: path)
        raw.removeFirst(header)  // in place: no second copy of a 47 MB image file
        return IDXArray(shape: shape, bytes: raw)
    }

    /// The longest possible header: magic and 255 dimensions.
    static let maxHeader = 4 + 4 * 255

    /// Validates the header at the start of a `byteCount`-byte IDX file (`prefix`: its first
    /// `min(byteCount, maxHeader)` bytes): the magic, the type, the dimensions and that the data
    /// length matches them exactly. Returns the shape and the header's length.
    static func parseHeader(_ prefix: ArraySlice<UInt8>, byteCount: Int, path: String) throws -> (shape: [Int], headerLength: Int) {
        let raw = Array(prefix)
        guard byteCount >= 4, raw.count >= 4 else { throw DataError(path, "not an IDX file: \(byteCount) bytes, shorter than the 4-byte header") }
        guard raw[0] == 0, raw[1] == 0 else {
            throw DataError(path, String(format: "not an IDX file: magic starts with 0x%02x%02x, expected 0x0000", raw[0], raw[1]))
        }
        guard raw[2] == 0x08 else {
            throw DataError(path, String(format: "IDX data type 0x%02x is not supported, expected 0x08 (unsigned byte)", raw[2]))
        }
        let ndim = Int(raw[3])
        guard ndim >= 1 else { throw DataError(path, "IDX header declares 0 dimensions") }
        let header = 4 + 4 * ndim
        guard byteCount >= header, raw.count >= header else {
            throw DataError(path, "truncated IDX header: \(byteCount) bytes, expected at least \(header)")
        }
        var shape: [Int] = []
        for d in 0..<ndim {
            let o = 4 + 4 * d
            shape.append(Int(raw[o]) << 24 | Int(raw[o + 1]) << 16 | Int(raw[o + 2]) << 8 | Int(raw[o + 3]))
        }
        let expected = shape.reduce(1, *)
        let found = byteCount - header
        guard found == expected else {
            throw DataError(path, "IDX dimensions \(shape) need \(expected) data bytes, found \(found)\(found < expected ? " (truncated file)" : "")")
        }
        return (shape, header)
    }

    /// Writes an unsigned-byte IDX file (magic `00 00 08 NDIM`, big-endian dimensions, data),
    /// gzip-compressed when the name ends in `.gz` (any case), else plain. The file is written
    /// crash-safely (`AtomicFile`), so a failure never leaves a half file. The gzip header carries
    /// no time stamp: the same array gives the same bytes.
    public static func write(shape: [Int], bytes: [UInt8], to path: String) throws {
        guard (1...255).contains(shape.count) else { throw DataError(path, "cannot write IDX: \(shape.count) dimensions, expected 1 to 255") }
        guard shape.allSatisfy({ $0 >= 0 && $0 <= Int(UInt32.max) }) else {
            throw DataError(path, "cannot write IDX: dimensions \(shape) must each be 0 to \(UInt32.max)")
        }
        var expected = 1
        for d in shape {
            let (p, overflow) = expected.multipliedReportingOverflow(by: d)
            guard !overflow else { throw DataError(path, "cannot write IDX: dimensions \(shape) are too large") }
            expected = p
        }
        guard expected == bytes.count else {
            throw DataError(path, "cannot write IDX: dimensions \(shape) need \(expected) bytes, got \(bytes.count)")
        }
        var header: [UInt8] = [0, 0, 0x08, UInt8(shape.count)]
        for d in shape { header += [UInt8(d >> 24 & 255), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)] }
        let out = try OutputFile.create(path)
        if path.lowercased().hasSuffix(".gz") {
            try out.write(try gzip(header + bytes, name: path))
        } else {
            try out.write(header)
            try out.write(bytes)
        }
        try out.commit()
    }

    /// One gzip member (no file name, time stamp 0) holding `input`.
    static func gzip(_ input: [UInt8], name: String) throws -> [UInt8] {
        var stream = z_stream()
        // windowBits 15 + 16: a gzip wrapper instead of zlib's.
        guard deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                            zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataError(name, "cannot write: zlib initialisation failed")
        }
        defer { deflateEnd(&stream) }
        guard input.count <= Int(UInt32.max) else { throw DataError(name, "cannot write: more than 4 GiB to compress") }
        var input = input
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 64)
        var used = 0
        var status: Int32 = Z_OK
        input.withUnsafeMutableBufferPointer { src in
            stream.next_in = src.baseAddress
            stream.avail_in = uInt(src.count)
            while true {
                if used == out.count { out.append(contentsOf: repeatElement(0, count: out.count)) }
                out.withUnsafeMutableBufferPointer { dst in
                    stream.next_out = dst.baseAddress! + used
                    stream.avail_out = uInt(min(dst.count - used, Int(UInt32.max)))
                    let before = Int(stream.avail_out)
                    status = deflate(&stream, Z_FINISH)
                    used += before - Int(stream.avail_out)
                }
                if status != Z_OK && status != Z_BUF_ERROR { break }
            }
        }
        guard status == Z_STREAM_END else { throw DataError(name, "cannot write: gzip compression failed (zlib status \(status))") }
        out.removeLast(out.count - used)
        return out
    }

    /// Reads the file through zlib, which decompresses gzip and passes plain files through.
    static func readAllBytes(_ path: String) throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else { throw DataError(path, "no such file") }
        guard let f = gzopen(path, "rb") else { throw DataError(path, "cannot open for reading") }
        defer { gzclose(f) }
        // Size hint so the buffer is allocated once: a gzip member ends with its uncompressed size
        // mod 2^32; for a plain file, the file size.
        var capacity = 1 << 16
        if let h = FileHandle(forReadingAtPath: path) {
            let size = (try? h.seekToEnd()) ?? 0
            capacity = Int(size)
            if size >= 18, (try? h.seek(toOffset: 0)) != nil, let magic = try? h.read(upToCount: 2), magic == Data([0x1f, 0x8b]),
               (try? h.seek(toOffset: size - 4)) != nil, let tail = try? h.read(upToCount: 4), tail.count == 4 {
                capacity = Int(tail[0]) | Int(tail[1]) << 8 | Int(tail[2]) << 16 | Int(tail[3]) << 24
            }
            try? h.close()
        }
        var out = [UInt8](repeating: 0, count: max(capacity + 1, 1 << 16))  // +1: EOF needs one more read
        var used = 0
        while true {
            if used == out.count { out.append(contentsOf: repeatElement(0, count: out.count)) }
            let n = out.withUnsafeMutableBytes { gzread(f, $0.baseAddress! + used, UInt32(min($0.count - used, Int(Int32.max)))) }
            if n < 0 { throw DataError(path, "corrupt gzip stream") }
            if n == 0 { break }
            used += Int(n)
        }
        out.removeLast(out.count - used)
        return out
    }
}

/// Where Debian's `dataset-fashion-mnist` puts the files (override with FASHION_MNIST_DIR).
public enum FashionMNIST {
    public static var directory: String {
        ProcessInfo.processInfo.environment["FASHION_MNIST_DIR"] ?? "/usr/share/datasets/fashion-mnist"
    }
    public static func imagesPath(split: String) -> String { "\(directory)/\(split)-images-idx3-ubyte.gz" }
    public static func labelsPath(split: String) -> String { "\(directory)/\(split)-labels-idx1-ubyte.gz" }
}
