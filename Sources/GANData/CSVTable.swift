import Foundation

/// A numeric table in a CSV file: comma-separated numbers, one sample per line.
///
/// Reading accepts an optional header line (auto-detected by default: the first line is a header
/// when it has a non-empty cell that is not a number), blank lines, `#` comment lines, whitespace
/// around cells, CRLF line ends, a UTF-8 byte-order mark and a missing final newline. Header cells
/// may be double-quoted (`""` inside quotes is a quote); data cells are plain numbers. NaN and
/// infinities are rejected. Errors name the file, the line (as numbered in an editor, counting
/// header, comment and blank lines) and the column (1-based cell index).
///
/// Writing uses Swift's shortest round-trip `Float` text ("0.1", "1e-07"); reading it back gives
/// the same bits. Non-finite values are written as `nan`, `inf`, `-inf` (which `read` rejects).
public enum CSVTable {
    /// Reads a table; `hasHeader` nil auto-detects the header. `values` is row-major, rows × columns.
    public static func read(_ path: String, hasHeader: Bool? = nil) throws
        -> (columns: Int, rows: Int, values: [Float], header: [String]?) {
        let file = try InputFile(path)
        let bytes = try file.readAll()
        return try bytes.withUnsafeBufferPointer { try parse($0, name: path, hasHeader: hasHeader) }
    }

    /// Writes `values` (row-major, `columns` per row) to `path` crash-safely (`AtomicFile`).
    public static func write(_ path: String, values: UnsafeBufferPointer<Float>, columns: Int,
                             header: [String]? = nil) throws {
        try check(path, values.count, columns, header)
        let out = try OutputFile.create(path)
        try encode(values, columns: columns, header: header, to: out)
        try out.commit()
    }

    public static func write(_ path: String, values: [Float], columns: Int, header: [String]? = nil) throws {
        try values.withUnsafeBufferPointer { try write(path, values: $0, columns: columns, header: header) }
    }

    /// Writes the table to standard output (for `-o -`).
    public static func writeToStandardOutput(values: UnsafeBufferPointer<Float>, columns: Int,
                                             header: [String]? = nil) throws {
        let out = OutputFile.standardOutput()
        try check(out.name, values.count, columns, header)
        try encode(values, columns: columns, header: header, to: out)
        try out.commit()
    }

    public static func writeToStandardOutput(values: [Float], columns: Int, header: [String]? = nil) throws {
        try values.withUnsafeBufferPointer { try writeToStandardOutput(values: $0, columns: columns, header: header) }
    }

    /// The bytes `write` puts in a file (for answers sent over the network).
    public static func encoded(values: [Float], columns: Int, header: [String]? = nil) throws -> [UInt8] {
        try check("<memory>", values.count, columns, header)
        var bytes: [UInt8] = []
        try values.withUnsafeBufferPointer { try encode($0, columns: columns, header: header) { bytes += $0 } }
        return bytes
    }

    // MARK: - Writing

    private static func check(_ name: String, _ count: Int, _ columns: Int, _ header: [String]?) throws {
        guard columns >= 1 else { throw DataError(name, "cannot write a table with \(columns) columns") }
        guard count % columns == 0 else {
            throw DataError(name, "\(count) values do not fill rows of \(columns) columns")
        }
        if let header {
            guard header.count == columns else {
                throw DataError(name, "header has \(header.count) names, expected \(columns) (one per column)")
            }
            if let bad = header.firstIndex(where: { $0.contains(where: \.isNewline) }) {
                throw DataError(name, "header name \(bad + 1) contains a line break")
            }
        }
    }

    private static func encode(_ values: UnsafeBufferPointer<Float>, columns: Int, header: [String]?,
                               to out: OutputFile) throws {
        try encode(values, columns: columns, header: header) { try out.write($0) }
    }

