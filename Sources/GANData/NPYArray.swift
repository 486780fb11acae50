import Foundation
import GANTensor

/// NumPy `.npy` files (format versions 1.0, 2.0 and 3.0), C order only.
///
/// `read` converts the little-endian dtypes `<f4`, `<f8`, `|u1`, `<i4` and `<i8` to Float and
/// rejects NaN and infinities (and `<f8` values beyond the Float range); `readBytes` returns a
/// `|u1` array as bytes. The magic, header, dtype, shape and the data length are validated; errors
/// are one line naming the file. `write` produces `<f4`, version 1.0, byte-for-byte what
/// `numpy.save` writes for a float32 C-order array, crash-safely (`AtomicFile`).
public enum NPYArray {
    public static func read(_ path: String) throws -> (shape: [Int], values: [Float]) {
        let file = try InputFile(path)
        let h = try readHeader(file)
        var values: [Float]
        var raw: [UInt8] = []
        if h.dtype == .f4 && file.regularSize != nil {  // straight into the result (the size is checked)
            values = try [Float](unsafeUninitializedCapacity: h.count) { buf, n in
                try readData(file, h, into: UnsafeMutableRawBufferPointer(buf))
                n = h.count
            }
            #if _endian(big)
            for i in values.indices { values[i] = Float(bitPattern: values[i].bitPattern.byteSwapped) }
            #endif
        } else {
            raw = try readRaw(file, h)
            values = raw.withUnsafeBytes { r in (0..<h.count).map { Float(h.dtype.load(r, $0)) } }
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            let x = raw.isEmpty ? Double(values[bad]) : raw.withUnsafeBytes { h.dtype.load($0, bad) }
            let at = "element \(Tensor.multiIndex(bad, in: h.shape)): "
            throw DataError(path, at + (x.isNaN ? "NaN is not allowed" : x.isFinite ? "\(x) is out of range for a 32-bit float"
                                        : x < 0 ? "-inf is not allowed" : "inf is not allowed"))
        }
        return (h.shape, values)
    }

    /// Reads a `|u1` (uint8) array, e.g. images.
    public static func readBytes(_ path: String) throws -> (shape: [Int], values: [UInt8]) {
        let file = try InputFile(path)
        let h = try readHeader(file)
        guard h.dtype == .u1 else { throw DataError(path, "dtype '\(h.descr)' is not uint8, expected |u1") }
        return (h.shape, try readRaw(file, h))
    }

    /// Writes a float32 array crash-safely: the old file or the whole new one, never half.
    public static func write(_ path: String, shape: [Int], values: UnsafeBufferPointer<Float>) throws {
        let header = try headerBytes(path, shape: shape, count: values.count)
        let out = try OutputFile.create(path)
        try writeBody(out, header, values)
        try out.commit()
    }

    public static func write(_ path: String, shape: [Int], values: [Float]) throws {
        try values.withUnsafeBufferPointer { try write(path, shape: shape, values: $0) }
    }

    /// Writes an int64 (`<i8`) vector crash-safely, e.g. class labels (`gan-sample generate`'s
    /// `OUT.labels.npy`).
    public static func write(_ path: String, int64 values: [Int64]) throws {
        let header = try headerBytes(path, shape: [values.count], count: values.count, descr: "<i8")
        let out = try OutputFile.create(path)
        try out.write(header)
        try values.map { $0.littleEndian }.withUnsafeBytes { try out.write($0) }
        try out.commit()
    }

    /// The bytes `write` puts in a file (for answers sent over the network).
    public static func encoded(shape: [Int], values: [Float]) throws -> [UInt8] {
        var bytes = try headerBytes("<memory>", shape: shape, count: values.count)
        bytes.reserveCapacity(bytes.count + 4 * values.count)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        return bytes
    }

    /// Writes a float32 array to standard output (for `-o -`).
    public static func writeToStandardOutput(shape: [Int], values: [Float]) throws {
        let out = OutputFile.standardOutput()
        let header = try headerBytes(out.name, shape: shape, count: values.count)
        try values.withUnsafeBufferPointer { try writeBody(out, header, $0) }
        try out.commit()
    }

    // MARK: - Writing

