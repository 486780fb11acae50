import Foundation
@testable import GANNN
@_spi(Testing) import GANTensor
import GANTestSupport
import Testing

/// `Sequential` runs activations in place over the previous layer's output where it may, passes
/// two gradient buffers between its layers (`backward(_:mode:into:)`), and the
/// conv layers keep their column matrices in the thread's `Workspace`: the results must be the
/// bits of each layer's own buffers, with other layers' calls in between.
@Suite struct GradientBufferTests {
    /// A dcgan28-like chain with every kind of layer that writes into a caller's buffer.
    static func network(seed: UInt64) -> Sequential {
        var rng = RNG(seed: seed, stream: .initialization)
        return Sequential(
            Linear(8, 4 * 4 * 4, rng: &rng), Reshape([4, 4, 4]), BatchNorm(features: 4), ReLU(),
            ConvTranspose2d(4, 3, kernel: 4, stride: 2, padding: 1, rng: &rng), Tanh(),
            Conv2d(3, 6, kernel: 4, stride: 2, padding: 1, rng: &rng), LeakyReLU(alpha: 0.2),
            Reshape([96]), Linear(96, 12, rng: &rng), Maxout(pieces: 3), Sigmoid(), Linear(4, 1, rng: &rng))
    }

    /// G and D passing gradients in one shared pair of buffers (as every trainer's do): D's input
    /// gradient, then G's backward from it, give the bits of two networks with their own pairs.
    @Test func networksSharingGradientBuffersGetTheSameGradients() throws {
        var rng = RNG(seed: 9, stream: .initialization)
        func discriminator() -> Sequential {
            Sequential(Conv2d(3, 6, kernel: 4, stride: 2, padding: 1, rng: &rng), LeakyReLU(alpha: 0.2), Reshape([96]),
                       Linear(96, 1, rng: &rng))
        }
        let g1 = Self.generator(seed: 3), g2 = Self.generator(seed: 3)
        let d1 = discriminator()
        rng = RNG(seed: 9, stream: .initialization)
        let d2 = discriminator()
        g2.shareGradientBuffers(with: d2)
        let z = randomTensor([5, 8], seed: 4), dScore = randomTensor([5, 1], seed: 6)
        for round in 0..<2 {
            var grads: [[[Float]]] = []
            for (g, d) in [(g1, d1), (g2, d2)] {
                let fake = g.forward(z, training: true)
                _ = d.forward(fake, training: true)
                g.zeroGradients()
                d.zeroGradients()
                let dFake = try #require(d.backward(dScore, mode: .full))
                g.backward(dFake, mode: .parameterGradients)
                grads.append((g.parameters + d.parameters).map(\.gradient.array))
            }
            #expect(grads[0] == grads[1], "round \(round)")
        }
    }

    static func generator(seed: UInt64) -> Sequential {
        var rng = RNG(seed: seed, stream: .initialization)
        return Sequential(Linear(8, 4 * 4 * 4, rng: &rng), Reshape([4, 4, 4]), BatchNorm(features: 4), ReLU(),
                          ConvTranspose2d(4, 3, kernel: 4, stride: 2, padding: 1, rng: &rng), Tanh())
    }

    @Test func sequentialEqualsTheLayerByLayerChain() throws {
        let a = Self.network(seed: 5), b = Self.network(seed: 5)
        let x = randomTensor([6, 8], seed: 1)
        let dy = randomTensor([6, 1], seed: 2)
        for round in 0..<2 {   // the second round reuses every buffer at its size
            // The reference runs each layer's own forward (no in-place activations) and backward.
            let ya = a.forward(x, training: true)
            var yb = x
            for layer in b.layers { yb = layer.forward(yb, training: true) }
            #expect(ya.array == yb.array)
            a.zeroGradients()
            b.zeroGradients()
            let dxa = a.backward(dy, mode: .full)!
            // The reference: each layer's own `backward(_:mode:)`, in a plain loop.
            var g = dy
            for layer in b.layers.reversed() { g = layer.backward(g, mode: .full)! }
            #expect(dxa.shape == x.shape && dxa.array == g.array, "round \(round)")
            for (pa, pb) in zip(a.parameters, b.parameters) { #expect(pa.gradient.array == pb.gradient.array) }
        }
        #expect(dy.array == randomTensor([6, 1], seed: 2).array)   // dy untouched
        #expect(x.array == randomTensor([6, 8], seed: 1).array)    // and x: only layer outputs are overwritten
    }

    /// A conv layer's backward after other conv layers used the workspace (as in G then D):
    /// the same bits as straight after its own forward.
    @Test func convBackwardIsUnaffectedByOtherLayersInBetween() throws {
        func make(_ seed: UInt64) -> (Conv2d, ConvTranspose2d) {
            var rng = RNG(seed: seed)
            return (Conv2d(3, 5, kernel: 3, stride: 2, padding: 1, rng: &rng), ConvTranspose2d(3, 2, kernel: 4, stride: 2, padding: 1, rng: &rng))
        }
        let x = randomTensor([4, 3, 9, 9], seed: 3)
        let (c1, t1) = make(7), (c2, t2) = make(7)
        let yc = c1.forward(x, training: true), yt = t1.forward(x, training: true)
        let dyc = randomTensor(yc.shape, seed: 4), dyt = randomTensor(yt.shape, seed: 5)
        // Straight: forward then backward of each.
        _ = c2.forward(x, training: true)
        let dxc = c2.backward(dyc, mode: .full)!.array
        _ = t2.forward(x, training: true)
        let dxt = t2.backward(dyt, mode: .full)!.array
        // Interleaved: both forwards (c1 then t1 above), then an unrelated conv, then the backwards.
        var rng = RNG(seed: 9)
        _ = Conv2d(3, 8, kernel: 5, padding: 2, rng: &rng).forward(randomTensor([4, 3, 9, 9], seed: 6), training: true)
        #expect(t1.backward(dyt, mode: .full)!.array == dxt)
        #expect(c1.backward(dyc, mode: .full)!.array == dxc)
        for (p, q) in zip(c1.parameters + t1.parameters, c2.parameters + t2.parameters) { #expect(p.gradient.array == q.gradient.array) }
    }
}
