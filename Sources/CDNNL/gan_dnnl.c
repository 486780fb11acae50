#include "gan_dnnl.h"

#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void omp_set_num_threads(int);

static dnnl_engine_t engine;

/// oneDNN runs its kernels in OpenMP parallel regions. omp_set_num_threads sets the calling
/// thread's team size only (libgomp keeps it per thread; threads OpenMP did not create start from
/// the global default, one per core), so every thread that calls oneDNN sets it to one first:
/// otherwise a compute thread of the engine would start a team of its own beside the others.
static _Thread_local int omp_single;

static void single_omp_thread(void) {
    if (!omp_single) {
        omp_set_num_threads(1);
        omp_single = 1;
    }
}

int gan_dnnl_init(char *error, size_t error_length) {
    single_omp_thread();
    if (engine) return 0;
    dnnl_status_t s = dnnl_engine_create(&engine, dnnl_cpu, 0);
    if (s != dnnl_success) {
        snprintf(error, error_length, "oneDNN: no CPU engine (status %d)", (int)s);
        engine = NULL;
        return -1;
    }
    return 0;
}

const char *gan_dnnl_isa(void) {
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
    }
}

/// One tensor argument of a primitive: the plain layout the engine uses, the layout the primitive
/// wants, and, when they differ, a buffer in the primitive's layout and the reorder between them.
typedef struct {
    int id;                       // DNNL_ARG_*
    int output;                   // written by the primitive (reordered back to plain afterwards)
    dnnl_memory_t user;           // plain layout, data handle set per call
    dnnl_memory_t internal;       // the primitive's layout (== user when no reorder)
    dnnl_primitive_t reorder;     // user -> internal (input) or internal -> user (output); NULL if none
    size_t offset;                // of the internal buffer in the caller's workspace
} arg;

typedef struct {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t primitive;
    arg args[4];
    int count;
    dnnl_memory_t scratchpad;     // oneDNN's temporary memory, in the caller's workspace
    size_t scratchpad_offset;
    size_t workspace_bytes;       // internal buffers + scratchpad
} pass;

/// Workspace regions start at multiples of 64 bytes (oneDNN's alignment for vector loads).
static size_t aligned(size_t bytes) { return (bytes + 63) & ~(size_t)63; }

struct gan_conv {
    dnnl_stream_t stream;
    pass passes[3];               // forward, backward data, backward weights
    int has_bias;
    /// A transposed convolution's forward bias is added here (`add_channel_bias`), not by oneDNN:
    /// oneDNN 2.6 adds it after its kernel in a reference C++ loop (~1.7 ms of 5.9 per dcgan28
    /// 128->64 call on Zen 5), with the same single rounding per element.
    int own_forward_bias;
    int batch, channels, plane;   // the forward output's images, channels and height x width
    int in_channels, in_plane;    // the forward input's channels and height x width
    int block[3][2];              // gan_conv_blocking's answers per pass, input and output side
    /// Both backward passes want diff_dst in the same blocked layout (at workspace offset 0).
    int shared_diff_dst;
};

#define CHECK(call, what)                                                                       \
    do {                                                                                        \
        dnnl_status_t s_ = (call);                                                              \
        if (s_ != dnnl_success) {                                                               \
            snprintf(error, error_length, "oneDNN: %s failed (status %d)", what, (int)s_);       \
            return -1;                                                                          \
        }                                                                                       \
    } while (0)

static void release_pass(pass *p) {
    for (int i = 0; i < p->count; i++) {
        arg *a = &p->args[i];
        if (a->reorder) dnnl_primitive_destroy(a->reorder);
        if (a->internal && a->internal != a->user) dnnl_memory_destroy(a->internal);
        if (a->user) dnnl_memory_destroy(a->user);
    }
    if (p->scratchpad) dnnl_memory_destroy(p->scratchpad);
    if (p->primitive) dnnl_primitive_destroy(p->primitive);
    if (p->pd) dnnl_primitive_desc_destroy(p->pd);
    memset(p, 0, sizeof *p);
}

