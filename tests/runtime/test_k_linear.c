/* Linear layers (runtime/kernels/linear.h) against the double-precision
 * reference (tests/ref/linear_ref.c) and central finite differences. */
#include <stdlib.h>
#include <string.h>

#include "runtime/kernels/linear.h"
#include "tests/harness.h"
#include "tests/ref/linear_ref.h"

#define GUARD 4u
#define SENTINEL 12345.0f

static float *host(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

/* A device tensor of n floats at element offset `off`, sentinels around it. */
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

/* GEMM-style bound (see test_blas.c): recursive fp32 summation of K products
 * errs by about u*sqrt(K)*||terms||_2 for random terms; 16x that is a wide
 * margin that still catches one dropped or doubled product. Plus 4u of the
 * result and of the accumulated old value / bias (one more rounding). */
static double tol_of(uint32_t k, double norm, double ref, double old) {
    return 16 * FP32_U * sqrt((double)k) * norm + 4 * FP32_U * (fabs(ref) + fabs(old)) + 1e-30;
}

static int compare(const char *what, const char *name, const float *got, const double *ref, const double *norm,
                   const float *old, size_t n, uint32_t k) {
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double o = old ? old[i] : 0, want = ref[i] + o;
        double tol = tol_of(k, norm[i], want, o);
        if (!(fabs(got[i] - want) <= tol) && bad++ < 3)
            CHECK(0, "%s %s: [%zu] = %.9g, reference %.9g (tolerance %.3g)", name, what, i, got[i], want, tol);
    }
    return bad;
}

typedef struct {
    asvk_linear_dims d;
    bool bias;
    bool acc_dx, acc_dw, acc_db;
    uint32_t off; /* base offset; tensors get off, off+1, ... (or multiples of 4 when aligned) */
    bool aligned;
} lin_case;

