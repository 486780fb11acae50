import Foundation
import GANCheckpoint
import GANHDF5
import GANNN
import GANTestSupport
import Testing
@_spi(Testing) import GANTensor

@Suite("Checkpoint round trip")
struct CheckpointTests {
    @Test func everythingSurvivesSaveAndLoadExactly() throws {
        let dir = try TempDir()
        let path = dir.path("step-00000003.h5")
        let gan = try TestGAN(seed: 11)
        let optG = gan.trainer.generatorOptimizer, optD = gan.trainer.discriminatorOptimizer
        optG.learningRate = 1.7e-4          // as if a schedule had decayed it: stored, not read back
        var c = gan.checkpoint()
        c.threads = 2
        try c.write(to: path)

        let r = try CheckpointReader(path: path)
        defer { r.close() }
        // Root attributes.
        // An unsharded checkpoint is version 1, as before data parallelism (version 2 adds shards).
        #expect(r.formatVersion == 1 && r.shards == 1 && r.worldSize == 1)
        #expect(r.stage == .train && r.step == 3 && r.epoch == 2 && r.position == 48 && r.threads == 2)
        #expect(r.config == testConfigYAML)
        #expect(r.toolVersion == SwiftGANVersion.string)
        let created = try #require(ISO8601DateFormatter().date(from: r.createdUTC))
        #expect(abs(created.timeIntervalSinceNow) < 300)
        #expect(try r.file.root.stringAttribute("format") == TrainingCheckpoint.format)
        #expect(try r.file.root.intAttribute("complete") == 1)
        #expect(try r.dataDescription() == c.data)

        // Networks, into fresh networks built from the same specs (zero weights before loading).
        let g2 = Sequential(specs: gan.generator.specs!), d2 = Sequential(specs: gan.discriminator.specs!)
        try r.load("generator", into: g2)
        try r.load("discriminator", into: d2)
        #expect(expectBitwise(networkTensors(gan.generator), networkTensors(g2), "generator") == 4)
        #expect(expectBitwise(networkTensors(gan.discriminator), networkTensors(d2), "discriminator") == 6)
        #expect(try r.file.root.group("generator").intAttribute("parameter_count") == Int64(gan.generator.parameterCount))

        // Optimisers, into fresh optimisers with a different learning rate and zero state.
        let o2G = Adam(parameters: g2.parameters, learningRate: 9, beta1: 0.5)
        let o2D = SGD(parameters: d2.parameters, learningRate: 9, momentum: 0.9, dampening: 0.1)
        try r.loadOptimizer("generator", into: o2G, of: g2)
        try r.loadOptimizer("discriminator", into: o2D, of: d2)
        let stateG = optimizerTensors(optG, of: gan.generator), stateD = optimizerTensors(optD, of: gan.discriminator)
        #expect(expectBitwise(stateG, optimizerTensors(o2G, of: g2), "Adam state") == 8)
        #expect(expectBitwise(stateD, optimizerTensors(o2D, of: d2), "SGD state") == 6)
        #expect(stateG.allSatisfy { $0.1.array.contains { $0 != 0 } } && stateD.allSatisfy { $0.1.array.contains { $0 != 0 } })
        #expect(o2G.stepCount == 3 && o2D.stepCount == 3)
        // The rate is the schedule owner's to set from the step: the loader leaves it alone.
        #expect(o2G.learningRate == 9 && o2D.learningRate == 9)
        // Hyper-parameters are stored under PyTorch's names.
        for (o, name) in [(optG, "generator"), (optD, "discriminator")] as [(Optimizer, String)] {
            let g = try r.file.root.group("optimizer/\(name)")
            #expect(try g.stringAttribute("kind") == o.kind)
            #expect(try g.intAttribute("step") == 3)
            for (h, v) in o.hyperparameters { #expect(try g.doubleAttribute(h) == v, "\(name)@\(h)") }
        }

        // RNGs, history, fixed noise.
        #expect(try r.rngPurposes() == ["data", "init", "noise"])
        for (purpose, rng) in c.rngs { #expect(try r.rng(purpose) == rng, "rng \(purpose)") }
        #expect(try r.rng("noise").stateWords == gan.trainer.noiseRNG.stateWords)
        let history = try r.history()
        let sortedHistory = c.history.sorted { $0.metric < $1.metric }
        #expect(history.map(\.metric) == sortedHistory.map(\.metric))
        for (a, b) in zip(history, sortedHistory) { #expect(bits(a.values) == bits(b.values), "history \(a.metric)") }
        #expect(history.first { $0.metric == "d_loss" }?.values.count == 3)
        let z = try #require(try r.fixedNoise())
        #expect(z.bitwiseEqual(c.fixedNoise!))

        // The loaded networks compute exactly what the originals do.
        let x = randomTensor([5, 8], seed: 3)
        #expect(g2.forward(x, training: false).bitwiseEqual(gan.generator.forward(x, training: false)))
    }

    @Test func buildNetworkFromTheFileAloneReproducesTheNetwork() throws {
        let saved = try SavedTestGAN(seed: 12, name: "c.h5")
        let (gan, r) = (saved.gan, saved.reader)
        defer { r.close() }
        #expect(r.hasNetwork("generator") && r.hasNetwork("discriminator") && !r.hasNetwork("encoder"))
        for (name, original, input) in [("generator", gan.generator, randomTensor([7, 8], seed: 1)),
                                        ("discriminator", gan.discriminator, randomTensor([7, 12], seed: 2))] {
            #expect(try r.specs(of: name) == original.specs!)
            let built = try r.buildNetwork(name)
            #expect(built.layerNames == original.layerNames)
            expectBitwise(networkTensors(original), networkTensors(built), name)
            let want = original.forward(input, training: false).clone()
            #expect(built.forward(input, training: false).bitwiseEqual(want), "\(name) output differs")
        }
        // Clamp bounds and the LeakyReLU slope come back exactly (float64 attributes).
        let specs = try r.specs(of: "discriminator")
        #expect(specs[1] == .leakyReLU(alpha: 0.2))
        let clamp = try #require(gan.discriminator.layers[5] as? Clamp)
        #expect(specs[5] == .clamp(min: clamp.minimum, max: clamp.maximum))
    }

    @Test func writingANetworkThatCannotDescribeItselfFails() throws {
        final class Opaque: ElementwiseLayer {
            var kind: String { "opaque" }
            func forward(_ x: Tensor, training: Bool) -> Tensor { x }
            func backward(_ dy: Tensor, mode: BackwardMode) -> Tensor? { dy }
        }
        let dir = try TempDir()
        let net = Sequential(Linear(2, 2), Opaque())
        let c = TrainingCheckpoint(stage: .train, step: 1, data: DataDescription(sampleShape: [2], noiseDimension: 2),
                                   networks: [NetworkEntry("generator", net)])
        let e = #expect(throws: CheckpointError.self) { try c.write(to: dir.path("x.h5")) }
        #expect(e?.description.contains("cannot describe its architecture") == true)
    }

    /// Data-parallel runs (train.shards > 1) write version 2: the shards, the world size and one
    /// noise stream per shard; the layout checks refuse a world size that does not divide them.
    @Test func shardedCheckpointsAreVersionTwo() throws {
        let dir = try TempDir()
        var c = TrainingCheckpoint(stage: .train, step: 1, data: DataDescription(sampleShape: [2], noiseDimension: 2),
                                   networks: [NetworkEntry("generator", Sequential(Linear(2, 2)))])
        c.shards = 4
        c.worldSize = 2
        c.rngs = (0..<4).map { (RNGStream.noise(shard: $0, of: 4).name, RNG(seed: UInt64($0 + 1))) }
        try c.write(to: dir.path("v2.h5"))
        let r = try CheckpointReader(path: dir.path("v2.h5"))
        #expect(r.formatVersion == 2 && r.shards == 4 && r.worldSize == 2)
        #expect(try r.rngPurposes() == ["noise-shard-0", "noise-shard-1", "noise-shard-2", "noise-shard-3"])
        #expect(try r.rng("noise-shard-2") == RNG(seed: 3))
        r.close()
        let w = try HDF5File.open(dir.path("v2.h5"), writable: true)
        try w.root.setAttribute("world_size", 3)
        try w.close()
        let e = #expect(throws: CheckpointError.self) { try CheckpointReader(path: dir.path("v2.h5")) }
        #expect(e?.description.hasSuffix("/@shards: 4 shards over 3 processes is not a data-parallel layout") == true)
    }

    @Test func optimizersWithoutStateAndOtherKindsRoundTrip() throws {
        // RMSProp (centered, momentum: three states), plain SGD (no state) and a network without
        // an optimiser; a normal noise prior.
        let dir = try TempDir()
        let path = dir.path("r.h5")
        let g = makeTestGenerator(seed: 1), d = makeTestDiscriminator(seed: 1), e = makeTestGenerator(seed: 2)
        let trainer = try AdversarialTrainer(generator: g, discriminator: d,
                                             generatorOptimizer: .rmsprop(learningRate: 1e-3, momentum: 0.5, centered: true),
                                             discriminatorOptimizer: .sgd(learningRate: 0.1), noiseDimension: 8, noiseRNG: RNG(seed: 4))
        let og = trainer.generatorOptimizer, od = trainer.discriminatorOptimizer
        for step in 0..<2 {
            let real = randomTensor([6, 12], seed: 9)
            trainer.discriminatorStep(real: real, step: step)
            trainer.generatorStep(batchSize: 6, real: real, step: step)
        }
        og.clipValue = 0.5
        let c = TrainingCheckpoint(stage: .pretrainD, step: 2,
                                   data: DataDescription(sampleShape: [12], noiseDimension: 8, noisePrior: .normal(mean: 0.5, std: 2)),
                                   networks: [NetworkEntry("generator", g, optimizer: og), NetworkEntry("discriminator", d, optimizer: od),
                                              NetworkEntry("encoder", e)])
        try c.write(to: path)
        let r = try CheckpointReader(path: path)
        defer { r.close() }
        #expect(r.stage == .pretrainD)
        #expect(try r.dataDescription().noisePrior == .normal(mean: 0.5, std: 2))
        #expect(try r.rngPurposes().isEmpty && r.history().isEmpty && r.fixedNoise() == nil)
        let g2 = try r.buildNetwork("generator"), d2 = try r.buildNetwork("discriminator"), e2 = try r.buildNetwork("encoder")
        let og2 = RMSProp(parameters: g2.parameters, learningRate: 1, momentum: 0.5, centered: true)
        og2.clipValue = 0.5
        let od2 = SGD(parameters: d2.parameters, learningRate: 1)
        try r.loadOptimizer("generator", into: og2, of: g2)
        try r.loadOptimizer("discriminator", into: od2, of: d2)
        #expect(expectBitwise(optimizerTensors(og, of: g), optimizerTensors(og2, of: g2), "RMSProp") == 12)
        #expect(optimizerTensors(od2, of: d2).isEmpty && od2.stepCount == 2 && od2.learningRate == 1)
        expectBitwise(networkTensors(e), networkTensors(e2), "encoder")
        let noOpt = #expect(throws: CheckpointError.self) { try r.loadOptimizer("encoder", into: SGD(parameters: e2.parameters, learningRate: 1), of: e2) }
        expectOneLineError(noOpt, naming: path)
        #expect(noOpt?.path == "/optimizer/encoder")
    }
}
