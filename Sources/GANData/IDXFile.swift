import Foundation
import GANFiles

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
        let stream = try IDXStream(path)
        self.path = path
        shape = stream.shape
        sampleSize = shape.dropFirst().reduce(1, *)
        (fd, dataOffset) = try Self.dataDescriptor(stream)
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

    /// A descriptor and offset of the data: the file itself when it is plain, else an unlinked
    /// temporary file (in `TMPDIR`) holding exactly the declared data bytes, copied a chunk at a
    /// time from the stream (which refuses data running past them, so a bomb cannot fill the disk).
    private static func dataDescriptor(_ stream: IDXStream) throws -> (Int32, Int) {
        let path = stream.path
        if stream.plainSize != nil {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw DataError(path, "cannot open for reading: \(String(cString: strerror(errno)))") }
            return (fd, stream.headerLength)
        }
        var template = Array((NSTemporaryDirectory() + "/gan-idx-XXXXXX").utf8CString)
        let out = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard out >= 0 else { throw DataError(path, "cannot create a temporary file to decompress into: \(String(cString: strerror(errno)))") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { chunk.deallocate() }
        do {
            while true {
                let n = try stream.read(into: chunk)
                if n == 0 { break }
                if let code = FileDescriptor.writeAll(out, UnsafeRawBufferPointer(rebasing: chunk[..<n]), name: "\(NSTemporaryDirectory())/gan-idx") {
                    throw DataError(path, "cannot decompress into \(NSTemporaryDirectory()): \(String(cString: strerror(code)))")
                }
            }
            try stream.expectEnd()
        } catch {
            close(out)
            throw error
        }
        return (out, 0)
    }
}
