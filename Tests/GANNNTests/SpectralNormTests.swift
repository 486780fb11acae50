import Foundation
import GANNN
import GANTestSupport
import Testing
@_spi(Testing) import GANTensor

/// Largest singular value of the row-major matrix `[rows, columns]`, by power iteration on WᵀW in
/// Double (independent of the layer's Float code): `steps` iterations from a fixed start.
func largestSingularValue(_ w: [Float], rows: Int, columns: Int, steps: Int = 2000) -> Double {
    var v = (0..<columns).map { 1 + 0.1 * Double($0 % 7) }
    var sigma = 0.0
    for _ in 0..<steps {
        var wv = [Double](repeating: 0, count: rows)
        for r in 0..<rows { for c in 0..<columns { wv[r] += Double(w[r * columns + c]) * v[c] } }
        var next = [Double](repeating: 0, count: columns)
        for r in 0..<rows { for c in 0..<columns { next[c] += Double(w[r * columns + c]) * wv[r] } }
        let norm = next.reduce(0) { $0 + $1 * $1 }.squareRoot()
        sigma = norm.squareRoot()   // ‖WᵀW v‖ → σ² for a unit v at convergence
        v = next.map { $0 / norm }
    }
    return sigma
}

/// The sequence helpers of Reference/spectral_norm_reference.py (dyadic, exact in Float).
private func seq(_ n: Int, _ f: (Int) -> Float) -> [Float] { (0..<n).map(f) }

@Suite("SpectralNorm") struct SpectralNormTests {
    static func linear(_ i: Int, _ o: Int, bias: Bool = true, iterations: Int = 1, seed: UInt64) -> SpectralNorm {
        var rng = RNG(seed: seed)
        return SpectralNorm(wrapping: Linear(i, o, bias: bias, rng: &rng), powerIterations: iterations, rng: &rng)
    }

    static func conv(seed: UInt64, iterations: Int = 1) -> SpectralNorm {
        var rng = RNG(seed: seed)
        return SpectralNorm(wrapping: Conv2d(2, 3, kernel: 3, stride: 2, padding: 1, rng: &rng),
                            powerIterations: iterations, rng: &rng)
    }

    /// Gradient checks in evaluation mode, where u and v stay fixed (the forward still divides by
    /// σ = uᵀWv of the perturbed W): that is exactly the function whose gradient the training
    /// backward computes (u, v constants). u and v must be unchanged afterwards.
    func expectGradients(_ sn: SpectralNorm, _ x: Tensor) {
        _ = sn.forward(x, training: true)   // a few power-iteration steps first: realistic u, v
        _ = sn.forward(x, training: true)
        let u = sn.u.clone(), v = sn.v.clone()
        let r = gradientCheck(sn, input: x, training: false)
        #expect(r.worstError < gradientTolerance, "\(r)")
        #expect(r.checked == x.count + sn.parameterCount)
        let frozen = gradientCheck(sn, input: x, training: false, parameterGradients: false)
        #expect(frozen.worstError < gradientTolerance, "\(frozen)")
        #expect(sn.parameters.allSatisfy { $0.gradient.array.allSatisfy { $0 == 0 } })
        #expect(sn.u.bitwiseEqual(u) && sn.v.bitwiseEqual(v), "evaluation forwards leave u, v alone")
    }

    @Test("SN-Linear: input, weight and bias gradients, .full and .inputOnly", arguments: [true, false])
    func linearGradients(bias: Bool) {
        expectGradients(Self.linear(5, 4, bias: bias, seed: 1), randomTensor([3, 5], seed: 2))
    }

    @Test("SN-Conv2d: input, weight and bias gradients, .full and .inputOnly")
    func convGradients() {
        expectGradients(Self.conv(seed: 3), randomTensor([2, 2, 5, 5], seed: 4))
    }

