import Foundation

/// TensorFlow's record format, the framing of every `events.out.tfevents.*` file: per record
/// `uint64 length` (little-endian), `uint32 masked CRC-32C of the length bytes`, the payload
/// (one serialised `Event`), `uint32 masked CRC-32C of the payload`.
public enum EventRecords {
    /// One framed record.
    public static func frame(_ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + 16)
        let length = withUnsafeBytes(of: UInt64(payload.count).littleEndian, Array.init)
        out += length
        out += withUnsafeBytes(of: CRC32C.masked(CRC32C.checksum(length)).littleEndian, Array.init)
        out += payload
        out += withUnsafeBytes(of: CRC32C.masked(CRC32C.checksum(payload)).littleEndian, Array.init)
        return out
    }

    /// The payloads of a file's records, checking both checksums of each. `name` (the file) goes
    /// into the error for a truncated or damaged record.
    public static func payloads(_ bytes: [UInt8], name: String) throws -> [[UInt8]] {
        var records: [[UInt8]] = []
        var i = 0
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) } }
        while i < bytes.count {
            guard bytes.count - i >= 12 else { throw TensorBoardError(name, "truncated record header at byte \(i)") }
            let lengthBytes = bytes[i..<(i + 8)]
            let length = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[i + $1]) << (8 * UInt64($1)) }
            guard u32(i + 8) == CRC32C.masked(CRC32C.checksum(lengthBytes)) else {
                throw TensorBoardError(name, "record length checksum mismatch at byte \(i)")
            }
            guard length <= UInt64(bytes.count - i - 16) else { throw TensorBoardError(name, "truncated record at byte \(i)") }
            let start = i + 12, end = start + Int(length)
            let payload = Array(bytes[start..<end])
            guard u32(end) == CRC32C.masked(CRC32C.checksum(payload)) else {
                throw TensorBoardError(name, "record data checksum mismatch at byte \(i)")
            }
            records.append(payload)
            i = end + 4
        }
        return records
    }
}

/// A TensorBoard event file that cannot be read, naming the file.
public struct TensorBoardError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public init(_ path: String, _ reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "\(path): \(reason)" }
}
