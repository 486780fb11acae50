import Foundation
import GANCheckpoint
import GANData
import GANDistributed
import GANNN

/// Everything the `train` stage holds: networks, optimisers, the adversarial step, the data
/// order, the history. `checkpoint()` captures it; `restore(from:)` puts it back exactly.
///
/// With `train.shards` K > 1 the steps are data-parallel (`ShardedTrainer`): each batch is split
/// into K shards with their own noise streams, computed by this process alone or, under MPI, K/N
/// of them per rank; every rank holds the same session state after every step.
final class TrainSession {
    let config: PipelineConfig
    let data: PreparedData
    let generator: Sequential
    let discriminator: Sequential
    let trainer: AdversarialTrainer
    /// The data-parallel steps when `train.shards` > 1; nil: the trainer's own steps.
    let sharded: ShardedTrainer?
    let batcher: RealBatches
    var history = History()
    var step = 0
    /// Exponential moving average of G's weights (`train.ema_decay`), nil when off.
    var ema: WeightAverage? { trainer.weightAverage }
    let fixedNoise: Tensor
    private let real = Tensor(shape: [0])
    /// Class-conditional runs (issue 22): the trainer's conditioning, the classes as checkpoints
    /// store them, and the labels of the current real batch.
    let conditioning: Conditioning?
    let classes: ClassInfo?
    private var realLabels: [Int] = []

    init(config c: PipelineConfig, data: PreparedData, communicator: Communicator? = nil) throws {
        config = c
        self.data = data
        if let problem = ModelFactory.shapeProblem(c, sampleShape: data.sampleShape) { throw PipelineError.config(problem) }
        var initRNG = RNG(seed: c.seed, stream: .initialization)
        let discriminator: Sequential
        if c.conditioning != nil {
            guard let counts = data.labelCounts, counts.count >= 2, let conditioning = ModelFactory.conditioning(c, labelCounts: counts) else {
                throw PipelineError.config("conditioning: the prepared data have no labels of at least 2 classes (data.h5 /labels)")
            }
            self.conditioning = conditioning
            classes = ClassInfo(names: data.classNames ?? counts.indices.map(String.init), counts: counts, conditioning: conditioning.mode.rawValue)
            generator = ModelFactory.conditionalNetwork(c.generator, noiseDimension: c.noise.dimension, sampleShape: data.sampleShape,
                                                        conditioning: conditioning, isDiscriminator: false, rng: &initRNG)
            discriminator = ModelFactory.conditionalNetwork(c.discriminator, noiseDimension: c.noise.dimension, sampleShape: data.sampleShape,
                                                            conditioning: conditioning, isDiscriminator: true, rng: &initRNG)
        } else {
            (conditioning, classes) = (nil, nil)
            generator = ModelFactory.network(c.generator, noiseDimension: c.noise.dimension, sampleShape: data.sampleShape,
                                             isDiscriminator: false, rng: &initRNG)
            discriminator = ModelFactory.network(c.discriminator, noiseDimension: c.noise.dimension, sampleShape: data.sampleShape,
                                                 pack: c.train.pack, isDiscriminator: true, rng: &initRNG)
        }
        self.discriminator = discriminator
        var options = AdversarialTrainer.Options(
            objective: ModelFactory.objective(c.loss), realLabel: Float(c.loss.realLabel), noisePrior: ModelFactory.noisePrior(c.noise),
            stratifiedNoise: c.noise.stratified, pack: c.train.pack, topK: ModelFactory.topK(c.train),
            // Validated against the config's hidden blocks at load.
            featureMatchingLayer: c.loss.featureMatchingLayer.flatMap { ModelFactory.featureLayerCount(discriminator, block: $0) },
            emaDecay: c.train.emaDecay > 0 ? Float(c.train.emaDecay) : nil, conditioning: conditioning)
        // Virtual batch norm: reference batches drawn once from their own streams (and stored in
        // every checkpoint), so they do not depend on anything else the run draws. The trainer
        // records G's reference statistics at once, so sampling before the first step (the
        // start.h5 grid) works and the start checkpoint's buffers are valid, and the weight
        // average starts from them. (D's are recorded before each of its forwards, packed.)
        if generator.needsReferenceBatch {
            var rng = RNG(seed: c.seed, stream: .referenceNoise)
            let z = Tensor(shape: [c.train.referenceBatchSize, c.noise.dimension])
            ModelFactory.noisePrior(c.noise).fill(z, rng: &rng)
            options.generatorReferenceNoise = z
        }
        if discriminator.needsReferenceBatch {
            let x = Tensor(shape: [0])
            RealBatches(data, inputShape: ModelFactory.discriminatorInputShape(c.discriminator, sampleShape: data.sampleShape),
                        batchSize: c.train.referenceBatchSize, rng: RNG(seed: c.seed, stream: .referenceData)).next(into: x)
            options.discriminatorReference = x
        }
        trainer = try AdversarialTrainer(generator: generator, discriminator: discriminator,
                                         generatorOptimizer: ModelFactory.optimizer(c.generatorOptimizer),
                                         discriminatorOptimizer: ModelFactory.optimizer(c.discriminatorOptimizer),
                                         noiseDimension: c.noise.dimension, noiseRNG: RNG(seed: c.seed, stream: .noise),
                                         labelRNG: RNG(seed: c.seed, stream: .labels), options: options)
        sharded = c.train.shards > 1 ? ShardedTrainer(trainer: trainer, shards: c.train.shards, communicator: communicator, seed: c.seed) : nil
        batcher = RealBatches(data, inputShape: ModelFactory.discriminatorInputShape(c.discriminator, sampleShape: data.sampleShape),
                              batchSize: c.train.batchSize, rng: RNG(seed: c.seed, stream: .data))
        var fixedRNG = RNG(seed: c.seed, stream: .fixedNoise)
        fixedNoise = Tensor(shape: [64, c.noise.dimension])
        ModelFactory.noisePrior(c.noise).fill(fixedNoise, rng: &fixedRNG)
    }

