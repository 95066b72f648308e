/* Batch norm fused into the convolutions that read its output
 * (runtime/ops/fuse_bn.c): a training step of the fused graph computes what
 * the unfused graph computes (loss, every parameter's gradient, the running
 * statistics), one dispatch fewer per fused BN, through every path a fused
 * load takes: GEMM operand A (forward) and B (weight gradient, K-slices and
 * group batches), depthwise forward and weight gradient, vec4 and scalar
 * channels, each activation, the CPU and GPU tuning rows and every GEMM
 * kernel, the residual add (either or both inputs) and the global pool; a
 * BN with a reader that cannot apply it stays unfused. On the GPU row also
 * the BN's dx computed by the backward-data and weight gradient of the 1x1
 * that produced its input (GEMM operand A, plain and transposed, K-slices
 * and group batches), one dispatch fewer each. Then the networks of the
 * parity test and fmnist's, trained one step both ways. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/graph.h"
#include "runtime/model.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/nn.h"
#include "runtime/params.h"
#include "tests/harness.h"

#ifndef ASVK_SOURCE_DIR
#define ASVK_SOURCE_DIR "."
#endif

/* A chain of convolutions and BNs (one "block" per row): what each BN
 * feeds decides whether it fuses. */
typedef struct {
    uint32_t cout, k, stride, groups;
    asvk_act act;  /* the BN's activation after this conv */
    bool residual; /* then h = add(the BN's output, this layer's input) */
    uint32_t pool; /* else, when nonzero, h = max pool of the BN's output: a pool x pool window, stride 1, pad pool/2 */
} layer;

typedef struct {
    const char *name;
    uint32_t n, h, cin;
    const layer *layers;
    uint32_t count;
    bool pool_last; /* the last BN feeds a global pool (which applies it as it loads) */
    uint32_t expect_fused;
    uint32_t expect_bwd_fused; /* on the GPU row */
} chain;

static void declare(asvk_param_store *ps, const chain *c) {
    uint32_t cin = c->cin;
    char nm[64];
    for (uint32_t i = 0; i < c->count; i++) {
        const layer *l = &c->layers[i];
        snprintf(nm, sizeof nm, "c%u.weight", i);
        asvk_params_add(ps, nm, 4, (uint32_t[]){l->cout, l->k, l->k, cin / l->groups}, ASVK_GROUP_DECAY);
        snprintf(nm, sizeof nm, "c%u_bn.weight", i);
        asvk_params_add(ps, nm, 1, &l->cout, ASVK_GROUP_NO_DECAY);
        snprintf(nm, sizeof nm, "c%u_bn.bias", i);
        asvk_params_add(ps, nm, 1, &l->cout, ASVK_GROUP_NO_DECAY);
        snprintf(nm, sizeof nm, "c%u_bn.running_mean", i);
        asvk_params_add(ps, nm, 1, &l->cout, ASVK_GROUP_STATE);
        snprintf(nm, sizeof nm, "c%u_bn.running_var", i);
        asvk_params_add(ps, nm, 1, &l->cout, ASVK_GROUP_STATE);
        cin = l->cout;
    }
}

/* L = sum(out * r): out the last BN's output, or its global pool. */
static void build(asvk_param_store *ps, const chain *c, bool fuse, asvk_val *x, asvk_val *r, asvk_val *loss,
                  asvk_graph **out) {
    asvk_graph *g = *out = asvk_graph_create(ps);
    asvk_graph_set_fusion(g, fuse);
    *x = asvk_graph_act(g, "x", (asvk_nhwc){c->n, c->h, c->h, c->cin});
    asvk_graph_val(g, *x)->kind = ASVK_VAL_INPUT;
    asvk_val h = *x;
    char nm[64], p[4][64];
    for (uint32_t i = 0; i < c->count; i++) {
        const layer *l = &c->layers[i];
        asvk_val in = h;
        snprintf(nm, sizeof nm, "c%u.weight", i);
        asvk_val w = asvk_graph_param(g, nm);
        snprintf(nm, sizeof nm, "c%u", i);
        h = asvk_op_conv(g, nm, h, w, ASVK_NO_VAL, l->cout, l->k, l->stride, l->k / 2, l->groups);
        snprintf(p[0], 64, "c%u_bn.weight", i), snprintf(p[1], 64, "c%u_bn.bias", i);
        snprintf(p[2], 64, "c%u_bn.running_mean", i), snprintf(p[3], 64, "c%u_bn.running_var", i);
        snprintf(nm, sizeof nm, "c%u_bn", i);
        h = asvk_op_bn(g, nm, h, asvk_graph_param(g, p[0]), asvk_graph_param(g, p[1]), asvk_graph_param(g, p[2]),
                       asvk_graph_param(g, p[3]), l->act, 1e-5f, 0.1f, true);
        snprintf(nm, sizeof nm, "c%u_res", i);
        if (l->residual) h = asvk_op_add(g, nm, h, in);
        snprintf(nm, sizeof nm, "c%u_pool", i);
        if (l->pool) h = asvk_op_pool(g, nm, h, ASVK_POOL_MAX, l->pool, 1, l->pool / 2);
    }
    if (c->pool_last) h = asvk_op_global_pool(g, "pool", h);
    asvk_nhwc s = asvk_graph_shape(g, h);
    *r = asvk_graph_act(g, "r", s);
    asvk_graph_val(g, *r)->kind = ASVK_VAL_INPUT;
    *loss = asvk_op_dot_loss(g, "loss", h, *r);
    CHECK(*loss != ASVK_NO_VAL, "%s: building failed: %s", c->name, asvk_error_message());
    OK(asvk_graph_backward(g, *loss));
}