/// Adds argument `id` of plain layout `plain` to pass `p`, in the layout the primitive chose
/// (queried with `query`), with a buffer and a reorder when it is not the plain one.
static int add_arg(pass *p, int id, int output, const dnnl_memory_desc_t *plain, dnnl_query_t query,
                   char *error, size_t error_length) {
    arg *a = &p->args[p->count++];
    a->id = id;
    a->output = output;
    // Biases are 1-D and always plain (queried as dnnl_query_undef).
    const dnnl_memory_desc_t *chosen = query == dnnl_query_undef ? NULL : dnnl_primitive_desc_query_md(p->pd, query, 0);
    CHECK(dnnl_memory_create(&a->user, plain, engine, DNNL_MEMORY_NONE), "memory_create");
    if (!chosen || dnnl_memory_desc_equal(chosen, plain)) {
        a->internal = a->user;
        return 0;
    }
    // The buffer in the primitive's layout lives in the caller's workspace for one call only, so a
    // network holds the largest pass's buffers rather than every layer's.
    CHECK(dnnl_memory_create(&a->internal, chosen, engine, DNNL_MEMORY_NONE), "memory_create");
    a->offset = p->workspace_bytes;
    p->workspace_bytes += aligned(dnnl_memory_desc_get_size(chosen));
    dnnl_primitive_desc_t rpd;
    if (output) {
        CHECK(dnnl_reorder_primitive_desc_create(&rpd, chosen, engine, plain, engine, NULL), "reorder");
    } else {
        CHECK(dnnl_reorder_primitive_desc_create(&rpd, plain, engine, chosen, engine, NULL), "reorder");
    }
    dnnl_status_t s = dnnl_primitive_create(&a->reorder, rpd);
    dnnl_primitive_desc_destroy(rpd);
    CHECK(s, "reorder primitive");
    return 0;
}

static int finish_pass(pass *p, const void *op_desc, const_dnnl_primitive_desc_t hint, char *error, size_t error_length) {
    // The scratchpad is the caller's too (user mode) rather than a buffer kept per primitive.
    dnnl_primitive_attr_t attr;
    CHECK(dnnl_primitive_attr_create(&attr), "primitive_attr_create");
    dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    dnnl_status_t s = dnnl_primitive_desc_create(&p->pd, op_desc, attr, engine, hint);
    dnnl_primitive_attr_destroy(attr);
    CHECK(s, "primitive_desc_create");
    CHECK(dnnl_primitive_create(&p->primitive, p->pd), "primitive_create");
    const dnnl_memory_desc_t *scratch = dnnl_primitive_desc_query_md(p->pd, dnnl_query_scratchpad_md, 0);
    if (scratch && dnnl_memory_desc_get_size(scratch) > 0) {
        CHECK(dnnl_memory_create(&p->scratchpad, scratch, engine, DNNL_MEMORY_NONE), "scratchpad memory");
    }
    return 0;
}

/// Places the scratchpad after the arguments' buffers (`add_arg` lays those out from offset 0
/// in the order they are added).
static void place_scratchpad(pass *p) {
    if (!p->scratchpad) return;
    p->scratchpad_offset = p->workspace_bytes;
    p->workspace_bytes += aligned(dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(p->pd, dnnl_query_scratchpad_md, 0)));
}

/// Runs pass `p` on the arguments at `pointers` (NULL: argument not given). An input argument
/// whose bit is set in `ready` is already in its buffer in the primitive's layout (a previous pass
/// of this call put it there) and is not reordered again. An argument whose bit is set in `direct`
/// is at its pointer in the primitive's layout already (the caller keeps the blocked layout
/// `gan_conv_blocking` reports): it is read or written there, with no reorder.
static int run_pass(gan_conv *c, pass *p, const void *const *pointers, char *workspace, unsigned ready, unsigned direct) {
    single_omp_thread();
    dnnl_exec_arg_t exec[5];
    for (int i = 0; i < p->count; i++) {
        arg *a = &p->args[i];
        if (!pointers[i]) { exec[i].arg = a->id; exec[i].memory = NULL; continue; }
        if (direct & (1u << i)) {
            if (dnnl_memory_set_data_handle(a->internal, (void *)pointers[i]) != dnnl_success) return -1;
            exec[i].arg = a->id;
            exec[i].memory = a->internal;
            continue;
        }
        if (dnnl_memory_set_data_handle(a->user, (void *)pointers[i]) != dnnl_success) return -1;
        if (a->internal != a->user && dnnl_memory_set_data_handle(a->internal, workspace + a->offset) != dnnl_success) return -1;
        if (a->reorder && !a->output && !(ready & (1u << i))) {
            dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, a->user}, {DNNL_ARG_TO, a->internal}};
            if (dnnl_primitive_execute(a->reorder, c->stream, 2, r) != dnnl_success) return -1;
        }
        exec[i].arg = a->id;
        exec[i].memory = a->internal;
    }
    int n = 0;
    for (int i = 0; i < p->count; i++) if (exec[i].memory) exec[n++] = exec[i];
    if (p->scratchpad) {
        if (dnnl_memory_set_data_handle(p->scratchpad, workspace + p->scratchpad_offset) != dnnl_success) return -1;
        exec[n].arg = DNNL_ARG_SCRATCHPAD;
        exec[n++].memory = p->scratchpad;
    }
    if (dnnl_primitive_execute(p->primitive, c->stream, n, exec) != dnnl_success) return -1;
    for (int i = 0; i < p->count; i++) {
        arg *a = &p->args[i];
        if (pointers[i] && a->reorder && a->output && !(direct & (1u << i))) {
            dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, a->internal}, {DNNL_ARG_TO, a->user}};
            if (dnnl_primitive_execute(a->reorder, c->stream, 2, r) != dnnl_success) return -1;
        }
    }
    return dnnl_stream_wait(c->stream) == dnnl_success ? 0 : -1;
}

