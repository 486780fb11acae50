/// The prior p(z) of the generator's noise.
public enum NoisePrior: Equatable, Sendable {
    case normal(mean: Float = 0, std: Float = 1)
    case uniform(low: Float = -1, high: Float = 1)

    public func fill(_ z: Tensor, rng: inout RNG) {
        switch self {
        case .normal(let mean, let std): rng.fillNormal(z, mean: mean, std: std)
        case .uniform(let low, let high): rng.fillUniform(z, low: low, high: high)
        }
    }
}
