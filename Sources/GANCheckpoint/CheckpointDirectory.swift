import Foundation
import GANFiles

/// The checkpoints of one stage: `RUN/<stage>/step-%08d.h5`, a `latest.h5` symlink to the newest
/// complete file, optional pins (`best.h5`, ...) that pruning never removes.
///
/// Writes are crash-safe (`AtomicFile`): the file is written as a hidden `.step-%08d.h5.tmp`,
/// flushed, closed, fsynced, renamed into place, and the directory fsynced; the `latest.h5`
/// symlink is replaced by renaming a new symlink `.latest.h5.tmp` over it. A crash at any moment
/// leaves the previous checkpoints intact (and at most a `.tmp` file, which every reader ignores
/// and the next save removes).
public struct CheckpointDirectory {
    public let url: URL
    /// How many step files to keep (>= 1); older ones are deleted unless pinned.
    public var keepLast: Int

    public init(_ url: URL, keepLast: Int = 3) {
        self.url = url
        self.keepLast = max(1, keepLast)
    }

    public static func fileName(step: Int) -> String { String(format: "step-%08d.h5", step) }

    public var latestLink: URL { url.appendingPathComponent("latest.h5") }

    /// Saves atomically, points `latest.h5` at the new file, prunes. Returns the file's URL.
    @discardableResult
    public func save(_ checkpoint: TrainingCheckpoint) throws -> URL {
        try commit(writeTemporary(checkpoint.record()))
    }

    /// The first half of `save` (callable from any thread): writes the checkpoint as the hidden
    /// `.step-%08d.h5.tmp`, which readers ignore. `commit` makes it durable and visible; dropping
    /// the returned file without committing removes it.
    public func writeTemporary(_ checkpoint: RecordedCheckpoint) throws -> AtomicFile {
        try AtomicFile.createDirectory(url.path)
        let file = try AtomicFile(url.appendingPathComponent(Self.fileName(step: checkpoint.step)).path)
        try file.fill { try checkpoint.write(to: $0) }
        return file
    }

    /// The second half of `save` (file-system work only, no HDF5): fsyncs the temporary file,
    /// renames it into place, fsyncs the directory, points latest.h5 at it, prunes.
    @discardableResult
    public func commit(_ file: AtomicFile) throws -> URL {
        try file.commit()
        let final = URL(fileURLWithPath: file.path)
        try pin(final, as: "latest.h5")
        try prune()
        return final
    }

    /// Points `url/<name>` (a symlink, relative) at `file`, atomically.
    public func pin(_ file: URL, as name: String) throws {
        try AtomicFile.symlink(url.appendingPathComponent(name).path, to: file.lastPathComponent)
    }

    /// Complete step files (by name; `.tmp` files excluded), ascending by step.
    public func stepFiles() -> [(step: Int, url: URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.compactMap { n -> (Int, URL)? in
            guard n.hasPrefix("step-"), n.hasSuffix(".h5") else { return nil }
            let digits = n.dropFirst(5).dropLast(3)   // %08d: at least 8 digits, more past step 99,999,999
            guard digits.count >= 8, digits.allSatisfy({ ("0"..."9").contains($0) }), let s = Int(digits) else { return nil }
            return (s, url.appendingPathComponent(n))
        }.sorted { $0.0 < $1.0 }
    }

    /// Files that symlinks in the directory point at (latest, best, ...): never pruned.
    public func pinnedFiles() -> Set<String> {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        var pinned = Set<String>()
        for n in names where !n.hasPrefix(".") {
            if let dest = try? FileManager.default.destinationOfSymbolicLink(atPath: url.appendingPathComponent(n).path) {
                pinned.insert((dest as NSString).lastPathComponent)
            }
        }
        return pinned
    }

    /// Deletes all but the newest `keepLast` step files, except pinned ones, and stale hidden
    /// `.tmp` files (`.step-%08d.h5.tmp`, `.latest.h5.tmp`) left by interrupted writes. Assumes one
    /// writer per directory.
    public func prune() throws {
        let pinned = pinnedFiles()
        let files = stepFiles()
        for (_, f) in files.dropLast(keepLast) where !pinned.contains(f.lastPathComponent) {
            try FileManager.default.removeItem(at: f)
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        for n in names where n.hasPrefix(".") && n.hasSuffix(".tmp") {
            unlink(url.appendingPathComponent(n).path)   // a file or a dangling symlink; never a directory
        }
    }

    /// Opens the newest complete, undamaged checkpoint: `latest.h5`'s target first, then older step
    /// files in descending order. Each skipped file adds a warning naming it and why. Throws when
    /// none can be opened (the error lists the last failure) or the directory has no checkpoint.
    /// A candidate that vanished while it was being opened was pruned by a writer saving at that
    /// moment, not damaged: the directory is listed again (a reader of a live run never fails
    /// for that).
    public func openLatest() throws -> (reader: CheckpointReader, warnings: [String]) {
        var warnings: [String] = []
        var lastError: Error?
        for _ in 0..<8 {
            warnings = []
            var candidates: [URL] = []
            if let dest = try? FileManager.default.destinationOfSymbolicLink(atPath: latestLink.path) {
                candidates.append(url.appendingPathComponent((dest as NSString).lastPathComponent))
            }
            for (_, f) in stepFiles().reversed() where !candidates.contains(f) { candidates.append(f) }
            guard !candidates.isEmpty else { throw CheckpointError(url.path, "/", "no checkpoint in this directory") }
            var pruned = false
            for c in candidates {
                do {
                    let reader = try CheckpointReader(path: c.path)
                    try reader.verifyAllData()
                    return (reader, warnings)
                } catch {
                    lastError = error
                    if !FileManager.default.fileExists(atPath: c.path) {
                        pruned = true
                        break
                    }
                    warnings.append("skipping damaged checkpoint \(error); falling back to the previous one")
                }
            }
            if !pruned { break }
        }
        throw lastError!
    }
}