    /// After a training forward (u, v updated), backward is the derivative of W/σ with the
    /// *updated* u, v held constant: an evaluation-mode forward from that state reproduces the
    /// output, and its gradient is the same.
    @Test("training backward = gradient with the updated u, v held fixed")
    func trainingBackwardUsesUpdatedVectors() throws {
        let sn = Self.linear(4, 3, seed: 5)
        let x = randomTensor([2, 4], seed: 6), dy = randomTensor([2, 3], seed: 7)
        let yTrain = sn.forward(x, training: true).clone()
        sn.zeroGradients()
        let dxTrain = try #require(sn.backward(dy, mode: .full)).clone()
        let dwTrain = sn.weight.gradient.clone()
        let yEval = sn.forward(x, training: false).clone()
        sn.zeroGradients()
        let dxEval = try #require(sn.backward(dy, mode: .full))
        #expect(yEval.bitwiseEqual(yTrain))
        #expect(dxEval.bitwiseEqual(dxTrain) && sn.weight.gradient.bitwiseEqual(dwTrain))
    }

    @Test("gradients accumulate across backward calls, as every layer's do")
    func accumulates() {
        let sn = Self.conv(seed: 8)
        let x = randomTensor([2, 2, 5, 5], seed: 9)
        let dy = randomTensor([2, 3, 3, 3], seed: 10)
        sn.zeroGradients()
        _ = sn.forward(x, training: false)
        sn.backward(dy, mode: .full)
        let once = sn.weight.gradient.array
        _ = sn.forward(x, training: false)
        sn.backward(dy, mode: .full)
        #expect(closeness(sn.weight.gradient.array, once.map { 2 * $0 }, rtol: 1e-6, atol: 1e-7) <= 1)
    }

    /// σ after many power iterations = the top singular value computed independently, and the
    /// normalised weight W/σ has spectral norm 1.
    @Test("σ converges to the largest singular value; ‖W_sn‖₂ = 1", arguments: [0, 1])
    func sigmaIsTopSingularValue(which: Int) {
        let sn = which == 0 ? Self.linear(7, 5, seed: 11) : Self.conv(seed: 12)
        let x = which == 0 ? randomTensor([2, 7], seed: 13) : randomTensor([1, 2, 5, 5], seed: 14)
        let (rows, columns) = (sn.weight.value.shape[0], sn.weight.value.count / sn.weight.value.shape[0])
        #expect(sn.u.shape == [rows] && sn.v.shape == [columns])
        for _ in 0..<300 { _ = sn.forward(x, training: true) }
        let reference = largestSingularValue(sn.weight.value.array, rows: rows, columns: columns)
        #expect(abs(Double(sn.sigma) - reference) <= 1e-5 * reference, "σ \(sn.sigma) vs \(reference)")
        let normalized = (sn.wrapped as? Linear)?.weight.value ?? (sn.wrapped as! Conv2d).weight.value
        let norm = largestSingularValue(normalized.array, rows: rows, columns: columns)
        #expect(abs(norm - 1) < 1e-5, "‖W/σ‖₂ = \(norm)")
        // The estimate approaches from below (uᵀWv ≤ σ_max for unit u, v), and one iteration from
        // the random start is already an underestimate, never an overestimate.
        let fresh = which == 0 ? Self.linear(7, 5, seed: 11) : Self.conv(seed: 12)
        _ = fresh.forward(x, training: true)
        #expect(Double(fresh.sigma) <= reference * (1 + 1e-6))
    }

    @Test("powerIterations: k steps per forward = k forwards of one step")
    func iterationsPerForward() {
        let three = Self.linear(6, 4, iterations: 3, seed: 15), one = Self.linear(6, 4, iterations: 1, seed: 15)
        let x = randomTensor([2, 6], seed: 16)
        _ = three.forward(x, training: true)
        for _ in 0..<3 { _ = one.forward(x, training: true) }
        #expect(three.u.bitwiseEqual(one.u) && three.v.bitwiseEqual(one.v) && three.sigma == one.sigma)
    }

