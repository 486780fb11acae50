import Foundation

/// A parsed JSON value whose numbers are converted while they are parsed, straight from their
/// decimal text: to float32 correctly rounded (never through a Double, which would round twice)
/// and, for integer literals, to Int64 exactly. A flat array of numbers (a tensor's data) is
/// stored as two plain arrays, not as one tree node per number: a 64 x 784 FP32 input costs its
/// 200 KB of floats, and the request's text can be dropped once parsed. (`JSONSerialization`
/// would box every number as a Double.)
public enum JSONValue: Equatable {
    case null
    case bool(Bool)
    /// One number outside an array of numbers.
    case number(JSONNumbers)
    /// An array whose elements are all numbers (at least one).
    case numbers(JSONNumbers)
    case string(String)
    case array([JSONValue])
    case object([Member])

    public struct Member: Equatable {
        public var key: String
        public var value: JSONValue
    }

    /// The member `key` of an object (the first one if repeated); nil for other values.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// A short name of the value's kind for error messages.
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .numbers, .array: "an array"
        case .string: "a string"
        case .object: "an object"
        }
    }
}

/// Numbers as both datatypes the protocol's GAN models take.
public struct JSONNumbers: Equatable {
    /// float32 of each number (NaN, Infinity and -Infinity as Python's `json` writes them); a
    /// number beyond float32's range is stored as an infinity and named in `firstOutOfRange`.
    public var floats: [Float] = []
    /// Int64 of each number while every one is an integer literal within Int64; nil otherwise.
    public var integers: [Int64]? = []
    /// The text of the first finite number beyond float32's range.
    public var firstOutOfRange: String?

    public var count: Int { floats.count }
}

public struct JSONError: Error, CustomStringConvertible {
    public var description: String
}

/// A parsed JSON text.
public struct JSONDocument {
    public let root: JSONValue

    /// Parses a whole document; trailing non-space bytes, nesting deeper than 64 levels and every
    /// other grammar error throw `JSONError` with the byte offset.
    public init(_ bytes: UnsafeRawBufferPointer) throws {
        let b = bytes.bindMemory(to: UInt8.self)
        var p = JSONParser(b: b)
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == b.count else { throw p.error("unexpected data after the JSON value") }
        root = v
    }

    public init(_ bytes: [UInt8]) throws {
        self = try bytes.withUnsafeBytes { try JSONDocument($0) }
    }
}

/// A recursive-descent parser over raw bytes.
struct JSONParser {
    let b: UnsafeBufferPointer<UInt8>
    var i = 0

    init(b: UnsafeBufferPointer<UInt8>) { self.b = b }

    func error(_ what: String) -> JSONError { JSONError(description: "malformed JSON at byte \(i): \(what)") }

    @inline(__always) var current: UInt8? { i < b.count ? b[i] : nil }

    @inline(__always) mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    mutating func literal(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard i + n <= b.count else { return false }
        for k in 0..<n where b[i + k] != word.utf8Start[k] { return false }
        i += n
        return true
    }

