/// A 2-D chart: title, axis labels, nice ticks, a frame, an optional legend and any number of line,
/// function, scatter and histogram series. Build it with the mutating `line`/`scatter`/… methods,
/// then `render(width:height:)` or `write(to:)`.
///
///     var p = Plot(title: "Losses", xLabel: "step", yLabel: "loss")
///     p.line(steps, dLoss, label: "D loss")
///     p.line(steps, gLoss, label: "G loss")
///     try p.write(to: "losses.png")
public struct Plot: Sendable {
    public enum HistogramStyle: Sendable, Equatable { case bars, step }
    /// `.best`: the inner corner that hides the least data (preferring top right, top left, …).
    public enum LegendPosition: Sendable, Equatable { case best, topRight, topLeft, bottomRight, bottomLeft, hidden }

    /// One data series, in data coordinates.
    public struct Series: Sendable {
        public enum Kind: Sendable {
            case line(thickness: Double, dashed: Bool)
            case scatter(radius: Double, marker: Canvas.Marker, alpha: Double)
            /// `edges` has one more element than `heights`.
            case histogram(edges: [Double], heights: [Double], style: HistogramStyle)
        }
        public var kind: Kind
        public var xs: [Double]
        public var ys: [Double]
        public var color: RGB
        /// Shown in the legend when non-empty.
        public var label: String
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    /// Fixed axis ranges; nil = from the data with `margin` added on both sides.
    public var xRange: ClosedRange<Double>?
    public var yRange: ClosedRange<Double>?
    /// Fraction of the data span added on each side of an automatic range (default 5 %).
    public var margin: Double = 0.05
    public var legend: LegendPosition = .best
    /// Equal data units per pixel on both axes (circles stay round): the automatic or fixed ranges
    /// are widened around their centres as needed.
    public var equalAspect: Bool = false
    /// Light grid lines at the ticks.
    public var showGrid: Bool = true
    /// Text scale for ticks, labels and legend (the title is one step larger); nil = 2 when the
    /// image is at least 1000×700, else 1.
    public var textScale: Int? = nil
    public var background: RGB = .white
    public private(set) var series: [Series] = []

    public init(title: String = "", xLabel: String = "", yLabel: String = "",
                xRange: ClosedRange<Double>? = nil, yRange: ClosedRange<Double>? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.xRange = xRange
        self.yRange = yRange
    }

    /// The next palette colour (series i gets `RGB.palette[i % 6]`).
    public var nextColor: RGB { RGB.palette[series.count % RGB.palette.count] }

    // MARK: - Series
    // Each takes [Double]; a [Float] overload (disfavoured, so literals stay Double) forwards to it.

    /// A polyline through (xs[i], ys[i]); non-finite points break the line.
    public mutating func line(_ xs: [Double], _ ys: [Double], color: RGB? = nil, label: String = "",
                              thickness: Double = 2, dashed: Bool = false) {
        precondition(xs.count == ys.count, "Plot.line: \(xs.count) xs but \(ys.count) ys")
        series.append(Series(kind: .line(thickness: thickness, dashed: dashed), xs: xs, ys: ys,
                             color: color ?? nextColor, label: label))
    }

    @_disfavoredOverload
    public mutating func line(_ xs: [Float], _ ys: [Float], color: RGB? = nil, label: String = "",
                              thickness: Double = 2, dashed: Bool = false) {
        line(xs.map(Double.init), ys.map(Double.init), color: color, label: label, thickness: thickness, dashed: dashed)
    }

    /// A line through `ys` against 0, 1, 2, … (e.g. a loss per step).
    public mutating func line(_ ys: [Double], color: RGB? = nil, label: String = "", thickness: Double = 2) {
        line((0..<ys.count).map(Double.init), ys, color: color, label: label, thickness: thickness)
    }

    @_disfavoredOverload
    public mutating func line(_ ys: [Float], color: RGB? = nil, label: String = "", thickness: Double = 2) {
        line(ys.map(Double.init), color: color, label: label, thickness: thickness)
    }

    /// A function curve given as sampled points (drawn like `line`; `dashed` to tell it from data).
    public mutating func function(_ xs: [Double], _ ys: [Double], color: RGB? = nil, label: String = "",
                                  thickness: Double = 2, dashed: Bool = false) {
        line(xs, ys, color: color, label: label, thickness: thickness, dashed: dashed)
    }

    @_disfavoredOverload
    public mutating func function(_ xs: [Float], _ ys: [Float], color: RGB? = nil, label: String = "",
                                  thickness: Double = 2, dashed: Bool = false) {
        line(xs, ys, color: color, label: label, thickness: thickness, dashed: dashed)
    }

    /// `f` sampled at `samples` evenly spaced points of `range`.
    public mutating func function(in range: ClosedRange<Double>, samples: Int = 200, color: RGB? = nil, label: String = "",
                                  thickness: Double = 2, dashed: Bool = false, _ f: (Double) -> Double) {
        let n = max(samples, 2)
        let xs = (0..<n).map { range.lowerBound + (range.upperBound - range.lowerBound) * Double($0) / Double(n - 1) }
        line(xs, xs.map(f), color: color, label: label, thickness: thickness, dashed: dashed)
    }