    /// The table's text in pieces of about 1 MiB, each handed to `emit`.
    private static func encode(_ values: UnsafeBufferPointer<Float>, columns: Int, header: [String]?,
                               emit: ([UInt8]) throws -> Void) throws {
        var buf: [UInt8] = []
        buf.reserveCapacity(1 << 20 + 4096)
        if let header {
            buf.append(contentsOf: header.map(quotedIfNeeded).joined(separator: ",").utf8)
            buf.append(UInt8(ascii: "\n"))
        }
        var c = 0
        for v in values {
            var s = v.description  // shortest round trip; at most 15 bytes, so no allocation
            s.withUTF8 { buf.append(contentsOf: $0) }
            c += 1
            if c == columns {
                buf.append(UInt8(ascii: "\n"))
                c = 0
                if buf.count >= 1 << 20 {
                    try emit(buf)
                    buf.removeAll(keepingCapacity: true)
                }
            } else {
                buf.append(UInt8(ascii: ","))
            }
        }
        try emit(buf)
    }

    /// Quotes a header name that would otherwise not read back as itself (or not as a header).
    private static func quotedIfNeeded(_ name: String) -> String {
        let needs = name.isEmpty || name.first!.isWhitespace || name.last!.isWhitespace
            || name.hasPrefix("#") || name.contains(",") || name.contains("\"")
            || Array(name.utf8).withUnsafeBufferPointer { parseNumber($0, 0..<$0.count) } != .notNumber
        return needs ? "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : name
    }

    // MARK: - Parsing

    static func parse(_ b: UnsafeBufferPointer<UInt8>, name: String, hasHeader: Bool?) throws
        -> (columns: Int, rows: Int, values: [Float], header: [String]?) {
        try powersOf10.withUnsafeBufferPointer { try parse(b, name: name, hasHeader: hasHeader, p10: $0.baseAddress!) }
    }

    /// One pass over the bytes: each data cell is scanned as a number straight to its comma or line
    /// end; only the first content line (header detection) and failures look at a line twice.
    private static func parse(_ b: UnsafeBufferPointer<UInt8>, name: String, hasHeader: Bool?,
                              p10: UnsafePointer<Double>) throws -> (columns: Int, rows: Int, values: [Float], header: [String]?) {
        let n = b.count
        var pos = n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF ? 3 : 0  // UTF-8 BOM
        if pos == n { throw DataError(name, "empty file, expected comma-separated numbers") }
        if let nul = b[..<min(n, 1 << 16)].firstIndex(of: 0) {
            let line = b[..<nul].reduce(1) { $0 + ($1 == 10 ? 1 : 0) }
            throw DataError(name, "not a text file (binary data on line \(line))")
        }
        var line = 0, columns = 0, rows = 0
        var header: [String]?
        var headerLine = 0, sawContent = false
        var values: [Float] = []
        while pos < n {
            line += 1
            let lineStart = pos
            var s = pos
            while s < n && isBlank(b[s]) { s += 1 }
            if s == n { break }
            let c = b[s]
            if c == 10 || c == 13 || c == 35 || !sawContent {  // blank, '#' comment or the first content line
                var e = s
                while e < n && b[e] != 10 && b[e] != 13 { e += 1 }
                pos = afterLineEnd(b, e)
                if c == 10 || c == 13 || c == 35 { continue }
                sawContent = true
                while e > s && isBlank(b[e - 1]) { e -= 1 }
                if hasHeader ?? looksLikeHeader(b, s, e) {
                    header = try headerCells(b, s, e, name: name, line: line)
                    columns = header!.count
                    headerLine = line
                    continue
                }
            }
            var col = 0, cs = s
            while true {
                col += 1
                let (cell, next) = scanCell(b, cs, p10)
                guard case .value(let v) = cell else {
                    throw cellError(cell, b, trim(b, cs, cellEnd(b, cs)), name: name, line: line, column: col)
                }
                values.append(v)
                if next < n && b[next] == 44 { cs = next + 1; continue }
                pos = afterLineEnd(b, next)
                break
            }
            if columns == 0 {
                columns = col
            } else if col != columns {
                throw DataError(name, "line \(line) has \(col) columns, expected \(columns)")
            }
            if rows == 0 {  // size the array once from the first row's length
                values.reserveCapacity(columns * ((n - lineStart) / max(pos - lineStart, 1) + 2))
            }
            rows += 1
        }
        if rows == 0 {
            if header != nil { throw DataError(name, "no data rows after the header on line \(headerLine)") }
            throw DataError(name, "no data rows (only blank lines and # comments)")
        }
        return (columns, rows, values, header)
    }

