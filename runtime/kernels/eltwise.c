/* Launchers of the element-wise kernels in shaders/eltwise/. */
#include "runtime/kernels/eltwise.h"

#include <math.h>

#include "runtime/blas.h"

#define WG 64u        /* workgroup size of every kernel here */
#define ITEMS 16u     /* quads per invocation of the flat kernels (lavapipe pays per workgroup) */
#define SE_ROWS 4u    /* pixels per invocation of ew_chscale_fwd */
#define SE_CHUNK 64u  /* pixels per partial sum of ew_chscale_bwd */
#define DOT_CHUNK 128u /* quads per partial inner product of mix_bwd_dot */
#define MAX_ELEMS (1ull << 31) /* kernels index with 32-bit unsigned math */

static uint32_t bind(asvk_context *ctx, asvk_buffer view, asvk_buffer *slot) {
    uint32_t off;
    asvk_buffer_bindable(ctx, view, slot, &off);
    return off;
}

static bool all4(const uint32_t *off, int n) {
    for (int i = 0; i < n; i++)
        if (off[i] % 4) return false;
    return true;
}

static asvk_status check_n(uint64_t n, const char *what) {
    if (n >= MAX_ELEMS)
        return asvk_error_set(ASVK_ERR_LIMIT, "%s: %llu elements exceed the 2^31 a kernel indexes", what,
                              (unsigned long long)n);
    return ASVK_OK;
}

static asvk_status check_act(asvk_act act, const char *what) {
    if ((unsigned)act > ASVK_ACT_HSIGMOID)
        return asvk_error_set(ASVK_ERR_INTERNAL, "%s: unknown activation %d", what, act);
    return ASVK_OK;
}

/* Workgroups of a flat kernel: WG invocations of ITEMS quads each. */
static uint64_t flat_groups(uint64_t n) { return asvk_ceil_div(n, 4ull * WG * ITEMS); }

/* ---- activations ---- */

asvk_status asvk_act_forward(asvk_stream *s, asvk_act act, asvk_buffer x, asvk_buffer y, uint64_t n) {
    asvk_status st;
    if ((st = check_act(act, "activation")) || (st = check_n(n, "activation")) ||
        (st = asvk_check_floats(x, n, "activation x")) || (st = asvk_check_floats(y, n, "activation y")))
        return st;
    if (n == 0) return ASVK_OK;
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer b[2];
    uint32_t off[2] = {bind(ctx, x, &b[0]), bind(ctx, y, &b[1])};
    uint32_t spec[4] = {WG, (uint32_t)act, all4(off, 2), ITEMS};
    asvk_kernel *k;
    if ((st = asvk_kernel_get(ctx, "act_fwd", spec, 4, &k))) return st;
    struct { uint32_t n, xoff, yoff; } push = {(uint32_t)n, off[0], off[1]};
    return asvk_stream_dispatch_linear(s, k, b, 2, &push, sizeof push, flat_groups(n));
}

asvk_status asvk_act_backward(asvk_stream *s, asvk_act act, asvk_buffer x, asvk_buffer dy, asvk_buffer dx,
                              uint64_t n, bool accumulate) {
    asvk_status st;
    if ((st = check_act(act, "activation backward")) || (st = check_n(n, "activation backward")) ||
        (st = asvk_check_floats(x, n, "activation backward x")) ||
        (st = asvk_check_floats(dy, n, "activation backward dy")) ||
        (st = asvk_check_floats(dx, n, "activation backward dx")))
        return st;
    if (n == 0) return ASVK_OK;
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer b[3];
    uint32_t off[3] = {bind(ctx, x, &b[0]), bind(ctx, dy, &b[1]), bind(ctx, dx, &b[2])};
    uint32_t spec[5] = {WG, (uint32_t)act, all4(off, 3), ITEMS, accumulate};
    asvk_kernel *k;
    if ((st = asvk_kernel_get(ctx, "act_bwd", spec, 5, &k))) return st;
    struct { uint32_t n, xoff, dyoff, dxoff; } push = {(uint32_t)n, off[0], off[1], off[2]};
    return asvk_stream_dispatch_linear(s, k, b, 3, &push, sizeof push, flat_groups(n));
}

