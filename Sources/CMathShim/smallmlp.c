// A small MLP's forward and backward passes in one call each (`gan_mlp_forward`,
// `gan_mlp_backward`): Linear layers of at most 16 inputs and outputs, each optionally followed by
// ReLU or LeakyReLU, every layer's output one 16-lane AVX-512 register per row (padded rows of 16
// floats between layers), the activations applied in the same pass, and the backward pass of a
// layer (its activation's mask, dW, db and the input gradient) in one pass over the rows.
//
// Bits: every value is the one `Sequential` computes layer by layer with SmallGEMM's kernels and
// the activations' own passes (SmallGEMMKernel.swift, smallgemm.c, Activations.swift):
// - a product element is acc = 0, then acc = acc + a·b in increasing inner index (each product
//   rounded before the add), then bias + acc (forward) or old + acc (gradients);
// - except where SmallGEMM takes another route: a one-column C (a layer with one output in
//   forward, one input in the input gradient) is `SmallGEMM.columnDots`' fixed tree (8 lanes,
//   halves, pairs, the tail), and the bias gradient of a one-output layer is
//   `Kernels.accumulateColumnSums`' (8 row lanes, halves, pairs, then the tail rows);
// - ReLU y = (v <= 0 ? 0 : v), its gradient y > 0 ? g : 0; LeakyReLU y = (v > 0 ? v : a·v), its
//   gradient y > 0 ? g : a·g.
// No FMA contraction anywhere in this file.

#include "CMathShim.h"

#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define T512 __attribute__((target("avx512f")))
#define INL static inline __attribute__((target("avx512f"), always_inline))

INL __m512 activate(__m512 v, int act, float leak) {
    if (act == 1) return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NLE_UQ), v);   // v <= 0 ? 0 : v
    if (act == 2) {   // v > 0 ? v : a·v, the product merged into the lanes that are not > 0 (NaN included)
        __mmask16 other = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NGT_UQ);
        return _mm512_mask_mul_ps(v, other, v, _mm512_set1_ps(leak));
    }
    return v;
}

/// The gradient through an activation from its output y: y > 0 ? g : (ReLU 0, LeakyReLU a·g).
INL __m512 unmask(__m512 g, __m512 y, int act, float leak) {
    if (act == 0) return g;
    __mmask16 positive = _mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_GT_OQ);
    if (act == 1) return _mm512_maskz_mov_ps(positive, g);
    return _mm512_mask_mul_ps(g, (__mmask16)~positive, _mm512_set1_ps(leak), g);
}

static inline float activate1(float v, int act, float leak) {
    if (act == 1) return v <= 0 ? 0 : v;
    if (act == 2) return v > 0 ? v : leak * v;
    return v;
}

/// `SmallGEMM.columnDots`' sum of a[p]·b[p] for p in 0..<k (k <= 16).
static inline float column_dot(const float *a, const float *b, int k) {
    int k8 = k & ~7, rest = k - k8;
    int has4 = rest >= 4, has2 = (rest & 2) != 0, has1 = (rest & 1) != 0;
    int p2 = k8 + (has4 ? 4 : 0), p1 = p2 + (has2 ? 2 : 0);
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int p = 0; p < k8; p += 8)
        for (int l = 0; l < 8; l++) {
            float t = a[p + l] * b[p + l];
            acc[l] = acc[l] + t;
        }
    float s4[4];
    for (int q = 0; q < 4; q++) s4[q] = acc[q] + acc[q + 4];
    if (has4)
        for (int q = 0; q < 4; q++) {
            float t = a[k8 + q] * b[k8 + q];
            s4[q] = s4[q] + t;
        }
    float s2a = s4[0] + s4[2], s2b = s4[1] + s4[3];
    if (has2) {
        float t0 = a[p2] * b[p2], t1 = a[p2 + 1] * b[p2 + 1];
        s2a = s2a + t0;
        s2b = s2b + t1;
    }
    float sum = s2a + s2b;
    if (has1) {
        float t = a[p1] * b[p1];
        sum = sum + t;
    }
    return sum;
}

