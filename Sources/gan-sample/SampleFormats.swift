import Foundation
import GANCheckpoint
import GANData
import GANFiles
import GANHDF5
import GANPlot
import GANTensor

/// The format layer of `gan-sample`: which file formats samples and scores are read from and
/// written to, chosen by the file name. Every format is a case of `SampleFormat`; reading and
/// writing dispatch on it; the image formats live in `ImageFormats`.
///
/// Values are always in *data units* (the units of the training data); the commands normalise.
enum SampleFormat: Equatable, CustomStringConvertible {
    /// Comma-separated numbers, one flattened sample per row (`-` = standard output / input).
    case csv
    /// NumPy float32, shape [N, sample shape...].
    case npy
    /// HDF5: a dataset (`samples` unless `--dataset`), shape [N, sample shape...].
    case hdf5
    /// Image models: a PNG grid (output) or one image (input).
    case png
    /// Image models: MNIST-format uint8 (`.idx`, `.idx.gz`, `*-idx3-ubyte[.gz]`).
    case idx
    /// Image models, input only: a directory of PNG files.
    case pngFolder

    var description: String {
        switch self {
        case .csv: "CSV"
        case .npy: "NPY"
        case .hdf5: "HDF5"
        case .png: "PNG"
        case .idx: "IDX"
        case .pngFolder: "PNG folder"
        }
    }

    var isImageFormat: Bool { [.png, .idx, .pngFolder].contains(self) }

    /// The format a file name asks for; nil for an unknown extension.
    static func of(fileName path: String) -> SampleFormat? {
        let name = (path as NSString).lastPathComponent.lowercased()
        if name.hasSuffix(".csv") { return .csv }
        if name.hasSuffix(".npy") { return .npy }
        if name.hasSuffix(".h5") || name.hasSuffix(".hdf5") { return .hdf5 }
        if name.hasSuffix(".png") { return .png }
        if name.hasSuffix(".idx") || name.hasSuffix(".idx.gz") || name.hasSuffix("-ubyte") || name.hasSuffix("-ubyte.gz") { return .idx }
        return nil
    }

    static func extensionText(_ path: String) -> String {
        let ext = (path as NSString).pathExtension
        return ext.isEmpty ? "no extension" : "\".\(ext)\""
    }
}

/// Samples (or scores) in data units: `count` rows of `rowShape`, row-major.
struct SampleTable {
    var rowShape: [Int]
    var count: Int
    var values: [Float]
    var features: Int { rowShape.reduce(1, *) }
}

/// Provenance written into outputs that can hold it (HDF5 attributes).
struct OutputProvenance {
    var checkpoint: String
    var stage: String
    var step: Int
    var seed: Int?
    var extra: [(String, HDF5Value)] = []
}

// MARK: - Output

/// Where an output goes, checked before any work is done: a known extension, a directory that
/// exists, not a directory itself. Writing goes to a hidden `.NAME.tmp` beside it and is renamed
/// (`AtomicFile`), so a failure never leaves a half file (and nothing at all when the checks fail).
struct OutputLocation {
    /// "-" for standard output.
    let path: String
    let format: SampleFormat
    /// `--grid` of a PNG output (nil: near-square).
    var grid: GridLayout?
    var isStandardOutput: Bool { path == "-" }

    /// - Parameters:
    ///   - formats: the formats this command writes; `-` always means CSV on standard output.
    ///   - space: the model's sample space, for the image-format messages (nil: not samples).
    init(_ path: String, formats: [SampleFormat], space: SampleSpace?) throws {
        self.path = path
        if path == "-" {
            format = .csv
            return
        }
        guard !path.isEmpty else { throw SampleError("the output name is empty (use - for standard output)") }
        let names = formats.filter { !$0.isImageFormat || space?.isImage == true }
            .map { $0 == .hdf5 ? ".h5" : $0 == .idx ? ".idx (.idx.gz)" : ".\($0.description.lowercased())" }
        let supported = names.joined(separator: ", ") + " or - (CSV on standard output)"
        guard let f = SampleFormat.of(fileName: path) else {
            throw SampleError("\(path): unsupported output format (\(SampleFormat.extensionText(path))): use \(supported)")
        }
        if f.isImageFormat {
            if let space, formats.contains(f) {
                try ImageFormats.checkWritable(f, path: path, space: space)
            } else {
                throw SampleError("\(path): \(f) output is not available here: use \(supported)")
            }
        }
        guard formats.contains(f) else { throw SampleError("\(path): \(f) output is not available here: use \(supported)") }
        format = f
        try AtomicFile.checkDestination(path)  // early: before loading or computing anything
    }

