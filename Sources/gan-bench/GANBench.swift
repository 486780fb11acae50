import ArgumentParser
import CMallocCount
import Foundation
import GANCommandLine
import GANData
import GANDistributed
import GANFiles
import GANNN

/// `gan-bench`: times GAN training iterations exactly as the peers in `../shared/peers` define
/// them (one iteration = one D step + one G step with fresh noise; toy_1d counts G steps, each
/// after k = 20 D steps) and prints the peers' `RESULT {json}` line on stdout.
@main
struct GANBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gan-bench",
        abstract: "Benchmark GAN training iterations; prints a RESULT {json} line like the peers.",
        discussion: """
        Models: mlp_gan (Fashion-MNIST MLP GAN), toy_1d (1-D Gaussian, k = 20), \
        mlp_gan_gemms (the 21 GEMMs of one mlp_gan iteration alone: our BLAS ceiling), \
        dcgan28 (Fashion-MNIST DCGAN, batch 64), dcgan28_gemms (its GEMMs alone), \
        dcgan64 (pytorch/examples' DCGAN on random 64x64x3 images, batch 64), \
        gemm_small (plain loop vs BLAS on the toy products, to pick SmallGEMM.maxWork), \
        checkpoint (save + load of an mlp_gan checkpoint with Adam state), \
        normal_fill (RNG.fillNormal against the scalar glibc Box-Muller it reproduces), \
        json_floats (the server's JSON parser on a 64-row score request: ns per number), \
        eval_metrics (the evaluate stage's FD and Parzen window at 10,000 samples; a few --iters), \
        classifier (the evaluation classifier on Fashion-MNIST, --iters epochs; test accuracy), \
        shard_sum (the fixed-order mean over shards of data-parallel training; under mpirun, across the ranks).

        Examples:
          gan-bench --model mlp_gan --threads 1 --iters 500
          gan-bench --model dcgan28 --threads 2 --iters 100 --warmup 5
          mpirun -np 2 gan-bench --model shard_sum --shards 4
        """)

    enum Model: String, ExpressibleByArgument, CaseIterable {
        case mlp_gan, toy_1d, mlp_gan_gemms, dcgan28, dcgan28_gemms, dcgan64, gemm_small, checkpoint, normal_fill, json_floats, eval_metrics, classifier, shard_sum
    }

    @Option(help: "Benchmark model: \(Model.allCases.map(\.rawValue).joined(separator: ", ")).")
    var model: Model = .mlp_gan
    @OptionGroup var compute: ThreadsOption
    @Option(help: "Timed iterations (G steps for toy_1d).")
    var iters: Int = 500
    @Option(help: "Untimed warm-up iterations.")
    var warmup: Int = 20
    /// The init, data and noise streams' seed (default 0).
    @OptionGroup var seedOption: SeedOption
    var threads: Int { compute.threads }
    var seed: UInt64 { seedOption.seed ?? 0 }
    @Option(help: "Print losses every N iterations on stderr (0 = off).")
    var logEvery: Int = 0
    @Flag(help: "mlp_gan, dcgan28: random uint8 images instead of Fashion-MNIST (same cost).")
    var randomData = false
    @Flag(help: "mlp_gan, dcgan28: load Fashion-MNIST into memory (as the peers do; +47 MB RSS) instead of reading each batch from the file.")
    var inMemoryData = false
    @Option(help: "mlp_gan, dcgan28, shard_sum: batch shards of data-parallel training (default: one per rank; 1 = the plain step).")
    var shards: Int?
    @Option(help: "shard_sum: floats per shard vector (default 1.3 M, mlp_gan's parameters).")
    var size: Int = 1_300_000
    @Option(help: "Largest m·n·k computed without BLAS (default: the built-in threshold; 0 = always BLAS).")
    var smallGemmMaxWork: Int?

    func validate() throws {
        guard iters >= 1 else { throw ValidationError("--iters must be >= 1, got \(iters)") }
        guard warmup >= 0 else { throw ValidationError("--warmup must be >= 0, got \(warmup)") }
        if let w = smallGemmMaxWork, w < 0 { throw ValidationError("--small-gemm-max-work must be >= 0") }
    }

    func run() throws {
        let communicator: Communicator?
        do { communicator = try Communicator.world() } catch {
            FileHandle.standardError.write(Data("gan-bench: \(error)\n".utf8))
            throw ExitCode(2)
        }
        defer { communicator?.finalize() }
        compute.apply()
        if let w = smallGemmMaxWork { SmallGEMM.maxWork = w }
        let result: BenchResult
        do {
            switch model {
            case .mlp_gan: result = try benchMLPGAN(communicator)
            case .toy_1d: result = try benchToy1D()
            case .mlp_gan_gemms: result = benchMLPGANGEMMs()
            case .dcgan28: result = try benchDCGAN28(communicator)
            case .dcgan64: result = try benchDCGAN64(communicator)
            case .dcgan28_gemms: result = benchGEMMSet(dcgan28GEMMs(), batch: 64)
            case .gemm_small: result = benchSmallGEMM()
            case .checkpoint: result = try benchCheckpoint()
            case .normal_fill: result = try benchNormalFill()
            case .json_floats: result = try benchJSONFloats()
            case .eval_metrics: result = try benchEvalMetrics()
            case .classifier: result = try benchClassifier()
            case .shard_sum: result = try benchShardSum(communicator)
            }
        } catch let e as DataError {
            FileHandle.standardError.write(Data("gan-bench: \(e) (run `make deps`, or pass --random-data)\n".utf8))
            throw ExitCode(2)
        } catch let e as FileWriteError where e.isIOFailure {
            // The checkpoint and classifier benchmarks write files: a full disk is not bad input.
            FileHandle.standardError.write(Data("gan-bench: \(e)\n".utf8))
            throw ExitCode(FileWriteError.ioFailureExitCode)
        } catch {
            FileHandle.standardError.write(Data("gan-bench: \(error)\n".utf8))
            throw ExitCode(2)
        }
        guard communicator?.isRoot ?? true else { return }
        FileHandle.standardError.write(Data((result.humanLine() + "\n").utf8))
        print(result.line(version: SwiftGANVersion.string, blasCore: ComputeThreads.blasCoreName))
    }

    /// Heap allocations per training iteration, counted over a few untimed iterations after the
    /// warm-up (the engine's target is 0 once buffers exist).
    func allocationsPerIteration(_ iteration: () -> Void) -> Double {
        let n = 5
        iteration()  // make sure every buffer exists even with --warmup 0
        let a0 = malloc_count_total()
        for _ in 0..<n { iteration() }
        return Double(malloc_count_total() - a0) / Double(n)
    }

    /// Runs `warmup` untimed training iterations of `trainer`, counts the allocations of a few
    /// more (`allocationsPerIteration`), then times `iters`. An iteration is Algorithm 1's: `dSteps`
    /// D steps, each on the batch `nextReal` writes into `real`, then one G step of `real.rows`
    /// samples. Returns the timing, the allocations and the last D result and G loss.
    /// With `sharded`, the iterations are data-parallel (each process computes its shards of
    /// every batch; under mpirun all ranks run this loop together).
    func timeTraining(_ trainer: AdversarialTrainer, sharded: ShardedTrainer? = nil, real: Tensor, dSteps: Int,
                      nextReal: () -> Void) throws -> (Measurement, Double, (DiscriminatorStepResult, Float)) {
        var last = (DiscriminatorStepResult(loss: 0, realScore: 0, fakeScore: 0), Float(0))
        var step = 0
        var failure: Error?
        func iteration(_ i: Int) {
            do {
                for _ in 0..<dSteps {
                    nextReal()
                    last.0 = try sharded?.discriminatorStep(real: real, step: step) ?? trainer.discriminatorStep(real: real, step: step)
                }
                last.1 = try sharded?.generatorStep(batchSize: real.rows, step: step, stop: false).loss
                    ?? trainer.generatorStep(batchSize: real.rows, real: real, step: step)
            } catch {
                failure = failure ?? error
            }
            step += 1
            log(i, last.0, last.1)
        }
        for i in 0..<warmup { iteration(-1 - i) }
        let allocations = allocationsPerIteration { iteration(0) }
        try sharded?.sum.communicator?.barrier()
        sharded?.sum.resetCounters()
        let m = Measurement.run { for i in 1...iters { iteration(i) } }
        if let failure { throw failure }
        return (m, allocations, last)
    }

    func log(_ i: Int, _ d: DiscriminatorStepResult, _ g: Float) {
        if logEvery > 0 && i > 0 && i % logEvery == 0 {
            FileHandle.standardError.write(Data(String(format: "iter %d: lossD %.4f lossG %.4f D(x) %.3f D(G(z)) %.3f\n",
                                                       i, d.loss, g, d.realScore, d.fakeScore).utf8))
        }
    }

    /// Batches of Fashion-MNIST training images: read from the file per batch (the default; the
    /// data set stays in the page cache, out of our RSS), loaded with `--in-memory-data`, or random
    /// bytes of the same size with `--random-data`.
    func trainBatches(batch: Int) throws -> ByteBatcher {
        let rng = RNG(seed: seed, stream: .data)
        if randomData {
            var r = RNG(seed: seed, stream: .randomImages)
            let bytes = (0..<(60000 * 784)).map { _ in UInt8(truncatingIfNeeded: r.next()) }
            return ByteBatcher(samples: bytes, sampleSize: 784, batchSize: batch, rng: rng)
        }
        if inMemoryData { return ByteBatcher(samples: try loadFashionTrainImages(), sampleSize: 784, batchSize: batch, rng: rng) }
        return ByteBatcher(file: try openFashionTrainImages(), batchSize: batch, rng: rng)
    }

    var dataDescription: String { randomData ? "random" : inMemoryData ? "fashion-mnist in memory" : "fashion-mnist streamed" }

    func benchMLPGAN(_ communicator: Communicator?) throws -> BenchResult {
        try benchImageGAN(try makeMLPGAN(seed: seed), batch: 128, inputShape: [784], scale: 1 / 255, offset: 0,
                          flops: mlpGANFlops(), communicator: communicator)
    }

    /// dcgan28: one D step + one G step on `[64, 1, 28, 28]` images scaled to [-1, 1].
    func benchDCGAN28(_ communicator: Communicator?) throws -> BenchResult {
        try benchImageGAN(try makeDCGAN28(seed: seed), batch: 64, inputShape: [1, 28, 28], scale: 2 / 255, offset: -1,
                          flops: dcgan28Flops(batch: 64), communicator: communicator)
    }

    /// dcgan64: pytorch/examples' DCGAN on `[64, 3, 64, 64]` random images scaled to [-1, 1], as
    /// the peer (`torch_gan.py --model dcgan64`): the cost of a batch does not depend on its pixels.
    func benchDCGAN64(_ communicator: Communicator?) throws -> BenchResult {
        try benchImageGAN(try makeDCGAN64(seed: seed), batch: 64, inputShape: [3, 64, 64], scale: 2 / 255, offset: -1,
                          flops: dcgan64Flops(batch: 64), communicator: communicator, randomImages: true)
    }

    /// One D step + one G step per iteration on Fashion-MNIST batches (uint8, converted to
    /// `scale · byte + offset` inside the step, shaped `[batch] + inputShape`), then the checkpoint
    /// cost. Under mpirun (or with `--shards` > 1) the iterations are data-parallel: the batch is
    /// split into `--shards` (default: one per rank) and `it_per_s` counts global iterations.
    func benchImageGAN(_ trainer: AdversarialTrainer, batch: Int, inputShape: [Int], scale: Float, offset: Float,
                       flops: Double, communicator: Communicator?, randomImages: Bool = false) throws -> BenchResult {
        let ranks = communicator?.size ?? 1
        let k = shards ?? ranks
        guard k >= 1, k % ranks == 0, batch % k == 0 else {
            throw ValidationError("--shards \(k) must be a multiple of the \(ranks) rank(s) and divide the batch of \(batch)")
        }
        let sharded = k > 1 ? ShardedTrainer(trainer: trainer, shards: k, communicator: communicator, seed: seed) : nil
        let batcher = randomImages ? randomBatches(batch: batch, sampleSize: inputShape.reduce(1, *)) : try trainBatches(batch: batch)
        let real = Tensor(shape: [batch] + inputShape)
        let (m, allocations, last) = try timeTraining(trainer, sharded: sharded, real: real, dSteps: 1) {
            batcher.next(into: real, sampleShape: inputShape, scale: scale, offset: offset)
        }
        var result = BenchResult(model: model.rawValue, threads: threads, iters: iters, batch: batch, measurement: m,
                                 flopPerIteration: flops, allocationsPerIteration: allocations,
                                 extra: [("final_lossD", round4(Double(last.0.loss))), ("final_lossG", round4(Double(last.1))),
                                         ("data", dataDescription)])
        if let sharded {
            // Communication per global iteration of the timed loop (this rank's; every rank moves
            // about the same): the exchanges of the D and G steps, including the wait for the
            // slowest rank at each of them.
            let all = Double(iters), sum = sharded.sum
            result.extra += [("ranks", ranks), ("shards", k),
                             ("comm_mb_per_iter", round3(Double(sum.bytesSent + sum.bytesReceived) / all / 1e6)),
                             ("exchange_ms_per_iter", round3(sum.seconds / all * 1e3))]
        } else {
            result.extra += try checkpointCost(trainer, sampleShape: inputShape, scale: scale, itPerSecond: Double(iters) / m.wall)
        }
        return result
    }

    /// Batches from a pool of 256 random images of `sampleSize` bytes (`--random-data`'s stream).
    func randomBatches(batch: Int, sampleSize: Int) -> ByteBatcher {
        var r = RNG(seed: seed, stream: .randomImages)
        let bytes = (0..<(256 * sampleSize)).map { _ in UInt8(truncatingIfNeeded: r.next()) }
        return ByteBatcher(samples: bytes, sampleSize: sampleSize, batchSize: batch, rng: RNG(seed: seed, stream: .data))
    }

    /// A list of GEMMs run back to back (a model's matmul-only ceiling). Prints each distinct
    /// product's time and GFLOP/s on stderr first, to spot a badly shaped one.
    func benchGEMMSet(_ shapes: [GEMMShape], batch: Int) -> BenchResult {
        var lines = ["| m | k | n | tA | tB | count | ms | GFLOP/s |", "|---|---|---|---|---|---|---|---|"]
        var seen: [String] = []
        for s in shapes {
            let key = "| \(s.m) | \(s.k) | \(s.n) | \(s.transA ? "T" : "N") | \(s.transB ? "T" : "N") |"
            if seen.contains(key) { continue }
            seen.append(key)
            let one = GEMMSet([s], seed: seed)
            one.run()
            var best = Double.infinity
            for _ in 0..<5 {
                let t0 = Measurement.monotonicSeconds()
                one.run()
                best = min(best, Measurement.monotonicSeconds() - t0)
            }
            let count = shapes.filter { $0.m == s.m && $0.k == s.k && $0.n == s.n && $0.transA == s.transA && $0.transB == s.transB }.count
            lines.append(key + String(format: " %d | %.3f | %.1f |", count, best * 1e3, s.flops / best / 1e9))
        }
        FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        let set = GEMMSet(shapes, seed: seed)
        for _ in 0..<warmup { set.run() }
        let m = Measurement.run { for _ in 0..<iters { set.run() } }
        return BenchResult(model: model.rawValue, threads: threads, iters: iters, batch: batch, measurement: m,
                           flopPerIteration: set.flops)
    }

    func benchToy1D() throws -> BenchResult {
        let batch = 100, k = 20
        let trainer = try makeToy1D(seed: seed)
        var dataRNG = RNG(seed: seed, stream: .data)
        let real = Tensor(shape: [batch, 1])
        let (m, allocations, last) = try timeTraining(trainer, real: real, dSteps: k) { dataRNG.fillNormal(real, mean: 4, std: 0.5) }
        // Quality of G after the run, as the peers report it: mean and std of 10,000 samples.
        let samples = trainer.generator.forward(trainer.sampleNoise(batchSize: 10000), training: false)
        let mean = Kernels.mean(samples.data, count: samples.count)
        var ss = 0.0
        for i in 0..<samples.count { let d = Double(samples[i]) - mean; ss += d * d }
        let std = (ss / Double(samples.count - 1)).squareRoot()
        var result = BenchResult(model: model.rawValue, threads: threads, iters: iters, batch: batch, measurement: m,
                                 flopPerIteration: nil, allocationsPerIteration: allocations,
                                 extra: [("final_lossD", round4(Double(last.0.loss))), ("final_lossG", round4(Double(last.1))),
                                         ("g_mean", round3(mean)), ("g_std", round3(std))])
        result.extra += try checkpointCost(trainer, sampleShape: [1], scale: 1, itPerSecond: Double(iters) / m.wall)
        return result
    }
}
