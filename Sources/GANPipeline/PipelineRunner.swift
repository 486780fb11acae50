import Foundation
import GANCheckpoint
import GANData
import GANFiles
import GANHDF5
import GANNN
import GANPlot

/// The stages of a pipeline, in order.
public enum Stage: String, CaseIterable, Sendable {
    case prep
    case pretrainD = "pretrain-d"
    case train
    case evaluate
}

/// Runs (or resumes) a pipeline in a run directory. Each stage reads only what earlier stages
/// wrote, so any stage can be rerun or resumed alone; finished stages are skipped.
public final class PipelineRunner {
    public let config: PipelineConfig
    public let run: RunDirectory
    public var quiet = false
    /// Lines for the user (stage starts, skips, results); stderr by default.
    public var log: (String) -> Void = { FileHandle.standardError.write(Data(("gan-pipeline: " + $0 + "\n").utf8)) }

    public init(config: PipelineConfig, run: RunDirectory) {
        self.config = config
        self.run = run
    }

    var configYAML: String { config.encodeYAML() }

    /// Checks the requested config against the one stored in the run (the run's wins: a change of
    /// anything but the resumable keys is an error naming the key), then stores the new one.
    public func reconcileConfig() throws {
        let fm = FileManager.default
        // The stored config binds only once a stage has produced something from it: a run whose
        // prep failed (say, a wrong data path) can be fixed and rerun without --fresh.
        if run.hasStageOutput, fm.fileExists(atPath: run.configFile.path) {
            let text = try String(contentsOf: run.configFile, encoding: .utf8)
            let stored = try ConfigLoader.parse(yaml: text, file: run.configFile.path, overrides: [])
            for key in config.changedKeys(from: stored) where !PipelineConfig.isChangeableOnResume(key) {
                throw PipelineError.changedConfig(run.url.path, key: key, stored: describe(stored, key), requested: describe(config, key))
            }
        }
        try fm.createDirectory(at: run.url, withIntermediateDirectories: true)
        try AtomicFile.write(Array(configYAML.utf8), to: run.configFile.path)
    }

    private func describe(_ c: PipelineConfig, _ key: String) -> String {
        // The value's YAML line, e.g. "hidden: [10, 10]" for generator.hidden.
        let leaf = String(key.split(separator: ".").last ?? "")
        let yaml = c.encodeYAML()
        var path = key.split(separator: ".").map(String.init)
        var depth = 0
        for line in yaml.split(separator: "\n") {
            let trimmed = line.drop { $0 == " " }
            let indent = line.count - trimmed.count
            guard indent == depth * 2, path.count > 0, trimmed.hasPrefix(path[0] + ":") else { continue }
            if path.count == 1 { return String(trimmed.dropFirst(leaf.count + 1)).trimmingCharacters(in: .whitespaces) }
            path.removeFirst()
            depth += 1
        }
        return "?"
    }

    /// Runs the given stages (default: all that apply), skipping finished ones.
    public func runStages(_ requested: [Stage]? = nil) throws {
        let stages = requested ?? Stage.allCases
        for s in stages {
            switch s {
            case .prep: try prep()
            case .pretrainD:
                if config.pretrainD != nil { try pretrain() } else if requested != nil { log("pretrain-d: not configured (no pretrain_d section); skipped") }
            case .train: try train()
            case .evaluate: try evaluate()
            }
        }
    }

    /// Resuming with another thread count is allowed, with a warning (BLAS may sum differently).
    func warnIfThreadsDiffer(_ r: CheckpointReader) {
        let now = ComputeThreads.count
        if r.threads != now {
            log("warning: \(r.path) was written with \(r.threads) thread(s), now \(now): results stay valid, but bitwise determinism holds only for equal thread counts")
        }
    }

    // MARK: prep

    public func prep() throws {
        if FileManager.default.fileExists(atPath: run.dataFile.path) {
            log("prep: \(run.dataFile.path) exists; skipped")
            return
        }
        let start = Date()
        let d = try loadSource()
        try d.write(to: run.dataFile)
        let shape = d.sampleShape.map(String.init).joined(separator: "x")
        log(String(format: "prep: %d samples of shape %@%@ from %@ -> %@ (%.2f s)", d.count, shape,
                   d.testCount > 0 ? " (+\(d.testCount) held out)" : "", d.source, run.dataFile.path, Date().timeIntervalSince(start)))
    }

