/* Launchers for the BLAS-like kernels in shaders/blas/. */
#include "runtime/blas.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ELT_WG 64u   /* element-wise workgroup size; 4 floats per invocation */
#define SUM_WG 64u   /* reduce_sum workgroup size (power of two) */
#define SUM_ITEMS 8u /* vec4 loads per invocation: a chunk is 2048 floats */
#define SUM_CHUNK (SUM_WG * 4u * SUM_ITEMS)

static uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

static asvk_status need(asvk_buffer b, uint64_t floats, const char *what) {
    if (!b.block) return asvk_error_set(ASVK_ERR_INTERNAL, "%s: buffer not allocated", what);
    uint32_t e = asvk_buffer_elem_bytes(b);
    if (floats * e > b.size)
        return asvk_error_set(ASVK_ERR_INTERNAL, "%s: needs %llu elements, buffer holds %llu", what,
                              (unsigned long long)floats, (unsigned long long)(b.size / e));
    return ASVK_OK;
}

/* ---- tuning ---- */

typedef struct {
    int type;        /* asvk_device_type, -1 any */
    uint32_t vendor; /* 0 any */
    asvk_gemm_tuning t;
} tuning_row;

/* Later rows win. CPU: register blocking through texel loads, no barriers
 * (measured with `asvk bench gemm --tune` on lavapipe; see docs/perf.md).
 * GPUs: shared-memory tiles of 64x64. Mobile GPUs: small register blocks. */
static const tuning_row tunings[] = {
    {-1, 0, {ASVK_GEMM_SMEM, 16, 16, 4, 4, 16}},
    {ASVK_DEVICE_CPU, 0, {ASVK_GEMM_REG, 8, 1, 8, 16, 0}},
    {-1, 0x13B5, {ASVK_GEMM_REG, 16, 4, 4, 4, 0}},
    {-1, 0x5143, {ASVK_GEMM_REG, 16, 4, 4, 4, 0}},
};

asvk_status asvk_gemm_tuning_parse(const char *text, asvk_gemm_tuning *out) {
    asvk_gemm_tuning t = {0};
    unsigned tm = 0, tn = 0, wx = 0, wy = 0, bk = 16;
    if (strcmp(text, "naive") == 0) {
        t = (asvk_gemm_tuning){ASVK_GEMM_NAIVE, 16, 16, 1, 1, 0};
    } else if (sscanf(text, "reg:%ux%u:%ux%u", &tm, &tn, &wx, &wy) == 4) {
        t = (asvk_gemm_tuning){ASVK_GEMM_REG, wx, wy, tm, tn, 0};
        if (tm % 4 || tn % 4 || !tm || !tn || tm > 32 || tn > 32)
            return asvk_error_set(ASVK_ERR_USAGE, "GEMM tuning '%s': reg tiles must be multiples of 4 up to 32", text);
    } else if (sscanf(text, "smem:%ux%u:%ux%u:%u", &tm, &tn, &wx, &wy, &bk) >= 4) {
        t = (asvk_gemm_tuning){ASVK_GEMM_SMEM, wx, wy, tm, tn, bk};
        if (!tm || !tn || tm > 16 || tn > 16 || !bk || bk > 64)
            return asvk_error_set(ASVK_ERR_USAGE, "GEMM tuning '%s': smem tiles up to 16x16, BK up to 64", text);
    } else {
        return asvk_error_set(ASVK_ERR_USAGE, "GEMM tuning '%s' not understood; write naive, reg:TMxTN:WXxWY "
                              "or smem:TMxTN:WXxWY:BK (e.g. reg:8x8:8x1)", text);
    }
    if (!t.wg_x || !t.wg_y || t.wg_x * t.wg_y > 1024)
        return asvk_error_set(ASVK_ERR_USAGE, "GEMM tuning '%s': workgroup must have 1 to 1024 invocations", text);
    *out = t;
    return ASVK_OK;
}