    /// `torch.nn.utils.spectral_norm` on the same weights, u0, v0 and input (Reference/spectral_norm_reference.py).
    @Test("matches PyTorch: training output, u, v, σ, gradients; evaluation output", arguments: ["linear", "conv"])
    func pyTorchReference(_ name: String) throws {
        typealias R = SpectralNormReference
        let isLinear = name == "linear"
        let inner: Layer = isLinear ? Linear(5, 3) : Conv2d(2, 3, kernel: 3, stride: 2, padding: 1)
        var rng = RNG(seed: 0)
        let sn = isLinear ? SpectralNorm(wrapping: inner as! Linear, powerIterations: 2, rng: &rng)
                          : SpectralNorm(wrapping: inner as! Conv2d, powerIterations: 1, rng: &rng)
        for i in 0..<sn.weight.value.count { sn.weight.value[i] = Float((5 * i) % 11 - 5) / 16 }
        let bias = try #require(sn.bias)
        for i in 0..<bias.value.count { bias.value[i] = Float(i - 1) / 4 }
        for i in 0..<sn.u.count { sn.u[i] = Float((3 * i) % 5 - 2) / 4 + 0.125 }
        for i in 0..<sn.v.count { sn.v[i] = Float((2 * i) % 7 - 3) / 8 + 0.0625 }
        let shape = isLinear ? [4, 5] : [2, 2, 5, 5]
        let x = Tensor(shape: shape, values: seq(shape.reduce(1, *)) { Float((7 * $0) % 13 - 6) / 8 })

        let yEval = sn.forward(x, training: false).array
        #expect(closeness(yEval, isLinear ? R.linearEvalOutput : R.convEvalOutput, rtol: 1e-5, atol: 1e-5) <= 1)
        let y = sn.forward(x, training: true)
        let r = Tensor(shape: y.shape, values: seq(y.count) { Float((3 * $0) % 7 - 3) / 4 })
        sn.zeroGradients()
        let dx = try #require(sn.backward(r, mode: .full))
        let check: [(String, [Float], [Float])] = [
            ("output", y.array, isLinear ? R.linearOutput : R.convOutput),
            ("u", sn.u.array, isLinear ? R.linearU : R.convU),
            ("v", sn.v.array, isLinear ? R.linearV : R.convV),
            ("sigma", [sn.sigma], [isLinear ? R.linearSigma : R.convSigma]),
            ("dx", dx.array, isLinear ? R.linearInputGradient : R.convInputGradient),
            ("dW", sn.weight.gradient.array, isLinear ? R.linearWeightGradient : R.convWeightGradient),
            ("db", bias.gradient.array, isLinear ? R.linearBiasGradient : R.convBiasGradient),
        ]
        for (label, got, want) in check {
            #expect(got.count == want.count, "\(label)")
            #expect(closeness(got, want, rtol: 1e-5, atol: 1e-5) <= 1, "\(label): \(got) vs PyTorch \(want)")
        }
    }

