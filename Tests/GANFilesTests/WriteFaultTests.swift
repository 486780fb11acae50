import Foundation
@testable import GANFiles
import GANTestSupport
import Testing

/// The I/O-failure guarantee at its seam: a write that fails in a system call (a full disk, an I/O
/// error, a read-only file system, no permission) is a `FileWriteError` naming the destination
/// with its errno and exit code 74, removes the temporary file and leaves the previous file.
/// `WriteFaults` makes the N-th write fail on demand, scoped to each test's own directory.
@Suite("Write failures: the errno seam and what a failed write leaves")
struct WriteFaultTests {
    static func listing(_ dir: TempDir) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.url.path).sorted()
    }

    @Test(arguments: [ENOSPC, EIO, EACCES, EROFS])
    func theNthWriteFailsAndTheOldFileStays(code: Int32) throws {
        let dir = try TempDir()
        WriteFaults.install(.init(.fail(errno: code), nth: 2, name: dir.url.path))
        defer { WriteFaults.remove(name: dir.url.path) }
        let path = dir.path("metrics.json")
        try AtomicFile.write(Array("first".utf8), to: path)   // write 1
        let e = try #require(#expect(throws: FileWriteError.self) { try AtomicFile.write(Array("second".utf8), to: path) })
        #expect(e.code == code && e.path == path && e.isIOFailure)
        #expect(e.description == "\(path): cannot write: \(String(cString: strerror(code)))")
        #expect(e.isOutOfSpace == (code == ENOSPC))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "first")
        #expect(try Self.listing(dir) == ["metrics.json"], "the temporary file is removed")
        try AtomicFile.write(Array("third".utf8), to: path)   // write 3: the seam fired once
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "third")
    }

    /// A library writing the temporary file by path (HDF5 does) reports the temporary name;
    /// `fill` renames it to the destination, so no message ever names `.NAME.tmp`.
    @Test func aLibraryErrorOnTheTemporaryFileNamesTheDestination() throws {
        let dir = try TempDir()
        let path = dir.path("data.h5")
        let e = #expect(throws: FileWriteError.self) {
            try AtomicFile.write(to: path) { tmp in throw FileWriteError(tmp, code: ENOSPC) }
        }
        #expect(e == FileWriteError(path, code: ENOSPC))
        #expect(try Self.listing(dir).isEmpty)
    }

    /// Rules name the files users see: a temporary `.NAME.tmp` (HDF5 writes through one) counts
    /// as NAME.
    @Test func aTemporaryFileCountsAsItsDestination() {
        #expect(WriteFaults.destination(of: "/run/train/.step-00000300.h5.tmp") == "/run/train/step-00000300.h5")
        #expect(WriteFaults.destination(of: ".data.h5.tmp") == "data.h5")
        for path in ["/run/train/step-00000300.h5", "/a/.tmp", "/a/.hidden", "standard output"] {
            #expect(WriteFaults.destination(of: path) == path)
        }
    }

    @Test func rulesParseFromTheEnvironmentSyntax() {
        #expect(WriteFaults.Rule.parse("3", failing: true) == .init(.fail(errno: ENOSPC), nth: 3))
        #expect(WriteFaults.Rule.parse("2:EIO@step-", failing: true) == .init(.fail(errno: EIO), nth: 2, name: "step-"))
        #expect(WriteFaults.Rule.parse("1:30@data.h5", failing: true) == .init(.fail(errno: 30), nth: 1, name: "data.h5"))
        #expect(WriteFaults.Rule.parse("4@step-", failing: false) == .init(.pause, nth: 4, name: "step-"))
        for bad in ["", "0", "-1", "x", "2:ENOPE", "2:EIO:3"] { #expect(WriteFaults.Rule.parse(bad, failing: true) == nil, "\(bad)") }
        #expect(WriteFaults.Rule.parse("2:EIO", failing: false) == nil)
    }

    /// `mkdir -p` for writers' own directories: existing directories are fine, a file in the way
    /// or a failing mkdir is a `FileWriteError` like any failed write.
    @Test func createDirectoryIsMkdirP() throws {
        let dir = try TempDir()
        let deep = dir.path("a/b/c")
        try AtomicFile.createDirectory(deep)
        try AtomicFile.createDirectory(deep)
        var isDir: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: deep, isDirectory: &isDir) && isDir.boolValue)
        try AtomicFile.write([1], to: dir.path("file"))
        let e1 = #expect(throws: FileWriteError.self) { try AtomicFile.createDirectory(dir.path("file")) }
        #expect(e1?.code == nil)
        let e2 = #expect(throws: FileWriteError.self) { try AtomicFile.createDirectory(dir.path("file/sub")) }
        #expect(e2?.code == ENOTDIR && e2?.isIOFailure == true)
    }
}
