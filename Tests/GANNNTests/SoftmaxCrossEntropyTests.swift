import Foundation
import GANNN
import GANTensor
import GANTestSupport
import Testing

@Suite struct SoftmaxCrossEntropyTests {
    @Test func knownValues() {
        let g = Tensor(shape: [0])
        // Equal logits over K classes: loss log K, gradient (1/K - onehot) / N.
        let l = Tensor(shape: [2, 4], values: [0, 0, 0, 0, 5, 5, 5, 5])
        let loss = SoftmaxCrossEntropy.loss(logits: l, labels: [1, 3], gradient: g)
        #expect(abs(Double(loss) - log(4.0)) < 1e-6)
        #expect(closeness(g.array, [0.125, -0.375, 0.125, 0.125, 0.125, 0.125, 0.125, -0.375], rtol: 1e-6, atol: 1e-7) <= 1)
        // Huge logits stay finite: loss = 1000 for a wrong confident prediction.
        let big = Tensor(shape: [1, 2], values: [1000, 0])
        #expect(abs(SoftmaxCrossEntropy.loss(logits: big, labels: [1], gradient: g) - 1000) < 1e-3)
        #expect(SoftmaxCrossEntropy.argmax(Tensor(shape: [2, 3], values: [1, 3, 3, -1, -2, -0.5])) == [1, 2])
    }

    @Test func gradientMatchesFiniteDifferences() {
        let logits = randomTensor([5, 10], seed: 11, std: 2)
        let labels = [0, 9, 3, 3, 7]
        // h = 0.05: the Float32 loss value (~2.5, ulp 2.4e-7) limits the slope to ~5e-6 absolute.
        let r = functionGradientCheck(input: logits, h: 0.05) { x, g in
            SoftmaxCrossEntropy.loss(logits: x, labels: labels, gradient: g)
        }
        #expect(r.worstError < 1e-2, "\(r)")
    }
}
