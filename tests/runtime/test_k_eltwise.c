/* Element-wise kernels (runtime/kernels/eltwise.h) against the double
 * reference (tests/ref/eltwise_ref.c) and against finite differences of the
 * GPU forward passes.
 *
 * Error model used by every tolerance below: u = 2^-24 is fp32's unit
 * roundoff; +, -, * are correctly rounded (Vulkan requires it), so each
 * costs at most u relative; Vulkan allows exp() 3 + 2|x| ULP, division 2.5
 * ULP and inversesqrt 2 ULP, and 1 ULP <= 2u relative. Summations of m
 * terms are allowed 16*u*sqrt(m)*||terms||_2 (as in test_blas.c: ~40x the
 * expected error of random-signed rounding, and still far below one dropped
 * or doubled term). Finite differences use the 4-point stencil
 * (8(f(h) - f(-h)) - (f(2h) - f(-2h))) / 12h, whose truncation error is
 * h^4 f^(5) / 30, with steps h that are powers of two and inputs on a grid
 * that makes x +- h and x +- 2h exact in fp32; its rounding error is at most
 * 18e / 12h = 1.5 e / h for function values with errors up to e.
 * Set ASVK_TEST_RATIOS=1 to print the worst error/tolerance ratio of each check. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/kernels/eltwise.h"
#include "tests/harness.h"
#include "tests/ref/eltwise_ref.h"

#define U FP32_U
#define GUARD 1234.5f

/* ---- helpers (a copy lives in test_k_norm.c) ---- */

/* A device tensor: a view of n floats at element offset `off` inside a
 * buffer with guard values around it, so that writes outside the view show. */
typedef struct {
    asvk_buffer whole, view;
    size_t n;
    uint32_t off;
} dtensor;

static size_t dt_total(size_t n, uint32_t off) { return off + n + 7; }

/* v NULL: the view holds NaN (outputs that must be written, never read). */
static asvk_status dt_new(asvk_context *ctx, dtensor *t, const float *v, size_t n, uint32_t off) {
    size_t total = dt_total(n, off);
    float *h = malloc(total * sizeof *h);
    for (size_t i = 0; i < total; i++) h[i] = i >= off && i < off + n ? (v ? v[i - off] : NAN) : GUARD;
    t->n = n, t->off = off;
    asvk_status st = test_upload(ctx, h, total, &t->whole);
    free(h);
    t->view = asvk_buffer_sub(t->whole, off * 4ull, n * 4ull);
    return st;
}

static asvk_status dt_set(asvk_context *ctx, dtensor *t, const float *v) {
    return asvk_buffer_upload(ctx, t->whole, t->off * 4ull, v, t->n * 4);
}

/* Downloads the view and checks that the guards around it are intact. */
static asvk_status dt_get(asvk_context *ctx, dtensor *t, float *out, const char *what) {
    size_t total = dt_total(t->n, t->off);
    float *h = malloc(total * sizeof *h);
    asvk_status st = test_download(ctx, t->whole, h, total);
    if (!st) {
        memcpy(out, h + t->off, t->n * sizeof *out);
        int bad = 0;
        for (size_t i = 0; i < total; i++)
            if ((i < t->off || i >= t->off + t->n) && h[i] != GUARD && bad++ < 2)
                CHECK(0, "%s: element %zd outside the view (n %zu, offset %u) was written: %g", what,
                      (ptrdiff_t)i - (ptrdiff_t)t->off, t->n, t->off, h[i]);
    }
    free(h);
    return st;
}

static void dt_free(asvk_context *ctx, dtensor *t) { asvk_buffer_free(ctx, &t->whole); }

/* Records `call` (which uses the stream S), runs it and destroys the stream. */
#define RUN(ctx, call)                                                                            \
    do {                                                                                          \
        asvk_stream *S;                                                                           \
        OK(asvk_stream_create(ctx, &S));                                                          \
        asvk_status run_st_ = (call);                                                             \
        if (!run_st_) run_st_ = asvk_stream_run(S);                                               \
        asvk_stream_destroy(S);                                                                   \
        OK(run_st_);                                                                              \
    } while (0)

/* |got - want| <= tol elementwise; reports the first three failures. */
static void expect_close(const char *what, const float *got, const double *want, const double *tol, size_t n) {
    int bad = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - want[i]);
        if (!(err <= tol[i])) {
            if (bad++ < 3)
                CHECK(0, "%s: [%zu] = %.9g, want %.9g (error %.3g > tolerance %.3g)", what, i, got[i], want[i], err,
                      tol[i]);
            continue;
        }
        if (tol[i] > 0 && err / tol[i] > worst) worst = err / tol[i];
    }
    if (getenv("ASVK_TEST_RATIOS")) fprintf(stderr, "  %-60s worst error/tolerance %.3f\n", what, worst);
}

static const char *act_name(asvk_act a) {
    static const char *const names[] = {"none", "relu", "relu6", "hswish", "swish", "sigmoid", "hsigmoid"};
    return names[a];
}

static float *fbuf(size_t n) { return malloc((n ? n : 1) * sizeof(float)); }
static double *dbuf(size_t n) { return calloc(n ? n : 1, sizeof(double)); }

static const double fd_w[4] = {8, -8, -1, 1}; /* stencil weights of f(h), f(-h), f(2h), f(-2h) */
static const double fd_m[4] = {1, -1, 2, -2}; /* step multiples */

/* ---- activation error bounds ---- */

/* |fp32 act(z) - act(z)| for an exact fp32 input z, y = act(z). */
static double act_eval_tol(asvk_act act, double z, double y) {
    switch (act) {
    case ASVK_ACT_HSWISH: /* z + 3, clamp, two products and the constant 1/6: 4 roundings, the first of |z|+3 */
        return 8 * U * (fabs(y) + fabs(z) * (fabs(z) + 3) / 6);
    case ASVK_ACT_HSIGMOID: /* z + 3 (of |z|+3), clamp, the constant 1/6 and the product; x2 */
        return 8 * U * (fabs(y) + (fabs(z) + 3) / 6);
    case ASVK_ACT_SWISH:
    case ASVK_ACT_SIGMOID: /* exp (3+2|z| ULP), 1 + e, division (2.5 ULP), product: (12 + 4|z|)u, x2 */
        return (32 + 8 * fabs(z)) * U * fabs(y) + 1e-37;
    default: return 0; /* max, clamp and the identity are exact */
    }
}

