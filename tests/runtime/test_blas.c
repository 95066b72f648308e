/* BLAS kernels against a CPU double-precision reference on random shapes. */
#include <stdlib.h>
#include <string.h>

#include "runtime/blas.h"
#include "tests/harness.h"
#include "tests/ref/eltwise_ref.h"

static float *host(size_t n) { return malloc((n ? n : 1) * sizeof(float)); }

/* ---- GEMM ---- */

typedef struct {
    uint32_t m, n, k;
    bool ta, tb;
    uint32_t batch;
    float alpha, beta;
    uint32_t pad, off;
    bool bias;   /* epilogue bias, one row of N per batch */
    asvk_act act; /* epilogue activation */
} gemm_case;

/* Reference in double. tol[i] is the allowed |error| per element:
 * recursive fp32 summation of K products has an error of about u*K*sigma/sqrt(6)
 * for random terms (sigma: their rms); we allow 16*u*sqrt(K)*||terms||_2
 * = 16*u*K*sigma, a 40x margin, which still catches one dropped or doubled
 * product (of size ~sigma) for any K below ~10^5. Plus 4u for the alpha/beta
 * scaling and the beta*C term. */
static void gemm_ref(const gemm_case *g, const float *a, const float *b, const float *c0, const float *bias,
                     uint32_t lda, uint32_t ldb, uint32_t ldc, uint64_t sa, uint64_t sb, uint64_t sc, double *ref,
                     double *tol) {
    for (uint32_t z = 0; z < g->batch; z++)
        for (uint32_t i = 0; i < g->m; i++)
            for (uint32_t j = 0; j < g->n; j++) {
                double s = 0, sq = 0;
                for (uint32_t k = 0; k < g->k; k++) {
                    double av = a[z * sa + (g->ta ? (uint64_t)k * lda + i : (uint64_t)i * lda + k)];
                    double bv = b[z * sb + (g->tb ? (uint64_t)j * ldb + k : (uint64_t)k * ldb + j)];
                    s += av * bv;
                    sq += av * bv * av * bv;
                }
                uint64_t ci = z * sc + (uint64_t)i * ldc + j;
                double cold = c0[ci], bv = bias ? bias[z * g->n + j] : 0.0;
                double zv = g->alpha * s + g->beta * cold + bv;
                ref[ci] = eltwise_ref_act(g->act, zv);
                /* the activation (relu6, h-swish: polynomial pieces) passes the
                 * error of its input on scaled by at most its Lipschitz
                 * constant and adds a few roundings of its own */
                tol[ci] = eltwise_ref_act_lipschitz(g->act) *
                              (16 * FP32_U * sqrt((double)g->k) * sqrt(sq) * fabs(g->alpha) +
                               4 * FP32_U * (fabs(g->alpha * s) + fabs(g->beta * cold) + fabs(bv))) +
                          4 * FP32_U * fabs(ref[ci]) + 1e-30;
            }
}

