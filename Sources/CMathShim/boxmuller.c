// Box-Muller pairs four at a time, bit-identical to the scalar transform with glibc's log and sincos.
//
// The stream is defined by the scalar transform (RNG.boxMuller): u1 = ((b1 >> 11) + 1) * 2^-53,
// u2 = (b2 >> 11) * 2^-53, r = sqrt(-2 log u1), theta = 2 pi u2, (float)(r cos theta),
// (float)(r sin theta), with glibc's log and sincos. Those two calls cost most of the time of a
// noise draw, and glibc has no vector form whose bits are guaranteed to equal them.
//
// So each lane computes r cos and r sin with vector polynomial approximations (fdlibm's log, sin
// and cos kernels, a few double ulps from the true values) and rounds to float only when the
// result is provably the float that glibc's path gives: every double within `tol` of the
// approximation must round to the same float, where `tol` = |z| 2^-40 + r 2^-44 bounds the
// distance to glibc's double by a factor of thousands (glibc's log, sin and cos are within one ulp
// of the true values; ours within a few, checked by BoxMullerTests). A lane that fails this test
// (about 1 in 30,000) is recomputed with the scalar glibc path. The result is therefore glibc's
// float for every input, whatever the vector width or instruction set the compiler chose.
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "CMathShim.h"

// The vector helpers are always inlined, even at -O0: a vector argument passed between the AVX2
// copy and a baseline helper would use two different ABIs (clang warns -Wpsabi; silenced here).
#pragma clang diagnostic ignored "-Wpsabi"

typedef double d4 __attribute__((ext_vector_type(4)));
typedef float f4 __attribute__((ext_vector_type(4)));
typedef float f8 __attribute__((ext_vector_type(8)));
typedef uint64_t u4 __attribute__((ext_vector_type(4)));
typedef int64_t i4 __attribute__((ext_vector_type(4)));

static inline __attribute__((always_inline)) d4 splat(double x) { return (d4){x, x, x, x}; }
static inline __attribute__((always_inline)) d4 as_d4(u4 v) { d4 d; memcpy(&d, &v, sizeof d); return d; }
static inline __attribute__((always_inline)) u4 as_u4(d4 v) { u4 u; memcpy(&u, &v, sizeof u); return u; }

/// n (0 <= n < 2^53 + 1) as a double, exactly: the high and low 32-bit halves through the 2^84 and
/// 2^52 exponent tricks (SSE2 and AVX2 have no 64-bit integer to double conversion).
static inline __attribute__((always_inline)) d4 u53_to_double(u4 n) {
    d4 hi = as_d4((n >> 32) | 0x4530000000000000ull) - splat(0x1p84 + 0x1p52);
    d4 lo = as_d4((n & 0xffffffffull) | 0x4330000000000000ull);
    return hi + lo;
}

/// log(x) for x in [2^-53, 1] (fdlibm's e_log.c, the branch-free formula): x = 2^k m with
/// m in [sqrt(2)/2, sqrt(2)), f = m - 1, s = f / (2 + f), log(1 + f) = f - s (f - R(s^2)).
/// Relative error a few ulps, exactly +0 at x = 1.
static inline __attribute__((always_inline)) d4 log4(d4 x) {
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    const double Lg1 = 6.666666666666735130e-01, Lg2 = 3.999999999940941908e-01,
                 Lg3 = 2.857142874366239149e-01, Lg4 = 2.222219843214978396e-01,
                 Lg5 = 1.818357216161805012e-01, Lg6 = 1.531383769920937332e-01,
                 Lg7 = 1.479819860511658591e-01;
    // bits - bits(sqrt(2)/2), offset by 2^10 exponent steps so the difference stays non-negative;
    // its exponent field is then k + 1024.
    u4 t = as_u4(x) - 0x3fe6a09e667f3bcdull + (0x400ull << 52);
    u4 e = t >> 52;                                            // k + 1024
    d4 m = as_d4(as_u4(x) - (e << 52) + (0x400ull << 52));
    d4 dk = as_d4(e | 0x4330000000000000ull) - splat(0x1p52 + 1024.0);
    d4 f = m - 1.0;
    d4 s = f / (2.0 + f);
    d4 z = s * s, w = z * z;
    d4 t1 = w * (Lg2 + w * (Lg4 + w * Lg6));
    d4 t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
    d4 R = t2 + t1;
    return dk * ln2_hi - ((s * (f - R) - dk * ln2_lo) - f);
}

/// sin and cos of theta in [0, 2 pi]: theta = k pi/2 + y with |y| <= pi/4 (Cody-Waite with
/// fdlibm's 33-bit pio2_1, exact for k <= 4), then fdlibm's kernels and the quadrant k mod 4.
static inline __attribute__((always_inline)) void sincos4(d4 theta, d4 *sine, d4 *cosine) {
    const double invpio2 = 6.36619772367581382433e-01;
    const double pio2_1 = 1.57079632673412561417e+00, pio2_1t = 6.07710050650619224932e-11;
    const double S1 = -1.66666666666666324348e-01, S2 = 8.33333333332248946124e-03,
                 S3 = -1.98412698298579493134e-04, S4 = 2.75573137070700676789e-06,
                 S5 = -2.50507602534068634195e-08, S6 = 1.58969099521155010221e-10;
    const double C1 = 4.16666666666666019037e-02, C2 = -1.38888888888741095749e-03,
                 C3 = 2.48015872894767294178e-05, C4 = -2.75573143513906633035e-07,
                 C5 = 2.08757232129817482790e-09, C6 = -1.13596475577881948265e-11;
    d4 shifted = theta * invpio2 + 0x1.8p52;                 // round to nearest integer k
    u4 k = as_u4(shifted) & 3;
    d4 kd = shifted - 0x1.8p52;
    d4 y = (theta - kd * pio2_1) - kd * pio2_1t;
    d4 z = y * y;
    d4 sr = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)));
    d4 sy = y + (z * y) * (S1 + z * sr);
    d4 cr = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))));
    d4 hz = 0.5 * z, w = 1.0 - hz;
    d4 cy = w + (((1.0 - w) - hz) + z * cr);
    i4 swap = (i4)((k & 1) != 0);                           // odd quadrant: sin <-> cos
    i4 negS = (i4)((k & 2) != 0);                           // quadrants 2, 3: sin negated
    i4 negC = (i4)(((k + 1) & 2) != 0);                     // quadrants 1, 2: cos negated
    d4 s = swap ? cy : sy, c = swap ? sy : cy;
    *sine = as_d4(as_u4(s) ^ ((u4)negS & 0x8000000000000000ull));
    *cosine = as_d4(as_u4(c) ^ ((u4)negC & 0x8000000000000000ull));
}

