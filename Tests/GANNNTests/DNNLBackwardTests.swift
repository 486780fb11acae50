import Testing
@testable import GANNN
import GANTestSupport
@_spi(Testing) import GANTensor

/// `DNNLConvolution.backward` (both passes in one oneDNN call, dy reordered once) against the two
/// passes called one by one: the same bits.
@Suite("oneDNN combined backward")
struct DNNLBackwardTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var transposed: Bool, inChannels: Int, outChannels: Int, size: Int, batch: Int
        var testDescription: String { "\(transposed ? "ConvT" : "Conv") \(inChannels)->\(outChannels) on \(size)x\(size), batch \(batch)" }
    }

    static let cases: [Case] = [
        Case(transposed: false, inChannels: 32, outChannels: 64, size: 8, batch: 5),   // dcgan-like, blocked layouts
        Case(transposed: true, inChannels: 64, outChannels: 32, size: 4, batch: 5),
        Case(transposed: false, inChannels: 3, outChannels: 16, size: 8, batch: 3),    // plain input (few channels)
        Case(transposed: true, inChannels: 16, outChannels: 3, size: 4, batch: 3),     // plain output
    ]

    @Test(arguments: cases)
    func combinedBackwardMatchesThePassesOneByOne(_ c: Case) {
        guard DNNLConvolution.isAvailable else { return }
        do {
            do {
                let conv = DNNLConvolution(transposed: c.transposed, inChannels: c.inChannels, outChannels: c.outChannels,
                                           kernel: 4, stride: 2, padding: 1, hasBias: true)
                let out = c.transposed ? c.size * 2 : c.size / 2
                let x = randomTensor([c.batch, c.inChannels, c.size, c.size], seed: 3)
                let weightShape = c.transposed ? [c.inChannels, c.outChannels, 4, 4] : [c.outChannels, c.inChannels, 4, 4]
                let w = randomTensor(weightShape, seed: 4), dy = randomTensor([c.batch, c.outChannels, out, out], seed: 5)
                let gw1 = randomTensor(weightShape, seed: 6), gb1 = randomTensor([c.outChannels], seed: 7)
                let gw2 = gw1.clone(), gb2 = gb1.clone()
                let dx1 = Tensor(shape: x.shape), dx2 = Tensor(shape: x.shape)
                conv.backward(x, dy, weight: w, weightGradient: gw1, biasGradient: gb1, inputGradient: dx1)
                conv.backward(x, dy, weight: w, weightGradient: gw2, biasGradient: gb2, inputGradient: nil)
                conv.backward(x, dy, weight: w, weightGradient: nil, biasGradient: nil, inputGradient: dx2)
                #expect(gw1.bitwiseEqual(gw2) && gb1.bitwiseEqual(gb2) && dx1.bitwiseEqual(dx2), "\(c.testDescription)")
                // Between layers of 16 or more channels both passes choose one blocked layout for
                // dy (on AVX2 and AVX-512 CPUs), and it is reordered once. (With a plain 3-channel
                // input, oneDNN's data and weight passes want dy in different layouts.)
                if c.inChannels >= 16 && c.outChannels >= 16 { #expect(conv.sharesOutputGradient, "\(c.testDescription)") }
            }
        }
    }
}
