import ArgumentParser
import Foundation
import GANCheckpoint
import GANCommandLine
import GANFiles
import GANNN

struct Interpolate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Walk the noise space between two seeds: a strip of images along the great circle.",
        discussion: """
        z_A is the first noise vector of `gan-sample generate --seed A` (and z_B that of seed B), so \
        the strip's ends are the first samples generate draws with those seeds. The --steps points \
        are the spherical interpolation (slerp, White 2016: the path a Gaussian prior's samples \
        actually lie near) z(t) = sin((1 - t) w) / sin w z_A + sin(t w) / sin w z_B, \
        w = angle(z_A, z_B), t = 0, 1/(steps - 1), ..., 1 (linear when z_A and z_B are parallel). \
        Image models only. A class-conditional model draws one row per class (the same z in each \
        column), or the row of --class N|NAME. OUT is .png (a grid, one row per class), or .npy, \
        .csv, .h5, .idx (the images row after row; labels alongside as in generate).

        Exit codes: 0 done, 2 bad input (one line on stderr, nothing written), 64 malformed command line.
        """)

    @Argument(help: "Checkpoint file, stage directory or run directory.")
    var checkpoint: String

    @Option(name: .customLong("from-seed"), help: "Seed of the first noise vector.")
    var fromSeed: UInt64

    @Option(name: .customLong("to-seed"), help: "Seed of the last noise vector.")
    var toSeed: UInt64

    @Option(help: "Points along the path, both ends included (2...1000).")
    var steps: Int = 8

    @Option(name: .customLong("class"), help: ArgumentHelp("Class-conditional models: the class of the strip (a number or a name; default: every class).",
                                                           valueName: "N|NAME"))
    var classLabel: String?

    @Flag(help: "Use the raw generator weights even when the checkpoint has their moving average (generator_ema).")
    var raw = false

    @OptionGroup var compute: ThreadsOption

    @Option(name: .shortAndLong, help: "Output file: .png (a grid), .npy, .csv, .h5, .idx.")
    var output: String

    func validate() throws {
        guard steps >= 2 && steps <= 1000 else { throw ValidationError("--steps must be in 2...1000, got \(steps)") }
        for (name, seed) in [("--from-seed", fromSeed), ("--to-seed", toSeed)] where seed > UInt64(Int64.max) {
            throw ValidationError("\(name) must be at most \(Int64.max), got \(seed)")
        }
    }

    func run() throws {
        compute.apply()
        let reader = try openCheckpoint(checkpoint)
        try reportingUserErrors {
            let model = try ServedModel(reader)
            guard model.space.isImage else {
                throw SampleError("\(reader.path): interpolate draws image strips; this model's samples have shape \(model.space.shapeText)")
            }
            var out = try OutputLocation(output, formats: [.png, .npy, .csv, .hdf5, .idx], space: model.space)
            try out.checkNotOverwriting(reader.path, what: "the checkpoint being served")
            let request = try model.classRequest(classLabel)
            if request == .all { throw SampleError("--class all: interpolate draws every class when --class is not given") }
            if let sidecar = out.labelsSidecar, model.classes != nil { try AtomicFile.checkDestination(sidecar) }
            let rowClasses: [Int]? = switch request {
            case .one(let c): [c]
            case .cycling, .all: model.classes.map { Array(0..<$0.count) }
            }
            let g = try model.generator(raw: raw)
            let zDim = model.space.data.noiseDimension
            let path = Self.slerp(from: Self.firstNoise(seed: fromSeed, model: model), to: Self.firstNoise(seed: toSeed, model: model), steps: steps)
            let rows = rowClasses?.count ?? 1
            let z = Tensor(shape: [rows * steps, zDim])
            for r in 0..<rows { for (i, v) in path.enumerated() { z[r * steps * zDim + i] = v } }
            let labels = rowClasses.map { classes in (0..<(rows * steps)).map { classes[$0 / steps] } }
            if let labels { g.setLabels(labels) }
            let y = g.forward(z, training: false)
            let table = SampleTable(rowShape: model.space.data.sampleShape, count: rows * steps, values: y.array.map(model.space.denormalise))
            out.grid = GridLayout(rows: rows, columns: steps)
            try out.write(table, labels: labels, dataset: "samples",
                          provenance: OutputProvenance(checkpoint: reader.path, stage: reader.stage.rawValue, step: reader.step, seed: nil,
                                                       extra: [("from_seed", .int(Int64(fromSeed))), ("to_seed", .int(Int64(toSeed)))]))
        }
    }

    /// The first z `generate --seed seed` draws.
    static func firstNoise(seed: UInt64, model: ServedModel) -> [Float] {
        var noise = NoiseStream(seed: seed, prior: model.space.data.noisePrior)
        var z = [Float](repeating: 0, count: model.space.data.noiseDimension)
        z.withUnsafeMutableBufferPointer { noise.fill($0.baseAddress!, count: $0.count) }
        return z
    }

    /// `steps` points from `a` to `b` on the great circle (slerp), flattened; computed in Double.
    /// Nearly parallel or zero vectors (sin w < 1e-6) fall back to the straight line.
    static func slerp(from a: [Float], to b: [Float], steps: Int) -> [Float] {
        let na = a.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let nb = b.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let cosine = na > 0 && nb > 0 ? zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } / (na * nb) : 1
        let omega = acos(min(1, max(-1, cosine))), s = sin(omega)
        var out: [Float] = []
        out.reserveCapacity(steps * a.count)
        for i in 0..<steps {
            let t = Double(i) / Double(steps - 1)
            let (wa, wb) = s < 1e-6 ? (1 - t, t) : (sin((1 - t) * omega) / s, sin(t * omega) / s)
            for j in a.indices { out.append(Float(wa * Double(a[j]) + wb * Double(b[j]))) }
        }
        return out
    }
}
