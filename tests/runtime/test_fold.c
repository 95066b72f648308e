/* Inference with BN folded into the convolutions (runtime/fold.h): the
 * folded inference graph of a network computes what the plain conv -> BN
 * graph computes with the same weights and running statistics, for the
 * layer zoo of the parity test (convs with and without BN and bias, mbconv
 * with SE, pools, linear) and for a network of AutoSpace cells; the fold
 * follows changed weights; folded tensors stay out of checkpoints. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/fold.h"
#include "runtime/model.h"
#include "tests/harness.h"

#ifndef ASVK_SOURCE_DIR
#define ASVK_SOURCE_DIR "."
#endif

/* Logits of the inference graph over `ps` for input x. */
static asvk_status logits_of(const asvk_arch *a, asvk_param_store *ps, uint32_t batch, const float *x, float *out) {
    asvk_context *ctx = test_context();
    asvk_model m;
    asvk_status st = asvk_model_build(a, ps, batch, 0, false, 0, &m);
    if (st) return st;
    asvk_graph_val(m.graph, m.logits)->kind = ASVK_VAL_OUTPUT;
    asvk_stream *s = NULL;
    uint64_t nx = (uint64_t)batch * a->resolution * a->resolution * a->in_channels;
    float labels[8] = {0};
    if (!(st = asvk_graph_plan(ctx, m.graph, NULL)) &&
        !(st = asvk_buffer_upload(ctx, asvk_graph_cval(m.graph, m.input)->buf, 0, x, nx * 4)) &&
        !(st = asvk_buffer_upload(ctx, asvk_graph_cval(m.graph, m.labels)->buf, 0, labels, batch * 4)) &&
        !(st = asvk_stream_create(ctx, &s)) && !(st = asvk_graph_record(m.graph, s, NULL)) && !(st = asvk_stream_run(s)))
        st = asvk_buffer_download(ctx, asvk_graph_cval(m.graph, m.logits)->buf, 0, out, (uint64_t)batch * a->num_classes * 4);
    asvk_stream_destroy(s);
    asvk_graph_destroy(ctx, m.graph);
    return st;
}

static uint32_t count_ops(const asvk_arch *a, asvk_param_store *ps, const char *op) {
    asvk_model m;
    if (asvk_model_build(a, ps, 1, 0, false, 0, &m)) return 0;
    uint32_t n, k = 0;
    asvk_graph_nodes(m.graph, &n);
    for (uint32_t i = 0; i < n; i++) k += strcmp(asvk_graph_node_op_name(m.graph, i), op) == 0;
    asvk_graph_destroy(NULL, m.graph);
    return k;
}

