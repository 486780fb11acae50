/// Pixel layout of a rendered plot (exposed for tests and for drawing extra annotations).
public struct PlotLayout: Sendable, Equatable {
    /// The data area, inside the frame.
    public var area: Canvas.PixelRect
    public var xRange: ClosedRange<Double>
    public var yRange: ClosedRange<Double>
    public var xTicks: [Double]
    public var yTicks: [Double]
    public var xTickLabels: [String]
    public var yTickLabels: [String]
    public var textScale: Int

    /// Pixel x of data x (pixel centres: lowerBound → area.x, upperBound → area.maxX − 1).
    public func px(_ x: Double) -> Double {
        Double(area.x) + (x - xRange.lowerBound) / (xRange.upperBound - xRange.lowerBound) * Double(area.width - 1)
    }

    /// Pixel y of data y (upward).
    public func py(_ y: Double) -> Double {
        Double(area.maxY - 1) - (y - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound) * Double(area.height - 1)
    }
}

extension Plot {
    static let frameColor = RGB(40, 40, 40)
    static let gridColor = RGB(232, 232, 232)
    static let textColor = RGB(20, 20, 20)
    static let barAlpha = 0.4

    /// Computes where the frame, ticks and labels go for a `width`×`height` image.
    public func layout(width: Int, height: Int) -> PlotLayout {
        let r0 = axisRanges()
        var L = layout(width: width, height: height, xr: r0.x, yr: r0.y)
        guard equalAspect else { return L }
        // Widen the range that has fewer data units per pixel; the area shifts slightly with the new
        // tick labels, so adjust twice.
        for _ in 0..<2 {
            let ux = (r0.x.upperBound - r0.x.lowerBound) / Double(max(L.area.width - 1, 1))
            let uy = (r0.y.upperBound - r0.y.lowerBound) / Double(max(L.area.height - 1, 1))
            let u = max(ux, uy)
            func widened(_ r: ClosedRange<Double>, _ pixels: Int) -> ClosedRange<Double> {
                let mid = (r.lowerBound + r.upperBound) / 2, half = u * Double(max(pixels - 1, 1)) / 2
                return (mid - half)...(mid + half)
            }
            L = layout(width: width, height: height, xr: widened(r0.x, L.area.width), yr: widened(r0.y, L.area.height))
        }
        return L
    }

    private func layout(width: Int, height: Int, xr: ClosedRange<Double>, yr: ClosedRange<Double>) -> PlotLayout {
        let s = textScale ?? (width >= 1000 && height >= 700 ? 2 : 1)
        let pad = 8 * s, tickLen = 4 * s, gap = 3 * s
        let lineH = BitmapFont.lineHeight * s
        let top = pad + (title.isEmpty ? 0 : BitmapFont.lineHeight * (s + 1) + 6 * s)
        let bottom = pad + (xLabel.isEmpty ? 0 : lineH + 4 * s) + lineH + gap + tickLen
        let plotH = max(height - top - bottom - 1, 2)

        let yTicks = Ticks.ticks(yr.lowerBound, yr.upperBound, maxCount: min(10, max(2, plotH / (36 * s))))
        let yLabels = Ticks.labels(for: yTicks)
        let yLabelW = yLabels.map { BitmapFont.size($0, scale: s).width }.max() ?? 0
        let left = pad + (yLabel.isEmpty ? 0 : lineH + 6 * s) + yLabelW + gap + tickLen + 1
        let right = pad + 10 * s
        let plotW = max(width - left - right, 2)

        // Fewer x ticks until their labels don't collide.
        var maxCount = min(10, max(2, plotW / (60 * s)))
        var xTicks: [Double] = [], xLabels: [String] = []
        while true {
            xTicks = Ticks.ticks(xr.lowerBound, xr.upperBound, maxCount: maxCount)
            xLabels = Ticks.labels(for: xTicks)
            let widest = xLabels.map { BitmapFont.size($0, scale: s).width }.max() ?? 0
            let spacing = xTicks.count < 2 ? Double.infinity
                : (xTicks[1] - xTicks[0]) / (xr.upperBound - xr.lowerBound) * Double(plotW)
            if spacing >= Double(widest + 8 * s) || maxCount <= 2 { break }
            maxCount -= 1
        }
        return PlotLayout(area: Canvas.PixelRect(x: left, y: top, width: plotW, height: plotH), xRange: xr, yRange: yr,
                          xTicks: xTicks, yTicks: yTicks, xTickLabels: xLabels, yTickLabels: yLabels, textScale: s)
    }