void asvk_gemm_tuning_format(const asvk_gemm_tuning *t, char *out, size_t n) {
    switch (t->kernel) {
    case ASVK_GEMM_NAIVE: snprintf(out, n, "naive"); break;
    case ASVK_GEMM_REG: snprintf(out, n, "reg:%ux%u:%ux%u", t->tm, t->tn, t->wg_x, t->wg_y); break;
    case ASVK_GEMM_SMEM: snprintf(out, n, "smem:%ux%u:%ux%u:%u", t->tm, t->tn, t->wg_x, t->wg_y, t->bk); break;
    default: snprintf(out, n, "auto");
    }
}

asvk_status asvk_gemm_tuning_default(const asvk_context *ctx, asvk_gemm_tuning *out) {
    const char *env = getenv("ASVK_GEMM");
    if (env && *env) {
        asvk_status st = asvk_gemm_tuning_parse(env, out);
        return st ? asvk_error_prefix(st, "ASVK_GEMM: ") : ASVK_OK;
    }
    const asvk_device_info *d = asvk_context_device(ctx);
    for (size_t i = 0; i < sizeof tunings / sizeof tunings[0]; i++) {
        if (tunings[i].type >= 0 && (asvk_device_type)tunings[i].type != d->type) continue;
        if (tunings[i].vendor && tunings[i].vendor != d->vendor_id) continue;
        *out = tunings[i].t;
    }
    return ASVK_OK;
}

/* ---- GEMM ---- */

static asvk_status check_tuning(const asvk_context *ctx, const asvk_gemm_tuning *t) {
    const asvk_device_info *d = asvk_context_device(ctx);
    if (t->wg_x * t->wg_y > d->max_workgroup_invocations || t->wg_x > d->max_workgroup_size[0] ||
        t->wg_y > d->max_workgroup_size[1])
        return asvk_error_set(ASVK_ERR_LIMIT, "GEMM workgroup %ux%u exceeds %s's limits", t->wg_x, t->wg_y, d->name);
    if (t->kernel == ASVK_GEMM_SMEM && 4ull * t->bk * (t->wg_y * t->tm + t->wg_x * t->tn) > d->max_shared_memory)
        return asvk_error_set(ASVK_ERR_LIMIT, "GEMM shared tiles need more than %s's %u bytes of shared memory",
                              d->name, d->max_shared_memory);
    return ASVK_OK;
}