/* |fp32 act'(z) - act'(z)| for an exact fp32 z, g = act'(z). */
static double act_grad_tol(asvk_act act, double z, double g) {
    switch (act) {
    case ASVK_ACT_HSWISH: return 8 * U * (fabs(z) / 3 + 0.5); /* z*(1/3) + 0.5: 3 roundings, x2 */
    case ASVK_ACT_HSIGMOID: return 2 * U * fabs(g);           /* 1/6 rounded to fp32 */
    case ASVK_ACT_SWISH:
    case ASVK_ACT_SIGMOID:
        /* s carries (12 + 4|z|)u relative error; 1 - s turns it absolute, and
         * z(1 - s) multiplies it by |z|; x2 */
        return (32 + 8 * fabs(z)) * U * (fabs(g) + fabs(z) + 1);
    default: return 0; /* 0 or 1 exactly */
    }
}

static bool near_kink(asvk_act act, double z, double margin) {
    double k[2];
    int nk = eltwise_ref_act_kinks(act, k);
    for (int i = 0; i < nk; i++)
        if (fabs(z - k[i]) < margin) return true;
    return false;
}

/* ---- activations ---- */

static void act_forward_every_code(void) {
    asvk_context *ctx = test_context();
    static const float special[] = {0, -3, 3, 6, -6, 20, -20, 0.5f, -0.5f, 2.9999998f, -3.0000002f};
    for (int a = 0; a <= ASVK_ACT_HSIGMOID; a++)
        for (int r = 0; r < 3; r++) {
            asvk_act act = (asvk_act)a;
            /* r 0: aligned vec4 path; 1: odd offsets; 2: in place */
            size_t n = r == 0 ? 4 * test_rand_range(1, 300) : test_rand_range(1, 3000);
            uint32_t xo = r == 0 ? 4 * test_rand_range(0, 2) : test_rand_range(0, 5);
            uint32_t yo = r == 0 ? 0 : test_rand_range(0, 5);
            float *x = fbuf(n), *y = fbuf(n);
            double *want = dbuf(n), *tol = dbuf(n);
            test_fill_uniform(x, n, -8, 8);
            for (size_t i = 0; i < n && i < sizeof special / sizeof special[0]; i++) x[i] = special[i];
            for (size_t i = 0; i < n; i++) {
                want[i] = eltwise_ref_act(act, x[i]);
                tol[i] = act_eval_tol(act, x[i], want[i]);
            }
            dtensor X, Y;
            OK(dt_new(ctx, &X, x, n, xo));
            OK(dt_new(ctx, &Y, NULL, n, yo));
            dtensor *out = r == 2 ? &X : &Y;
            RUN(ctx, asvk_act_forward(S, act, X.view, out->view, n));
            OK(dt_get(ctx, out, y, "act_forward"));
            char what[96];
            snprintf(what, sizeof what, "act_forward %s n=%zu offsets %u,%u%s", act_name(act), n, xo, yo,
                     r == 2 ? " in place" : "");
            expect_close(what, y, want, tol, n);
            dt_free(ctx, &X), dt_free(ctx, &Y);
            free(x), free(y), free(want), free(tol);
        }
}

static void act_backward_reference_and_accumulate(void) {
    asvk_context *ctx = test_context();
    static const float special[] = {0, -3, 3, 6, -6, 20, -20};
    for (int a = 0; a <= ASVK_ACT_HSIGMOID; a++)
        for (int r = 0; r < 2; r++) {
            asvk_act act = (asvk_act)a;
            bool acc = r == 1;
            size_t n = r == 0 ? 4 * test_rand_range(1, 300) : test_rand_range(1, 3000);
            uint32_t xo = r == 0 ? 0 : test_rand_range(0, 5), go = r == 0 ? 4 : test_rand_range(0, 5),
                     dxo = r == 0 ? 8 : test_rand_range(0, 5);
            float *x = fbuf(n), *dy = fbuf(n), *dx0 = fbuf(n), *dx = fbuf(n);
            double *want = dbuf(n), *tol = dbuf(n);
            test_fill_uniform(x, n, -8, 8);
            test_fill_uniform(dy, n, -2, 2);
            test_fill_uniform(dx0, n, -2, 2);
            for (size_t i = 0; i < n && i < sizeof special / sizeof special[0]; i++) x[i] = special[i];
            for (size_t i = 0; i < n; i++) {
                double g = eltwise_ref_act_grad(act, x[i]), v = dy[i] * g;
                want[i] = v + (acc ? dx0[i] : 0);
                /* act' error times |dy|, the product's rounding, the accumulation's rounding */
                tol[i] = fabs(dy[i]) * act_grad_tol(act, x[i], g) + U * fabs(v) + (acc ? U * fabs(want[i]) * 2 : 0);
            }
            dtensor X, DY, DX;
            OK(dt_new(ctx, &X, x, n, xo));
            OK(dt_new(ctx, &DY, dy, n, go));
            OK(dt_new(ctx, &DX, acc ? dx0 : NULL, n, dxo));
            RUN(ctx, asvk_act_backward(S, act, X.view, DY.view, DX.view, n, acc));
            OK(dt_get(ctx, &DX, dx, "act_backward"));
            char what[96];
            snprintf(what, sizeof what, "act_backward %s n=%zu%s", act_name(act), n, acc ? " accumulate" : "");
            expect_close(what, dx, want, tol, n);
            dt_free(ctx, &X), dt_free(ctx, &DY), dt_free(ctx, &DX);
            free(x), free(dy), free(dx0), free(dx), free(want), free(tol);
        }
}

static void act_backward_finite_differences(void) {
    asvk_context *ctx = test_context();
    const size_t n = 61;
    const double h = 1.0 / 128; /* x in (-5, 5) on a 2^-20 grid: x +- 2h is exact */
    for (int a = 0; a <= ASVK_ACT_HSIGMOID; a++) {
        asvk_act act = (asvk_act)a;
        float x[61], r[61], xp[61], y[4][61], dx[61];
        double fd[61], tol[61];
        for (size_t i = 0; i < n; i++) {
            do x[i] = test_rand_uniform(-5, 5);
            while (near_kink(act, x[i], 0.1)); /* the stencil spans 2h < 0.02: stay 0.1 from a kink */
            r[i] = test_rand_uniform(-1, 1);
        }
        dtensor X, Y, R, DX;
        OK(dt_new(ctx, &X, x, n, 3));
        OK(dt_new(ctx, &Y, NULL, n, 1));
        OK(dt_new(ctx, &R, r, n, 2));
        OK(dt_new(ctx, &DX, NULL, n, 0));
        /* Every y[i] depends on x[i] only: one perturbation of all of x gives every derivative. */
        asvk_stream *s;
        OK(asvk_stream_create(ctx, &s));
        OK(asvk_act_forward(s, act, X.view, Y.view, n));
        for (int k = 0; k < 4; k++) {
            for (size_t i = 0; i < n; i++) xp[i] = (float)(x[i] + fd_m[k] * h);
            OK(dt_set(ctx, &X, xp));
            OK(asvk_stream_run(s)); /* replays the recorded forward */
            OK(dt_get(ctx, &Y, y[k], "act fd"));
        }
        asvk_stream_destroy(s);
        OK(dt_set(ctx, &X, x));
        RUN(ctx, asvk_act_backward(S, act, X.view, R.view, DX.view, n, false));
        OK(dt_get(ctx, &DX, dx, "act fd backward"));
        for (size_t i = 0; i < n; i++) {
            double d = 0, e = 0;
            for (int k = 0; k < 4; k++) {
                d += fd_w[k] * y[k][i];
                double z = x[i] + fd_m[k] * h;
                double ek = act_eval_tol(act, z, eltwise_ref_act(act, z));
                e = ek > e ? ek : e;
            }
            fd[i] = r[i] * d / (12 * h);
            double g = eltwise_ref_act_grad(act, x[i]);
            /* stencil rounding 1.5e/h, truncation h^4|f5|/30 < 1e-9 (|f5| <= 1 here), the backward's own error */
            tol[i] = fabs(r[i]) * (1.5 * e / h + 1e-9 + act_grad_tol(act, x[i], g)) + U * fabs(r[i] * g) + 1e-12;
        }
        char what[64];
        snprintf(what, sizeof what, "act_backward %s vs finite differences", act_name(act));
        expect_close(what, dx, fd, tol, n);
        dt_free(ctx, &X), dt_free(ctx, &Y), dt_free(ctx, &R), dt_free(ctx, &DX);
    }
}

