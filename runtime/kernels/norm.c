/* Launchers of the BatchNorm kernels in shaders/norm/. */
#include "runtime/kernels/norm.h"

#include <stddef.h>

#define WG 64u   /* workgroup size of every BN kernel */
#define ROWS 8u  /* pixels per invocation of bn_apply and bn_bwd_dx */
#define CHUNKS_TARGET 256u /* statistics chunks: enough invocations to fill a device... */
#define CHUNK_MIN 32u      /* ...without chunks so short that the merge dominates */

/* Chunks of the per-channel reductions: L pixels each. The same rule sizes
 * the workspace and drives the kernels. */
static uint32_t chunk_len(uint64_t pixels) {
    uint64_t l = asvk_ceil_div(pixels, CHUNKS_TARGET);
    return (uint32_t)(l < CHUNK_MIN ? CHUNK_MIN : l);
}

uint64_t asvk_bn_workspace(asvk_nhwc shape) {
    uint64_t pixels = asvk_nhwc_pixels(shape), c4 = asvk_ceil_div(shape.c, 4) * 4;
    if (pixels == 0 || c4 == 0) return 0;
    uint64_t chunks = asvk_ceil_div(pixels, chunk_len(pixels));
    /* forward: [2][chunks][c4]; backward: totals [2][c4], dx's terms
     * [4][c4] (asvk_bn_backward_terms) and [2][chunks][c4]; plus 3 floats to
     * align the start to a vec4. */
    return (2 * c4 * (chunks + 3) + 3) * 4;
}

/* Adds a view to the bindings; returns its element offset. */
static uint32_t bind(asvk_context *ctx, asvk_buffer view, asvk_buffer *slot) {
    uint32_t off;
    asvk_buffer_bindable(ctx, view, slot, &off);
    return off;
}

/* The workspace advanced to a vec4 boundary (bindable ranges start at
 * multiples of 16 bytes, so the byte offset modulo 16 decides). */
static asvk_buffer align_ws(asvk_buffer w) {
    uint64_t skip = (16 - w.offset % 16) % 16;
    return asvk_buffer_sub(w, skip, w.size - skip);
}

typedef struct {
    uint32_t pixels, c, q, l, chunks;
} geometry;

static asvk_status check_desc(const asvk_bn_desc *d, geometry *g, const char *what) {
    uint64_t pixels = asvk_nhwc_pixels(d->shape), count = asvk_nhwc_count(d->shape);
    if ((unsigned)d->act > ASVK_ACT_HSIGMOID)
        return asvk_error_set(ASVK_ERR_INTERNAL, "%s: unknown activation %d", what, d->act);
    if (count >= (1ull << 31))
        return asvk_error_set(ASVK_ERR_LIMIT, "%s: %llu elements exceed the 2^31 a kernel indexes", what,
                              (unsigned long long)count);
    if (!(d->eps >= 0)) return asvk_error_set(ASVK_ERR_USAGE, "%s: eps must not be negative (got %g)", what, d->eps);
    g->pixels = (uint32_t)pixels;
    g->c = d->shape.c;
    g->q = (uint32_t)asvk_ceil_div(d->shape.c, 4);
    g->l = chunk_len(pixels ? pixels : 1);
    g->chunks = (uint32_t)asvk_ceil_div(pixels, g->l);
    return ASVK_OK;
}

/* Every [C] view at an offset that is a multiple of 4 (with C one too): vec4 loads. */
static bool aligned4(uint32_t c, const uint32_t *off, int n) {
    if (c % 4) return false;
    for (int i = 0; i < n; i++)
        if (off[i] % 4) return false;
    return true;
}