    /// Refuses to replace `file` (the checkpoint being served) with the output.
    func checkNotOverwriting(_ file: String, what: String) throws {
        guard !isStandardOutput else { return }
        try Self.checkNotOverwriting(path, file, what: what)
    }

    /// Refuses to replace `file` with the output `path` (the same inode).
    static func checkNotOverwriting(_ path: String, _ file: String, what: String) throws {
        var a = stat(), b = stat()
        if stat(path, &a) == 0, stat(file, &b) == 0, a.st_dev == b.st_dev, a.st_ino == b.st_ino {
            throw SampleError("\(path): cannot write: it is \(what)")
        }
    }


    /// Writes `table`: CSV with `header` (nil: none), NPY with shape [N] + rowShape, HDF5 as
    /// dataset `dataset` of that shape with the provenance as root attributes.
    func write(_ table: SampleTable, header: [String]?, dataset: String, provenance: OutputProvenance) throws {
        let shape = [table.count] + table.rowShape
        switch format {
        case .csv:
            if isStandardOutput {
                try CSVTable.writeToStandardOutput(values: table.values, columns: table.features, header: header)
            } else {
                try CSVTable.write(path, values: table.values, columns: table.features, header: header)
            }
        case .npy:
            try NPYArray.write(path, shape: shape, values: table.values)
        case .hdf5:
            try HDF5Output.write(path, dataset: dataset, shape: shape, values: table.values, provenance: provenance)
        case .png, .idx, .pngFolder:
            try ImageFormats.write(table, format: format, path: path, grid: grid)
        }
    }
}

/// HDF5 output, crash-safely (`AtomicFile`), through the HDF5 wrapper.
///
/// The file and the dataset are created without HDF5's object times (the wrapper's default
/// records them, which makes two writes of the same samples differ in a few header bytes), so the
/// same samples and provenance give the same bytes. The dataset is chunked in whole rows (up to
/// 1 MiB per chunk) with the Fletcher-32 checksum, like every dataset the project writes. The
/// provenance goes into root attributes, set after the file is closed and reopened: writing them
/// in the same session lays the file out differently (same contents, other bytes), and outputs
/// keep the bytes of earlier builds.
enum HDF5Output {
    static func write(_ path: String, dataset: String, shape: [Int], values: [Float], labels: [Int64]? = nil,
                      provenance: OutputProvenance) throws {
        try AtomicFile.write(to: path) { tmp in
            let created = try HDF5File.create(tmp, tracksObjectTimes: false)
            try created.root.write(dataset, shape: shape, values: values,
                                   options: HDF5DatasetOptions(chunking: .wholeRows, tracksObjectTimes: false))
            if let labels {   // class-conditional samples: one label per row
                try created.root.write("labels", shape: [labels.count], values: labels,
                                       options: HDF5DatasetOptions(chunking: .wholeRows, tracksObjectTimes: false))
            }
            try created.close()
            let file = try HDF5File.open(tmp, writable: true)
            let root = file.root
            try root.setAttribute("checkpoint", provenance.checkpoint)
            try root.setAttribute("stage", provenance.stage)
            try root.setAttribute("step", provenance.step)
            if let seed = provenance.seed { try root.setAttribute("seed", seed) }
            for (name, value) in provenance.extra { try root.setAttribute(name, value) }
            try file.flush()
            try file.close()
        }
    }
}

// MARK: - Input