    func loadSource() throws -> PreparedData {
        let dc = config.data
        let norm = Normalization(rawValue: dc.normalize.rawValue) ?? .none
        if let toy = ModelFactory.toyDistribution(dc) {
            return PreparedData.toy(toy, count: dc.size, seed: config.seed, normalization: norm, source: "\(dc.source.rawValue) \(toy)")
        }
        guard let path = dc.path else { throw PipelineError.config("data.path: required for data.source \(dc.source.rawValue)") }
        if dc.isImageSource { return try loadImages(path: path, normalization: norm) }
        let shape: [Int], values: [Float]
        do {
            switch dc.source {
            case .csv:
                let t = try CSVTable.read(path)
                (shape, values) = ([t.rows, t.columns], t.values)
            case .npy:
                (shape, values) = try NPYArray.read(path)
            case .h5:
                let f = try HDF5File.open(path)
                defer { try? f.close() }
                guard f.root.contains(dc.dataset) else { throw PipelineError.io(path, "no dataset '\(dc.dataset)' (data.dataset)") }
                (shape, values) = try f.root.read(dc.dataset, as: Float.self)
            case .gaussian, .parabola, .ring, .grid, .idx, .pngFolder:
                preconditionFailure("loadSource: \(dc.source) is handled above")
            }
        } catch let e as DataError {
            throw PipelineError.io(e.file, e.message)
        } catch let e as HDF5Error {
            throw PipelineError.io(e.file, "\(e.object): \(e.message)")
        }
        guard shape.count == 2, shape[0] >= 1, shape[1] >= 1 else {
            throw PipelineError.io(path, "expected a table [samples, features], found shape \(shape)")
        }
        return PreparedData(table: values, dimension: shape[1], normalization: norm, source: "\(dc.source.rawValue) \(path)")
    }

    /// Images from an IDX file (`[N, H, W]` or `[N, C, H, W]`) or a folder of PNGs, with the
    /// optional labels and held-out test set, checked for consistent counts and sizes.
    func loadImages(path: String, normalization: Normalization) throws -> PreparedData {
        let dc = config.data
        func images(_ p: String) throws -> (shape: [Int], bytes: [UInt8]) {
            if dc.source == .pngFolder {
                let folder = try PNGFolder.read(p)
                return ([folder.count, folder.channels, folder.height, folder.width], folder.bytes)
            }
            let a = try IDXArray.read(p)
            switch a.shape.count {
            case 3: return ([a.shape[0], 1, a.shape[1], a.shape[2]], a.bytes)
            case 4: return (a.shape, a.bytes)
            default: throw PipelineError.io(p, "expected IDX images [count, height, width] or [count, channels, height, width], found shape \(a.shape)")
            }
        }
        func labels(_ p: String?, count: Int, key: String) throws -> [UInt8]? {
            guard let p else { return nil }
            let a = try IDXArray.read(p)
            guard a.shape == [count] else { throw PipelineError.io(p, "data.\(key): expected \(count) labels (one per image), found shape \(a.shape)") }
            return a.bytes
        }
        do {
            let train = try images(path)
            let sampleShape = Array(train.shape.dropFirst())
            guard train.shape[0] > dc.floorSize else {
                throw PipelineError.io(path, "data.floor_size (\(dc.floorSize)) must be smaller than the number of training images (\(train.shape[0]))")
            }
            var test: (shape: [Int], bytes: [UInt8]) = ([0] + sampleShape, [])
            if let t = dc.testPath {
                test = try images(t)
                guard Array(test.shape.dropFirst()) == sampleShape else {
                    throw PipelineError.io(t, "data.test_path: images are \(test.shape.dropFirst().map(String.init).joined(separator: "x")) but the training images are \(sampleShape.map(String.init).joined(separator: "x"))")
                }
            }
            return PreparedData(images: train.bytes, sampleShape: sampleShape,
                                labels: try labels(dc.labels, count: train.shape[0], key: "labels"),
                                testImages: test.bytes, testLabels: try labels(dc.testLabels, count: test.shape[0], key: "test_labels"),
                                normalization: normalization, source: "\(dc.source.rawValue) \(path)")
        } catch let e as DataError {
            throw PipelineError.io(e.file, e.message)
        }
    }

    func loadPrepared() throws -> PreparedData {
        guard FileManager.default.fileExists(atPath: run.dataFile.path) else {
            throw PipelineError.badState("\(run.dataFile.path): missing; run the prep stage first (--stages prep)")
        }
        return try PreparedData.read(from: run.dataFile)
    }

