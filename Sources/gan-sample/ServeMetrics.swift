import Foundation
import Prometheus

/// What `GET /metrics` shows, in Prometheus' text format (swift-prometheus' registry; no global
/// metrics system is bootstrapped, so nothing else in the process reports into it).
///
/// Model labels are only the served models' names (`unknown` for any other name a client sends),
/// so a scan of made-up URLs cannot grow the label set.
final class ServeMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let modelNames: Set<String>

    // MetricNameDescriptor is a struct of constant strings that the package does not mark Sendable.
    static let latencyBuckets: [Duration] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
        .map { Duration.nanoseconds(Int64($0 * 1e9)) }
    static let rowBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
    static let requestBuckets: [Double] = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64]

    nonisolated(unsafe) static let requests = MetricNameDescriptor(namespace: "gan_serve", metricName: "requests", unitName: "total",
                                               helpText: "Requests answered, by model, endpoint and HTTP status")
    nonisolated(unsafe) static let latency = MetricNameDescriptor(namespace: "gan_serve", metricName: "request_duration", unitName: "seconds",
                                              helpText: "Time from the request's head to its answer")
    nonisolated(unsafe) static let batchRows = MetricNameDescriptor(namespace: "gan_serve", metricName: "batch", unitName: "rows",
                                                helpText: "Rows of one forward pass")
    nonisolated(unsafe) static let batchRequests = MetricNameDescriptor(namespace: "gan_serve", metricName: "batch", unitName: "requests",
                                                    helpText: "Request passes merged into one forward pass")
    nonisolated(unsafe) static let passes = MetricNameDescriptor(namespace: "gan_serve", metricName: "forward_passes", unitName: "total",
                                             helpText: "Forward passes run")
    nonisolated(unsafe) static let step = MetricNameDescriptor(namespace: "gan_serve", metricName: "checkpoint", unitName: "step",
                                           helpText: "Training step of the checkpoint being served")
    nonisolated(unsafe) static let reloads = MetricNameDescriptor(namespace: "gan_serve", metricName: "reloads", unitName: "total",
                                              helpText: "Hot reload attempts, by run and result (loaded, failed)")

    init(modelNames: [String]) {
        self.modelNames = Set(modelNames)
        for name in modelNames {
            // Declared up front so that /metrics lists every model before its first request.
            _ = registry.makeValueHistogram(descriptor: Self.batchRows, labels: [("model", name)], buckets: Self.rowBuckets)
            _ = registry.makeValueHistogram(descriptor: Self.batchRequests, labels: [("model", name)], buckets: Self.requestBuckets)
        }
    }

    /// A served model's name, or `unknown`.
    func label(_ model: String?) -> String {
        guard let model else { return "" }
        return modelNames.contains(model) ? model : "unknown"
    }

    /// One answered request: `gan_serve_requests_total{model, endpoint, status}` and the latency
    /// histogram `gan_serve_request_duration_seconds{model, endpoint}`.
    func request(model: String?, endpoint: String, status: Int, duration: Duration) {
        let m = label(model)
        registry.makeCounter(descriptor: Self.requests, labels: [("model", m), ("endpoint", endpoint), ("status", String(status))]).increment()
        registry.makeDurationHistogram(descriptor: Self.latency, labels: [("model", m), ("endpoint", endpoint)], buckets: Self.latencyBuckets)
            .record(duration)
    }

    /// One forward pass: its rows and how many request passes it merged.
    func pass(model: String, rows: Int, requests: Int) {
        registry.makeValueHistogram(descriptor: Self.batchRows, labels: [("model", model)], buckets: Self.rowBuckets).record(Double(rows))
        registry.makeValueHistogram(descriptor: Self.batchRequests, labels: [("model", model)], buckets: Self.requestBuckets)
            .record(Double(requests))
        registry.makeCounter(descriptor: Self.passes, labels: [("model", model)]).increment()
    }

    /// The checkpoint a model serves now.
    func servedStep(model: String, step: Int) {
        registry.makeGauge(descriptor: Self.step, labels: [("model", model)]).set(Double(step))
    }

    /// A reload attempt (result: loaded, failed).
    func reload(run: String, result: String) {
        registry.makeCounter(descriptor: Self.reloads, labels: [("run", run), ("result", result)]).increment()
    }

    func text() -> [UInt8] { registry.emitToBuffer() }
}
