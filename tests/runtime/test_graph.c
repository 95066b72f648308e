/* The graph runtime: autograd (including a value used twice), the liveness
 * planner (no two live temporaries share bytes, and sharing happens), one
 * recorded step replayed with the same results, parameter store layout, and
 * a distillation objective (squared-error terms summed into a scalar loss). */
#include <stdlib.h>
#include <string.h>

#include "runtime/graph.h"
#include "runtime/ops/basic.h"
#include "runtime/params.h"
#include "runtime/profile.h"
#include "tests/harness.h"

/* y = (2 * x W1^T) W2^T ; L = sum(y * r): gradients against a double reference. */
static void autograd_matches_reference(void) {
    asvk_context *ctx = test_context();
    enum { M = 7, K = 13, H = 10, N = 5 };
    asvk_param_store *ps = asvk_params_create();
    int i1 = asvk_params_add(ps, "w1", 2, (uint32_t[]){H, K}, ASVK_GROUP_DECAY);
    int i2 = asvk_params_add(ps, "w2", 2, (uint32_t[]){N, H}, ASVK_GROUP_NO_DECAY);
    CHECK(i1 == 0 && i2 == 1, "indices %d %d", i1, i2);
    OK(asvk_params_alloc(ctx, ps, 0));
    float w1[H * K], w2[N * H], x[M * K], r[M * N];
    test_fill_uniform(w1, H * K, -1, 1);
    test_fill_uniform(w2, N * H, -1, 1);
    test_fill_uniform(x, M * K, -1, 1);
    test_fill_uniform(r, M * N, -1, 1);
    OK(asvk_params_upload(ctx, ps, i1, w1));
    OK(asvk_params_upload(ctx, ps, i2, w2));

    asvk_graph *g = asvk_graph_create(ps);
    asvk_val vx = asvk_graph_value(g, "x", ASVK_VAL_INPUT, 2, (uint32_t[]){M, K});
    asvk_val vr = asvk_graph_value(g, "r", ASVK_VAL_INPUT, 2, (uint32_t[]){M, N});
    asvk_val vw1 = asvk_graph_param(g, "w1"), vw2 = asvk_graph_param(g, "w2");
    asvk_val h = asvk_op_matmul(g, "h", vx, vw1, M, H, K);
    asvk_val h2 = asvk_op_add(g, "h2", h, h); /* h used twice: its gradient accumulates */
    asvk_val y = asvk_op_matmul(g, "y", h2, vw2, M, N, H);
    asvk_val loss = asvk_op_dot_loss(g, "loss", y, vr);
    CHECK(loss != ASVK_NO_VAL, "graph building failed: %s", asvk_error_message());
    OK(asvk_graph_backward(g, loss));
    asvk_plan_report rep;
    OK(asvk_graph_plan(ctx, g, &rep));
    CHECK(rep.planned_bytes < rep.unplanned_bytes, "planning shared nothing: %llu of %llu",
          (unsigned long long)rep.planned_bytes, (unsigned long long)rep.unplanned_bytes);
    OK(asvk_buffer_upload(ctx, asvk_graph_val(g, vx)->buf, 0, x, sizeof x));
    OK(asvk_buffer_upload(ctx, asvk_graph_val(g, vr)->buf, 0, r, sizeof r));
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    OK(asvk_graph_record(g, s, &rep));
    CHECK(rep.dispatches >= 7, "%u dispatches", rep.dispatches);

    /* reference */
    double hh[M * H], dh2[M * H], dw1[H * K] = {0}, dw2[N * H] = {0}, L = 0;
    for (uint32_t m = 0; m < M; m++)
        for (uint32_t j = 0; j < H; j++) {
            double t = 0;
            for (uint32_t k = 0; k < K; k++) t += (double)x[m * K + k] * w1[j * K + k];
            hh[m * H + j] = 2 * t;
        }
    for (uint32_t m = 0; m < M; m++)
        for (uint32_t n = 0; n < N; n++) {
            double t = 0;
            for (uint32_t j = 0; j < H; j++) t += hh[m * H + j] * w2[n * H + j];
            L += t * r[m * N + n];
        }
    for (uint32_t n = 0; n < N; n++)
        for (uint32_t j = 0; j < H; j++)
            for (uint32_t m = 0; m < M; m++) dw2[n * H + j] += r[m * N + n] * hh[m * H + j];
    for (uint32_t m = 0; m < M; m++)
        for (uint32_t j = 0; j < H; j++) {
            double t = 0;
            for (uint32_t n = 0; n < N; n++) t += r[m * N + n] * w2[n * H + j];
            dh2[m * H + j] = t;
        }
    for (uint32_t j = 0; j < H; j++)
        for (uint32_t k = 0; k < K; k++)
            for (uint32_t m = 0; m < M; m++) dw1[j * K + k] += 2 * dh2[m * H + j] * x[m * K + k];

    for (int rep_i = 0; rep_i < 2; rep_i++) { /* a replay gives the same values: gradients are written, not summed */
        OK(asvk_stream_run(s));
        float gl, g1[H * K], g2[N * H];
        OK(asvk_buffer_download(ctx, asvk_graph_val(g, loss)->buf, 0, &gl, 4));
        OK(asvk_buffer_download(ctx, asvk_params_grad(ps, i1), 0, g1, sizeof g1));
        OK(asvk_buffer_download(ctx, asvk_params_grad(ps, i2), 0, g2, sizeof g2));
        /* A few fp32 GEMMs of K <= 13 terms of size <= ~10: 1e-4 relative to each
         * tensor's largest entry is ~100x the expected rounding, and far below
         * what a missing factor 2 (the accumulated use of h) or a wrong
         * transpose would produce. */
        double m1 = 0, m2 = 0, e1 = 0, e2 = 0;
        for (uint32_t i = 0; i < H * K; i++) m1 = fmax(m1, fabs(dw1[i])), e1 = fmax(e1, fabs(g1[i] - dw1[i]));
        for (uint32_t i = 0; i < N * H; i++) m2 = fmax(m2, fabs(dw2[i])), e2 = fmax(e2, fabs(g2[i] - dw2[i]));
        CHECK(fabs(gl - L) <= 1e-4 * fabs(L) + 1e-4, "loss %g, reference %g", gl, L);
        CHECK(e1 <= 1e-4 * m1, "dW1 error %g (max %g), replay %d", e1, m1, rep_i);
        CHECK(e2 <= 1e-4 * m2, "dW2 error %g (max %g), replay %d", e2, m2, rep_i);
    }
    asvk_stream_destroy(s);
    asvk_graph_destroy(ctx, g);
    asvk_params_destroy(ctx, ps);
}