    // MARK: train

    public func train() throws {
        let data = try loadPrepared()
        let session = TrainSession(config: config, data: data)
        let store = run.stage("train", keepLast: config.checkpoint.keepLast)
        let total = config.train.steps
        if !store.stepFiles().isEmpty {
            let (reader, warnings) = try store.openLatest()
            warnings.forEach(log)
            warnIfThreadsDiffer(reader)
            try session.restore(from: reader)
            reader.close()
            if session.step >= total {
                log("train: finished (step \(session.step) of \(total)); skipped")
                return
            }
            log("train: resuming from step \(session.step) of \(total)")
        } else {
            if config.pretrainD != nil {
                let pre = run.stage("pretrain-d")
                let (reader, warnings) = try pre.openLatest()
                warnings.forEach(log)
                try reader.load("discriminator", into: session.discriminator)
                reader.close()
                log("train: starting from the pretrained discriminator (\(pre.url.lastPathComponent) step \(reader.step))")
            }
            // The starting state stays available for the "before" plots: pinned, never pruned.
            try store.pin(try store.save(session.checkpoint(configYAML: configYAML)), as: "start.h5")
            if data.isImage { try writeSampleGrid(session, to: store.url) }
        }
        StopSignal.install()
        let progress = Progress(stage: "train", total: total, startStep: session.step, every: config.train.logEvery, quiet: quiet)
        let every = max(1, config.train.checkpointEvery)
        // eval_every: a cheap metric; the best checkpoint so far is pinned as best.h5 (never pruned).
        // The best score is re-read from best.h5's history on resume, so resuming changes nothing.
        let toy = ModelFactory.toyDistribution(config.data)
        let imageEvaluator = config.train.evalEvery > 0 && data.isImage ? try imageEvaluator(data) : nil
        var best = Double.infinity
        if let r = try? CheckpointReader(path: store.url.appendingPathComponent("best.h5").path) {
            best = (try? r.history().first { $0.metric == "best_score" }?.values.last) ?? .infinity
            r.close()
        }
        // Checkpoints are serialised here and written to disk on a background thread; every exit
        // path below waits for the write in flight first (`writer.wait()`).
        let writer = BackgroundCheckpointWriter(store)
        while session.step < total {
            let (d, g) = session.iterate()
            guard d.loss.isFinite, g.isFinite else {
                progress.finish()
                try writer.wait()
                throw PipelineError.diverged(stage: "train", step: session.step, what: "loss is \(d.loss.isFinite ? "G \(g)" : "D \(d.loss)")",
                                             lastCheckpoint: store.stepFiles().last?.url.path)
            }
            progress.update(step: session.step, ["d_loss": d.loss, "g_loss": g, "D(x)": d.realScore, "D(G(z))": d.fakeScore])
            let stop = StopSignal.isRequested
            var score: Double?
            if config.train.evalEvery > 0, session.step % config.train.evalEvery == 0 {
                var s: Double?
                try session.withServingGenerator { g in
                    if let toy {
                        s = Self.quickScore(toy, generator: g, description: session.dataDescription, seed: config.seed, step: session.step)
                    } else if let imageEvaluator {
                        // FD of 2,000 samples to the held-out images.
                        let x = ImageEvaluator.samples(g, description: session.dataDescription, count: 2000,
                                                       seed: config.seed, purpose: "eval-\(session.step)")
                        s = try imageEvaluator.fd(x)
                    }
                }
                if let s, s < best { best = s; score = s }
            }
            if session.step % every == 0 || session.step == total || stop || score != nil {
                var c = session.checkpoint(configYAML: configYAML)
                if let s = score { c.history.append(("best_score", [s])) }
                let url = try writer.save(c)
                if score != nil {
                    try writer.wait()
                    try store.pin(url, as: "best.h5")
                }
                if data.isImage { try writeSampleGrid(session, to: store.url) }
                if stop {
                    progress.finish()
                    try writer.wait()
                    throw PipelineError.interrupted(stage: "train", step: session.step, checkpoint: url.path)
                }
            }
        }
        try writer.wait()
        log("train: done, \(total) steps; checkpoints in \(store.url.path)")
    }

