// Box-Muller pairs four or eight at a time, bit-identical to the scalar transform with glibc's log and sincos.
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

#define LANES 4
#define EVENS 0, 2, 4, 6
#define ODDS 1, 3, 5, 7
#define INTERLEAVE 0, 4, 1, 5, 2, 6, 3, 7
#include "boxmuller_lanes.h"
#undef LANES
#undef EVENS
#undef ODDS
#undef INTERLEAVE

#define LANES 8
#define EVENS 0, 2, 4, 6, 8, 10, 12, 14
#define ODDS 1, 3, 5, 7, 9, 11, 13, 15
#define INTERLEAVE 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15
#include "boxmuller_lanes.h"
#undef LANES
#undef EVENS
#undef ODDS
#undef INTERLEAVE

/// The loop over pairs, four at a time, inlined into a baseline (SSE2) and an AVX2 + FMA copy
/// below. FMA contracts some of the polynomial steps in the second copy, which changes the
/// approximation slightly but not its error bound, so the floats stored are the same. The last
/// 1-3 pairs go through a padded copy.
static inline __attribute__((always_inline)) void box_muller_loop(const uint64_t *words, size_t pairs, float *out) {
    size_t k = 0;
    for (; k + 4 <= pairs; k += 4) pairs4(words + 2 * k, out + 2 * k);
    if (k < pairs) padded_pairs4(words + 2 * k, pairs - k, out + 2 * k);
}

void gan_box_muller_baseline(const uint64_t *words, size_t pairs, float *out) {
    box_muller_loop(words, pairs, out);
}

__attribute__((target("avx2,fma")))
static void box_muller_avx2(const uint64_t *words, size_t pairs, float *out) {
    box_muller_loop(words, pairs, out);
}

/// Eight pairs at a time in 512-bit registers (FMA contracts as in the AVX2 copy: same floats);
/// a last 5-7 pairs padded to eight, 1-4 padded to four.
__attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma")))
static void box_muller_avx512(const uint64_t *words, size_t pairs, float *out) {
    size_t k = 0;
    for (; k + 8 <= pairs; k += 8) pairs8(words + 2 * k, out + 2 * k);
    size_t rest = pairs - k;
    if (rest > 4) {
        padded_pairs8(words + 2 * k, rest, out + 2 * k);
    } else if (rest > 0) {
        padded_pairs4(words + 2 * k, rest, out + 2 * k);
    }
}

static int has_avx512(void) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
}

static int has_avx2(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

void gan_box_muller(const uint64_t *words, size_t pairs, float *out) {
    if (has_avx512()) {
        box_muller_avx512(words, pairs, out);
    } else if (has_avx2()) {
        box_muller_avx2(words, pairs, out);
    } else {
        gan_box_muller_baseline(words, pairs, out);
    }
}

int gan_box_muller_copy(int copy, const uint64_t *words, size_t pairs, float *out) {
    switch (copy) {
    case 0: gan_box_muller_baseline(words, pairs, out); return 1;
    case 1: if (!has_avx2()) return 0; box_muller_avx2(words, pairs, out); return 1;
    case 2: if (!has_avx512()) return 0; box_muller_avx512(words, pairs, out); return 1;
    default: return 0;
    }
}

int gan_box_muller_settled(double z, double r) {
    return settled4((d4)z, (d4)r)[0] != 0;
}

void gan_box_muller_approximations(const uint64_t *words, size_t pairs, double *logs, double *sines, double *cosines) {
    for (size_t k = 0; k < pairs; k++) {
        u4 b1 = words[2 * k], b2 = words[2 * k + 1];
        d4 s, c;
        d4 l = log4(u53_to_double4((b1 >> 11) + 1) * 0x1p-53);
        sincos4((2 * M_PI) * (u53_to_double4(b2 >> 11) * 0x1p-53), &s, &c);
        logs[k] = l[0];
        sines[k] = s[0];
        cosines[k] = c[0];
    }
}
