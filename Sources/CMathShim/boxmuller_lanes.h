// The vector Box-Muller of boxmuller.c for one vector width: included once per width with LANES
// defined (4: SSE2 / AVX2 registers of doubles, 8: AVX-512), and EVENS, ODDS and INTERLEAVE the
// shuffle indices of that width. Every name it defines ends in the width (log4, sincos8, ...).
// Each lane does the same arithmetic whatever the width, and the floats it stores are glibc's in
// any case (the rounding check in settled): the widths give the same bits.

#define BM_CAT_(a, b) a##b
#define BM_CAT(a, b) BM_CAT_(a, b)
#define W(name) BM_CAT(name, LANES)

typedef double W(d) __attribute__((ext_vector_type(LANES)));
typedef float W(f) __attribute__((ext_vector_type(LANES)));
typedef float W(fpairs) __attribute__((ext_vector_type(2 * LANES)));
typedef uint64_t W(u) __attribute__((ext_vector_type(LANES)));
typedef int64_t W(i) __attribute__((ext_vector_type(LANES)));
#define DV W(d)
#define FV W(f)
#define UV W(u)
#define IV W(i)

static inline __attribute__((always_inline)) DV W(as_d)(UV v) { DV d; memcpy(&d, &v, sizeof d); return d; }
static inline __attribute__((always_inline)) UV W(as_u)(DV v) { UV u; memcpy(&u, &v, sizeof u); return u; }

/// n (0 <= n < 2^53 + 1) as a double, exactly: the high and low 32-bit halves through the 2^84 and
/// 2^52 exponent tricks (SSE2 and AVX2 have no 64-bit integer to double conversion).
static inline __attribute__((always_inline)) DV W(u53_to_double)(UV n) {
    DV hi = W(as_d)((n >> 32) | 0x4530000000000000ull) - (DV)(0x1p84 + 0x1p52);
    DV lo = W(as_d)((n & 0xffffffffull) | 0x4330000000000000ull);
    return hi + lo;
}

/// log(x) for x in [2^-53, 1] (fdlibm's e_log.c, the branch-free formula): x = 2^k m with
/// m in [sqrt(2)/2, sqrt(2)), f = m - 1, s = f / (2 + f), log(1 + f) = f - s (f - R(s^2)).
/// Relative error a few ulps, exactly +0 at x = 1.
static inline __attribute__((always_inline)) DV W(log)(DV x) {
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    const double Lg1 = 6.666666666666735130e-01, Lg2 = 3.999999999940941908e-01,
                 Lg3 = 2.857142874366239149e-01, Lg4 = 2.222219843214978396e-01,
                 Lg5 = 1.818357216161805012e-01, Lg6 = 1.531383769920937332e-01,
                 Lg7 = 1.479819860511658591e-01;
    // bits - bits(sqrt(2)/2), offset by 2^10 exponent steps so the difference stays non-negative;
    // its exponent field is then k + 1024.
    UV t = W(as_u)(x) - 0x3fe6a09e667f3bcdull + (0x400ull << 52);
    UV e = t >> 52;                                            // k + 1024
    DV m = W(as_d)(W(as_u)(x) - (e << 52) + (0x400ull << 52));
    DV dk = W(as_d)(e | 0x4330000000000000ull) - (DV)(0x1p52 + 1024.0);
    DV f = m - 1.0;
    DV s = f / (2.0 + f);
    DV z = s * s, w = z * z;
    DV t1 = w * (Lg2 + w * (Lg4 + w * Lg6));
    DV t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
    DV R = t2 + t1;
    return dk * ln2_hi - ((s * (f - R) - dk * ln2_lo) - f);
}