/// 8 or 16 when the argument's layout in its pass is oneDNN's nChw8c / nChw16c and the channels
/// fill whole blocks (then a tensor in that layout has the plain one's size); 0 otherwise.
static int arg_block(const dnnl_dim_t *dims, const arg *a) {
    static const struct { int block; dnnl_format_tag_t tag; } kinds[] = {{16, dnnl_nChw16c}, {8, dnnl_nChw8c}};
    const dnnl_memory_desc_t *md;
    if (dnnl_memory_get_memory_desc(a->internal, &md) != dnnl_success) return 0;
    for (int k = 0; k < 2; k++) {
        if (dims[1] % kinds[k].block) continue;
        dnnl_memory_desc_t blocked;
        if (dnnl_memory_desc_init_by_tag(&blocked, 4, dims, dnnl_f32, kinds[k].tag) != dnnl_success) return 0;
        if (dnnl_memory_desc_equal(md, &blocked)) return kinds[k].block;
    }
    return 0;
}

static int build(gan_conv *c, int transposed, int n, int ci, int h, int w, int co, int k, int st, int pad,
                 char *error, size_t error_length) {
    int oh = transposed ? (h - 1) * st - 2 * pad + k : (h + 2 * pad - k) / st + 1;
    int ow = transposed ? (w - 1) * st - 2 * pad + k : (w + 2 * pad - k) / st + 1;
    dnnl_dims_t src_dims = {n, ci, h, w}, dst_dims = {n, co, oh, ow}, bias_dims = {co};
    dnnl_dims_t wei_dims = {co, ci, k, k};  // oneDNN's (O, I, H, W) for both kinds
    dnnl_dims_t strides = {st, st}, padding = {pad, pad};
    dnnl_memory_desc_t src_plain, dst_plain, wei_plain, bias_md, src_any, dst_any, wei_any;
    CHECK(dnnl_memory_desc_init_by_tag(&src_plain, 4, src_dims, dnnl_f32, dnnl_nchw), "src desc");
    CHECK(dnnl_memory_desc_init_by_tag(&dst_plain, 4, dst_dims, dnnl_f32, dnnl_nchw), "dst desc");
    CHECK(dnnl_memory_desc_init_by_tag(&wei_plain, 4, wei_dims, dnnl_f32, transposed ? dnnl_iohw : dnnl_oihw), "weights desc");
    CHECK(dnnl_memory_desc_init_by_tag(&bias_md, 1, bias_dims, dnnl_f32, dnnl_a), "bias desc");
    // Blocked layouts where oneDNN wants them, except for images of few channels (G's output, D's
    // input): padded to a block of 16 channels they take up to 16x the memory and run many times
    // slower than plain NCHW, which oneDNN has kernels for (platform notes §9).
    CHECK(dnnl_memory_desc_init_by_tag(&src_any, 4, src_dims, dnnl_f32, ci < 8 ? dnnl_nchw : dnnl_format_tag_any), "src desc");
    CHECK(dnnl_memory_desc_init_by_tag(&dst_any, 4, dst_dims, dnnl_f32, co < 8 ? dnnl_nchw : dnnl_format_tag_any), "dst desc");
    CHECK(dnnl_memory_desc_init_by_tag(&wei_any, 4, wei_dims, dnnl_f32, dnnl_format_tag_any), "weights desc");
    const dnnl_memory_desc_t *bias = c->has_bias ? &bias_md : NULL;

    pass *f = &c->passes[0], *bd = &c->passes[1], *bw = &c->passes[2];
    c->batch = n;
    c->channels = co;
    c->plane = oh * ow;
    if (transposed) {
        dnnl_deconvolution_desc_t d;
        c->own_forward_bias = c->has_bias;
        CHECK(dnnl_deconvolution_forward_desc_init(&d, dnnl_forward_training, dnnl_deconvolution_direct, &src_any, &wei_any,
                                                   NULL, &dst_any, strides, padding, padding), "deconvolution forward desc");
        if (finish_pass(f, &d, NULL, error, error_length)) return -1;
        CHECK(dnnl_deconvolution_backward_data_desc_init(&d, dnnl_deconvolution_direct, &src_any, &wei_any, &dst_any,
                                                         strides, padding, padding), "deconvolution backward data desc");
        if (finish_pass(bd, &d, f->pd, error, error_length)) return -1;
        CHECK(dnnl_deconvolution_backward_weights_desc_init(&d, dnnl_deconvolution_direct, &src_any, &wei_any, bias, &dst_any,
                                                            strides, padding, padding), "deconvolution backward weights desc");
        if (finish_pass(bw, &d, f->pd, error, error_length)) return -1;
    } else {
        dnnl_convolution_desc_t d;
        CHECK(dnnl_convolution_forward_desc_init(&d, dnnl_forward_training, dnnl_convolution_direct, &src_any, &wei_any,
                                                 bias, &dst_any, strides, padding, padding), "convolution forward desc");
        if (finish_pass(f, &d, NULL, error, error_length)) return -1;
        CHECK(dnnl_convolution_backward_data_desc_init(&d, dnnl_convolution_direct, &src_any, &wei_any, &dst_any,
                                                       strides, padding, padding), "convolution backward data desc");
        if (finish_pass(bd, &d, f->pd, error, error_length)) return -1;
        CHECK(dnnl_convolution_backward_weights_desc_init(&d, dnnl_convolution_direct, &src_any, &wei_any, bias, &dst_any,
                                                          strides, padding, padding), "convolution backward weights desc");
        if (finish_pass(bw, &d, f->pd, error, error_length)) return -1;
    }
    if (add_arg(f, DNNL_ARG_SRC, 0, &src_plain, dnnl_query_src_md, error, error_length)
        || add_arg(f, DNNL_ARG_WEIGHTS, 0, &wei_plain, dnnl_query_weights_md, error, error_length)
        || add_arg(f, DNNL_ARG_BIAS, 0, &bias_md, dnnl_query_undef, error, error_length)
        || add_arg(f, DNNL_ARG_DST, 1, &dst_plain, dnnl_query_dst_md, error, error_length)) return -1;
    if (add_arg(bd, DNNL_ARG_DIFF_DST, 0, &dst_plain, dnnl_query_diff_dst_md, error, error_length)
        || add_arg(bd, DNNL_ARG_WEIGHTS, 0, &wei_plain, dnnl_query_weights_md, error, error_length)
        || add_arg(bd, DNNL_ARG_DIFF_SRC, 1, &src_plain, dnnl_query_diff_src_md, error, error_length)) return -1;
    if (add_arg(bw, DNNL_ARG_DIFF_DST, 0, &dst_plain, dnnl_query_diff_dst_md, error, error_length)
        || add_arg(bw, DNNL_ARG_SRC, 0, &src_plain, dnnl_query_src_md, error, error_length)
        || add_arg(bw, DNNL_ARG_DIFF_WEIGHTS, 1, &wei_plain, dnnl_query_diff_weights_md, error, error_length)
        || add_arg(bw, DNNL_ARG_DIFF_BIAS, 1, &bias_md, dnnl_query_undef, error, error_length)) return -1;
    for (int i = 0; i < 3; i++) place_scratchpad(&c->passes[i]);
    c->in_channels = ci;
    c->in_plane = h * w;
    c->block[0][0] = arg_block(src_dims, &f->args[0]);
    c->block[0][1] = arg_block(dst_dims, &f->args[3]);
    c->block[1][0] = arg_block(src_dims, &bd->args[2]);
    c->block[1][1] = arg_block(dst_dims, &bd->args[0]);
    c->block[2][0] = arg_block(src_dims, &bw->args[1]);
    c->block[2][1] = arg_block(dst_dims, &bw->args[0]);
    // Both backward passes take diff_dst first, so a reordered diff_dst sits at offset 0 of the
    // workspace in each: where both chose the same layout, `gan_conv_backward` reorders it once.
    const arg *bdDiff = &bd->args[0], *bwDiff = &bw->args[0];
    c->shared_diff_dst = bdDiff->reorder && bwDiff->reorder && bdDiff->offset == 0 && bwDiff->offset == 0
        && dnnl_memory_desc_equal(dnnl_primitive_desc_query_md(bd->pd, dnnl_query_diff_dst_md, 0),
                                  dnnl_primitive_desc_query_md(bw->pd, dnnl_query_diff_dst_md, 0));
    return 0;
}

