import Foundation

/// Plain POSIX output on an open descriptor, for the writers that stream (`AtomicFile.write`,
/// HDF5 file images, standard output).
public enum FileDescriptor {
    /// Writes all of `bytes` to `fd`, retrying short writes and EINTR. Returns nil on success,
    /// else the errno of the failed write. `name` (the file's path, or "standard output") is what
    /// the test seams of `WriteFaults` match.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, name: String) -> Int32? {
        switch WriteFaults.action(forWriteTo: name) {
        case .fail(let code)?:
            return code
        case .pause?:
            let half = bytes.count / 2
            if let code = write(fd, UnsafeRawBufferPointer(rebasing: bytes[..<half])) { return code }
            fsync(fd)
            WriteFaults.pauseForever(name, written: half, of: bytes.count)
        case nil:
            return write(fd, bytes)
        }
    }

    private static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
        var done = 0
        while done < bytes.count {
            let n = Foundation.write(fd, bytes.baseAddress! + done, min(bytes.count - done, 1 << 30))
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            done += n
        }
        return nil
    }
}
