/// Several independent plots in one image: `columns` panels per row (default: all in one row),
/// each `panelWidth`×`panelHeight`, with an optional overall title above.
public struct PlotGrid: Sendable {
    public var panels: [Plot]
    public var columns: Int
    public var title: String
    public var background: RGB = .white

    public init(_ panels: [Plot], columns: Int? = nil, title: String = "") {
        self.panels = panels
        self.columns = max(1, columns ?? panels.count)
        self.title = title
    }

    public func render(panelWidth: Int = 480, panelHeight: Int = 360) -> Canvas {
        let cols = min(columns, max(panels.count, 1)), rows = max(1, (panels.count + cols - 1) / cols)
        let s = panelWidth >= 1000 && panelHeight >= 700 ? 2 : 1
        let titleH = title.isEmpty ? 0 : BitmapFont.lineHeight * (s + 1) + 12 * s
        var c = Canvas(width: panelWidth * cols, height: panelHeight * rows + titleH, background: background)
        if !title.isEmpty {
            c.drawText(title, x: c.width / 2, y: 8 * s, Plot.textColor, scale: s + 1, anchor: .topCenter)
        }
        for (i, p) in panels.enumerated() {
            c.draw(p.render(width: panelWidth, height: panelHeight), x: (i % cols) * panelWidth, y: titleH + (i / cols) * panelHeight)
        }
        return c
    }

    public func write(to path: String, panelWidth: Int = 480, panelHeight: Int = 360) throws {
        try render(panelWidth: panelWidth, panelHeight: panelHeight).write(to: path)
    }
}
