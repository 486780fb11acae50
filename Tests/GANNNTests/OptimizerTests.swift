import Testing
import GANNN
import GANTestSupport

// MARK: - Reference values from PyTorch

/// One PyTorch run: the parameter after each of the 5 steps and the final optimiser state.
private struct ReferenceCase {
    let steps: [[Float]]
    let states: [String: [Float]]
}

/// Obtained by running `Tests/GANNNTests/Reference/optimizer_reference.py` with
/// `$HOME/.cache/gan-peers-venv/bin/python` (torch 2.13.0+cpu, float32, `foreach=False`) and pasting
/// its output verbatim. The script documents the inputs, which `initialValues`/`gradient(step:)`
/// below reproduce exactly.
private enum PyTorchReference {
    // torch 2.13.0+cpu
    static let sgdPlain = ReferenceCase(
        steps: [
            [-1.25, -0.9375, -0.625, -0.175, 0.1375, 0.5875, 0.9, 1.35],
            [-1.2, -1.0125, -0.55, -0.225, 0.23750001, 0.5625, 1.025, 1.35],
            [-1.25, -0.76250005, -0.55, -0.475, 0.28750002, 0.3625, 1.125, 1.2],
            [-1.3, -0.7375001, -0.58750004, -0.4375, 0.26250002, 0.41250002, 1.1125, 1.2625],
            [-1.1999999, -0.76250005, -0.46250004, -0.4375, 0.13750002, 0.43750003, 1.0124999, 1.3125],
        ],
        states: [:])
    static let sgdMomentum = ReferenceCase(
        steps: [
            [-1.2486875, -0.9365625, -0.6244375, -0.1748125, 0.1373125, 0.5869375, 0.8990625, 1.3486875],
            [-1.1451324, -1.0023758, -0.61211926, -0.20823641, 0.18202017, 0.585903, 0.97615963, 1.3800424],
            [-1.0959022, -0.8357057, -0.6004819, -0.46313053, 0.26709324, 0.40444463, 1.1346685, 1.2720199],
            [-1.0956087, -0.66245043, -0.6232179, -0.6583684, 0.32091862, 0.2857681, 1.2650552, 1.2299047],
            [-1.0043585, -0.5284245, -0.5306194, -0.83348995, 0.25657263, 0.20120202, 1.2912647, 1.2358941],
        ],
        states: [
            "momentum_buffer": [-0.91250175, -1.3402592, -0.92598516, 1.7512156, 0.64345986, 0.8456607, -0.2620951, -0.059894465],
        ])
    static let sgdNesterov = ReferenceCase(
        steps: [
            [-1.19375, -0.9375, -0.68125, -0.16375, 0.0925, 0.61, 0.86625, 1.38375],
            [-1.048125, -1.08, -0.58937496, -0.248625, 0.242, 0.58275, 1.073375, 1.414125],
            [-1.0570625, -0.66575, -0.57418746, -0.75501245, 0.38154998, 0.20072502, 1.3372874, 1.1564624],
            [-1.1151062, -0.470425, -0.6317687, -0.91451114, 0.414645, 0.13190252, 1.4610586, 1.1783162],
            [-0.9323456, -0.36463252, -0.41234183, -1.09181, 0.22943048, 0.07246227, 1.3937027, 1.2367346],
        ],
        states: [
            "momentum_buffer": [-0.91956246, -1.45325, -1.0491875, 1.9699872, 0.66905004, 0.93822503, -0.36271238, -0.09353751],
        ])
    static let rmspropDefault = ReferenceCase(
        steps: [
            [-1.2125, -0.9375, -0.66249996, -0.08750009, 0.08750003, 0.66249996, 0.83750004, 1.4124999],
            [-1.1498392, -1.0375, -0.5855199, -0.18454286, 0.17703232, 0.59161186, 0.9333222, 1.4124999],
            [-1.2031287, -0.9416778, -0.5855199, -0.2825044, 0.21806248, 0.49311638, 0.9943534, 1.3154289],
            [-1.2503417, -0.93209165, -0.6217564, -0.26789463, 0.19786882, 0.51713955, 0.9867085, 1.3530865],
            [-1.1815042, -0.9416817, -0.5445715, -0.26789463, 0.12664172, 0.5291246, 0.9343428, 1.3820652],
        ],
        states: [
            "square_avg": [0.021103326, 0.06795793, 0.026227446, 0.06522428, 0.03079848, 0.043510813, 0.036467448, 0.029770276],
        ])
    static let rmspropCentered = ReferenceCase(
        steps: [
            [-1.2119962, -0.83699733, -0.66300374, -0.0869963, 0.08699624, 0.66300374, 0.83699626, 1.4130038],
            [-1.0983365, -0.8872291, -0.63571155, -0.13394791, 0.12628502, 0.64066356, 0.8825241, 1.4593164],
            [-1.0932336, -0.8161851, -0.62141067, -0.25601155, 0.1870092, 0.5305073, 0.96652913, 1.384884],
            [-1.1367332, -0.7707604, -0.6499308, -0.30225992, 0.19698943, 0.49920288, 1.0002065, 1.3843964],
            [-1.0891244, -0.75734186, -0.58666337, -0.32526517, 0.13066311, 0.49529302, 0.9640652, 1.412313],
        ],
        states: [
            "square_avg": [0.02139673, 0.0682763, 0.026374675, 0.06517393, 0.030845866, 0.0436913, 0.03638714, 0.029804474],
            "momentum_buffer": [-4.760874, -1.3418536, -6.326739, 2.3005242, 6.632632, 0.39098537, 3.6141267, -2.7916508],
            "grad_avg": [-0.01157795, -0.017616361, -0.010368201, 0.024345597, 0.005251534, 0.012459853, -0.006636529, 0.0005935162],
        ])
    static let adamDefault = ReferenceCase(
        steps: [
            [-1.3115, -0.9375, -0.5635, -0.1865, 0.1865, 0.5635, 0.9365, 1.3135],
            [-1.3105118, -0.93824416, -0.56335706, -0.1870595, 0.1868661, 0.56344736, 0.93702036, 1.3141701],
            [-1.3102028, -0.9377975, -0.56324655, -0.18777245, 0.18738535, 0.5628112, 0.9377282, 1.3136759],
            [-1.3102515, -0.9373778, -0.56337065, -0.18826574, 0.18768573, 0.5624442, 0.93826234, 1.3135184],
            [-1.3099084, -0.9370765, -0.5630193, -0.18868268, 0.18747912, 0.562201, 0.93836504, 1.3135477],
        ],
        states: [
            "exp_avg": [-0.09195625, -0.145325, -0.104918756, 0.19699876, 0.066905014, 0.0938225, -0.03627125, -0.009353744],
            "exp_avg_sq": [0.002137566, 0.006923259, 0.0026528635, 0.006642805, 0.0031204424, 0.0044288174, 0.0037114914, 0.0030258002],
        ])
    static let adamGAN = ReferenceCase(
        steps: [
            [-1.3123, -0.9373, -0.5627, -0.1873, 0.1873, 0.5627, 0.9373, 1.3127],
            [-1.3121083, -0.9374873, -0.5626139, -0.18745942, 0.18742609, 0.5626288, 0.9374522, 1.3127874],
            [-1.312123, -0.93732536, -0.5625676, -0.18767008, 0.18756716, 0.56242746, 0.9376357, 1.3126056],
            [-1.3122271, -0.9372175, -0.5626197, -0.18775122, 0.1875986, 0.5623723, 0.93771684, 1.3125925],
            [-1.3121094, -0.93718034, -0.5624603, -0.18779495, 0.18744723, 0.5623694, 0.93763316, 1.3126502],
        ],
        states: [
            "exp_avg": [-0.3759932, -0.21220502, -0.564044, 0.24427582, 0.57994187, 0.013261169, 0.34892702, -0.21775267],
            "exp_avg_sq": [0.0021678915, 0.0069564558, 0.0026642838, 0.0066334736, 0.003122349, 0.0044430085, 0.0036979553, 0.0030266438],
        ])
    static let wganClip = ReferenceCase(
        steps: [
            [-0.01, -0.01, -0.0024531248, 0.00049999956, 0.0043828124, 0.01, 0.01, 0.01],
            [-0.009686695, -0.01, -0.0020682246, 1.4785706e-05, 0.004830474, 0.01, 0.01, 0.01],
            [-0.009953143, -0.01, -0.0020682246, -0.00047502204, 0.005035625, 0.01, 0.01, 0.009514645],
            [-0.01, -0.01, -0.0022494069, -0.00040197305, 0.0049346564, 0.01, 0.0099617755, 0.009702933],
            [-0.009655813, -0.01, -0.0018634828, -0.00040197305, 0.004578521, 0.01, 0.009699947, 0.009847826],
        ],
        states: [
            "square_avg": [0.021103326, 0.08939842, 0.026227446, 0.06522428, 0.03079848, 0.062513545, 0.036467448, 0.029770276],
        ])
}

