import Foundation
import Synchronization

/// Ctrl-C / SIGTERM handling: the first signal asks the running stage to finish its current step,
/// write a checkpoint and exit 130; a second signal exits immediately (the last checkpoint on disk
/// is complete: writes are atomic, so a checkpoint being written is either all there or only a
/// `.tmp` file that readers ignore). "Immediately" is `_exit`: `exit` would run the atexit
/// handlers, among them HDF5's library shutdown, while the background writer may be inside HDF5.
public enum StopSignal {
    static let requested = Atomic<Bool>(false)
    nonisolated(unsafe) static var sources: [DispatchSourceSignal] = []

    public static var isRequested: Bool { requested.load(ordering: .relaxed) }

    /// Installs the handlers (idempotent); `announce`: print what happens (one rank of an MPI job
    /// speaks for all).
    public static func install(announce: Bool = true) {
        guard sources.isEmpty else { return }
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler {
                if requested.exchange(true, ordering: .relaxed) {
                    if announce { FileHandle.standardError.write(Data("\ngan-pipeline: second signal, exiting now\n".utf8)) }
                    _exit(130)
                }
                if announce {
                    FileHandle.standardError.write(Data("\ngan-pipeline: stopping after the current step (signal again to exit now)\n".utf8))
                }
            }
            s.resume()
            sources.append(s)
        }
    }

    /// For tests: pretend a signal arrived / reset.
    public static func request() { requested.store(true, ordering: .relaxed) }
    public static func reset() { requested.store(false, ordering: .relaxed) }
}
