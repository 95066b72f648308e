/* Launchers for the convolution kernels in shaders/conv/ (see conv.h for the
 * paths and docs/kernels.md for the conventions). */
#include "runtime/kernels/conv.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/blas.h"

/* Push constants shared by every conv kernel (shaders/include/conv.glsl). */
typedef struct {
    uint32_t n, h, w, cin, oh, ow, cout, groups, kh, kw, sh, sw, ph, pw, cg, cog;
    uint32_t off[4];
    uint32_t total;
    uint32_t e[4];
    uint32_t has_bias;
    uint32_t xbn[4]; /* a fused BN's gamma, beta, mean, invstd offsets (shaders/include/bn_load.glsl) */
} conv_push;

/* Register blocks and workgroup sizes. CPU devices (lavapipe): 8 x 8 blocks
 * as in gemm_reg, whose loads go through the texel path, in workgroups of
 * 64 (lavapipe pays per workgroup: at 32, the depthwise 3x3 stride-2
 * backward-data of fmnist's 28x28 layer took 15.9 ms in the training step,
 * at 64 6.1 ms, at 128 6.3; the other conv kernels were level); GPUs:
 * smaller blocks, more invocations. */
typedef struct {
    uint32_t wg;       /* workgroup size of the spatial kernels */
    uint32_t tm, tn;   /* direct kernels: pixels x channels per invocation */
    uint32_t tp, tr;   /* depthwise: outputs per step along a row, rows an invocation (weight gradient: a block) */
    uint32_t wtm, wtn; /* direct weight gradient: channels x (kx, ci) per invocation (at most) */
    uint32_t wtp;      /* depthwise weight gradient: outputs per step */
    bool row_runs;     /* an invocation walks a whole row (fewer integer divisions: CPU) */
    /* Split depthwise and direct weight gradients: at most about this many
     * workgroups (0: the shape's split, sized for a GPU). A CPU device runs
     * a few threads, and every further chunk is more partials for the last
     * group to read back through storage-buffer loads, which are slow on
     * lavapipe. (The 1x1 GEMMs keep their split: capped at the same count
     * they ran slower, 64x16 by 5 ms of 14, for want of workgroups.) */
    uint32_t red_groups;
    /* Split 1x1 weight gradients summed by the last K-slice of each tile in
     * the GEMM's own dispatch (GPUs: a dispatch and a barrier fewer), or by
     * a second pass (CPU devices: the last slice reads the partials back
     * through storage-buffer loads, ~0.1 G floats/s on lavapipe, where the
     * second pass reads them as texels at ~5: fmnist's step was 17 ms
     * slower with the merge in the dispatch). */
    bool gemm_merge;
    /* A training BN's dx computed by the backward-data and weight gradient of
     * the 1x1 convolution that produced its input, as they load it
     * (runtime/ops/fuse_bn.c): GPUs, bound by memory traffic, save the dx
     * pass's store and loads and a dispatch per BN; lavapipe, bound by
     * instructions, would redo the dx arithmetic for every column tile that
     * loads a value (the forward's fused apply, 3 operations, already cost
     * what its pass saved; this is 10 and a second load). */
    bool fuse_bn_backward;
} conv_tuning;

/* ASVK_CONV_TUNE=cpu|gpu picks a row regardless of the device (tests run
 * the GPU row on lavapipe). */
static conv_tuning tuning(const asvk_context *ctx) {
    static const conv_tuning cpu = {64, 8, 8, 8, 2, 16, 8, 8, true, 0, false, false},
                             gpu = {64, 4, 8, 4, 1, 8, 8, 4, false, 0, true, true};
    const char *env = getenv("ASVK_CONV_TUNE");
    if (env && strcmp(env, "gpu") == 0) return gpu;
    if (!(env && strcmp(env, "cpu") == 0) && asvk_context_device(ctx)->type != ASVK_DEVICE_CPU) return gpu;
    conv_tuning t = cpu;
    /* a CPU device runs about one workgroup per core at a time: 4 per core keep them busy */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    t.red_groups = 4 * (uint32_t)(cores > 0 && cores < 1024 ? cores : 4);
    return t;
}

#define ELT_WG 64u
#define NIB_MAX 8u         /* taps per window (register window TP + NIB - 1) */
/* Reductions over pixels are split into chunks so that about RED_TARGET
 * invocations run, each over at least RED_MIN_PIX pixels. The split depends
 * on the shape only (not the device), so the workspace sizes do too. */
#define RED_TARGET 2048u
#define RED_MIN_PIX 64u
#define GEMM_SPLIT_MAX 64u /* 1x1 weight gradient: K split into at most this many GEMM batches */
#define GEMM_SPLIT_MIN_K 256u

static uint32_t cdiv(uint64_t a, uint64_t b) { return (uint32_t)((a + b - 1) / b); }
static uint32_t umin(uint32_t a, uint32_t b) { return a < b ? a : b; }

/* ---- shapes ---- */

asvk_nhwc asvk_conv_out(const asvk_conv_desc *d) {
    asvk_nhwc o = {d->in.n, 0, 0, d->cout};
    if (d->sh && d->in.h + 2 * d->ph >= d->kh) o.h = (d->in.h + 2 * d->ph - d->kh) / d->sh + 1;
    if (d->sw && d->in.w + 2 * d->pw >= d->kw) o.w = (d->in.w + 2 * d->pw - d->kw) / d->sw + 1;
    return o;
}

uint64_t asvk_conv_weight_count(const asvk_conv_desc *d) {
    return d->groups ? (uint64_t)d->cout * d->kh * d->kw * (d->in.c / d->groups) : 0;
}