/* Every float of the store's parameters, gradients and state after one step. */
typedef struct { float loss; float *v[64]; float *gr[64]; uint32_t plan_fused, bwd_fused, elided, dispatches; } step_result;

static void run_step(asvk_param_store *ps, const chain *c, bool fuse, const float *xin, const float *rin,
                     step_result *out) {
    asvk_context *ctx = test_context();
    asvk_val x, r, loss;
    asvk_graph *g;
    build(ps, c, fuse, &x, &r, &loss, &g);
    asvk_plan_report rep;
    OK(asvk_graph_plan(ctx, g, &rep));
    out->plan_fused = rep.fused_bn, out->bwd_fused = rep.fused_bn_backward, out->elided = rep.elided_copies;
    const asvk_value *xv = asvk_graph_cval(g, x), *rv = asvk_graph_cval(g, r);
    OK(asvk_buffer_upload(ctx, xv->buf, 0, xin, xv->floats * 4));
    OK(asvk_buffer_upload(ctx, rv->buf, 0, rin, rv->floats * 4));
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    OK(asvk_graph_record(g, s, &rep));
    out->dispatches = rep.dispatches;
    OK(asvk_stream_run(s));
    OK(asvk_buffer_download(ctx, asvk_graph_cval(g, loss)->buf, 0, &out->loss, 4));
    for (uint32_t i = 0; i < ps->count && i < 64; i++) {
        out->v[i] = malloc(ps->items[i].floats * 4);
        OK(asvk_params_download(ctx, ps, (int)i, out->v[i]));
        out->gr[i] = NULL;
        if (asvk_group_trainable(ps->items[i].group)) {
            out->gr[i] = malloc(ps->items[i].floats * 4);
            OK(asvk_buffer_download(ctx, asvk_params_grad(ps, (int)i), 0, out->gr[i], ps->items[i].floats * 4));
        }
    }
    asvk_stream_destroy(s);
    asvk_graph_destroy(ctx, g);
}

static void free_result(const asvk_param_store *ps, step_result *r) {
    for (uint32_t i = 0; i < ps->count && i < 64; i++) free(r->v[i]), free(r->gr[i]);
}

/* Norm-wise difference of a against b, relative to b's norm, or to an RMS
 * of 1e-3 an element for a tensor that is only rounding noise (the bias
 * gradient of a BN whose output another BN normalises is zero in exact
 * arithmetic, so any difference in rounding, e.g. a compiler contracting
 * the apply differently, is O(1) relative to it). Gradients here are 1e-2
 * to 1: a wrong channel or activation is still off by O(1). */
static double rel_diff(const float *a, const float *b, uint64_t n) {
    double d = 0, m = 0;
    for (uint64_t i = 0; i < n; i++) d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), m += (double)b[i] * b[i];
    return sqrt(d / fmax(m, 1e-6 * (double)n));
}

