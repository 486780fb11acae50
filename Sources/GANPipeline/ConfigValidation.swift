import Foundation

extension PipelineConfig {
    /// `train.shards`: whole shards of whole packs, and none of the tricks whose loss needs the
    /// whole batch at once (each shard's gradient is computed from its own rows alone).
    func validateShards(_ v: inout ConfigValidator) {
        let k = train.shards
        v.atLeast(k, 1, "train.shards")
        guard k > 1 else { return }
        v.check(train.batchSize % k == 0, "train.shards",
                "train.batch_size (\(train.batchSize)) must be a multiple of train.shards (\(k))")
        v.check(train.batchSize % k != 0 || (train.batchSize / k) % max(train.pack, 1) == 0, "train.shards",
                "each shard (train.batch_size / train.shards = \(train.batchSize / k) rows) must be a multiple of train.pack (\(train.pack))")
        let reason = "needs the whole batch at once: not with train.shards > 1"
        v.check(!noise.stratified, "noise.stratified", "stratified noise sorts the whole batch and " + reason)
        v.check(loss.featureMatchingLayer == nil, "loss.feature_matching_layer", "feature matching compares whole-batch feature means and " + reason)
        v.check(train.topKMinFraction >= 1, "train.top_k_min_fraction", "top-k ranks the whole batch's samples and " + reason)
    }

    /// Semantic checks after decoding (ranges and combinations), in schema order; empty when valid.
    func validationIssues() -> [ConfigIssue] {
        var v = ConfigValidator()
        v.check(!name.isEmpty && !name.contains("/") && name != "." && name != "..", "name",
                "must be a non-empty name without `/` (it names the run directory), got `\(name)`")
        validateData(&v)

        v.atLeast(noise.dimension, 1, "noise.dimension")
        v.finite(noise.mean, "noise.mean")
        v.positive(noise.std, "noise.std")
        v.finite(noise.low, "noise.low")
        v.check(noise.high.isFinite && noise.high > noise.low, "noise.high",
                "must be > noise.low (\(noise.low)), got \(noise.high)")
        v.check(!noise.stratified || noise.dimension == 1, "noise.stratified",
                "stratified noise is the 1-D trick: needs noise.dimension 1, got \(noise.dimension)")

        validateNetwork(generator, "generator", &v)
        v.check(generator.clipProbability == nil, "generator.clip_probability",
                "only the discriminator's output can be clipped")
        validateNetwork(discriminator, "discriminator", &v)
        v.check(discriminator.output == .linear, "discriminator.output",
                "the discriminator's output is always a logit: must be `linear`, got `\(discriminator.output.rawValue)`")
        if let clip = discriminator.clipProbability {
            v.check(clip.count == 2 && 0 < clip[0] && clip[0] < clip[1] && clip[1] < 1,
                    "discriminator.clip_probability",
                    "must be two probabilities [lo, hi] with 0 < lo < hi < 1, got \(clip)")
        }

        v.check(loss.realLabel > 0 && loss.realLabel <= 1, "loss.real_label",
                "must be in (0, 1], got \(loss.realLabel)")
        if let fm = loss.featureMatchingLayer {
            let blocks = discriminator.architecture == .dcgan ? discriminator.channels.count : discriminator.hidden.count
            v.check(fm >= 1 && fm <= blocks, "loss.feature_matching_layer",
                    "D has \(blocks) hidden block(s) (discriminator.\(discriminator.architecture == .dcgan ? "channels" : "hidden")): must be in 1...\(blocks), got \(fm)")
            v.check(loss.objective != .wasserstein, "loss.feature_matching_layer", "feature matching replaces G's loss: not with the wasserstein objective")
            v.check(train.pack == 1, "loss.feature_matching_layer", "feature matching reads D's features per sample: not with train.pack > 1")
        }
        v.check(!generator.spectralNorm, "generator.spectral_norm", "spectral normalisation is for the discriminator's layers")
        for (n, section) in [(generator, "generator"), (discriminator, "discriminator")] where n.virtualBatchNorm {
            v.check(!n.batchNorm, section + ".virtual_batch_norm", "use batch_norm or virtual_batch_norm, not both")
            v.check(train.referenceBatchSize >= 2, "train.reference_batch_size",
                    "\(section).virtual_batch_norm needs a reference batch: set train.reference_batch_size >= 2, got \(train.referenceBatchSize)")
        }
        v.atLeast(train.referenceBatchSize, 0, "train.reference_batch_size")
        v.check(train.emaDecay >= 0 && train.emaDecay < 1, "train.ema_decay", "must be in [0, 1) (0 = off), got \(train.emaDecay)")
        v.check(train.topKMinFraction > 0 && train.topKMinFraction <= 1, "train.top_k_min_fraction",
                "must be in (0, 1] (the smallest fraction of the batch kept in G's loss; 1 = off), got \(train.topKMinFraction)")
        v.check(train.topKDecay > 0 && train.topKDecay <= 1, "train.top_k_decay", "must be in (0, 1], got \(train.topKDecay)")
        v.atLeast(train.topKDecayEvery, 1, "train.top_k_decay_every")
        if train.topKMinFraction < 1 {
            v.check(loss.featureMatchingLayer == nil, "train.top_k_min_fraction",
                    "top-k ranks the samples' own G losses: not with loss.feature_matching_layer")
        }
        validateOptimizer(generatorOptimizer, "generator_optimizer", &v)
        validateOptimizer(discriminatorOptimizer, "discriminator_optimizer", &v)

        if let p = pretrainD {
            v.atLeast(p.steps, 0, "pretrain_d.steps")
            v.atLeast(p.batchSize, 1, "pretrain_d.batch_size")
            v.positive(p.learningRate, "pretrain_d.learning_rate")
            v.nonNegative(p.momentum, "pretrain_d.momentum")
        }
        v.atLeast(train.steps, 0, "train.steps")
        v.atLeast(train.batchSize, 1, "train.batch_size")
        v.atLeast(train.dStepsPerGStep, 1, "train.d_steps_per_g_step")
        v.atLeast(train.pack, 1, "train.pack")
        if train.pack > 1 {
            v.check(train.batchSize % train.pack == 0, "train.pack",
                    "train.batch_size (\(train.batchSize)) must be a multiple of the packing degree \(train.pack)")
            v.check(pretrainD == nil && data.source != .gaussian, "train.pack",
                    "packing is for the 2-D and file sources: the gaussian system's pretrain_d and evaluation read D(x) one sample at a time")
        }
        validateShards(&v)
        validateConditioning(&v)
        v.atLeast(train.checkpointEvery, 1, "train.checkpoint_every")
        v.atLeast(train.evalEvery, 0, "train.eval_every")
        v.check(train.evalEvery == 0 || !data.isImageSource || data.labels != nil, "train.eval_every",
                "for images the cheap metric is FD in a classifier's feature space: needs data.labels")
        v.atLeast(train.logEvery, 0, "train.log_every")
        v.atLeast(checkpoint.keepLast, 1, "checkpoint.keep_last")
        v.atLeast(evaluate.samples, 1, "evaluate.samples")
        return v.issues
    }

