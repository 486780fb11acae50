// `Loss.sigmoidCrossEntropy`'s pass over the logits (`gan_sigmoid_cross_entropy`): sixteen
// logits at a time through `Kernels.exp` / `Kernels.log1pUnit` / `Kernels.softplusTerms` (the same
// operations in the same order: the same floats), each logit's Double loss term formed sixteen
// lanes at a time, and only the two Double sums left in order, one add each per logit.
// Two copies from this one source (simd16.h's lanes), the same bits: this file's for AVX-512 F,
// softplus_avx2.c's (this file included again) for AVX2; `isa` picks one (2 AVX-512, 1 AVX2), as
// `gan_simd16_isa()` chooses from the CPU and SWIFTGAN_SIMD (simd16.c).
// No FMA contraction anywhere in this file.

#include "CMathShim.h"

#pragma clang fp contract(off)

#if defined(__x86_64__)
#include "simd16.h"

/// p, then p = p·x + c[i] for each of the n coefficients (the product rounded, then the add; a
/// subtraction of Kernels' is the add of the negated coefficient: the same float).
INL v16 horner(v16 p, v16 x, const float *c, int n) {
    for (int i = 0; i < n; i++) p = v_add(v_mul(p, x), v_set1(c[i]));
    return p;
}

/// `Kernels.exp` (t clamped to [-87.33, 88.37626]).
INL v16 exp16(v16 x) {
    v16 t = v_blend(V_CMP(x, v_set1(-87.33f), _CMP_LT_OQ), x, v_set1(-87.33f));
    t = v_blend(V_CMP(t, v_set1(88.37626f), _CMP_GT_OQ), t, v_set1(88.37626f));
    v16 shifted = v_add(v_mul(t, v_set1(1.442695040888963f)), v_set1(12582912.0f));
    v16 n = v_sub(shifted, v_set1(12582912.0f));
    v16 r = v_add(v_sub(t, v_mul(n, v_set1(0.693359375f))), v_mul(n, v_set1(2.12194440e-4f)));
    static const float c[] = {1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
    v16 p = horner(v_set1(1.9875691500e-4f), r, c, 5);
    v16 er = v_add(v_add(v_mul(p, v_mul(r, r)), r), v_set1(1.0f));
    return v_mul(er, v_pow2_shifted(shifted));
}

/// `Kernels.log1pUnit` (e in [0, 1]).
INL v16 log1p_unit16(v16 e) {
    m16 high = V_CMP(e, v_set1(0.41421356f), _CMP_GT_OQ);
    v16 x = v_blend(high, e, v_mul(v_sub(e, v_set1(1.0f)), v_set1(0.5f)));
    v16 z = v_mul(x, x);
    static const float c[] = {-1.1514610310e-1f, 1.1676998740e-1f, -1.2420140846e-1f, 1.4249322787e-1f,
                              -1.6668057665e-1f, 2.0000714765e-1f, -2.4999993993e-1f, 3.3333331174e-1f};
    v16 p = horner(v_set1(7.0376836292e-2f), x, c, 8);
    v16 y = v_mul(v_mul(p, x), z);
    y = v_blend(high, y, v_sub(y, v_set1(2.12194440e-4f)));
    y = v_sub(y, v_mul(v_set1(0.5f), z));
    v16 r = v_add(x, y);
    return v_blend(high, r, v_add(r, v_set1(0.693359375f)));
}

/// One chunk of c <= 16 logits at l: the gradients into g, each logit's Double loss term and σ into
/// terms and probs.
INL void chunk(const float *l, long c, float target, float scale, float *g, double *terms, double *probs) {
    const double t = target;
    m16 m = m_first((int)c);
    v16 v = v_maskz_loadu(m, l);
    m16 nan = V_CMP(v, v, _CMP_UNORD_Q);
    // Kernels.softplusTerms: e = exp(-|v|), tail = log1p(e), sigmoid = v >= 0 ? 1/(1+e) : e/(1+e).
    v16 e = exp16(v_neg_abs(v));
    v16 tail = v_blend(nan, log1p_unit16(e), v);
    v16 inv = v_div(v_set1(1.0f), v_add(v_set1(1.0f), e));
    v16 sg = v_blend(V_CMP(v, v_zero(), _CMP_GE_OQ), v_mul(e, inv), inv);
    sg = v_blend(nan, sg, v);
    // g = (σ - target) · scale
    v_mask_storeu(g, m, v_mul(v_sub(sg, v_set1(target)), v_set1(scale)));
    // Double(max(v, 0)) + Double(tail) - t · Double(v), max(v, 0) being 0 >= v ? 0 : v.
    v16 pos = v_blend(V_CMP(v_zero(), v, _CMP_GE_OQ), v, v_zero());
    vd_store(terms, vd_sub(vd_add(vd_from(pos), vd_from(tail)), vd_mul(vd_set1(t), vd_from(v))));
    vd_store(probs, vd_from(sg));
}

/// Two runs side by side (the second may be empty): their four Double sums are independent chains
/// of adds, so running them in one loop overlaps their latencies (D's real and fake halves).
T16 void SIMD16_NAME(gan_sigmoid_cross_entropy)(const float *l, long n1, float t1, float scale1, long n2, float t2,
                                                float scale2, float *g, double sums[4]) {
    double s1 = 0, p1 = 0, s2 = 0, p2 = 0;
    double terms1[16] __attribute__((aligned(64))), probs1[16] __attribute__((aligned(64)));
    double terms2[16] __attribute__((aligned(64))), probs2[16] __attribute__((aligned(64)));
    const float *l2 = l + n1;
    float *g2 = g + n1;
    for (long i = 0; i < n1 || i < n2; i += 16) {
        long c1 = n1 - i < 16 ? (n1 > i ? n1 - i : 0) : 16, c2 = n2 - i < 16 ? (n2 > i ? n2 - i : 0) : 16;
        if (c1) chunk(l + i, c1, t1, scale1, g + i, terms1, probs1);
        if (c2) chunk(l2 + i, c2, t2, scale2, g2 + i, terms2, probs2);
        for (long j = 0; j < c1 || j < c2; j++) {
            if (j < c1) {
                s1 = s1 + terms1[j];
                p1 = p1 + probs1[j];
            }
            if (j < c2) {
                s2 = s2 + terms2[j];
                p2 = p2 + probs2[j];
            }
        }
    }
    sums[0] = s1;
    sums[1] = p1;
    sums[2] = s2;
    sums[3] = p2;
}
#endif

#ifndef SIMD16_AVX2   // the entry point, once
#if defined(__x86_64__)
void gan_sigmoid_cross_entropy_avx2(const float *l, long n1, float t1, float scale1, long n2, float t2, float scale2,
                                    float *g, double sums[4]);
#endif

void gan_sigmoid_cross_entropy(int isa, const float *l, long n1, float t1, float scale1, long n2, float t2, float scale2,
                               float *g, double sums[4]) {
#if defined(__x86_64__)
    if (isa == 2) gan_sigmoid_cross_entropy_avx512(l, n1, t1, scale1, n2, t2, scale2, g, sums);
    if (isa == 1) gan_sigmoid_cross_entropy_avx2(l, n1, t1, scale1, n2, t2, scale2, g, sums);
#endif
}
#endif
