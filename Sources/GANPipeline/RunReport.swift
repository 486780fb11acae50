import Foundation
import GANCheckpoint
import GANData
import GANFiles
import GANPlot
import GANTensorBoard

/// `RUN/eval/report.html`: a run at a glance, one self-contained file (every image a
/// `data:image/png;base64` URI, plain HTML and CSS, no script, nothing fetched from the network).
/// Sections: the headline metrics beside the real-data floor, the samples (image runs: the
/// evaluation grid; toy runs: the density / D(x) or scatter plots), the fixed-noise progression
/// across checkpoints, the training curves (D and G losses or the critic's estimate; mean D(x)
/// and D(G(z))), the stage timeline (steps, wall time, it/s, from the TensorBoard runs' session
/// starts), the files of the run and the resolved configuration.
///
/// Everything comes from files earlier stages wrote (config.yaml, the newest train checkpoint's
/// history, eval/, train/samples/, tensorboard/), so the report of a run can be rebuilt at any
/// time (`gan-pipeline report RUN`); missing parts are said to be missing.
public struct RunReport {
    public let run: RunDirectory

    public init(run: RunDirectory) { self.run = run }

    /// Writes the report (through AtomicFile) and returns its URL.
    @discardableResult
    public func write() throws -> URL {
        let html = try html()
        try AtomicFile.createDirectory(run.evalDirectory.path)
        try AtomicFile.write(Array(html.utf8), to: run.reportFile.path)
        return run.reportFile
    }

    /// The parts of a report, gathered from the run directory.
    struct Contents {
        var name: String
        var configYAML: String
        var config: PipelineConfig?
        var metrics: [(key: String, value: Double?)]?
        var history: [(metric: String, values: [Double])] = []
        var trainStep: Int?
        var images: [(title: String, png: [UInt8])] = []
        var progression: [(step: Int, png: [UInt8])] = []
        var timeline: [TimelineSegment] = []
    }

    func contents() throws -> Contents {
        guard let yaml = try? String(contentsOf: run.configFile, encoding: .utf8) else {
            throw PipelineError.badState("\(run.configFile.path): missing; \(run.url.path) is not a run directory (gan-pipeline run writes it)")
        }
        let config = try? ConfigLoader.parse(yaml: yaml, file: run.configFile.path, overrides: [])
        var c = Contents(name: config?.name ?? run.url.lastPathComponent, configYAML: yaml, config: config)
        c.metrics = MetricText.readMetrics(run.evalDirectory.appendingPathComponent("metrics.json"))
        if !run.stage(.train).stepFiles().isEmpty, let (reader, _) = try? run.stage(.train).openLatest() {
            c.history = (try? reader.history()) ?? []
            c.trainStep = reader.step
            reader.close()
        }
        let isImage = (try? FileManager.default.contentsOfDirectory(atPath: run.stage(.train).url.appendingPathComponent("samples").path))?.isEmpty == false
        let plots: [(String, String)] = isImage
            ? [("samples.png", "Samples of the final generator (fixed evaluation noise)")]
            : [("distributions.png", "p_data, p_g and D(x) before and after training"), ("samples.png", "Real and generated samples")]
        for (file, title) in plots {
            if let data = try? Data(contentsOf: run.evalDirectory.appendingPathComponent(file)) { c.images.append((title, [UInt8](data))) }
        }
        c.progression = try progression()
        c.timeline = try Self.timeline(run)
        return c
    }

    /// The first row of each checkpoint's fixed-noise grid (`train/samples/step-*.png`, 8 samples
    /// a row), for at most `limit` checkpoints evenly spread from the first to the last.
    func progression(limit: Int = 11) throws -> [(step: Int, png: [UInt8])] {
        let dir = run.stage(.train).url.appendingPathComponent("samples")
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [])
            .filter { $0.hasPrefix("step-") && $0.hasSuffix(".png") }.sorted()
        guard !files.isEmpty else { return [] }
        let picked = files.count <= limit ? files : (0..<limit).map { files[$0 * (files.count - 1) / (limit - 1)] }
        return try picked.map { name in
            let image = try PNGImage.read(dir.appendingPathComponent(name).path)
            let step = Int(name.dropFirst(5).dropLast(4)) ?? 0
            return (step, Self.topRow(image, rows: 8, border: SampleGrid.border))
        }
    }

    /// The top row of tiles of a grid of `rows` rows (with its borders), as PNG bytes.
    static func topRow(_ image: PNGImage, rows: Int, border: Int) -> [UInt8] {
        let rowHeight = min(image.height, (image.height - border) / rows + border)
        let plane = image.height * image.width
        let channels = image.channels >= 3 ? 3 : 1
        var pixels = [UInt8](repeating: 0, count: rowHeight * image.width * channels)
        for y in 0..<rowHeight {
            for x in 0..<image.width {
                for ch in 0..<channels { pixels[(y * image.width + x) * channels + ch] = image.bytes[ch * plane + y * image.width + x] }
            }
        }
        return PNGWriter.encode(pixels: pixels, width: image.width, height: rowHeight, format: channels == 3 ? .rgb8 : .gray8)
    }

    /// One process's work on a stage: from a TensorBoard `SessionLog.START` to its last event.
    struct TimelineSegment: Equatable {
        var stage: String
        var firstStep: Int
        var lastStep: Int
        var started: Double
        var ended: Double
        var steps: Int { max(0, lastStep - firstStep + 1) }
        var seconds: Double { max(0, ended - started) }
    }

    /// The segments of every training stage's TensorBoard run, in stage order.
    static func timeline(_ run: RunDirectory) throws -> [TimelineSegment] {
        var out: [TimelineSegment] = []
        for stage in Stage.checkpointed {
            let tb = TensorBoardRun(run.tensorBoardDirectory.appendingPathComponent(stage.rawValue))
            var current: TimelineSegment?
            for record in try tb.read() {
                switch record.content {
                case .sessionStart:
                    if let c = current, c.steps > 0 { out.append(c) }
                    current = TimelineSegment(stage: stage.rawValue, firstStep: record.step, lastStep: record.step - 1,
                                              started: record.wallTime, ended: record.wallTime)
                case .scalars, .image:
                    if var c = current, record.step >= c.firstStep {
                        c.lastStep = max(c.lastStep, record.step)
                        c.ended = max(c.ended, record.wallTime)
                        current = c
                    }
                default: break
                }
            }
            if let c = current, c.steps > 0 { out.append(c) }
        }
        return out
    }
}
