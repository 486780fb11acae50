import ArgumentParser
import Foundation
import GANCheckpoint
import GANCommandLine
import GANNN

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score data with a checkpoint's discriminator: one value per row.",
        discussion: """
        INPUT is in data units (like the training data): .csv (one flattened sample per row; a \
        header line is allowed), .npy ([N, features] or [N] for one feature; float32/64, uint8, \
        int32/64), .h5 (the dataset --dataset, default "samples", same shapes), or - for CSV on \
        standard input. Image models ([C, H, W] samples) also read .png (one image = one row; an \
        alpha channel is dropped), a folder of PNG files (one row per *.png, sorted by name, all of \
        one size) and MNIST-format IDX (.idx, .idx.gz, *-idx3-ubyte[.gz]: [N, H, W] or \
        [N, C, H, W] uint8); their bytes b are read as b / 255 (data units [0, 1]). The image size \
        and channel count must match the checkpoint's sample shape. It is normalised as the training data were (scale and offset stored in the \
        checkpoint) and run through D in batches.

        The output has one row per input row: D's probability sigma(logit) under the header \
        "score", or the logit with --logits (header "logit"). For a WGAN critic (the stored \
        configuration has loss.objective: wasserstein) it is the critic value (header "critic"), \
        as stderr says. A D trained on packs of m samples (PacGAN, train.pack m) judges packs, not \
        single samples: --packs scores every m consecutive rows as one pack (one value per pack; the \
        row count must be a multiple of m); without it such a D is refused. Without -o (or with -o -) the CSV goes to standard output; -o also takes \
        .npy and .h5 (dataset "scores"). A summary line goes to stderr: \
        "scored N rows: mean M, min A, max B".

        A class-conditional discriminator (concat or projection conditioning) judges a sample \
        together with its class: give --class N|NAME for every row, or --labels FILE with one \
        label per row (.csv: one integer per line, a header allowed; .npy: [N]). An ACGAN \
        discriminator takes no class; its score is the adversarial output (column 0), and \
        --class/--labels are refused.

        Exit codes: 0 done, 2 bad input (one line on stderr, nothing written), 64 malformed \
        command line, 74 the output could not be written (disk full, I/O error, permissions).

        Examples:
          gan-sample score Checkpoints/ring8 points.csv -o scores.csv
          gan-sample score Checkpoints/fashion-mlp-sn samples.png --logits
          gan-sample score Checkpoints/grid25 points.npy --packs
        """)

    @Argument(help: "Checkpoint file, stage directory or run directory.")
    var checkpoint: String

    @Argument(help: "Data to score: .csv, .npy, .h5, - for CSV on standard input; image models also .png, a folder of PNGs, .idx, .idx.gz.")
    var input: String

    @Option(name: .shortAndLong, help: "Output: .csv, .npy, .h5, or - (standard output, the default).")
    var output: String = "-"

    @Flag(help: "Write D's logits instead of probabilities.")
    var logits = false

    @Option(help: "Dataset to read from an HDF5 INPUT.")
    var dataset = "samples"

    @Flag(help: "For a D trained on packs (PacGAN, train.pack m > 1): judge every m consecutive rows as one pack, one value per pack (without it such a D is refused).")
    var packs = false

    @Option(help: "Rows per discriminator forward pass (>= 1).")
    var batch: Int = 1024

    @OptionGroup var compute: ThreadsOption

    @Option(name: .customLong("class"), help: ArgumentHelp("Class-conditional D: the class of every row (a number or a name).", valueName: "N|NAME"))
    var classLabel: String?

    @Option(help: ArgumentHelp("Class-conditional D: one label per row (.csv or .npy).", valueName: "FILE"))
    var labels: String?

    func validate() throws {
        guard classLabel == nil || labels == nil else { throw ValidationError("give --class or --labels, not both") }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1, got \(batch)") }
        guard !dataset.isEmpty else { throw ValidationError("--dataset must not be empty") }
    }

    enum Kind: String {
        case probability = "score", logit, critic
    }

    func run() throws {
        compute.apply()
        let reader = try openCheckpoint(checkpoint)
        try reportingUserErrors {
            let model = try ServedModel(reader)
            let out = try OutputLocation(output, formats: [.csv, .npy, .hdf5], space: nil)
            try out.checkNotOverwriting(reader.path, what: "the checkpoint being served")
            let d = try model.discriminator(packs: packs)
            let kind: Kind = model.isCritic ? .critic : logits ? .logit : .probability
            let table = try Self.packed(try SampleInput.read(input, dataset: dataset, space: model.space, consumer: "the discriminator"),
                                        pack: packs ? model.pack : 1, name: input)
            let rowLabels = try model.scoreLabels(classLabel: classLabel, file: labels, rows: table.count, takesLabels: d.conditionalClassCount != nil)
            var scores = Self.score(d, table, space: model.space, batch: batch, inputShape: model.discriminatorInputShape(d, packs: packs),
                                    labels: rowLabels)
            if kind == .probability {
                for i in scores.indices { scores[i] = sigmoid(scores[i]) }
            }
            try out.write(SampleTable(rowShape: [], count: scores.count, values: scores), header: [kind.rawValue],
                          dataset: "scores",
                          provenance: OutputProvenance(checkpoint: reader.path, stage: reader.stage.rawValue, step: reader.step, seed: nil,
                                                       extra: [("input", .string(input)), ("kind", .string(kind.rawValue))]))
            if kind == .critic {
                note("the discriminator is a WGAN critic (loss.objective: wasserstein): wrote critic values, not probabilities\(logits ? " (--logits changes nothing)" : "")")
            }
            if packs && model.pack > 1 { note("D judges packs of \(model.pack) consecutive rows (train.pack): one value per pack") }
            note(Self.summary(scores))
        }
    }

    /// PacGAN: every `pack` consecutive rows are one row of D (the same values, `pack` times wider).
    static func packed(_ table: SampleTable, pack: Int, name: String) throws -> SampleTable {
        guard pack > 1 else { return table }
        guard table.count % pack == 0 else {
            throw SampleError("\(name == "-" ? "standard input" : name): \(table.count) rows, not a multiple of the packing degree \(pack): D judges \(pack) consecutive samples at once (train.pack)")
        }
        return SampleTable(rowShape: [pack * table.features], count: table.count / pack, values: table.values)
    }

    /// D's raw outputs (logits or critic values) for every row, in batches through one reused
    /// input tensor.
    static func score(_ d: Sequential, _ table: SampleTable, space: SampleSpace, batch: Int, inputShape: [Int], labels: [Int]? = nil) -> [Float] {
        let f = table.features, count = table.count
        let rows = min(batch, count)
        let x = Tensor(shape: [rows, f])
        var scores = [Float](repeating: 0, count: count)
        table.values.withUnsafeBufferPointer { src in
            scores.withUnsafeMutableBufferPointer { out in
                var start = 0
                while start < count {
                    let b = min(rows, count - start)
                    forward(d, rows: b, from: src.baseAddress! + start * f, x: x, space: space, inputShape: inputShape,
                            labels: labels.map { Array($0[start..<(start + b)]) }, into: out.baseAddress! + start)
                    start += b
                }
            }
        }
        return scores
    }

    /// One forward pass of D over `rows` rows at `s` (data units), normalised into `x` (resized to
    /// D's layout, flat or [C, H, W]): the raw outputs into `out`. The unit of work that `score`
    /// and `serve` share, so that both give the same bits for the same rows.
    static func forward(_ d: Sequential, rows b: Int, from s: UnsafePointer<Float>, x: Tensor, space: SampleSpace,
                        inputShape: [Int], labels: [Int]? = nil, into out: UnsafeMutablePointer<Float>) {
        x.resize([b] + inputShape)
        let f = x.count / b   // a PacGAN D's row is a pack: m samples side by side
        for i in 0..<(b * f) { x.data[i] = space.normalise(s[i]) }
        if let labels { d.setLabels(labels) }
        let y = d.forward(x, training: false)
        // One value per row, or ACGAN's adversarial logit then K class logits: column 0.
        let stride = y.count / max(b, 1)
        precondition(y.count == b * stride, "discriminator output \(y.shape) for \(b) rows")
        for i in 0..<b { out[i] = y.data[i * stride] }
    }

    static func summary(_ s: [Float]) -> String {
        var sum = 0.0, lo = Float.infinity, hi = -Float.infinity
        for v in s {
            sum += Double(v)
            lo = min(lo, v)
            hi = max(hi, v)
        }
        func g(_ x: Double) -> String { String(format: "%.6g", x) }
        return "scored \(s.count) row\(s.count == 1 ? "" : "s"): mean \(g(sum / Double(s.count))), min \(g(Double(lo))), max \(g(Double(hi)))"
    }
}

/// An informational line on stderr (`gan-sample: ...`).
func note(_ message: String) {
    FileHandle.standardError.write(Data("gan-sample: \(message)\n".utf8))
}