    mutating func value(depth: Int) throws -> JSONValue {
        guard depth < 64 else { throw error("nested deeper than 64 levels") }
        skipSpace()
        guard let c = current else { throw error("unexpected end of input") }
        switch c {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): if literal("true") { return .bool(true) }
        case UInt8(ascii: "f"): if literal("false") { return .bool(false) }
        case UInt8(ascii: "n"): if literal("null") { return .null }
        default:
            var n = JSONNumbers()
            try append(number(), to: &n)
            return .number(n)
        }
        throw error("unexpected character")
    }

    /// Converts the number just parsed (`number()`) and appends it.
    @inline(__always)
    mutating func append(_ token: (range: Range<Int>, isInteger: Bool), to n: inout JSONNumbers) {
        let f = NumberText.float32(b, token.range)
        if f == nil, n.firstOutOfRange == nil { n.firstOutOfRange = String(decoding: UnsafeBufferPointer(rebasing: b[token.range]), as: UTF8.self) }
        n.floats.append(f ?? (b[token.range.lowerBound] == UInt8(ascii: "-") ? -.infinity : .infinity))
        if n.integers != nil {
            if token.isInteger, let v = NumberText.int64(b, token.range) { n.integers!.append(v) } else { n.integers = nil }
        }
    }

    /// Whether the next value starts like a number.
    var atNumber: Bool {
        guard let c = current else { return false }
        return (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "-") || c == UInt8(ascii: "N") || c == UInt8(ascii: "I")
    }

    mutating func array(depth: Int) throws -> JSONValue {
        let open = i
        i += 1
        var items: [JSONValue] = []
        skipSpace()
        if current == UInt8(ascii: "]") { i += 1; return .array(items) }
        if atNumber, let numbers = try numberArray() { return .numbers(numbers) }
        i = open + 1
        while true {
            items.append(try value(depth: depth + 1))
            skipSpace()
            guard let c = current else { throw error("unterminated array") }
            i += 1
            if c == UInt8(ascii: "]") { return .array(items) }
            guard c == UInt8(ascii: ",") else { i -= 1; throw error("expected , or ] in an array") }
        }
    }

    /// The rest of an array of numbers only, converted as it is read; nil (with the position
    /// unspecified) as soon as an element is not a number, for the caller to parse it generically.
    mutating func numberArray() throws -> JSONNumbers? {
        var n = JSONNumbers()
        while true {
            try append(number(), to: &n)
            skipSpace()
            guard let c = current else { throw error("unterminated array") }
            i += 1
            if c == UInt8(ascii: "]") { return n }
            guard c == UInt8(ascii: ",") else { i -= 1; throw error("expected , or ] in an array") }
            skipSpace()
            guard atNumber else { return nil }
        }
    }

    mutating func object(depth: Int) throws -> JSONValue {
        i += 1
        var members: [JSONValue.Member] = []
        skipSpace()
        if current == UInt8(ascii: "}") { i += 1; return .object(members) }
        while true {
            skipSpace()
            guard current == UInt8(ascii: "\"") else { throw error("expected a string key in an object") }
            let key = try string()
            skipSpace()
            guard current == UInt8(ascii: ":") else { throw error("expected : after an object key") }
            i += 1
            members.append(.init(key: key, value: try value(depth: depth + 1)))
            skipSpace()
            guard let c = current else { throw error("unterminated object") }
            i += 1
            if c == UInt8(ascii: "}") { return .object(members) }
            guard c == UInt8(ascii: ",") else { i -= 1; throw error("expected , or } in an object") }
        }
    }

    mutating func string() throws -> String {
        i += 1  // opening quote
        let start = i
        var escaped = false
        while true {
            guard let c = current else { throw error("unterminated string") }
            if c == UInt8(ascii: "\"") { break }
            if c < 0x20 { throw error("control character in a string") }
            if c == UInt8(ascii: "\\") {
                escaped = true
                i += 1
                guard current != nil else { throw error("unterminated string") }
            }
            i += 1
        }
        let raw = UnsafeBufferPointer(rebasing: b[start..<i])
        i += 1  // closing quote
        guard let text = String(validating: raw, as: UTF8.self) else { throw error("invalid UTF-8 in a string") }
        guard escaped else { return text }
        // Escapes are rare in this protocol (names, ids); JSONSerialization decodes them exactly.
        let quoted = Data(("\"" + text + "\"").utf8)
        guard let decoded = try? JSONSerialization.jsonObject(with: quoted, options: [.fragmentsAllowed]) as? String else {
            throw error("invalid escape in a string")
        }
        return decoded
    }

    /// Checks one number's grammar; its bytes and whether it is an integer literal.
    mutating func number() throws -> (range: Range<Int>, isInteger: Bool) {
        let start = i
        let c0 = b[i], c1 = i + 1 < b.count ? b[i + 1] : 0
        if c0 == UInt8(ascii: "N") || c0 == UInt8(ascii: "I") || (c0 == UInt8(ascii: "-") && c1 == UInt8(ascii: "I")) {
            if literal("NaN") || literal("Infinity") || literal("-Infinity") { return (start..<i, false) }
            throw error("unexpected character")
        }
        if current == UInt8(ascii: "-") { i += 1 }
        guard let first = current, isDigit(first) else { throw error("unexpected character") }
        i += 1
        if first != UInt8(ascii: "0") { digits() }
        var isInteger = true
        if current == UInt8(ascii: ".") {
            isInteger = false
            i += 1
            guard let d = current, isDigit(d) else { throw error("expected a digit after the decimal point") }
            digits()
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            isInteger = false
            i += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { i += 1 }
            guard let d = current, isDigit(d) else { throw error("expected a digit in the exponent") }
            digits()
        }
        return (start..<i, isInteger)
    }

    @inline(__always) mutating func digits() {
        while i < b.count, isDigit(b[i]) { i += 1 }
    }

    @inline(__always) func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
}

/// Appends JSON text to a byte buffer (the response is built once, then sent).
public struct JSONWriter {
    public var bytes: [UInt8] = []

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    public mutating func raw(_ text: String) { bytes.append(contentsOf: text.utf8) }