asvk_status asvk_blas_gemm_tuned(asvk_stream *s, const asvk_gemm_tuning *t, const asvk_gemm_desc *d0,
                                 asvk_buffer a, asvk_buffer b, asvk_buffer c) {
    asvk_context *ctx = asvk_stream_context(s);
    asvk_gemm_desc d = *d0;
    if (d.batch == 0) d.batch = 1;
    if (!d.lda) d.lda = d.trans_a ? d.m : d.k;
    if (!d.ldb) d.ldb = d.trans_b ? d.k : d.n;
    if (!d.ldc) d.ldc = d.n;
    if (d.m == 0 || d.n == 0) return ASVK_OK;
    if (d.lda < (d.trans_a ? d.m : d.k) || d.ldb < (d.trans_b ? d.k : d.n) || d.ldc < d.n)
        return asvk_error_set(ASVK_ERR_INTERNAL, "gemm: a leading dimension is smaller than its row");
    asvk_status st = check_tuning(ctx, t);
    if (st) return st;

    /* Floats each operand spans: last batch, last row, full row. */
    uint64_t rows_a = d.trans_a ? d.k : d.m, cols_a = d.trans_a ? d.m : d.k;
    uint64_t rows_b = d.trans_b ? d.n : d.k, cols_b = d.trans_b ? d.k : d.n;
    uint64_t span_a = rows_a ? (d.batch - 1) * d.stride_a + (rows_a - 1) * d.lda + cols_a : 0;
    uint64_t span_b = rows_b ? (d.batch - 1) * d.stride_b + (rows_b - 1) * d.ldb + cols_b : 0;
    bool reduce = d.partials.block != NULL;
    uint64_t span_c = (d.batch - 1) * d.stride_c + (uint64_t)(d.m - 1) * d.ldc + d.n;
    if (d.k && ((st = need(a, span_a, "gemm A")) || (st = need(b, span_b, "gemm B")))) return st;
    if (reduce && (st = need(d.partials, span_c, "gemm partials"))) return st;
    if ((st = need(c, reduce ? span_c - (d.batch - 1) * d.stride_c : span_c, "gemm C"))) return st;
    bool has_bias = d.bias.block != NULL;
    if (has_bias && (st = need(d.bias, (d.batch - 1) * d.stride_bias + d.n, "gemm bias"))) return st;
    if ((uint32_t)d.act > ASVK_ACT_HSIGMOID) return asvk_error_set(ASVK_ERR_INTERNAL, "gemm: activation %d", d.act);

    bool xa = false, xb = false; /* a batch norm fused into A's or B's loads */
    if (d.bn.gamma.block) {
        xa = d.bn_operand == 1, xb = d.bn_operand == 2;
        if ((!xa && !xb) || (xa && d.trans_a) || (xb && d.trans_b))
            return asvk_error_set(ASVK_ERR_INTERNAL, "gemm: a batch norm on operand %d (transposed or unknown)",
                                  d.bn_operand);
        /* the last batch's channels: b * bn_stride + the operand's columns */
        uint64_t channels = (d.batch - 1) * (uint64_t)d.bn_stride + (xa ? d.k : d.n);
        if ((st = asvk_bn_load_check(&d.bn, channels, "gemm"))) return st;
    }
    bool da = d.dbn.t.block != NULL; /* a batch norm's backward fused into A's loads */
    if (da) {
        if (xa) return asvk_error_set(ASVK_ERR_INTERNAL, "gemm: a batch norm's apply and backward both on A");
        uint64_t channels = (d.batch - 1) * (uint64_t)d.dbn_stride + (d.trans_a ? d.m : d.k);
        if ((unsigned)d.dbn.act > ASVK_ACT_HSIGMOID || channels > d.dbn.cq || d.dbn.cq % 4 || !d.dbn.pixels)
            return asvk_error_set(ASVK_ERR_INTERNAL, "gemm: a batch norm's backward of %u channels (act %d) for %llu",
                                  d.dbn.cq, d.dbn.act, (unsigned long long)channels);
        if ((st = need(d.dbn.t, span_a, "gemm A's batch-norm input")) ||
            (st = asvk_check_floats(d.dbn.terms, 6ull * d.dbn.cq, "gemm A's batch-norm terms")))
            return st;
    }
    asvk_buffer bind[12];
    uint32_t off[12];
    asvk_buffer_bindable(ctx, d.k ? a : c, &bind[0], &off[0]);
    asvk_buffer_bindable(ctx, d.k ? b : c, &bind[1], &off[1]);
    asvk_buffer_bindable(ctx, c, &bind[2], &off[2]);
    /* Without a bias, binding 3 is never read: any read-only binding serves. */
    asvk_buffer_bindable(ctx, has_bias ? d.bias : (d.k ? a : c), &bind[3], &off[3]);
    if (!has_bias) off[3] = 0;
    /* Without REDUCE, bindings 4 and 5 are never accessed: C serves. */
    asvk_buffer_bindable(ctx, reduce ? d.partials : c, &bind[4], &off[4]);
    off[5] = 0;
    bind[5] = bind[2];
    /* Without a fused BN, bindings 6-9 are never read: A's binding serves. */
    const asvk_buffer *xf[4] = {&d.bn.gamma, &d.bn.beta, &d.bn.mean, &d.bn.invstd};
    for (int i = 0; i < 4; i++) {
        if (xa || xb) {
            asvk_buffer_bindable(ctx, *xf[i], &bind[6 + i], &off[6 + i]);
        } else {
            bind[6 + i] = bind[0], off[6 + i] = 0;
        }
    }
    bool xv = (xa || xb) && d.bn_stride % 4 == 0 && off[6] % 4 == 0 && off[7] % 4 == 0 && off[8] % 4 == 0 &&
              off[9] % 4 == 0;
    /* Without it, bindings 10 and 11 are never read: A's binding serves. */
    for (int i = 0; i < 2; i++) {
        if (da) {
            asvk_buffer_bindable(ctx, i ? d.dbn.terms : d.dbn.t, &bind[10 + i], &off[10 + i]);
        } else {
            bind[10 + i] = bind[0], off[10 + i] = 0;
        }
    }
    bool dv = da && d.dbn_stride % 4 == 0 && off[11] % 4 == 0;

    uint32_t spec[22], nspec;
    uint32_t rows_per_group, cols_per_group;
    const char *shader;
    bool va = off[0] % 4 == 0 && d.lda % 4 == 0 && (d.batch == 1 || d.stride_a % 4 == 0) && (!da || off[10] % 4 == 0);
    bool vb = off[1] % 4 == 0 && d.ldb % 4 == 0 && (d.batch == 1 || d.stride_b % 4 == 0);
    bool vc = off[2] % 4 == 0 && d.ldc % 4 == 0 && (d.batch == 1 || d.stride_c % 4 == 0);
    switch (t->kernel) {
    case ASVK_GEMM_NAIVE:
        shader = "gemm_naive";
        spec[0] = t->wg_x, spec[1] = t->wg_y, spec[2] = d.trans_a, spec[3] = d.trans_b, spec[4] = d.act;
        spec[5] = has_bias, spec[6] = reduce, spec[7] = xa, spec[8] = xb, spec[9] = d.bn.act, spec[10] = xv;
        spec[11] = da, spec[12] = d.dbn.act, spec[13] = dv, nspec = 14;
        rows_per_group = t->wg_y, cols_per_group = t->wg_x;
        break;
    case ASVK_GEMM_REG:
        shader = "gemm_reg";
        spec[0] = t->wg_x, spec[1] = t->wg_y, spec[2] = t->tm, spec[3] = t->tn, spec[4] = d.trans_a;
        spec[5] = d.trans_b, spec[6] = va, spec[7] = vb, spec[8] = vc, spec[9] = d.act, spec[10] = has_bias;
        spec[11] = has_bias && off[3] % 4 == 0 && (d.batch == 1 || d.stride_bias % 4 == 0);
        spec[12] = vc && d.n % 4 == 0;
        rows_per_group = t->wg_y * t->tm, cols_per_group = t->wg_x * t->tn;
        spec[13] = spec[12] && d.m % rows_per_group == 0 && d.n % cols_per_group == 0;
        /* VC also governs the partials' vec4 stores and loads */
        spec[8] = vc && (!reduce || (off[4] % 4 == 0 && d.stride_c % 4 == 0));
        spec[12] = spec[12] && spec[8], spec[13] = spec[13] && spec[8];
        spec[14] = reduce, spec[15] = xa, spec[16] = xb, spec[17] = d.bn.act, spec[18] = xv;
        spec[19] = da, spec[20] = d.dbn.act, spec[21] = dv, nspec = 22;
        break;
    case ASVK_GEMM_SMEM:
        shader = "gemm_smem";
        spec[0] = t->wg_x, spec[1] = t->wg_y, spec[2] = t->tm, spec[3] = t->tn, spec[4] = d.trans_a;
        spec[5] = d.trans_b, spec[6] = t->bk, spec[7] = d.act, spec[8] = has_bias, spec[9] = reduce;
        spec[10] = xa, spec[11] = xb, spec[12] = d.bn.act, spec[13] = xv;
        spec[14] = da, spec[15] = d.dbn.act, spec[16] = dv, nspec = 17;
        rows_per_group = t->wg_y * t->tm, cols_per_group = t->wg_x * t->tn;
        break;
    default: return asvk_error_set(ASVK_ERR_INTERNAL, "gemm: no kernel chosen");
    }
    asvk_kernel *k;
    if ((st = asvk_kernel_get(ctx, shader, spec, nspec, &k))) return st;

    struct {
        uint32_t m, n, k, lda, ldb, ldc, offa, offb, offc, stra, strb, strc, row_base;
        float alpha, beta;
        uint32_t offbias, strbias;
        uint32_t offpart, cnt;
        uint32_t xstr, xg, xb, xm, xi;
        uint32_t offt, dstr, coff, cq, dp;
    } push = {d.m, d.n, d.k, d.lda, d.ldb, d.ldc, off[0], off[1], off[2],
              (uint32_t)d.stride_a, (uint32_t)d.stride_b, (uint32_t)d.stride_c, 0, d.alpha, d.beta,
              off[3], reduce ? 0 : (uint32_t)d.stride_bias, off[4], 0,
              d.bn_stride, off[6], off[7], off[8], off[9],
              off[10], d.dbn_stride, off[11], d.dbn.cq, d.dbn.pixels};
    const asvk_device_info *dev = asvk_context_device(ctx);
    if (d.batch > dev->max_workgroup_count[2])
        return asvk_error_set(ASVK_ERR_LIMIT, "gemm: batch %u exceeds %s's %u", d.batch, dev->name,
                              dev->max_workgroup_count[2]);
    uint64_t gx = ceil_div(d.n, cols_per_group), gy = ceil_div(d.m, rows_per_group);
    if (gx > dev->max_workgroup_count[0])
        return asvk_error_set(ASVK_ERR_LIMIT, "gemm: N=%u is too wide for %s", d.n, dev->name);
    /* Tall matrices run as several dispatches, each shifted by row_base. */
    for (uint64_t y0 = 0; y0 < gy; y0 += dev->max_workgroup_count[1]) {
        uint64_t ny = gy - y0 < dev->max_workgroup_count[1] ? gy - y0 : dev->max_workgroup_count[1];
        push.row_base = (uint32_t)(y0 * rows_per_group);
        if (reduce) { /* a counter per tile of this dispatch */
            if (gx * ny > ASVK_STREAM_COUNTERS_MAX)
                return asvk_error_set(ASVK_ERR_INTERNAL, "gemm: split-K over %llu tiles (at most %u)",
                                      (unsigned long long)(gx * ny), ASVK_STREAM_COUNTERS_MAX);
            asvk_buffer cnt;
            if ((st = asvk_stream_counters(s, (uint32_t)(gx * ny), &cnt))) return st;
            asvk_buffer_bindable(ctx, cnt, &bind[5], &push.cnt);
        }
        if ((st = asvk_stream_dispatch(s, k, bind, 12, &push, sizeof push, (uint32_t)gx, (uint32_t)ny, d.batch)))
            return st;
    }
    return ASVK_OK;
}

