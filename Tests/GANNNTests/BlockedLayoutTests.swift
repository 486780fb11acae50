import Testing
@testable import GANNN
import GANTestSupport
@_spi(Testing) import GANTensor

/// oneDNN's blocked layouts kept between layers (`Tensor.blockSize`, `Sequential.layoutPlan`):
/// every layer gives the same bits in them as in plain NCHW.
@Suite("Blocked layouts")
struct BlockedLayoutTests {
    /// `t` in plain NCHW (a copy when it is blocked).
    static func plain(_ t: Tensor) -> Tensor {
        if t.blockSize == 0 { return t.clone() }
        let p = Tensor(shape: [0])
        t.copy(toBlockSize: 0, into: p)
        return p
    }

    static func blocked(_ t: Tensor, _ block: Int) -> Tensor {
        let b = Tensor(shape: [0])
        t.copy(toBlockSize: block, into: b)
        return b
    }

    @Test(arguments: [8, 16])
    func layoutCopyPlacesEveryElementAndComesBack(block: Int) {
        guard OneDNN.isAvailable else { return }
        let (n, c, h, w) = (3, 2 * block, 5, 3)
        let x = randomTensor([n, c, h, w], seed: 11)
        let b = Self.blocked(x, block)
        #expect(b.blockSize == block && b.shape == x.shape)
        var misplaced = 0
        for i in 0..<n { for ch in 0..<c { for y in 0..<h { for z in 0..<w {
            let plainIndex = ((i * c + ch) * h + y) * w + z
            let blockedIndex = ((i * (c / block) + ch / block) * h * w + y * w + z) * block + ch % block
            if x.data[plainIndex].bitPattern != b.data[blockedIndex].bitPattern { misplaced += 1 }
        } } } }
        #expect(misplaced == 0)
        let back = Self.plain(b)
        #expect(back.blockSize == 0 && back.bitwiseEqual(x))
    }

    struct NormCase: Sendable, CustomTestStringConvertible {
        var block: Int, channels: Int, size: (Int, Int), batch: Int
        var testDescription: String { "block \(block), \(channels) channels, \(size.0)x\(size.1), batch \(batch)" }
    }

    // Planes with and without a tail after the last multiple of 8 (49, 15, 4 < 8, 196, 64).
    static let normCases: [NormCase] = [
        NormCase(block: 16, channels: 32, size: (7, 7), batch: 5), NormCase(block: 16, channels: 16, size: (3, 5), batch: 4),
        NormCase(block: 8, channels: 24, size: (2, 2), batch: 6), NormCase(block: 16, channels: 64, size: (14, 14), batch: 3),
        NormCase(block: 8, channels: 16, size: (8, 8), batch: 2),
    ]

    @Test(arguments: normCases)
    func batchNormGivesThePlainBits(_ c: NormCase) {
        guard OneDNN.isAvailable else { return }
        let shape = [c.batch, c.channels, c.size.0, c.size.1]
        let x = randomTensor(shape, seed: 21, std: 2, mean: 0.5), dy = randomTensor(shape, seed: 22)
        let xb = Self.blocked(x, c.block), dyb = Self.blocked(dy, c.block)
        for training in [true, false] {
            let plainNorm = BatchNorm(features: c.channels), blockedNorm = BatchNorm(features: c.channels)
            for n in [plainNorm, blockedNorm] {
                for (i, p) in n.parameters.enumerated() { p.value.copy(from: randomTensor(p.value.shape, seed: 30 + UInt64(i), mean: 1)) }
                n.runningVar.copy(from: randomTensor([c.channels], seed: 40, std: 0.1, mean: 1.5))
            }
            let y = plainNorm.forward(x, training: training), yb = blockedNorm.forward(xb, training: training)
            #expect(yb.blockSize == c.block)
            #expect(Self.plain(yb).bitwiseEqual(y), "forward, training \(training)")
            #expect(blockedNorm.runningMean.bitwiseEqual(plainNorm.runningMean) && blockedNorm.runningVar.bitwiseEqual(plainNorm.runningVar))
            let dx = plainNorm.backward(dy, mode: .full)!, dxb = blockedNorm.backward(dyb, mode: .full)!
            #expect(dxb.blockSize == c.block)
            #expect(Self.plain(dxb).bitwiseEqual(dx), "input gradient, training \(training)")
            #expect(blockedNorm.weight.gradient.bitwiseEqual(plainNorm.weight.gradient), "dγ, training \(training)")
            #expect(blockedNorm.bias.gradient.bitwiseEqual(plainNorm.bias.gradient), "dβ, training \(training)")
        }
    }