asvk_status asvk_conv_check(const asvk_conv_desc *d) {
    const asvk_nhwc *i = &d->in;
    if (!i->n || !i->h || !i->w || !i->c || !d->cout)
        return asvk_error_set(ASVK_ERR_USAGE, "conv: empty tensor (N=%u H=%u W=%u Cin=%u Cout=%u); every size must be >= 1",
                              i->n, i->h, i->w, i->c, d->cout);
    if (!d->kh || !d->kw || !d->sh || !d->sw)
        return asvk_error_set(ASVK_ERR_USAGE, "conv: kernel %ux%u and stride %ux%u must be >= 1", d->kh, d->kw, d->sh,
                              d->sw);
    if (!d->groups || i->c % d->groups || d->cout % d->groups)
        return asvk_error_set(ASVK_ERR_USAGE, "conv: Cin=%u and Cout=%u must both be divisible by groups=%u", i->c,
                              d->cout, d->groups);
    if ((uint64_t)i->h + 2ull * d->ph < d->kh || (uint64_t)i->w + 2ull * d->pw < d->kw)
        return asvk_error_set(ASVK_ERR_USAGE, "conv: kernel %ux%u is larger than the padded input %llux%llu", d->kh,
                              d->kw, (unsigned long long)i->h + 2ull * d->ph, (unsigned long long)i->w + 2ull * d->pw);
    if (d->ph >= (1u << 16) || d->pw >= (1u << 16) || d->kh >= (1u << 16) || d->kw >= (1u << 16) || d->sh >= (1u << 16) ||
        d->sw >= (1u << 16))
        return asvk_error_set(ASVK_ERR_USAGE, "conv: kernel, stride and padding must be below 65536");
    asvk_nhwc o = asvk_conv_out(d);
    const uint64_t lim = 1ull << 31;
    if (asvk_nhwc_count(*i) >= lim || asvk_nhwc_count(o) >= lim || asvk_conv_weight_count(d) >= lim)
        return asvk_error_set(ASVK_ERR_USAGE, "conv: tensors of 2^31 elements or more are not supported "
                              "(input %llu, output %llu, weights %llu elements)",
                              (unsigned long long)asvk_nhwc_count(*i), (unsigned long long)asvk_nhwc_count(o),
                              (unsigned long long)asvk_conv_weight_count(d));
    return ASVK_OK;
}

static bool is_depthwise(const asvk_conv_desc *d) { return d->groups == d->in.c && d->in.c == d->cout; }

asvk_conv_path_kind asvk_conv_path(const asvk_conv_desc *d) {
    if (is_depthwise(d)) return ASVK_CONV_PATH_DEPTHWISE;
    if (d->kh == 1 && d->kw == 1 && d->sh == 1 && d->sw == 1 && d->ph == 0 && d->pw == 0 && d->groups <= 65535)
        return ASVK_CONV_PATH_GEMM;
    return ASVK_CONV_PATH_DIRECT;
}

/* Taps per window: a residue class of a kernel row has ceil(kw/sw) taps;
 * windows of up to NIB_MAX, split evenly. */
static uint32_t nib(const asvk_conv_desc *d) {
    uint32_t taps = cdiv(d->kw, d->sw);
    return cdiv(taps, cdiv(taps, NIB_MAX));
}

/* Chunks of a reduction of `len` items (pixels or rows of `row` pixels)
 * for `base` invocations per chunk. */
static uint32_t red_chunks(uint64_t len, uint64_t row, uint64_t base) {
    uint64_t s = (RED_TARGET + base - 1) / base;
    uint64_t max = (len * row + RED_MIN_PIX - 1) / RED_MIN_PIX;
    if (max > len) max = len;
    if (s > max) s = max;
    if (s < 1) s = 1;
    uint64_t per = (len + s - 1) / s;
    return cdiv(len, per);
}

/* 1x1 weight gradient: K = N*H*W split into S equal batches (S divides K)
 * when dw has few GEMM tiles (nominal 32x32) to run in parallel, each batch
 * at least GEMM_SPLIT_MIN_K long, the partials at most GEMM_SPLIT_MAX_WS floats. */
#define GEMM_SPLIT_TARGET 256u
#define GEMM_SPLIT_MAX_WS (1u << 22)

static uint32_t gemm_split(const asvk_conv_desc *d) {
    if (d->groups != 1) return 1;
    uint64_t k = asvk_nhwc_pixels(d->in), wcount = (uint64_t)d->cout * d->in.c;
    uint64_t tiles = (uint64_t)cdiv(d->cout, 32) * cdiv(d->in.c, 32);
    uint64_t max = k / GEMM_SPLIT_MIN_K;
    if (max > GEMM_SPLIT_MAX) max = GEMM_SPLIT_MAX;
    if (max > GEMM_SPLIT_TARGET / tiles) max = GEMM_SPLIT_TARGET / tiles;
    if (max > GEMM_SPLIT_MAX_WS / wcount) max = GEMM_SPLIT_MAX_WS / wcount;
    for (uint64_t s = max; s > 1; s--)
        if (k % s == 0) return (uint32_t)s;
    return 1;
}

/* Direct weight gradient: chunks of pixels (shape-only: nominal 8x8 blocks). */
static uint32_t direct_wchunks(const asvk_conv_desc *d) {
    uint32_t cg = d->in.c / d->groups, cog = d->cout / d->groups;
    uint64_t base = (uint64_t)cdiv((uint64_t)d->kw * cg, 8) * d->groups * cdiv(cog, 8) * d->kh;
    return red_chunks(asvk_nhwc_pixels(asvk_conv_out(d)), 1, base);
}

