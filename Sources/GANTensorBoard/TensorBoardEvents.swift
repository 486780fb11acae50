import Foundation
import SwiftProtobuf

/// The events of one event file, in the order TensorBoard reads them: first
/// `file_version: "brain.Event:2"`, then scalars (classic `Summary.Value.simple_value`), PNG
/// images (`Summary.Image`, shown by the images dashboard) and text (a string tensor with the
/// text plugin's metadata) at their steps. `bytes` is the whole file in TensorFlow's record format.
public struct TensorBoardEvents {
    public private(set) var bytes: [UInt8] = []
    /// The smallest and largest step of the events after the file version (nil when none).
    public private(set) var steps: ClosedRange<Int>?

    public init(wallTime: Double) {
        var e = Tensorboard_Event()
        e.wallTime = wallTime
        e.fileVersion = "brain.Event:2"
        append(e, step: nil)
    }

    public var isEmpty: Bool { steps == nil }

    /// Scalars of one step, one `Summary` holding a value per tag.
    public mutating func addScalars(step: Int, wallTime: Double, _ values: [(tag: String, value: Float)]) {
        guard !values.isEmpty else { return }
        var summary = Tensorboard_Summary()
        summary.value = values.map { tag, value in
            var v = Tensorboard_Summary.Value()
            v.tag = tag
            v.simpleValue = value
            return v
        }
        append(event(step: step, wallTime: wallTime, summary), step: step)
    }

    /// A PNG image (`channels` 1 grey, 3 RGB) under `tag`.
    public mutating func addImage(tag: String, step: Int, wallTime: Double, png: [UInt8], width: Int, height: Int, channels: Int) {
        var image = Tensorboard_Summary.Image()
        image.width = Int32(width)
        image.height = Int32(height)
        image.colorspace = Int32(channels)
        image.encodedImageString = Data(png)
        var v = Tensorboard_Summary.Value()
        v.tag = tag
        v.image = image
        var summary = Tensorboard_Summary()
        summary.value = [v]
        append(event(step: step, wallTime: wallTime, summary), step: step)
    }

    /// Text (markdown; a YAML file shows well inside a code block) under `tag`: a scalar string
    /// tensor with the text plugin's metadata, as `tf.summary.text` writes it.
    public mutating func addText(tag: String, step: Int, wallTime: Double, _ text: String) {
        var tensor = Tensorboard_TensorProto()
        tensor.dtype = .dtString
        tensor.tensorShape = Tensorboard_TensorShapeProto()
        tensor.stringVal = [Data(text.utf8)]
        var metadata = Tensorboard_SummaryMetadata()
        metadata.pluginData.pluginName = "text"
        metadata.dataClass = .tensor
        var v = Tensorboard_Summary.Value()
        v.tag = tag
        v.metadata = metadata
        v.tensor = tensor
        var summary = Tensorboard_Summary()
        summary.value = [v]
        append(event(step: step, wallTime: wallTime, summary), step: step)
    }

    /// `SessionLog.START` at `step`: a process (re)started the stage there. TensorBoard drops any
    /// event it has read at this step or later (orphans of an earlier, abandoned process), so the
    /// curve continues cleanly; the report reads it as the start of a timeline segment.
    public mutating func addSessionStart(step: Int, wallTime: Double) {
        var log = Tensorboard_SessionLog()
        log.status = .start
        var e = Tensorboard_Event()
        e.wallTime = wallTime
        e.step = Int64(step)
        e.sessionLog = log
        append(e, step: step)
    }

    private func event(step: Int, wallTime: Double, _ summary: Tensorboard_Summary) -> Tensorboard_Event {
        var e = Tensorboard_Event()
        e.wallTime = wallTime
        e.step = Int64(step)
        e.summary = summary
        return e
    }

    private mutating func append(_ e: Tensorboard_Event, step: Int?) {
        // Serialising these messages cannot fail (no required fields, no Any).
        let payload: [UInt8] = try! e.serializedBytes()
        bytes += EventRecords.frame(payload)
        if let step { steps = steps.map { min($0.lowerBound, step)...max($0.upperBound, step) } ?? step...step }
    }

    /// Keeps the records of `bytes` (a file written by this type) whose step is at most `last`,
    /// plus the file version, with what they hold. Returns nil when nothing after the file version
    /// remains.
    static func truncated(_ bytes: [UInt8], atMost last: Int, name: String) throws -> (bytes: [UInt8], kept: KeptEvents)? {
        var out: [UInt8] = []
        var kept = KeptEvents(), count = 0
        for payload in try EventRecords.payloads(bytes, name: name) {
            let e: Tensorboard_Event
            do { e = try Tensorboard_Event(serializedBytes: payload) } catch {
                throw TensorBoardError(name, "a record is not an Event message (\(error))")
            }
            if case .fileVersion? = e.what {
                out += EventRecords.frame(payload)
            } else if e.step <= Int64(last) {
                out += EventRecords.frame(payload)
                count += 1
                kept.add(e)
            }
        }
        return count > 0 ? (out, kept) : nil
    }
}

/// What the events a resumed stage keeps hold: the last step with scalars, the last step with an
/// image, the tags of the text and the latest wall time (nil or empty when none).
public struct KeptEvents {
    public private(set) var lastScalarStep: Int?
    public private(set) var lastImageStep: Int?
    public private(set) var textTags: Set<String> = []
    public private(set) var lastWallTime: Double?

    public init() {}

    mutating func add(_ e: Tensorboard_Event) {
        lastWallTime = max(lastWallTime ?? e.wallTime, e.wallTime)
        guard case .summary(let s)? = e.what else { return }
        let step = Int(e.step)
        if s.value.contains(where: { if case .simpleValue? = $0.value { true } else { false } }) {
            lastScalarStep = max(lastScalarStep ?? step, step)
        }
        if s.value.contains(where: { if case .image? = $0.value { true } else { false } }) {
            lastImageStep = max(lastImageStep ?? step, step)
        }
        for v in s.value { if case .tensor? = v.value { textTags.insert(v.tag) } }
    }

    /// The union of `self` and `other` (events of two files).
    func merged(_ other: KeptEvents) -> KeptEvents {
        var m = self
        m.lastScalarStep = [lastScalarStep, other.lastScalarStep].compactMap { $0 }.max()
        m.lastImageStep = [lastImageStep, other.lastImageStep].compactMap { $0 }.max()
        m.textTags.formUnion(other.textTags)
        m.lastWallTime = [lastWallTime, other.lastWallTime].compactMap { $0 }.max()
        return m
    }
}