    /// The dcgan28 peer networks (`gan-bench --model dcgan28`), at a smaller batch.
    static func dcgan28(seed: UInt64) -> (g: Sequential, d: Sequential) {
        var rng = RNG(seed: seed, stream: .initialization)
        let (g, d) = PeerDCGAN28.networks(rng: &rng)
        return (g, d)
    }

    /// The layers called one by one: every tensor plain.
    static func forwardOneByOne(_ s: Sequential, _ x: Tensor, training: Bool, throughLayer count: Int? = nil) -> Tensor {
        var h = x
        for l in s.layers.prefix(count ?? s.layers.count) { h = l.forward(h, training: training) }
        return h
    }

    static func backwardOneByOne(_ s: Sequential, _ dy: Tensor, mode: BackwardMode, fromLayer end: Int? = nil) -> Tensor? {
        var g: Tensor? = dy
        for i in stride(from: (end ?? s.layers.count) - 1, through: 0, by: -1) {
            g = s.layers[i].backward(g!, mode: i == 0 ? mode : mode.union(.inputGradient))
        }
        return g
    }

    static func sameState(_ a: Sequential, _ b: Sequential) -> Bool {
        zip(a.parameters, b.parameters).allSatisfy { $0.value.bitwiseEqual($1.value) && $0.gradient.bitwiseEqual($1.gradient) }
            && zip(a.namedBuffers, b.namedBuffers).allSatisfy { $0.tensor.bitwiseEqual($1.tensor) }
    }