enum SampleInput {
    /// Reads INPUT (data units) as rows of `space`'s sample: CSV (`-` = standard input), NPY or
    /// an HDF5 dataset; image formats go to `ImageFormats`. The feature count must match the model.
    static func read(_ path: String, dataset: String, space: SampleSpace, consumer: String) throws -> SampleTable {
        let format: SampleFormat
        var isDir: ObjCBool = false
        if path == "-" {
            format = .csv
        } else if !FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            throw SampleError("\(path): no such file")
        } else if isDir.boolValue {
            format = .pngFolder
        } else if let f = SampleFormat.of(fileName: path) {
            format = f
        } else {
            let images = space.isImage ? ", .png, a folder of PNGs, .idx, .idx.gz" : ""
            throw SampleError("\(path): unsupported input format (\(SampleFormat.extensionText(path))): use .csv, .npy, .h5\(images) or - (CSV on standard input)")
        }

        let shape: [Int], values: [Float]
        switch format {
        case .csv:
            let t = try CSVTable.read(path == "-" ? "/dev/stdin" : path)
            guard t.columns == space.features else {
                throw SampleError("\(path == "-" ? "standard input" : path): \(t.columns) feature\(t.columns == 1 ? "" : "s") per row, \(consumer) expects \(space.features)")
            }
            return SampleTable(rowShape: [t.columns], count: t.rows, values: t.values)
        case .npy:
            (shape, values) = try NPYArray.read(path)
        case .hdf5:
            (shape, values) = try readHDF5(path, dataset: dataset)
        case .png, .idx, .pngFolder:
            return try ImageFormats.read(path, format: format, space: space, consumer: consumer)
        }
        return try rows(of: shape, values, name: path, space: space, consumer: consumer)
    }

    /// An array as rows: [N] is N one-feature rows; [N, ...] is N rows of the remaining product.
    static func rows(of shape: [Int], _ values: [Float], name: String, space: SampleSpace, consumer: String) throws -> SampleTable {
        guard let n = shape.first else { throw SampleError("\(name): a scalar, expected an array of samples [N, \(space.features)]") }
        let features = shape.count == 1 ? 1 : shape.dropFirst().reduce(1, *)
        guard features == space.features else {
            throw SampleError("\(name): \(features) feature\(features == 1 ? "" : "s") per row (shape \(shape)), \(consumer) expects \(space.features)")
        }
        guard n > 0 else { throw SampleError("\(name): no samples (shape \(shape))") }
        return SampleTable(rowShape: [features], count: n, values: values)
    }

    /// The float values of one dataset of an HDF5 file (float32/64, uint8, int64, uint64), NaN and
    /// infinities refused.
    static func readHDF5(_ path: String, dataset: String) throws -> (shape: [Int], values: [Float]) {
        let file = try HDF5File.open(path)
        defer { try? file.close() }
        let root = file.root
        guard root.contains(dataset), let ds = try? root.dataset(dataset) else {
            let here = (try? root.childNames()) ?? []
            let what = root.contains(dataset) ? "is a group, not a dataset" : "no dataset named \"\(dataset)\""
            throw SampleError("\(path): \(what) (top level: \(here.isEmpty ? "empty" : here.joined(separator: ", "))); choose one with --dataset")
        }
        let shape: [Int], values: [Float]
        switch try ds.elementKind() {
        case .float32: (shape, values) = try ds.read(as: Float.self)
        case .float64:
            let r = try ds.read(as: Double.self)
            shape = r.shape
            if let bad = r.values.firstIndex(where: { $0.isFinite && abs($0) > Double(Float.greatestFiniteMagnitude) }) {
                throw SampleError("\(path): /\(dataset) element \(Tensor.multiIndex(bad, in: shape)): \(r.values[bad]) is out of range for a 32-bit float")
            }
            values = r.values.map { Float($0) }
        case .uint8: let r = try ds.read(as: UInt8.self); (shape, values) = (r.shape, r.values.map { Float($0) })
        case .int64: let r = try ds.read(as: Int64.self); (shape, values) = (r.shape, r.values.map { Float($0) })
        case .uint64: let r = try ds.read(as: UInt64.self); (shape, values) = (r.shape, r.values.map { Float($0) })
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            let what = values[bad].isNaN ? "NaN" : values[bad] < 0 ? "-inf" : "inf"
            throw SampleError("\(path): /\(dataset) element \(Tensor.multiIndex(bad, in: shape)): \(what) is not allowed")
        }
        return (shape, values)
    }

}

// MARK: - Image formats