/* The table's register-blocked tiling (CPU devices: 8x16 outputs an
 * invocation, 8 invocations along N, the direction llvmpipe vectorises),
 * fitted to the shape; every figure measured on lavapipe (docs/perf.md):
 * - tall and narrow products, M >= 4096 rows and N <= 256 columns (the 1x1
 *   convolutions and their backward-data of small networks: M = pixels),
 *   take 16x4 tiles: inside a training step the 8-row tiles of such shapes
 *   ran 2.7x slower than alone for some placements of their operands (a
 *   texel-path effect whose cause is not known: 8-row tiles with 8x1
 *   workgroups only; the storage-buffer path and 16-row tiles are immune),
 *   and fmnist's training step went from 592 to 485 ms;
 * - otherwise the widest column tiles (16, 8 or 4) whose padding of N wastes
 *   at most 20% more than 4-wide ones (narrower tiles are slower per flop on
 *   full tiles: 8x16 ran 1.2-1.5x faster than 8x8 from 512^3 to 1024^3 with
 *   imageLoad inputs, 8x4 about 17% slower than 8x8): 25088x24x96 5.6 ->
 *   9.2 GFLOP/s with 4-wide tiles. 16 columns only from M*N*K = 2^27 (512^3)
 *   up: its pipeline takes about twice as long to build (0.4 s more), which
 *   only a long product pays back (the smaller GEMMs of the test suite and of
 *   fmnist's step gained nothing measurable).
 * - M >= 4096 also takes 8x8 workgroups (64 invocations, 8 along N):
 *   lavapipe pays per workgroup, and the backward-data GEMMs of fmnist's
 *   28x28 and 14x14 layers ran 9-10% faster in the training step (18.1 ->
 *   16.2 and 12.8 -> 11.6 ms; smaller M: no difference).
 * ASVK_GEMM overrides all of it. */