/* ---- add and mul ---- */

asvk_status asvk_ew_add(asvk_stream *s, asvk_buffer a, asvk_buffer b, asvk_buffer c, uint64_t n) {
    asvk_status st = check_n(n, "add");
    return st ? st : asvk_blas_binary(s, ASVK_BINARY_ADD, a, b, c, n);
}

asvk_status asvk_ew_mul(asvk_stream *s, asvk_buffer a, asvk_buffer b, asvk_buffer c, uint64_t n) {
    asvk_status st = check_n(n, "mul");
    return st ? st : asvk_blas_binary(s, ASVK_BINARY_MUL, a, b, c, n);
}

asvk_status asvk_ew_add_into(asvk_stream *s, asvk_buffer dst, asvk_buffer src, uint64_t n, bool accumulate) {
    asvk_status st;
    if ((st = check_n(n, "add_into")) || (st = asvk_check_floats(src, n, "add_into src")) ||
        (st = asvk_check_floats(dst, n, "add_into dst")))
        return st;
    if (n == 0) return ASVK_OK;
    /* Writing is a copy: the transfer engine does it several times faster
     * than a shader (docs in runtime/blas.c). */
    if (!accumulate) return asvk_blas_copy(s, dst, src, n);
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer b[2];
    uint32_t off[2] = {bind(ctx, src, &b[0]), bind(ctx, dst, &b[1])};
    uint32_t spec[3] = {WG, all4(off, 2), ITEMS};
    asvk_kernel *k;
    if ((st = asvk_kernel_get(ctx, "ew_add_into", spec, 3, &k))) return st;
    struct { uint32_t n, soff, doff; } push = {(uint32_t)n, off[0], off[1]};
    return asvk_stream_dispatch_linear(s, k, b, 2, &push, sizeof push, flat_groups(n));
}

asvk_status asvk_ew_mul_backward(asvk_stream *s, asvk_buffer dy, asvk_buffer a, asvk_buffer b, asvk_buffer da,
                                 bool accumulate_da, asvk_buffer db, bool accumulate_db, uint64_t n) {
    asvk_status st;
    bool has_da = da.block != NULL, has_db = db.block != NULL;
    if ((st = check_n(n, "mul backward")) || (st = asvk_check_floats(dy, n, "mul backward dy")) ||
        (st = asvk_check_floats(a, n, "mul backward a")) || (st = asvk_check_floats(b, n, "mul backward b")) ||
        (has_da && (st = asvk_check_floats(da, n, "mul backward da"))) ||
        (has_db && (st = asvk_check_floats(db, n, "mul backward db"))))
        return st;
    if (n == 0 || (!has_da && !has_db)) return ASVK_OK;
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer bb[5];
    uint32_t off[5] = {bind(ctx, dy, &bb[0]), bind(ctx, a, &bb[1]), bind(ctx, b, &bb[2]),
                       bind(ctx, has_da ? da : db, &bb[3]), bind(ctx, has_db ? db : da, &bb[4])};
    uint32_t spec[7] = {WG, all4(off, 5), ITEMS, has_da, has_db, accumulate_da, accumulate_db};
    asvk_kernel *k;
    if ((st = asvk_kernel_get(ctx, "ew_mul_bwd", spec, 7, &k))) return st;
    struct { uint32_t n, dyoff, aoff, boff, daoff, dboff; } push = {(uint32_t)n, off[0], off[1],
                                                                     off[2], off[3], off[4]};
    return asvk_stream_dispatch_linear(s, k, bb, 5, &push, sizeof push, flat_groups(n));
}

/* ---- channel scale ---- */

static asvk_status check_shape(asvk_nhwc shape, const char *what) {
    if (asvk_nhwc_count(shape) >= MAX_ELEMS)
        return asvk_error_set(ASVK_ERR_LIMIT, "%s: %llu elements exceed the 2^31 a kernel indexes", what,
                              (unsigned long long)asvk_nhwc_count(shape));
    return ASVK_OK;
}