/* Random DAGs of adds: no two temporaries alive at the same node share
 * bytes, reuse does happen, and the computed values are right. */
static void planner_never_overlaps_live_values(void) {
    asvk_context *ctx = test_context();
    for (int trial = 0; trial < 6; trial++) {
        asvk_graph *g = asvk_graph_create(NULL);
        uint32_t n = test_rand_range(40, 400);
        asvk_val x = asvk_graph_value(g, "x", ASVK_VAL_INPUT, 1, &n);
        enum { V = 60 };
        asvk_val vals[V];
        double ref[V];
        vals[0] = x, ref[0] = 1.0;
        int count = 1;
        for (int i = 1; i < V; i++) {
            /* mostly recent values, sometimes old ones: long and short lives */
            int a = test_rand_range(0, 3) ? count - 1 - (int)test_rand_range(0, count > 3 ? 3 : count - 1)
                                          : (int)test_rand_range(0, count - 1);
            int b = (int)test_rand_range(0, count - 1);
            char name[16];
            snprintf(name, sizeof name, "v%d", i);
            vals[i] = asvk_op_add(g, name, vals[a], vals[b]);
            ref[i] = ref[a] + ref[b];
            count++;
        }
        /* keep the last value alive to the end by making it an output's input */
        asvk_val r = asvk_graph_value(g, "r", ASVK_VAL_INPUT, 1, &n);
        asvk_val loss = asvk_op_dot_loss(g, "loss", vals[V - 1], r);
        CHECK(loss != ASVK_NO_VAL, "%s", asvk_error_message());
        asvk_plan_report rep;
        OK(asvk_graph_plan(ctx, g, &rep));
        CHECK(rep.planned_bytes < rep.unplanned_bytes / 2, "little reuse: %llu of %llu",
              (unsigned long long)rep.planned_bytes, (unsigned long long)rep.unplanned_bytes);
        uint32_t nv = asvk_graph_value_count(g);
        for (uint32_t i = 0; i < nv; i++)
            for (uint32_t j = i + 1; j < nv; j++) {
                const asvk_value *p = asvk_graph_cval(g, (asvk_val)i), *q = asvk_graph_cval(g, (asvk_val)j);
                if (p->kind != ASVK_VAL_TEMP || q->kind != ASVK_VAL_TEMP || p->first_use < 0 || q->first_use < 0) continue;
                bool time = p->first_use <= q->last_use && q->first_use <= p->last_use;
                bool space = p->buf.block == q->buf.block && p->buf.offset < q->buf.offset + q->buf.size &&
                             q->buf.offset < p->buf.offset + p->buf.size;
                CHECK(!(time && space), "%s [%d,%d] and %s [%d,%d] overlap", p->name, p->first_use, p->last_use,
                      q->name, q->first_use, q->last_use);
            }
        float *h = malloc(n * 4), *ones = malloc(n * 4);
        for (uint32_t i = 0; i < n; i++) ones[i] = 1.0f, h[i] = 0.5f;
        OK(asvk_buffer_upload(ctx, asvk_graph_val(g, x)->buf, 0, ones, n * 4));
        OK(asvk_buffer_upload(ctx, asvk_graph_val(g, r)->buf, 0, h, n * 4));
        asvk_stream *s;
        OK(asvk_stream_create(ctx, &s));
        OK(asvk_graph_record(g, s, NULL));
        OK(asvk_stream_run(s));
        asvk_stream_destroy(s);
        float got;
        OK(asvk_buffer_download(ctx, asvk_graph_val(g, loss)->buf, 0, &got, 4));
        /* values are sums of powers of two: exact in fp32 while below 2^24 */
        double want = ref[V - 1] * 0.5 * n;
        CHECK(fabs(got - want) <= 1e-6 * want, "trial %d: got %g, want %g", trial, got, want);
        free(h), free(ones);
        asvk_graph_destroy(ctx, g);
    }
}

