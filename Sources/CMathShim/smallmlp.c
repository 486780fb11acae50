// A small MLP's forward and backward passes in one call each (`gan_mlp_forward`,
// `gan_mlp_backward`): Linear layers of at most 16 inputs and outputs, each optionally followed by
// ReLU or LeakyReLU, every layer's output one 16-lane register per row (padded rows of 16 floats
// between layers), the activations applied in the same pass, and the backward pass of a layer (its
// activation's mask, dW, db and the input gradient) in one pass over the rows.
//
// Two copies from this one source (simd16.h's lanes): this file's for AVX-512 F, and
// smallmlp_avx2.c's, which includes this file for AVX2 (each 16-lane register two 256-bit ones,
// every operation the same in each lane: the same bits). `isa` picks the copy: 2 AVX-512, 1 AVX2,
// as `gan_simd16_isa()` chooses from the CPU and SWIFTGAN_SIMD (simd16.c).
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
#include <string.h>
#include "simd16.h"

// Rows whose sums are in flight at a time, dW's columns summed in the pass over the rows that
// forms dy, and per pass of their own after it: what fits in AVX-512's 32 registers, or AVX2's 16
// (two per 16 lanes). The order of every sum is the same whatever they are.
#ifdef SIMD16_AVX2
#define ROWS 4
#define DW_FIRST 0
#define DW_COLUMNS 5
#else
#define ROWS 8
#define DW_FIRST 16
#define DW_COLUMNS 16
#endif

