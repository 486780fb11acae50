import Foundation
import GANTensor

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
        return loss(logits.data, rows: n, classes: k, stride: k, labels: labels, gradient: gradient.data, weight: 1)
    }

    /// The same loss over `rows` rows of `classes` logits each, `stride` floats apart (row r's
    /// logits are `l[r·stride ..< r·stride + classes]`: e.g. an ACGAN discriminator's class
    /// columns 1...K of `[N, 1 + K]`), times `weight`; `weight` · dL/dlogits is written to the
    /// same positions of `g` (the other columns are untouched).
    public static func loss(_ l: UnsafePointer<Float>, rows n: Int, classes k: Int, stride: Int, labels: [Int],
                            gradient g: UnsafeMutablePointer<Float>, weight: Float) -> Float {
        let scale = 1 / Double(max(n, 1))
        var total = 0.0
        let gradientScale = Double(weight) * scale
        for r in 0..<n {
            let row = l + r * stride, grow = g + r * stride
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
            for j in 0..<k { grow[j] = Float(Double(grow[j]) * inv * gradientScale) }
            grow[y] -= Float(gradientScale)
        }
        return Float(total * scale) * weight
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
