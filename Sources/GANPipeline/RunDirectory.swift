import Foundation
import GANCheckpoint
import GANDistributed
import GANFiles

/// A run directory `RUN/`: `config.yaml` (the resolved configuration), `data.h5` (prep),
/// `pretrain-d/` and `train/` checkpoints, `eval/` outputs, and `.lock` while a process owns it.
public struct RunDirectory {
    public let url: URL

    public init(_ url: URL) { self.url = url }

    public var configFile: URL { url.appendingPathComponent("config.yaml") }
    public var dataFile: URL { url.appendingPathComponent("data.h5") }
    public var evalDirectory: URL { url.appendingPathComponent("eval") }
    public var lockFile: URL { url.appendingPathComponent(".lock") }

    /// The checkpoint directory of a stage (`RUN/pretrain-d/`, `RUN/train/`).
    public func stage(_ stage: Stage, keepLast: Int = 3) -> CheckpointDirectory {
        CheckpointDirectory(url.appendingPathComponent(stage.rawValue), keepLast: keepLast)
    }

    public var exists: Bool { FileManager.default.fileExists(atPath: url.path) }

    /// Whether anything a run writes is present (config, data or checkpoints).
    public var hasRunState: Bool { FileManager.default.fileExists(atPath: configFile.path) || hasStageOutput }

    /// Whether a stage has produced output (prepared data or checkpoints).
    public var hasStageOutput: Bool {
        FileManager.default.fileExists(atPath: dataFile.path)
            || Stage.checkpointed.contains { !stage($0).stepFiles().isEmpty }
    }

    /// `--fresh`: moves the old run aside to `RUN.old-<UTC time>` (never deletes it). Returns where.
    public func moveAside(now: Date = Date()) throws -> URL? {
        guard exists else { return nil }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        var target = URL(fileURLWithPath: url.path + ".old-" + f.string(from: now))
        var n = 1
        while FileManager.default.fileExists(atPath: target.path) {
            n += 1
            target = URL(fileURLWithPath: url.path + ".old-" + f.string(from: now) + "-\(n)")
        }
        try FileManager.default.moveItem(at: url, to: target)
        return target
    }

    /// Takes the run's lock (an exclusive `flock` on `RUN/.lock`, which holds the owner's pid).
    /// Throws `PipelineError.locked` naming the holder's pid when another process has it. The lock
    /// is released when the returned object is released or the process exits (even on SIGKILL).
    public func lock() throws -> RunLock {
        try AtomicFile.createDirectory(url.path)
        let fd = open(lockFile.path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else { throw FileWriteError(lockFile.path, code: errno) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            var buf = [UInt8](repeating: 0, count: 32)
            let n = read(fd, &buf, 31)
            close(fd)
            let pid = n > 0 ? String(decoding: buf[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            throw PipelineError.locked(url.path, pid: pid)
        }
        ftruncate(fd, 0)
        let text = "\(getpid())\n"
        _ = text.withCString { write(fd, $0, strlen($0)) }
        return RunLock(fd: fd)
    }
}

/// Holds a run directory's lock until released.
public final class RunLock {
    private var fd: Int32
    init(fd: Int32) { self.fd = fd }
    public func release() {
        if fd >= 0 { flock(fd, LOCK_UN); close(fd); fd = -1 }
    }
    deinit { release() }
}

/// Errors of the pipeline runner. Each prints as one line; `exitCode` follows the design:
/// 1 run failed (diverged), 2 bad input or state, 74 a write failed (`FileWriteError`), 130
/// interrupted.
public enum PipelineError: Error, CustomStringConvertible {
    case locked(String, pid: String)
    case io(String, String)
    case config(String)
    case changedConfig(String, key: String, stored: String, requested: String)
    case diverged(stage: Stage, step: Int, what: String, lastCheckpoint: String?)
    case interrupted(stage: Stage, step: Int, checkpoint: String)
    case badState(String)

    public var description: String {
        switch self {
        case .locked(let dir, let pid):
            "\(dir): run directory is in use by process \(pid) (lock file .lock); wait for it or stop it"
        case .io(let path, let msg): "\(path): \(msg)"
        case .config(let msg): msg
        case .changedConfig(let dir, let key, let stored, let requested):
            "\(dir): \(key) differs from the stored run (\(stored) -> \(requested)); this key cannot change on resume: use --fresh to start over"
        case .diverged(let stage, let step, let what, let last):
            "\(stage.rawValue): \(what) at step \(step); stopped" + (last.map { ", last good checkpoint \($0)" } ?? "")
        case .interrupted(let stage, let step, let path):
            "\(stage.rawValue): interrupted at step \(step); checkpoint written to \(path)"
        case .badState(let msg): msg
        }
    }

    public var exitCode: Int32 {
        switch self {
        case .diverged: 1
        case .interrupted: 130
        default: 2
        }
    }

    /// Any error a pipeline run can end with, as its exit code and one line: a `PipelineError`'s
    /// own code, a failure agreed by the ranks of an MPI job with its rank's code, 74 for a write
    /// that failed in a system call (with what to do: every write is atomic and every stage
    /// resumes, so fixing the disk and rerunning loses nothing), 2 (bad input or state) for
    /// everything else.
    public static func describe(_ error: Error) -> (code: Int32, message: String) {
        switch error {
        case let e as PipelineError: (e.exitCode, e.description)
        case let e as RankFailure: (e.code, e.description)
        case let e as FileWriteError where e.isIOFailure:
            (FileWriteError.ioFailureExitCode,
             "\(e); \(e.isOutOfSpace ? "free space" : "make it writable") and rerun to resume (the last complete checkpoint is kept)")
        default: (2, "\(error)")
        }
    }
}