    private func validateData(_ v: inout ConfigValidator) {
        v.finite(data.mean, "data.mean")
        v.positive(data.std, "data.std")
        v.atLeast(data.modes, 1, "data.modes")
        v.positive(data.radius, "data.radius")
        v.atLeast(data.gridSize, 1, "data.grid_size")
        v.positive(data.spacing, "data.spacing")
        v.finite(data.parabolaA, "data.parabola_a")
        v.atLeast(data.size, 1, "data.size")
        if data.isFileSource {
            v.check(!(data.path ?? "").isEmpty, "data.path", "required for source `\(data.source.rawValue)`")
        }
        if data.source == .h5 { v.check(!data.dataset.isEmpty, "data.dataset", "must name the HDF5 dataset") }
        v.atLeast(data.floorSize, 0, "data.floor_size")
        if !data.isImageSource {
            for (value, key) in [(data.labels, "labels"), (data.testPath, "test_path"), (data.testLabels, "test_labels")] {
                v.check(value == nil, "data." + key, "only image sources (idx, png_folder) take `\(key)`, not `\(data.source.rawValue)`")
            }
        }
        v.check(data.testLabels == nil || data.testPath != nil, "data.test_labels", "needs data.test_path (the held-out images they label)")
        if let side = data.resize {
            v.check(data.isImageSource, "data.resize", "only image sources (idx, png_folder) are resized, not `\(data.source.rawValue)`")
            v.check(side >= 1 && side <= 4096, "data.resize", "must be an image side in 1...4096 pixels, got \(side)")
        }
        v.check(data.normalize != .symmetric || data.isImageSource, "data.normalize",
                "`symmetric` maps images' [0, 1] to [-1, 1]; for `\(data.source.rawValue)` data use `minmax` or `standardize`")
    }