/// sin and cos of theta in [0, 2 pi]: theta = k pi/2 + y with |y| <= pi/4 (Cody-Waite with
/// fdlibm's 33-bit pio2_1, exact for k <= 4), then fdlibm's kernels and the quadrant k mod 4.
static inline __attribute__((always_inline)) void W(sincos)(DV theta, DV *sine, DV *cosine) {
    const double invpio2 = 6.36619772367581382433e-01;
    const double pio2_1 = 1.57079632673412561417e+00, pio2_1t = 6.07710050650619224932e-11;
    const double S1 = -1.66666666666666324348e-01, S2 = 8.33333333332248946124e-03,
                 S3 = -1.98412698298579493134e-04, S4 = 2.75573137070700676789e-06,
                 S5 = -2.50507602534068634195e-08, S6 = 1.58969099521155010221e-10;
    const double C1 = 4.16666666666666019037e-02, C2 = -1.38888888888741095749e-03,
                 C3 = 2.48015872894767294178e-05, C4 = -2.75573143513906633035e-07,
                 C5 = 2.08757232129817482790e-09, C6 = -1.13596475577881948265e-11;
    DV shifted = theta * invpio2 + 0x1.8p52;                 // round to nearest integer k
    UV k = W(as_u)(shifted) & 3;
    DV kd = shifted - 0x1.8p52;
    DV y = (theta - kd * pio2_1) - kd * pio2_1t;
    DV z = y * y;
    DV sr = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)));
    DV sy = y + (z * y) * (S1 + z * sr);
    DV cr = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))));
    DV hz = 0.5 * z, w = 1.0 - hz;
    DV cy = w + (((1.0 - w) - hz) + z * cr);
    IV swap = (IV)((k & 1) != 0);                           // odd quadrant: sin <-> cos
    IV negS = (IV)((k & 2) != 0);                           // quadrants 2, 3: sin negated
    IV negC = (IV)(((k + 1) & 2) != 0);                     // quadrants 1, 2: cos negated
    DV s = swap ? cy : sy, c = swap ? sy : cy;
    *sine = W(as_d)(W(as_u)(s) ^ ((UV)negS & 0x8000000000000000ull));
    *cosine = W(as_d)(W(as_u)(c) ^ ((UV)negC & 0x8000000000000000ull));
}

/// Lanes whose double z rounds to one float across [z - tol, z + tol] (and z != 0, whose sign
/// would depend on the last bits of log).
static inline __attribute__((always_inline)) IV W(settled)(DV z, DV r) {
    DV az = W(as_d)(W(as_u)(z) & 0x7fffffffffffffffull);
    DV tol = az * 0x1p-40 + r * 0x1p-44;
    FV lo = __builtin_convertvector(z - tol, FV), hi = __builtin_convertvector(z + tol, FV);
    return __builtin_convertvector(lo == hi, IV) & (IV)(z != 0.0);
}

/// LANES pairs: words[0..<2 LANES] -> out[0..<2 LANES].
static inline __attribute__((always_inline)) void W(pairs)(const uint64_t *words, float *out) {
    UV first, second;
    memcpy(&first, words, sizeof first);
    memcpy(&second, words + LANES, sizeof second);
    UV b1 = __builtin_shufflevector(first, second, EVENS);
    UV b2 = __builtin_shufflevector(first, second, ODDS);
    DV u1 = W(u53_to_double)((b1 >> 11) + 1) * 0x1p-53;
    DV u2 = W(u53_to_double)(b2 >> 11) * 0x1p-53;
    DV r = __builtin_elementwise_sqrt(-2.0 * W(log)(u1));
    DV s, c;
    W(sincos)((2 * M_PI) * u2, &s, &c);
    DV z0 = r * c, z1 = r * s;
    IV ok = W(settled)(z0, r) & W(settled)(z1, r);
    FV f0 = __builtin_convertvector(z0, FV), f1 = __builtin_convertvector(z1, FV);
    if (__builtin_reduce_and(ok)) {
        W(fpairs) interleaved = __builtin_shufflevector(f0, f1, INTERLEAVE);
        memcpy(out, &interleaved, sizeof interleaved);
        return;
    }
    for (int j = 0; j < LANES; j++) {
        if (ok[j]) {
            out[2 * j] = f0[j];
            out[2 * j + 1] = f1[j];
        } else {
            scalar_pair(words[2 * j], words[2 * j + 1], out + 2 * j);
        }
    }
}

/// The last 1 to LANES pairs, through a padded copy (the padding repeats the first of them).
static inline __attribute__((always_inline)) void W(padded_pairs)(const uint64_t *words, size_t rest, float *out) {
    uint64_t w[2 * LANES];
    float o[2 * LANES];
    for (size_t j = 0; j < LANES; j++) {
        size_t from = j < rest ? j : 0;
        w[2 * j] = words[2 * from];
        w[2 * j + 1] = words[2 * from + 1];
    }
    W(pairs)(w, o);
    memcpy(out, o, 2 * rest * sizeof(float));
}

#undef DV
#undef FV
#undef UV
#undef IV
#undef W
#undef BM_CAT
#undef BM_CAT_
