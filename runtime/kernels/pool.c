/* Launchers for shaders/pool/ (see pool.h). Global average pooling runs the
 * same kernels with the window set to the whole image: one dispatch either
 * way, and two fewer pipelines to build. */
#include "runtime/kernels/pool.h"

#include <stddef.h>

#define POOL_WG 64u
#define POOL_STRIP 4u    /* outputs (or inputs) of a row per invocation in the strip kernels */
#define POOL_STRIP_KW 7u /* the widest window they take */

asvk_status asvk_pool2d_output(asvk_nhwc x, const asvk_pool2d *p, asvk_nhwc *y) {
    if (!p->kh || !p->kw || !p->sh || !p->sw)
        return asvk_error_set(ASVK_ERR_USAGE, "pooling: window %ux%u and stride %ux%u must be at least 1", p->kh, p->kw,
                              p->sh, p->sw);
    if (2 * p->ph > p->kh || 2 * p->pw > p->kw)
        return asvk_error_set(ASVK_ERR_USAGE, "pooling: padding %ux%u exceeds half the %ux%u window", p->ph, p->pw,
                              p->kh, p->kw);
    if (!x.n || !x.h || !x.w || !x.c)
        return asvk_error_set(ASVK_ERR_USAGE, "pooling: empty input %ux%ux%ux%u (NHWC)", x.n, x.h, x.w, x.c);
    if ((uint64_t)x.h + 2 * p->ph < p->kh || (uint64_t)x.w + 2 * p->pw < p->kw)
        return asvk_error_set(ASVK_ERR_USAGE, "pooling: window %ux%u is larger than the padded %ux%u input", p->kh,
                              p->kw, x.h + 2 * p->ph, x.w + 2 * p->pw);
    *y = (asvk_nhwc){x.n, (x.h + 2 * p->ph - p->kh) / p->sh + 1, (x.w + 2 * p->pw - p->kw) / p->sw + 1, x.c};
    return ASVK_OK;
}

/* The pooling push constants shared by the three kernels (pool_max_bwd has
 * one more offset). */
typedef struct {
    uint32_t n, h, w, c, oh, ow, kh, kw, sh, sw, ph, pw;
} pool_geom;

/* The backward kernels' divisors (fastdiv.glsl): quads, W, H, SH, SW. */
typedef struct {
    asvk_fastdiv quads, w, h, sh, sw;
} pool_divs;

static pool_divs divs(asvk_nhwc xs, const asvk_pool2d *p, uint32_t quads) {
    return (pool_divs){asvk_fastdiv_of(quads), asvk_fastdiv_of(xs.w), asvk_fastdiv_of(xs.h), asvk_fastdiv_of(p->sh),
                       asvk_fastdiv_of(p->sw)};
}

/* Strips (the kernels' SX): POOL_STRIP neighbouring outputs, or dx
 * elements, of a row per invocation when a row has that many (`cols`) and
 * the window is narrow enough to build for (a pipeline per window width and
 * stride) and overlaps its neighbour or touches it; otherwise one. */
static uint32_t strip_of(uint32_t cols, const asvk_pool2d *p) {
    return cols >= POOL_STRIP && p->kw <= POOL_STRIP_KW && p->sw <= p->kw ? POOL_STRIP : 1;
}

/* workgroups over (n, row, strip, quad) */
static uint64_t groups(asvk_nhwc s, uint32_t sx, uint32_t quads) {
    return asvk_ceil_div((uint64_t)s.n * s.h * asvk_ceil_div(s.w, sx) * quads, POOL_WG);
}

static asvk_status prepare(const asvk_pool2d *p, asvk_nhwc xs, pool_geom *g, asvk_nhwc *ys) {
    asvk_status st = asvk_pool2d_output(xs, p, ys);
    if (st) return st;
    /* Kernels index with 32-bit integers. */
    if (asvk_nhwc_count(xs) + 4 > UINT32_MAX || asvk_nhwc_count(*ys) + 4 > UINT32_MAX)
        return asvk_error_set(ASVK_ERR_LIMIT, "pooling: a tensor of more than 2^32 floats");
    *g = (pool_geom){xs.n, xs.h, xs.w, xs.c, ys->h, ys->w, p->kh, p->kw, p->sh, p->sw, p->ph, p->pw};
    return ASVK_OK;
}

asvk_status asvk_pool2d_forward(asvk_stream *s, asvk_pool_kind kind, const asvk_pool2d *p, asvk_nhwc xs,
                                asvk_buffer x, asvk_buffer y) {
    return asvk_pool2d_forward_bn(s, kind, p, xs, x, NULL, y);
}

