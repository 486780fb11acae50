import GANTensor

/// The DCGAN of pytorch/examples `dcgan/main.py` (Radford et al. 2016), the canonical 64x64 image
/// GAN, for square images of any power-of-two side S >= 16 and C channels (S = 64: exactly the
/// example). With n = log2(S) - 2 and f = `features` (the example's ngf = ndf = 64):
///
///     G: z [nz] -> [nz, 1, 1] -> ConvT(nz -> f·2^(n-1), k4 s1 p0) -> BN -> ReLU        (1 -> 4)
///        -> ConvT(f·2^j -> f·2^(j-1), k4 s2 p1) -> BN -> ReLU, j = n-1 ... 1          (4 -> S/2)
///        -> ConvT(f -> C, k4 s2 p1) -> Tanh                                           (S/2 -> S)
///     D: x [C, S, S] -> Conv(C -> f, k4 s2 p1) -> LeakyReLU(α)                        (S -> S/2)
///        -> Conv(f·2^(j-1) -> f·2^j, k4 s2 p1) -> BN -> LeakyReLU(α), j = 1 ... n-1    (-> 4)
///        -> Conv(f·2^(n-1) -> 1, k4 s1 p0) -> [1]                                     (4 -> 1: the logit)
///
/// No biases; weights N(0, 0.02), batch-norm scales N(1, 0.02) and shifts 0 (the example's
/// `weights_init`); D ends in a logit (the sigmoid lives in the loss).
public enum CanonicalDCGAN {
    /// Why an image shape does not fit (nil when it does): square, power-of-two side >= 16.
    public static func problem(imageShape s: [Int]) -> String? {
        guard s.count == 3, s[0] >= 1 else { return "needs images [C, H, W], got \(s)" }
        guard s[1] == s[2], s[1] >= 16, s[1] & (s[1] - 1) == 0 else {
            return "needs square images with a power-of-two side >= 16 (64 for the pytorch/examples network; "
                + "prep resizes with data.resize), got \(s[1])x\(s[2])"
        }
        return nil
    }

    /// The generator for `[C, S, S]` images from `noiseDimension` z.
    public static func generator(noiseDimension nz: Int, imageShape s: [Int], features f: Int, rng: inout RNG) -> Sequential {
        precondition(problem(imageShape: s) == nil, "CanonicalDCGAN: \(problem(imageShape: s) ?? "")")
        let n = levels(s[1])
        var layers: [Layer] = [Reshape([nz, 1, 1])]
        var inC = nz, outC = f << (n - 1)
        layers += [convolution(ConvTranspose2d.self, inC, outC, stride: 1, padding: 0, rng: &rng), batchNorm(outC, rng: &rng), ReLU()]
        for j in stride(from: n - 1, through: 1, by: -1) {
            (inC, outC) = (f << j, f << (j - 1))
            layers += [convolution(ConvTranspose2d.self, inC, outC, stride: 2, padding: 1, rng: &rng), batchNorm(outC, rng: &rng), ReLU()]
        }
        layers += [convolution(ConvTranspose2d.self, f, s[0], stride: 2, padding: 1, rng: &rng), Tanh()]
        return Sequential(layers)
    }

    /// The discriminator of `[C, S, S]` images; `alpha` is LeakyReLU's slope (0.2 in the example).
    public static func discriminator(imageShape s: [Int], features f: Int, alpha: Float = 0.2, rng: inout RNG) -> Sequential {
        precondition(problem(imageShape: s) == nil, "CanonicalDCGAN: \(problem(imageShape: s) ?? "")")
        let n = levels(s[1])
        var layers: [Layer] = [convolution(Conv2d.self, s[0], f, stride: 2, padding: 1, rng: &rng), LeakyReLU(alpha: alpha)]
        for j in 1..<n {
            layers += [convolution(Conv2d.self, f << (j - 1), f << j, stride: 2, padding: 1, rng: &rng),
                       batchNorm(f << j, rng: &rng), LeakyReLU(alpha: alpha)]
        }
        layers += [convolution(Conv2d.self, f << (n - 1), 1, stride: 1, padding: 0, rng: &rng), Reshape([1])]
        return Sequential(layers)
    }

    /// n = log2(S) - 2: the doublings from 4x4 to S/2 x S/2, plus one.
    private static func levels(_ side: Int) -> Int { side.trailingZeroBitCount - 2 }

    private static func convolution<L: ConvolutionLayer>(_ kind: L.Type, _ inC: Int, _ outC: Int, stride: Int, padding: Int,
                                                         rng: inout RNG) -> L {
        L(inC, outC, kernel: 4, stride: stride, padding: padding, bias: false, weightInit: .normal(mean: 0, std: 0.02), rng: &rng)
    }

    private static func batchNorm(_ features: Int, rng: inout RNG) -> BatchNorm {
        let bn = BatchNorm(features: features)
        Initializer.normal(mean: 1, std: 0.02).fill(bn.weight.value, fanIn: features, fanOut: features, rng: &rng)
        return bn
    }
}

/// The peers' 28x28 DCGAN (`torch_gan.build_dcgan`, `gan-bench --model dcgan28`): G Linear(100,
/// 6272) -> 128x7x7 -> BN -> ReLU -> ConvT(128->64, k4 s2 p1) -> BN -> ReLU -> ConvT(64->1, k4 s2 p1)
/// -> tanh; D Conv(1->64, k4 s2 p1) -> LeakyReLU .2 -> Conv(64->128, k4 s2 p1) -> BN -> LeakyReLU .2
/// -> flatten -> Linear(6272 -> 1). Weights N(0, 0.02), biases 0, BN γ = 1, β = 0.
public enum PeerDCGAN28 {
    public static func networks(rng: inout RNG) -> (generator: Sequential, discriminator: Sequential) {
        let w = Initializer.normal(mean: 0, std: 0.02)
        let g = Sequential(
            Linear(100, 128 * 7 * 7, weightInit: w, biasInit: .zeros, rng: &rng), Reshape(sampleShape: [128, 7, 7]),
            BatchNorm(features: 128), ReLU(),
            ConvTranspose2d(128, 64, kernel: 4, stride: 2, padding: 1, weightInit: w, biasInit: .zeros, rng: &rng),
            BatchNorm(features: 64), ReLU(),
            ConvTranspose2d(64, 1, kernel: 4, stride: 2, padding: 1, weightInit: w, biasInit: .zeros, rng: &rng), Tanh())
        let d = Sequential(
            Conv2d(1, 64, kernel: 4, stride: 2, padding: 1, weightInit: w, biasInit: .zeros, rng: &rng), LeakyReLU(alpha: 0.2),
            Conv2d(64, 128, kernel: 4, stride: 2, padding: 1, weightInit: w, biasInit: .zeros, rng: &rng),
            BatchNorm(features: 128), LeakyReLU(alpha: 0.2),
            Reshape(sampleShape: [128 * 7 * 7]), Linear(128 * 7 * 7, 1, weightInit: w, biasInit: .zeros, rng: &rng))
        return (g, d)
    }
}