// MARK: - Helpers

/// p0[i] = (i - 3.5) * 0.375 (exact in Float32, as in the reference script).
private let initialValues: [Float] = (0..<8).map { (Float($0) - 3.5) * 0.375 }
/// WGAN case initial values (the script's `clip_values`).
private let clipInitialValues: [Float] = [-0.03125, -0.009765625, -0.001953125, 0, 0.0048828125, 0.009765625, 0.015625, 0.5]

/// g_t[i] = (((5i + 3t) mod 11) - 5) * 2^((t mod 3) - 1) / 4, t the 0-based step (exact in Float32).
private func gradient(step t: Int, count: Int = 8) -> [Float] {
    let scale: [Float] = [0.5, 1, 2]
    return (0..<count).map { i in Float(((5 * i + 3 * t) % 11) - 5) * scale[t % 3] / 4 }
}

/// The script's `clip_grad`: pushes element 5 up through +c and element 1 down through -c.
private func clipGradient(step t: Int) -> [Float] {
    var g = gradient(step: t)
    g[5] = -abs(g[5]) - 0.25
    g[1] = abs(g[1]) + 0.25
    return g
}

private func makeParameter(_ values: [Float], shape: [Int]? = nil, name: String = "weight") -> Parameter {
    let p = Parameter(name, shape: shape ?? [values.count])
    p.value.copy(from: Tensor(shape: p.value.shape, values: values))
    return p
}

