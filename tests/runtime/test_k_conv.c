/* Convolution kernels (runtime/kernels/conv.h) against the double-precision
 * reference (tests/ref/conv_ref.c) and against finite differences of the GPU
 * forward.
 *
 * Tolerances against the reference (the reasoning of tests/runtime/test_blas.c):
 * every result is a sum of K_i products t (plus a bias term); the reference
 * returns mag_i = sqrt(K_i * sum t^2) = sqrt(K_i) * ||t||_2. Recursive fp32
 * summation of random terms errs by about u*sqrt(K_i)*rms(t); we allow
 * 16*u*mag_i = 16*u*K_i*rms(t), i.e. a margin of 16*sqrt(K_i) (>= 40x for the
 * K >= 9 here), whatever order, split or chunking the kernel sums in (chunked
 * sums err less). It still catches one dropped or doubled product (of size
 * ~rms(t)) for every K below ~10^5 (16*u*K < 1). Plus 4u*|result| for the
 * final roundings, and with accumulate 4u*(|old| + |new|) for the addition.
 *
 * ASVK_CONV_BENCH=1 makes the `bench` case time three MobileNet-like shapes
 * (no assertions on time). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/kernels/conv.h"
#include "tests/harness.h"
#include "tests/ref/conv_ref.h"
#include "tests/ref/eltwise_ref.h"

#define GUARD 5u /* floats after each view that must stay untouched */

static float *host(size_t n) { return malloc((n ? n : 1) * sizeof(float)); }

/* A tensor on the device as a view at element offset `off` inside a buffer
 * of off + n + GUARD floats; h holds the host copy of the whole buffer. */
typedef struct {
    float *h;
    uint64_t n;
    uint32_t off;
    asvk_buffer buf;
} tensor;

static uint64_t t_total(const tensor *t) { return t->off + t->n + GUARD; }
static asvk_buffer t_view(const tensor *t) { return asvk_buffer_sub(t->buf, t->off * 4ull, t->n * 4); }
static const float *t_data(const tensor *t) { return t->h + t->off; }

/* Random values in [lo, hi]; with poison the view itself holds NaN (for
 * outputs that must be written without being read). */
static asvk_status t_make(tensor *t, uint64_t n, uint32_t off, float lo, float hi, bool poison) {
    t->n = n, t->off = off;
    t->h = host(t_total(t));
    test_fill_uniform(t->h, t_total(t), lo, hi);
    if (poison)
        for (uint64_t i = 0; i < n; i++) t->h[off + i] = NAN;
    return test_upload(test_context(), t->h, t_total(t), &t->buf);
}

static void t_free(tensor *t) {
    if (t->buf.block) asvk_buffer_free(test_context(), &t->buf);
    free(t->h);
    memset(t, 0, sizeof *t);
}

static void describe(const asvk_conv_desc *d, uint32_t off, char *out, size_t n) {
    snprintf(out, n, "N%u %ux%u Cin%u Cout%u k%ux%u s%ux%u p%ux%u g%u off%u (%s)", d->in.n, d->in.h, d->in.w,
             d->in.c, d->cout, d->kh, d->kw, d->sh, d->sw, d->ph, d->pw, d->groups, off,
             asvk_conv_path(d) == ASVK_CONV_PATH_GEMM        ? "gemm"
             : asvk_conv_path(d) == ASVK_CONV_PATH_DEPTHWISE ? "depthwise"
                                                              : "direct");
}

/* Downloads t and compares its view with ref (+ the old contents when acc);
 * the guard floats around the view must be unchanged. */
static void t_check(const tensor *t, const double *ref, const double *mag, bool acc, const char *what,
                    const char *desc) {
    float *got = host(t_total(t));
    asvk_status st = test_download(test_context(), t->buf, got, t_total(t));
    CHECK(st == ASVK_OK, "%s: download: %s", what, asvk_error_message());
    int bad = 0;
    for (uint64_t i = 0; st == ASVK_OK && i < t_total(t); i++) {
        float old = t->h[i];
        if (i < t->off || i >= t->off + t->n) {
            if (memcmp(&got[i], &old, 4) != 0 && bad++ < 3)
                CHECK(0, "%s %s: element %llu outside the view was written (%g, was %g)", what, desc,
                      (unsigned long long)i, got[i], old);
            continue;
        }
        uint64_t e = i - t->off;
        double want = ref[e] + (acc ? old : 0.0);
        double tol = 16 * FP32_U * mag[e] + 4 * FP32_U * (fabs(ref[e]) + (acc ? fabs(old) + fabs(want) : 0)) + 1e-30;
        double err = fabs(got[i] - want);
        if (!(err <= tol) && bad++ < 3)
            CHECK(0, "%s %s%s: [%llu] = %.9g, reference %.9g, error %.3g > tolerance %.3g", what, desc,
                  acc ? " accumulate" : "", (unsigned long long)e, got[i], want, err, tol);
    }
    free(got);
}

static asvk_status run_stream(asvk_stream *s) {
    asvk_status st = asvk_stream_run(s);
    asvk_stream_destroy(s);
    return st;
}

/* ---- forward ---- */

static void check_forward_act(const asvk_conv_desc *d, bool bias, uint32_t off, asvk_act act) {
    asvk_context *ctx = test_context();
    char desc[160];
    describe(d, off, desc, sizeof desc);
    asvk_nhwc o = asvk_conv_out(d);
    uint64_t ny = asvk_nhwc_count(o);
    tensor x = {0}, w = {0}, b = {0}, y = {0};
    /* off % 4 == 0: aligned activations, unaligned weights; odd: all unaligned */
    OK(t_make(&x, asvk_nhwc_count(d->in), off, -1, 1, false));
    OK(t_make(&w, asvk_conv_weight_count(d), off ? off + 2 : 0, -1, 1, false));
    if (bias) OK(t_make(&b, d->cout, off ? off + 1 : 0, -1, 1, false));
    OK(t_make(&y, ny, 2 * off, -1, 1, true));
    double *ref = calloc(ny, sizeof *ref), *mag = calloc(ny, sizeof *mag);
    conv_ref_forward(d, t_data(&x), t_data(&w), bias ? t_data(&b) : NULL, ref, mag);
    /* the epilogue's activation passes the sum's error on scaled by at most
     * its Lipschitz constant, plus its own few roundings (the 4u|ref| term) */
    for (uint64_t i = 0; act != ASVK_ACT_NONE && i < ny; i++)
        ref[i] = eltwise_ref_act(act, ref[i]), mag[i] *= eltwise_ref_act_lipschitz(act);
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    asvk_buffer none = {0};
    OK(asvk_conv_forward_ex(s, d, t_view(&x), t_view(&w), bias ? t_view(&b) : none, act, t_view(&y)));
    asvk_stream_stats stats;
    asvk_stream_stats_get(s, &stats);
    CHECK(stats.dispatches == 1, "forward %s: %u dispatches", desc, stats.dispatches);
    OK(run_stream(s));
    char what[64];
    snprintf(what, sizeof what, "forward%s act %d", bias ? "+bias" : "", act);
    t_check(&y, ref, mag, false, what, desc);
    free(ref), free(mag);
    t_free(&x), t_free(&w), t_free(&b), t_free(&y);
}

