import Foundation
import GANCheckpoint
import GANData
import GANEval
import GANFiles
import GANNN

/// The image evaluation of issue 7, in data units ([0, 1] pixels), on three real sets:
/// - **held out**: the test images (`data.test_path`), which every metric compares against;
/// - **floor**: the last `data.floor_size` training images, scored exactly like generated samples
///   (the `*_real_floor` keys): what a perfect generator would get, since a set measured against
///   itself says nothing;
/// - **classifier training**: the rest of the training images (with `data.labels`), on which a
///   small MLP classifier (`GANEval.ImageClassifier`, seed 0, cached in `Checkpoints/.cache/` next
///   to the run directory and retrained only when the data change) learns the classes.
///
/// Metrics: `fd` (Fréchet distance between the classifier's penultimate features of the samples
/// and of the held-out images), `classes_covered` (classes with >= 1 % of the predictions),
/// `class_kl` (KL of the predicted class histogram from uniform), `classifier_accuracy` (on the
/// held-out images), `parzen_ll` / `parzen_se` (mean and standard error of the Parzen-window
/// log-likelihood of the held-out images under the samples, nats, sigma chosen on 1,000
/// validation training images from a log grid over [0.05, 0.3] as in Goodfellow et al. 2014).
/// Without labels the classifier metrics are absent; without a test set the floor images serve as
/// the held-out set and the floor row is absent.
final class ImageEvaluator {
    let sampleShape: [Int]
    let classifier: ImageClassifier?
    let heldOut: Tensor
    let heldOutLabels: [UInt8]?
    let floor: Tensor?
    let validation: Tensor
    let heldOutStatistics: FeatureStatistics?

    /// The classifier's seed: fixed, so one cached classifier serves every run on the same data.
    static let classifierSeed: UInt64 = 0
    static let validationSize = 1000

    init(data: PreparedData, floorSize: Int, cacheDirectory: URL, log: @escaping (String) -> Void) throws {
        precondition(data.isImage, "ImageEvaluator needs image data")
        sampleShape = data.sampleShape
        let d = data.dimension
        let trainCount = data.count - min(data.count - 1, max(0, floorSize))
        let floorImages = trainCount < data.count ? Array(data.images[(trainCount * d)...]) : []
        if data.testCount > 0 {
            heldOut = ImageClassifier.tensor(images: data.testImages, sampleSize: d)
            heldOutLabels = data.testLabels
            floor = floorImages.isEmpty ? nil : ImageClassifier.tensor(images: floorImages, sampleSize: d)
        } else {
            heldOut = ImageClassifier.tensor(images: floorImages.isEmpty ? data.images : floorImages, sampleSize: d)
            heldOutLabels = floorImages.isEmpty ? data.labels : data.labels.map { Array($0[trainCount...]) }
            floor = nil
        }
        validation = ImageClassifier.tensor(images: Array(data.images[0..<(min(Self.validationSize, trainCount) * d)]), sampleSize: d)
        if let labels = data.labels {
            try AtomicFile.createDirectory(cacheDirectory.path)
            let images = Array(data.images[0..<(trainCount * d)]), trainLabels = Array(labels[0..<trainCount])
            let id = ImageClassifier.dataIdentifier(images: images, labels: trainLabels)
            let path = cacheDirectory.appendingPathComponent("classifier-\(String(Hashing.fnv1a64(id.utf8), radix: 16)).h5").path
            let start = Date()
            let (c, reason) = try ImageClassifier.loadOrTrain(path: path, images: images, labels: trainLabels, sampleSize: d,
                                                              classes: max(10, Int(labels.max() ?? 0) + 1), seed: Self.classifierSeed,
                                                              progress: { log("evaluate: " + $0) })
            if reason != nil { log(String(format: "evaluate: classifier trained in %.1f s, cached as %@", Date().timeIntervalSince(start), path)) }
            classifier = c
            heldOutStatistics = FeatureStatistics(features: c.features(heldOut))
        } else {
            classifier = nil
            heldOutStatistics = nil
        }
    }