/* Block-wise distillation: h = x + x; L = s1 |h - t1|^2 + s2 |h - t2|^2 +
 * s3 |x - t3|^2, built as scalar_loss(add(add(mse1, mse2), mse3)), with x a
 * parameter. The loss and dL/dx against a double reference:
 *   dL/dx = 2 (2 s1 (h - t1) + 2 s2 (h - t2)) + 2 s3 (x - t3),
 * and the step buffer's loss-scale slot multiplies the gradient. t3 is a
 * parameter too (requires a gradient) and gets none: targets get nothing. */
static void distillation_loss(void) {
    asvk_context *ctx = test_context();
    enum { N = 3, F = 37, X = N * F }; /* 111 floats: a vec4 body and a scalar tail */
    const float s1 = 0.5f, s2 = 1.0f / X, s3 = 3.0f;
    asvk_param_store *ps = asvk_params_create();
    int ix = asvk_params_add(ps, "x", 2, (uint32_t[]){N, F}, ASVK_GROUP_DECAY);
    int it3 = asvk_params_add(ps, "t3", 2, (uint32_t[]){N, F}, ASVK_GROUP_DECAY);
    OK(asvk_params_alloc(ctx, ps, 0));
    float x[X], t1[X], t2[X], t3[X];
    test_fill_uniform(x, X, -1, 1);
    test_fill_uniform(t1, X, -2, 2);
    test_fill_uniform(t2, X, -1, 3);
    test_fill_uniform(t3, X, -1, 1);
    OK(asvk_params_upload(ctx, ps, ix, x));
    OK(asvk_params_upload(ctx, ps, it3, t3));

    asvk_graph *g = asvk_graph_create(ps);
    asvk_val vx = asvk_graph_param(g, "x"), vt3 = asvk_graph_param(g, "t3");
    asvk_val vt1 = asvk_graph_value(g, "t1", ASVK_VAL_INPUT, 2, (uint32_t[]){N, F});
    asvk_val vt2 = asvk_graph_value(g, "t2", ASVK_VAL_INPUT, 2, (uint32_t[]){N, F});
    asvk_val h = asvk_op_add(g, "h", vx, vx);
    asvk_val m1 = asvk_op_mse(g, "mse1", h, vt1, s1);
    asvk_val m2 = asvk_op_mse(g, "mse2", h, vt2, s2);
    asvk_val m3 = asvk_op_mse(g, "mse3", vx, vt3, s3);
    asvk_val sum = asvk_op_add(g, "sum3", asvk_op_add(g, "sum2", m1, m2), m3);
    asvk_val loss = asvk_op_scalar_loss(g, "loss", sum);
    CHECK(loss != ASVK_NO_VAL, "graph building failed: %s", asvk_error_message());
    if (loss == ASVK_NO_VAL) return;
    CHECK(asvk_graph_backward(g, m1) == ASVK_ERR_INTERNAL, "a squared-error term was accepted as the loss");
    CHECK(asvk_op_scalar_loss(g, "bad", h) == ASVK_NO_VAL, "a scalar loss of %u floats was accepted", X);
    CHECK(asvk_op_mse(g, "bad", h, sum, 1) == ASVK_NO_VAL, "a target of another size was accepted");
    OK(asvk_graph_backward(g, loss));
    CHECK(asvk_graph_val(g, vt3)->grad == ASVK_NO_VAL, "the target t3 received a gradient");
    asvk_val step = asvk_graph_step(g);
    asvk_plan_report rep;
    OK(asvk_graph_plan(ctx, g, &rep));
    OK(asvk_buffer_upload(ctx, asvk_graph_val(g, vt1)->buf, 0, t1, sizeof t1));
    OK(asvk_buffer_upload(ctx, asvk_graph_val(g, vt2)->buf, 0, t2, sizeof t2));
    float sv[ASVK_STEP_FLOATS] = {0};
    sv[ASVK_STEP_LOSS_SCALE] = 1;
    OK(asvk_buffer_upload(ctx, asvk_graph_val(g, step)->buf, 0, sv, sizeof sv));
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    OK(asvk_graph_record(g, s, &rep));

    /* reference, and per element the sum of the magnitudes of what adds up */
    double L = 0, L1 = 0, L2 = 0, L3 = 0, dx[X], dxabs[X];
    for (int i = 0; i < X; i++) {
        double hh = 2.0 * x[i], a = hh - t1[i], b = hh - t2[i], c = (double)x[i] - t3[i];
        L1 += s1 * a * a, L2 += s2 * b * b, L3 += s3 * c * c;
        dx[i] = 2 * (2 * s1 * a + 2 * s2 * b) + 2 * s3 * c;
        dxabs[i] = 2 * (2 * s1 * fabs(a) + 2 * s2 * fabs(b)) + 2 * s3 * fabs(c);
    }
    L = L1 + L2 + L3;
    float got[2][X], gl[2], gm[3];
    for (int run = 0; run < 2; run++) {
        if (run == 1) {
            sv[ASVK_STEP_LOSS_SCALE] = 2;
            OK(asvk_buffer_upload(ctx, asvk_graph_val(g, step)->buf, 0, sv, sizeof sv));
        }
        OK(asvk_stream_run(s));
        OK(asvk_buffer_download(ctx, asvk_graph_val(g, loss)->buf, 0, &gl[run], 4));
        OK(asvk_buffer_download(ctx, asvk_params_grad(ps, ix), 0, got[run], sizeof got[run]));
    }
    OK(asvk_buffer_download(ctx, asvk_graph_val(g, m1)->buf, 0, &gm[0], 4));
    OK(asvk_buffer_download(ctx, asvk_graph_val(g, m2)->buf, 0, &gm[1], 4));
    OK(asvk_buffer_download(ctx, asvk_graph_val(g, m3)->buf, 0, &gm[2], 4));
    /* Each term: sums of 111 non-negative addends in one workgroup (each
     * addend through <= 16 additions) with 4u for the difference, square and
     * scale: 20u relative; the two adds of terms 2u more. 2x margin. */
    double tl = 2 * 22 * FP32_U * L, want_m[3] = {L1, L2, L3};
    CHECK(fabs(gl[0] - L) <= tl, "loss %.9g, reference %.9g (tolerance %.3g)", gl[0], L, tl);
    CHECK(gl[1] == gl[0], "the loss scale changed the loss: %.9g then %.9g", gl[0], gl[1]);
    for (int k = 0; k < 3; k++)
        CHECK(fabs(gm[k] - want_m[k]) <= 2 * 20 * FP32_U * want_m[k], "term %d: %.9g, reference %.9g", k + 1, gm[k],
              want_m[k]);
    int bad = 0;
    for (int i = 0; i < X; i++) {
        /* Each of the three contributions is f (y - t) with f = fl(2 s dL)
         * (3u with the difference and product), and four fp32 additions
         * join them (h's two, the accumulation of mse2 into h's gradient, and
         * x's): (3 + 4)u of the sum of their magnitudes. 2x margin. */
        double tol = 2 * 7 * FP32_U * dxabs[i];
        if (!(fabs(got[0][i] - dx[i]) <= tol) && bad++ < 4)
            CHECK(0, "dL/dx[%d] = %.9g, reference %.9g (tolerance %.3g)", i, got[0][i], dx[i], tol);
        /* A loss scale of 2 doubles every value the backward computes, and
         * doubling is exact in fp32: twice the gradient, bit for bit. */
        if (!(got[1][i] == 2 * got[0][i]) && bad++ < 4)
            CHECK(0, "loss scale 2: dL/dx[%d] = %.9g, expected 2 x %.9g", i, got[1][i], got[0][i]);
    }
    asvk_stream_destroy(s);
    asvk_graph_destroy(ctx, g);
    asvk_params_destroy(ctx, ps);
}

