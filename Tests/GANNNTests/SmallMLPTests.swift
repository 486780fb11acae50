import CMathShim
import Foundation
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

    /// Each C copy (2 AVX-512, 1 AVX2) where the CPU has it.
    @Test(arguments: cases, [Int32(2), 1])
    func givesTheLayersBits(_ c: Case, isa: Int32) throws {
        // CPUs without AVX2: the layers run one by one anyway.
        guard SmallMLP.enabled, isa <= gan_simd16_cpu_isa() else { return }
        let net = Self.network(c, seed: 31), one = Self.network(c, seed: 31)
        try #require(net.smallMLP).isa = isa
        // 200 rows (toy_1d's stacked D batch), a batch that is not a multiple of 4 or 8, one row.
        for (rows, seed) in [(200, UInt64(32)), (13, 33), (1, 34)] {
            let x = randomTensor([rows, c.widths[0]], seed: seed)
            for (mode, label) in [(BackwardMode.full, "full"), (.parameterGradients, "parameters"), (.inputOnly, "input")] {
                BlockedLayoutTests.expectSameStep(net, one, x, training: true, mode: mode,
                                                  dy: { randomTensor($0, seed: seed + 100) }, "\(rows) rows, \(label)")
            }
        }
        // Gradients accumulated over the calls above are not all zero (the comparison compared something).
        #expect(net.parameters.contains { p in (0..<p.gradient.count).contains { p.gradient[$0] != 0 } })
    }

    /// The copy the kernels run is the best the CPU has (its /proc/cpuinfo flags on Linux), less
    /// what SWIFTGAN_SIMD asks for, and SmallMLP and the loss's C pass run wherever there is one.
    @Test func runsTheBestCopyTheCPUHas() throws {
        let cpu = gan_simd16_cpu_isa()
        #if arch(x86_64) && os(Linux)
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = Set((cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") } ?? "").split(separator: " "))
        #expect(cpu == (flags.contains("avx512f") ? 2 : flags.contains("avx2") ? 1 : 0), "flags: \(flags.sorted())")
        #elseif !arch(x86_64)
        #expect(cpu == 0)
        #endif
        let environment = ProcessInfo.processInfo.environment
        let expected: Int32 = switch environment["SWIFTGAN_SIMD"] {
        case "avx2": min(cpu, 1)
        case "none": 0
        default: cpu
        }
        #expect(gan_simd16_isa() == expected && SmallMLP.isa == expected && Loss.isa == expected)
        #expect(Loss.vectorised == (expected != 0))
        #expect(SmallMLP.enabled == (expected != 0 && environment["SWIFTGAN_SMALL_MLP"] != "0"))
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
