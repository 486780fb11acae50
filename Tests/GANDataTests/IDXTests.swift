import Foundation
import GANData
@_spi(Testing) import GANTensor
import GANTestSupport
import Testing

@Suite struct IDXTests {
    /// IDX bytes: magic 00 00 08 NDIM, big-endian dims, data.
    static func idxBytes(shape: [Int], data: [UInt8], type: UInt8 = 0x08) -> [UInt8] {
        var b: [UInt8] = [0, 0, type, UInt8(shape.count)]
        for d in shape { b += [UInt8(d >> 24 & 255), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)] }
        return b + data
    }

    static func write(_ bytes: [UInt8], _ name: String, gzip: Bool = false) throws -> String {
        let dir = try makeTemporaryDirectory("idx")
        let path = dir.appendingPathComponent(name).path
        if gzip {
            let raw = path + ".raw"
            try Data(bytes).write(to: URL(fileURLWithPath: raw))
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "gzip -c '\(raw)' > '\(path)'"]
            try p.run()
            p.waitUntilExit()
        } else {
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
        return path
    }

    @Test(arguments: [false, true])
    func readsPlainAndGzip(gzip: Bool) throws {
        let data = (0..<(3 * 4 * 5)).map { UInt8($0) }
        let path = try Self.write(Self.idxBytes(shape: [3, 4, 5], data: data), "x.idx", gzip: gzip)
        let a = try IDXArray.read(path)
        #expect(a.shape == [3, 4, 5])
        #expect(a.bytes == data)
    }

    @Test func rejectsWrongMagic() throws {
        var b = Self.idxBytes(shape: [2], data: [1, 2])
        b[0] = 0x1f
        let path = try Self.write(b, "bad.idx")
        #expect { try IDXArray.read(path) } throws: { e in
            "\(e)" == "\(path): not an IDX file: magic starts with 0x1f00, expected 0x0000"
        }
    }

    @Test func rejectsTruncatedAndOverlongData() throws {
        let short = try Self.write(Self.idxBytes(shape: [2, 3], data: [1, 2, 3, 4]), "short.idx")
        #expect { try IDXArray.read(short) } throws: { e in
            "\(e)" == "\(short): IDX dimensions [2, 3] need 6 data bytes, found 4 (truncated file)"
        }
        let long = try Self.write(Self.idxBytes(shape: [2], data: [1, 2, 3]), "long.idx")
        #expect(throws: DataError.self) { try IDXArray.read(long) }
        let header = try Self.write([0, 0, 8, 3, 0, 0], "header.idx")
        #expect { try IDXArray.read(header) } throws: { e in "\(e)".contains("truncated IDX header") }
    }

    @Test func rejectsUnsupportedTypeEmptyAndMissing() throws {
        let f32 = try Self.write(Self.idxBytes(shape: [1], data: [0, 0, 0, 0], type: 0x0D), "f.idx")
        #expect { try IDXArray.read(f32) } throws: { e in "\(e)".contains("data type 0x0d is not supported") }
        let empty = try Self.write([], "empty.idx")
        #expect { try IDXArray.read(empty) } throws: { e in "\(e)".contains("not an IDX file: 0 bytes") }
        #expect { try IDXArray.read("/nonexistent/x.idx") } throws: { e in "\(e)" == "/nonexistent/x.idx: no such file" }
    }

    @Test func readsFashionMNISTWhenInstalled() throws {
        let path = FashionMNIST.imagesPath(split: "t10k")
        guard FileManager.default.fileExists(atPath: path) else { return }
        let a = try IDXArray.read(path)
        #expect(a.shape == [10000, 28, 28])
        #expect(a.bytes.count == 10000 * 784)
        let labels = try IDXArray.read(FashionMNIST.labelsPath(split: "t10k"))
        #expect(labels.shape == [10000])
        #expect(Set(labels.bytes) == Set(0...9))
    }
}

@Suite struct ByteBatcherTests {
    @Test func epochsCoverEverySampleOnceAndConvert() {
        // 10 samples of 2 bytes; sample i holds bytes (i, 255 - i).
        let samples = (0..<10).flatMap { [UInt8($0), UInt8(255 - $0)] }
        let b = ByteBatcher(samples: samples, sampleSize: 2, batchSize: 3, rng: RNG(seed: 1, stream: .data))
        let batch = Tensor(shape: [0])
        var seen: [Int] = []
        for _ in 0..<3 {
            b.next(into: batch, sampleShape: [2], scale: 1 / 255, offset: 0)
            #expect(batch.shape == [3, 2])
            for r in 0..<3 {
                let i = Int((batch[2 * r] * 255).rounded())
                #expect(abs(batch[2 * r + 1] - Float(255 - i) / 255) < 1e-6)
                seen.append(i)
            }
        }
        #expect(Set(seen).count == 9, "one epoch draws without replacement")
        #expect(b.epoch == 0)
        b.next(into: batch, sampleShape: [2], scale: 1 / 255, offset: 0)  // 9 + 3 > 10: new epoch
        #expect(b.epoch == 1 && b.position == 3)
    }

    @Test func sameSeedSameOrderDifferentSeedDifferentOrder() {
        let samples = (0..<1000).map { UInt8($0 % 251) }
        func firstBatch(_ seed: UInt64) -> [Float] {
            let b = ByteBatcher(samples: samples, sampleSize: 1, batchSize: 50, rng: RNG(seed: seed, stream: .data))
            let t = Tensor(shape: [0])
            b.next(into: t, sampleShape: [1], scale: 2 / 255, offset: -1)
            return t.array
        }
        #expect(firstBatch(7) == firstBatch(7))
        #expect(firstBatch(7) != firstBatch(8))
        #expect(firstBatch(7).allSatisfy { $0 >= -1 && $0 <= 1 })
    }
}

@Suite struct ByteBatcherCursorTests {
    @Test func restoredCursorContinuesTheSameBatches() {
        let samples = (0..<700).map { UInt8($0 % 256) }
        let straight = ByteBatcher(samples: samples, sampleSize: 7, batchSize: 30, rng: RNG(seed: 3, stream: .data))
        let t = Tensor(shape: [0])
        var saved: ByteBatcher.Cursor?
        var expected: [[Float]] = []
        for i in 0..<12 {  // 100 samples, 3 batches per epoch: crosses several epochs
            if i == 5 { saved = straight.cursor }
            straight.next(into: t, sampleShape: [7], scale: 1, offset: 0)
            if i >= 5 { expected.append(t.array) }
        }
        let resumed = ByteBatcher(samples: samples, sampleSize: 7, batchSize: 30, rng: RNG(seed: 99))
        resumed.restore(saved!)
        for e in expected {
            resumed.next(into: t, sampleShape: [7], scale: 1, offset: 0)
            #expect(t.array == e)
        }
        #expect(resumed.cursor == straight.cursor)
    }
}
