// Sixteen float lanes for the kernels written once for two instruction sets (smallmlp.c,
// softplus.c): one __m512 and a __mmask16 per compare by default, two __m256 and compare results
// as lane masks where SIMD16_AVX2 is defined (smallmlp_avx2.c, softplus_avx2.c include those
// files again that way). Every operation does in each lane what the AVX-512 instruction does, so
// a kernel written with them has the same bits in both copies. The AVX2 copy is compiled for
// "avx2" without "fma", and its products and sums are separate instructions anyway: nothing can
// contract. SIMD16_NAME(f) names a copy's entry point (f_avx512, f_avx2); `T16` marks a function
// of the copy, `INL` a helper always inlined into it.

#include <immintrin.h>

#ifdef SIMD16_AVX2
#define SIMD16_TARGET "avx2"
#define SIMD16_NAME(f) f##_avx2
#else
#define SIMD16_TARGET "avx512f"
#define SIMD16_NAME(f) f##_avx512
#endif
#define T16 __attribute__((target(SIMD16_TARGET)))
#define INL static inline __attribute__((target(SIMD16_TARGET), always_inline))

#ifndef SIMD16_AVX2

typedef __m512 v16;
typedef __mmask16 m16;
typedef struct { __m512d lo, hi; } v16d;   // sixteen doubles

INL v16 v_zero(void) { return _mm512_setzero_ps(); }
INL v16 v_set1(float x) { return _mm512_set1_ps(x); }
INL v16 v_add(v16 a, v16 b) { return _mm512_add_ps(a, b); }
INL v16 v_sub(v16 a, v16 b) { return _mm512_sub_ps(a, b); }
INL v16 v_mul(v16 a, v16 b) { return _mm512_mul_ps(a, b); }
INL v16 v_div(v16 a, v16 b) { return _mm512_div_ps(a, b); }
INL v16 v_load(const float *p) { return _mm512_load_ps(p); }   // p 64-byte aligned
INL void v_store(float *p, v16 v) { _mm512_store_ps(p, v); }
INL void v_storeu(float *p, v16 v) { _mm512_storeu_ps(p, v); }

/// Lanes 0..<n (n <= 16).
INL m16 m_first(int n) { return (m16)((1u << n) - 1); }
INL m16 m_not(m16 m) { return (m16)~m; }
/// The lanes of m from p, the others 0 (and not read).
INL v16 v_maskz_loadu(m16 m, const float *p) { return _mm512_maskz_loadu_ps(m, p); }
INL void v_mask_storeu(float *p, m16 m, v16 v) { _mm512_mask_storeu_ps(p, m, v); }
/// The lanes where `a pred b` (an _CMP_ predicate).
#define V_CMP(a, b, pred) _mm512_cmp_ps_mask(a, b, pred)
/// m ? v : +0.
INL v16 v_maskz(m16 m, v16 v) { return _mm512_maskz_mov_ps(m, v); }
/// m ? a·b : src.
INL v16 v_mask_mul(v16 src, m16 m, v16 a, v16 b) { return _mm512_mask_mul_ps(src, m, a, b); }
/// m ? b : a.
INL v16 v_blend(m16 m, v16 a, v16 b) { return _mm512_mask_blend_ps(m, a, b); }
/// Lane 0 in every lane.
INL v16 v_broadcast0(v16 v) { return _mm512_broadcastss_ps(_mm512_castps512_ps128(v)); }
/// Lane j = p[j·stride] for the lanes j of m, 0 elsewhere.
INL v16 v_gather(const float *p, int stride, m16 m) {
    __m512i at = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                    _mm512_set1_epi32(stride));
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, at, p, 4);
}
/// -|v| (the sign bit set).
INL v16 v_neg_abs(v16 v) { return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(v), _mm512_set1_epi32((int)0x80000000))); }
/// 2^n for the float s = n + 1.5·2^23 (n in its low mantissa bits).
INL v16 v_pow2_shifted(v16 s) {
    __m512i n = _mm512_sub_epi32(_mm512_castps_si512(s), _mm512_set1_epi32(0x4B400000));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n, _mm512_set1_epi32(127)), 23));
}