static void check_forward(const asvk_conv_desc *d, bool bias, uint32_t off) {
    check_forward_act(d, bias, off, ASVK_ACT_NONE);
}

static asvk_conv_desc conv(uint32_t n, uint32_t h, uint32_t w, uint32_t cin, uint32_t cout, uint32_t k, uint32_t s,
                           uint32_t p, uint32_t g) {
    return (asvk_conv_desc){{n, h, w, cin}, cout, k, k, s, s, p, p, g};
}

/* Shapes that cover every path: 1x1 (GEMM, grouped GEMM), depthwise (vec4 and
 * scalar channels, kernels 1-7, strides 1-2, padding 0-3), direct (stems
 * with Cin 1 and 3, full 3x3/5x5/7x7, strided and padded 1x1, groups 2 and 3,
 * channels 5 and 6), odd sizes, batch 1 and 3. */
static const struct { asvk_conv_desc d; bool bias; uint32_t off; } fwd_cases[] = {
    {{{3, 7, 9, 8}, 12, 1, 1, 1, 1, 0, 0, 1}, false, 0},  /* pointwise GEMM */
    {{{1, 9, 7, 5}, 6, 1, 1, 1, 1, 0, 0, 1}, true, 3},    /* pointwise GEMM, odd channels, bias, offsets */
    {{{1, 5, 7, 12}, 8, 1, 1, 1, 1, 0, 0, 2}, true, 0},   /* grouped pointwise GEMM */
    {{{3, 9, 9, 16}, 16, 3, 3, 1, 1, 1, 1, 16}, true, 0}, /* depthwise 3x3 s1 vec4 */
    {{{1, 13, 13, 8}, 8, 3, 3, 2, 2, 1, 1, 8}, false, 0}, /* depthwise 3x3 s2 */
    {{{1, 3, 17, 8}, 8, 3, 3, 1, 1, 1, 1, 8}, false, 0},  /* depthwise, a row of 17: 8 outputs a step (CPU) */
    {{{1, 3, 28, 8}, 8, 5, 5, 2, 2, 2, 2, 8}, false, 0},  /* depthwise 5x5 s2, output rows of 14: 7 a step */
    {{{1, 9, 7, 5}, 5, 5, 5, 1, 1, 2, 2, 5}, true, 1},    /* depthwise 5x5 scalar channels, offsets */
    {{{3, 13, 9, 8}, 8, 7, 7, 2, 2, 3, 3, 8}, false, 0},  /* depthwise 7x7 s2 */
    {{{1, 7, 9, 3}, 3, 1, 1, 2, 2, 0, 0, 3}, true, 0},    /* depthwise 1x1 s2 */
    {{{1, 7, 7, 1}, 1, 3, 3, 1, 1, 0, 0, 1}, false, 0},   /* C = 1: depthwise */
    {{{3, 13, 13, 1}, 16, 3, 3, 1, 1, 1, 1, 1}, true, 0}, /* stem Cin 1 */
    {{{1, 13, 11, 3}, 8, 3, 3, 2, 2, 1, 1, 1}, false, 5}, /* stem Cin 3 s2, offsets */
    {{{1, 9, 9, 32}, 32, 3, 3, 1, 1, 1, 1, 1}, true, 0},  /* full 3x3 on 32 channels */
    {{{1, 9, 13, 8}, 12, 5, 5, 2, 2, 2, 2, 1}, false, 0}, /* 5x5 s2 */
    {{{1, 13, 9, 4}, 8, 7, 7, 2, 2, 3, 3, 1}, true, 0},   /* 7x7 s2 */
    {{{3, 9, 7, 16}, 20, 1, 1, 2, 2, 0, 0, 1}, false, 0}, /* strided 1x1 */
    {{{1, 7, 7, 8}, 8, 1, 1, 1, 1, 1, 1, 1}, true, 0},    /* padded 1x1 */
    {{{1, 9, 9, 8}, 12, 3, 3, 1, 1, 1, 1, 2}, true, 0},   /* groups 2 vec4 */
    {{{3, 7, 9, 6}, 9, 3, 3, 2, 2, 1, 1, 3}, false, 0},   /* groups 3, Cg 2 */
    {{{1, 9, 13, 5}, 6, 3, 3, 1, 1, 0, 0, 1}, true, 0},   /* channels 5 -> 6, no padding */
    {{{1, 7, 9, 16}, 8, 3, 5, 1, 2, 2, 1, 1}, false, 0},  /* non-square kernel and stride */
    {{{1, 5, 5, 4}, 4, 5, 5, 1, 1, 0, 0, 1}, false, 0},   /* kernel = input */
    {{{1, 4, 4, 2}, 4, 3, 3, 1, 1, 3, 3, 1}, true, 0},    /* padding = kernel: border outputs are bias only */
    {{{1, 11, 20, 8}, 8, 11, 11, 4, 4, 2, 2, 8}, false, 0},  /* depthwise 11x11 s4: several windows */
    {{{1, 11, 17, 4}, 5, 9, 9, 1, 3, 1, 1, 1}, false, 2},    /* 9x9 s(1,3): two windows of taps */
    {{{2, 9, 7, 8}, 8, 3, 3, 2, 2, 1, 1, 8}, true, 4},       /* depthwise: aligned activations, unaligned weights */
    {{{1, 9, 7, 8}, 12, 3, 3, 1, 1, 1, 1, 1}, true, 4},      /* direct: scalar loads, vec4 stores */
};

static void forward_paths(void) {
    for (size_t i = 0; i < sizeof fwd_cases / sizeof fwd_cases[0]; i++)
        check_forward(&fwd_cases[i].d, fwd_cases[i].bias, fwd_cases[i].off);
}

/* Bias and activation in the epilogue of every forward path, one dispatch each. */
static void forward_epilogue(void) {
    static const size_t cases[] = {1, 2, 3, 5, 9, 11, 17};
    static const asvk_act acts[] = {ASVK_ACT_RELU6, ASVK_ACT_HSWISH, ASVK_ACT_RELU};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_forward_act(&fwd_cases[cases[i]].d, i % 2 == 0, fwd_cases[cases[i]].off, acts[i % 3]);
}

/* Folding an inference BN into the weights: w_out and b_out against the
 * double reference, then the folded forward (bias + act in the epilogue)
 * against act(BN_infer(conv(x, w) + bias)) computed in double. */
