// tanhf over an array, sixteen lanes at a time, with glibc's bits.
//
// glibc 2.36's tanhf (sysdeps/ieee754/flt-32/s_tanhf.c) is fdlibm's: for 1 <= |x| < 22,
// 1 - 2 / (expm1f(2|x|) + 2); for |x| < 1, -t / (t + 2) with t = expm1f(-2|x|); 1 beyond 22. Its
// expm1f (s_expm1f.c) is fdlibm's too: a reduction by k ln2 (k = 0, +-1, or the truncation of
// x / ln2 +- 1/2), a degree-5 rational correction, and a reconstruction chosen by k. Every step is
// one float operation, so the same steps in vector registers (separate multiply and add
// intrinsics; nothing here may be contracted into an FMA, which glibc's baseline x86-64 build
// never uses) give the same bits. The lanes whose case the vector code does not take (|x| below
// 2^-20, NaN) go to glibc's tanhf one by one. Tests compare every lane with glibc's tanhf.
#include "CMathShim.h"
#include <math.h>

#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>

#define A512 __attribute__((target("avx512f"), always_inline)) static inline

A512 __m512 f(float v) { return _mm512_set1_ps(v); }
A512 __m512 add(__m512 a, __m512 b) { return _mm512_add_ps(a, b); }
A512 __m512 sub(__m512 a, __m512 b) { return _mm512_sub_ps(a, b); }
A512 __m512 mul(__m512 a, __m512 b) { return _mm512_mul_ps(a, b); }
A512 __m512 dv(__m512 a, __m512 b) { return _mm512_div_ps(a, b); }
/// y with k added to its exponent field (fdlibm's SET_FLOAT_WORD(y, i + (k << 23))).
A512 __m512 scale(__m512 y, __m512i k) {
    return _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(y), _mm512_slli_epi32(k, 23)));
}

/// expm1f(x) for 16 lanes of x with |x| in [2^-25, 44) (as tanhf calls it: x = +-2|t|), following
/// s_expm1f.c's branches as lane masks.
__attribute__((target("avx512f"))) static __m512 expm1_lanes(__m512 x) {
    const __m512 ln2_hi = f(6.9313812256e-01f), ln2_lo = f(9.0580006145e-06f), invln2 = f(1.4426950216e+00f);
    const __m512 Q1 = f(-3.3333335072e-02f), Q2 = f(1.5873016091e-03f), Q3 = f(-7.9365076090e-05f);
    const __m512 Q4 = f(4.0082177293e-06f), Q5 = f(-2.0109921195e-07f), one = f(1), half = f(0.5f);
    const __m512i bits = _mm512_castps_si512(x), absBits = _mm512_and_si512(bits, _mm512_set1_epi32(0x7fffffff));
    const __mmask16 negative = _mm512_cmplt_epi32_mask(bits, _mm512_setzero_si512());
    // |x| > 0.5 ln2: reduced by k ln2; k = +-1 below 1.5 ln2, else (int)(x / ln2 +- 0.5).
    const __mmask16 reduced = _mm512_cmpgt_epi32_mask(absBits, _mm512_set1_epi32(0x3eb17218));
    const __mmask16 small = _mm512_cmplt_epi32_mask(absBits, _mm512_set1_epi32(0x3F851592));
    __m512i k = _mm512_cvttps_epi32(add(mul(invln2, x), _mm512_mask_blend_ps(negative, half, f(-0.5f))));
    k = _mm512_mask_blend_epi32(small, k, _mm512_mask_blend_epi32(negative, _mm512_set1_epi32(1), _mm512_set1_epi32(-1)));
    k = _mm512_maskz_mov_epi32(reduced, k);
    const __m512 t = _mm512_cvtepi32_ps(k);
    // Below 1.5 ln2, hi = x -+ ln2_hi and lo = +-ln2_lo: the same values as t·ln2_hi, t·ln2_lo with
    // t = +-1 (a product by +-1 is exact).
    __m512 hi = sub(x, mul(t, ln2_hi)), lo = mul(t, ln2_lo);
    __m512 r = sub(hi, lo), c = sub(sub(hi, r), lo);
    r = _mm512_mask_blend_ps(reduced, x, r);
    c = _mm512_mask_blend_ps(reduced, _mm512_setzero_ps(), c);
    // x (now r) in the primary range.
    const __m512 hfx = mul(half, r), hxs = mul(r, hfx);
    const __m512 r1 = add(one, mul(hxs, add(Q1, mul(hxs, add(Q2, mul(hxs, add(Q3, mul(hxs, add(Q4, mul(hxs, Q5))))))))));
    const __m512 t3 = sub(f(3), mul(r1, hfx));
    __m512 e = mul(hxs, dv(sub(r1, t3), sub(f(6), mul(r, t3))));
    const __m512 k0 = sub(r, sub(mul(r, e), hxs));                       // k == 0
    e = sub(sub(mul(r, sub(e, c)), c), hxs);
    const __m512 kMinus1 = sub(mul(half, sub(r, e)), half);              // k == -1
    const __m512 kPlus1 = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(r, f(-0.25f), _CMP_LT_OQ),
                                               add(one, mul(f(2), sub(r, e))),
                                               mul(f(-2), sub(e, add(r, half))));  // k == 1
    const __m512 far = sub(scale(sub(one, sub(e, r)), k), one);          // k <= -2 or k > 56
    // 2 <= k < 23: t = 1 - 2^-k; 23 <= k <= 56: t = 2^-k.
    const __m512i oneBits = _mm512_set1_epi32(0x3f800000);
    const __m512 lowT = _mm512_castsi512_ps(_mm512_sub_epi32(oneBits, _mm512_srlv_epi32(_mm512_set1_epi32(0x1000000), k)));
    const __m512 low = scale(sub(lowT, sub(e, r)), k);
    const __m512 highT = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_sub_epi32(_mm512_set1_epi32(0x7f), k), 23));
    const __m512 high = scale(add(sub(r, add(e, highT)), one), k);
    __m512 y = _mm512_mask_blend_ps(_mm512_cmplt_epi32_mask(k, _mm512_set1_epi32(23)), high, low);
    y = _mm512_mask_blend_ps(_mm512_cmple_epi32_mask(k, _mm512_set1_epi32(-2)) | _mm512_cmpgt_epi32_mask(k, _mm512_set1_epi32(56)),
                             y, far);
    y = _mm512_mask_blend_ps(_mm512_cmpeq_epi32_mask(k, _mm512_set1_epi32(1)), y, kPlus1);
    y = _mm512_mask_blend_ps(_mm512_cmpeq_epi32_mask(k, _mm512_set1_epi32(-1)), y, kMinus1);
    y = _mm512_mask_blend_ps(_mm512_cmpeq_epi32_mask(k, _mm512_setzero_si512()), y, k0);
    return y;
}

