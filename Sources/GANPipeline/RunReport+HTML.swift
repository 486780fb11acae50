import Foundation
import GANPlot
import GANTensor

/// The report's HTML: plain HTML and CSS, images inline as base64 PNG.
extension RunReport {
    public func html(now: Date = Date()) throws -> String {
        let c = try contents()
        let wgan = c.config?.loss.objective == .wasserstein
        var body: [String] = []
        body.append("<header><h1>\(esc(c.name))</h1><p class=\"meta\">\(esc(run.url.path)) · report written \(esc(Self.utc(now))) · SwiftGAN \(esc(SwiftGANVersion.string))"
            + (c.trainStep.map { " · trained \($0) G steps" } ?? "") + "</p></header>")

        body.append("<section><h2>Metrics</h2>")
        if let metrics = c.metrics {
            let rows = MetricText.table(metrics)
            let hasFloor = rows.contains { !$0.floor.isEmpty }
            body.append("<table class=\"metrics\"><tr><th>metric</th><th>value</th>" + (hasFloor ? "<th>real-data floor</th>" : "") + "</tr>")
            for r in rows {
                body.append("<tr><td>\(esc(r.metric))</td><td class=\"num\">\(esc(r.value))</td>" + (hasFloor ? "<td class=\"num\">\(esc(r.floor))</td>" : "") + "</tr>")
            }
            body.append("</table>")
            if hasFloor {
                body.append("<p class=\"note\">The floor is what a perfect generator would score: the last training images measured exactly like the samples.</p>")
            }
        } else {
            body.append("<p class=\"missing\">Not evaluated yet (eval/metrics.json is missing): run the evaluate stage.</p>")
        }
        body.append("</section>")

        if !c.images.isEmpty {
            body.append("<section><h2>Samples</h2>")
            for (title, png) in c.images { body.append(figure(png, caption: title)) }
            body.append("</section>")
        }

        if !c.progression.isEmpty {
            body.append("<section><h2>Progress on fixed noise</h2><p class=\"note\">The same eight noise vectors through the generator at each checkpoint.</p><table class=\"progression\">")
            for (step, png) in c.progression {
                body.append("<tr><th>step \(step)</th><td>\(img(png, alt: "samples at step \(step)"))</td></tr>")
            }
            body.append("</table></section>")
        }

        body.append("<section><h2>Training curves</h2>")
        let plots = [TrainingPlots.losses(c.history, name: c.name, wasserstein: wgan), TrainingPlots.scores(c.history, name: c.name, wasserstein: wgan)]
            .compactMap { $0 }
        if plots.isEmpty { body.append("<p class=\"missing\">No train checkpoint with a history yet.</p>") }
        for p in plots { body.append(figure(p.render(width: 720, height: 400).pngData(), caption: p.title)) }
        body.append("</section>")

        body.append("<section><h2>Stage timeline</h2>")
        let evalSeconds = c.metrics?.first { $0.key == "wall_seconds" }?.value ?? nil
        if c.timeline.isEmpty && evalSeconds == nil {
            body.append("<p class=\"missing\">No TensorBoard events to time the stages with.</p>")
        } else {
            body.append("<table><tr><th>stage</th><th>steps</th><th>started (UTC)</th><th>wall time</th><th>it/s</th></tr>")
            for s in c.timeline {
                let rate = s.seconds > 0 ? MetricText.format((Double(s.steps) / s.seconds * 10).rounded() / 10) : "–"
                body.append("<tr><td>\(s.stage)</td><td class=\"num\">\(s.firstStep)–\(s.lastStep)</td><td>\(Self.utc(Date(timeIntervalSince1970: s.started)))</td>"
                    + "<td class=\"num\">\(Self.duration(s.seconds))</td><td class=\"num\">\(rate)</td></tr>")
            }
            if let evalSeconds {
                body.append("<tr><td>evaluate</td><td class=\"num\">step \(c.metrics?.first { $0.key == "step" }?.value.map(MetricText.format) ?? "?")</td><td></td>"
                    + "<td class=\"num\">\(Self.duration(evalSeconds))</td><td></td></tr>")
            }
            body.append("</table><p class=\"note\">One row per process that trained the stage (a resumed run adds a row).</p>")
        }
        body.append("</section>")

        body.append("<section><h2>Files</h2><ul>"
            + "<li>checkpoints: <code>\(esc(run.stage(.train).url.path))/</code> (serve one: <code>gan-sample generate \(esc(run.url.path)) -o samples.png</code>)</li>"
            + "<li>sample grid per checkpoint: <code>\(esc(run.stage(.train).url.appendingPathComponent("samples").path))/</code></li>"
            + "<li>TensorBoard: <code>tensorboard --logdir \(esc(run.tensorBoardDirectory.path))</code></li></ul></section>")

        body.append("<section><h2>Configuration</h2><pre>\(esc(c.configYAML))</pre></section>")

        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>\(esc(c.name)) · SwiftGAN run report</title>
            <style>
            \(Self.css)
            </style>
            </head>
            <body>
            \(body.joined(separator: "\n"))
            </body>
            </html>

            """
    }

    static let css = """
        body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; padding: 0 1em; }
        h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 1.6em; }
        .meta, .note { color: #666; font-size: 0.9em; } .missing { color: #a40; }
        table { border-collapse: collapse; } th, td { padding: 0.25em 0.8em; border-bottom: 1px solid #eee; text-align: left; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        table.progression th { font-weight: normal; color: #555; white-space: nowrap; } table.progression td { padding: 2px; }
        figure { margin: 1em 0; } figcaption { color: #555; font-size: 0.9em; }
        img { image-rendering: pixelated; max-width: 100%; }
        pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 0.85em; }
        code { background: #f3f3f3; padding: 0 0.2em; }
        """

    func img(_ png: [UInt8], alt: String) -> String {
        "<img alt=\"\(esc(alt))\" src=\"data:image/png;base64,\(Data(png).base64EncodedString())\">"
    }

    func figure(_ png: [UInt8], caption: String) -> String {
        "<figure>\(img(png, alt: caption))<figcaption>\(esc(caption))</figcaption></figure>"
    }

    func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func utc(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return f.string(from: date)
    }

    /// `1 h 02 min`, `3 min 05 s`, `12.3 s`.
    static func duration(_ s: Double) -> String {
        if s >= 3600 { return String(format: "%d h %02d min", Int(s) / 3600, Int(s) / 60 % 60) }
        if s >= 60 { return String(format: "%d min %02d s", Int(s) / 60, Int(s) % 60) }
        return String(format: "%.1f s", s)
    }
}