    /// `count` samples of G in data units, `[count, C·H·W]`, generated in batches of 500 from the
    /// `stream` of `seed`.
    static func samples(_ g: Sequential, description desc: DataDescription, count: Int, seed: UInt64, stream: RNGStream) -> Tensor {
        var rng = RNG(seed: seed, stream: stream)
        let d = desc.sampleShape.reduce(1, *)
        let out = Tensor(shape: [count, d])
        let z = Tensor(shape: [0])
        var done = 0
        while done < count {
            let n = min(500, count - done)
            z.resize(rows: n, columns: desc.noiseDimension)
            desc.noisePrior.fill(z, rng: &rng)
            let x = g.forward(z, training: false, cyclingLabelsFrom: done)
            for i in 0..<(n * d) { out[done * d + i] = (x[i] - desc.offset) / desc.scale }
            done += n
        }
        return out
    }

    /// FD of `samples` to the held-out images (nil without a classifier).
    func fd(_ samples: Tensor) throws -> Double? {
        guard let classifier, let heldOutStatistics else { return nil }
        return try FrechetDistance.distance(FeatureStatistics(features: classifier.features(samples)), heldOutStatistics)
    }

    /// Every metric for a sample set, keys suffixed with `suffix`.
    func metrics(_ samples: Tensor, suffix: String = "") throws -> [(String, Double)] {
        var m: [(String, Double)] = []
        if let classifier, let fd = try fd(samples) {
            let histogram = ClassHistogram(predictions: classifier.predict(samples), classes: classifier.classes)
            m += [("fd", fd), ("classes_covered", Double(histogram.classesCovered(minFraction: 0.01))), ("class_kl", histogram.klFromUniform)]
        }
        let parzen = ParzenWindow(samples: samples)
        let sigma = parzen.chooseSigma(validation: validation).sigma
        let e = parzen.estimate(heldOut, sigma: sigma)
        m += [("parzen_ll", e.mean), ("parzen_se", e.standardError), ("parzen_sigma", sigma)]
        return m.map { ($0.0 + suffix, $0.1) }
    }

    /// Class-conditional samples (issue 22; sample i generated for class i mod `classes`, as
    /// `samples` draws them): `conditional_accuracy`, the fraction the classifier assigns to the
    /// class they were generated for, over all samples; `conditional_accuracy_min`, that fraction
    /// for the worst class (`conditional_accuracy_worst_class`); and the same two for the held-out
    /// real images against their labels (`*_real`: the classifier's own accuracy and worst class).
    /// Empty without a classifier or held-out labels.
    func conditionalMetrics(_ samples: Tensor, classes k: Int) -> [(String, Double)] {
        guard let classifier, let labels = heldOutLabels else { return [] }
        func perClass(_ predicted: [Int], _ truth: (Int) -> Int) -> (all: Double, worst: Double, worstClass: Int) {
            var correct = [Int](repeating: 0, count: k), total = [Int](repeating: 0, count: k)
            for (i, p) in predicted.enumerated() {
                let c = truth(i)
                guard c < k else { continue }
                total[c] += 1
                if p == c { correct[c] += 1 }
            }
            let rates = (0..<k).map { total[$0] > 0 ? Double(correct[$0]) / Double(total[$0]) : Double.nan }
            let worst = rates.indices.filter { total[$0] > 0 }.min { rates[$0] < rates[$1] } ?? 0
            return (Double(correct.reduce(0, +)) / Double(max(total.reduce(0, +), 1)), rates[worst], worst)
        }
        let generated = perClass(classifier.predict(samples)) { $0 % k }
        let real = perClass(classifier.predict(heldOut)) { Int(labels[$0]) }
        return [("conditional_accuracy", generated.all), ("conditional_accuracy_min", generated.worst),
                ("conditional_accuracy_worst_class", Double(generated.worstClass)),
                ("conditional_accuracy_real", real.all), ("conditional_accuracy_min_real", real.worst),
                ("conditional_accuracy_worst_class_real", Double(real.worstClass))]
    }

    /// The metrics of the generated samples, then of the floor, then the classifier's accuracy.
    func report(_ samples: Tensor) throws -> [(String, Double)] {
        var m = try metrics(samples)
        if let floor { m += try metrics(floor, suffix: "_real_floor") }
        if let classifier, let labels = heldOutLabels {
            m.append(("classifier_accuracy", classifier.accuracy(heldOut, labels: labels)))
        }
        return m
    }
}