static void run_case(const lin_case *c) {
    asvk_context *ctx = test_context();
    asvk_linear_dims d = c->d;
    size_t nx = (size_t)d.rows * d.in, nw = (size_t)d.out * d.in, ny = (size_t)d.rows * d.out;
    float *x = host(nx), *w = host(nw), *b = host(d.out), *dy = host(ny), *y = host(ny);
    float *dx0 = host(nx), *dw0 = host(nw), *db0 = host(d.out), *dx = host(nx), *dw = host(nw), *db = host(d.out);
    double *yr = calloc(ny, 8), *yn = calloc(ny, 8), *dxr = calloc(nx, 8), *dxn = calloc(nx, 8);
    double *dwr = calloc(nw, 8), *dwn = calloc(nw, 8), *dbr = calloc(d.out, 8), *dbn = calloc(d.out, 8);
    test_fill_uniform(x, nx, -1, 1);
    test_fill_uniform(w, nw, -1, 1);
    test_fill_uniform(b, d.out, -1, 1);
    test_fill_uniform(dy, ny, -1, 1);
    /* Gradients written without accumulation must not be read: NaN poison. */
    for (size_t i = 0; i < nx; i++) dx0[i] = c->acc_dx ? test_rand_uniform(-1, 1) : NAN;
    for (size_t i = 0; i < nw; i++) dw0[i] = c->acc_dw ? test_rand_uniform(-1, 1) : NAN;
    for (size_t i = 0; i < d.out; i++) db0[i] = c->acc_db ? test_rand_uniform(-1, 1) : NAN;
    linear_ref_forward(d, x, w, c->bias ? b : NULL, yr, yn);
    linear_ref_backward_data(d, dy, w, dxr, dxn);
    linear_ref_backward_weight(d, dy, x, dwr, dwn);
    linear_ref_column_sums(dy, d.rows, d.out, d.out, dbr, dbn);

    uint32_t step = c->aligned ? 4 : 1;
    dtensor X, W, B, DY, Y, DX, DW, DB;
    OK(dt_create(ctx, x, nx, c->off, &X));
    OK(dt_create(ctx, w, nw, c->off + step, &W));
    OK(dt_create(ctx, b, d.out, c->off + 2 * step, &B));
    OK(dt_create(ctx, dy, ny, c->off + 3 * step, &DY));
    OK(dt_create(ctx, NULL, ny, c->off + 4 * step, &Y));
    OK(dt_create(ctx, dx0, nx, c->off + 5 * step, &DX));
    OK(dt_create(ctx, dw0, nw, c->off + 6 * step, &DW));
    OK(dt_create(ctx, db0, d.out, c->off + 7 * step, &DB));
    asvk_buffer ws = {0};
    uint64_t wsb = asvk_linear_bias_workspace(d.rows, d.out);
    if (wsb) OK(asvk_buffer_alloc(ctx, wsb, &ws));
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    asvk_buffer none = {0};
    OK(asvk_linear_forward(s, d, X.view, W.view, c->bias ? B.view : none, Y.view));
    asvk_stream_stats fwd;
    asvk_stream_stats_get(s, &fwd);
    if (d.in) CHECK(fwd.dispatches == 1, "linear forward%s: %u dispatches, want 1", c->bias ? " +bias" : "", fwd.dispatches);
    OK(asvk_linear_backward_data(s, d, DY.view, W.view, DX.view, c->acc_dx));
    OK(asvk_linear_backward_weight(s, d, DY.view, X.view, DW.view, c->acc_dw));
    OK(asvk_linear_backward_bias(s, d, DY.view, DB.view, ws, c->acc_db));
    OK(asvk_stream_run(s));
    asvk_stream_destroy(s);

    char name[128];
    snprintf(name, sizeof name, "linear %u x %u -> %u%s offset %u%s%s%s%s", d.rows, d.in, d.out,
             c->bias ? " +bias" : "", c->off, c->aligned ? " aligned" : "", c->acc_dx ? " acc-dx" : "",
             c->acc_dw ? " acc-dw" : "", c->acc_db ? " acc-db" : "");
    /* y: K = in products plus the bias (added by the GEMM's epilogue) */
    if (dt_read(ctx, &Y, y, "y")) {
        int bad = 0;
        for (size_t i = 0; i < ny; i++) {
            double bo = c->bias ? b[i % d.out] : 0;
            double tol = tol_of(d.in, yn[i], yr[i], bo);
            if (!(fabs(y[i] - yr[i]) <= tol) && bad++ < 3)
                CHECK(0, "%s y: [%zu] = %.9g, reference %.9g (tolerance %.3g)", name, i, y[i], yr[i], tol);
        }
    }
    if (dt_read(ctx, &DX, dx, "dx")) compare("dx", name, dx, dxr, dxn, c->acc_dx ? dx0 : NULL, nx, d.out);
    if (dt_read(ctx, &DW, dw, "dW")) compare("dW", name, dw, dwr, dwn, c->acc_dw ? dw0 : NULL, nw, d.rows);
    if (dt_read(ctx, &DB, db, "db")) compare("db", name, db, dbr, dbn, c->acc_db ? db0 : NULL, d.out, d.rows);
    if (wsb) asvk_buffer_free(ctx, &ws);
    dt_free(ctx, &X), dt_free(ctx, &W), dt_free(ctx, &B), dt_free(ctx, &DY), dt_free(ctx, &Y);
    dt_free(ctx, &DX), dt_free(ctx, &DW), dt_free(ctx, &DB);
    free(x), free(w), free(b), free(dy), free(y), free(dx0), free(dw0), free(db0), free(dx), free(dw), free(db);
    free(yr), free(yn), free(dxr), free(dxn), free(dwr), free(dwn), free(dbr), free(dbn);
}

/* Only two alignment classes, to bound the GEMM pipelines a cold run builds
 * (each register-blocked GEMM specialization costs seconds to compile on
 * lavapipe; the GEMM itself is covered by test_blas): "unaligned" cases keep
 * in and out off multiples of 4, so no leading dimension allows vec4 access
 * whatever the offsets; "aligned" cases have in, out and every offset
 * multiples of 4 (every vec4 path). */
