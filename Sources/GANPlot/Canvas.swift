/// An RGB raster with simple anti-aliased drawing. Coordinates are pixels, (0, 0) is the top-left
/// pixel, x grows right, y grows down; pixel (i, j) has its centre at (i, j). Drawing is clipped to
/// `clip` (the whole canvas by default).
public struct Canvas: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `height · width · 3` bytes, row-major RGB.
    public var pixels: [UInt8]
    /// Drawing outside this rectangle is discarded.
    public var clip: PixelRect

    /// An integer rectangle: x in [x, x + width), y in [y, y + height).
    public struct PixelRect: Sendable, Equatable {
        public var x: Int, y: Int, width: Int, height: Int
        public init(x: Int, y: Int, width: Int, height: Int) {
            self.x = x
            self.y = y
            self.width = width
            self.height = height
        }
        public var maxX: Int { x + width }
        public var maxY: Int { y + height }
        public func contains(_ px: Int, _ py: Int) -> Bool { px >= x && px < maxX && py >= y && py < maxY }
        public func intersection(_ o: PixelRect) -> PixelRect {
            let x0 = max(x, o.x), y0 = max(y, o.y)
            return PixelRect(x: x0, y: y0, width: max(0, min(maxX, o.maxX) - x0), height: max(0, min(maxY, o.maxY) - y0))
        }
    }

    /// Marker shapes for scatter points.
    public enum Marker: Sendable, Equatable {
        case disc, circle, cross, plus, square
    }

    public init(width: Int, height: Int, background: RGB = .white) {
        precondition(width > 0 && height > 0, "Canvas size \(width)x\(height) must be positive")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        clip = PixelRect(x: 0, y: 0, width: width, height: height)
        for i in 0..<(width * height) {
            pixels[3 * i] = background.r
            pixels[3 * i + 1] = background.g
            pixels[3 * i + 2] = background.b
        }
    }

    public var bounds: PixelRect { PixelRect(x: 0, y: 0, width: width, height: height) }

    // MARK: - Pixels

    public func pixel(x: Int, y: Int) -> RGB {
        let o = (y * width + x) * 3
        return RGB(pixels[o], pixels[o + 1], pixels[o + 2])
    }

    /// Sets a pixel (ignored outside the canvas or the clip rectangle).
    public mutating func setPixel(x: Int, y: Int, _ color: RGB) {
        guard clip.contains(x, y), x >= 0, y >= 0, x < width, y < height else { return }
        let o = (y * width + x) * 3
        pixels[o] = color.r
        pixels[o + 1] = color.g
        pixels[o + 2] = color.b
    }

    /// Blends `color` over a pixel with opacity `alpha` in [0, 1].
    public mutating func blendPixel(x: Int, y: Int, _ color: RGB, alpha: Double) {
        guard alpha > 0, clip.contains(x, y), x >= 0, y >= 0, x < width, y < height else { return }
        if alpha >= 1 { return setPixel(x: x, y: y, color) }
        let o = (y * width + x) * 3
        func mix(_ old: UInt8, _ new: UInt8) -> UInt8 {
            let a = Double(old), b = Double(new)
            let v: Double = a + (b - a) * alpha
            return UInt8(v.rounded())
        }
        pixels[o] = mix(pixels[o], color.r)
        pixels[o + 1] = mix(pixels[o + 1], color.g)
        pixels[o + 2] = mix(pixels[o + 2], color.b)
    }

    // MARK: - Rectangles

    /// Fills the integer rectangle [x, x + width) × [y, y + height), optionally translucent.
    public mutating func fillRect(x: Int, y: Int, width w: Int, height h: Int, _ color: RGB, alpha: Double = 1) {
        let r = PixelRect(x: x, y: y, width: w, height: h).intersection(clip).intersection(bounds)
        guard r.width > 0, r.height > 0 else { return }
        for py in r.y..<r.maxY {
            for px in r.x..<r.maxX { blendPixel(x: px, y: py, color, alpha: alpha) }
        }
    }

    /// Outlines the rectangle with lines `thickness` px wide, drawn inside it.
    public mutating func strokeRect(x: Int, y: Int, width w: Int, height h: Int, _ color: RGB, thickness t: Int = 1) {
        fillRect(x: x, y: y, width: w, height: t, color)
        fillRect(x: x, y: y + h - t, width: w, height: t, color)
        fillRect(x: x, y: y, width: t, height: h, color)
        fillRect(x: x + w - t, y: y, width: t, height: h, color)
    }

    // MARK: - Lines

    /// An anti-aliased line (round caps), `thickness` px wide (1–2 is typical).
    public mutating func drawLine(x0: Double, y0: Double, x1: Double, y1: Double, _ color: RGB,
                                  thickness: Double = 1, alpha: Double = 1) {
        drawPolyline([(x0, y0), (x1, y1)], color, thickness: thickness, alpha: alpha)
    }

    /// An anti-aliased polyline. Each pixel's coverage is the maximum over the segments, applied once,
    /// so joints and dense short segments don't get darker. A non-finite point breaks the line.
    /// `dash` (on, off lengths in px) draws a dashed line.
    public mutating func drawPolyline(_ points: [(Double, Double)], _ color: RGB, thickness: Double = 1,
                                      alpha: Double = 1, dash: (Double, Double)? = nil) {
        let hw = max(thickness, 0.5) / 2
        let finite = points.filter { $0.0.isFinite && $0.1.isFinite }
        guard !finite.isEmpty else { return }
        let region = clip.intersection(bounds)
        // The coverage buffer covers the points' bounding box (clipped) plus the line half-width.
        let bx0 = max(region.x, Int(pixel: (finite.map(\.0).min()! - hw - 1).rounded(.down)))
        let by0 = max(region.y, Int(pixel: (finite.map(\.1).min()! - hw - 1).rounded(.down)))
        let bx1 = min(region.maxX - 1, Int(pixel: (finite.map(\.0).max()! + hw + 1).rounded(.up)))
        let by1 = min(region.maxY - 1, Int(pixel: (finite.map(\.1).max()! + hw + 1).rounded(.up)))
        guard bx1 >= bx0, by1 >= by0 else { return }
        let bw = bx1 - bx0 + 1
        var coverage = [Float](repeating: 0, count: bw * (by1 - by0 + 1))

        func segment(_ ax: Double, _ ay: Double, _ cx: Double, _ cy: Double) {
            let dx = cx - ax, dy = cy - ay, len2 = dx * dx + dy * dy
            let reach = hw + 1
            let sx0 = max(bx0, Int(pixel: (min(ax, cx) - reach).rounded(.down))), sx1 = min(bx1, Int(pixel: (max(ax, cx) + reach).rounded(.up)))
            let sy0 = max(by0, Int(pixel: (min(ay, cy) - reach).rounded(.down))), sy1 = min(by1, Int(pixel: (max(ay, cy) + reach).rounded(.up)))
            guard sx1 >= sx0, sy1 >= sy0 else { return }
            let steep = abs(dy) > abs(dx)
            // Walk the major axis; on the minor axis only the band around the line is visited.
            let (m0, m1) = steep ? (sy0, sy1) : (sx0, sx1)
            let band = Int((reach * 1.5).rounded(.up)) + 1
            for m in m0...m1 {
                let centre: Double
                if steep { centre = dy == 0 ? ax : ax + (Double(m) - ay) / dy * dx } else { centre = dx == 0 ? ay : ay + (Double(m) - ax) / dx * dy }
                let lo = steep ? max(sx0, Int(pixel: centre.rounded()) - band) : max(sy0, Int(pixel: centre.rounded()) - band)
                let hi = steep ? min(sx1, Int(pixel: centre.rounded()) + band) : min(sy1, Int(pixel: centre.rounded()) + band)
                guard hi >= lo else { continue }
                for n in lo...hi {
                    let px = steep ? n : m, py = steep ? m : n
                    var t = len2 == 0 ? 0 : ((Double(px) - ax) * dx + (Double(py) - ay) * dy) / len2
                    t = min(max(t, 0), 1)
                    let ex = Double(px) - (ax + t * dx), ey = Double(py) - (ay + t * dy)
                    let c = Float(min(max(hw + 0.5 - (ex * ex + ey * ey).squareRoot(), 0), 1))
                    let i = (py - by0) * bw + (px - bx0)
                    if c > coverage[i] { coverage[i] = c }
                }
            }
        }

        var run: [(Double, Double)] = []
        func flush() {
            if run.count == 1 { segment(run[0].0, run[0].1, run[0].0, run[0].1) }
            if let dash { dashed(run, dash, segment) } else {
                for k in 0..<max(0, run.count - 1) { segment(run[k].0, run[k].1, run[k + 1].0, run[k + 1].1) }
            }
            run.removeAll()
        }
        for p in points {
            if p.0.isFinite && p.1.isFinite { run.append(p) } else { flush() }
        }
        flush()

        for py in by0...by1 {
            for px in bx0...bx1 {
                let c = coverage[(py - by0) * bw + (px - bx0)]
                if c > 0 { blendPixel(x: px, y: py, color, alpha: Double(c) * alpha) }
            }
        }
    }

    /// Splits a polyline into dash segments by arc length.
    private func dashed(_ run: [(Double, Double)], _ dash: (Double, Double),
                        _ segment: (Double, Double, Double, Double) -> Void) {
        let period = max(dash.0 + dash.1, 1e-9)
        var phase = 0.0  // arc length position within the current period
        for k in 0..<max(0, run.count - 1) {
            let (ax, ay) = run[k], (cx, cy) = run[k + 1]
            let len = ((cx - ax) * (cx - ax) + (cy - ay) * (cy - ay)).squareRoot()
            var s = 0.0
            while s < len {
                let on = phase < dash.0
                let step = min(len - s, (on ? dash.0 : period) - phase)
                if on, step > 0 {
                    let t0 = s / len, t1 = (s + step) / len
                    segment(ax + t0 * (cx - ax), ay + t0 * (cy - ay), ax + t1 * (cx - ax), ay + t1 * (cy - ay))
                }
                s += max(step, 1e-9)
                phase += max(step, 1e-9)
                if phase >= period - 1e-12 { phase = 0 }
            }
        }
    }

    // MARK: - Circles and markers

    /// An anti-aliased filled disc.
    public mutating func fillDisc(cx: Double, cy: Double, radius r: Double, _ color: RGB, alpha: Double = 1) {
        let x0 = Int(pixel: (cx - r - 1).rounded(.down)), x1 = Int(pixel: (cx + r + 1).rounded(.up))
        let y0 = Int(pixel: (cy - r - 1).rounded(.down)), y1 = Int(pixel: (cy + r + 1).rounded(.up))
        guard let (x0, x1, y0, y1) = visible(x0, x1, y0, y1), cx.isFinite, cy.isFinite else { return }
        for py in y0...y1 {
            for px in x0...x1 {
                let d = ((Double(px) - cx) * (Double(px) - cx) + (Double(py) - cy) * (Double(py) - cy)).squareRoot()
                let c = min(max(r + 0.5 - d, 0), 1)
                if c > 0 { blendPixel(x: px, y: py, color, alpha: c * alpha) }
            }
        }
    }

    /// An anti-aliased circle outline (ring) `thickness` px wide.
    public mutating func drawCircle(cx: Double, cy: Double, radius r: Double, _ color: RGB, thickness: Double = 1, alpha: Double = 1) {
        let hw = thickness / 2
        let x0 = Int(pixel: (cx - r - hw - 1).rounded(.down)), x1 = Int(pixel: (cx + r + hw + 1).rounded(.up))
        let y0 = Int(pixel: (cy - r - hw - 1).rounded(.down)), y1 = Int(pixel: (cy + r + hw + 1).rounded(.up))
        guard let (x0, x1, y0, y1) = visible(x0, x1, y0, y1), cx.isFinite, cy.isFinite else { return }
        for py in y0...y1 {
            for px in x0...x1 {
                let d = ((Double(px) - cx) * (Double(px) - cx) + (Double(py) - cy) * (Double(py) - cy)).squareRoot()
                let c = min(max(hw + 0.5 - abs(d - r), 0), 1)
                if c > 0 { blendPixel(x: px, y: py, color, alpha: c * alpha) }
            }
        }
    }

    /// [x0, x1] × [y0, y1] cut to the clip rectangle and the canvas; nil when empty.
    private func visible(_ x0: Int, _ x1: Int, _ y0: Int, _ y1: Int) -> (Int, Int, Int, Int)? {
        let r = clip.intersection(bounds)
        let a = max(x0, r.x), b = min(x1, r.maxX - 1), c = max(y0, r.y), d = min(y1, r.maxY - 1)
        return b >= a && d >= c ? (a, b, c, d) : nil
    }

    /// A scatter marker of "radius" `r` centred on (cx, cy).
    public mutating func drawMarker(_ marker: Marker, cx: Double, cy: Double, radius r: Double, _ color: RGB, alpha: Double = 1) {
        switch marker {
        case .disc: fillDisc(cx: cx, cy: cy, radius: r, color, alpha: alpha)
        case .circle: drawCircle(cx: cx, cy: cy, radius: r, color, thickness: 1.5, alpha: alpha)
        case .cross:
            drawLine(x0: cx - r, y0: cy - r, x1: cx + r, y1: cy + r, color, thickness: 2, alpha: alpha)
            drawLine(x0: cx - r, y0: cy + r, x1: cx + r, y1: cy - r, color, thickness: 2, alpha: alpha)
        case .plus:
            drawLine(x0: cx - r, y0: cy, x1: cx + r, y1: cy, color, thickness: 2, alpha: alpha)
            drawLine(x0: cx, y0: cy - r, x1: cx, y1: cy + r, color, thickness: 2, alpha: alpha)
        case .square:
            let s = Int(pixel: (2 * r).rounded()), x = Int(pixel: (cx - r).rounded()), y = Int(pixel: (cy - r).rounded())
            fillRect(x: x, y: y, width: max(s, 1), height: max(s, 1), color, alpha: alpha)
        }
    }

    // MARK: - Composition and output

    /// Copies `other` with its top-left corner at (x, y) (clipped).
    public mutating func draw(_ other: Canvas, x: Int, y: Int) {
        for py in 0..<other.height {
            for px in 0..<other.width { setPixel(x: x + px, y: y + py, other.pixel(x: px, y: py)) }
        }
    }

    public var image: PixelImage { PixelImage(width: width, height: height, format: .rgb8, pixels: pixels) }

    /// PNG file bytes.
    public func pngData() -> [UInt8] { PNGWriter.encode(pixels: pixels, width: width, height: height, format: .rgb8) }

    /// Writes a PNG crash-safely (`PNGWriter.write(_:to:)`); throws `FileWriteError` naming `path`.
    public func write(to path: String) throws { try PNGWriter.write(pngData(), to: path) }
}

extension Int {
    /// A pixel coordinate from a Double that may be far off the canvas or not finite: clamped to
    /// ±2^31 (NaN → 0) so the conversion can't trap; callers clip to the canvas afterwards.
    init(pixel v: Double) {
        self = v.isNaN ? 0 : Int(Swift.min(Swift.max(v, -2_147_483_648), 2_147_483_648))
    }
}