static void fold_bn(void) {
    static const struct { asvk_conv_desc d; bool bias; uint32_t off; } cases[] = {
        {{{2, 7, 7, 8}, 12, 1, 1, 1, 1, 0, 0, 1}, false, 0}, /* pointwise (GEMM path) */
        {{{1, 9, 9, 16}, 16, 3, 3, 2, 2, 1, 1, 16}, true, 0}, /* depthwise */
        {{{1, 9, 7, 5}, 6, 3, 3, 1, 1, 1, 1, 1}, true, 3},   /* direct, odd channels, unaligned views */
        {{{1, 6, 6, 6}, 9, 3, 3, 1, 1, 1, 1, 3}, false, 1},  /* groups 3 */
    };
    asvk_context *ctx = test_context();
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const asvk_conv_desc *d = &cases[ci].d;
        uint32_t off = cases[ci].off, co = d->cout;
        uint64_t nw = asvk_conv_weight_count(d), kc = nw / co;
        const float eps = 1e-3f;
        tensor x = {0}, w = {0}, b = {0}, g = {0}, be = {0}, m = {0}, v = {0}, wf = {0}, bf = {0}, y = {0};
        OK(t_make(&x, asvk_nhwc_count(d->in), off, -1, 1, false));
        OK(t_make(&w, nw, off, -1, 1, false));
        OK(t_make(&b, co, off, -1, 1, false));
        OK(t_make(&g, co, off, 0.5f, 1.5f, false));
        OK(t_make(&be, co, off, -0.5f, 0.5f, false));
        OK(t_make(&m, co, off, -0.3f, 0.3f, false));
        OK(t_make(&v, co, off, 0.1f, 2.0f, false));
        OK(t_make(&wf, nw, off + 1, -1, 1, true));
        OK(t_make(&bf, co, off, -1, 1, true));
        asvk_nhwc o = asvk_conv_out(d);
        OK(t_make(&y, asvk_nhwc_count(o), off, -1, 1, true));
        asvk_stream *s;
        OK(asvk_stream_create(ctx, &s));
        asvk_buffer none = {0};
        OK(asvk_conv_fold_bn(s, co, kc, eps, t_view(&w), cases[ci].bias ? t_view(&b) : none, t_view(&g), t_view(&be),
                             t_view(&m), t_view(&v), t_view(&wf), t_view(&bf)));
        OK(asvk_conv_forward_ex(s, d, t_view(&x), t_view(&wf), t_view(&bf), ASVK_ACT_RELU6, t_view(&y)));
        OK(run_stream(s));
        /* the folded parameters: a = gamma / sqrt(var + eps) in double; the kernel's
         * inversesqrt errs by a few ulps, its products by one each: 8u relative */
        double *rw = calloc(nw, sizeof *rw), *mw = calloc(nw, sizeof *mw), *rb = calloc(co, sizeof *rb),
               *mb = calloc(co, sizeof *mb);
        for (uint32_t c = 0; c < co; c++) {
            double a = t_data(&g)[c] / sqrt((double)t_data(&v)[c] + eps);
            double bias = cases[ci].bias ? t_data(&b)[c] : 0;
            rb[c] = (bias - t_data(&m)[c]) * a + t_data(&be)[c];
            mb[c] = (fabs(bias) + fabs(t_data(&m)[c])) * fabs(a) / 4 + fabs(t_data(&be)[c]) / 4; /* t_check: 16u*mag */
            for (uint64_t k = 0; k < kc; k++) rw[c * kc + k] = t_data(&w)[c * kc + k] * a, mw[c * kc + k] = fabs(rw[c * kc + k]) / 4;
        }
        t_check(&wf, rw, mw, false, "folded weights", "fold");
        t_check(&bf, rb, mb, false, "folded bias", "fold");
        /* the folded forward against act(BN_infer(conv + bias)) in double: the
         * conv's error bound (mag) grows by |a| through the folded weights */
        uint64_t ny = asvk_nhwc_count(o);
        double *ref = calloc(ny, sizeof *ref), *mag = calloc(ny, sizeof *mag);
        conv_ref_forward(d, t_data(&x), t_data(&w), cases[ci].bias ? t_data(&b) : NULL, ref, mag);
        for (uint64_t i = 0; i < ny; i++) {
            uint32_t c = (uint32_t)(i % co);
            double a = t_data(&g)[c] / sqrt((double)t_data(&v)[c] + eps);
            double z = (ref[i] - t_data(&m)[c]) * a + t_data(&be)[c];
            ref[i] = eltwise_ref_act(ASVK_ACT_RELU6, z);
            mag[i] = mag[i] * fabs(a) + 2 * (fabs(z) + fabs(t_data(&be)[c]) + fabs(t_data(&m)[c] * a));
        }
        t_check(&y, ref, mag, false, "folded forward", "fold");
        free(rw), free(mw), free(rb), free(mb), free(ref), free(mag);
        t_free(&x), t_free(&w), t_free(&b), t_free(&g), t_free(&be), t_free(&m), t_free(&v), t_free(&wf), t_free(&bf),
            t_free(&y);
    }
}

static asvk_conv_desc random_desc(void) {
    static const uint32_t chans[] = {1, 3, 4, 5, 6, 8, 12, 16};
    for (;;) {
        /* kernels 1-5 (7, 9 and 11 are in the fixed cases: their unrolled
         * kernels take seconds to compile, and every random shape adds some) */
        uint32_t k = 2 * test_rand_range(0, 2) + 1, s = test_rand_range(1, 2), p = test_rand_range(0, k / 2 + 1);
        uint32_t cin = chans[test_rand_range(0, 7)];
        uint32_t kind = test_rand_range(0, 2), g = 1, cout = chans[test_rand_range(0, 7)];
        if (kind == 1) g = cin, cout = cin;         /* depthwise */
        if (kind == 2 && cin % 2 == 0) g = 2, cout = 2 * test_rand_range(1, 6);
        asvk_conv_desc d = conv(test_rand_range(1, 3), test_rand_range(k > 3 ? k - 2 : 1, 13),
                                test_rand_range(k > 3 ? k - 2 : 1, 13), cin, cout, k, s, p, g);
        if (asvk_conv_check(&d) == ASVK_OK) return d;
    }
}

static void forward_random(void) {
    for (int r = 0; r < 10; r++) {
        asvk_conv_desc d = random_desc();
        check_forward(&d, r % 2, r % 3 ? 0 : test_rand_range(1, 7));
    }
}

/* ---- backward against the reference ---- */

