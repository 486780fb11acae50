import Testing
@_spi(Testing) import GANTensor
import GANTestSupport

@Suite("Tensor")
struct TensorTests {
    @Test("init zero-fills and stores row-major values")
    func initialisation() {
        let z = Tensor(shape: [2, 3])
        #expect(z.array == [0, 0, 0, 0, 0, 0])
        #expect(z.count == 6 && z.rows == 2 && z.columns == 3)
        let t = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        #expect(t[4] == 5)
        let scalar = Tensor(shape: [])
        #expect(scalar.count == 1 && scalar.rows == 1 && scalar.columns == 1)
        let empty = Tensor(shape: [0, 4])
        #expect(empty.count == 0 && empty.columns == 0)
    }

    @Test("resize keeps the buffer when shrinking and regrowing within capacity")
    func resizeKeepsCapacity() {
        let t = Tensor(shape: [4, 5])
        let p = t.data
        t.resize([2, 3])
        #expect(t.data == p && t.count == 6 && t.capacity == 20 && t.shape == [2, 3])
        t.resize([5, 4])
        #expect(t.data == p && t.count == 20 && t.capacity == 20)
        t.resize([0])
        #expect(t.data == p && t.count == 0)
        t.resize([3, 7])   // 21 > 20: reallocates
        #expect(t.capacity == 21 && t.count == 21)
        #expect(t.array.allSatisfy { $0 == 0 }, "a grown buffer is zeroed")
        // Same shape: a no-op that keeps contents.
        let u = Tensor(shape: [2, 2], values: [1, 2, 3, 4])
        u.resize([2, 2])
        #expect(u.array == [1, 2, 3, 4])
    }

    @Test("reshape keeps the elements")
    func reshape() {
        let t = Tensor(shape: [2, 6], values: (0..<12).map(Float.init))
        let p = t.data
        t.reshape([3, 2, 2])
        #expect(t.shape == [3, 2, 2] && t.rows == 3 && t.columns == 4 && t.data == p)
        #expect(t.array == (0..<12).map(Float.init))
    }

    @Test("copy(from:) resizes and copies; clone is independent")
    func copyAndClone() {
        let src = Tensor(shape: [2, 3], values: [1, -2, 3, -4, 5, -6])
        let dst = Tensor(shape: [7])
        dst.copy(from: src)
        #expect(dst.shape == [2, 3] && dst.array == src.array)
        #expect(dst.data != src.data)
        let c = src.clone()
        #expect(c.bitwiseEqual(src))
        c[0] = 100
        #expect(src[0] == 1)
        src[1] = 50
        #expect(c[1] == -2 && dst[1] == -2)
    }

    @Test("bitwiseEqual compares shapes and bit patterns")
    func bitwiseEqual() {
        let a = Tensor(shape: [2, 2], values: [1, 2, 3, .nan])
        let b = Tensor(shape: [2, 2], values: [1, 2, 3, .nan])
        #expect(a.bitwiseEqual(b), "NaNs with equal bits compare equal")
        let reshaped = Tensor(shape: [4], values: [1, 2, 3, .nan])
        #expect(!a.bitwiseEqual(reshaped), "different shapes")
        let z1 = Tensor(shape: [1], values: [0]), z2 = Tensor(shape: [1], values: [-0.0])
        #expect(!z1.bitwiseEqual(z2), "+0 and -0 differ bitwise")
        b[2] = 3.0000002
        #expect(!a.bitwiseEqual(b))
    }

    @Test("fill, buffer, description")
    func fillAndBuffer() {
        let t = Tensor(shape: [3])
        t.fill(2.5)
        #expect(t.array == [2.5, 2.5, 2.5])
        t.buffer[1] = 7
        #expect(t[1] == 7)
        #expect(t.description.hasPrefix("Tensor[3]"))
    }
}