/// `generate --grid RxC`: rows x columns of the PNG grid.
struct GridLayout: Equatable {
    var rows: Int
    var columns: Int
    var cells: Int { rows * columns }

    /// "8x8" (or "8X8"); nil unless both numbers are positive integers.
    static func parse(_ text: String) -> GridLayout? {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2, let r = Int(parts[0]), let c = Int(parts[1]), r >= 1, c >= 1,
              !r.multipliedReportingOverflow(by: c).overflow else { return nil }
        return GridLayout(rows: r, columns: c)
    }
}

/// PNG grids, PNG images and folders, and IDX files, for image models ([C, H, W] samples).
///
/// Images in data units are floats in [0, 1]: a byte b reads as b / 255, and a value v is written
/// as the byte round(255 · v) after clamping to [0, 1] (NaN: 0), like the training data (stored as
/// bytes, data units byte / 255; the checkpoint's scale and offset then map data units to model
/// units). For a vector model every image format is a one-line error saying it needs an image model.
enum ImageFormats {
    static func unavailable(_ format: SampleFormat, _ direction: String, path: String, space: SampleSpace) -> SampleError {
        SampleError("\(path): \(format) \(direction) needs an image model (this checkpoint's samples have shape \(space.shapeText)); use .csv, .npy or .h5")
    }

    /// PNG files this large (bytes of pixels) are refused: 1 GiB.
    static let maxPNGBytes = 1 << 30
    /// Padding (pixels) between and around the tiles of a grid of more than one cell.
    static let gridPadding = 2

    /// Called while checking OUT, before any work.
    static func checkWritable(_ format: SampleFormat, path: String, space: SampleSpace) throws {
        guard space.isImage else { throw unavailable(format, "output", path: path, space: space) }
        switch format {
        case .png:
            let c = space.data.sampleShape[0]
            guard c == 1 || c == 3 else {
                throw SampleError("\(path): PNG output needs grey (1-channel) or RGB (3-channel) samples, this checkpoint's have shape \(space.shapeText); use .idx, .npy or .h5")
            }
        case .idx:
            break
        case .csv, .npy, .hdf5, .pngFolder:
            throw SampleError("\(path): \(format) is not an image output format; use .png or .idx")
        }
    }

    /// The byte of a data-unit value: round(255 · clamp(v, 0, 1)), NaN -> 0 (as `ImageGrid` does).
    @inline(__always) static func byte(_ v: Float) -> UInt8 {
        guard !v.isNaN else { return 0 }
        return UInt8((min(max(v, 0), 1) * 255).rounded())
    }

    /// Writes `table` (image samples, row shape [C, H, W], data units): `.png` one grid image
    /// (`grid`, else near-square; a single cell is the image itself, without a border), `.idx`
    /// uint8 [N, H, W] for one channel, [N, C, H, W] otherwise (gzip for `.gz` names).
    static func write(_ table: SampleTable, format: SampleFormat, path: String, grid: GridLayout?) throws {
        guard table.rowShape.count == 3 else { throw SampleError("\(path): \(format) output needs image samples [C, H, W], these have shape \(table.rowShape)") }
        let (c, h, w) = (table.rowShape[0], table.rowShape[1], table.rowShape[2])
        switch format {
        case .png:
            try gridImage(table, grid: grid, name: path).write(to: path)
        case .idx:
            let shape = c == 1 ? [table.count, h, w] : [table.count, c, h, w]
            try IDXArray.write(shape: shape, bytes: table.values.map(byte), to: path)
        case .csv, .npy, .hdf5, .pngFolder:
            throw SampleError("\(path): \(format) is not an image output format")
        }
    }

