/// A Float32 tensor: a shape and a 64-byte aligned, row-major (C order) buffer.
///
/// `Tensor` is a reference type on purpose: layers own their output and gradient tensors and
/// reuse them step after step, so a training step allocates nothing once buffers exist.
/// `resize(_:)` changes the shape and reallocates only when the new element count exceeds the
/// capacity; after a resize the contents are unspecified unless the shape is unchanged.
///
/// Layouts used across the project: weights `[out, in]` (as PyTorch), batches of vectors
/// `[N, D]`, images `[N, C, H, W]`.
public final class Tensor {
    public private(set) var shape: [Int]
    public private(set) var count: Int
    public private(set) var capacity: Int
    /// Start of the storage; valid for `count` elements (and up to `capacity`).
    public private(set) var data: UnsafeMutablePointer<Float>
    /// How an image batch `[N, C, H, W]` lies in memory: 0, row-major NCHW (every tensor outside
    /// a network's layers); 8 or 16, oneDNN's blocked layout nChw8c / nChw16c, in which element
    /// (n, c, h, w) is at ((n·C/B + c/B)·H·W + h·W + w)·B + c mod B, with C a multiple of B (so the
    /// same count). `Sequential` keeps it between oneDNN convolutions, through the layers between
    /// them; every resize sets it back to 0, so a layer that writes NCHW needs no care.
    public var blockSize = 0

    /// A zero-filled tensor of the given shape.
    public init(shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor shape \(shape) has a negative dimension")
        let n = shape.reduce(1, *)
        self.shape = shape
        self.count = n
        self.capacity = n
        self.data = Tensor.allocate(n)
        data.initialize(repeating: 0, count: max(n, 1))
    }

    /// A tensor holding `values` (row-major) with the given shape.
    public convenience init(shape: [Int], values: [Float]) {
        self.init(shape: shape)
        precondition(values.count == count, "Tensor: \(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    deinit { data.deallocate() }

    private static func allocate(_ n: Int) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer.allocate(byteCount: max(n, 1) * MemoryLayout<Float>.stride, alignment: 64)
            .bindMemory(to: Float.self, capacity: max(n, 1))
    }

    /// Sets a new shape. Keeps the storage when it is large enough (no allocation), otherwise
    /// allocates a new zeroed buffer. Contents are unspecified unless the element count is unchanged.
    public func resize(_ newShape: [Int]) {
        blockSize = 0
        if newShape == shape { return }
        precondition(newShape.allSatisfy { $0 >= 0 }, "Tensor shape \(newShape) has a negative dimension")
        let n = newShape.reduce(1, *)
        if n > capacity {
            data.deallocate()
            data = Tensor.allocate(n)
            data.initialize(repeating: 0, count: n)
            capacity = n
        }
        previousShape = shape
        shape = newShape
        count = n
    }

    /// The shape before the last change: a buffer that alternates between two batch sizes (D on
    /// stacked real + fake rows in the D step, on fake rows in the G step) switches back to it
    /// without building a new shape array.
    @usableFromInline var previousShape: [Int] = []

    /// `resize([rows, columns])` without building a shape array when nothing changes, so that
    /// per-step calls allocate nothing (an array literal is a heap allocation).
    @inlinable
    public func resize(rows: Int, columns: Int) {
        blockSize = 0
        if shape.count == 2 && shape[0] == rows && shape[1] == columns { return }
        if previousShape.count == 2 && previousShape[0] == rows && previousShape[1] == columns {
            resize(previousShape)
            return
        }
        resize([rows, columns])
    }

    /// `resize([batch] + sampleShape)` without allocating when nothing changes.
    @inlinable
    public func resize(batch: Int, sampleShape: [Int]) {
        blockSize = 0
        if shape.count == sampleShape.count + 1 && shape[0] == batch && shape.dropFirst().elementsEqual(sampleShape) { return }
        if previousShape.count == sampleShape.count + 1 && previousShape[0] == batch
            && previousShape.dropFirst().elementsEqual(sampleShape) {
            resize(previousShape)
            return
        }
        resize([batch] + sampleShape)
    }

    /// Reinterprets the same elements under another shape with the same element count.
    public func reshape(_ newShape: [Int]) {
        precondition(newShape.reduce(1, *) == count, "Tensor: cannot reshape \(shape) to \(newShape)")
        precondition(blockSize == 0, "Tensor: cannot reshape a tensor in a blocked layout")
        shape = newShape
    }

    /// Size of the first dimension (the batch), 1 for a scalar.
    @inlinable public var rows: Int { shape.first ?? 1 }
    /// Elements per row: the product of all dimensions after the first.
    @inlinable public var columns: Int { rows == 0 ? 0 : count / rows }

    @inlinable public subscript(i: Int) -> Float {
        get { data[i] }
        set { data[i] = newValue }
    }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: data, count: count) }

    /// A copy of the contents as an array.
    public var array: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    public func fill(_ value: Float) {
        let d = data
        ComputeThreads.parallelFor(count) { r in (d + r.lowerBound).update(repeating: value, count: r.count) }
    }

    /// Resizes to `other`'s shape and copies its contents.
    public func copy(from other: Tensor) {
        resize(other.shape)
        data.update(from: other.data, count: count)
        blockSize = other.blockSize
    }

    /// A new tensor with the same shape and contents.
    public func clone() -> Tensor {
        let t = Tensor(shape: shape)
        t.data.update(from: data, count: count)
        t.blockSize = blockSize
        return t
    }

    /// Bitwise equality of shape and contents (NaNs with equal bits compare equal).
    public func bitwiseEqual(_ other: Tensor) -> Bool {
        guard shape == other.shape else { return false }
        for i in 0..<count where data[i].bitPattern != other.data[i].bitPattern { return false }
        return true
    }
}

extension Tensor {
    /// The multi-index of row-major element `flat` in `shape` (for error messages such as
    /// "element [3, 1]: NaN is not allowed").
    public static func multiIndex(_ flat: Int, in shape: [Int]) -> [Int] {
        var rest = flat
        var index = [Int](repeating: 0, count: shape.count)
        for k in shape.indices.reversed() where shape[k] > 0 {
            index[k] = rest % shape[k]
            rest /= shape[k]
        }
        return index
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = (0..<min(count, 8)).map { "\(data[$0])" }.joined(separator: ", ")
        return "Tensor\(shape)[\(head)\(count > 8 ? ", ..." : "")]"
    }
}
