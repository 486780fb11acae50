import Foundation
import GANNN
@_spi(Testing) import GANTensor

/// Largest |a - b| / (atol + rtol · |b|) over the elements; <= 1 means "close".
public func closeness(_ a: [Float], _ b: [Float], rtol: Double, atol: Double) -> Double {
    precondition(a.count == b.count, "closeness: \(a.count) vs \(b.count) elements")
    var worst = 0.0
    for i in a.indices {
        let d = abs(Double(a[i]) - Double(b[i])) / (atol + rtol * abs(Double(b[i])))
        if !(d <= worst) { worst = d.isNaN ? .infinity : d }
    }
    return worst
}

/// A tensor of the given shape with values N(0, std²) from a fixed seed.
public func randomTensor(_ shape: [Int], seed: UInt64, std: Float = 1, mean: Float = 0) -> Tensor {
    var rng = RNG(seed: seed)
    let t = Tensor(shape: shape)
    rng.fillNormal(t, mean: mean, std: std)
    return t
}

/// Result of a finite-difference gradient check: the worst relative error and where it was.
public struct GradientCheckResult: CustomStringConvertible {
    public var worstError: Double = 0
    public var worstWhere = ""
    public var checked = 0
    public var description: String { "worst relative error \(worstError) at \(worstWhere) over \(checked) entries" }
}

/// Central-difference gradient check of a layer's input and parameter gradients.
///
/// Loss L = Σ y ⊙ r for a fixed random `r`, accumulated in Double. Each input / parameter entry is
/// perturbed by ±h (in Float32) and the numeric slope (L(+h) - L(-h)) / 2h compared with the
/// analytic gradient; error = |num - ana| / max(|num| + |ana|, floor). With h = 1e-2 and Float32
/// forward passes the truncation + rounding error is ~1e-4 relative for smooth layers; tests use
/// 1e-2 as the tolerance. Piecewise-linear layers must be fed inputs away from their kinks.
public func gradientCheck(_ layer: Layer, input x: Tensor, training: Bool = true, h: Float = 1e-2,
                          floor: Double = 1e-3, seed: UInt64 = 99,
                          parameterGradients: Bool = true, maxEntries: Int = 400) -> GradientCheckResult {
    let y0 = layer.forward(x, training: training)
    let r = randomTensor(y0.shape, seed: seed)
    func loss() -> Double {
        let y = layer.forward(x, training: training)
        var s = 0.0
        for i in 0..<y.count { s += Double(y[i]) * Double(r[i]) }
        return s
    }
    // Analytic gradients.
    layer.zeroGradients()
    _ = layer.forward(x, training: training)
    let mode: BackwardMode = parameterGradients ? .full : .inputOnly
    let dx = layer.backward(r, mode: mode)!.clone()
    let grads = layer.parameters.map { $0.gradient.clone() }
    if !parameterGradients {
        for p in layer.parameters {
            precondition(p.gradient.array.allSatisfy { $0 == 0 }, "gradientCheck: inputOnly mode touched \(p.name)")
        }
    }
    var result = GradientCheckResult()
    func check(_ t: Tensor, _ analytic: Tensor, _ label: String) {
        let stride = max(1, t.count / maxEntries)
        for i in Swift.stride(from: 0, to: t.count, by: stride) {
            let saved = t[i]
            t[i] = saved + h; let lp = loss()
            t[i] = saved - h; let lm = loss()
            t[i] = saved
            let num = (lp - lm) / (2 * Double(h))
            let ana = Double(analytic[i])
            let err = abs(num - ana) / max(abs(num) + abs(ana), floor)
            result.checked += 1
            if err > result.worstError { result.worstError = err; result.worstWhere = "\(label)[\(i)] numeric \(num) analytic \(ana)" }
        }
    }
    check(x, dx, "input")
    if parameterGradients {
        for (p, g) in zip(layer.parameters, grads) { check(p.value, g, p.name) }
    }
    return result
}

/// A fresh empty temporary directory.
public func makeTemporaryDirectory(_ prefix: String = "gan-test") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The package root (found from this source file's location).
public func packageRoot() -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// Central-difference check of a scalar function of one tensor that also reports its gradient
/// (the losses): `f(x, gradient)` returns the value and writes dValue/dx into `gradient`.
///
/// Each entry of `x` is perturbed by ±h (in Float32) and (f(+h) - f(-h)) / 2h compared with the
/// analytic gradient; error = |num - ana| / max(|num| + |ana|, floor), as in `gradientCheck`.
/// The value is rounded to Float32 by the function, so h must not be tiny: with h = 1e-2 and values
/// of order 1 the rounding contributes ~1e-5 to the slope.
public func functionGradientCheck(input x: Tensor, h: Float = 1e-2, floor: Double = 1e-3,
                                  _ f: (Tensor, Tensor) -> Float) -> GradientCheckResult {
    let analytic = Tensor(shape: x.shape)
    _ = f(x, analytic)
    let scratch = Tensor(shape: x.shape)
    var result = GradientCheckResult()
    for i in 0..<x.count {
        let saved = x[i]
        x[i] = saved + h; let lp = Double(f(x, scratch))
        x[i] = saved - h; let lm = Double(f(x, scratch))
        x[i] = saved
        let num = (lp - lm) / (2 * Double(h))
        let ana = Double(analytic[i])
        let err = abs(num - ana) / max(abs(num) + abs(ana), floor)
        result.checked += 1
        if !(err <= result.worstError) {
            result.worstError = err.isNaN ? .infinity : err
            result.worstWhere = "[\(i)] numeric \(num) analytic \(ana)"
        }
    }
    return result
}

/// G's parameter gradient from `trainer.generatorGradients(noise:real:step:)` (step 0, no real
/// batch) against central differences of the loss it returns, each G parameter perturbed by ±h:
/// the worst error |num - ana| / max(|num| + |ana|, 1e-3). `atPlus` runs after each +h evaluation
/// (e.g. to check that a ranking the loss depends on did not change).
public func generatorGradientWorstError(_ trainer: AdversarialTrainer, noise z: Tensor, h: Float = 1e-2,
                                        atPlus: () -> Void = {}) -> Double {
    trainer.generatorGradients(noise: z, real: nil, step: 0)
    let analytic = trainer.generator.parameters.map { $0.gradient.clone() }
    var worst = 0.0
    for (p, grad) in zip(trainer.generator.parameters, analytic) {
        for i in 0..<p.value.count {
            let saved = p.value[i]
            p.value[i] = saved + h
            let lp = Double(trainer.generatorGradients(noise: z, real: nil, step: 0))
            atPlus()
            p.value[i] = saved - h
            let lm = Double(trainer.generatorGradients(noise: z, real: nil, step: 0))
            p.value[i] = saved
            let num = (lp - lm) / (2 * Double(h)), ana = Double(grad[i])
            worst = max(worst, abs(num - ana) / max(abs(num) + abs(ana), 1e-3))
        }
    }
    return worst
}

/// A tensor from values computed per flat index.
public func tensor(_ shape: [Int], _ value: (Int) -> Float) -> Tensor {
    let t = Tensor(shape: shape)
    for i in 0..<t.count { t[i] = value(i) }
    return t
}