static void run_gemm(const asvk_gemm_tuning *t, const gemm_case *g) {
    asvk_context *ctx = test_context();
    uint32_t lda = (g->ta ? g->m : g->k) + g->pad, ldb = (g->tb ? g->k : g->n) + g->pad, ldc = g->n + g->pad;
    uint32_t batch = g->batch ? g->batch : 1;
    uint64_t sa = (uint64_t)(g->ta ? g->k : g->m) * lda, sb = (uint64_t)(g->tb ? g->n : g->k) * ldb,
             sc = (uint64_t)g->m * ldc;
    uint64_t na = sa * batch + g->off, nb = sb * batch + g->off, nc = sc * batch + g->off;
    float *a = host(na), *b = host(nb), *c = host(nc), *out = host(nc);
    double *ref = calloc(nc, sizeof *ref), *tol = calloc(nc, sizeof *tol);
    test_fill_uniform(a, na, -1, 1);
    test_fill_uniform(b, nb, -1, 1);
    test_fill_uniform(c, nc, -1, 1);
    gemm_case gg = *g;
    gg.batch = batch;
    uint64_t nbias = (uint64_t)batch * g->n + g->off;
    float *bias = host(nbias);
    test_fill_uniform(bias, nbias, -1, 1);
    gemm_ref(&gg, a + g->off, b + g->off, c + g->off, g->bias ? bias + g->off : NULL, lda, ldb, ldc, sa, sb, sc, ref,
             tol);
    if (g->beta == 0) /* beta 0 must not read C: poison it */
        for (uint64_t i = 0; i < nc; i++) c[i] = NAN;

    asvk_buffer A, B, C, Bias;
    OK(test_upload(ctx, bias, nbias, &Bias));
    OK(test_upload(ctx, a, na, &A));
    OK(test_upload(ctx, b, nb, &B));
    OK(test_upload(ctx, c, nc, &C));
    asvk_gemm_desc d = {.trans_a = g->ta, .trans_b = g->tb, .m = g->m, .n = g->n, .k = g->k, .lda = lda, .ldb = ldb,
                        .ldc = ldc, .batch = batch, .stride_a = sa, .stride_b = sb, .stride_c = sc, .alpha = g->alpha,
                        .beta = g->beta, .act = g->act};
    if (g->bias) d.bias = asvk_buffer_sub(Bias, g->off * 4, (nbias - g->off) * 4), d.stride_bias = g->n;
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    /* Views at an element offset: exercises the unaligned-view path. */
    asvk_buffer va = asvk_buffer_sub(A, g->off * 4, (na - g->off) * 4), vb = asvk_buffer_sub(B, g->off * 4, (nb - g->off) * 4),
                vc = asvk_buffer_sub(C, g->off * 4, (nc - g->off) * 4);
    /* t NULL: asvk_blas_gemm, the device's tuning fitted to the shape */
    OK(t ? asvk_blas_gemm_tuned(s, t, &d, va, vb, vc) : asvk_blas_gemm(s, &d, va, vb, vc));
    OK(asvk_stream_run(s));
    asvk_stream_destroy(s);
    OK(test_download(ctx, C, out, nc));
    char tn[64] = "fitted";
    if (t) asvk_gemm_tuning_format(t, tn, sizeof tn);
    int bad = 0;
    for (uint32_t z = 0; z < batch; z++)
        for (uint32_t i = 0; i < g->m; i++)
            for (uint32_t j = 0; j < ldc; j++) {
                uint64_t ci = g->off + z * sc + (uint64_t)i * ldc + j;
                if (j >= g->n) { /* padding columns are never written */
                    if (!(isnan(out[ci]) && isnan(c[ci])) && out[ci] != c[ci] && bad++ < 3)
                        CHECK(0, "%s %ux%ux%u: padding C[%u][%u] was written", tn, g->m, g->n, g->k, i, j);
                    continue;
                }
                double err = fabs(out[ci] - ref[ci - g->off]);
                if (!(err <= tol[ci - g->off]) && bad++ < 3)
                    CHECK(0, "%s %ux%ux%u%s%s batch %u pad %u off %u alpha %g beta %g bias %d act %d: C[%u][%u][%u] "
                          "= %.9g, reference %.9g, error %.3g > tolerance %.3g",
                          tn, g->m, g->n, g->k, g->ta ? " A^T" : "", g->tb ? " B^T" : "", batch, g->pad, g->off,
                          g->alpha, g->beta, g->bias, g->act, z, i, j, out[ci], ref[ci - g->off], err,
                          tol[ci - g->off]);
            }
    asvk_buffer_free(ctx, &A), asvk_buffer_free(ctx, &B), asvk_buffer_free(ctx, &C), asvk_buffer_free(ctx, &Bias);
    free(a), free(b), free(c), free(out), free(ref), free(tol), free(bias);
}

/* The CPU default (8x16) is swept by gemm_default_tuning_and_aligned_vec4_paths
 * and gemm_fitted_tilings: each tiling here is a pipeline per shape, which a
 * cold shader cache builds in every rerun of this suite. */
static const char *const tunings[] = {"naive", "reg:8x8:8x1", "reg:8x4:8x1", "reg:16x4:8x1", "reg:4x4:8x8",
                                      "reg:16x8:4x2", "smem:4x4:8x8:16", "smem:2x3:16x4:5"};
#define NTUNINGS (sizeof tunings / sizeof tunings[0])

