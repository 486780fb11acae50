import GANHDF5
import GANTensor

/// Tensors in HDF5 datasets: the checkpoint schema's reads and writes. They live here, not in the
/// HDF5 wrapper, so that the wrapper does not depend on the engine.
extension HDF5Group {
    /// Writes a tensor with its shape.
    public func writeFloats(_ name: String, _ tensor: Tensor, gzipLevel: Int? = nil) throws {
        try writeFloats(name, shape: tensor.shape, values: tensor.data, gzipLevel: gzipLevel)
    }

    /// Reads a float dataset into `tensor` (resized to `expectedShape`, default: its current shape).
    /// Throws `.shapeMismatch` ("FILE: PATH: expected shape [a, b], found [c, d]") when the stored shape
    /// differs, leaving the tensor untouched. If the read itself fails the contents are unspecified.
    public func read(_ name: String, into tensor: Tensor, expectedShape: [Int]? = nil) throws {
        let want = expectedShape ?? tensor.shape
        try read(name, shape: want) {
            tensor.resize(want)
            return tensor.data
        }
    }

    /// Reads a float dataset into a new tensor of the stored shape.
    public func readTensor(_ name: String) throws -> Tensor {
        let (shape, values) = try readFloats(name)
        return Tensor(shape: shape, values: values)
    }
}
