import ArgumentParser
import Foundation
import GANCheckpoint
import GANFiles
import GANCommandLine
import GANData
import GANNN

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw samples from a checkpoint's generator, in data units.",
        discussion: """
        z is drawn from the stored noise prior with a generator seeded by --seed (purpose "sample"), \
        one value after another. The same checkpoint, seed, --batch and --threads give \
        byte-identical output. Sample i gets the same z whatever -n and --batch are, so -n k gives \
        the first k samples of -n N (a different --batch can change the last bits of the values, \
        as the matrix kernels sum differently). --noise z.npy takes z from an .npy array \
        [N, noise dimension] instead: one sample per row (-n, if given, must be N; no --seed). \
        Outputs are de-normalised with the stored scale and offset: data = (G(z) - offset) / scale. \
        When the checkpoint holds a moving average of G's weights (generator_ema), it is served; \
        --raw serves the raw generator instead.

        OUT's extension picks the format: .csv (one flattened sample per row, no header), .npy \
        (float32 [N, sample shape]), .h5 (dataset "samples" of that shape; root attributes \
        checkpoint, stage, step, seed), or - for CSV on standard output. Image models ([C, H, W] \
        samples, data units [0, 1]) also write .png (one grid image of all samples, row-major, \
        --grid RxC or near-square, 2 px grey padding; a single sample is the bare image) and .idx \
        (MNIST-format uint8 [N, H, W] for one channel, [N, C, H, W] otherwise; .idx.gz is gzip), \
        with byte = round(255 * value) clamped to 0...255. The file is written to a hidden \
        temporary file beside OUT (.NAME.tmp for OUT = DIR/NAME) and renamed.

        Class-conditional models (a checkpoint with classes: gan-sample info lists them): --class N \
        (a number) or --class NAME (a class name, any case) generates that class only; --class all \
        generates -n samples of every class, class after class, with the same z for sample j of \
        every class (a PNG is one grid row per class); without --class sample i is of class i mod K. \
        The labels go alongside: a first CSV column, an int64 "labels" dataset in HDF5, and \
        OUT.labels.npy (int64 [N]) next to an NPY output. --class on an unconditional model, or a \
        class the model does not have, is an error (exit 2, nothing written).

        Exit codes: 0 done (a pretrain-d checkpoint, whose generator is untrained, warns on \
        stderr), 2 bad input (one line on stderr, nothing written), 64 malformed command line \
        (including -n, --batch or --threads below 1), 74 OUT could not be written (disk full, \
        I/O error, permissions; one line on stderr, any previous OUT left as it was).

        Examples:
          gan-sample generate Checkpoints/fashion-mlp-sn -n 64 -o samples.png
          gan-sample generate Checkpoints/ring8 -n 2500 --seed 7 -o points.csv
          gan-sample generate Checkpoints/fashion-mlp-sn --noise z.npy -o samples.npy --raw
        """)

    @Argument(help: "Checkpoint file, stage directory or run directory.")
    var checkpoint: String

    @Option(name: [.customShort("n"), .customLong("count")], help: "Number of samples (>= 1; default 64, or the rows of --noise).")
    var count: Int?

    @Option(help: ArgumentHelp("Noise vectors to use instead of drawing them: an .npy array [N, noise dimension], one sample per row.",
                               valueName: "z.npy"))
    var noise: String?

    /// The noise stream's seed (default 0).
    @OptionGroup var seedOption: SeedOption

    @Option(help: "Samples per generator forward pass (>= 1).")
    var batch: Int = 1024

    @OptionGroup var compute: ThreadsOption

    @Option(name: .shortAndLong, help: "Output file (.csv, .npy, .h5; image models also .png, .idx, .idx.gz) or - for CSV on standard output.")
    var output: String

    @Flag(help: "Use the raw generator weights even when the checkpoint has their moving average (generator_ema).")
    var raw = false

    @Option(help: ArgumentHelp("PNG grid as ROWSxCOLUMNS, with at least -n cells (default: near-square).", valueName: "RxC"))
    var grid: String?

    @Option(name: .customLong("class"), help: ArgumentHelp("Class-conditional models: the class to generate (a number, a name, or all).",
                                                           valueName: "N|NAME|all"))
    var classLabel: String?

    var seed: UInt64 { seedOption.seed ?? 0 }

    /// The sample count without --noise (with it, the file's row count decides).
    var n: Int { count ?? 64 }

    func validate() throws {
        guard n >= 1 else { throw ValidationError("-n must be at least 1, got \(n)") }
        guard noise == nil || seedOption.seed == nil else { throw ValidationError("--seed has no effect with --noise (z comes from the file)") }
        guard seed <= UInt64(Int64.max) else { throw ValidationError("--seed must be at most \(Int64.max), got \(seed)") }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1, got \(batch)") }
        if let grid {
            guard let layout = GridLayout.parse(grid) else { throw ValidationError("--grid must be ROWSxCOLUMNS with positive numbers, e.g. 8x8, got \"\(grid)\"") }
            guard SampleFormat.of(fileName: output) == .png else { throw ValidationError("--grid applies to PNG output only (-o NAME.png)") }
            guard noise != nil || layout.cells >= n || classLabel?.lowercased() == "all" else { throw ValidationError("--grid \(grid) has \(layout.cells) cells for \(n) samples; use a larger grid or a smaller -n") }
        }
    }

    func run() throws {
        compute.apply()
        let reader = try openCheckpoint(checkpoint)
        try reportingUserErrors {
            let model = try ServedModel(reader)
            var out = try OutputLocation(output, formats: [.csv, .npy, .hdf5, .png, .idx], space: model.space)
            out.grid = grid.flatMap(GridLayout.parse)
            try out.checkNotOverwriting(reader.path, what: "the checkpoint being served")
            let request = try model.classRequest(classLabel)
            if let sidecar = out.labelsSidecar, model.classes != nil { try AtomicFile.checkDestination(sidecar) }
            let g = try model.generator(raw: raw)
            let given = try noise.map { try Self.readNoise($0, space: model.space, count: count) }
            let rows = given.map { $0.count / model.space.data.noiseDimension } ?? n
            let provenance = OutputProvenance(checkpoint: reader.path, stage: reader.stage.rawValue, step: reader.step,
                                              seed: noise == nil ? Int(seed) : nil, extra: noise.map { [("noise", .string($0))] } ?? [])
            var table: SampleTable, labels: [Int]?
            if request == .all, let k = model.classes?.count {
                // Class after class, each from the same z: row c of the grid is class c.
                if out.grid == nil { out.grid = GridLayout(rows: k, columns: rows) }
                if let cells = out.grid?.cells, cells < k * rows {
                    throw SampleError("--grid \(grid ?? "") has \(cells) cells for \(k) classes x \(rows) samples; use a larger grid or a smaller -n")
                }
                table = SampleTable(rowShape: model.space.data.sampleShape, count: 0, values: [])
                for c in 0..<k {
                    let part = try Self.generate(g, space: model.space, count: rows, seed: seed, batch: batch, name: output, noise: given,
                                                 labels: [Int](repeating: c, count: rows))
                    table.values += part.values
                    table.count += rows
                }
                labels = (0..<(k * rows)).map { $0 / rows }
            } else {
                if let layout = out.grid, layout.cells < rows {
                    throw SampleError("--grid \(grid ?? "") has \(layout.cells) cells for the \(rows) rows of --noise; use a larger grid")
                }
                labels = model.labels(request, count: rows)
                table = try Self.generate(g, space: model.space, count: rows, seed: seed, batch: batch, name: output, noise: given, labels: labels)
            }
            try out.write(table, labels: labels, dataset: "samples", provenance: provenance)
            if model.generatorIsUntrained {
                warn("\(reader.path) is a pretrain-d checkpoint: the generator has not been trained yet (samples come from its initial weights)")
            }
        }
    }

    /// `--noise`: the rows of an .npy array `[N, noise dimension]` (`[N]` for one-dimensional
    /// noise); `-n`, when given, must be N.
    static func readNoise(_ path: String, space: SampleSpace, count: Int?) throws -> [Float] {
        let (shape, values) = try NPYArray.read(path)
        let z = space.data.noiseDimension
        guard let rows = shape.first, rows >= 1, shape.dropFirst().reduce(1, *) == z, shape.count == 2 || (shape.count == 1 && z == 1) else {
            throw SampleError("\(path): shape \(shape), expected [N, \(z)]: one noise vector of data/noise_dimension \(z) per row")
        }
        if let count, count != rows { throw SampleError("-n \(count) differs from the \(rows) rows of --noise \(path)") }
        return values
    }

    /// Runs G over `count` noise vectors in batches of `batch`, reusing one z tensor (G's layers
    /// reuse their outputs), writing de-normalised samples straight into the result array. z comes
    /// from `noise` (count rows) when given, else from the seeded stream; `labels` (one per
    /// sample) for a class-conditional G.
    static func generate(_ g: Sequential, space: SampleSpace, count: Int, seed: UInt64, batch: Int, name: String,
                         noise given: [Float]? = nil, labels: [Int]? = nil) throws -> SampleTable {
        let d = space.features, zDim = space.data.noiseDimension
        let (total, overflow) = count.multipliedReportingOverflow(by: d)
        guard !overflow, total <= maxValues else {
            throw SampleError("\(name): \(count) samples of \(d) values are more than gan-sample holds in memory (\(maxValues) values); use a smaller -n")
        }
        var noise = NoiseStream(seed: seed, prior: space.data.noisePrior)
        let rows = min(batch, count)
        let z = Tensor(shape: [rows, zDim])
        var values = [Float](repeating: 0, count: total)
        values.withUnsafeMutableBufferPointer { out in
            var start = 0
            while start < count {
                let b = min(rows, count - start)
                z.resize([b, zDim])
                if let given {
                    given.withUnsafeBufferPointer { z.data.update(from: $0.baseAddress! + start * zDim, count: b * zDim) }
                } else {
                    noise.fill(z.data, count: b * zDim)
                }
                forward(g, z: z, space: space, labels: labels.map { Array($0[start..<(start + b)]) }, into: out.baseAddress! + start * d)
                start += b
            }
        }
        return SampleTable(rowShape: space.data.sampleShape, count: count, values: values)
    }

    /// One forward pass of G over the rows of `z`, de-normalised into `dst` (rows x features): the
    /// unit of work that `generate` and `serve` share, so that both give the same bits for the
    /// same rows.
    static func forward(_ g: Sequential, z: Tensor, space: SampleSpace, labels: [Int]? = nil, into dst: UnsafeMutablePointer<Float>) {
        let b = z.rows, d = space.features
        if let labels { g.setLabels(labels) }
        let y = g.forward(z, training: false)
        precondition(y.count == b * d, "generator output \(y.shape) for \(b) samples of \(d) values")
        for i in 0..<(b * d) { dst[i] = space.denormalise(y.data[i]) }
    }

    /// 2^30 floats (4 GiB): beyond this an output is refused rather than risking the OOM killer.
    static let maxValues = 1 << 30
}
