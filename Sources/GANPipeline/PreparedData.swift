import Foundation
import GANData
import GANNN
import GANStore

/// How prep maps data units to model units (`model = scale · data + offset`, one scale for all
/// features, so a served model needs two numbers to de-normalise).
public enum Normalization: String, Sendable, Codable {
    case none, standardize, minmax
}

/// The `prep` stage's output, `RUN/data.h5`: the data set in data units plus its normalisation.
///
/// Layout: dataset `samples` float32 `[count, dimension]` (data units); root attributes
/// `format` = "swiftgan-data", `source` (description), `sample_shape`, `scale`, `offset`,
/// `normalization`.
public struct PreparedData {
    public var samples: [Float]
    public var count: Int
    public var dimension: Int
    public var scale: Float
    public var offset: Float
    public var normalization: Normalization
    public var source: String

    public static let format = "swiftgan-data"

    /// Draws `count` samples of a toy distribution with the "data" stream of `seed`.
    public static func toy(_ d: ToyDistribution, count: Int, seed: UInt64, normalization: Normalization, source: String) -> PreparedData {
        var rng = RNG(seed: seed, purpose: "prep")
        let t = d.sample(count: count, rng: &rng)
        return PreparedData(table: t.array, dimension: d.dimension, normalization: normalization, source: source)
    }

    /// Wraps a table (row-major `[count, dimension]`, data units) and computes its normalisation.
    public init(table: [Float], dimension: Int, normalization: Normalization, source: String) {
        precondition(dimension > 0 && table.count % dimension == 0, "PreparedData: \(table.count) values for dimension \(dimension)")
        samples = table
        self.dimension = dimension
        count = table.count / dimension
        self.normalization = normalization
        self.source = source
        (scale, offset) = Self.normalisation(table, normalization)
    }

    static func normalisation(_ x: [Float], _ n: Normalization) -> (Float, Float) {
        switch n {
        case .none:
            return (1, 0)
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

    /// The samples in model units.
    public func modelUnits() -> [Float] {
        if scale == 1 && offset == 0 { return samples }
        return samples.map { scale * $0 + offset }
    }

    /// Writes `data.h5` atomically (tmp + rename).
    public func write(to url: URL) throws {
        let tmp = url.deletingLastPathComponent().appendingPathComponent("." + url.lastPathComponent + ".tmp")
        try? FileManager.default.removeItem(at: tmp)
        let f = try HDF5File.create(tmp.path)
        do {
            try f.root.setAttribute("format", Self.format)
            try f.root.setAttribute("source", source)
            try f.root.setAttribute("sample_shape", [dimension])
            try f.root.setAttribute("scale", Double(scale))
            try f.root.setAttribute("offset", Double(offset))
            try f.root.setAttribute("normalization", normalization.rawValue)
            try f.root.write("samples", shape: [count, dimension], values: samples)
            try f.close()
        } catch {
            try? f.close()
            try? FileManager.default.removeItem(at: tmp)
            throw error
        }
        guard rename(tmp.path, url.path) == 0 else { throw PipelineError.io(url.path, "rename failed: \(String(cString: strerror(errno)))") }
    }

    public static func read(from url: URL) throws -> PreparedData {
        let f = try HDF5File.open(url.path)
        defer { try? f.close() }
        let format = try? f.root.stringAttribute("format")
        guard format == Self.format else { throw PipelineError.io(url.path, "not a prepared data file (format \(format ?? "missing"))") }
        let (shape, values) = try f.root.read("samples", as: Float.self)
        guard shape.count == 2 else { throw PipelineError.io(url.path, "/samples: expected [count, dimension], found \(shape)") }
        let norm = Normalization(rawValue: try f.root.stringAttribute("normalization")) ?? .none
        var d = PreparedData(table: values, dimension: shape[1], normalization: .none, source: try f.root.stringAttribute("source"))
        d.normalization = norm
        d.scale = Float(try f.root.doubleAttribute("scale"))
        d.offset = Float(try f.root.doubleAttribute("offset"))
        return d
    }
}
