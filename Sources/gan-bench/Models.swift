import GANData
import GANNN

/// Analytic matmul FLOPs of one iteration, as `common.mlp_gan_flops` (algorithmic minimum: no
/// gradient into images or z, D's weight gradients skipped in the G step).
func mlpGANFlops(batch b: Int = 128, z: Int = 100, h: Int = 400, x: Int = 784) -> Double {
    func mm(_ m: Int, _ k: Int, _ n: Int) -> Double { 2 * Double(m) * Double(k) * Double(n) }
    let gFwd = mm(b, z, h) + mm(b, h, x)
    let dFwd = mm(b, x, h) + mm(b, h, 1)
    let dBwdW = mm(x, b, h) + mm(h, b, 1)
    let dBwdIn = mm(b, 1, h) + mm(b, h, x)
    let dBwdParamsOnly = dBwdW + mm(b, 1, h)
    let gBwd = mm(h, b, x) + mm(b, x, h) + mm(z, b, h)
    return (gFwd + 2 * dFwd + 2 * dBwdParamsOnly) + (gFwd + dFwd + dBwdIn + gBwd)
}

/// The peers' optimiser of `mlp_gan` and `dcgan28`: Adam(2e-4, 0.5, 0.999, 1e-8).
let peerAdam = OptimizerDescription.adam(learningRate: 2e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8)

/// The peers' trainer: the same optimiser for G and D, non-saturating G loss, z ~ N(0, 1) from the
/// "noise" stream of `seed`.
func peerTrainer(_ g: Sequential, _ d: Sequential, optimizer: OptimizerDescription, noiseDimension: Int,
                 seed: UInt64) throws -> AdversarialTrainer {
    try AdversarialTrainer(generator: g, discriminator: d, generatorOptimizer: optimizer, discriminatorOptimizer: optimizer,
                            noiseDimension: noiseDimension, noiseRNG: RNG(seed: seed, stream: .noise))
}

/// The peers' `mlp_gan`: G 100-400-784 (ReLU, sigmoid), D 784-400-1 (ReLU, logits), Xavier-normal
/// weights, zero biases, Adam(2e-4, 0.5, 0.999, 1e-8), non-saturating G loss.
func makeMLPGAN(seed: UInt64) throws -> AdversarialTrainer {
    var rng = RNG(seed: seed, stream: .initialization)
    let xavier = Initializer.xavierNormal()
    let g = Sequential(Linear(100, 400, weightInit: xavier, biasInit: .zeros, rng: &rng), ReLU(),
                       Linear(400, 784, weightInit: xavier, biasInit: .zeros, rng: &rng), Sigmoid())
    let d = Sequential(Linear(784, 400, weightInit: xavier, biasInit: .zeros, rng: &rng), ReLU(),
                       Linear(400, 1, weightInit: xavier, biasInit: .zeros, rng: &rng))
    return try peerTrainer(g, d, optimizer: peerAdam, noiseDimension: 100, seed: seed)
}

/// The peers' `toy_1d`: G and D 1-10-10-10-1 with LeakyReLU(0.2) (PyTorch's default init),
/// RMSProp(1e-3, alpha 0.99, eps 1e-8), z ~ N(0, 1), data N(4, 0.5²).
func makeToy1D(seed: UInt64) throws -> AdversarialTrainer {
    var rng = RNG(seed: seed, stream: .initialization)
    func mlp() -> Sequential {
        Sequential(Linear(1, 10, rng: &rng), LeakyReLU(alpha: 0.2), Linear(10, 10, rng: &rng), LeakyReLU(alpha: 0.2),
                   Linear(10, 10, rng: &rng), LeakyReLU(alpha: 0.2), Linear(10, 1, rng: &rng))
    }
    let g = mlp(), d = mlp()
    return try peerTrainer(g, d, optimizer: .rmsprop(learningRate: 1e-3, alpha: 0.99, eps: 1e-8), noiseDimension: 1, seed: seed)
}

/// The peers' `dcgan28` (`torch_gan.build_dcgan`, `PeerDCGAN28`); Adam(2e-4, 0.5, 0.999, 1e-8),
/// non-saturating G loss.
func makeDCGAN28(seed: UInt64) throws -> AdversarialTrainer {
    var rng = RNG(seed: seed, stream: .initialization)
    let (g, d) = PeerDCGAN28.networks(rng: &rng)
    precondition(g.outputShape(for: [100]) == [1, 28, 28] && d.outputShape(for: [1, 28, 28]) == [1], "dcgan28 shapes")
    return try peerTrainer(g, d, optimizer: peerAdam, noiseDimension: 100, seed: seed)
}

/// Analytic conv/linear FLOPs of one dcgan28 iteration, as `common.dcgan28_flops` (BN etc. ignored).
func dcgan28Flops(batch b: Int = 64, z: Int = 100) -> Double {
    func mm(_ m: Int, _ k: Int, _ n: Int) -> Double { 2 * Double(m) * Double(k) * Double(n) }
    func conv(_ cin: Int, _ cout: Int, _ hout: Int) -> Double { 2 * Double(b * cout * hout * hout * cin * 16) }
    let linG = mm(b, z, 6272), ct1 = conv(64, 128, 7), ct2 = conv(1, 64, 14)
    let c1 = conv(1, 64, 14), c2 = conv(64, 128, 7), linD = mm(b, 6272, 1)
    let gFwd = linG + ct1 + ct2, dFwd = c1 + c2 + linD
    let dBwdPar = (c1 + c2 + linD) + (c2 + linD), dBwdIn = c1 + c2 + linD
    let gBwd = (linG + ct1 + ct2) + (ct1 + ct2)
    return gFwd + 2 * dFwd + 2 * dBwdPar + gFwd + dFwd + dBwdIn + gBwd
}

