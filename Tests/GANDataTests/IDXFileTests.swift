import Foundation
import GANData
import GANTensor
import GANTestSupport
import Testing

@Suite struct IDXFileTests {
    @Test(arguments: [false, true])
    func readsSamplesOfPlainAndGzipFiles(gzip: Bool) throws {
        let data: [UInt8] = (0..<36).map { (i: Int) -> UInt8 in UInt8(truncatingIfNeeded: i * 7) }
        let path = try IDXTests.write(IDXTests.idxBytes(shape: [6, 2, 3], data: data), "x.idx", gzip: gzip)
        let f = try IDXFile(path)
        #expect(f.shape == [6, 2, 3] && f.count == 6 && f.sampleSize == 6)
        var sample = [UInt8](repeating: 0, count: 6)
        for i in [5, 0, 3] {
            sample.withUnsafeMutableBufferPointer { f.read(sample: i, into: $0.baseAddress!) }
            #expect(sample == Array(data[(i * 6)..<(i * 6 + 6)]))
        }
    }

    @Test func rejectsBadFilesWithTheirPath() throws {
        let truncated = try IDXTests.write(IDXTests.idxBytes(shape: [4, 3], data: [1, 2, 3]), "t.idx", gzip: true)
        #expect { try IDXFile(truncated) } throws: { e in "\(e)".hasPrefix(truncated) && "\(e)".contains("truncated file") }
        let floats = try IDXTests.write(IDXTests.idxBytes(shape: [1], data: [0, 0, 0, 0], type: 0x0d), "f.idx")
        #expect { try IDXFile(floats) } throws: { e in "\(e)".contains("data type 0x0d is not supported") }
        #expect { try IDXFile("/nonexistent/x.idx") } throws: { e in "\(e)" == "/nonexistent/x.idx: no such file" }
    }

    /// Batches read from the file are the batches of the same bytes in memory, across epochs.
    @Test func fileBatchesEqualMemoryBatches() throws {
        let data: [UInt8] = (0..<200).map { (i: Int) -> UInt8 in UInt8(truncatingIfNeeded: i * 13 + 5) }
        let path = try IDXTests.write(IDXTests.idxBytes(shape: [50, 4], data: data), "b.idx.gz", gzip: true)
        let fromFile = ByteBatcher(file: try IDXFile(path), batchSize: 16, rng: RNG(seed: 4, stream: .data))
        let inMemory = ByteBatcher(samples: data, sampleSize: 4, batchSize: 16, rng: RNG(seed: 4, stream: .data))
        let a = Tensor(shape: [0]), b = Tensor(shape: [0])
        for _ in 0..<10 {   // 3 batches per epoch: crosses three epoch boundaries
            fromFile.next(into: a, sampleShape: [4], scale: 2 / 255, offset: -1)
            inMemory.next(into: b, sampleShape: [4], scale: 2 / 255, offset: -1)
            #expect(a.shape == [16, 4] && a.array == b.array)
        }
        #expect(fromFile.cursor == inMemory.cursor)
    }
}
