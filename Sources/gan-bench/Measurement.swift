import Foundation
import GANTensor

/// Wall time, own CPU time and other processes' CPU load over a timed region, defined as in the
/// peers' `common.py` (`Timer`), so that RESULT lines compare field by field.
struct Measurement {
    var wall = 0.0
    var cpu = 0.0
    var foreign = 0.0

    static func run(_ body: () -> Void) -> Measurement {
        let s0 = procStatBusy(), c0 = cpuSeconds(), t0 = monotonicSeconds()
        body()
        let wall = monotonicSeconds() - t0, cpu = cpuSeconds() - c0, s1 = procStatBusy()
        let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
        let busyCores = Double(s1 - s0) / hz / wall
        return Measurement(wall: wall, cpu: cpu, foreign: max(0, busyCores - cpu / wall))
    }

    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    static func cpuSeconds() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) * 1e-6
            + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) * 1e-6
    }

    /// Peak resident set size in MB (ru_maxrss is in KiB on Linux), as `common.peak_rss_mb`.
    static func peakRSSMegabytes() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_maxrss) / 1024
    }

    /// Busy jiffies over all CPUs (total minus idle and iowait), first line of /proc/stat.
    static func procStatBusy() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = text.split(separator: "\n").first else { return 0 }
        let v = line.split(separator: " ").dropFirst().prefix(8).compactMap { Int($0) }
        guard v.count == 8 else { return 0 }
        return v.reduce(0, +) - v[3] - v[4]
    }

    static func threadsInProcess() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
        for line in text.split(separator: "\n") where line.hasPrefix("Threads:") {
            return Int(line.split(separator: "\t").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "") ?? -1
        }
        return -1
    }
}

/// The peers' RESULT line: same keys, same definitions (`common.report`).
struct BenchResult {
    var model: String
    var threads: Int
    var iters: Int
    var batch: Int
    var measurement: Measurement
    var flopPerIteration: Double?
    var allocationsPerIteration: Double?
    var extra: [(String, Any)] = []
    /// Peak RSS when the result was made (before any untimed extras such as checkpoint saves).
    var peakRSS = Measurement.peakRSSMegabytes()

    func line(version: String, blasCore: String) -> String {
        let m = measurement
        let itPerS = Double(iters) / m.wall
        var fields: [(String, Any)] = [
            ("framework", "swift"), ("version", version), ("model", model), ("threads", threads),
            ("iters", iters), ("batch", batch), ("wall_s", round3(m.wall)), ("it_per_s", round3(itPerS)),
            ("samples_per_s", round1(itPerS * Double(batch))), ("cpu_util", round2(m.cpu / m.wall)),
            ("foreign_load", round2(m.foreign)), ("peak_rss_mb", round1(peakRSS)),
            ("threads_in_proc", Measurement.threadsInProcess()), ("blas_core", blasCore),
            ("gemm", OneDNN.runsMatrixProducts ? "onednn " + OneDNN.instructionSet : "openblas"),
        ]
        if let f = flopPerIteration {
            fields.append(("gflop_per_iter", round4(f / 1e9)))
            fields.append(("achieved_gflops", round2(f * itPerS / 1e9)))
        }
        if let a = allocationsPerIteration { fields.append(("allocs_per_iter", round2(a))) }
        fields += extra
        return "RESULT {" + fields.map { "\"\($0.0)\": \(json($0.1))" }.joined(separator: ", ") + "}"
    }

    func humanLine() -> String {
        let itPerS = Double(iters) / measurement.wall
        return String(format: "[swift %@ t=%d] %.2f it/s, %.0f samples/s, peak RSS %.0f MB, cpu util %.2f, foreign load %.2f",
                      model, threads, itPerS, itPerS * Double(batch), peakRSS,
                      measurement.cpu / measurement.wall, measurement.foreign)
    }
}

private func json(_ v: Any) -> String {
    switch v {
    case let s as String: return "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    case let d as Double: return d.isFinite ? "\(d)" : "null"
    case let f as Float: return f.isFinite ? "\(Double(f))" : "null"
    case let i as Int: return "\(i)"
    case let a as [Any]: return "[" + a.map(json).joined(separator: ", ") + "]"
    default: return "\"\(v)\""
    }
}

func round1(_ x: Double) -> Double { (x * 10).rounded() / 10 }
/// The middle value of a non-empty sample (the upper one of the two middles for an even count).
func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }

func round2(_ x: Double) -> Double { (x * 100).rounded() / 100 }
func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
func round4(_ x: Double) -> Double { (x * 10000).rounded() / 10000 }
