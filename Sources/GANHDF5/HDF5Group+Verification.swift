/// Reading everything once, so that damage anywhere in a file is found when it is opened rather
/// than halfway through using it: HDF5 checks each chunk's Fletcher-32 checksum as it reads it.
extension HDF5Group {
    /// Reads every dataset below this group once (values discarded).
    public func verifyAllData() throws {
        for name in try childNames() {
            if let sub = try? group(name) {
                try sub.verifyAllData()
            } else {
                try dataset(name).verifyData()
            }
        }
    }
}

extension HDF5Group {
    /// The bytes the file holds for every dataset below this group (`HDF5Dataset.storageSize`).
    public func storedByteCount() throws -> Int {
        var total = 0
        for name in try childNames() {
            total += try (try? group(name)).map { try $0.storedByteCount() } ?? dataset(name).storageSize()
        }
        return total
    }
}

extension HDF5Dataset {
    /// Reads every value once, as its stored type (values discarded).
    public func verifyData() throws {
        switch try elementKind() {
        case .float32: _ = try read(as: Float.self)
        case .float64: _ = try read(as: Double.self)
        case .int64: _ = try read(as: Int64.self)
        case .uint64: _ = try read(as: UInt64.self)
        case .uint8: _ = try read(as: UInt8.self)
        }
    }
}