    /// Whitespace within a line.
    @inline(__always) private static func isBlank(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 11 || c == 12 }

    /// The index after the line end at `e` (LF, CRLF or a lone CR).
    @inline(__always) private static func afterLineEnd(_ b: UnsafeBufferPointer<UInt8>, _ e: Int) -> Int {
        e + 1 < b.count && b[e] == 13 && b[e + 1] == 10 ? e + 2 : e + 1
    }

    /// The cell starting at `start`: its number (or why not) and the index of the comma / line end after it.
    @inline(__always)
    private static func scanCell(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ p10: UnsafePointer<Double>) -> (Cell, Int) {
        let n = b.count
        var i = start
        while i < n && isBlank(b[i]) { i += 1 }
        let (cell, j) = scanNumber(b, i, n, p10)
        var k = j
        while k < n && isBlank(b[k]) { k += 1 }
        if let cell, k == n || b[k] == 44 || b[k] == 10 || b[k] == 13 { return (cell, k) }
        let e = cellEnd(b, i)  // not a plain number: classify the whole trimmed cell
        return (special(b, trim(b, i, e)), e)
    }

    /// The end of the cell starting at `i`: the next comma or line end, or the end of the file.
    private static func cellEnd(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
        var e = i
        while e < b.count && b[e] != 44 && b[e] != 10 && b[e] != 13 { e += 1 }
        return e
    }

    /// b[s..<e] without the blanks around it.
    private static func trim(_ b: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) -> Range<Int> {
        var s = s, e = e
        while s < e && isBlank(b[s]) { s += 1 }
        while e > s && isBlank(b[e - 1]) { e -= 1 }
        return s..<e
    }

    private static func cellError(_ r: Cell, _ b: UnsafeBufferPointer<UInt8>, _ cell: Range<Int>,
                                  name: String, line: Int, column: Int) -> DataError {
        let at = "line \(line), column \(column): "
        let raw = String(decoding: UnsafeBufferPointer(rebasing: b[cell]), as: UTF8.self)
        var text = printable(raw)
        if text.count > 40 { text = String(text.prefix(40)) + "..." }
        switch r {
        case .nan: return DataError(name, at + "NaN is not allowed")
        case .infinity(let negative): return DataError(name, at + (negative ? "-inf" : "inf") + " is not allowed")
        case .outOfRange: return DataError(name, at + "\"\(text)\" is out of range for a 32-bit float")
        default:
            if cell.isEmpty { return DataError(name, at + "empty cell, expected a number") }
            let hint = raw.contains(";") || raw.contains("\t") ? " (cells must be separated by commas)" : ""
            return DataError(name, at + "\"\(text)\" is not a number" + hint)
        }
    }