    @Test("LayerSpec sn_linear / sn_conv2d round trip; buffers weight_u, weight_v")
    func specAndBuffers() throws {
        let specs: [LayerSpec] = [
            .spectralNorm(.conv2d(inChannels: 1, outChannels: 4, kernel: 4, stride: 2, padding: 1, bias: true),
                          powerIterations: 1, eps: 1e-12),
            .leakyReLU(alpha: 0.2), .reshape(sampleShape: [4 * 14 * 14]),
            .spectralNorm(.linear(inFeatures: 4 * 14 * 14, outFeatures: 1, bias: false), powerIterations: 3, eps: 1e-6),
        ]
        for s in specs {
            let attrs = Dictionary(uniqueKeysWithValues: s.attributes.map { ($0.name, $0.value) })
            #expect(try LayerSpec.make(kind: s.kind, attributes: attrs).get() == s)
            #expect((s.makeLayer() as? SpecifiedLayer)?.spec == s)
        }
        #expect(specs[0].kind == "sn_conv2d" && specs[3].kind == "sn_linear")
        #expect(specs[3].attributes.map(\.name) == ["in_features", "out_features", "bias", "power_iterations", "eps"])
        // Missing / invalid attributes are named; other wrapped kinds are not spectral kinds.
        var attrs = Dictionary(uniqueKeysWithValues: specs[3].attributes.map { ($0.name, $0.value) })
        attrs["power_iterations"] = nil
        #expect(LayerSpec.make(kind: "sn_linear", attributes: attrs) == .failure(.missing(kind: "sn_linear", attribute: "power_iterations")))
        attrs["power_iterations"] = 0
        #expect(LayerSpec.make(kind: "sn_linear", attributes: attrs) == .failure(.invalid(kind: "sn_linear", attribute: "power_iterations", value: 0)))
        #expect(LayerSpec.make(kind: "sn_relu", attributes: [:]) == .failure(.unknownKind("sn_relu")))
        attrs["power_iterations"] = 1
        attrs["in_features"] = nil
        #expect(LayerSpec.make(kind: "sn_linear", attributes: attrs) == .failure(.missing(kind: "sn_linear", attribute: "in_features")))

        let net = Sequential(specs: specs)
        #expect(net.specs == specs)
        #expect(net.namedBuffers.map(\.path) == ["0_sn_conv2d/weight_u", "0_sn_conv2d/weight_v",
                                                 "3_sn_linear/weight_u", "3_sn_linear/weight_v"])
        #expect(net.namedBuffers.map(\.tensor.shape) == [[4], [16], [1], [784]])
        #expect(net.namedParameters.map(\.path) == ["0_sn_conv2d/weight", "0_sn_conv2d/bias", "3_sn_linear/weight"])
        #expect(net.outputShape(for: [1, 28, 28]) == [1])
    }

    /// What a checkpoint round trip does (parameters and buffers copied into a network rebuilt from
    /// the specs): the copy continues the power iteration exactly.
    @Test("parameters + buffers copied into a spec-built network: identical training forwards")
    func resumeIsExact() {
        var rng = RNG(seed: 17)
        let net = Sequential(SpectralNorm(wrapping: Conv2d(1, 2, kernel: 3, rng: &rng), rng: &rng), LeakyReLU(alpha: 0.2),
                             Reshape(sampleShape: [2 * 4 * 4]), SpectralNorm(wrapping: Linear(32, 1, rng: &rng), rng: &rng))
        let x = randomTensor([3, 1, 6, 6], seed: 18)
        for _ in 0..<3 { _ = net.forward(x, training: true) }
        let copy = Sequential(specs: net.specs!)
        for (a, b) in zip(net.parameters, copy.parameters) { b.value.copy(from: a.value) }
        for (a, b) in zip(net.namedBuffers, copy.namedBuffers) { b.tensor.copy(from: a.tensor) }
        for _ in 0..<3 {
            let y1 = net.forward(x, training: true).clone(), y2 = copy.forward(x, training: true)
            #expect(y1.bitwiseEqual(y2))
        }
        #expect(zip(net.namedBuffers, copy.namedBuffers).allSatisfy { $0.tensor.bitwiseEqual($1.tensor) })
    }
}