static void fit_tiling(const asvk_gemm_desc *d, asvk_gemm_tuning *t) {
    if (getenv("ASVK_GEMM") || t->kernel != ASVK_GEMM_REG || t->tm != 8 || (t->tn != 8 && t->tn != 16)) return;
    if (t->tn == 16 && (uint64_t)d->m * d->n * d->k < (1ull << 27)) t->tn = 8;
    if (d->m >= 4096) t->wg_y = 8;
    if (d->m >= 4096 && d->n <= 256) {
        t->tm = 16, t->tn = 4;
    } else {
        uint64_t w4 = (uint64_t)t->wg_x * 4, pad4 = (d->n + w4 - 1) / w4 * w4;
        for (;;) {
            uint64_t w = (uint64_t)t->wg_x * t->tn, pad = (d->n + w - 1) / w * w;
            if (t->tn == 4 || pad * 5 <= pad4 * 6) break;
            t->tn /= 2;
        }
    }
    /* N narrower than half a workgroup's columns: fewer invocations along N
     * and more along M, the same count (N = 16 with 32 columns a group
     * computed half its tiles twice over). */
    while (t->wg_x > 1 && (uint64_t)(t->wg_x / 2) * t->tn >= d->n) t->wg_x /= 2, t->wg_y *= 2;
}