    /// One forward of `net` on x and one backward from `dy(output shape)` against the same layers
    /// one by one in `one` (same weights): the same output, the same input gradient (or none from
    /// both), the same parameters, gradients and buffers.
    static func expectSameStep(_ net: Sequential, _ one: Sequential, _ x: Tensor, training: Bool, mode: BackwardMode = .full,
                               dy: ([Int]) -> Tensor, _ label: String) {
        let y = net.forward(x, training: training), y1 = forwardOneByOne(one, x, training: training)
        #expect(y.shape == y1.shape && y.bitwiseEqual(y1), "\(label): forward")
        let g = dy(y.shape)
        let dx = net.backward(g, mode: mode), dx1 = backwardOneByOne(one, g, mode: mode)
        #expect((dx == nil) == (dx1 == nil), "\(label): input gradient returned")
        if let dx, let dx1 { #expect(dx.shape == dx1.shape && dx.bitwiseEqual(dx1), "\(label): backward") }
        #expect(sameState(net, one), "\(label): parameters, gradients and buffers")
    }

    /// At the process's thread count (oneDNN's chunks follow `ComputeThreads.count`, 2 on the CI's
    /// 2 cores): the same count on both sides.
    @Test func dcgan28KeepsBlockedLayoutsWithThePlainBits() {
        guard DNNLConvolution.isAvailable else { return }
        do {
            let (g, d) = Self.dcgan28(seed: 5), (g1, d1) = Self.dcgan28(seed: 5)
            let z = randomTensor([6, 100], seed: 6)
            for step in 0..<2 {
                let fake = g.forward(z, training: true), fake1 = Self.forwardOneByOne(g1, z, training: true)
                #expect(fake.blockSize == 0 && fake.bitwiseEqual(fake1), "G forward, step \(step)")
                // Some tensor inside G does stay blocked (on CPUs where oneDNN blocks these layers).
                if let plan = g.layoutPlan(for: z) { #expect(plan.contains { $0 > 0 }) }
                let logits = d.forward(fake, training: true), logits1 = Self.forwardOneByOne(d1, fake1, training: true)
                #expect(logits.bitwiseEqual(logits1), "D forward, step \(step)")
                let dLogits = randomTensor(logits.shape, seed: 7 + UInt64(step))
                let dFake = d.backward(dLogits, mode: .full)!, dFake1 = Self.backwardOneByOne(d1, dLogits, mode: .full)!
                #expect(dFake.blockSize == 0 && dFake.bitwiseEqual(dFake1), "D backward, step \(step)")
                let dz = g.backward(dFake, mode: .full)!, dz1 = Self.backwardOneByOne(g1, dFake1, mode: .full)!
                #expect(dz.bitwiseEqual(dz1), "G backward, step \(step)")
                #expect(Self.sameState(g, g1) && Self.sameState(d, d1), "parameters, gradients and running statistics, step \(step)")
            }
            // Evaluation mode (`gan-sample generate`), another batch size.
            let z2 = randomTensor([3, 100], seed: 8)
            #expect(g.forward(z2, training: false).bitwiseEqual(Self.forwardOneByOne(g1, z2, training: false)))
        }
    }

    /// A batch norm runs the in-place ReLU or LeakyReLU after it itself (`Sequential` fuses them):
    /// the same bits as the two layers one by one, in a plain MLP ([N, C], a tail after the last
    /// 8 channels) as in the convolutional networks above.
    @Test(arguments: [false, true])
    func batchNormWithTheActivationAfterItGivesTheLayersBits(leaky: Bool) {
        func mlp() -> Sequential {
            var rng = RNG(seed: 13, stream: .initialization)
            let activation: Layer = leaky ? LeakyReLU(alpha: 0.2) : ReLU()
            return Sequential(Linear(5, 12, rng: &rng), BatchNorm(features: 12), activation, Linear(12, 3, rng: &rng))
        }
        let net = mlp(), one = mlp()
        let x = randomTensor([9, 5], seed: 14), dy = randomTensor([9, 3], seed: 15)
        for training in [true, false] {
            Self.expectSameStep(net, one, x, training: training, dy: { _ in dy }, "training \(training)")
            // Backward from the batch norm's output (the activation not run): unfused.
            let h = randomTensor([9, 12], seed: 16)
            _ = net.forward(x, training: training, throughLayer: 2)
            _ = Self.forwardOneByOne(one, x, training: training, throughLayer: 2)
            let g = net.backward(h, mode: .full, fromLayer: 2)!, g1 = Self.backwardOneByOne(one, h, mode: .full, fromLayer: 2)!
            #expect(g.bitwiseEqual(g1) && Self.sameState(net, one), "from the batch norm, training \(training)")
        }
    }

    /// A Linear layer applies the in-place ReLU or LeakyReLU after it as its product stores the
    /// output (`Sequential` fuses them where the product runs in SmallGEMM): the same bits as the
    /// layers one by one, with small products (fused) and one above SmallGEMM's limits (not).
    @Test(arguments: [false, true])
    func linearWithTheActivationAfterItGivesTheLayersBits(leaky: Bool) {
        func mlp() -> Sequential {
            var rng = RNG(seed: 17, stream: .initialization)
            func activation() -> Layer { leaky ? LeakyReLU(alpha: 0.2) : ReLU() }
            return Sequential(Linear(3, 10, rng: &rng), activation(), Linear(10, 10, rng: &rng), activation(),
                              Linear(10, 300, rng: &rng), activation(), Linear(300, 1, rng: &rng))
        }
        let net = mlp(), one = mlp()
        for (rows, seed) in [(100, UInt64(18)), (7, 19)] {
            let x = randomTensor([rows, 3], seed: seed), dy = randomTensor([rows, 1], seed: seed + 10)
            for training in [true, false] {
                Self.expectSameStep(net, one, x, training: training, dy: { _ in dy }, "\(rows) rows, training \(training)")
                // A forward that stops at a Linear layer's output (the activation not run): unfused.
                let h = net.forward(x, training: training, throughLayer: 3)
                let h1 = Self.forwardOneByOne(one, x, training: training, throughLayer: 3)
                #expect(h.bitwiseEqual(h1) && h.data.pointee.isFinite, "through layer 3, \(rows) rows")
                #expect((0..<h.count).contains { h[$0] < 0 }, "layer 3's output has negative values (not activated)")
            }
        }
    }

    /// A forward that stops inside the network after a blocked layer (D's features for feature
    /// matching) gives them plain, and a backward from them takes a plain dy.
    @Test func featuresInsideTheNetworkArePlain() {
        guard DNNLConvolution.isAvailable else { return }
        let (_, d) = Self.dcgan28(seed: 9), (_, d1) = Self.dcgan28(seed: 9)
        let x = randomTensor([4, 1, 28, 28], seed: 10)
        for count in [2, 4] {   // after the first LeakyReLU, after D's batch norm
            let f = d.forward(x, training: true, throughLayer: count), f1 = Self.forwardOneByOne(d1, x, training: true, throughLayer: count)
            #expect(f.blockSize == 0 && f.bitwiseEqual(f1), "features through \(count) layers")
            let df = randomTensor(f.shape, seed: 12)
            let dx = d.backward(df, mode: .full, fromLayer: count)!, dx1 = Self.backwardOneByOne(d1, df, mode: .full, fromLayer: count)!
            #expect(dx.bitwiseEqual(dx1), "input gradient from layer \(count)")
            #expect(Self.sameState(d, d1))
        }
    }
}
