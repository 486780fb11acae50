import Foundation

/// Saves checkpoints without stalling training: `save` only copies the checkpoint's contents into
/// memory (`TrainingCheckpoint.record()`: the tensors, states and history; tens of microseconds
/// for the toy networks, a few milliseconds for dcgan28), then a background queue writes the HDF5
/// file and does the file-system half of `CheckpointDirectory.save` (fsync, rename, directory
/// fsync, latest.h5, pruning). Writing a toy checkpoint's ~40 datasets with their checksums costs
/// HDF5 5-10 ms of CPU, 2-5 % of toy_1d's training time at the default 500-step interval when it
/// ran on the training thread.
///
/// Debian's HDF5 is built thread-safe (one global lock; ../shared/platform-notes.md), and every
/// wrapper entry point silences HDF5's per-thread error printing, so the queue's HDF5 calls may
/// overlap the caller's. At most one save is in flight: `save` first waits for the previous one.
/// Call `wait()` before anything that needs the file in place (pinning it, reporting it,
/// exiting); it rethrows a failed write or commit. A crash before the commit finishes leaves at
/// most a `.tmp` file, which readers ignore: earlier checkpoints are never touched.
public final class BackgroundCheckpointWriter: @unchecked Sendable {
    public let store: CheckpointDirectory
    private let queue = DispatchQueue(label: "swiftgan.checkpoint-writer")
    private let group = DispatchGroup()
    private let lock = NSLock()
    private var failure: Error?

    public init(_ store: CheckpointDirectory) { self.store = store }

    deinit { group.wait() }

    /// Records `checkpoint` and starts writing and committing it; returns the URL it has once
    /// `wait()` returns.
    @discardableResult
    public func save(_ checkpoint: TrainingCheckpoint) throws -> URL {
        try wait()
        let recorded = try checkpoint.record()
        let step = checkpoint.step
        group.enter()
        queue.async {
            defer { self.group.leave() }
            do {
                try self.store.commit(self.store.writeTemporary(recorded))
            } catch {
                self.lock.lock(); self.failure = error; self.lock.unlock()
            }
        }
        return store.url.appendingPathComponent(CheckpointDirectory.fileName(step: step))
    }

    /// Blocks until the last save is in place and durable; throws its error if it failed.
    public func wait() throws {
        group.wait()
        lock.lock()
        let e = failure
        failure = nil
        lock.unlock()
        if let e { throw e }
    }
}