    /// The PNG output's image: one grid of all samples (`grid`, else near-square; a single cell
    /// is the image itself, without a border). `name` names the output in errors.
    static func gridImage(_ table: SampleTable, grid: GridLayout?, name: String) throws -> PixelImage {
        guard table.rowShape.count == 3 else { throw SampleError("\(name): PNG output needs image samples [C, H, W], these have shape \(table.rowShape)") }
        let (c, h, w) = (table.rowShape[0], table.rowShape[1], table.rowShape[2])
        guard c == 1 || c == 3 else { throw SampleError("\(name): PNG output needs 1 or 3 channels, the samples have shape \(table.rowShape)") }
        var layout = ImageGrid(rows: grid?.rows, columns: grid?.columns, padding: gridPadding, scale: 1, padValue: 0.5, valueRange: 0...1)
        let (r, k) = layout.shape(count: table.count)
        if r * k < table.count {
            throw SampleError("\(name): the grid \(r)x\(k) has \(r * k) cells for \(table.count) samples; use a larger --grid or a smaller -n")
        }
        if r * k == 1 { layout.padding = 0 }
        let outW = k * w + (k + 1) * layout.padding, outH = r * h + (r + 1) * layout.padding
        let (size, overflow) = outW.multipliedReportingOverflow(by: outH * c)
        guard !overflow, size <= maxPNGBytes else {
            throw SampleError("\(name): a \(r)x\(k) grid of \(w)x\(h) images is too large for one PNG (more than \(maxPNGBytes) bytes); use a smaller -n or .idx")
        }
        return layout.render(table.values, count: table.count, channels: c, height: h, width: w)
    }

    /// "grey 28x28" / "RGB 32x32" / "4-channel 8x8" for a [C, H, W] shape.
    static func describe(_ shape: [Int]) -> String {
        guard shape.count == 3 else { return "\(shape)" }
        let kind = shape[0] == 1 ? "grey" : shape[0] == 3 ? "RGB" : "\(shape[0])-channel"
        return "\(kind) \(shape[2])x\(shape[1]) (shape \(shape))"
    }

    /// Reads images (data units: byte / 255) as rows of `space`'s [C, H, W] sample: one `.png`
    /// (one row; an alpha channel is dropped), a folder of PNGs (one row per file, sorted by
    /// name), or an IDX file ([N, H, W] for one channel, [N, C, H, W]; plain or gzip).
    static func read(_ path: String, format: SampleFormat, space: SampleSpace, consumer: String) throws -> SampleTable {
        guard space.isImage else { throw unavailable(format, "input", path: path, space: space) }
        let expected = space.data.sampleShape
        let bytes: [UInt8], count: Int
        switch format {
        case .png:
            let image = try PNGImage.read(path).droppingAlpha()
            guard image.shape == expected else {
                throw SampleError("\(path): the image is \(describe(image.shape)), \(consumer) expects \(describe(expected))")
            }
            (bytes, count) = (image.bytes, 1)
        case .pngFolder:
            let folder = try PNGFolder.read(path)
            let shape = Array(folder.shape.dropFirst())
            guard shape == expected else {
                throw SampleError("\(path): the images are \(describe(shape)), \(consumer) expects \(describe(expected))")
            }
            (bytes, count) = (folder.bytes, folder.count)
        case .idx:
            let a = try IDXArray.read(path)
            let rowShape = Array(a.shape.dropFirst())
            let fits = rowShape == expected || (expected[0] == 1 && rowShape == Array(expected.dropFirst()))
            guard a.shape.count >= 3, fits else {
                let what = a.shape.count >= 3 ? "holds images of shape \(rowShape)" : "is not an image array (a label file?)"
                throw SampleError("\(path): the IDX array of shape \(a.shape) \(what), \(consumer) expects \(describe(expected)): an IDX array [N, \(expected[1]), \(expected[2])]\(expected[0] == 1 ? " or [N, 1, \(expected[1]), \(expected[2])]" : " of shape [N, \(expected[0]), \(expected[1]), \(expected[2])]")")
            }
            (bytes, count) = (a.bytes, a.shape[0])
        case .csv, .npy, .hdf5:
            throw SampleError("\(path): \(format) is not an image input format")
        }
        guard count > 0 else { throw SampleError("\(path): no images") }
        guard bytes.count <= Generate.maxValues else {
            throw SampleError("\(path): \(count) images are more than gan-sample holds in memory (\(Generate.maxValues) values)")
        }
        var values = [Float](repeating: 0, count: bytes.count)
        bytes.withUnsafeBufferPointer { src in
            values.withUnsafeMutableBufferPointer { dst in
                for i in 0..<src.count { dst[i] = Float(src[i]) / 255 }
            }
        }
        return SampleTable(rowShape: expected, count: count, values: values)
    }
}