asvk_status asvk_ew_chscale_forward(asvk_stream *s, asvk_nhwc shape, asvk_buffer x, asvk_buffer scale, asvk_buffer y) {
    uint64_t count = asvk_nhwc_count(shape);
    asvk_status st;
    if ((st = check_shape(shape, "channel scale")) || (st = asvk_check_floats(x, count, "channel scale x")) ||
        (st = asvk_check_floats(y, count, "channel scale y")) ||
        (st = asvk_check_floats(scale, (uint64_t)shape.n * shape.c, "channel scale s")))
        return st;
    if (count == 0) return ASVK_OK;
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer b[3];
    uint32_t off[3] = {bind(ctx, x, &b[0]), bind(ctx, scale, &b[1]), bind(ctx, y, &b[2])};
    uint32_t xy[2] = {off[0], off[2]};
    uint32_t spec[4] = {WG, shape.c % 4 == 0 && all4(xy, 2), shape.c % 4 == 0 && off[1] % 4 == 0, SE_ROWS};
    asvk_kernel *k;
    if ((st = asvk_kernel_get(ctx, "ew_chscale_fwd", spec, 4, &k))) return st;
    uint32_t q = (uint32_t)asvk_ceil_div(shape.c, 4), pixels = (uint32_t)asvk_nhwc_pixels(shape);
    struct { uint32_t P, HW, C, Q, xoff, soff, yoff; } push = {pixels, shape.h * shape.w, shape.c, q,
                                                               off[0], off[1], off[2]};
    uint64_t items = (uint64_t)q * asvk_ceil_div(pixels, SE_ROWS);
    return asvk_stream_dispatch_linear(s, k, b, 3, &push, sizeof push, asvk_ceil_div(items, WG));
}

uint64_t asvk_ew_chscale_workspace(asvk_nhwc shape) {
    uint64_t chunks = asvk_ceil_div((uint64_t)shape.h * shape.w, SE_CHUNK);
    if (chunks <= 1 || shape.n == 0 || shape.c == 0) return 0;
    /* [N][chunks][4Q] partials and 3 floats to align the start to a vec4 */
    return ((uint64_t)shape.n * chunks * asvk_ceil_div(shape.c, 4) * 4 + 3) * 4;
}

