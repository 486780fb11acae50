import Foundation
import GANCheckpoint
import GANData
import GANNN

/// The train stage's cheap score (`train.eval_every`, lower is better) and the best value so far:
/// W1 to the target for the 1-D Gaussian, (modes missed + low-quality fraction) for mixtures,
/// curve RMSE for the parabola, FD of 2,000 samples to the held-out images for image data. Each
/// score draws its samples from the "eval-<step>" stream, independent of the training streams.
/// The best score is re-read from `best.h5`'s history, so resuming changes nothing.
final class BestCheckpointScore {
    private let every: Int
    private let seed: UInt64
    private let toy: ToyDistribution?
    private let images: ImageEvaluator?
    private var best = Double.infinity

    init(_ context: StageContext, data: PreparedData, store: CheckpointDirectory) throws {
        every = context.config.train.evalEvery
        seed = context.config.seed
        toy = ModelFactory.toyDistribution(context.config.data)
        images = every > 0 && data.isImage ? try context.imageEvaluator(data) : nil
        if let r = try? CheckpointReader(path: store.url.appendingPathComponent("best.h5").path) {
            best = (try? r.history().first { $0.metric == "best_score" }?.values.last) ?? .infinity
            r.close()
        }
    }

    /// The session's score when this step is due for one and it beats the best so far (which it
    /// becomes); nil otherwise.
    func improvedScore(_ session: TrainSession) throws -> Double? {
        guard every > 0, session.step % every == 0 else { return nil }
        var score: Double?
        try session.withServingGenerator { g in
            if let toy {
                score = Self.score(toy, generator: g, description: session.dataDescription, seed: seed, step: session.step)
            } else if let images {
                let x = ImageEvaluator.samples(g, description: session.dataDescription, count: 2000, seed: seed, stream: .eval(step: session.step))
                score = try images.fd(x)
            }
        }
        guard let score, score < best else { return nil }
        best = score
        return score
    }

    /// The toy score of 2,000 samples of `g` drawn from the "eval-<step>" stream.
    static func score(_ toy: ToyDistribution, generator g: Sequential, description desc: DataDescription,
                      seed: UInt64, step: Int) -> Double {
        var rng = RNG(seed: seed, stream: .eval(step: step))
        let z = Tensor(shape: [2000, desc.noiseDimension])
        desc.noisePrior.fill(z, rng: &rng)
        let samples = g.forward(z, training: false).array.map { ($0 - desc.offset) / desc.scale }
        switch toy {
        case .gaussian(let mean, let std):
            return SampleMetrics.w1Normal(samples, mean: Double(mean), std: Double(std))
        case .ring, .grid:
            let m = SampleMetrics.modeCoverage(samples, centers: toy.centers, std: toy.componentStd)
            return Double(toy.centers.count - m.covered) + (1 - m.highQualityFraction)
        case .parabola(let a, _):
            var ss = 0.0
            for i in stride(from: 0, to: samples.count - 1, by: 2) {
                let r = Double(samples[i + 1] - a * samples[i] * samples[i]) + (abs(samples[i]) > 1 ? 1 : 0)
                ss += r * r
            }
            return (ss / Double(max(samples.count / 2, 1))).squareRoot()
        }
    }
}
