import Foundation
import Synchronization

/// Test seams on the one path every written byte takes (`FileDescriptor.writeAll`): make a chosen
/// write fail with an errno, or stop halfway through a chosen file so that a test can kill the
/// process at exactly that moment. Random disk faults and random-timing kills may never hit the
/// window a guarantee is about; these hit it every time.
///
/// Two environment variables, read once when the first byte is written:
/// - `SWIFTGAN_FAIL_WRITE=N[:CODE][@NAME]`: the N-th write (1-based, counting only files whose
///   path contains NAME; every file without `@NAME`) fails with errno CODE (`ENOSPC` by default;
///   `EIO`, `EACCES`, `EROFS`, `EDQUOT` or a number), as a full or failing disk would. A write to
///   a temporary `DIR/.NAME.tmp` (`AtomicFile`'s, which HDF5 writes through) counts as `DIR/NAME`,
///   so rules name the files users see.
/// - `SWIFTGAN_PAUSE_WRITE=N[@NAME]`: the N-th such write writes the first half of its bytes,
///   fsyncs them, prints `swiftgan: test seam: paused writing PATH after K of T bytes (pid P)` on
///   stderr and then blocks that thread forever (kill the process).
///
/// In-process tests add rules with `install(_:)`, scoped by NAME to their own temporary
/// directory so that tests running in parallel are unaffected. Without rules a write costs one
/// uncontended lock.
public enum WriteFaults {
    public enum Action: Equatable, Sendable {
        case fail(errno: Int32)
        case pause
    }

    public struct Rule: Equatable, Sendable {
        public var action: Action
        /// Which matching write (1-based) is hit.
        public var nth: Int
        /// Only writes to paths containing this count (nil: every write).
        public var name: String?

        public init(_ action: Action, nth: Int, name: String? = nil) {
            self.action = action
            self.nth = nth
            self.name = name
        }

        /// Parses `N[:CODE][@NAME]` (CODE only for `.fail`).
        public static func parse(_ text: String, failing: Bool) -> Rule? {
            var spec = Substring(text)
            var name: String?
            if let at = spec.firstIndex(of: "@") {
                name = String(spec[spec.index(after: at)...])
                spec = spec[..<at]
            }
            let parts = spec.split(separator: ":", omittingEmptySubsequences: false)
            guard let n = Int(parts[0]), n >= 1, parts.count <= (failing ? 2 : 1) else { return nil }
            guard failing else { return Rule(.pause, nth: n, name: name) }
            guard parts.count == 2 else { return Rule(.fail(errno: ENOSPC), nth: n, name: name) }
            let names: [String: Int32] = ["ENOSPC": ENOSPC, "EIO": EIO, "EACCES": EACCES, "EROFS": EROFS, "EDQUOT": EDQUOT]
            guard let code = names[String(parts[1])] ?? Int32(parts[1]) else { return nil }
            return Rule(.fail(errno: code), nth: n, name: name)
        }
    }

    private struct State {
        var rules: [(rule: Rule, seen: Int)] = []
        var loadedEnvironment = false
    }

    private static let state = Mutex(State())

    /// Adds a rule for this process (tests); counting starts now.
    public static func install(_ rule: Rule) {
        state.withLock { $0.rules.append((rule, 0)) }
    }

    /// Removes every rule scoped to `name`.
    public static func remove(name: String) {
        state.withLock { $0.rules.removeAll { $0.rule.name == name } }
    }

    /// Counts a write of `path` against the rules; the action for this write, if one is due.
    static func action(forWriteTo path: String) -> Action? {
        let path = destination(of: path)
        return state.withLock { s in
            if !s.loadedEnvironment {
                s.loadedEnvironment = true
                let env = ProcessInfo.processInfo.environment
                if let t = env["SWIFTGAN_FAIL_WRITE"], let r = Rule.parse(t, failing: true) { s.rules.append((r, 0)) }
                if let t = env["SWIFTGAN_PAUSE_WRITE"], let r = Rule.parse(t, failing: false) { s.rules.append((r, 0)) }
            }
            var due: Action?
            for i in s.rules.indices where s.rules[i].rule.name.map({ path.contains($0) }) ?? true {
                s.rules[i].seen += 1
                if s.rules[i].seen == s.rules[i].rule.nth, due == nil { due = s.rules[i].rule.action }
            }
            return due
        }
    }

    /// The file a temporary `DIR/.NAME.tmp` stands for (`AtomicFile.temporaryPath`); other paths
    /// as they are.
    static func destination(of path: String) -> String {
        let name = (path as NSString).lastPathComponent
        guard name.hasPrefix("."), name.hasSuffix(".tmp"), name.count > 5 else { return path }
        let dir = (path as NSString).deletingLastPathComponent
        let final = String(name.dropFirst().dropLast(4))
        return dir.isEmpty ? final : dir + "/" + final
    }

    /// The pause: announces itself and never returns.
    static func pauseForever(_ path: String, written: Int, of total: Int) -> Never {
        let line = "swiftgan: test seam: paused writing \(path) after \(written) of \(total) bytes (pid \(getpid()))\n"
        FileHandle.standardError.write(Data(line.utf8))
        while true { sleep(3600) }
    }
}
