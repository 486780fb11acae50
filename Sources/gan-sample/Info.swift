import ArgumentParser
import Foundation
import GANCheckpoint
import GANNN

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a checkpoint's format, stage, step, architecture, optimisers and last metrics.",
        discussion: """
        Examples:
          gan-sample info Checkpoints/fashion-mlp-sn
          gan-sample info Checkpoints/ring8/train/step-00160000.h5 --json
        """)

    @Argument(help: "Checkpoint file, stage directory or run directory.")
    var checkpoint: String

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        let r = try openCheckpoint(checkpoint)
        let summary: CheckpointSummary
        do { summary = try CheckpointSummary(r) } catch { throw fail("\(error)") }
        print(json ? summary.json() : summary.text())
    }
}

/// Everything `info` shows, read once.
struct CheckpointSummary {
    struct Network {
        var name: String
        var layers: [(name: String, spec: LayerSpec, parameters: Int)]
        var optimizer: (kind: String, attributes: [(String, String)])?
        var parameterCount: Int { layers.reduce(0) { $0 + $1.parameters } }
    }
    var path: String
    var formatVersion: Int
    var toolVersion: String
    var created: String
    var threads: Int
    var stage: String
    var step: Int
    var epoch: Int
    var position: Int
    var data: DataDescription
    var networks: [Network] = []
    var historyLength = 0
    var lastMetrics: [(String, Double)] = []

    init(_ r: CheckpointReader) throws {
        path = r.path
        formatVersion = r.formatVersion
        toolVersion = r.toolVersion
        created = r.createdUTC
        threads = r.threads
        stage = r.stage.rawValue
        step = r.step
        epoch = r.epoch
        position = r.position
        data = try r.dataDescription()
        for name in ["generator", "generator_ema", "discriminator"] where r.hasNetwork(name) {
            let specs = try r.specs(of: name)
            let net = Sequential(specs: specs)
            var entry = Network(name: name, layers: zip(zip(net.layerNames, specs), net.layers).map { ($0.0, $0.1, $1.parameterCount) })
            if r.file.root.contains("optimizer/\(name)") {
                let g = try r.file.root.group("optimizer/\(name)")
                let attrs = try g.attributeNames().filter { $0 != "kind" }.map { ($0, "\(try g.attribute($0).map { "\($0)" } ?? "")") }
                entry.optimizer = (try g.stringAttribute("kind"), attrs)
            }
            networks.append(entry)
        }
        let history = try r.history()
        historyLength = history.map(\.values.count).max() ?? 0
        lastMetrics = history.compactMap { h in h.values.last.map { (h.metric, $0) } }
    }

    static func describe(_ s: LayerSpec) -> String {
        switch s {
        case .linear(let i, let o, let b): "\(i) -> \(o)\(b ? "" : ", no bias")"
        case .leakyReLU(let a): "alpha \(a)"
        case .maxout(let p): "\(p) pieces"
        case .clamp(let lo, let hi): "[\(lo), \(hi)]"
        case .batchNorm(let f, _, _): "\(f) channels"
        case .conv2d(let i, let o, let k, let st, let p, let b), .convTranspose2d(let i, let o, let k, let st, let p, let b):
            "\(i) -> \(o) channels, kernel \(k), stride \(st), padding \(p)\(b ? "" : ", no bias")"
        case .reshape(let shape): "to \(shape.map(String.init).joined(separator: "x")) per sample"
        case .spectralNorm(let inner, let k, _): describe(inner) + ", spectral norm (\(k) power iteration\(k == 1 ? "" : "s"))"
        case .virtualBatchNorm(let f, _): "\(f) channels"
        case .oneHotConcat(let k): "one-hot of \(k) classes appended"
        case .classProjection(let inner, let k): describe(inner) + ", plus class projection (\(k) classes)"
        case .relu, .sigmoid, .tanh: ""
        }
    }

    static func prior(_ p: NoisePrior) -> String {
        switch p {
        case .normal(let m, let s): "normal(mean \(m), std \(s))"
        case .uniform(let lo, let hi): "uniform(\(lo), \(hi))"
        }
    }

