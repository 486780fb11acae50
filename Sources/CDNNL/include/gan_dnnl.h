// A 2-D (transposed) convolution on oneDNN (Debian's libdnnl 2.6), in the engine's layouts: images
// NCHW, Conv2d weights [C_out, C_in, k, k] (oihw), ConvTranspose2d weights [C_in, C_out, k, k]
// (PyTorch's layout, oneDNN's iohw). Each primitive may prefer a blocked layout for its tensors;
// the data are reordered into it and back inside the calls, so callers only see plain arrays.
//
// One gan_conv serves one batch size and one thread at a time (it owns its stream and buffers).
// oneDNN's own threading is set to one thread (gan_dnnl_init): the engine splits a batch over its
// compute threads itself, one gan_conv per chunk.
#ifndef SWIFTGAN_DNNL_H
#define SWIFTGAN_DNNL_H

#include <stddef.h>

typedef struct gan_conv gan_conv;

/// Prepares oneDNN: its CPU engine, and one OpenMP thread (no thread pool of its own). Returns 0,
/// or -1 with a message in `error` when oneDNN cannot run here.
int gan_dnnl_init(char *error, size_t error_length);

/// The instruction set oneDNN's kernels use on this CPU, e.g. "avx512_core" or "avx2".
const char *gan_dnnl_isa(void);

/// Whether oneDNN's kernels here are AVX-512 ones (or newer).
int gan_dnnl_has_avx512(void);

/// Row-major `C[m, n] = alpha op(A) op(B) + beta C` (op(X) = X or Xᵀ, leading dimensions as in
/// cblas_sgemm) on the calling thread with oneDNN's matmul primitive. Each thread keeps its own
/// primitives (a bounded cache keyed by the call's shape, leading dimensions, alpha and beta), its
/// own stream and its own scratchpad, so concurrent calls from different threads never share one;
/// the same shape always runs the same kernel, so the bits depend only on the arguments. Returns 0,
/// 1 when oneDNN has no matmul for this call (the caller computes it another way; the answer is the
/// same for every later call of that shape), or -1 when a kernel failed to run.
int gan_matmul(int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
               const float *b, long ldb, float beta, float *c, long ldc);

/// A convolution (transposed = 0) or transposed convolution (transposed = 1) of `batch` images
/// [C_in, height, width], square kernel k, stride s, padding p, with or without a bias. NULL on
/// failure, with the reason in `error`.
gan_conv *gan_conv_create(int transposed, int batch, int in_channels, int height, int width, int out_channels,
                          int kernel, int stride, int padding, int has_bias, char *error, size_t error_length);
void gan_conv_destroy(gan_conv *conv);

/// Bytes of temporary memory a pass needs (the tensors in oneDNN's layouts and its scratchpad):
/// every pass below takes a `workspace` of at least this size, 64-byte aligned, used only during
/// the call.
size_t gan_conv_workspace_size(gan_conv *conv);

/// dst = conv(src, weights) + bias (bias NULL when the layer has none). 0 on success.
/// `blocked` flags of a pass: its input side (src, diff_src) / output side (dst, diff_dst) is in
/// the blocked layout `gan_conv_blocking` reports, read and written in place without a reorder.
enum { GAN_CONV_INPUT_BLOCKED = 1, GAN_CONV_OUTPUT_BLOCKED = 2 };

int gan_conv_forward(gan_conv *conv, const float *src, const float *weights, const float *bias, float *dst, void *workspace,
                     unsigned blocked);
int gan_conv_backward_data(gan_conv *conv, const float *diff_dst, const float *weights, float *diff_src, void *workspace,
                           unsigned blocked);
int gan_conv_backward_weights(gan_conv *conv, const float *src, const float *diff_dst, float *diff_weights, float *diff_bias,
                              void *workspace, unsigned blocked);

/// Both backward passes: the weights pass reads diff_dst at `diff_dst_weights` with flags
/// `blocked_weights`, the data pass at `diff_dst_data` with `blocked_data` (the same dy, in the
/// layouts the passes take it in).
int gan_conv_backward(gan_conv *conv, const float *src, const float *diff_dst_weights, const float *diff_dst_data,
                      const float *weights, float *diff_src, float *diff_weights, float *diff_bias, void *workspace,
                      unsigned blocked_weights, unsigned blocked_data);

/// Channels per block (8 or 16) of oneDNN's nChw8c / nChw16c layout that pass `pass` (0 forward,
/// 1 backward data, 2 backward weights) of `conv` uses on its input side (`output_side` 0: src or
/// diff_src) or output side (1: dst or diff_dst), or 0 (plain NCHW or another layout).
int gan_conv_blocking(gan_conv *conv, int pass, int output_side);

/// Copies a batch [n, c, h, w] between plain NCHW and nChw{block}c (`to_blocked` 1: plain ->
/// blocked), c a multiple of `block` (8 or 16), with oneDNN's reorder (cached per thread).
int gan_reorder(int n, int c, int h, int w, int block, int to_blocked, const float *src, float *dst);

int gan_conv_shares_diff_dst(gan_conv *conv);

const char *gan_conv_implementation(gan_conv *conv, int pass);

#endif
