import Foundation

/// How numbers of metrics and histories are printed (evaluate's last line, `status`, the report):
/// integers as integers (`10000`, not `1e+04`), others with four significant digits, large ones
/// with one decimal, never in exponent notation above 1e-4.
public enum MetricText {
    public static func format(_ v: Double) -> String {
        guard v.isFinite else { return v.isNaN ? "nan" : (v > 0 ? "inf" : "-inf") }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        let a = abs(v)
        if a >= 1000 { return String(format: "%.1f", v) }
        if a >= 1e-4 {
            // Four significant digits without exponent, trailing zeros dropped.
            let decimals = max(0, 3 - Int(floor(log10(a))))
            var s = String(format: "%.\(decimals)f", v)
            if s.contains(".") {
                while s.hasSuffix("0") { s.removeLast() }
                if s.hasSuffix(".") { s.removeLast() }
            }
            return s
        }
        return String(format: "%.3g", v)
    }

    /// The flat `metrics.json` of the evaluate stage, in file order (keys as written).
    public static func readMetrics(_ url: URL) -> [(key: String, value: Double?)]? {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return nil }
        var out: [(String, Double?)] = []
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            let raw = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: " ,"))
            out.append((key, Double(raw)))
        }
        return out
    }

    /// Rows `metric | value | real floor` of a metrics list: every `X_real_floor` key beside `X`.
    public static func table(_ metrics: [(key: String, value: Double?)]) -> [(metric: String, value: String, floor: String)] {
        let byKey = Dictionary(metrics.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        return metrics.filter { !$0.key.hasSuffix("_real_floor") }.map { m in
            let floor = byKey[m.key + "_real_floor"].map { $0.map(format) ?? "null" } ?? ""
            return (m.key, m.value.map(format) ?? "null", floor)
        }
    }

    /// Columns padded to their widest cell, two spaces apart, no trailing spaces.
    public static func aligned(_ rows: [[String]], indent: String = "") -> String {
        let widths = (0..<(rows.map(\.count).max() ?? 0)).map { c in rows.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        return rows.map { row in
            let cells = row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
            return indent + cells.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }.joined(separator: "\n")
    }
}