/* Depthwise weight gradient: windows per kernel row and chunks of output rows. */
static uint32_t dw_windows(const asvk_conv_desc *d) {
    return umin(d->sw, d->kw) * cdiv(cdiv(d->kw, d->sw), nib(d));
}
static uint32_t dw_wchunks(const asvk_conv_desc *d) {
    asvk_nhwc o = asvk_conv_out(d);
    /* sized for conv_dw_bwd_weight_k (an invocation per quad and chunk); the
     * generic kernel runs kh * windows times as many */
    return red_chunks((uint64_t)o.n * o.h, o.w, cdiv(d->in.c, 4));
}

static uint32_t bias_chunks(const asvk_conv_desc *d) {
    return red_chunks(asvk_nhwc_pixels(asvk_conv_out(d)), 1, cdiv(d->cout, 4));
}

uint64_t asvk_conv_backward_weight_workspace(const asvk_conv_desc *d) {
    if (asvk_conv_check(d)) return 0;
    uint64_t s;
    switch (asvk_conv_path(d)) {
    case ASVK_CONV_PATH_GEMM: s = gemm_split(d); break;
    case ASVK_CONV_PATH_DEPTHWISE: s = dw_wchunks(d); break;
    default: s = direct_wchunks(d); break;
    }
    return s > 1 ? s * asvk_conv_weight_count(d) * 4 : 0;
}

uint64_t asvk_conv_backward_bias_workspace(const asvk_conv_desc *d) {
    if (asvk_conv_check(d)) return 0;
    uint64_t s = bias_chunks(d);
    return s > 1 ? s * d->cout * 4 : 0;
}

/* ---- recording ---- */

static conv_push push_of(const asvk_conv_desc *d) {
    asvk_nhwc o = asvk_conv_out(d);
    conv_push p = {d->in.n, d->in.h, d->in.w, d->in.c, o.h, o.w, d->cout, d->groups, d->kh, d->kw, d->sh, d->sw,
                   d->ph, d->pw, d->in.c / d->groups, d->cout / d->groups, {0}, 0, {0}, 0, {0}};
    return p;
}

/* Splits views into bindable ranges; element offsets go to p->off. */
static void bind_views(asvk_context *ctx, const asvk_buffer *views, uint32_t n, asvk_buffer *bind, conv_push *p) {
    for (uint32_t i = 0; i < n; i++) asvk_buffer_bindable(ctx, views[i], &bind[i], &p->off[i]);
}

static bool aligned4(const conv_push *p, uint32_t i) { return p->off[i] % 4 == 0; }

/* A fused BN's four [C] vectors at bind[at..at+3] (bn_load.glsl; without one
 * they are never read and bind[0] serves). Returns XV: every offset a
 * multiple of 4, vec4 loads of a channel quad. */
static bool bind_bn(asvk_context *ctx, const asvk_bn_load *xbn, asvk_buffer *bind, uint32_t at, conv_push *p) {
    for (uint32_t i = 0; i < 4; i++) bind[at + i] = bind[0], p->xbn[i] = 0;
    if (!xbn) return false;
    const asvk_buffer v[4] = {xbn->gamma, xbn->beta, xbn->mean, xbn->invstd};
    bool xv = true;
    for (uint32_t i = 0; i < 4; i++) {
        asvk_buffer_bindable(ctx, v[i], &bind[at + i], &p->xbn[i]);
        xv = xv && p->xbn[i] % 4 == 0;
    }
    return xv;
}

/* A fused BN: a path that takes one, C floats in each vector. */
static asvk_status check_bn(const asvk_conv_desc *d, const asvk_bn_load *xbn, const char *what) {
    if (!xbn) return ASVK_OK;
    if (asvk_conv_path(d) == ASVK_CONV_PATH_DIRECT)
        return asvk_error_set(ASVK_ERR_INTERNAL, "%s: no batch norm fuses into a direct convolution", what);
    return asvk_bn_load_check(xbn, d->in.c, what);
}

bool asvk_conv_takes_bn(const asvk_conv_desc *d) {
    return asvk_conv_check(d) == ASVK_OK && asvk_conv_path(d) != ASVK_CONV_PATH_DIRECT;
}

static asvk_status launch(asvk_stream *s, const char *shader, const uint32_t *spec, uint32_t nspec,
                          const asvk_buffer *bind, uint32_t nbind, conv_push *p, uint64_t invocations) {
    if (invocations >= (1ull << 32))
        return asvk_error_set(ASVK_ERR_LIMIT, "%s: %llu invocations exceed the 32-bit grid", shader,
                              (unsigned long long)invocations);
    asvk_kernel *k;
    asvk_status st = asvk_kernel_get(asvk_stream_context(s), shader, spec, nspec, &k);
    if (st) return st;
    p->total = (uint32_t)invocations;
    return asvk_stream_dispatch_linear(s, k, bind, nbind, p, sizeof *p, (invocations + spec[0] - 1) / spec[0]);
}

/* A weight-gradient kernel whose sum is split into `chunks` (chunk_reduce.glsl):
 * one chunk runs `per_chunk` invocations straight into dw (bindings 3 and 4
 * unused: dw serves); several write their partials to binding 3 (the
 * workspace) and the last group of each position range to finish sums them
 * into dw, with a counter per range in binding 4 and its offset in e3. The
 * grid is chunk_reduce.glsl's: a chunk of at least a workgroup takes whole
 * groups (`ranges` of them), a smaller one `span` lanes (a power of two) and
 * a group holds wg / span chunks. The chunks split `len` rows or pixels
 * (e2 = rows a chunk, set here); a device cap on the workgroups
 * (red_groups) takes fewer. Spec constant 0 is the workgroup size, the
 * last REDUCE (set here). */
