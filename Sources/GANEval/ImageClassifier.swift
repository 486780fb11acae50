import Foundation
import GANData
import GANNN

/// A small image classifier trained by the project, whose penultimate activations are the feature
/// space of the image-GAN metrics (issue 7): the Fréchet distance (Heusel et al. 2017, "GANs
/// trained by a two time-scale update rule converge to a local Nash equilibrium", the FID, which
/// uses Inception-v3's pool features; here a domain-specific network as in the MNIST/Fashion-MNIST
/// literature) and the predicted-class histogram (mode coverage).
///
/// Architecture: an MLP built from the engine's layers,
///
///     x[N, 784] -> Linear(784, 512) -> ReLU -> Linear(512, 256) -> ReLU  => features [N, 256]
///               -> Linear(256, 10)                                       => logits   [N, 10]
///
/// (the hidden sizes are configurable). Trained with softmax cross-entropy and Adam (lr 1e-3,
/// batch 128, cosine learning-rate decay to 5 % over all steps), inputs `pixel / 255` in [0, 1].
/// Measured on Fashion-MNIST (release build, one BLAS thread): 6 epochs (the default) train in
/// ~25 s and reach 0.888 test accuracy; 8 epochs 0.892.
/// Deterministic for a given seed and BLAS thread count: initialisation and data order come from
/// `RNG(seed:stream:)` (`.classifierInitialization`, `.classifierData`).
///
/// The network owns reusable layer buffers, so one instance must not be used from two threads at once.
public final class ImageClassifier {
    /// Sizes of the linear layers: `[input, hidden..., classes]`; the last hidden size is the
    /// feature dimension.
    public let layerSizes: [Int]
    public let network: Sequential
    /// What the classifier was trained on and how (stored in its file; compared to detect a stale cache).
    public internal(set) var provenance: Provenance

    /// Training-set identity and training settings, stored as file attributes.
    public struct Provenance: Equatable, Sendable {
        /// `ImageClassifier.dataIdentifier(images:labels:)` of the training data.
        public var trainingData: String
        public var trainingSamples: Int
        public var epochs: Int
        public var seed: UInt64
        public var batchSize: Int
        public var learningRate: Double

        public init(trainingData: String, trainingSamples: Int, epochs: Int, seed: UInt64,
                    batchSize: Int, learningRate: Double) {
            self.trainingData = trainingData
            self.trainingSamples = trainingSamples
            self.epochs = epochs
            self.seed = seed
            self.batchSize = batchSize
            self.learningRate = learningRate
        }
    }

    public var inputSize: Int { layerSizes[0] }
    public var classes: Int { layerSizes[layerSizes.count - 1] }
    public var featureDimension: Int { layerSizes[layerSizes.count - 2] }
    /// Number of layers of `network` whose output is the feature vector (through the last ReLU).
    public var featureLayerCount: Int { network.layers.count - 1 }

    /// An untrained classifier (PyTorch-default initialisation from `RNG(seed:, stream: .classifierInitialization)`).
    public init(inputSize: Int, hiddenSizes: [Int] = [512, 256], classes: Int = 10, seed: UInt64) {
        precondition(inputSize > 0 && classes > 1 && !hiddenSizes.isEmpty && hiddenSizes.allSatisfy { $0 > 0 },
                     "ImageClassifier: invalid sizes input \(inputSize), hidden \(hiddenSizes), classes \(classes)")
        layerSizes = [inputSize] + hiddenSizes + [classes]
        var rng = RNG(seed: seed, stream: .classifierInitialization)
        var layers: [Layer] = []
        for i in 0..<(layerSizes.count - 1) {
            layers.append(Linear(layerSizes[i], layerSizes[i + 1], rng: &rng))
            if i < layerSizes.count - 2 { layers.append(ReLU()) }
        }
        network = Sequential(layers)
        provenance = Provenance(trainingData: "", trainingSamples: 0, epochs: 0, seed: seed, batchSize: 0, learningRate: 0)
    }