private func setGradient(_ p: Parameter, _ g: [Float]) {
    p.gradient.copy(from: Tensor(shape: p.gradient.shape, values: g))
}

private func state(_ optimizer: Optimizer, parameter k: Int, _ name: String) -> Tensor? {
    optimizer.parameterStates[k].first { $0.name == name }?.tensor
}

/// Runs 5 steps like the reference script and checks every step and the final state against it.
/// Returns the worst closeness seen (<= 1 means within tolerance).
///
/// Tolerance: relative 1e-6 / absolute 1e-8 (10x tighter than 1e-5 / 1e-7). Parameters match
/// PyTorch bit for bit for plain/momentum SGD, both Adam cases and the WGAN case; elsewhere they
/// differ by at most 2 ulp (worst ~3e-7 relative) because PyTorch's AVX2 kernels fuse
/// `a + alpha * b` into an FMA and its MKL `sqrt` is not correctly rounded (both checked in torch
/// 2.13), while this code rounds every operation.
@discardableResult
private func checkAgainstReference(_ reference: ReferenceCase, initial: [Float] = initialValues,
                                   gradients: (Int) -> [Float] = { gradient(step: $0) },
                                   rtol: Double = 1e-6, atol: Double = 1e-8,
                                   _ make: ([Parameter]) -> Optimizer) -> Double {
    let p = makeParameter(initial, shape: [2, 4])
    let optimizer = make([p])
    var worst = 0.0
    for t in 0..<5 {
        setGradient(p, gradients(t))
        optimizer.step()
        #expect(optimizer.stepCount == t + 1)
        let c = closeness(p.value.array, reference.steps[t], rtol: rtol, atol: atol)
        worst = max(worst, c)
        #expect(c <= 1, "step \(t + 1): \(p.value.array) vs PyTorch \(reference.steps[t])")
    }
    let names = optimizer.parameterStates[0].map(\.name)
    #expect(Set(names) == Set(reference.states.keys), "state names \(names)")
    for (name, expected) in reference.states {
        guard let s = state(optimizer, parameter: 0, name) else { continue }
        #expect(s.shape == [2, 4])
        let c = closeness(s.array, expected, rtol: rtol, atol: atol)
        worst = max(worst, c)
        #expect(c <= 1, "\(name): \(s.array) vs PyTorch \(expected)")
    }
    return worst
}