/* ---- add, mul ---- */

static void add_into_add_mul(void) {
    asvk_context *ctx = test_context();
    for (int r = 0; r < 6; r++) {
        size_t n = r < 2 ? 4 * test_rand_range(1, 500) : test_rand_range(1, 4000);
        uint32_t o[5];
        for (int i = 0; i < 5; i++) o[i] = r < 2 ? 4 * (uint32_t)i : test_rand_range(0, 5);
        float *a = fbuf(n), *b = fbuf(n), *dy = fbuf(n), *d0 = fbuf(n), *d1 = fbuf(n), *out = fbuf(n);
        double *want = dbuf(n), *tol = dbuf(n);
        test_fill_uniform(a, n, -3, 3);
        test_fill_uniform(b, n, -3, 3);
        test_fill_uniform(dy, n, -3, 3);
        test_fill_uniform(d0, n, -3, 3);
        test_fill_uniform(d1, n, -3, 3);
        dtensor A, B, DY, D0, D1;
        OK(dt_new(ctx, &A, a, n, o[0]));
        OK(dt_new(ctx, &B, b, n, o[1]));
        OK(dt_new(ctx, &DY, dy, n, o[2]));

        /* add_into: a copy (exact), then an accumulation (one rounding) */
        for (int acc = 0; acc < 2; acc++) {
            OK(dt_new(ctx, &D0, acc ? d0 : NULL, n, o[3]));
            RUN(ctx, asvk_ew_add_into(S, D0.view, A.view, n, acc));
            OK(dt_get(ctx, &D0, out, "add_into"));
            for (size_t i = 0; i < n; i++) {
                want[i] = (double)a[i] + (acc ? d0[i] : 0);
                tol[i] = acc ? U * fabs(want[i]) : 0;
            }
            expect_close(acc ? "add_into accumulate" : "add_into write", out, want, tol, n);
            dt_free(ctx, &D0);
        }
        /* add and mul forward: one correctly rounded operation */
        for (int op = 0; op < 2; op++) {
            OK(dt_new(ctx, &D0, NULL, n, o[3]));
            RUN(ctx, (op ? asvk_ew_mul : asvk_ew_add)(S, A.view, B.view, D0.view, n));
            OK(dt_get(ctx, &D0, out, "add/mul"));
            for (size_t i = 0; i < n; i++) {
                want[i] = op ? (double)a[i] * b[i] : (double)a[i] + b[i];
                tol[i] = U * fabs(want[i]);
            }
            expect_close(op ? "mul" : "add", out, want, tol, n);
            dt_free(ctx, &D0);
        }
        /* mul backward: both, only da, only db; write and accumulate */
        int which = r % 3; /* 0 both, 1 da only, 2 db only */
        bool acc_a = r & 1, acc_b = (r >> 1) & 1;
        OK(dt_new(ctx, &D0, acc_a ? d0 : NULL, n, o[3]));
        OK(dt_new(ctx, &D1, acc_b ? d1 : NULL, n, o[4]));
        asvk_buffer none = {0};
        RUN(ctx, asvk_ew_mul_backward(S, DY.view, A.view, B.view, which != 2 ? D0.view : none, acc_a,
                                      which != 1 ? D1.view : none, acc_b, n));
        for (int g = 0; g < 2; g++) {
            bool present = g == 0 ? which != 2 : which != 1, acc = g == 0 ? acc_a : acc_b;
            const float *init = g == 0 ? d0 : d1;
            OK(dt_get(ctx, g == 0 ? &D0 : &D1, out, "mul backward"));
            for (size_t i = 0; i < n; i++) {
                double v = (double)dy[i] * (g == 0 ? b[i] : a[i]);
                if (!present) { /* untouched: still the initial contents */
                    want[i] = acc ? init[i] : NAN;
                    tol[i] = 0;
                    continue;
                }
                want[i] = v + (acc ? init[i] : 0);
                tol[i] = U * fabs(v) + (acc ? U * fabs(want[i]) : 0);
            }
            if (!present && !acc) { /* NaN stays NaN */
                int bad = 0;
                for (size_t i = 0; i < n; i++)
                    if (!isnan(out[i]) && bad++ < 1) CHECK(0, "mul backward wrote an unwanted gradient");
                continue;
            }
            char what[80];
            snprintf(what, sizeof what, "mul backward d%c (%s%s)", g == 0 ? 'a' : 'b', present ? "wanted" : "unwanted",
                     acc ? ", accumulate" : "");
            expect_close(what, out, want, tol, n);
        }
        dt_free(ctx, &D0), dt_free(ctx, &D1);
        dt_free(ctx, &A), dt_free(ctx, &B), dt_free(ctx, &DY);
        free(a), free(b), free(dy), free(d0), free(d1), free(out), free(want), free(tol);
    }
}