gan_conv *gan_conv_create(int transposed, int batch, int in_channels, int height, int width, int out_channels,
                          int kernel, int stride, int padding, int has_bias, char *error, size_t error_length) {
    if (gan_dnnl_init(error, error_length)) return NULL;   // also one OpenMP thread on this thread
    gan_conv *c = calloc(1, sizeof *c);
    if (!c) { snprintf(error, error_length, "oneDNN: out of memory"); return NULL; }
    c->has_bias = has_bias;
    if (dnnl_stream_create(&c->stream, engine, dnnl_stream_default_flags) != dnnl_success) {
        snprintf(error, error_length, "oneDNN: stream_create failed");
        free(c);
        return NULL;
    }
    if (build(c, transposed, batch, in_channels, height, width, out_channels, kernel, stride, padding, error, error_length)) {
        gan_conv_destroy(c);
        return NULL;
    }
    return c;
}

void gan_conv_destroy(gan_conv *c) {
    if (!c) return;
    for (int i = 0; i < 3; i++) release_pass(&c->passes[i]);
    if (c->stream) dnnl_stream_destroy(c->stream);
    free(c);
}

size_t gan_conv_workspace_size(gan_conv *c) {
    size_t most = 0;
    for (int i = 0; i < 3; i++) if (c->passes[i].workspace_bytes > most) most = c->passes[i].workspace_bytes;
    return most;
}