    /// A JSON string literal with the escapes RFC 8259 requires.
    public mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for c in text.utf8 {
            switch c {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case 0..<0x20: raw(String(format: "\\u%04x", Int(c)))
            default: bytes.append(c)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// The shortest decimal that reads back as the same float32 (Swift's `description`); NaN and
    /// the infinities as Python's `json` writes them (`NaN`, `Infinity`, `-Infinity`), since JSON
    /// has no spelling of its own for them.
    public mutating func float(_ v: Float) {
        if v.isFinite {
            var s = v.description  // at most 15 bytes: a small string, no allocation
            s.withUTF8 { bytes.append(contentsOf: $0) }
        } else {
            raw(v.isNaN ? "NaN" : v < 0 ? "-Infinity" : "Infinity")
        }
    }

    public mutating func floats(_ values: UnsafeBufferPointer<Float>) {
        bytes.append(UInt8(ascii: "["))
        for (k, v) in values.enumerated() {
            if k > 0 { bytes.append(UInt8(ascii: ",")) }
            float(v)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    public mutating func integers(_ values: [Int]) {
        raw("[" + values.map(String.init).joined(separator: ",") + "]")
    }
}

/// Number text (already checked against the JSON grammar) to float32 and Int64.
enum NumberText {
    /// Powers of ten that a Double holds exactly (5^22 < 2^53).
    static let exactPowers: [Double] = (0...22).map { pow(10, Double($0)) }

    /// Correctly rounded, as `strtof` reads it. Fast path (Clinger's): digits forming an integer
    /// m <= 2^53 with a decimal exponent of at most 22 either way, where one Double operation on
    /// exact operands gives the correctly rounded Double d; rounding d to Float is then the
    /// correctly rounded float32 unless d is exactly halfway between two floats (a float midpoint
    /// is a Double, so none lies strictly between d and the true value), which goes to `strtof`
    /// like every other number (C locale).
    @inline(__always)
    static func float32(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Float? {
        var i = r.lowerBound
        let negative = b[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        switch b[i] {
        case UInt8(ascii: "N"): return .nan
        case UInt8(ascii: "I"): return negative ? -.infinity : .infinity
        default: break
        }
        var mantissa: UInt64 = 0, digits = 0, exponent = 0, fractionDigits = 0, inFraction = false
        while i < r.upperBound {
            let c = b[i]
            if c >= 0x30 && c <= 0x39 {
                if mantissa > 0 || c != 0x30 { digits += 1 }
                if digits > 19 { return slow(b, r) }
                mantissa = mantissa &* 10 &+ UInt64(c - 0x30)
                if inFraction { fractionDigits += 1 }
            } else if c == UInt8(ascii: ".") {
                inFraction = true
            } else {  // e or E: the exponent
                var j = i + 1, sign = 1, e = 0
                if b[j] == UInt8(ascii: "-") { sign = -1; j += 1 } else if b[j] == UInt8(ascii: "+") { j += 1 }
                while j < r.upperBound {
                    e = e * 10 + Int(b[j] - 0x30)
                    if e > 400 { return slow(b, r) }
                    j += 1
                }
                exponent = sign * e
                break
            }
            i += 1
        }
        exponent -= fractionDigits
        guard mantissa <= 1 << 53, abs(exponent) <= 22 else { return slow(b, r) }
        let m = Double(mantissa)
        let d = exponent >= 0 ? m * exactPowers[exponent] : m / exactPowers[-exponent]
        let f = Float(d)
        if Double(f) != d {
            let neighbour = d > Double(f) ? f.nextUp : f.nextDown
            if (Double(f) + Double(neighbour)) / 2 == d { return slow(b, r) }
        }
        guard f.isFinite else { return nil }
        return negative ? -f : f
    }

    static func slow(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Float? {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: r.count + 1) { buf -> Float? in
            for (k, j) in r.enumerated() { buf[k] = CChar(bitPattern: b[j]) }
            buf[r.count] = 0
            let v = strtof(buf.baseAddress!, nil)
            return v.isInfinite ? nil : v
        }
    }

    /// An optional minus and digits only, within Int64.
    static func int64(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Int64? {
        var i = r.lowerBound
        let negative = b[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        var v: Int64 = 0
        while i < r.upperBound {
            let c = b[i]
            guard c >= 0x30 && c <= 0x39 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.subtractingReportingOverflow(Int64(c - 0x30))  // accumulate negatively: Int64.min fits
            guard !o1, !o2 else { return nil }
            v = s
            i += 1
        }
        if negative { return v }
        return v == .min ? nil : -v
    }
}
