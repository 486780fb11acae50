import Foundation
import GANFiles
import SwiftProtobuf

/// One TensorBoard run: a directory of event files (`RUN/tensorboard/<stage>/`).
///
/// A stage writes one new file per checkpoint with the events since the previous one, through
/// `AtomicFile` (never a half-written file), named
/// `events.out.tfevents.<unix time>.<host>.<pid>.<first step, 10 digits>` so that names sort in
/// writing order, which is the order TensorBoard reads a run's files in. A resumed stage first
/// drops every event after the checkpoint it resumes from (`discardEvents(after:)`), so a curve
/// continues without duplicates or gaps.
public struct TensorBoardRun {
    public let url: URL

    public init(_ url: URL) { self.url = url }

    /// The event files, in name order (AtomicFile's hidden temporaries excluded).
    public func eventFiles() -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.filter { $0.hasPrefix("events.out.tfevents.") }.sorted().map { url.appendingPathComponent($0) }
    }

    /// Writes `events` as a new file (nothing when it holds no event). Returns its URL.
    @discardableResult
    public func write(_ events: TensorBoardEvents, time: Date = Date()) throws -> URL? {
        guard let steps = events.steps else { return nil }
        try AtomicFile.createDirectory(url.path)
        let name = String(format: "events.out.tfevents.%010d.%@.%d.%010d", Int(time.timeIntervalSince1970), Self.hostName,
                          Int(getpid()), max(0, steps.lowerBound))
        let file = url.appendingPathComponent(name)
        try AtomicFile.write(events.bytes, to: file.path)
        return file
    }

    /// Drops every event with a step after `step` (a stage resuming from its checkpoint at `step`):
    /// files entirely after it are removed, a file that straddles it is rewritten without them.
    /// Returns what the events kept hold (their last scalar and image steps, the latest wall time).
    @discardableResult
    public func discardEvents(after step: Int) throws -> KeptEvents {
        var all = KeptEvents()
        for file in eventFiles() {
            let bytes = try Self.contents(file)
            if let (kept, events) = try TensorBoardEvents.truncated(bytes, atMost: step, name: file.path) {
                if kept.count != bytes.count { try AtomicFile.write(kept, to: file.path) }
                all = all.merged(events)
            } else {
                try Self.remove(file)
            }
        }
        return all
    }

    /// Removes every event file (a stage that rewrites its run, such as `evaluate`), except `keeping`.
    public func removeEventFiles(keeping: URL? = nil) throws {
        for file in eventFiles() where file.lastPathComponent != keeping?.lastPathComponent {
            try Self.remove(file)
        }
    }

    /// Removes an event file; a failure is a `FileWriteError` naming it (exit 74 from the tools).
    static func remove(_ file: URL) throws {
        if unlink(file.path) != 0 && errno != ENOENT { throw FileWriteError(file.path, code: errno) }
    }

    /// Every event of the run, file by file.
    public func read() throws -> [TensorBoardRecord] {
        try eventFiles().flatMap { file in
            try EventRecords.payloads(try Self.contents(file), name: file.path).map { payload in
                do { return TensorBoardRecord(try Tensorboard_Event(serializedBytes: payload)) } catch {
                    throw TensorBoardError(file.path, "a record is not an Event message (\(error))")
                }
            }
        }
    }

    static func contents(_ file: URL) throws -> [UInt8] {
        do { return [UInt8](try Data(contentsOf: file)) } catch {
            throw TensorBoardError(file.path, "cannot read: \(error.localizedDescription)")
        }
    }

    static let hostName: String = {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }()
}

/// One event as read back: what the report and the tests need.
public struct TensorBoardRecord {
    public enum Content: Equatable {
        case fileVersion(String)
        case scalars([String: Float])
        case image(tag: String, width: Int, height: Int, png: [UInt8])
        case text(tag: String, String)
        case sessionStart
        case other
    }
    public let wallTime: Double
    public let step: Int
    public let content: Content

    init(_ e: Tensorboard_Event) {
        wallTime = e.wallTime
        step = Int(e.step)
        switch e.what {
        case .fileVersion(let v)?: content = .fileVersion(v)
        case .sessionLog(let log)? where log.status == .start: content = .sessionStart
        case .summary(let s)?:
            if let v = s.value.first, case .image(let i)? = v.value {
                content = .image(tag: v.tag, width: Int(i.width), height: Int(i.height), png: [UInt8](i.encodedImageString))
            } else if let v = s.value.first, case .tensor(let t)? = v.value, let text = t.stringVal.first {
                content = .text(tag: v.tag, String(decoding: text, as: UTF8.self))
            } else {
                var scalars: [String: Float] = [:]
                for v in s.value { if case .simpleValue(let x)? = v.value { scalars[v.tag] = x } }
                content = .scalars(scalars)
            }
        default: content = .other
        }
    }
}