static void gemm_edge_shapes(void) {
    /* 1xN, Nx1, K=1, sizes not multiples of any tile, large K, all transposes. */
    const uint32_t shapes[][3] = {{1, 37, 19}, {37, 1, 19}, {13, 11, 1}, {1, 1, 1}, {67, 45, 33},
                                  {5, 7, 4099}, {64, 64, 64}, {129, 3, 8}, {3, 130, 9}};
    for (size_t t = 0; t < NTUNINGS; t++) {
        asvk_gemm_tuning tu;
        OK(asvk_gemm_tuning_parse(tunings[t], &tu));
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
            for (int tr = 0; tr < 4; tr++) {
                gemm_case g = {shapes[i][0], shapes[i][1], shapes[i][2], tr & 1, tr >> 1, 1, 1.0f, 0.0f, 0, 0, false, ASVK_ACT_NONE};
                run_gemm(&tu, &g);
            }
    }
}

static void gemm_random_shapes(void) {
    for (int r = 0; r < 24; r++) {
        asvk_gemm_tuning tu;
        OK(asvk_gemm_tuning_parse(tunings[test_rand_range(0, NTUNINGS - 1)], &tu));
        gemm_case g = {test_rand_range(1, 90), test_rand_range(1, 90), test_rand_range(1, 150),
                       test_rand_range(0, 1), test_rand_range(0, 1), test_rand_range(1, 3),
                       test_rand_uniform(-2, 2), r % 3 ? 0.0f : test_rand_uniform(-1, 1),
                       test_rand_range(0, 5), test_rand_range(0, 7), r % 4 == 1, ASVK_ACT_NONE};
        run_gemm(&tu, &g);
    }
}

static void gemm_default_tuning_and_aligned_vec4_paths(void) {
    /* Leading dimensions and offsets that are multiples of 4 take the vec4
     * load/store paths of gemm_reg; the default tuning must be sound too. */
    asvk_gemm_tuning tu;
    OK(asvk_gemm_tuning_default(test_context(), &tu));
    const uint32_t shapes[][3] = {{64, 64, 64}, {96, 40, 36}, {33, 48, 20}, {128, 4, 256}, {4, 128, 12}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int tr = 0; tr < 4; tr++) {
            gemm_case g = {shapes[i][0], shapes[i][1], shapes[i][2], tr & 1, tr >> 1, 2, 0.5f, 0.25f, 4, 8, tr == 2,
                           tr == 3 ? ASVK_ACT_RELU6 : ASVK_ACT_NONE};
            run_gemm(&tu, &g);
            OK(asvk_gemm_tuning_parse("reg:8x8:8x1", &tu));
            run_gemm(&tu, &g);
            OK(asvk_gemm_tuning_default(test_context(), &tu));
        }
}

static void gemm_fitted_tilings(void) {
    /* asvk_blas_gemm fits the tiling to the shape (tall and narrow: 16x4;
     * N wasting a 64-column tile: 8x4; N under half a workgroup's columns:
     * narrower, taller workgroups; CPU devices: 16 columns from 2^27
     * multiply-adds up, 8 below): the shapes of each rule, with the vec4
     * paths (aligned) and without them, a bias and an activation. */
    const uint32_t shapes[][3] = {{4100, 40, 24}, {4096, 96, 16}, {5000, 257, 9}, {300, 96, 24}, {70, 20, 33},
                                  {4100, 16, 24}, {513, 8, 40},   {64, 4, 300}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int v = 0; v < 3; v++) {
            gemm_case g = {shapes[i][0], shapes[i][1], shapes[i][2], false, v == 1, 1, 1.0f, 0.0f, v == 2 ? 3u : 0u,
                           v == 2 ? 1u : 0u, v != 1, v == 0 ? ASVK_ACT_RELU6 : ASVK_ACT_NONE};
            run_gemm(NULL, &g);
        }
    gemm_case big = {512, 520, 516, true, false, 1, 1.0f, 0.0f, 0, 0, true, ASVK_ACT_NONE}; /* above 2^27 */
    run_gemm(NULL, &big);
}