/// c[p] lane r = m[r][p] for the 16 rows of 16 floats at m (64-byte aligned).
INL void transpose16(const float *m, __m512 c[16]) {
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

/// `column_dot` of 16 rows of 16 floats at m (64-byte aligned) with b, lane r for row r: the same
/// operations on the same values.
INL __m512 column_dots16(const float *m, const float *b, int k) {
    __m512 c[16];
    transpose16(m, c);
    int k8 = k & ~7, rest = k - k8;
    int has4 = rest >= 4, has2 = (rest & 2) != 0, has1 = (rest & 1) != 0;
    int p2 = k8 + (has4 ? 4 : 0), p1 = p2 + (has2 ? 2 : 0);
    __m512 acc[8];
    for (int l = 0; l < 8; l++) acc[l] = _mm512_setzero_ps();
    for (int p = 0; p < k8; p += 8)
        for (int l = 0; l < 8; l++) acc[l] = _mm512_add_ps(acc[l], _mm512_mul_ps(c[p + l], _mm512_set1_ps(b[p + l])));
    __m512 s4[4];
    for (int q = 0; q < 4; q++) s4[q] = _mm512_add_ps(acc[q], acc[q + 4]);
    if (has4)
        for (int q = 0; q < 4; q++) s4[q] = _mm512_add_ps(s4[q], _mm512_mul_ps(c[k8 + q], _mm512_set1_ps(b[k8 + q])));
    __m512 s2a = _mm512_add_ps(s4[0], s4[2]), s2b = _mm512_add_ps(s4[1], s4[3]);
    if (has2) {
        s2a = _mm512_add_ps(s2a, _mm512_mul_ps(c[p2], _mm512_set1_ps(b[p2])));
        s2b = _mm512_add_ps(s2b, _mm512_mul_ps(c[p2 + 1], _mm512_set1_ps(b[p2 + 1])));
    }
    __m512 sum = _mm512_add_ps(s2a, s2b);
    if (has1) sum = _mm512_add_ps(sum, _mm512_mul_ps(c[p1], _mm512_set1_ps(b[p1])));
    return sum;
}

/// `layer_forward` for out >= 2, `in` a constant of each instance: the columns of W stay in
/// registers, and eight rows' sums are in flight (each a chain of `in` adds).
INL void layer_forward_in(const gan_mlp_layer *L, const int in, long rows, const float *x, long sx, float *o, long so) {
    const int out = L->out, act = L->act;
    const float leak = L->leak;
    const __mmask16 mask = (__mmask16)((1u << out) - 1), store = so == 16 ? (__mmask16)0xFFFF : mask;
    __m512 wc[16];   // wc[p] lane j = W[j, p]: column p of W
    const __m512i rowStarts = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                                 _mm512_set1_epi32(in));
#pragma clang loop unroll(full)
    for (int p = 0; p < in; p++) wc[p] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask, rowStarts, L->w + p, 4);
    const __m512 bias = _mm512_maskz_loadu_ps(mask, L->b);
    long r = 0;
    for (; r + 8 <= rows; r += 8) {
        __m512 a[8];
        const float *x0 = x + r * sx;
#pragma clang loop unroll(full)
        for (int k = 0; k < 8; k++) a[k] = _mm512_setzero_ps();
#pragma clang loop unroll(full)
        for (int p = 0; p < in; p++)
#pragma clang loop unroll(full)
            for (int k = 0; k < 8; k++) a[k] = _mm512_add_ps(a[k], _mm512_mul_ps(_mm512_set1_ps(x0[k * sx + p]), wc[p]));
#pragma clang loop unroll(full)
        for (int k = 0; k < 8; k++) _mm512_mask_storeu_ps(o + (r + k) * so, store, activate(_mm512_add_ps(bias, a[k]), act, leak));
    }
    for (; r < rows; r++) {
        __m512 a0 = _mm512_setzero_ps();
        const float *x0 = x + r * sx;
#pragma clang loop unroll(full)
        for (int p = 0; p < in; p++) a0 = _mm512_add_ps(a0, _mm512_mul_ps(_mm512_set1_ps(x0[p]), wc[p]));
        _mm512_mask_storeu_ps(o + r * so, store, activate(_mm512_add_ps(bias, a0), act, leak));
    }
}