/// Fashion-MNIST training images as one flat uint8 array (60000 x 784).
func loadFashionTrainImages() throws -> [UInt8] {
    let idx = try IDXArray.read(FashionMNIST.imagesPath(split: "train"))
    try checkFashionShape(idx.shape)
    return idx.bytes
}

/// The same images, read per batch from the (decompressed) file.
func openFashionTrainImages() throws -> IDXFile {
    let file = try IDXFile(FashionMNIST.imagesPath(split: "train"))
    try checkFashionShape(file.shape)
    return file
}

private func checkFashionShape(_ shape: [Int]) throws {
    guard shape.count == 3, shape[1] == 28, shape[2] == 28 else {
        throw DataError(FashionMNIST.imagesPath(split: "train"), "expected images [N, 28, 28], found \(shape)")
    }
}

/// The GEMMs one dcgan28 iteration issues through the engine (batch 64, im2col layouts of
/// `Conv2d` / `ConvTranspose2d`): the matmul-only ceiling of `--model dcgan28`.
func dcgan28GEMMs(b: Int = 64) -> [GEMMShape] {
    let p7 = b * 49, p14 = b * 196   // output pixels of the batch at 7x7 and 14x14
    // Forward: G Linear, ConvT1, ConvT2 | D Conv1, Conv2, Linear.
    let gFwd = [GEMMShape(m: b, k: 100, n: 6272, transB: true), GEMMShape(m: 64 * 16, k: 128, n: p7, transA: true),
                GEMMShape(m: 16, k: 64, n: p14, transA: true)]
    let dFwd = [GEMMShape(m: 64, k: 16, n: p14), GEMMShape(m: 128, k: 64 * 16, n: p7), GEMMShape(m: b, k: 6272, n: 1, transB: true)]
    // D backward with weight gradients (Conv1 needs no input gradient).
    let dBwdPar = [GEMMShape(m: 1, k: b, n: 6272, transA: true), GEMMShape(m: b, k: 1, n: 6272),
                   GEMMShape(m: 128, k: p7, n: 64 * 16, transB: true), GEMMShape(m: 64 * 16, k: 128, n: p7, transA: true),
                   GEMMShape(m: 64, k: p14, n: 16, transB: true)]
    // D backward, input gradients only (G step), down to the image.
    let dBwdIn = [GEMMShape(m: b, k: 1, n: 6272), GEMMShape(m: 64 * 16, k: 128, n: p7, transA: true),
                  GEMMShape(m: 16, k: 64, n: p14, transA: true)]
    // G backward: ConvT2 dW, dX; ConvT1 dW, dX; Linear dW.
    let gBwd = [GEMMShape(m: 64, k: p14, n: 16, transB: true), GEMMShape(m: 64, k: 16, n: p14),
                GEMMShape(m: 128, k: p7, n: 64 * 16, transB: true), GEMMShape(m: 128, k: 64 * 16, n: p7),
                GEMMShape(m: 6272, k: b, n: 100, transA: true)]
    return gFwd + dFwd + dBwdPar + dFwd + dBwdPar + gFwd + dFwd + dBwdIn + gBwd
}

/// The peers' `dcgan64` (`torch_gan_models.build_dcgan64`): pytorch/examples' DCGAN at 64x64x3,
/// nz 100, ngf = ndf = 64 (`CanonicalDCGAN`); Adam(2e-4, 0.5, 0.999, 1e-8), non-saturating G loss.
func makeDCGAN64(seed: UInt64) throws -> AdversarialTrainer {
    var rng = RNG(seed: seed, stream: .initialization)
    let g = CanonicalDCGAN.generator(noiseDimension: 100, imageShape: [3, 64, 64], features: 64, rng: &rng)
    let d = CanonicalDCGAN.discriminator(imageShape: [3, 64, 64], features: 64, rng: &rng)
    return try peerTrainer(g, d, optimizer: peerAdam, noiseDimension: 100, seed: seed)
}

/// Conv FLOPs of one dcgan64 iteration, as `common.dcgan64_flops` (a transposed convolution counts
/// as the convolution it is the adjoint of; no gradient into the images or z; D's weight
/// gradients skipped in the G step).
func dcgan64Flops(batch b: Int = 64, z nz: Int = 100, features f: Int = 64, channels nc: Int = 3) -> Double {
    func macs(_ cin: Int, _ cout: Int, _ out: Int) -> Double { Double(b * cout * out * out * cin * 16) }
    var g = [macs(f * 8, nz, 1)]
    for i in 0..<3 { g.append(macs(f * 4 >> i, f * 8 >> i, 4 << i)) }
    g.append(macs(nc, f, 32))
    let d = [macs(nc, f, 32), macs(f, f * 2, 16), macs(f * 2, f * 4, 8), macs(f * 4, f * 8, 4), macs(f * 8, 1, 1)]
    let gFwd = 2 * g.reduce(0, +), dFwd = 2 * d.reduce(0, +)
    let dBwdPar = dFwd + (dFwd - 2 * d[0]), dBwdIn = dFwd, gBwd = gFwd + (gFwd - 2 * g[0])
    return gFwd + 2 * dFwd + 2 * dBwdPar + gFwd + dFwd + dBwdIn + gBwd
}
