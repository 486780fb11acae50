import Foundation
import GANCheckpoint
import GANData
import GANNN

/// The `pretrain-d` stage (the 1-D system of Goodfellow et al. 2014): before adversarial training,
/// D is regressed onto the data's density, so that the first G steps follow a meaningful
/// gradient. Needs `data.source: gaussian` and a `pretrain_d` section; checkpoints go to
/// `RUN/pretrain-d/` (TensorBoard events in `RUN/tensorboard/pretrain-d/`) and the train stage
/// starts from the final D.
struct PretrainStage: PipelineStage {
    static let stage = Stage.pretrainD
    let context: StageContext

    func run() throws {
        let config = context.config
        guard let pc = config.pretrainD else { return }
        guard case .gaussian(let mean, let std)? = ModelFactory.toyDistribution(config.data) else {
            throw PipelineError.config("pretrain_d: needs data.source gaussian (D is regressed onto the data pdf)")
        }
        // G is built too (and saved unchanged): the networks draw from the "init" stream in the
        // same order as in the train stage, so both stages start from the same weights.
        let session = try TrainSession(config: config, data: try context.loadPrepared())
        let d = session.discriminator
        let description = session.dataDescription
        let (scale, offset) = (description.scale, description.offset)
        // Stratified points over mean ± 6 std (data units), given to D in model units.
        let low = scale * (mean - 6 * std) + offset, high = scale * (mean + 6 * std) + offset
        let pdf: @Sendable (Float) -> Float = { xm in
            let x = (xm - offset) / scale, z = Double((x - mean) / std)
            return Float(exp(-0.5 * z * z) / (Double(std) * (2 * Double.pi).squareRoot()))
        }
        let pre = DiscriminatorPretrainer(discriminator: d, optimizer: ModelFactory.optimizer(pc), low: min(low, high), high: max(low, high),
                                          batchSize: pc.batchSize, rng: RNG(seed: config.seed, stream: .pretrain), density: pdf)
        let optimizer = pre.optimizer
        let store = context.store(.pretrainD)
        var step = 0
        var losses: [Double] = []
        // TensorBoard (`RUN/tensorboard/pretrain-d/`): the regression loss and rate of every step.
        let rate = ModelFactory.optimizer(pc).learningRate
        let scalars = { (s: Int) -> [(tag: String, value: Float)]? in
            s >= 1 && s <= losses.count ? [("loss/mse", Float(losses[s - 1])), ("lr/d", rate.rate(at: s - 1))] : nil
        }
        if !store.stepFiles().isEmpty {
            let reader = try context.openLatest(.pretrainD, resuming: true)
            defer { reader.close() }
            try reader.load("discriminator", into: d)
            try reader.loadOptimizer("discriminator", into: optimizer, of: d)
            pre.rng = try reader.rng(RNGStream.pretrain.name)
            losses = try reader.history().first { $0.metric == "mse" }?.values ?? []
            step = reader.step
            if step >= pc.steps {
                // Events a stopped process did not write after its last checkpoint, from the history.
                try StageEvents(context.run, stage: Self.stage, totalSteps: pc.steps, resumingFrom: step, trains: false,
                                config: context.configYAML, scalars: scalars).flush()
                context.log("pretrain-d: finished (step \(step) of \(pc.steps)); skipped")
                return
            }
        }
        @discardableResult func save() throws -> URL {
            var c = TrainingCheckpoint(stage: Self.stage, step: step, data: description, networks: [
                NetworkEntry("generator", session.generator), NetworkEntry("discriminator", d, optimizer: optimizer),
            ])
            c.config = context.configYAML
            c.rngs = [(RNGStream.pretrain.name, pre.rng)]
            c.history = [("step", (0..<losses.count).map { Double($0 + 1) }), ("mse", losses)]
            return try store.save(c)
        }
        if store.stepFiles().isEmpty { try store.pin(try save(), as: "start.h5") }
        let events = try StageEvents(context.run, stage: Self.stage, totalSteps: pc.steps, resumingFrom: step, config: context.configYAML,
                                     scalars: scalars)

        StopSignal.install()
        let progress = context.progress(.pretrainD, total: pc.steps, startStep: step)
        while step < pc.steps {
            let loss = pre.step(step: step)
            step += 1
            losses.append(Double(loss))
            guard loss.isFinite else {
                throw PipelineError.diverged(stage: Self.stage, step: step, what: "loss is \(loss)", lastCheckpoint: store.stepFiles().last?.url.path)
            }
            progress.update(step: step, ["mse": loss])
            events.mark(step: step)
            if StopSignal.isRequested {
                let url = try save()
                try events.flush()
                progress.finish()
                throw PipelineError.interrupted(stage: Self.stage, step: step, checkpoint: url.path)
            }
        }
        try save()
        try events.flush()
        context.log("pretrain-d: done, \(pc.steps) D steps, final mse \(String(format: "%.5f", losses.last ?? .nan))")
    }
}