static void gemm_epilogue(void) {
    /* bias (per batch row, aligned and unaligned offsets) and activation in
     * every kernel; the shapes take the vec4 and the scalar store paths */
    static const asvk_act acts[] = {ASVK_ACT_NONE, ASVK_ACT_RELU6, ASVK_ACT_HSWISH, ASVK_ACT_RELU};
    const uint32_t shapes[][3] = {{33, 20, 17}, {8, 12, 5}, {5, 3, 40}};
    for (size_t t = 0; t < NTUNINGS; t++) {
        asvk_gemm_tuning tu;
        OK(asvk_gemm_tuning_parse(tunings[t], &tu));
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
            for (int v = 0; v < 4; v++) {
                gemm_case g = {shapes[i][0], shapes[i][1], shapes[i][2], v & 1, false, 1 + (v >> 1), 1.0f,
                               v == 3 ? 0.5f : 0.0f, 0, v == 2 ? 3u : 0u, v != 1, acts[(i + t + v) % 4]};
                run_gemm(&tu, &g);
            }
    }
}

/* Split-K summed in the dispatch (desc.partials): batch z is the z-th
 * K-slice, written to the partials, and the last slice of each tile to
 * finish sums them into the one C with the epilogue. Every kernel, slices
 * 2-7, vec4 and scalar paths, more tiles than one workgroup's counters,
 * beta 1 replayed `runs` times (C accumulates: each replay must find its
 * counters back at zero), one dispatch. */
static void run_split_k(const asvk_gemm_tuning *t, uint32_t m, uint32_t n, uint32_t k, uint32_t slices, bool ta,
                        uint32_t pad, uint32_t off, float beta, bool bias, asvk_act act, int runs) {
    asvk_context *ctx = test_context();
    uint32_t lda = (ta ? m : k) + pad, ldb = n + pad, ldc = n + pad;
    uint64_t sa = (uint64_t)(ta ? k : m) * lda, sb = (uint64_t)k * ldb, sc = (uint64_t)m * ldc;
    uint64_t na = sa * slices + off, nb = sb * slices + off, nc = sc + off, np = sc * slices + off;
    float *a = host(na), *b = host(nb), *c = host(nc), *bi = host(n + off), *out = host(nc);
    test_fill_uniform(a, na, -1, 1), test_fill_uniform(b, nb, -1, 1), test_fill_uniform(c, nc, -1, 1);
    test_fill_uniform(bi, n + off, -1, 1);
    asvk_buffer A, B, C, P, Bias;
    OK(test_upload(ctx, a, na, &A));
    OK(test_upload(ctx, b, nb, &B));
    OK(test_upload(ctx, c, nc, &C));
    OK(test_upload(ctx, bi, n + off, &Bias));
    float *pz = host(np);
    for (uint64_t i = 0; i < np; i++) pz[i] = NAN; /* every partial read must have been written */
    OK(test_upload(ctx, pz, np, &P));
    asvk_gemm_desc d = {.trans_a = ta, .m = m, .n = n, .k = k, .lda = lda, .ldb = ldb, .ldc = ldc, .batch = slices,
                        .stride_a = sa, .stride_b = sb, .stride_c = sc, .alpha = 0.75f, .beta = beta, .act = act,
                        .partials = asvk_buffer_sub(P, off * 4, (np - off) * 4)};
    if (bias) d.bias = asvk_buffer_sub(Bias, off * 4, (uint64_t)n * 4);
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    OK(asvk_blas_gemm_tuned(s, t, &d, asvk_buffer_sub(A, off * 4, (na - off) * 4),
                            asvk_buffer_sub(B, off * 4, (nb - off) * 4), asvk_buffer_sub(C, off * 4, (nc - off) * 4)));
    asvk_stream_stats st;
    asvk_stream_stats_get(s, &st);
    CHECK(st.dispatches == 1, "split-K GEMM recorded %u dispatches, expected 1", st.dispatches);
    for (int r = 0; r < runs; r++) OK(asvk_stream_run(s));
    asvk_stream_destroy(s);
    OK(test_download(ctx, C, out, nc));
    char tn[64];
    asvk_gemm_tuning_format(t, tn, sizeof tn);
    int bad = 0;
    for (uint32_t i = 0; i < m; i++)
        for (uint32_t j = 0; j < ldc; j++) {
            uint64_t ci = off + (uint64_t)i * ldc + j;
            if (j >= n) {
                if (out[ci] != c[ci] && bad++ < 3) CHECK(0, "%s split-K: padding C[%u][%u] was written", tn, i, j);
                continue;
            }
            double acc = 0, sq = 0;
            for (uint32_t z = 0; z < slices; z++)
                for (uint32_t kk = 0; kk < k; kk++) {
                    double av = a[off + z * sa + (ta ? (uint64_t)kk * lda + i : (uint64_t)i * lda + kk)];
                    double bv = b[off + z * sb + (uint64_t)kk * ldb + j];
                    acc += av * bv, sq += av * bv * av * bv;
                }
            /* beta 1 and no activation: each run adds alpha*AB + bias */
            double want = c[ci], bv = bias ? bi[off + j] : 0.0;
            for (int r = 0; r < runs; r++) want = eltwise_ref_act(act, 0.75 * acc + beta * want + bv);
            double tol = runs * (16 * FP32_U * sqrt((double)k * slices) * sqrt(sq) +
                                 8 * FP32_U * (fabs(acc) + fabs(want) + fabs(bv))) + 1e-30;
            if (!(fabs(out[ci] - want) <= tol) && bad++ < 3)
                CHECK(0, "%s split-K %ux%ux%u x%u slices%s pad %u off %u beta %g bias %d act %d runs %d: C[%u][%u] = "
                      "%.9g, reference %.9g (tolerance %.3g)",
                      tn, m, n, k, slices, ta ? " A^T" : "", pad, off, beta, bias, act, runs, i, j, out[ci], want, tol);
        }
    asvk_buffer_free(ctx, &A), asvk_buffer_free(ctx, &B), asvk_buffer_free(ctx, &C), asvk_buffer_free(ctx, &P);
    asvk_buffer_free(ctx, &Bias);
    free(a), free(b), free(c), free(bi), free(out), free(pz);
}

