import Testing
@testable import GANNN
import GANTestSupport
@_spi(Testing) import GANTensor

/// `Sequential` runs a small MLP (`SmallMLP`: Linear layers of at most 16 inputs and outputs with
/// ReLU / LeakyReLU) in one C call per pass: the bits of the layers one by one.
@Suite("Small MLPs in one call")
struct SmallMLPTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let widths: [Int]
        let activation: Int   // 0 none, 1 ReLU, 2 LeakyReLU(0.2)
        let lastActivation: Bool
        var testDescription: String { "\(widths.map(String.init).joined(separator: "-")) act \(activation)\(lastActivation ? " +last" : "")" }
    }

    static let cases: [Case] = [
        Case(widths: [1, 10, 10, 10, 1], activation: 2, lastActivation: false),   // toy_1d
        Case(widths: [2, 16, 7, 2], activation: 1, lastActivation: false),
        Case(widths: [3, 1, 5, 1], activation: 2, lastActivation: true),          // one-wide layers inside
        Case(widths: [16, 16, 13], activation: 0, lastActivation: false),
        Case(widths: [9, 1], activation: 1, lastActivation: true),
        Case(widths: [1, 1], activation: 0, lastActivation: false),
        // One-output layers over 16, 5 and 7 inputs: both 8-lane blocks, the 4-lane step, every tail.
        Case(widths: [4, 16, 1], activation: 2, lastActivation: false),
        Case(widths: [2, 5, 1], activation: 1, lastActivation: true),
        Case(widths: [5, 3, 7, 1], activation: 2, lastActivation: false),
    ]

    static func network(_ c: Case, seed: UInt64) -> Sequential {
        var rng = RNG(seed: seed, stream: .initialization)
        var layers: [Layer] = []
        for k in 1..<c.widths.count {
            layers.append(Linear(c.widths[k - 1], c.widths[k], rng: &rng))
            if c.activation > 0 && (k < c.widths.count - 1 || c.lastActivation) {
                layers.append(c.activation == 1 ? ReLU() : LeakyReLU(alpha: 0.2))
            }
        }
        return Sequential(layers)
    }

    @Test(arguments: cases)
    func givesTheLayersBits(_ c: Case) {
        guard SmallMLP.enabled else { return }   // CPUs without AVX-512: the layers run one by one anyway
        let net = Self.network(c, seed: 31), one = Self.network(c, seed: 31)
        // 200 rows (toy_1d's stacked D batch), a batch that is not a multiple of 4 or 8, one row.
        for (rows, seed) in [(200, UInt64(32)), (13, 33), (1, 34)] {
            let x = randomTensor([rows, c.widths[0]], seed: seed)
            for (mode, label) in [(BackwardMode.full, "full"), (.parameterGradients, "parameters"), (.inputOnly, "input")] {
                let y = net.forward(x, training: true), y1 = BlockedLayoutTests.forwardOneByOne(one, x, training: true)
                #expect(y.shape == y1.shape && y.bitwiseEqual(y1), "\(rows) rows: forward")
                let dy = randomTensor(y.shape, seed: seed + 100)
                let dx = net.backward(dy, mode: mode), dx1 = BlockedLayoutTests.backwardOneByOne(one, dy, mode: mode)
                #expect((dx == nil) == (dx1 == nil), "\(rows) rows, \(label): input gradient returned")
                if let dx, let dx1 { #expect(dx.shape == dx1.shape && dx.bitwiseEqual(dx1), "\(rows) rows, \(label): dx") }
                #expect(BlockedLayoutTests.sameState(net, one), "\(rows) rows, \(label): parameters and gradients")
            }
        }
        // Gradients accumulated over the calls above are not all zero (the comparison compared something).
        #expect(net.parameters.contains { p in (0..<p.gradient.count).contains { p.gradient[$0] != 0 } })
    }

    @Test func onlySmallMLPsOfLinearLayersRunThere() {
        var rng = RNG(seed: 35, stream: .initialization)
        #expect(SmallMLP([Linear(1, 10, rng: &rng), LeakyReLU(alpha: 0.2), Linear(10, 1, rng: &rng)]) != nil || !SmallMLP.enabled)
        #expect(SmallMLP([Linear(1, 17, rng: &rng), ReLU(), Linear(17, 1, rng: &rng)]) == nil)   // too wide
        #expect(SmallMLP([Linear(1, 10, bias: false), ReLU(), Linear(10, 1, rng: &rng)]) == nil)   // no bias
        #expect(SmallMLP([Linear(1, 10, rng: &rng), Tanh(), Linear(10, 1, rng: &rng)]) == nil)   // another activation
        #expect(SmallMLP([Linear(1, 10, rng: &rng), ReLU(), ReLU(), Linear(10, 1, rng: &rng)]) == nil)
        #expect(SmallMLP([ReLU(), Linear(1, 10, rng: &rng)]) == nil)
        // A batch above SmallGEMM's limits runs the layers one by one.
        if let mlp = SmallMLP([Linear(1, 10, rng: &rng), ReLU(), Linear(10, 1, rng: &rng)]) {
            #expect(mlp.applies(to: Tensor(shape: [512, 1])))
            #expect(!mlp.applies(to: Tensor(shape: [513, 1])))
            #expect(!mlp.applies(to: Tensor(shape: [10, 2])))
        }
    }
}