static asvk_status apply(asvk_stream *s, const asvk_bn_desc *d, const geometry *g, uint32_t mode, asvk_buffer x,
                         asvk_buffer gamma, asvk_buffer beta, asvk_buffer mean, asvk_buffer stat, asvk_buffer y) {
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer b[6];
    uint32_t off[6] = {bind(ctx, x, &b[0]), bind(ctx, gamma, &b[1]), bind(ctx, beta, &b[2]),
                       bind(ctx, mean, &b[3]), bind(ctx, stat, &b[4]), bind(ctx, y, &b[5])};
    uint32_t xy[2] = {off[0], off[5]};
    uint32_t spec[6] = {WG, (uint32_t)d->act, mode, aligned4(g->c, xy, 2), aligned4(g->c, off + 1, 4), ROWS};
    asvk_kernel *k;
    asvk_status st = asvk_kernel_get(ctx, "bn_apply", spec, 6, &k);
    if (st) return st;
    struct { uint32_t P, C, Q, xoff, goff, boff, moff, soff, yoff; float eps; } push = {
        g->pixels, g->c, g->q, off[0], off[1], off[2], off[3], off[4], off[5], d->eps};
    uint64_t items = (uint64_t)g->q * asvk_ceil_div(g->pixels, ROWS);
    return asvk_stream_dispatch_linear(s, k, b, 6, &push, sizeof push, asvk_ceil_div(items, WG));
}

/* x and y hold the tensor; the four others [C]; names for messages. */
static asvk_status check_sizes(const asvk_bn_desc *d, const asvk_buffer *v, const char *const *names) {
    asvk_status st;
    for (int i = 0; i < 6; i++)
        if ((st = asvk_check_floats(v[i], i == 0 || i == 5 ? asvk_nhwc_count(d->shape) : d->shape.c, names[i])))
            return st;
    return ASVK_OK;
}

/* the forward passes' buffers, for check_sizes's messages */
static const char *const forward_names[6] = {"batchnorm x", "batchnorm gamma", "batchnorm beta",
                                             "batchnorm running_mean", "batchnorm running_var", "batchnorm y"};

asvk_status asvk_bn_forward_infer(asvk_stream *s, const asvk_bn_desc *d, asvk_buffer x, asvk_buffer gamma,
                                  asvk_buffer beta, asvk_buffer running_mean, asvk_buffer running_var,
                                  asvk_buffer y) {
    geometry g;
    asvk_status st = check_desc(d, &g, "batchnorm inference");
    if (st || asvk_nhwc_count(d->shape) == 0) return st;
    if ((st = check_sizes(d, (asvk_buffer[6]){x, gamma, beta, running_mean, running_var, y}, forward_names))) return st;
    return apply(s, d, &g, 1, x, gamma, beta, running_mean, running_var, y);
}

asvk_status asvk_bn_forward_train(asvk_stream *s, const asvk_bn_desc *d, asvk_buffer x, asvk_buffer gamma,
                                  asvk_buffer beta, asvk_buffer running_mean, asvk_buffer running_var,
                                  asvk_buffer y, asvk_buffer save_mean, asvk_buffer save_invstd,
                                  asvk_buffer workspace) {
    geometry g;
    asvk_status st = check_desc(d, &g, "batchnorm training");
    if (st || asvk_nhwc_count(d->shape) == 0) return st;
    if (g.pixels < 2)
        return asvk_error_set(ASVK_ERR_USAGE, "batchnorm training needs more than one value per channel "
                              "(N*H*W = %u); use batches of at least 2 or inference mode", g.pixels);
    if ((st = check_sizes(d, (asvk_buffer[6]){x, gamma, beta, running_mean, running_var, y}, forward_names)) ||
        (st = asvk_check_floats(save_mean, g.c, "batchnorm save_mean")) ||
        (st = asvk_check_floats(save_invstd, g.c, "batchnorm save_invstd")))
        return st;
    uint64_t ws_bytes = asvk_bn_workspace(d->shape);
    if (!workspace.block || workspace.size < ws_bytes)
        return asvk_error_set(ASVK_ERR_INTERNAL, "batchnorm training: needs a workspace of %llu bytes "
                              "(asvk_bn_workspace)",
                              (unsigned long long)ws_bytes);
    if ((st = asvk_bn_forward_stats(s, d, x, running_mean, running_var, save_mean, save_invstd, workspace))) return st;
    /* then normalise and activate */
    return asvk_bn_forward_apply(s, d, x, gamma, beta, save_mean, save_invstd, y);
}