/// tanhf of 16 lanes; lanes set in *fallback are left for glibc.
__attribute__((target("avx512f"))) static __m512 tanh_lanes(__m512 x, __mmask16 *fallback) {
    const __m512i absBits = _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(0x7fffffff));
    const __m512 ax = _mm512_castsi512_ps(absBits), one = f(1), two = f(2);
    // NaN, and |x| < 2^-20 (tanhf's and expm1f's cases for tiny arguments), are glibc's.
    *fallback = _mm512_cmpgt_epi32_mask(absBits, _mm512_set1_epi32(0x7f800000))
              | _mm512_cmplt_epi32_mask(absBits, _mm512_set1_epi32(0x35800000));
    const __mmask16 big = _mm512_cmpge_epi32_mask(absBits, _mm512_set1_epi32(0x3f800000));     // |x| >= 1
    const __mmask16 huge = _mm512_cmpge_epi32_mask(absBits, _mm512_set1_epi32(0x41b00000));    // |x| >= 22
    const __m512 twoAx = mul(two, ax);
    const __m512 t = expm1_lanes(_mm512_mask_blend_ps(big, sub(_mm512_setzero_ps(), twoAx), twoAx));
    const __m512 zBig = sub(one, dv(two, add(t, two)));
    const __m512 zSmall = dv(sub(_mm512_setzero_ps(), t), add(t, two));
    __m512 z = _mm512_mask_blend_ps(big, zSmall, zBig);
    z = _mm512_mask_blend_ps(huge, z, one);   // one - tiny rounds to 1
    // The sign of x (tanhf returns -z for negative x).
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(z),
                                               _mm512_andnot_si512(_mm512_set1_epi32(0x7fffffff), _mm512_castps_si512(x))));
}

__attribute__((target("avx512f"))) static void tanh_avx512(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        const __mmask16 live = n - i >= 16 ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __mmask16 fallback;
        const __m512 v = _mm512_maskz_loadu_ps(live, x + i);
        _mm512_mask_storeu_ps(y + i, live, tanh_lanes(v, &fallback));
        fallback &= live;
        while (fallback) {
            const int l = __builtin_ctz(fallback);
            fallback &= fallback - 1;
            y[i + l] = tanhf(x[i + l]);
        }
    }
}

static int tanh_vector_available(void) {
    static int s = -1;
    if (s < 0) s = __builtin_cpu_supports("avx512f") ? 1 : 0;
    return s;
}
#endif

void gan_tanhf(const float *x, float *y, size_t n) {
#if defined(__x86_64__)
    if (tanh_vector_available()) return tanh_avx512(x, y, n);
#endif
    for (size_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
}
