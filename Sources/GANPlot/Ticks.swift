import Foundation

/// "Nice" axis ticks (steps 1, 2 or 5 × 10^k) and compact tick labels.
public enum Ticks {
    /// A usable axis range for data spanning [lo, hi]: non-finite bounds become [0, 1], bounds are
    /// clamped to ±1e300; a zero-width
    /// range is widened (by 10 % of |value|, or ±1 around 0) so ticks and scaling never divide by 0.
    public static func usableRange(_ lo: Double, _ hi: Double) -> ClosedRange<Double> {
        guard lo.isFinite, hi.isFinite else { return 0...1 }
        let limit = 1e300  // keeps spans and margins finite
        let a = min(max(min(lo, hi), -limit), limit), b = min(max(max(lo, hi), -limit), limit)
        if b - a > max(abs(a), abs(b)) * 1e-12, b - a > Double.leastNormalMagnitude { return a...b }
        let d = a == 0 ? 1 : abs(a) * 0.1
        return (a - d)...(b + d)
    }

    /// The smallest step of the form {1, 2, 5} × 10^k that puts at most `maxCount` ticks in [lo, hi].
    public static func step(_ lo: Double, _ hi: Double, maxCount: Int = 8) -> Double {
        let r = usableRange(lo, hi)
        let span = r.upperBound - r.lowerBound, n = Double(max(maxCount, 2))
        var k = (log10(span / n)).rounded(.down) - 1
        while true {
            let magnitude = pow(10, k)
            for m in [1.0, 2, 5] {
                let s = m * magnitude
                if count(r.lowerBound, r.upperBound, s) <= Int(n) { return s }
            }
            k += 1
        }
    }

    /// Tick positions: the multiples of a nice step inside [lo, hi], at most `maxCount` (≥ 2) of them.
    /// Values are computed as `i · step` (no accumulated rounding; 0 is exactly 0).
    public static func ticks(_ lo: Double, _ hi: Double, maxCount: Int = 8) -> [Double] {
        let r = usableRange(lo, hi)
        let s = step(r.lowerBound, r.upperBound, maxCount: maxCount)
        let (i0, i1) = indices(r.lowerBound, r.upperBound, s)
        guard i1 >= i0 else { return [] }
        return (i0...i1).map { i in
            let v = Double(i) * s
            return i == 0 ? 0 : v
        }
    }

    private static func indices(_ lo: Double, _ hi: Double, _ s: Double) -> (Int, Int) {
        let eps = 1e-9
        let a = (lo / s - eps).rounded(.up), b = (hi / s + eps).rounded(.down)
        guard a.isFinite, b.isFinite, abs(a) < 1e15, abs(b) < 1e15 else { return (0, -1) }
        return (Int(a), Int(b))
    }

    private static func count(_ lo: Double, _ hi: Double, _ s: Double) -> Int {
        let (a, b) = indices(lo, hi, s)
        return b - a + 1
    }

    /// Labels for ticks spaced `step` apart, all in one style: fixed-point with the step's decimals,
    /// trailing zeros dropped ("0", "0.2", "-1.5", "12"), or, when that would need more than 3 decimals or a value reaches 1e5,
    /// compact scientific ("2e-4", "1.5e5").
    public static func labels(_ values: [Double], step: Double) -> [String] {
        let maxAbs = values.map(abs).max() ?? 0
        let stepExp = exponent(step)
        let decimals = max(0, -stepExp)
        if decimals > 3 || maxAbs >= 1e5 {
            return values.map { scientific($0, stepExponent: stepExp) }
        }
        return values.map { fixed($0, decimals: decimals) }
    }

    /// Labels for `ticks(lo, hi, maxCount:)`.
    public static func labels(for values: [Double]) -> [String] {
        guard values.count >= 2 else { return values.map { compact($0) } }
        return labels(values, step: values[1] - values[0])
    }

    /// A single number in a compact form (legend text, annotations): up to 4 significant digits.
    public static func compact(_ v: Double) -> String {
        guard v.isFinite else { return v.isNaN ? "nan" : (v > 0 ? "inf" : "-inf") }
        if v == 0 { return "0" }
        let e = exponent(v)
        if e >= 5 || e < -3 { return scientific(v, stepExponent: e - 3) }
        return fixed(v, decimals: max(0, 3 - e))
    }

    /// floor(log10 |v|), robust to log10 returning 2.9999999 for 1000.
    static func exponent(_ v: Double) -> Int { Int((log10(abs(v)) + 1e-9).rounded(.down)) }

    /// Fixed-point text rounded to `decimals` digits after the point, trailing zeros dropped, no "-0".
    static func fixed(_ v: Double, decimals: Int) -> String {
        let scale = pow(10, Double(decimals))
        let n = (abs(v) * scale).rounded()
        guard n < 9e15 else { return String(v) }
        let digits = String(Int64(n))
        let negative = v < 0 && n != 0
        var text: String
        if decimals == 0 {
            text = digits
        } else {
            let padded = String(repeating: "0", count: max(0, decimals + 1 - digits.count)) + digits
            text = String(padded.dropLast(decimals)) + "." + String(padded.suffix(decimals))
        }
        if decimals > 0 {  // compact: "1.50" -> "1.5", "2.0" -> "2"
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return (negative ? "-" : "") + text
    }

    /// "m e k" with the mantissa rounded to the tick step's precision and trailing zeros dropped.
    static func scientific(_ v: Double, stepExponent: Int) -> String {
        if v == 0 { return "0" }
        var e = exponent(v)
        var m = v / pow(10, Double(e))
        let decimals = max(0, e - stepExponent)
        let scale = pow(10, Double(decimals))
        m = (m * scale).rounded() / scale
        if abs(m) >= 10 { m /= 10; e += 1 }  // 9.99 rounded up to 10
        return fixed(m, decimals: decimals) + "e" + String(e)
    }
}
