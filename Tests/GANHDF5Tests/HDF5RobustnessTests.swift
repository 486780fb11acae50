import Foundation
import GANFiles
import GANHDF5
import GANTestSupport
import Testing

@Suite("HDF5 bad files, handles, tools, concurrency")
struct HDF5RobustnessTests {
    @Test func garbageEmptyAndMissingFiles() throws {
        let dir = try TempDir()
        let garbage = dir.path("garbage.h5")
        var rng = SystemRandomNumberGenerator()
        try Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }).write(to: URL(fileURLWithPath: garbage))
        let empty = dir.path("empty.h5")
        try Data().write(to: URL(fileURLWithPath: empty))
        let text = dir.path("config.yaml")
        try Data("model: dcgan\n".utf8).write(to: URL(fileURLWithPath: text))
        for path in [garbage, empty, text, dir.path("missing.h5"), dir.url.path] {
            let e = #expect(throws: HDF5Error.self) { try HDF5File.open(path) }
            checkFileError(e, path: path)
            #expect(e?.kind == .library && e?.operation == "H5Fopen")
            #expect(HDF5Diagnostics.openHandleCount(path: path) == 0)
        }
        let e = try #require(#expect(throws: HDF5Error.self) { try HDF5File.open(garbage) })
        #expect(e.description.hasPrefix("\(garbage): /: H5Fopen failed: "))
        // Creating in a missing directory fails cleanly too: a write that failed with its errno.
        let nodir = dir.path("no/such/dir/x.h5")
        #expect(throws: FileWriteError(nodir, code: ENOENT)) { try HDF5File.create(nodir) }
    }

    @Test(arguments: [0.001, 0.1, 0.5, 0.9, 0.99])
    func truncatedFiles(fraction: Double) throws {
        let dir = try TempDir()
        let good = dir.path("good.h5")
        try writeSampleFile(good)
        try readEverything(good)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        let cut = dir.path("cut-\(fraction).h5")
        try bytes.prefix(Int(Double(bytes.count) * fraction)).write(to: URL(fileURLWithPath: cut))
        let e = #expect(throws: HDF5Error.self) { try readEverything(cut) }
        checkFileError(e, path: cut)
        #expect(HDF5Diagnostics.openHandleCount(path: cut) == 0)
    }

    @Test func flippedByteInFloatDatasetIsDetected() throws {
        let dir = try TempDir()
        let path = dir.path("flip.h5")
        let n = 300_000   // 1.2 MB: two chunks
        let values = (0..<n).map { Float($0) * 0.25 + 1 }
        do {
            let f = try HDF5File.create(path)
            try f.root.write("other", values: [Float](repeating: 3, count: 100))
            try f.root.write("weights", shape: [n], values: values)
            try f.close()
        }
        try readEverything(path)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        // Locate the middle of the dataset's raw bytes by searching for a run of known values.
        let marker = values[(n / 2)..<(n / 2 + 8)].withUnsafeBytes { Data($0) }
        let range = try #require(bytes.range(of: marker))
        #expect(bytes.range(of: marker, in: range.upperBound..<bytes.count) == nil)
        bytes[range.lowerBound + 5] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: path))

        let f = try HDF5File.open(path)   // metadata is intact
        #expect(try f.root.readFloats("other").values.count == 100)
        let e = #expect(throws: HDF5Error.self) { try f.root.readFloats("weights") }
        checkFileError(e, path: path)
        #expect(e?.object == "/weights" && e?.operation == "H5Dread")
        #expect(e?.message.localizedCaseInsensitiveContains("fletcher32") == true)
        var buffer = [Float](repeating: 0, count: n)
        let e2 = #expect(throws: HDF5Error.self) {
            try buffer.withUnsafeMutableBufferPointer { b in try f.root.read("weights", shape: [n]) { b.baseAddress! } }
        }
        checkFileError(e2, path: path)
        #expect(f.openObjectCount == 0)
        try f.close()
        #expect(HDF5Diagnostics.openHandleCount(path: path) == 0)
    }

    /// String attributes live in HDF5's global heap, which has no checksum. With HDF5 1.10.8, one
    /// flipped byte in a heap object's size field made H5Aread loop forever or segfault; the
    /// wrapper's GlobalHeapCheck must turn every such flip into a thrown error.
    @Test func corruptGlobalHeapThrowsInsteadOfHangingOrCrashing() throws {
        let dir = try TempDir()
        let good = dir.path("heap.h5")
        try writeSampleFile(good)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        let heap = try #require(bytes.range(of: Data("GCOL".utf8))).lowerBound
        // Collection header (16 bytes), object 1 ("gan-checkpoint": 16 + 16 bytes), free-space header.
        var thrown = 0
        for delta in 0..<64 {
            var b = bytes
            b[heap + delta] ^= 0xFF
            let path = dir.path("flip\(delta).h5")
            try b.write(to: URL(fileURLWithPath: path))
            do {
                try readEverything(path)
            } catch {
                checkFileError(error, path: path)
                thrown += 1
            }
        }
        #expect(thrown >= 16)
        // The two measured hangs (object 1 size, free-space size) and a crash (object 1 size high byte).
        for delta in [24, 31, 56] {
            var b = bytes
            b[heap + delta] ^= 0xFF
            let path = dir.path("hang\(delta).h5")
            try b.write(to: URL(fileURLWithPath: path))
            let e = #expect(throws: HDF5Error.self) { try HDF5File.open(path).root.stringAttribute("format") }
            #expect(e?.kind == .corrupt)
            #expect(e?.description.hasPrefix("\(path): / (attribute 'format'): global heap collection at byte \(heap) is corrupt") == true)
        }
        // A string that itself contains "GCOL" is not mistaken for a heap header.
        let tricky = dir.path("tricky.h5")
        let f = try HDF5File.create(tricky)
        try f.root.setAttribute("a", "GCOL\u{1}")
        try f.root.setAttribute("b", "xGCOL\u{1}\u{2}GCOL")
        try f.close()
        let r = try HDF5File.open(tricky)
        #expect(try r.root.stringAttribute("a") == "GCOL\u{1}")
        #expect(try r.root.stringAttribute("b") == "xGCOL\u{1}\u{2}GCOL")
        try r.close()
    }

    @Test func errorPrintingIsSilencedOnEveryThread() throws {
        let dir = try TempDir()
        let path = dir.path("garbage.h5")
        try Data(repeating: 0x41, count: 1000).write(to: URL(fileURLWithPath: path))
        // A fresh thread has HDF5's default (printing) handler until a wrapper entry point runs there.
        let result = Mutex2<[Bool]>([])
        let thread = Thread {
            let before = HDF5Diagnostics.errorPrintingSilencedOnCurrentThread
            let threw = (try? HDF5File.open(path)) == nil
            let after = HDF5Diagnostics.errorPrintingSilencedOnCurrentThread
            result.set([before, threw, after])
        }
        thread.start()
        while result.get().isEmpty { usleep(1000) }
        #expect(result.get() == [false, true, true])
    }

    @Test func noHandleLeaks() throws {
        let dir = try TempDir()
        let path = dir.path("leaks.h5")
        let f = try HDF5File.create(path)
        #expect(HDF5Diagnostics.openHandleCount(path: path) == 1)   // the file itself
        let g = try f.root.createGroup("a/b")
        try g.write("w", shape: [10, 10], values: [Float](repeating: 1, count: 100))
        try g.setAttribute("s", "x")
        try g.dataset("w").setAttribute("n", 1)
        _ = try g.readFloats("w")
        _ = try g.childNames()
        _ = try g.dataset("w").attributeNames()
        _ = try f.root.attribute("nope")
        _ = try? f.root.group("a/b/w")            // failures must not leak either
        _ = try? g.read("w", as: UInt8.self)
        var three: [Float] = [0, 0, 0]
        _ = try? three.withUnsafeMutableBufferPointer { b in try g.read("w", shape: [3]) { b.baseAddress! } }
        _ = try? g.write("w", values: [Float(1)])
        _ = try? g.intAttribute("s")
        _ = f.root.contains("a/b/w/x")
        #expect(f.openObjectCount == 0)
        #expect(HDF5Diagnostics.openHandleCount(path: path) == 1)
        try f.flush()
        try f.close()
        try f.close()   // idempotent
        #expect(!f.isOpen)
        #expect(HDF5Diagnostics.openHandleCount(path: path) == 0)
        let e = #expect(throws: HDF5Error.self) { try g.readFloats("w") }
        #expect(e?.kind == .closed && e?.description == "\(path): /a/b: file is closed")
        #expect(!g.contains("w"))

        // deinit closes a file that was never closed explicitly.
        do {
            let r = try HDF5File.open(path)
            #expect(try r.root.group("a/b").readFloats("w").values.count == 100)
            #expect(HDF5Diagnostics.openHandleCount(path: path) == 1)
        }
        #expect(HDF5Diagnostics.openHandleCount(path: path) == 0)
    }

    @Test(.enabled(if: findTool("h5dump") != nil, "h5dump (hdf5-tools) is not installed"))
    func h5dumpListsTheContents() throws {
        let dir = try TempDir()
        let path = dir.path("dump.h5")
        try writeSampleFile(path)
        let f = try HDF5File.open(path, writable: true)
        try f.root.write("big", shape: [1000, 784], values: [Float](repeating: 0.5, count: 784_000), gzipLevel: 6)
        try f.root.setAttribute("yaml", "a: 1\nb: ü\n")
        try f.close()

        let out = try runTool(findTool("h5dump")!, ["-H", "-p", path])
        for needle in ["GROUP \"/\"", "GROUP \"generator\"", "DATASET \"w1\"", "DATASET \"b1\"", "GROUP \"rng\"",
                       "DATASET \"state\"", "GROUP \"history\"", "DATASET \"loss\"", "DATASET \"images\"",
                       "H5T_IEEE_F32LE", "H5T_IEEE_F64LE", "H5T_STD_U64LE", "H5T_STD_U8LE",
                       "ATTRIBUTE \"format\"", "H5T_CSET_UTF8", "STRSIZE H5T_VARIABLE", "ATTRIBUTE \"step\"",
                       "H5T_STD_I64LE", "CHECKSUM FLETCHER32", "CHUNKED ( 334, 784 )", "DEFLATE { LEVEL 6 }",
                       "SIMPLE { ( 64, 100 ) / ( 64, 100 ) }"] {
            #expect(out.contains(needle), "h5dump output lacks \(needle)")
        }
        // And the data itself dumps.
        let data = try runTool(findTool("h5dump")!, ["-d", "/rng/state", path])
        #expect(data.contains("18446744073709551615"))
    }

    /// HDF5's own flock is off (`H5Pset_file_locking`): a lock held through a descriptor that a
    /// concurrently spawned child inherited made a later open of the same file fail with EAGAIN.
    @Test func openFilesHoldNoFlock() throws {
        let dir = try TempDir()
        let path = dir.path("locked.h5")
        let f = try HDF5File.create(path)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        #expect(fd >= 0)
        defer { close(fd) }
        #expect(flock(fd, LOCK_EX | LOCK_NB) == 0, "an HDF5 file open for writing holds a flock")
        _ = flock(fd, LOCK_UN)
        try f.close()
        let r = try HDF5File.open(path)
        #expect(flock(fd, LOCK_EX | LOCK_NB) == 0, "an HDF5 file open for reading holds a flock")
        try r.close()
    }

    @Test func concurrentFilesAndSharedReaders() async throws {
        let dir = try TempDir()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<8 {
                group.addTask {
                    let path = dir.path("c\(i).h5")
                    let values = (0..<50_000).map { Float($0 + i) }
                    let f = try HDF5File.create(path)
                    try f.root.createGroup("g").write("w", shape: [500, 100], values: values)
                    try f.root.setAttribute("i", i)
                    _ = try? f.root.readFloats("missing")   // errors on many threads at once
                    try f.close()
                    let r = try HDF5File.open(path)
                    #expect(try r.root.readFloats("g/w").values == values)
                    #expect(try r.root.intAttribute("i") == Int64(i))
                    try r.close()
                    #expect(HDF5Diagnostics.openHandleCount(path: path) == 0)
                }
            }
            try await group.waitForAll()
        }
        // One file shared by several tasks.
        let shared = dir.path("shared.h5")
        try writeSampleFile(shared)
        let f = try HDF5File.open(shared)
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<6 {
                group.addTask { try f.root.group("generator").readFloats("w1").values.count }
            }
            for try await n in group { #expect(n == 6400) }
        }
        #expect(f.openObjectCount == 0)
        try f.close()
    }
}
