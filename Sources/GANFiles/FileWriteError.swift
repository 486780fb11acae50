#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a file could not be written: one line, `PATH: cannot write: REASON`.
///
/// Every crash-safe write in the project (`AtomicFile`) and every write to standard output fails
/// with this one type, so that a caller can tell a full or failing disk (`code` ENOSPC, EIO) from
/// bad input by the type and the code alone, without parsing messages.
public struct FileWriteError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file that was to be written: its final name, never the temporary one.
    public let path: String
    /// The `errno` of the system call that failed; nil when a check before writing failed.
    public let code: Int32?
    /// `strerror(code)`, or the check that failed (e.g. "directory out does not exist").
    public let reason: String

    /// A failed system call: the reason is `strerror(code)`.
    public init(_ path: String, code: Int32) {
        self.path = path
        self.code = code
        reason = String(cString: strerror(code))
    }

    /// A check that failed before anything was written.
    public init(_ path: String, reason: String) {
        self.path = path
        code = nil
        self.reason = reason
    }

    public var description: String { "\(path.isEmpty ? "(empty path)" : path): cannot write: \(reason)" }

    /// The exit code of a command that stopped because a write failed in a system call: 74,
    /// sysexits.h's EX_IOERR. It tells a wrapper script "the disk (space, permissions, a failing
    /// device), not your input": rerunning once that is fixed succeeds, and nothing complete was
    /// lost (every write is an `AtomicFile`).
    public static let ioFailureExitCode: Int32 = 74

    /// Whether a system call failed (ENOSPC, EIO, EACCES, EROFS, ...), as opposed to a check made
    /// before writing (a missing directory, a directory in the way), which is a usage error.
    public var isIOFailure: Bool { code != nil }

    /// Whether freeing space is the remedy (a full disk or an exhausted quota).
    public var isOutOfSpace: Bool { code == ENOSPC || code == EDQUOT || code == EFBIG }
}
