import Foundation
import GANNN
import GANStore

extension GANBench {
    /// Saves (crash-safe: tmp + fsync + rename + dir fsync, latest symlink, pruning) and loads
    /// (open + validate + verify every checksum + load both networks and Adam states) an mlp_gan
    /// checkpoint: 0.67 M parameters + 1.34 M Adam state. One iteration = one save + one load.
    func benchCheckpoint() throws -> BenchResult {
        let trainer = makeMLPGAN(seed: seed)
        let real = Tensor(shape: [128, 784])
        var rng = RNG(seed: seed, purpose: "data")
        rng.fillUniform(real)
        for _ in 0..<3 { trainer.discriminatorStep(real: real); trainer.generatorStep(batchSize: 128) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gan-bench-ckpt-\(getpid())")
        defer { if ProcessInfo.processInfo.environment["GAN_BENCH_KEEP"] == nil { try? FileManager.default.removeItem(at: dir) } }
        let store = CheckpointDirectory(dir, keepLast: 2)
        var step = 0
        var saveSeconds: [Double] = [], loadSeconds: [Double] = []
        let g2 = makeMLPGAN(seed: seed &+ 1)
        func iteration() throws {
            step += 1
            var c = TrainingCheckpoint(stage: "train", step: step,
                                       data: DataDescription(sampleShape: [1, 28, 28], scale: 1 / 255, noiseDimension: 100),
                                       networks: [NetworkEntry("generator", trainer.generator, optimizer: trainer.generatorOptimizer),
                                                  NetworkEntry("discriminator", trainer.discriminator, optimizer: trainer.discriminatorOptimizer)])
            c.rngs = [("noise", trainer.noiseRNG)]
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
        func median(_ a: [Double]) -> Double { let s = a.sorted(); return s[s.count / 2] }
        let bytes = (try? FileManager.default.attributesOfItem(atPath: store.latestLink.resolvingSymlinksInPath().path)[.size] as? Int) ?? 0
        FileHandle.standardError.write(Data(String(format: "checkpoint: save median %.1f ms, load median %.1f ms, %.2f MB per file\n",
                                                   median(saveSeconds) * 1e3, median(loadSeconds) * 1e3, Double(bytes) / 1e6).utf8))
        return BenchResult(model: model.rawValue, threads: threads, iters: iters, batch: 1, measurement: m,
                           flopPerIteration: nil,
                           extra: [("save_ms_median", round2(median(saveSeconds) * 1e3)),
                                   ("load_ms_median", round2(median(loadSeconds) * 1e3)),
                                   ("file_mb", round2(Double(bytes) / 1e6))])
    }
}