static asvk_status launch_chunked(asvk_stream *s, const char *shader, const uint32_t *spec0, uint32_t nspec,
                                  asvk_buffer *bind, uint32_t nbind, conv_push *p, uint64_t per_chunk, uint32_t len,
                                  uint32_t chunks, uint32_t red_groups) {
    uint32_t spec[12], wg = spec0[0], span = wg;
    memcpy(spec, spec0, nspec * sizeof *spec);
    if (per_chunk < wg && (wg & (wg - 1)) == 0)
        for (span = 1; span < per_chunk; span <<= 1) {
        }
    uint64_t ranges = cdiv(per_chunk, wg), per_group = wg / span;
    if (red_groups && chunks > 1) { /* the device's cap (conv_tuning.red_groups) */
        uint64_t cap = (red_groups / ranges > 1 ? red_groups / ranges : 1) * per_group;
        if (chunks > cap) chunks = (uint32_t)cap;
    }
    p->e[2] = cdiv(len, chunks), chunks = cdiv(len, p->e[2]); /* the shader's count: ceil(len / e2) */
    spec[nspec - 1] = chunks > 1; /* REDUCE, the last spec constant */
    if (chunks <= 1) {
        bind[4] = bind[2];
        return launch(s, shader, spec, nspec, bind, nbind, p, per_chunk);
    }
    if (ranges > ASVK_STREAM_COUNTERS_MAX)
        return asvk_error_set(ASVK_ERR_LIMIT, "%s: %llu workgroups per chunk (at most %u)", shader,
                              (unsigned long long)ranges, ASVK_STREAM_COUNTERS_MAX);
    asvk_buffer cnt;
    asvk_status st = asvk_stream_counters(s, (uint32_t)ranges, &cnt);
    if (st) return st;
    asvk_buffer_bindable(asvk_stream_context(s), cnt, &bind[4], &p->e[3]);
    return launch(s, shader, spec, nspec, bind, nbind, p, ranges * cdiv(chunks, per_group) * wg);
}

/* Column sums of x [rows][cols] by chunks of rows into y [chunks][cols]
 * (+= when acc). */
static asvk_status colsum(asvk_stream *s, asvk_buffer x, uint32_t rows, uint32_t cols, uint32_t chunks, asvk_buffer y,
                          bool acc) {
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer views[2] = {x, y}, bind[2];
    conv_push p = {0};
    bind_views(ctx, views, 2, bind, &p);
    uint32_t per = cdiv(rows, chunks);
    p.e[0] = cdiv(cols, 4), p.e[1] = per, p.e[2] = rows, p.e[3] = cols;
    uint32_t spec[3] = {ELT_WG, cols % 4 == 0 && aligned4(&p, 0) && aligned4(&p, 1), acc};
    return launch(s, "conv_colsum", spec, 3, bind, 2, &p, (uint64_t)p.e[0] * cdiv(rows, per));
}

static asvk_status check_io(const asvk_conv_desc *d, asvk_buffer in, const char *in_name, asvk_buffer out,
                            const char *out_name, bool in_is_x, bool out_is_x) {
    asvk_nhwc o = asvk_conv_out(d);
    asvk_status st;
    if ((st = asvk_check_floats(in, in_is_x ? asvk_nhwc_count(d->in) : asvk_nhwc_count(o), in_name))) return st;
    return asvk_check_floats(out, out_is_x ? asvk_nhwc_count(d->in) : asvk_nhwc_count(o), out_name);
}

/* Depthwise kernels with the kernel shape as specialization constants
 * (conv_dw_k, conv_dw_bwd_data_k, conv_dw_bwd_weight_k): every tap loop
 * unrolled and the weights of a channel quad held in registers. Taken for
 * kernels up to 7x7 and strides up to 2 with vec4 channels (C % 4 == 0 and
 * 4-aligned activation views, as the planner and parameter store make them);
 * others take the generic kernels. Scalar channels in the unrolled kernels
 * quadruple their loads and took 5-15 s each to compile on lavapipe through
 * storage buffers. */
#define DWK_MAX_K 7u
#define DWK_MAX_S 2u

static bool dwk_fits(uint32_t kh, uint32_t kw, uint32_t sh, uint32_t sw) {
    return kh <= DWK_MAX_K && kw <= DWK_MAX_K && sh <= DWK_MAX_S && sw <= DWK_MAX_S;
}

/* Outputs per step along a row: 7 where that divides the width and 8 does
 * not (28, 14: no idle lanes of work); 4 on rows narrower than 14 (7x7 and
 * 4x4 maps: fewer registers spilled and less of the step idle; fmnist's
 * depthwise kernels at those sizes ran 8-25% faster, while 8 stays faster on
 * MobileNetV2's wide rows). */
static uint32_t row_step(const conv_tuning *t, uint32_t width) {
    if (t->tp == 8 && width < 14) return 4;
    return t->tp == 8 && width % 8 && width % 7 == 0 ? 7 : t->tp;
}

/* Direct forward with few input channels per group (stems) and the kernel
 * shape as specialization constants (conv_fwd_k): the weights of an
 * invocation stay in registers, KH*KW*Cg of them per output channel. */
#define FWDK_MAX_KC 27u

static bool fwdk_fits(const asvk_conv_desc *d) {
    uint32_t cg = d->in.c / d->groups;
    return cg <= 4 && dwk_fits(d->kh, d->kw, d->sh, d->sw) && d->kh * d->kw * cg <= FWDK_MAX_KC;
}

/* ---- forward ---- */

asvk_status asvk_conv_forward(asvk_stream *s, const asvk_conv_desc *d, asvk_buffer x, asvk_buffer w, asvk_buffer bias,
                              asvk_buffer y) {
    return asvk_conv_forward_ex(s, d, x, w, bias, ASVK_ACT_NONE, y);
}

