import Foundation
import GANCheckpoint
import GANData
import GANHDF5

/// The `prep` stage: reads the configured source (a toy distribution, a table, IDX images or a
/// folder of PNGs), checks it, computes its normalisation and writes `RUN/data.h5`, which every
/// later stage reads. Skipped when `data.h5` exists.
struct PrepStage: PipelineStage {
    static let stage = Stage.prep
    let context: StageContext

    func run() throws {
        let file = context.run.dataFile
        if FileManager.default.fileExists(atPath: file.path) {
            context.log("prep: \(file.path) exists; skipped")
            return
        }
        let start = Date()
        var d = try loadSource()
        try applyClassNames(&d)
        try d.write(to: file)
        let shape = d.sampleShape.map(String.init).joined(separator: "x")
        context.log(String(format: "prep: %d samples of shape %@%@ from %@ -> %@ (%.2f s)", d.count, shape,
                           d.testCount > 0 ? " (+\(d.testCount) held out)" : "", d.source, file.path, Date().timeIntervalSince(start)))
    }

    /// The configured data set in data units, with its normalisation.
    func loadSource() throws -> PreparedData {
        let dc = context.config.data
        let norm = Normalization(rawValue: dc.normalize.rawValue) ?? .none
        if let toy = ModelFactory.toyDistribution(dc) {
            return PreparedData.toy(toy, count: dc.size, seed: context.config.seed, normalization: norm, source: "\(dc.source.rawValue) \(toy)")
        }
        guard let path = dc.path else { throw PipelineError.config("data.path: required for data.source \(dc.source.rawValue)") }
        if dc.isImageSource { return try loadImages(path: path, normalization: norm) }
        var shape: [Int], values: [Float]
        var labels: [UInt8]?
        do {
            switch dc.source {
            case .csv:
                let t = try CSVTable.read(path)
                (shape, values) = ([t.rows, t.columns], t.values)
                if let column = dc.labelColumn { (shape, values, labels) = try Self.splitLabelColumn(column, shape: shape, values: values, header: t.header, path: path) }
            case .npy:
                (shape, values) = try NPYArray.read(path)
                if let column = dc.labelColumn { (shape, values, labels) = try Self.splitLabelColumn(column, shape: shape, values: values, header: nil, path: path) }
            case .h5:
                let f = try HDF5File.open(path)
                defer { try? f.close() }
                guard f.root.contains(dc.dataset) else { throw PipelineError.io(path, "no dataset '\(dc.dataset)' (data.dataset)") }
                (shape, values) = try f.root.read(dc.dataset, as: Float.self)
                if let name = dc.labelColumn { labels = try Self.labelDataset(name, in: f, rows: shape.first ?? 0, path: path) }
            case .gaussian, .parabola, .ring, .grid, .idx, .pngFolder:
                preconditionFailure("loadSource: \(dc.source) is handled above")
            }
        } catch let e as DataError {
            throw PipelineError.io(e.file, e.message)
        } catch let e as HDF5Error {
            throw PipelineError.io(e.file, "\(e.object): \(e.message)")
        }
        guard shape.count == 2, shape[0] >= 1, shape[1] >= 1 else {
            throw PipelineError.io(path, "expected a table [samples, features], found shape \(shape)")
        }
        return PreparedData(table: values, dimension: shape[1], labels: labels, normalization: norm, source: "\(dc.source.rawValue) \(path)")
    }

    /// Images from an IDX file (`[N, H, W]` or `[N, C, H, W]`) or a folder of PNGs, with the
    /// optional labels and held-out test set, checked for consistent counts and sizes.
    func loadImages(path: String, normalization: Normalization) throws -> PreparedData {
        let dc = context.config.data
        var folderClasses: (train: [UInt8]?, test: [UInt8]?, names: [String]?)
        func images(_ p: String, test: Bool = false) throws -> (shape: [Int], bytes: [UInt8]) {
            var read: (shape: [Int], bytes: [UInt8])
            if dc.source == .pngFolder {
                // One subfolder per class: labelled images (issue 22); else the folder's own PNGs.
                let folder: PNGFolder
                if let classes = try PNGFolder.readClasses(p) {
                    folder = classes.folder
                    if test { folderClasses.test = classes.labels } else { folderClasses.train = classes.labels }
                    if let names = folderClasses.names, names != classes.classNames {
                        throw PipelineError.io(p, "data.test_path: class subfolders \(classes.classNames) differ from data.path's \(names)")
                    }
                    folderClasses.names = classes.classNames
                } else {
                    folder = try PNGFolder.read(p)
                }
                read = ([folder.count, folder.channels, folder.height, folder.width], folder.bytes)
            } else {
                let a = try IDXArray.read(p)
                switch a.shape.count {
                case 3: read = ([a.shape[0], 1, a.shape[1], a.shape[2]], a.bytes)
                case 4: read = (a.shape, a.bytes)
                default: throw PipelineError.io(p, "expected IDX images [count, height, width] or [count, channels, height, width], found shape \(a.shape)")
                }
            }
            if let side = dc.resize {   // data.resize: every image to side x side
                let s = read.shape
                read = ([s[0], s[1], side, side], ImageResize.bilinear(read.bytes, count: s[0], channels: s[1], height: s[2], width: s[3], to: side))
            }
            return read
        }
        func labels(_ p: String?, count: Int, key: String) throws -> [UInt8]? {
            guard let p else { return nil }
            let a = try IDXArray.read(p)
            guard a.shape == [count] else { throw PipelineError.io(p, "data.\(key): expected \(count) labels (one per image), found shape \(a.shape)") }
            return a.bytes
        }
        do {
            let train = try images(path)
            let sampleShape = Array(train.shape.dropFirst())
            guard train.shape[0] > dc.floorSize else {
                throw PipelineError.io(path, "data.floor_size (\(dc.floorSize)) must be smaller than the number of training images (\(train.shape[0]))")
            }
            var test: (shape: [Int], bytes: [UInt8]) = ([0] + sampleShape, [])
            if let t = dc.testPath {
                test = try images(t, test: true)
                guard Array(test.shape.dropFirst()) == sampleShape else {
                    throw PipelineError.io(t, "data.test_path: images are \(test.shape.dropFirst().map(String.init).joined(separator: "x")) but the training images are \(sampleShape.map(String.init).joined(separator: "x"))")
                }
            }
            if dc.source == .pngFolder, context.config.conditioning != nil, folderClasses.train == nil {
                throw PipelineError.io(path, "conditioning needs class labels: put the images in one subfolder per class (data.path)")
            }
            var d = PreparedData(images: train.bytes, sampleShape: sampleShape,
                                 labels: try labels(dc.labels, count: train.shape[0], key: "labels") ?? folderClasses.train,
                                 testImages: test.bytes,
                                 testLabels: try labels(dc.testLabels, count: test.shape[0], key: "test_labels") ?? folderClasses.test,
                                 normalization: normalization, source: "\(dc.source.rawValue) \(path)")
            d.classNames = folderClasses.names
            return d
        } catch let e as DataError {
            throw PipelineError.io(e.file, e.message)
        }
    }
}