    /// `s` with control characters escaped (`\t`, `\u{1}`), so that messages stay on one line.
    static func printable(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: { $0.value < 32 || $0.value == 127 }) else { return s }
        return s.unicodeScalars.map { c in
            c == "\t" ? "\\t" : c.value < 32 || c.value == 127 ? "\\u{\(String(c.value, radix: 16))}" : String(c)
        }.joined()
    }

    /// A line is a header when one of its cells is non-empty and not a number (NaN and inf count as numbers).
    private static func looksLikeHeader(_ b: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) -> Bool {
        var cs = s
        while true {
            let ce = cellEnd(b, cs), cell = trim(b, cs, ce)
            if !cell.isEmpty && parseNumber(b, cell) == .notNumber { return true }
            if ce >= e || b[ce] != 44 { return false }
            cs = ce + 1
        }
    }

    /// Splits a header line into names: cells trimmed; a cell may be double-quoted, `""` being a quote.
    private static func headerCells(_ b: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int,
                                    name: String, line: Int) throws -> [String] {
        var names: [String] = []
        var i = s
        while true {
            while i < e && isBlank(b[i]) { i += 1 }
            var cell: [UInt8] = []
            if i < e && b[i] == 34 {  // '"'
                i += 1
                while i < e && (b[i] != 34 || (i + 1 < e && b[i + 1] == 34)) { cell.append(b[i]); i += b[i] == 34 ? 2 : 1 }
                let at = "line \(line), column \(names.count + 1): "
                guard i < e else { throw DataError(name, at + "unterminated quote in the header") }
                i += 1
                while i < e && isBlank(b[i]) { i += 1 }
                guard i == e || b[i] == 44 else { throw DataError(name, at + "text after the closing quote in the header") }
            } else {
                let ce = cellEnd(b, i)
                cell = Array(b[trim(b, i, ce)])
                i = ce
            }
            names.append(String(decoding: cell, as: UTF8.self))
            if i >= e || b[i] != 44 { return names }
            i += 1  // the comma
        }
    }

    // MARK: - Numbers

    enum Cell: Equatable {
        case value(Float), notNumber, nan, infinity(negative: Bool), outOfRange
    }

    /// 10^-64 ... 10^38 as correctly rounded doubles (10^k at index k + 64).
    private static let powersOf10: [Double] = (-64...38).map { Double("1e\($0)")! }

    /// The number filling b[r] exactly (nan / inf classified), else `.notNumber`.
    static func parseNumber(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Cell {
        let (cell, end) = powersOf10.withUnsafeBufferPointer { scanNumber(b, r.lowerBound, r.upperBound, $0.baseAddress!) }
        if let cell, end == r.upperBound, !r.isEmpty { return cell }
        return special(b, r)
    }

    /// Scans `[+-] digits [. digits] [(e|E) [+-] digits]` (or `.digits`) from b[s...] (before
    /// `limit`) to the correctly rounded Float; nil when no number starts at `s`; and the index
    /// after the number. Fast path: up to 19 significant digits in a UInt64, times a power of ten
    /// in Double (error under 4 double ulps, far below the 29 bits Float drops), used unless the
    /// result lies within 16 ulps of a Float rounding midpoint or outside the normal Float range;
    /// then strtof (via Float(String)) decides.
    @inline(__always)
    private static func scanNumber(_ b: UnsafeBufferPointer<UInt8>, _ s: Int, _ limit: Int,
                                   _ p10: UnsafePointer<Double>) -> (Cell?, Int) {
        var i = s
        var negative = false
        if i < limit && (b[i] == 43 || b[i] == 45) { negative = b[i] == 45; i += 1 }
        var m: UInt64 = 0
        var digits = 0, scale = 0
        let mantissaStart = i
        while i < limit && b[i] == 48 { i += 1 }  // leading zeros
        eightAtATime(b, &i, limit, &m, &digits, &scale, fraction: false)
        while i < limit, case let d = b[i] &- 48, d < 10 {
            if digits < 19 { m = m &* 10 &+ UInt64(d); digits += 1 } else { scale += 1 }
            i += 1
        }
        var sawDigit = i > mantissaStart
        if i < limit && b[i] == 46 {  // '.'
            i += 1
            let fractionStart = i
            if m == 0 { while i < limit && b[i] == 48 { i += 1; scale -= 1 } }
            eightAtATime(b, &i, limit, &m, &digits, &scale, fraction: true)
            while i < limit, case let d = b[i] &- 48, d < 10 {
                if digits < 19 { m = m &* 10 &+ UInt64(d); digits += 1; scale -= 1 }
                i += 1
            }
            sawDigit = sawDigit || i > fractionStart
        }
        guard sawDigit else { return (nil, s) }
        if i < limit && (b[i] | 0x20) == 101 {  // 'e' or 'E'
            var j = i + 1
            var expNegative = false
            if j < limit && (b[j] == 43 || b[j] == 45) { expNegative = b[j] == 45; j += 1 }
            var x = 0
            let start = j
            while j < limit, case let d = b[j] &- 48, d < 10 {
                if x < 100_000 { x = x * 10 + Int(d) }
                j += 1
            }
            if j > start {  // else the 'e' is not part of the number
                scale += expNegative ? -x : x
                i = j
            }
        }
        if m == 0 { return (.value(negative ? -0.0 : 0.0), i) }
        if scale >= -64 && scale <= 38 {
            let d = Double(m) * p10[scale + 64]
            let low = Int(d.bitPattern & 0x1FFF_FFFF) - 0x1000_0000
            if d >= Double(Float.leastNormalMagnitude) && d < Double(Float.greatestFiniteMagnitude)
                && (low > 16 || low < -16) {
                let f = Float(d)
                return (.value(negative ? -f : f), i)
            }
        }
        // Slow, exact path (rare): far exponents, subnormals, overflow, near-midpoints.
        guard let f = Float(String(decoding: UnsafeBufferPointer(rebasing: b[s..<i]), as: UTF8.self)) else {
            return (.notNumber, i)
        }
        return (f.isFinite ? .value(f) : .outOfRange, i)
    }

    /// Takes digits 8 bytes at a time (SWAR) while the mantissa has room for 8 more of the 19.
    @inline(__always)
    private static func eightAtATime(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int, _ limit: Int, _ m: inout UInt64,
                                     _ digits: inout Int, _ scale: inout Int, fraction: Bool) {
        while digits <= 11 && i + 8 <= limit {
            let v = UInt64(littleEndian: UnsafeRawPointer(b.baseAddress! + i).loadUnaligned(as: UInt64.self))
            // A byte is a digit iff its high nibble is 3, also after adding 6 (a carry only starts
            // at a non-digit byte and only reaches later bytes).
            let bad = (v & 0xF0F0_F0F0_F0F0_F0F0 ^ 0x3030_3030_3030_3030)
                | ((v &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0 ^ 0x3030_3030_3030_3030)
            let c = bad == 0 ? 8 : bad.trailingZeroBitCount / 8
            if c == 0 { return }
            var x = (v << UInt64(64 - 8 * c)) & 0x0F0F_0F0F_0F0F_0F0F  // the c digits, zeros before them
            x = x &* 10 &+ (x >> 8)
            let mask: UInt64 = 0x0000_00FF_0000_00FF
            let high = (x & mask) &* 0x000F_4240_0000_0064  // 100 + 1_000_000 << 32
            let low = ((x >> 16) & mask) &* 0x0000_2710_0000_0001  // 1 + 10_000 << 32
            x = (high &+ low) >> 32
            let p: UInt64 = switch c { case 1: 10; case 2: 100; case 3: 1000; case 4: 10_000; case 5: 100_000
                                       case 6: 1_000_000; case 7: 10_000_000; default: 100_000_000 }
            m = m &* p &+ (x & 0xFFFF_FFFF)
            digits += c
            if fraction { scale -= c }
            i += c
            if c < 8 { return }
        }
    }

    /// nan / inf / infinity in any case, with an optional sign; otherwise not a number.
    private static func special(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Cell {
        let negative = !r.isEmpty && b[r.lowerBound] == 45
        let signed = !r.isEmpty && (negative || b[r.lowerBound] == 43)
        switch String(decoding: UnsafeBufferPointer(rebasing: b[(signed ? r.lowerBound + 1 : r.lowerBound)..<r.upperBound]), as: UTF8.self).lowercased() {
        case "nan": return .nan
        case "inf", "infinity": return .infinity(negative: negative)
        default: return .notNumber
        }
    }
}