/// One layer forward: o[r] = act(b + x[r] · Wᵀ) for `rows` rows of x (stride sx) into o (stride so;
/// a padded row of 16 when so == 16, else `out` values).
T512 static void layer_forward(const gan_mlp_layer *L, long rows, const float *x, long sx, float *o, long so) {
    const int in = L->in, out = L->out, act = L->act;
    const float leak = L->leak;
    if (out == 1) {
        const float b = L->b[0];
        long r = 0;
        if (sx == 16 && so == 1)
            for (; r + 16 <= rows; r += 16)
                _mm512_storeu_ps(o + r, activate(_mm512_add_ps(_mm512_set1_ps(b), column_dots16(x + r * 16, L->w, in)), act, leak));
        for (; r < rows; r++) o[r * so] = activate1(b + column_dot(x + r * sx, L->w, in), act, leak);
        if (so == 16)
            for (long r = 0; r < rows; r++) memset(o + r * 16 + 1, 0, 15 * sizeof(float));
        return;
    }
    switch (in) {
#define IN(n) case n: layer_forward_in(L, n, rows, x, sx, o, so); break;
    IN(1) IN(2) IN(3) IN(4) IN(5) IN(6) IN(7) IN(8) IN(9) IN(10) IN(11) IN(12) IN(13) IN(14) IN(15) IN(16)
#undef IN
    default: break;
    }
}

T512 void gan_mlp_forward(long rows, int count, const gan_mlp_layer *layers, const float *x, float *hidden, float *y) {
    const float *in = x;
    long sin = layers[0].in;
    for (int l = 0; l < count; l++) {
        int last = l == count - 1;
        float *o = last ? y : hidden + (long)l * rows * 16;
        long so = last ? layers[l].out : 16;
        layer_forward(&layers[l], rows, in, sin, o, so);
        in = o;
        sin = so;
    }
}

/// `Kernels.accumulateColumnSums` of one column (stride s): 8 row lanes, halves, pairs, then the
/// rows after the last multiple of 8 in order.
static inline float column_sum(const float *g, long s, long rows) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    long r = 0;
    for (; rows - r >= 8; r += 8)
        for (int l = 0; l < 8; l++) acc[l] = acc[l] + g[(r + l) * s];
    float a4[4];
    for (int q = 0; q < 4; q++) a4[q] = acc[q] + acc[q + 4];
    float a2x = a4[0] + a4[2], a2y = a4[1] + a4[3];
    float sum = a2x + a2y;
    for (; r < rows; r++) sum = sum + g[r * s];
    return sum;
}

