import Foundation
import GANHDF5

/// Class labels for prep (issue 22): a table's label column, an HDF5 label dataset, the class names.
extension PrepStage {
    /// Splits `data.label_column` off a table `[rows, columns]`: `column` is a header name (CSV)
    /// or a 0-based column number. Returns the table without it and the labels (integers 0...255).
    static func splitLabelColumn(_ column: String, shape: [Int], values: [Float], header: [String]?,
                                 path: String) throws -> (shape: [Int], values: [Float], labels: [UInt8]) {
        guard shape.count == 2, shape[1] >= 2 else {
            throw PipelineError.io(path, "data.label_column: expected a table [samples, features + label] with at least 2 columns, found shape \(shape)")
        }
        let (rows, columns) = (shape[0], shape[1])
        guard let index = header?.firstIndex(of: column) ?? Int(column), index >= 0, index < columns else {
            let names = header.map { ": the header has \($0.map { "\"\($0)\"" }.joined(separator: ", "))" } ?? ""
            throw PipelineError.io(path, "data.label_column: no column \"\(column)\" (expected a header name or a column number in 0..<\(columns))\(names)")
        }
        var features: [Float] = []
        features.reserveCapacity(rows * (columns - 1))
        var labels: [UInt8] = []
        labels.reserveCapacity(rows)
        for r in 0..<rows {
            let row = values[(r * columns)..<((r + 1) * columns)]
            labels.append(try label(row[r * columns + index], row: r, path: path, what: "column \(column)"))
            features += row.enumerated().filter { $0.offset != index }.map(\.element)
        }
        return ([rows, columns - 1], features, labels)
    }

    /// The HDF5 dataset `name` of `rows` labels (`data.label_column` for h5 sources).
    static func labelDataset(_ name: String, in f: HDF5File, rows: Int, path: String) throws -> [UInt8] {
        guard f.root.contains(name) else { throw PipelineError.io(path, "data.label_column: no dataset '\(name)'") }
        let (shape, values) = try f.root.read(name, as: Float.self)
        guard shape == [rows] || shape == [rows, 1] else {
            throw PipelineError.io(path, "/\(name): expected \(rows) labels (one per row of data.dataset), found shape \(shape)")
        }
        return try values.enumerated().map { try label($0.element, row: $0.offset, path: path, what: "dataset \(name)") }
    }

    private static func label(_ v: Float, row: Int, path: String, what: String) throws -> UInt8 {
        guard v == v.rounded(), v >= 0, v <= 255 else {
            throw PipelineError.io(path, "data.label_column: \(what), row \(row + 1): expected a class label, an integer in 0...255, found \(v)")
        }
        return UInt8(v)
    }

    /// `data.class_names` over the names prep found (png_folder subfolders); every label must
    /// name a class, and a conditional run needs labels and at least two classes.
    func applyClassNames(_ d: inout PreparedData) throws {
        let dc = context.config.data
        if let names = dc.classNames {
            if let labels = d.labels, let top = labels.max(), Int(top) >= names.count {
                throw PipelineError.config("data.class_names: \(names.count) names, but the labels go up to \(top) (expected one name per class, label 0 first)")
            }
            d.classNames = names
        }
        if context.config.conditioning != nil {
            guard let counts = d.labelCounts, counts.count >= 2 else {
                throw PipelineError.config("conditioning: the data have \(d.labels == nil ? "no labels" : "a single class"); a conditional GAN needs at least 2 classes")
            }
        }
    }
}