static void check_backward(const asvk_conv_desc *d, uint32_t off, bool acc) {
    asvk_context *ctx = test_context();
    char desc[160];
    describe(d, off, desc, sizeof desc);
    asvk_nhwc o = asvk_conv_out(d);
    uint64_t nx = asvk_nhwc_count(d->in), ny = asvk_nhwc_count(o), nw = asvk_conv_weight_count(d);
    tensor x = {0}, w = {0}, dy = {0}, dx = {0}, dw = {0}, db = {0};
    asvk_buffer wsw = {0}, wsb = {0};
    /* off % 4 == 0: aligned activations, unaligned weights; odd: all unaligned */
    OK(t_make(&x, nx, off, -1, 1, false));
    OK(t_make(&w, nw, off ? off + 1 : 0, -1, 1, false));
    OK(t_make(&dy, ny, 2 * off, -1, 1, false));
    OK(t_make(&dx, nx, 3 * off, -1, 1, !acc));
    OK(t_make(&dw, nw, off ? off + 5 : 0, -1, 1, !acc));
    OK(t_make(&db, d->cout, off ? off + 6 : 0, -1, 1, !acc));
    uint64_t wsw_bytes = asvk_conv_backward_weight_workspace(d), wsb_bytes = asvk_conv_backward_bias_workspace(d);
    if (wsw_bytes) OK(asvk_buffer_alloc(ctx, wsw_bytes, &wsw));
    if (wsb_bytes) OK(asvk_buffer_alloc(ctx, wsb_bytes, &wsb));

    double *rdx = calloc(nx, sizeof(double)), *mdx = calloc(nx, sizeof(double));
    double *rdw = calloc(nw, sizeof(double)), *mdw = calloc(nw, sizeof(double));
    double *rdb = calloc(d->cout, sizeof(double)), *mdb = calloc(d->cout, sizeof(double));
    conv_ref_backward_data(d, t_data(&dy), t_data(&w), rdx, mdx);
    conv_ref_backward_weight(d, t_data(&x), t_data(&dy), rdw, mdw);
    conv_ref_backward_bias(d, t_data(&dy), rdb, mdb);

    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    asvk_stream_stats st0, st1;
    OK(asvk_conv_backward_data(s, d, t_view(&dy), t_view(&w), t_view(&dx), acc));
    asvk_stream_stats_get(s, &st0);
    OK(asvk_conv_backward_weight(s, d, t_view(&x), t_view(&dy), t_view(&dw), acc, wsw));
    asvk_stream_stats_get(s, &st1);
    CHECK(st0.dispatches >= 1 && st0.dispatches <= 2 && st1.dispatches - st0.dispatches <= 2,
          "%s: %u + %u dispatches", desc, st0.dispatches, st1.dispatches - st0.dispatches);
    OK(asvk_conv_backward_bias(s, d, t_view(&dy), t_view(&db), acc, wsb));
    OK(run_stream(s));
    t_check(&dx, rdx, mdx, acc, "backward data", desc);
    t_check(&dw, rdw, mdw, acc, "backward weight", desc);
    t_check(&db, rdb, mdb, acc, "backward bias", desc);

    free(rdx), free(mdx), free(rdw), free(mdw), free(rdb), free(mdb);
    if (wsw.block) asvk_buffer_free(ctx, &wsw);
    if (wsb.block) asvk_buffer_free(ctx, &wsb);
    t_free(&x), t_free(&w), t_free(&dy), t_free(&dx), t_free(&dw), t_free(&db);
}

static const struct { asvk_conv_desc d; uint32_t off; } bwd_cases[] = {
    {{{3, 16, 16, 24}, 20, 1, 1, 1, 1, 0, 0, 1}, 0},   /* pointwise: weight gradient split over 3 GEMM batches */
    {{{1, 9, 7, 5}, 6, 1, 1, 1, 1, 0, 0, 1}, 3},       /* pointwise odd channels, offsets */
    {{{1, 7, 5, 12}, 8, 1, 1, 1, 1, 0, 0, 4}, 0},      /* grouped pointwise */
    {{{3, 13, 13, 16}, 16, 3, 3, 1, 1, 1, 1, 16}, 0},  /* depthwise 3x3 s1: chunked weight gradient */
    {{{3, 13, 11, 8}, 8, 3, 3, 2, 2, 1, 1, 8}, 0},     /* depthwise 3x3 s2 */
    {{{1, 3, 17, 8}, 8, 3, 3, 1, 1, 1, 1, 8}, 0},      /* depthwise, rows of 17: 8 a step on CPU devices */
    {{{1, 3, 28, 8}, 8, 3, 3, 2, 2, 1, 1, 8}, 0},      /* depthwise 3x3 s2, input rows of 28 (7, 4 a step) */
    {{{1, 9, 9, 5}, 5, 5, 5, 2, 2, 2, 2, 5}, 1},       /* depthwise 5x5 s2 scalar channels, offsets */
    {{{1, 11, 9, 8}, 8, 7, 7, 1, 1, 3, 3, 8}, 0},      /* depthwise 7x7 */
    {{{1, 9, 10, 4}, 4, 3, 3, 3, 3, 0, 0, 4}, 0},      /* depthwise stride 3: untouched residues */
    {{{3, 13, 13, 1}, 16, 3, 3, 1, 1, 1, 1, 1}, 0},    /* stem Cin 1 */
    {{{1, 13, 11, 3}, 8, 3, 3, 2, 2, 1, 1, 1}, 5},     /* stem Cin 3 s2, offsets */
    {{{3, 9, 9, 32}, 32, 3, 3, 1, 1, 1, 1, 1}, 0},     /* full 3x3 on 32 channels */
    {{{1, 9, 13, 8}, 12, 5, 5, 2, 2, 2, 2, 1}, 0},     /* 5x5 s2 */
    {{{1, 13, 9, 4}, 8, 7, 7, 2, 2, 3, 3, 1}, 0},      /* 7x7 s2 */
    {{{3, 9, 7, 16}, 20, 1, 1, 2, 2, 0, 0, 1}, 0},     /* strided 1x1: dx zero at skipped pixels */
    {{{1, 9, 9, 8}, 12, 3, 3, 1, 1, 1, 1, 2}, 0},      /* groups 2 vec4 */
    {{{3, 7, 9, 6}, 9, 3, 3, 2, 2, 1, 1, 3}, 1},       /* groups 3, Cg 2, offsets */
    {{{1, 7, 9, 16}, 8, 3, 5, 1, 2, 2, 1, 1}, 0},      /* non-square */
    {{{1, 11, 17, 4}, 5, 9, 9, 1, 3, 1, 1, 1}, 0},     /* two windows of taps */
    {{{1, 12, 11, 5}, 5, 9, 9, 1, 1, 4, 4, 5}, 0},     /* depthwise 9x9: generic kernels, scalar channels */
    {{{2, 9, 8, 8}, 8, 3, 3, 1, 2, 3, 3, 8}, 0},       /* depthwise, padding = kernel */
    {{{1, 7, 9, 4}, 4, 1, 1, 2, 2, 0, 0, 4}, 0},       /* depthwise 1x1 s2: half the rows get no gradient */
    {{{1, 8, 8, 12}, 12, 5, 3, 2, 1, 0, 1, 12}, 4},    /* depthwise 5x3, strides (2, 1), unaligned weights */
    {{{1, 9, 8, 8}, 8, 3, 3, 1, 1, 1, 1, 8}, 4},       /* depthwise, unaligned weights */
    /* the weight gradient's blocks of output rows (conv_dw_bwd_weight_k TRW): 4x4
     * images whose blocks are whole images, chunks that end inside an image, blocks
     * cut at an image's end (OH 5, 7), strides 2 with 5x5 and 7x7 windows */
    {{{9, 4, 4, 16}, 16, 3, 3, 1, 1, 1, 1, 16}, 0},
    {{{6, 5, 6, 8}, 8, 5, 5, 1, 1, 2, 2, 8}, 0},
    {{{4, 14, 14, 8}, 8, 7, 7, 2, 2, 3, 3, 8}, 0},
    {{{5, 10, 7, 12}, 12, 3, 3, 2, 2, 1, 1, 12}, 0},
};

