import ArgumentParser
import Foundation
import GANPipeline

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write RUN/eval/report.html: the run at a glance in one self-contained HTML file.",
        discussion: """
            The evaluate stage writes it too; this rebuilds it from the run's files (config, checkpoints, eval/, train/samples/, tensorboard/) without training or evaluating.

            Examples:
              gan-pipeline report Checkpoints/fashion-mlp-sn
              make report P=ring8
            """)

    @Argument(help: "Run directory, e.g. Checkpoints/fashion-mlp-sn.")
    var runDir: String

    func run() throws {
        let dir = RunDirectory(URL(fileURLWithPath: runDir))
        guard dir.exists else { throw pipelineExitCode(for: PipelineError.io(runDir, "no such run directory")) }
        do {
            print(try RunReport(run: dir).write().path)
        } catch {
            throw pipelineExitCode(for: error)
        }
    }
}

struct ListPipelines: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the shipped pipelines: what each reproduces and how long it takes.",
        discussion: """
            Reads the `# summary:` and `# time:` header lines of every YAML file in --pipelines.

            Examples:
              gan-pipeline list
              gan-pipeline list --pipelines ~/my-pipelines
            """)

    @Option(help: "Directory of pipeline YAML files.")
    var pipelines = "Pipelines"

    func run() throws {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: pipelines) else {
            throw pipelineExitCode(for: PipelineError.io(pipelines, "no such directory"))
        }
        var rows = [["pipeline", "what it reproduces", "time"]]
        for name in names.sorted() where name.hasSuffix(".yaml") {
            let text = (try? String(contentsOfFile: (pipelines as NSString).appendingPathComponent(name), encoding: .utf8)) ?? ""
            let header = text.split(separator: "\n").prefix { $0.hasPrefix("#") }.map { $0.dropFirst().trimmingCharacters(in: .whitespaces) }
            func field(_ key: String) -> String? { header.first { $0.hasPrefix(key + ":") }.map { String($0.dropFirst(key.count + 1)).trimmingCharacters(in: .whitespaces) } }
            let stem = String(name.dropLast(5))
            let summary = field("summary") ?? header.first.map { $0.hasPrefix(stem + ":") ? String($0.dropFirst(stem.count + 1)) : $0 } ?? ""
            rows.append([stem, summary.trimmingCharacters(in: .whitespaces), field("time") ?? "-"])
        }
        print(MetricText.aligned(rows))
    }
}