/// One layer backward. gy: dLoss/d(layer output) (stride sgy), y: the layer's output (stride sy),
/// x: its input (stride sx). dy = gy through the layer's activation; with `params`, dW += dyᵀ·x
/// and db += Σ dy; with gx, gx (stride sgx) = dy · W (dLoss/dx: the layer below applies its own
/// activation's mask to it).
/// `in` is a constant of each instance (`layer_backward`'s switch), so that the dW accumulators
/// stay in registers across the rows.
INL void layer_backward_in(const gan_mlp_layer *L, const int in, long rows, const float *gy, long sgy, const float *y,
                           long sy, const float *x, long sx, int params, float *gx, long sgx, float *gbuf) {
    const int out = L->out, act = L->act;
    const float leak = L->leak;
    const __mmask16 omask = (__mmask16)((1u << out) - 1), imask = (__mmask16)((1u << in) - 1);
    __m512 wr[16];   // wr[j] lane p = W[j, p]: row j of W
    for (int j = 0; j < out; j++) wr[j] = _mm512_maskz_loadu_ps(imask, L->w + j * in);
    __m512 aw[16], ab = _mm512_setzero_ps();   // aw[p] lane j: Σ_r dy[r, j] · x[r, p]
    for (int p = 0; p < in; p++) aw[p] = _mm512_setzero_ps();
    // dy of every row into gbuf (stride 16), the parameter sums over the rows in order on the way.
    for (long r = 0; r < rows; r++) {
        __m512 g = _mm512_maskz_loadu_ps(omask, gy + r * sgy);
        if (act) g = unmask(g, _mm512_maskz_loadu_ps(omask, y + r * sy), act, leak);
        _mm512_store_ps(gbuf + r * 16, g);
        if (params) {
            const float *xr = x + r * sx;
            if (out == 1) {   // aw[0] lane p: Σ_r dy[r] · x[r, p]
                aw[0] = _mm512_add_ps(aw[0], _mm512_mul_ps(_mm512_broadcastss_ps(_mm512_castps512_ps128(g)),
                                                           _mm512_maskz_loadu_ps(imask, xr)));
                continue;
            }
#pragma clang loop unroll(full)
            for (int p = 0; p < in; p++) aw[p] = _mm512_add_ps(aw[p], _mm512_mul_ps(_mm512_set1_ps(xr[p]), g));
            ab = _mm512_add_ps(ab, g);
        }
    }
    // dx = dy · W, eight rows' independent sums at a time.
    if (gx && in == 1) {
        for (long r = 0; r < rows; r++) {
            gx[r * sgx] = column_dot(gbuf + r * 16, L->w, out);
            if (sgx == 16) memset(gx + r * 16 + 1, 0, 15 * sizeof(float));
        }
    } else if (gx) {
        const __mmask16 store = sgx == 16 ? (__mmask16)0xFFFF : imask;
        long r = 0;
        for (; r + 8 <= rows; r += 8) {
            const float *g0 = gbuf + r * 16;
            __m512 a[8];
#pragma clang loop unroll(full)
            for (int k = 0; k < 8; k++) a[k] = _mm512_setzero_ps();
            for (int j = 0; j < out; j++)
#pragma clang loop unroll(full)
                for (int k = 0; k < 8; k++) a[k] = _mm512_add_ps(a[k], _mm512_mul_ps(_mm512_set1_ps(g0[16 * k + j]), wr[j]));
#pragma clang loop unroll(full)
            for (int k = 0; k < 8; k++) _mm512_mask_storeu_ps(gx + (r + k) * sgx, store, a[k]);
        }
        for (; r < rows; r++) {
            const float *g0 = gbuf + r * 16;
            __m512 a0 = _mm512_setzero_ps();
            for (int j = 0; j < out; j++) a0 = _mm512_add_ps(a0, _mm512_mul_ps(_mm512_set1_ps(g0[j]), wr[j]));
            _mm512_mask_storeu_ps(gx + r * sgx, store, a0);
        }
    }
    if (!params) return;
    if (out == 1) {
        _mm512_mask_storeu_ps(L->dw, imask, _mm512_add_ps(_mm512_maskz_loadu_ps(imask, L->dw), aw[0]));
        L->db[0] = L->db[0] + column_sum(gbuf, 16, rows);
        return;
    }
    float t[16][16] __attribute__((aligned(64)));
#pragma clang loop unroll(full)
    for (int p = 0; p < in; p++) _mm512_store_ps(t[p], aw[p]);
    for (int j = 0; j < out; j++)
        for (int p = 0; p < in; p++) L->dw[j * in + p] = L->dw[j * in + p] + t[p][j];
    {
        _mm512_mask_storeu_ps(L->db, omask, _mm512_add_ps(_mm512_maskz_loadu_ps(omask, L->db), ab));
    }
}

T512 static void layer_backward(const gan_mlp_layer *L, long rows, const float *gy, long sgy, const float *y, long sy,
                                const float *x, long sx, int params, float *gx, long sgx, float *gbuf) {
    switch (L->in) {
#define IN(n) case n: layer_backward_in(L, n, rows, gy, sgy, y, sy, x, sx, params, gx, sgx, gbuf); break;
    IN(1) IN(2) IN(3) IN(4) IN(5) IN(6) IN(7) IN(8) IN(9) IN(10) IN(11) IN(12) IN(13) IN(14) IN(15) IN(16)
#undef IN
    default: break;
    }
}

T512 void gan_mlp_backward(long rows, int count, const gan_mlp_layer *layers, const float *x, const float *hidden,
                           const float *y, const float *dy, int params, float *dx, float *scratch) {
    const float *gy = dy;
    long sgy = layers[count - 1].out;
    float *gbuf = scratch + 2 * rows * 16;
    for (int l = count - 1; l >= 0; l--) {
        int last = l == count - 1;
        const float *out = last ? y : hidden + (long)l * rows * 16;
        long so = last ? layers[l].out : 16;
        const float *in = l == 0 ? x : hidden + (long)(l - 1) * rows * 16;
        long sin = l == 0 ? layers[0].in : 16;
        float *gx = l == 0 ? dx : scratch + (long)(l & 1) * rows * 16;
        long sgx = l == 0 ? layers[0].in : 16;
        layer_backward(&layers[l], rows, gy, sgy, out, so, in, sin, params, gx, sgx, gbuf);
        gy = gx;
        sgy = sgx;
    }
}

#else
void gan_mlp_forward(long rows, int count, const gan_mlp_layer *layers, const float *x, float *hidden, float *y) {}
void gan_mlp_backward(long rows, int count, const gan_mlp_layer *layers, const float *x, const float *hidden,
                      const float *y, const float *dy, int params, float *dx, float *scratch) {}
#endif