    /// numpy's header: the dict repr, 21 - len(repr(shape[0])) spaces of growth room, then spaces
    /// and a newline to a multiple of 64 bytes (a full 64 when already aligned, as numpy does).
    static func headerBytes(_ name: String, shape: [Int], count: Int, descr: String = "<f4") throws -> [UInt8] {
        if let d = shape.first(where: { $0 < 0 }) { throw DataError(name, "shape \(shape) has a negative dimension \(d)") }
        guard let elements = product(shape, 1), elements == count else {
            throw DataError(name, "shape \(shape) needs \(product(shape, 1).map(String.init) ?? "too many") values, got \(count)")
        }
        let tuple = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(tuple), }"
        if let first = shape.first { dict += String(repeating: " ", count: max(0, 21 - String(first).count)) }
        let hlen = dict.utf8.count + 1
        let v1 = hlen + 64 - (10 + hlen) % 64 <= 65535  // else version 2.0's 4-byte length
        let prefix = v1 ? 10 : 12
        let pad = 64 - (prefix + hlen) % 64
        let total = hlen + pad
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [v1 ? 1 : 2, 0]
        out += v1 ? [UInt8(total & 255), UInt8(total >> 8)]
                  : [UInt8(total & 255), UInt8(total >> 8 & 255), UInt8(total >> 16 & 255), UInt8(total >> 24)]
        out += Array(dict.utf8) + [UInt8](repeating: 32, count: pad) + [10]
        return out
    }

    private static func writeBody(_ out: OutputFile, _ header: [UInt8], _ values: UnsafeBufferPointer<Float>) throws {
        try out.write(header)
        #if _endian(little)
        try out.write(UnsafeRawBufferPointer(values))
        #else
        try out.write(values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Array($0) })
        #endif
    }

    // MARK: - Reading

    enum DType { case f4, f8, u1, i4, i8
        var size: Int { switch self { case .u1: 1; case .f4, .i4: 4; case .f8, .i8: 8 } }

        /// Element `i` of little-endian data.
        @inline(__always) func load(_ r: UnsafeRawBufferPointer, _ i: Int) -> Double {
            switch self {
            case .u1: Double(r[i])
            case .f4: Double(Float(bitPattern: UInt32(littleEndian: r.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))))
            case .i4: Double(Int32(littleEndian: r.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
            case .f8: Double(bitPattern: UInt64(littleEndian: r.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))
            case .i8: Double(Int64(littleEndian: r.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
            }
        }
    }

    struct Header {
        var shape: [Int], dtype: DType, descr: String, count: Int, dataOffset: Int
    }

    static func readHeader(_ file: InputFile) throws -> Header {
        let name = file.path
        var pre = [UInt8](repeating: 0, count: 12)
        let got = try pre.withUnsafeMutableBytes { try file.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<10])) }
        guard got >= 6, pre[0] == 0x93, Array(pre[1..<6]) == Array("NUMPY".utf8) else {
            throw DataError(name, got == 0 ? "empty file, expected a .npy array" : "not a .npy file: it does not start with the \\x93NUMPY magic")
        }
        guard got == 10 else { throw DataError(name, "truncated .npy header: the file ends after \(got) bytes") }
        let (major, minor) = (pre[6], pre[7])
        guard [1, 2, 3].contains(major), minor == 0 else {
            throw DataError(name, ".npy format version \(major).\(minor) is not supported, expected 1.0, 2.0 or 3.0")
        }
        var hlen = Int(pre[8]) | Int(pre[9]) << 8
        var prefix = 10
        if major >= 2 {
            let more = try pre.withUnsafeMutableBytes { try file.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[10..<12])) }
            guard more == 2 else { throw DataError(name, "truncated .npy header: the file ends after \(10 + more) bytes") }
            hlen |= Int(pre[10]) << 16 | Int(pre[11]) << 24
            prefix = 12
        }
        guard hlen <= 1 << 20 else { throw DataError(name, ".npy header length \(hlen) is implausibly large (corrupt file?)") }
        var text = [UInt8](repeating: 0, count: hlen)
        let hgot = try text.withUnsafeMutableBytes { try file.read(into: $0) }
        guard hgot == hlen else {
            throw DataError(name, "truncated .npy header: it declares \(hlen) bytes, the file has \(hgot) after the \(prefix)-byte preamble")
        }
        var p = DictParser(bytes: text, name: name)
        let dict = try p.parseDict()
        guard case .str(let descr)? = dict["descr"] else {
            if case .list? = dict["descr"] { throw DataError(name, "structured dtypes are not supported: \(p.snippet)") }
            throw p.error("no 'descr' string")
        }
        guard case .bool(let fortran)? = dict["fortran_order"] else { throw p.error("no 'fortran_order' True/False") }
        guard case .tuple(let dims)? = dict["shape"] else { throw p.error("no 'shape' tuple") }
        if let extra = dict.keys.sorted().first(where: { !["descr", "fortran_order", "shape"].contains($0) }) {
            throw p.error("unexpected key '\(extra)'")
        }
        guard !fortran else { throw DataError(name, "fortran_order: True is not supported, save the array in C order (np.ascontiguousarray)") }
        var shape: [Int] = []
        for d in dims {
            guard case .int(let v) = d, v >= 0 else { throw p.error("shape entries must be non-negative integers") }
            shape.append(v)
        }
        let dtype: DType
        switch descr {
        case "<f4": dtype = .f4
        case "<f8": dtype = .f8
        case "|u1", "<u1", ">u1", "u1": dtype = .u1
        case "<i4": dtype = .i4
        case "<i8": dtype = .i8
        default:
            let big = descr.hasPrefix(">") ? " (big-endian; convert with arr.astype(arr.dtype.newbyteorder('<')))" : ""
            throw DataError(name, "dtype '\(descr)' is not supported\(big), expected <f4, <f8, |u1, <i4 or <i8")
        }
        // Zeros counted as ones as well: no partial product (a row's size) may overflow either.
        guard let count = product(shape, 1), let needed = product(shape, dtype.size), product(shape.map { max($0, 1) }, dtype.size) != nil else {
            throw DataError(name, "shape \(shape) is too large")
        }
        let h = Header(shape: shape, dtype: dtype, descr: descr, count: count, dataOffset: prefix + hlen)
        if let size = file.regularSize, size - h.dataOffset != needed { throw sizeError(name, h, found: size - h.dataOffset) }
        return h
    }

    private static func sizeError(_ name: String, _ h: Header, found: Int) -> DataError {
        let needs = "shape \(h.shape) of \(h.descr) needs \(h.count * h.dtype.size) bytes, found \(found)"
        return DataError(name, found < h.count * h.dtype.size ? "truncated: " + needs : needs + " (extra data after the array)")
    }

    /// Reads exactly the data bytes into `dest` (whose size is count × item size).
    private static func readData(_ file: InputFile, _ h: Header, into dest: UnsafeMutableRawBufferPointer) throws {
        let got = try file.read(into: dest)
        guard got == dest.count else { throw sizeError(file.path, h, found: got) }
    }

    /// The data bytes. A regular file's size was checked against the header, so they go into one
    /// buffer of that size; from a pipe they arrive a chunk at a time into a growing buffer, so a
    /// header that declares more than the pipe delivers costs only what arrived.
    private static func readRaw(_ file: InputFile, _ h: Header) throws -> [UInt8] {
        let needed = h.count * h.dtype.size
        if file.regularSize != nil {
            return try [UInt8](unsafeUninitializedCapacity: needed) { buf, n in
                try readData(file, h, into: UnsafeMutableRawBufferPointer(buf))
                n = buf.count
            }
        }
        var out: [UInt8] = []
        while out.count < needed {
            let start = out.count
            out.append(contentsOf: repeatElement(0, count: min(1 << 20, needed - start)))
            let got = try out.withUnsafeMutableBytes { try file.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[start...])) }
            guard start + got == out.count else { throw sizeError(file.path, h, found: start + got) }
        }
        return out
    }

    /// start × the dimensions, nil on overflow.
    static func product(_ shape: [Int], _ start: Int) -> Int? {
        shape.reduce(start as Int?) { p, d in p.flatMap { let (r, o) = $0.multipliedReportingOverflow(by: d); return o ? nil : r } }
    }

}

