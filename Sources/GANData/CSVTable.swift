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

    /// Writes `values` (row-major, `columns` per row) to `path` atomically (`path.tmp`, renamed).
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
                    try out.write(buf)
                    buf.removeAll(keepingCapacity: true)
                }
            } else {
                buf.append(UInt8(ascii: ","))
            }
        }
        try out.write(buf)
    }

    /// Quotes a header name that would otherwise not read back as itself (or not as a header).
    private static func quotedIfNeeded(_ name: String) -> String {
        let needs = name.isEmpty || name.first!.isWhitespace || name.last!.isWhitespace
            || name.hasPrefix("#") || name.contains(",") || name.contains("\"")
            || Array(name.utf8).withUnsafeBufferPointer { parseNumber($0, 0, $0.count) } != .notNumber
        return needs ? "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : name
    }

    // MARK: - Parsing

    static func parse(_ b: UnsafeBufferPointer<UInt8>, name: String, hasHeader: Bool?) throws
        -> (columns: Int, rows: Int, values: [Float], header: [String]?) {
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
            var e = pos
            while e < n && b[e] != 10 { e += 1 }
            pos = e + 1
            var s = lineStart
            while s < e && isSpace(b[s]) { s += 1 }
            while e > s && isSpace(b[e - 1]) { e -= 1 }
            if s == e || b[s] == UInt8(ascii: "#") { continue }
            if !sawContent {
                sawContent = true
                if hasHeader ?? looksLikeHeader(b, s, e) {
                    header = try headerCells(b, s, e, name: name, line: line)
                    columns = header!.count
                    headerLine = line
                    continue
                }
            }
            var col = 0, cs = s
            while true {
                var ce = cs
                while ce < e && b[ce] != 44 { ce += 1 }  // ','
                col += 1
                var ts = cs, te = ce
                while ts < te && isSpace(b[ts]) { ts += 1 }
                while te > ts && isSpace(b[te - 1]) { te -= 1 }
                switch parseNumber(b, ts, te) {
                case .value(let v): values.append(v)
                case let bad: throw cellError(bad, b, ts, te, name: name, line: line, column: col)
                }
                if ce == e { break }
                cs = ce + 1
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

    @inline(__always) private static func isSpace(_ c: UInt8) -> Bool { c == 32 || (c >= 9 && c <= 13) }

    private static func cellError(_ r: Cell, _ b: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int,
                                  name: String, line: Int, column: Int) -> DataError {
        let at = "line \(line), column \(column): "
        var text = String(decoding: UnsafeBufferPointer(rebasing: b[s..<e]), as: UTF8.self)
        if text.count > 40 { text = String(text.prefix(40)) + "..." }
        switch r {
        case .nan: return DataError(name, at + "NaN is not allowed")
        case .infinity(let negative): return DataError(name, at + (negative ? "-inf" : "inf") + " is not allowed")
        case .outOfRange: return DataError(name, at + "\"\(text)\" is out of range for a 32-bit float")
        default:
            if s == e { return DataError(name, at + "empty cell, expected a number") }
            let hint = text.contains(";") || text.contains("\t") ? " (cells must be separated by commas)" : ""
            return DataError(name, at + "\"\(text)\" is not a number" + hint)
        }
    }

    /// A line is a header when one of its cells is non-empty and not a number (NaN and inf count as numbers).
    private static func looksLikeHeader(_ b: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) -> Bool {
        var cs = s
        while cs <= e {
            var ce = cs
            while ce < e && b[ce] != 44 { ce += 1 }
            var ts = cs, te = ce
            while ts < te && isSpace(b[ts]) { ts += 1 }
            while te > ts && isSpace(b[te - 1]) { te -= 1 }
            if te > ts && parseNumber(b, ts, te) == .notNumber { return true }
            cs = ce + 1
        }
        return false
    }

    /// Splits a header line into names: cells trimmed; a cell may be double-quoted, `""` being a quote.
    private static func headerCells(_ b: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int,
                                    name: String, line: Int) throws -> [String] {
        var names: [String] = []
        var i = s
        while true {
            while i < e && isSpace(b[i]) { i += 1 }
            var cell: [UInt8] = []
            if i < e && b[i] == 34 {  // '"'
                i += 1
                while true {
                    guard i < e else { throw DataError(name, "line \(line), column \(names.count + 1): unterminated quote in the header") }
                    if b[i] == 34 {
                        if i + 1 < e && b[i + 1] == 34 { cell.append(34); i += 2; continue }
                        i += 1
                        break
                    }
                    cell.append(b[i])
                    i += 1
                }
                while i < e && isSpace(b[i]) { i += 1 }
                guard i == e || b[i] == 44 else {
                    throw DataError(name, "line \(line), column \(names.count + 1): text after the closing quote in the header")
                }
            } else {
                let cs = i
                while i < e && b[i] != 44 { i += 1 }
                var te = i
                while te > cs && isSpace(b[te - 1]) { te -= 1 }
                cell.append(contentsOf: b[cs..<te])
            }
            names.append(String(decoding: cell, as: UTF8.self))
            if i >= e { return names }
            i += 1  // the comma
        }
    }

    // MARK: - Numbers

    enum Cell: Equatable {
        case value(Float), notNumber, nan, infinity(negative: Bool), outOfRange
    }

    /// 10^0 ... 10^64 as correctly rounded doubles.
    private static let powersOf10: [Double] = (0...64).map { Double("1e\($0)")! }

    /// Parses `[+-] digits [. digits] [(e|E) [+-] digits]` (or `.digits`) in b[s..<e] to the
    /// correctly rounded Float. Fast path: up to 19 significant digits in a UInt64, scaled by a
    /// power of ten in Double (error < 4 double ulps, far below the 29 bits Float drops), used
    /// unless the result lies within 16 ulps of a Float rounding midpoint or outside the normal
    /// Float range; then the exact (strtof) conversion decides.
    static func parseNumber(_ b: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) -> Cell {
        var i = s
        var negative = false
        if i < e && (b[i] == 43 || b[i] == 45) { negative = b[i] == 45; i += 1 }
        var m: UInt64 = 0
        var digits = 0, scale = 0
        var sawDigit = false
        while i < e, case let d = b[i] &- 48, d < 10 {
            sawDigit = true
            if digits < 19 {
                if m != 0 || d != 0 { m = m * 10 + UInt64(d); digits += 1 }
            } else {
                scale += 1
            }
            i += 1
        }
        if i < e && b[i] == 46 {  // '.'
            i += 1
            while i < e, case let d = b[i] &- 48, d < 10 {
                sawDigit = true
                if digits < 19 {
                    if m != 0 || d != 0 { m = m * 10 + UInt64(d); digits += 1 }
                    scale -= 1
                }
                i += 1
            }
        }
        guard sawDigit else { return special(b, s, e) }
        if i < e && (b[i] | 0x20) == 101 {  // 'e' or 'E'
            i += 1
            var expNegative = false
            if i < e && (b[i] == 43 || b[i] == 45) { expNegative = b[i] == 45; i += 1 }
            var x = 0
            let start = i
            while i < e, case let d = b[i] &- 48, d < 10 {
                if x < 100_000 { x = x * 10 + Int(d) }
                i += 1
            }
            guard i > start else { return .notNumber }
            scale += expNegative ? -x : x
        }
        guard i == e else { return .notNumber }
        if m == 0 { return .value(negative ? -0.0 : 0.0) }
        if scale >= -64 && scale <= 38 {
            let d = scale >= 0 ? Double(m) * powersOf10[scale] : Double(m) / powersOf10[-scale]
            let low = Int(d.bitPattern & 0x1FFF_FFFF) - 0x1000_0000
            if d >= Double(Float.leastNormalMagnitude) && d < Double(Float.greatestFiniteMagnitude)
                && (low > 16 || low < -16) {
                let f = Float(d)
                return .value(negative ? -f : f)
            }
        }
        // Slow, exact path (rare): far exponents, subnormals, overflow, near-midpoints.
        guard let f = Float(String(decoding: UnsafeBufferPointer(rebasing: b[s..<e]), as: UTF8.self)) else {
            return .notNumber
        }
        return f.isFinite ? .value(f) : .outOfRange
    }

    /// nan / inf / infinity in any case, with an optional sign; otherwise not a number.
    private static func special(_ b: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) -> Cell {
        var i = s
        var negative = false
        if i < e && (b[i] == 43 || b[i] == 45) { negative = b[i] == 45; i += 1 }
        let word = String(decoding: UnsafeBufferPointer(rebasing: b[i..<e]), as: UTF8.self).lowercased()
        switch word {
        case "nan": return .nan
        case "inf", "infinity": return .infinity(negative: negative)
        default: return .notNumber
        }
    }
}
