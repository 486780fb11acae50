import Foundation
import GANCheckpoint
import GANNN

extension GANBench {
    /// Saves (crash-safe: tmp + fsync + rename + dir fsync, latest symlink, pruning) and loads
    /// (open + validate + verify every checksum + load both networks and Adam states) an mlp_gan
    /// checkpoint: 0.67 M parameters + 1.34 M Adam state. One iteration = one save + one load.
    func benchCheckpoint() throws -> BenchResult {
        let trainer = try makeMLPGAN(seed: seed)
        let real = Tensor(shape: [128, 784])
        var rng = RNG(seed: seed, stream: .data)
        rng.fillUniform(real)
        for step in 0..<3 {
            trainer.discriminatorStep(real: real, step: step)
            trainer.generatorStep(batchSize: 128, real: real, step: step)
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gan-bench-ckpt-\(getpid())")
        defer { if ProcessInfo.processInfo.environment["GAN_BENCH_KEEP"] == nil { try? FileManager.default.removeItem(at: dir) } }
        let store = CheckpointDirectory(dir, keepLast: 2)
        var step = 0
        var saveSeconds: [Double] = [], loadSeconds: [Double] = []
        let g2 = try makeMLPGAN(seed: seed &+ 1)
        func iteration() throws {
            step += 1
            let c = trainingCheckpoint(trainer, step: step, sampleShape: [1, 28, 28], scale: 1 / 255)
            let t0 = Measurement.monotonicSeconds()
            try store.save(c)
            let t1 = Measurement.monotonicSeconds()
            let (reader, _) = try store.openLatest()
            try reader.load("generator", into: g2.generator)
            try reader.load("discriminator", into: g2.discriminator)
            try reader.loadOptimizer("generator", into: g2.generatorOptimizer, of: g2.generator)
            try reader.loadOptimizer("discriminator", into: g2.discriminatorOptimizer, of: g2.discriminator)
            reader.close()
            let t2 = Measurement.monotonicSeconds()
            saveSeconds.append(t1 - t0)
            loadSeconds.append(t2 - t1)
        }
        for _ in 0..<min(warmup, 3) { try iteration() }
        saveSeconds = []
        loadSeconds = []
        var failure: Error?
        let m = Measurement.run {
            do { for _ in 0..<iters { try iteration() } } catch { failure = error }
        }
        if let e = failure { throw e }
        let bytes = (try? FileManager.default.attributesOfItem(atPath: store.latestLink.resolvingSymlinksInPath().path)[.size] as? Int) ?? 0
        FileHandle.standardError.write(Data(String(format: "checkpoint: save median %.1f ms, load median %.1f ms, %.2f MB per file\n",
                                                   median(saveSeconds) * 1e3, median(loadSeconds) * 1e3, Double(bytes) / 1e6).utf8))
        return BenchResult(model: model.rawValue, threads: threads, iters: iters, batch: 1, measurement: m,
                           flopPerIteration: nil,
                           extra: [("save_ms_median", round2(median(saveSeconds) * 1e3)),
                                   ("load_ms_median", round2(median(loadSeconds) * 1e3)),
                                   ("file_mb", round2(Double(bytes) / 1e6))])
    }

    /// A train-stage checkpoint of `trainer` as the pipeline writes it: both networks with their
    /// optimiser states and the noise stream.
    func trainingCheckpoint(_ trainer: AdversarialTrainer, step: Int, sampleShape: [Int], scale: Float) -> TrainingCheckpoint {
        var c = TrainingCheckpoint(stage: .train, step: step,
                                   data: DataDescription(sampleShape: sampleShape, scale: scale,
                                                         noiseDimension: trainer.noiseDimension),
                                   networks: [NetworkEntry("generator", trainer.generator, optimizer: trainer.generatorOptimizer),
                                              NetworkEntry("discriminator", trainer.discriminator,
                                                           optimizer: trainer.discriminatorOptimizer)])
        c.rngs = [(RNGStream.noise.name, trainer.noiseRNG)]
        return c
    }

    /// What checkpointing costs a training model, as the pipeline saves (`BackgroundCheckpointWriter`):
    /// the training thread is blocked only while the checkpoint is copied into memory
    /// (`checkpoint_save_ms`, median of 5); the HDF5 write, fsyncs, rename and pruning run on
    /// another thread (`checkpoint_durable_ms`: until the file is on disk). The share of training time at the
    /// pipeline's default interval (`train.checkpoint_every` = 500 iterations) is blocked / (blocked
    /// + 500 / it_per_s); the target is < 2 %.
    func checkpointCost(_ trainer: AdversarialTrainer, sampleShape: [Int], scale: Float,
                        itPerSecond: Double, interval: Int = 500) throws -> [(String, Any)] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gan-bench-cost-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let writer = BackgroundCheckpointWriter(CheckpointDirectory(dir, keepLast: 2))
        var blocked: [Double] = [], durable: [Double] = []
        for step in 1...5 {
            let c = trainingCheckpoint(trainer, step: step, sampleShape: sampleShape, scale: scale)
            let t0 = Measurement.monotonicSeconds()
            try writer.save(c)
            let t1 = Measurement.monotonicSeconds()
            try writer.wait()
            blocked.append(t1 - t0)
            durable.append(Measurement.monotonicSeconds() - t0)
        }
        let save = median(blocked)
        let bytes = (try? FileManager.default.attributesOfItem(atPath: writer.store.latestLink.resolvingSymlinksInPath().path)[.size] as? Int) ?? 0
        let share = save / (save + Double(interval) / itPerSecond)
        return [("checkpoint_save_ms", round2(save * 1e3)), ("checkpoint_durable_ms", round2(median(durable) * 1e3)),
                ("checkpoint_mb", round2(Double(bytes) / 1e6)), ("checkpoint_share_at_\(interval)", round4(share))]
    }
}
