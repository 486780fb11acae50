import Foundation
import GANData
import GANFiles
import GANHDF5
import GANNN

/// How prep maps data units to model units (`model = scale · data + offset`, one scale for all
/// features, so a served model needs two numbers to de-normalise).
public enum Normalization: String, Sendable, Codable {
    case none, standardize, minmax, symmetric
}

/// The `prep` stage's output, `RUN/data.h5`: the data set in data units plus its normalisation.
///
/// Vector data: dataset `samples` float32 `[count, dimension]` (data units). Image data: `images`
/// uint8 `[count, C, H, W]` (data units = byte / 255, i.e. [0, 1]), optional `labels` uint8
/// `[count]`, and the held-out set `test_images` / `test_labels` when configured. Root attributes:
/// `format` = "swiftgan-data", `source` (description), `sample_shape`, `scale`, `offset`,
/// `normalization`. Labelled data (issue 22: images with labels, tables with `data.label_column`)
/// also have `labels` uint8 `[count]` for vector data, and a `class_names` attribute (the names
/// joined by newlines) when the classes are named.
public struct PreparedData {
    /// Vector data in data units, row-major `[count, dimension]` (empty for images).
    public var samples: [Float]
    /// Image data, `[count, C, H, W]` bytes (empty for vectors).
    public var images: [UInt8] = []
    public var labels: [UInt8]?
    /// The class names, label 0 first (nil: unnamed).
    public var classNames: [String]?
    public var testImages: [UInt8] = []
    public var testLabels: [UInt8]?
    public var count: Int
    /// `[dimension]` for vectors, `[C, H, W]` for images.
    public var sampleShape: [Int]
    public var scale: Float
    public var offset: Float
    public var normalization: Normalization
    public var source: String

    public static let format = "swiftgan-data"

    public var dimension: Int { sampleShape.reduce(1, *) }
    public var isImage: Bool { sampleShape.count == 3 }
    public var testCount: Int { isImage ? testImages.count / dimension : 0 }

    /// How many training rows carry each label, `[K]` with K = the number of class names, else
    /// the largest label + 1 (nil without labels).
    public var labelCounts: [Int]? {
        guard let labels else { return nil }
        var counts = [Int](repeating: 0, count: max(classNames?.count ?? 0, Int(labels.max() ?? 0) + 1))
        for y in labels { counts[Int(y)] += 1 }
        return counts
    }

    /// Draws `count` samples of a toy distribution with the "prep" stream of `seed` (`RNGStream.prep`).
    public static func toy(_ d: ToyDistribution, count: Int, seed: UInt64, normalization: Normalization, source: String) -> PreparedData {
        var rng = RNG(seed: seed, stream: .prep)
        let t = d.sample(count: count, rng: &rng)
        return PreparedData(table: t.array, dimension: d.dimension, normalization: normalization, source: source)
    }

    /// Wraps a table (row-major `[count, dimension]`, data units) and computes its normalisation.
    public init(table: [Float], dimension: Int, labels: [UInt8]? = nil, normalization: Normalization, source: String) {
        precondition(dimension > 0 && table.count % dimension == 0, "PreparedData: \(table.count) values for dimension \(dimension)")
        precondition(labels.map { $0.count == table.count / dimension } ?? true, "PreparedData: one label per row")
        samples = table
        self.labels = labels
        sampleShape = [dimension]
        count = table.count / dimension
        self.normalization = normalization
        self.source = source
        (scale, offset) = Self.normalisation(table, normalization)
    }

    /// Wraps images (`[count] + sampleShape` bytes; data units byte / 255). `standardize` and
    /// `minmax` use the byte statistics, `symmetric` maps [0, 1] to [-1, 1].
    public init(images: [UInt8], sampleShape: [Int], labels: [UInt8]?, testImages: [UInt8] = [], testLabels: [UInt8]? = nil,
                normalization: Normalization, source: String) {
        let d = sampleShape.reduce(1, *)
        precondition(sampleShape.count == 3 && d > 0 && images.count % d == 0 && testImages.count % d == 0, "PreparedData: bad image shape")
        samples = []
        self.images = images
        self.labels = labels
        self.testImages = testImages
        self.testLabels = testLabels
        self.sampleShape = sampleShape
        count = images.count / d
        self.normalization = normalization
        self.source = source
        switch normalization {
        case .none: (scale, offset) = (1, 0)
        case .symmetric: (scale, offset) = (2, -1)
        case .standardize, .minmax:
            // Statistics of the bytes via a histogram (exact, no float copy of the data set).
            var hist = [Int](repeating: 0, count: 256)
            for b in images { hist[Int(b)] += 1 }
            var values: [Float] = []
            if normalization == .minmax {
                values = [hist.firstIndex { $0 > 0 }, hist.lastIndex { $0 > 0 }].compactMap { $0.map { Float($0) / 255 } }
                (scale, offset) = Self.normalisation(values, .minmax)
            } else {
                let n = Double(max(images.count, 1))
                let mean = hist.enumerated().reduce(0.0) { $0 + Double($1.offset) / 255 * Double($1.element) } / n
                let variance = hist.enumerated().reduce(0.0) { $0 + pow(Double($1.offset) / 255 - mean, 2) * Double($1.element) } / n
                let std = variance.squareRoot()
                (scale, offset) = std > 0 ? (Float(1 / std), Float(-mean / std)) : (1, Float(-mean))
            }
        }
    }