/* pool_fwd: y = pool(x), or with `arg` (max pooling's backward, first
 * phase) the position of each window's first maximum into the workspace y,
 * N x OH x OW x quads vec4s from a 16-byte aligned offset. */
static asvk_status forward(asvk_stream *s, asvk_pool_kind kind, const asvk_pool2d *p, asvk_nhwc xs, asvk_buffer x,
                           const asvk_bn_load *xbn, asvk_buffer y, bool arg) {
    pool_geom g;
    asvk_nhwc ys;
    asvk_status st = prepare(p, xs, &g, &ys);
    uint32_t quads = (xs.c + 3) / 4;
    if (st || (st = asvk_check_floats(x, asvk_nhwc_count(xs), "pooling x")) ||
        (st = asvk_check_floats(y, arg ? asvk_nhwc_pixels(ys) * quads * 4 : asvk_nhwc_count(ys),
                                arg ? "max pooling's workspace" : "pooling y")))
        return st;
    if (xbn && (st = asvk_bn_load_check(xbn, xs.c, "pooling"))) return st;
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer bind[6];
    uint32_t off[6];
    asvk_buffer_bindable(ctx, x, &bind[0], &off[0]);
    asvk_buffer_bindable(ctx, y, &bind[1], &off[1]);
    if (arg && off[1] % 4)
        return asvk_error_set(ASVK_ERR_INTERNAL, "max pooling's backward: workspace offset %u is not 16-byte aligned",
                              off[1] * 4);
    /* without a fused BN, bindings 2-5 are never read: x's binding serves */
    const asvk_buffer v[4] = {xbn ? xbn->gamma : x, xbn ? xbn->beta : x, xbn ? xbn->mean : x, xbn ? xbn->invstd : x};
    bool xv = xbn != NULL;
    for (int i = 0; i < 4; i++) {
        asvk_buffer_bindable(ctx, v[i], &bind[2 + i], &off[2 + i]);
        xv = xv && off[2 + i] % 4 == 0;
    }
    bool vec = xs.c % 4 == 0 && off[0] % 4 == 0 && (arg || off[1] % 4 == 0);
    uint32_t sx = strip_of(ys.w, p);
    uint32_t spec[10] = {POOL_WG, kind == ASVK_POOL_MAX, vec, xbn != NULL, xbn ? (uint32_t)xbn->act : 0, xv, arg,
                         sx, sx > 1 ? p->kw : 1, sx > 1 ? p->sw : 1};
    asvk_kernel *k;
    if ((st = asvk_kernel_get(ctx, "pool_fwd", spec, 10, &k))) return st;
    uint32_t cols = (uint32_t)asvk_ceil_div(ys.w, sx); /* outputs, or strips, of a row */
    struct { pool_geom g; uint32_t xoff, yoff, quads, xg, xb, xm, xi; asvk_fastdiv dq, dow, doh; } push = {
        g, off[0], off[1], quads, off[2], off[3], off[4], off[5],
        asvk_fastdiv_of(quads), asvk_fastdiv_of(cols), asvk_fastdiv_of(ys.h)};
    return asvk_stream_dispatch_linear(s, k, bind, 6, &push, sizeof push, groups(ys, sx, quads));
}

asvk_status asvk_pool2d_forward_bn(asvk_stream *s, asvk_pool_kind kind, const asvk_pool2d *p, asvk_nhwc xs,
                                   asvk_buffer x, const asvk_bn_load *xbn, asvk_buffer y) {
    return forward(s, kind, p, xs, x, xbn, y, false);
}

uint64_t asvk_pool2d_backward_workspace(asvk_pool_kind kind, const asvk_pool2d *p, asvk_nhwc xs) {
    asvk_nhwc ys;
    if (kind != ASVK_POOL_MAX || asvk_pool2d_output(xs, p, &ys)) return 0;
    return asvk_nhwc_pixels(ys) * ((xs.c + 3) / 4) * 16;
}

asvk_status asvk_pool2d_backward(asvk_stream *s, asvk_pool_kind kind, const asvk_pool2d *p, asvk_nhwc xs,
                                 asvk_buffer x, asvk_buffer dy, asvk_buffer dx, bool accumulate, asvk_buffer ws) {
    return asvk_pool2d_backward_bn(s, kind, p, xs, x, NULL, dy, dx, accumulate, ws);
}