/// The literal Python dict of a .npy header: string keys; values are strings, True/False,
/// integers (with Python 2's `L` suffix), tuples and lists of these.
struct DictParser {
    enum Value { case str(String), bool(Bool), int(Int), tuple([Value]), list([Value]), none }
    let bytes: [UInt8], name: String
    var i = 0

    var snippet: String {
        let s = CSVTable.printable(String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        return s.count > 100 ? String(s.prefix(100)) + "..." : s
    }

    func error(_ what: String) -> DataError { DataError(name, "malformed .npy header (\(what)): \(snippet)") }

    mutating func skipSpace() { while i < bytes.count, [32, 9, 10, 13].contains(bytes[i]) { i += 1 } }
    mutating func peek(_ c: Character) -> Bool { skipSpace(); return i < bytes.count && bytes[i] == c.asciiValue! }
    mutating func expect(_ c: Character) throws {
        guard peek(c) else { throw error("expected '\(c)' at byte \(i)") }
        i += 1
    }

    mutating func parseDict() throws -> [String: Value] {
        try expect("{")
        var d: [String: Value] = [:]
        while !peek("}") {
            guard case .str(let key) = try parseValue() else { throw error("keys must be strings") }
            try expect(":")
            d[key] = try parseValue()
            if !peek("}") { try expect(",") }
        }
        i += 1
        skipSpace()
        guard i == bytes.count else { throw error("unexpected text after the dict at byte \(i)") }
        return d
    }

    mutating func parseValue() throws -> Value {
        skipSpace()
        guard i < bytes.count else { throw error("unexpected end") }
        let c = bytes[i]
        if c == 39 || c == 34 {  // ' or "
            let start = i + 1
            guard let end = bytes[start...].firstIndex(of: c) else { throw error("unterminated string") }
            i = end + 1
            return .str(String(decoding: bytes[start..<end], as: UTF8.self))
        }
        if c == 40 || c == 91 {  // ( or [
            let close: Character = c == 40 ? ")" : "]"
            i += 1
            var items: [Value] = []
            while !peek(close) {
                items.append(try parseValue())
                if !peek(close) { try expect(",") }
            }
            i += 1
            return c == 40 ? .tuple(items) : .list(items)
        }
        let j = bytes[i...].firstIndex { !($0 == 45 || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0)) } ?? bytes.count
        guard j > i else { throw error("unexpected character at byte \(i)") }
        var word = String(decoding: bytes[i..<j], as: UTF8.self)
        i = j
        switch word {
        case "True": return .bool(true)
        case "False": return .bool(false)
        case "None": return .none
        default:
            if word.hasSuffix("L") || word.hasSuffix("l") { word.removeLast() }
            guard let v = Int(word) else { throw error("'\(word)' is not a number") }
            return .int(v)
        }
    }
}