/// dst[n, ch, :] += bias[ch] over a batch of `rows` images, plain NCHW (`block` 0) or in
/// nChw{block}c: the same one addition per element either way.
static void add_channel_bias(float *dst, const float *bias, size_t rows, int channels, int plane, int block) {
    if (block) {
        size_t blocks = (size_t)(channels / block);
        for (size_t n = 0; n < rows; n++) {
            for (size_t cb = 0; cb < blocks; cb++) {
                const float *b = bias + cb * (size_t)block;
                float *d = dst + (n * blocks + cb) * (size_t)plane * (size_t)block;
                for (int i = 0; i < plane; i++, d += block)
                    for (int j = 0; j < block; j++) d[j] += b[j];
            }
        }
        return;
    }
    for (size_t n = 0; n < rows; n++) {
        for (int ch = 0; ch < channels; ch++) {
            float b = bias[ch];
            float *d = dst + (n * (size_t)channels + (size_t)ch) * (size_t)plane;
            for (int i = 0; i < plane; i++) d[i] += b;
        }
    }
}

/// The `direct` mask of a pass from `blocked` (GAN_CONV_INPUT_BLOCKED, GAN_CONV_OUTPUT_BLOCKED):
/// the bits of the pass's input-side and output-side arguments.
static unsigned direct_mask(unsigned blocked, int input_arg, int output_arg) {
    return ((blocked & GAN_CONV_INPUT_BLOCKED) ? 1u << input_arg : 0) | ((blocked & GAN_CONV_OUTPUT_BLOCKED) ? 1u << output_arg : 0);
}

int gan_conv_forward(gan_conv *c, const float *src, const float *weights, const float *bias, float *dst, void *workspace,
                     unsigned blocked) {
    const void *p[4] = {src, weights, c->has_bias && !c->own_forward_bias ? bias : NULL, dst};
    int status = run_pass(c, &c->passes[0], p, workspace, 0, direct_mask(blocked, 0, 3));
    if (status == 0 && c->own_forward_bias && bias) {
        add_channel_bias(dst, bias, (size_t)c->batch, c->channels, c->plane, (blocked & GAN_CONV_OUTPUT_BLOCKED) ? c->block[0][1] : 0);
    }
    return status;
}

int gan_conv_backward_data(gan_conv *c, const float *diff_dst, const float *weights, float *diff_src, void *workspace,
                           unsigned blocked) {
    const void *p[3] = {diff_dst, weights, diff_src};
    return run_pass(c, &c->passes[1], p, workspace, 0, direct_mask(blocked, 2, 0));
}

int gan_conv_backward_weights(gan_conv *c, const float *src, const float *diff_dst, float *diff_weights, float *diff_bias,
                              void *workspace, unsigned blocked) {
    const void *p[4] = {diff_dst, src, diff_weights, c->has_bias ? diff_bias : NULL};
    return run_pass(c, &c->passes[2], p, workspace, 0, direct_mask(blocked, 1, 0));
}

int gan_conv_backward(gan_conv *c, const float *src, const float *diff_dst_weights, const float *diff_dst_data,
                      const float *weights, float *diff_src, float *diff_weights, float *diff_bias, void *workspace,
                      unsigned blocked_weights, unsigned blocked_data) {
    const void *w[4] = {diff_dst_weights, src, diff_weights, c->has_bias ? diff_bias : NULL};
    if (run_pass(c, &c->passes[2], w, workspace, 0, direct_mask(blocked_weights, 1, 0))) return -1;
    const void *d[3] = {diff_dst_data, weights, diff_src};
    // dy was reordered into offset 0 by the weights pass only if neither pass read it in place.
    int reordered = c->shared_diff_dst && !((blocked_weights | blocked_data) & GAN_CONV_OUTPUT_BLOCKED) && d[0] == w[0];
    return run_pass(c, &c->passes[1], d, workspace, reordered ? 1u : 0u, direct_mask(blocked_data, 2, 0));
}