static void backward_vs_reference(void) {
    for (size_t i = 0; i < sizeof bwd_cases / sizeof bwd_cases[0]; i++)
        check_backward(&bwd_cases[i].d, bwd_cases[i].off, false);
    for (int r = 0; r < 4; r++) {
        asvk_conv_desc d = random_desc();
        check_backward(&d, r % 2 ? test_rand_range(1, 5) : 0, false);
    }
}

static void gpu_tuning(void) {
    /* The launchers' GPU row (smaller register blocks, one block per
     * invocation) on lavapipe: forward and backward of each kernel. */
    setenv("ASVK_CONV_TUNE", "gpu", 1);
    static const size_t fwd[] = {3, 9, 11, 18, 22};
    for (size_t i = 0; i < sizeof fwd / sizeof fwd[0]; i++)
        check_forward(&fwd_cases[fwd[i]].d, fwd_cases[fwd[i]].bias, fwd_cases[fwd[i]].off);
    static const size_t bwd[] = {3, 4, 7, 10, 14};
    for (size_t i = 0; i < sizeof bwd / sizeof bwd[0]; i++) check_backward(&bwd_cases[bwd[i]].d, bwd_cases[bwd[i]].off, i % 2);
    unsetenv("ASVK_CONV_TUNE");
    fprintf(stderr, "pipelines created so far: %u\n", asvk_context_pipeline_count(test_context()));
}

static void backward_accumulate(void) {
    /* accumulate = true adds to the contents (random here), on every path
     * and in both the one-pass and the two-pass reductions. */
    static const size_t pick[] = {0, 3, 5, 8, 15};
    for (size_t i = 0; i < sizeof pick / sizeof pick[0]; i++)
        check_backward(&bwd_cases[pick[i]].d, bwd_cases[pick[i]].off, true);
    /* one chunk: the first pass accumulates */
    asvk_conv_desc tiny = conv(1, 4, 3, 4, 8, 3, 1, 1, 1), tiny_dw = conv(1, 4, 3, 8, 8, 3, 1, 1, 8);
    check_backward(&tiny, 0, true);
    check_backward(&tiny_dw, 0, true);
    CHECK(asvk_conv_backward_weight_workspace(&tiny) == 0 && asvk_conv_backward_weight_workspace(&tiny_dw) == 0,
          "tiny shapes should reduce in one pass");
}

/* A split weight gradient summed by the last chunk to finish, recorded once
 * with accumulate and replayed: each replay must find its counters back at
 * zero and add the same sum, so three replays from zero give exactly
 * fl(fl(g + g) + g), g the gradient of one (non-accumulating) run. */
static void weight_gradient_replayed(void) {
    asvk_context *ctx = test_context();
    asvk_conv_desc ds[] = {conv(8, 14, 14, 24, 32, 1, 1, 0, 1), conv(8, 14, 14, 16, 16, 3, 1, 1, 16),
                           conv(8, 14, 14, 16, 16, 5, 2, 2, 16), conv(8, 14, 14, 8, 16, 3, 1, 1, 1)};
    /* both rows of the launchers' tuning: the CPU row caps the chunks (fewer, longer) */
    for (size_t i = 0; i < 2 * sizeof ds / sizeof ds[0]; i++) {
        const asvk_conv_desc *d = &ds[i / 2];
        setenv("ASVK_CONV_TUNE", i % 2 ? "gpu" : "cpu", 1);
        char desc[160];
        describe(d, 0, desc, sizeof desc);
        uint64_t ws = asvk_conv_backward_weight_workspace(d), nx = asvk_nhwc_count(d->in),
                 ny = asvk_nhwc_count(asvk_conv_out(d)), nw = asvk_conv_weight_count(d);
        CHECK(ws > 0, "%s: the weight gradient is not split (no workspace)", desc);
        float *x = host(nx), *dy = host(ny), *g = host(nw), *acc = host(nw), *zero = calloc(nw, sizeof *zero);
        test_fill_uniform(x, nx, -1, 1);
        test_fill_uniform(dy, ny, -1, 1);
        asvk_buffer X, DY, DW, WS;
        OK(test_upload(ctx, x, nx, &X));
        OK(test_upload(ctx, dy, ny, &DY));
        OK(test_upload(ctx, zero, nw, &DW));
        OK(asvk_buffer_alloc(ctx, ws ? ws : 16, &WS));
        for (int accumulate = 0; accumulate < 2; accumulate++) {
            asvk_stream *s;
            OK(asvk_stream_create(ctx, &s));
            OK(asvk_conv_backward_weight(s, d, X, DY, DW, accumulate, WS));
            for (int r = 0; r < (accumulate ? 3 : 1); r++) OK(asvk_stream_run(s));
            asvk_stream_destroy(s);
            OK(test_download(ctx, DW, accumulate ? acc : g, nw));
            if (!accumulate) OK(asvk_buffer_upload(ctx, DW, 0, zero, nw * 4));
        }
        int bad = 0;
        for (uint64_t j = 0; j < nw; j++) {
            float want = g[j] + g[j];
            want = want + g[j];
            if (acc[j] != want && bad++ < 3)
                CHECK(0, "%s (%s row): dw[%llu] after 3 accumulating replays %.9g, expected %.9g (one run: %.9g)", desc,
                      i % 2 ? "gpu" : "cpu",
                      (unsigned long long)j, acc[j], want, g[j]);
        }
        asvk_buffer_free(ctx, &X), asvk_buffer_free(ctx, &DY), asvk_buffer_free(ctx, &DW), asvk_buffer_free(ctx, &WS);
        free(x), free(dy), free(g), free(acc), free(zero);
    }
    unsetenv("ASVK_CONV_TUNE");
}