/// The gradient through an activation from its output y: y > 0 ? g : (ReLU 0, LeakyReLU a·g).
INL v16 unmask(v16 g, v16 y, int act, float leak) {
    if (act == 0) return g;
    m16 positive = V_CMP(y, v_zero(), _CMP_GT_OQ);
    if (act == 1) return v_maskz(positive, g);
    return v_mask_mul(g, m_not(positive), v_set1(leak), g);
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

/// `column_dot` of 16 rows of 16 floats at m (64-byte aligned) with b, lane r for row r: the same
/// operations on the same values.
INL v16 column_dots16(const float *m, const float *b, int k) {
    v16 c[16];
    v_transpose16(m, c);
    int k8 = k & ~7, rest = k - k8;
    int has4 = rest >= 4, has2 = (rest & 2) != 0, has1 = (rest & 1) != 0;
    int p2 = k8 + (has4 ? 4 : 0), p1 = p2 + (has2 ? 2 : 0);
    v16 acc[8];
    for (int l = 0; l < 8; l++) acc[l] = v_zero();
    for (int p = 0; p < k8; p += 8)
        for (int l = 0; l < 8; l++) acc[l] = v_add(acc[l], v_mul(c[p + l], v_set1(b[p + l])));
    v16 s4[4];
    for (int q = 0; q < 4; q++) s4[q] = v_add(acc[q], acc[q + 4]);
    if (has4)
        for (int q = 0; q < 4; q++) s4[q] = v_add(s4[q], v_mul(c[k8 + q], v_set1(b[k8 + q])));
    v16 s2a = v_add(s4[0], s4[2]), s2b = v_add(s4[1], s4[3]);
    if (has2) {
        s2a = v_add(s2a, v_mul(c[p2], v_set1(b[p2])));
        s2b = v_add(s2b, v_mul(c[p2 + 1], v_set1(b[p2 + 1])));
    }
    v16 sum = v_add(s2a, s2b);
    if (has1) sum = v_add(sum, v_mul(c[p1], v_set1(b[p1])));
    return sum;
}

/// `layer_forward` for out >= 2, `in` a constant of each instance: the columns of W stay in
/// registers, and ROWS rows' sums are in flight (each a chain of `in` adds).
INL void layer_forward_in(const gan_mlp_layer *L, const int in, long rows, const float *x, long sx, float *o, long so) {
    const int out = L->out, act = L->act;
    const float leak = L->leak;
    const m16 mask = m_first(out), store = so == 16 ? m_first(16) : mask;
    v16 wc[16];   // wc[p] lane j = W[j, p]: column p of W
#pragma clang loop unroll(full)
    for (int p = 0; p < in; p++) wc[p] = v_gather(L->w + p, in, mask);
    const v16 bias = v_maskz_loadu(mask, L->b);
    long r = 0;
    for (; r + ROWS <= rows; r += ROWS) {
        v16 a[ROWS];
        const float *x0 = x + r * sx;
#pragma clang loop unroll(full)
        for (int k = 0; k < ROWS; k++) a[k] = v_zero();
#pragma clang loop unroll(full)
        for (int p = 0; p < in; p++)
#pragma clang loop unroll(full)
            for (int k = 0; k < ROWS; k++) a[k] = v_add(a[k], v_mul(v_set1(x0[k * sx + p]), wc[p]));
#pragma clang loop unroll(full)
        for (int k = 0; k < ROWS; k++) v_mask_storeu(o + (r + k) * so, store, v_activate(v_add(bias, a[k]), act, leak));
    }
    for (; r < rows; r++) {
        v16 a0 = v_zero();
        const float *x0 = x + r * sx;
#pragma clang loop unroll(full)
        for (int p = 0; p < in; p++) a0 = v_add(a0, v_mul(v_set1(x0[p]), wc[p]));
        v_mask_storeu(o + r * so, store, v_activate(v_add(bias, a0), act, leak));
    }
}

/// One layer forward: o[r] = act(b + x[r] · Wᵀ) for `rows` rows of x (stride sx) into o (stride so;
/// a padded row of 16 when so == 16, else `out` values).
T16 static void layer_forward(const gan_mlp_layer *L, long rows, const float *x, long sx, float *o, long so) {
    const int in = L->in, out = L->out, act = L->act;
    const float leak = L->leak;
    if (out == 1) {
        const float b = L->b[0];
        long r = 0;
        if (sx == 16 && so == 1)
            for (; r + 16 <= rows; r += 16)
                v_storeu(o + r, v_activate(v_add(v_set1(b), column_dots16(x + r * 16, L->w, in)), act, leak));
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

T16 void SIMD16_NAME(gan_mlp_forward)(long rows, int count, const gan_mlp_layer *layers, const float *x, float *hidden, float *y) {
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
    const m16 omask = m_first(out), imask = m_first(in);
    v16 wr[16];   // wr[j] lane p = W[j, p]: row j of W
    for (int j = 0; j < out; j++) wr[j] = v_maskz_loadu(imask, L->w + j * in);
    v16 aw[16], ab = v_zero();   // aw[p] lane j: Σ_r dy[r, j] · x[r, p]
    for (int p = 0; p < in; p++) aw[p] = v_zero();
    // dy of every row into gbuf (stride 16), the parameter sums over the rows in order on the way
    // (dW's for the first DW_FIRST columns of x; the others in passes of their own below).
    const int first = in < DW_FIRST ? in : DW_FIRST;
    for (long r = 0; r < rows; r++) {
        v16 g = v_maskz_loadu(omask, gy + r * sgy);
        if (act) g = unmask(g, v_maskz_loadu(omask, y + r * sy), act, leak);
        v_store(gbuf + r * 16, g);
        if (params) {
            const float *xr = x + r * sx;
            if (out == 1) {   // aw[0] lane p: Σ_r dy[r] · x[r, p]
                aw[0] = v_add(aw[0], v_mul(v_broadcast0(g), v_maskz_loadu(imask, xr)));
                continue;
            }
#pragma clang loop unroll(full)
            for (int p = 0; p < first; p++) aw[p] = v_add(aw[p], v_mul(v_set1(xr[p]), g));
            ab = v_add(ab, g);
        }
    }
#if DW_FIRST < 16
    for (int p0 = first; params && out > 1 && p0 < in; p0 += DW_COLUMNS) {
        const int end = in < p0 + DW_COLUMNS ? in : p0 + DW_COLUMNS;
        for (long r = 0; r < rows; r++) {
            const v16 g = v_load(gbuf + r * 16);
            const float *xr = x + r * sx;
#pragma clang loop unroll(full)
            for (int p = p0; p < end; p++) aw[p] = v_add(aw[p], v_mul(v_set1(xr[p]), g));
        }
    }
#endif
    // dx = dy · W, ROWS rows' independent sums at a time.
    if (gx && in == 1) {
        for (long r = 0; r < rows; r++) {
            gx[r * sgx] = column_dot(gbuf + r * 16, L->w, out);
            if (sgx == 16) memset(gx + r * 16 + 1, 0, 15 * sizeof(float));
        }
    } else if (gx) {
        const m16 store = sgx == 16 ? m_first(16) : imask;
        long r = 0;
        for (; r + ROWS <= rows; r += ROWS) {
            const float *g0 = gbuf + r * 16;
            v16 a[ROWS];
#pragma clang loop unroll(full)
            for (int k = 0; k < ROWS; k++) a[k] = v_zero();
            for (int j = 0; j < out; j++)
#pragma clang loop unroll(full)
                for (int k = 0; k < ROWS; k++) a[k] = v_add(a[k], v_mul(v_set1(g0[16 * k + j]), wr[j]));
#pragma clang loop unroll(full)
            for (int k = 0; k < ROWS; k++) v_mask_storeu(gx + (r + k) * sgx, store, a[k]);
        }
        for (; r < rows; r++) {
            const float *g0 = gbuf + r * 16;
            v16 a0 = v_zero();
            for (int j = 0; j < out; j++) a0 = v_add(a0, v_mul(v_set1(g0[j]), wr[j]));
            v_mask_storeu(gx + r * sgx, store, a0);
        }
    }
    if (!params) return;
    if (out == 1) {
        v_mask_storeu(L->dw, imask, v_add(v_maskz_loadu(imask, L->dw), aw[0]));
        L->db[0] = L->db[0] + column_sum(gbuf, 16, rows);
        return;
    }
    float t[16][16] __attribute__((aligned(64)));
#pragma clang loop unroll(full)
    for (int p = 0; p < in; p++) v_store(t[p], aw[p]);
    for (int j = 0; j < out; j++)
        for (int p = 0; p < in; p++) L->dw[j * in + p] = L->dw[j * in + p] + t[p][j];
    v_mask_storeu(L->db, omask, v_add(v_maskz_loadu(omask, L->db), ab));
}

T16 static void layer_backward(const gan_mlp_layer *L, long rows, const float *gy, long sgy, const float *y, long sy,
                                const float *x, long sx, int params, float *gx, long sgx, float *gbuf) {
    switch (L->in) {
#define IN(n) case n: layer_backward_in(L, n, rows, gy, sgy, y, sy, x, sx, params, gx, sgx, gbuf); break;
    IN(1) IN(2) IN(3) IN(4) IN(5) IN(6) IN(7) IN(8) IN(9) IN(10) IN(11) IN(12) IN(13) IN(14) IN(15) IN(16)
#undef IN
    default: break;
    }
}

T16 void SIMD16_NAME(gan_mlp_backward)(long rows, int count, const gan_mlp_layer *layers, const float *x,
                                       const float *hidden, const float *y, const float *dy, int params, float *dx,
                                       float *scratch) {
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

#endif

#ifndef SIMD16_AVX2   // the entry points, once
#if defined(__x86_64__)
void gan_mlp_forward_avx2(long rows, int count, const gan_mlp_layer *layers, const float *x, float *hidden, float *y);
void gan_mlp_backward_avx2(long rows, int count, const gan_mlp_layer *layers, const float *x, const float *hidden,
                           const float *y, const float *dy, int params, float *dx, float *scratch);
#endif

void gan_mlp_forward(int isa, long rows, int count, const gan_mlp_layer *layers, const float *x, float *hidden, float *y) {
#if defined(__x86_64__)
    if (isa == 2) gan_mlp_forward_avx512(rows, count, layers, x, hidden, y);
    if (isa == 1) gan_mlp_forward_avx2(rows, count, layers, x, hidden, y);
#endif
}

void gan_mlp_backward(int isa, long rows, int count, const gan_mlp_layer *layers, const float *x, const float *hidden,
                      const float *y, const float *dy, int params, float *dx, float *scratch) {
#if defined(__x86_64__)
    if (isa == 2) gan_mlp_backward_avx512(rows, count, layers, x, hidden, y, dy, params, dx, scratch);
    if (isa == 1) gan_mlp_backward_avx2(rows, count, layers, x, hidden, y, dy, params, dx, scratch);
#endif
}
#endif
