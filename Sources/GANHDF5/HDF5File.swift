import CHDF5
import Foundation
import GANFiles

/// An open HDF5 file. All access goes through `root` (an `HDF5Group`) and the groups and datasets
/// reached from it; those are lightweight values (file + object path) that open the HDF5 object for
/// the duration of one call and close it before returning, so no HDF5 handle outlives a call and
/// `close()` leaves nothing open.
///
/// Files opened for writing (`create`, `open(writable: true)`) live in memory while they are
/// written (HDF5's core driver without a backing store, `HDF5MemoryImage`) and `close()` writes
/// the closed file's bytes to `path` with plain POSIX calls, so HDF5 itself never writes to the
/// disk (and the bytes are those the default driver would have written). Why: when a write
/// fails inside HDF5 1.10.8 (a full disk), the H5Fclose that follows fails too, and that failure
/// frees the file's structure while leaving its identifier registered (HDF5 bug HDFFV-11052,
/// CVE-2020-10812, fixed in 1.14.1); the library's exit handler then closes the identifier
/// again and dereferences freed memory: a segfault after the right error was printed. Here a
/// full disk is a `FileWriteError` carrying the errno, thrown after HDF5 has closed cleanly.
///
/// Thread safety: a file may be shared between threads/tasks; calls on one file are serialized by a
/// lock (HDF5 itself serializes all calls with one global lock anyway).
///
/// Files are written with the HDF5 1.8 object format as the lower bound (superblock v2 and object
/// headers with checksums) and 1.10 as the upper bound: readable by HDF5 >= 1.10 and h5py.
public final class HDF5File: @unchecked Sendable {
    /// Path the file was opened with.
    public let path: String
    /// The file HDF5 has open: `path`, or the target a symbolic link `path` had when opened.
    private let diskPath: String
    public let isWritable: Bool
    private var fileID: hid_t
    /// For a file open for writing: the descriptor of `path`, opened when the file was, that
    /// `close()` writes the in-memory image to; -1 for read-only files.
    private var imageDescriptor: Int32
    /// For a file open for writing: where HDF5 builds it.
    private let memory: HDF5MemoryImage?
    private let lock = NSRecursiveLock()
    /// Whether the global heaps were checked (see `GlobalHeapCheck`); true for files created here.
    private var globalHeapsVerified: Bool

    private init(path: String, diskPath: String? = nil, fileID: hid_t, imageDescriptor: Int32 = -1, memory: HDF5MemoryImage? = nil,
                 created: Bool) {
        self.path = path
        self.diskPath = diskPath ?? path
        self.fileID = fileID
        self.imageDescriptor = imageDescriptor
        self.memory = memory
        self.isWritable = imageDescriptor >= 0
        self.globalHeapsVerified = created
    }

    deinit { discard() }

