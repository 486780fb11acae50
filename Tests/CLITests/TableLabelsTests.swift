import Foundation
import GANHDF5
import GANTestSupport
import Testing
import GANData

/// `data.label_column` end to end (issue 22) for the three table sources: a CSV column named in
/// the header, an NPY column by number, an HDF5 dataset beside the table. Each goes through prep
/// and a few conditional training steps; `data.h5` holds the labels row for row, the features
/// without the label column, and `gan-sample info` lists the classes. A label dataset of the
/// wrong length is one line naming the file and the dataset.
@Suite struct TableLabelsCLITests {
    let bin = CLI.binary("gan-pipeline")
    let sample = CLI.binary("gan-sample")
    static let rows = 40

    /// Row i: two features (class 0 left of the origin, class 1 right) and its label i % 2.
    static func row(_ i: Int) -> (features: [Float], label: Int) {
        let label = i % 2
        return ([(label == 0 ? -2 : 2) + Float(i) / 64, Float(i % 5) / 8], label)
    }

    /// Runs prep and 4 conditional training steps on `data`; returns the run directory.
    func run(_ dir: URL, _ name: String, data: String) throws -> (status: Int32, stderr: String, run: String) {
        let bin = try #require(bin)
        let yaml = dir.appendingPathComponent("\(name).yaml").path
        try """
        name: \(name)
        data: {\(data), class_names: [left, right]}
        noise: {dimension: 2}
        generator: {hidden: [8]}
        discriminator: {hidden: [8]}
        conditioning: concat
        generator_optimizer: {learning_rate: 0.001}
        discriminator_optimizer: {learning_rate: 0.001}
        train: {steps: 4, batch_size: 8, checkpoint_every: 4, log_every: 0}
        """.write(toFile: yaml, atomically: true, encoding: .utf8)
        let run = dir.appendingPathComponent(name).path
        let r = try CLI.run(bin, ["run", yaml, "--run-dir", run, "--quiet", "--stages", "prep,train"])
        return (r.status, r.stderr, run)
    }

    @Test func csvNPYAndHDF5LabelColumnsReachDataAndCheckpoints() throws {
        let sample = try #require(sample)
        let dir = try TempDir()
        let table = (0..<Self.rows).map(Self.row)
        // CSV: x0, label, x1 with a header; the column by name.
        let csv = ["x0,label,x1"] + table.map { "\($0.features[0]),\($0.label),\($0.features[1])" }
        try csv.joined(separator: "\n").write(to: dir.url.appendingPathComponent("t.csv"), atomically: true, encoding: .utf8)
        // NPY: x0, x1, label; the column by number.
        try NPYArray.write(dir.url.appendingPathComponent("t.npy").path, shape: [Self.rows, 3],
                           values: table.flatMap { $0.features + [Float($0.label)] })
        // HDF5: the table and a label dataset beside it.
        let f = try HDF5File.create(dir.url.appendingPathComponent("t.h5").path)
        try f.root.write("points", shape: [Self.rows, 2], values: table.flatMap(\.features))
        try f.root.write("classes", shape: [Self.rows], values: table.map { Float($0.label) })
        try f.close()

        for (name, data) in [("csv", "source: csv, path: t.csv, label_column: label"),
                             ("npy", "source: npy, path: t.npy, label_column: \"2\""),
                             ("h5", "source: h5, path: t.h5, dataset: points, label_column: classes")] {
            let r = try run(dir.url, name, data: data)
            try #require(r.status == 0, "\(name): \(r.stderr)")
            let prepared = try HDF5File.open("\(r.run)/data.h5")
            let (labelShape, labels) = try prepared.root.read("labels", as: UInt8.self)
            #expect(labelShape == [Self.rows] && labels.map(Int.init) == table.map(\.label), "\(name): \(labels)")
            let datasets = try prepared.root.childNames()
            let features = try #require(datasets.first { $0 != "labels" && !$0.hasPrefix("test") }, "\(name): \(datasets)")
            let (shape, values) = try prepared.root.read(features, as: Float.self)
            #expect(shape == [Self.rows, 2] && values == table.flatMap(\.features), "\(name): \(features) \(shape)")
            try prepared.close()
            let info = try CLI.run(sample, ["info", r.run])
            #expect(info.status == 0 && info.stdout.contains("classes      2, conditioning concat: 0 left, 1 right"), "\(name): \(info.stdout)")
        }

        // A label dataset with one label too few: one line naming the file and the dataset.
        let g = try HDF5File.create(dir.url.appendingPathComponent("short.h5").path)
        try g.root.write("points", shape: [Self.rows, 2], values: table.flatMap(\.features))
        try g.root.write("classes", shape: [Self.rows - 1], values: table.dropLast().map { Float($0.label) })
        try g.close()
        let bad = try run(dir.url, "short", data: "source: h5, path: short.h5, dataset: points, label_column: classes")
        #expect(bad.status == 2, "\(bad.stderr)")
        let lines = bad.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("short.h5") && lines[0].contains("/classes: expected 40 labels"), "\(bad.stderr)")
    }
}
