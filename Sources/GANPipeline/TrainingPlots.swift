import GANPlot

/// The curves of a training history (the `history/` of a train checkpoint), drawn the same way
/// for `eval/losses.png`, `eval/scores.png` and the report.
enum TrainingPlots {
    /// D's and G's losses over G steps; for WGAN the critic's Wasserstein estimate (minus its loss).
    static func losses(_ history: [(metric: String, values: [Double])], name: String, wasserstein wgan: Bool) -> Plot? {
        curves(history, title: "\(name): \(wgan ? "critic's Wasserstein estimate and G loss" : "losses")", yLabel: "loss", [
            ("d_loss", wgan ? "W estimate (-critic loss)" : "D loss", .blue, wgan ? -1 : 1),
            ("g_loss", "G loss", .orange, 1),
        ])
    }

    /// Mean D(x) on real and D(G(z)) on generated batches (a WGAN critic's raw values).
    static func scores(_ history: [(metric: String, values: [Double])], name: String, wasserstein wgan: Bool) -> Plot? {
        curves(history, title: "\(name): \(wgan ? "critic values" : "mean D(x) and D(G(z))")", yLabel: wgan ? "critic" : "D", [
            ("d_real", wgan ? "critic(x)" : "D(x), real", .blue, 1),
            ("d_fake", wgan ? "critic(G(z))" : "D(G(z)), generated", .red, 1),
        ])
    }

    private static func curves(_ history: [(metric: String, values: [Double])], title: String, yLabel: String,
                               _ series: [(metric: String, label: String, color: RGB, sign: Double)]) -> Plot? {
        guard let steps = history.first(where: { $0.metric == "step" })?.values, !steps.isEmpty else { return nil }
        var p = Plot(title: title, xLabel: "G step", yLabel: yLabel)
        for s in series {
            if let v = history.first(where: { $0.metric == s.metric })?.values, v.count == steps.count {
                let (xs, ys) = thin(steps, v.map { s.sign * $0 }, to: 2000)
                p.line(xs, ys, color: s.color, label: s.label, thickness: 1.5)
            }
        }
        return p
    }

    /// At most `n` points, evenly thinned (a long history would draw millions of segments).
    static func thin(_ x: [Double], _ y: [Double], to n: Int) -> ([Double], [Double]) {
        guard x.count > n else { return (x, y) }
        let idx = (0..<n).map { $0 * (x.count - 1) / (n - 1) }
        return (idx.map { x[$0] }, idx.map { y[$0] })
    }
}