static void fused_equals_unfused(const chain *c) {
    asvk_context *ctx = test_context();
    asvk_param_store *ps = asvk_params_create();
    declare(ps, c);
    OK(asvk_params_alloc(ctx, ps, 0));
    /* weights, and BN parameters and running statistics away from 1 and 0 */
    float *init[64];
    for (uint32_t i = 0; i < ps->count; i++) {
        const asvk_store_item *it = &ps->items[i];
        init[i] = malloc(it->floats * 4);
        bool var = strstr(it->name, "running_var") != NULL, gamma = strstr(it->name, "_bn.weight") != NULL;
        for (uint64_t k = 0; k < it->floats; k++)
            init[i][k] = var ? test_rand_uniform(0.5f, 2.0f) : gamma ? test_rand_uniform(0.5f, 1.5f)
                                                                    : test_rand_uniform(-0.5f, 0.5f);
        OK(asvk_params_upload(ctx, ps, (int)i, init[i]));
    }
    uint64_t nx = (uint64_t)c->n * c->h * c->h * c->cin;
    float *x = malloc(nx * 4), *r = malloc(nx * 64 * 4);
    test_fill_uniform(x, nx, -2, 2);
    test_fill_uniform(r, nx * 64, -1, 1); /* at least the output's floats */
    step_result a, b;
    run_step(ps, c, false, x, r, &a);
    for (uint32_t i = 0; i < ps->count; i++) OK(asvk_params_upload(ctx, ps, (int)i, init[i])); /* running stats back */
    run_step(ps, c, true, x, r, &b);
    CHECK(a.plan_fused == 0, "%s: the unfused graph fused %u", c->name, a.plan_fused);
    CHECK(b.plan_fused == c->expect_fused, "%s: %u BNs fused, expected %u", c->name, b.plan_fused, c->expect_fused);
    /* On the GPU row (asvk_conv_fuse_bn_backward) the BN's dx goes into the
     * 1x1 convolutions that produced its input: c2's BN (after a grouped
     * 1x1) and the 1x1s' in each chain; CPU devices keep the dx pass. The
     * residual add's gradient copies are elided too (test_elide_copy.c):
     * both, or, when the single-convolution branch's backward-data reads the
     * add's gradient through the fused BN while it accumulates into the
     * block input's, one. */
    bool gpu = asvk_conv_fuse_bn_backward(test_context());
    CHECK(a.bwd_fused == 0 && (b.bwd_fused == c->expect_bwd_fused || !gpu) && (gpu || b.bwd_fused == 0),
          "%s: %u / %u BN backwards fused, expected %u", c->name, a.bwd_fused, b.bwd_fused, gpu ? c->expect_bwd_fused : 0);
    CHECK(a.elided == 0 && b.elided == (b.bwd_fused ? 1u : 2u), "%s: %u / %u gradient copies elided", c->name, a.elided,
          b.elided);
    CHECK(a.dispatches - b.dispatches == b.plan_fused + b.bwd_fused + b.elided,
          "%s: %u dispatches unfused, %u fused (%u fused BNs, %u BN backwards, %u copies elided)", c->name,
          a.dispatches, b.dispatches, b.plan_fused, b.bwd_fused, b.elided);
    /* The loads compute bn_apply's expression in its order, so the forward
     * agrees to rounding (a compiler may contract differently); the
     * gradients go through the same kernels after that: 1e-5 norm-wise
     * (rel_diff) is ~100x the differences a reassociated apply makes, and a
     * wrong channel, a missing activation or an applied-twice BN is off by
     * O(1). */
    CHECK(fabs(a.loss - b.loss) <= 1e-5 * fabs(a.loss) + 1e-6, "%s: loss %.9g unfused, %.9g fused", c->name, a.loss,
          b.loss);
    for (uint32_t i = 0; i < ps->count; i++) {
        const asvk_store_item *it = &ps->items[i];
        double d = rel_diff(b.v[i], a.v[i], it->floats);
        CHECK(d <= 1e-5, "%s: %s differs by %.3g after the step", c->name, it->name, d);
        if (a.gr[i]) {
            d = rel_diff(b.gr[i], a.gr[i], it->floats);
            CHECK(d <= 1e-5, "%s: the gradient of %s differs by %.3g", c->name, it->name, d);
        }
    }
    free_result(ps, &a), free_result(ps, &b);
    for (uint32_t i = 0; i < ps->count; i++) free(init[i]);
    free(x), free(r);
    asvk_params_destroy(ctx, ps);
}

