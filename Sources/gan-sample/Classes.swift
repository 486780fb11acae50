import Foundation
import GANCheckpoint
import GANData
import GANNN

/// Class-conditional models in `gan-sample` (issue 22): the classes a checkpoint stores
/// (`/data@classes`, `class_names`, ...), the `--class` a user asks for, and the labels written
/// alongside samples.
enum ClassRequest: Equatable {
    /// No `--class`: samples cycle through the classes (sample i has label i mod K).
    case cycling
    case one(Int)
    /// `--class all`: every class, one row of a grid per class, the same z in each column.
    case all
}

extension ServedModel {
    /// The stored classes; nil for an unconditional model.
    var classes: ClassInfo? { space.data.classes }

    /// `--class` resolved against the checkpoint: a number in 0..<K, a class name (any case) or
    /// `all`. A class on an unconditional model, or one the model does not have, is a one-line error.
    func classRequest(_ text: String?, option: String = "--class") throws -> ClassRequest {
        guard let text else { return .cycling }
        guard let classes else {
            throw SampleError("\(option) \(text): \(reader.path) is not a class-conditional model (it stores no classes)")
        }
        if text.lowercased() == "all" { return .all }
        guard let label = classes.label(for: text) else {
            throw SampleError("\(option) \(text): expected a class number in 0..<\(classes.count) or one of the names "
                              + classes.names.map { "\"\($0)\"" }.joined(separator: ", ") + " (or all)")
        }
        return .one(label)
    }

    /// The label of each of `count` samples for a request other than `.all` (nil: unconditional).
    func labels(_ request: ClassRequest, count: Int) -> [Int]? {
        guard let classes else { return nil }
        switch request {
        case .cycling, .all: return classes.cyclingLabels(count)
        case .one(let c): return [Int](repeating: c, count: count)
        }
    }
}

extension OutputLocation {
    /// Where `generate` writes an NPY output's labels: `OUT.labels.npy` for `OUT.npy`.
    var labelsSidecar: String? {
        guard format == .npy, !isStandardOutput else { return nil }
        return (path.lowercased().hasSuffix(".npy") ? String(path.dropLast(4)) : path) + ".labels.npy"
    }

    /// Writes samples with their labels alongside (nil: unconditional, as `write`): CSV gets the
    /// label as its first column, HDF5 a `labels` int64 dataset, NPY the sidecar `OUT.labels.npy`
    /// (int64 [N]); image formats carry no labels (a `--class all` PNG has one row per class).
    func write(_ table: SampleTable, labels: [Int]?, dataset: String, provenance: OutputProvenance) throws {
        guard let labels else { return try write(table, header: nil, dataset: dataset, provenance: provenance) }
        switch format {
        case .csv:
            let f = table.features
            var values = [Float](repeating: 0, count: table.count * (f + 1))
            for i in 0..<table.count {
                values[i * (f + 1)] = Float(labels[i])
                for j in 0..<f { values[i * (f + 1) + 1 + j] = table.values[i * f + j] }
            }
            try write(SampleTable(rowShape: [f + 1], count: table.count, values: values), header: nil, dataset: dataset, provenance: provenance)
        case .npy:
            if let sidecar = labelsSidecar { try NPYArray.write(sidecar, int64: labels.map(Int64.init)) }
            try write(table, header: nil, dataset: dataset, provenance: provenance)
        case .hdf5:
            try HDF5Output.write(path, dataset: dataset, shape: [table.count] + table.rowShape, values: table.values,
                                 labels: labels.map(Int64.init), provenance: provenance)
        case .png, .idx, .pngFolder:
            try write(table, header: nil, dataset: dataset, provenance: provenance)
        }
    }
}

extension ServedModel {
    /// The labels `score` gives a conditional D: `--class` for every row or one per row from
    /// `--labels` (CSV or NPY); nil for a D that takes none (unconditional, ACGAN), which refuses both.
    func scoreLabels(classLabel: String?, file: String?, rows: Int, takesLabels: Bool) throws -> [Int]? {
        guard takesLabels, let classes else {
            if classLabel != nil || file != nil {
                let why = classes == nil ? "is not a class-conditional model" : "has an ACGAN discriminator, which predicts the class instead of taking one"
                throw SampleError("\(classLabel != nil ? "--class" : "--labels"): \(reader.path) \(why)")
            }
            return nil
        }
        if let classLabel {
            guard case .one(let c) = try classRequest(classLabel) else {
                throw SampleError("--class all: score takes one class for every row (or --labels FILE, one per row)")
            }
            return [Int](repeating: c, count: rows)
        }
        guard let file else {
            throw SampleError("\(reader.path) has a class-conditional discriminator (\(classes.conditioning)): give --class N|NAME or --labels FILE")
        }
        let values: [Float]
        switch SampleFormat.of(fileName: file) {
        case .csv?: values = try CSVTable.read(file).values
        case .npy?: values = try NPYArray.read(file).values
        default: throw SampleError("\(file): --labels takes .csv or .npy")
        }
        guard values.count == rows else { throw SampleError("\(file): \(values.count) labels for \(rows) rows of input") }
        return try values.enumerated().map { i, v in
            guard v == v.rounded(), v >= 0, Int(v) < classes.count else {
                throw SampleError("\(file): label \(i + 1) is \(v), expected a class number in 0..<\(classes.count)")
            }
            return Int(v)
        }
    }
}
