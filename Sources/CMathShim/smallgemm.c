// SmallGEMM's panels with AVX-512 (SmallGEMMKernel.swift says what they compute): one 16-lane
// register holds up to 16 columns of a row of C, the lanes past n masked off on every load and
// store, so a 10-column row takes one multiply and one add per step of the inner dimension where
// the 8 + 2 lane panels of the Swift kernel take two of each, and blocks of 8 rows keep 8 of them
// in registers (9 to 12 rows: all of them in one block, one pass over the inner dimension).
//
// Bits: every element of C is the Swift kernel's: acc = 0, then acc = acc + a·b in increasing p,
// each product rounded before the add (separate multiply and add intrinsics; no contraction into
// FMA, which the disassembly of this file shows), then the same alpha / beta finish; row and
// column sums likewise. Which panel or row block an element falls in does not matter. An epilogue
// (`act`: the ReLU or LeakyReLU after a Linear layer) maps each final value as it is stored
// (simd16.h's `v_activate`, as smallmlp.c's layers do).

#include "CMathShim.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include "simd16.h"   // v_activate, the epilogue

typedef struct {
    const float *a;
    long ars, acs;
    const float *b;
    long ldb;
    float *c;
    long ldc;
    float alpha, beta;
    const float *cin;
    long ldcin;
    float *sums;
    int mode;
    int act;      /* 0 none, 1 ReLU, 2 LeakyReLU(leak): applied to each value as it is stored */
    float leak;
} operands;

__attribute__((target("avx512f"), always_inline))
static inline void finish(const operands *o, __m512 acc, long i, long j, __mmask16 mask) {
    float *pc = o->c + i * o->ldc + j;
    if (o->beta == 0) {
        if (o->alpha != 1) acc = _mm512_mul_ps(acc, _mm512_set1_ps(o->alpha));
        _mm512_mask_storeu_ps(pc, mask, v_activate(acc, o->act, o->leak));
        return;
    }
    __m512 old = _mm512_maskz_loadu_ps(mask, o->cin + i * o->ldcin + j);
    if (o->alpha == 1 && o->beta == 1) {
        _mm512_mask_storeu_ps(pc, mask, v_activate(_mm512_add_ps(old, acc), o->act, o->leak));
    } else {
        __m512 scaled = _mm512_mul_ps(old, _mm512_set1_ps(o->beta));
        _mm512_mask_storeu_ps(pc, mask, v_activate(_mm512_add_ps(scaled, _mm512_mul_ps(acc, _mm512_set1_ps(o->alpha))), o->act, o->leak));
    }
}

/// Rows i..<i+R of C in columns j..<j+16 (masked), R a constant of each instance.
#define BLOCK(R)                                                                                  \
__attribute__((target("avx512f")))                                                                \
static void block##R(const operands *op, long i, long j, long k, __mmask16 mask, int rowSums) {  \
    const operands local = *op, *o = &local;  /* a copy the stores to C cannot alias: no reloads */ \
    __m512 acc[R];                                                                                \
    for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_ps();                                     \
    const float *pa = o->a + i * o->ars, *pb = o->b + j;                                          \
    const long ars = o->ars, acs = o->acs, ldb = o->ldb;                                          \
    if (rowSums) {                                                                                \
        /* ars = 1 here: a step's R values pa[0..<R] in one masked load, lane r row r's sum */   \
        const __mmask16 rmask = (__mmask16)((1u << R) - 1);                                       \
        __m512 sums = _mm512_setzero_ps();                                                        \
        for (long p = 0; p < k; p++) {                                                            \
            __m512 bv = _mm512_maskz_loadu_ps(mask, pb);                                          \
            for (int r = 0; r < R; r++)                                                           \
                acc[r] = _mm512_add_ps(acc[r], _mm512_mul_ps(_mm512_set1_ps(pa[r]), bv));         \
            sums = _mm512_add_ps(sums, _mm512_maskz_loadu_ps(rmask, pa));                         \
            pa += acs;                                                                            \
            pb += ldb;                                                                            \
        }                                                                                         \
        float *out = o->sums + i;                                                                 \
        _mm512_mask_storeu_ps(out, rmask, _mm512_add_ps(_mm512_maskz_loadu_ps(rmask, out), sums)); \
    } else {                                                                                      \
        for (long p = 0; p < k; p++) {                                                            \
            __m512 bv = _mm512_maskz_loadu_ps(mask, pb);                                          \
            for (int r = 0; r < R; r++)                                                           \
                acc[r] = _mm512_add_ps(acc[r], _mm512_mul_ps(_mm512_set1_ps(pa[r * ars]), bv));   \
            pa += acs;                                                                            \
            pb += ldb;                                                                            \
        }                                                                                         \
    }                                                                                             \
    for (int r = 0; r < R; r++) finish(o, acc[r], i + r, j, mask);                                \
}
BLOCK(1)
BLOCK(2)
BLOCK(3)
BLOCK(4)
BLOCK(5)
BLOCK(6)
BLOCK(7)
BLOCK(8)
BLOCK(9)
BLOCK(10)
BLOCK(11)
BLOCK(12)

