import Foundation
import GANCheckpoint
import GANData
import GANFiles
import GANNN
import GANPlot
import GANTensorBoard

/// The `evaluate` stage: loads the newest train checkpoint (or a given file), draws samples and
/// writes `RUN/eval/metrics.json` (flat, snake_case numbers).
///
/// Keys: always `step`, `samples`, `wall_seconds`; 1-D Gaussian `mean`, `std`, `ks`, `w1`,
/// `d_flatness` (max |D(x) - 0.5| over mean ± 3 std); ring/grid `modes_covered`, `modes_total`,
/// `high_quality_fraction`; parabola `curve_rmse` (RMS of y - a·x² over samples with |x| <= 1);
/// images: see `ImageEvaluator` (`fd`, `classes_covered`, `class_kl`, `parzen_ll`, ... and each
/// with `_real_floor`), plus `eval/samples.png`, an 8x8 grid; WGAN `wasserstein_estimate` (the
/// critic's estimate, -critic loss, averaged over the last 1 % of G steps). Class-conditional image
/// models also get `conditional_accuracy` and `conditional_accuracy_min` (`ImageEvaluator.conditionalMetrics`):
/// sample i is generated for class i mod K, here, in the grid and in `best.h5`'s score. Then the
/// metrics go to TensorBoard (`RUN/tensorboard/evaluate/`, tags `eval/<key>`) and the report is
/// rewritten (`RUN/eval/report.html`, `RunReport`).
struct EvaluateStage: PipelineStage {
    static let stage = Stage.evaluate
    let context: StageContext
    /// The checkpoint file to evaluate; nil: the newest train checkpoint.
    var checkpoint: String?

    func run() throws {
        let config = context.config, run = context.run
        let start = Date()
        let reader: CheckpointReader
        if let f = checkpoint {
            reader = try CheckpointReader(path: f)
            try reader.verifyAllData()
        } else {
            reader = try context.openLatest(.train, resuming: false)
        }
        defer { reader.close() }
        // The moving average of G's weights when the run keeps one (train.ema_decay), as gan-sample serves.
        let g = try reader.buildNetwork(reader.hasNetwork("generator_ema") ? "generator_ema" : "generator")
        let d = try reader.buildNetwork("discriminator")
        let desc = try reader.dataDescription()
        let n = config.evaluate.samples
        var metrics: [(String, Double)] = [("step", Double(reader.step)), ("samples", Double(n))]
        var samples: [Float] = []
        var gridImage: PixelImage?
        if desc.sampleShape.count == 3 {
            let evaluator = try context.imageEvaluator(try context.loadPrepared())
            let x = ImageEvaluator.samples(g, description: desc, count: n, seed: config.seed, stream: .eval)
            metrics += try evaluator.report(x)
            if let k = desc.classes?.count { metrics += evaluator.conditionalMetrics(x, classes: k) }
            let grid = run.evalDirectory.appendingPathComponent("samples.png")
            try AtomicFile.createDirectory(run.evalDirectory.path)
            let image = SampleGrid.image(Array(x.array.prefix(64 * x.columns)).map { desc.scale * $0 + desc.offset }, count: min(64, n),
                                         description: desc, columns: 8)
            try image.write(to: grid.path)
            gridImage = image
            context.log("evaluate: samples \(grid.path)")
        } else {
            var rng = RNG(seed: config.seed, stream: .eval)
            let z = Tensor(shape: [n, desc.noiseDimension])
            desc.noisePrior.fill(z, rng: &rng)
            samples = g.forward(z, training: false, cyclingLabelsFrom: 0).array.map { ($0 - desc.offset) / desc.scale }  // data units
        }
        if let toy = ModelFactory.toyDistribution(config.data) {
            metrics += Self.toyMetrics(toy, samples: samples, discriminator: d, description: desc)
        }
        if config.loss.objective == .wasserstein, let dLoss = try reader.history().first(where: { $0.metric == "d_loss" })?.values, !dLoss.isEmpty {
            // The critic's estimate of W(p_data, p_g), -critic loss, averaged over the last 1 % of steps (>= 1).
            let tail = dLoss.suffix(max(1, dLoss.count / 100))
            metrics.append(("wasserstein_estimate", -tail.reduce(0, +) / Double(tail.count)))
        }
        metrics.append(("wall_seconds", Date().timeIntervalSince(start)))
        try AtomicFile.createDirectory(run.evalDirectory.path)
        let json = "{\n" + metrics.map { "  \"\($0.0)\": \($0.1.isFinite ? "\($0.1)" : "null")" }.joined(separator: ",\n") + "\n}\n"
        let path = run.evalDirectory.appendingPathComponent("metrics.json")
        try AtomicFile.write(Array(json.utf8), to: path.path)
        for plot in try writePlots(final: reader, samples: samples, description: desc) { context.log("evaluate: plot \(plot)") }
        try writeEvents(metrics, step: reader.step, grid: gridImage)
        context.log("evaluate: " + metrics.filter { $0.0 != "wall_seconds" }.map { "\($0.0) \(MetricText.format($0.1))" }.joined(separator: ", ") + " -> \(path.path)")
        context.log("evaluate: report \(try RunReport(run: run).write().path)")
    }

