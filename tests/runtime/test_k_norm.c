/* BatchNorm kernels (runtime/kernels/norm.h) against the double reference
 * (tests/ref/norm_ref.c) and against finite differences of the GPU
 * training forward, through the batch statistics.
 *
 * Error model (as in test_k_eltwise.c): u = 2^-24; +, -, * correctly
 * rounded; exp 3 + 2|x| ULP, division 2.5 ULP, inversesqrt 2 ULP, 1 ULP <=
 * 2u. Sums of m terms: 16*u*sqrt(m)*||terms||_2, ~40x the expected error of
 * random-signed rounding (test_blas.c). The batch statistics:
 *   mean:   16u sqrt(P) sd + 4u |mean|
 *   invstd: 16u sqrt(P) + 4u |mean|/sd + 4u   relative
 * The |mean| terms are the cost of holding means in fp32 (the chunk means
 * and the mean are each rounded about once, u|mean|, and the variance sees
 * that through the chunk means' deviations); E[x^2] - E[x]^2 in fp32 would
 * be off by ~u (mean/sd)^2 relative, which bn_train_large_mean catches.
 * (Chan's formula applied chunk by chunk would round the mean once per
 * chunk, ~u |mean| sqrt(chunks): measured at 3x the error of the one-go
 * merge, still inside these bounds for <= 72 chunks.) Finite differences use the 4-point stencil of test_k_eltwise.c.
 * Set ASVK_TEST_RATIOS=1 to print the worst error/tolerance ratio of each check. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/kernels/norm.h"
#include "tests/harness.h"
#include "tests/ref/eltwise_ref.h"
#include "tests/ref/norm_ref.h"

#define U FP32_U
#define GUARD 1234.5f

/* ---- helpers (a copy of test_k_eltwise.c's) ---- */

typedef struct {
    asvk_buffer whole, view;
    size_t n;
    uint32_t off;
} dtensor;

static size_t dt_total(size_t n, uint32_t off) { return off + n + 7; }

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

#define RUN(ctx, call)                                                                            \
    do {                                                                                          \
        asvk_stream *S;                                                                           \
        OK(asvk_stream_create(ctx, &S));                                                          \
        asvk_status run_st_ = (call);                                                             \
        if (!run_st_) run_st_ = asvk_stream_run(S);                                               \
        asvk_stream_destroy(S);                                                                   \
        OK(run_st_);                                                                              \
    } while (0)

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

static const double fd_w[4] = {8, -8, -1, 1};
static const double fd_m[4] = {1, -1, 2, -2};

/* |fp32 act(z) - act(z)| for an fp32 z (test_k_eltwise.c explains the terms). */
static double act_eval_tol(asvk_act act, double z, double y) {
    switch (act) {
    case ASVK_ACT_HSWISH: return 8 * U * (fabs(y) + fabs(z) * (fabs(z) + 3) / 6);
    case ASVK_ACT_HSIGMOID: return 8 * U * (fabs(y) + (fabs(z) + 3) / 6);
    case ASVK_ACT_SWISH:
    case ASVK_ACT_SIGMOID: return (32 + 8 * fabs(z)) * U * fabs(y) + 1e-37;
    default: return 0;
    }
}

static double act_grad_tol(asvk_act act, double z, double g) {
    switch (act) {
    case ASVK_ACT_HSWISH: return 8 * U * (fabs(z) / 3 + 0.5);
    case ASVK_ACT_HSIGMOID: return 2 * U * fabs(g);
    case ASVK_ACT_SWISH:
    case ASVK_ACT_SIGMOID: return (32 + 8 * fabs(z)) * U * (fabs(g) + fabs(z) + 1);
    default: return 0;
    }
}

static double kink_distance(asvk_act act, double z) {
    double k[2], d = INFINITY;
    int nk = eltwise_ref_act_kinks(act, k);
    for (int i = 0; i < nk; i++) d = fmin(d, fabs(z - k[i]));
    return d;
}

/* ---- the tensors of one BatchNorm ---- */

typedef struct {
    asvk_nhwc sh;
    size_t n, c, pixels;
    float *x, *gamma, *beta, *rm, *rv;
    dtensor X, G, B, RM, RV, Y, SM, SI;
    asvk_buffer ws_whole, ws;
} bn_data;

/* Host data (x = center + U(-spread, spread)) and device tensors at aligned
 * (multiples of 4) or odd offsets; y, save_mean, save_invstd start as NaN. */