asvk_status asvk_ew_chscale_backward(asvk_stream *s, asvk_nhwc shape, asvk_buffer x, asvk_buffer scale,
                                     asvk_buffer dy, asvk_buffer dx, bool accumulate_dx, asvk_buffer dscale,
                                     bool accumulate_dscale, asvk_buffer workspace) {
    uint64_t count = asvk_nhwc_count(shape), nc = (uint64_t)shape.n * shape.c;
    bool has_dx = dx.block != NULL, has_ds = dscale.block != NULL;
    asvk_status st;
    if ((st = check_shape(shape, "channel scale backward")) ||
        (st = asvk_check_floats(x, count, "channel scale backward x")) ||
        (st = asvk_check_floats(dy, count, "channel scale backward dy")) ||
        (st = asvk_check_floats(scale, nc, "channel scale backward s")) ||
        (has_dx && (st = asvk_check_floats(dx, count, "channel scale backward dx"))) ||
        (has_ds && (st = asvk_check_floats(dscale, nc, "channel scale backward ds"))))
        return st;
    if (count == 0 || (!has_dx && !has_ds)) return ASVK_OK;
    uint32_t hw = shape.h * shape.w, q = (uint32_t)asvk_ceil_div(shape.c, 4);
    uint32_t chunks = (uint32_t)asvk_ceil_div(hw, SE_CHUNK);
    bool direct = chunks == 1;
    asvk_buffer ws = dscale;
    if (has_ds && !direct) {
        uint64_t need = asvk_ew_chscale_workspace(shape);
        if (!workspace.block || workspace.size < need)
            return asvk_error_set(ASVK_ERR_INTERNAL, "channel scale backward: needs a workspace of %llu bytes "
                                  "(asvk_ew_chscale_workspace)", (unsigned long long)need);
        uint64_t skip = (16 - workspace.offset % 16) % 16;
        ws = asvk_buffer_sub(workspace, skip, workspace.size - skip);
    }
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer b[5];
    uint32_t off[5] = {bind(ctx, x, &b[0]), bind(ctx, scale, &b[1]), bind(ctx, dy, &b[2]),
                       bind(ctx, has_dx ? dx : ws, &b[3]), bind(ctx, has_ds ? ws : dx, &b[4])};
    uint32_t xs[3] = {off[0], off[2], off[3]};
    uint32_t spec[8] = {WG, shape.c % 4 == 0 && all4(xs, has_dx ? 3 : 2), shape.c % 4 == 0 && off[1] % 4 == 0,
                        has_dx, accumulate_dx, has_ds, accumulate_dscale, direct};
    asvk_kernel *k;
    if ((st = asvk_kernel_get(ctx, "ew_chscale_bwd", spec, 8, &k))) return st;
    struct { uint32_t N, HW, C, Q, L, chunks, xoff, soff, dyoff, dxoff, dsoff; } push = {
        shape.n, hw, shape.c, q, SE_CHUNK, chunks, off[0], off[1], off[2], off[3], off[4]};
    uint64_t items = (uint64_t)shape.n * chunks * q;
    if ((st = asvk_stream_dispatch_linear(s, k, b, 5, &push, sizeof push, asvk_ceil_div(items, WG)))) return st;
    if (!has_ds || direct) return ASVK_OK;

    asvk_buffer bm[2];
    uint32_t om[2] = {bind(ctx, ws, &bm[0]), bind(ctx, dscale, &bm[1])};
    uint32_t spec2[2] = {WG, accumulate_dscale};
    if ((st = asvk_kernel_get(ctx, "ew_chscale_merge", spec2, 2, &k))) return st;
    struct { uint32_t N, C, Q, chunks, wsoff, dsoff; } p2 = {shape.n, shape.c, q, chunks, om[0], om[1]};
    return asvk_stream_dispatch_linear(s, k, bm, 2, &p2, sizeof p2, asvk_ceil_div((uint64_t)shape.n * q, WG));
}

/* ---- dropout ---- */

static asvk_status dropout(asvk_stream *s, float p, uint32_t stream_id, asvk_buffer step, asvk_buffer in,
                           asvk_buffer out, uint64_t n, bool accumulate, const char *what) {
    asvk_status st;
    if (!(p >= 0 && p < 1)) return asvk_error_set(ASVK_ERR_USAGE, "%s: p must lie in [0, 1) (got %g)", what, p);
    if ((st = check_n(n, what)) || (st = asvk_check_floats(in, n, what)) || (st = asvk_check_floats(out, n, what)) ||
        (st = asvk_check_floats(step, ASVK_STEP_FLOATS, "dropout step buffer")))
        return st;
    if (n == 0) return ASVK_OK;
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer b[3];
    uint32_t off[3] = {bind(ctx, in, &b[0]), bind(ctx, step, &b[1]), bind(ctx, out, &b[2])};
    uint32_t io[2] = {off[0], off[2]};
    uint32_t spec[4] = {WG, all4(io, 2), ITEMS, accumulate};
    asvk_kernel *k;
    if ((st = asvk_kernel_get(ctx, "dropout_apply", spec, 4, &k))) return st;
    /* keep iff a 24-bit hash >= threshold: P(keep) = 1 - threshold/2^24 */
    struct { uint32_t n, soff, doff, seed_index, threshold; float scale; uint32_t stream; } push = {
        (uint32_t)n, off[0], off[2], off[1] + ASVK_STEP_SEED, (uint32_t)llround((double)p * 16777216.0),
        (float)(1.0 / (1.0 - (double)p)), stream_id};
    return asvk_stream_dispatch_linear(s, k, b, 3, &push, sizeof push, flat_groups(n));
}