/// The scalar transform, with glibc: the definition the vector path must reproduce.
static void scalar_pair(uint64_t b1, uint64_t b2, float *out) {
    double u1 = (double)((b1 >> 11) + 1) * 0x1p-53;
    double u2 = (double)(b2 >> 11) * 0x1p-53;
    double r = sqrt(-2 * log(u1));
    double s, c;
    sincos(2 * M_PI * u2, &s, &c);
    out[0] = (float)(r * c);
    out[1] = (float)(r * s);
}

/// Lanes whose double z rounds to one float across [z - tol, z + tol] (and z != 0, whose sign
/// would depend on the last bits of log).
static inline __attribute__((always_inline)) i4 settled(d4 z, d4 r) {
    d4 az = as_d4(as_u4(z) & 0x7fffffffffffffffull);
    d4 tol = az * 0x1p-40 + r * 0x1p-44;
    f4 lo = __builtin_convertvector(z - tol, f4), hi = __builtin_convertvector(z + tol, f4);
    return __builtin_convertvector(lo == hi, i4) & (i4)(z != 0.0);
}

/// Four pairs: words[0..<8] -> out[0..<8].
static inline __attribute__((always_inline)) void four_pairs(const uint64_t *words, float *out) {
    u4 b1 = {words[0], words[2], words[4], words[6]};
    u4 b2 = {words[1], words[3], words[5], words[7]};
    d4 u1 = u53_to_double((b1 >> 11) + 1) * 0x1p-53;
    d4 u2 = u53_to_double(b2 >> 11) * 0x1p-53;
    d4 r = __builtin_elementwise_sqrt(-2.0 * log4(u1));
    d4 s, c;
    sincos4((2 * M_PI) * u2, &s, &c);
    d4 z0 = r * c, z1 = r * s;
    i4 ok = settled(z0, r) & settled(z1, r);
    f4 f0 = __builtin_convertvector(z0, f4), f1 = __builtin_convertvector(z1, f4);
    if (ok[0] & ok[1] & ok[2] & ok[3]) {
        f8 interleaved = __builtin_shufflevector(f0, f1, 0, 4, 1, 5, 2, 6, 3, 7);
        memcpy(out, &interleaved, sizeof interleaved);
        return;
    }
    for (int j = 0; j < 4; j++) {
        if (ok[j]) {
            out[2 * j] = f0[j];
            out[2 * j + 1] = f1[j];
        } else {
            scalar_pair(words[2 * j], words[2 * j + 1], out + 2 * j);
        }
    }
}

/// The loop over pairs, inlined into a baseline (SSE2) and an AVX2 + FMA copy below. FMA contracts
/// some of the polynomial steps in the second copy, which changes the approximation slightly but
/// not its error bound, so the floats stored are the same. The last 1-3 pairs go through a padded
/// copy (the padding repeats the first of them).
static inline __attribute__((always_inline)) void box_muller_loop(const uint64_t *words, size_t pairs, float *out) {
    size_t k = 0;
    for (; k + 4 <= pairs; k += 4) four_pairs(words + 2 * k, out + 2 * k);
    size_t rest = pairs - k;
    if (rest == 0) return;
    uint64_t w[8];
    float o[8];
    for (size_t j = 0; j < 4; j++) {
        size_t from = j < rest ? j : 0;
        w[2 * j] = words[2 * (k + from)];
        w[2 * j + 1] = words[2 * (k + from) + 1];
    }
    four_pairs(w, o);
    memcpy(out + 2 * k, o, 2 * rest * sizeof(float));
}

void gan_box_muller_baseline(const uint64_t *words, size_t pairs, float *out) {
    box_muller_loop(words, pairs, out);
}

__attribute__((target("avx2,fma")))
static void box_muller_avx2(const uint64_t *words, size_t pairs, float *out) {
    box_muller_loop(words, pairs, out);
}

void gan_box_muller(const uint64_t *words, size_t pairs, float *out) {
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        box_muller_avx2(words, pairs, out);
    } else {
        gan_box_muller_baseline(words, pairs, out);
    }
}

int gan_box_muller_settled(double z, double r) {
    return settled((d4)z, (d4)r)[0] != 0;
}

void gan_box_muller_approximations(const uint64_t *words, size_t pairs, double *logs, double *sines, double *cosines) {
    for (size_t k = 0; k < pairs; k++) {
        u4 b1 = words[2 * k], b2 = words[2 * k + 1];
        d4 s, c;
        d4 l = log4(u53_to_double((b1 >> 11) + 1) * 0x1p-53);
        sincos4((2 * M_PI) * (u53_to_double(b2 >> 11) * 0x1p-53), &s, &c);
        logs[k] = l[0];
        sines[k] = s[0];
        cosines[k] = c[0];
    }
}