    var dataDescription: DataDescription {
        DataDescription(sampleShape: data.sampleShape, scale: data.scale, offset: data.offset,
                        noiseDimension: config.noise.dimension, noisePrior: ModelFactory.noisePrior(config.noise), classes: classes)
    }

    /// One G step after k D steps. Returns the last D result, G's loss, and whether to stop after
    /// this step: `stopRequested()` once the step is done, or, data-parallel, asked before the G
    /// step's exchange and true when any rank asked, so that all ranks stop at the same step. The
    /// G step gets the last D step's real batch (feature matching's target).
    func iterate(stopRequested: () -> Bool = { false }) throws -> (d: DiscriminatorStepResult, g: Float, stop: Bool) {
        var d = DiscriminatorStepResult(loss: 0, realScore: 0, fakeScore: 0)
        let g: Float, stop: Bool
        for _ in 0..<config.train.dStepsPerGStep {
            batcher.next(into: real)
            // The 1-D seed system sorts real batches to match its sorted, stratified noise.
            if config.noise.stratified && data.dimension == 1 { var b = real.buffer; b.sort() }
            if conditioning != nil, let labels = data.labels {
                batcher.labels(of: labels, into: &realLabels)
                d = trainer.discriminatorStep(real: real, labels: realLabels, step: step)
            } else {
                d = try sharded?.discriminatorStep(real: real, step: step) ?? trainer.discriminatorStep(real: real, step: step)
            }
        }
        if let sharded {
            (g, stop) = try sharded.generatorStep(batchSize: batcher.batchSize, step: step, stop: stopRequested())
        } else {
            g = trainer.generatorStep(batchSize: batcher.batchSize, real: real, step: step)
            stop = stopRequested()
        }
        step += 1
        history.append(step: step, d: d, g: g)
        return (d, g, stop)
    }

    /// Runs `body` with the generator to evaluate and sample from: G with its moving-average
    /// weights swapped in when `train.ema_decay` is on (swapped back bit-exactly after), else G.
    func withServingGenerator<R>(_ body: (Sequential) throws -> R) rethrows -> R {
        guard let ema else { return try body(generator) }
        return try ema.withAveragedWeights { try body(generator) }
    }