static void gemm_split_k_reduce(void) {
    for (size_t t = 0; t < NTUNINGS; t++) {
        asvk_gemm_tuning tu;
        OK(asvk_gemm_tuning_parse(tunings[t], &tu));
        run_split_k(&tu, 37, 29, 13, 3, true, 0, 0, 0.0f, false, ASVK_ACT_NONE, 1);  /* scalar paths */
        run_split_k(&tu, 64, 16, 24, 5, true, 0, 0, 1.0f, false, ASVK_ACT_NONE, 3); /* vec4, accumulating, replayed */
        run_split_k(&tu, 24, 40, 9, 2, false, 3, 1, 0.5f, true, ASVK_ACT_RELU6, 1); /* bias, act, unaligned */
    }
    /* more tiles than a counter run of one workgroup: 300x300 (naive: 361 tiles), replayed */
    asvk_gemm_tuning tu;
    OK(asvk_gemm_tuning_parse("naive", &tu));
    run_split_k(&tu, 300, 300, 4, 7, true, 0, 0, 1.0f, false, ASVK_ACT_NONE, 2);
    OK(asvk_gemm_tuning_default(test_context(), &tu));
    run_split_k(&tu, 300, 300, 4, 7, true, 0, 0, 1.0f, false, ASVK_ACT_NONE, 2);
}

static void gemm_tuning_errors(void) {
    asvk_gemm_tuning t;
    CHECK(asvk_gemm_tuning_parse("reg:3x8:8x1", &t) == ASVK_ERR_USAGE, "reg tile 3 accepted");
    CHECK(asvk_gemm_tuning_parse("fast", &t) == ASVK_ERR_USAGE, "'fast' accepted");
    CHECK(asvk_gemm_tuning_parse("smem:4x4:64x64:16", &t) == ASVK_ERR_USAGE, "4096 invocations accepted");
    setenv("ASVK_GEMM", "bogus", 1);
    asvk_status st = asvk_gemm_tuning_default(test_context(), &t);
    unsetenv("ASVK_GEMM");
    CHECK(st == ASVK_ERR_USAGE && strstr(asvk_error_message(), "ASVK_GEMM"), "%s", asvk_error_message());
    /* Shared tiles larger than the device's shared memory: a limit error at record time. */
    OK(asvk_gemm_tuning_parse("smem:16x16:16x16:64", &t));
    asvk_context *ctx = test_context();
    asvk_buffer x;
    OK(asvk_buffer_alloc(ctx, 4096, &x));
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    asvk_gemm_desc d = {.m = 8, .n = 8, .k = 8, .alpha = 1};
    st = asvk_blas_gemm_tuned(s, &t, &d, x, x, x);
    CHECK(st == ASVK_ERR_LIMIT, "oversized shared tiles: %s", asvk_status_name(st));
    asvk_stream_destroy(s);
    asvk_buffer_free(ctx, &x);
}