/* ---- backward against finite differences of the GPU forward ----
 *
 * L = sum_y y*r with random r. L is linear in each single element of x, w
 * and bias, so the central difference (L(v+h/2) - L(v-h/2))/h is exact for
 * any step in exact arithmetic; we take eps = 1/8 (rather than ~1e-2) since
 * the only error left is the fp32 rounding of the forward, divided by h. With
 * h the step actually taken (fl(v+eps) - fl(v-eps), computed exactly), the
 * rounding of each y is at most gamma_{K+1} * sum|terms| <= gamma_{K+1} * mag_y
 * (gamma_n = n*u/(1-n*u); the deterministic worst case, not a statistical
 * estimate), so |fd - dL/dv| <= 2 * sum_y |r_y| * gamma_{K+1} * mag'_y / h,
 * where mag' is computed from |x|+eps and |w|+eps so it bounds every
 * perturbed forward. L itself is summed in double (its error is ~1e-16
 * relative). The gradient from the backward kernels adds its own worst case
 * gamma_{Kg} * mag_g. For the tiny shapes here this comes to ~5e-4, about
 * 0.1-1% of a typical gradient (with eps = 1e-2 it would be ~10x looser):
 * enough to catch a wrong index, a missing tap or a wrong sign. */

static double gamma_n(double n) { return n * FP32_U / (1 - n * FP32_U); }

static void fd_case(const asvk_conv_desc *d, bool bias) {
    asvk_context *ctx = test_context();
    char desc[160];
    describe(d, 0, desc, sizeof desc);
    const float eps = 0.125f;
    asvk_nhwc o = asvk_conv_out(d);
    uint64_t nx = asvk_nhwc_count(d->in), ny = asvk_nhwc_count(o), nw = asvk_conv_weight_count(d);
    uint64_t kmax = (uint64_t)d->kh * d->kw * (d->in.c / d->groups) + 1;
    float *x = host(nx), *w = host(nw), *b = host(d->cout), *r = host(ny), *y = host(ny);
    test_fill_uniform(x, nx, -1, 1);
    test_fill_uniform(w, nw, -1, 1);
    test_fill_uniform(b, d->cout, -1, 1);
    test_fill_uniform(r, ny, -1, 1);

    /* the bound of the forward's rounding over all perturbations */
    float *ax = host(nx), *aw = host(nw), *ab = host(d->cout);
    for (uint64_t i = 0; i < nx; i++) ax[i] = fabsf(x[i]) + eps;
    for (uint64_t i = 0; i < nw; i++) aw[i] = fabsf(w[i]) + eps;
    for (uint32_t i = 0; i < d->cout; i++) ab[i] = fabsf(b[i]) + eps;
    double *yref = calloc(ny, sizeof(double)), *ymag = calloc(ny, sizeof(double));
    conv_ref_forward(d, ax, aw, bias ? ab : NULL, yref, ymag);
    double lerr = 0;
    for (uint64_t i = 0; i < ny; i++) lerr += fabs(r[i]) * gamma_n((double)kmax) * ymag[i];

    /* the gradients' own error bounds */
    double *g = calloc(nx + nw + d->cout, sizeof(double)), *gmag = calloc(nx + nw + d->cout, sizeof(double));
    conv_ref_backward_data(d, r, w, g, gmag);
    conv_ref_backward_weight(d, x, r, g + nx, gmag + nx);
    conv_ref_backward_bias(d, r, g + nx + nw, gmag + nx + nw);

    asvk_buffer X, W, B, Y, R, DX, DW, DB, WS = {0}, WSB = {0};
    OK(test_upload(ctx, x, nx, &X));
    OK(test_upload(ctx, w, nw, &W));
    OK(test_upload(ctx, b, d->cout, &B));
    OK(test_upload(ctx, r, ny, &R));
    OK(asvk_buffer_alloc(ctx, ny * 4, &Y));
    OK(asvk_buffer_alloc(ctx, nx * 4, &DX));
    OK(asvk_buffer_alloc(ctx, nw * 4, &DW));
    OK(asvk_buffer_alloc(ctx, d->cout * 4, &DB));
    if (asvk_conv_backward_weight_workspace(d)) OK(asvk_buffer_alloc(ctx, asvk_conv_backward_weight_workspace(d), &WS));
    if (asvk_conv_backward_bias_workspace(d)) OK(asvk_buffer_alloc(ctx, asvk_conv_backward_bias_workspace(d), &WSB));
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    OK(asvk_conv_backward_data(s, d, R, W, DX, false));
    OK(asvk_conv_backward_weight(s, d, X, R, DW, false, WS));
    OK(asvk_conv_backward_bias(s, d, R, DB, false, WSB));
    OK(run_stream(s));
    float *grad = host(nx + nw + d->cout);
    OK(test_download(ctx, DX, grad, nx));
    OK(test_download(ctx, DW, grad + nx, nw));
    OK(test_download(ctx, DB, grad + nx + nw, d->cout));

    /* one recorded forward, replayed for every perturbation */
    asvk_buffer none = {0};
    OK(asvk_stream_create(ctx, &s));
    OK(asvk_conv_forward(s, d, X, W, bias ? B : none, Y));
    int bad = 0;
    uint64_t total = nx + nw + (bias ? d->cout : 0);
    for (uint64_t e = 0; e < total; e++) {
        asvk_buffer buf = e < nx ? X : e < nx + nw ? W : B;
        float *src = e < nx ? x + e : e < nx + nw ? w + (e - nx) : b + (e - nx - nw);
        uint64_t at = (e < nx ? e : e < nx + nw ? e - nx : e - nx - nw) * 4;
        float v0 = *src, vp = v0 + eps, vm = v0 - eps;
        double l[2];
        for (int side = 0; side < 2; side++) {
            float v = side ? vm : vp;
            OK(asvk_buffer_upload(ctx, buf, at, &v, 4));
            OK(asvk_stream_run(s));
            OK(test_download(ctx, Y, y, ny));
            l[side] = 0;
            for (uint64_t i = 0; i < ny; i++) l[side] += (double)y[i] * r[i];
        }
        OK(asvk_buffer_upload(ctx, buf, at, &v0, 4));
        double h = (double)vp - (double)vm;
        double fd = (l[0] - l[1]) / h;
        double tol = 2 * lerr / h + gamma_n(4096) * gmag[e] + 1e-12 * fabs(l[0]);
        const char *what = e < nx ? "dx" : e < nx + nw ? "dw" : "db";
        if (!(fabs(fd - grad[e]) <= tol) && bad++ < 5)
            CHECK(0, "finite differences %s: %s[%llu] = %.7g, finite difference %.7g (tolerance %.3g)", desc, what,
                  (unsigned long long)(e < nx ? e : e < nx + nw ? e - nx : e - nx - nw), grad[e], fd, tol);
    }
    asvk_stream_destroy(s);
    asvk_buffer *bufs[] = {&X, &W, &B, &Y, &R, &DX, &DW, &DB, &WS, &WSB};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i]->block) asvk_buffer_free(ctx, bufs[i]);
    free(x), free(w), free(b), free(r), free(y), free(ax), free(aw), free(ab);
    free(yref), free(ymag), free(g), free(gmag), free(grad);
}