    /// The session as a checkpoint. Data-parallel, a collective: every rank must call it at the
    /// same step (the noise streams of all shards are gathered).
    func checkpoint(configYAML: String) throws -> TrainingCheckpoint {
        var networks = [NetworkEntry("generator", generator, optimizer: trainer.generatorOptimizer)]
        if let ema, let specs = generator.specs {
            let averaged = Sequential(specs: specs)
            ema.apply(to: averaged)
            networks.append(NetworkEntry("generator_ema", averaged))
        }
        networks.append(NetworkEntry("discriminator", discriminator, optimizer: trainer.discriminatorOptimizer))
        var c = TrainingCheckpoint(stage: .train, step: step, data: dataDescription, networks: networks)
        c.references = [("generator", trainer.options.generatorReferenceNoise), ("discriminator", trainer.options.discriminatorReference)]
            .compactMap { name, t in t.map { (name, $0) } }
        let cursor = batcher.cursor
        c.epoch = cursor.epoch
        c.position = cursor.position
        c.config = configYAML
        if let sharded {
            let streams = try sharded.allNoiseRNGs()
            c.rngs = streams.enumerated().map { (RNGStream.noise(shard: $0.offset, of: sharded.shards).name, $0.element) }
            c.shards = sharded.shards
            c.worldSize = sharded.sum.communicator?.size ?? 1
        } else {
            c.rngs = [(RNGStream.noise.name, trainer.noiseRNG)]
        }
        c.rngs.append((RNGStream.data.name, cursor.epochStartRNG))
        if conditioning != nil { c.rngs.append((RNGStream.labels.name, trainer.labelRNG)) }
        c.history = history.named
        c.fixedNoise = fixedNoise
        return c
    }

    func restore(from r: CheckpointReader) throws {
        try r.load("generator", into: generator)
        try r.load("discriminator", into: discriminator)
        try r.loadOptimizer("generator", into: trainer.generatorOptimizer, of: generator)
        try r.loadOptimizer("discriminator", into: trainer.discriminatorOptimizer, of: discriminator)
        let shards = sharded?.shards ?? 1
        guard r.shards == shards else {
            throw PipelineError.io(r.path, "/@shards: the checkpoint has \(r.shards) batch shard(s), the configuration \(shards) (train.shards)")
        }
        if let sharded {
            for (i, k) in sharded.localShards.enumerated() {
                sharded.noiseRNGs[i] = try r.rng(RNGStream.noise(shard: k, of: shards).name)
            }
        } else {
            trainer.noiseRNG = try r.rng(RNGStream.noise.name)
        }
        if let ema {
            let averaged = try r.buildNetwork("generator_ema")
            let stored = averaged.namedParameters.map { ($0.path, $0.parameter.value) } + averaged.namedBuffers.map { ($0.path, $0.tensor) }
            let shadows = ema.namedShadowParameters + ema.namedShadowBuffers
            guard stored.map(\.0) == shadows.map(\.name) else {
                throw PipelineError.io(r.path, "/generator_ema: tensors \(stored.map(\.0)) differ from the generator's \(shadows.map(\.name))")
            }
            for ((_, from), (_, to)) in zip(stored, shadows) { to.copy(from: from) }
        }
        for (name, t) in [("generator", trainer.options.generatorReferenceNoise), ("discriminator", trainer.options.discriminatorReference)] {
            if let t, let stored = try r.reference(name) {
                guard stored.shape == t.shape else { throw PipelineError.io(r.path, "/reference/\(name): shape \(stored.shape), expected \(t.shape)") }
                t.copy(from: stored)
            }
        }
        batcher.restore(.init(epoch: r.epoch, position: r.position, epochStartRNG: try r.rng(RNGStream.data.name)))
        if conditioning != nil { trainer.labelRNG = try r.rng(RNGStream.labels.name) }
        history = History(try r.history())
        step = r.step
    }
}
