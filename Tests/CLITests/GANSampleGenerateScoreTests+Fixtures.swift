import Foundation
import GANCheckpoint
import GANHDF5
import GANNN
import Testing
@_spi(Testing) import GANTensor

/// The checkpoints, expected values and output readers the generate/score tests share.
extension GANSampleGenerateScoreTests {
    // MARK: - Fixtures

    /// Data normalisation of the fixtures: model units = 0.5 · data - 1, so data = 2 · (y + 1).
    static let scale: Float = 0.5, offset: Float = -1

    /// One checkpoint file: G 3 -> 16 -> features, D features -> 8 -> 1, normal noise prior.
    @discardableResult
    static func makeCheckpoint(_ dir: URL, name: String = "ck.h5", stage: Stage = .train, config: String = "",
                               sampleShape: [Int] = [2], prior: NoisePrior = .normal(mean: 0, std: 1),
                               step: Int = 42, initSeed: UInt64 = 11) throws -> URL {
        var rng = RNG(seed: initSeed, stream: .initialization)
        let f = sampleShape.reduce(1, *)
        let g = Sequential(Linear(3, 16, rng: &rng), LeakyReLU(alpha: 0.2), Linear(16, f, rng: &rng))
        let d = Sequential(Linear(f, 8, rng: &rng), ReLU(), Linear(8, 1, rng: &rng))
        var c = TrainingCheckpoint(stage: stage, step: step,
                                   data: DataDescription(sampleShape: sampleShape, scale: scale, offset: offset,
                                                         noiseDimension: 3, noisePrior: prior),
                                   networks: [NetworkEntry("generator", g), NetworkEntry("discriminator", d)])
        c.config = config
        c.rngs = [("noise", RNG(seed: 1))]
        let url = dir.appendingPathComponent(name)
        try c.write(to: url.path)
        return url
    }

    /// What `generate --seed seed -n n` must produce, computed in-process from the file.
    static func expectedSamples(_ ck: URL, n: Int, seed: UInt64) throws -> [Float] {
        let g = try CheckpointReader(path: ck.path).buildNetwork("generator")
        var rng = RNG(seed: seed, stream: .sample)
        let z = Tensor(shape: [n, 3])
        rng.fillNormal(z)
        return g.forward(z, training: false).array.map { ($0 - offset) / scale }
    }

    /// G's samples (data units) of the given z rows, computed in-process.
    static func expectedGenerator(_ ck: URL, z: [Float]) throws -> [Float] {
        let g = try CheckpointReader(path: ck.path).buildNetwork("generator")
        return g.forward(Tensor(shape: [z.count / 3, 3], values: z), training: false).array.map { ($0 - offset) / scale }
    }

    /// D's raw outputs on rows in data units, computed in-process.
    static func expectedLogits(_ ck: URL, rows: [Float], features: Int) throws -> [Float] {
        let d = try CheckpointReader(path: ck.path).buildNetwork("discriminator")
        let x = Tensor(shape: [rows.count / features, features], values: rows.map { scale * $0 + offset })
        return d.forward(x, training: false).array
    }

    static func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }

    static func close(_ a: [Float], _ b: [Float], tolerance: Float = 1e-5) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * (1 + abs($1)) }
    }

    // MARK: - Readers for the outputs (the test target has no GANData)

    /// Numbers of a CSV text: (header, rows of cells).
    static func parseCSV(_ text: String) -> (header: [String]?, rows: [[Float]]) {
        var lines = text.split(whereSeparator: \.isNewline).map(String.init)
        var header: [String]?
        if let first = lines.first, Float(first.split(separator: ",")[0]) == nil {
            header = first.split(separator: ",").map(String.init)
            lines.removeFirst()
        }
        return (header, lines.map { $0.split(separator: ",").map { Float($0)! } })
    }

    static func readCSV(_ url: URL) throws -> (header: [String]?, rows: [[Float]]) {
        parseCSV(try String(contentsOf: url, encoding: .utf8))
    }

    /// A version-1 float32 .npy file.
    static func readNPY(_ url: URL) throws -> (shape: [Int], values: [Float]) {
        let d = [UInt8](try Data(contentsOf: url))
        #expect(d.count >= 10 && d[0] == 0x93 && Array(d[1..<6]) == Array("NUMPY".utf8) && d[6] == 1)
        let hlen = Int(d[8]) | Int(d[9]) << 8
        let header = String(decoding: d[10..<(10 + hlen)], as: UTF8.self)
        #expect(header.contains("'descr': '<f4'") && header.contains("'fortran_order': False"))
        let shapeText = header.components(separatedBy: "'shape': (")[1].components(separatedBy: ")")[0]
        let shape = shapeText.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let body = Array(d[(10 + hlen)...])
        let values = stride(from: 0, to: body.count, by: 4).map { i in
            Float(bitPattern: UInt32(body[i]) | UInt32(body[i + 1]) << 8 | UInt32(body[i + 2]) << 16 | UInt32(body[i + 3]) << 24)
        }
        return (shape, values)
    }

    /// Writes a float32 [rows, columns] .npy file (what numpy.save writes).
    static func writeNPY(_ url: URL, shape: [Int], values: [Float]) throws {
        let tuple = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = "{'descr': '<f4', 'fortran_order': False, 'shape': \(tuple), }"
        while (10 + dict.utf8.count + 1) % 64 != 0 { dict += " " }
        dict += "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(dict.utf8.count & 255), UInt8(dict.utf8.count >> 8)]
        bytes += Array(dict.utf8)
        for v in values { let b = v.bitPattern; bytes += [UInt8(b & 255), UInt8(b >> 8 & 255), UInt8(b >> 16 & 255), UInt8(b >> 24)] }
        try Data(bytes).write(to: url)
    }

    static func readH5(_ url: URL, dataset: String) throws -> (shape: [Int], values: [Float], file: HDF5File) {
        let f = try HDF5File.open(url.path)
        let (shape, values) = try f.root.readFloats(dataset)
        return (shape, values, f)
    }

    /// The values of a generated file in any format, row-major.
    static func values(of url: URL) throws -> [Float] {
        switch url.pathExtension {
        case "csv": return try readCSV(url).rows.flatMap { $0 }
        case "npy": return try readNPY(url).values
        default:
            let r = try readH5(url, dataset: "samples")
            try r.file.close()
            return r.values
        }
    }

    static func listing(_ dir: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
    }

    /// Scores as written on standard output (header + values).
    static func scores(_ r: CommandResult) -> (header: String?, values: [Float]) {
        let t = parseCSV(r.stdout)
        return (t.header?.first, t.rows.map { $0[0] })
    }
}