asvk_status asvk_conv_forward_ex(asvk_stream *s, const asvk_conv_desc *d, asvk_buffer x, asvk_buffer w,
                                 asvk_buffer bias, asvk_act act, asvk_buffer y) {
    return asvk_conv_forward_bn(s, d, x, NULL, w, bias, act, y);
}

asvk_status asvk_conv_forward_bn(asvk_stream *s, const asvk_conv_desc *d, asvk_buffer x, const asvk_bn_load *xbn,
                                 asvk_buffer w, asvk_buffer bias, asvk_act act, asvk_buffer y) {
    asvk_status st;
    if ((st = asvk_conv_check(d)) || (st = check_bn(d, xbn, "conv forward"))) return st;
    if ((uint32_t)act > ASVK_ACT_HSIGMOID) return asvk_error_set(ASVK_ERR_INTERNAL, "conv forward: activation %d", act);
    if ((st = check_io(d, x, "conv forward x", y, "conv forward y", true, false)) ||
        (st = asvk_check_floats(w, asvk_conv_weight_count(d), "conv forward w")) ||
        (bias.block && (st = asvk_check_floats(bias, d->cout, "conv forward bias"))))
        return st;
    asvk_context *ctx = asvk_stream_context(s);
    conv_tuning t = tuning(ctx);
    conv_push p = push_of(d);
    asvk_nhwc o = asvk_conv_out(d);
    bool has_bias = bias.block != NULL;
    p.has_bias = has_bias;

    switch (asvk_conv_path(d)) {
    case ASVK_CONV_PATH_GEMM: {
        uint32_t cg = p.cg, cog = p.cog;
        /* bias and act in the GEMM's epilogue: group g's bias is bias[g*cog..] */
        asvk_gemm_desc g = {.trans_b = true, .m = (uint32_t)asvk_nhwc_pixels(d->in), .n = cog, .k = cg,
                            .lda = d->in.c, .ldb = cg, .ldc = d->cout, .batch = d->groups,
                            .stride_a = cg, .stride_b = (uint64_t)cog * cg, .stride_c = cog, .alpha = 1, .beta = 0,
                            .bias = bias, .stride_bias = cog, .act = act};
        if (xbn) g.bn = *xbn, g.bn_operand = 1, g.bn_stride = cg; /* A's channel: group * cg + k */
        return asvk_blas_gemm(s, &g, x, w, y); /* the tiling fitted to the shape */
    }
    case ASVK_CONV_PATH_DEPTHWISE: {
        asvk_buffer views[4] = {x, w, has_bias ? bias : x, y}, bind[8];
        bind_views(ctx, views, 4, bind, &p);
        bool vec = d->in.c % 4 == 0 && aligned4(&p, 0) && aligned4(&p, 3);
        bool xv = bind_bn(ctx, xbn, bind, 4, &p) && d->in.c % 4 == 0;
        if (vec && dwk_fits(d->kh, d->kw, d->sh, d->sw)) {
            uint32_t tr = d->kh > 5 ? 1 : t.tr;
            p.e[0] = cdiv(d->in.c, 4), p.e[1] = cdiv(o.h, tr);
            uint32_t spec[12] = {t.wg, row_step(&t, o.w), tr, d->kh, d->kw, d->sh, d->sw, aligned4(&p, 1), act,
                                 xbn != NULL, xbn ? xbn->act : 0, xv};
            return launch(s, "conv_dw_k", spec, 12, bind, 8, &p, (uint64_t)p.e[0] * p.e[1] * o.n);
        }
        p.e[0] = cdiv(o.w, t.tp), p.e[1] = cdiv(d->in.c, 4), p.e[3] = t.row_runs ? p.e[0] : 1;
        p.e[2] = cdiv(p.e[0], p.e[3]);
        uint32_t spec[8] = {t.wg, t.tp, nib(d), vec, act, xbn != NULL, xbn ? xbn->act : 0, xv};
        return launch(s, "conv_dw_fwd", spec, 8, bind, 8, &p, (uint64_t)p.e[1] * p.e[2] * o.h * o.n);
    }
    default: {
        asvk_buffer views[4] = {x, w, has_bias ? bias : x, y}, bind[4];
        bind_views(ctx, views, 4, bind, &p);
        if (fwdk_fits(d)) {
            /* 4 output channels per invocation, one output row: the fewest
             * registers measured fastest (stem 1->32: 4.9 -> 6.0 GFLOP/s vs 8) */
            uint32_t tp = row_step(&t, o.w), tn = 4;
            p.e[1] = cdiv(p.cog, tn), p.e[2] = o.h;
            uint32_t spec[11] = {t.wg, tp, 1, tn, d->kh, d->kw, d->sh, d->sw, p.cg, p.cog % 4 == 0 && aligned4(&p, 3),
                                 act};
            return launch(s, "conv_fwd_k", spec, 11, bind, 4, &p, (uint64_t)d->groups * p.e[1] * p.e[2] * o.n);
        }
        p.e[0] = cdiv(o.w, t.tm), p.e[1] = cdiv(p.cog, t.tn);
        uint32_t spec[7] = {t.wg, t.tm, t.tn, nib(d), p.cg % 4 == 0 && aligned4(&p, 0) && aligned4(&p, 1),
                            p.cog % 4 == 0 && aligned4(&p, 3), act};
        return launch(s, "conv_fwd", spec, 7, bind, 4, &p, (uint64_t)d->groups * p.e[1] * p.e[0] * o.h * o.n);
    }
    }
}

/* ---- backward data ---- */