asvk_status asvk_bn_forward_apply(asvk_stream *s, const asvk_bn_desc *d, asvk_buffer x, asvk_buffer gamma,
                                  asvk_buffer beta, asvk_buffer save_mean, asvk_buffer save_invstd, asvk_buffer y) {
    geometry g;
    asvk_status st = check_desc(d, &g, "batchnorm training");
    if (st || asvk_nhwc_count(d->shape) == 0) return st;
    return apply(s, d, &g, 0, x, gamma, beta, save_mean, save_invstd, y);
}

asvk_status asvk_bn_forward_stats(asvk_stream *s, const asvk_bn_desc *d, asvk_buffer x, asvk_buffer running_mean,
                                  asvk_buffer running_var, asvk_buffer save_mean, asvk_buffer save_invstd,
                                  asvk_buffer workspace) {
    geometry g;
    asvk_status st = check_desc(d, &g, "batchnorm training");
    if (st || asvk_nhwc_count(d->shape) == 0) return st;
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer ws = align_ws(workspace), counter;
    asvk_kernel *k;
    if ((st = asvk_stream_counter(s, &counter))) return st;

    /* chunk means and M2s; the last workgroup merges them (one dispatch) */
    asvk_buffer b[7];
    uint32_t off[7] = {bind(ctx, x, &b[0]), bind(ctx, ws, &b[1]), bind(ctx, running_mean, &b[2]),
                       bind(ctx, running_var, &b[3]), bind(ctx, save_mean, &b[4]), bind(ctx, save_invstd, &b[5]),
                       bind(ctx, counter, &b[6])};
    uint32_t spec[2] = {WG, aligned4(g.c, off, 1)};
    if ((st = asvk_kernel_get(ctx, "bn_stats", spec, 2, &k))) return st;
    struct {
        uint32_t P, C, Q, L, chunks, xoff, wsoff, rmoff, rvoff, smoff, sioff, cnt;
        float eps, momentum;
    } push = {g.pixels, g.c, g.q, g.l, g.chunks, off[0], off[1], off[2], off[3], off[4], off[5], off[6],
              d->eps, d->momentum};
    return asvk_stream_dispatch_linear(s, k, b, 7, &push, sizeof push, asvk_ceil_div((uint64_t)g.chunks * g.q, WG));
}

asvk_status asvk_bn_backward(asvk_stream *s, const asvk_bn_desc *d, asvk_buffer x, asvk_buffer dy,
                             asvk_buffer gamma, asvk_buffer beta, asvk_buffer save_mean,
                             asvk_buffer save_invstd, const asvk_bn_grads *gr, asvk_buffer workspace) {
    geometry g;
    asvk_status st = check_desc(d, &g, "batchnorm backward");
    if (st || asvk_nhwc_count(d->shape) == 0) return st;
    uint64_t n = asvk_nhwc_count(d->shape);
    static const char *const names[6] = {"batchnorm x", "batchnorm gamma", "batchnorm beta",
                                         "batchnorm save_mean", "batchnorm save_invstd", "batchnorm dy"};
    if ((st = check_sizes(d, (asvk_buffer[6]){x, gamma, beta, save_mean, save_invstd, dy}, names)) ||
        (st = asvk_check_floats(gr->dgamma, g.c, "batchnorm dgamma")) ||
        (st = asvk_check_floats(gr->dbeta, g.c, "batchnorm dbeta")) ||
        (gr->dx.block && (st = asvk_check_floats(gr->dx, n, "batchnorm dx"))))
        return st;
    uint64_t ws_bytes = asvk_bn_workspace(d->shape);
    if (!workspace.block || workspace.size < ws_bytes)
        return asvk_error_set(ASVK_ERR_INTERNAL, "batchnorm backward: needs a workspace of %llu bytes "
                              "(asvk_bn_workspace)",
                              (unsigned long long)ws_bytes);
    if ((st = asvk_bn_backward_sums(s, d, x, dy, gamma, beta, save_mean, save_invstd, gr, workspace))) return st;
    if (!gr->dx.block) return ASVK_OK;
    return asvk_bn_backward_dx(s, d, x, dy, gamma, beta, save_mean, save_invstd, gr, workspace);
}

