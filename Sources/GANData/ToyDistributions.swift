import Foundation
import GANTensor

/// The seed systems' built-in data distributions. Samples are row-major `[count, dimension]`.
public enum ToyDistribution: Equatable, Sendable {
    /// 1-D N(mean, std²) — the 1-D Gaussian system (target N(4, 0.5²)).
    case gaussian(mean: Float, std: Float)
    /// 2-D points on a parabola: x ~ U(-1, 1), y = a·x² + N(0, std²).
    case parabola(a: Float, std: Float)
    /// 2-D mixture of `modes` Gaussians evenly spaced on a circle (PacGAN: radius 1, std 0.01).
    case ring(modes: Int, radius: Float, std: Float)
    /// 2-D mixture of size×size Gaussians on a grid with the given spacing, centred on the origin
    /// (PacGAN: 5×5, means {-4, -2, 0, 2, 4}², std 0.05).
    case grid(size: Int, spacing: Float, std: Float)

    public var dimension: Int {
        if case .gaussian = self { return 1 }
        return 2
    }

    /// Mixture centres (`[modes][2]`) for ring and grid; empty otherwise.
    public var centers: [[Float]] {
        switch self {
        case .ring(let modes, let radius, _):
            return (0..<modes).map { k in
                let angle = 2 * Double.pi * Double(k) / Double(modes)
                return [radius * Float(cos(angle)), radius * Float(sin(angle))]
            }
        case .grid(let size, let spacing, _):
            let half = Float(size - 1) / 2
            return (0..<size).flatMap { i in (0..<size).map { j in [(Float(i) - half) * spacing, (Float(j) - half) * spacing] } }
        case .gaussian, .parabola:
            return []
        }
    }

    /// Standard deviation of each mixture component (ring/grid) or of the noise.
    public var componentStd: Float {
        switch self {
        case .gaussian(_, let s), .parabola(_, let s), .ring(_, _, let s), .grid(_, _, let s): return s
        }
    }

    /// Fills `out` (`count · dimension` values) with samples; mixture components are chosen uniformly.
    public func sample(into out: UnsafeMutablePointer<Float>, count: Int, rng: inout RNG) {
        switch self {
        case .gaussian(let mean, let std):
            rng.fillNormal(out, count: count, mean: mean, std: std)
        case .parabola(let a, let std):
            for i in 0..<count {
                let x = 2 * rng.uniform() - 1
                out[2 * i] = x
                out[2 * i + 1] = a * x * x + std * rng.normal()
            }
        case .ring, .grid:
            let c = centers, std = componentStd
            for i in 0..<count {
                let k = rng.int(below: c.count)
                out[2 * i] = c[k][0] + std * rng.normal()
                out[2 * i + 1] = c[k][1] + std * rng.normal()
            }
        }
    }

    /// `count` samples as a new `[count, dimension]` tensor.
    public func sample(count: Int, rng: inout RNG) -> Tensor {
        let t = Tensor(shape: [count, dimension])
        sample(into: t.data, count: count, rng: &rng)
        return t
    }

    /// Density of the 1-D Gaussian at x (D's pretraining target in the 1-D system); nil otherwise.
    public func pdf(_ x: Float) -> Float? {
        guard case .gaussian(let mean, let std) = self else { return nil }
        let z = Double((x - mean) / std)
        return Float(exp(-0.5 * z * z) / (Double(std) * (2 * Double.pi).squareRoot()))
    }
}