asvk_status asvk_dropout_forward(asvk_stream *s, float p, uint32_t stream_id, asvk_buffer step, asvk_buffer x,
                                 asvk_buffer y, uint64_t n) {
    return dropout(s, p, stream_id, step, x, y, n, false, "dropout");
}

asvk_status asvk_dropout_backward(asvk_stream *s, float p, uint32_t stream_id, asvk_buffer step, asvk_buffer dy,
                                  asvk_buffer dx, uint64_t n, bool accumulate) {
    return dropout(s, p, stream_id, step, dy, dx, n, accumulate, "dropout backward");
}

/* ---- mixture ---- */

static asvk_status check_mix(uint32_t k, const asvk_buffer *x, asvk_buffer alpha, uint64_t n, const char *what) {
    asvk_status st;
    if (k < 1 || k > ASVK_MIX_MAX)
        return asvk_error_set(ASVK_ERR_INTERNAL, "%s: %u inputs; 1 to %d are supported", what, k, ASVK_MIX_MAX);
    if ((st = check_n(n, what)) || (st = asvk_check_floats(alpha, k, "mixture alpha"))) return st;
    for (uint32_t j = 0; x && j < k; j++)
        if ((st = asvk_check_floats(x[j], n, "mixture input"))) return st;
    return ASVK_OK;
}

asvk_status asvk_mix_forward(asvk_stream *s, uint32_t k, const asvk_buffer *x, asvk_buffer alpha, asvk_buffer y,
                             uint64_t n) {
    asvk_status st;
    if ((st = check_mix(k, x, alpha, n, "mixture")) || (st = asvk_check_floats(y, n, "mixture y"))) return st;
    if (n == 0) return ASVK_OK;
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer b[ASVK_MIX_MAX + 2];
    uint32_t xo[ASVK_MIX_MAX], ao, yo;
    for (uint32_t j = 0; j < ASVK_MIX_MAX; j++) xo[j] = bind(ctx, x[j < k ? j : 0], &b[j]);
    ao = bind(ctx, alpha, &b[ASVK_MIX_MAX]);
    yo = bind(ctx, y, &b[ASVK_MIX_MAX + 1]);
    uint32_t spec[4] = {WG, k, all4(xo, (int)k) && yo % 4 == 0, ITEMS};
    asvk_kernel *kk;
    if ((st = asvk_kernel_get(ctx, "mix_fwd", spec, 4, &kk))) return st;
    struct { uint32_t n, aoff, yoff, pad, x[ASVK_MIX_MAX]; } push = {(uint32_t)n, ao, yo, 0, {0}};
    for (uint32_t j = 0; j < ASVK_MIX_MAX; j++) push.x[j] = xo[j];
    return asvk_stream_dispatch_linear(s, kk, b, ASVK_MIX_MAX + 2, &push, sizeof push, flat_groups(n));
}

static uint64_t dot_chunks(uint64_t n) { return asvk_ceil_div(n, 4ull * DOT_CHUNK); }

uint64_t asvk_mix_workspace(uint32_t k, uint64_t n) { return (uint64_t)k * dot_chunks(n) * 4; }