asvk_buffer asvk_bn_backward_totals(const asvk_bn_desc *d, asvk_buffer workspace) {
    uint64_t c4 = (uint64_t)asvk_ceil_div(d->shape.c, 4) * 4;
    return asvk_buffer_sub(align_ws(workspace), 0, 2 * c4 * 4);
}

asvk_buffer asvk_bn_backward_terms(const asvk_bn_desc *d, asvk_buffer workspace) {
    uint64_t c4 = (uint64_t)asvk_ceil_div(d->shape.c, 4) * 4;
    return asvk_buffer_sub(align_ws(workspace), 0, 6 * c4 * 4);
}

asvk_status asvk_bn_backward_sums(asvk_stream *s, const asvk_bn_desc *d, asvk_buffer x, asvk_buffer dy,
                                  asvk_buffer gamma, asvk_buffer beta, asvk_buffer save_mean,
                                  asvk_buffer save_invstd, const asvk_bn_grads *gr, asvk_buffer workspace) {
    geometry g;
    asvk_status st = check_desc(d, &g, "batchnorm backward");
    if (st || asvk_nhwc_count(d->shape) == 0) return st;
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer ws = align_ws(workspace), counter;
    if ((st = asvk_stream_counter(s, &counter))) return st;
    asvk_kernel *k;
    asvk_buffer b[10];
    uint32_t off[10];

    /* chunk sums of g and g*xhat; the last workgroup makes the totals and
     * dx's terms (at the workspace's start, for asvk_bn_backward_totals and
     * asvk_bn_backward_terms) and the parameter gradients (one dispatch) */
    off[0] = bind(ctx, x, &b[0]), off[1] = bind(ctx, dy, &b[1]), off[2] = bind(ctx, gamma, &b[2]);
    off[3] = bind(ctx, beta, &b[3]), off[4] = bind(ctx, save_mean, &b[4]), off[5] = bind(ctx, save_invstd, &b[5]);
    off[6] = bind(ctx, ws, &b[6]), off[7] = bind(ctx, gr->dgamma, &b[7]), off[8] = bind(ctx, gr->dbeta, &b[8]);
    off[9] = bind(ctx, counter, &b[9]);
    uint32_t spec[6] = {WG, (uint32_t)d->act, aligned4(g.c, off, 2), aligned4(g.c, off + 2, 4),
                        gr->accumulate_dgamma, gr->accumulate_dbeta};
    if ((st = asvk_kernel_get(ctx, "bn_bwd_reduce", spec, 6, &k))) return st;
    uint32_t c4 = g.q * 4;
    struct { uint32_t P, C, Q, L, chunks, xoff, dyoff, goff, boff, moff, ioff, toff, poff, dgoff, dboff, cnt; } push = {
        g.pixels, g.c, g.q, g.l, g.chunks, off[0], off[1], off[2], off[3], off[4], off[5], off[6], off[6] + 6 * c4,
        off[7], off[8], off[9]};
    return asvk_stream_dispatch_linear(s, k, b, 10, &push, sizeof push, asvk_ceil_div((uint64_t)g.chunks * g.q, WG));
}