static void backward_finite_differences(void) {
    fd_case(&(asvk_conv_desc){{2, 5, 6, 3}, 4, 3, 3, 2, 2, 1, 1, 1}, true);  /* direct, scalar channels */
    fd_case(&(asvk_conv_desc){{1, 5, 5, 8}, 8, 3, 3, 1, 1, 1, 1, 2}, true);  /* direct, groups 2, vec4 */
    fd_case(&(asvk_conv_desc){{1, 5, 5, 4}, 4, 1, 1, 2, 2, 0, 0, 1}, false); /* strided 1x1 */
    fd_case(&(asvk_conv_desc){{2, 6, 5, 5}, 5, 3, 3, 2, 2, 1, 1, 5}, true);  /* depthwise, scalar channels */
    fd_case(&(asvk_conv_desc){{1, 5, 5, 8}, 8, 5, 5, 1, 1, 2, 2, 8}, false); /* depthwise 5x5, vec4 */
    fd_case(&(asvk_conv_desc){{2, 3, 3, 5}, 6, 1, 1, 1, 1, 0, 0, 1}, true);  /* pointwise GEMM */
}

/* ---- paths, dispatch counts, errors ---- */

static void paths_and_dispatch_counts(void) {
    /* MobileNet building blocks take the intended paths, in 1 dispatch
     * (the bias gradient: 2 with a two-pass reduction). The weight gradients
     * here are split into chunks (a workspace) and still one dispatch, the
     * last chunk to finish summing them, except the 1x1 (GEMM) one with the
     * CPU row of the tuning: a second pass sums its slices there. */
    asvk_conv_desc pw = conv(128, 14, 14, 96, 24, 1, 1, 0, 1), dw = conv(128, 14, 14, 96, 96, 3, 1, 1, 96),
                   dw2 = conv(128, 28, 28, 96, 96, 5, 2, 2, 96), stem = conv(128, 28, 28, 1, 32, 3, 1, 1, 1),
                   full = conv(8, 14, 14, 32, 64, 3, 1, 1, 1);
    CHECK(asvk_conv_path(&pw) == ASVK_CONV_PATH_GEMM, "pointwise: path %d", asvk_conv_path(&pw));
    CHECK(asvk_conv_path(&dw) == ASVK_CONV_PATH_DEPTHWISE, "depthwise: path %d", asvk_conv_path(&dw));
    CHECK(asvk_conv_path(&dw2) == ASVK_CONV_PATH_DEPTHWISE, "depthwise 5x5 s2: path %d", asvk_conv_path(&dw2));
    CHECK(asvk_conv_path(&stem) == ASVK_CONV_PATH_DIRECT, "stem: path %d", asvk_conv_path(&stem));
    CHECK(asvk_conv_path(&full) == ASVK_CONV_PATH_DIRECT, "3x3: path %d", asvk_conv_path(&full));
    asvk_nhwc o = asvk_conv_out(&dw2);
    CHECK(o.n == 128 && o.h == 14 && o.w == 14 && o.c == 96, "out %ux%ux%ux%u", o.n, o.h, o.w, o.c);

    asvk_context *ctx = test_context();
    asvk_buffer X, Y, Wt, none = {0};
    OK(asvk_buffer_alloc(ctx, 128ull * 14 * 14 * 96 * 4, &X));
    OK(asvk_buffer_alloc(ctx, 128ull * 14 * 14 * 96 * 4, &Y));
    OK(asvk_buffer_alloc(ctx, 64 * 3 * 3 * 32 * 4, &Wt));
    const asvk_conv_desc *ds[] = {&pw, &dw, &full};
    for (int i = 0; i < 6; i++) {
        setenv("ASVK_CONV_TUNE", i < 3 ? "gpu" : "cpu", 1);
        uint32_t wgrad = i == 3 ? 2 : 1;
        asvk_stream *s;
        OK(asvk_stream_create(ctx, &s));
        uint64_t ws = asvk_conv_backward_weight_workspace(ds[i % 3]), wsb = asvk_conv_backward_bias_workspace(ds[i % 3]);
        CHECK(ws > 0, "case %d: the weight gradient is not split (no workspace)", i);
        asvk_buffer W, WB;
        OK(asvk_buffer_alloc(ctx, ws ? ws : 16, &W));
        OK(asvk_buffer_alloc(ctx, wsb ? wsb : 16, &WB));
        asvk_stream_stats a, b, c, e;
        OK(asvk_conv_forward(s, ds[i % 3], X, Wt, none, Y)); /* recorded, never run */
        asvk_stream_stats_get(s, &a);
        OK(asvk_conv_backward_data(s, ds[i % 3], Y, Wt, X, true));
        asvk_stream_stats_get(s, &b);
        OK(asvk_conv_backward_weight(s, ds[i % 3], X, Y, Wt, false, W));
        asvk_stream_stats_get(s, &c);
        OK(asvk_conv_backward_bias(s, ds[i % 3], Y, Wt, false, WB));
        asvk_stream_stats_get(s, &e);
        CHECK(a.dispatches == 1 && b.dispatches - a.dispatches == 1 && c.dispatches - b.dispatches == wgrad &&
                  e.dispatches - c.dispatches <= 2,
              "case %d (%s row): dispatches %u, %u, %u, %u", i % 3, i < 3 ? "gpu" : "cpu", a.dispatches, b.dispatches - a.dispatches,
              c.dispatches - b.dispatches, e.dispatches - c.dispatches);
        asvk_stream_destroy(s);
        asvk_buffer_free(ctx, &W), asvk_buffer_free(ctx, &WB);
    }
    unsetenv("ASVK_CONV_TUNE");
    asvk_buffer_free(ctx, &X), asvk_buffer_free(ctx, &Y), asvk_buffer_free(ctx, &Wt);
}