asvk_status asvk_pool2d_backward_bn(asvk_stream *s, asvk_pool_kind kind, const asvk_pool2d *p, asvk_nhwc xs,
                                    asvk_buffer x, const asvk_bn_load *xbn, asvk_buffer dy, asvk_buffer dx,
                                    bool accumulate, asvk_buffer ws) {
    if (xbn && kind != ASVK_POOL_MAX)
        return asvk_error_set(ASVK_ERR_INTERNAL, "average pooling's backward reads no x to apply a batch norm to");
    pool_geom g;
    asvk_nhwc ys;
    asvk_status st = prepare(p, xs, &g, &ys);
    if (st || (st = asvk_check_floats(dy, asvk_nhwc_count(ys), "pooling dy")) ||
        (st = asvk_check_floats(dx, asvk_nhwc_count(xs), "pooling dx")))
        return st;
    asvk_context *ctx = asvk_stream_context(s);
    uint32_t quads = (xs.c + 3) / 4;
    asvk_kernel *k;
    if (kind == ASVK_POOL_MAX) {
        /* two dispatches: each window's maximum found once (pool_fwd, ARG), then gathered */
        if ((st = asvk_check_floats(x, asvk_nhwc_count(xs), "max pooling x")) ||
            (st = forward(s, kind, p, xs, x, xbn, ws, true)))
            return st;
        asvk_buffer bind[3];
        uint32_t off[3];
        asvk_buffer_bindable(ctx, ws, &bind[0], &off[0]);
        asvk_buffer_bindable(ctx, dy, &bind[1], &off[1]);
        asvk_buffer_bindable(ctx, dx, &bind[2], &off[2]);
        uint32_t sx = strip_of(xs.w, p);
        uint32_t spec[6] = {POOL_WG, accumulate, xs.c % 4 == 0 && off[1] % 4 == 0 && off[2] % 4 == 0,
                            sx, sx > 1 ? p->kw : 1, sx > 1 ? p->sw : 1};
        if ((st = asvk_kernel_get(ctx, "pool_max_bwd", spec, 6, &k))) return st;
        struct { pool_geom g; uint32_t atoff, dyoff, dxoff, quads; pool_divs d; } push = {
            g, off[0] / 4, off[1], off[2], quads, divs(xs, p, quads)};
        push.d.w = asvk_fastdiv_of((uint32_t)asvk_ceil_div(xs.w, sx)); /* strips of a row, or elements */
        return asvk_stream_dispatch_linear(s, k, bind, 3, &push, sizeof push, groups(xs, sx, quads));
    }
    asvk_buffer bind[2];
    uint32_t off[2];
    asvk_buffer_bindable(ctx, dy, &bind[0], &off[0]);
    asvk_buffer_bindable(ctx, dx, &bind[1], &off[1]);
    uint32_t sx = strip_of(xs.w, p);
    uint32_t spec[6] = {POOL_WG, accumulate, xs.c % 4 == 0 && off[0] % 4 == 0 && off[1] % 4 == 0,
                        sx, sx > 1 ? p->kw : 1, sx > 1 ? p->sw : 1};
    if ((st = asvk_kernel_get(ctx, "pool_avg_bwd", spec, 6, &k))) return st;
    struct { pool_geom g; uint32_t dxoff, dyoff, quads; pool_divs d; } push = {g, off[1], off[0], quads,
                                                                           divs(xs, p, quads)};
    push.d.w = asvk_fastdiv_of((uint32_t)asvk_ceil_div(xs.w, sx));
    return asvk_stream_dispatch_linear(s, k, bind, 2, &push, sizeof push, groups(xs, sx, quads));
}

static asvk_pool2d whole_image(asvk_nhwc xs) { return (asvk_pool2d){xs.h, xs.w, 1, 1, 0, 0}; }

asvk_status asvk_pool_global_avg_forward(asvk_stream *s, asvk_nhwc xs, asvk_buffer x, asvk_buffer y) {
    return asvk_pool_global_avg_forward_bn(s, xs, x, NULL, y);
}

asvk_status asvk_pool_global_avg_forward_bn(asvk_stream *s, asvk_nhwc xs, asvk_buffer x, const asvk_bn_load *xbn,
                                            asvk_buffer y) {
    asvk_pool2d p = whole_image(xs);
    return asvk_pool2d_forward_bn(s, ASVK_POOL_AVG, &p, xs, x, xbn, y);
}

asvk_status asvk_pool_global_avg_backward(asvk_stream *s, asvk_nhwc xs, asvk_buffer dy, asvk_buffer dx,
                                          bool accumulate) {
    asvk_pool2d p = whole_image(xs);
    return asvk_pool2d_backward(s, ASVK_POOL_AVG, &p, xs, (asvk_buffer){0}, dy, dx, accumulate, (asvk_buffer){0});
}