/// Output of Reference/spectral_norm_reference.py (PyTorch 2.13.0+cpu, float32).
enum SpectralNormReference {
    // linear: y [4, 3], 2 power iteration(s)
    static let linearOutput: [Float] = [-0.4309825897216797, 0.6960868835449219, 0.2917652130126953, 0.12588688731193542, -0.7100086212158203, 0.2917652130126953, -0.04117393493652344, 0.05568696931004524, -0.6131477355957031, -0.3892173767089844, 0.6403999328613281, 0.2917652130126953]
    static let linearU: [Float] = [-0.8301242589950562, 0.5521642565727234, 0.0775144100189209]
    static let linearV: [Float] = [0.3007121682167053, 0.23952677845954895, -0.651485025882721, 0.19363775849342346, -0.6247164607048035]
    static let linearSigma: Float = 0.5611727833747864
    static let linearInputGradient: [Float] = [0.5011825561523438, -0.4176521301269531, -0.4176521301269531, 0.5011825561523438, -0.41765210032463074, -0.02784346416592598, 0.44549560546875, -0.3062782287597656, -0.13921739161014557, -0.27843472361564636, 0.02784346044063568, -0.2505912780761719, 0.38980865478515625, -0.19490431249141693, 0.4454955756664276, -0.3062782287597656, -0.3619651794433594, 0.5011825561523438, 0.13921739161014557, 0.38980862498283386]
    static let linearWeightGradient: [Float] = [-0.29411184787750244, 0.4783304035663605, 0.46085435152053833, -0.20921604335308075, 0.4396304488182068, 0.9382076859474182, -1.3215384483337402, 0.3246614933013916, 0.714677631855011, 0.2274048626422882, -1.8710927963256836, 0.7416638135910034, -1.7745283842086792, 0.9053272008895874, -1.6054857969284058]
    static let linearBiasGradient: [Float] = [0.0, -0.5, 0.75]
    static let linearEvalOutput: [Float] = [6.922415256500244, -27.586204528808594, -1.40517258644104, -15.146553039550781, 28.137929916381836, -1.4051718711853027, -8.525861740112305, -2.206897020339966, 34.45689392089844, 5.267240524291992, -25.379310607910156, -1.405172348022461]
    // conv: y [2, 3, 3, 3], 1 power iteration(s)
    static let convOutput: [Float] = [-0.41336390376091003, -0.3407577574253082, -0.3316819667816162, -0.4496670067310333, -0.30445459485054016, -0.5404247045516968, 0.08580361306667328, 0.2582433223724365, -0.032181452959775925, 0.21781858801841736, -0.1542881280183792, -0.28134897351264954, -0.28134897351264954, 0.08168195188045502, 0.4810159504413605, -0.0363030843436718, -0.036303095519542694, -0.13613660633563995, 0.2500000298023224, 0.032181426882743835, 0.16831804811954498, 0.2863031029701233, 0.26815155148506165, 0.30445462465286255, 0.1410907357931137, 0.26815155148506165, 0.25907576084136963, -0.11386342346668243, -0.4496670365333557, -0.42243969440460205, -0.5131974220275879, -0.5767278075218201, -0.08663605153560638, 0.022273190319538116, 0.2854706048965454, -0.032181452959775925, -0.25412166118621826, 0.05445466563105583, -0.21781854331493378, -0.2631974220275879, 0.11798505485057831, 0.1905912607908249, 0.054454632103443146, 0.0726061761379242, -0.08168197423219681, 0.30445465445518494, 0.5585762858390808, 0.18646955490112305, 0.2863030731678009, 0.5131974816322327, 0.3679850697517395, 0.08663608878850937, 0.15924227237701416, 0.16831804811954498]
    static let convU: [Float] = [-0.6560276746749878, 0.72564697265625, 0.20751899480819702]
    static let convV: [Float] = [0.1290774941444397, 0.0368792824447155, -0.4609910547733307, 0.0553189255297184, -0.4425514042377472, 0.073758564889431, 0.1843964159488678, 0.0921982079744339, 0.2028360664844513, 0.1106378510594368, 0.01843964122235775, 0.1290774941444397, 0.0368792824447155, -0.4609910547733307, 0.0553189255297184, -0.4425514042377472, 0.073758564889431, 0.1843964159488678]
    static let convSigma: Float = 0.8608081936836243
    static let convInputGradient: [Float] = [-0.5990010499954224, 0.05445462837815285, 0.19966700673103333, -0.036303091794252396, -0.018151551485061646, -0.14521236717700958, -0.09075776487588882, 0.018151547759771347, 0.7805164456367493, -0.07260619848966599, 0.2722732126712799, -0.09075772762298584, 0.054454632103443146, 0.07260618358850479, -0.0363030880689621, -0.0363030880689621, 0.4900917410850525, 0.12706083059310913, -0.9257287979125977, 0.03630309924483299, 0.12706083059310913, 0.14521238207817078, -0.5990010499954224, 0.05445462837815285, 0.19966700673103333, -0.5626979470252991, 0.03630310297012329, 0.14521236717700958, 0.01815153658390045, 0.09075775742530823, -0.21781858801841736, 0.2359701246023178, 0.01815154403448105, 0.05445460230112076, 1.4901161193847656e-08, 0.16336390376091003, -0.14521236717700958, 0.10890928655862808, 0.09075772017240524, -0.07260619103908539, -0.14521238207817078, 0.0726061686873436, 0.21781858801841736, 0.2722732126712799, -0.054454658180475235, 0.12706083059310913, 0.18151547014713287, -0.5626979470252991, 0.03630310297012329, 0.14521236717700958, 0.12706083059310913, 0.14521238207817078, -0.5990010499954224, 0.05445462837815285, 0.19966700673103333, 0.07260618358850479, 0.43563711643218994, -0.14521236717700958, -0.09075776487588882, 0.018151547759771347, -0.018151551485061646, -0.2541216313838959, 0.2722732126712799, -0.09075772762298584, 0.054454632103443146, -0.07260619848966599, -2.2351741790771484e-08, -0.0363030880689621, 0.4900917410850525, 0.12706083059310913, -0.0363030880689621, 0.10890927910804749, 0.12706083059310913, 0.14521238207817078, -0.5990010499954224, 0.12706083059310913, 0.18151547014713287, -0.5626979470252991, 0.03630310297012329, 0.14521236717700958, 0.18151548504829407, -0.7260618805885315, -0.21781858801841736, 0.2359701246023178, 0.01815154403448105, 0.09075775742530823, -0.2541216015815735, 0.16336390376091003, -0.14521236717700958, 0.10890928655862808, 1.4901161193847656e-08, 0.7623649835586548, -0.14521238207817078, 0.0726061686873436, 0.21781858801841736, -0.07260619103908539, 0.07260619103908539, 0.12706083059310913, 0.18151547014713287, -0.5626979470252991]
    static let convWeightGradient: [Float] = [-0.58271324634552, 1.1507941484451294, -0.4808424711227417, 1.6535850763320923, -0.014354690909385681, -0.38484054803848267, 0.19959762692451477, -0.7170208096504211, 0.6297823190689087, 0.9111660122871399, -0.9130297303199768, 0.7605012059211731, -2.0438780784606934, 2.2055864334106445, 0.8912201523780823, 0.1308576762676239, 0.4501306116580963, -1.2162230014801025, 0.6593697667121887, -0.6413936018943787, 0.13964907824993134, 0.41742709279060364, -0.9434126615524292, -0.33890682458877563, -0.5568423271179199, 1.0829448699951172, -0.6234174966812134, -1.2707252502441406, 0.5505774617195129, 0.1148233711719513, 1.5004888772964478, 0.6115893125534058, -0.8894842863082886, 0.6539233922958374, -1.1012717485427856, 0.7137659192085266, 0.2661948502063751, -0.686309278011322, 0.6466403007507324, -1.3743432760238647, 0.031212419271469116, -1.372618556022644, 0.3076721429824829, 0.5168670415878296, -0.525574266910553, 0.010348441079258919, 0.4736649692058563, -1.1496257781982422, 1.4555732011795044, -2.1123948097229004, -0.176341250538826, 0.031212419271469116, 0.07950514554977417, 0.9611278176307678]
    static let convBiasGradient: [Float] = [-1.25, 1.25, 0.25]
    static let convEvalOutput: [Float] = [9.681034088134766, 5.26724100112915, 4.715517044067383, 11.887930870056152, 3.06034517288208, 17.40517234802246, -20.663793563842773, -31.146549224853516, -13.491378784179688, -13.241378784179688, 9.379310607910156, 17.10344886779785, 17.10344886779785, -4.965517044067383, -29.241378784179688, 2.2068960666656494, 2.2068967819213867, 8.275862693786621, 0.2500002384185791, 13.491378784179688, 5.215517044067383, -1.9568955898284912, -0.8534479141235352, -3.0603442192077637, 6.870689868927002, -0.8534489870071411, -0.30172407627105713, -8.525861740112305, 11.887929916381836, 10.232757568359375, 15.749998092651367, 19.6120662689209, -10.18103313446045, -16.80172348022461, -32.80172348022461, -13.491379737854004, 15.448273658752441, -3.3103442192077637, 13.241379737854004, 16.0, -7.172415256500244, -11.586207389831543, -3.310344696044922, -4.413793087005615, 4.965517520904541, -3.0603442192077637, -18.50861930847168, 4.1120686531066895, -1.9568963050842285, -15.750000953674316, -6.9224138259887695, 10.181034088134766, 5.76724100112915, 5.215517044067383]
}