    func text() -> String {
        var lines = [
            "checkpoint   \(path)",
            "format       swiftgan-checkpoint v\(formatVersion), written by swiftgan \(toolVersion) at \(created) with \(threads) thread(s)",
            "stage        \(stage), step \(step) (data epoch \(epoch), position \(position))",
            "data         sample shape \(data.sampleShape); model units = \(data.scale) x data + \(data.offset)",
            "noise        \(data.noiseDimension)-d \(Self.prior(data.noisePrior))",
        ]
        if let c = data.classes {
            lines.append("classes      \(c.count), conditioning \(c.conditioning): "
                         + c.names.enumerated().map { "\($0.offset) \($0.element)" }.joined(separator: ", "))
        }
        for n in networks {
            lines.append("\(n.name)  \(n.parameterCount.formatted()) parameters, \(n.layers.count) layers")
            // Columns as wide as their longest entry (+2), so long kinds and descriptions stay whole.
            let nameWidth = max(16, (n.layers.map(\.name.count).max() ?? 0) + 2)
            let specWidth = max(20, (n.layers.map { Self.describe($0.spec).count }.max() ?? 0) + 2)
            for l in n.layers {
                let params = l.parameters > 0 ? l.parameters.formatted() : ""
                lines.append("  " + l.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                             + Self.describe(l.spec).padding(toLength: specWidth, withPad: " ", startingAt: 0) + params)
            }
            if let o = n.optimizer {
                lines.append("  optimizer: \(o.kind) " + o.attributes.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
            } else {
                lines.append("  optimizer: none stored")
            }
        }
        if stage == Stage.pretrainD.rawValue {
            lines.append("note         stage pretrain-d: the generator has not been trained yet")
        }
        lines.append("history      \(historyLength) entries" + (lastMetrics.isEmpty ? "" : "; last: "
                     + lastMetrics.map { "\($0.0) \(String(format: "%.4g", $0.1))" }.joined(separator: ", ")))
        return lines.joined(separator: "\n")
    }

    /// `"classes": {...}, ` for a conditional model (names, training counts, conditioning), else nothing.
    private func classesJSON(_ q: (String) -> String) -> String {
        guard let c = data.classes else { return "" }
        return "\"classes\": {\"count\": \(c.count), \"conditioning\": \(q(c.conditioning)), "
            + "\"names\": [\(c.names.map(q).joined(separator: ", "))], \"training_counts\": \(c.counts)}, "
    }

    func json() -> String {
        func q(_ s: String) -> String {
            let data = (try? JSONSerialization.data(withJSONObject: [s])) ?? Data("[\"\"]".utf8)
            return String(decoding: data, as: UTF8.self).dropFirst().dropLast().description
        }
        func num(_ d: Double) -> String { d.isFinite ? "\(d)" : "null" }
        let nets = networks.map { n in
            let layers = n.layers.map { l in
                "{\"name\": \(q(l.name)), \"kind\": \(q(l.spec.kind)), \"parameters\": \(l.parameters)"
                    + l.spec.attributes.map { ", \(q($0.name)): \(num($0.value))" }.joined() + "}"
            }
            let opt = n.optimizer.map { o in
                "{\"kind\": \(q(o.kind))" + o.attributes.map { ", \(q($0.0)): \(Double($0.1).map(num) ?? q($0.1))" }.joined() + "}"
            } ?? "null"
            return "\(q(n.name)): {\"parameters\": \(n.parameterCount), \"layers\": [\(layers.joined(separator: ", "))], \"optimizer\": \(opt)}"
        }
        let metrics = lastMetrics.map { "\(q($0.0)): \(num($0.1))" }.joined(separator: ", ")
        let prior: String
        switch data.noisePrior {
        case .normal(let m, let s): prior = "{\"kind\": \"normal\", \"mean\": \(m), \"std\": \(s)}"
        case .uniform(let lo, let hi): prior = "{\"kind\": \"uniform\", \"low\": \(lo), \"high\": \(hi)}"
        }
        return """
        {"checkpoint": \(q(path)), "format_version": \(formatVersion), "tool_version": \(q(toolVersion)), \
        "created_utc": \(q(created)), "threads": \(threads), "stage": \(q(stage)), "step": \(step), \
        "epoch": \(epoch), "position": \(position), \
        "data": {"sample_shape": \(data.sampleShape), "scale": \(data.scale), "offset": \(data.offset), \
        "noise_dimension": \(data.noiseDimension), "noise_prior": \(prior)}, \
        \(classesJSON(q))"networks": {\(nets.joined(separator: ", "))}, "history_length": \(historyLength), "last_metrics": {\(metrics)}}
        """
    }
}