/* A fused BN's backward on dy: the GEMM path only, t and its terms sized
 * for dy's C channels. */
static asvk_status check_dbn(const asvk_conv_desc *d, const asvk_bn_grad_load *dbn, const char *what) {
    if (!dbn) return ASVK_OK;
    if (!asvk_conv_takes_dbn(d))
        return asvk_error_set(ASVK_ERR_INTERNAL, "%s: a batch norm's backward fuses into the 1x1 (GEMM) path only",
                              what);
    asvk_nhwc o = asvk_conv_out(d);
    if (dbn->cq != (d->cout + 3) / 4 * 4 || dbn->pixels != asvk_nhwc_pixels(o))
        return asvk_error_set(ASVK_ERR_INTERNAL, "%s: a batch norm's backward of %u channels and %u pixels for an "
                              "output of %u and %llu", what, dbn->cq, dbn->pixels, d->cout,
                              (unsigned long long)asvk_nhwc_pixels(o));
    return asvk_check_floats(dbn->t, asvk_nhwc_count(o), what);
}

bool asvk_conv_takes_dbn(const asvk_conv_desc *d) {
    return asvk_conv_check(d) == ASVK_OK && asvk_conv_path(d) == ASVK_CONV_PATH_GEMM;
}

/* ASVK_FUSE_BN_BACKWARD=1|0 overrides the row (to measure it on any device). */
bool asvk_conv_fuse_bn_backward(const asvk_context *ctx) {
    const char *env = getenv("ASVK_FUSE_BN_BACKWARD");
    if (env && *env) return strcmp(env, "0") != 0;
    return tuning(ctx).fuse_bn_backward;
}

asvk_status asvk_conv_backward_data(asvk_stream *s, const asvk_conv_desc *d, asvk_buffer dy, asvk_buffer w,
                                    asvk_buffer dx, bool accumulate) {
    return asvk_conv_backward_data_bn(s, d, dy, NULL, w, dx, accumulate);
}

asvk_status asvk_conv_backward_data_bn(asvk_stream *s, const asvk_conv_desc *d, asvk_buffer dy,
                                       const asvk_bn_grad_load *dbn, asvk_buffer w, asvk_buffer dx, bool accumulate) {
    asvk_status st;
    if ((st = asvk_conv_check(d)) || (st = check_dbn(d, dbn, "conv backward-data"))) return st;
    if ((st = check_io(d, dy, "conv backward-data dy", dx, "conv backward-data dx", false, true)) ||
        (st = asvk_check_floats(w, asvk_conv_weight_count(d), "conv backward-data w")))
        return st;
    asvk_context *ctx = asvk_stream_context(s);
    conv_tuning t = tuning(ctx);
    conv_push p = push_of(d);

    switch (asvk_conv_path(d)) {
    case ASVK_CONV_PATH_GEMM: {
        /* dx_g [P][Cg] = dy_g [P][Cog] . w_g [Cog][Cg], one batch per group */
        asvk_gemm_desc g = {.m = (uint32_t)asvk_nhwc_pixels(d->in), .n = p.cg, .k = p.cog,
                            .lda = d->cout, .ldb = p.cg, .ldc = d->in.c, .batch = d->groups,
                            .stride_a = p.cog, .stride_b = (uint64_t)p.cog * p.cg, .stride_c = p.cg,
                            .alpha = 1, .beta = accumulate ? 1.0f : 0.0f};
        /* dy is A: its channel is group * cog + k */
        if (dbn) g.dbn = *dbn, g.dbn_stride = p.cog;
        return asvk_blas_gemm(s, &g, dy, w, dx);
    }
    case ASVK_CONV_PATH_DEPTHWISE: {
        asvk_buffer views[3] = {dy, w, dx}, bind[3];
        bind_views(ctx, views, 3, bind, &p);
        bool vec = d->in.c % 4 == 0 && aligned4(&p, 0) && aligned4(&p, 2);
        if (vec && dwk_fits(d->kh, d->kw, d->sh, d->sw)) {
            /* input rows in classes of sh rows from floor(ph/sh), columns in
             * classes of sw from floor(pw/sw) (conv_dw_bwd_data_k) */
            /* 7x7: one row class (half the unrolled code to compile, 4 s -> 2 s) */
            uint32_t trq = d->sh == 1 && d->kh <= 5 ? t.tr : 1, tpq = d->sw == 1 ? row_step(&t, d->in.w) : (d->in.w < 14 ? 4 : t.tp) / 2;
            uint32_t r0 = d->ph / d->sh, classes = (d->in.h - 1 + d->ph) / d->sh - r0 + 1;
            p.e[0] = cdiv(d->in.c, 4), p.e[1] = cdiv(classes, trq), p.e[2] = r0, p.e[3] = d->pw / d->sw;
            uint32_t spec[9] = {t.wg, tpq, trq, d->kh, d->kw, d->sh, d->sw, aligned4(&p, 1), accumulate};
            return launch(s, "conv_dw_bwd_data_k", spec, 9, bind, 3, &p, (uint64_t)p.e[0] * p.e[1] * d->in.n);
        }
        p.e[0] = cdiv(cdiv(d->in.w, d->sw), t.tp), p.e[1] = cdiv(d->in.c, 4);
        uint32_t spec[5] = {t.wg, t.tp, nib(d), vec, accumulate};
        return launch(s, "conv_dw_bwd_data", spec, 5, bind, 3, &p,
                      (uint64_t)p.e[1] * p.e[0] * d->sw * d->in.h * d->in.n);
    }
    default: {
        asvk_buffer views[3] = {dy, w, dx}, bind[3];
        bind_views(ctx, views, 3, bind, &p);
        p.e[0] = cdiv(cdiv(d->in.w, d->sw), t.tm), p.e[1] = cdiv(p.cg, t.tn);
        bool v = p.cog % 4 == 0 && p.cg % 4 == 0 && aligned4(&p, 0) && aligned4(&p, 1) && aligned4(&p, 2);
        uint32_t spec[6] = {t.wg, t.tm, t.tn, nib(d), v, accumulate};
        return launch(s, "conv_bwd_data", spec, 6, bind, 3, &p,
                      (uint64_t)d->groups * p.e[1] * p.e[0] * d->sw * d->in.h * d->in.n);
    }
    }
}

