import Foundation

/// Progress of a long stage: on a terminal, one live line (stage, step/total, it/s, ETA, losses)
/// rewritten in place; otherwise a plain line every `every` steps. `quiet` silences it.
public final class Progress {
    public let stage: String
    public let total: Int
    public let every: Int
    public let quiet: Bool
    private let isTTY = isatty(STDERR_FILENO) != 0
    private let start = Date()
    private var startStep: Int
    private var lastDraw = Date.distantPast

    public init(stage: String, total: Int, startStep: Int, every: Int, quiet: Bool) {
        self.stage = stage
        self.total = total
        self.startStep = startStep
        self.every = max(1, every)
        self.quiet = quiet
    }

    /// Reports step `step` with named values (e.g. d_loss, g_loss).
    public func update(step: Int, _ values: KeyValuePairs<String, Float>) {
        guard !quiet else { return }
        let now = Date()
        if isTTY {
            guard now.timeIntervalSince(lastDraw) >= 0.1 || step == total else { return }
            lastDraw = now
            write("\r\u{1B}[2K" + line(step, values, now))
            if step == total { write("\n") }
        } else if step % every == 0 || step == total {
            write(line(step, values, now) + "\n")
        }
    }

    /// Ends a live line (before other output).
    public func finish() {
        if isTTY && !quiet { write("\n") }
    }

    private func line(_ step: Int, _ values: KeyValuePairs<String, Float>, _ now: Date) -> String {
        let elapsed = now.timeIntervalSince(start)
        let done = step - startStep
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - step) / rate : 0
        let v = values.map { "\($0.key) \(String(format: "%.4f", $0.value))" }.joined(separator: "  ")
        return String(format: "%@ %d/%d  %.1f it/s  ETA %@  ", stage, step, total, rate, Self.clock(eta)) + v
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }

    private func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }
}