static asvk_status bn_setup(asvk_context *ctx, bn_data *d, asvk_nhwc sh, bool aligned, double center, double spread) {
    memset(d, 0, sizeof *d);
    d->sh = sh, d->n = asvk_nhwc_count(sh), d->c = sh.c, d->pixels = asvk_nhwc_pixels(sh);
    d->x = fbuf(d->n), d->gamma = fbuf(d->c), d->beta = fbuf(d->c), d->rm = fbuf(d->c), d->rv = fbuf(d->c);
    for (size_t i = 0; i < d->n; i++) d->x[i] = (float)(center + test_rand_uniform((float)-spread, (float)spread));
    test_fill_uniform(d->gamma, d->c, -2, 2);
    test_fill_uniform(d->beta, d->c, -2, 2);
    test_fill_uniform(d->rm, d->c, -1, 1);
    test_fill_uniform(d->rv, d->c, 0.25f, 2);
    uint32_t o[8];
    for (int i = 0; i < 8; i++) o[i] = aligned ? 4 * (uint32_t)(i % 3) : test_rand_range(0, 5);
    asvk_status st;
    if ((st = dt_new(ctx, &d->X, d->x, d->n, o[0])) || (st = dt_new(ctx, &d->G, d->gamma, d->c, o[1])) ||
        (st = dt_new(ctx, &d->B, d->beta, d->c, o[2])) || (st = dt_new(ctx, &d->RM, d->rm, d->c, o[3])) ||
        (st = dt_new(ctx, &d->RV, d->rv, d->c, o[4])) || (st = dt_new(ctx, &d->Y, NULL, d->n, o[5])) ||
        (st = dt_new(ctx, &d->SM, NULL, d->c, o[6])) || (st = dt_new(ctx, &d->SI, NULL, d->c, o[7])))
        return st;
    /* the workspace as a view at an odd float offset: the launchers align it */
    uint64_t wsb = asvk_bn_workspace(sh);
    uint32_t wo = aligned ? 0 : 4 * test_rand_range(0, 3);
    if ((st = asvk_buffer_alloc(ctx, wsb + wo, &d->ws_whole))) return st;
    d->ws = asvk_buffer_sub(d->ws_whole, wo, wsb);
    return ASVK_OK;
}

static void bn_teardown(asvk_context *ctx, bn_data *d) {
    dt_free(ctx, &d->X), dt_free(ctx, &d->G), dt_free(ctx, &d->B), dt_free(ctx, &d->RM), dt_free(ctx, &d->RV);
    dt_free(ctx, &d->Y), dt_free(ctx, &d->SM), dt_free(ctx, &d->SI);
    asvk_buffer_free(ctx, &d->ws_whole);
    free(d->x), free(d->gamma), free(d->beta), free(d->rm), free(d->rv);
}

static asvk_status bn_train(asvk_stream *s, bn_data *d, const asvk_bn_desc *desc) {
    return asvk_bn_forward_train(s, desc, d->X.view, d->G.view, d->B.view, d->RM.view, d->RV.view, d->Y.view,
                                 d->SM.view, d->SI.view, d->ws);
}

/* Error bounds of the batch statistics (top of the file). */
static double mean_tol(size_t pixels, double mean, double sd) {
    return 16 * U * sqrt((double)pixels) * sd + 4 * U * fabs(mean);
}
static double invstd_rel_tol(size_t pixels, double mean, double sd) {
    return 16 * U * sqrt((double)pixels) + 4 * U * fabs(mean) / sd + 4 * U;
}

/* Error bound of the training forward's y at element i of channel c. */
static double train_y_tol(const bn_data *d, asvk_act act, size_t i, const double *mean, const double *var,
                          const double *invstd) {
    size_t c = i % d->c;
    double sd = sqrt(var[c]), g = d->gamma[c], xhat = (d->x[i] - mean[c]) * invstd[c];
    double z = g * xhat + d->beta[c];
    /* the mean's error through gamma*invstd, invstd's relative error on gamma*xhat,
     * and the four roundings of (x - mean)*a + beta */
    double tz = fabs(g) * invstd[c] * mean_tol(d->pixels, mean[c], sd) +
                fabs(g * xhat) * invstd_rel_tol(d->pixels, mean[c], sd) +
                4 * U * (fabs(g * xhat) + fabs(z) + fabs(d->beta[c]));
    return eltwise_ref_act_lipschitz(act) * tz + act_eval_tol(act, z, eltwise_ref_act(act, z)) + 1e-30;
}

/* ---- training forward ---- */

static void train_forward_case(asvk_nhwc sh, asvk_act act, bool aligned, double center, double spread) {
    asvk_context *ctx = test_context();
    bn_data d;
    OK(bn_setup(ctx, &d, sh, aligned, center, spread));
    asvk_bn_desc desc = {sh, act, test_rand_range(0, 1) ? 1e-5f : 1e-3f, test_rand_uniform(0, 1)};
    RUN(ctx, bn_train(S, &d, &desc));
    size_t n = d.n, c = d.c;
    float *y = fbuf(n), *sm = fbuf(c), *si = fbuf(c), *rm = fbuf(c), *rv = fbuf(c);
    double *ry = dbuf(n), *tol = dbuf(n), *mean = dbuf(c), *var = dbuf(c), *invstd = dbuf(c), *rrm = dbuf(c),
           *rrv = dbuf(c);
    OK(dt_get(ctx, &d.Y, y, "bn y"));
    OK(dt_get(ctx, &d.SM, sm, "bn save_mean"));
    OK(dt_get(ctx, &d.SI, si, "bn save_invstd"));
    OK(dt_get(ctx, &d.RM, rm, "bn running_mean"));
    OK(dt_get(ctx, &d.RV, rv, "bn running_var"));
    norm_ref_bn_forward_train(sh, act, desc.eps, desc.momentum, d.x, d.gamma, d.beta, d.rm, d.rv, ry, NULL, NULL,
                              rrm, rrv);
    norm_ref_bn_stats(sh, d.x, desc.eps, mean, var, invstd);
    char what[160];
    snprintf(what, sizeof what, "bn train %s %ux%ux%ux%u mean %g%s", act_name(act), sh.n, sh.h, sh.w, sh.c, center,
             aligned ? " aligned" : "");
    for (size_t i = 0; i < n; i++) tol[i] = train_y_tol(&d, act, i, mean, var, invstd);
    char w2[200];
    snprintf(w2, sizeof w2, "%s: y", what);
    expect_close(w2, y, ry, tol, n);
    for (size_t i = 0; i < c; i++) tol[i] = mean_tol(d.pixels, mean[i], sqrt(var[i])) + 1e-30;
    snprintf(w2, sizeof w2, "%s: save_mean", what);
    expect_close(w2, sm, mean, tol, c);
    for (size_t i = 0; i < c; i++) tol[i] = invstd[i] * invstd_rel_tol(d.pixels, mean[i], sqrt(var[i]));
    snprintf(w2, sizeof w2, "%s: save_invstd", what);
    expect_close(w2, si, invstd, tol, c);
    /* running statistics, PyTorch's convention: momentum times the batch
     * statistic's error (the unbiased variance has twice invstd's relative
     * error) plus three roundings of (1-m)*r + m*s */
    double m = desc.momentum;
    for (size_t i = 0; i < c; i++)
        tol[i] = m * mean_tol(d.pixels, mean[i], sqrt(var[i])) + 3 * U * (fabs((1 - m) * d.rm[i]) + fabs(m * mean[i])) +
                 1e-30;
    snprintf(w2, sizeof w2, "%s: running_mean (momentum %.3f)", what, m);
    expect_close(w2, rm, rrm, tol, c);
    for (size_t i = 0; i < c; i++) {
        double vu = var[i] * d.pixels / (d.pixels - 1);
        tol[i] = m * vu * 2 * invstd_rel_tol(d.pixels, mean[i], sqrt(var[i])) +
                 3 * U * (fabs((1 - m) * d.rv[i]) + m * vu) + 1e-30;
    }
    snprintf(w2, sizeof w2, "%s: running_var (unbiased)", what);
    expect_close(w2, rv, rrv, tol, c);
    bn_teardown(ctx, &d);
    free(y), free(sm), free(si), free(rm), free(rv);
    free(ry), free(tol), free(mean), free(var), free(invstd), free(rrm), free(rrv);
}

static const asvk_nhwc train_shapes[] = {
    {1, 3, 5, 7},   {2, 4, 4, 8},  {3, 5, 3, 5}, {1, 1, 2, 1},   {2, 7, 9, 3},   {1, 17, 19, 4},
    {4, 24, 24, 16}, {5, 1, 1, 6}, {2, 70, 70, 3}, {1, 2, 3, 12}, {3, 3, 3, 1}, {2, 9, 5, 20},
};
#define NSHAPES (sizeof train_shapes / sizeof train_shapes[0])

static void bn_train_forward_reference(void) {
    /* every activation (12 shapes: batch 1, channels 1..20 and
     * not multiples of 4, one pixel per image, up to 256 reduction chunks);
     * aligned views on every third shape */
    for (size_t t = 0; t < NSHAPES; t++)
        train_forward_case(train_shapes[t], (asvk_act)(t % 7), t % 3 == 1, test_rand_uniform(-1, 1), 2);
}

static void bn_train_large_mean(void) {
    /* |mean|/sd ~ 1700, 26000 and 870 (over 72 chunks): fp32 E[x^2] - E[x]^2
     * would be off by ~20%, entirely, and ~5% */
    asvk_nhwc a = {2, 20, 20, 5}, b = {1, 33, 31, 4}, c = {4, 24, 24, 16};
    train_forward_case(a, ASVK_ACT_NONE, false, 1000, 1);
    train_forward_case(b, ASVK_ACT_RELU, true, -3000, 0.2);
    train_forward_case(c, ASVK_ACT_HSWISH, false, 500, 1);
}

/* ---- inference ---- */

static void bn_infer_forward_reference(void) {
    asvk_context *ctx = test_context();
    const asvk_nhwc shapes[] = {{1, 3, 5, 7}, {2, 4, 4, 8},  {1, 1, 1, 3}, {3, 5, 7, 12},
                                {2, 3, 3, 5}, {4, 6, 6, 16}, {1, 5, 2, 9}};
    for (int a = 0; a <= ASVK_ACT_HSIGMOID; a++) {
        asvk_nhwc sh = shapes[a];
        bn_data d;
        OK(bn_setup(ctx, &d, sh, a % 2 == 1, 0, 3));
        asvk_bn_desc desc = {sh, (asvk_act)a, 1e-5f, 0.1f};
        RUN(ctx, asvk_bn_forward_infer(S, &desc, d.X.view, d.G.view, d.B.view, d.RM.view, d.RV.view, d.Y.view));
        float *y = fbuf(d.n);
        double *ry = dbuf(d.n), *tol = dbuf(d.n);
        OK(dt_get(ctx, &d.Y, y, "bn infer y"));
        norm_ref_bn_forward_infer(sh, desc.act, desc.eps, d.x, d.gamma, d.beta, d.rm, d.rv, ry);
        for (size_t i = 0; i < d.n; i++) {
            size_t c = i % d.c;
            double a_ = d.gamma[c] / sqrt(d.rv[c] + desc.eps), xa = (d.x[i] - d.rm[c]) * a_, z = xa + d.beta[c];
            /* a = gamma*inversesqrt(var + eps): 6u; (x - mean)*a: 2u more; + beta: u|z|; x2 */
            double tz = 16 * U * fabs(xa) + 2 * U * fabs(z);
            tol[i] = eltwise_ref_act_lipschitz(desc.act) * tz + act_eval_tol(desc.act, z, ry[i]) + 1e-30;
        }
        char what[96];
        snprintf(what, sizeof what, "bn infer %s %ux%ux%ux%u", act_name(desc.act), sh.n, sh.h, sh.w, sh.c);
        expect_close(what, y, ry, tol, d.n);
        /* inference never touches the running statistics */
        float *rm = fbuf(d.c);
        OK(dt_get(ctx, &d.RM, rm, "bn infer running_mean"));
        CHECK(memcmp(rm, d.rm, d.c * sizeof *rm) == 0, "inference changed running_mean");
        free(rm);
        bn_teardown(ctx, &d);
        free(y), free(ry), free(tol);
    }
}

/* ---- backward ---- */

/* mode: bit 0 accumulate dx, bit 1 accumulate dgamma, bit 2 accumulate dbeta, bit 3 no dx */
static void backward_case(asvk_nhwc sh, asvk_act act, bool aligned, int mode) {
    asvk_context *ctx = test_context();
    bn_data d;
    OK(bn_setup(ctx, &d, sh, aligned, 0, 2));
    asvk_bn_desc desc = {sh, act, 1e-5f, 0.1f};
    RUN(ctx, bn_train(S, &d, &desc));
    size_t n = d.n, c = d.c, P = d.pixels;
    float *sm = fbuf(c), *si = fbuf(c), *dy = fbuf(n), *dx0 = fbuf(n), *dg0 = fbuf(c), *db0 = fbuf(c);
    float *dx = fbuf(n), *dg = fbuf(c), *db = fbuf(c);
    double *rdx = dbuf(n), *rdg = dbuf(c), *rdb = dbuf(c), *want = dbuf(n), *tol = dbuf(n);
    OK(dt_get(ctx, &d.SM, sm, "bn save_mean"));
    OK(dt_get(ctx, &d.SI, si, "bn save_invstd"));
    test_fill_uniform(dy, n, -1, 1);
    test_fill_uniform(dx0, n, -1, 1);
    test_fill_uniform(dg0, c, -1, 1);
    test_fill_uniform(db0, c, -1, 1);
    /* Where z lies within 1e-3 of a kink of act', fp32 and double may pick
     * different sides (z's error is ~1e-6): dy = 0 there removes the choice. */
    for (size_t i = 0; i < n; i++) {
        size_t ch = i % c;
        double z = (d.x[i] - (double)sm[ch]) * ((double)d.gamma[ch] * si[ch]) + d.beta[ch];
        if (kink_distance(act, z) < 1e-3) dy[i] = 0;
    }
    bool acc_dx = mode & 1, acc_g = mode & 2, acc_b = mode & 4, no_dx = mode & 8;
    dtensor DY, DX, DG, DB;
    OK(dt_new(ctx, &DY, dy, n, aligned ? 8 : test_rand_range(0, 5)));
    OK(dt_new(ctx, &DX, acc_dx ? dx0 : NULL, n, aligned ? 4 : test_rand_range(0, 5)));
    OK(dt_new(ctx, &DG, acc_g ? dg0 : NULL, c, aligned ? 0 : test_rand_range(0, 5)));
    OK(dt_new(ctx, &DB, acc_b ? db0 : NULL, c, aligned ? 4 : test_rand_range(0, 5)));
    asvk_bn_grads g = {no_dx ? (asvk_buffer){0} : DX.view, acc_dx, DG.view, acc_g, DB.view, acc_b};
    RUN(ctx, asvk_bn_backward(S, &desc, d.X.view, DY.view, d.G.view, d.B.view, d.SM.view, d.SI.view, &g, d.ws));
    OK(dt_get(ctx, &DX, dx, "bn dx"));
    OK(dt_get(ctx, &DG, dg, "bn dgamma"));
    OK(dt_get(ctx, &DB, db, "bn dbeta"));
    norm_ref_bn_backward(sh, act, d.x, dy, d.gamma, d.beta, sm, si, rdx, rdg, rdb);

    /* Bounds, per channel: g's error from z's roundings (through act'') and
     * from evaluating act'; the sums' 16u sqrt(P) ||terms||; then dx. */
    double curv = eltwise_ref_act_curvature(act);
    double *sg_err = dbuf(c), *sgx_err = dbuf(c), *dg_p = dbuf(n), *gg = dbuf(n), *xh = dbuf(n);
    for (size_t ch = 0; ch < c; ch++) {
        double a = (double)d.gamma[ch] * si[ch], sq = 0, sqx = 0, eg = 0, egx = 0;
        for (size_t p = 0; p < P; p++) {
            size_t i = p * c + ch;
            double xc = d.x[i] - (double)sm[ch], z = xc * a + d.beta[ch], gp = eltwise_ref_act_grad(act, z);
            xh[i] = xc * si[ch];
            gg[i] = dy[i] * gp;
            double dz = 4 * U * (fabs(xc * a) + fabs(d.beta[ch]) + fabs(z));
            dg_p[i] = fabs(dy[i]) * (curv * dz + act_grad_tol(act, z, gp)) + U * fabs(gg[i]);
            sq += gg[i] * gg[i], sqx += gg[i] * xh[i] * gg[i] * xh[i];
            eg += dg_p[i], egx += dg_p[i] * fabs(xh[i]) + fabs(gg[i] * xh[i]) * 3 * U;
        }
        sg_err[ch] = 16 * U * sqrt((double)P) * sqrt(sq) + eg;
        sgx_err[ch] = 16 * U * sqrt((double)P) * sqrt(sqx) + egx;
    }
    char what[160];
    snprintf(what, sizeof what, "bn backward %s %ux%ux%ux%u mode %d", act_name(act), sh.n, sh.h, sh.w, sh.c, mode);
    char w2[200];
    if (!no_dx) {
        for (size_t i = 0; i < n; i++) {
            size_t ch = i % c;
            double a = (double)d.gamma[ch] * si[ch], mg = rdb[ch] / P, mgx = rdg[ch] / P;
            want[i] = rdx[i] + (acc_dx ? dx0[i] : 0);
            tol[i] = fabs(a) * (dg_p[i] + sg_err[ch] / P + fabs(xh[i]) * sgx_err[ch] / P + 3 * U * fabs(xh[i] * mgx) +
                                4 * U * (fabs(gg[i]) + fabs(mg) + fabs(xh[i] * mgx))) +
                     2 * U * fabs(rdx[i]) + (acc_dx ? U * fabs(want[i]) : 0) + 1e-30;
        }
        snprintf(w2, sizeof w2, "%s: dx%s", what, acc_dx ? " accumulate" : "");
        expect_close(w2, dx, want, tol, n);
    } else {
        int bad = 0;
        for (size_t i = 0; i < n; i++)
            if ((acc_dx ? dx[i] != dx0[i] : !isnan(dx[i])) && bad++ < 1)
                CHECK(0, "%s: dx written though not wanted", what);
    }
    for (size_t ch = 0; ch < c; ch++) {
        want[ch] = rdg[ch] + (acc_g ? dg0[ch] : 0);
        tol[ch] = sgx_err[ch] + (acc_g ? U * fabs(want[ch]) : 0) + 1e-30;
    }
    snprintf(w2, sizeof w2, "%s: dgamma%s", what, acc_g ? " accumulate" : "");
    expect_close(w2, dg, want, tol, c);
    for (size_t ch = 0; ch < c; ch++) {
        want[ch] = rdb[ch] + (acc_b ? db0[ch] : 0);
        tol[ch] = sg_err[ch] + (acc_b ? U * fabs(want[ch]) : 0) + 1e-30;
    }
    snprintf(w2, sizeof w2, "%s: dbeta%s", what, acc_b ? " accumulate" : "");
    expect_close(w2, db, want, tol, c);

    dt_free(ctx, &DY), dt_free(ctx, &DX), dt_free(ctx, &DG), dt_free(ctx, &DB);
    bn_teardown(ctx, &d);
    free(sm), free(si), free(dy), free(dx0), free(dg0), free(db0), free(dx), free(dg), free(db);
    free(rdx), free(rdg), free(rdb), free(want), free(tol), free(sg_err), free(sgx_err), free(dg_p), free(gg), free(xh);
}

static void bn_backward_reference(void) {
    for (size_t t = 0; t < NSHAPES; t++)
        backward_case(train_shapes[t], (asvk_act)((t + 3) % 7), t % 3 == 0, (int)(t % 9 == 8 ? 8 : t % 8));
}

/* ---- finite differences through the batch statistics ---- */

static void fd_case(asvk_nhwc sh, asvk_act act) {
    asvk_context *ctx = test_context();
    const double h = 1.0 / 64; /* x, gamma, beta on grids of 2^-22 or finer, |v| < 4: v +- 2h exact */
    bn_data d;
    OK(bn_setup(ctx, &d, sh, false, 0, 2));
    size_t n = d.n, c = d.c, P = d.pixels;
    /* gamma of either sign with 0.5 <= |gamma| <= 2.5; per channel sd >= 0.5;
     * every z at least 0.3 from a kink (a step moves z by < 0.15): redraw beta */
    double *mean = dbuf(c), *var = dbuf(c), *invstd = dbuf(c);
    for (size_t ch = 0; ch < c; ch++) {
        d.gamma[ch] = (test_rand_range(0, 1) ? 1 : -1) * test_rand_uniform(0.5f, 2.5f);
        for (int tries = 0;; tries++) {
            norm_ref_bn_stats(sh, d.x, 1e-5, mean, var, invstd);
            bool ok = var[ch] >= 0.25;
            for (size_t p = 0; ok && p < P; p++) {
                double z = d.gamma[ch] * (d.x[p * c + ch] - mean[ch]) * invstd[ch] + d.beta[ch];
                ok = kink_distance(act, z) >= 0.3;
            }
            if (ok) break;
            CHECK(tries < 10000, "no kink-free data found");
            if (tries >= 10000) return;
            d.beta[ch] = test_rand_uniform(-3, 3);
            if (var[ch] < 0.25)
                for (size_t p = 0; p < P; p++) d.x[p * c + ch] = test_rand_uniform(-2, 2);
        }
    }
    OK(dt_set(ctx, &d.X, d.x));
    OK(dt_set(ctx, &d.G, d.gamma));
    OK(dt_set(ctx, &d.B, d.beta));
    norm_ref_bn_stats(sh, d.x, 1e-5, mean, var, invstd);
    float *r = fbuf(n), *pert = fbuf(n), *y = fbuf(n), *dx = fbuf(n), *dg = fbuf(c), *db = fbuf(c);
    double *fdx = dbuf(n), *tdx = dbuf(n), *fdg = dbuf(c), *tdg = dbuf(c), *fdb = dbuf(c), *tdb = dbuf(c),
           *ec = dbuf(c), *L = dbuf(4 * c);
    test_fill_uniform(r, n, -1, 1);
    asvk_bn_desc desc = {sh, act, 1e-5f, 0.1f};
    /* the GPU backward at the unperturbed point (dy = r) */
    dtensor R, DX, DG, DB;
    OK(dt_new(ctx, &R, r, n, 1));
    OK(dt_new(ctx, &DX, NULL, n, 2));
    OK(dt_new(ctx, &DG, NULL, c, 3));
    OK(dt_new(ctx, &DB, NULL, c, 0));
    asvk_bn_grads g = {DX.view, false, DG.view, false, DB.view, false};
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    OK(bn_train(s, &d, &desc));
    OK(asvk_bn_backward(s, &desc, d.X.view, R.view, d.G.view, d.B.view, d.SM.view, d.SI.view, &g, d.ws));
    OK(asvk_stream_run(s));
    asvk_stream_destroy(s);
    OK(dt_get(ctx, &DX, dx, "bn fd dx"));
    OK(dt_get(ctx, &DG, dg, "bn fd dgamma"));
    OK(dt_get(ctx, &DB, db, "bn fd dbeta"));
    /* e_c: the error of L_c = sum_p y r over channel c, from y's bound */
    for (size_t i = 0; i < n; i++) ec[i % c] += fabs(r[i]) * train_y_tol(&d, act, i, mean, var, invstd);

    /* The forward recorded once and replayed for every perturbation. A
     * perturbation of channel c moves only channel c's outputs, so one run
     * perturbs every channel and L is summed per channel. */
    OK(asvk_stream_create(ctx, &s));
    OK(bn_train(s, &d, &desc));
    for (size_t target = 0; target < P + 2; target++) { /* pixels, then gamma, then beta */
        for (int k = 0; k < 4; k++) {
            if (target < P) {
                memcpy(pert, d.x, n * sizeof *pert);
                for (size_t ch = 0; ch < c; ch++) pert[target * c + ch] = (float)(d.x[target * c + ch] + fd_m[k] * h);
                OK(dt_set(ctx, &d.X, pert));
            } else {
                const float *src = target == P ? d.gamma : d.beta;
                for (size_t ch = 0; ch < c; ch++) pert[ch] = (float)(src[ch] + fd_m[k] * h);
                OK(dt_set(ctx, target == P ? &d.G : &d.B, pert));
            }
            OK(asvk_stream_run(s));
            OK(dt_get(ctx, &d.Y, y, "bn fd y"));
            for (size_t ch = 0; ch < c; ch++) L[k * c + ch] = 0;
            for (size_t i = 0; i < n; i++) L[k * c + i % c] += (double)y[i] * r[i];
        }
        if (target < P) OK(dt_set(ctx, &d.X, d.x));
        else OK(dt_set(ctx, target == P ? &d.G : &d.B, target == P ? d.gamma : d.beta));
        for (size_t ch = 0; ch < c; ch++) {
            double v = 0;
            for (int k = 0; k < 4; k++) v += fd_w[k] * L[k * c + ch];
            v /= 12 * h;
            /* stencil rounding 1.5 e/h; truncation h^4 |f5| / 30 with |f5| of a
             * few hundred here (sd >= 0.5, |gamma| <= 2.5, P >= 8): < 1e-6; the
             * backward's own error is far below both */
            double t = 1.5 * ec[ch] / h + 1e-6 + 1e-6 * fabs(v);
            if (target < P) fdx[target * c + ch] = v, tdx[target * c + ch] = t;
            else if (target == P) fdg[ch] = v, tdg[ch] = t;
            else fdb[ch] = v, tdb[ch] = t;
        }
    }
    asvk_stream_destroy(s);
    char what[128];
    snprintf(what, sizeof what, "bn %s %ux%ux%ux%u vs finite differences", act_name(act), sh.n, sh.h, sh.w, sh.c);
    char w2[160];
    snprintf(w2, sizeof w2, "%s: dx", what);
    expect_close(w2, dx, fdx, tdx, n);
    snprintf(w2, sizeof w2, "%s: dgamma", what);
    expect_close(w2, dg, fdg, tdg, c);
    snprintf(w2, sizeof w2, "%s: dbeta", what);
    expect_close(w2, db, fdb, tdb, c);
    dt_free(ctx, &R), dt_free(ctx, &DX), dt_free(ctx, &DG), dt_free(ctx, &DB);
    bn_teardown(ctx, &d);
    free(mean), free(var), free(invstd), free(r), free(pert), free(y), free(dx), free(dg), free(db);
    free(fdx), free(tdx), free(fdg), free(tdg), free(fdb), free(tdb), free(ec), free(L);
}

static void bn_backward_finite_differences(void) {
    const asvk_nhwc shapes[] = {{2, 2, 3, 3}, {1, 3, 3, 5}, {3, 1, 4, 2}};
    for (int a = 0; a <= ASVK_ACT_HSIGMOID; a++) fd_case(shapes[a % 3], (asvk_act)a);
}

/* ---- determinism, replay, errors ---- */

static void bn_determinism_and_errors(void) {
    asvk_context *ctx = test_context();
    asvk_nhwc sh = {4, 30, 30, 9};
    bn_data d;
    OK(bn_setup(ctx, &d, sh, false, 0.5, 2));
    asvk_bn_desc desc = {sh, ASVK_ACT_SWISH, 1e-5f, 0.1f};
    size_t n = d.n;
    float *dy = fbuf(n), *out[2][2];
    test_fill_uniform(dy, n, -1, 1);
    dtensor DY, DX, DG, DB;
    OK(dt_new(ctx, &DY, dy, n, 0));
    OK(dt_new(ctx, &DX, NULL, n, 1));
    OK(dt_new(ctx, &DG, NULL, d.c, 1));
    OK(dt_new(ctx, &DB, NULL, d.c, 1));
    asvk_bn_grads g = {DX.view, false, DG.view, false, DB.view, false};
    /* a recorded step (forward + backward) replayed: bit-identical results */
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    OK(bn_train(s, &d, &desc));
    OK(asvk_bn_backward(s, &desc, d.X.view, DY.view, d.G.view, d.B.view, d.SM.view, d.SI.view, &g, d.ws));
    asvk_stream_stats stats;
    asvk_stream_stats_get(s, &stats);
    CHECK(stats.dispatches == 4, "training forward + backward recorded %u dispatches, expected 2 + 2",
          stats.dispatches);
    for (int r = 0; r < 2; r++) {
        OK(asvk_stream_run(s));
        out[r][0] = fbuf(n), out[r][1] = fbuf(n);
        OK(dt_get(ctx, &d.Y, out[r][0], "bn replay y"));
        OK(dt_get(ctx, &DX, out[r][1], "bn replay dx"));
    }
    asvk_stream_destroy(s);
    CHECK(memcmp(out[0][0], out[1][0], n * 4) == 0, "two runs of the training forward differ");
    CHECK(memcmp(out[0][1], out[1][1], n * 4) == 0, "two runs of the backward differ");
    for (int r = 0; r < 2; r++) free(out[r][0]), free(out[r][1]);

    OK(asvk_stream_create(ctx, &s));
    /* one value per channel: refused in training (as PyTorch does), fine in inference */
    asvk_bn_desc one = {{1, 1, 1, 9}, ASVK_ACT_NONE, 1e-5f, 0.1f};
    CHECK(asvk_bn_forward_train(s, &one, d.X.view, d.G.view, d.B.view, d.RM.view, d.RV.view, d.Y.view, d.SM.view,
                                d.SI.view, d.ws) == ASVK_ERR_USAGE, "training on one value per channel accepted");
    CHECK(asvk_bn_forward_infer(s, &one, d.X.view, d.G.view, d.B.view, d.RM.view, d.RV.view, d.Y.view) == ASVK_OK,
          "inference on one value per channel refused: %s", asvk_error_message());
    /* a workspace too small, a missing one, a buffer too small */
    asvk_buffer small = asvk_buffer_sub(d.ws, 0, asvk_bn_workspace(sh) - 4), none = {0};
    CHECK(asvk_bn_forward_train(s, &desc, d.X.view, d.G.view, d.B.view, d.RM.view, d.RV.view, d.Y.view, d.SM.view,
                                d.SI.view, small) == ASVK_ERR_INTERNAL, "a small workspace accepted");
    CHECK(asvk_bn_backward(s, &desc, d.X.view, DY.view, d.G.view, d.B.view, d.SM.view, d.SI.view, &g, none) ==
              ASVK_ERR_INTERNAL, "a missing workspace accepted");
    CHECK(asvk_bn_forward_infer(s, &desc, d.X.view, d.G.view, d.B.view, d.RM.view, asvk_buffer_sub(d.RV.view, 0, 8),
                                d.Y.view) == ASVK_ERR_INTERNAL, "a short running_var accepted");
    OK(asvk_stream_run(s));
    asvk_stream_destroy(s);
    dt_free(ctx, &DY), dt_free(ctx, &DX), dt_free(ctx, &DG), dt_free(ctx, &DB);
    bn_teardown(ctx, &d);
    free(dy);
}

