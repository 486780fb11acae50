/// An embedded 5×7 bitmap font (printable ASCII 32–126) with two descender rows, so every glyph is
/// 5 px wide and 9 px tall; characters advance 6 px. Unknown characters draw as '?'.
public enum BitmapFont {
    public static let glyphWidth = 5
    public static let advance = 6
    /// Height of capitals and digits (rows 0–6); descenders use rows 7–8.
    public static let capHeight = 7
    public static let lineHeight = 9

    /// Glyph rows, top to bottom ('#' = ink); rows not listed are blank.
    static let table: [Character: String] = [
        " ": "",
        "!": "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..",
        "\"": ".#.#. .#.#. .#.#.",
        "#": ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.",
        "$": "..#.. .#### #.#.. .###. ..#.# ####. ..#..",
        "%": "##... ##..# ...#. ..#.. .#... #..## ...##",
        "&": ".##.. #..#. #.#.. .#... #.#.# #..#. .##.#",
        "'": "..#.. ..#.. .#...",
        "(": "...#. ..#.. .#... .#... .#... ..#.. ...#.",
        ")": ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
        "*": "..... ..#.. #.#.# .###. #.#.# ..#.. .....",
        "+": "..... ..#.. ..#.. ##### ..#.. ..#.. .....",
        ",": "..... ..... ..... ..... ..... .##.. ..#.. .#...",
        "-": "..... ..... ..... ##### ..... ..... .....",
        ".": "..... ..... ..... ..... ..... .##.. .##..",
        "/": "..... ....# ...#. ..#.. .#... #.... .....",
        "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
        "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
        "2": ".###. #...# ....# ...#. ..#.. .#... #####",
        "3": ".###. #...# ....# ..##. ....# #...# .###.",
        "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
        "5": "##### #.... ####. ....# ....# #...# .###.",
        "6": "..##. .#... #.... ####. #...# #...# .###.",
        "7": "##### ....# ...#. ..#.. .#... .#... .#...",
        "8": ".###. #...# #...# .###. #...# #...# .###.",
        "9": ".###. #...# #...# .#### ....# ...#. .##..",
        ":": "..... .##.. .##.. ..... .##.. .##.. .....",
        ";": "..... .##.. .##.. ..... .##.. ..#.. .#...",
        "<": "...#. ..#.. .#... #.... .#... ..#.. ...#.",
        "=": "..... ..... ##### ..... ##### ..... .....",
        ">": ".#... ..#.. ...#. ....# ...#. ..#.. .#...",
        "?": ".###. #...# ....# ...#. ..#.. ..... ..#..",
        "@": ".###. #...# ....# .##.# #.#.# #.#.# .###.",
        "A": ".###. #...# #...# ##### #...# #...# #...#",
        "B": "####. #...# #...# ####. #...# #...# ####.",
        "C": ".###. #...# #.... #.... #.... #...# .###.",
        "D": "####. #...# #...# #...# #...# #...# ####.",
        "E": "##### #.... #.... ####. #.... #.... #####",
        "F": "##### #.... #.... ####. #.... #.... #....",
        "G": ".###. #...# #.... #.### #...# #...# .####",
        "H": "#...# #...# #...# ##### #...# #...# #...#",
        "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
        "J": "..### ...#. ...#. ...#. ...#. #..#. .##..",
        "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
        "L": "#.... #.... #.... #.... #.... #.... #####",
        "M": "#...# ##.## #.#.# #.#.# #...# #...# #...#",
        "N": "#...# #...# ##..# #.#.# #..## #...# #...#",
        "O": ".###. #...# #...# #...# #...# #...# .###.",
        "P": "####. #...# #...# ####. #.... #.... #....",
        "Q": ".###. #...# #...# #...# #.#.# #..#. .##.#",
        "R": "####. #...# #...# ####. #.#.. #..#. #...#",
        "S": ".###. #...# #.... .###. ....# #...# .###.",
        "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
        "U": "#...# #...# #...# #...# #...# #...# .###.",
        "V": "#...# #...# #...# #...# #...# .#.#. ..#..",
        "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
        "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
        "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
        "Z": "##### ....# ...#. ..#.. .#... #.... #####",
        "[": ".###. .#... .#... .#... .#... .#... .###.",
        "\\": "..... #.... .#... ..#.. ...#. ....# .....",
        "]": ".###. ...#. ...#. ...#. ...#. ...#. .###.",
        "^": "..#.. .#.#. #...#",
        "_": "..... ..... ..... ..... ..... ..... ..... #####",
        "`": ".#... ..#.. ...#.",
        "a": "..... ..... .###. ....# .#### #...# .####",
        "b": "#.... #.... #.##. ##..# #...# #...# ####.",
        "c": "..... ..... .###. #.... #.... #...# .###.",
        "d": "....# ....# .##.# #..## #...# #...# .####",
        "e": "..... ..... .###. #...# ##### #.... .###.",
        "f": "..##. .#..# .#... ###.. .#... .#... .#...",
        "g": "..... ..... .#### #...# #...# #...# .#### ....# .###.",
        "h": "#.... #.... #.##. ##..# #...# #...# #...#",
        "i": "..#.. ..... .##.. ..#.. ..#.. ..#.. .###.",
        "j": "...#. ..... ..##. ...#. ...#. ...#. ...#. #..#. .##..",
        "k": "#.... #.... #..#. #.#.. ##... #.#.. #..#.",
        "l": ".##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
        "m": "..... ..... ##.#. #.#.# #.#.# #...# #...#",
        "n": "..... ..... #.##. ##..# #...# #...# #...#",
        "o": "..... ..... .###. #...# #...# #...# .###.",
        "p": "..... ..... ####. #...# #...# #...# ####. #.... #....",
        "q": "..... ..... .#### #...# #...# #...# .#### ....# ....#",
        "r": "..... ..... #.##. ##..# #.... #.... #....",
        "s": "..... ..... .###. #.... .###. ....# ####.",
        "t": ".#... .#... ###.. .#... .#... .#..# ..##.",
        "u": "..... ..... #...# #...# #...# #..## .##.#",
        "v": "..... ..... #...# #...# #...# .#.#. ..#..",
        "w": "..... ..... #...# #...# #.#.# #.#.# .#.#.",
        "x": "..... ..... #...# .#.#. ..#.. .#.#. #...#",
        "y": "..... ..... #...# #...# #...# #...# .#### ....# .###.",
        "z": "..... ..... ##### ...#. ..#.. .#... #####",
        "{": "...#. ..#.. ..#.. .#... ..#.. ..#.. ...#.",
        "|": "..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
        "}": ".#... ..#.. ..#.. ...#. ..#.. ..#.. .#...",
        "~": "..... ..... .#... #.#.# ...#. ..... .....",
    ]

