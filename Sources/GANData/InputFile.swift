import Foundation

private func posixRead(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int { read(fd, p, n) }

/// A file opened for reading, with errors as `DataError`.
final class InputFile {
    let path: String
    let fd: Int32
    /// The size for regular files; nil for pipes and devices.
    let regularSize: Int?

    init(_ path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let e = errno
            throw DataError(path, e == ENOENT || e == ENOTDIR ? "no such file" : "cannot open for reading: \(String(cString: strerror(e)))")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else { close(fd); throw DataError(path, "cannot open for reading: \(String(cString: strerror(errno)))") }
        if st.st_mode & S_IFMT == S_IFDIR { close(fd); throw DataError(path, "is a directory, expected a file") }
        regularSize = st.st_mode & S_IFMT == S_IFREG ? Int(st.st_size) : nil
    }

    deinit { close(fd) }

    /// Fills `dest` unless the file ends first; returns the number of bytes read.
    func read(into dest: UnsafeMutableRawBufferPointer) throws -> Int {
        var done = 0
        while done < dest.count {
            let n = posixRead(fd, dest.baseAddress! + done, min(dest.count - done, 1 << 30))
            if n < 0 {
                if errno == EINTR { continue }
                throw DataError(path, "read error: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// The whole file.
    func readAll() throws -> [UInt8] {
        let first = (regularSize ?? 1 << 16) + 1  // +1: a file that grew is noticed
        var out = try [UInt8](unsafeUninitializedCapacity: first) { buf, n in n = try read(into: UnsafeMutableRawBufferPointer(buf)) }
        var full = out.count == first
        while full {  // a pipe, or the file grew
            var more = [UInt8](repeating: 0, count: max(out.count, 1 << 16))
            let n = try more.withUnsafeMutableBytes { try read(into: $0) }
            out += more[..<n]
            full = n == more.count
        }
        return out
    }
}