static void folded_equals_plain(const char *file) {
    asvk_context *ctx = test_context();
    asvk_arch a;
    OK(asvk_arch_load(file, &a));
    asvk_param_store *fs = asvk_params_create(), *ps = asvk_params_create();
    OK(asvk_model_declare(&a, fs));
    /* the plain store: the same tensors without the derived ones */
    for (uint32_t i = 0; i < fs->count; i++)
        if (!asvk_fold_is_derived(fs->items[i].name))
            CHECK(asvk_params_add(ps, fs->items[i].name, fs->items[i].ndim, fs->items[i].dims, fs->items[i].group) >= 0,
                  "declare %s", fs->items[i].name);
    CHECK(fs->count > ps->count, "%s: nothing to fold", file);
    OK(asvk_params_alloc(ctx, fs, 0));
    OK(asvk_params_alloc(ctx, ps, 0));
    OK(asvk_model_init(ctx, &a, fs, 3));
    /* non-trivial BN: gammas, betas, running means and variances away from 1 and 0 */
    for (uint32_t i = 0; i < fs->count; i++) {
        const asvk_store_item *it = &fs->items[i];
        if (asvk_fold_is_derived(it->name)) continue;
        float *v = malloc(it->floats * 4);
        OK(asvk_params_download(ctx, fs, (int)i, v));
        bool var = strstr(it->name, "running_var") != NULL;
        for (uint64_t k = 0; k < it->floats; k++) v[k] = var ? test_rand_uniform(0.2f, 2.0f) : v[k] + test_rand_uniform(-0.3f, 0.3f);
        OK(asvk_params_upload(ctx, fs, (int)i, v));
        OK(asvk_params_upload(ctx, ps, asvk_params_find(ps, it->name), v));
        free(v);
    }
    OK(asvk_fold_run(ctx, fs, (float)a.bn_eps));
    CHECK(count_ops(&a, fs, "batchnorm") == 0 && count_ops(&a, ps, "batchnorm") > 0, "%s: the folded graph keeps a BN", file);
    const uint32_t batch = 3;
    uint64_t nx = (uint64_t)batch * a.resolution * a.resolution * a.in_channels, nl = (uint64_t)batch * a.num_classes;
    float *x = malloc(nx * 4), *yf = malloc(nl * 4), *yp = malloc(nl * 4);
    test_fill_uniform(x, nx, -2, 2);
    OK(logits_of(&a, fs, batch, x, yf));
    OK(logits_of(&a, ps, batch, x, yp));
    /* norm-wise: folding reassociates a BN's affine map into the convolution's
     * sums (a few ulps per layer, through ~10 layers): 1e-5 relative is 100x that */
    double d = 0, r = 0;
    for (uint64_t i = 0; i < nl; i++) d += (yf[i] - yp[i]) * (double)(yf[i] - yp[i]), r += (double)yp[i] * yp[i];
    CHECK(sqrt(d) <= 1e-5 * sqrt(r) && r > 0, "%s: folded logits differ by %.3g (norm %.3g)", file, sqrt(d), sqrt(r));
    /* changed weights need a new fold: stale folded tensors give other logits */
    int w = -1;
    for (uint32_t i = 0; i < fs->count && w < 0; i++)
        if (fs->items[i].ndim == 4 && !asvk_fold_is_derived(fs->items[i].name) && strstr(fs->items[i].name, "layers.0.")) w = (int)i;
    CHECK(w >= 0, "no stem weight");
    if (w >= 0) {
        float *v = malloc(fs->items[w].floats * 4);
        OK(asvk_params_download(ctx, fs, w, v));
        for (uint64_t k = 0; k < fs->items[w].floats; k++) v[k] *= 2;
        OK(asvk_params_upload(ctx, fs, w, v));
        OK(asvk_params_upload(ctx, ps, asvk_params_find(ps, fs->items[w].name), v));
        free(v);
        OK(asvk_fold_run(ctx, fs, (float)a.bn_eps));
        OK(logits_of(&a, fs, batch, x, yf));
        OK(logits_of(&a, ps, batch, x, yp));
        d = r = 0;
        for (uint64_t i = 0; i < nl; i++) d += (yf[i] - yp[i]) * (double)(yf[i] - yp[i]), r += (double)yp[i] * yp[i];
        CHECK(sqrt(d) <= 1e-5 * sqrt(r), "%s: refolded logits differ by %.3g", file, sqrt(d));
    }
    free(x), free(yf), free(yp);
    asvk_params_destroy(ctx, fs);
    asvk_params_destroy(ctx, ps);
    asvk_arch_free(&a);
}

static void zoo(void) { folded_equals_plain(ASVK_SOURCE_DIR "/tests/torch/parity_arch.json"); }
static void cells(void) { folded_equals_plain(ASVK_SOURCE_DIR "/tests/torch/parity_cells_arch.json"); }

static void derived_names(void) {
    CHECK(asvk_fold_is_derived("layers.3.expand.fold_w") && asvk_fold_is_derived("layers.1.e2_0.fold_b"), "derived");
    CHECK(!asvk_fold_is_derived("layers.3.expand.weight") && !asvk_fold_is_derived("layers.0.bn.running_var"), "not derived");
    asvk_arch a;
    OK(asvk_arch_builtin("mbv2:w=0.35:r=32:classes=10", &a));
    asvk_param_store *ps = asvk_params_create();
    OK(asvk_model_declare(&a, ps));
    char w[160], b[160];
    CHECK(asvk_fold_names(ps, "layers.0.conv.weight", w, b, sizeof w) && strcmp(w, "layers.0.conv.fold_w") == 0,
          "the stem has no folded pair");
    CHECK(asvk_fold_names(ps, "layers.2.dw.weight", w, b, sizeof w), "the depthwise conv has no folded pair");
    /* SE convolutions have a bias and no BN, the classifier is linear: nothing to fold */
    uint32_t derived = 0, convs_with_bn = 0;
    for (uint32_t i = 0; i < ps->count; i++) {
        derived += asvk_fold_is_derived(ps->items[i].name);
        const char *n = ps->items[i].name;
        size_t len = strlen(n);
        convs_with_bn += len > 10 && strcmp(n + len - 10, "_bn.weight") == 0;
        convs_with_bn += len > 10 && strcmp(n + len - 10, ".bn.weight") == 0;
    }
    CHECK(derived == 2 * convs_with_bn, "%u derived tensors for %u convolutions with BN", derived, convs_with_bn);
    asvk_params_destroy(NULL, ps);
    asvk_arch_free(&a);
}

int main(int argc, char **argv) {
    static const test_case cases[] = {{"zoo", zoo}, {"cells", cells}, {"derived_names", derived_names}};
    return test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