/* ---- backward weight ---- */

static asvk_status need_workspace(asvk_buffer ws, uint64_t bytes, const char *what) {
    if (!ws.block || ws.size < bytes)
        return asvk_error_set(ASVK_ERR_INTERNAL, "%s: needs a workspace of %llu bytes (%s_workspace())", what,
                              (unsigned long long)bytes, what);
    return ASVK_OK;
}

asvk_status asvk_conv_backward_weight(asvk_stream *s, const asvk_conv_desc *d, asvk_buffer x, asvk_buffer dy,
                                      asvk_buffer dw, bool accumulate, asvk_buffer workspace) {
    return asvk_conv_backward_weight_bn(s, d, x, NULL, dy, NULL, dw, accumulate, workspace);
}

asvk_status asvk_conv_backward_weight_bn(asvk_stream *s, const asvk_conv_desc *d, asvk_buffer x,
                                         const asvk_bn_load *xbn, asvk_buffer dy, const asvk_bn_grad_load *dbn,
                                         asvk_buffer dw, bool accumulate, asvk_buffer workspace) {
    asvk_status st;
    if ((st = asvk_conv_check(d)) || (st = check_bn(d, xbn, "conv backward-weight")) ||
        (st = check_dbn(d, dbn, "conv backward-weight")))
        return st;
    uint64_t wcount = asvk_conv_weight_count(d);
    if ((st = check_io(d, x, "conv backward-weight x", dy, "conv backward-weight dy", true, false)) ||
        (st = asvk_check_floats(dw, wcount, "conv backward-weight dw")))
        return st;
    uint64_t ws = asvk_conv_backward_weight_workspace(d);
    if (ws && (st = need_workspace(workspace, ws, "asvk_conv_backward_weight"))) return st;
    asvk_context *ctx = asvk_stream_context(s);
    conv_tuning t = tuning(ctx);
    conv_push p = push_of(d);
    asvk_nhwc o = asvk_conv_out(d);
    uint32_t chunks;

    switch (asvk_conv_path(d)) {
    case ASVK_CONV_PATH_GEMM: {
        /* dw_g [Cog][Cg] = dy_g^T [Cog][P] . x_g [P][Cg]: batches over groups, or
         * with groups == 1 over S equal slices of P into the workspace. */
        chunks = gemm_split(d);
        uint32_t k = (uint32_t)(asvk_nhwc_pixels(d->in) / chunks);
        asvk_gemm_desc g = {.trans_a = true, .m = p.cog, .n = p.cg, .k = k, .lda = d->cout, .ldb = d->in.c,
                            .ldc = p.cg, .alpha = 1, .beta = accumulate ? 1.0f : 0.0f};
        /* x is B: its channel is n (K-slices), or group * cg + n (group batches) */
        if (xbn) g.bn = *xbn, g.bn_operand = 2, g.bn_stride = chunks > 1 ? 0 : p.cg;
        /* dy is A (transposed): its channel is m, or group * cog + m */
        if (dbn) g.dbn = *dbn, g.dbn_stride = chunks > 1 ? 0 : p.cog;
        if (chunks > 1) {
            g.batch = chunks, g.stride_a = (uint64_t)k * d->cout, g.stride_b = (uint64_t)k * d->in.c;
            g.stride_c = wcount;
            if (t.gemm_merge) { /* the slices summed into dw in the same dispatch */
                g.partials = workspace;
                return asvk_blas_gemm(s, &g, dy, x, dw);
            }
            g.beta = 0; /* the slices into the workspace, summed by a second pass */
            if ((st = asvk_blas_gemm(s, &g, dy, x, workspace))) return st;
            return colsum(s, workspace, chunks, (uint32_t)wcount, 1, dw, accumulate);
        }
        g.batch = d->groups, g.stride_a = p.cog, g.stride_b = p.cg, g.stride_c = (uint64_t)p.cog * p.cg;
        return asvk_blas_gemm(s, &g, dy, x, dw);
    }
    case ASVK_CONV_PATH_DEPTHWISE: {
        chunks = dw_wchunks(d);
        asvk_buffer views[4] = {x, dy, dw, ws ? workspace : dw}, bind[9];
        bind_views(ctx, views, 4, bind, &p);
        bool vec = d->in.c % 4 == 0 && aligned4(&p, 0) && aligned4(&p, 1);
        bool xv = bind_bn(ctx, xbn, bind, 5, &p) && d->in.c % 4 == 0;
        uint32_t xf = xbn != NULL, xact = xbn ? xbn->act : 0;
        p.e[0] = cdiv(d->in.c, 4), p.e[1] = dw_windows(d);
        if (vec && dwk_fits(d->kh, d->kw, d->sh, d->sw)) {
            if (!aligned4(&p, 3)) chunks = 1; /* its partials are written and merged as vec4s */
            /* blocks of t.tr output rows (CPU devices 2: of 1, 2 and 4 rows for 3x3 to 7x7 windows
             * in the spaces experiment's networks, 2 took the least in sum, -10% against 1) */
            uint32_t spec[12] = {t.wg, row_step(&t, o.w), d->kh, d->kw, d->sh, d->sw, accumulate, xf, xact, xv, t.tr, 0};
            return launch_chunked(s, "conv_dw_bwd_weight_k", spec, 12, bind, 9, &p, p.e[0], o.n * o.h, chunks,
                                  t.red_groups);
        }
        uint32_t spec[9] = {t.wg, t.wtp, nib(d), vec, accumulate, xf, xact, xv, 0};
        return launch_chunked(s, "conv_dw_bwd_weight", spec, 9, bind, 9, &p, p.e[0] * p.e[1] * d->kh, o.n * o.h,
                              chunks, t.red_groups);
    }
    default: {
        chunks = direct_wchunks(d);
        asvk_buffer views[4] = {x, dy, dw, ws ? workspace : dw}, bind[5];
        bind_views(ctx, views, 4, bind, &p);
        uint32_t npix = (uint32_t)asvk_nhwc_pixels(o);
        /* blocks no larger than the shape needs: the stem (kw*cg = 3, 16-32
         * channels) measured 5.0 -> 6.9 GFLOP/s with 4 instead of 8 taps */
        uint32_t wtm = p.cog <= t.wtm / 2 ? t.wtm / 2 : t.wtm, wtn = d->kw * p.cg <= t.wtn / 2 ? t.wtn / 2 : t.wtn;
        p.e[0] = cdiv((uint64_t)d->kw * p.cg, wtn), p.e[1] = cdiv(p.cog, wtm);
        uint32_t spec[7] = {t.wg, wtm, wtn, p.cog % 4 == 0 && aligned4(&p, 1), p.cg % 4 == 0 && aligned4(&p, 0),
                            accumulate, 0};
        return launch_chunked(s, "conv_bwd_weight", spec, 7, bind, 5, &p, p.e[0] * d->groups * p.e[1] * d->kh, npix,
                              chunks, t.red_groups);
    }
    }
}

