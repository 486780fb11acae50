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

/// The peers' `mlp_gan`: G 100-400-784 (ReLU, sigmoid), D 784-400-1 (ReLU, logits), Xavier-normal
/// weights, zero biases, Adam(2e-4, 0.5, 0.999, 1e-8), non-saturating G loss.
func makeMLPGAN(seed: UInt64) -> AdversarialTrainer {
    var rng = RNG(seed: seed, purpose: "init")
    let xavier = Initializer.xavierNormal()
    let g = Sequential(Linear(100, 400, weightInit: xavier, biasInit: .zeros, rng: &rng), ReLU(),
                       Linear(400, 784, weightInit: xavier, biasInit: .zeros, rng: &rng), Sigmoid())
    let d = Sequential(Linear(784, 400, weightInit: xavier, biasInit: .zeros, rng: &rng), ReLU(),
                       Linear(400, 1, weightInit: xavier, biasInit: .zeros, rng: &rng))
    let optG = Adam(parameters: g.parameters, learningRate: 2e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8)
    let optD = Adam(parameters: d.parameters, learningRate: 2e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8)
    return AdversarialTrainer(generator: g, discriminator: d, generatorOptimizer: optG, discriminatorOptimizer: optD,
                              objective: .nonSaturating, noiseDimension: 100, noiseRNG: RNG(seed: seed, purpose: "noise"))
}

/// The peers' `toy_1d`: G and D 1-10-10-10-1 with LeakyReLU(0.2) (PyTorch's default init),
/// RMSProp(1e-3, alpha 0.99, eps 1e-8), z ~ N(0, 1), data N(4, 0.5²).
func makeToy1D(seed: UInt64) -> AdversarialTrainer {
    var rng = RNG(seed: seed, purpose: "init")
    func mlp() -> Sequential {
        Sequential(Linear(1, 10, rng: &rng), LeakyReLU(alpha: 0.2), Linear(10, 10, rng: &rng), LeakyReLU(alpha: 0.2),
                   Linear(10, 10, rng: &rng), LeakyReLU(alpha: 0.2), Linear(10, 1, rng: &rng))
    }
    let g = mlp(), d = mlp()
    let optG = RMSProp(parameters: g.parameters, learningRate: 1e-3, alpha: 0.99, eps: 1e-8)
    let optD = RMSProp(parameters: d.parameters, learningRate: 1e-3, alpha: 0.99, eps: 1e-8)
    return AdversarialTrainer(generator: g, discriminator: d, generatorOptimizer: optG, discriminatorOptimizer: optD,
                              objective: .nonSaturating, noiseDimension: 1, noiseRNG: RNG(seed: seed, purpose: "noise"))
}

/// Fashion-MNIST training images as one flat uint8 array (60000 x 784).
func loadFashionTrainImages() throws -> [UInt8] {
    let idx = try IDXArray.read(FashionMNIST.imagesPath(split: "train"))
    guard idx.shape.count == 3, idx.shape[1] == 28, idx.shape[2] == 28 else {
        throw DataError(FashionMNIST.imagesPath(split: "train"), "expected images [N, 28, 28], found \(idx.shape)")
    }
    return idx.bytes
}
