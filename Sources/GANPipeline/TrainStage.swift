import Foundation
import GANCheckpoint
import GANData
import GANFiles
import GANNN
import GANPlot

/// The `train` stage: Algorithm 1 of Goodfellow et al. 2014 (`TrainSession.iterate`: k D steps,
/// then one G step) for `train.steps` G steps, checkpointed to `RUN/train/` at step 0 (pinned as
/// `start.h5`), every `train.checkpoint_every` steps, at the end, on Ctrl-C/SIGTERM, and whenever
/// the cheap `train.eval_every` score improves (pinned as `best.h5`). Image runs also write a grid
/// of G on fixed noise per checkpoint (`train/samples/`). Each checkpoint also writes the
/// TensorBoard events since the previous one (`StageEvents`, `RUN/tensorboard/train/`). Resumes
/// bit for bit from the newest complete checkpoint; a finished stage is skipped, and raising
/// `train.steps` extends it.
struct TrainStage: PipelineStage {
    static let stage = Stage.train
    let context: StageContext

    func run() throws {
        let config = context.config
        try context.job.checkShards(config)
        let data = try context.everyRank { try context.loadPrepared() }
        let session = try context.everyRank { try TrainSession(config: config, data: data, communicator: context.communicator) }
        let store = context.store(.train)
        let total = config.train.steps
        // Rank 0 keeps the TensorBoard run; the start checkpoint's grid and the config go in it.
        var events: StageEvents?
        guard try startOrResume(session, store: store, events: &events) else { return }

        StopSignal.install(announce: context.isRoot)
        let progress = context.progress(.train, total: total, startStep: session.step)
        let every = max(1, config.train.checkpointEvery)
        // Rank 0 scores (the image score needs the evaluation classifier) and writes; checkpoints
        // are serialised here and written to disk on a background thread, and every exit path
        // below waits for the write in flight first (`writer.wait()`).
        let best = try context.rootOnly { try BestCheckpointScore(context, data: data, store: store) } ?? nil
        let writer = context.isRoot ? BackgroundCheckpointWriter(store) : nil
        while session.step < total {
            let (d, g, stop) = try session.iterate { StopSignal.isRequested }
            guard d.loss.isFinite, g.isFinite else {
                progress.finish()
                try context.rootOnly { try writer?.wait() }
                throw PipelineError.diverged(stage: Self.stage, step: session.step, what: "loss is \(d.loss.isFinite ? "G \(g)" : "D \(d.loss)")",
                                             lastCheckpoint: store.stepFiles().last?.url.path)
            }
            progress.update(step: session.step, ["d_loss": d.loss, "g_loss": g, "D(x)": d.realScore, "D(G(z))": d.fakeScore])
            events?.mark(step: session.step)
            let score = try improvedScore(best, session)
            guard session.step % every == 0 || session.step == total || stop || score != nil else { continue }
            var checkpoint = try session.checkpoint(configYAML: context.configYAML)
            if let score { checkpoint.history.append(("best_score", [score])) }
            let saved = try context.fromRoot { () -> String in
                guard let writer else { return "" }
                let url = try writer.save(checkpoint)
                do {
                    if score != nil {
                        try writer.wait()
                        try store.pin(url, as: "best.h5")
                    }
                    // The checkpoint is saved first: events missing after a failure here are
                    // re-logged from its history on resume (StageEvents).
                    let grid = data.isImage ? try writeSampleGrid(session, to: store.url) : nil
                    if let grid { events?.addImage("samples", step: session.step, grid) }
                    try events?.flush()
                } catch {
                    // Never leave the checkpoint in flight half-written behind a failed write.
                    try? writer.wait()
                    throw error
                }
                if stop {
                    progress.finish()
                    try writer.wait()
                }
                return url.path
            }
            if stop { throw PipelineError.interrupted(stage: Self.stage, step: session.step, checkpoint: saved) }
        }
        try context.rootOnly { try writer?.wait() }
        context.log("train: done, \(total) steps; checkpoints in \(store.url.path)")
    }

