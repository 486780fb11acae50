import CZlib
import Foundation

/// An array read from an IDX file (the MNIST format: big-endian header `00 00 TYPE NDIM`, NDIM
/// big-endian UInt32 dimensions, then the data). Only the unsigned-byte type (0x08), used for
/// images and labels, is supported.
public struct IDXArray {
    public var shape: [Int]
    public var bytes: [UInt8]

    /// Reads a plain or gzip-compressed IDX file (zlib detects which), validating the magic, the
    /// type, the dimensions and that the data length matches them exactly (`IDXStream`: memory
    /// follows the declared size, and a file whose data goes on past it is refused as soon as it
    /// does, without inflating the rest).
    public static func read(_ path: String) throws -> IDXArray {
        let stream = try IDXStream(path)
        return IDXArray(shape: stream.shape, bytes: try stream.readAll())
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
}

/// Where Debian's `dataset-fashion-mnist` puts the files (override with FASHION_MNIST_DIR).
public enum FashionMNIST {
    public static var directory: String {
        ProcessInfo.processInfo.environment["FASHION_MNIST_DIR"] ?? "/usr/share/datasets/fashion-mnist"
    }
    public static func imagesPath(split: String) -> String { "\(directory)/\(split)-images-idx3-ubyte.gz" }
    public static func labelsPath(split: String) -> String { "\(directory)/\(split)-labels-idx1-ubyte.gz" }
}
