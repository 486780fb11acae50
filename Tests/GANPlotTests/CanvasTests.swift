import Testing
@testable import GANPlot

@Suite struct CanvasTests {
    /// Bounding box of all pixels that differ from `background`, or nil.
    static func inkBox(_ c: Canvas, background: RGB = .white) -> Canvas.PixelRect? {
        var x0 = Int.max, y0 = Int.max, x1 = -1, y1 = -1
        for y in 0..<c.height {
            for x in 0..<c.width where c.pixel(x: x, y: y) != background {
                x0 = min(x0, x); y0 = min(y0, y); x1 = max(x1, x); y1 = max(y1, y)
            }
        }
        return x1 < 0 ? nil : Canvas.PixelRect(x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1)
    }

    @Test func fontCoversRequiredCharacters() {
        let required = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.,-+:()%=/_[] "
        for ch in required { #expect(BitmapFont.hasGlyph(ch), "no glyph for \(ch)") }
        for ch in required where ch != " " { #expect(BitmapFont.glyph(ch).contains { $0 != 0 }, "blank glyph for \(ch)") }
        // All printable ASCII has a glyph, all distinct.
        let printable = (32...126).map { Character(UnicodeScalar(UInt8($0))) }
        #expect(printable.allSatisfy(BitmapFont.hasGlyph))
        #expect(Set(printable.map { BitmapFont.glyph($0) }).count == printable.count)
        #expect(BitmapFont.glyph("é") == BitmapFont.glyph("?"))
    }

    @Test(arguments: [1, 2])
    func textInkStaysInsideItsBox(scale: Int) throws {
        var c = Canvas(width: 200, height: 60)
        let text = "Loss (D), p_data: -1.5e3 [g]"
        let box = c.drawText(text, x: 7, y: 11, .black, scale: scale)
        let size = BitmapFont.size(text, scale: scale)
        #expect(box == Canvas.PixelRect(x: 7, y: 11, width: size.width, height: size.height))
        #expect(size == ((6 * text.count - 1) * scale, 9 * scale))
        let ink = try #require(Self.inkBox(c))
        #expect(ink.x >= box.x && ink.y >= box.y && ink.maxX <= box.maxX && ink.maxY <= box.maxY)
        #expect(ink.x == box.x && ink.y == box.y)  // "L" starts at the top-left corner
        #expect(ink.maxY == box.maxY)  // "p" and "g" descend to the last row
    }

    @Test func textAnchorsAndVerticalText() throws {
        var c = Canvas(width: 100, height: 100)
        let box = c.drawText("10", x: 50, y: 40, .black, scale: 2, anchor: .middleRight)
        #expect(box.maxX == 50 && box.y == 40 - 7)  // cap height 14 centred on y = 40
        var v = Canvas(width: 100, height: 100)
        let vbox = v.drawTextVertical("abc", cx: 30, cy: 50, .black)
        #expect(vbox.width == 9 && vbox.height == 17)
        let ink = try #require(Self.inkBox(v))
        #expect(ink.x >= vbox.x && ink.maxX <= vbox.maxX && ink.y >= vbox.y && ink.maxY <= vbox.maxY)
        // Reads bottom to top: in "._" the "." (rows 5-6) is at the bottom, the "_" (row 7) on top.
        var r = Canvas(width: 100, height: 100)
        let rbox = r.drawTextVertical("._", cx: 30, cy: 50, .black)
        #expect(rbox.height == 11 && rbox.width == 9)
        #expect(r.pixel(x: rbox.x + 5, y: rbox.maxY - 2) == .black)  // "." near the bottom
        #expect(r.pixel(x: rbox.x + 7, y: rbox.maxY - 2) == .white)
        #expect(r.pixel(x: rbox.x + 7, y: rbox.y + 1) == .black)  // "_" near the top
    }

    @Test func linesAndShapes() throws {
        var c = Canvas(width: 40, height: 30)
        c.drawLine(x0: 5, y0: 10, x1: 30, y1: 10, .black, thickness: 1)
        #expect(c.pixel(x: 5, y: 10) == .black && c.pixel(x: 30, y: 10) == .black && c.pixel(x: 17, y: 10) == .black)
        #expect(c.pixel(x: 17, y: 9) == .white && c.pixel(x: 17, y: 11) == .white)
        c.drawLine(x0: 5, y0: 20, x1: 30, y1: 20, .red, thickness: 2)
        #expect(c.pixel(x: 17, y: 20) == .red)
        #expect(c.pixel(x: 17, y: 19) != .white && c.pixel(x: 17, y: 21) != .white && c.pixel(x: 17, y: 18) == .white)
        // Steep anti-aliased line: every row between the ends has ink.
        c.drawLine(x0: 35, y0: 2, x1: 37, y1: 27, .blue)
        for y in 2...27 { #expect((34...38).contains { c.pixel(x: $0, y: y) != .white }) }

        var d = Canvas(width: 20, height: 20)
        d.fillDisc(cx: 10, cy: 10, radius: 3, .green)
        #expect(d.pixel(x: 10, y: 10) == .green && d.pixel(x: 12, y: 10) == .green && d.pixel(x: 10, y: 15) == .white)
        d.fillRect(x: 0, y: 0, width: 2, height: 2, .black)
        #expect(d.pixel(x: 1, y: 1) == .black && d.pixel(x: 2, y: 2) == .white)
        d.clip = Canvas.PixelRect(x: 15, y: 15, width: 5, height: 5)
        d.fillRect(x: 0, y: 0, width: 20, height: 20, .red)
        #expect(d.pixel(x: 14, y: 14) != .red && d.pixel(x: 15, y: 15) == .red)
        var e = Canvas(width: 20, height: 20)
        e.drawCircle(cx: 10, cy: 10, radius: 6, .black)
        #expect(e.pixel(x: 10, y: 10) == .white && e.pixel(x: 16, y: 10) == .black && e.pixel(x: 10, y: 4) == .black)
        // Off-canvas drawing is clipped, not a crash.
        e.drawLine(x0: -100, y0: -50, x1: 300, y1: 70, .red, thickness: 2)
        e.fillDisc(cx: -5, cy: 25, radius: 8, .red)
        e.drawText("off", x: 15, y: -3, .red, scale: 3)
    }

    @Test func polylineDashesAndGaps() {
        var c = Canvas(width: 60, height: 10)
        c.drawPolyline([(0, 5), (59, 5)], .black, thickness: 1, dash: (6, 4))
        #expect(c.pixel(x: 2, y: 5) == .black && c.pixel(x: 8, y: 5) == .white && c.pixel(x: 12, y: 5) == .black)
        var g = Canvas(width: 60, height: 10)
        g.drawPolyline([(0, 5), (20, 5), (.nan, .nan), (40, 5), (59, 5)], .black)
        #expect(g.pixel(x: 10, y: 5) == .black && g.pixel(x: 30, y: 5) == .white && g.pixel(x: 50, y: 5) == .black)
    }
}
