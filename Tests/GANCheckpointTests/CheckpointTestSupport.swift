import Foundation
import GANCheckpoint
import GANHDF5
import GANNN
import GANTestSupport
import Testing
@_spi(Testing) import GANTensor

// Shared builders and comparisons for the checkpoint tests.

/// G: Linear(z, hidden) - LeakyReLU(0.2) - Linear(hidden, out) - Tanh.
func makeTestGenerator(z: Int = 8, hidden: Int = 16, out: Int = 12, seed: UInt64) -> Sequential {
    var rng = RNG(seed: seed, stream: RNGStream("init-g"))
    return Sequential(Linear(z, hidden, rng: &rng), LeakyReLU(alpha: 0.2), Linear(hidden, out, rng: &rng), Tanh())
}

/// D: Linear(in, hidden) - LeakyReLU(0.2) - Linear(hidden, 2·units) - Maxout(2) - Linear(units, 1) - Clamp.
func makeTestDiscriminator(input: Int = 12, hidden: Int = 16, units: Int = 5, seed: UInt64) -> Sequential {
    var rng = RNG(seed: seed, stream: RNGStream("init-d"))
    return Sequential(Linear(input, hidden, rng: &rng), LeakyReLU(alpha: 0.2), Linear(hidden, 2 * units, rng: &rng),
                      Maxout(pieces: 2), Linear(units, 1, rng: &rng), Clamp.probability(0.01, 0.99))
}

/// A small GAN after a few real steps (so every optimiser state is non-zero): Adam on G, SGD with
/// momentum on D.
struct TestGAN {
    let trainer: AdversarialTrainer
    var generator: Sequential { trainer.generator }
    var discriminator: Sequential { trainer.discriminator }
    var history: [(metric: String, values: [Double])] = []

    init(seed: UInt64, steps: Int = 3, z: Int = 8, hidden: Int = 16, out: Int = 12) throws {
        let g = makeTestGenerator(z: z, hidden: hidden, out: out, seed: seed)
        let d = makeTestDiscriminator(input: out, hidden: hidden, seed: seed)
        trainer = try AdversarialTrainer(generator: g, discriminator: d, generatorOptimizer: .adam(learningRate: 2e-4, beta1: 0.5),
                                         discriminatorOptimizer: .sgd(learningRate: 0.05, momentum: 0.9, dampening: 0.1),
                                         noiseDimension: z, noiseRNG: RNG(seed: seed, stream: .noise))
        var dataRNG = RNG(seed: seed, stream: .data)
        let real = Tensor(shape: [10, out])
        var dLoss: [Double] = [], gLoss: [Double] = [], dReal: [Double] = [], dFake: [Double] = []
        for step in 0..<steps {
            dataRNG.fillUniform(real, low: -1, high: 1)
            let r = trainer.discriminatorStep(real: real, step: step)
            dLoss.append(Double(r.loss)); dReal.append(Double(r.realScore)); dFake.append(Double(r.fakeScore))
            gLoss.append(Double(trainer.generatorStep(batchSize: 10, real: real, step: step)))
        }
        history = [("step", (0..<steps).map { Double($0 + 1) }), ("d_loss", dLoss), ("g_loss", gLoss),
                   ("d_real", dReal), ("d_fake", dFake), ("empty_metric", [])]
    }

    /// A checkpoint of this GAN with everything filled in.
    func checkpoint(step: Int = 3) -> TrainingCheckpoint {
        var c = TrainingCheckpoint(stage: .train, step: step,
                                   data: DataDescription(sampleShape: [1, 3, 4], scale: 1 / 127.5, offset: -1,
                                                         noiseDimension: trainer.noiseDimension, noisePrior: .uniform(low: -1, high: 1)),
                                   networks: [NetworkEntry("generator", generator, optimizer: trainer.generatorOptimizer),
                                              NetworkEntry("discriminator", discriminator, optimizer: trainer.discriminatorOptimizer)])
        c.epoch = 2
        c.position = 48
        c.config = testConfigYAML
        c.rngs = [(RNGStream.noise.name, trainer.noiseRNG), (RNGStream.data.name, RNG(seed: 77, stream: .data)),
                  (RNGStream.initialization.name, RNG(stateWords: [1, 0, 0, .max])!)]
        c.history = history
        c.fixedNoise = randomTensor([16, trainer.noiseDimension], seed: 5)
        return c
    }
}

