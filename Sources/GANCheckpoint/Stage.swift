/// The stages of a pipeline, in order. Each reads only what earlier stages wrote (files), so any
/// stage can be rerun or resumed alone. A checkpoint records the stage that wrote it (`stage`
/// root attribute), and checkpoints live in `RUN/<stage>/`.
public enum Stage: String, CaseIterable, Sendable {
    case prep
    case pretrainD = "pretrain-d"
    case train
    case evaluate

    /// The stages that write checkpoints, in pipeline order.
    public static let checkpointed: [Stage] = [.pretrainD, .train]
}