    /// Row bit masks (bit 4 = leftmost column) for ASCII 0–127; nil where no glyph exists.
    static let glyphs: [[UInt8]?] = {
        var out = [[UInt8]?](repeating: nil, count: 128)
        for (ch, spec) in table {
            var rows = [UInt8](repeating: 0, count: lineHeight)
            for (r, row) in spec.split(separator: " ").enumerated() where r < lineHeight {
                for (c, p) in row.enumerated() where p == "#" && c < glyphWidth { rows[r] |= 1 << (glyphWidth - 1 - c) }
            }
            out[Int(ch.asciiValue!)] = rows
        }
        return out
    }()

    /// The rows of `ch`'s glyph ('?' for characters without one).
    public static func glyph(_ ch: Character) -> [UInt8] {
        if let a = ch.asciiValue, let g = glyphs[Int(a)] { return g }
        return glyphs[Int(Character("?").asciiValue!)]!
    }

    /// Whether `ch` has its own glyph.
    public static func hasGlyph(_ ch: Character) -> Bool {
        guard let a = ch.asciiValue else { return false }
        return glyphs[Int(a)] != nil
    }

    /// Size of the box `text` occupies at `scale`: 6·n − 1 by 9 px, times the scale.
    public static func size(_ text: String, scale: Int = 1) -> (width: Int, height: Int) {
        let n = text.count
        return (n == 0 ? 0 : (advance * n - 1) * scale, lineHeight * scale)
    }
}

