import Foundation
import Testing
@testable import GANPlot

@Suite struct PlotTests {
    /// A plot with every series kind: curve, dashed function, histogram (bars and step), scatter.
    static func everything() -> Plot {
        var p = Plot(title: "All series kinds", xLabel: "x", yLabel: "density")
        let xs = (0...200).map { -2 + 8 * Double($0) / 200 }
        p.line(xs, xs.map { exp(-($0 - 2) * ($0 - 2) / 2) / (2 * Double.pi).squareRoot() }, label: "p_data")
        p.function(in: -2...6, label: "D(x)", dashed: true) { 1 / (1 + exp(-($0 - 2))) }
        let samples: [Double] = (0..<500).map { (i: Int) -> Double in
            let t = Double(i)
            return 2 + 1.5 * sin(t * 0.7) * cos(t * 0.13)
        }
        p.histogram(samples, bins: 25, label: "G samples", density: true)
        p.histogram(samples.map { $0 + 1 }, bins: 20, range: -2...6, label: "step", density: true, style: .step)
        p.scatter([0, 1, 2, 3], [0.1, 0.3, 0.2, 0.4], label: "points", radius: 3)
        p.scatter([Float(4)], [Float(0.5)], color: .black, label: "centre", radius: 5, marker: .cross)
        return p
    }

    @Test func fullPlotRendersAndWritesRequestedSize() throws {
        let dir = try temporaryDirectory("plot")
        let path = dir + "/all.png"
        try Self.everything().write(to: path, width: 500, height: 340)
        let png = try DecodedPNG(readBytes(path))
        #expect((png.width, png.height, png.colorType, png.bitDepth) == (500, 340, 2, 8))
        #expect(png.filterBytes.allSatisfy { $0 == 0 })
        #expect(png.pixels == Self.everything().render(width: 500, height: 340).pixels)
    }

    @Test func renderingIsDeterministic() {
        let a = Self.everything().render(width: 320, height: 240).pngData()
        let b = Self.everything().render(width: 320, height: 240).pngData()
        #expect(a == b)
    }

    @Test func seriesColoursAndRanges() {
        var p = Plot()
        p.line([0, 10], [-1, 1])
        p.line([0, 10], [0, 3])
        p.scatter([5], [2], color: .black)
        #expect(p.series.map(\.color) == [RGB.palette[0], RGB.palette[1], .black])
        let (x, y) = p.axisRanges()
        #expect(abs(x.lowerBound + 0.5) < 1e-12 && abs(x.upperBound - 10.5) < 1e-12)
        #expect(abs(y.lowerBound + 1.2) < 1e-12 && abs(y.upperBound - 3.2) < 1e-12)
        p.xRange = 2...4
        #expect(p.axisRanges().x == 2...4)

        var h = Plot()
        h.histogram([1, 2, 2, 3], bins: 2, range: 1...3)
        #expect(h.axisRanges().y.lowerBound == 0)  // bars sit on the frame

        // Empty and constant data still give finite, nonzero ranges.
        let e = Plot().axisRanges()
        #expect(e.x.upperBound > e.x.lowerBound && e.y.upperBound > e.y.lowerBound)
        var k = Plot()
        k.line([1, 1, 1], [2, 2, 2])
        _ = k.render(width: 200, height: 150)
        var tiny = Self.everything()
        tiny.title = "a title much wider than the tiny image"
        _ = tiny.render(width: 30, height: 20)
    }

    @Test func extremeValuesDoNotCrash() {
        var p = Plot(xRange: 0...1, yRange: 0...1)
        p.line([0, 1e20, 0.5, -1e300], [0.5, 0.5, 1e25, 0.2])
        p.scatter([1e19, 0.5, .infinity], [0.5, -1e30, 0.3], radius: 1e6)
        p.histogram([-1e300, 0, 1e300], bins: 3)
        _ = p.render(width: 200, height: 150)
        var q = Plot()
        q.line([-1e308, 1e308], [.greatestFiniteMagnitude, -.greatestFiniteMagnitude])
        q.scatter([.nan, .infinity], [1, 2])
        q.histogram([Double](), bins: 5)
        let c = q.render(width: 200, height: 150)
        #expect(c.width == 200)
        let r = q.axisRanges()
        #expect(r.x.lowerBound.isFinite && r.x.upperBound.isFinite && r.y.upperBound > r.y.lowerBound)
    }