asvk_status asvk_blas_gemm(asvk_stream *s, const asvk_gemm_desc *d, asvk_buffer a, asvk_buffer b, asvk_buffer c) {
    asvk_gemm_tuning t;
    asvk_status st = asvk_gemm_tuning_default(asvk_stream_context(s), &t);
    if (st) return st;
    fit_tiling(d, &t);
    return asvk_blas_gemm_tuned(s, &t, d, a, b, c);
}

/* ---- element-wise ---- */

asvk_status asvk_blas_fill(asvk_stream *s, asvk_buffer y, uint64_t n, float value) {
    asvk_status st = need(y, n, "fill");
    if (st || n == 0) return st;
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer bind;
    uint32_t off;
    asvk_buffer_bindable(ctx, y, &bind, &off);
    uint32_t spec[3] = {ELT_WG, off % 4 == 0, off % 4 == 0 && n % 4 == 0};
    asvk_kernel *k;
    if ((st = asvk_kernel_get(ctx, "fill", spec, 3, &k))) return st;
    struct { uint32_t n, off; float value; } push = {(uint32_t)n, off, value};
    return asvk_stream_dispatch_linear(s, k, &bind, 1, &push, sizeof push, ceil_div(n, 4 * ELT_WG));
}

asvk_status asvk_blas_peak_fma(asvk_stream *s, asvk_buffer y, uint32_t invocations, uint32_t iters, float a, float b) {
    if (invocations % ASVK_PEAK_FMA_WG)
        return asvk_error_set(ASVK_ERR_USAGE, "peak_fma: %u invocations are not a multiple of %u", invocations,
                              ASVK_PEAK_FMA_WG);
    asvk_status st = need(y, 4ull * invocations, "peak_fma");
    if (st || invocations == 0) return st;
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer bind;
    uint32_t off;
    asvk_buffer_bindable(ctx, y, &bind, &off);
    if (off) return asvk_error_set(ASVK_ERR_USAGE, "peak_fma: the output must start a bindable range");
    uint32_t spec[1] = {ASVK_PEAK_FMA_WG};
    asvk_kernel *k;
    if ((st = asvk_kernel_get(ctx, "peak_fma", spec, 1, &k))) return st;
    struct { uint32_t iters; float a, b; } push = {iters, a, b};
    return asvk_stream_dispatch_linear(s, k, &bind, 1, &push, sizeof push, invocations / ASVK_PEAK_FMA_WG);
}

