import Foundation
import GANCheckpoint
import GANData
import GANNN
import GANPlot

/// The evaluate stage's PNG plots (written by the project's own GANPlot):
/// - 1-D: `eval/distributions.png`, panels "before training" (pretrain-d/start.h5 or
///   train/start.h5 without pretraining), "after pretraining" (train/start.h5) and "after
///   training", each with p_data, a density histogram of G's samples and D(x);
/// - 2-D: `eval/samples.png`, real (grey) and generated points, mixture centres marked;
/// - `eval/losses.png`: D and G losses over G steps; `eval/scores.png`: mean D(x) and D(G(z)).
extension EvaluateStage {
    func writePlots(final reader: CheckpointReader, samples: [Float], description desc: DataDescription) throws -> [String] {
        let config = context.config, run = context.run
        var written: [String] = []
        let dir = run.evalDirectory
        if let toy = ModelFactory.toyDistribution(config.data) {
            if case .gaussian(let mean, let std) = toy {
                var panels: [Plot] = []
                var states: [(String, String)] = []
                if config.pretrainD != nil { states.append(("before training", run.stage(.pretrainD).url.appendingPathComponent("start.h5").path)) }
                states.append((config.pretrainD != nil ? "after pretraining D" : "before training", run.stage(.train).url.appendingPathComponent("start.h5").path))
                for (title, path) in states where FileManager.default.fileExists(atPath: path) {
                    let r = try CheckpointReader(path: path)
                    defer { r.close() }
                    let g = try r.buildNetwork("generator"), d = try r.buildNetwork("discriminator")
                    panels.append(oneDimensionalPanel(title, g: g, d: d, desc: desc, mean: mean, std: std))
                }
                let g = try reader.buildNetwork("generator"), d = try reader.buildNetwork("discriminator")
                panels.append(oneDimensionalPanel("after training (step \(reader.step))", g: g, d: d, desc: desc, mean: mean, std: std))
                let path = dir.appendingPathComponent("distributions.png").path
                try PlotGrid(panels, title: "\(config.name): p_data, p_g and D(x)").write(to: path, panelWidth: 520, panelHeight: 380)
                written.append(path)
            } else {
                var p = Plot(title: "\(config.name): real and generated samples (step \(reader.step))", xLabel: "x1", yLabel: "x2")
                p.equalAspect = true
                let real = try PreparedData.read(from: run.dataFile).samples.prefix(2 * samples.count / 2)
                p.scatter(stride(from: 0, to: real.count - 1, by: 2).map { Double(real[$0]) },
                          stride(from: 1, to: real.count, by: 2).map { Double(real[$0]) }, color: .gray, label: "real", radius: 1.5, alpha: 0.5)
                p.scatter(stride(from: 0, to: samples.count - 1, by: 2).map { Double(samples[$0]) },
                          stride(from: 1, to: samples.count, by: 2).map { Double(samples[$0]) }, color: .orange, label: "generated", radius: 1.5, alpha: 0.6)
                let c = toy.centers
                if !c.isEmpty {
                    p.scatter(c.map { Double($0[0]) }, c.map { Double($0[1]) }, color: .black, label: "mode centres", radius: 4, marker: .cross, alpha: 1)
                }
                let path = dir.appendingPathComponent("samples.png").path
                try p.write(to: path, width: 720, height: 620)
                written.append(path)
            }
        }
        let history = try reader.history()
        let wgan = config.loss.objective == .wasserstein
        for (file, plot) in [("losses.png", TrainingPlots.losses(history, name: config.name, wasserstein: wgan)),
                             ("scores.png", TrainingPlots.scores(history, name: config.name, wasserstein: wgan))] {
            guard let plot else { continue }
            let path = dir.appendingPathComponent(file).path
            try plot.write(to: path, width: 720, height: 420)
            written.append(path)
        }
        return written
    }

    private func oneDimensionalPanel(_ title: String, g: Sequential, d: Sequential, desc: DataDescription, mean: Float, std: Float) -> Plot {
        let lo = Double(mean - 4 * std), hi = Double(mean + 4 * std)
        var p = Plot(title: title, xLabel: "x", yLabel: "density / D(x)", xRange: lo...hi, yRange: 0...1.2)
        var rng = RNG(seed: context.config.seed, stream: .plot)
        let z = Tensor(shape: [5000, desc.noiseDimension])
        desc.noisePrior.fill(z, rng: &rng)
        let samples = g.forward(z, training: false).array.map { Double(($0 - desc.offset) / desc.scale) }
        p.histogram(samples, bins: 60, range: lo...hi, color: .blue, label: "p_g (G samples)", density: true)
        let s = Double(std), m = Double(mean)
        p.function(in: lo...hi, color: .darkGray, label: "p_data") { x in exp(-0.5 * ((x - m) / s) * ((x - m) / s)) / (s * (2 * Double.pi).squareRoot()) }
        let grid = Tensor(shape: [200, 1])
        for i in 0..<200 { grid[i] = desc.scale * Float(lo + (hi - lo) * Double(i) / 199) + desc.offset }
        let logits = d.forward(grid, training: false)
        let xs = (0..<200).map { lo + (hi - lo) * Double($0) / 199 }
        p.line(xs, (0..<200).map { 1 / (1 + exp(-Double(logits[$0]))) }, color: .red, label: "D(x)", thickness: 2, dashed: true)
        return p
    }
}