/* The arithmetic-ceiling kernel of bench peak computes its chains: every
 * invocation's stored sum against the recurrence run on the host, and a
 * count that is not whole workgroups refused. */
static void peak_fma_chains(void) {
    asvk_context *ctx = test_context();
    const uint32_t inv = 2 * ASVK_PEAK_FMA_WG, iters = 37;
    const float a = 0.9999f, b = 1e-4f;
    asvk_buffer Y;
    OK(asvk_buffer_alloc(ctx, 4ull * inv * sizeof(float), &Y));
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    OK(asvk_blas_peak_fma(s, Y, inv, iters, a, b));
    OK(asvk_stream_run(s));
    asvk_stream_destroy(s);
    float *y = host(4 * inv);
    OK(test_download(ctx, Y, y, 4 * inv));
    double worst = 0;
    for (uint32_t i = 0; i < inv; i++) {
        float sl = (float)(i % ASVK_PEAK_FMA_WG) * 0.001f, t[4] = {0};
        for (uint32_t j = 0; j < 16; j++) {
            float acc[4] = {sl + (float)j, sl, -sl, 1.0f};
            for (uint32_t it = 0; it < iters; it++)
                for (int c = 0; c < 4; c++) acc[c] = fmaf(acc[c], a, b);
            for (int c = 0; c < 4; c++) t[c] += acc[c];
        }
        for (int c = 0; c < 4; c++) {
            double e = fabs((double)y[4 * i + c] - t[c]) / (fabs(t[c]) + 1e-3);
            if (e > worst) worst = e;
        }
    }
    CHECK(worst < 1e-5, "peak_fma differs from the host recurrence by %.3g (relative)", worst);
    free(y);
    OK(asvk_stream_create(ctx, &s));
    EXPECT_ERR(asvk_blas_peak_fma(s, Y, inv + 1, iters, a, b), ASVK_ERR_USAGE, "not a multiple of 64");
    asvk_stream_destroy(s);
    asvk_buffer_free(ctx, &Y);
}

/* ---- element-wise, copies, reductions ---- */