int gan_conv_blocking(gan_conv *c, int pass, int output_side) {
    if (pass < 0 || pass > 2) return 0;
    return c->block[pass][output_side ? 1 : 0];
}

int gan_conv_shares_diff_dst(gan_conv *c) { return c->shared_diff_dst; }

const char *gan_conv_implementation(gan_conv *c, int pass_index) {
    const char *info = NULL;
    if (pass_index < 0 || pass_index > 2 || !c->passes[pass_index].pd) return "";
    dnnl_primitive_desc_query(c->passes[pass_index].pd, dnnl_query_impl_info_str, 0, &info);
    return info ? info : "";
}

int gan_dnnl_has_avx512(void) {
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_avx512_core: case dnnl_cpu_isa_avx512_core_vnni:
    case dnnl_cpu_isa_avx512_core_bf16: case dnnl_cpu_isa_avx512_core_amx:
        return 1;
    default:
        return 0;
    }
}

// ---- Matrix products: oneDNN's matmul primitive, cached per thread ----

/// One cached matmul: the call's shape and its primitive, with memory objects whose data handles
/// are set per call (so an entry belongs to one thread).
typedef struct {
    int trans_a, trans_b;
    long m, n, k, lda, ldb, ldc;
    float alpha, beta;
    int unsupported;              // oneDNN has no matmul for this call: answer 1 at once
    dnnl_primitive_t primitive;
    dnnl_memory_t a, b, c, scratchpad;
    size_t scratchpad_bytes;
    unsigned long last_use;
} matmul_entry;

/// Distinct products one thread keeps: a training step has about 20 (mlp_gan's 21 GEMMs at both
/// thread counts), serving one per layer and chunk size; the least recently used entry goes first,
/// and building it again hits oneDNN's own primitive cache.
enum { MATMUL_CACHE = 64 };

/// One cached layout copy (`gan_reorder`), memory handles set per call like a matmul entry's.
typedef struct {
    int n, c, h, w, block, to_blocked;
    dnnl_primitive_t primitive;
    dnnl_memory_t src, dst;
    unsigned long last_use;
} reorder_entry;

enum { REORDER_CACHE = 16 };

typedef struct {
    dnnl_stream_t stream;
    reorder_entry reorders[REORDER_CACHE];
    int reorder_count;
    matmul_entry entries[MATMUL_CACHE];
    int count;
    unsigned long clock;
    void *scratchpad;
    size_t scratchpad_capacity;
} matmul_cache;

static _Thread_local matmul_cache *thread_cache;

static void release_entry(matmul_entry *e) {
    if (e->primitive) dnnl_primitive_destroy(e->primitive);
    if (e->a) dnnl_memory_destroy(e->a);
    if (e->b) dnnl_memory_destroy(e->b);
    if (e->c) dnnl_memory_destroy(e->c);
    if (e->scratchpad) dnnl_memory_destroy(e->scratchpad);
    memset(e, 0, sizeof *e);
}

/// A thread's cache goes with the thread (a pthread key's destructor): threads that come and go
/// (a dispatch queue's workers, a server's tasks) would otherwise each leave one behind.
static pthread_key_t cache_key;
static pthread_once_t cache_key_once = PTHREAD_ONCE_INIT;

static void release_reorder(reorder_entry *e) {
    if (e->primitive) dnnl_primitive_destroy(e->primitive);
    if (e->src) dnnl_memory_destroy(e->src);
    if (e->dst) dnnl_memory_destroy(e->dst);
    memset(e, 0, sizeof *e);
}

static void release_cache(void *p) {
    matmul_cache *cache = p;
    for (int i = 0; i < cache->count; i++) release_entry(&cache->entries[i]);
    for (int i = 0; i < cache->reorder_count; i++) release_reorder(&cache->reorders[i]);
    if (cache->stream) dnnl_stream_destroy(cache->stream);
    free(cache->scratchpad);
    free(cache);
    thread_cache = NULL;
}

static void make_cache_key(void) { pthread_key_create(&cache_key, release_cache); }

/// A [rows, cols] matrix stored row-major with row stride `ld`, or, transposed, stored [cols, rows].
static dnnl_status_t matrix_desc(dnnl_memory_desc_t *d, long rows, long cols, int transposed, long ld) {
    dnnl_dims_t dims = {rows, cols};
    dnnl_dims_t strides = {transposed ? 1 : ld, transposed ? ld : 1};
    return dnnl_memory_desc_init_by_strides(d, 2, dims, dnnl_f32, strides);
}