    private func validateNetwork(_ n: NetworkConfig, _ section: String, _ v: inout ConfigValidator) {
        if n.architecture == .dcgan {
            v.check(data.isImageSource, section + ".architecture", "`dcgan` needs image data (data.source idx or png_folder), got `\(data.source.rawValue)`")
            v.check(!n.channels.isEmpty && n.channels.allSatisfy { $0 >= 1 }, section + ".channels",
                    "`dcgan` needs one channel count >= 1 per resolution, e.g. [128, 64], got \(n.channels)")
            v.check(n.activation != .maxout, section + ".activation", "maxout is for `mlp` networks")
            v.check(train.pack == 1, section + ".architecture", "PacGAN packing (train.pack) is for `mlp` discriminators")
        }
        if n.architecture == .dcgan64 {
            v.check(data.isImageSource, section + ".architecture", "`dcgan64` needs image data (data.source idx or png_folder), got `\(data.source.rawValue)`")
            v.atLeast(n.features, 1, section + ".features")
            v.check(train.pack == 1, section + ".architecture", "PacGAN packing (train.pack) is for `mlp` discriminators")
            v.check(!n.virtualBatchNorm && !n.spectralNorm, section + ".architecture",
                    "`dcgan64` is pytorch/examples' network with its own batch norm: no virtual_batch_norm or spectral_norm")
            if section == "generator" {
                v.check(data.normalize == .symmetric, "data.normalize",
                        "the `dcgan64` generator ends in tanh: images must be scaled to [-1, 1] (normalize: symmetric), got `\(data.normalize.rawValue)`")
            } else {
                v.check(loss.featureMatchingLayer == nil, "loss.feature_matching_layer", "not with a `dcgan64` discriminator")
            }
        }
        v.check(n.hidden.allSatisfy { $0 >= 1 }, section + ".hidden", "layer widths must be >= 1, got \(n.hidden)")
        v.check(n.leakyAlpha >= 0 && n.leakyAlpha < 1, section + ".leaky_alpha", "must be in [0, 1), got \(n.leakyAlpha)")
        if n.activation == .maxout { v.atLeast(n.maxoutPieces, 2, section + ".maxout_pieces") }
        v.positive(n.initStd, section + ".init_std")
    }

    private func validateOptimizer(_ o: OptimizerConfig, _ section: String, _ v: inout ConfigValidator) {
        v.positive(o.learningRate, section + ".learning_rate")
        v.nonNegative(o.momentum, section + ".momentum")
        v.finite(o.dampening, section + ".dampening")
        if o.kind == .sgd, o.nesterov {
            v.check(o.momentum > 0 && o.dampening == 0, section + ".nesterov",
                    "Nesterov momentum needs momentum > 0 and dampening 0 (momentum \(o.momentum), dampening \(o.dampening))")
        }
        v.nonNegative(o.alpha, section + ".alpha")
        v.check(o.beta1 >= 0 && o.beta1 < 1, section + ".beta1", "must be in [0, 1), got \(o.beta1)")
        v.check(o.beta2 >= 0 && o.beta2 < 1, section + ".beta2", "must be in [0, 1), got \(o.beta2)")
        v.nonNegative(o.eps, section + ".eps")
        v.nonNegative(o.weightDecay, section + ".weight_decay")
        if let c = o.clipValue { v.positive(c, section + ".clip_value") }
        v.atLeast(o.decayEvery, 0, section + ".decay_every")
        v.positive(o.decayFactor, section + ".decay_factor")
    }
}

struct ConfigValidator {
    var issues: [ConfigIssue] = []

    mutating func check(_ ok: Bool, _ key: String, _ message: @autoclosure () -> String) {
        if !ok { issues.append(ConfigIssue(path: [PathKey](dotted: key), message: message())) }
    }

    mutating func atLeast(_ x: Int, _ minimum: Int, _ key: String) {
        check(x >= minimum, key, "must be >= \(minimum), got \(x)")
    }

    mutating func positive(_ x: Double, _ key: String) {
        check(x.isFinite && x > 0, key, "must be > 0, got \(x)")
    }

    mutating func nonNegative(_ x: Double, _ key: String) {
        check(x.isFinite && x >= 0, key, "must be >= 0, got \(x)")
    }

    mutating func finite(_ x: Double, _ key: String) {
        check(x.isFinite, key, "must be a finite number, got \(x)")
    }
}