asvk_status asvk_bn_backward_dx(asvk_stream *s, const asvk_bn_desc *d, asvk_buffer x, asvk_buffer dy,
                                asvk_buffer gamma, asvk_buffer beta, asvk_buffer save_mean, asvk_buffer save_invstd,
                                const asvk_bn_grads *gr, asvk_buffer workspace) {
    geometry g;
    asvk_status st = check_desc(d, &g, "batchnorm backward");
    if (st || asvk_nhwc_count(d->shape) == 0) return st;
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer totals = asvk_bn_backward_totals(d, workspace);
    asvk_kernel *k;
    asvk_buffer b[8];
    uint32_t off[8];
    off[0] = bind(ctx, x, &b[0]), off[1] = bind(ctx, dy, &b[1]), off[2] = bind(ctx, gamma, &b[2]);
    off[3] = bind(ctx, beta, &b[3]), off[4] = bind(ctx, save_mean, &b[4]), off[5] = bind(ctx, save_invstd, &b[5]);
    bool params_aligned = aligned4(g.c, off + 2, 4);

    /* dx, from the totals */
    off[6] = bind(ctx, totals, &b[6]);
    off[7] = bind(ctx, gr->dx, &b[7]);
    uint32_t xs[3] = {off[0], off[1], off[7]};
    uint32_t spec3[6] = {WG, (uint32_t)d->act, aligned4(g.c, xs, 3), params_aligned, gr->accumulate_dx, ROWS};
    if ((st = asvk_kernel_get(ctx, "bn_bwd_dx", spec3, 6, &k))) return st;
    struct { uint32_t P, C, Q, xoff, dyoff, goff, boff, moff, ioff, toff, dxoff; } p3 = {
        g.pixels, g.c, g.q, off[0], off[1], off[2], off[3], off[4], off[5], off[6], off[7]};
    uint64_t items = (uint64_t)g.q * asvk_ceil_div(g.pixels, ROWS);
    return asvk_stream_dispatch_linear(s, k, b, 8, &p3, sizeof p3, asvk_ceil_div(items, WG));
}

asvk_status asvk_bn_add(asvk_stream *s, asvk_nhwc shape, asvk_buffer a, const asvk_bn_load *bna, asvk_buffer b,
                        const asvk_bn_load *bnb, asvk_buffer c) {
    uint64_t count = asvk_nhwc_count(shape);
    if (count >= (1ull << 31))
        return asvk_error_set(ASVK_ERR_LIMIT, "bn_add: %llu elements exceed the 2^31 a kernel indexes",
                              (unsigned long long)count);
    const asvk_bn_load *side[2] = {bna, bnb};
    asvk_status st;
    if ((st = asvk_check_floats(a, count, "bn_add a")) || (st = asvk_check_floats(b, count, "bn_add b")) ||
        (st = asvk_check_floats(c, count, "bn_add c")))
        return st;
    for (int i = 0; i < 2; i++)
        if (side[i] && (st = asvk_bn_load_check(side[i], shape.c, "bn_add"))) return st;
    if (count == 0) return ASVK_OK;
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer v[11];
    uint32_t off[11];
    off[0] = bind(ctx, a, &v[0]), off[1] = bind(ctx, b, &v[1]), off[2] = bind(ctx, c, &v[2]);
    for (int i = 0; i < 2; i++) { /* a side without a BN: never read, a's binding serves */
        const asvk_bn_load *l = side[i];
        asvk_buffer vec[4] = {l ? l->gamma : a, l ? l->beta : a, l ? l->mean : a, l ? l->invstd : a};
        for (int j = 0, k = 3 + 4 * i; j < 4; j++, k++) {
            if (l) {
                off[k] = bind(ctx, vec[j], &v[k]);
            } else {
                v[k] = v[0], off[k] = 0;
            }
        }
    }
    uint32_t c4 = shape.c % 4 == 0 && aligned4(shape.c, off, 11);
    uint32_t spec[7] = {WG, bna != NULL, bna ? (uint32_t)bna->act : 0, bnb != NULL, bnb ? (uint32_t)bnb->act : 0, c4,
                        ROWS};
    asvk_kernel *k;
    if ((st = asvk_kernel_get(ctx, "bn_add", spec, 7, &k))) return st;
    uint32_t pixels = (uint32_t)asvk_nhwc_pixels(shape), q = (uint32_t)asvk_ceil_div(shape.c, 4);
    struct { uint32_t P, C, Q, aoff, boff, coff, ag, ab, am, ai, bg, bb, bm, bi; } push = {
        pixels, shape.c, q, off[0], off[1], off[2], off[3], off[4], off[5], off[6], off[7], off[8], off[9], off[10]};
    uint64_t items = (uint64_t)q * asvk_ceil_div(pixels, ROWS);
    return asvk_stream_dispatch_linear(s, k, v, 11, &push, sizeof push, asvk_ceil_div(items, WG));
}