asvk_status asvk_mix_backward(asvk_stream *s, uint32_t k, const asvk_buffer *x, asvk_buffer alpha, asvk_buffer dy,
                              uint64_t n, const asvk_buffer *dx, const bool *accumulate_dx, asvk_buffer dalpha,
                              bool accumulate_dalpha, asvk_buffer workspace) {
    bool want_dalpha = dalpha.block != NULL;
    asvk_status st;
    if ((st = check_mix(k, want_dalpha ? x : NULL, alpha, n, "mixture backward")) ||
        (st = asvk_check_floats(dy, n, "mixture backward dy")) ||
        (want_dalpha && (st = asvk_check_floats(dalpha, k, "mixture backward dalpha"))))
        return st;
    uint32_t want = 0, acc = 0;
    int first = -1;
    for (uint32_t j = 0; dx && j < k; j++) {
        if (!dx[j].block) continue;
        if ((st = asvk_check_floats(dx[j], n, "mixture backward dx"))) return st;
        want |= 1u << j;
        if (accumulate_dx && accumulate_dx[j]) acc |= 1u << j;
        if (first < 0) first = (int)j;
    }
    if (n == 0) return ASVK_OK;
    asvk_context *ctx = asvk_stream_context(s);
    asvk_kernel *kk;
    if (want) {
        asvk_buffer b[ASVK_MIX_MAX + 2];
        uint32_t o[ASVK_MIX_MAX + 2];
        o[0] = bind(ctx, dy, &b[0]);
        o[1] = bind(ctx, alpha, &b[1]);
        bool aligned = o[0] % 4 == 0;
        for (uint32_t j = 0; j < ASVK_MIX_MAX; j++) {
            o[2 + j] = bind(ctx, dx[want >> j & 1 ? j : (uint32_t)first], &b[2 + j]);
            if (want >> j & 1) aligned = aligned && o[2 + j] % 4 == 0;
        }
        uint32_t spec[6] = {WG, k, aligned, ITEMS, want, acc};
        if ((st = asvk_kernel_get(ctx, "mix_bwd_dx", spec, 6, &kk))) return st;
        struct { uint32_t n, dyoff, aoff, pad, d[ASVK_MIX_MAX]; } push = {(uint32_t)n, o[0], o[1], 0, {0}};
        for (uint32_t j = 0; j < ASVK_MIX_MAX; j++) push.d[j] = o[2 + j];
        if ((st = asvk_stream_dispatch_linear(s, kk, b, ASVK_MIX_MAX + 2, &push, sizeof push, flat_groups(n)))) return st;
    }
    if (!want_dalpha) return ASVK_OK;

    uint64_t need = asvk_mix_workspace(k, n);
    if (!workspace.block || workspace.size < need)
        return asvk_error_set(ASVK_ERR_INTERNAL, "mixture backward: dalpha needs a workspace of %llu bytes "
                              "(asvk_mix_workspace)", (unsigned long long)need);
    uint32_t chunks = (uint32_t)dot_chunks(n);
    asvk_buffer ws = asvk_buffer_sub(workspace, 0, need);
    asvk_buffer b[ASVK_MIX_MAX + 2];
    uint32_t o[ASVK_MIX_MAX + 2];
    o[0] = bind(ctx, dy, &b[0]);
    for (uint32_t j = 0; j < ASVK_MIX_MAX; j++) o[1 + j] = bind(ctx, x[j < k ? j : 0], &b[1 + j]);
    o[ASVK_MIX_MAX + 1] = bind(ctx, ws, &b[ASVK_MIX_MAX + 1]);
    uint32_t spec[4] = {WG, k, all4(o, 1 + (int)k), DOT_CHUNK};
    if ((st = asvk_kernel_get(ctx, "mix_bwd_dot", spec, 4, &kk))) return st;
    struct { uint32_t n, chunks, dyoff, wsoff, x[ASVK_MIX_MAX]; } p1 = {(uint32_t)n, chunks, o[0], o[ASVK_MIX_MAX + 1], {0}};
    for (uint32_t j = 0; j < ASVK_MIX_MAX; j++) p1.x[j] = o[1 + j];
    if ((st = asvk_stream_dispatch_linear(s, kk, b, ASVK_MIX_MAX + 2, &p1, sizeof p1, asvk_ceil_div(chunks, WG)))) return st;

    asvk_buffer ba[3];
    uint32_t oa[3] = {bind(ctx, ws, &ba[0]), bind(ctx, alpha, &ba[1]), bind(ctx, dalpha, &ba[2])};
    uint32_t spec2[3] = {WG, k, accumulate_dalpha};
    if ((st = asvk_kernel_get(ctx, "mix_bwd_alpha", spec2, 3, &kk))) return st;
    struct { uint32_t chunks, wsoff, aoff, doff; } p2 = {chunks, oa[0], oa[1], oa[2]};
    return asvk_stream_dispatch(s, kk, ba, 3, &p2, sizeof p2, 1, 1, 1);
}