/* ---- backward bias ---- */

asvk_status asvk_conv_backward_bias(asvk_stream *s, const asvk_conv_desc *d, asvk_buffer dy, asvk_buffer db,
                                    bool accumulate, asvk_buffer workspace) {
    asvk_status st;
    if ((st = asvk_conv_check(d))) return st;
    asvk_nhwc o = asvk_conv_out(d);
    if ((st = asvk_check_floats(dy, asvk_nhwc_count(o), "conv backward-bias dy")) ||
        (st = asvk_check_floats(db, d->cout, "conv backward-bias db")))
        return st;
    uint64_t ws = asvk_conv_backward_bias_workspace(d);
    uint32_t rows = (uint32_t)asvk_nhwc_pixels(o), chunks = bias_chunks(d);
    if (!ws) return colsum(s, dy, rows, d->cout, 1, db, accumulate);
    if ((st = need_workspace(workspace, ws, "asvk_conv_backward_bias"))) return st;
    if ((st = colsum(s, dy, rows, d->cout, chunks, workspace, false))) return st;
    return colsum(s, workspace, chunks, d->cout, 1, db, accumulate);
}

/* ---- folding an inference BatchNorm into the convolution ---- */

asvk_status asvk_conv_fold_bn(asvk_stream *s, uint32_t cout, uint64_t kc, float eps, asvk_buffer w, asvk_buffer bias,
                              asvk_buffer gamma, asvk_buffer beta, asvk_buffer mean, asvk_buffer var,
                              asvk_buffer w_out, asvk_buffer b_out) {
    if (!cout || !kc) return asvk_error_set(ASVK_ERR_USAGE, "fold: %u channels of %llu weights", cout, (unsigned long long)kc);
    if (!(eps > 0)) return asvk_error_set(ASVK_ERR_USAGE, "BatchNorm eps %g must be positive", (double)eps);
    uint64_t nw = (uint64_t)cout * kc;
    bool has_bias = bias.block != NULL;
    asvk_status st;
    if ((st = asvk_check_floats(w, nw, "fold w")) || (st = asvk_check_floats(w_out, nw, "fold w_out")) ||
        (has_bias && (st = asvk_check_floats(bias, cout, "fold bias"))) ||
        (st = asvk_check_floats(gamma, cout, "fold gamma")) || (st = asvk_check_floats(beta, cout, "fold beta")) ||
        (st = asvk_check_floats(mean, cout, "fold mean")) || (st = asvk_check_floats(var, cout, "fold var")) ||
        (st = asvk_check_floats(b_out, cout, "fold b_out")))
        return st;
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer views[8] = {w, has_bias ? bias : w, gamma, beta, mean, var, w_out, b_out}, bind[8];
    uint32_t off[8];
    for (int i = 0; i < 8; i++) asvk_buffer_bindable(ctx, views[i], &bind[i], &off[i]);
    uint64_t wq = (nw + 3) / 4, total = wq + (cout + 3) / 4;
    if (total >= (1ull << 32)) return asvk_error_set(ASVK_ERR_LIMIT, "fold: %llu weights", (unsigned long long)nw);
    struct {
        uint32_t cout, kc, wq;
        uint32_t off[8];
        uint32_t total;
        float eps;
    } push = {cout, (uint32_t)kc, (uint32_t)wq, {0}, (uint32_t)total, eps};
    memcpy(push.off, off, sizeof off);
    uint32_t spec[3] = {ELT_WG, has_bias, off[0] % 4 == 0 && off[6] % 4 == 0};
    asvk_kernel *k;
    if ((st = asvk_kernel_get(ctx, "conv_fold_bn", spec, 3, &k))) return st;
    return asvk_stream_dispatch_linear(s, k, bind, 8, &push, sizeof push, (total + ELT_WG - 1) / ELT_WG);
}