static int build_entry(matmul_entry *e) {
    dnnl_memory_desc_t a, b, c;
    if (matrix_desc(&a, e->m, e->k, e->trans_a, e->lda) != dnnl_success
        || matrix_desc(&b, e->k, e->n, e->trans_b, e->ldb) != dnnl_success
        || matrix_desc(&c, e->m, e->n, 0, e->ldc) != dnnl_success) return -1;
    dnnl_matmul_desc_t desc;
    if (dnnl_matmul_desc_init(&desc, &a, &b, NULL, &c) != dnnl_success) return -1;
    dnnl_primitive_attr_t attr;
    if (dnnl_primitive_attr_create(&attr) != dnnl_success) return -1;
    dnnl_post_ops_t post_ops = NULL;
    int ok = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) == dnnl_success
        && (e->alpha == 1 || dnnl_primitive_attr_set_output_scales(attr, 1, 0, &e->alpha) == dnnl_success);
    if (ok && e->beta != 0) {
        ok = dnnl_post_ops_create(&post_ops) == dnnl_success
            && dnnl_post_ops_append_sum(post_ops, e->beta) == dnnl_success
            && dnnl_primitive_attr_set_post_ops(attr, post_ops) == dnnl_success;
    }
    dnnl_primitive_desc_t pd = NULL;
    if (ok) ok = dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL) == dnnl_success;
    if (post_ops) dnnl_post_ops_destroy(post_ops);
    dnnl_primitive_attr_destroy(attr);
    if (!ok) return -1;
    const dnnl_memory_desc_t *scratch = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    e->scratchpad_bytes = scratch ? dnnl_memory_desc_get_size(scratch) : 0;
    ok = dnnl_primitive_create(&e->primitive, pd) == dnnl_success
        && dnnl_memory_create(&e->a, &a, engine, DNNL_MEMORY_NONE) == dnnl_success
        && dnnl_memory_create(&e->b, &b, engine, DNNL_MEMORY_NONE) == dnnl_success
        && dnnl_memory_create(&e->c, &c, engine, DNNL_MEMORY_NONE) == dnnl_success
        && (e->scratchpad_bytes == 0
            || dnnl_memory_create(&e->scratchpad, scratch, engine, DNNL_MEMORY_NONE) == dnnl_success);
    dnnl_primitive_desc_destroy(pd);
    return ok ? 0 : -1;
}

/// The calling thread's cache, made on first use (NULL when out of memory or without oneDNN).
static matmul_cache *this_thread_cache(void) {
    // Before any primitive is made: a primitive takes its thread count from its creator (and
    // oneDNN's primitive cache shares it with later creators).
    single_omp_thread();
    if (!engine) {
        char error[128];
        if (gan_dnnl_init(error, sizeof error)) return NULL;
    }
    matmul_cache *cache = thread_cache;
    if (!cache) {
        cache = calloc(1, sizeof *cache);
        if (!cache) return NULL;
        if (dnnl_stream_create(&cache->stream, engine, dnnl_stream_default_flags) != dnnl_success) {
            free(cache);
            return NULL;
        }
        thread_cache = cache;
        pthread_once(&cache_key_once, make_cache_key);
        pthread_setspecific(cache_key, cache);
    }
    cache->clock++;
    return cache;
}

/// The calling thread's entry for this call, built on first use (NULL when out of memory).
static matmul_entry *matmul_lookup(int ta, int tb, long m, long n, long k, long lda, long ldb, long ldc,
                                   float alpha, float beta) {
    matmul_cache *cache = this_thread_cache();
    if (!cache) return NULL;
    for (int i = 0; i < cache->count; i++) {
        matmul_entry *e = &cache->entries[i];
        if (e->trans_a == ta && e->trans_b == tb && e->m == m && e->n == n && e->k == k && e->lda == lda
            && e->ldb == ldb && e->ldc == ldc && e->alpha == alpha && e->beta == beta) {
            e->last_use = cache->clock;
            return e;
        }
    }
    matmul_entry *slot;
    if (cache->count < MATMUL_CACHE) {
        slot = &cache->entries[cache->count++];
    } else {
        slot = &cache->entries[0];
        for (int i = 1; i < MATMUL_CACHE; i++)
            if (cache->entries[i].last_use < slot->last_use) slot = &cache->entries[i];
        release_entry(slot);
    }
    const matmul_entry key = {.trans_a = ta, .trans_b = tb, .m = m, .n = n, .k = k, .lda = lda, .ldb = ldb,
                              .ldc = ldc, .alpha = alpha, .beta = beta, .last_use = cache->clock};
    *slot = key;
    if (build_entry(slot)) {
        release_entry(slot);
        *slot = key;
        slot->unsupported = 1;
    }
    return slot;
}

