import CMathShim
import Foundation
import GANNN

/// fillNormal's floats are not the scalar transform's: the bit guarantee of boxmuller.c is broken.
struct NormalFillMismatch: Error, CustomStringConvertible {
    var description: String { "normal_fill: RNG.fillNormal differs from the scalar glibc Box-Muller" }
}

extension GANBench {
    /// `normal_fill`: `RNG.fillNormal` (Box-Muller, four pairs at a time, CMathShim/boxmuller.c)
    /// against the scalar transform with glibc's log and sincos that defines the same bits.
    /// Prints ns per pair for both on stderr (best of 7 alternating rounds, fills of `batch` values)
    /// and checks that the values agree; the RESULT line times `iters` fills of `batch` = 100 values
    /// (toy_1d's noise and data draws).
    func benchNormalFill() throws -> BenchResult {
        let batch = 100
        let values = UnsafeMutablePointer<Float>.allocate(capacity: batch)
        let reference = UnsafeMutablePointer<Float>.allocate(capacity: batch)
        defer { values.deallocate(); reference.deallocate() }
        var rng = RNG(seed: seed, stream: .noise)

        /// The definition: u1 = ((b1 >> 11) + 1) 2^-53, u2 = (b2 >> 11) 2^-53, r = sqrt(-2 ln u1),
        /// (r cos 2πu2, r sin 2πu2), each pair from glibc.
        func scalarFill(_ r: inout RNG, _ out: UnsafeMutablePointer<Float>) {
            for k in 0..<(batch / 2) {
                let b1 = r.next(), b2 = r.next()
                let u1 = Double((b1 >> 11) + 1) * 0x1p-53, u2 = Double(b2 >> 11) * 0x1p-53
                let radius = (-2 * Foundation.log(u1)).squareRoot()
                var s = 0.0, c = 0.0
                gan_sincos(2 * Double.pi * u2, &s, &c)
                out[2 * k] = Float(radius * c)
                out[2 * k + 1] = Float(radius * s)
            }
        }
        var check = rng
        for _ in 0..<100 {
            var twin = check
            check.fillNormal(values, count: batch)
            scalarFill(&twin, reference)
            guard (0..<batch).allSatisfy({ values[$0].bitPattern == reference[$0].bitPattern }) else {
                throw NormalFillMismatch()
            }
        }

        let fills = 20_000
        func round(_ body: () -> Void) -> Double {
            let t0 = Measurement.monotonicSeconds()
            body()
            return (Measurement.monotonicSeconds() - t0) / Double(fills * batch / 2) * 1e9
        }
        var vector = Double.infinity, scalar = Double.infinity
        for _ in 0..<7 {
            vector = min(vector, round { for _ in 0..<fills { rng.fillNormal(values, count: batch) } })
            scalar = min(scalar, round { for _ in 0..<fills { scalarFill(&rng, reference) } })
        }
        FileHandle.standardError.write(Data(String(format: "normal_fill: %.1f ns per pair (vector: eight-wide with AVX-512, else four), %.1f ns (scalar glibc); same bits\n",
                                                   vector, scalar).utf8))

        for _ in 0..<warmup { rng.fillNormal(values, count: batch) }
        let m = Measurement.run { for _ in 0..<iters { rng.fillNormal(values, count: batch) } }
        var result = BenchResult(model: model.rawValue, threads: threads, iters: iters, batch: batch, measurement: m)
        result.extra = [("ns_per_pair", (vector * 10).rounded() / 10), ("scalar_ns_per_pair", (scalar * 10).rounded() / 10)]
        return result
    }
}