static void mul_finite_differences(void) {
    asvk_context *ctx = test_context();
    const size_t n = 45;
    const double h = 1.0 / 16; /* a, b in (-2, 2) on a 2^-22 grid: a +- 2h exact */
    float a[45], b[45], r[45], p[45], y[4][45], da[45], db[45];
    double fd[45], tol[45];
    test_fill_uniform(a, n, -2, 2);
    test_fill_uniform(b, n, -2, 2);
    test_fill_uniform(r, n, -1, 1);
    dtensor A, B, Y, R, DA, DB;
    OK(dt_new(ctx, &A, a, n, 1));
    OK(dt_new(ctx, &B, b, n, 2));
    OK(dt_new(ctx, &Y, NULL, n, 3));
    OK(dt_new(ctx, &R, r, n, 0));
    OK(dt_new(ctx, &DA, NULL, n, 1));
    OK(dt_new(ctx, &DB, NULL, n, 5));
    RUN(ctx, asvk_ew_mul_backward(S, R.view, A.view, B.view, DA.view, false, DB.view, false, n));
    OK(dt_get(ctx, &DA, da, "mul fd da"));
    OK(dt_get(ctx, &DB, db, "mul fd db"));
    for (int which = 0; which < 2; which++) {
        dtensor *T = which ? &B : &A;
        const float *v = which ? b : a;
        asvk_stream *s;
        OK(asvk_stream_create(ctx, &s));
        OK(asvk_ew_mul(s, A.view, B.view, Y.view, n));
        for (int k = 0; k < 4; k++) {
            for (size_t i = 0; i < n; i++) p[i] = (float)(v[i] + fd_m[k] * h);
            OK(dt_set(ctx, T, p));
            OK(asvk_stream_run(s));
            OK(dt_get(ctx, &Y, y[k], "mul fd"));
        }
        asvk_stream_destroy(s);
        OK(dt_set(ctx, T, v));
        for (size_t i = 0; i < n; i++) {
            double d = 0;
            for (int k = 0; k < 4; k++) d += fd_w[k] * y[k][i];
            fd[i] = r[i] * d / (12 * h);
            /* products rounded once (|y| < 4.25*2): 1.5e/h with e = 8.5u; the backward's one rounding */
            tol[i] = fabs(r[i]) * 1.5 * 8.5 * U / h + U * fabs(fd[i]) + 1e-12;
        }
        expect_close(which ? "mul backward db vs finite differences" : "mul backward da vs finite differences",
                     which ? db : da, fd, tol, n);
    }
    dt_free(ctx, &A), dt_free(ctx, &B), dt_free(ctx, &Y), dt_free(ctx, &R), dt_free(ctx, &DA), dt_free(ctx, &DB);
}

/* ---- channel scale ---- */

static void chscale_forward_backward(void) {
    asvk_context *ctx = test_context();
    /* one reduction chunk (H*W <= 64) and several (two, three, and 197 pixels over four chunks) */
    const asvk_nhwc shapes[] = {{1, 1, 1, 1}, {2, 3, 5, 3}, {3, 7, 7, 8}, {1, 9, 11, 5},
                                {2, 13, 13, 16}, {1, 1, 197, 7}, {4, 2, 2, 12}, {2, 8, 8, 1}};
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        asvk_nhwc sh = shapes[t];
        size_t n = asvk_nhwc_count(sh), nc = (size_t)sh.n * sh.c, hw = (size_t)sh.h * sh.w;
        bool al = t % 2 == 1; /* aligned offsets on every other shape */
        uint32_t o[5];
        for (int i = 0; i < 5; i++) o[i] = al ? 4 * (uint32_t)(i % 2) : test_rand_range(0, 5);
        float *x = fbuf(n), *sc = fbuf(nc), *dy = fbuf(n), *dx0 = fbuf(n), *ds0 = fbuf(nc), *out = fbuf(n);
        double *want = dbuf(n), *tol = dbuf(n), *rdx = dbuf(n), *rds = dbuf(nc);
        test_fill_uniform(x, n, -2, 2);
        test_fill_uniform(sc, nc, 0, 1);
        test_fill_uniform(dy, n, -2, 2);
        test_fill_uniform(dx0, n, -2, 2);
        test_fill_uniform(ds0, nc, -2, 2);
        dtensor X, SC, DY, Y, DX, DS;
        OK(dt_new(ctx, &X, x, n, o[0]));
        OK(dt_new(ctx, &SC, sc, nc, o[1]));
        OK(dt_new(ctx, &DY, dy, n, o[2]));
        OK(dt_new(ctx, &Y, NULL, n, o[3]));
        /* forward: one product, rounded once */
        RUN(ctx, asvk_ew_chscale_forward(S, sh, X.view, SC.view, Y.view));
        OK(dt_get(ctx, &Y, out, "chscale forward"));
        eltwise_ref_chscale_forward(sh, x, sc, want);
        for (size_t i = 0; i < n; i++) tol[i] = U * fabs(want[i]);
        char what[128];
        snprintf(what, sizeof what, "chscale forward %ux%ux%ux%u", sh.n, sh.h, sh.w, sh.c);
        expect_close(what, out, want, tol, n);

        /* backward: write / accumulate, and each output alone */
        eltwise_ref_chscale_backward(sh, x, sc, dy, rdx, rds);
        int mode = (int)(t % 4); /* 0 both write, 1 both accumulate, 2 dx only, 3 ds only (accumulate) */
        bool acc = mode == 1 || mode == 3, want_dx = mode != 3, want_ds = mode != 2;
        OK(dt_new(ctx, &DX, acc ? dx0 : NULL, n, o[3]));
        OK(dt_new(ctx, &DS, acc ? ds0 : NULL, nc, o[4]));
        asvk_buffer ws = {0}, none = {0};
        uint64_t wsb = asvk_ew_chscale_workspace(sh);
        CHECK((wsb > 0) == (hw > 64), "chscale workspace %llu bytes for %zu pixels", (unsigned long long)wsb, hw);
        if (wsb) OK(asvk_buffer_alloc(ctx, wsb + 4, &ws));
        if (wsb) ws = asvk_buffer_sub(ws, 4, wsb); /* a workspace view off the 16-byte grid */
        RUN(ctx, asvk_ew_chscale_backward(S, sh, X.view, SC.view, DY.view, want_dx ? DX.view : none, acc,
                                          want_ds ? DS.view : none, acc, ws));
        if (want_dx) {
            OK(dt_get(ctx, &DX, out, "chscale dx"));
            for (size_t i = 0; i < n; i++) {
                want[i] = rdx[i] + (acc ? dx0[i] : 0);
                tol[i] = U * fabs(rdx[i]) + (acc ? U * fabs(want[i]) : 0);
            }
            snprintf(what, sizeof what, "chscale dx %ux%ux%ux%u%s", sh.n, sh.h, sh.w, sh.c, acc ? " accumulate" : "");
            expect_close(what, out, want, tol, n);
        }
        if (want_ds) {
            OK(dt_get(ctx, &DS, out, "chscale ds"));
            for (size_t i = 0; i < nc; i++) {
                double sq = 0;
                for (size_t p = 0; p < hw; p++) {
                    size_t e = ((i / sh.c) * hw + p) * sh.c + i % sh.c;
                    sq += (double)dy[e] * x[e] * dy[e] * x[e];
                }
                want[i] = rds[i] + (acc ? ds0[i] : 0);
                /* a sum of H*W rounded products, then the accumulation */
                tol[i] = 16 * U * sqrt((double)hw) * sqrt(sq) + (acc ? U * fabs(want[i]) : 0) + 1e-30;
            }
            snprintf(what, sizeof what, "chscale ds %ux%ux%ux%u%s", sh.n, sh.h, sh.w, sh.c, acc ? " accumulate" : "");
            expect_close(what, out, want, tol, nc);
        }
        if (wsb) {
            /* without its workspace the multi-chunk reduction is refused */
            asvk_stream *s;
            OK(asvk_stream_create(ctx, &s));
            CHECK(asvk_ew_chscale_backward(s, sh, X.view, SC.view, DY.view, DX.view, false, DS.view, false, none) ==
                      ASVK_ERR_INTERNAL, "chscale backward without a workspace accepted");
            asvk_stream_destroy(s);
            ws.offset -= 4, ws.size += 4;
            asvk_buffer_free(ctx, &ws);
        }
        dt_free(ctx, &X), dt_free(ctx, &SC), dt_free(ctx, &DY), dt_free(ctx, &Y), dt_free(ctx, &DX), dt_free(ctx, &DS);
        free(x), free(sc), free(dy), free(dx0), free(ds0), free(out), free(want), free(tol), free(rdx), free(rds);
    }
}

