import Foundation

extension PipelineConfig {
    /// Class labels (`data.label_column`, `data.class_names`) and `conditioning` (issue 22): a
    /// conditional pipeline needs labelled data and the networks and steps conditioning supports.
    func validateConditioning(_ v: inout ConfigValidator) {
        if data.labelColumn != nil {
            v.check([.csv, .npy, .h5].contains(data.source), "data.label_column",
                    "only tables (csv, npy, h5) take a label column; images use data.labels (idx) or one subfolder per class (png_folder)")
            v.check(!(data.labelColumn ?? "").isEmpty, "data.label_column", "must name a column (CSV header name or 0-based number) or, for h5, a dataset")
        }
        if let names = data.classNames {
            v.check(names.count >= 2 && names.count <= 256, "data.class_names", "must list 2...256 class names, got \(names.count)")
            v.check(names.allSatisfy { !$0.isEmpty && !$0.contains("\n") && $0.trimmingCharacters(in: .whitespaces) == $0 },
                    "data.class_names", "names must be non-empty single lines without leading or trailing spaces")
            v.check(Set(names.map { $0.lowercased() }).count == names.count, "data.class_names",
                    "names must differ (ignoring case: gan-sample --class NAME matches case-insensitively)")
            v.check(data.labels != nil || data.labelColumn != nil || data.source == .pngFolder, "data.class_names",
                    "names classes of labelled data: set data.labels (idx) or data.label_column (csv, npy, h5)")
        }
        guard let mode = conditioning else {
            v.check(loss.auxiliaryWeight == nil, "loss.auxiliary_weight", "weights ACGAN's class loss: needs conditioning: acgan")
            return
        }
        switch data.source {
        case .idx: v.check(data.labels != nil, "conditioning", "needs class labels: set data.labels (an IDX label file, one label per image)")
        case .csv, .npy, .h5: v.check(data.labelColumn != nil, "conditioning", "needs class labels: set data.label_column (the table's label column)")
        case .pngFolder: break   // one subfolder per class, checked by prep
        case .gaussian, .parabola, .ring, .grid:
            v.check(false, "conditioning", "needs labelled data (idx with data.labels, png_folder with class subfolders, or a table with data.label_column), not the built-in `\(data.source.rawValue)` source")
        }
        for (n, section) in [(generator, "generator"), (discriminator, "discriminator")] {
            v.check(n.architecture != .dcgan64, section + ".architecture", "conditioning is for `mlp` and `dcgan` networks, not `dcgan64`")
            v.check(!n.virtualBatchNorm, section + ".virtual_batch_norm", "not with conditioning (its reference batch has no labels)")
        }
        v.check(discriminator.clipProbability == nil, "discriminator.clip_probability", "not with conditioning")
        v.check(pretrainD == nil, "pretrain_d", "D's pretraining regresses onto an unconditional pdf: not with conditioning")
        v.check(train.pack == 1, "train.pack", "PacGAN packing mixes the labels of a pack: not with conditioning")
        v.check(train.topKMinFraction >= 1, "train.top_k_min_fraction", "top-k is not implemented for conditional steps")
        v.check(loss.featureMatchingLayer == nil, "loss.feature_matching_layer", "feature matching ignores the labels: not with conditioning")
        v.check(!noise.stratified, "noise.stratified", "the 1-D trick: not with conditioning")
        v.check(train.shards == 1, "train.shards",
                "data-parallel conditional runs are not supported yet (the fakes' labels come from one stream): train.shards must be 1 with conditioning")
        if let w = loss.auxiliaryWeight {
            v.check(mode == .acgan, "loss.auxiliary_weight", "weights ACGAN's class loss: needs conditioning: acgan, got `\(mode.rawValue)`")
            v.nonNegative(w, "loss.auxiliary_weight")
        }
    }
}
