import CZlib
import Foundation
import Testing
@testable import GANPlot

/// Renders one sample of each intended use to `$GANPLOT_DEMO_DIR/gan-plot-demo-*.png` for looking at
/// by eye. Skipped unless GANPLOT_DEMO_DIR is set, e.g.
/// `GANPLOT_DEMO_DIR=/tmp swift test --filter DemoPlots`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["GANPLOT_DEMO_DIR"] != nil))
struct DemoPlots {
    let dir = ProcessInfo.processInfo.environment["GANPLOT_DEMO_DIR"] ?? "/tmp"

    /// Deterministic N(0, 1) samples (LCG + Box–Muller).
    static func normals(_ n: Int, seed: UInt64) -> [Double] {
        var s = seed
        func u() -> Double {
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return (Double(s >> 11) + 0.5) / Double(1 << 53)
        }
        return (0..<n).map { _ in (-2 * log(u())).squareRoot() * cos(2 * Double.pi * u()) }
    }

    static func pdata(_ x: Double) -> Double { exp(-(x - 4) * (x - 4) / (2 * 0.25)) / (0.5 * (2 * Double.pi).squareRoot()) }

    @Test func oneDimensionalSystem() throws {
        let xs = (0...300).map { -1 + 8 * Double($0) / 300 }
        func panel(_ title: String, gMean: Double, gStd: Double, d: (Double) -> Double, seed: UInt64) -> Plot {
            var p = Plot(title: title, xLabel: "x", yLabel: "density / D(x)", xRange: -1...7)
            p.line(xs, xs.map(Self.pdata), color: .darkGray, label: "p_data")
            p.histogram(Self.normals(5000, seed: seed).map { gMean + gStd * $0 }, bins: 40, range: -1...7,
                        color: .blue, label: "G(z) samples", density: true)
            p.line(xs, xs.map(d), color: .red, label: "D(x)", dashed: true)
            return p
        }
        let grid = PlotGrid([
            panel("before", gMean: 0.5, gStd: 0.3, d: { _ in 0.5 }, seed: 1),
            panel("after pretraining", gMean: 0.5, gStd: 0.3, d: { Self.pdata($0) / Self.pdata(4) * 0.9 }, seed: 2),
            panel("after training", gMean: 3.95, gStd: 0.55, d: { 0.5 + 0.05 * sin($0) }, seed: 3),
        ], title: "1-D Gaussian: N(4, 0.5^2)")
        try grid.write(to: dir + "/gan-plot-demo-1d.png", panelWidth: 480, panelHeight: 360)
    }

    @Test func losses() throws {
        let steps = (0..<2000).map { Double($0) }
        let noise = Self.normals(4000, seed: 7)
        let d = steps.enumerated().map { i, t in 1.386 - 0.3 * exp(-t / 300) + 0.05 * noise[i] }
        let g = steps.enumerated().map { i, t in 0.693 + 1.2 * exp(-t / 250) + 0.08 * noise[2000 + i] }
        var p = Plot(title: "Losses", xLabel: "step", yLabel: "loss")
        p.line(steps, d, label: "D loss", thickness: 1)
        p.line(steps, g, label: "G loss", thickness: 1)
        try p.write(to: dir + "/gan-plot-demo-losses.png", width: 640, height: 400)
    }

    @Test func twoDimensionalMixtures() throws {
        let n = 8, r = 2.0
        let centres = (0..<n).map { k in (r * cos(2 * Double.pi * Double(k) / Double(n)), r * sin(2 * Double.pi * Double(k) / Double(n))) }
        let z = Self.normals(8000, seed: 11)
        var real: [(Double, Double)] = [], fake: [(Double, Double)] = []
        for i in 0..<1000 {
            let c = centres[i % n]
            real.append((c.0 + 0.05 * z[2 * i], c.1 + 0.05 * z[2 * i + 1]))
            let g = centres[[0, 1, 2, 4, 5][i % 5]]  // mode collapse: 3 modes missed
            fake.append((g.0 + 0.12 * z[4000 + 2 * i], g.1 + 0.12 * z[4000 + 2 * i + 1]))
        }
        var ring = Plot(title: "Ring of 8 Gaussians, step 5000", xLabel: "x1", yLabel: "x2")
        ring.scatter(real.map(\.0), real.map(\.1), color: .gray, label: "real", radius: 1.5, alpha: 0.5)
        ring.scatter(fake.map(\.0), fake.map(\.1), color: .orange, label: "generated", radius: 1.5, alpha: 0.6)
        ring.scatter(centres.map(\.0), centres.map(\.1), color: .black, label: "mode centres", radius: 5, marker: .cross)
        ring.equalAspect = true

        var grid = Plot(title: "5x5 grid, spacing 2", xLabel: "x1", yLabel: "x2")
        grid.equalAspect = true
        let gc: [(Double, Double)] = (0..<25).map { (i: Int) -> (Double, Double) in
            let a = Double(i / 5) * 2 - 4, b = Double(i % 5) * 2 - 4
            return (a, b)
        }
        let gz = Self.normals(6000, seed: 12)
        grid.scatter((0..<1500).map { gc[$0 % 25].0 + 0.05 * gz[2 * $0] }, (0..<1500).map { gc[$0 % 25].1 + 0.05 * gz[2 * $0 + 1] },
                     color: .gray, label: "real", radius: 1.5, alpha: 0.5)
        grid.scatter((0..<1500).map { gc[$0 % 25].0 + 0.3 * gz[3000 + 2 * $0] }, (0..<1500).map { gc[$0 % 25].1 + 0.3 * gz[3001 + 2 * $0] },
                     color: .blue, label: "generated", radius: 1.5, alpha: 0.5)
        grid.scatter(gc.map(\.0), gc.map(\.1), color: .red, label: "mode centres", radius: 4, marker: .circle)
        try PlotGrid([ring, grid]).write(to: dir + "/gan-plot-demo-2d.png", panelWidth: 520, panelHeight: 500)
        try ring.write(to: dir + "/gan-plot-demo-ring-large.png", width: 1100, height: 800)
    }

    @Test func fashionMNISTGrid() throws {
        let path = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
        guard let f = gzopen(path, "rb") else { return }
        defer { gzclose(f) }
        var bytes = [UInt8](repeating: 0, count: 16 + 64 * 784)
        let n = bytes.withUnsafeMutableBytes { gzread(f, $0.baseAddress, UInt32($0.count)) }
        #expect(n == Int32(bytes.count))
        let values = bytes[16...].map { Float($0) / 255 }
        try ImageGrid(scale: 2).render(values, count: 64, channels: 1, height: 28, width: 28)
            .write(to: dir + "/gan-plot-demo-fashion-grid.png")
    }

    @Test func fontSheet() throws {
        var c = Canvas(width: 600, height: 120)
        let lines = [" !\"#$%&'()*+,-./0123456789:;<=>?@", "ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`", "abcdefghijklmnopqrstuvwxyz{|}~"]
        for (i, l) in lines.enumerated() { c.drawText(l, x: 4, y: 4 + 12 * i, .black) }
        c.drawText("Scale 2: p_data, D(x) = 0.5 [-1e-4]", x: 4, y: 44, .blue, scale: 2)
        c.drawText("loss: 1.386%", x: 4, y: 70, .red, scale: 3)
        try c.write(to: dir + "/gan-plot-demo-font.png")
    }
}