    /// Draws the plot into a new `width`×`height` canvas.
    public func render(width: Int = 640, height: Int = 480) -> Canvas {
        var c = Canvas(width: width, height: height, background: background)
        let L = layout(width: width, height: height)
        let a = L.area, s = L.textScale, tickLen = 4 * s, gap = 3 * s

        // Grid, then series clipped to the data area, then frame and ticks on top.
        if showGrid {
            for t in L.xTicks { c.fillRect(x: Int(pixel: L.px(t).rounded()), y: a.y, width: 1, height: a.height, Self.gridColor) }
            for t in L.yTicks { c.fillRect(x: a.x, y: Int(pixel: L.py(t).rounded()), width: a.width, height: 1, Self.gridColor) }
        }
        c.clip = a
        for series in series { draw(series, on: &c, L) }
        c.clip = c.bounds

        c.strokeRect(x: a.x - 1, y: a.y - 1, width: a.width + 2, height: a.height + 2, Self.frameColor)
        for (t, label) in zip(L.xTicks, L.xTickLabels) {
            let x = Int(pixel: L.px(t).rounded())
            c.fillRect(x: x, y: a.maxY + 1, width: 1, height: tickLen, Self.frameColor)
            let w = BitmapFont.size(label, scale: s).width
            let lx = min(max(x - w / 2, 0), width - w)  // keep edge labels inside the image
            c.drawText(label, x: lx, y: a.maxY + 1 + tickLen + gap, Self.textColor, scale: s)
        }
        for (t, label) in zip(L.yTicks, L.yTickLabels) {
            let y = Int(pixel: L.py(t).rounded())
            c.fillRect(x: a.x - 1 - tickLen, y: y, width: tickLen, height: 1, Self.frameColor)
            c.drawText(label, x: a.x - 1 - tickLen - gap, y: y, Self.textColor, scale: s, anchor: .middleRight)
        }

        let pad = 8 * s
        if !title.isEmpty {
            let w = BitmapFont.size(title, scale: s + 1).width
            let tx = min(max(a.x + a.width / 2 - w / 2, 0), max(width - w, 0))
            c.drawText(title, x: tx, y: pad, Self.textColor, scale: s + 1)
        }
        if !xLabel.isEmpty {
            c.drawText(xLabel, x: a.x + a.width / 2, y: height - pad, Self.textColor, scale: s, anchor: TextAnchor(.center, .bottom))
        }
        if !yLabel.isEmpty {
            c.drawTextVertical(yLabel, cx: pad + BitmapFont.lineHeight * s / 2, cy: a.y + a.height / 2, Self.textColor, scale: s)
        }
        drawLegend(on: &c, L)
        return c
    }

    private func draw(_ series: Series, on c: inout Canvas, _ L: PlotLayout) {
        let s = Double(L.textScale)
        switch series.kind {
        case .line(let thickness, let dashed):
            let points = zip(series.xs, series.ys).map { (L.px($0), L.py($1)) }
            c.drawPolyline(points, series.color, thickness: thickness * s, dash: dashed ? (8 * s, 5 * s) : nil)
        case .scatter(let radius, let marker, let alpha):
            for (x, y) in zip(series.xs, series.ys) where x.isFinite && y.isFinite {
                c.drawMarker(marker, cx: L.px(x), cy: L.py(y), radius: radius * s, series.color, alpha: alpha)
            }
        case .histogram(let edges, let heights, let style):
            // Outline of each run of non-empty bins (no line along the baseline under empty bins).
            let base = L.py(max(0, L.yRange.lowerBound))
            var outline: [(Double, Double)] = []
            for (i, h) in heights.enumerated() where h > 0 {
                let x0 = L.px(edges[i]), x1 = L.px(edges[i + 1]), y = L.py(h)
                if i == 0 || heights[i - 1] <= 0 { outline.append((x0, base)) }
                outline += [(x0, y), (x1, y)]
                if i == heights.count - 1 || heights[i + 1] <= 0 { outline += [(x1, base), (.nan, .nan)] }
                if style == .bars {
                    let xa = Int(pixel: x0.rounded()), xb = Int(pixel: x1.rounded()), ya = Int(pixel: y.rounded()), yb = Int(pixel: base.rounded())
                    c.fillRect(x: xa, y: min(ya, yb), width: max(xb - xa, 1), height: abs(yb - ya) + 1, series.color, alpha: Self.barAlpha)
                }
            }
            c.drawPolyline(outline, series.color, thickness: 1.5 * s)
        }
    }

