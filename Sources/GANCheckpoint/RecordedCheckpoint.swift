import GANHDF5
import GANTensor

/// A checkpoint's HDF5 tree held in memory (groups, attributes, copies of every dataset), taken by
/// `TrainingCheckpoint.record()`. Recording is quick (the tensors are copied, nothing touches
/// HDF5); writing the file can then happen on another thread while training changes the
/// networks (`BackgroundCheckpointWriter`). Immutable once recorded.
public struct RecordedCheckpoint: @unchecked Sendable {
    public let step: Int
    let root: RecordedGroup

    /// Writes the file at `path` (truncating). Not atomic by itself: `CheckpointDirectory` writes
    /// to a temporary name, syncs and renames. The `complete` attribute is written last. The file
    /// is built in memory and reaches the disk in `close()` (see `HDF5File`), so a full disk is a
    /// `FileWriteError`, never a failure inside HDF5.
    public func write(to path: String) throws {
        let file = try HDF5File.create(path)
        do {
            try root.replay(into: file.root)
            try file.root.setAttribute("complete", 1)
            try file.flush()
            try file.close()
        } catch {
            file.discard()
            throw error
        }
    }
}

/// One recorded group: its attributes, datasets and subgroups in the order they were added.
final class RecordedGroup {
    private enum Step {
        case attribute(String, HDF5Value)
        case group(String, RecordedGroup)
        case dataset((HDF5Group) throws -> Void)
    }
    private var steps: [Step] = []

    func setAttribute(_ name: String, _ value: HDF5Value) { steps.append(.attribute(name, value)) }
    func setAttribute(_ name: String, _ value: String) { setAttribute(name, .string(value)) }
    func setAttribute(_ name: String, _ value: Int) { setAttribute(name, .int(Int64(value))) }
    func setAttribute(_ name: String, _ value: Double) { setAttribute(name, .double(value)) }
    func setAttribute(_ name: String, _ value: [Int]) { setAttribute(name, .ints(value.map { Int64($0) })) }
    func setAttribute(_ name: String, _ value: [Double]) { setAttribute(name, .doubles(value)) }

    func createGroup(_ name: String) -> RecordedGroup {
        let g = RecordedGroup()
        steps.append(.group(name, g))
        return g
    }

    /// A copy of the tensor, written with its shape.
    func writeFloats(_ name: String, _ tensor: Tensor) {
        let shape = tensor.shape, values = tensor.array
        steps.append(.dataset { try $0.writeFloats(name, shape: shape, values: values) })
    }

    /// A 1-D dataset, then its attributes.
    func write<T: HDF5Element>(_ name: String, values: [T], attributes: [(String, HDF5Value)] = []) {
        steps.append(.dataset { g in
            try g.write(name, values: values)
            for (key, value) in attributes { try g.dataset(name).setAttribute(key, value) }
        })
    }

    func replay(into group: HDF5Group) throws {
        for step in steps {
            switch step {
            case .attribute(let name, let value): try group.setAttribute(name, value)
            case .group(let name, let child): try child.replay(into: try group.createGroup(name))
            case .dataset(let write): try write(group)
            }
        }
    }
}