static void chscale_finite_differences(void) {
    asvk_context *ctx = test_context();
    const asvk_nhwc sh = {2, 9, 9, 3}; /* 81 pixels: the two-pass reduction */
    const size_t n = 2 * 81 * 3, nc = 6;
    const double h = 1.0 / 16;
    float x[486], r[486], sc[6], p[486], dx[486], ds[6];
    double fdx[486], tdx[486], fds[6], tds[6];
    test_fill_uniform(x, n, -2, 2);
    test_fill_uniform(r, n, -1, 1);
    test_fill_uniform(sc, nc, -1, 1);
    dtensor X, SC, Y, R, DX, DS;
    OK(dt_new(ctx, &X, x, n, 1));
    OK(dt_new(ctx, &SC, sc, nc, 3));
    OK(dt_new(ctx, &Y, NULL, n, 0));
    OK(dt_new(ctx, &R, r, n, 2));
    OK(dt_new(ctx, &DX, NULL, n, 1));
    OK(dt_new(ctx, &DS, NULL, nc, 1));
    asvk_buffer ws;
    OK(asvk_buffer_alloc(ctx, asvk_ew_chscale_workspace(sh), &ws));
    RUN(ctx, asvk_ew_chscale_backward(S, sh, X.view, SC.view, R.view, DX.view, false, DS.view, false, ws));
    OK(dt_get(ctx, &DX, dx, "chscale fd dx"));
    OK(dt_get(ctx, &DS, ds, "chscale fd ds"));
    /* Each y depends on one x and one s: perturbing all of x (or all of s)
     * at once gives every derivative, summing y*r per element (per (n,c)). */
    static float yx[4][486], ys[4][486];
    for (int which = 0; which < 2; which++) {
        asvk_stream *s;
        OK(asvk_stream_create(ctx, &s));
        OK(asvk_ew_chscale_forward(s, sh, X.view, SC.view, Y.view));
        for (int k = 0; k < 4; k++) {
            for (size_t i = 0; i < (which ? nc : n); i++) p[i] = (float)((which ? sc : x)[i] + fd_m[k] * h);
            OK(dt_set(ctx, which ? &SC : &X, p));
            OK(asvk_stream_run(s)); /* replays the recorded forward */
            OK(dt_get(ctx, &Y, which ? ys[k] : yx[k], "chscale fd"));
        }
        asvk_stream_destroy(s);
        OK(dt_set(ctx, which ? &SC : &X, which ? sc : x));
    }
    for (size_t i = 0; i < nc; i++) fds[i] = tds[i] = 0;
    for (size_t i = 0; i < n; i++) {
        size_t c = i % 3, img = i / (81 * 3);
        double dxv = 0, dsv = 0;
        for (int k = 0; k < 4; k++) dxv += fd_w[k] * yx[k][i], dsv += fd_w[k] * ys[k][i];
        fdx[i] = r[i] * dxv / (12 * h);
        fds[img * 3 + c] += r[i] * dsv / (12 * h);
        /* |y| <= 2*(1 + 2h): products rounded once, e = 2.25u|...|; stencil rounding 1.5e/h per term */
        tdx[i] = fabs(r[i]) * 1.5 * 2.25 * U / h + U * fabs(fdx[i]) + 1e-12;
        tds[img * 3 + c] += fabs(r[i]) * 1.5 * 2.25 * 2 * U / h;
    }
    /* the backward's own sum of 81 terms: 16u sqrt(81) ||terms||_2 */
    for (size_t i = 0; i < nc; i++) tds[i] += 16 * U * 9 * 18 + 1e-9;
    expect_close("chscale dx vs finite differences", dx, fdx, tdx, n);
    expect_close("chscale ds vs finite differences", ds, fds, tds, nc);
    asvk_buffer_free(ctx, &ws);
    dt_free(ctx, &X), dt_free(ctx, &SC), dt_free(ctx, &Y), dt_free(ctx, &R), dt_free(ctx, &DX), dt_free(ctx, &DS);
}

/* ---- dropout ---- */

static float seed_float(uint32_t seed) {
    float f;
    memcpy(&f, &seed, 4);
    return f;
}

