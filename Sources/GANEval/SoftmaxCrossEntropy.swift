import Foundation
import GANNN

/// Softmax cross-entropy on class logits (the classifier's training loss), PyTorch's
/// `F.cross_entropy(logits, labels)` with the default mean reduction:
///
///     L = (1/N) Σ_n [ logsumexp_k l[n, k] - l[n, y_n] ]
///     dL/dl[n, k] = (softmax(l[n])_k - [k == y_n]) / N
///
/// The softmax subtracts the row maximum first (stable for any logit scale); the per-row log-sum
/// and the total are accumulated in Double.
public enum SoftmaxCrossEntropy {
    /// Returns the mean loss and writes dL/dlogits into `gradient` (resized to `[N, K]`).
    /// `labels[n]` must be in `0..<K` for the first N entries (extra entries are ignored).
    public static func loss(logits: Tensor, labels: [Int], gradient: Tensor) -> Float {
        let n = logits.rows, k = logits.columns
        precondition(labels.count >= n, "SoftmaxCrossEntropy: \(labels.count) labels for \(n) rows")
        gradient.resize(rows: n, columns: k)
        let scale = 1 / Double(max(n, 1))
        var total = 0.0
        let l = logits.data, g = gradient.data
        for r in 0..<n {
            let row = l + r * k, grow = g + r * k
            let y = labels[r]
            precondition(y >= 0 && y < k, "SoftmaxCrossEntropy: label \(y) of row \(r) is not in 0..<\(k)")
            var m = row[0]
            for j in 1..<max(k, 1) where row[j] > m { m = row[j] }
            var sum = 0.0
            for j in 0..<k {
                let e = exp(Double(row[j] - m))
                grow[j] = Float(e)
                sum += e
            }
            total += log(sum) + Double(m) - Double(row[y])
            let inv = 1 / sum
            for j in 0..<k { grow[j] = Float(Double(grow[j]) * inv * scale) }
            grow[y] -= Float(scale)
        }
        return Float(total * scale)
    }

    /// The index of the largest logit per row (first one on ties).
    public static func argmax(_ logits: Tensor) -> [Int] {
        let n = logits.rows, k = logits.columns
        var out = [Int](repeating: 0, count: n)
        for r in 0..<n {
            let row = logits.data + r * k
            var best = row[0], arg = 0
            for j in 1..<max(k, 1) where row[j] > best { best = row[j]; arg = j }
            out[r] = arg
        }
        return out
    }
}