static void fill_copy_copy2d(void) {
    asvk_context *ctx = test_context();
    for (int r = 0; r < 12; r++) {
        uint32_t n = test_rand_range(1, 3000), off = test_rand_range(0, 9);
        uint32_t rows = test_rand_range(1, 40), cols = test_rand_range(1, 70);
        uint32_t xld = cols + test_rand_range(0, 6), yld = cols + test_rand_range(0, 6);
        uint32_t total = n + off + rows * (xld > yld ? xld : yld) + 16;
        float *x = host(total), *y = host(total), *out = host(total);
        test_fill_uniform(x, total, -5, 5);
        test_fill_uniform(y, total, -5, 5);
        asvk_buffer X, Y;
        OK(test_upload(ctx, x, total, &X));
        OK(test_upload(ctx, y, total, &Y));
        float v = test_rand_uniform(-3, 3);
        asvk_stream *s;
        /* fill: exact, since it only stores the value */
        OK(asvk_stream_create(ctx, &s));
        OK(asvk_blas_fill(s, asvk_buffer_sub(Y, off * 4, n * 4), n, v));
        OK(asvk_stream_run(s));
        asvk_stream_destroy(s);
        OK(test_download(ctx, Y, out, total));
        int bad = 0;
        for (uint32_t i = 0; i < total; i++) {
            float want = i >= off && i < off + n ? v : y[i];
            if (out[i] != want && bad++ < 3) CHECK(0, "fill n=%u off=%u: y[%u] = %g, want %g", n, off, i, out[i], want);
        }
        memcpy(y, out, total * 4);
        /* copy: exact */
        OK(asvk_stream_create(ctx, &s));
        OK(asvk_blas_copy(s, asvk_buffer_sub(Y, off * 4, n * 4), asvk_buffer_sub(X, (off + 1) * 4, n * 4), n));
        OK(asvk_stream_run(s));
        asvk_stream_destroy(s);
        OK(test_download(ctx, Y, out, total));
        for (uint32_t i = 0; i < total; i++) {
            float want = i >= off && i < off + n ? x[i + 1] : y[i];
            if (out[i] != want && bad++ < 3) CHECK(0, "copy n=%u off=%u: y[%u] = %g, want %g", n, off, i, out[i], want);
        }
        memcpy(y, out, total * 4);
        /* copy2d: exact; elements between rows stay untouched */
        OK(asvk_stream_create(ctx, &s));
        OK(asvk_blas_copy2d(s, asvk_buffer_sub(Y, off * 4, (total - off) * 4), yld,
                            asvk_buffer_sub(X, 4, (total - 1) * 4), xld, rows, cols));
        OK(asvk_stream_run(s));
        asvk_stream_destroy(s);
        OK(test_download(ctx, Y, out, total));
        for (uint32_t i = 0; i < total; i++) {
            float want = y[i];
            if (i >= off) {
                uint32_t rr = (i - off) / yld, cc = (i - off) % yld;
                if (rr < rows && cc < cols) want = x[1 + rr * xld + cc];
            }
            if (out[i] != want && bad++ < 3)
                CHECK(0, "copy2d %ux%u xld %u yld %u off %u: y[%u] = %g, want %g", rows, cols, xld, yld, off, i, out[i], want);
        }
        asvk_buffer_free(ctx, &X), asvk_buffer_free(ctx, &Y);
        free(x), free(y), free(out);
    }
}

static void binary_and_axpy(void) {
    asvk_context *ctx = test_context();
    for (int r = 0; r < 12; r++) {
        uint32_t n = test_rand_range(1, 5000), oa = test_rand_range(0, 5), ob = test_rand_range(0, 5),
                 oc = r % 2 ? test_rand_range(0, 5) : 0;
        uint32_t total = n + 8;
        float *a = host(total), *b = host(total), *c = host(total);
        test_fill_uniform(a, total, -4, 4);
        test_fill_uniform(b, total, -4, 4);
        asvk_buffer A, B, C;
        OK(test_upload(ctx, a, total, &A));
        OK(test_upload(ctx, b, total, &B));
        OK(asvk_buffer_alloc(ctx, total * 4, &C));
        for (int op = 0; op < 3; op++) {
            asvk_stream *s;
            OK(asvk_stream_create(ctx, &s));
            OK(asvk_blas_binary(s, (asvk_binary_op)op, asvk_buffer_sub(A, oa * 4, n * 4), asvk_buffer_sub(B, ob * 4, n * 4),
                                asvk_buffer_sub(C, oc * 4, n * 4), n));
            OK(asvk_stream_run(s));
            asvk_stream_destroy(s);
            OK(test_download(ctx, C, c, total));
            int bad = 0;
            for (uint32_t i = 0; i < n; i++) {
                double x = a[oa + i], y = b[ob + i];
                double want = op == 0 ? x + y : op == 1 ? x - y : x * y;
                /* one correctly rounded fp32 operation (Vulkan requires it for add, sub, mul) */
                double tol = FP32_U * fabs(want);
                if (fabs(c[oc + i] - want) > tol && bad++ < 3)
                    CHECK(0, "binary op %d n=%u: c[%u] = %.9g, want %.9g", op, n, i, c[oc + i], want);
            }
        }
        float alpha = test_rand_uniform(-2, 2);
        asvk_stream *s;
        OK(asvk_stream_create(ctx, &s));
        OK(asvk_blas_axpy(s, alpha, asvk_buffer_sub(A, oa * 4, n * 4), asvk_buffer_sub(B, ob * 4, n * 4), n));
        OK(asvk_stream_run(s));
        asvk_stream_destroy(s);
        OK(test_download(ctx, B, c, total));
        int bad = 0;
        for (uint32_t i = 0; i < total; i++) {
            bool in = i >= ob && i < ob + n;
            double want = in ? (double)alpha * a[oa + i - ob] + b[i] : b[i];
            /* alpha*x + y: two roundings, or one if the compiler fuses it */
            double tol = in ? 2 * FP32_U * (fabs((double)alpha * a[oa + i - ob]) + fabs(b[i])) : 0;
            if (fabs(c[i] - want) > tol && bad++ < 3) CHECK(0, "axpy n=%u: y[%u] = %.9g, want %.9g", n, i, c[i], want);
        }
        asvk_buffer_free(ctx, &A), asvk_buffer_free(ctx, &B), asvk_buffer_free(ctx, &C);
        free(a), free(b), free(c);
    }
}

