import Foundation
import GANData
import GANTestSupport
import Testing

/// The committed seeds of the fuzz targets (Fuzz/Corpus, scripts/fuzz.sh) are inputs the readers
/// accept, so every fuzz run starts from the valid side of each format rather than from noise.
@Suite("Fuzz seed corpus")
struct FuzzSeedTests {
    static func corpus(_ target: String) throws -> [String] {
        let dir = packageRoot().appendingPathComponent("Fuzz/Corpus/\(target)").path
        return try FileManager.default.contentsOfDirectory(atPath: dir).sorted().map { "\(dir)/\($0)" }
    }

    @Test func everyReaderSeedIsAValidInput() throws {
        let idx = try Self.corpus("idx"), csv = try Self.corpus("csv"), npy = try Self.corpus("npy"), png = try Self.corpus("png")
        #expect(idx.count >= 4 && csv.count >= 3 && npy.count >= 5 && png.count >= 5)
        for path in idx {
            let a = try IDXArray.read(path)
            #expect(a.bytes.count == a.shape.reduce(1, *) && a.bytes.count > 0, "\(path)")
            #expect(try IDXFile(path).shape == a.shape, "\(path)")
        }
        for path in csv { #expect(try CSVTable.read(path).rows >= 2, "\(path)") }
        for path in npy { #expect(try NPYArray.read(path).values.count >= 2, "\(path)") }
        for path in png {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(try PNGImage.decode(bytes, name: path).bytes.count >= 2, "\(path)")
        }
    }
}
