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

    /// `fill`, or with `stratified` for a uniform prior and one noise value per row (the 1-D
    /// system's trick): one jittered point per stratum, sorted and covering the range evenly
    /// (`RNG.fillStratified`). A normal prior, or several values per row, ignore `stratified`.
    public func fill(_ z: Tensor, rng: inout RNG, stratified: Bool) {
        if stratified, z.columns == 1, case .uniform(let low, let high) = self {
            rng.fillStratified(z.data, count: z.rows, low: low, high: high)
        } else {
            fill(z, rng: &rng)
        }
    }
}