    static func normalisation(_ x: [Float], _ n: Normalization) -> (Float, Float) {
        switch n {
        case .none:
            return (1, 0)
        case .symmetric:
            return (2, -1)
        case .standardize:
            let mean = SampleMetrics.mean(x), std = SampleMetrics.std(x)
            guard std.isFinite, std > 0 else { return (1, Float(-mean)) }
            return (Float(1 / std), Float(-mean / std))
        case .minmax:  // to [-1, 1]
            guard let lo = x.min(), let hi = x.max(), hi > lo else { return (1, 0) }
            let s = 2 / (Double(hi) - Double(lo))
            return (Float(s), Float(-1 - Double(lo) * s))
        }
    }

    /// The vector samples in model units.
    public func modelUnits() -> [Float] {
        if scale == 1 && offset == 0 { return samples }
        return samples.map { scale * $0 + offset }
    }

    /// Images `[start, start + n)` of `bytes` in data units ([0, 1]).
    public static func unitFloats(_ bytes: [UInt8], dimension: Int, start: Int = 0, count n: Int) -> [Float] {
        bytes[(start * dimension)..<((start + n) * dimension)].map { Float($0) / 255 }
    }

    /// Writes `data.h5` crash-safely (`AtomicFile`).
    public func write(to url: URL) throws {
        try AtomicFile.write(to: url.path) { tmp in
            let f = try HDF5File.create(tmp)
            do {
                try f.root.setAttribute("format", Self.format)
                try f.root.setAttribute("source", source)
                try f.root.setAttribute("sample_shape", sampleShape)
                try f.root.setAttribute("scale", Double(scale))
                try f.root.setAttribute("offset", Double(offset))
                try f.root.setAttribute("normalization", normalization.rawValue)
                if let classNames { try f.root.setAttribute("class_names", classNames.joined(separator: "\n")) }
                if isImage {
                    try f.root.write("images", shape: [count] + sampleShape, values: images, gzipLevel: 1)
                    if let labels { try f.root.write("labels", shape: [labels.count], values: labels) }
                    if !testImages.isEmpty { try f.root.write("test_images", shape: [testCount] + sampleShape, values: testImages, gzipLevel: 1) }
                    if let testLabels { try f.root.write("test_labels", shape: [testLabels.count], values: testLabels) }
                } else {
                    try f.root.write("samples", shape: [count, dimension], values: samples)
                    if let labels { try f.root.write("labels", shape: [labels.count], values: labels) }
                }
                try f.close()
            } catch {
                f.discard()
                throw error
            }
        }
    }

    public static func read(from url: URL) throws -> PreparedData {
        let f = try HDF5File.open(url.path)
        defer { try? f.close() }
        let format = try? f.root.stringAttribute("format")
        guard format == Self.format else { throw PipelineError.io(url.path, "not a prepared data file (format \(format ?? "missing"))") }
        let norm = Normalization(rawValue: try f.root.stringAttribute("normalization")) ?? .none
        let source = try f.root.stringAttribute("source")
        var d: PreparedData
        if f.root.contains("images") {
            let (shape, bytes) = try f.root.read("images", as: UInt8.self)
            guard shape.count == 4 else { throw PipelineError.io(url.path, "/images: expected [count, C, H, W], found \(shape)") }
            let labels = f.root.contains("labels") ? try f.root.read("labels", as: UInt8.self).values : nil
            let test = f.root.contains("test_images") ? try f.root.read("test_images", as: UInt8.self).values : []
            let testLabels = f.root.contains("test_labels") ? try f.root.read("test_labels", as: UInt8.self).values : nil
            d = PreparedData(images: bytes, sampleShape: Array(shape.dropFirst()), labels: labels, testImages: test, testLabels: testLabels,
                             normalization: .none, source: source)
        } else {
            let (shape, values) = try f.root.read("samples", as: Float.self)
            guard shape.count == 2 else { throw PipelineError.io(url.path, "/samples: expected [count, dimension], found \(shape)") }
            let labels = f.root.contains("labels") ? try f.root.read("labels", as: UInt8.self).values : nil
            guard labels.map({ $0.count == shape[0] }) ?? true else {
                throw PipelineError.io(url.path, "/labels: \(labels?.count ?? 0) labels for \(shape[0]) samples")
            }
            d = PreparedData(table: values, dimension: shape[1], labels: labels, normalization: .none, source: source)
        }
        if try f.root.hasAttribute("class_names") {
            d.classNames = try f.root.stringAttribute("class_names").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        }
        d.normalization = norm
        d.scale = Float(try f.root.doubleAttribute("scale"))
        d.offset = Float(try f.root.doubleAttribute("offset"))
        return d
    }
}