/// `TestGAN(seed:)` saved as `name` in a fresh directory and opened: how the load and mismatch
/// tests start. The directory lives as long as the value; close `reader` when done.
struct SavedTestGAN {
    let dir: TempDir
    let path: String
    let gan: TestGAN
    let reader: CheckpointReader

    init(seed: UInt64, name: String) throws {
        dir = try TempDir()
        path = dir.path(name)
        gan = try TestGAN(seed: seed)
        try gan.checkpoint().write(to: path)
        reader = try CheckpointReader(path: path)
    }
}

let testConfigYAML = """
    # Fashion-MNIST — Goodfellow et al. 2014, Maxout D
    model:
      generator: [linear 8→16, leaky_relu 0.2, linear 16→12, tanh]
      name: "Größe: 日本語 ✓"
    train:
      lr: 2.0e-4   # Adam β1 = 0.5

    """

/// Every float tensor of a network (parameters and buffers) by checkpoint path.
func networkTensors(_ net: Sequential) -> [(String, Tensor)] {
    net.namedParameters.map { ($0.path, $0.parameter.value) } + net.namedBuffers.map { ($0.path, $0.tensor) }
}

/// Every optimiser state tensor by `<param path>/<state>`.
func optimizerTensors(_ o: Optimizer, of net: Sequential) -> [(String, Tensor)] {
    let index = Dictionary(uniqueKeysWithValues: o.parameters.enumerated().map { (ObjectIdentifier($0.element), $0.offset) })
    return net.namedParameters.flatMap { path, p in
        o.parameterStates[index[ObjectIdentifier(p)]!].map { ("\(path)/\($0.name)", $0.tensor) }
    }
}

/// Expects the two lists to hold the same paths and bitwise-equal tensors; returns the count compared.
@discardableResult
func expectBitwise(_ a: [(String, Tensor)], _ b: [(String, Tensor)], _ what: String,
                   sourceLocation: SourceLocation = #_sourceLocation) -> Int {
    #expect(a.map(\.0) == b.map(\.0), "\(what): different tensor paths", sourceLocation: sourceLocation)
    var n = 0
    for ((path, x), (_, y)) in zip(a, b) {
        #expect(x.bitwiseEqual(y), "\(what): \(path) differs", sourceLocation: sourceLocation)
        n += 1
    }
    return n
}

func bits(_ values: [Double]) -> [UInt64] { values.map(\.bitPattern) }

/// Expects a one-line error that names `path` (and returns its description).
@discardableResult
func expectOneLineError(_ error: (any Error)?, naming path: String, sourceLocation: SourceLocation = #_sourceLocation) -> String {
    guard let error else {
        Issue.record("expected an error for \(path)", sourceLocation: sourceLocation)
        return ""
    }
    let text = "\(error)"
    #expect(error is CheckpointError || error is HDF5Error, "unexpected error type \(type(of: error)): \(text)", sourceLocation: sourceLocation)
    #expect(text.contains(path), "error does not name \(path): \(text)", sourceLocation: sourceLocation)
    #expect(!text.contains("\n") && !text.contains("\r"), "error is not one line: \(text)", sourceLocation: sourceLocation)
    return text
}

/// Opens a checkpoint and loads everything into fresh objects shaped like `gan`'s (what a resume does).
func loadEverything(_ path: String, like gan: TestGAN) throws {
    let reader = try CheckpointReader(path: path)
    defer { reader.close() }
    _ = try reader.dataDescription()
    let g = Sequential(specs: gan.generator.specs!), d = Sequential(specs: gan.discriminator.specs!)
    try reader.load("generator", into: g)
    try reader.load("discriminator", into: d)
    try reader.loadOptimizer("generator", into: Adam(parameters: g.parameters, learningRate: 1, beta1: 0.5), of: g)
    try reader.loadOptimizer("discriminator", into: SGD(parameters: d.parameters, learningRate: 1, momentum: 0.9, dampening: 0.1), of: d)
    _ = try reader.rng("noise")
    for purpose in try reader.rngPurposes() { _ = try reader.rng(purpose) }
    _ = try reader.history()
    _ = try reader.fixedNoise()
}

func writeBytes(_ data: Data, _ path: String) throws { try data.write(to: URL(fileURLWithPath: path)) }
func readBytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }
