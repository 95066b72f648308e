/* The losses (runtime/kernels/loss.h): softmax cross-entropy with label
 * smoothing and the squared-error term, against the double-precision
 * reference (tests/ref/loss_ref.c) and central finite differences of the
 * GPU forward. */
#include <stdlib.h>
#include <string.h>

#include "runtime/kernels/loss.h"
#include "tests/harness.h"
#include "tests/ref/loss_ref.h"

static float *host(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

/* Rounding bounds, from Vulkan's precision rules: exp(x) is within
 * 3 + 2|x| ulp, log within 2^-21 absolute on [0.5, 2] and 3 ulp elsewhere,
 * division 2.5 ulp, + - * correctly rounded (an ulp is <= 2u relative).
 * Per sample (R = max_j (m - z_j), the row's range):
 *   S = sum exp(z - m):   relative (6 + 4R + K)u
 *   log S:                that, absolute, + 2^-21 + 6u log S
 *   ON (m - z_y):         3u relative;  OFF * sum (m - z): (K + 3)u relative
 *   and (1 - eps), eps/K rounded to float: u relative each.
 * All terms are >= 0 and sum to the loss, so
 *   tol_i = 2^-21 + (8 + 4R + 2K) u (1 + loss_i),
 * and 2x that as the margin. The mean adds (N + 5)u of summation/division. */
static double row_range(const float *row, uint32_t k) {
    float lo = row[0], hi = row[0];
    for (uint32_t j = 1; j < k; j++) lo = row[j] < lo ? row[j] : lo, hi = row[j] > hi ? row[j] : hi;
    return (double)hi - lo;
}

static double sample_tol(const float *row, uint32_t k, double loss) {
    return 2 * (ldexp(1, -21) + (8 + 4 * row_range(row, k) + 2.0 * k) * FP32_U * (1 + fabs(loss)));
}

typedef struct {
    uint32_t n, k;
    float eps, scale;
    float lo, hi;            /* logits uniform in [lo, hi] */
    uint32_t off;            /* element offset of every view */
    bool per_sample, accumulate;
} ce_case;

static void run_case(const ce_case *c, const float *zin, const float *labin) {
    asvk_context *ctx = test_context();
    uint32_t n = c->n, k = c->k;
    size_t nz = (size_t)n * k;
    float *z = host(nz), *lab = host(n), *dz0 = host(nz), *dz = host(nz), *out = host(n + 8);
    double *ps = calloc(n, 8), *dzr = calloc(nz, 8), mean;
    uint32_t correct;
    if (zin) memcpy(z, zin, nz * 4);
    else test_fill_uniform(z, nz, c->lo, c->hi);
    for (uint32_t i = 0; i < n; i++) lab[i] = labin ? labin[i] : (float)test_rand_range(0, k - 1);
    for (size_t i = 0; i < nz; i++) dz0[i] = c->accumulate ? test_rand_uniform(-1, 1) : NAN;
    loss_ref_ce_forward(n, k, c->eps, z, lab, ps, &mean, &correct);
    loss_ref_ce_backward(n, k, c->eps, z, lab, c->scale, dzr);

    uint32_t o = c->off;
    asvk_buffer Z, L, M, D, DZ;
    /* Z: logits at o; L: labels at o; M: [loss, correct, per-sample...] at o;
     * D: dloss at o; DZ: dlogits at o. */
    float *tmp = host(nz + o);
    memcpy(tmp + o, z, nz * 4);
    OK(test_upload(ctx, tmp, nz + o, &Z));
    memcpy(tmp + o, lab, n * 4);
    OK(test_upload(ctx, tmp, n + o, &L));
    OK(asvk_buffer_alloc(ctx, (o + n + 2) * 4, &M));
    tmp[o] = c->scale;
    OK(test_upload(ctx, tmp, o + 1, &D));
    memcpy(tmp + o, dz0, nz * 4);
    OK(test_upload(ctx, tmp, nz + o, &DZ));
    free(tmp);
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    asvk_buffer none = {0};
    OK(asvk_loss_ce_forward(s, n, k, c->eps, asvk_buffer_sub(Z, o * 4, nz * 4), asvk_buffer_sub(L, o * 4, n * 4),
                            asvk_buffer_sub(M, o * 4, 4), asvk_buffer_sub(M, (o + 1) * 4, 4),
                            c->per_sample ? asvk_buffer_sub(M, (o + 2) * 4, n * 4) : none));
    OK(asvk_loss_ce_backward(s, n, k, c->eps, asvk_buffer_sub(Z, o * 4, nz * 4), asvk_buffer_sub(L, o * 4, n * 4),
                             asvk_buffer_sub(D, o * 4, 4), asvk_buffer_sub(DZ, o * 4, nz * 4), c->accumulate));
    OK(asvk_stream_run(s));
    asvk_stream_destroy(s);
    OK(asvk_buffer_download(ctx, M, o * 4, out, (n + 2) * 4));
    OK(asvk_buffer_download(ctx, DZ, o * 4, dz, nz * 4));

    char name[128];
    snprintf(name, sizeof name, "cross-entropy N %u K %u eps %g scale %g logits [%g, %g] offset %u%s%s", n, k,
             (double)c->eps, (double)c->scale, (double)c->lo, (double)c->hi, o, c->per_sample ? " per-sample" : "",
             c->accumulate ? " accumulate" : "");
    double tol_mean = 0, abs_sum = 0;
    bool any_nan = false;
    for (uint32_t i = 0; i < n; i++) {
        double t = sample_tol(z + (size_t)i * k, k, ps[i]);
        tol_mean += t / n;
        abs_sum += fabs(ps[i]);
        any_nan |= isnan(ps[i]);
        if (c->per_sample) {
            bool same = isnan(ps[i]) ? isnan(out[2 + i]) : fabs(out[2 + i] - ps[i]) <= t;
            CHECK(same, "%s: loss of sample %u = %.9g, reference %.9g (tolerance %.3g)", name, i, out[2 + i], ps[i], t);
        }
    }
    tol_mean += (n + 5) * FP32_U * abs_sum / n;
    if (any_nan) CHECK(isnan(out[0]), "%s: a bad label did not make the mean loss NaN (%g)", name, out[0]);
    else
        CHECK(fabs(out[0] - mean) <= tol_mean, "%s: mean loss %.9g, reference %.9g (tolerance %.3g)", name, out[0],
              mean, tol_mean);
    /* top-1 hits: exact (the same comparisons of the same floats) */
    CHECK(out[1] == (float)correct, "%s: %g correct, reference %u", name, out[1], correct);

    int bad = 0;
    for (uint32_t i = 0; i < n; i++) {
        const float *row = z + (size_t)i * k;
        double R = row_range(row, k), m = row[0], S = 0;
        for (uint32_t j = 1; j < k; j++) m = row[j] > m ? row[j] : m;
        for (uint32_t j = 0; j < k; j++) S += exp(row[j] - m);
        for (uint32_t j = 0; j < k; j++) {
            size_t e = (size_t)i * k + j;
            double old = c->accumulate ? dz0[e] : 0, want = dzr[e] + old;
            double p = exp(row[j] - m) / S, f = fabs((double)c->scale) / n;
            /* g = (exp(z - m) / S - t) * scale / N: p carries (6 + 4|z - m|)u
             * from exp, (6 + 4R + K)u from S and 5u from 1/S, 2u of products;
             * the difference and the scaling by scale/N (a 2.5-ulp division)
             * add 8u|g|; the old value 4u|old|. Margin 2x. */
            double tol = 2 * (f * p * (19 + 4 * (m - row[j]) + 4 * R + k) * FP32_U + 8 * FP32_U * fabs(dzr[e]) +
                              4 * FP32_U * fabs(old)) + 1e-30;
            bool ok = isnan(want) ? isnan(dz[e]) : fabs(dz[e] - want) <= tol;
            if (!ok && bad++ < 4)
                CHECK(0, "%s: dlogits[%u][%u] = %.9g, reference %.9g (tolerance %.3g)", name, i, j, dz[e], want, tol);
        }
    }
    asvk_buffer_free(ctx, &Z), asvk_buffer_free(ctx, &L), asvk_buffer_free(ctx, &M), asvk_buffer_free(ctx, &D);
    asvk_buffer_free(ctx, &DZ);
    free(z), free(lab), free(dz0), free(dz), free(out), free(ps), free(dzr);
}

static void random_cases(void) {
    for (int r = 0; r < 14; r++) {
        ce_case c = {test_rand_range(1, 150), test_rand_range(1, 40), r % 3 ? test_rand_uniform(0, 0.3f) : 0,
                     r % 4 ? 1.0f : test_rand_uniform(0.1f, 3), -4, 4, test_rand_range(0, 7), r % 2, r % 3 == 1};
        if (r % 4 == 2) c.k = 4 * test_rand_range(1, 10), c.off = 4 * test_rand_range(0, 2); /* vec4 paths */
        run_case(&c, NULL, NULL);
    }
}

static void edge_cases(void) {
    const ce_case cases[] = {
        {1, 1, 0.1f, 1, -4, 4, 0, true, false},        /* one class: loss 0, gradient 0 */
        {1, 10, 0.1f, 1, -4, 4, 3, true, true},        /* batch 1 */
        {300, 10, 0.1f, 1, -4, 4, 0, true, false},     /* several rows per invocation of the forward */
        {3, 1000, 0.1f, 0.5f, -4, 4, 4, true, false},  /* many classes */
        {17, 12, 0.2f, 1, -80, 80, 1, true, false},    /* exp(80) overflows fp32 without the max subtraction */
        {64, 8, 1.0f, 1, -4, 4, 0, false, true},       /* eps = 1: uniform target */
        {5, 7, 0.1f, 0, -4, 4, 2, true, false},        /* scale 0 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i], NULL, NULL);
}

/* Top-1 hits with ties (the first maximal logit counts, as in the
 * reference) and a label outside [0, K): its sample's loss, the mean, and
 * its gradient row are NaN; the other rows are unaffected. */
static void ties_and_bad_labels(void) {
    const uint32_t n = 6, k = 5;
    const float z[6][5] = {{1, 3, 3, 0, 2}, {1, 3, 3, 0, 2}, {2, 2, 2, 2, 2}, {2, 2, 2, 2, 2},
                           {0.5f, -1, 4, 4, 4}, {0, 1, 2, 3, 4}};
    const float good[6] = {1, 2, 0, 4, 2, 4}; /* hits: yes, no, yes, no, yes, yes */
    ce_case c = {n, k, 0.1f, 1, 0, 0, 1, true, false};
    run_case(&c, &z[0][0], good);
    const float bad[6] = {1, 2, 5, 4, -1, 4};
    run_case(&c, &z[0][0], bad);
}

/* The step is recorded once; dloss, logits and labels change between
 * replays (as in training), and the replay must follow them. */
static void replay_reads_dloss(void) {
    asvk_context *ctx = test_context();
    const uint32_t n = 9, k = 6;
    float z[54], lab[9], g1[54], g2[54], scale = 1;
    test_fill_uniform(z, n * k, -3, 3);
    for (uint32_t i = 0; i < n; i++) lab[i] = (float)(i % k);
    asvk_buffer Z, L, D, G, M;
    OK(test_upload(ctx, z, n * k, &Z));
    OK(test_upload(ctx, lab, n, &L));
    OK(test_upload(ctx, &scale, 1, &D));
    OK(asvk_buffer_alloc(ctx, n * k * 4, &G));
    OK(asvk_buffer_alloc(ctx, 16, &M));
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    asvk_buffer none = {0};
    OK(asvk_loss_ce_forward(s, n, k, 0.1f, Z, L, asvk_buffer_sub(M, 0, 4), asvk_buffer_sub(M, 4, 4), none));
    OK(asvk_loss_ce_backward(s, n, k, 0.1f, Z, L, D, G, false));
    OK(asvk_stream_run(s));
    OK(test_download(ctx, G, g1, n * k));
    scale = -2.5f;
    OK(asvk_buffer_upload(ctx, D, 0, &scale, 4));
    OK(asvk_stream_run(s));
    OK(test_download(ctx, G, g2, n * k));
    /* Same logits, so g2 = -2.5 g1 up to the roundings of scale/N (2.5 ulp)
     * and of the final product in each run: 16u relative is ample. */
    int bad = 0;
    for (uint32_t i = 0; i < n * k; i++)
        if (!(fabs(g2[i] - -2.5 * g1[i]) <= 16 * FP32_U * fabs(2.5 * g1[i])) && bad++ < 3)
            CHECK(0, "replay with dloss -2.5: g[%u] = %.9g, want %.9g", i, g2[i], -2.5 * g1[i]);
    /* New labels and logits: the recorded forward follows them. */
    for (uint32_t i = 0; i < n; i++) lab[i] = (float)((i + 1) % k);
    test_fill_uniform(z, n * k, -3, 3);
    OK(asvk_buffer_upload(ctx, L, 0, lab, n * 4));
    OK(asvk_buffer_upload(ctx, Z, 0, z, n * k * 4));
    OK(asvk_stream_run(s));
    float m[2];
    OK(test_download(ctx, M, m, 2));
    double ps[9], mean;
    uint32_t correct;
    loss_ref_ce_forward(n, k, 0.1f, z, lab, ps, &mean, &correct);
    /* loss ~1.8 with R <= 6, K = 6: tolerance (sample_tol) ~1e-5 */
    CHECK(fabs(m[0] - mean) <= 1e-5 && m[1] == (float)correct, "replay: loss %.9g correct %g, reference %.9g %u",
          m[0], m[1], mean, correct);
    asvk_stream_destroy(s);
    asvk_buffer_free(ctx, &Z), asvk_buffer_free(ctx, &L), asvk_buffer_free(ctx, &D), asvk_buffer_free(ctx, &G);
    asvk_buffer_free(ctx, &M);
}

/* Central differences of L = dloss * loss (the GPU forward, replayed after
 * each perturbed upload) against the GPU backward.
 * Rounding: the loss of the perturbed row carries <= 2^-21 + (8+4R+2K)u
 * (1+loss) ~ 3e-6 (R <= 4, K <= 6, loss <= 3), /N in the mean; the quotient
 * with e = 1/32 turns 2 x 3e-6 into <= 1e-4. Truncation: e^2/6 * |f'''|,
 * |f'''| <= 0.1 for log-sum-exp: ~2e-5. Tolerance 2e-4, against gradients
 * of size ~1/N: a missing smoothing term (eps/K = 0.02) or a wrong 1/N shows. */
static void finite_differences(void) {
    asvk_context *ctx = test_context();
    const uint32_t shapes[][2] = {{3, 5}, {1, 6}, {2, 4}};
    const float e = 1.0f / 32;
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        uint32_t n = shapes[t][0], k = shapes[t][1];
        float eps = t == 1 ? 0 : 0.1f, scale = t == 2 ? 0.37f : 1;
        float z[32], zp[32], lab[4], g[32], m[2];
        test_fill_uniform(z, n * k, -2, 2);
        for (uint32_t i = 0; i < n; i++) lab[i] = (float)test_rand_range(0, k - 1);
        asvk_buffer Z, L, D, G, M;
        OK(test_upload(ctx, z, n * k, &Z));
        OK(test_upload(ctx, lab, n, &L));
        OK(test_upload(ctx, &scale, 1, &D));
        OK(asvk_buffer_alloc(ctx, n * k * 4, &G));
        OK(asvk_buffer_alloc(ctx, 16, &M));
        asvk_stream *s;
        OK(asvk_stream_create(ctx, &s));
        OK(asvk_loss_ce_backward(s, n, k, eps, Z, L, D, G, false));
        OK(asvk_stream_run(s));
        asvk_stream_destroy(s);
        OK(test_download(ctx, G, g, n * k));
        OK(asvk_stream_create(ctx, &s));
        asvk_buffer none = {0};
        OK(asvk_loss_ce_forward(s, n, k, eps, Z, L, asvk_buffer_sub(M, 0, 4), asvk_buffer_sub(M, 4, 4), none));
        int bad = 0;
        for (uint32_t i = 0; i < n * k; i++) {
            float v[2] = {z[i] + e, z[i] - e};
            double Lv[2];
            for (int sgn = 0; sgn < 2; sgn++) {
                memcpy(zp, z, n * k * 4);
                zp[i] = v[sgn];
                OK(asvk_buffer_upload(ctx, Z, 0, zp, n * k * 4));
                OK(asvk_stream_run(s));
                OK(test_download(ctx, M, m, 2));
                Lv[sgn] = (double)scale * m[0];
            }
            double fd = (Lv[0] - Lv[1]) / ((double)v[0] - (double)v[1]);
            if (!(fabs(fd - g[i]) <= 2e-4) && bad++ < 4)
                CHECK(0, "cross-entropy N %u K %u eps %g: dlogits[%u] = %.9g, finite difference %.9g", n, k,
                      (double)eps, i, g[i], fd);
        }
        asvk_stream_destroy(s);
        asvk_buffer_free(ctx, &Z), asvk_buffer_free(ctx, &L), asvk_buffer_free(ctx, &D), asvk_buffer_free(ctx, &G);
        asvk_buffer_free(ctx, &M);
    }
}

static void errors(void) {
    asvk_context *ctx = test_context();
    asvk_buffer b;
    OK(asvk_buffer_alloc(ctx, 64, &b));
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    CHECK(asvk_loss_ce_forward(s, 2, 2, 1.5f, b, b, b, b, b) == ASVK_ERR_USAGE, "smoothing 1.5 accepted");
    CHECK(asvk_loss_ce_forward(s, 0, 2, 0, b, b, b, b, b) == ASVK_ERR_USAGE, "N = 0 accepted");
    CHECK(asvk_loss_ce_backward(s, 4, 8, 0, b, b, b, b, false) == ASVK_ERR_INTERNAL, "undersized logits accepted");
    asvk_stream_destroy(s);
    asvk_buffer_free(ctx, &b);
}

/* ---- squared error: out = scale * sum (y - t)^2 ---- */

/* Every addend (y - t)^2 is >= 0, so a summation in which each addend goes
 * through at most D additions errs by at most D u sum d^2 (first order).
 * d = fl(y - t) and its square add 3u per addend, the scale product u.
 * D: in loss_mse_fwd 8 sequential vec4s + 2 inside each + 6 tree levels
 * = 16; beyond one chunk (n > 2048) reduce_sum adds as much with its
 * shared-memory tree, but its subgroup variant's order is the
 * implementation's (subgroupAdd over up to 64 lanes, then up to 64 subgroup
 * partials in sequence): at most 10 + 64 + 64 more. The bound is rigorous
 * to first order; 2x covers the rest. */
static double mse_tol(uint64_t n, double scale, double sumsq) {
    double depth = n <= 2048 ? 16 : 16 + 138;
    return 2 * (4 + depth) * FP32_U * fabs(scale) * sumsq;
}

/* y, t at element offsets yoff, toff (0 mod 4: the vec4 path; 1..3: scalars),
 * out and the workspace at ooff. Integer mode: y, t small integers and scale
 * a power of two, so every partial sum is an integer below 2^24 and the GPU
 * result must be exact: a dropped or doubled element shows however large n. */
typedef struct { uint64_t n; float scale; uint32_t yoff, toff, ooff; bool integer; } mse_case;

static void mse_forward_case(const mse_case *c) {
    asvk_context *ctx = test_context();
    uint64_t n = c->n;
    float *y = host(n + 4), *t = host(n + 4);
    for (uint32_t i = 0; i < c->yoff; i++) y[i] = NAN; /* what precedes the views must not be read */
    for (uint32_t i = 0; i < c->toff; i++) t[i] = NAN;
    /* integers in [-a, a] (a = 0: {0, 1}): sum d^2 <= n max(2a, 1)^2 < 2^24 */
    uint32_t a = 36 * n < (1u << 24) ? 3 : 0;
    for (uint64_t i = 0; i < n; i++) {
        if (c->integer) {
            y[c->yoff + i] = a ? (float)test_rand_range(0, 2 * a) - (float)a : (float)test_rand_range(0, 1);
            t[c->toff + i] = a ? (float)test_rand_range(0, 2 * a) - (float)a : (float)test_rand_range(0, 1);
        } else {
            y[c->yoff + i] = test_rand_uniform(-2, 2);
            t[c->toff + i] = test_rand_uniform(-1, 1);
        }
    }
    y[c->yoff + n] = t[c->toff + n] = NAN; /* nor what follows them */
    double want = loss_ref_mse_forward(n, c->scale, y + c->yoff, t + c->toff);
    double sumsq = loss_ref_mse_forward(n, 1, y + c->yoff, t + c->toff);
    uint64_t wsb = asvk_loss_mse_workspace(n);
    asvk_buffer Y, T, O, W = {0};
    OK(test_upload(ctx, y, n + c->yoff + 1, &Y));
    OK(test_upload(ctx, t, n + c->toff + 1, &T));
    OK(asvk_buffer_alloc(ctx, (c->ooff + 1) * 4, &O));
    if (wsb) OK(asvk_buffer_alloc(ctx, wsb + c->ooff * 4, &W));
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    OK(asvk_loss_mse_forward(s, n, c->scale, asvk_buffer_sub(Y, c->yoff * 4, n * 4),
                             asvk_buffer_sub(T, c->toff * 4, n * 4), asvk_buffer_sub(O, c->ooff * 4, 4),
                             wsb ? asvk_buffer_sub(W, c->ooff * 4, wsb) : W));
    asvk_stream_stats stats;
    asvk_stream_stats_get(s, &stats);
    OK(asvk_stream_run(s));
    asvk_stream_destroy(s);
    float got;
    OK(asvk_buffer_download(ctx, O, c->ooff * 4, &got, 4));
    char name[128];
    snprintf(name, sizeof name, "squared error n %llu scale %g offsets y %u t %u out %u%s", (unsigned long long)n,
             (double)c->scale, c->yoff, c->toff, c->ooff, c->integer ? " integers" : "");
    uint32_t want_dispatches = n == 0 ? 0 : n <= 2048 ? 1 : n <= 2048ull * 2048 ? 2 : 3;
    CHECK(stats.dispatches == want_dispatches, "%s: %u dispatches, expected %u", name, stats.dispatches,
          want_dispatches);
    if (c->integer) CHECK(got == want, "%s: %.9g, exactly %.9g expected", name, got, want);
    else {
        double tol = mse_tol(n, c->scale, sumsq);
        CHECK(fabs(got - want) <= tol, "%s: %.9g, reference %.9g (tolerance %.3g)", name, got, want, tol);
    }
    asvk_buffer_free(ctx, &Y), asvk_buffer_free(ctx, &T), asvk_buffer_free(ctx, &O);
    if (wsb) asvk_buffer_free(ctx, &W);
    free(y), free(t);
}

static void mse_forward(void) {
    const mse_case cases[] = {
        {0, 1, 0, 0, 0, false},            /* empty: 0 */
        {1, 1, 0, 0, 0, false},
        {1, 0.5f, 1, 2, 3, false},
        {3, -1.25f, 1, 3, 2, false},       /* a negative scale */
        {7, 1.0f / 7, 0, 0, 1, false},     /* vec4 and a scalar tail */
        {7, 2, 3, 1, 0, false},
        {2048, 0.25f, 0, 0, 0, true},      /* exactly one chunk */
        {2049, 0.25f, 2, 0, 1, true},      /* two chunks: the second pass */
        {4096 + 5, 1.0f / 4101, 0, 0, 0, false},
        {4096 + 5, 3, 1, 2, 3, false},
        {300001, 1.0f / 300001, 0, 0, 0, false},
        {300001, 1, 3, 2, 1, false},
        {300001, 0.125f, 0, 0, 0, true},
        {300001, 1.0f / 1024, 1, 3, 2, true},
        {2048 * 2048 + 3, 1.0f / 64, 0, 2, 1, true}, /* partials beyond one chunk: 3 dispatches */
        {5000, 0, 1, 1, 1, false},         /* scale 0 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) mse_forward_case(&cases[i]);
    for (int r = 0; r < 6; r++) {
        mse_case c = {test_rand_range(1, r % 2 ? 3000 : 40000), test_rand_uniform(0.01f, 2), test_rand_range(0, 3),
                      test_rand_range(0, 3), test_rand_range(0, 3), r % 3 == 2};
        if (c.integer) c.scale = 0.5f;
        mse_forward_case(&c);
    }
}

/* dy (+)= 2 scale dout (y - t) against the reference. */
static void mse_backward_case(uint64_t n, float scale, float dout, uint32_t yoff, uint32_t toff, uint32_t dyoff,
                              bool accumulate) {
    asvk_context *ctx = test_context();
    float *y = host(n + 4), *t = host(n + 4), *dy0 = host(n + 4), *dy = host(n + 4), d[4] = {NAN, NAN, NAN, NAN};
    double *want = calloc(n ? n : 1, 8);
    test_fill_uniform(y, n + 4, -2, 2);
    test_fill_uniform(t, n + 4, -1, 1);
    test_fill_uniform(dy0, n + 4, -1, 1);
    uint32_t doff = (yoff + 1) % 4;
    d[doff] = dout;
    loss_ref_mse_backward(n, scale, y + yoff, t + toff, dout, want);
    asvk_buffer Y, T, D, DY;
    OK(test_upload(ctx, y, n + 4, &Y));
    OK(test_upload(ctx, t, n + 4, &T));
    OK(test_upload(ctx, d, 4, &D));
    OK(test_upload(ctx, dy0, n + 4, &DY));
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    OK(asvk_loss_mse_backward(s, n, scale, asvk_buffer_sub(Y, yoff * 4, n * 4), asvk_buffer_sub(T, toff * 4, n * 4),
                              asvk_buffer_sub(D, doff * 4, 4), asvk_buffer_sub(DY, dyoff * 4, n * 4), accumulate));
    asvk_stream_stats stats;
    asvk_stream_stats_get(s, &stats);
    OK(asvk_stream_run(s));
    asvk_stream_destroy(s);
    OK(test_download(ctx, DY, dy, n + 4));
    char name[128];
    snprintf(name, sizeof name, "squared-error backward n %llu scale %g dout %g offsets y %u t %u dy %u%s",
             (unsigned long long)n, (double)scale, (double)dout, yoff, toff, dyoff, accumulate ? " accumulate" : "");
    CHECK(stats.dispatches == (n ? 1u : 0u), "%s: %u dispatches", name, stats.dispatches);
    int bad = 0;
    for (uint64_t i = 0; i < n + 4; i++) {
        bool inside = i >= dyoff && i < dyoff + n;
        if (!inside) {
            if (dy[i] != dy0[i] && bad++ < 4) CHECK(0, "%s: dy[%lld] outside the view was written", name, (long long)i - dyoff);
            continue;
        }
        double old = accumulate ? dy0[i] : 0, w = want[i - dyoff] + old;
        /* f = fl(fl(2 scale) dout) (2 scale is exact), fl(y - t), their
         * product: 3u of the exact term; the accumulation u of the sum. 2x
         * margin (second-order terms, a fused multiply-add). */
        double tol = 2 * (4 * FP32_U * fabs(want[i - dyoff]) + FP32_U * fabs(old));
        if (!(fabs(dy[i] - w) <= tol) && bad++ < 4)
            CHECK(0, "%s: dy[%llu] = %.9g, reference %.9g (tolerance %.3g)", name, (unsigned long long)(i - dyoff),
                  dy[i], w, tol);
    }
    asvk_buffer_free(ctx, &Y), asvk_buffer_free(ctx, &T), asvk_buffer_free(ctx, &D), asvk_buffer_free(ctx, &DY);
    free(y), free(t), free(dy0), free(dy), free(want);
}

static void mse_backward(void) {
    mse_backward_case(0, 1, 1, 0, 0, 0, false);
    mse_backward_case(1, 1, 1, 0, 0, 0, false);
    mse_backward_case(3, 0.5f, -1.75f, 1, 2, 3, true);
    mse_backward_case(7, 1.0f / 7, 2.5f, 0, 0, 0, true);   /* vec4 and a scalar tail */
    mse_backward_case(7, 3, 0.3f, 0, 0, 2, false);         /* dy unaligned: scalars */
    mse_backward_case(4096 + 5, 1.0f / 4101, -0.6f, 0, 0, 0, false);
    mse_backward_case(4096 + 5, 2, 1.5f, 3, 1, 2, true);
    mse_backward_case(300001, 1.0f / 300001, 7.0f, 0, 0, 0, true);
    mse_backward_case(300001, -0.5f, 0.25f, 2, 3, 1, false);
    for (int r = 0; r < 6; r++)
        mse_backward_case(test_rand_range(1, 5000), test_rand_uniform(-2, 2), test_rand_uniform(-3, 3),
                          r % 2 ? test_rand_range(0, 3) : 0, r % 2 ? test_rand_range(0, 3) : 0,
                          r % 2 ? test_rand_range(0, 3) : 0, r % 3 == 0);
}

/* Central differences of L = dout * out (the GPU forward, replayed after each
 * perturbed upload) against the GPU backward. out is quadratic in y, so the
 * central difference has no truncation error: it is the derivative at the
 * midpoint of the two (rounded) points, 2 scale (m - t), which differs from
 * the one at y by 2 |scale| |m - y| (an ulp of y at most). Rounding: each
 * forward errs by <= mse_tol (halved: its margin) times |dout|; the quotient
 * by the step (~2e) doubles the two errors and divides by 2e; the backward
 * adds 4u of its value. 2x margin. */
static void mse_finite_differences(void) {
    asvk_context *ctx = test_context();
    const struct { uint32_t n, off; float scale, dout; } shapes[] = {{6, 0, 0.7f, -1.3f}, {5, 3, 1, 1}, {9, 1, 0.1f, 4}};
    const float e = 0.25f;
    for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++) {
        uint32_t n = shapes[c].n, o = shapes[c].off;
        float scale = shapes[c].scale, dout = shapes[c].dout;
        float y[16] = {0}, yp[16], t[16] = {0}, g[16], m;
        test_fill_uniform(y + o, n, -1, 1);
        test_fill_uniform(t + o, n, -1, 1);
        asvk_buffer Y, T, D, G, M, none = {0};
        OK(test_upload(ctx, y, n + o, &Y));
        OK(test_upload(ctx, t, n + o, &T));
        OK(test_upload(ctx, &dout, 1, &D));
        OK(asvk_buffer_alloc(ctx, (n + o) * 4, &G));
        OK(asvk_buffer_alloc(ctx, 16, &M));
        asvk_buffer yv = asvk_buffer_sub(Y, o * 4, n * 4), tv = asvk_buffer_sub(T, o * 4, n * 4);
        asvk_stream *s;
        OK(asvk_stream_create(ctx, &s));
        OK(asvk_loss_mse_backward(s, n, scale, yv, tv, D, asvk_buffer_sub(G, o * 4, n * 4), false));
        OK(asvk_stream_run(s));
        asvk_stream_destroy(s);
        OK(asvk_buffer_download(ctx, G, o * 4, g, n * 4));
        OK(asvk_stream_create(ctx, &s));
        OK(asvk_loss_mse_forward(s, n, scale, yv, tv, asvk_buffer_sub(M, 4, 4), none));
        int bad = 0;
        for (uint32_t i = 0; i < n; i++) {
            float v[2] = {y[o + i] + e, y[o + i] - e};
            double Lv[2], tolL = 0;
            for (int sgn = 0; sgn < 2; sgn++) {
                memcpy(yp, y, sizeof yp);
                yp[o + i] = v[sgn];
                OK(asvk_buffer_upload(ctx, Y, 0, yp, (n + o) * 4));
                OK(asvk_stream_run(s));
                OK(asvk_buffer_download(ctx, M, 4, &m, 4));
                Lv[sgn] = (double)dout * m;
                double sumsq = loss_ref_mse_forward(n, 1, yp + o, t + o);
                tolL = fmax(tolL, fabs((double)dout) * mse_tol(n, scale, sumsq) / 2);
            }
            double h = (double)v[0] - v[1], fd = (Lv[0] - Lv[1]) / h;
            double mid = ((double)v[0] + v[1]) / 2;
            double tol = 2 * (2 * tolL / h + 2 * fabs((double)scale * dout) * fabs(mid - y[o + i]) +
                              4 * FP32_U * fabs(g[i]));
            if (!(fabs(fd - g[i]) <= tol) && bad++ < 4)
                CHECK(0, "squared error n %u scale %g dout %g: dy[%u] = %.9g, finite difference %.9g (tolerance %.3g)",
                      n, (double)scale, (double)dout, i, g[i], fd, tol);
        }
        asvk_stream_destroy(s);
        asvk_buffer_free(ctx, &Y), asvk_buffer_free(ctx, &T), asvk_buffer_free(ctx, &D), asvk_buffer_free(ctx, &G);
        asvk_buffer_free(ctx, &M);
    }
}

static void mse_errors(void) {
    asvk_context *ctx = test_context();
    asvk_buffer b, none = {0};
    OK(asvk_buffer_alloc(ctx, 4096 * 4, &b));
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    CHECK(asvk_loss_mse_forward(s, 1ull << 32, 1, b, b, b, b) == ASVK_ERR_LIMIT, "2^32 floats accepted");
    CHECK(asvk_loss_mse_forward(s, 4096, 1, b, b, b, none) == ASVK_ERR_INTERNAL, "a missing workspace accepted");
    CHECK(asvk_loss_mse_forward(s, 4096, 1, b, b, b, asvk_buffer_sub(b, 0, 4)) == ASVK_ERR_INTERNAL,
          "a short workspace accepted");
    CHECK(asvk_loss_mse_forward(s, 4097, 1, b, b, b, b) == ASVK_ERR_INTERNAL, "undersized y accepted");
    CHECK(asvk_loss_mse_backward(s, 100, 1, b, b, b, asvk_buffer_sub(b, 0, 396), false) == ASVK_ERR_INTERNAL,
          "undersized dy accepted");
    CHECK(asvk_loss_mse_backward(s, 100, 1, b, b, none, b, false) == ASVK_ERR_INTERNAL, "a missing dout accepted");
    CHECK(asvk_loss_mse_workspace(2048) == 0 && asvk_loss_mse_workspace(2049) >= 8, "workspace %llu, %llu",
          (unsigned long long)asvk_loss_mse_workspace(2048), (unsigned long long)asvk_loss_mse_workspace(2049));
    asvk_stream_destroy(s);
    asvk_buffer_free(ctx, &b);
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"random_cases", random_cases},
        {"edge_cases", edge_cases},
        {"ties_and_bad_labels", ties_and_bad_labels},
        {"replay_reads_dloss", replay_reads_dloss},
        {"finite_differences", finite_differences},
        {"errors", errors},
        {"mse_forward", mse_forward},
        {"mse_backward", mse_backward},
        {"mse_finite_differences", mse_finite_differences},
        {"mse_errors", mse_errors},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
