import Foundation
import GANData
import GANTestSupport
import Testing

@Suite struct IDXWriteTests {
    static func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    @Test(arguments: ["x.idx", "x.idx.gz", "train-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz", "Y.IDX.GZ"])
    func roundTrip(_ name: String) throws {
        let dir = try makeTemporaryDirectory("idx-write")
        let path = dir.appendingPathComponent(name).path
        let shape = [5, 28, 28]
        let data = (0..<(5 * 28 * 28)).map { UInt8(truncatingIfNeeded: $0 * 31 + $0 / 7) }
        try IDXArray.write(shape: shape, bytes: data, to: path)
        let back = try IDXArray.read(path)
        #expect(back.shape == shape)
        #expect(back.bytes == data)
        let raw = try Self.bytes(path)
        if name.lowercased().hasSuffix(".gz") {
            #expect(Array(raw[0..<2]) == [0x1f, 0x8b], "gzip magic")
            #expect(raw.count < data.count)
        } else {
            #expect(raw.count == 16 + data.count)
            #expect(Array(raw[0..<16]) == [0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 28, 0, 0, 0, 28])
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == [name], "no temporary file left")
    }

    /// The gzip output is a standard stream: the system's gzip reads it back to the plain file.
    @Test func gzipIsReadableByGzipAndDeterministic() throws {
        let dir = try makeTemporaryDirectory("idx-gzip")
        let gz = dir.appendingPathComponent("a.idx.gz").path, plain = dir.appendingPathComponent("a.idx").path
        let data = (0..<1000).map { UInt8($0 % 251) }
        try IDXArray.write(shape: [10, 10, 10], bytes: data, to: gz)
        try IDXArray.write(shape: [10, 10, 10], bytes: data, to: plain)
        let first = try Self.bytes(gz)
        try IDXArray.write(shape: [10, 10, 10], bytes: data, to: gz)
        #expect(try Self.bytes(gz) == first, "same array, same bytes")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "gzip -dc '\(gz)' | cmp -s - '\(plain)'"]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "gzip -dc gives the plain file")
    }

    @Test func oneAndFourDimensionsAndEmpty() throws {
        let dir = try makeTemporaryDirectory("idx-dims")
        for (shape, name) in [([7], "labels.idx"), ([2, 3, 4, 5], "rgb.idx.gz"), ([0, 28, 28], "empty.idx")] {
            let path = dir.appendingPathComponent(name).path
            let data = (0..<shape.reduce(1, *)).map { UInt8($0 % 256) }
            try IDXArray.write(shape: shape, bytes: data, to: path)
            let back = try IDXArray.read(path)
            #expect(back.shape == shape && back.bytes == data, "\(shape)")
        }
    }

    @Test func badArgumentsAndPathsAreOneLineErrorsAndWriteNothing() throws {
        let dir = try makeTemporaryDirectory("idx-bad")
        let path = dir.appendingPathComponent("x.idx").path
        #expect { try IDXArray.write(shape: [2, 3], bytes: [1, 2, 3], to: path) } throws: {
            "\($0)" == "\(path): cannot write IDX: dimensions [2, 3] need 6 bytes, got 3"
        }
        #expect { try IDXArray.write(shape: [], bytes: [], to: path) } throws: { "\($0)".contains("0 dimensions, expected 1 to 255") }
        #expect { try IDXArray.write(shape: [-1], bytes: [], to: path) } throws: { "\($0)".contains("must each be 0 to") }
        #expect { try IDXArray.write(shape: [1 << 40], bytes: [], to: path) } throws: { "\($0)".contains("must each be 0 to") }
        let missing = dir.appendingPathComponent("no/x.idx.gz").path
        #expect { try IDXArray.write(shape: [1], bytes: [1], to: missing) } throws: { "\($0)".hasPrefix("\(missing): cannot write: directory") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}
