import ArgumentParser
import Foundation
import GANCheckpoint
import GANPipeline

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show one run (stages, steps, last losses, checkpoints, metrics) or every run under Checkpoints/.",
        discussion: """
            Examples:
              gan-pipeline status
              gan-pipeline status Checkpoints/fashion-mlp-sn
              gan-pipeline status --runs /data/sweeps
            """)

    @Argument(help: "Run directory, e.g. Checkpoints/gaussian-1d (default: every run under --runs).")
    var runDir: String?

    @Option(help: "Directory of run directories listed without a run argument.")
    var runs = "Checkpoints"

    func run() throws {
        if let runDir { try show(RunDirectory(URL(fileURLWithPath: runDir))) } else { try list() }
    }

    /// One line per run directory under `runs`: stage reached, train step of total, headline metric.
    private func list() throws {
        let root = URL(fileURLWithPath: runs)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: root.path) else {
            throw pipelineExitCode(for: PipelineError.io(runs, "no such directory (runs are created by gan-pipeline run)"))
        }
        var rows = [["run", "stage", "step", "metric"]]
        for name in names.sorted() where !name.hasPrefix(".") {
            let path = (runs as NSString).appendingPathComponent(name)
            let dir = RunDirectory(URL(fileURLWithPath: path))
            guard FileManager.default.fileExists(atPath: dir.configFile.path) else { continue }
            let summary = RunSummary(dir)
            rows.append([path, summary.stage, summary.step, summary.metric])
        }
        if rows.count == 1 { print("no runs under \(runs)/ (start one: gan-pipeline run Pipelines/NAME.yaml)") } else { print(MetricText.aligned(rows)) }
    }

    private func show(_ dir: RunDirectory) throws {
        guard dir.exists else { throw pipelineExitCode(for: PipelineError.io(dir.url.path, "no such run directory")) }
        print("run \(dir.url.path)")
        var rows = [["data", FileManager.default.fileExists(atPath: dir.dataFile.path) ? "prepared (data.h5)" : "not prepared"]]
        var checkpointLines: [(Int, String)] = []
        for stage in Stage.checkpointed {
            let store = dir.stage(stage)
            let files = store.stepFiles()
            guard !files.isEmpty else { rows.append([stage.rawValue, "no checkpoints"]); continue }
            do {
                let (r, warnings) = try store.openLatest()
                warnings.forEach { stderr("gan-pipeline: warning: \($0)") }
                let last = try r.history().compactMap { h in h.metric == "step" ? nil : h.values.last.map { "\(h.metric) \(MetricText.format($0))" } }
                rows.append([stage.rawValue, "step \(r.step)" + (last.isEmpty ? "" : "; last " + last.joined(separator: ", "))])
                r.close()
            } catch {
                rows.append([stage.rawValue, "unreadable: \(error)"])
            }
            checkpointLines.append((rows.count - 1, files.map { $0.url.lastPathComponent }.joined(separator: " ")))
        }
        let metrics = MetricText.readMetrics(dir.evalDirectory.appendingPathComponent("metrics.json"))
        rows.append(["evaluate", metrics == nil ? "not run" : "metrics.json:"])
        var lines = MetricText.aligned(rows, indent: "  ").split(separator: "\n").map(String.init)
        for (row, files) in checkpointLines.reversed() { lines.insert("  " + String(repeating: " ", count: 14) + "checkpoints: " + files, at: row + 1) }
        print(lines.joined(separator: "\n"))
        if let metrics {
            let table = MetricText.table(metrics)
            let hasFloor = table.contains { !$0.floor.isEmpty }
            print(MetricText.aligned([["metric", "value"] + (hasFloor ? ["real floor"] : [])]
                + table.map { [$0.metric, $0.value] + (hasFloor ? [$0.floor] : []) }, indent: "    "))
        }
        if FileManager.default.fileExists(atPath: dir.reportFile.path) { print("  report      \(dir.reportFile.path)") }
    }
}

/// What `status` shows of a run in one line.
struct RunSummary {
    var stage = "-", step = "-", metric = "-"

    init(_ dir: RunDirectory) {
        let total = (try? String(contentsOf: dir.configFile, encoding: .utf8))
            .flatMap { try? ConfigLoader.parse(yaml: $0, file: dir.configFile.path, overrides: []) }?.train.steps
        if FileManager.default.fileExists(atPath: dir.dataFile.path) { stage = "prep" }
        for s in Stage.checkpointed {
            guard let latest = dir.stage(s).stepFiles().last else { continue }
            stage = s.rawValue
            step = "\(latest.step)" + (s == .train ? total.map { "/\($0)" } ?? "" : "")
        }
        if let metrics = MetricText.readMetrics(dir.evalDirectory.appendingPathComponent("metrics.json")) {
            stage = "evaluated"
            let m = Dictionary(metrics.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
            for key in ["fd", "modes_covered", "ks", "curve_rmse"] {
                guard let v = m[key] ?? nil else { continue }
                metric = "\(key) \(MetricText.format(v))"
                if key == "fd", let c = m["classes_covered"] ?? nil { metric += ", \(MetricText.format(c)) classes" }
                if key == "modes_covered", let t = m["modes_total"] ?? nil { metric += "/\(MetricText.format(t))" }
                if key == "modes_covered", let h = m["high_quality_fraction"] ?? nil { metric += ", high quality \(MetricText.format(h))" }
                break
            }
        }
    }
}