asvk_status asvk_blas_copy2d(asvk_stream *s, asvk_buffer y, uint32_t yld, asvk_buffer x, uint32_t xld, uint32_t rows,
                             uint32_t cols) {
    if (rows == 0 || cols == 0) return ASVK_OK;
    uint64_t span_x = (uint64_t)(rows - 1) * xld + cols, span_y = (uint64_t)(rows - 1) * yld + cols;
    asvk_status st;
    if ((st = need(x, span_x, "copy2d source")) || (st = need(y, span_y, "copy2d destination"))) return st;
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer bind[2];
    uint32_t off[2];
    asvk_buffer_bindable(ctx, x, &bind[0], &off[0]);
    asvk_buffer_bindable(ctx, y, &bind[1], &off[1]);
    bool aligned = off[0] % 4 == 0 && off[1] % 4 == 0 && xld % 4 == 0 && yld % 4 == 0;
    uint32_t spec[3] = {ELT_WG, aligned, aligned && cols % 4 == 0};
    asvk_kernel *k;
    if ((st = asvk_kernel_get(ctx, "copy2d", spec, 3, &k))) return st;
    uint32_t quads = (cols + 3) / 4;
    struct { uint32_t rows, cols, xld, yld, xoff, yoff, quads; } push = {rows, cols, xld, yld, off[0], off[1], quads};
    return asvk_stream_dispatch_linear(s, k, bind, 2, &push, sizeof push, ceil_div((uint64_t)rows * quads, ELT_WG));
}

asvk_status asvk_blas_copy(asvk_stream *s, asvk_buffer y, asvk_buffer x, uint64_t n) {
    asvk_status st;
    if ((st = need(x, n, "copy source")) || (st = need(y, n, "copy destination"))) return st;
    if (n == 0) return ASVK_OK;
    /* The transfer engine is fastest (11.8 GB/s vs 0.8-2.2 through shaders
     * on lavapipe); it needs 4-byte offsets, which every view has. It copies
     * bytes: both tensors must be stored alike (fp16 or fp32). */
    if (x.half != y.half)
        return asvk_error_set(ASVK_ERR_INTERNAL, "copy between an fp16 and an fp32 tensor of %llu elements",
                              (unsigned long long)n);
    uint64_t bytes = (n * asvk_buffer_elem_bytes(x) + 3) & ~3ull;
    return asvk_stream_copy(s, asvk_buffer_sub(y, 0, bytes), asvk_buffer_sub(x, 0, bytes));
}

asvk_status asvk_blas_binary(asvk_stream *s, asvk_binary_op op, asvk_buffer a, asvk_buffer b, asvk_buffer c,
                             uint64_t n) {
    asvk_status st;
    if ((st = need(a, n, "binary a")) || (st = need(b, n, "binary b")) || (st = need(c, n, "binary c")))
        return st;
    if (n == 0) return ASVK_OK;
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer bind[3];
    uint32_t off[3];
    asvk_buffer_bindable(ctx, a, &bind[0], &off[0]);
    asvk_buffer_bindable(ctx, b, &bind[1], &off[1]);
    asvk_buffer_bindable(ctx, c, &bind[2], &off[2]);
    bool aligned = off[0] % 4 == 0 && off[1] % 4 == 0 && off[2] % 4 == 0;
    uint32_t spec[4] = {ELT_WG, (uint32_t)op, aligned, aligned && n % 4 == 0};
    asvk_kernel *k;
    if ((st = asvk_kernel_get(ctx, "binary", spec, 4, &k))) return st;
    struct { uint32_t n, aoff, boff, coff; } push = {(uint32_t)n, off[0], off[1], off[2]};
    return asvk_stream_dispatch_linear(s, k, bind, 3, &push, sizeof push, ceil_div(n, 4 * ELT_WG));
}

