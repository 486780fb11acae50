import Foundation
import GANNN
import GANTestSupport
import Testing
@_spi(Testing) import GANTensor

@Suite("VirtualBatchNorm") struct VirtualBatchNormTests {
    /// A VirtualBatchNorm with non-trivial γ, β.
    static func layer(_ c: Int) -> VirtualBatchNorm {
        let vbn = VirtualBatchNorm(features: c)
        for i in 0..<c { vbn.weight.value[i] = 0.5 + 0.25 * Float(i); vbn.bias.value[i] = 0.1 * Float(i) - 0.2 }
        return vbn
    }

    /// Records `reference` the way `Sequential.recordReference` does.
    static func record(_ vbn: VirtualBatchNorm, _ reference: Tensor) -> Tensor {
        vbn.recordingReference = true
        defer { vbn.recordingReference = false }
        return vbn.forward(reference, training: false).clone()
    }

    /// The improved-GAN formula in Double for example `i` of `x` after recording `ref`: per channel,
    /// the example's spatial mean and mean square mixed with the reference's by 1/(n+1), n/(n+1).
    static func formula(_ vbn: VirtualBatchNorm, reference ref: Tensor, x: Tensor, example i: Int) -> [Double] {
        let c = vbn.features, n = ref.shape[0], s = ref.count / (n * c)
        var out: [Double] = []
        for ch in 0..<c {
            var rm = 0.0, rs = 0.0
            for j in 0..<n { for k in 0..<s { let v = Double(ref[(j * c + ch) * s + k]); rm += v; rs += v * v } }
            rm /= Double(n * s); rs /= Double(n * s)
            var xm = 0.0, xs = 0.0
            for k in 0..<s { let v = Double(x[(i * c + ch) * s + k]); xm += v; xs += v * v }
            xm /= Double(s); xs /= Double(s)
            let a = 1 / Double(n + 1)
            let mean = a * xm + (1 - a) * rm, meanSquare = a * xs + (1 - a) * rs
            let sd = (meanSquare - mean * mean + Double(vbn.eps)).squareRoot()
            for k in 0..<s {
                out.append((Double(x[(i * c + ch) * s + k]) - mean) / sd * Double(vbn.weight.value[ch]) + Double(vbn.bias.value[ch]))
            }
        }
        return out
    }

    /// Example `i` of an `[N, C, ...]` tensor as a batch of one.
    static func example(_ x: Tensor, _ i: Int) -> Tensor {
        let per = x.count / x.shape[0]
        return Tensor(shape: [1] + x.shape.dropFirst(), values: Array(x.array[(i * per)..<((i + 1) * per)]))
    }

    @Test("gradients with the reference statistics held constant, .full and .inputOnly",
          arguments: [[6, 4], [3, 3, 4, 4]])
    func gradientCheckOrdinaryPass(shape: [Int]) {
        var refShape = shape; refShape[0] = 5
        let vbn = Self.layer(shape[1])
        _ = Self.record(vbn, randomTensor(refShape, seed: 21, std: 1.5, mean: 0.3))
        let x = randomTensor(shape, seed: 22, std: 2, mean: 0.5)
        let r = gradientCheck(vbn, input: x)
        #expect(r.worstError < gradientTolerance, "\(r)")
        #expect(r.checked == x.count + 2 * shape[1])
        let frozen = gradientCheck(Self.layer(shape[1]).recorded(randomTensor(refShape, seed: 23)), input: x,
                                   parameterGradients: false)
        #expect(frozen.worstError < gradientTolerance, "\(frozen)")
        // Evaluation mode is the same computation.
        let e = gradientCheck(vbn, input: x, training: false)
        #expect(e.worstError < gradientTolerance, "\(e)")
    }

    @Test("gradients of a reference pass (batch normalisation over the reference batch)",
          arguments: [[6, 4], [4, 3, 3, 2]])
    func gradientCheckReferencePass(shape: [Int]) {
        let vbn = Self.layer(shape[1])
        vbn.recordingReference = true
        let r = gradientCheck(vbn, input: randomTensor(shape, seed: 24, std: 2, mean: 0.5))
        #expect(r.worstError < gradientTolerance, "\(r)")
        let frozen = gradientCheck(vbn, input: randomTensor(shape, seed: 25), parameterGradients: false)
        #expect(frozen.worstError < gradientTolerance, "\(frozen)")
    }

