/// An 8-bit sRGB colour.
public struct RGB: Sendable, Hashable, CustomStringConvertible {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8

    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    /// A grey level (0 = black, 255 = white).
    public init(gray: UInt8) { self.init(gray, gray, gray) }

    public static let white = RGB(255, 255, 255)
    public static let black = RGB(0, 0, 0)
    public static let gray = RGB(150, 150, 150)
    public static let lightGray = RGB(225, 225, 225)
    public static let darkGray = RGB(80, 80, 80)

    // Tableau-10 based palette: distinguishable, also on a grey-scale print.
    public static let blue = RGB(31, 119, 180)
    public static let orange = RGB(255, 127, 14)
    public static let green = RGB(44, 160, 44)
    public static let red = RGB(214, 39, 40)
    public static let purple = RGB(148, 103, 189)
    public static let brown = RGB(140, 86, 75)

    /// Default series colours, in order (series i without an explicit colour gets `palette[i % 6]`).
    public static let palette: [RGB] = [.blue, .orange, .green, .red, .purple, .brown]

    /// `self` mixed with `other`: `t` = 0 gives `self`, 1 gives `other`.
    public func mixed(with other: RGB, _ t: Double) -> RGB {
        let t = min(max(t, 0), 1)
        func mix(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8((Double(a) * (1 - t) + Double(b) * t).rounded()) }
        return RGB(mix(r, other.r), mix(g, other.g), mix(b, other.b))
    }

    public var description: String { "RGB(\(r), \(g), \(b))" }
}
