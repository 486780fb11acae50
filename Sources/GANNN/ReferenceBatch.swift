/// Layers whose forward pass normalises with the statistics of a fixed reference batch (virtual
/// batch normalisation, Salimans et al. 2016). The network first runs the reference batch with
/// `recordingReference = true` (the layer stores the reference statistics and passes the batch
/// through normalised by them), then the real batch with it false.
public protocol ReferenceBatchLayer: Layer {
    var recordingReference: Bool { get set }
}

extension Sequential {
    /// Whether any layer needs a reference batch before each forward pass.
    public var needsReferenceBatch: Bool { layers.contains { $0 is ReferenceBatchLayer } }

    /// Runs `reference` through the network so every `ReferenceBatchLayer` records its reference
    /// statistics at its own depth (call before each forward whose statistics should be current,
    /// as the improved-GAN code does: the statistics at depth k depend on the current weights).
    ///
    /// The pass runs in evaluation mode (`training: false`), so its only effect is the recorded
    /// statistics: spectral-norm layers do not advance their power iteration, and the output is
    /// discarded. A network with reference-batch layers must not contain `BatchNorm` (checked
    /// here): its statistics would differ between this pass (running statistics) and the
    /// training pass (batch statistics), and a training-mode reference pass would move its
    /// running statistics — use virtual batch normalisation throughout instead.
    public func recordReference(_ reference: Tensor) {
        guard needsReferenceBatch else { return }
        precondition(!layers.contains { $0 is BatchNorm },
                     "Sequential.recordReference: a network with virtual batch normalisation must not also use BatchNorm")
        setRecording(true)
        defer { setRecording(false) }
        _ = forward(reference, training: false)
    }

    /// Sets every reference-batch layer's flag (a loop, not a filtered array: no allocation per step).
    private func setRecording(_ on: Bool) {
        for l in layers { if let r = l as? ReferenceBatchLayer { r.recordingReference = on } }
    }
}