    /// The scalars of step `step` for TensorBoard: the history's losses and scores and the
    /// learning rates (step s is the s-th completed step, trained at the rate of step index s - 1).
    private func scalars(_ session: TrainSession) -> (Int) -> [(tag: String, value: Float)]? {
        let g = ModelFactory.optimizer(context.config.generatorOptimizer).learningRate
        let d = ModelFactory.optimizer(context.config.discriminatorOptimizer).learningRate
        return { step in
            session.history.scalars(at: step).map { $0 + [("lr/d", d.rate(at: step - 1)), ("lr/g", g.rate(at: step - 1))] }
        }
    }

    /// The `train.eval_every` score when it is due and beats the best so far (rank 0 computes
    /// it, every rank receives it, so all save the same checkpoints).
    private func improvedScore(_ best: BestCheckpointScore?, _ session: TrainSession) throws -> Double? {
        let every = context.config.train.evalEvery
        guard every > 0, session.step % every == 0 else { return nil }
        let text = try context.fromRoot { try best?.improvedScore(session).map { "\($0)" } ?? "" }
        return Double(text)
    }

    /// Restores the newest checkpoint into `session`, or starts: from the pretrained D when the
    /// run pretrains, saving step 0 pinned as `start.h5` (the "before" plots read it). Returns
    /// false when the stage has already reached `train.steps`. Rank 0 picks the checkpoint
    /// (skipping damaged files); every rank reads that file.
    private func startOrResume(_ session: TrainSession, store: CheckpointDirectory, events: inout StageEvents?) throws -> Bool {
        let total = context.config.train.steps
        let latest = try context.fromRoot { () -> String in
            guard !store.stepFiles().isEmpty else { return "" }
            let reader = try context.openLatest(.train, resuming: true)
            defer { reader.close() }
            return reader.path
        }
        if !latest.isEmpty {
            try context.everyRank {
                let reader = try CheckpointReader(path: latest)
                defer { reader.close() }
                try session.restore(from: reader)
            }
            if session.step >= total {
                // Events a stopped process did not write after its last checkpoint, from the history.
                try context.rootOnly { try stageEvents(session, store: store, trains: false).flush() }
                context.log("train: finished (step \(session.step) of \(total)); skipped")
                return false
            }
            context.log("train: resuming from step \(session.step) of \(total)")
            events = try context.rootOnly { try stageEvents(session, store: store, trains: true) } ?? nil
            return true
        }
        if context.config.pretrainD != nil {
            let pretrained = try context.fromRoot { () -> String in
                let reader = try context.openLatest(.pretrainD, resuming: false)
                defer { reader.close() }
                return reader.path
            }
            let step = try context.everyRank {
                let reader = try CheckpointReader(path: pretrained)
                defer { reader.close() }
                try reader.load("discriminator", into: session.discriminator)
                return reader.step
            }
            context.log("train: starting from the pretrained discriminator (\(Stage.pretrainD.rawValue) step \(step))")
        }
        let start = try session.checkpoint(configYAML: context.configYAML)
        events = try context.rootOnly { () -> StageEvents in
            try store.pin(try store.save(start), as: "start.h5")
            return try stageEvents(session, store: store, trains: true)
        } ?? nil
        return true
    }

    /// The stage's TensorBoard run (rank 0) from the checkpoint `session` holds: the config, the
    /// checkpoint's sample grid and the scalars up to it, where a stopped process did not log them.
    private func stageEvents(_ session: TrainSession, store: CheckpointDirectory, trains: Bool) throws -> StageEvents {
        try StageEvents(context.run, stage: Self.stage, totalSteps: context.config.train.steps, resumingFrom: session.step, trains: trains,
                        config: context.configYAML, scalars: scalars(session),
                        image: session.data.isImage ? { try writeSampleGrid(session, to: store.url) } : nil)
    }

    /// `train/samples/step-NNNNNNN.png`: G on the run's fixed noise batch (64 z drawn once from
    /// the "fixed-noise" stream), so successive grids show the same z evolving.
    @discardableResult
    private func writeSampleGrid(_ session: TrainSession, to dir: URL) throws -> PixelImage {
        let samples = dir.appendingPathComponent("samples")
        try AtomicFile.createDirectory(samples.path)
        let out = session.withServingGenerator { $0.forward(session.fixedNoise, training: false, cyclingLabelsFrom: 0).array }
        let path = samples.appendingPathComponent(String(format: "step-%08d.png", session.step)).path
        let grid = SampleGrid.image(out, count: session.fixedNoise.rows, description: session.dataDescription, columns: 8)
        try grid.write(to: path)
        return grid
    }
}