/// Every configuration under test, as factories (used by the restore and clipping tests too).
private let factories: [(label: String, make: @Sendable ([Parameter]) -> Optimizer)] = [
    ("sgd plain", { SGD(parameters: $0, learningRate: 0.1) }),
    ("sgd momentum", { SGD(parameters: $0, learningRate: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01) }),
    ("sgd nesterov", { SGD(parameters: $0, learningRate: 0.1, momentum: 0.9, nesterov: true) }),
    ("rmsprop default", { RMSProp(parameters: $0) }),
    ("rmsprop centered", { RMSProp(parameters: $0, learningRate: 0.01, weightDecay: 0.01, momentum: 0.5, centered: true) }),
    ("adam default", { Adam(parameters: $0) }),
    ("adam gan", { Adam(parameters: $0, learningRate: 2e-4, beta1: 0.5, beta2: 0.999, weightDecay: 0.01) }),
]
private let factoryLabels = factories.map(\.label)
private func factory(_ label: String) -> @Sendable ([Parameter]) -> Optimizer {
    factories.first { $0.label == label }!.make
}

// MARK: - Comparison with PyTorch

@Suite struct OptimizerTests {
    @Test func sgdPlainMatchesPyTorch() {
        checkAgainstReference(PyTorchReference.sgdPlain) { SGD(parameters: $0, learningRate: 0.1) }
    }

    @Test func sgdMomentumDampeningWeightDecayMatchesPyTorch() {
        checkAgainstReference(PyTorchReference.sgdMomentum) {
            SGD(parameters: $0, learningRate: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01)
        }
    }

    @Test func sgdNesterovMatchesPyTorch() {
        checkAgainstReference(PyTorchReference.sgdNesterov) {
            SGD(parameters: $0, learningRate: 0.1, momentum: 0.9, nesterov: true)
        }
    }

    @Test func rmspropDefaultMatchesPyTorch() {
        checkAgainstReference(PyTorchReference.rmspropDefault) { RMSProp(parameters: $0) }
    }

    @Test func rmspropCenteredMomentumWeightDecayMatchesPyTorch() {
        checkAgainstReference(PyTorchReference.rmspropCentered) {
            RMSProp(parameters: $0, learningRate: 0.01, weightDecay: 0.01, momentum: 0.5, centered: true)
        }
    }

    @Test func adamDefaultMatchesPyTorch() {
        checkAgainstReference(PyTorchReference.adamDefault) { Adam(parameters: $0) }
    }

    @Test func adamGANSettingsMatchPyTorch() {
        checkAgainstReference(PyTorchReference.adamGAN) {
            Adam(parameters: $0, learningRate: 2e-4, beta1: 0.5, beta2: 0.999, weightDecay: 0.01)
        }
    }

    @Test func wganClippingMatchesPyTorch() {
        checkAgainstReference(PyTorchReference.wganClip, initial: clipInitialValues,
                              gradients: { clipGradient(step: $0) }) {
            let o = RMSProp(parameters: $0, learningRate: 5e-5)
            o.clipValue = 0.01
            return o
        }
    }

    // MARK: - Checkpoint restore