/// c[p] lane r = m[r][p] for the 16 rows of 16 floats at m (64-byte aligned).
INL void v_transpose16(const float *m, v16 c[16]) {
    __m512 t[16], u[16];
    for (int i = 0; i < 16; i++) t[i] = _mm512_load_ps(m + 16 * i);
    for (int i = 0; i < 16; i += 2) {
        u[i] = _mm512_unpacklo_ps(t[i], t[i + 1]);
        u[i + 1] = _mm512_unpackhi_ps(t[i], t[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        t[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(u[i]), _mm512_castps_pd(u[i + 2])));
        t[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(u[i]), _mm512_castps_pd(u[i + 2])));
        t[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(u[i + 1]), _mm512_castps_pd(u[i + 3])));
        t[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(u[i + 1]), _mm512_castps_pd(u[i + 3])));
    }
    // t[4g + k] holds, in 128-bit lane q, elements 4q + {k, ...} of rows 4g..4g+3 (k = 0, 1, 2, 3 for
    // columns 4q + 0, 4q + 1, 4q + 2, 4q + 3 after the first two steps).
    for (int k = 0; k < 4; k++) {
        __m512 a = _mm512_shuffle_f32x4(t[k], t[4 + k], 0x88), b = _mm512_shuffle_f32x4(t[k], t[4 + k], 0xDD);
        __m512 c2 = _mm512_shuffle_f32x4(t[8 + k], t[12 + k], 0x88), d = _mm512_shuffle_f32x4(t[8 + k], t[12 + k], 0xDD);
        c[k] = _mm512_shuffle_f32x4(a, c2, 0x88);
        c[8 + k] = _mm512_shuffle_f32x4(a, c2, 0xDD);
        c[4 + k] = _mm512_shuffle_f32x4(b, d, 0x88);
        c[12 + k] = _mm512_shuffle_f32x4(b, d, 0xDD);
    }
}

/// The lanes as doubles (exact).
INL v16d vd_from(v16 v) {
    __m256 high = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    return (v16d){_mm512_cvtps_pd(_mm512_castps512_ps256(v)), _mm512_cvtps_pd(high)};
}
INL v16d vd_set1(double x) { return (v16d){_mm512_set1_pd(x), _mm512_set1_pd(x)}; }
INL v16d vd_add(v16d a, v16d b) { return (v16d){_mm512_add_pd(a.lo, b.lo), _mm512_add_pd(a.hi, b.hi)}; }
INL v16d vd_sub(v16d a, v16d b) { return (v16d){_mm512_sub_pd(a.lo, b.lo), _mm512_sub_pd(a.hi, b.hi)}; }
INL v16d vd_mul(v16d a, v16d b) { return (v16d){_mm512_mul_pd(a.lo, b.lo), _mm512_mul_pd(a.hi, b.hi)}; }
INL void vd_store(double *p, v16d v) { _mm512_store_pd(p, v.lo); _mm512_store_pd(p + 8, v.hi); }   // p 64-byte aligned

#else   // SIMD16_AVX2: lanes 0..7 in lo, 8..15 in hi; a mask lane is all ones or all zeros.

typedef struct { __m256 lo, hi; } v16;
typedef v16 m16;
typedef struct { __m256d q[4]; } v16d;