    private func drawLegend(on c: inout Canvas, _ L: PlotLayout) {
        let entries = series.filter { !$0.label.isEmpty }
        guard legend != .hidden, !entries.isEmpty else { return }
        let s = L.textScale, a = L.area
        let inner = 6 * s, swatchW = 22 * s, rowH = BitmapFont.lineHeight * s + 5 * s
        let textW = entries.map { BitmapFont.size($0.label, scale: s).width }.max() ?? 0
        let boxW = inner * 2 + swatchW + 6 * s + textW, boxH = inner * 2 + rowH * entries.count - 5 * s
        let inset = 8 * s
        func box(_ position: LegendPosition) -> Canvas.PixelRect {
            let left = position == .topLeft || position == .bottomLeft
            let topSide = position == .topLeft || position == .topRight || position == .best
            return Canvas.PixelRect(x: left ? a.x + inset : a.maxX - inset - boxW,
                                    y: topSide ? a.y + inset : a.maxY - inset - boxH, width: boxW, height: boxH)
        }
        var chosen = box(legend)
        if legend == .best {  // the corner hiding the least data; ties go to the earlier corner
            let corners: [LegendPosition] = [.topRight, .topLeft, .bottomRight, .bottomLeft]
            let scores = corners.map { occupancy(box($0), L) }
            chosen = box(corners[scores.firstIndex(of: scores.min()!)!])
        }
        let bx = chosen.x, by = chosen.y
        c.fillRect(x: bx, y: by, width: boxW, height: boxH, .white, alpha: 0.9)
        c.strokeRect(x: bx, y: by, width: boxW, height: boxH, RGB(170, 170, 170))
        for (i, e) in entries.enumerated() {
            let rowTop = by + inner + i * rowH
            let cy = Double(rowTop + BitmapFont.capHeight * s / 2), sx = Double(bx + inner)
            switch e.kind {
            case .line(let thickness, let dashed):
                c.drawPolyline([(sx, cy), (sx + Double(swatchW), cy)], e.color, thickness: thickness * Double(s),
                               dash: dashed ? (6 * Double(s), 3 * Double(s)) : nil)
            case .scatter(let radius, let marker, _):
                c.drawMarker(marker, cx: sx + Double(swatchW) / 2, cy: cy, radius: min(max(radius, 2.5), 5) * Double(s), e.color)
            case .histogram:
                let h = BitmapFont.capHeight * s + 2 * s
                c.fillRect(x: bx + inner, y: rowTop - s, width: swatchW, height: h, e.color, alpha: Self.barAlpha)
                c.strokeRect(x: bx + inner, y: rowTop - s, width: swatchW, height: h, e.color)
            }
            c.drawText(e.label, x: bx + inner + swatchW + 6 * s, y: rowTop, Self.textColor, scale: s)
        }
    }
}

extension Plot {
    /// How much data a rectangle would hide: scatter points and line samples (every 3 px) inside it,
    /// plus histogram bar area / 16.
    func occupancy(_ r: Canvas.PixelRect, _ L: PlotLayout) -> Int {
        func inside(_ x: Double, _ y: Double) -> Bool {
            x >= Double(r.x) && x < Double(r.maxX) && y >= Double(r.y) && y < Double(r.maxY)
        }
        var n = 0
        for series in series {
            switch series.kind {
            case .scatter:
                for (x, y) in zip(series.xs, series.ys) where inside(L.px(x), L.py(y)) { n += 1 }
            case .line:
                let p = zip(series.xs, series.ys).map { (L.px($0), L.py($1)) }
                for k in 0..<max(p.count - 1, 0) where p[k].0.isFinite && p[k].1.isFinite && p[k + 1].0.isFinite && p[k + 1].1.isFinite {
                    let len = ((p[k + 1].0 - p[k].0) * (p[k + 1].0 - p[k].0) + (p[k + 1].1 - p[k].1) * (p[k + 1].1 - p[k].1)).squareRoot()
                    let steps = min(Int(pixel: len / 3) + 1, 10_000)
                    for j in 0..<steps {
                        let t = Double(j) / Double(steps)
                        if inside(p[k].0 + t * (p[k + 1].0 - p[k].0), p[k].1 + t * (p[k + 1].1 - p[k].1)) { n += 1 }
                    }
                }
            case .histogram(let edges, let heights, _):
                let base = L.py(max(0, L.yRange.lowerBound))
                for (i, h) in heights.enumerated() where h > 0 {
                    let x0 = Int(pixel: L.px(edges[i])), x1 = Int(pixel: L.px(edges[i + 1])), top = Int(pixel: L.py(h))
                    let bar = Canvas.PixelRect(x: x0, y: top, width: x1 - x0 + 1, height: Int(pixel: base) - top + 1)
                    let o = bar.intersection(r)
                    n += o.width * o.height / 16
                }
            }
        }
        return n
    }
}
