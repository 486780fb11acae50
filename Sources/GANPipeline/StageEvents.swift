import Foundation
import GANCheckpoint
import GANPlot
import GANTensorBoard

/// A training stage's TensorBoard run, `RUN/tensorboard/<stage>/` (one TensorBoard run per
/// stage): the stage marks the wall time of each logged step as it trains and, at each
/// checkpoint, `flush` writes one event file with what happened since the previous checkpoint:
///
/// - scalars from the stage's `history` (the same numbers the checkpoint stores): train
///   `loss/d`, `loss/g`, `score/d_real`, `score/d_fake` (mean D(x), D(G(z)); for WGAN the critic's
///   values), `lr/d`, `lr/g`; pretrain-d `loss/mse`, `lr/d`; every step while the stage has at
///   most 10,000 steps, else every ⌈steps / 10,000⌉-th (TensorBoard samples a curve down to 1,000
///   points anyway);
/// - `samples`, the fixed-noise sample grid of the checkpoint (image runs);
/// - `config`, the resolved configuration as text, once at step 0;
/// - `SessionLog.START` at the first step each process trains (TensorBoard's restart marker; the
///   report reads the stage's timeline from it).
///
/// A process resuming from the checkpoint at step S first drops every stored event after S, then
/// re-logs what a process stopped between saving a checkpoint and writing its events (by SIGKILL
/// or a failed write) left out: from the history every logged step up to S without an event, the
/// sample grid of checkpoint S, and the config when the run has none. The curves continue without
/// duplicates or gaps.
///
/// Writing events reads what training computed and never draws from a random stream, so it cannot
/// change a bit of training.
final class StageEvents {
    let run: TensorBoardRun
    let stride: Int
    /// The tags and values of a logged step (nil when the history has no such step).
    let scalars: (Int) -> [(tag: String, value: Float)]?
    private var pending: TensorBoardEvents
    /// The logged steps since the last flush with their wall times, in step order.
    private var marked: [(step: Int, wallTime: Double)] = []

    /// Events of `stage` resuming from (or starting at) `step`, whose history gives `scalars`;
    /// `config` is the resolved configuration and `image` draws the sample grid of the checkpoint
    /// at `step` (image runs), each logged when the stored events lack it. `trains`: this process
    /// trains on from `step` (a `SessionLog.START`); false for a finished stage, whose `flush()`
    /// then only writes what it re-logged.
    init(_ runDirectory: RunDirectory, stage: Stage, totalSteps: Int, resumingFrom step: Int, trains: Bool = true, config: String,
         scalars: @escaping (Int) -> [(tag: String, value: Float)]?, image: (() throws -> PixelImage)? = nil) throws {
        run = TensorBoardRun(runDirectory.tensorBoardDirectory.appendingPathComponent(stage.rawValue))
        stride = Self.stride(totalSteps: totalSteps)
        self.scalars = scalars
        let now = Date().timeIntervalSince1970
        pending = TensorBoardEvents(wallTime: now)
        let kept = try run.discardEvents(after: step)
        if !kept.textTags.contains("config") { addText("config", step: 0, Self.configText(config)) }
        // Logged steps up to the checkpoint without an event, at the time of the last one kept.
        var missing = ((kept.lastScalarStep ?? 0) / stride + 1) * stride
        while missing <= step {
            if let values = scalars(missing) { pending.addScalars(step: missing, wallTime: kept.lastWallTime ?? now, values) }
            missing += stride
        }
        if let image, kept.lastImageStep != step { addImage("samples", step: step, try image()) }
        if trains { pending.addSessionStart(step: step + 1, wallTime: now) }
    }

    static func stride(totalSteps: Int) -> Int { max(1, (totalSteps + 9_999) / 10_000) }

    /// Notes the wall time of `step` when it is a logged step.
    func mark(step: Int) {
        if step % stride == 0 { marked.append((step, Date().timeIntervalSince1970)) }
    }

    func addText(_ tag: String, step: Int, _ text: String) {
        pending.addText(tag: tag, step: step, wallTime: Date().timeIntervalSince1970, text)
    }

    func addImage(_ tag: String, step: Int, _ image: PixelImage) {
        pending.addImage(tag: tag, step: step, wallTime: Date().timeIntervalSince1970, png: image.pngData(),
                         width: image.width, height: image.height, channels: image.format.channels)
    }

    /// Writes the pending events, with the scalars of every marked step, as one new event file.
    func flush() throws {
        for (step, wallTime) in marked {
            if let values = scalars(step) { pending.addScalars(step: step, wallTime: wallTime, values) }
        }
        marked.removeAll(keepingCapacity: true)
        try run.write(pending)
        pending = TensorBoardEvents(wallTime: Date().timeIntervalSince1970)
    }

    /// The config as TensorBoard's text plugin shows it: markdown, so the YAML goes in a code block.
    static func configText(_ yaml: String) -> String {
        yaml.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n")
    }
}

extension History {
    /// The train stage's loss and score scalars of `step` (a row of the history; nil when it has none).
    func scalars(at step: Int) -> [(tag: String, value: Float)]? {
        let steps = columns[0]
        // Rows are steps 1, 2, ... in order; look from the end, where flushes look.
        guard let last = steps.last, step >= 1, step <= Int(last) else { return nil }
        let row = steps.count - 1 - (Int(last) - step)
        guard row >= 0, Int(steps[row]) == step else { return nil }
        return [("loss/d", Float(columns[1][row])), ("loss/g", Float(columns[2][row])),
                ("score/d_real", Float(columns[3][row])), ("score/d_fake", Float(columns[4][row]))]
    }
}