    // MARK: Training

    /// Trains a classifier on uint8 images (`[N, sampleSize]` row-major, e.g. `[N, 1·28·28]`) with
    /// labels in `0..<classes`. `progress` receives one line per epoch.
    public static func train(images: [UInt8], labels: [UInt8], sampleSize: Int, classes: Int = 10,
                             epochs: Int = 6, seed: UInt64, hiddenSizes: [Int] = [512, 256],
                             batchSize: Int = 128, learningRate: Float = 1e-3,
                             progress: ((String) -> Void)? = nil) -> ImageClassifier {
        let n = labels.count
        precondition(sampleSize > 0 && images.count == n * sampleSize,
                     "ImageClassifier.train: \(images.count) image bytes for \(n) labels of \(sampleSize) values")
        precondition(n > 0 && epochs >= 0 && batchSize > 0, "ImageClassifier.train: need samples, epochs >= 0, batch > 0")
        precondition(labels.allSatisfy { Int($0) < classes }, "ImageClassifier.train: a label is not in 0..<\(classes)")
        let model = ImageClassifier(inputSize: sampleSize, hiddenSizes: hiddenSizes, classes: classes, seed: seed)
        model.provenance = Provenance(trainingData: dataIdentifier(images: images, labels: labels), trainingSamples: n,
                                      epochs: epochs, seed: seed, batchSize: batchSize,
                                      learningRate: Double(learningRate.description) ?? Double(learningRate))
        let net = model.network
        let adam = Adam(parameters: net.parameters, learningRate: learningRate)
        var order = RNG(seed: seed, stream: .classifierData)
        let batches = (n + batchSize - 1) / batchSize, totalSteps = max(epochs * batches, 1)
        let x = Tensor(shape: [batchSize, sampleSize]), dlogits = Tensor(shape: [0])
        var batchLabels = [Int](repeating: 0, count: batchSize)
        var step = 0
        for epoch in 0..<epochs {
            let start = Date()
            let perm = order.permutation(n)
            var lossSum = 0.0, correct = 0
            for b in 0..<batches {
                let lo = b * batchSize, m = min(batchSize, n - lo)
                x.resize(rows: m, columns: sampleSize)
                images.withUnsafeBufferPointer { img in
                    for r in 0..<m {
                        let i = perm[lo + r]
                        Kernels.bytesToFloat(img.baseAddress! + i * sampleSize, x.data + r * sampleSize,
                                             count: sampleSize, scale: 1 / 255, offset: 0)
                        batchLabels[r] = Int(labels[i])
                    }
                }
                // Cosine decay from lr to 5 % of lr over all steps.
                let t = Double(step) / Double(totalSteps)
                adam.learningRate = learningRate * Float(0.05 + 0.95 * 0.5 * (1 + cos(Double.pi * t)))
                adam.zeroGradients()
                let logits = net.forward(x, training: true)
                lossSum += Double(SoftmaxCrossEntropy.loss(logits: logits, labels: batchLabels, gradient: dlogits)) * Double(m)
                for (r, p) in SoftmaxCrossEntropy.argmax(logits).enumerated() where p == batchLabels[r] { correct += 1 }
                net.backward(dlogits, mode: .parameterGradients)
                adam.step()
                step += 1
            }
            progress?(String(format: "classifier epoch %d/%d: loss %.4f, train accuracy %.4f, %.1f s",
                             epoch + 1, epochs, lossSum / Double(n), Double(correct) / Double(n), Date().timeIntervalSince(start)))
        }
        return model
    }

    /// An identifier of a training set: FNV-1a 64 of the image bytes and of the labels, with the
    /// counts ("fnv1a64:<images>:<labels>:n=<N>:bytes=<B>"). Not cryptographic; it detects a
    /// cached classifier trained on other data.
    public static func dataIdentifier(images: [UInt8], labels: [UInt8]) -> String {
        String(format: "fnv1a64:%016llx:%016llx:n=%d:bytes=%d", fnv1a64(images), fnv1a64(labels), labels.count, images.count)
    }