static void dropout_mask_statistics_and_replay(void) {
    asvk_context *ctx = test_context();
    const size_t n = 100003;
    float *ones = fbuf(n), *y = fbuf(n), *y2 = fbuf(n);
    for (size_t i = 0; i < n; i++) ones[i] = 1;
    float step[ASVK_STEP_FLOATS] = {0};
    dtensor X, Y, ST;
    OK(dt_new(ctx, &X, ones, n, 1));
    OK(dt_new(ctx, &Y, NULL, n, 2));
    OK(dt_new(ctx, &ST, step, ASVK_STEP_FLOATS, 3));
    const float ps[] = {0.1f, 0.5f, 0.9f};
    /* Seeds: ordinary, then bit patterns of a denormal, NaNs and -0: the seed
     * goes through a float load unchanged (no arithmetic touches it). */
    const uint32_t seeds[] = {12345u, 1u, 0x7fc00001u, 0xffffffffu, 0x80000000u, 0x7f800001u};
    for (size_t pi = 0; pi < 3; pi++) {
        float p = ps[pi];
        uint32_t thr = eltwise_ref_dropout_threshold(p);
        float scale = (float)(1.0 / (1.0 - (double)p));
        asvk_stream *s;
        OK(asvk_stream_create(ctx, &s));
        OK(asvk_dropout_forward(s, p, 7, ST.view, X.view, Y.view, n));
        for (size_t si = 0; si < sizeof seeds / sizeof seeds[0]; si++) {
            /* a new seed in the step buffer, the same recording replayed */
            step[ASVK_STEP_SEED] = seed_float(seeds[si]);
            OK(dt_set(ctx, &ST, step));
            OK(asvk_stream_run(s));
            OK(dt_get(ctx, &Y, y, "dropout"));
            size_t kept = 0, mismatch = 0, differ = 0;
            for (size_t i = 0; i < n; i++) {
                int k = eltwise_ref_dropout_keep(seeds[si], 7, thr, (uint32_t)i);
                kept += y[i] != 0;
                /* kept elements are exactly 1 * scale (one rounding of 1 * scale: exact) */
                mismatch += k ? y[i] != scale : y[i] != 0;
                if (si > 0) differ += (y[i] != 0) != (y2[i] != 0);
            }
            CHECK(mismatch == 0, "dropout p=%g seed %#x: %zu elements differ from the reference mask", p, seeds[si],
                  mismatch);
            /* kept ~ Binomial(n, 1-p): within 5 standard deviations */
            double mean = (double)kept / n, sd = sqrt(p * (1 - (double)p) / n);
            CHECK(fabs(mean - (1 - p)) <= 5 * sd, "dropout p=%g seed %#x: kept fraction %.5f, expected %.5f +- %.5f", p,
                  seeds[si], mean, 1 - p, 5 * sd);
            if (si > 0) {
                /* two independent masks differ at a fraction 2p(1-p) of the elements */
                double f = (double)differ / n, want = 2 * p * (1 - (double)p), sdf = sqrt(want * (1 - want) / n);
                CHECK(fabs(f - want) <= 5 * sdf, "dropout p=%g: seeds %#x and %#x differ at %.5f of elements, "
                      "expected %.5f", p, seeds[si - 1], seeds[si], f, want);
            }
            memcpy(y2, y, n * sizeof *y);
        }
        asvk_stream_destroy(s);
        /* another stream id: another mask under the same seed */
        RUN(ctx, asvk_dropout_forward(S, p, 8, ST.view, X.view, Y.view, n));
        OK(dt_get(ctx, &Y, y, "dropout stream"));
        size_t differ = 0;
        for (size_t i = 0; i < n; i++) differ += (y[i] != 0) != (y2[i] != 0);
        double f = (double)differ / n, want = 2 * p * (1 - (double)p), sdf = sqrt(want * (1 - want) / n);
        CHECK(fabs(f - want) <= 5 * sdf, "dropout p=%g: stream ids 7 and 8 differ at %.5f of elements, expected %.5f",
              p, f, want);
    }
    dt_free(ctx, &X), dt_free(ctx, &Y), dt_free(ctx, &ST);
    free(ones), free(y), free(y2);
}

static void dropout_identity_and_backward(void) {
    asvk_context *ctx = test_context();
    float step[ASVK_STEP_FLOATS] = {0};
    step[ASVK_STEP_SEED] = seed_float(0xC0FFEEu);
    dtensor ST;
    OK(dt_new(ctx, &ST, step, ASVK_STEP_FLOATS, 0));
    for (int r = 0; r < 4; r++) {
        size_t n = r < 2 ? 4 * test_rand_range(1, 800) : test_rand_range(1, 3000);
        uint32_t o[3] = {r < 2 ? 0 : test_rand_range(0, 5), r < 2 ? 4 : test_rand_range(0, 5),
                         r < 2 ? 8 : test_rand_range(0, 5)};
        float p = r == 0 ? 0.0f : test_rand_uniform(0.05f, 0.95f);
        uint32_t thr = eltwise_ref_dropout_threshold(p);
        float scale = (float)(1.0 / (1.0 - (double)p));
        float *x = fbuf(n), *y = fbuf(n), *dy = fbuf(n), *dx0 = fbuf(n), *dx = fbuf(n);
        double *want = dbuf(n), *tol = dbuf(n);
        test_fill_uniform(x, n, -3, 3);
        test_fill_uniform(dy, n, -3, 3);
        test_fill_uniform(dx0, n, -3, 3);
        dtensor X, Y, DY, DX;
        OK(dt_new(ctx, &X, x, n, o[0]));
        OK(dt_new(ctx, &Y, NULL, n, o[1]));
        OK(dt_new(ctx, &DY, dy, n, o[2]));
        RUN(ctx, asvk_dropout_forward(S, p, (uint32_t)r, ST.view, X.view, Y.view, n));
        OK(dt_get(ctx, &Y, y, "dropout forward"));
        for (size_t i = 0; i < n; i++) {
            want[i] = eltwise_ref_dropout_keep(0xC0FFEEu, (uint32_t)r, thr, (uint32_t)i) ? (double)x[i] * scale : 0;
            tol[i] = U * fabs(want[i]); /* x * scale, rounded once; p = 0: x * 1, exact */
        }
        if (p == 0) {
            CHECK(memcmp(x, y, n * sizeof *x) == 0, "dropout p=0 is not the exact identity");
        }
        char what[80];
        snprintf(what, sizeof what, "dropout forward p=%.3f n=%zu", p, n);
        expect_close(what, y, want, tol, n);
        /* the backward recomputes the forward's mask: dx = dy*mask*scale (+ dx0) */
        for (int acc = 0; acc < 2; acc++) {
            OK(dt_new(ctx, &DX, acc ? dx0 : NULL, n, o[0]));
            RUN(ctx, asvk_dropout_backward(S, p, (uint32_t)r, ST.view, DY.view, DX.view, n, acc));
            OK(dt_get(ctx, &DX, dx, "dropout backward"));
            for (size_t i = 0; i < n; i++) {
                /* the reference mask, which the forward was just checked to use */
                bool keep = eltwise_ref_dropout_keep(0xC0FFEEu, (uint32_t)r, thr, (uint32_t)i);
                double v = keep ? (double)dy[i] * scale : 0;
                want[i] = v + (acc ? dx0[i] : 0);
                tol[i] = U * fabs(v) + (acc ? U * fabs(want[i]) : 0);
            }
            snprintf(what, sizeof what, "dropout backward p=%.3f%s (mask of the forward)", p, acc ? " accumulate" : "");
            expect_close(what, dx, want, tol, n);
            dt_free(ctx, &DX);
        }
        dt_free(ctx, &X), dt_free(ctx, &Y), dt_free(ctx, &DY);
        free(x), free(y), free(dy), free(dx0), free(dx), free(want), free(tol);
    }
    /* p out of range is a usage error */
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    CHECK(asvk_dropout_forward(s, 1.0f, 0, ST.view, ST.view, ST.view, 4) == ASVK_ERR_USAGE, "p = 1 accepted");
    CHECK(asvk_dropout_forward(s, -0.1f, 0, ST.view, ST.view, ST.view, 4) == ASVK_ERR_USAGE, "p < 0 accepted");
    asvk_stream_destroy(s);
    dt_free(ctx, &ST);
}

