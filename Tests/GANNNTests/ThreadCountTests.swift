import Foundation
@testable import GANNN
@_spi(Testing) import GANTensor
import GANTestSupport
import Testing

/// The conv and batch-norm layers split im2col / col2im, transposes, bias and the per-channel
/// passes over `ComputeThreads` without splitting any sum, so those passes give the same bits at
/// 1 and 2 threads. OpenBLAS's sgemm does not (its results at 1 and 2 threads differ in the last
/// bits), so the conv layers are checked for reproducibility at each thread count and agreement
/// within rounding across them; BatchNorm (no GEMM) for the same bits. Shapes are dcgan28's, large
/// enough for `parallelFor` to really split.
///
/// Splits with a task-local chunk count (`ComputeThreads.chunksOverride`), never the global count.
@Suite("Thread count independence", .serialized) struct ThreadCountTests {
    /// `body` with `parallelFor` split into `threads` chunks (task-local: OpenBLAS's global thread
    /// count is left alone, so other tests running concurrently are unaffected, and the GEMMs here
    /// run the same way at both counts).
    static func at<T>(threads: Int, _ body: () -> T) -> T {
        ComputeThreads.$chunksOverride.withValue(threads) { body() }
    }

    /// Forward + full backward of a fresh layer from `make` at `threads`: output, input gradient
    /// and every parameter gradient, as arrays; then again on the same layer (buffers reused,
    /// gradients accumulated).
    static func run(threads: Int, _ make: () -> Layer, input: Tensor, training: Bool = true) -> [[Float]] {
        at(threads: threads) {
            let layer = make()
            let y = layer.forward(input, training: training)
            let dy = randomTensor(y.shape, seed: 99, std: 0.5)
            var out = [y.array]
            out.append(layer.backward(dy, mode: .full)!.array)
            out += layer.parameters.map(\.gradient.array)
            _ = layer.forward(input, training: training)
            out.append(layer.backward(dy, mode: .full)!.array)
            out += layer.parameters.map(\.gradient.array)
            return out
        }
    }

    static func mismatches(_ a: [Float], _ b: [Float]) -> Int {
        a.count != b.count ? max(a.count, b.count) : zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
    }

    /// Same bits twice at each thread count; across 1 and 2 threads the same bits (`exact`) or
    /// within 1e-5 of each array's largest magnitude.
    static func expectConsistent(_ make: () -> Layer, input: Tensor, training: Bool = true, exact: Bool) {
        let one = run(threads: 1, make, input: input, training: training)
        let two = run(threads: 2, make, input: input, training: training)
        #expect(one.count == two.count)
        for (i, (a, b)) in zip(one, two).enumerated() {
            if exact {
                #expect(mismatches(a, b) == 0, "array \(i): \(mismatches(a, b)) of \(a.count) values differ between 1 and 2 threads")
            } else {
                let scale = a.map { abs($0) }.max() ?? 0
                let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
                #expect(worst <= 1e-5 * scale, "array \(i): 1 vs 2 threads differ by \(worst) (largest value \(scale))")
            }
        }
        for threads in [1, 2] {
            let again = run(threads: threads, make, input: input, training: training)
            let first = threads == 1 ? one : two
            for (i, (a, b)) in zip(first, again).enumerated() {
                #expect(mismatches(a, b) == 0, "array \(i) at \(threads) threads: not reproducible")
            }
        }
    }

    static func conv(_ cin: Int, _ cout: Int) -> () -> Layer {
        {
            var rng = RNG(seed: 5, stream: .initialization)
            return Conv2d(cin, cout, kernel: 4, stride: 2, padding: 1, biasInit: .normal(mean: 0, std: 0.1), rng: &rng)
        }
    }

    static func convT(_ cin: Int, _ cout: Int) -> () -> Layer {
        {
            var rng = RNG(seed: 6, stream: .initialization)
            return ConvTranspose2d(cin, cout, kernel: 4, stride: 2, padding: 1, biasInit: .normal(mean: 0, std: 0.1), rng: &rng)
        }
    }

    static func batchNorm(_ c: Int) -> () -> Layer {
        {
            let bn = BatchNorm(features: c)
            for i in 0..<c { bn.weight.value[i] = 0.5 + 0.01 * Float(i); bn.bias.value[i] = 0.01 * Float(i) - 0.2 }
            return bn
        }
    }

    @Test func conv2dReproducibleAndConsistent() {
        Self.expectConsistent(Self.conv(1, 64), input: randomTensor([64, 1, 28, 28], seed: 1), exact: false)
        Self.expectConsistent(Self.conv(64, 128), input: randomTensor([32, 64, 14, 14], seed: 2), exact: false)
    }