    static func fnv1a64(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBufferPointer { Hashing.fnv1a64($0) } }

    // MARK: Inference

    /// Rows per forward pass in the batched helpers (bounds the layers' buffers).
    public static let inferenceBatch = 1000

    /// Runs `body` on `x` in chunks of `inferenceBatch` rows, each through `layerCount` layers,
    /// copying the outputs into a new `[N, width]` tensor.
    private func batched(_ x: UnsafePointer<Float>, rows n: Int, layerCount: Int, width: Int) -> Tensor {
        let out = Tensor(shape: [n, width])
        let chunk = Tensor(shape: [0])
        var lo = 0
        while lo < n {
            let m = min(Self.inferenceBatch, n - lo)
            chunk.resize(rows: m, columns: inputSize)
            chunk.data.update(from: x + lo * inputSize, count: m * inputSize)
            let y = network.forward(chunk, training: false, throughLayer: layerCount)
            (out.data + lo * width).update(from: y.data, count: m * width)
            lo += m
        }
        return out
    }

    private func checkInput(_ x: Tensor) {
        precondition(x.rows == 0 || x.columns == inputSize,
                     "ImageClassifier: input \(x.shape) has \(x.columns) values per sample, expected \(inputSize)")
    }

    /// Penultimate activations `[N, featureDimension]` of images `x` (`[N, inputSize]` or
    /// `[N, C, H, W]`, values in [0, 1]).
    public func features(_ x: Tensor) -> Tensor {
        checkInput(x)
        return batched(x.data, rows: x.rows, layerCount: featureLayerCount, width: featureDimension)
    }

    /// Class logits `[N, classes]`.
    public func logits(_ x: Tensor) -> Tensor {
        checkInput(x)
        return batched(x.data, rows: x.rows, layerCount: network.layers.count, width: classes)
    }

    /// Predicted classes (argmax of the logits).
    public func predict(_ x: Tensor) -> [Int] { SoftmaxCrossEntropy.argmax(logits(x)) }

    /// uint8 images `[N, inputSize]` as a `[N, inputSize]` tensor in [0, 1].
    public static func tensor(images: [UInt8], sampleSize: Int) -> Tensor {
        precondition(sampleSize > 0 && images.count % sampleSize == 0,
                     "ImageClassifier.tensor: \(images.count) bytes is not a multiple of \(sampleSize)")
        let t = Tensor(shape: [images.count / sampleSize, sampleSize])
        images.withUnsafeBufferPointer { Kernels.bytesToFloat($0.baseAddress!, t.data, count: images.count, scale: 1 / 255, offset: 0) }
        return t
    }

    public func features(images: [UInt8]) -> Tensor { features(Self.tensor(images: images, sampleSize: inputSize)) }
    public func predict(images: [UInt8]) -> [Int] { predict(Self.tensor(images: images, sampleSize: inputSize)) }

    /// Fraction of images whose predicted class equals the label.
    public func accuracy(images: [UInt8], labels: [UInt8]) -> Double {
        precondition(images.count == labels.count * inputSize, "accuracy: \(images.count) bytes for \(labels.count) labels")
        return accuracy(Self.tensor(images: images, sampleSize: inputSize), labels: labels)
    }

    /// Fraction of the rows of `x` (`[N, inputSize]` in [0, 1]) whose predicted class equals the label.
    public func accuracy(_ x: Tensor, labels: [UInt8]) -> Double {
        precondition(x.rows == labels.count, "accuracy: \(x.rows) images for \(labels.count) labels")
        let p = predict(x)
        var correct = 0
        for (a, b) in zip(p, labels) where a == Int(b) { correct += 1 }
        return labels.isEmpty ? .nan : Double(correct) / Double(labels.count)
    }
}