static void bad_shapes(void) {
    const struct { asvk_conv_desc d; const char *why; } bad[] = {
        {conv(1, 2, 2, 4, 4, 5, 1, 1, 1), "larger than the padded input"},
        {conv(1, 8, 8, 6, 4, 3, 1, 1, 4), "divisible by groups"},
        {conv(1, 8, 8, 8, 6, 3, 1, 1, 4), "divisible by groups"},
        {conv(1, 8, 8, 8, 8, 3, 1, 1, 0), "divisible by groups"},
        {conv(0, 8, 8, 8, 8, 3, 1, 1, 1), "empty"},
        {conv(1, 8, 8, 8, 0, 3, 1, 1, 1), "empty"},
        {conv(1, 8, 8, 8, 8, 3, 0, 1, 1), "stride"},
        {conv(1, 8, 8, 8, 8, 0, 1, 1, 1), "kernel"},
        {conv(65536, 256, 256, 64, 8, 1, 1, 0, 1), "2^31"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        asvk_status st = asvk_conv_check(&bad[i].d);
        CHECK(st == ASVK_ERR_USAGE && strstr(asvk_error_message(), bad[i].why), "case %zu: %s: %s", i,
              asvk_status_name(st), asvk_error_message());
    }
    /* launchers refuse them too, and a missing workspace or a short buffer */
    asvk_context *ctx = test_context();
    asvk_buffer x, none = {0};
    OK(asvk_buffer_alloc(ctx, 4096 * 4, &x));
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    CHECK(asvk_conv_forward(s, &bad[0].d, x, x, none, x) == ASVK_ERR_USAGE, "bad shape recorded");
    asvk_conv_desc d = conv(2, 16, 16, 8, 8, 3, 1, 1, 8);
    CHECK(asvk_conv_backward_weight_workspace(&d) > 0, "expected a two-pass weight gradient");
    CHECK(asvk_conv_backward_weight(s, &d, x, x, x, false, none) == ASVK_ERR_INTERNAL, "missing workspace accepted");
    CHECK(asvk_conv_backward_bias(s, &d, x, x, false, none) == ASVK_ERR_INTERNAL, "missing bias workspace accepted");
    asvk_conv_desc d2 = conv(4, 16, 16, 8, 8, 3, 1, 1, 1);
    CHECK(asvk_conv_forward(s, &d2, x, x, none, x) == ASVK_ERR_INTERNAL, "short buffer accepted");
    asvk_stream_stats st;
    asvk_stream_stats_get(s, &st);
    CHECK(st.dispatches == 0, "%u dispatches recorded by refused calls", st.dispatches);
    asvk_stream_destroy(s);
    asvk_buffer_free(ctx, &x);
}

/* ---- timing (only with ASVK_CONV_BENCH=1) ---- */

typedef enum { B_FWD, B_DATA, B_WEIGHT, B_BIAS } bench_op;

static void bench_one(const char *name, const asvk_conv_desc *d, bench_op op) {
    asvk_context *ctx = test_context();
    asvk_nhwc o = asvk_conv_out(d);
    asvk_buffer x, w, y, ws, none = {0};
    uint64_t wsb = op == B_WEIGHT ? asvk_conv_backward_weight_workspace(d)
                   : op == B_BIAS ? asvk_conv_backward_bias_workspace(d) : 0;
    OK(asvk_buffer_alloc(ctx, asvk_nhwc_count(d->in) * 4, &x));
    OK(asvk_buffer_alloc(ctx, asvk_conv_weight_count(d) * 4, &w));
    OK(asvk_buffer_alloc(ctx, asvk_nhwc_count(o) * 4, &y));
    OK(asvk_buffer_alloc(ctx, wsb ? wsb : 16, &ws));
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    enum { reps = 5 };
    uint32_t ts[reps + 1];
    OK(asvk_stream_timestamp(s, &ts[0]));
    for (int i = 0; i < reps; i++) {
        switch (op) {
        case B_FWD: OK(asvk_conv_forward(s, d, x, w, none, y)); break;
        case B_DATA: OK(asvk_conv_backward_data(s, d, y, w, x, false)); break;
        case B_WEIGHT: OK(asvk_conv_backward_weight(s, d, x, y, w, false, ws)); break;
        case B_BIAS: OK(asvk_conv_backward_bias(s, d, y, w, false, ws)); break;
        }
        OK(asvk_stream_timestamp(s, &ts[i + 1]));
    }
    double best = 1e30, cpu = 1e30;
    for (int run = 0; run < 8; run++) {
        struct timespec c0, c1;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
        OK(asvk_stream_run(s));
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
        double c = ((c1.tv_sec - c0.tv_sec) * 1e9 + (c1.tv_nsec - c0.tv_nsec)) / reps;
        if (run && c < cpu) cpu = c;
        for (int i = 0; i < reps; i++) {
            double ns;
            OK(asvk_stream_elapsed_ns(s, ts[i], ts[i + 1], &ns));
            if (ns < best) best = ns;
        }
    }
    double flops = op == B_BIAS ? (double)asvk_nhwc_count(o)
                                : 2.0 * asvk_nhwc_count(o) * d->kh * d->kw * (d->in.c / d->groups);
    static const char *const opn[] = {"forward", "backward data", "backward weight", "backward bias"};
    fprintf(stderr, "bench %-28s %-16s %8.3f ms  %6.2f GFLOP/s  (cpu %8.3f ms/rep)\n", name, opn[op], best * 1e-6,
            flops / best, cpu * 1e-6);
    asvk_stream_destroy(s);
    asvk_buffer_free(ctx, &x), asvk_buffer_free(ctx, &w), asvk_buffer_free(ctx, &y), asvk_buffer_free(ctx, &ws);
}

static void bench(void) {
    const char *env = getenv("ASVK_CONV_BENCH");
    if (!env) return;
    int ops = atoi(env) > 1 ? 4 : 1; /* ASVK_CONV_BENCH=2: backward passes too */
    const char *only = getenv("ASVK_CONV_BENCH_ONLY"); /* a substring of the shape names */
    static const struct { const char *name; asvk_conv_desc d; } shapes[] = {
        {"gemm-like 1x1 512->512 N8 16x16", {{8, 16, 16, 512}, 512, 1, 1, 1, 1, 0, 0, 1}},
        {"depthwise 3x3 s1 C96 14x14", {{128, 14, 14, 96}, 96, 3, 3, 1, 1, 1, 1, 96}},
        {"pointwise 96->24 14x14", {{128, 14, 14, 96}, 24, 1, 1, 1, 1, 0, 0, 1}},
        {"stem 3x3 1->32 28x28", {{128, 28, 28, 1}, 32, 3, 3, 1, 1, 1, 1, 1}},
        {"full 3x3 32->32 14x14", {{128, 14, 14, 32}, 32, 3, 3, 1, 1, 1, 1, 1}},
        {"depthwise 3x3 s2 C144 28x28", {{128, 28, 28, 144}, 144, 3, 3, 2, 2, 1, 1, 144}},
        {"depthwise 5x5 s1 C96 14x14", {{128, 14, 14, 96}, 96, 5, 5, 1, 1, 2, 2, 96}},
        {"stem 3x3 s2 3->16 28x28", {{128, 28, 28, 3}, 16, 3, 3, 2, 2, 1, 1, 1}},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int op = 0; op < ops; op++)
            if (!only || strstr(shapes[i].name, only)) bench_one(shapes[i].name, &shapes[i].d, (bench_op)op);
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"forward_paths", forward_paths},
        {"forward_epilogue", forward_epilogue},
        {"fold_bn", fold_bn},
        {"forward_random", forward_random},
        {"backward_vs_reference", backward_vs_reference},
        {"backward_accumulate", backward_accumulate},
        {"backward_finite_differences", backward_finite_differences},
        {"gpu_tuning", gpu_tuning},
        {"paths_and_dispatch_counts", paths_and_dispatch_counts},
        {"weight_gradient_replayed", weight_gradient_replayed},
        {"bad_shapes", bad_shapes},
        {"bench", bench},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