/* The one-pass reductions' arrival counters (asvk_stream_counter): a
 * stream of 300 statistics passes and 300 backward-sum passes, more than
 * the stream's 256 counter slots, replayed. Every pass must merge: each
 * statistics pass moves the running mean by the momentum (0.001: a pass
 * that skipped its merge shows), so after 600 the running mean is
 * (1-m)^600 rm0 + (1 - (1-m)^600) mean; each backward pass adds its sums
 * to dgamma and dbeta, which end at 600 times one pass's. 6 workgroups a
 * pass: the last to arrive does the merge, whichever it is. */
static void bn_counter_reuse_and_replay(void) {
    asvk_context *ctx = test_context();
    asvk_nhwc sh = {4, 30, 30, 9};
    bn_data d;
    OK(bn_setup(ctx, &d, sh, false, 0.5, 2));
    asvk_bn_desc desc = {sh, ASVK_ACT_NONE, 1e-5f, 0.001f};
    enum { PASSES = 300 };
    float *dy = fbuf(d.n), *one[2], *all[2];
    test_fill_uniform(dy, d.n, -1, 1);
    dtensor DY, DG, DB;
    OK(dt_new(ctx, &DY, dy, d.n, 0));
    OK(dt_new(ctx, &DG, NULL, d.c, 1));
    OK(dt_new(ctx, &DB, NULL, d.c, 1));
    /* one backward pass's sums (after one statistics pass, which the 600 below leave as they are) */
    asvk_bn_grads g = {{0}, false, DG.view, false, DB.view, false};
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    OK(asvk_bn_forward_stats(s, &desc, d.X.view, d.RM.view, d.RV.view, d.SM.view, d.SI.view, d.ws));
    OK(asvk_bn_backward_sums(s, &desc, d.X.view, DY.view, d.G.view, d.B.view, d.SM.view, d.SI.view, &g, d.ws));
    OK(asvk_stream_run(s));
    asvk_stream_destroy(s);
    one[0] = fbuf(d.c), one[1] = fbuf(d.c), all[0] = fbuf(d.c), all[1] = fbuf(d.c);
    OK(dt_get(ctx, &DG, one[0], "dgamma"));
    OK(dt_get(ctx, &DB, one[1], "dbeta"));
    OK(dt_set(ctx, &d.RM, d.rm));
    float *zero = calloc(d.c, sizeof *zero);
    OK(dt_set(ctx, &DG, zero));
    OK(dt_set(ctx, &DB, zero));
    free(zero);
    g.accumulate_dgamma = g.accumulate_dbeta = true;
    OK(asvk_stream_create(ctx, &s));
    for (int i = 0; i < PASSES; i++) {
        OK(asvk_bn_forward_stats(s, &desc, d.X.view, d.RM.view, d.RV.view, d.SM.view, d.SI.view, d.ws));
        OK(asvk_bn_backward_sums(s, &desc, d.X.view, DY.view, d.G.view, d.B.view, d.SM.view, d.SI.view, &g, d.ws));
    }
    OK(asvk_stream_run(s));
    OK(asvk_stream_run(s));
    asvk_stream_destroy(s);
    float *rm = fbuf(d.c), *sm = fbuf(d.c);
    OK(dt_get(ctx, &d.RM, rm, "running mean"));
    OK(dt_get(ctx, &d.SM, sm, "save mean"));
    OK(dt_get(ctx, &DG, all[0], "dgamma"));
    OK(dt_get(ctx, &DB, all[1], "dbeta"));
    double keep = pow(1 - (double)desc.momentum, 2 * PASSES);
    for (size_t c = 0; c < d.c; c++) {
        double mean = 0;
        for (size_t i = c; i < d.n; i += d.c) mean += d.x[i];
        mean /= (double)d.pixels;
        double want = keep * d.rm[c] + (1 - keep) * mean;
        /* 600 roundings of the update; a pass that skipped its merge moves it by ~1e-3 */
        CHECK(fabs(rm[c] - want) < 2e-5 + 1e-5 * fabs(want),
              "channel %zu: running mean %.7g after %d passes, expected %.7g (a pass did not merge?)", c, rm[c],
              2 * PASSES, want);
        CHECK(fabs(sm[c] - mean) < 1e-5, "channel %zu: batch mean %.7g, expected %.7g", c, sm[c], mean);
        for (int k = 0; k < 2; k++) {
            /* the same sums added 600 times in fp32: relative error well under 1e-4; one pass
             * missing is 1/600 */
            double w = 2.0 * PASSES * one[k][c];
            CHECK(fabs(all[k][c] - w) <= 1e-4 * fabs(w) + 1e-6, "channel %zu: %s %.7g after %d passes, expected %.7g",
                  c, k ? "dbeta" : "dgamma", all[k][c], 2 * PASSES, w);
        }
    }
    free(rm), free(sm), free(dy);
    for (int k = 0; k < 2; k++) free(one[k]), free(all[k]);
    dt_free(ctx, &DY), dt_free(ctx, &DG), dt_free(ctx, &DB);
    bn_teardown(ctx, &d);
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"bn_train_forward_reference", bn_train_forward_reference},
        {"bn_train_large_mean", bn_train_large_mean},
        {"bn_counter_reuse_and_replay", bn_counter_reuse_and_replay},
        {"bn_infer_forward_reference", bn_infer_forward_reference},
        {"bn_backward_reference", bn_backward_reference},
        {"bn_backward_finite_differences", bn_backward_finite_differences},
        {"bn_determinism_and_errors", bn_determinism_and_errors},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
