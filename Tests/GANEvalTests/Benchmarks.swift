import Foundation
import GANData
import GANEval
@_spi(Testing) import GANTensor
import GANTestSupport
import Testing

/// Timings and the full-data classifier accuracy; run in release:
///
///     GANEVAL_BENCH=1 swift test -c release --filter GANEvalTests.Benchmarks
@Suite(.serialized) struct Benchmarks {
    static let enabled = ProcessInfo.processInfo.environment["GANEVAL_BENCH"] == "1"

    static func time<T>(_ label: String, _ body: () throws -> T) rethrows -> T {
        let start = Date()
        let r = try body()
        print(String(format: "%@: %.3f s", label, Date().timeIntervalSince(start)))
        return r
    }

    @Test(.enabled(if: enabled, "set GANEVAL_BENCH=1 (release build) to run"))
    func frechetAndParzenTimings() throws {
        print("BLAS threads \(ComputeThreads.count), core \(ComputeThreads.blasCoreName)")
        let a = randomTensor([10_000, 256], seed: 1), b = randomTensor([10_000, 256], seed: 2, std: 1.1, mean: 0.1)
        let sa = Self.time("FeatureStatistics 10,000 x 256") { FeatureStatistics(features: a) }
        let sb = FeatureStatistics(features: b)
        let fd = try Self.time("Fréchet distance 256-d (both eigendecompositions)") { try FrechetDistance.distance(sa, sb) }
        print("FD = \(fd)")
        var rng = RNG(seed: 3)
        let samples = Tensor(shape: [10_000, 784]), test = Tensor(shape: [10_000, 784])
        rng.fillUniform(samples)
        rng.fillUniform(test)
        let window = Self.time("ParzenWindow init 10,000 x 784") { ParzenWindow(samples: samples) }
        let e = Self.time("Parzen 10,000 test x 10,000 samples x 784, one σ") { window.estimate(test, sigma: 0.2) }
        print("Parzen ll = \(e.mean) ± \(e.standardError)")
        _ = Self.time("Parzen 10,000 x 10,000 x 784, 10 σ at once") { window.logLikelihoods(test, sigmas: ParzenWindow.logGrid()) }
    }

    @Test(.enabled(if: enabled && FashionMNISTEvalTests.available, "set GANEVAL_BENCH=1 (release build) to run"))
    func fullFashionMNISTClassifier() throws {
        let epochs = Int(ProcessInfo.processInfo.environment["GANEVAL_EPOCHS"] ?? "") ?? 6
        let train = try FashionMNISTEvalTests.load("train"), test = try FashionMNISTEvalTests.load("t10k")
        let model = Self.time("classifier training, 60,000 images, \(epochs) epochs") {
            ImageClassifier.train(images: train.images, labels: train.labels, sampleSize: 784, classes: 10,
                                  epochs: epochs, seed: 1) { print($0) }
        }
        let accuracy = Self.time("accuracy on 10,000 test images") { model.accuracy(images: test.images, labels: test.labels) }
        print("Fashion-MNIST test accuracy (full training set, \(epochs) epochs): \(accuracy)")
        #expect(accuracy >= 0.87)
        let x = ImageClassifier.tensor(images: test.images, sampleSize: 784)
        let f = Self.time("features of 10,000 test images") { model.features(x) }
        let half = Tensor(shape: [5000, 256]), other = Tensor(shape: [5000, 256])
        half.data.update(from: f.data, count: half.count)
        other.data.update(from: f.data + half.count, count: other.count)
        var rng = RNG(seed: 9)
        let noise = Tensor(shape: [5000, 784])
        rng.fillUniform(noise)
        print("FD halves \(try FrechetDistance.distance(half, other)), FD real vs noise \(try FrechetDistance.distance(half, model.features(noise)))")
        let dir = try makeTemporaryDirectory("classifier-bench")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("c.h5").path
        try Self.time("save") { try model.save(to: path) }
        _ = try Self.time("load") { try ImageClassifier.load(path: path) }
        _ = Self.time("dataIdentifier of the 47 MB training set") { ImageClassifier.dataIdentifier(images: train.images, labels: train.labels) }
    }
}