    /// Points drawn as markers; `alpha` < 1 shows density where points overlap.
    public mutating func scatter(_ xs: [Double], _ ys: [Double], color: RGB? = nil, label: String = "", radius: Double = 2,
                                 marker: Canvas.Marker = .disc, alpha: Double = 0.8) {
        precondition(xs.count == ys.count, "Plot.scatter: \(xs.count) xs but \(ys.count) ys")
        series.append(Series(kind: .scatter(radius: radius, marker: marker, alpha: alpha), xs: xs, ys: ys,
                             color: color ?? nextColor, label: label))
    }

    @_disfavoredOverload
    public mutating func scatter(_ xs: [Float], _ ys: [Float], color: RGB? = nil, label: String = "", radius: Double = 2,
                                 marker: Canvas.Marker = .disc, alpha: Double = 0.8) {
        scatter(xs.map(Double.init), ys.map(Double.init), color: color, label: label, radius: radius, marker: marker, alpha: alpha)
    }

    /// A histogram of `values` with `bins` equal bins over `range` (nil = the finite data's min…max).
    /// `density` divides counts by (in-range count × bin width), so the bars integrate to 1 and can
    /// be compared with a pdf. Drawn as translucent bars with an outline, or as a step outline.
    public mutating func histogram(_ values: [Double], bins: Int = 30, range: ClosedRange<Double>? = nil, color: RGB? = nil,
                                   label: String = "", density: Bool = false, style: HistogramStyle = .bars) {
        let h = Histogram(values, bins: bins, range: range, density: density)
        series.append(Series(kind: .histogram(edges: h.edges, heights: h.heights, style: style),
                             xs: h.edges, ys: h.heights, color: color ?? nextColor, label: label))
    }

    @_disfavoredOverload
    public mutating func histogram(_ values: [Float], bins: Int = 30, range: ClosedRange<Double>? = nil, color: RGB? = nil,
                                   label: String = "", density: Bool = false, style: HistogramStyle = .bars) {
        histogram(values.map(Double.init), bins: bins, range: range, color: color, label: label, density: density, style: style)
    }

    // MARK: - Ranges

    /// The x and y ranges the plot will use: fixed ones as given, automatic ones from the finite data
    /// plus `margin` (a histogram's y range starts at exactly 0 when the data does).
    public func axisRanges() -> (x: ClosedRange<Double>, y: ClosedRange<Double>) {
        var xlo = Double.infinity, xhi = -Double.infinity, ylo = Double.infinity, yhi = -Double.infinity
        var hasHistogram = false
        for s in series {
            for x in s.xs where x.isFinite { xlo = min(xlo, x); xhi = max(xhi, x) }
            for y in s.ys where y.isFinite { ylo = min(ylo, y); yhi = max(yhi, y) }
            if case .histogram = s.kind {
                hasHistogram = true
                ylo = min(ylo, 0)
            }
        }
        func auto(_ lo: Double, _ hi: Double, stickyZero: Bool) -> ClosedRange<Double> {
            let r = Ticks.usableRange(lo, hi)
            let pad = (r.upperBound - r.lowerBound) * margin
            let low = stickyZero && r.lowerBound == 0 ? 0 : r.lowerBound - pad
            return low...(r.upperBound + pad)
        }
        let x = xRange.map { Ticks.usableRange($0.lowerBound, $0.upperBound) } ?? auto(xlo, xhi, stickyZero: false)
        let y = yRange.map { Ticks.usableRange($0.lowerBound, $0.upperBound) } ?? auto(ylo, yhi, stickyZero: hasHistogram)
        return (x, y)
    }

    // MARK: - Output

    /// Writes the rendered plot as a PNG, crash-safely (`PNGWriter.write(_:to:)`).
    public func write(to path: String, width: Int = 640, height: Int = 480) throws {
        try render(width: width, height: height).write(to: path)
    }
}

/// Equal-width binning as in numpy.histogram: values outside the range are dropped, the last bin
/// includes its right edge, non-finite values are ignored.
public struct Histogram: Sendable, Equatable {
    public var edges: [Double]
    public var heights: [Double]

    public init(_ values: [Double], bins: Int, range: ClosedRange<Double>? = nil, density: Bool = false) {
        let n = max(bins, 1)
        let finite = values.filter(\.isFinite)
        let r = range.map { Ticks.usableRange($0.lowerBound, $0.upperBound) }
            ?? Ticks.usableRange(finite.min() ?? 0, finite.max() ?? 1)
        let lo = r.lowerBound, width = (r.upperBound - r.lowerBound) / Double(n)
        edges = (0...n).map { lo + width * Double($0) }
        edges[n] = r.upperBound
        var counts = [Double](repeating: 0, count: n)
        var total = 0.0
        for v in finite where v >= lo && v <= r.upperBound {
            counts[min(Int((v - lo) / width), n - 1)] += 1
            total += 1
        }
        heights = density && total > 0 ? counts.map { $0 / (total * width) } : counts
    }
}