INL v16 v_zero(void) { return (v16){_mm256_setzero_ps(), _mm256_setzero_ps()}; }
INL v16 v_set1(float x) { return (v16){_mm256_set1_ps(x), _mm256_set1_ps(x)}; }
INL v16 v_add(v16 a, v16 b) { return (v16){_mm256_add_ps(a.lo, b.lo), _mm256_add_ps(a.hi, b.hi)}; }
INL v16 v_sub(v16 a, v16 b) { return (v16){_mm256_sub_ps(a.lo, b.lo), _mm256_sub_ps(a.hi, b.hi)}; }
INL v16 v_mul(v16 a, v16 b) { return (v16){_mm256_mul_ps(a.lo, b.lo), _mm256_mul_ps(a.hi, b.hi)}; }
INL v16 v_div(v16 a, v16 b) { return (v16){_mm256_div_ps(a.lo, b.lo), _mm256_div_ps(a.hi, b.hi)}; }
INL v16 v_load(const float *p) { return (v16){_mm256_load_ps(p), _mm256_load_ps(p + 8)}; }
INL void v_store(float *p, v16 v) { _mm256_store_ps(p, v.lo); _mm256_store_ps(p + 8, v.hi); }
INL void v_storeu(float *p, v16 v) { _mm256_storeu_ps(p, v.lo); _mm256_storeu_ps(p + 8, v.hi); }

INL m16 m_first(int n) {
    __m256i count = _mm256_set1_epi32(n);
    return (m16){_mm256_castsi256_ps(_mm256_cmpgt_epi32(count, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))),
                 _mm256_castsi256_ps(_mm256_cmpgt_epi32(count, _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15)))};
}
INL m16 m_not(m16 m) {
    __m256 ones = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    return (m16){_mm256_xor_ps(m.lo, ones), _mm256_xor_ps(m.hi, ones)};
}
INL v16 v_maskz_loadu(m16 m, const float *p) {
    return (v16){_mm256_maskload_ps(p, _mm256_castps_si256(m.lo)), _mm256_maskload_ps(p + 8, _mm256_castps_si256(m.hi))};
}
INL void v_mask_storeu(float *p, m16 m, v16 v) {
    _mm256_maskstore_ps(p, _mm256_castps_si256(m.lo), v.lo);
    _mm256_maskstore_ps(p + 8, _mm256_castps_si256(m.hi), v.hi);
}
#define V_CMP(a, b, pred) ({ v16 a_ = (a), b_ = (b); (m16){_mm256_cmp_ps(a_.lo, b_.lo, pred), _mm256_cmp_ps(a_.hi, b_.hi, pred)}; })
INL v16 v_maskz(m16 m, v16 v) { return (v16){_mm256_and_ps(m.lo, v.lo), _mm256_and_ps(m.hi, v.hi)}; }
INL v16 v_mask_mul(v16 src, m16 m, v16 a, v16 b) {
    return (v16){_mm256_blendv_ps(src.lo, _mm256_mul_ps(a.lo, b.lo), m.lo), _mm256_blendv_ps(src.hi, _mm256_mul_ps(a.hi, b.hi), m.hi)};
}
INL v16 v_blend(m16 m, v16 a, v16 b) { return (v16){_mm256_blendv_ps(a.lo, b.lo, m.lo), _mm256_blendv_ps(a.hi, b.hi, m.hi)}; }
INL v16 v_broadcast0(v16 v) {
    __m256 x = _mm256_broadcastss_ps(_mm256_castps256_ps128(v.lo));
    return (v16){x, x};
}
INL v16 v_gather(const float *p, int stride, m16 m) {
    __m256i at = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(stride));
    return (v16){_mm256_mask_i32gather_ps(_mm256_setzero_ps(), p, at, m.lo, 4),
                 _mm256_mask_i32gather_ps(_mm256_setzero_ps(), p + 8 * stride, at, m.hi, 4)};
}
INL v16 v_neg_abs(v16 v) {
    __m256 sign = _mm256_set1_ps(-0.0f);
    return (v16){_mm256_or_ps(v.lo, sign), _mm256_or_ps(v.hi, sign)};
}
INL __m256 pow2_shifted8(__m256 s) {
    __m256i n = _mm256_sub_epi32(_mm256_castps_si256(s), _mm256_set1_epi32(0x4B400000));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
}
INL v16 v_pow2_shifted(v16 s) { return (v16){pow2_shifted8(s.lo), pow2_shifted8(s.hi)}; }