    @Test func histogramBinning() {
        let h = Histogram([0, 0.1, 0.5, 0.99, 1, 2, -1, .nan], bins: 2, range: 0...1)
        #expect(h.edges == [0, 0.5, 1])
        #expect(h.heights == [2, 3])  // 1 is in the last bin; 2, -1 and NaN dropped
        let d = Histogram([0, 0.1, 0.5, 0.99, 1], bins: 2, range: 0...1, density: true)
        #expect(zip(d.heights, [0.8, 1.2]).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(Histogram([3, 3, 3], bins: 4).heights.reduce(0, +) == 3)  // zero-width data range
    }

    @Test func layoutPlacesTicksInsideTheFrame() {
        var p = Plot(title: "t", xLabel: "step", yLabel: "loss")
        p.line([0, 1000], [0.2, 1.4])
        let L = p.layout(width: 640, height: 480)
        #expect(L.xTicks.count >= 3 && L.yTicks.count >= 3)
        for t in L.xTicks { #expect(L.px(t) >= Double(L.area.x) && L.px(t) <= Double(L.area.maxX - 1)) }
        for t in L.yTicks { #expect(L.py(t) >= Double(L.area.y) && L.py(t) <= Double(L.area.maxY - 1)) }
        #expect(L.area.x > 0 && L.area.maxX < 640 && L.area.y > 0 && L.area.maxY < 480)
        // The frame is drawn 1 px outside the data area.
        let c = p.render(width: 640, height: 480)
        #expect(c.pixel(x: L.area.x - 1, y: L.area.y + L.area.height / 2) == Plot.frameColor)
        #expect(c.pixel(x: L.area.maxX, y: L.area.y + 5) == Plot.frameColor)
    }

    @Test func equalAspectKeepsCirclesRound() {
        var p = Plot()
        p.scatter([-1, 1, 0, 0], [0, 0, -1, 1])
        p.equalAspect = true
        for (w, h) in [(640, 300), (300, 640)] {
            let L = p.layout(width: w, height: h)
            let ux = (L.xRange.upperBound - L.xRange.lowerBound) / Double(L.area.width - 1)
            let uy = (L.yRange.upperBound - L.yRange.lowerBound) / Double(L.area.height - 1)
            #expect(abs(ux / uy - 1) < 0.02)
            #expect(L.xRange.lowerBound <= -1 && L.xRange.upperBound >= 1 && L.yRange.lowerBound <= -1 && L.yRange.upperBound >= 1)
        }
    }

    @Test func bestLegendAvoidsTheData() throws {
        // Data fills the top right; the legend should go elsewhere (top left is next in order).
        var p = Plot()
        let xs: [Double] = (0..<200).map { 0.6 + Double($0 % 20) * 0.02 }
        let ys: [Double] = (0..<200).map { 0.6 + Double($0 / 20) * 0.04 }
        p.scatter(xs, ys, label: "cloud")
        p.scatter([0], [0], color: .black)
        let L = p.layout(width: 400, height: 300)
        let c = p.render(width: 400, height: 300)
        // The legend's grey border sits near the top-left corner of the data area.
        let border = RGB(170, 170, 170)
        let a = L.area
        #expect(c.pixel(x: a.x + 8, y: a.y + 20) == border)
        #expect(!(a.maxX - 60..<a.maxX).contains { c.pixel(x: $0, y: a.y + 8) == border })
    }

    @Test func gridOfPanels() throws {
        var a = Plot(title: "before")
        a.line([0, 1], [0, 1])
        var b = Plot(title: "after")
        b.scatter([0, 1], [1, 0])
        let row = PlotGrid([a, b, a], title: "three panels")
        let c = row.render(panelWidth: 200, panelHeight: 150)
        #expect(c.width == 600 && c.height > 150)
        let two = PlotGrid([a, b, a], columns: 2).render(panelWidth: 100, panelHeight: 80)
        #expect(two.width == 200 && two.height == 160)
        // A panel is copied verbatim.
        let single = PlotGrid([b]).render(panelWidth: 120, panelHeight: 90)
        #expect(single.pixels == b.render(width: 120, height: 90).pixels)
    }
}