    @Test("recording, then normalising the reference examples one by one: the formula's values",
          arguments: [[6, 3], [4, 2, 3, 3]])
    func formulaValues(shape: [Int]) {
        let vbn = Self.layer(shape[1])
        let ref = randomTensor(shape, seed: 26, std: 2, mean: 1)
        let recorded = Self.record(vbn, ref)
        #expect(vbn.referenceSize[0] == Float(shape[0]))
        // The reference pass: normalised by the reference batch's own per-channel statistics.
        let c = shape[1], s = ref.count / (shape[0] * c), m = Double(shape[0] * s)
        for ch in 0..<c {
            var sum = 0.0, sq = 0.0
            for j in 0..<shape[0] { for k in 0..<s { let v = Double(ref[(j * c + ch) * s + k]); sum += v; sq += v * v } }
            #expect(abs(Double(vbn.referenceMean[ch]) - sum / m) < 1e-6)
            #expect(abs(Double(vbn.referenceMeanSquare[ch]) - sq / m) < 1e-5)
            let mean = sum / m, sd = (sq / m - mean * mean + Double(vbn.eps)).squareRoot()
            for j in 0..<shape[0] {
                for k in 0..<s {
                    let o = (j * c + ch) * s + k
                    let want = (Double(ref[o]) - mean) / sd * Double(vbn.weight.value[ch]) + Double(vbn.bias.value[ch])
                    #expect(abs(Double(recorded[o]) - want) < 1e-5)
                }
            }
        }
        // Each reference example alone, and the whole reference batch at once: the same values.
        let batch = vbn.forward(ref, training: true).clone()
        for i in 0..<shape[0] {
            let want = Self.formula(vbn, reference: ref, x: ref, example: i)
            let alone = vbn.forward(Self.example(ref, i), training: true).array
            #expect(closeness(alone, want.map { Float($0) }, rtol: 1e-5, atol: 1e-5) <= 1, "example \(i)")
            #expect(alone == Self.example(batch, i).array, "example \(i): batch of 1 = row of the batch")
        }
    }

    @Test("an example's output depends on the reference batch, not on the rest of its batch",
          arguments: [[5, 3], [4, 2, 3, 3]])
    func independentOfOtherExamples(shape: [Int]) {
        let vbn = Self.layer(shape[1])
        _ = Self.record(vbn, randomTensor(shape, seed: 27))
        let x = randomTensor(shape, seed: 28, std: 2)
        let y = vbn.forward(x, training: true).clone()
        // Other examples replaced, and the batch permuted so example 0 moves to the end.
        let per = x.count / shape[0]
        let other = randomTensor(shape, seed: 29, std: 5, mean: 3)
        var values = Array(other.array[per...])
        values += Array(x.array[0..<per])
        let moved = vbn.forward(Tensor(shape: shape, values: values), training: true)
        #expect(Self.example(moved, shape[0] - 1).array == Self.example(y, 0).array)
        // A different reference batch changes it.
        _ = Self.record(vbn, randomTensor(shape, seed: 30, mean: 1))
        let changed = vbn.forward(x, training: true)
        #expect(Self.example(changed, 0).array != Self.example(y, 0).array)
    }