/* ---- mixture ---- */

/* Relative error of the kernels' softmax weights: exp of (alpha - max), at
 * most (3 + 2|d|) ULP, the sum of k terms and the division: x2 margin. */
static double softmax_rel_tol(uint32_t k, const float *alpha) {
    double m = alpha[0], lo = alpha[0];
    for (uint32_t j = 1; j < k; j++) m = alpha[j] > m ? alpha[j] : m, lo = alpha[j] < lo ? alpha[j] : lo;
    return 2 * U * (2 * (3 + 2 * (m - lo)) + k + 5 + 1);
}

static void mix_reference(void) {
    asvk_context *ctx = test_context();
    for (uint32_t k = 1; k <= ASVK_MIX_MAX; k++) {
        bool al = k % 3 == 0; /* aligned vec4 path for k = 3, 6 */
        size_t n = al ? 4 * test_rand_range(1, 700) : test_rand_range(1, 3000);
        if (k == 8 || k == ASVK_MIX_MAX) n = 70001; /* dalpha's inner products over many chunks */
        float alpha[ASVK_MIX_MAX], *x[ASVK_MIX_MAX], *dy = fbuf(n), *out = fbuf(n), *dx0[ASVK_MIX_MAX], dalpha0[ASVK_MIX_MAX], dal[ASVK_MIX_MAX];
        double w[ASVK_MIX_MAX], *want = dbuf(n), *tol = dbuf(n), *rdx[ASVK_MIX_MAX], rdal[ASVK_MIX_MAX];
        test_fill_uniform(alpha, k, -2, 2);
        test_fill_uniform(dy, n, -1, 1);
        test_fill_uniform(dalpha0, k, -1, 1);
        eltwise_ref_softmax(k, alpha, w);
        double rel = softmax_rel_tol(k, alpha);
        dtensor X[ASVK_MIX_MAX], AL, Y, DY, DX[ASVK_MIX_MAX], DA;
        for (uint32_t j = 0; j < k; j++) {
            x[j] = fbuf(n), dx0[j] = fbuf(n), rdx[j] = dbuf(n);
            test_fill_uniform(x[j], n, -2, 2);
            test_fill_uniform(dx0[j], n, -1, 1);
            OK(dt_new(ctx, &X[j], x[j], n, al ? 4 * (j % 2) : test_rand_range(0, 5)));
        }
        OK(dt_new(ctx, &AL, alpha, k, test_rand_range(0, 3)));
        OK(dt_new(ctx, &Y, NULL, n, al ? 0 : test_rand_range(0, 5)));
        OK(dt_new(ctx, &DY, dy, n, al ? 8 : test_rand_range(0, 5)));
        asvk_buffer xv[ASVK_MIX_MAX];
        for (uint32_t j = 0; j < k; j++) xv[j] = X[j].view;

        RUN(ctx, asvk_mix_forward(S, k, xv, AL.view, Y.view, n));
        OK(dt_get(ctx, &Y, out, "mix forward"));
        eltwise_ref_mix_forward(k, (const float *const *)x, alpha, n, want);
        for (size_t i = 0; i < n; i++) {
            double mag = 0;
            for (uint32_t j = 0; j < k; j++) mag += w[j] * fabs(x[j][i]);
            /* each weight off by rel, then k products and k additions */
            tol[i] = (rel + 2 * (k + 1) * U) * mag + 1e-30;
        }
        char what[96];
        snprintf(what, sizeof what, "mix forward k=%u n=%zu", k, n);
        expect_close(what, out, want, tol, n);

        /* backward: dx for some k (write or accumulate), dalpha accumulate on odd k */
        bool acc[ASVK_MIX_MAX], wanted[ASVK_MIX_MAX];
        asvk_buffer dxv[ASVK_MIX_MAX];
        for (uint32_t j = 0; j < k; j++) {
            wanted[j] = k == 1 || (j + k) % 4 != 1;
            acc[j] = (j + k) % 3 == 0;
            OK(dt_new(ctx, &DX[j], acc[j] ? dx0[j] : NULL, n, al ? 4 * (j % 3) : test_rand_range(0, 5)));
            dxv[j] = wanted[j] ? DX[j].view : (asvk_buffer){0};
        }
        bool acc_a = k % 2 == 1;
        OK(dt_new(ctx, &DA, acc_a ? dalpha0 : NULL, k, test_rand_range(0, 3)));
        asvk_buffer ws;
        OK(asvk_buffer_alloc(ctx, asvk_mix_workspace(k, n), &ws));
        RUN(ctx, asvk_mix_backward(S, k, xv, AL.view, DY.view, n, dxv, acc, DA.view, acc_a, ws));
        eltwise_ref_mix_backward(k, (const float *const *)x, alpha, dy, n, rdx, rdal);
        for (uint32_t j = 0; j < k; j++) {
            OK(dt_get(ctx, &DX[j], out, "mix dx"));
            if (!wanted[j]) {
                int bad = 0;
                for (size_t i = 0; i < n; i++)
                    if ((acc[j] ? out[i] != dx0[j][i] : !isnan(out[i])) && bad++ < 1)
                        CHECK(0, "mix backward k=%u wrote dx[%u], which was not wanted", k, j);
                continue;
            }
            for (size_t i = 0; i < n; i++) {
                want[i] = rdx[j][i] + (acc[j] ? dx0[j][i] : 0);
                tol[i] = (rel + U) * fabs(rdx[j][i]) + (acc[j] ? U * fabs(want[i]) : 0) + 1e-30;
            }
            snprintf(what, sizeof what, "mix backward k=%u dx[%u]%s", k, j, acc[j] ? " accumulate" : "");
            expect_close(what, out, want, tol, n);
        }
        OK(dt_get(ctx, &DA, dal, "mix dalpha"));
        {
            double d[ASVK_MIX_MAX], e[ASVK_MIX_MAX], we = 0, wabs = 0;
            for (uint32_t j = 0; j < k; j++) {
                double sum = 0, sq = 0, ab = 0;
                for (size_t i = 0; i < n; i++) {
                    double v = (double)dy[i] * x[j][i];
                    sum += v, sq += v * v, ab += fabs(v);
                }
                d[j] = sum;
                e[j] = 16 * U * sqrt((double)n) * sqrt(sq); /* the fp32 inner product */
                we += w[j] * e[j], wabs += w[j] * fabs(d[j]);
            }
            double wantd[ASVK_MIX_MAX], told[ASVK_MIX_MAX];
            for (uint32_t j = 0; j < k; j++) {
                wantd[j] = rdal[j] + (acc_a ? dalpha0[j] : 0);
                /* w_j (d_j - sum w d): the inner products' errors, the weights' (rel, in three places), roundings */
                told[j] = w[j] * (e[j] + we) + 3 * rel * w[j] * (fabs(d[j]) + wabs) +
                          4 * (k + 2) * U * w[j] * (fabs(d[j]) + wabs) + (acc_a ? U * fabs(wantd[j]) : 0) + 1e-30;
            }
            snprintf(what, sizeof what, "mix backward k=%u dalpha%s", k, acc_a ? " accumulate" : "");
            expect_close(what, dal, wantd, told, k);
        }
        asvk_buffer_free(ctx, &ws);
        for (uint32_t j = 0; j < k; j++) {
            dt_free(ctx, &X[j]), dt_free(ctx, &DX[j]);
            free(x[j]), free(dx0[j]), free(rdx[j]);
        }
        dt_free(ctx, &AL), dt_free(ctx, &Y), dt_free(ctx, &DY), dt_free(ctx, &DA);
        free(dy), free(out), free(want), free(tol);
    }
}