int gan_matmul(int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
               const float *b, long ldb, float beta, float *c, long ldc) {
    matmul_entry *e = matmul_lookup(trans_a, trans_b, m, n, k, lda, ldb, ldc, alpha, beta);
    if (!e) return -1;
    if (e->unsupported) return 1;
    matmul_cache *cache = thread_cache;
    if (e->scratchpad_bytes > cache->scratchpad_capacity) {
        void *grown = NULL;
        if (posix_memalign(&grown, 64, aligned(e->scratchpad_bytes))) return -1;
        free(cache->scratchpad);
        cache->scratchpad = grown;
        cache->scratchpad_capacity = e->scratchpad_bytes;
    }
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, e->a}, {DNNL_ARG_WEIGHTS, e->b}, {DNNL_ARG_DST, e->c},
                               {DNNL_ARG_SCRATCHPAD, e->scratchpad}};
    if (dnnl_memory_set_data_handle(e->a, (void *)a) != dnnl_success
        || dnnl_memory_set_data_handle(e->b, (void *)b) != dnnl_success
        || dnnl_memory_set_data_handle(e->c, c) != dnnl_success
        || (e->scratchpad && dnnl_memory_set_data_handle(e->scratchpad, cache->scratchpad) != dnnl_success)) return -1;
    if (dnnl_primitive_execute(e->primitive, cache->stream, e->scratchpad ? 4 : 3, args) != dnnl_success) return -1;
    return dnnl_stream_wait(cache->stream) == dnnl_success ? 0 : -1;
}

// ---- Layout copies between plain NCHW and oneDNN's blocked layouts ----

static int build_reorder(reorder_entry *e) {
    dnnl_dims_t dims = {e->n, e->c, e->h, e->w};
    dnnl_memory_desc_t plain, blocked;
    if (dnnl_memory_desc_init_by_tag(&plain, 4, dims, dnnl_f32, dnnl_nchw) != dnnl_success
        || dnnl_memory_desc_init_by_tag(&blocked, 4, dims, dnnl_f32, e->block == 16 ? dnnl_nChw16c : dnnl_nChw8c) != dnnl_success)
        return -1;
    const dnnl_memory_desc_t *from = e->to_blocked ? &plain : &blocked, *to = e->to_blocked ? &blocked : &plain;
    dnnl_primitive_desc_t pd;
    if (dnnl_reorder_primitive_desc_create(&pd, from, engine, to, engine, NULL) != dnnl_success) return -1;
    int ok = dnnl_primitive_create(&e->primitive, pd) == dnnl_success
        && dnnl_memory_create(&e->src, from, engine, DNNL_MEMORY_NONE) == dnnl_success
        && dnnl_memory_create(&e->dst, to, engine, DNNL_MEMORY_NONE) == dnnl_success;
    dnnl_primitive_desc_destroy(pd);
    return ok ? 0 : -1;
}

int gan_reorder(int n, int c, int h, int w, int block, int to_blocked, const float *src, float *dst) {
    if ((block != 8 && block != 16) || c % block) return -1;
    matmul_cache *cache = this_thread_cache();
    if (!cache) return -1;
    reorder_entry *e = NULL;
    for (int i = 0; i < cache->reorder_count && !e; i++) {
        reorder_entry *r = &cache->reorders[i];
        if (r->n == n && r->c == c && r->h == h && r->w == w && r->block == block && r->to_blocked == to_blocked) e = r;
    }
    if (!e) {
        if (cache->reorder_count < REORDER_CACHE) {
            e = &cache->reorders[cache->reorder_count++];
        } else {
            e = &cache->reorders[0];
            for (int i = 1; i < REORDER_CACHE; i++)
                if (cache->reorders[i].last_use < e->last_use) e = &cache->reorders[i];
            release_reorder(e);
        }
        *e = (reorder_entry){.n = n, .c = c, .h = h, .w = w, .block = block, .to_blocked = to_blocked};
        if (build_reorder(e)) {
            release_reorder(e);
            return -1;
        }
    }
    e->last_use = cache->clock;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, e->src}, {DNNL_ARG_TO, e->dst}};
    if (dnnl_memory_set_data_handle(e->src, (void *)src) != dnnl_success
        || dnnl_memory_set_data_handle(e->dst, dst) != dnnl_success
        || dnnl_primitive_execute(e->primitive, cache->stream, 2, args) != dnnl_success) return -1;
    return dnnl_stream_wait(cache->stream) == dnnl_success ? 0 : -1;
}
