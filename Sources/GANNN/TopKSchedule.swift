import Foundation

/// Top-k training's k (Sinha et al. 2020, "Top-k Training of GANs: Improving GAN Performance by
/// Throwing Away Bad Samples"): how many of the `rows` fake rows (packs, with packing) D judges in
/// one G step count in G's loss, as a function of the training step alone (so a resumed run
/// continues exactly):
///
///     k(step) = min(rows, max(1, ⌈ν · rows⌉, ⌊rows · γ^⌊step / every⌋⌋))
///
/// k starts at the whole batch and decays by γ (`decay`) every `decayEvery` steps down to the
/// fraction ν (`minFraction`) of it. `rows` is the number of rows of a full G batch as D sees it
/// (batch size / pack); a smaller batch keeps all its rows when k reaches their number.
public struct TopKSchedule: Equatable, Sendable {
    public let rows: Int
    /// ν, in (0, 1].
    public let minFraction: Double
    /// γ, in (0, 1].
    public let decay: Double
    public let decayEvery: Int

    public init(rows: Int, minFraction: Double, decay: Double, decayEvery: Int) {
        (self.rows, self.minFraction, self.decay, self.decayEvery) = (rows, minFraction, decay, decayEvery)
    }

    /// The same k at every step (rows = k, nothing decays).
    public static func constant(_ k: Int) -> TopKSchedule {
        TopKSchedule(rows: k, minFraction: 1, decay: 1, decayEvery: 1)
    }

    /// k at training step `step` (0-based count of completed G steps).
    public func k(at step: Int) -> Int {
        let floor = Int((minFraction * Double(rows)).rounded(.up))
        let decayed = Int((Double(rows) * pow(decay, Double(step / max(decayEvery, 1)))).rounded(.down))
        return min(rows, max(1, floor, decayed))
    }

    /// Why these values cannot be a schedule (nil when they can).
    var problem: String? {
        if rows < 1 { return "rows must be >= 1, got \(rows)" }
        if !(minFraction > 0 && minFraction <= 1) { return "minFraction must be in (0, 1], got \(minFraction)" }
        if !(decay > 0 && decay <= 1) { return "decay must be in (0, 1], got \(decay)" }
        if decayEvery < 1 { return "decayEvery must be >= 1, got \(decayEvery)" }
        return nil
    }
}
