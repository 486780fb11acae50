import Foundation
import GANData
import GANEval
import GANNN

extension GANBench {
    /// `eval_metrics`: the image metrics of the evaluate stage at its sizes, on random inputs (the
    /// cost does not depend on the values). One iteration = the feature statistics of two sets of
    /// 10,000 x 256 features and their Fréchet distance (both eigendecompositions), then a Parzen
    /// window on 10,000 samples of 784 values scoring 10,000 test rows at one σ and at the 10 σ
    /// of the default grid in one pass. Medians of each part are extra fields (ms).
    func benchEvalMetrics() throws -> BenchResult {
        var rng = RNG(seed: seed, stream: .randomFeatures)
        let a = Tensor(shape: [10_000, 256]), b = Tensor(shape: [10_000, 256])
        rng.fillNormal(a)
        rng.fillNormal(b, mean: 0.1, std: 1.1)
        let samples = Tensor(shape: [10_000, 784]), test = Tensor(shape: [10_000, 784])
        rng.fillUniform(samples)
        rng.fillUniform(test)
        let parts = ["statistics_ms", "fd_ms", "parzen_init_ms", "parzen_one_sigma_ms", "parzen_ten_sigmas_ms"]
        var times = [[Double]](repeating: [], count: parts.count)
        var fd = 0.0, parzen = 0.0
        func timed<R>(_ part: Int, _ body: () throws -> R) rethrows -> R {
            let t0 = Measurement.monotonicSeconds()
            let r = try body()
            times[part].append((Measurement.monotonicSeconds() - t0) * 1e3)
            return r
        }
        func iteration() throws {
            let (sa, sb) = timed(0) { (FeatureStatistics(features: a), FeatureStatistics(features: b)) }
            fd = try timed(1) { try FrechetDistance.distance(sa, sb) }
            let window = timed(2) { ParzenWindow(samples: samples) }
            parzen = timed(3) { window.estimate(test, sigma: 0.2) }.mean
            _ = timed(4) { window.logLikelihoods(test, sigmas: ParzenWindow.logGrid()) }
        }
        for _ in 0..<min(warmup, 1) { try iteration() }
        times = times.map { _ in [] }
        var failure: Error?
        let m = Measurement.run {
            do { for _ in 0..<iters { try iteration() } } catch { failure = error }
        }
        if let failure { throw failure }
        return BenchResult(model: model.rawValue, threads: threads, iters: iters, batch: 10_000, measurement: m,
                           flopPerIteration: nil,
                           extra: zip(parts, times).map { ($0, round2(median($1))) } + [("fd", round4(fd)), ("parzen_ll", round2(parzen))])
    }

    /// `classifier`: trains the evaluation classifier (`ImageClassifier`, the FD features) on the
    /// 60,000 Fashion-MNIST training images for `--iters` epochs (an iteration is an epoch; the
    /// evaluate stage trains 6), then reports its accuracy on the 10,000 test images, the FD
    /// between the two halves of the test set's features, and the cost of saving and loading it
    /// and of the training data's identifier (the cache key).
    func benchClassifier() throws -> BenchResult {
        func load(_ split: String) throws -> (images: [UInt8], labels: [UInt8]) {
            let images = try IDXArray.read(FashionMNIST.imagesPath(split: split))
            let labels = try IDXArray.read(FashionMNIST.labelsPath(split: split))
            guard images.shape.count == 3, images.shape[1] * images.shape[2] == 784, labels.shape == [images.shape[0]] else {
                throw DataError(FashionMNIST.imagesPath(split: split), "expected images [N, 28, 28] and N labels")
            }
            return (images.bytes, labels.bytes)
        }
        let train = try load("train"), test = try load("t10k")
        var trained: ImageClassifier?
        let m = Measurement.run {
            trained = ImageClassifier.train(images: train.images, labels: train.labels, sampleSize: 784, classes: 10,
                                          epochs: iters, seed: seed) { line in
                if logEvery > 0 { FileHandle.standardError.write(Data((line + "\n").utf8)) }
            }
        }
        guard let classifier = trained else { preconditionFailure("classifier: training returned nothing") }
        let accuracy = classifier.accuracy(images: test.images, labels: test.labels)
        let features = classifier.features(ImageClassifier.tensor(images: test.images, sampleSize: 784))
        let half = Tensor(shape: [5000, features.columns]), other = Tensor(shape: [5000, features.columns])
        half.data.update(from: features.data, count: half.count)
        other.data.update(from: features.data + half.count, count: other.count)
        let fdHalves = try FrechetDistance.distance(half, other)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gan-bench-classifier-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("classifier.h5").path
        let t0 = Measurement.monotonicSeconds()
        try classifier.save(to: path)
        let t1 = Measurement.monotonicSeconds()
        _ = try ImageClassifier.load(path: path)
        let t2 = Measurement.monotonicSeconds()
        _ = ImageClassifier.dataIdentifier(images: train.images, labels: train.labels)
        let t3 = Measurement.monotonicSeconds()
        return BenchResult(model: model.rawValue, threads: threads, iters: iters, batch: train.labels.count, measurement: m,
                           flopPerIteration: nil,
                           extra: [("test_accuracy", round4(accuracy)), ("fd_test_halves", round4(fdHalves)),
                                   ("save_ms", round2((t1 - t0) * 1e3)), ("load_ms", round2((t2 - t1) * 1e3)),
                                   ("data_identifier_ms", round2((t3 - t2) * 1e3))])
    }
}