static void sum_rows(void) {
    asvk_context *ctx = test_context();
    /* Short rows (one pass), rows longer than a 2048-float chunk (two passes), 1 x N and N x 1. */
    const uint32_t shapes[][2] = {{1, 1}, {1, 7}, {7, 1}, {3, 2048}, {2, 2049}, {1, 100003}, {37, 311}, {5, 9000}};
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        uint32_t rows = shapes[t][0], cols = shapes[t][1], ld = cols + (t % 3), off = (uint32_t)(t % 4);
        uint64_t nx = (uint64_t)rows * ld + off;
        float *x = host(nx), *y = host(rows + 2);
        test_fill_uniform(x, nx, -1, 1);
        asvk_buffer X, Y, W = {0};
        OK(test_upload(ctx, x, nx, &X));
        OK(asvk_buffer_alloc(ctx, (rows + 2) * 4, &Y));
        uint64_t ws = asvk_blas_sum_workspace(rows, cols);
        if (ws) OK(asvk_buffer_alloc(ctx, ws, &W));
        asvk_stream *s;
        OK(asvk_stream_create(ctx, &s));
        OK(asvk_blas_sum_rows(s, asvk_buffer_sub(X, off * 4, (nx - off) * 4), rows, cols, ld,
                              asvk_buffer_sub(Y, 4, rows * 4), W));
        OK(asvk_stream_run(s));
        asvk_stream_destroy(s);
        OK(test_download(ctx, Y, y, rows + 2));
        for (uint32_t r = 0; r < rows; r++) {
            double want = 0, sq = 0;
            for (uint32_t c = 0; c < cols; c++) {
                double v = x[off + (uint64_t)r * ld + c];
                want += v;
                sq += v * v;
            }
            /* same reasoning as GEMM: 16*u*sqrt(n)*||x||_2, 40x the expected error */
            double tol = 16 * FP32_U * sqrt((double)cols) * sqrt(sq) + 1e-30;
            CHECK(fabs(y[1 + r] - want) <= tol, "sum %ux%u ld %u row %u: %.9g, want %.9g (tol %.3g)", rows, cols, ld,
                  r, y[1 + r], want, tol);
        }
        if (ws) asvk_buffer_free(ctx, &W);
        asvk_buffer_free(ctx, &X), asvk_buffer_free(ctx, &Y);
        free(x), free(y);
    }
    /* A long row without the workspace it needs is refused, not overrun. */
    asvk_buffer X;
    OK(asvk_buffer_alloc(ctx, 5000 * 4, &X));
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    asvk_buffer none = {0};
    CHECK(asvk_blas_sum_rows(s, X, 1, 5000, 5000, X, none) == ASVK_ERR_INTERNAL, "missing workspace accepted");
    asvk_stream_destroy(s);
    asvk_buffer_free(ctx, &X);
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"gemm_edge_shapes", gemm_edge_shapes},
        {"gemm_random_shapes", gemm_random_shapes},
        {"gemm_default_tuning_and_aligned_vec4_paths", gemm_default_tuning_and_aligned_vec4_paths},
        {"gemm_epilogue", gemm_epilogue},
        {"gemm_fitted_tilings", gemm_fitted_tilings},
        {"gemm_split_k_reduce", gemm_split_k_reduce},
        {"peak_fma_chains", peak_fma_chains},
        {"gemm_tuning_errors", gemm_tuning_errors},
        {"fill_copy_copy2d", fill_copy_copy2d},
        {"binary_and_axpy", binary_and_axpy},
        {"sum_rows", sum_rows},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