/* Scalar channels (6, 10, 7: no vec4 loads), a grouped 1x1 (group batches,
 * channel stride 5) and hswish/relu6/none; a 3x3 stem (direct path: its
 * input is the network's, not a BN's); a residual add of two BN outputs.
 * Fused: the BNs after c0 (read by a depthwise), c1 (a 3x3 max pool of
 * hswish, whose maxima the backward finds through the BN too: strips of 4
 * outputs), c2 (a 9x9 max pool: one output per invocation), c3 (the add), c4
 * (the global pool, a ragged quad). */
static const layer scalar_layers[] = {
    {10, 3, 1, 1, ASVK_ACT_RELU6, false, 0}, {10, 3, 2, 10, ASVK_ACT_HSWISH, false, 3},
    {6, 1, 1, 2, ASVK_ACT_NONE, false, 9},   {6, 1, 1, 1, ASVK_ACT_RELU, true, 0},
    {7, 1, 1, 1, ASVK_ACT_RELU, false, 0},
};
/* vec4 channels and 32x32 maps: the 1x1 weight gradients are split into
 * K-slices (1024+ pixels); a 5x5 depthwise; a residual add of two BN
 * outputs; a 2x2 max pool of swish (vec4 loads through the BN); the last BN is read by the loss, so it stays unfused (the vec4
 * pool path: fmnist's head in the networks case). */
static const layer vec_layers[] = {
    {16, 3, 1, 1, ASVK_ACT_RELU, false, 0},  {16, 5, 1, 16, ASVK_ACT_RELU6, false, 0},
    {24, 1, 1, 1, ASVK_ACT_NONE, false, 0},  {24, 1, 1, 1, ASVK_ACT_RELU6, true, 0},
    {12, 1, 1, 1, ASVK_ACT_SWISH, false, 2}, {12, 3, 2, 12, ASVK_ACT_HSIGMOID, false, 0},
    {8, 1, 1, 1, ASVK_ACT_RELU, false, 0},
};
static const chain chains[] = {
    {"scalar", 2, 9, 3, scalar_layers, 5, true, 5, 3},
    {"vec", 2, 32, 3, vec_layers, 7, false, 6, 4},
};

static void both_chains(void) {
    for (size_t i = 0; i < sizeof chains / sizeof chains[0]; i++) fused_equals_unfused(&chains[i]);
}

static void gpu_row(void) {
    setenv("ASVK_CONV_TUNE", "gpu", 1);
    both_chains();
    unsetenv("ASVK_CONV_TUNE");
}

/* Every GEMM kernel with every fused load: the GPU row (the BN's apply on
 * A and B, its backward on A, K-slices merged in the dispatch) for each, and
 * another register tiling (one row quad) on the CPU row too (K-slices
 * summed by a second pass). */
static void gemm_kernels(void) {
    static const char *const kernels[] = {"naive", "smem:4x4:16x16:16", "reg:4x4:16x4"};
    for (size_t k = 0; k < 3; k++) {
        setenv("ASVK_GEMM", kernels[k], 1);
        if (k == 2) both_chains();
        gpu_row();
    }
    unsetenv("ASVK_GEMM");
}

/* A network's training step (no optimizer) both ways: loss and every
 * gradient. */
