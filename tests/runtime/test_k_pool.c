/* Pooling kernels (runtime/kernels/pool.h) against the double-precision
 * reference (tests/ref/pool_ref.c) and against central finite differences of
 * the GPU forward. */
#include <stdlib.h>
#include <string.h>

#include "runtime/kernels/pool.h"
#include "tests/harness.h"
#include "tests/ref/pool_ref.h"

#define GUARD 4u            /* floats after each view, checked for stray writes */
#define SENTINEL 12345.0f

static float *host(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

/* A device tensor of n floats at element offset `off` inside its
 * allocation, with sentinels before and after it. */
typedef struct { asvk_buffer buf, view; uint32_t off; size_t n; } dtensor;

static asvk_status dt_create(asvk_context *ctx, const float *v, size_t n, uint32_t off, dtensor *t) {
    size_t total = off + n + GUARD;
    float *tmp = host(total);
    for (size_t i = 0; i < total; i++) tmp[i] = SENTINEL;
    if (v) memcpy(tmp + off, v, n * sizeof(float));
    asvk_status st = test_upload(ctx, tmp, total, &t->buf);
    free(tmp);
    t->view = asvk_buffer_sub(t->buf, off * 4ull, n * 4ull);
    t->off = off, t->n = n;
    return st;
}

/* Downloads the view into v; false (and a failed CHECK) if a sentinel changed. */
static bool dt_read(asvk_context *ctx, const dtensor *t, float *v, const char *what) {
    size_t total = t->off + t->n + GUARD;
    float *tmp = host(total);
    asvk_status st = test_download(ctx, t->buf, tmp, total);
    CHECK(st == ASVK_OK, "download %s: %s", what, asvk_error_message());
    bool ok = st == ASVK_OK;
    for (size_t i = 0; ok && i < total; i++)
        if ((i < t->off || i >= t->off + t->n) && tmp[i] != SENTINEL) {
            CHECK(0, "%s: float %zu outside the view (offset %u, %zu floats) was written", what, i, t->off, t->n);
            ok = false;
        }
    if (ok) memcpy(v, tmp + t->off, t->n * sizeof(float));
    free(tmp);
    return ok;
}

static void dt_free(asvk_context *ctx, dtensor *t) { asvk_buffer_free(ctx, &t->buf); }

static const char *kind_name(asvk_pool_kind k) { return k == ASVK_POOL_MAX ? "max" : "avg"; }

typedef struct {
    asvk_pool_kind kind;
    asvk_nhwc xs;
    asvk_pool2d p;
    bool global;
    uint32_t xoff, yoff, dxoff;
    bool accumulate;
} pool_case;

static asvk_status record_forward(asvk_stream *s, const pool_case *c, asvk_buffer x, asvk_buffer y) {
    return c->global ? asvk_pool_global_avg_forward(s, c->xs, x, y)
                     : asvk_pool2d_forward(s, c->kind, &c->p, c->xs, x, y);
}

static asvk_status record_backward(asvk_stream *s, const pool_case *c, asvk_buffer x, asvk_buffer dy, asvk_buffer dx,
                                   asvk_buffer ws) {
    return c->global ? asvk_pool_global_avg_backward(s, c->xs, dy, dx, c->accumulate)
                     : asvk_pool2d_backward(s, c->kind, &c->p, c->xs, x, dy, dx, c->accumulate, ws);
}

/* Max pooling's backward workspace: NaN-poisoned (every entry it reads must
 * have been written by its first phase), at a 16-byte aligned offset that
 * varies, with sentinels around it; an empty one for average pooling. */
static dtensor ws_create(asvk_context *ctx, const pool_case *c) {
    dtensor t = {0};
    uint64_t floats = c->global ? 0 : asvk_pool2d_backward_workspace(c->kind, &c->p, c->xs) / 4;
    if (!floats) return t;
    float *nan = host(floats);
    for (uint64_t i = 0; i < floats; i++) nan[i] = NAN;
    asvk_status st = dt_create(ctx, nan, floats, 4 * (c->xoff % 3), &t);
    CHECK(st == ASVK_OK, "max pooling's workspace: %s", asvk_error_message());
    free(nan);
    return t;
}

static asvk_pool2d effective(const pool_case *c) {
    return c->global ? (asvk_pool2d){c->xs.h, c->xs.w, 1, 1, 0, 0} : c->p;
}

static void describe(const pool_case *c, char *out, size_t n) {
    asvk_pool2d p = effective(c);
    snprintf(out, n, "%s%s x %ux%ux%ux%u (NHWC) k %ux%u s %ux%u p %ux%u offsets %u/%u/%u%s", kind_name(c->kind),
             c->global ? " global" : "", c->xs.n, c->xs.h, c->xs.w, c->xs.c, p.kh, p.kw, p.sh, p.sw, p.ph, p.pw,
             c->xoff, c->yoff, c->dxoff, c->accumulate ? " accumulate" : "");
}

/* Forward and backward of one case against the reference. x may be given
 * (NULL: uniform in [-1, 1]). */
static void check_case(const pool_case *c, const float *xin) {
    asvk_context *ctx = test_context();
    asvk_pool2d p = effective(c);
    asvk_nhwc ys;
    OK(asvk_pool2d_output(c->xs, &p, &ys));
    size_t nx = asvk_nhwc_count(c->xs), ny = asvk_nhwc_count(ys);
    float *x = host(nx), *y = host(ny), *dy = host(ny), *dx0 = host(nx), *dx = host(nx);
    double *yr = calloc(ny, sizeof *yr), *ysum = calloc(ny, sizeof *ysum);
    double *dxr = calloc(nx, sizeof *dxr), *dxsum = calloc(nx, sizeof *dxsum);
    uint32_t *terms = calloc(nx, sizeof *terms);
    if (xin) memcpy(x, xin, nx * 4);
    else test_fill_uniform(x, nx, -1, 1);
    test_fill_uniform(dy, ny, -1, 1);
    /* accumulate = false must not read dx: poison it */
    for (size_t i = 0; i < nx; i++) dx0[i] = c->accumulate ? test_rand_uniform(-1, 1) : NAN;
    pool_ref_forward(c->kind, &p, c->xs, x, yr, ysum);
    pool_ref_backward(c->kind, &p, c->xs, x, dy, dxr, dxsum, terms);

    dtensor X, Y, DY, DX;
    OK(dt_create(ctx, x, nx, c->xoff, &X));
    OK(dt_create(ctx, NULL, ny, c->yoff, &Y));
    OK(dt_create(ctx, dy, ny, c->yoff ^ 1u, &DY));
    OK(dt_create(ctx, dx0, nx, c->dxoff, &DX));
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    dtensor WS = ws_create(ctx, c);
    OK(record_forward(s, c, X.view, Y.view));
    OK(record_backward(s, c, X.view, DY.view, DX.view, WS.view));
    OK(asvk_stream_run(s));
    asvk_stream_destroy(s);
    char name[160];
    describe(c, name, sizeof name);
    int bad = 0;
    if (WS.n) {
        float *ws = host(WS.n);
        dt_read(ctx, &WS, ws, "max pooling's workspace");
        free(ws);
        dt_free(ctx, &WS);
    }
    if (dt_read(ctx, &Y, y, "pooling y"))
        for (size_t i = 0; i < ny; i++) {
            /* max: a selection, exact. average: recursive fp32 summation of
             * `count` terms errs by at most (count-1)*u*sum|x|, and the
             * division adds 2.5 ulp (<= 5u relative, Vulkan's bound); so
             * u*count*mean|x| + 6u|y|. A dropped or extra element shifts the
             * mean by |x|/count, far above this for count < 2^10. */
            double cnt = (double)p.kh * p.kw;
            double tol = c->kind == ASVK_POOL_MAX ? 0 : FP32_U * cnt * ysum[i] + 6 * FP32_U * fabs(yr[i]) + 1e-30;
            if (!(fabs(y[i] - yr[i]) <= tol) && bad++ < 3)
                CHECK(0, "%s: y[%zu] = %.9g, reference %.9g (tolerance %.3g)", name, i, y[i], yr[i], tol);
        }
    if (dt_read(ctx, &DX, dx, "pooling dx"))
        for (size_t i = 0; i < nx; i++) {
            double want = dxr[i] + (c->accumulate ? dx0[i] : 0);
            /* dx sums `terms` float terms (each dy/count with a 2.5-ulp
             * division for average; exact dy for max), plus the old dx:
             * (terms + 5) * u * (sum|terms| + |dx0|) bounds it. */
            double tol = (terms[i] + 5) * FP32_U * (dxsum[i] + (c->accumulate ? fabs(dx0[i]) : 0)) + 1e-30;
            if (!(fabs(dx[i] - want) <= tol) && bad++ < 6)
                CHECK(0, "%s: dx[%zu] = %.9g, reference %.9g (tolerance %.3g)", name, i, dx[i], want, tol);
        }
    dt_free(ctx, &X), dt_free(ctx, &Y), dt_free(ctx, &DY), dt_free(ctx, &DX);
    free(x), free(y), free(dy), free(dx0), free(dx), free(yr), free(ysum), free(dxr), free(dxsum), free(terms);
}

static pool_case random_case(asvk_pool_kind kind) {
    pool_case c = {.kind = kind};
    for (;;) {
        c.xs = (asvk_nhwc){test_rand_range(1, 3), test_rand_range(1, 11), test_rand_range(1, 11), test_rand_range(1, 13)};
        c.p.kh = test_rand_range(1, 4), c.p.kw = test_rand_range(1, 4);
        c.p.sh = test_rand_range(1, 3), c.p.sw = test_rand_range(1, 3);
        c.p.ph = test_rand_range(0, c.p.kh / 2), c.p.pw = test_rand_range(0, c.p.kw / 2);
        asvk_nhwc ys;
        if (asvk_pool2d_output(c.xs, &c.p, &ys) == ASVK_OK) break;
    }
    /* Half the cases 16-byte aligned with C % 4 == 0 (the vec4 path). */
    if (test_rand_range(0, 1)) {
        c.xs.c = 4 * test_rand_range(1, 3);
        c.xoff = 4 * test_rand_range(0, 2), c.yoff = 4 * test_rand_range(0, 2), c.dxoff = 4 * test_rand_range(0, 2);
    } else {
        c.xoff = test_rand_range(0, 7), c.yoff = test_rand_range(0, 7), c.dxoff = test_rand_range(0, 7);
    }
    c.accumulate = test_rand_range(0, 1);
    return c;
}

static void forward_backward_random(asvk_pool_kind kind) {
    for (int r = 0; r < 16; r++) {
        pool_case c = random_case(kind);
        check_case(&c, NULL);
    }
    /* Classic shapes: 3x3 stride 2 pad 1 and 2x2 stride 2, batch 1, odd sizes. */
    const asvk_pool2d classic[] = {{3, 3, 2, 2, 1, 1}, {2, 2, 2, 2, 0, 0}, {3, 3, 1, 1, 1, 1}, {5, 3, 2, 1, 2, 1}};
    for (size_t i = 0; i < sizeof classic / sizeof classic[0]; i++) {
        pool_case c = {.kind = kind, .xs = {1, 13, 9, i % 2 ? 8 : 7}, .p = classic[i], .xoff = (uint32_t)i % 2 ? 0 : 3,
                       .accumulate = i % 2};
        check_case(&c, NULL);
    }
}

static void avg_forward_backward_random(void) { forward_backward_random(ASVK_POOL_AVG); }
static void max_forward_backward_random(void) { forward_backward_random(ASVK_POOL_MAX); }

static void global_avg_random(void) {
    const asvk_nhwc shapes[] = {{1, 1, 1, 1}, {3, 7, 7, 40}, {2, 5, 3, 7}, {1, 14, 14, 12}, {4, 2, 9, 5}, {1, 28, 28, 3}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        pool_case c = {.kind = ASVK_POOL_AVG, .xs = shapes[i], .global = true, .xoff = shapes[i].c % 4 ? 1 : 0,
                       .yoff = (uint32_t)i % 3, .dxoff = shapes[i].c % 4 ? 5 : 8, .accumulate = i % 2};
        check_case(&c, NULL);
    }
}

/* The strip kernels (runtime/kernels/pool.c: a row's outputs, or dx
 * elements, in strips of 4 for windows up to 7 wide) at the widths and
 * windows of real networks: strips that end ragged (W or OW not a multiple of
 * 4), windows wider than the strip, strides up to the window, and the
 * boundaries beside them that take one output per invocation (a window 8
 * wide, a stride past the window, OW below 4); ties included for max. */
static void strips(void) {
    const struct { asvk_nhwc xs; asvk_pool2d p; } shapes[] = {
        {{2, 14, 14, 16}, {3, 3, 1, 1, 1, 1}}, {{1, 9, 13, 5}, {5, 5, 2, 2, 2, 2}}, {{1, 8, 15, 8}, {7, 7, 1, 1, 3, 3}},
        {{1, 6, 11, 4}, {7, 7, 3, 3, 3, 3}},   {{1, 7, 18, 4}, {3, 3, 2, 2, 1, 1}}, {{1, 5, 17, 3}, {2, 2, 2, 2, 0, 0}},
        {{1, 9, 12, 4}, {8, 8, 1, 1, 4, 4}},   {{1, 6, 13, 4}, {2, 2, 3, 3, 1, 1}}, {{2, 4, 6, 8}, {3, 3, 2, 2, 1, 1}},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int kind = 0; kind < 2; kind++)
            for (int ties = 0; ties < 1 + kind; ties++) {
                pool_case c = {.kind = kind ? ASVK_POOL_MAX : ASVK_POOL_AVG, .xs = shapes[i].xs, .p = shapes[i].p,
                               .xoff = shapes[i].xs.c % 4 ? 1 : 4, .yoff = (uint32_t)i % 2 * 4,
                               .dxoff = shapes[i].xs.c % 4 ? 3 : 8, .accumulate = (i + (size_t)ties) % 2};
                size_t nx = asvk_nhwc_count(c.xs);
                float *x = NULL;
                if (ties) {
                    x = host(nx);
                    for (size_t j = 0; j < nx; j++) x[j] = -(float)test_rand_range(1, 2);
                }
                check_case(&c, x);
                free(x);
            }
}

/* Ties and padding: inputs from {-3, -2, -1} make ties in most windows; both
 * the kernel and the reference must send the gradient to the first maximum
 * in scan order (an exact check), and negative inputs show that padding
 * never wins (a zero from padding would exceed every element). */
static void max_ties_and_padding(void) {
    for (int r = 0; r < 6; r++) {
        pool_case c = random_case(ASVK_POOL_MAX);
        c.p = (asvk_pool2d){3, 3, r % 2 + 1, r % 3 + 1, 1, 1};
        if (c.xs.h < 2) c.xs.h = 2;
        if (c.xs.w < 2) c.xs.w = 2;
        size_t nx = asvk_nhwc_count(c.xs);
        float *x = host(nx);
        for (size_t i = 0; i < nx; i++) x[i] = -(float)test_rand_range(1, 3);
        check_case(&c, x);
        free(x);
    }
}

/* ---- finite differences ---- */

/* Central differences of L = sum(y * r) for the GPU forward, against the GPU
 * backward with dy = r. The forward stream is recorded once and replayed
 * after each upload of a perturbed x. Perturbations: x[i] +- e, and the
 * denominator is the difference actually representable in fp32. */
static void fd_case(const pool_case *c, const float *xin, float e, double tol_abs) {
    asvk_context *ctx = test_context();
    asvk_pool2d p = effective(c);
    asvk_nhwc ys;
    OK(asvk_pool2d_output(c->xs, &p, &ys));
    size_t nx = asvk_nhwc_count(c->xs), ny = asvk_nhwc_count(ys);
    float *x = host(nx), *r = host(ny), *y = host(ny), *dx = host(nx), *xp = host(nx);
    memcpy(x, xin, nx * 4);
    test_fill_uniform(r, ny, -1, 1);
    asvk_buffer X, Y, R, DX;
    OK(test_upload(ctx, x, nx, &X));
    OK(asvk_buffer_alloc(ctx, ny * 4, &Y));
    OK(test_upload(ctx, r, ny, &R));
    OK(asvk_buffer_alloc(ctx, nx * 4, &DX));
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    dtensor WS = ws_create(ctx, c);
    OK(record_backward(s, c, X, R, DX, WS.view));
    OK(asvk_stream_run(s));
    asvk_stream_destroy(s);
    OK(test_download(ctx, DX, dx, nx));
    if (WS.n) dt_free(ctx, &WS);

    OK(asvk_stream_create(ctx, &s));
    OK(record_forward(s, c, X, Y));
    char name[160];
    describe(c, name, sizeof name);
    int bad = 0;
    for (size_t i = 0; i < nx; i++) {
        double L[2];
        float xv[2] = {x[i] + e, x[i] - e};
        for (int sgn = 0; sgn < 2; sgn++) {
            memcpy(xp, x, nx * 4);
            xp[i] = xv[sgn];
            OK(asvk_buffer_upload(ctx, X, 0, xp, nx * 4));
            OK(asvk_stream_run(s));
            OK(test_download(ctx, Y, y, ny));
            L[sgn] = 0;
            for (size_t o = 0; o < ny; o++) L[sgn] += (double)y[o] * r[o];
        }
        double fd = (L[0] - L[1]) / ((double)xv[0] - (double)xv[1]);
        if (!(fabs(fd - dx[i]) <= tol_abs) && bad++ < 4)
            CHECK(0, "%s: dx[%zu] = %.9g, finite difference %.9g (tolerance %.3g)", name, i, dx[i], fd, tol_abs);
    }
    asvk_stream_destroy(s);
    asvk_buffer_free(ctx, &X), asvk_buffer_free(ctx, &Y), asvk_buffer_free(ctx, &R), asvk_buffer_free(ctx, &DX);
    free(x), free(r), free(y), free(dx), free(xp);
}

static void finite_differences(void) {
    const pool_case cases[] = {
        {.kind = ASVK_POOL_AVG, .xs = {1, 5, 4, 3}, .p = {3, 3, 2, 2, 1, 1}},
        {.kind = ASVK_POOL_AVG, .xs = {2, 4, 5, 4}, .p = {2, 3, 1, 2, 1, 1}},
        {.kind = ASVK_POOL_AVG, .xs = {2, 3, 4, 5}, .global = true},
        {.kind = ASVK_POOL_MAX, .xs = {1, 5, 5, 3}, .p = {3, 3, 2, 2, 1, 1}},
        {.kind = ASVK_POOL_MAX, .xs = {2, 4, 5, 4}, .p = {2, 2, 1, 1, 1, 0}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const pool_case *c = &cases[k];
        size_t nx = asvk_nhwc_count(c->xs);
        float *x = host(nx);
        if (c->kind == ASVK_POOL_MAX) {
            /* Distinct values 1/8 apart (a shuffled ramp) and e = 1/32: no
             * perturbation reorders a window, so L is linear around x and
             * the difference is exact up to the double sum of L (~1e-15);
             * the kernel sums at most 4 float dy per dx (<= 3u*4 ~ 1e-6).
             * A misrouted gradient errs by |r| ~ 0.5: tolerance 1e-5. */
            for (size_t i = 0; i < nx; i++) x[i] = ((float)i - (float)nx / 2) / 8;
            for (size_t i = nx - 1; i > 0; i--) {
                size_t j = test_rand_range(0, (uint32_t)i);
                float t = x[i]; x[i] = x[j]; x[j] = t;
            }
            fd_case(c, x, 1.0f / 32, 1e-5);
        } else {
            /* Average pooling is linear, so the difference is exact but for
             * rounding: each y carries <= (count + 6)u|x| <= 16*6e-8 ~ 1e-6
             * (|x| <= 1, count <= 9 here; 20 for the global case), x[i]
             * feeds <= 4 outputs (|r| <= 1), so L+- err by <= 4e-6 each and
             * the quotient by <= 8e-6 / (2e) = 6.4e-5 with e = 1/16. The
             * backward's own error is ~1e-7. Tolerance 2e-4; a wrong count
             * (e.g. count_include_pad) errs by >= 0.01 here. */
            test_fill_uniform(x, nx, -1, 1);
            fd_case(c, x, 1.0f / 16, 2e-4);
        }
        free(x);
    }
}

static void errors(void) {
    asvk_nhwc ys;
    asvk_pool2d p = {3, 3, 1, 1, 2, 1};
    CHECK(asvk_pool2d_output((asvk_nhwc){1, 8, 8, 4}, &p, &ys) == ASVK_ERR_USAGE, "padding 2 for window 3 accepted");
    p = (asvk_pool2d){5, 5, 1, 1, 0, 0};
    CHECK(asvk_pool2d_output((asvk_nhwc){1, 4, 8, 4}, &p, &ys) == ASVK_ERR_USAGE, "window larger than input accepted");
    p = (asvk_pool2d){2, 2, 0, 2, 0, 0};
    CHECK(asvk_pool2d_output((asvk_nhwc){1, 4, 8, 4}, &p, &ys) == ASVK_ERR_USAGE, "stride 0 accepted");
    p = (asvk_pool2d){3, 3, 2, 2, 1, 1};
    CHECK(asvk_pool2d_output((asvk_nhwc){2, 7, 8, 4}, &p, &ys) == ASVK_OK && ys.h == 4 && ys.w == 4 && ys.n == 2 &&
              ys.c == 4,
          "7x8 pooled 3x3/2 pad 1 gives %ux%u, want 4x4", ys.h, ys.w);
    /* A buffer too small for the geometry is refused at record time. */
    asvk_context *ctx = test_context();
    asvk_buffer b;
    OK(asvk_buffer_alloc(ctx, 64 * 4, &b));
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    asvk_status st = asvk_pool2d_forward(s, ASVK_POOL_MAX, &p, (asvk_nhwc){2, 7, 8, 4}, b, b);
    CHECK(st == ASVK_ERR_INTERNAL, "undersized x accepted: %s", asvk_status_name(st));
    /* Max pooling's backward: its workspace too small, or not 16-byte aligned. */
    asvk_nhwc xs = {1, 4, 4, 4};
    asvk_buffer ws;
    OK(asvk_buffer_alloc(ctx, asvk_pool2d_backward_workspace(ASVK_POOL_MAX, &p, xs) + 4, &ws));
    st = asvk_pool2d_backward(s, ASVK_POOL_MAX, &p, xs, b, b, b, false, asvk_buffer_sub(ws, 0, 16));
    CHECK(st == ASVK_ERR_INTERNAL, "undersized workspace accepted: %s", asvk_status_name(st));
    st = asvk_pool2d_backward(s, ASVK_POOL_MAX, &p, xs, b, b, b, false,
                              asvk_buffer_sub(ws, 4, asvk_pool2d_backward_workspace(ASVK_POOL_MAX, &p, xs)));
    CHECK(st == ASVK_ERR_INTERNAL, "a workspace at a 4-byte offset accepted: %s", asvk_status_name(st));
    CHECK(asvk_pool2d_backward_workspace(ASVK_POOL_AVG, &p, xs) == 0, "average pooling asks for a workspace");
    asvk_buffer_free(ctx, &ws);
    asvk_stream_destroy(s);
    asvk_buffer_free(ctx, &b);
}

/* The kernels' division by run-time divisors (fastdiv.glsl, computed on the
 * host as asvk_fastdiv_apply does): exact against `/` for divisors 1-5000,
 * powers of two and their neighbours up to 2^32 - 1, random ones, with
 * dividends at the edges (0, d - 1, d, multiples, 2^32 - 1) and random. A
 * magic number off by one fails within the first few thousand dividends. */
static void fastdiv(void) {
    uint32_t ds[5000 + 3 * 32 + 200];
    size_t nd = 0;
    for (uint32_t d = 1; d <= 5000; d++) ds[nd++] = d;
    for (int k = 1; k < 32; k++) {
        uint32_t p2 = 1u << k;
        ds[nd++] = p2, ds[nd++] = p2 + 1, ds[nd++] = p2 - 1;
    }
    ds[nd++] = UINT32_MAX;
    for (int i = 0; i < 200; i++) ds[nd++] = (uint32_t)test_rand_range(1, INT32_MAX) * 2u + (uint32_t)(i & 1);
    int bad = 0;
    for (size_t i = 0; i < nd; i++) {
        uint32_t d = ds[i];
        asvk_fastdiv f = asvk_fastdiv_of(d);
        uint32_t ns[24] = {0, 1, d - 1, d, d + 1, 2 * d - 1, 2 * d, UINT32_MAX, UINT32_MAX - 1, UINT32_MAX / d * d,
                           UINT32_MAX / d * d - 1, 1u << 31, (1u << 31) - 1};
        for (int j = 13; j < 24; j++) ns[j] = (uint32_t)test_rand_range(0, INT32_MAX) * 2u + (uint32_t)(j & 1);
        for (int j = 0; j < 24; j++)
            if (asvk_fastdiv_apply(ns[j], f) != ns[j] / d && bad++ < 5)
                CHECK(0, "%u / %u: fastdiv gives %u", ns[j], d, asvk_fastdiv_apply(ns[j], f));
        if (d <= 300)
            for (uint32_t n = 0; n < 70000; n++)
                if (asvk_fastdiv_apply(n, f) != n / d && bad++ < 5)
                    CHECK(0, "%u / %u: fastdiv gives %u", n, d, asvk_fastdiv_apply(n, f));
    }
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"avg_forward_backward_random", avg_forward_backward_random},
        {"max_forward_backward_random", max_forward_backward_random},
        {"global_avg_random", global_avg_random},
        {"max_ties_and_padding", max_ties_and_padding},
        {"strips", strips},
        {"finite_differences", finite_differences},
        {"errors", errors},
        {"fastdiv", fastdiv},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
