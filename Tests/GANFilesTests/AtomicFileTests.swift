import Foundation
@testable import GANFiles
import GANTestSupport
import Testing

@Suite("AtomicFile: crash-safe writes")
struct AtomicFileTests {
    static func contents(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }
    static func listing(_ dir: TempDir) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.url.path).sorted()
    }

    @Test func writesBytesAndLeavesNoTemporaryFile() throws {
        let dir = try TempDir()
        let path = dir.path("a.txt")
        try AtomicFile.write(Array("hello\n".utf8), to: path)
        #expect(try Self.contents(path) == "hello\n")
        #expect(try Self.listing(dir) == ["a.txt"])
        let mode = try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode & 0o600 == 0o600)
    }

    @Test func replacesAnExistingFileAndASymlinkIsReplacedNotFollowed() throws {
        let dir = try TempDir()
        let path = dir.path("a.txt")
        try AtomicFile.write(Array("old".utf8), to: path)
        try AtomicFile.write(Array("new, longer".utf8), to: path)
        #expect(try Self.contents(path) == "new, longer")
        // A stale temporary symlink (say, left by a crash) is removed, never written through.
        let victim = dir.path("victim.txt")
        try AtomicFile.write(Array("keep".utf8), to: victim)
        #expect(symlink(victim, dir.path(".a.txt.tmp")) == 0)
        try AtomicFile.write(Array("third".utf8), to: path)
        #expect(try Self.contents(path) == "third")
        #expect(try Self.contents(victim) == "keep")
        #expect(try Self.listing(dir) == ["a.txt", "victim.txt"])
    }

    @Test func temporaryFileIsHiddenBesideTheDestination() throws {
        let dir = try TempDir()
        let path = dir.path("out.csv")
        var seen: String?
        try AtomicFile.write(to: path) { tmp in
            seen = tmp
            #expect(FileManager.default.fileExists(atPath: tmp), "created before the body runs")
            try Data("1,2\n".utf8).write(to: URL(fileURLWithPath: tmp))
        }
        #expect(seen == dir.path(".out.csv.tmp"))
        #expect(try Self.contents(path) == "1,2\n")
        #expect(AtomicFile.temporaryPath(for: "out.csv") == ".out.csv.tmp")
        #expect(AtomicFile.temporaryPath(for: "/a/b/step-00000300.h5") == "/a/b/.step-00000300.h5.tmp")
    }

    struct BodyFailed: Error {}

    @Test func aThrowingBodyLeavesTheOldFileAndNoTemporaryFile() throws {
        let dir = try TempDir()
        let path = dir.path("data.h5")
        try AtomicFile.write(Array("previous".utf8), to: path)
        #expect(throws: BodyFailed.self) {
            try AtomicFile.write(to: path) { tmp in
                try Data("half a fi".utf8).write(to: URL(fileURLWithPath: tmp))
                throw BodyFailed()
            }
        }
        #expect(try Self.contents(path) == "previous")
        #expect(try Self.listing(dir) == ["data.h5"])
    }

    @Test func discardAndAnUncommittedFileLeaveTheOldFile() throws {
        let dir = try TempDir()
        let path = dir.path("a.bin")
        try AtomicFile.write([1, 2, 3], to: path)
        let file = try AtomicFile(path)
        try file.write([9, 9, 9, 9])
        file.discard()
        file.discard()   // idempotent
        do {
            let abandoned = try AtomicFile(path)
            try abandoned.write([7])
        }   // released without commit
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data([1, 2, 3]))
        #expect(try Self.listing(dir) == ["a.bin"])
    }

    @Test func checksBeforeWritingAreOneLineErrorsNamingTheFile() throws {
        let dir = try TempDir()
        let missing = dir.path("no/such/x.csv")
        let e1 = #expect(throws: FileWriteError.self) { try AtomicFile.write([1], to: missing) }
        #expect(e1?.description == "\(missing): cannot write: directory \(dir.path("no/such")) does not exist")
        #expect(e1?.code == nil && e1?.path == missing)
        try AtomicFile.write([1], to: dir.path("file"))
        let e2 = #expect(throws: FileWriteError.self) { try AtomicFile.write([1], to: dir.path("file/x")) }
        #expect(e2?.description == "\(dir.path("file/x")): cannot write: \(dir.path("file")) is not a directory")
        let e3 = #expect(throws: FileWriteError.self) { try AtomicFile.write([1], to: dir.url.path) }
        #expect(e3?.description == "\(dir.url.path): cannot write: it is a directory")
        let e4 = #expect(throws: FileWriteError.self) { try AtomicFile.write([1], to: "") }
        #expect(e4?.description == "(empty path): cannot write: no file name")
        #expect(try AtomicFile.checkDestination("bare-name.csv") == ".")
        #expect(try Self.listing(dir) == ["file"])
    }

    /// A failing rename (the destination became a directory after the checks) removes the
    /// temporary file and reports the system's reason.
    @Test func aFailedCommitRemovesTheTemporaryFile() throws {
        let dir = try TempDir()
        let path = dir.path("late")
        let file = try AtomicFile(path)
        try file.write(Array("x".utf8))
        try FileManager.default.createDirectory(atPath: path + "/inside", withIntermediateDirectories: true)
        let e = #expect(throws: FileWriteError.self) { try file.commit() }
        #expect(e?.code != nil && e?.path == path)
        #expect(e.map { !$0.description.contains("\n") && $0.description.hasPrefix("\(path): cannot write: ") } == true)
        #expect(try Self.listing(dir) == ["late"])
    }

    /// A temporary file that cannot be created (here a non-empty directory in its place, which
    /// stops root too) fails before anything is written, with the system's reason.
    @Test func aTemporaryFileThatCannotBeCreatedLeavesTheOldFile() throws {
        let dir = try TempDir()
        let path = dir.path("a.txt")
        try AtomicFile.write(Array("old".utf8), to: path)
        try FileManager.default.createDirectory(atPath: dir.path(".a.txt.tmp/x"), withIntermediateDirectories: true)
        let e = #expect(throws: FileWriteError.self) { try AtomicFile.write(Array("new".utf8), to: path) }
        #expect(e?.code == EISDIR && e?.description == "\(path): cannot write: \(String(cString: strerror(EISDIR)))")
        #expect(try Self.contents(path) == "old")
        #expect(try Self.listing(dir) == [".a.txt.tmp", "a.txt"])
    }

    /// Root may write anywhere, so this runs only for other users.
    @Test func anUnwritableDirectoryLeavesTheOldFile() throws {
        guard getuid() != 0 else { return }
        let dir = try TempDir()
        let path = dir.path("a.txt")
        try AtomicFile.write(Array("old".utf8), to: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: dir.url.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.url.path) }
        let e = #expect(throws: FileWriteError.self) { try AtomicFile.write(Array("new".utf8), to: path) }
        #expect(e?.code == EACCES && e?.description == "\(path): cannot write: \(String(cString: strerror(EACCES)))")
        #expect(try Self.contents(path) == "old")
        #expect(try Self.listing(dir) == ["a.txt"])
    }

    @Test func symlinkIsReplacedAtomically() throws {
        let dir = try TempDir()
        let link = dir.path("latest.h5")
        try AtomicFile.symlink(link, to: "step-00000001.h5")
        try AtomicFile.symlink(link, to: "step-00000002.h5")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == "step-00000002.h5")
        #expect(try Self.listing(dir) == ["latest.h5"])
    }

    @Test func directorySync() throws {
        let dir = try TempDir()
        #expect(AtomicFile.sync(dir.url.path) == nil)
        #expect(AtomicFile.sync(".") == nil)
        #expect(AtomicFile.sync(dir.path("missing")) == ENOENT)
    }

    @Test func writeErrorsCarryTheSystemReason() {
        let e = FileWriteError("/mnt/full/x.png", code: ENOSPC)
        #expect(e.description == "/mnt/full/x.png: cannot write: No space left on device")
        #expect(e.code == ENOSPC)
    }
}
