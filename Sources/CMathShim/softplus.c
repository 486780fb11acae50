// `Loss.sigmoidCrossEntropy`'s pass over the logits with AVX-512 (`gan_sigmoid_cross_entropy`):
// sixteen logits at a time through `Kernels.exp` / `Kernels.log1pUnit` / `Kernels.softplusTerms`
// (the same operations in the same order: the same floats), each logit's Double loss term formed
// eight lanes at a time, and only the two Double sums left in order, one add each per logit.
// No FMA contraction anywhere in this file.

#include "CMathShim.h"

#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>

#define INL static inline __attribute__((target("avx512f"), always_inline))

/// The upper eight floats of v (AVX-512 F only).
INL __m256 high8(__m512 v) { return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)); }

/// `Kernels.exp` (t clamped to [-87.33, 88.37626]).
INL __m512 exp16(__m512 x) {
    __m512 t = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.33f), _CMP_LT_OQ), x, _mm512_set1_ps(-87.33f));
    t = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(t, _mm512_set1_ps(88.37626f), _CMP_GT_OQ), t, _mm512_set1_ps(88.37626f));
    __m512 shifted = _mm512_add_ps(_mm512_mul_ps(t, _mm512_set1_ps(1.442695040888963f)), _mm512_set1_ps(12582912.0f));
    __m512 n = _mm512_sub_ps(shifted, _mm512_set1_ps(12582912.0f));
    __m512 r = _mm512_add_ps(_mm512_sub_ps(t, _mm512_mul_ps(n, _mm512_set1_ps(0.693359375f))),
                             _mm512_mul_ps(n, _mm512_set1_ps(2.12194440e-4f)));
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(5.0000001201e-1f));
    __m512 er = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(p, _mm512_mul_ps(r, r)), r), _mm512_set1_ps(1.0f));
    __m512i nBits = _mm512_sub_epi32(_mm512_castps_si512(shifted), _mm512_set1_epi32(0x4B400000));
    __m512 scale = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(nBits, _mm512_set1_epi32(127)), 23));
    return _mm512_mul_ps(er, scale);
}

/// `Kernels.log1pUnit` (e in [0, 1]).
INL __m512 log1p_unit16(__m512 e) {
    __mmask16 high = _mm512_cmp_ps_mask(e, _mm512_set1_ps(0.41421356f), _CMP_GT_OQ);
    __m512 x = _mm512_mask_blend_ps(high, e, _mm512_mul_ps(_mm512_sub_ps(e, _mm512_set1_ps(1.0f)), _mm512_set1_ps(0.5f)));
    __m512 z = _mm512_mul_ps(x, x);
    __m512 p = _mm512_set1_ps(7.0376836292e-2f);
    p = _mm512_sub_ps(_mm512_mul_ps(p, x), _mm512_set1_ps(1.1514610310e-1f));
    p = _mm512_add_ps(_mm512_mul_ps(p, x), _mm512_set1_ps(1.1676998740e-1f));
    p = _mm512_sub_ps(_mm512_mul_ps(p, x), _mm512_set1_ps(1.2420140846e-1f));
    p = _mm512_add_ps(_mm512_mul_ps(p, x), _mm512_set1_ps(1.4249322787e-1f));
    p = _mm512_sub_ps(_mm512_mul_ps(p, x), _mm512_set1_ps(1.6668057665e-1f));
    p = _mm512_add_ps(_mm512_mul_ps(p, x), _mm512_set1_ps(2.0000714765e-1f));
    p = _mm512_sub_ps(_mm512_mul_ps(p, x), _mm512_set1_ps(2.4999993993e-1f));
    p = _mm512_add_ps(_mm512_mul_ps(p, x), _mm512_set1_ps(3.3333331174e-1f));
    __m512 y = _mm512_mul_ps(_mm512_mul_ps(p, x), z);
    y = _mm512_mask_blend_ps(high, y, _mm512_sub_ps(y, _mm512_set1_ps(2.12194440e-4f)));
    y = _mm512_sub_ps(y, _mm512_mul_ps(_mm512_set1_ps(0.5f), z));
    __m512 r = _mm512_add_ps(x, y);
    return _mm512_mask_blend_ps(high, r, _mm512_add_ps(r, _mm512_set1_ps(0.693359375f)));
}

__attribute__((target("avx512f")))
void gan_sigmoid_cross_entropy(const float *l, long n, float target, float scale, float *g, double *loss, double *probability) {
    const double t = target;
    double s = 0, p = 0;
    double terms[16] __attribute__((aligned(64))), probs[16] __attribute__((aligned(64)));
    for (long i = 0; i < n; i += 16) {
        long c = n - i < 16 ? n - i : 16;
        __mmask16 m = (__mmask16)(c == 16 ? 0xFFFF : (1u << c) - 1);
        __m512 v = _mm512_maskz_loadu_ps(m, l + i);
        __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        // Kernels.softplusTerms: e = exp(-|v|), tail = log1p(e), sigmoid = v >= 0 ? 1/(1+e) : e/(1+e).
        __m512 negAbs = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(v), _mm512_set1_epi32((int)0x80000000)));
        __m512 e = exp16(negAbs);
        __m512 tail = _mm512_mask_blend_ps(nan, log1p_unit16(e), v);
        __m512 inv = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
        __m512 sg = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GE_OQ), _mm512_mul_ps(e, inv), inv);
        sg = _mm512_mask_blend_ps(nan, sg, v);
        // g = (σ - target) · scale
        _mm512_mask_storeu_ps(g + i, m, _mm512_mul_ps(_mm512_sub_ps(sg, _mm512_set1_ps(target)), _mm512_set1_ps(scale)));
        // Double(max(v, 0)) + Double(tail) - t · Double(v), max(v, 0) being 0 >= v ? 0 : v.
        __m512 pos = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(_mm512_setzero_ps(), v, _CMP_GE_OQ), v, _mm512_setzero_ps());
        for (int h = 0; h < 2; h++) {
            __m256 ph = h ? high8(pos) : _mm512_castps512_ps256(pos);
            __m256 th = h ? high8(tail) : _mm512_castps512_ps256(tail);
            __m256 vh = h ? high8(v) : _mm512_castps512_ps256(v);
            __m256 sh = h ? high8(sg) : _mm512_castps512_ps256(sg);
            __m512d term = _mm512_sub_pd(_mm512_add_pd(_mm512_cvtps_pd(ph), _mm512_cvtps_pd(th)),
                                         _mm512_mul_pd(_mm512_set1_pd(t), _mm512_cvtps_pd(vh)));
            _mm512_store_pd(terms + 8 * h, term);
            _mm512_store_pd(probs + 8 * h, _mm512_cvtps_pd(sh));
        }
        for (long j = 0; j < c; j++) {
            s = s + terms[j];
            p = p + probs[j];
        }
    }
    *loss = s;
    *probability = p;
}

#else
void gan_sigmoid_cross_entropy(const float *l, long n, float target, float scale, float *g, double *loss, double *probability) {}
#endif