/// out[p] lane r = m[r·16 + p] for the 8 x 8 block at m (rows 16 floats apart, 32-byte aligned).
INL void transpose8(const float *m, __m256 out[8]) {
    __m256 t[8], s[8];
    for (int i = 0; i < 8; i += 2) {
        __m256 a = _mm256_load_ps(m + 16 * i), b = _mm256_load_ps(m + 16 * (i + 1));
        t[i] = _mm256_unpacklo_ps(a, b);       // per 128-bit half: a0 b0 a1 b1
        t[i + 1] = _mm256_unpackhi_ps(a, b);   // a2 b2 a3 b3
    }
    for (int g = 0; g < 8; g += 4)             // s[g + c]: column c of rows g..g+3, then column c + 4
        for (int k = 0; k < 2; k++) {
            s[g + 2 * k] = _mm256_shuffle_ps(t[g + k], t[g + 2 + k], 0x44);
            s[g + 2 * k + 1] = _mm256_shuffle_ps(t[g + k], t[g + 2 + k], 0xEE);
        }
    for (int p = 0; p < 4; p++) {
        out[p] = _mm256_permute2f128_ps(s[p], s[4 + p], 0x20);
        out[4 + p] = _mm256_permute2f128_ps(s[p], s[4 + p], 0x31);
    }
}

INL void v_transpose16(const float *m, v16 c[16]) {
    __m256 block[8];
    for (int rows = 0; rows < 2; rows++)
        for (int columns = 0; columns < 2; columns++) {
            transpose8(m + 128 * rows + 8 * columns, block);
            for (int p = 0; p < 8; p++) {
                if (rows) c[8 * columns + p].hi = block[p];
                else c[8 * columns + p].lo = block[p];
            }
        }
}

INL v16d vd_from(v16 v) {
    return (v16d){{_mm256_cvtps_pd(_mm256_castps256_ps128(v.lo)), _mm256_cvtps_pd(_mm256_extractf128_ps(v.lo, 1)),
                   _mm256_cvtps_pd(_mm256_castps256_ps128(v.hi)), _mm256_cvtps_pd(_mm256_extractf128_ps(v.hi, 1))}};
}
INL v16d vd_set1(double x) { __m256d d = _mm256_set1_pd(x); return (v16d){{d, d, d, d}}; }
INL v16d vd_add(v16d a, v16d b) { for (int i = 0; i < 4; i++) a.q[i] = _mm256_add_pd(a.q[i], b.q[i]); return a; }
INL v16d vd_sub(v16d a, v16d b) { for (int i = 0; i < 4; i++) a.q[i] = _mm256_sub_pd(a.q[i], b.q[i]); return a; }
INL v16d vd_mul(v16d a, v16d b) { for (int i = 0; i < 4; i++) a.q[i] = _mm256_mul_pd(a.q[i], b.q[i]); return a; }
INL void vd_store(double *p, v16d v) { for (int i = 0; i < 4; i++) _mm256_store_pd(p + 4 * i, v.q[i]); }

#endif

/// The activation after a Linear layer, as its layer computes it lane by lane: act 1 ReLU
/// (v <= 0 ? 0 : v), 2 LeakyReLU with slope leak (v > 0 ? v : leak·v), 0 none (smallmlp.c's
/// layers, smallgemm.c's epilogue).
INL v16 v_activate(v16 v, int act, float leak) {
    if (act == 1) return v_maskz(V_CMP(v, v_zero(), _CMP_NLE_UQ), v);   // v <= 0 ? 0 : v
    if (act == 2) {   // v > 0 ? v : a·v, the product merged into the lanes that are not > 0 (NaN included)
        m16 other = V_CMP(v, v_zero(), _CMP_NGT_UQ);
        return v_mask_mul(v, other, v, v_set1(leak));
    }
    return v;
}
