import CZlib
import Foundation

/// An IDX file read front to back through zlib, plain or gzip alike: the header first, then the
/// data, never more of it than the header declares. So memory and temporary disk follow the
/// declared size, not the file: a gzip bomb (a small `.idx.gz` whose header declares one image but
/// which inflates to gigabytes) is refused as soon as its data runs past the declared bytes,
/// after inflating at most one chunk beyond them.
final class IDXStream {
    let path: String
    let shape: [Int]
    /// The declared data bytes: the product of the dimensions.
    let dataCount: Int
    private let file: gzFile
    /// The file's size when it is a plain (not gzip) regular file: then the data length is
    /// checked up front.
    let plainSize: Int?
    /// Bytes before the data.
    var headerLength: Int { 4 + 4 * shape.count }
    private var consumed = 0

    /// Opens `path` and validates the header: the magic, the type (unsigned byte), the dimensions
    /// (their product must fit in an Int) and, for a plain file, that the data length matches.
    init(_ path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw DataError(path, "no such file") }
        guard let f = gzopen(path, "rb") else { throw DataError(path, "cannot open for reading: \(String(cString: strerror(errno)))") }
        let header: (shape: [Int], plainSize: Int?)
        do {
            header = try Self.readHeader(f, path)
        } catch {
            gzclose(f)
            throw error
        }
        // Nothing throws from here on: `deinit` (which closes the file) runs exactly when the
        // instance exists.
        file = f
        self.path = path
        shape = header.shape
        plainSize = header.plainSize
        dataCount = shape.reduce(1, *)
    }

    /// Reads and validates the header; for a plain regular file also the data length.
    private static func readHeader(_ f: gzFile, _ path: String) throws -> (shape: [Int], plainSize: Int?) {
        var header = [UInt8](repeating: 0, count: 4)
        let got = try read(f, path, into: &header, count: 4)
        var size: Int?
        if gzdirect(f) == 1 {
            var st = stat()
            size = stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG ? Int(st.st_size) : nil
        }
        let ndim = try checkMagic(header, got: got, path: path, size: size)
        header += [UInt8](repeating: 0, count: 4 * ndim)
        let dims = try header.withUnsafeMutableBytes { try read(f, path, into: UnsafeMutableRawBufferPointer(rebasing: $0[4...])) }
        guard dims == 4 * ndim else {
            throw DataError(path, "truncated IDX header: \(4 + dims) bytes, expected at least \(header.count)")
        }
        let shape = (0..<ndim).map { d in (4 + 4 * d..<8 + 4 * d).reduce(0) { $0 << 8 | Int(header[$1]) } }
        // Every partial product must fit too (a zero dimension must not hide an overflowing
        // sample size): the product of the dimensions with zeros counted as ones.
        guard shape.reduce(1 as Int?, { p, d in p.flatMap { let (r, o) = $0.multipliedReportingOverflow(by: max(d, 1)); return o ? nil : r } }) != nil else {
            throw DataError(path, "IDX dimensions \(shape) declare more data than any file can hold")
        }
        let count = shape.reduce(1, *)
        if let size, size - header.count != count { throw lengthError(path, shape, count, found: size - header.count) }
        return (shape, size)
    }

    deinit { gzclose(file) }

    /// Validates the first four bytes; returns the number of dimensions.
    private static func checkMagic(_ raw: [UInt8], got: Int, path: String, size: Int?) throws -> Int {
        guard got >= 4 else { throw DataError(path, "not an IDX file: \(size ?? got) bytes, shorter than the 4-byte header") }
        guard raw[0] == 0, raw[1] == 0 else {
            throw DataError(path, String(format: "not an IDX file: magic starts with 0x%02x%02x, expected 0x0000", raw[0], raw[1]))
        }
        guard raw[2] == 0x08 else {
            throw DataError(path, String(format: "IDX data type 0x%02x is not supported, expected 0x08 (unsigned byte)", raw[2]))
        }
        guard raw[3] >= 1 else { throw DataError(path, "IDX header declares 0 dimensions") }
        return Int(raw[3])
    }

    private static func lengthError(_ path: String, _ shape: [Int], _ count: Int, found: Int?) -> DataError {
        let found = found.map { "\($0)\($0 < count ? " (truncated file)" : "")" } ?? "more (the data goes on past them)"
        return DataError(path, "IDX dimensions \(shape) need \(count) data bytes, found \(found)")
    }

    private func lengthError(found: Int?) -> DataError { Self.lengthError(path, shape, dataCount, found: found) }

    /// Reads up to `buffer.count` bytes of data (never past the declared end); 0 at the end.
    /// A file that ends before the declared bytes is an error naming how many it had.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let want = min(buffer.count, dataCount - consumed)
        guard want > 0 else { return 0 }
        let n = try Self.read(file, path, into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]))
        consumed += n
        if n < want { throw lengthError(found: consumed) }
        return n
    }

    /// All the data, checked to end where the header says. The buffer grows as the data arrives
    /// (reserved up front only as far as the file vouches for it: all of it for a plain file,
    /// whose size was checked; for gzip the trailer's size, but at most 64 MiB, since a bomb
    /// writes anything there), so a header that declares more than the file holds costs no more
    /// memory than the data that is really there.
    func readAll() throws -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(min(dataCount, plainSize ?? min(gzipSizeHint() ?? 0, 64 << 20)))
        while out.count < dataCount {
            let start = out.count
            out.append(contentsOf: repeatElement(0, count: min(1 << 20, dataCount - start)))
            _ = try out.withUnsafeMutableBytes { try read(into: UnsafeMutableRawBufferPointer(rebasing: $0[start...])) }
        }
        try expectEnd()
        return out
    }

    /// A gzip member ends with its uncompressed size mod 2^32: a hint, nothing more (a bomb
    /// can write anything there).
    private func gzipSizeHint() -> Int? {
        guard let h = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? h.close() }
        guard let size = try? h.seekToEnd(), size >= 18, (try? h.seek(toOffset: size - 4)) != nil,
              let tail = try? h.read(upToCount: 4), tail.count == 4 else { return nil }
        return tail.reversed().reduce(0) { $0 << 8 | Int($1) }
    }

    /// After the declared bytes: throws unless the file ends there (inflating one byte more).
    func expectEnd() throws {
        guard plainSize == nil else { return }
        var one: UInt8 = 0
        let n = gzread(file, &one, 1)
        if n < 0 { throw DataError(path, "corrupt gzip stream") }
        if n > 0 { throw lengthError(found: nil) }
    }

    private static func read(_ f: gzFile, _ path: String, into bytes: inout [UInt8], count: Int) throws -> Int {
        try bytes.withUnsafeMutableBytes { try read(f, path, into: UnsafeMutableRawBufferPointer(rebasing: $0[..<count])) }
    }

    /// Fills `buffer` unless the stream ends first; returns the bytes read.
    private static func read(_ f: gzFile, _ path: String, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = gzread(f, buffer.baseAddress! + done, UInt32(min(buffer.count - done, 1 << 30)))
            if n < 0 { throw DataError(path, "corrupt gzip stream") }
            if n == 0 { break }
            done += Int(n)
        }
        return done
    }
}