    /// 2 steps, copy state + stepCount into a fresh optimiser, 3 more steps == 5 straight steps,
    /// bit for bit (parameters and state), with two parameters of different shapes.
    @Test(arguments: factoryLabels)
    func restoringStateContinuesBitIdentically(_ label: String) {
        let make = factory(label)
        func parameters() -> [Parameter] {
            [makeParameter(initialValues, shape: [2, 4]),
             makeParameter([0.5, -0.25, 0.125], name: "bias")]
        }
        func feed(_ ps: [Parameter], _ t: Int) {
            setGradient(ps[0], gradient(step: t))
            setGradient(ps[1], gradient(step: t + 7, count: 3))
        }
        let straight = parameters()
        let a = make(straight)
        for t in 0..<5 { feed(straight, t); a.step() }

        let resumed = parameters()
        let b = make(resumed)
        for t in 0..<2 { feed(resumed, t); b.step() }
        let c = make(resumed)
        #expect(c.stepCount == 0)
        c.stepCount = b.stepCount
        for (from, to) in zip(b.parameterStates, c.parameterStates) {
            #expect(from.map(\.name) == to.map(\.name))
            for (f, t) in zip(from, to) { t.tensor.copy(from: f.tensor) }
        }
        for t in 2..<5 { feed(resumed, t); c.step() }

        #expect(c.stepCount == 5)
        for (x, y) in zip(straight, resumed) {
            #expect(x.value.bitwiseEqual(y.value), "\(label): \(x.name) \(x.value.array) vs \(y.value.array)")
        }
        for (sx, sy) in zip(a.parameterStates, c.parameterStates) {
            for (x, y) in zip(sx, sy) { #expect(x.tensor.bitwiseEqual(y.tensor), "\(label): state \(x.name)") }
        }
    }

    // MARK: - Clipping

    @Test(arguments: factoryLabels)
    func clipValueKeepsEveryValueInRange(_ label: String) {
        let make = factory(label)
        let c: Float = 0.05
        let p = Parameter("weight", shape: [64])
        p.value.copy(from: randomTensor([64], seed: 3, std: 0.2))
        let optimizer = make([p])
        optimizer.clipValue = c
        var clampedSomething = false
        for t in 0..<20 {
            let g = randomTensor([64], seed: UInt64(100 + t), std: 2)
            setGradient(p, g.array)
            optimizer.step()
            let v = p.value.array
            #expect(v.allSatisfy { $0 >= -c && $0 <= c }, "\(label) step \(t + 1): \(v.filter { abs($0) > c })")
            clampedSomething = clampedSomething || v.contains { abs($0) == c }
        }
        #expect(clampedSomething, "\(label): the test should actually hit the bound")
    }

    @Test func noClippingByDefault() {
        let p = makeParameter([5, -5])
        let optimizer = SGD(parameters: [p], learningRate: 1)
        #expect(optimizer.clipValue == nil)
        setGradient(p, [-1, 1])
        optimizer.step()
        #expect(p.value.array == [6, -6])
    }

    // MARK: - Convergence

    /// Each optimiser drives f(x) = ½ Σ a_i (x_i - c_i)² to its minimum.
    @Test(arguments: factoryLabels)
    func minimisesAQuadratic(_ label: String) {
        let make = factory(label)
        let n = 16
        let a: [Float] = (0..<n).map { 0.5 + Float($0 % 5) * 0.5 }
        let target: [Float] = (0..<n).map { Float($0) * 0.1 - 0.7 }
        let p = makeParameter((0..<n).map { Float(($0 * 7) % 5) - 2 })
        let optimizer = make([p])
        if optimizer is Adam { optimizer.learningRate = 0.05 }   // defaults of 1e-3 / 2e-4 are slow
        if optimizer is RMSProp { optimizer.learningRate = 0.01 }
        // Weight decay adds ½ wd |x|² to the objective: the minimiser moves to a c / (a + wd).
        let wd = Float(optimizer.hyperparameters.first { $0.name == "weight_decay" }!.value)
        let minimiser = (0..<n).map { a[$0] * target[$0] / (a[$0] + wd) }
        func loss() -> Double {
            (0..<n).reduce(0.0) { s, i in
                let d = Double(p.value[i] - minimiser[i]); return s + 0.5 * Double(a[i] + wd) * d * d
            }
        }
        let initialLoss = loss()
        for _ in 0..<3000 {
            optimizer.zeroGradients()
            for i in 0..<n { p.gradient[i] += a[i] * (p.value[i] - target[i]) }
            optimizer.step()
            // Decay at the end so RMSProp/Adam settle instead of hovering at ~lr around the optimum.
            if optimizer.stepCount > 2000 { optimizer.learningRate *= 0.995 }
        }
        let finalLoss = loss()
        #expect(finalLoss < 1e-6 * initialLoss, "\(label): loss \(initialLoss) -> \(finalLoss)")
        let worst = (0..<n).map { abs(p.value[$0] - minimiser[$0]) }.max()!
        #expect(worst < 1e-3, "\(label): worst |x - x*| = \(worst)")
    }

    // MARK: - API details

    @Test func checkpointNamesAndOrder() {
        let p = makeParameter([1, 2, 3])
        let sgd = SGD(parameters: [p], learningRate: 0.1)
        #expect(sgd.kind == "sgd")
        #expect(sgd.hyperparameters.map(\.name) == ["lr", "momentum", "dampening", "weight_decay", "nesterov"])
        #expect(sgd.parameterStates.count == 1 && sgd.parameterStates[0].isEmpty)
        let sgdm = SGD(parameters: [p], learningRate: 0.1, momentum: 0.9, nesterov: true)
        #expect(sgdm.parameterStates[0].map(\.name) == ["momentum_buffer"])
        #expect(sgdm.hyperparameters.last!.value == 1)

        let rms = RMSProp(parameters: [p], momentum: 0.5, centered: true)
        #expect(rms.kind == "rmsprop")
        #expect(rms.hyperparameters.map(\.name) == ["lr", "momentum", "alpha", "eps", "centered", "weight_decay"])
        #expect(rms.parameterStates[0].map(\.name) == ["square_avg", "momentum_buffer", "grad_avg"])
        #expect(RMSProp(parameters: [p]).parameterStates[0].map(\.name) == ["square_avg"])

        let adam = Adam(parameters: [p], learningRate: 2e-4, beta1: 0.5)
        #expect(adam.kind == "adam")
        #expect(adam.hyperparameters.map(\.name) == ["lr", "beta1", "beta2", "eps", "weight_decay"])
        // Python-float values: the shortest decimal of the Float, not Double(Float(0.999)).
        #expect(adam.hyperparameters.map(\.value) == [2e-4, 0.5, 0.999, 1e-8, 0])
        #expect(adam.parameterStates[0].map(\.name) == ["exp_avg", "exp_avg_sq"])
        for s in adam.parameterStates[0] {
            #expect(s.tensor.shape == [3] && s.tensor.array == [0, 0, 0])
        }
    }

    @Test func stepDoesNotTouchGradients() {
        for (_, make) in factories {
            let p = makeParameter(initialValues)
            let o = make([p])
            setGradient(p, gradient(step: 1))
            o.step(); o.step()
            #expect(p.gradient.array == gradient(step: 1))
            o.zeroGradients()
            #expect(p.gradient.array.allSatisfy { $0 == 0 })
        }
    }

    /// A learning-rate change (a schedule) takes effect on the next step, Adam's cached Double too.
    @Test func learningRateChangesApply() {
        let p = makeParameter(initialValues)
        let adam = Adam(parameters: [p], learningRate: 0.1)
        setGradient(p, gradient(step: 0))
        adam.step()
        let before = p.value.array
        adam.learningRate = 0
        adam.step()
        #expect(p.value.array == before)
        adam.learningRate = 0.1
        adam.step()
        #expect(p.value.array != before)
    }
}
