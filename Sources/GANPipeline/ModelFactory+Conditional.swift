import GANNN

/// The networks of a class-conditional pipeline (issue 22; `Conditioning.Mode`): G always takes
/// `[z; one-hot(y)]` (`OneHotConcat` first, then the configured network on z + K inputs); D per
/// mode: `concat` the sample with K one-hot values or channels, `projection` the configured D
/// with its output layer wrapped in a `ClassProjection`, `acgan` the configured D with 1 + K
/// outputs. Drawn from the same "init" stream as unconditional networks (G first, then D, then
/// the projection's embedding).
extension ModelFactory {
    public static func conditionalNetwork(_ c: NetworkConfig, noiseDimension: Int, sampleShape: [Int], conditioning: Conditioning,
                                          isDiscriminator: Bool, rng: inout RNG) -> Sequential {
        let k = conditioning.classCount, features = sampleShape.reduce(1, *)
        let dcgan = c.architecture == .dcgan
        precondition(c.architecture != .dcgan64, "conditioning is refused for dcgan64 at config load")
        guard isDiscriminator else {
            let g = dcgan ? convolutional(c, noiseDimension: noiseDimension + k, imageShape: sampleShape, isDiscriminator: false, rng: &rng)
                          : network(c, inputs: noiseDimension + k, outputs: features, isDiscriminator: false, rng: &rng)
            return Sequential([OneHotConcat(classes: k)] + g.layers)
        }
        switch conditioning.mode {
        case .concat:
            let d = dcgan ? convolutional(c, noiseDimension: noiseDimension, imageShape: [sampleShape[0] + k] + sampleShape.dropFirst(),
                                          isDiscriminator: true, rng: &rng)
                          : network(c, inputs: features + k, outputs: 1, isDiscriminator: true, rng: &rng)
            return Sequential([OneHotConcat(classes: k)] + d.layers)
        case .projection:
            let d = network(c, noiseDimension: noiseDimension, sampleShape: sampleShape, isDiscriminator: true, rng: &rng)
            guard let psi = d.layers.last as? SpecifiedLayer, let f = psi.spec.inputFeatures else {
                preconditionFailure("projection: D must end in a linear layer (clip_probability is refused with conditioning)")
            }
            let projection = ClassProjection(wrapping: psi, features: f, classes: k)
            projection.initializeEmbedding(rng: &rng)
            return Sequential(Array(d.layers.dropLast()) + [projection])
        case .acgan:
            return dcgan ? convolutional(c, noiseDimension: noiseDimension, imageShape: sampleShape, isDiscriminator: true, outputs: 1 + k, rng: &rng)
                         : network(c, inputs: features, outputs: 1 + k, isDiscriminator: true, rng: &rng)
        }
    }

    /// The trainer's conditioning for a pipeline (nil when unconditional): mode, the class count
    /// and the training labels' counts (the fakes' label distribution).
    public static func conditioning(_ config: PipelineConfig, labelCounts: [Int]) -> Conditioning? {
        guard let mode = config.conditioning else { return nil }
        let m: Conditioning.Mode = switch mode {
        case .concat: .concat
        case .projection: .projection
        case .acgan: .acgan
        }
        return Conditioning(mode: m, classCount: labelCounts.count, labelCounts: labelCounts,
                            auxiliaryWeight: Float(config.loss.auxiliaryWeight ?? 1))
    }
}