static void params_are_grouped_and_aligned(void) {
    asvk_param_store *ps = asvk_params_create();
    CHECK(asvk_params_add(ps, "a", 1, (uint32_t[]){5}, ASVK_GROUP_DECAY) == 0, "a");
    CHECK(asvk_params_add(ps, "b", 2, (uint32_t[]){3, 3}, ASVK_GROUP_DECAY) == 1, "b");
    CHECK(asvk_params_add(ps, "c", 1, (uint32_t[]){7}, ASVK_GROUP_STATE) == 2, "c");
    CHECK(asvk_params_add(ps, "a", 1, (uint32_t[]){5}, ASVK_GROUP_DECAY) == 0, "re-declaring the same shape");
    CHECK(asvk_params_add(ps, "a", 1, (uint32_t[]){6}, ASVK_GROUP_DECAY) == -1, "a different shape was accepted");
    CHECK(ps->items[1].offset == 8 && ps->group_floats[ASVK_GROUP_DECAY] == 20, "offsets %llu, group %llu",
          (unsigned long long)ps->items[1].offset, (unsigned long long)ps->group_floats[0]);
    CHECK(asvk_params_trainable(ps) == 14, "trainable %llu", (unsigned long long)asvk_params_trainable(ps));
    asvk_context *ctx = test_context();
    OK(asvk_params_alloc(ctx, ps, 2));
    float z[20] = {1};
    OK(asvk_buffer_download(ctx, ps->opt[0][1], 0, z, sizeof z));
    bool zero = true;
    for (int i = 0; i < 20; i++) zero &= z[i] == 0;
    CHECK(zero, "optimizer state is not zeroed");
    asvk_params_destroy(ctx, ps);
}

