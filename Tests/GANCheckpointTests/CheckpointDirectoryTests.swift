import Foundation
import GANCheckpoint
import GANFiles
import GANHDF5
import GANNN
import GANTestSupport
import Testing

@Suite("Checkpoint directory and layout")
struct CheckpointDirectoryTests {
    static func listing(_ url: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: url.path).sorted()
    }

    static func latestTarget(_ store: CheckpointDirectory) throws -> String {
        try FileManager.default.destinationOfSymbolicLink(atPath: store.latestLink.path)
    }

    @Test func keepsTheNewestStepFilesPlusPinnedOnes() throws {
        let dir = try TempDir()
        let store = CheckpointDirectory(dir.url.appendingPathComponent("run/train"), keepLast: 3)
        let gan = try TestGAN(seed: 1, steps: 1)
        for step in [10, 20, 30, 40, 50, 60] {
            let url = try store.save(gan.checkpoint(step: step))
            #expect(url.lastPathComponent == String(format: "step-%08d.h5", step))
            #expect(try Self.latestTarget(store) == url.lastPathComponent)   // relative symlink
            if step == 20 { try store.pin(store.url.appendingPathComponent("step-00000010.h5"), as: "best.h5") }
        }
        #expect(try Self.listing(store.url) == ["best.h5", "latest.h5", "step-00000010.h5", "step-00000040.h5",
                                                "step-00000050.h5", "step-00000060.h5"])
        #expect(store.stepFiles().map(\.step) == [10, 40, 50, 60])
        #expect(store.pinnedFiles() == ["step-00000010.h5", "step-00000060.h5"])
        let best = try CheckpointReader(path: store.url.appendingPathComponent("best.h5").path)
        #expect(best.step == 10)
        best.close()
        let (r, warnings) = try store.openLatest()
        #expect(r.step == 60 && warnings.isEmpty)
        r.close()
        // Moving the pin releases the old file at the next prune.
        try store.pin(store.url.appendingPathComponent("step-00000050.h5"), as: "best.h5")
        try store.prune()
        #expect(store.stepFiles().map(\.step) == [40, 50, 60])
        // keepLast 1 keeps the newest and the pins.
        try CheckpointDirectory(store.url, keepLast: 1).prune()
        #expect(store.stepFiles().map(\.step) == [50, 60])
    }

    /// The background writer copies the checkpoint at `save` and writes the file later: training
    /// on right after `save` (here: more steps, then every weight overwritten) must not reach the file.
    @Test func backgroundWriterSavesTheStateAtSaveTimeWhileTrainingGoesOn() throws {
        let dir = try TempDir()
        let store = CheckpointDirectory(dir.url, keepLast: 3)
        let gan = try TestGAN(seed: 4, steps: 2)
        func values(_ n: Sequential) -> [Float] { n.parameters.flatMap { $0.value.array } }
        let want = values(gan.generator) + values(gan.discriminator)
        let writer = BackgroundCheckpointWriter(store)
        let url = try writer.save(gan.checkpoint(step: 7))
        let real = Tensor(shape: [10, 12])
        real.fill(0.5)
        for step in 2..<5 {
            _ = gan.trainer.discriminatorStep(real: real, step: step)
            _ = gan.trainer.generatorStep(batchSize: 10, real: real, step: step)
        }
        for p in gan.generator.parameters + gan.discriminator.parameters { p.value.fill(.nan) }
        try writer.wait()
        let r = try CheckpointReader(path: url.path)
        defer { r.close() }
        let g = try r.buildNetwork("generator"), d = try r.buildNetwork("discriminator")
        let got = values(g) + values(d)
        #expect(got.count == want.count)
        #expect(zip(got, want).allSatisfy { $0.bitPattern == $1.bitPattern }, "the file holds the weights as they were at save")
        #expect(r.step == 7)
    }

    /// A full disk (or an I/O error) in the middle of a background save: `wait()` (the next save,
    /// or the end of training) rethrows it as a `FileWriteError` naming the checkpoint; no
    /// temporary file is left, latest.h5 stays on the previous checkpoint, no HDF5 handle is left
    /// behind, and the writer saves again once the disk is writable.
    @Test(arguments: [ENOSPC, EIO])
    func aFailedBackgroundSaveLeavesThePreviousCheckpoint(code: Int32) throws {
        let dir = try TempDir()
        let store = CheckpointDirectory(dir.url, keepLast: 3)
        let gan = try TestGAN(seed: 5, steps: 1)
        let writer = BackgroundCheckpointWriter(store)
        try writer.save(gan.checkpoint(step: 1))
        let seam = dir.path("step-00000002.h5")   // its temporary file counts as the checkpoint
        WriteFaults.install(.init(.fail(errno: code), nth: 1, name: seam))
        defer { WriteFaults.remove(name: seam) }
        let url = try writer.save(gan.checkpoint(step: 2))
        #expect(throws: FileWriteError(url.path, code: code)) { try writer.wait() }
        #expect(try Self.listing(store.url) == ["latest.h5", "step-00000001.h5"])
        #expect(try Self.latestTarget(store) == "step-00000001.h5")
        #expect(HDF5Diagnostics.openHandleCount(path: dir.path(".step-00000002.h5.tmp")) == 0)
        try writer.save(gan.checkpoint(step: 3))
        try writer.wait()
        #expect(try Self.latestTarget(store) == "step-00000003.h5")
        try loadEverything(store.url.appendingPathComponent("step-00000003.h5").path, like: gan)
    }

    /// Readers of a live run: `latest.h5` (or the directory) opened while a writer saves and
    /// prunes as fast as it can (keep_last 1) never fails. HDF5 alone failed ~6 % of such opens of
    /// the link ("files' st_ino or st_dev fields changed"), and a directory reader could meet a
    /// file pruned under it.
    @Test func readersOfALiveRunNeverFail() throws {
        let dir = try TempDir()
        let store = CheckpointDirectory(dir.url, keepLast: 1)
        let gan = try TestGAN(seed: 6, steps: 1)
        try store.save(gan.checkpoint(step: 0))
        let records = try (1...150).map { step in
            var c = gan.checkpoint(step: step)
            c.step = step
            return try c.record()
        }
        let done = Mutex2(false), failures = Mutex2([String]())
        nonisolated(unsafe) let writing = store   // one thread saves, the others only read the directory
        let writer = Thread {
            for record in records {
                do { try writing.commit(writing.writeTemporary(record)) } catch { failures.set(failures.get() + ["save: \(error)"]) }
            }
            done.set(true)
        }
        writer.start()
        var reads = 0
        while !done.get() || reads < 20 {
            do {
                let r = try CheckpointReader(path: store.latestLink.path)
                r.close()
                let (d, _) = try store.openLatest()
                d.close()
            } catch {
                failures.set(failures.get() + ["read \(reads): \(error)"])
            }
            reads += 1
        }
        #expect(failures.get().isEmpty, "\(failures.get().prefix(3))")
    }

    @Test func leftoverTemporaryFilesAreIgnoredAndRemovedByTheNextSave() throws {
        let dir = try TempDir()
        let store = CheckpointDirectory(dir.url, keepLast: 3)
        let gan = try TestGAN(seed: 2, steps: 1)
        try store.save(gan.checkpoint(step: 1))
        try store.save(gan.checkpoint(step: 2))
        // What an interrupted save leaves: a partial hidden file, and a half-made latest symlink.
        let tmp = store.url.appendingPathComponent(".step-00000099.h5.tmp")
        try writeBytes(try readBytes(store.url.appendingPathComponent("step-00000002.h5").path).prefix(3000), tmp.path)
        #expect(symlink("step-00000099.h5", store.url.appendingPathComponent(".latest.h5.tmp").path) == 0)
        #expect(store.stepFiles().map(\.step) == [1, 2])
        let (r, warnings) = try store.openLatest()
        #expect(r.step == 2 && warnings.isEmpty)
        r.close()
        try store.save(gan.checkpoint(step: 3))
        #expect(try Self.listing(store.url) == ["latest.h5", "step-00000001.h5", "step-00000002.h5", "step-00000003.h5"])
    }

    @Test func openLatestFallsBackToThePreviousCompleteCheckpoint() throws {
        let dir = try TempDir()
        let store = CheckpointDirectory(dir.url, keepLast: 5)
        let gan = try TestGAN(seed: 3, steps: 1)
        for step in 1...4 { try store.save(gan.checkpoint(step: step)) }
        func file(_ step: Int) -> String { store.url.appendingPathComponent(CheckpointDirectory.fileName(step: step)).path }

        // Newest truncated (a crash after the rename but before the data reached the disk).
        let newest = try readBytes(file(4))
        try writeBytes(newest.prefix(newest.count / 2), file(4))
        var (r, warnings) = try store.openLatest()
        #expect(r.step == 3 && warnings.count == 1)
        r.close()
        let warning = try #require(warnings.first)
        #expect(warning.hasPrefix("skipping damaged checkpoint \(file(4)): ") && warning.hasSuffix("; falling back to the previous one"))
        #expect(!warning.contains("\n"), "\(warning)")

        // Next one: a flipped byte inside a weight (found by verifyAllData's checksums).
        var bytes = try readBytes(file(3))
        let w = gan.generator.parameters[0].value.array
        let at = try #require(bytes.range(of: w[40..<48].withUnsafeBytes { Data($0) })).lowerBound
        bytes[at + 2] ^= 0x80
        try writeBytes(bytes, file(3))
        // And the one before: no completeness marker.
        let f = try HDF5File.open(file(2), writable: true)
        try f.root.removeAttribute("complete")
        try f.close()
        (r, warnings) = try store.openLatest()
        #expect(r.step == 1 && warnings.count == 3)
        r.close()
        for (w, step) in zip(warnings, [4, 3, 2]) { #expect(w.contains(file(step)) && !w.contains("\n"), "\(w)") }
        #expect(warnings[2].contains("incomplete checkpoint"))

        // Nothing left: the error names the last file tried.
        try writeBytes(Data(), file(1))
        let e = #expect(throws: (any Error).self) { try store.openLatest() }
        expectOneLineError(e, naming: file(1))
    }

    @Test func emptyOrMissingDirectoryIsAClearError() throws {
        let dir = try TempDir()
        for url in [dir.url, dir.url.appendingPathComponent("never-created")] {
            let e = #expect(throws: CheckpointError.self) { try CheckpointDirectory(url).openLatest() }
            #expect(e?.description == "\(url.path): /: no checkpoint in this directory")
        }
        try writeBytes(Data("x".utf8), dir.path(".step-00000001.h5.tmp"))   // only a leftover
        let e = #expect(throws: CheckpointError.self) { try CheckpointDirectory(dir.url).openLatest() }
        #expect(e?.message == "no checkpoint in this directory")
    }

    @Test func stepFileNamesAreParsedStrictlyAndSortedNumerically() throws {
        let dir = try TempDir()
        let store = CheckpointDirectory(dir.url, keepLast: 2)
        let gan = try TestGAN(seed: 4, steps: 1)
        for name in ["step-0000001.h5", "step-+0000001.h5", "step-abcdefgh.h5", "step-00000001.h5.bak", "notes.txt"] {
            try writeBytes(Data("x".utf8), dir.path(name))
        }
        try store.save(gan.checkpoint(step: 99_999_999))
        try store.save(gan.checkpoint(step: 100_000_000))   // nine digits
        #expect(store.stepFiles().map(\.step) == [99_999_999, 100_000_000])
        // An older step saved later (a stage restarted in the same directory): latest.h5 follows
        // the save, and pins the file against pruning by step order.
        try store.save(gan.checkpoint(step: 7))
        #expect(store.stepFiles().map(\.step) == [7, 99_999_999, 100_000_000])
        #expect(try Self.latestTarget(store) == "step-00000007.h5")
        let (r, warnings) = try store.openLatest()
        #expect(r.step == 7 && warnings.isEmpty)
        r.close()
        #expect(FileManager.default.fileExists(atPath: dir.path("notes.txt")))
    }
}
