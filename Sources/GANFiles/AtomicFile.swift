import Foundation

/// A crash-safe write of one file: the project's only way to create or replace a file.
///
/// The contents go to a hidden temporary file beside the destination, `.NAME.tmp` in the same
/// directory (so the final rename never crosses file systems); `commit()` closes and fsyncs it,
/// renames it over NAME and fsyncs the directory, so the rename itself is durable. A crash or a
/// failure at any moment leaves the previous file untouched: a reader sees the old file or the
/// complete new one, never a mixture, and at most a stale `.NAME.tmp` stays behind (the next write
/// of NAME replaces it; checkpoint pruning removes it).
///
/// Three forms, for three kinds of writer:
/// - bytes in memory: `AtomicFile.write(bytes, to: path)`;
/// - a library that writes by path (HDF5, ...): `AtomicFile.write(to: path) { temporaryPath in ... }`;
/// - a write and a commit that happen apart (streamed writes; a background checkpoint writer that
///   prepares on one call and commits on the next): `AtomicFile(path)`, then `write(_:)` or a
///   library writing `temporaryPath`, then `commit()` or `discard()`.
///
/// Every failure removes the temporary file, leaves the previous file in place and throws a
/// `FileWriteError` naming the destination; an error thrown by a body or a library writing the
/// temporary file is rethrown as it is. Not thread-safe: use one instance on one thread at a time.
public final class AtomicFile {
    /// The destination.
    public let path: String
    /// Where the contents go until `commit()`: `.NAME.tmp` in the destination's directory.
    public let temporaryPath: String
    private let directory: String
    private var descriptor: Int32
    private var finished = false

    /// Checks the destination (`checkDestination`), then creates the empty temporary file,
    /// replacing a stale one (a leftover symlink is removed, never written through). Failing here
    /// means nothing was created.
    public init(_ path: String) throws {
        directory = try Self.checkDestination(path)
        temporaryPath = Self.temporaryPath(for: path)
        self.path = path
        unlink(temporaryPath)
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw FileWriteError(path, code: errno) }
    }

    deinit { discard() }

    /// Appends `bytes` to the temporary file. A failure discards it.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!finished && descriptor >= 0, "AtomicFile.write after commit or discard")
        if let code = FileDescriptor.writeAll(descriptor, bytes, name: path) {
            discard()
            throw FileWriteError(path, code: code)
        }
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// Makes the temporary file the destination, durably: closes it, fsyncs it (through a fresh
    /// descriptor, so that data a library wrote by path is covered even if it replaced the file),
    /// renames it over `path` and fsyncs the directory. A failure before the rename discards the
    /// temporary file and leaves the previous file in place.
    public func commit() throws {
        precondition(!finished, "AtomicFile.commit after commit or discard")
        finished = true
        var code: Int32?
        if descriptor >= 0, close(descriptor) != 0 { code = errno }
        descriptor = -1
        if code == nil { code = Self.sync(temporaryPath) }
        if code == nil, rename(temporaryPath, path) != 0 { code = errno }
        if let code {
            unlink(temporaryPath)
            throw FileWriteError(path, code: code)
        }
        if let code = Self.sync(directory) { throw FileWriteError(path, code: code) }
    }

    /// Removes the temporary file; the destination stays as it was. Idempotent; a no-op after
    /// `commit()`.
    public func discard() {
        guard !finished else { return }
        finished = true
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
        unlink(temporaryPath)
    }

    // MARK: - One-call forms

    /// Writes `bytes` as the whole new contents of `path`.
    public static func write(_ bytes: UnsafeRawBufferPointer, to path: String) throws {
        let file = try AtomicFile(path)
        try file.write(bytes)
        try file.commit()
    }

    public static func write(_ bytes: [UInt8], to path: String) throws {
        try bytes.withUnsafeBytes { try write($0, to: path) }
    }

    /// Runs `body` with the temporary file's path (empty, created) for a library that writes by
    /// path and must have closed the file when `body` returns; then commits. If `body` throws, the
    /// temporary file is removed and the error rethrown (see `fill`).
    public static func write(to path: String, _ body: (_ temporaryPath: String) throws -> Void) throws {
        let file = try AtomicFile(path)
        try file.fill(body)
        try file.commit()
    }

    /// Lets a library that writes by path (HDF5) write the temporary file: `body` gets
    /// `temporaryPath` and must have closed the file when it returns. If it throws, the temporary
    /// file is removed and the error rethrown as it is, except that a `FileWriteError` naming the
    /// temporary file is renamed to name the destination (users never see `.NAME.tmp`).
    public func fill(_ body: (_ temporaryPath: String) throws -> Void) throws {
        precondition(!finished, "AtomicFile.fill after commit or discard")
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
        do {
            try body(temporaryPath)
        } catch let e as FileWriteError where e.path == temporaryPath {
            discard()
            throw e.code.map { FileWriteError(path, code: $0) } ?? FileWriteError(path, reason: e.reason)
        } catch {
            discard()
            throw error
        }
    }

    /// Creates the directory `path` and any missing parents (`mkdir -p`), for writers that put
    /// their files in a directory of their own. A failure is a `FileWriteError` naming the
    /// directory with its errno, like any failed write (a read-only or full file system).
    public static func createDirectory(_ path: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw FileWriteError(path, reason: "it exists and is not a directory") }
            return
        }
        if mkdir(path, 0o755) == 0 || errno == EEXIST { return }
        let parent = (path as NSString).deletingLastPathComponent
        guard errno == ENOENT, !parent.isEmpty, parent != path else { throw FileWriteError(path, code: errno) }
        try createDirectory(parent)
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw FileWriteError(path, code: errno) }
    }

    /// Points the symbolic link `path` at `target` (stored as given, e.g. a name relative to the
    /// link's directory), atomically: a new link `.NAME.tmp` is renamed over `path`, then the
    /// directory is fsynced.
    public static func symlink(_ path: String, to target: String) throws {
        let directory = try checkDestination(path)
        let temporary = temporaryPath(for: path)
        unlink(temporary)
        var code: Int32?
        if Foundation.symlink(target, temporary) != 0 { code = errno }
        if code == nil, rename(temporary, path) != 0 { code = errno }
        if let code {
            unlink(temporary)
            throw FileWriteError(path, code: code)
        }
        if let code = sync(directory) { throw FileWriteError(path, code: code) }
    }

    // MARK: - Checks and syncs

    /// The checks made before anything is written, also for callers that want to fail early
    /// (before computing what to write): a file name, an existing directory, and a destination
    /// that is not itself a directory. Returns the directory ("." for a bare file name).
    @discardableResult
    public static func checkDestination(_ path: String) throws -> String {
        guard !path.isEmpty else { throw FileWriteError(path, reason: "no file name") }
        var dir = (path as NSString).deletingLastPathComponent
        if dir.isEmpty { dir = "." }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) else {
            throw FileWriteError(path, reason: "directory \(dir) does not exist")
        }
        guard isDir.boolValue else { throw FileWriteError(path, reason: "\(dir) is not a directory") }
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw FileWriteError(path, reason: "it is a directory")
        }
        return dir
    }

    /// `.NAME.tmp` beside `path` (a bare name stays bare).
    static func temporaryPath(for path: String) -> String {
        let name = "." + (path as NSString).lastPathComponent + ".tmp"
        let directory = (path as NSString).deletingLastPathComponent
        return directory.isEmpty ? name : (directory as NSString).appendingPathComponent(name)
    }

    /// fsync of the file or directory at `path`; the errno on failure.
    static func sync(_ path: String) -> Int32? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        return fsync(fd) == 0 ? nil : errno
    }
}