/* ---- node cost keys (latency tables) ---- */

typedef struct {
    char keys[256][256];
    uint32_t n;
} key_list;

static void collect(void *user, const char *key) {
    key_list *k = user;
    if (k->n < 256) snprintf(k->keys[k->n++], sizeof k->keys[0], "%s", key);
}

static bool has_key(const key_list *k, const char *want) {
    for (uint32_t i = 0; i < k->n; i++)
        if (strcmp(k->keys[i], want) == 0) return true;
    return false;
}

static void node_keys(void) {
    /* the inference graph of a small MobileNetV2 at 32x32: keys name op, cost attributes and shapes, and
     * are the same for the same architecture every time (no device involved) */
    asvk_arch a;
    OK(asvk_arch_builtin("mbv2:w=0.5:r=32:classes=10", &a));
    static key_list k1, k2;
    k1.n = k2.n = 0;
    OK(asvk_arch_node_keys(&a, 1, collect, &k1));
    OK(asvk_arch_node_keys(&a, 1, collect, &k2));
    CHECK(k1.n > 50 && k1.n == k2.n && memcmp(k1.keys, k2.keys, sizeof k1.keys) == 0, "keys differ between builds");
    /* the stem: 3x3 stride-2 conv of 3 -> 16 channels, its BN folded in: bias and ReLU6 in the epilogue */
    CHECK(has_key(&k1, "conv[k3x3 s2x2 p1x1 g1 bias act2] 1x3x32x32 16x3x3x3 16 -> 1x16x16x16"), "no stem conv key (first: %s)",
          k1.keys[0]);
    /* the first block's depthwise conv: groups = channels, weights as stored (OHWI) */
    CHECK(has_key(&k1, "conv[k3x3 s1x1 p1x1 g16 bias act2] 1x16x16x16 16x3x3x1 16 -> 1x16x16x16"), "no depthwise key (%s)",
          k1.keys[1]);
    /* inference folds every BN (runtime/fold.h): none is left */
    for (uint32_t i = 0; i < k1.n; i++) CHECK(strncmp(k1.keys[i], "batchnorm", 9) != 0, "a BN in inference: %s", k1.keys[i]);
    OK(asvk_arch_node_keys(&a, 4, collect, &k2));
    CHECK(has_key(&k2, "conv[k3x3 s2x2 p1x1 g1 bias act2] 4x3x32x32 16x3x3x3 16 -> 4x16x16x16"), "batch 4 not in the key");
    asvk_arch_free(&a);
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"autograd_matches_reference", autograd_matches_reference},
        {"planner_never_overlaps_live_values", planner_never_overlaps_live_values},
        {"params_are_grouped_and_aligned", params_are_grouped_and_aligned},
        {"distillation_loss", distillation_loss},
        {"node_keys", node_keys},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