/// Where the point given to `Canvas.drawText` sits on the text box.
public struct TextAnchor: Sendable, Equatable {
    public enum Horizontal: Sendable { case left, center, right }
    /// `.top`/`.bottom`: edges of the 9-row box; `.middle`: centre of the capital height (rows 0–6),
    /// so digits centre on a tick.
    public enum Vertical: Sendable { case top, middle, bottom }
    public var horizontal: Horizontal
    public var vertical: Vertical
    public init(_ horizontal: Horizontal, _ vertical: Vertical) {
        self.horizontal = horizontal
        self.vertical = vertical
    }
    public static let topLeft = TextAnchor(.left, .top)
    public static let topCenter = TextAnchor(.center, .top)
    public static let middleLeft = TextAnchor(.left, .middle)
    public static let middleRight = TextAnchor(.right, .middle)
    public static let center = TextAnchor(.center, .middle)
}

extension Canvas {
    /// Draws `text` with the bitmap font; each font pixel becomes a `scale`×`scale` block. With the
    /// default anchor, (x, y) is the top-left corner of the box `BitmapFont.size(text, scale:)`.
    /// Returns the box drawn.
    @discardableResult
    public mutating func drawText(_ text: String, x: Int, y: Int, _ color: RGB, scale: Int = 1,
                                  anchor: TextAnchor = .topLeft) -> PixelRect {
        let (w, h) = BitmapFont.size(text, scale: scale)
        let left: Int, top: Int
        switch anchor.horizontal {
        case .left: left = x
        case .center: left = x - w / 2
        case .right: left = x - w
        }
        switch anchor.vertical {
        case .top: top = y
        case .middle: top = y - BitmapFont.capHeight * scale / 2
        case .bottom: top = y - h
        }
        for (i, ch) in text.enumerated() {
            let rows = BitmapFont.glyph(ch), gx = left + i * BitmapFont.advance * scale
            for (r, bits) in rows.enumerated() where bits != 0 {
                for c in 0..<BitmapFont.glyphWidth where bits & (1 << (BitmapFont.glyphWidth - 1 - c)) != 0 {
                    fillRect(x: gx + c * scale, y: top + r * scale, width: scale, height: scale, color)
                }
            }
        }
        return PixelRect(x: left, y: top, width: w, height: h)
    }

    /// Draws `text` rotated 90° counter-clockwise (reading bottom to top), centred on (cx, cy), as
    /// for a y-axis label. Returns the box drawn.
    @discardableResult
    public mutating func drawTextVertical(_ text: String, cx: Int, cy: Int, _ color: RGB, scale: Int = 1) -> PixelRect {
        let (w, h) = BitmapFont.size(text, scale: scale)
        // Rotated box: h wide, w tall. Text x runs upward from the bottom of the box.
        let left = cx - h / 2, bottom = cy + w / 2
        for (i, ch) in text.enumerated() {
            let rows = BitmapFont.glyph(ch)
            for (r, bits) in rows.enumerated() where bits != 0 {
                for c in 0..<BitmapFont.glyphWidth where bits & (1 << (BitmapFont.glyphWidth - 1 - c)) != 0 {
                    let tx = (i * BitmapFont.advance + c) * scale  // along the text
                    fillRect(x: left + r * scale, y: bottom - tx - scale, width: scale, height: scale, color)
                }
            }
        }
        return PixelRect(x: left, y: bottom - w, width: h, height: w)
    }
}
