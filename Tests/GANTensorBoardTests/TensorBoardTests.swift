import Foundation
import GANTensorBoard
import GANTestSupport
import Testing

@Suite("TensorBoard event files")
struct TensorBoardTests {
    /// Published CRC-32C check values (RFC 3720 B.4, the CRC catalogue's CRC-32/ISCSI).
    @Test func crc32cMatchesPublishedCheckValues() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum(Array(0..<32)) == 0x46DD_794E)
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    /// TensorFlow's masking (crc32c.h): rotate right 15, add 0xa282ead8 (mod 2^32).
    @Test func maskRotatesAndAddsTheDelta() {
        #expect(CRC32C.masked(0) == 0xA282_EAD8)
        #expect(CRC32C.masked(0x0000_8000) == 0xA282_EAD9)
        #expect(CRC32C.masked(0xFFFF_FFFF) == 0xA282_EAD7)
    }

    @Test func recordsRoundTripAndDamageIsNamed() throws {
        let payloads: [[UInt8]] = [[], [1, 2, 3], Array(repeating: 7, count: 300)]
        let file = payloads.flatMap(EventRecords.frame)
        #expect(file.count == payloads.map { $0.count + 16 }.reduce(0, +))
        #expect(try EventRecords.payloads(file, name: "f") == payloads)
        // The length is little-endian in the first 8 bytes of a record.
        #expect(Array(file[16..<24]) == [3, 0, 0, 0, 0, 0, 0, 0])
        var flipped = file
        flipped[30] ^= 0x40
        #expect(throws: TensorBoardError.self) { try EventRecords.payloads(flipped, name: "f") }
        do {
            _ = try EventRecords.payloads(Array(file.dropLast(2)), name: "/x/events.out.tfevents.1")
            Issue.record("a truncated file must not read")
        } catch let e as TensorBoardError {
            #expect(e.description.hasPrefix("/x/events.out.tfevents.1: truncated"), "\(e)")
        }
    }

    @Test func writtenEventsReadBack() throws {
        let dir = try TempDir()
        let run = TensorBoardRun(dir.url.appendingPathComponent("train"))
        var events = TensorBoardEvents(wallTime: 100)
        #expect(events.isEmpty)
        events.addText(tag: "config", step: 0, wallTime: 100.5, "    name: x")
        events.addImage(tag: "samples", step: 0, wallTime: 101, png: [0x89, 0x50], width: 3, height: 2, channels: 1)
        events.addSessionStart(step: 1, wallTime: 102)
        events.addScalars(step: 1, wallTime: 103, [("loss/d", 1.25), ("loss/g", -0.5)])
        #expect(events.steps == 0...1)
        let url = try #require(try run.write(events, time: Date(timeIntervalSince1970: 1_700_000_000)))
        #expect(url.lastPathComponent.hasPrefix("events.out.tfevents.1700000000."))
        #expect(url.lastPathComponent.hasSuffix(".0000000000"))
        let records = try run.read()
        #expect(records.map(\.content) == [
            .fileVersion("brain.Event:2"), .text(tag: "config", "    name: x"),
            .image(tag: "samples", width: 3, height: 2, png: [0x89, 0x50]), .sessionStart,
            .scalars(["loss/d": 1.25, "loss/g": -0.5]),
        ])
        #expect(records.map(\.step) == [0, 0, 0, 1, 1])
        #expect(records.last?.wallTime == 103)
    }

    /// A resumed stage drops what an abandoned process wrote after its checkpoint: later files go,
    /// a straddling file is cut, earlier files stay byte for byte.
    @Test func discardingAfterAStepCutsAndRemovesFiles() throws {
        let dir = try TempDir()
        let run = TensorBoardRun(dir.url)
        func segment(_ steps: ClosedRange<Int>, at time: Int) throws -> URL {
            var e = TensorBoardEvents(wallTime: Double(time))
            for s in steps { e.addScalars(step: s, wallTime: Double(time), [("loss/d", Float(s))]) }
            // The config at the segment's first step, a checkpoint's image at its last (the bytes
            // are never decoded here).
            e.addText(tag: "config", step: steps.lowerBound, wallTime: Double(time), "name: x")
            e.addImage(tag: "samples", step: steps.upperBound, wallTime: Double(time), png: [1, 2, 3], width: 1, height: 1, channels: 1)
            return try #require(try run.write(e, time: Date(timeIntervalSince1970: Double(time))))
        }
        let first = try segment(1...10, at: 1000), second = try segment(11...20, at: 1001)
        _ = try segment(21...30, at: 1002)
        let before = try Data(contentsOf: first)
        let kept = try run.discardEvents(after: 15)
        // What a resumed stage re-logs from: scalars up to 15 kept, the last image the one at 10.
        #expect(kept.lastScalarStep == 15 && kept.lastImageStep == 10 && kept.lastWallTime == 1001)
        #expect(kept.textTags == ["config"])
        #expect(run.eventFiles().map(\.lastPathComponent) == [first.lastPathComponent, second.lastPathComponent])
        #expect(try Data(contentsOf: first) == before)
        let steps = try run.read().compactMap { r -> Int? in if case .scalars = r.content { r.step } else { nil } }
        #expect(steps == Array(1...15))
        let none = try run.discardEvents(after: 0)
        #expect(run.eventFiles().isEmpty)
        #expect(none.lastScalarStep == nil && none.lastImageStep == nil && none.lastWallTime == nil && none.textTags.isEmpty)
    }
}