    @Test("Sequential.recordReference: statistics at every depth, evaluation mode, flags reset")
    func sequentialRecordReference() throws {
        var rng = RNG(seed: 31)
        let first = VirtualBatchNorm(features: 6), second = VirtualBatchNorm(features: 3)
        let sn = SpectralNorm(wrapping: Linear(6, 3, rng: &rng), rng: &rng)
        let net = Sequential(Linear(4, 6, rng: &rng), first, LeakyReLU(alpha: 0.2), sn, second, Sigmoid())
        #expect(net.needsReferenceBatch && !Sequential(Linear(2, 2)).needsReferenceBatch)
        let ref = randomTensor([8, 4], seed: 32)
        let u = sn.u.clone(), v = sn.v.clone()
        net.recordReference(ref)
        #expect(!first.recordingReference && !second.recordingReference)
        #expect(sn.u.bitwiseEqual(u) && sn.v.bitwiseEqual(v), "the reference pass does not advance the power iteration")
        // The second layer's statistics are those of the reference batch after the first three
        // layers (the first normalising by the reference's own statistics).
        let h = net.forward(ref, training: false, throughLayer: 4).clone()   // ordinary pass: differs
        let probe = VirtualBatchNorm(features: 3)
        first.recordingReference = true
        let hRef = net.forward(ref, training: false, throughLayer: 4).clone()
        first.recordingReference = false
        _ = Self.record(probe, hRef)
        #expect(probe.referenceMean.bitwiseEqual(second.referenceMean))
        #expect(probe.referenceMeanSquare.bitwiseEqual(second.referenceMeanSquare))
        #expect(!h.bitwiseEqual(hRef))
        #expect(second.referenceSize[0] == 8 && first.referenceSize[0] == 8)
    }

    @Test("LayerSpec virtual_batch_norm round trip; buffers; copied state reproduces outputs")
    func specBuffersResume() throws {
        let s = LayerSpec.virtualBatchNorm(features: 3, eps: 1e-3)
        #expect(s.kind == "virtual_batch_norm")
        #expect(s.attributes.map(\.name) == ["features", "eps"])
        let attrs = Dictionary(uniqueKeysWithValues: s.attributes.map { ($0.name, $0.value) })
        #expect(try LayerSpec.make(kind: "virtual_batch_norm", attributes: attrs).get() == s)
        #expect(LayerSpec.make(kind: "virtual_batch_norm", attributes: ["features": 3, "eps": 0])
                == .failure(.invalid(kind: "virtual_batch_norm", attribute: "eps", value: 0)))
        let specs: [LayerSpec] = [.linear(inFeatures: 2, outFeatures: 3, bias: true), s, .relu]
        let net = Sequential(specs: specs)
        #expect(net.specs == specs)
        #expect(net.namedBuffers.map(\.path)
                == ["1_virtual_batch_norm/reference_mean", "1_virtual_batch_norm/reference_mean_sq",
                    "1_virtual_batch_norm/reference_size"])
        #expect(net.namedBuffers.map(\.tensor.shape) == [[3], [3], [1]])
        #expect(net.namedParameters.map(\.path) == ["0_linear/weight", "0_linear/bias",
                                                    "1_virtual_batch_norm/weight", "1_virtual_batch_norm/bias"])
        let vbn = try #require(net.layers[1] as? VirtualBatchNorm)
        #expect(!vbn.hasReference && vbn.weight.value.array == [1, 1, 1] && vbn.bias.value.array == [0, 0, 0])
        #expect(net.outputShape(for: [2]) == [3])
        #expect(VirtualBatchNorm(features: 2).outputShape(for: [2, 5, 5]) == [2, 5, 5])

        // A "resumed" copy (parameters and buffers copied, as a checkpoint load does) needs no
        // reference pass to reproduce the outputs.
        var rng = RNG(seed: 33)
        for p in net.parameters { rng.fillNormal(p.value) }
        net.recordReference(randomTensor([6, 2], seed: 34))
        let copy = Sequential(specs: specs)
        for (a, b) in zip(net.parameters, copy.parameters) { b.value.copy(from: a.value) }
        for (a, b) in zip(net.namedBuffers, copy.namedBuffers) { b.tensor.copy(from: a.tensor) }
        let x = randomTensor([4, 2], seed: 35)
        #expect(net.forward(x, training: true).clone().bitwiseEqual(copy.forward(x, training: true)))
    }
}

extension VirtualBatchNorm {
    /// This layer after recording `reference`.
    fileprivate func recorded(_ reference: Tensor) -> VirtualBatchNorm {
        _ = VirtualBatchNormTests.record(self, reference)
        return self
    }
}
