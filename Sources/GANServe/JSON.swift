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
        let start = i
        switch c {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): if literal("true") { return .bool(true) }
        case UInt8(ascii: "f"): if literal("false") { return .bool(false) }
        case UInt8(ascii: "n"): if literal("null") { return .null }
        default:
            let t = try number(at: i)
            i = t.end
            if t.outOfRange { return .number(JSONNumbers(floats: [t.value], integers: nil, firstOutOfRange: text(start..<t.end))) }
            return .number(JSONNumbers(floats: [t.value], integers: t.integer.map { [$0] }))
        }
        throw error("unexpected character")
    }

    func text(_ r: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self) }

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
    /// Int64s are kept only while every element so far is an integer literal within Int64.
    ///
    /// The floats go straight into an array allocated once with room for as many numbers as the
    /// bytes up to the next `]` can hold (each takes a byte and a separator; a number has no `]`,
    /// so the elements read before one are all before it): no growth, no copy. The room beyond
    /// the numbers is never written, so a large array's unused pages are never touched.
    mutating func numberArray() throws -> JSONNumbers? {
        let b = b, p = b.baseAddress.unsafelyUnwrapped, end = b.count
        var length = end - i
        if let close = memchr(p + i, Int32(UInt8(ascii: "]")), length) {
            length = UnsafeRawPointer(close) - UnsafeRawPointer(p + i)
        }
        var integers: [Int64]? = []
        var firstOutOfRange: String?
        var complete = false
        // The array holds at most one number more than there are commas before the first "]":
        // sized by them, a 64 x 784 input takes its 200 KB, not the 1 MB that half its text's
        // length would (which the server's heap would keep resident per request in flight).
        let capacity = NumberText.count(UInt8(ascii: ","), in: p + i, length) + 1
        let floats = try [Float](unsafeUninitializedCapacity: capacity) { out, count in
            var n = 0, j = i
            defer { count = n }
            while true {
                if integers == nil {
                    let before = n
                    j = NumberText.plainRun(p, end, from: j, into: out.baseAddress!, count: &n)
                    if n != before {  // after a comma: the next element must be a number
                        i = j
                        skipSpace()
                        guard atNumber else { return }
                        j = i
                    }
                }
                let t = try number(at: j)
                out[n] = t.value
                n &+= 1
                if t.outOfRange, firstOutOfRange == nil { firstOutOfRange = text(j..<t.end) }
                if integers != nil {
                    if let v = t.integer { integers!.append(v) } else { integers = nil }
                }
                j = t.end
                // The usual separator: a comma, then the next number's digit or minus.
                if j &+ 1 < end, p[j] == UInt8(ascii: ","), p[j &+ 1] &- 0x30 < 10 || p[j &+ 1] == UInt8(ascii: "-") {
                    j &+= 1
                    continue
                }
                i = j
                skipSpace()
                guard let c = current else { throw error("unterminated array") }
                i += 1
                if c == UInt8(ascii: "]") { complete = true; return }
                guard c == UInt8(ascii: ",") else { i -= 1; throw error("expected , or ] in an array") }
                skipSpace()
                guard atNumber else { return }
                j = i
            }
        }
        return complete ? JSONNumbers(floats: floats, integers: integers, firstOutOfRange: firstOutOfRange) : nil
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

    /// One number read by `scan`.
    struct ScannedNumber {
        /// The position after the number; for a failure, where it was found.
        var end: Int
        /// float32, correctly rounded; an infinity of the number's sign when beyond float32's range.
        var value: Float = 0
        var failure = Failure.none
        /// Beyond float32's range (finite text whose float32 is infinite).
        var outOfRange = false
        /// Its Int64 when it is an integer literal within Int64.
        var integer: Int64?

        enum Failure {
            case none
            /// No digit (after an optional minus) where the number starts: NaN, Infinity or an error.
            case noDigit
            case noFractionDigit
            case noExponentDigit
        }
    }

    /// The number at `start` (`scan`), or NaN, Infinity, -Infinity; a grammar error throws with
    /// its position. Leaves `i` alone unless it throws.
    @inline(__always)
    mutating func number(at start: Int) throws -> ScannedNumber {
        let t = Self.scan(b, at: start)
        return t.failure == .none ? t : try unusual(t, start: start)
    }

    /// NaN, Infinity or -Infinity (as Python's `json` writes them) at `start`, or the error of
    /// a number that `scan` could not read.
    @inline(never)
    mutating func unusual(_ t: ScannedNumber, start: Int) throws -> ScannedNumber {
        switch t.failure {
        case .noFractionDigit:
            i = t.end
            throw error("expected a digit after the decimal point")
        case .noExponentDigit:
            i = t.end
            throw error("expected a digit in the exponent")
        case .none, .noDigit:
            i = start
            let c0 = b[i], c1 = i + 1 < b.count ? b[i + 1] : 0
            if c0 == UInt8(ascii: "N") || c0 == UInt8(ascii: "I") || (c0 == UInt8(ascii: "-") && c1 == UInt8(ascii: "I")) {
                if literal("NaN") { return ScannedNumber(end: i, value: .nan) }
                if literal("Infinity") { return ScannedNumber(end: i, value: .infinity) }
                if literal("-Infinity") { return ScannedNumber(end: i, value: -.infinity) }
                throw error("unexpected character")
            }
            if c0 == UInt8(ascii: "-") { i += 1 }
            throw error("unexpected character")
        }
    }

    /// Reads the number at `start` (a byte is there), checking its grammar and converting it in
    /// one pass over its bytes (digits eight at a time where eight bytes remain:
    /// `NumberText.digits`). The decimal digits accumulate into a UInt64 while there are at most
    /// 19 of them (leading zeros included); the conversion is then
    /// `NumberText.float32(mantissa:exponent:)`, and strtof (C locale) for what that leaves.
    /// Longer digit strings are read again by `NumberText.float32(_:_:)`, which skips leading
    /// zeros and keeps 19 significant digits.
    @inline(__always)
    static func scan(_ b: UnsafeBufferPointer<UInt8>, at start: Int) -> ScannedNumber {
        let p = b.baseAddress.unsafelyUnwrapped, end = b.count
        var j = start
        let negative = p[j] == UInt8(ascii: "-")
        if negative { j &+= 1 }
        guard j < end, p[j] &- 0x30 < 10 else { return ScannedNumber(end: j, failure: .noDigit) }
        var mantissa = UInt64(p[j] &- 0x30)
        var digits = 1, exponent = 0, isInteger = true
        j &+= 1
        if mantissa != 0 {  // a leading 0 is the whole integer part
            let k = NumberText.digits(p, from: j, to: end, into: &mantissa)
            digits &+= k
            j &+= k
        }
        if j < end, p[j] == UInt8(ascii: ".") {
            isInteger = false
            j &+= 1
            let k = NumberText.digits(p, from: j, to: end, into: &mantissa)
            guard k > 0 else { return ScannedNumber(end: j, failure: .noFractionDigit) }
            digits &+= k
            exponent = -k
            j &+= k
        }
        if j < end, p[j] | 0x20 == UInt8(ascii: "e") {
            isInteger = false
            j &+= 1
            var exponentNegative = false
            if j < end, p[j] == UInt8(ascii: "+") || p[j] == UInt8(ascii: "-") {
                exponentNegative = p[j] == UInt8(ascii: "-")
                j &+= 1
            }
            guard j < end, p[j] &- 0x30 < 10 else { return ScannedNumber(end: j, failure: .noExponentDigit) }
            var e = 0
            while j < end, p[j] &- 0x30 < 10 {
                if e < 1_000_000 { e = e &* 10 &+ Int(p[j] &- 0x30) }  // beyond any float: strtof's to say
                j &+= 1
            }
            exponent &+= exponentNegative ? -e : e
        }
        var value: Float?
        if digits <= 19 {
            value = NumberText.float32(mantissa: mantissa, exponent: exponent)
            // The sign as a bit (the value is +0 or above).
            if let v = value { value = Float(bitPattern: v.bitPattern | (negative ? 0x8000_0000 : 0)) } else { value = NumberText.strtof(b, start..<j) }
        } else {
            value = NumberText.float32(b, start..<j)
        }
        var integer: Int64?
        if isInteger, digits <= 19 {
            if !negative, mantissa <= UInt64(Int64.max) { integer = Int64(mantissa) }
            if negative, mantissa <= UInt64(Int64.max) + 1 { integer = Int64(bitPattern: 0 &- mantissa) }
        }
        return ScannedNumber(end: j, value: value ?? (negative ? -.infinity : .infinity), outOfRange: value == nil, integer: integer)
    }
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

/// Decimal digits and number text (already checked against the JSON grammar) to float32.
enum NumberText {
    /// How many bytes of `p[0..<n]` equal `byte`, eight at a time: a byte of `x ^ pattern` is
    /// zero exactly where it matched, and `~((y & 0x7f..) + 0x7f.. | y | 0x7f..)` has the top bit
    /// of each zero byte of y and no other bit (no carry crosses a byte).
    static func count(_ byte: UInt8, in p: UnsafePointer<UInt8>, _ n: Int) -> Int {
        let low: UInt64 = 0x7f7f_7f7f_7f7f_7f7f, pattern = UInt64(byte) &* 0x0101_0101_0101_0101
        var total = 0, j = 0
        while n &- j >= 8 {
            let y = UnsafeRawPointer(p + j).loadUnaligned(as: UInt64.self) ^ pattern
            total &+= (~(((y & low) &+ low) | y | low)).nonzeroBitCount
            j &+= 8
        }
        while j < n {
            if p[j] == byte { total &+= 1 }
            j &+= 1
        }
        return total
    }

    /// Reads the run of decimal digits at `p[start..<end]` into `m` (m · 10 + digit each, with
    /// wrapping: the caller counts the digits) and returns how many there were. Where sixteen
    /// bytes remain they are loaded as two little-endian UInt64s and checked and converted
    /// together without a branch on the run's length, which varies from number to number (a
    /// branch on it is mispredicted often); then eight bytes, then one at a time.
    @inline(__always)
    static func digits(_ p: UnsafePointer<UInt8>, from start: Int, to end: Int, into m: inout UInt64) -> Int {
        var j = start
        while end &- j >= 16 {
            let x = digitBytes(p + j), y = digitBytes(p + j + 8)
            let n = leadingDigits(x)
            let k = leadingDigits(y) & (0 &- (n >> 3))  // y's digits count after eight in x only
            m = (m &* powersOfTen[n] &+ value(x, n)) &* powersOfTen[k] &+ value(y, k)
            j &+= n &+ k
            if k < 8 { return j &- start }
        }
        if end &- j >= 8 {
            let x = digitBytes(p + j)
            let n = leadingDigits(x)
            m = m &* powersOfTen[n] &+ value(x, n)
            j &+= n
            if n < 8 { return j &- start }
        }
        while j < end, p[j] &- 0x30 < 10 {
            m = m &* 10 &+ UInt64(p[j] &- 0x30)
            j &+= 1
        }
        return j &- start
    }

    /// Eight bytes, the first in the lowest, with ASCII digits turned into 0...9 (and any other
    /// byte into a value above 9).
    @inline(__always)
    static func digitBytes(_ p: UnsafePointer<UInt8>) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self)) ^ 0x3030_3030_3030_3030
    }

    /// How many of the bytes of `digitBytes`, from the lowest, are digits (0...8).
    @inline(__always)
    static func leadingDigits(_ x: UInt64) -> Int {
        notDigits(x).trailingZeroBitCount >> 3  // 64 >> 3 = 8 when all are digits
    }

    /// The high bit of each byte of `digitBytes` that is not a digit.
    @inline(__always)
    static func notDigits(_ x: UInt64) -> UInt64 {
        // A byte above 9 has its high bit set, or reaches 0x80 when 0x76 is added to its low
        // seven bits (which never carries into the next byte).
        (((x & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7676_7676_7676_7676) | x) & 0x8080_8080_8080_8080
    }

    /// The value of the first n (0...8) digits of `digitBytes`.
    @inline(__always)
    static func value(_ x: UInt64, _ n: Int) -> UInt64 {
        // The n digits moved to the top bytes, zeros below them (leading zeros of the value):
        // a shift by 64 - 8n in two steps, as one shift by 64 would be none.
        let shift = UInt64(truncatingIfNeeded: 64 &- 8 &* n), half = shift >> 1
        return eightDigits((x &<< half) &<< (shift &- half))
    }

    /// Converts the plain numbers from `start` on, each followed by a comma, into
    /// `out[count...]`, and returns where it stopped: after the last comma (at the next element,
    /// for the caller to check that it is a number), or, when it converted none, at `start`. A
    /// number that is not plain, or not followed by a comma (the last of the array), is left to
    /// the caller. A plain number has an optional minus, at most 19 digits with at most one point
    /// among them and at most 22 after it, no exponent, and is converted as
    /// `float32(mantissa:exponent:)` converts it without strtof: what clients printing floats
    /// send (Swift's and numpy's shortest texts, Python's 17 digits). Stops 64 bytes before the
    /// end, so that every load is within the text (a longer digit run is read up to the end at
    /// most, and checked before the next load).
    ///
    /// The same reading and rounding as `JSONParser.scan`, for the common case with fewer
    /// instructions and branches: the digits each side of the point are read eight bytes at a
    /// time without a branch on how many there are (which varies from number to number and would
    /// be mispredicted often); a ninth digit, rare in what clients print, takes a branch.
    static func plainRun(_ p: UnsafePointer<UInt8>, _ end: Int, from start: Int, into out: UnsafeMutablePointer<Float>,
                         count: inout Int) -> Int {
        var j = start, n = count
        defer { count = n }
        while end &- j >= 64 {
            var q = j
            let negative = p[q] == UInt8(ascii: "-")
            if negative { q &+= 1 }
            var m = UInt64(p[q] &- 0x30)
            guard m < 10 else { break }
            q &+= 1
            var digits = 1, e = 0
            if m != 0 {  // a leading 0 is the whole integer part
                let x = digitBytes(p + q)
                let k = leadingDigits(x)
                m = m &* powersOfTen[k] &+ value(x, k)
                // One branch for "a ninth digit": && would be two, the first on whether there
                // are eight, which varies.
                if notDigits(x) | notDigits(UInt64(p[q &+ 8] ^ 0x30)) == 0 {
                    let more = NumberText.digits(p, from: q &+ 8, to: end, into: &m)
                    q &+= more
                    digits &+= more
                    guard end &- q >= 32 else { break }  // the loads below stay within the text
                }
                q &+= k
                digits &+= k
            }
            if p[q] == UInt8(ascii: ".") {
                let x = digitBytes(p + q + 1), notX = notDigits(x)
                let k = notX.trailingZeroBitCount >> 3
                guard k > 0 else { break }
                m = m &* powersOfTen[k] &+ eightDigits(x &<< UInt64(64 &- 8 &* k))
                q &+= k &+ 1
                digits &+= k
                e = k
                if notX | notDigits(UInt64(p[q] ^ 0x30)) == 0 {
                    let more = NumberText.digits(p, from: q, to: end, into: &m)
                    q &+= more
                    digits &+= more
                    e &+= more
                    guard q < end else { break }
                }
            }
            guard digits <= 19, e <= 22, p[q] == UInt8(ascii: ",") else { break }
            // As `float32(mantissa:exponent:)`: m <= 2^53 is Clinger's exact path (only a float32
            // midpoint is left to strtof); a larger m (Python's 17 digits) is rounded to a Double
            // first, two roundings in all, and d within 8 units of a midpoint is left.
            let d = Double(m) / powers[e]
            let margin = m <= 1 << 53 ? 0 : 8
            guard abs(Int(d.bitPattern & 0x1FFF_FFFF) &- 0x1000_0000) > margin else { break }
            out[n] = Float(bitPattern: Float(d).bitPattern | (negative ? 0x8000_0000 : 0))
            n &+= 1
            j = q &+ 1
        }
        return j
    }

    /// The value of eight digits 0...9, one per byte, the first in the lowest byte.
    @inline(__always)
    static func eightDigits(_ x: UInt64) -> UInt64 {
        let pairs = x &* 10 &+ (x >> 8)  // bytes 0, 2, 4, 6: two-digit values
        let mask: UInt64 = 0x0000_00FF_0000_00FF
        return ((pairs & mask) &* 0x000F_4240_0000_0064 &+ ((pairs >> 16) & mask) &* 0x0000_2710_0000_0001) >> 32
    }

    static let powersOfTen: [UInt64] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000]

    /// 10^k for k in 0...64, each the Double nearest to it (exact up to 10^22, 5^22 < 2^53): literals,
    /// which the compiler rounds correctly and the optimizer lays out as constant data (a table
    /// computed at run time would cost a lazy-initialisation check per number).
    static let powers: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
        1e20, 1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27, 1e28, 1e29, 1e30, 1e31, 1e32, 1e33, 1e34, 1e35, 1e36, 1e37,
        1e38, 1e39, 1e40, 1e41, 1e42, 1e43, 1e44, 1e45, 1e46, 1e47, 1e48, 1e49, 1e50, 1e51, 1e52, 1e53, 1e54, 1e55,
        1e56, 1e57, 1e58, 1e59, 1e60, 1e61, 1e62, 1e63, 1e64,
    ]

    /// float32 of m · 10^e, correctly rounded, or nil for strtof to decide.
    ///
    /// Clinger's fast path, exact: for m <= 2^53 and |e| <= 22 one Double operation on exact
    /// operands gives the correctly rounded Double d of the value, and rounding d to float32 gives
    /// the correctly rounded float32 unless d is exactly halfway between two floats (a float32
    /// midpoint is a Double, so none lies strictly between d and the value): such a d, whose 29
    /// bits below float32's significand are 1000...0 (d is a float32 normal, 10^-22 <= d < 2^53 ·
    /// 10^22 < FLT_MAX, or 0), goes to strtof.
    ///
    /// Otherwise (m above 2^53, as is every mantissa that `float32(_:_:)` cut to 19 significant
    /// digits, or 22 < |e| <= 64): d = m · 10^e or m / 10^-e with m and the power of ten each
    /// rounded to the nearest Double, three roundings (and a cut below 10^-18 of the value), so d
    /// is within 3.1 · 2^-53 · |d| < 4 units in the last place of d from the value. Where no
    /// float32 midpoint lies within 8 units of d, the value and d round to the same float32.
    /// Float32 subnormals (d < 2^-126), infinities and near-midpoints go to strtof.
    @inline(__always)
    static func float32(mantissa m: UInt64, exponent e: Int) -> Float? {
        if m <= 1 << 53, e >= -22, e <= 22 {
            let d = e >= 0 ? Double(m) * powers[e] : Double(m) / powers[-e]
            return d.bitPattern & 0x1FFF_FFFF == 0x1000_0000 ? nil : Float(d)
        }
        if m == 0 { return 0 }
        guard e >= -64, e <= 64 else { return nil }
        let d = e >= 0 ? Double(m) * powers[e] : Double(m) / powers[-e]
        guard d >= 0x1p-126, abs(Int(d.bitPattern & 0x1FFF_FFFF) - 0x1000_0000) > 8 else { return nil }
        let f = Float(d)
        return f.isFinite ? f : nil
    }

    /// Correctly rounded, as `strtof` reads it: a rescan of the text that skips leading zeros and
    /// keeps 19 significant digits (for digit strings longer than `scanNumber` accumulates).
    static func float32(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Float? {
        var i = r.lowerBound
        let negative = b[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        var mantissa: UInt64 = 0, digits = 0, exponent = 0, inFraction = false
        while i < r.upperBound {
            let c = b[i]
            if c >= 0x30 && c <= 0x39 {
                if mantissa > 0 || c != 0x30 { digits += 1 }
                if digits <= 19 {
                    mantissa = mantissa * 10 + UInt64(c - 0x30)
                    if inFraction { exponent -= 1 }
                } else if !inFraction {
                    exponent += 1
                }
            } else if c == UInt8(ascii: ".") {
                inFraction = true
            } else {  // e or E: the exponent
                var j = i + 1, sign = 1, e = 0
                if b[j] == UInt8(ascii: "-") { sign = -1; j += 1 } else if b[j] == UInt8(ascii: "+") { j += 1 }
                while j < r.upperBound {
                    if e < 1_000_000 { e = e * 10 + Int(b[j] - 0x30) }
                    j += 1
                }
                exponent += sign * e
                break
            }
            i += 1
        }
        guard let f = float32(mantissa: mantissa, exponent: exponent) else { return strtof(b, r) }
        return negative ? -f : f
    }

    /// `strtof` of the text (C locale); nil when that is infinite (beyond float32's range).
    static func strtof(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Float? {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: r.count + 1) { buf -> Float? in
            for (k, j) in r.enumerated() { buf[k] = CChar(bitPattern: b[j]) }
            buf[r.count] = 0
            let v = Foundation.strtof(buf.baseAddress!, nil)
            return v.isInfinite ? nil : v
        }
    }
}
