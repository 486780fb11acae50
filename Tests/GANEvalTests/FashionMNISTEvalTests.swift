import Foundation
import GANData
import GANEval
@_spi(Testing) import GANTensor
import Testing

/// End-to-end checks on the real Fashion-MNIST (Debian's dataset-fashion-mnist). Skipped when the
/// files are missing. Tests run in debug builds, so the classifier is trained on a 20,000-image
/// subset for two epochs here (bar 0.80); the full-data accuracy is measured by
/// `gan-bench --model classifier --iters 6` (release build).
@Suite(.serialized) struct FashionMNISTEvalTests {
    static let available = FileManager.default.fileExists(atPath: FashionMNIST.imagesPath(split: "train"))
        && FileManager.default.fileExists(atPath: FashionMNIST.imagesPath(split: "t10k"))

    static func load(_ split: String) throws -> (images: [UInt8], labels: [UInt8]) {
        let images = try IDXArray.read(FashionMNIST.imagesPath(split: split))
        let labels = try IDXArray.read(FashionMNIST.labelsPath(split: split))
        precondition(images.shape.count == 3 && images.shape[1] * images.shape[2] == 784 && labels.shape == [images.shape[0]])
        return (images.bytes, labels.bytes)
    }

    /// Uniform noise images in [0, 1].
    static func noise(_ n: Int, seed: UInt64) -> Tensor {
        var rng = RNG(seed: seed)
        let t = Tensor(shape: [n, 784])
        rng.fillUniform(t)
        return t
    }

    @Test(.enabled(if: available, "Fashion-MNIST not found at \(FashionMNIST.directory) (apt install dataset-fashion-mnist)"))
    func classifierFeaturesAndMetricsOnRealData() throws {
        let train = try Self.load("train"), test = try Self.load("t10k")
        let n = 20_000
        let model = ImageClassifier.train(images: Array(train.images.prefix(n * 784)), labels: Array(train.labels.prefix(n)),
                                          sampleSize: 784, classes: 10, epochs: 2, seed: 1) { print($0) }
        let accuracy = model.accuracy(images: test.images, labels: test.labels)
        print("Fashion-MNIST held-out accuracy (20k train images, 2 epochs): \(accuracy)")
        #expect(accuracy >= 0.80)

        // FD: two disjoint halves of the test set are close; real vs uniform noise is far.
        let x = ImageClassifier.tensor(images: test.images, sampleSize: 784)
        let features = model.features(x)
        let half = Tensor(shape: [5000, features.columns]), other = Tensor(shape: [5000, features.columns])
        half.data.update(from: features.data, count: half.count)
        other.data.update(from: features.data + half.count, count: other.count)
        let fdHalves = try FrechetDistance.distance(half, other)
        let fdNoise = try FrechetDistance.distance(half, model.features(Self.noise(5000, seed: 2)))
        print("FD(test half, test half) = \(fdHalves), FD(test half, noise) = \(fdNoise)")
        #expect(fdHalves >= 0 && fdNoise > 50 * fdHalves)

        // Class histogram: the real test set is balanced (1,000 per class).
        let real = ClassHistogram(predictions: model.predict(x), classes: 10)
        #expect(real.classesCovered() == 10 && real.klFromUniform < 0.05, "\(real.counts)")
        let noise = ClassHistogram(predictions: model.predict(Self.noise(2000, seed: 3)), classes: 10)
        print("class counts: real \(real.counts) KL \(real.klFromUniform); noise \(noise.counts) KL \(noise.klFromUniform)")
        #expect(noise.klFromUniform > real.klFromUniform)

        // Parzen window on pixels: real test images are likelier than noise under real samples.
        let samples = ImageClassifier.tensor(images: Array(train.images[(n * 784)..<((n + 3000) * 784)]), sampleSize: 784)
        let validation = ImageClassifier.tensor(images: Array(train.images[((n + 3000) * 784)..<((n + 3500) * 784)]), sampleSize: 784)
        let window = ParzenWindow(samples: samples)
        let (sigma, _) = window.chooseSigma(validation: validation)
        let llReal = window.estimate(ImageClassifier.tensor(images: Array(test.images.prefix(1000 * 784)), sampleSize: 784), sigma: sigma)
        let llNoise = window.estimate(Self.noise(1000, seed: 4), sigma: sigma)
        print("Parzen σ \(sigma): real \(llReal.mean) ± \(llReal.standardError), noise \(llNoise.mean) ± \(llNoise.standardError)")
        #expect(llReal.mean > llNoise.mean + 10 * (llReal.standardError + llNoise.standardError))
    }
}
