import Foundation
import GANCheckpoint
import GANHDF5
import GANTensor
import GANTestSupport
import Testing

/// The tensor reads and writes the checkpoint schema adds to the HDF5 wrapper (`HDF5Group+Tensor`).
@Suite("HDF5 tensor datasets")
struct HDF5TensorTests {
    @Test func tensorOverloadsAndShapeMismatch() throws {
        let dir = try TempDir()
        let path = dir.path("tensor.h5")
        let f = try HDF5File.create(path)
        let w = randomTensor([2, 3], seed: 7)
        try f.root.writeFloats("w", w)
        let raw: [Float] = [1, 2, 3, 4]
        try raw.withUnsafeBufferPointer { try f.root.writeFloats("raw", shape: [2, 2], values: $0.baseAddress!) }
        #expect(try f.root.readTensor("w").bitwiseEqual(w))
        #expect(try f.root.readFloats("raw").values == raw)

        let target = Tensor(shape: [2, 3])
        try f.root.read("w", into: target)
        #expect(target.bitwiseEqual(w))
        let other = Tensor(shape: [1])
        try f.root.read("w", into: other, expectedShape: [2, 3])   // resized to the expected shape
        #expect(other.bitwiseEqual(w))

        let untouched = Tensor(shape: [3, 2], values: [9, 9, 9, 9, 9, 9])
        let e = #expect(throws: HDF5Error.self) { try f.root.read("w", into: untouched, expectedShape: [3, 2]) }
        #expect(e?.kind == .shapeMismatch)
        #expect(e?.description == "\(path): /w: expected shape [3, 2], found [2, 3]")
        #expect(untouched.array == [9, 9, 9, 9, 9, 9])

        // Wrong element count for the shape is refused before anything is written.
        let e2 = #expect(throws: HDF5Error.self) { try f.root.writeFloats("bad", shape: [3, 3], values: raw) }
        #expect(e2?.kind == .invalidArgument)
        #expect(!f.root.contains("bad"))
        let e3 = #expect(throws: HDF5Error.self) { try f.root.write("neg", shape: [-1, 2], values: [Float]()) }
        #expect(e3?.kind == .invalidArgument)
        let e4 = #expect(throws: HDF5Error.self) { try f.root.write("gz", shape: [4], values: raw, gzipLevel: 10) }
        #expect(e4?.kind == .invalidArgument)
        try f.close()
    }

    @Test func zeroSizeTensorIsResizedToTheStoredShape() throws {
        let dir = try TempDir()
        let path = dir.path("empty.h5")
        let f = try HDF5File.create(path)
        try f.root.writeFloats("t0", Tensor(shape: [0, 4]))
        let t = Tensor(shape: [5])
        try f.root.read("t0", into: t, expectedShape: [0, 4])
        #expect(t.shape == [0, 4] && t.count == 0)
        try f.close()
    }
}