/// One row (m = 1) with the column sums of op(B) (`WithColumnSumsOfB`).
__attribute__((target("avx512f")))
static void row_with_column_sums(const operands *o, long j, long k, __mmask16 mask) {
    __m512 acc = _mm512_setzero_ps(), sums = _mm512_setzero_ps();
    const float *pa = o->a, *pb = o->b + j;
    for (long p = 0; p < k; p++) {
        __m512 bv = _mm512_maskz_loadu_ps(mask, pb);
        acc = _mm512_add_ps(acc, _mm512_mul_ps(_mm512_set1_ps(pa[0]), bv));
        sums = _mm512_add_ps(sums, bv);
        pa += o->acs;
        pb += o->ldb;
    }
    finish(o, acc, 0, j, mask);
    float *out = o->sums + j;
    _mm512_mask_storeu_ps(out, mask, _mm512_add_ps(_mm512_maskz_loadu_ps(mask, out), sums));
}

__attribute__((target("avx512f")))
static void panels_avx512(const operands *o, long m, long n, long k) {
    for (long j = 0; j < n; j += 16) {
        long width = n - j < 16 ? n - j : 16;
        __mmask16 mask = (__mmask16)((1u << width) - 1);
        if (o->mode == 2) { row_with_column_sums(o, j, k, mask); continue; }
        int rowSums = o->mode == 1 && j == 0;
        if (m >= 9 && m <= 12) {   /* all rows in one block: one pass over the inner dimension */
            switch (m) {
            case 9: block9(o, 0, j, k, mask, rowSums); break;
            case 10: block10(o, 0, j, k, mask, rowSums); break;
            case 11: block11(o, 0, j, k, mask, rowSums); break;
            default: block12(o, 0, j, k, mask, rowSums); break;
            }
            continue;
        }
        long i = 0;
        for (; m - i >= 8; i += 8) block8(o, i, j, k, mask, rowSums);
        switch (m - i) {
        case 7: block7(o, i, j, k, mask, rowSums); break;
        case 6: block6(o, i, j, k, mask, rowSums); break;
        case 5: block5(o, i, j, k, mask, rowSums); break;
        case 4: block4(o, i, j, k, mask, rowSums); break;
        case 3: block3(o, i, j, k, mask, rowSums); break;
        case 2: block2(o, i, j, k, mask, rowSums); break;
        case 1: block1(o, i, j, k, mask, rowSums); break;
        default: break;
        }
    }
}

static int avx512_state = -1;   // -1 unknown, 0 no, 1 yes

int gan_small_panels_available(void) {
    int s = __atomic_load_n(&avx512_state, __ATOMIC_RELAXED);
    if (s < 0) {
        s = __builtin_cpu_supports("avx512f") ? 1 : 0;
        __atomic_store_n(&avx512_state, s, __ATOMIC_RELAXED);
    }
    return s;
}

void gan_small_panels(long m, long n, long k, const float *a, long ars, long acs, const float *b, long ldb, float *c,
                      long ldc, float alpha, float beta, const float *cin, long ldcin, float *sums, int mode,
                      int act, float leak) {
    operands o = {a, ars, acs, b, ldb, c, ldc, alpha, beta, cin, ldcin, sums, mode, act, leak};
    panels_avx512(&o, m, n, k);
}

#else
int gan_small_panels_available(void) { return 0; }
void gan_small_panels(long m, long n, long k, const float *a, long ars, long acs, const float *b, long ldb, float *c,
                      long ldc, float alpha, float beta, const float *cin, long ldcin, float *sums, int mode,
                      int act, float leak) {}
#endif