enum { SOME = 1, ALL = 2 }; /* network_step's expect_fused: some BNs fused, or every one */
static void network_step(const char *spec, uint32_t batch, int expect_fused) {
    asvk_context *ctx = test_context();
    asvk_arch a;
    OK(asvk_arch_open(spec, &a));
    asvk_param_store *ps = asvk_params_create();
    OK(asvk_model_declare(&a, ps));
    OK(asvk_params_alloc(ctx, ps, 0));
    OK(asvk_model_init(ctx, &a, ps, 5));
    /* BN affine parameters away from 1 and 0 (a dropped beta must show) */
    for (uint32_t i = 0; i < ps->count; i++) {
        const asvk_store_item *it = &ps->items[i];
        size_t len = strlen(it->name);
        if (!(len > 8 && (strcmp(it->name + len - 7, ".weight") == 0 || strcmp(it->name + len - 5, ".bias") == 0) &&
              strstr(it->name, "bn")))
            continue;
        float *v = malloc(it->floats * 4);
        OK(asvk_params_download(ctx, ps, (int)i, v));
        for (uint64_t k = 0; k < it->floats; k++) v[k] += test_rand_uniform(-0.3f, 0.3f);
        OK(asvk_params_upload(ctx, ps, (int)i, v));
        free(v);
    }
    uint64_t nx = (uint64_t)batch * a.resolution * a.resolution * a.in_channels;
    float *x = malloc(nx * 4), labels[16];
    test_fill_uniform(x, nx, -2, 2);
    for (uint32_t i = 0; i < batch; i++) labels[i] = (float)(i % a.num_classes);
    float loss[2];
    float *grads[2][512] = {{0}};
    uint32_t fused[2], elided[2], disp[2], bns = 0;
    CHECK(ps->count <= 512, "%u tensors", ps->count);
    for (int f = 0; f < 2; f++) {
        asvk_model m;
        OK(asvk_model_build(&a, ps, batch, 0, true, 0.1f, &m));
        asvk_graph_set_fusion(m.graph, f == 1);
        OK(asvk_graph_backward(m.graph, m.loss));
        uint32_t nn;
        const asvk_node *nodes = asvk_graph_nodes(m.graph, &nn);
        for (uint32_t i = 0; i < nn && f == 0; i++) bns += nodes[i].op == ASVK_OP_BN;
        asvk_plan_report rep;
        OK(asvk_graph_plan(ctx, m.graph, &rep));
        fused[f] = rep.fused_bn, elided[f] = rep.elided_copies;
        OK(asvk_buffer_upload(ctx, asvk_graph_cval(m.graph, m.input)->buf, 0, x, nx * 4));
        OK(asvk_buffer_upload(ctx, asvk_graph_cval(m.graph, m.labels)->buf, 0, labels, batch * 4));
        float step[ASVK_STEP_FLOATS] = {0};
        step[ASVK_STEP_LOSS_SCALE] = 1; /* dL/dloss */
        OK(asvk_buffer_upload(ctx, asvk_graph_cval(m.graph, asvk_graph_step(m.graph))->buf, 0, step, sizeof step));
        asvk_stream *s;
        OK(asvk_stream_create(ctx, &s));
        OK(asvk_graph_record(m.graph, s, &rep));
        disp[f] = rep.dispatches;
        OK(asvk_stream_run(s));
        OK(asvk_buffer_download(ctx, asvk_graph_cval(m.graph, m.loss)->buf, 0, &loss[f], 4));
        for (uint32_t i = 0; i < ps->count && i < 512; i++) {
            if (!asvk_group_trainable(ps->items[i].group)) continue;
            grads[f][i] = malloc(ps->items[i].floats * 4);
            OK(asvk_buffer_download(ctx, asvk_params_grad(ps, (int)i), 0, grads[f][i], ps->items[i].floats * 4));
        }
        asvk_stream_destroy(s);
        asvk_graph_destroy(ctx, m.graph);
    }
    CHECK(fused[0] == 0 && (fused[1] > 0) == (expect_fused != 0), "%s: %u / %u BNs fused", spec, fused[0], fused[1]);
    /* fmnist: every BN (convolutions, residual adds, the head's global pool) */
    CHECK(expect_fused != ALL || fused[1] == bns, "%s: %u of %u BNs fused, expected all", spec, fused[1], bns);
    CHECK(elided[0] == 0, "%s: %u copies elided unfused", spec, elided[0]);
    CHECK(disp[0] - disp[1] == fused[1] + elided[1], "%s: %u dispatches unfused, %u fused (%u copies elided)", spec,
          disp[0], disp[1], elided[1]);
    CHECK(fabsf(loss[0] - loss[1]) <= 1e-5f * fabsf(loss[0]), "%s: loss %.9g unfused, %.9g fused", spec, loss[0],
          loss[1]);
    for (uint32_t i = 0; i < ps->count && i < 512; i++) {
        if (!grads[0][i]) continue;
        double d = rel_diff(grads[1][i], grads[0][i], ps->items[i].floats);
        /* through a whole network: ~10-20 layers of rounding */
        CHECK(d <= 1e-4, "%s: the gradient of %s differs by %.3g", spec, ps->items[i].name, d);
        free(grads[0][i]), free(grads[1][i]);
    }
    free(x);
    asvk_params_destroy(ctx, ps);
    asvk_arch_free(&a);
}

static void networks(void) {
    network_step(ASVK_SOURCE_DIR "/tests/torch/parity_arch.json", 3, SOME);
    network_step(ASVK_SOURCE_DIR "/tests/torch/parity_cells_arch.json", 3, SOME);
    network_step("fmnist", 4, ALL);
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"chains", both_chains},
        {"chains_gpu_row", gpu_row},
        {"chains_gemm_kernels", gemm_kernels},
        {"networks", networks},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
