import GANNN

/// Per-step metric history kept by the training stages and stored in every checkpoint.
public struct History {
    public static let metrics = ["step", "d_loss", "g_loss", "d_real", "d_fake"]
    public var columns: [[Double]] = Array(repeating: [], count: metrics.count)

    public mutating func append(step: Int, d: DiscriminatorStepResult, g: Float) {
        for (i, v) in [Double(step), Double(d.loss), Double(g), Double(d.realScore), Double(d.fakeScore)].enumerated() {
            columns[i].append(v)
        }
    }

    public var named: [(metric: String, values: [Double])] { zip(Self.metrics, columns).map { ($0, $1) } }

    public init() {}
    public init(_ stored: [(metric: String, values: [Double])]) {
        for (m, v) in stored { if let i = Self.metrics.firstIndex(of: m) { columns[i] = v } }
    }
}
