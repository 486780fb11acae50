import ArgumentParser
import Foundation
import GANCheckpoint
import GANData
import GANFiles
import GANHDF5
import GANNN

/// A user-facing problem found by `gan-sample` itself (not by a reader): one line, exit 2.
struct SampleError: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}

/// Runs `body`, turning every one-line user error (checkpoint, HDF5, data, a failed write,
/// gan-sample's own) into that line on stderr and exit code 2 (74 for a write that failed in a
/// system call: a full disk, an I/O error, no permission). Anything else is a bug and
/// propagates as is.
func reportingUserErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as SampleError {
        throw fail(e.description)
    } catch let e as CheckpointError {
        throw fail(e.description)
    } catch let e as HDF5Error {
        throw fail(e.description)
    } catch let e as DataError {
        throw fail(e.description)
    } catch let e as FileWriteError {
        throw fail(e.description, code: e.isIOFailure ? FileWriteError.ioFailureExitCode : 2)
    }
}

/// What a checkpoint says about the samples its models work on.
struct SampleSpace {
    let data: DataDescription
    /// Values per sample (the product of `sampleShape`).
    var features: Int { data.sampleShape.reduce(1, *) }
    /// Image models have a [C, H, W] sample shape; vector models (toy, table) a [D] one.
    var isImage: Bool { data.sampleShape.count == 3 }
    var shapeText: String { "\(data.sampleShape)" }

    /// data units -> model units (`scale · x + offset`), as the training data were normalised.
    @inline(__always) func normalise(_ x: Float) -> Float { data.scale * x + data.offset }
    /// model units -> data units (`(y - offset) / scale`, Checkpoints/README.md).
    @inline(__always) func denormalise(_ y: Float) -> Float { (y - data.offset) / data.scale }
}

/// The checkpoint's model, ready to serve: the stored architecture and weights, the sample space
/// and the objective.
struct ServedModel {
    let reader: CheckpointReader
    let space: SampleSpace

    init(_ reader: CheckpointReader) throws {
        self.reader = reader
        let data = try reader.dataDescription()
        guard !data.sampleShape.isEmpty, data.sampleShape.allSatisfy({ $0 >= 1 }), data.scale != 0, data.scale.isFinite,
              data.offset.isFinite, data.noiseDimension >= 1 else {
            throw CheckpointError(reader.path, "/data", "unusable description: sample shape \(data.sampleShape), scale \(data.scale), offset \(data.offset), noise dimension \(data.noiseDimension)")
        }
        space = SampleSpace(data: data)
    }

    /// Stage `pretrain-d` stores a generator that has not been trained yet.
    var generatorIsUntrained: Bool { reader.stage == .pretrainD }

    /// The network `generator()` serves: the moving average of G's weights (`generator_ema`,
    /// issue 8) when the checkpoint has one, unless `raw`.
    func generatorName(raw: Bool) -> String {
        !raw && reader.hasNetwork("generator_ema") ? "generator_ema" : "generator"
    }

    /// The generator, checked to map one z to one sample.
    func generator(raw: Bool = false) throws -> Sequential {
        let name = generatorName(raw: raw)
        guard reader.hasNetwork(name) else { throw CheckpointError(reader.path, "/generator", "missing: this checkpoint has no generator") }
        let g = try reader.buildNetwork(name)
        let z = space.data.noiseDimension
        guard let out = g.outputShape(for: [z]) else {
            throw CheckpointError(reader.path, "/" + name, "cannot take a \(z)-d noise vector (data/noise_dimension)")
        }
        guard out.reduce(1, *) == space.features else {
            throw CheckpointError(reader.path, "/" + name, "outputs \(out.reduce(1, *)) values per sample, the sample shape \(space.shapeText) has \(space.features)")
        }
        return g
    }

    /// PacGAN's packing degree (`train.pack`): D judges this many consecutive samples at once.
    var pack: Int { reader.pack }

    /// D's per-row input shape: flat `[features]` for an MLP, the sample shape `[C, H, W]` for
    /// a convolutional D (which cannot take flat rows); with `packs` (`score --packs`, `export`),
    /// `pack` samples side by side for a packing D.
    func discriminatorInputShape(_ d: Sequential, packs: Bool = false) -> [Int] {
        if packs && pack > 1 { return [pack * space.features] }
        return d.outputShape(for: [space.features]) == nil && d.outputShape(for: space.data.sampleShape) != nil
            ? space.data.sampleShape : [space.features]
    }

    /// The discriminator, checked to map one sample (one pack with `packs`) to one value. Without
    /// `packs` a packing D is refused: it judges packs, not single samples.
    func discriminator(packs: Bool = false) throws -> Sequential {
        guard reader.hasNetwork("discriminator") else { throw CheckpointError(reader.path, "/discriminator", "missing: this checkpoint has no discriminator") }
        let d = try reader.buildNetwork("discriminator")
        guard let out = d.outputShape(for: discriminatorInputShape(d, packs: packs)) else {
            throw CheckpointError(reader.path, "/discriminator", "cannot take a sample of shape \(space.shapeText) (\(space.features) values)")
        }
        // ACGAN: the adversarial logit and K class logits.
        let expected = space.data.classes?.conditioning == "acgan" ? 1 + (space.data.classes?.count ?? 0) : 1
        guard out.reduce(1, *) == expected else {
            throw CheckpointError(reader.path, "/discriminator", "outputs \(out.reduce(1, *)) values per sample, expected \(expected)")
        }
        return d
    }

    /// Whether D is a WGAN critic: the checkpoint's objective is `wasserstein` (a missing or
    /// unreadable stored configuration counts as the default, a classifier).
    var isCritic: Bool { reader.objective == .wasserstein }
}

/// The z stream of `generate`: the stored prior drawn from `RNG(seed:, stream: .sample)`,
/// value after value, so that the noise of sample i does not depend on `--batch` and the first
/// k samples of `-n N` are those of `-n k`. (`RNG.fillNormal` draws Box-Muller pairs and drops
/// the second value of an odd count; a batch of odd size carries it over to the next batch.)
struct NoiseStream {
    private var rng: RNG
    private let prior: NoisePrior
    private var carry: Float?

    init(seed: UInt64, prior: NoisePrior) {
        rng = RNG(seed: seed, stream: .sample)
        self.prior = prior
    }

    mutating func fill(_ p: UnsafeMutablePointer<Float>, count: Int) {
        guard count > 0 else { return }
        switch prior {
        case .uniform(let low, let high):
            rng.fillUniform(p, count: count, low: low, high: high)
        case .normal(let mean, let std):
            var i = 0
            if let c = carry {
                p[0] = c
                carry = nil
                i = 1
            }
            let rest = count - i
            rng.fillNormal(p + i, count: rest & ~1, mean: mean, std: std)
            if rest & 1 == 1 {
                var pair: (Float, Float) = (0, 0)
                withUnsafeMutableBytes(of: &pair) { raw in
                    rng.fillNormal(raw.baseAddress!.assumingMemoryBound(to: Float.self), count: 2, mean: mean, std: std)
                }
                p[count - 1] = pair.0
                carry = pair.1
            }
        }
    }
}

/// Numerically stable logistic function.
@inline(__always) func sigmoid(_ x: Float) -> Float {
    x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
}

/// Shared `--threads` handling: the engine's thread count (bitwise results depend on it).