    @Test func convTranspose2dReproducibleAndConsistent() {
        Self.expectConsistent(Self.convT(128, 64), input: randomTensor([32, 128, 7, 7], seed: 3), exact: false)
        Self.expectConsistent(Self.convT(64, 1), input: randomTensor([64, 64, 14, 14], seed: 4), exact: false)
    }

    @Test func batchNormSameBits() {
        Self.expectConsistent(Self.batchNorm(128), input: randomTensor([32, 128, 7, 7], seed: 7, std: 2, mean: 0.5), exact: true)
        Self.expectConsistent(Self.batchNorm(64), input: randomTensor([32, 64, 14, 14], seed: 8, std: 2, mean: 0.5), exact: true)
        Self.expectConsistent(Self.batchNorm(400), input: randomTensor([256, 400], seed: 9, std: 2, mean: 0.5), exact: true)
        Self.expectConsistent(Self.batchNorm(128), input: randomTensor([32, 128, 7, 7], seed: 10), training: false, exact: true)
    }

    /// The conv layers' own passes (everything but the GEMMs): same bits at 1 and 2 threads.
    @Test(arguments: [(1, 28, 64), (64, 14, 32), (128, 7, 64)])
    func loweringPassesSameBits(channels: Int, size: Int, batch: Int) {
        let g = ConvGeometry(channels: channels, height: size, width: size, kernel: 4, stride: 2, padding: 1)
        let image = randomTensor([channels * size * size, batch], seed: 20)
        let cols = randomTensor([g.patchSize, g.outHeight * g.outWidth * batch], seed: 21)
        let bias = randomTensor([channels], seed: 22)
        func passes() -> [[Float]] {
            let c = Tensor(shape: cols.shape), x = Tensor(shape: image.shape), xb = Tensor(shape: image.shape)
            let t = Tensor(shape: [image.columns, image.rows]), sums = randomTensor([channels], seed: 23)
            let filled = Tensor(shape: [channels, 5000])
            g.im2col(image.data, batch: batch, into: c.data)
            g.col2im(cols.data, batch: batch, into: x.data)
            g.col2im(cols.data, batch: batch, bias: bias.data, into: xb.data)
            transpose(image.data, rows: image.rows, columns: image.columns, into: t.data)
            addRowSums(image.data, rows: channels, columns: image.count / channels, into: sums.data)
            fillRows(filled.data, rows: channels, columns: 5000, with: bias.data)
            return [c.array, x.array, xb.array, t.array, sums.array, filled.array]
        }
        let one = Self.at(threads: 1, passes), two = Self.at(threads: 2, passes)
        for (i, (a, b)) in zip(one, two).enumerated() {
            #expect(Self.mismatches(a, b) == 0, "pass \(i): \(Self.mismatches(a, b)) of \(a.count) values differ")
        }
        // col2im with a bias is col2im plus the bias (up to rounding).
        let plane = size * size * batch
        for i in stride(from: 0, to: one[1].count, by: 97) {
            #expect(abs(one[2][i] - (one[1][i] + bias[i / plane])) <= 1e-5 * max(1, abs(one[2][i])))
        }
    }

    /// The split, bias-initialised col2im at a size that splits: ConvTranspose2d's output against
    /// its definition (Double sums) at sampled positions, at 2 threads.
    @Test func convTransposeSplitMatchesDefinition() {
        ComputeThreads.$chunksOverride.withValue(2) { checkConvTransposeSplit() }
    }

    func checkConvTransposeSplit() {
        let layer = Self.convT(64, 8)() as! ConvTranspose2d
        let n = 32, h = 14, x = randomTensor([n, 64, h, h], seed: 12)
        let y = layer.forward(x, training: true)
        let k = 4, s = 2, p = 1, oh = 28, cin = 64, cout = 8
        var rng = RNG(seed: 13)
        for _ in 0..<200 {
            let b = Int(rng.next() % UInt64(n)), oc = Int(rng.next() % UInt64(cout))
            let r = Int(rng.next() % UInt64(oh)), q = Int(rng.next() % UInt64(oh))
            var sum = Double(layer.bias!.value[oc])
            for ic in 0..<cin { for ki in 0..<k { for kj in 0..<k {
                let ti = r + p - ki, tj = q + p - kj
                guard ti >= 0, tj >= 0, ti % s == 0, tj % s == 0, ti / s < h, tj / s < h else { continue }
                sum += Double(x[((b * cin + ic) * h + ti / s) * h + tj / s]) * Double(layer.weight.value[((ic * cout + oc) * k + ki) * k + kj])
            } } }
            let got = Double(y[((b * cout + oc) * oh + r) * oh + q])
            #expect(abs(got - sum) < 1e-4 * max(1, abs(sum)), "y[\(b), \(oc), \(r), \(q)] = \(got), expected \(sum)")
        }
    }
}