    /// `RUN/tensorboard/evaluate/`: every metric as a scalar `eval/<key>` at the evaluated
    /// checkpoint's step, and the sample grid; replaces the events of an earlier evaluation.
    private func writeEvents(_ metrics: [(String, Double)], step: Int, grid: PixelImage?) throws {
        let now = Date().timeIntervalSince1970
        var events = TensorBoardEvents(wallTime: now)
        events.addScalars(step: step, wallTime: now, metrics.filter { $0.1.isFinite }.map { ("eval/" + $0.0, Float($0.1)) })
        if let grid {
            events.addImage(tag: "samples", step: step, wallTime: now, png: grid.pngData(), width: grid.width, height: grid.height,
                            channels: grid.format.channels)
        }
        let tb = TensorBoardRun(context.run.tensorBoardDirectory.appendingPathComponent(Self.stage.rawValue))
        let written = try tb.write(events)
        try tb.removeEventFiles(keeping: written)
    }

    static func toyMetrics(_ toy: ToyDistribution, samples: [Float], discriminator d: Sequential, description desc: DataDescription) -> [(String, Double)] {
        switch toy {
        case .gaussian(let mean, let std):
            // D(x) over mean ± 3 std: a converged D is flat at 1/2 where the data are.
            let grid = Tensor(shape: [201, 1])
            for i in 0..<201 { grid[i] = desc.scale * (mean + std * (-3 + 6 * Float(i) / 200)) + desc.offset }
            let logits = d.forward(grid, training: false)
            var flat = 0.0
            for i in 0..<201 { flat = max(flat, abs(1 / (1 + exp(-Double(logits[i]))) - 0.5)) }
            return [("mean", SampleMetrics.mean(samples)), ("std", SampleMetrics.std(samples)),
                    ("ks", SampleMetrics.ksNormal(samples, mean: Double(mean), std: Double(std))),
                    ("w1", SampleMetrics.w1Normal(samples, mean: Double(mean), std: Double(std))), ("d_flatness", flat)]
        case .ring, .grid:
            let m = SampleMetrics.modeCoverage(samples, centers: toy.centers, std: toy.componentStd)
            return [("modes_covered", Double(m.covered)), ("modes_total", Double(toy.centers.count)),
                    ("high_quality_fraction", m.highQualityFraction)]
        case .parabola(let a, _):
            var ss = 0.0, k = 0
            for i in stride(from: 0, to: samples.count - 1, by: 2) where abs(samples[i]) <= 1 {
                let r = Double(samples[i + 1] - a * samples[i] * samples[i])
                ss += r * r
                k += 1
            }
            return [("curve_rmse", k > 0 ? (ss / Double(k)).squareRoot() : .nan), ("in_range_fraction", Double(k) / Double(max(samples.count / 2, 1)))]
        }
    }
}

extension StageContext {
    /// The image evaluator of this run (classifier cached in `<run dir's parent>/.cache/`).
    func imageEvaluator(_ data: PreparedData) throws -> ImageEvaluator {
        let cache = run.url.standardizedFileURL.deletingLastPathComponent().appendingPathComponent(".cache")
        return try ImageEvaluator(data: data, floorSize: config.data.floorSize, cacheDirectory: cache, log: log)
    }
}
