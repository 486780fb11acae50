import Foundation
import GANNN
import GANTestSupport
import Testing

@Suite("BatchNorm") struct BatchNormTests {
    /// A BatchNorm with non-trivial γ, β.
    static func layer(_ c: Int) -> BatchNorm {
        let bn = BatchNorm(features: c)
        for i in 0..<c { bn.weight.value[i] = 0.5 + 0.25 * Float(i); bn.bias.value[i] = 0.1 * Float(i) - 0.2 }
        return bn
    }

    @Test(arguments: [[8, 5], [4, 3, 3, 2]])
    func gradientCheckTrainingMode(shape: [Int]) {
        let bn = Self.layer(shape[1])
        let r = gradientCheck(bn, input: randomTensor(shape, seed: 11, std: 2, mean: 0.5), training: true)
        #expect(r.worstError < 1e-2, "\(r)")
        let frozen = gradientCheck(Self.layer(shape[1]), input: randomTensor(shape, seed: 12, std: 2), training: true, parameterGradients: false)
        #expect(frozen.worstError < 1e-2, "\(frozen)")
    }

    @Test func gradientCheckEvalMode() {
        let bn = Self.layer(3)
        for i in 0..<3 { bn.runningMean[i] = Float(i) - 1; bn.runningVar[i] = 0.5 + Float(i) }
        let r = gradientCheck(bn, input: randomTensor([6, 3], seed: 13), training: false)
        #expect(r.worstError < 1e-2, "\(r)")
    }

    @Test func forwardMatchesPyTorchDefinitionAndRunningStatistics() {
        // x[:, 0] = 1, 2, 3, 4 ; x[:, 1] = 10, 10, 10, 14 (N = 4, C = 2)
        let x = Tensor(shape: [4, 2], values: [1, 10, 2, 10, 3, 10, 4, 14])
        let bn = BatchNorm(features: 2, momentum: 0.1, eps: 1e-5)
        let y = bn.forward(x, training: true)
        // Channel 0: mean 2.5, biased var 1.25.
        for (i, v) in [1.0, 2.0, 3.0, 4.0].enumerated() {
            #expect(abs(Double(y[2 * i]) - (v - 2.5) / (1.25 + 1e-5).squareRoot()) < 1e-5)
        }
        // Running: mean 0.1·2.5 = 0.25; var 0.9·1 + 0.1·(1.25·4/3).
        #expect(abs(bn.runningMean[0] - 0.25) < 1e-6)
        #expect(abs(Double(bn.runningVar[0]) - (0.9 + 0.1 * 1.25 * 4 / 3)) < 1e-6)
        #expect(abs(bn.runningMean[1] - 1.1) < 1e-5)  // 0.1 · mean 11
        // Eval mode uses the running statistics: (x - 0.25) / sqrt(running_var + eps).
        let e = bn.forward(x, training: false)
        #expect(abs(Double(e[0]) - (1 - 0.25) / (Double(bn.runningVar[0]) + 1e-5).squareRoot()) < 1e-5)
    }

    @Test func imagesNormalisePerChannelOverBatchAndSpace() {
        let x = randomTensor([3, 2, 4, 4], seed: 14, std: 3, mean: 5)
        let y = BatchNorm(features: 2).forward(x, training: true)
        for ch in 0..<2 {
            var v: [Float] = []
            for n in 0..<3 { for k in 0..<16 { v.append(y[(n * 2 + ch) * 16 + k]) } }
            let mean = v.reduce(0, +) / Float(v.count)
            let variance = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(v.count)
            #expect(abs(mean) < 1e-5 && abs(variance - 1) < 1e-3)
        }
    }

    @Test func specRoundTripAndBuffersInSequential() {
        let s = LayerSpec.batchNorm(features: 7, momentum: 0.05, eps: 1e-3)
        let attrs = Dictionary(uniqueKeysWithValues: s.attributes.map { ($0.name, $0.value) })
        #expect((try? LayerSpec.make(kind: "batch_norm", attributes: attrs).get()) == s)
        let net = Sequential(specs: [.linear(inFeatures: 3, outFeatures: 7, bias: true), s, .relu])
        #expect(net.namedBuffers.map(\.path) == ["1_batch_norm/running_mean", "1_batch_norm/running_var"])
        #expect(net.namedParameters.map(\.path).contains("1_batch_norm/weight"))
    }
}
