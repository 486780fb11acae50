import Foundation
import GANTestSupport

/// Runs a built executable of this package and captures its exit code, stdout and stderr.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum CLI {
    /// `.build/release/NAME` (built by `make test` before the tests run), else `.build/debug/NAME`.
    static func binary(_ name: String, configuration: String? = nil) -> URL? {
        let root = packageRoot()
        let configs = configuration.map { [$0] } ?? ["release", "debug"]
        for c in configs {
            let url = root.appendingPathComponent(".build/\(c)/\(name)")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }

    static func run(_ executable: URL, _ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes concurrently with the process so neither can fill up and block it.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return CommandResult(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                             stderr: String(decoding: errData, as: UTF8.self))
    }

    /// The JSON object of the last `RESULT {...}` line.
    static func resultJSON(_ stdout: String) -> [String: Any]? {
        guard let line = stdout.split(separator: "\n").last(where: { $0.hasPrefix("RESULT ") }) else { return nil }
        let json = line.dropFirst("RESULT ".count)
        return (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any]
    }
}

/// A child process started with an empty signal mask and default signal dispositions. Foundation's
/// `Process` passes the test runner's blocked signals on to the child, and a child that handles
/// signals the classic way (mpirun) then never sees a SIGTERM. stdout goes to /dev/null, stderr to
/// a file read by `errorOutput()`; `environment` is added to the runner's.
final class Child {
    let pid: pid_t
    private let stderrPath: String
    private var status: Int32?

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        stderrPath = NSTemporaryDirectory() + "/gan-child-\(UUID().uuidString).stderr"
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), defaults = sigset_t()
        sigemptyset(&none)
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let envp = env.map { strdup("\($0)=\($1)") } + [nil]
        defer { envp.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EINVAL) }
        pid = child
    }

    var isRunning: Bool {
        guard status == nil else { return false }
        var s: Int32 = 0
        if waitpid(pid, &s, WNOHANG) == pid { status = s }
        return status == nil
    }

    /// Waits for the exit; returns the raw wait status (`exitCode` decodes it).
    @discardableResult
    func wait() -> Int32 {
        if let status { return status }
        var s: Int32 = 0
        while waitpid(pid, &s, 0) == -1 && errno == EINTR {}
        status = s
        return s
    }

    /// The exit code, or 128 + the signal that ended the process.
    var exitCode: Int32 {
        let s = wait()
        return s & 0x7f == 0 ? (s >> 8) & 0xff : 128 + (s & 0x7f)
    }

    func signal(_ sig: Int32) { kill(pid, sig) }

    func errorOutput() -> String {
        (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
    }

    deinit {
        if isRunning { kill(pid, SIGKILL); wait() }
        unlink(stderrPath)
    }
}