    /// Creates (or truncates) the file at `path`, open for writing; nothing is in it until
    /// `close()`. `tracksObjectTimes: false` leaves the times out of the root group's header (see
    /// `HDF5DatasetOptions.tracksObjectTimes`). A file that cannot be created is a `FileWriteError`.
    public static func create(_ path: String, tracksObjectTimes: Bool = true) throws -> HDF5File {
        HDF5ErrorStack.silence()
        let ctx = H5Context(file: path, object: "/")
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileWriteError(path, code: errno) }
        do {
            let memory = HDF5MemoryImage()
            let fapl = try fileAccessList(ctx, memory: memory)
            defer { H5Pclose(fapl) }
            let fcpl = try ctx.check(H5Pcreate(chdf5_p_file_create()), "H5Pcreate")
            defer { H5Pclose(fcpl) }
            if !tracksObjectTimes { try ctx.check(H5Pset_obj_track_times(fcpl, false), "H5Pset_obj_track_times") }
            let id = try ctx.check(H5Fcreate(path, chdf5_acc_trunc(), fcpl, fapl), "H5Fcreate")
            return HDF5File(path: path, fileID: id, imageDescriptor: fd, memory: memory, created: true)
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    /// Opens an existing file, read-only unless `writable` (then read into memory and written
    /// back by `close()`, as for `create`).
    ///
    /// HDF5 looks at a symbolic link twice (stat and open, then readlink and stat again in
    /// H5F__build_actual_name) and fails with "files' st_ino or st_dev fields changed" when the
    /// link is re-pointed in between, which is what a reader of `latest.h5` meets while training
    /// saves (make soak: 6 % of reads). So a link is resolved here and its target opened, and the
    /// link resolved again if it moved while its old target was being opened (pruned, say).
    public static func open(_ path: String, writable: Bool = false) throws -> HDF5File {
        var attempts = 0
        while true {
            let target = resolvedLink(path)
            do {
                return try open(path, target: target, writable: writable)
            } catch {
                attempts += 1
                guard attempts < 8, target != path, resolvedLink(path) != target else { throw error }
            }
        }
    }

    /// The file a symbolic link points at (`path` itself for anything else).
    private static func resolvedLink(_ path: String) -> String {
        var st = stat()
        guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFLNK, let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func open(_ path: String, target: String, writable: Bool) throws -> HDF5File {
        HDF5ErrorStack.silence()
        let ctx = H5Context(file: path, object: "/")
        let memory = writable ? HDF5MemoryImage() : nil
        let fapl = try fileAccessList(ctx, memory: memory)
        defer { H5Pclose(fapl) }
        let id = try ctx.check(H5Fopen(target, writable ? chdf5_acc_rdwr() : chdf5_acc_rdonly(), fapl), "H5Fopen")
        var fd: Int32 = -1
        if writable {
            fd = Glibc.open(target, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else {
                let code = errno
                if H5Fclose(id) < 0 { HDF5ErrorStack.clear() }
                throw FileWriteError(path, code: code)
            }
        }
        return HDF5File(path: path, diskPath: target, fileID: id, imageDescriptor: fd, memory: memory, created: false)
    }

    private static func fileAccessList(_ ctx: H5Context, memory: HDF5MemoryImage?) throws -> hid_t {
        let fapl = try ctx.check(H5Pcreate(chdf5_p_file_access()), "H5Pcreate")
        do {
            try ctx.check(H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V110), "H5Pset_libver_bounds")
            // No flock() on the file. HDF5 locks the descriptor it opens; a child process spawned
            // by another thread at that moment inherits the descriptor and keeps the lock after we
            // close the file, and our next open of the file fails with EAGAIN (seen in the test
            // suite, whose CLI tests spawn binaries while the HDF5 tests run). Writers never share
            // a file here: checkpoints are written to a temporary name and renamed, and a run
            // directory has its own lock file.
            try ctx.check(H5Pset_file_locking(fapl, false, true), "H5Pset_file_locking")
            try memory?.install(on: fapl, ctx)
        } catch {
            H5Pclose(fapl)
            throw error
        }
        return fapl
    }

    /// The root group `/`.
    public var root: HDF5Group { HDF5Group(file: self, path: "/") }

    public var isOpen: Bool {
        lock.lock(); defer { lock.unlock() }
        return fileID >= 0
    }

    /// Writes HDF5's buffered data to disk. For a file open for writing, nothing: it reaches the
    /// disk in `close()` (a flush of the in-memory file would make nothing durable, and it would
    /// change how HDF5 lays out the rest of the file).
    public func flush() throws {
        if memory != nil { return }
        try withFileID(object: "/") { id, ctx in
            try ctx.check(H5Fflush(id, H5F_SCOPE_GLOBAL), "H5Fflush")
        }
    }

    /// Closes the file; a file open for writing is then written to `path` (HDF5 closed first, so
    /// that no disk error happens inside HDF5), and a failed write is a `FileWriteError` with its
    /// errno. Idempotent; later calls on groups/datasets of this file throw `.closed`.
    public func close() throws {
        lock.lock(); defer { lock.unlock() }
        guard fileID >= 0 else { return }
        HDF5ErrorStack.silence()
        let id = fileID
        fileID = -1
        let ctx = H5Context(file: path, object: "/")
        guard let memory, imageDescriptor >= 0 else {
            try ctx.check(H5Fclose(id), "H5Fclose")
            return
        }
        let fd = imageDescriptor
        imageDescriptor = -1
        defer { Glibc.close(fd) }
        try ctx.check(H5Fclose(id), "H5Fclose")
        guard let image = memory.closedImage else { throw ctx.error(.closed, "HDF5 closed the file without handing back its image") }
        var code: Int32?
        if ftruncate(fd, 0) != 0 { code = errno }
        if code == nil { code = FileDescriptor.writeAll(fd, image, name: path) }
        if let code { throw FileWriteError(path, code: code) }
    }

    /// Closes the file without writing anything (error paths of writers; the file at `path` is
    /// left as it was: empty for a created one). Idempotent.
    public func discard() {
        lock.lock(); defer { lock.unlock() }
        if fileID >= 0 {
            HDF5ErrorStack.silence()
            if H5Fclose(fileID) < 0 { HDF5ErrorStack.clear() }
            fileID = -1
        }
        if imageDescriptor >= 0 {
            Glibc.close(imageDescriptor)
            imageDescriptor = -1
        }
    }

    /// Number of HDF5 objects (groups, datasets, datatypes, attributes) currently open in this file,
    /// not counting the file itself. Always 0 between calls unless there is a handle leak.
    public var openObjectCount: Int {
        (try? withFileID(object: "/") { id, _ -> Int in
            let types = UInt32(H5F_OBJ_DATASET | H5F_OBJ_GROUP | H5F_OBJ_DATATYPE | H5F_OBJ_ATTR)
            let n = H5Fget_obj_count(id, types)
            if n < 0 { HDF5ErrorStack.clear(); return -1 }
            return n
        }) ?? 0
    }

    /// HDF5's own descriptor of a file open read-only (the sec2 driver's), so that a check reads
    /// the very file HDF5 has open even if its path was replaced or removed since (a pruned
    /// checkpoint); nil for files open for writing (in memory).
    private func sec2Descriptor() -> Int32? {
        guard memory == nil, fileID >= 0 else { return nil }
        let fapl = H5Fget_access_plist(fileID)
        guard fapl >= 0 else { HDF5ErrorStack.clear(); return nil }
        defer { H5Pclose(fapl) }
        var handle: UnsafeMutableRawPointer?
        guard H5Fget_vfd_handle(fileID, fapl, &handle) >= 0, let handle else { HDF5ErrorStack.clear(); return nil }
        return handle.assumingMemoryBound(to: Int32.self).pointee
    }

    /// Checks the file's global heap collections once, before the first variable-length read, so a
    /// corrupt heap throws `.corrupt` instead of hanging or crashing inside HDF5. Call inside `withFileID`.
    func verifyGlobalHeaps(_ ctx: H5Context) throws {
        lock.lock(); defer { lock.unlock() }
        if globalHeapsVerified { return }
        guard fileID >= 0 else { throw ctx.error(.closed, "file is closed") }
        let fcpl = try ctx.check(H5Fget_create_plist(fileID), "H5Fget_create_plist")
        defer { H5Pclose(fcpl) }
        var sizeofAddr = 0, sizeofSize = 0
        try ctx.check(H5Pget_sizes(fcpl, &sizeofAddr, &sizeofSize), "H5Pget_sizes")
        if [2, 4, 8].contains(sizeofSize),
           let problem = sec2Descriptor().map({ GlobalHeapCheck.validate(descriptor: $0, lengthSize: sizeofSize) })
               ?? GlobalHeapCheck.validate(path: diskPath, lengthSize: sizeofSize) {
            throw ctx.error(.corrupt, problem)
        }
        globalHeapsVerified = true
    }

    /// Runs `body` with the open file id on the calling thread, with error printing silenced and
    /// the file lock held. Throws `.closed` after `close()`.
    @discardableResult
    func withFileID<R>(object: String, _ body: (hid_t, H5Context) throws -> R) throws -> R {
        lock.lock(); defer { lock.unlock() }
        HDF5ErrorStack.silence()
        let ctx = H5Context(file: path, object: object)
        guard fileID >= 0 else { throw ctx.error(.closed, "file is closed") }
        return try body(fileID, ctx)
    }
}

/// Process-wide HDF5 diagnostics (for tests and debugging).
public enum HDF5Diagnostics {
    /// Number of HDF5 identifiers (file, groups, datasets, datatypes, attributes) open anywhere in
    /// the process whose file name is `path` (as passed to `HDF5File.create/open`). 0 after close.
    public static func openHandleCount(path: String) -> Int {
        HDF5ErrorStack.silence()
        let all = hid_t(chdf5_f_obj_all())
        let n = H5Fget_obj_count(all, chdf5_f_obj_all())
        guard n > 0 else { HDF5ErrorStack.clear(); return 0 }
        var ids = [hid_t](repeating: -1, count: n + 64)
        let got = H5Fget_obj_ids(all, chdf5_f_obj_all(), ids.count, &ids)
        guard got > 0 else { HDF5ErrorStack.clear(); return 0 }
        var count = 0
        for id in ids.prefix(got) {
            let len = H5Fget_name(id, nil, 0)
            guard len >= 0 else { HDF5ErrorStack.clear(); continue }  // closed meanwhile
            var buf = [CChar](repeating: 0, count: len + 1)
            guard H5Fget_name(id, &buf, buf.count) >= 0 else { HDF5ErrorStack.clear(); continue }
            let name = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if name == path { count += 1 }
        }
        return count
    }

    /// Whether HDF5's automatic error printing (the `HDF5-DIAG` lines on stderr) is off on the
    /// calling thread. Every wrapper entry point turns it off for its thread.
    public static var errorPrintingSilencedOnCurrentThread: Bool { HDF5ErrorStack.isSilenced }

    /// The linked HDF5 library version, e.g. "1.10.8".
    public static var libraryVersion: String {
        var major: UInt32 = 0, minor: UInt32 = 0, release: UInt32 = 0
        _ = H5get_libversion(&major, &minor, &release)
        return "\(major).\(minor).\(release)"
    }
}
