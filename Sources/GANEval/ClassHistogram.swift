import Foundation

/// Histogram of the classes a classifier predicts for generated images: how many classes a
/// generator covers and how far its class distribution is from uniform, the mode-collapse
/// measures of the MNIST experiments in Metz et al. 2017 ("Unrolled generative adversarial
/// networks", modes covered and KL(p || uniform) of predicted digits) and Srivastava et al. 2017
/// (VEEGAN). With p_k the fraction of samples predicted as class k of K:
///
///     classesCovered(minFraction: f) = #{k : p_k >= f}
///     KL(p || uniform) = Σ_k p_k log(p_k K)     (0 log 0 = 0; in nats; 0 = uniform, log K = one class)
public struct ClassHistogram: Sendable, Equatable {
    public let counts: [Int]

    public init(counts: [Int]) {
        precondition(!counts.isEmpty && counts.allSatisfy { $0 >= 0 }, "ClassHistogram: counts must be non-negative")
        self.counts = counts
    }

    /// Counts predictions in `0..<classes`.
    public init(predictions: [Int], classes: Int) {
        precondition(classes >= 1, "ClassHistogram needs at least one class")
        var c = [Int](repeating: 0, count: classes)
        for p in predictions {
            precondition(p >= 0 && p < classes, "ClassHistogram: prediction \(p) is not in 0..<\(classes)")
            c[p] += 1
        }
        self.init(counts: c)
    }

    public var classes: Int { counts.count }
    public var total: Int { counts.reduce(0, +) }

    /// p_k (all zero when there are no predictions).
    public var fractions: [Double] {
        let t = total
        return counts.map { t == 0 ? 0 : Double($0) / Double(t) }
    }

    /// Number of classes that receive at least `minFraction` of the predictions (and at least one).
    public func classesCovered(minFraction: Double = 0.01) -> Int {
        let t = Double(total)
        return counts.filter { $0 > 0 && Double($0) >= minFraction * t }.count
    }

    /// KL(p || uniform) in nats; NaN when there are no predictions.
    public var klFromUniform: Double {
        guard total > 0 else { return .nan }
        let k = Double(classes)
        return fractions.reduce(0.0) { $0 + ($1 > 0 ? $1 * log($1 * k) : 0) }
    }
}