static uint32_t not4(uint32_t v) { return v % 4 ? v : v + 1; }

static void random_shapes(void) {
    for (int r = 0; r < 14; r++) {
        lin_case c = {{test_rand_range(1, 70), not4(test_rand_range(1, 90)), not4(test_rand_range(1, 40))},
                      r % 4 != 3, test_rand_range(0, 1), test_rand_range(0, 1), test_rand_range(0, 1),
                      test_rand_range(0, 7), false};
        if (r % 3 == 0) {
            c.d.in = 4 * test_rand_range(1, 20), c.d.out = 4 * test_rand_range(1, 10);
            c.off = 4 * test_rand_range(0, 2), c.aligned = true;
        }
        run_case(&c);
    }
}

static void edge_shapes(void) {
    /* batch 1, one input, one output, a classifier head, rows over one column-sum chunk */
    const lin_case cases[] = {
        {{1, 37, 10}, true, false, false, false, 1, false},
        {{5, 1, 7}, true, true, true, true, 0, false},
        {{9, 13, 1}, false, false, true, false, 3, false},
        {{128, 64, 12}, true, true, false, true, 0, true},
        {{300, 7, 5}, true, false, false, true, 2, false},
        {{600, 16, 12}, true, false, true, false, 4, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
}

/* Column sums over many rows: two passes through the workspace (rows > 256),
 * rows per chunk above 256 (rows > 65536), strided rows, accumulation. */
static void column_sums_long(void) {
    asvk_context *ctx = test_context();
    const uint32_t shapes[][3] = {{257, 3, 5}, {1000, 8, 8}, {70001, 13, 13}, {4096, 5, 9}};
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        uint32_t rows = shapes[t][0], cols = shapes[t][1], ld = shapes[t][2];
        size_t nx = (size_t)(rows - 1) * ld + cols;
        float *x = host(nx), *y0 = host(cols), *y = host(cols);
        double *ref = calloc(cols, 8), *norm = calloc(cols, 8);
        test_fill_uniform(x, nx, -1, 1);
        test_fill_uniform(y0, cols, -1, 1);
        bool acc = t % 2;
        linear_ref_column_sums(x, rows, cols, ld, ref, norm);
        dtensor X, Y;
        OK(dt_create(ctx, x, nx, (uint32_t)t, &X));
        OK(dt_create(ctx, y0, cols, 3, &Y));
        asvk_buffer ws;
        uint64_t wsb = asvk_linear_bias_workspace(rows, cols);
        CHECK(wsb > 0, "no workspace for %u rows", rows);
        OK(asvk_buffer_alloc(ctx, wsb, &ws));
        asvk_stream *s;
        OK(asvk_stream_create(ctx, &s));
        asvk_buffer none = {0};
        CHECK(asvk_linear_column_sums(s, X.view, rows, cols, ld, Y.view, none, acc) == ASVK_ERR_INTERNAL,
              "a missing workspace was accepted");
        OK(asvk_linear_column_sums(s, X.view, rows, cols, ld, Y.view, ws, acc));
        OK(asvk_stream_run(s));
        asvk_stream_destroy(s);
        char name[64];
        snprintf(name, sizeof name, "column sums %u x %u ld %u%s", rows, cols, ld, acc ? " accumulate" : "");
        if (dt_read(ctx, &Y, y, "column sums")) compare("y", name, y, ref, norm, acc ? y0 : NULL, cols, rows);
        asvk_buffer_free(ctx, &ws);
        dt_free(ctx, &X), dt_free(ctx, &Y);
        free(x), free(y0), free(y), free(ref), free(norm);
    }
}

/* Central differences of L = sum(y * r) for the GPU forward with respect to
 * every element of x, W and b, against the GPU backward with dy = r. The
 * forward is recorded once and replayed after each perturbed upload.
 * L is linear in each parameter, so the difference is exact but for
 * rounding: each y carries <= 16u*sqrt(in)*||x.w|| + 4u|y| ~ 1e-6 (|x|,|w|,
 * |b| <= 1, in <= 6), a parameter feeds <= 4 outputs (|r| <= 1), so L+-
 * differ from exact by <= 8e-6 and the quotient (e = 1/16, denominator the
 * representable 2e) by <= 6.4e-5. The backward's GEMM error is ~1e-6.
 * Tolerance 2e-4; a transposed or dropped term errs by ~0.1-1. */
static void finite_differences(void) {
    asvk_context *ctx = test_context();
    const asvk_linear_dims dims[] = {{3, 5, 3}, {1, 6, 3}, {4, 4, 4}}; /* the two alignment classes */
    const float e = 1.0f / 16;
    for (size_t t = 0; t < sizeof dims / sizeof dims[0]; t++) {
        asvk_linear_dims d = dims[t];
        size_t nx = (size_t)d.rows * d.in, nw = (size_t)d.out * d.in, ny = (size_t)d.rows * d.out;
        size_t np = nx + nw + d.out; /* x, W, b in one buffer */
        float *prm = host(np), *r = host(ny), *y = host(ny), *grad = host(np), *pp = host(np);
        test_fill_uniform(prm, np, -1, 1);
        test_fill_uniform(r, ny, -1, 1);
        asvk_buffer P, R, Y, G, ws = {0};
        OK(test_upload(ctx, prm, np, &P));
        OK(test_upload(ctx, r, ny, &R));
        OK(asvk_buffer_alloc(ctx, ny * 4, &Y));
        OK(asvk_buffer_alloc(ctx, np * 4, &G));
        asvk_buffer X = asvk_buffer_sub(P, 0, nx * 4), W = asvk_buffer_sub(P, nx * 4, nw * 4),
                    B = asvk_buffer_sub(P, (nx + nw) * 4, d.out * 4);
        asvk_buffer GX = asvk_buffer_sub(G, 0, nx * 4), GW = asvk_buffer_sub(G, nx * 4, nw * 4),
                    GB = asvk_buffer_sub(G, (nx + nw) * 4, d.out * 4);
        asvk_stream *s;
        OK(asvk_stream_create(ctx, &s));
        OK(asvk_linear_backward_data(s, d, R, W, GX, false));
        OK(asvk_linear_backward_weight(s, d, R, X, GW, false));
        OK(asvk_linear_backward_bias(s, d, R, GB, ws, false));
        OK(asvk_stream_run(s));
        asvk_stream_destroy(s);
        OK(test_download(ctx, G, grad, np));
        OK(asvk_stream_create(ctx, &s));
        OK(asvk_linear_forward(s, d, X, W, B, Y));
        int bad = 0;
        for (size_t i = 0; i < np; i++) {
            float v[2] = {prm[i] + e, prm[i] - e};
            double L[2];
            for (int k = 0; k < 2; k++) {
                memcpy(pp, prm, np * 4);
                pp[i] = v[k];
                OK(asvk_buffer_upload(ctx, P, 0, pp, np * 4));
                OK(asvk_stream_run(s));
                OK(test_download(ctx, Y, y, ny));
                L[k] = 0;
                for (size_t o = 0; o < ny; o++) L[k] += (double)y[o] * r[o];
            }
            double fd = (L[0] - L[1]) / ((double)v[0] - (double)v[1]);
            const char *which = i < nx ? "dx" : i < nx + nw ? "dW" : "db";
            if (!(fabs(fd - grad[i]) <= 2e-4) && bad++ < 4)
                CHECK(0, "linear %u x %u -> %u: %s (parameter %zu) = %.9g, finite difference %.9g", d.rows, d.in,
                      d.out, which, i, grad[i], fd);
        }
        asvk_stream_destroy(s);
        asvk_buffer_free(ctx, &P), asvk_buffer_free(ctx, &R), asvk_buffer_free(ctx, &Y), asvk_buffer_free(ctx, &G);
        free(prm), free(r), free(y), free(grad), free(pp);
    }
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"random_shapes", random_shapes},
        {"edge_shapes", edge_shapes},
        {"column_sums_long", column_sums_long},
        {"finite_differences", finite_differences},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