    /// `train/samples/step-NNNNNNN.png`: G on the run's fixed noise batch (64 z drawn once from
    /// the "fixed-noise" stream), so successive grids show the same z evolving.
    func writeSampleGrid(_ session: TrainSession, to dir: URL) throws {
        let samples = dir.appendingPathComponent("samples")
        try FileManager.default.createDirectory(at: samples, withIntermediateDirectories: true)
        let out = session.withServingGenerator { $0.forward(session.fixedNoise, training: false).array }
        let path = samples.appendingPathComponent(String(format: "step-%08d.png", session.step)).path
        try Self.imageGrid(out, count: session.fixedNoise.rows, description: session.dataDescription).write(to: path)
    }

    /// Generated images (model units, `count` of the description's [C, H, W]) as a near-square grid.
    static func imageGrid(_ modelUnits: [Float], count: Int, description d: DataDescription, columns: Int? = nil) -> PixelImage {
        let shape = d.sampleShape
        let data = modelUnits.map { ($0 - d.offset) / d.scale }
        return ImageGrid.tile(data, count: count, channels: shape[0], height: shape[1], width: shape[2], columns: columns)
    }

    // MARK: pretrain-d

    public func pretrain() throws {
        guard let pc = config.pretrainD else { return }
        guard case .gaussian(let mean, let std)? = ModelFactory.toyDistribution(config.data) else {
            throw PipelineError.config("pretrain_d: needs data.source gaussian (D is regressed onto the data pdf)")
        }
        let data = try loadPrepared()
        let session = TrainSession(config: config, data: data)
        let d = session.discriminator
        let optimizer = SGD(parameters: d.parameters, learningRate: Float(pc.learningRate), momentum: Float(pc.momentum))
        let (scale, offset) = (data.scale, data.offset)
        // Stratified points over mean ± 6 std (data units), given to D in model units.
        let low = scale * (mean - 6 * std) + offset, high = scale * (mean + 6 * std) + offset
        let pdf: @Sendable (Float) -> Float = { xm in
            let x = (xm - offset) / scale, z = Double((x - mean) / std)
            return Float(exp(-0.5 * z * z) / (Double(std) * (2 * Double.pi).squareRoot()))
        }
        let pre = DiscriminatorPretrainer(discriminator: d, optimizer: optimizer, low: min(low, high), high: max(low, high),
                                          batchSize: pc.batchSize, rng: RNG(seed: config.seed, purpose: "pretrain"), density: pdf)
        let store = run.stage("pretrain-d", keepLast: config.checkpoint.keepLast)
        var step = 0
        var losses: [Double] = []
        if !store.stepFiles().isEmpty {
            let (reader, warnings) = try store.openLatest()
            warnings.forEach(log)
            warnIfThreadsDiffer(reader)
            try reader.load("discriminator", into: d)
            try reader.loadOptimizer("discriminator", into: optimizer, of: d)
            pre.rng = try reader.rng("pretrain")
            losses = try reader.history().first { $0.metric == "mse" }?.values ?? []
            step = reader.step
            reader.close()
            if step >= pc.steps {
                log("pretrain-d: finished (step \(step) of \(pc.steps)); skipped")
                return
            }
        }
        @discardableResult func save() throws -> URL {
            var c = TrainingCheckpoint(stage: "pretrain-d", step: step, data: session.dataDescription, networks: [
                NetworkEntry("generator", session.generator), NetworkEntry("discriminator", d, optimizer: optimizer),
            ])
            c.config = configYAML
            c.rngs = [("pretrain", pre.rng)]
            c.history = [("step", (0..<losses.count).map { Double($0 + 1) }), ("mse", losses)]
            return try store.save(c)
        }
        if store.stepFiles().isEmpty { try store.pin(try save(), as: "start.h5") }
        StopSignal.install()
        let progress = Progress(stage: "pretrain-d", total: pc.steps, startStep: step, every: config.train.logEvery, quiet: quiet)
        while step < pc.steps {
            let loss = pre.step()
            step += 1
            losses.append(Double(loss))
            guard loss.isFinite else { throw PipelineError.diverged(stage: "pretrain-d", step: step, what: "loss is \(loss)", lastCheckpoint: store.stepFiles().last?.url.path) }
            progress.update(step: step, ["mse": loss])
            if StopSignal.isRequested {
                let url = try save()
                progress.finish()
                throw PipelineError.interrupted(stage: "pretrain-d", step: step, checkpoint: url.path)
            }
        }
        try save()
        log("pretrain-d: done, \(pc.steps) D steps, final mse \(String(format: "%.5f", losses.last ?? .nan))")
    }
}
