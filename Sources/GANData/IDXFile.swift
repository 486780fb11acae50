import CZlib
import Foundation

/// An unsigned-byte IDX file read one sample at a time (`pread`) instead of loaded: the data set
/// lives in the kernel's page cache, shared and evictable, not in the process (Fashion-MNIST's
/// 47 MB of training images leave the trainer's resident set). A gzip file is first decompressed,
/// a chunk at a time, into an unlinked temporary file, so neither copy is ever held in memory.
/// Samples are the slices along the first dimension.
public final class IDXFile {
    public let path: String
    public let shape: [Int]
    /// Bytes per sample: the product of the dimensions after the first.
    public let sampleSize: Int
    public var count: Int { shape[0] }
    private let fd: Int32
    private let dataOffset: Int

    public init(_ path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw DataError(path, "no such file") }
        let fd = try IDXFile.decompressedDescriptor(path)
        self.fd = fd
        self.path = path
        let size = Int(lseek(fd, 0, SEEK_END))
        var prefix = [UInt8](repeating: 0, count: min(max(size, 0), IDXArray.maxHeader))
        let got = prefix.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard got == prefix.count else {
            close(fd)
            throw DataError(path, "cannot read: \(String(cString: strerror(errno)))")
        }
        do {
            let (shape, header) = try IDXArray.parseHeader(prefix[...], byteCount: size, path: path)
            self.shape = shape
            dataOffset = header
            sampleSize = shape.dropFirst().reduce(1, *)
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    /// Copies sample `i` (`sampleSize` bytes) to `p`.
    public func read(sample i: Int, into p: UnsafeMutablePointer<UInt8>) {
        precondition(i >= 0 && i < count, "IDXFile.read: sample \(i) of \(count)")
        var done = 0
        while done < sampleSize {
            let n = pread(fd, p + done, sampleSize - done, off_t(dataOffset + i * sampleSize + done))
            if n < 0 && errno == EINTR { continue }
            // The file was validated at open; a failure here is the disk's, not the user's.
            precondition(n > 0, "\(path): read failed at sample \(i): \(n < 0 ? String(cString: strerror(errno)) : "unexpected end of file")")
            done += n
        }
    }

    /// A descriptor for the plain bytes: the file itself, or for gzip an unlinked temporary file
    /// (in `TMPDIR`) holding the decompressed stream.
    private static func decompressedDescriptor(_ path: String) throws -> Int32 {
        let raw = open(path, O_RDONLY | O_CLOEXEC)
        guard raw >= 0 else { throw DataError(path, "cannot open for reading: \(String(cString: strerror(errno)))") }
        var magic: [UInt8] = [0, 0]
        let isGzip = pread(raw, &magic, 2, 0) == 2 && magic == [0x1f, 0x8b]
        if !isGzip { return raw }
        close(raw)
        var template = Array((NSTemporaryDirectory() + "/gan-idx-XXXXXX").utf8CString)
        let out = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard out >= 0 else { throw DataError(path, "cannot create a temporary file to decompress into: \(String(cString: strerror(errno)))") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        guard let f = gzopen(path, "rb") else { close(out); throw DataError(path, "cannot open for reading") }
        defer { gzclose(f) }
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = gzread(f, buffer, UInt32(chunk))
            if n < 0 { close(out); throw DataError(path, "corrupt gzip stream") }
            if n == 0 { break }
            var written = 0
            while written < Int(n) {
                let w = write(out, buffer + written, Int(n) - written)
                if w < 0 && errno == EINTR { continue }
                guard w > 0 else {
                    let reason = String(cString: strerror(errno))
                    close(out)
                    throw DataError(path, "cannot decompress into \(NSTemporaryDirectory()): \(reason)")
                }
                written += w
            }
        }
        return out
    }
}