asvk_status asvk_blas_axpy(asvk_stream *s, float alpha, asvk_buffer x, asvk_buffer y, uint64_t n) {
    asvk_status st;
    if ((st = need(x, n, "axpy x")) || (st = need(y, n, "axpy y"))) return st;
    if (n == 0) return ASVK_OK;
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer bind[2];
    uint32_t off[2];
    asvk_buffer_bindable(ctx, x, &bind[0], &off[0]);
    asvk_buffer_bindable(ctx, y, &bind[1], &off[1]);
    uint32_t spec[3] = {ELT_WG, off[0] % 4 == 0 && off[1] % 4 == 0, off[0] % 4 == 0 && off[1] % 4 == 0 && n % 4 == 0};
    asvk_kernel *k;
    if ((st = asvk_kernel_get(ctx, "axpy", spec, 3, &k))) return st;
    struct { uint32_t n, xoff, yoff; float alpha; } push = {(uint32_t)n, off[0], off[1], alpha};
    return asvk_stream_dispatch_linear(s, k, bind, 2, &push, sizeof push, ceil_div(n, 4 * ELT_WG));
}

/* ---- reductions ---- */

uint64_t asvk_blas_sum_workspace(uint32_t rows, uint32_t cols) {
    uint64_t chunks = ceil_div(cols, SUM_CHUNK);
    return chunks > 1 ? (uint64_t)rows * chunks * 4 : 0;
}

static asvk_status sum_pass(asvk_stream *s, asvk_buffer x, uint32_t rows, uint32_t cols, uint32_t ld, asvk_buffer y,
                            uint32_t chunks) {
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer bind[2];
    uint32_t off[2];
    asvk_buffer_bindable(ctx, x, &bind[0], &off[0]);
    asvk_buffer_bindable(ctx, y, &bind[1], &off[1]);
    uint32_t spec[3] = {SUM_WG, SUM_ITEMS, off[0] % 4 == 0 && ld % 4 == 0};
    asvk_kernel *k;
    asvk_status st = asvk_kernel_get(ctx, asvk_context_switches(ctx)->subgroup ? "reduce_sum_subgroup" : "reduce_sum",
                                     spec, 3, &k);
    if (st) return st;
    struct { uint32_t rows, cols, ld, xoff, yoff, chunks; } push = {rows, cols, ld, off[0], off[1], chunks};
    return asvk_stream_dispatch_linear(s, k, bind, 2, &push, sizeof push, (uint64_t)rows * chunks);
}

asvk_status asvk_blas_sum_rows(asvk_stream *s, asvk_buffer x, uint32_t rows, uint32_t cols, uint32_t ld,
                               asvk_buffer y, asvk_buffer workspace) {
    if (rows == 0) return ASVK_OK;
    if (ld < cols) return asvk_error_set(ASVK_ERR_INTERNAL, "sum_rows: ld %u < cols %u", ld, cols);
    asvk_status st;
    if ((st = need(x, (uint64_t)(rows - 1) * ld + cols, "sum_rows x")) || (st = need(y, rows, "sum_rows y")))
        return st;
    uint32_t chunks = (uint32_t)ceil_div(cols ? cols : 1, SUM_CHUNK);
    if (chunks == 1) return sum_pass(s, x, rows, cols, ld, y, 1);
    uint64_t ws = asvk_blas_sum_workspace(rows, cols);
    if (!workspace.block || workspace.size < ws)
        return asvk_error_set(ASVK_ERR_INTERNAL, "sum_rows: rows of %u floats need a %llu-byte workspace", cols,
                              (unsigned long long)ws);
    if ((st = sum_pass(s, x, rows, cols, ld, workspace, chunks))) return st;
    /* Partials are summed by the same kernel; long rows of partials recurse. */
    if (chunks <= SUM_CHUNK) return sum_pass(s, workspace, rows, chunks, chunks, y, 1);
    return asvk_error_set(ASVK_ERR_LIMIT, "sum_rows: rows of %u floats are longer than supported (%u)", cols,
                          SUM_CHUNK * SUM_CHUNK);
}
