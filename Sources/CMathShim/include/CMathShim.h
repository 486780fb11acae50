#ifndef CMATHSHIM_H
#define CMATHSHIM_H

/// sin(x) and cos(x) from one call of glibc's sincos (a GNU extension Swift's Glibc module does
/// not export). glibc computes both with the same code as sin() and cos(): the bits are equal
/// (RNGTests checks it), at about half the cost of the two calls.
void gan_sincos(double x, double *s, double *c);

#include <stddef.h>
#include <stdint.h>

/// Box-Muller for `pairs` pairs of words (b1, b2) = (words[2k], words[2k + 1]): out[2k] =
/// (float)(r cos θ), out[2k + 1] = (float)(r sin θ) with u1 = ((b1 >> 11) + 1) 2^-53,
/// u2 = (b2 >> 11) 2^-53, r = sqrt(-2 log u1), θ = 2π u2, bit for bit the values of glibc's log and
/// sincos, computed eight pairs at a time with AVX-512, four otherwise (boxmuller.c says how the
/// bits are guaranteed).
void gan_box_muller(const uint64_t *words, size_t pairs, float *out);

/// gan_box_muller's baseline (SSE2) copy, which it uses on a CPU without AVX2 and FMA; for tests.
void gan_box_muller_baseline(const uint64_t *words, size_t pairs, float *out);

/// For tests: gan_box_muller through one of its copies, 0 baseline, 1 AVX2 + FMA (four pairs at a
/// time), 2 AVX-512 (eight); returns 0 without writing when this CPU cannot run that copy.
int gan_box_muller_copy(int copy, const uint64_t *words, size_t pairs, float *out);

/// For tests: whether the vector path keeps an approximation z of r cos θ or r sin θ (1), or
/// recomputes the pair with glibc (0) because a double within |z| 2^-40 + r 2^-44 of z rounds to
/// another float, or z is 0.
int gan_box_muller_settled(double z, double r);

/// For tests: the vector path's log(u1), sin θ and cos θ before any rounding to float.
void gan_box_muller_approximations(const uint64_t *words, size_t pairs, double *logs, double *sines, double *cosines);

/// A chunk of a `gan_pool_run` job: `fn(ctx, chunk)`.
typedef void (*gan_pool_fn)(void *ctx, long chunk);

/// The compute pool takes part with `threads - 1` worker threads (created on first need, kept).
void gan_pool_set_threads(int threads);

/// Runs `fn(ctx, c)` for every c in 0..<chunks, on the pool's workers and the calling thread, and
/// returns when all are done. Which thread runs a chunk is not fixed; callers give chunks disjoint
/// work. A call from inside a chunk, or while another thread's job runs, runs its chunks in order on
/// the calling thread.
void gan_pool_run(long chunks, gan_pool_fn fn, void *ctx);

/// Whether `gan_small_panels` can run here (the CPU has AVX-512 F).
int gan_small_panels_available(void);

/// SmallGEMM's panels (`SmallGEMM.panels` in SmallGEMMKernel.swift: C[m, n] = alpha · op(A) · op(B)
/// + beta · C_in with op(A)(i, p) = a[i·ars + p·acs], op(B) row p at b + p·ldb, C_in rows at
/// cin + i·ldcin) in 16-lane AVX-512 registers, with the Swift kernel's bits. mode 0: no sums;
/// 1: sums[i] += Σ_p op(A)(i, p); 2 (m = 1): sums[j] += Σ_p op(B)(p, j). Only where
/// `gan_small_panels_available()`. `act` maps every element of C as it is stored (the activation
/// of the layer after a Linear one): 0 none, 1 ReLU (v <= 0 ? 0 : v), 2 LeakyReLU with slope
/// `leak` (v > 0 ? v : leak · v) — the bits of the activation's own pass over C.
void gan_small_panels(long m, long n, long k, const float *a, long ars, long acs, const float *b, long ldb, float *c,
                      long ldc, float alpha, float beta, const float *cin, long ldcin, float *sums, int mode,
                      int act, float leak);

/// One Linear layer of a small MLP (`gan_mlp_forward`): W [out, in] row-major, b [out], the
/// activation after it (`act` as in `gan_small_panels`), and where backward adds dW and db.
typedef struct {
    int in, out;   // 1...16 each
    int act;
    float leak;
    const float *w, *b;
    float *dw, *db;
} gan_mlp_layer;

/// The copy of the 16-lane kernels below (`gan_mlp_forward`, `gan_mlp_backward`,
/// `gan_sigmoid_cross_entropy`) that runs here (simd16.c): 2 AVX-512 F, 1 AVX2, 0 none (Swift
/// code instead); SWIFTGAN_SIMD=avx2 or =none, read at the first call, lowers it.
int gan_simd16_isa(void);

/// The best copy the CPU can run, whatever SWIFTGAN_SIMD says (2, 1 or 0 as above).
int gan_simd16_cpu_isa(void);

/// A small MLP's forward pass (smallmlp.c; the bits of `Sequential` running the layers one by
/// one on SmallGEMM's panels): x [rows, layers[0].in] -> y [rows, layers[count-1].out], each
/// hidden layer's output kept in `hidden` (rows x 16 floats per layer but the last) for backward.
/// `isa`: the copy, 2 AVX-512 or 1 AVX2, one `gan_simd16_cpu_isa()` allows (another does nothing).
void gan_mlp_forward(int isa, long rows, int count, const gan_mlp_layer *layers, const float *x, float *hidden,
                     float *y);

/// The backward pass after `gan_mlp_forward` (same x, hidden, y): from dy [rows, out], with
/// `params` adds every layer's dW and db, with dx non-null writes dLoss/dx [rows, in] there.
/// `scratch`: 48 · rows floats, 64-byte aligned. `isa` as in `gan_mlp_forward`.
void gan_mlp_backward(int isa, long rows, int count, const gan_mlp_layer *layers, const float *x, const float *hidden,
                      const float *y, const float *dy, int params, float *dx, float *scratch);

/// `Loss.sigmoidCrossEntropy` on two runs of logits (softplus.c): l[0..<n1] against target t1 and
/// the n2 after them against t2 (n2 may be 0); g[i] = (σ(l[i]) - target) · scale of its run;
/// sums = {Σ softplus(l) - t1 · l, Σ σ(l)} of the first run, then of the second, each summed in
/// Double in order, with the bits of the Swift loop. `isa` as in `gan_mlp_forward`.
void gan_sigmoid_cross_entropy(int isa, const float *l, long n1, float t1, float scale1, long n2, float t2, float scale2,
                               float *g, double sums[4]);

/// y[i] = tanhf(x[i]) for i in 0..<n, with glibc's bits: sixteen lanes at a time where the CPU
/// has AVX-512 F (tanh.c), else glibc's tanhf itself.
void gan_tanhf(const float *x, float *y, size_t n);

#endif
