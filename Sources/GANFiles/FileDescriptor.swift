import Foundation

/// Plain POSIX output on an open descriptor, for the writers that stream (`AtomicFile.write`,
/// standard output).
public enum FileDescriptor {
    /// Writes all of `bytes` to `fd`, retrying short writes and EINTR. Returns nil on success,
    /// else the errno of the failed write.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
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
