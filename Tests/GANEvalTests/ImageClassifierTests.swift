import Foundation
import GANEval
import GANFiles
import GANHDF5
@_spi(Testing) import GANTensor
import GANTestSupport
import Testing

@Suite struct ImageClassifierTests {
    /// Toy "images" of 64 pixels: class k has a bright stripe at pixels 6k ..< 6k+6 over dim noise.
    static func toyData(_ n: Int, seed: UInt64) -> (images: [UInt8], labels: [UInt8]) {
        var rng = RNG(seed: seed)
        var images = [UInt8](repeating: 0, count: n * 64), labels = [UInt8](repeating: 0, count: n)
        for i in 0..<n {
            let k = rng.int(below: 10)
            labels[i] = UInt8(k)
            for j in 0..<64 {
                let bright = j >= 6 * k && j < 6 * k + 6
                images[i * 64 + j] = UInt8(bright ? 150 + rng.int(below: 100) : rng.int(below: 90))
            }
        }
        return (images, labels)
    }

    static func train(_ data: (images: [UInt8], labels: [UInt8]), seed: UInt64 = 7, epochs: Int = 4) -> ImageClassifier {
        ImageClassifier.train(images: data.images, labels: data.labels, sampleSize: 64, classes: 10,
                              epochs: epochs, seed: seed, hiddenSizes: [32, 16], batchSize: 32, learningRate: 5e-3)
    }

    @Test func learnsToyClassesDeterministically() {
        let data = Self.toyData(1500, seed: 1), test = Self.toyData(500, seed: 2)
        var lines: [String] = []
        let a = ImageClassifier.train(images: data.images, labels: data.labels, sampleSize: 64, classes: 10,
                                      epochs: 4, seed: 7, hiddenSizes: [32, 16], batchSize: 32, learningRate: 5e-3) { lines.append($0) }
        #expect(lines.count == 4 && lines[3].hasPrefix("classifier epoch 4/4: loss"))
        #expect(a.accuracy(images: test.images, labels: test.labels) > 0.95)
        #expect(a.featureDimension == 16 && a.layerSizes == [64, 32, 16, 10] && a.network.layers.count == 5)
        let f = a.features(images: test.images)
        #expect(f.shape == [500, 16] && f.array.allSatisfy { $0 >= 0 })  // after a ReLU
        // Same seed, same bits; another seed, other weights.
        let b = Self.train(data)
        for (p, q) in zip(a.network.parameters, b.network.parameters) { #expect(p.value.bitwiseEqual(q.value)) }
        let c = Self.train(data, seed: 8)
        #expect(!a.network.parameters[0].value.bitwiseEqual(c.network.parameters[0].value))
    }

    @Test func batchedInferenceMatchesOneBatch() {
        let data = Self.toyData(2500, seed: 3)  // > inferenceBatch rows: 3 chunks
        let model = Self.train(Self.toyData(300, seed: 4), epochs: 1)
        let x = ImageClassifier.tensor(images: data.images, sampleSize: 64)
        let batched = model.features(x)
        let whole = model.network.forward(x, training: false, throughLayer: model.featureLayerCount)
        #expect(batched.bitwiseEqual(whole) || closeness(batched.array, whole.array, rtol: 1e-5, atol: 1e-6) <= 1)
        #expect(model.predict(x).count == 2500)
    }

    @Test func saveLoadRoundTripAndStaleDetection() throws {
        let dir = try makeTemporaryDirectory("classifier")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("classifier.h5").path
        let data = Self.toyData(400, seed: 5), test = Self.toyData(100, seed: 6)

        let (first, reason1) = try ImageClassifier.loadOrTrain(path: path, images: data.images, labels: data.labels,
                                                               sampleSize: 64, epochs: 1, seed: 3, hiddenSizes: [32, 16])
        #expect(reason1 != nil)  // no file yet
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent(".classifier.h5.tmp").path))
        let (second, reason2) = try ImageClassifier.loadOrTrain(path: path, images: data.images, labels: data.labels,
                                                                sampleSize: 64, epochs: 1, seed: 3, hiddenSizes: [32, 16])
        #expect(reason2 == nil)
        #expect(second.provenance == first.provenance)
        #expect(second.provenance.trainingData == ImageClassifier.dataIdentifier(images: data.images, labels: data.labels))
        let x = ImageClassifier.tensor(images: test.images, sampleSize: 64)
        #expect(first.logits(x).bitwiseEqual(second.logits(x)))

        // Other labels: stale, retrained, file replaced.
        var relabelled = data.labels
        relabelled[0] = (relabelled[0] + 1) % 10
        let (_, reason3) = try ImageClassifier.loadOrTrain(path: path, images: data.images, labels: relabelled,
                                                           sampleSize: 64, epochs: 1, seed: 3, hiddenSizes: [32, 16])
        #expect(reason3?.hasPrefix("stale: trained on") == true, "\(reason3 ?? "nil")")
        #expect(try ImageClassifier.load(path: path).provenance.trainingData
                == ImageClassifier.dataIdentifier(images: data.images, labels: relabelled))
        // Other epochs: stale.
        let (_, reason4) = try ImageClassifier.loadOrTrain(path: path, images: data.images, labels: relabelled,
                                                           sampleSize: 64, epochs: 2, seed: 3, hiddenSizes: [32, 16])
        #expect(reason4?.contains("epochs") == true)

        // Not a classifier file; a wrong tensor shape.
        let other = dir.appendingPathComponent("other.h5").path
        let f = try HDF5File.create(other)
        try f.root.setAttribute("format", "something-else")
        try f.close()
        #expect(throws: EvalError.self) { try ImageClassifier.load(path: other) }
        #expect(throws: EvalError.self) { try ImageClassifier.load(path: dir.appendingPathComponent("missing.h5").path) }
        let g = try HDF5File.open(path, writable: true)
        try g.root.remove("classifier/0_linear/bias")
        try g.root.writeFloats("classifier/0_linear/bias", shape: [31], values: [Float](repeating: 0, count: 31))
        try g.close()
        do {
            _ = try ImageClassifier.load(path: path)
            Issue.record("loaded a file with a wrong shape")
        } catch {
            #expect("\(error)".contains("expected shape [32], found [31]"), "\(error)")
        }
    }

    /// The cache is written like every file: a full disk while saving it is a `FileWriteError`
    /// naming it (exit 74 in the pipeline), the previous cache stays and no temporary file is left.
    @Test func aFailedCacheWriteKeepsThePreviousCache() throws {
        let dir = try TempDir()
        let path = dir.path("cache/classifier.h5")
        let old = Self.train(Self.toyData(200, seed: 5), epochs: 1)
        try old.save(to: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        WriteFaults.install(.init(.fail(errno: ENOSPC), nth: 1, name: path))
        defer { WriteFaults.remove(name: path) }
        #expect(throws: FileWriteError(path, code: ENOSPC)) { try Self.train(Self.toyData(200, seed: 6), epochs: 1).save(to: path) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path("cache")) == ["classifier.h5"])
    }
}