static void mix_finite_differences(void) {
    asvk_context *ctx = test_context();
    const uint32_t k = 3;
    const size_t n = 50;
    const double h = 1.0 / 16; /* alpha and x in (-1, 1) on a 2^-23 grid: +- 2h exact */
    float alpha[3], xs[3][50], r[50], p[50], y[4][50], dxg[3][50], dal[3];
    test_fill_uniform(alpha, k, -1, 1);
    test_fill_uniform(r, n, -1, 1);
    dtensor X[3], AL, Y, R, DX[3], DA;
    asvk_buffer xv[3], dxv[3];
    for (uint32_t j = 0; j < k; j++) {
        test_fill_uniform(xs[j], n, -1, 1);
        OK(dt_new(ctx, &X[j], xs[j], n, j));
        OK(dt_new(ctx, &DX[j], NULL, n, 2 * j + 1));
        xv[j] = X[j].view, dxv[j] = DX[j].view;
    }
    OK(dt_new(ctx, &AL, alpha, k, 1));
    OK(dt_new(ctx, &Y, NULL, n, 3));
    OK(dt_new(ctx, &R, r, n, 2));
    OK(dt_new(ctx, &DA, NULL, k, 2));
    asvk_buffer ws;
    OK(asvk_buffer_alloc(ctx, asvk_mix_workspace(k, n), &ws));
    RUN(ctx, asvk_mix_backward(S, k, xv, AL.view, R.view, n, dxv, NULL, DA.view, false, ws));
    for (uint32_t j = 0; j < k; j++) OK(dt_get(ctx, &DX[j], dxg[j], "mix fd dx"));
    OK(dt_get(ctx, &DA, dal, "mix fd dalpha"));
    double rel = softmax_rel_tol(k, alpha) * 2; /* alpha moves by up to 2h = 1/8 */

    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    OK(asvk_mix_forward(s, k, xv, AL.view, Y.view, n));
    /* dalpha_j: perturb alpha_j alone; L = sum y*r in double */
    double fda[3], tda[3];
    for (uint32_t j = 0; j < k; j++) {
        double L[4];
        for (int m = 0; m < 4; m++) {
            float ap[3] = {alpha[0], alpha[1], alpha[2]};
            ap[j] = (float)(alpha[j] + fd_m[m] * h);
            OK(dt_set(ctx, &AL, ap));
            OK(asvk_stream_run(s));
            OK(dt_get(ctx, &Y, y[m], "mix fd alpha"));
            L[m] = 0;
            for (size_t i = 0; i < n; i++) L[m] += (double)y[m][i] * r[i];
        }
        OK(dt_set(ctx, &AL, alpha));
        fda[j] = (fd_w[0] * L[0] + fd_w[1] * L[1] + fd_w[2] * L[2] + fd_w[3] * L[3]) / (12 * h);
        /* e(L) = sum |r| tol(y) with |y| <= 1; stencil rounding 1.5 e/h; truncation h^4 |f5|/30 with
         * |f5| <= sum_i |r_i||x_i| <= n (softmax derivatives are below 1): 1e-5 * n / 30 */
        double eL = 0;
        for (size_t i = 0; i < n; i++) eL += fabs(r[i]) * (rel + 8 * U);
        tda[j] = 1.5 * eL / h + pow(h, 4) * n / 30 + 1e-6;
    }
    expect_close("mix dalpha vs finite differences", dal, fda, tda, k);
    /* dx_j: y is linear in x_j; perturb all of x_j at once */
    for (uint32_t j = 0; j < k; j++) {
        double fdx[50], tdx[50];
        for (int m = 0; m < 4; m++) {
            for (size_t i = 0; i < n; i++) p[i] = (float)(xs[j][i] + fd_m[m] * h);
            OK(dt_set(ctx, &X[j], p));
            OK(asvk_stream_run(s));
            OK(dt_get(ctx, &Y, y[m], "mix fd x"));
        }
        OK(dt_set(ctx, &X[j], xs[j]));
        for (size_t i = 0; i < n; i++) {
            double d = 0;
            for (int m = 0; m < 4; m++) d += fd_w[m] * y[m][i];
            fdx[i] = r[i] * d / (12 * h);
            tdx[i] = fabs(r[i]) * 1.5 * (rel + 8 * U) * 1.25 / h + 1e-9;
        }
        char what[64];
        snprintf(what, sizeof what, "mix dx[%u] vs finite differences", j);
        expect_close(what, dxg[j], fdx, tdx, n);
    }
    asvk_stream_destroy(s);
    asvk_buffer_free(ctx, &ws);
    for (uint32_t j = 0; j < k; j++) dt_free(ctx, &X[j]), dt_free(ctx, &DX[j]);
    dt_free(ctx, &AL), dt_free(ctx, &Y), dt_free(ctx, &R), dt_free(ctx, &DA);
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"act_forward_every_code", act_forward_every_code},
        {"act_backward_reference_and_accumulate", act_backward_reference_and_accumulate},
        {"act_backward_finite_differences", act_backward_finite_differences},
        {"add_into_add_mul", add_into_add_mul},
        {"mul_finite_differences", mul_finite_differences},
        {"chscale_forward_backward", chscale_forward_backward},
        {"chscale_finite_differences", chscale_finite_differences},
        {"dropout_mask_statistics_and_replay", dropout_mask_statistics_and_replay},
        {"dropout_identity_and_backward", dropout_identity_and_backward},
        {"mix_reference", mix_reference},
        {"mix_finite_differences", mix_finite_differences},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
