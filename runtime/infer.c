/* Inference on host inputs; see infer.h. */
#include "runtime/infer.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/fold.h"
#include "runtime/model.h"
#include "runtime/profile.h"

struct asvk_infer {
    asvk_context *ctx;
    asvk_arch arch;
    asvk_param_store *ps;
};

asvk_status asvk_infer_create(asvk_context *ctx, const asvk_arch *a, const asvk_param_store *weights, uint64_t seed,
                              asvk_infer **out) {
    *out = NULL;
    asvk_infer *f = calloc(1, sizeof *f);
    if (!f) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    f->ctx = ctx;
    asvk_arch_init(&f->arch);
    asvk_status st = asvk_arch_copy(&f->arch, a);
    if (!st && !(f->ps = asvk_params_create())) st = asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    if (!st) st = asvk_model_declare(a, f->ps);
    if (!st) st = asvk_params_alloc(ctx, f->ps, 0);
    if (!st && !weights) st = asvk_model_init(ctx, a, f->ps, seed);
    for (uint32_t i = 0; !st && weights && i < f->ps->count; i++) {
        const asvk_store_item *p = &f->ps->items[i];
        if (asvk_fold_is_derived(p->name)) continue; /* refolded below */
        int k = asvk_params_find(weights, p->name);
        if (k < 0 || weights->items[k].floats != p->floats) {
            st = asvk_error_set(ASVK_ERR_INTERNAL, "the weights given for %s lack %s", a->name, p->name);
            break;
        }
        float *v = malloc(p->floats * sizeof *v + 4);
        if (!v) st = asvk_error_set(ASVK_ERR_OOM, "out of host memory");
        if (!st) st = asvk_params_download(ctx, weights, k, v);
        if (!st) st = asvk_params_upload(ctx, f->ps, (int)i, v);
        free(v);
    }
    if (!st) st = asvk_fold_run(ctx, f->ps, (float)a->bn_eps);
    if (st) {
        asvk_infer_destroy(f);
        return st;
    }
    *out = f;
    return ASVK_OK;
}

void asvk_infer_destroy(asvk_infer *f) {
    if (!f) return;
    if (f->ps) asvk_params_destroy(f->ctx, f->ps);
    asvk_arch_free(&f->arch);
    free(f);
}

const asvk_param_store *asvk_infer_store(const asvk_infer *f) { return f->ps; }

asvk_status asvk_infer_run(asvk_infer *f, const float *input, uint32_t batch, float *logits) {
    asvk_model m = {0};
    asvk_stream *s = NULL;
    uint32_t c = f->arch.in_channels, r = f->arch.resolution, k = f->arch.num_classes;
    size_t hw = (size_t)r * r;
    float *nhwc = malloc((size_t)batch * c * hw * sizeof *nhwc + 4);
    asvk_status st = nhwc ? asvk_model_build(&f->arch, f->ps, batch, 0, false, 0, &m)
                          : asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    if (!st) st = asvk_graph_plan(f->ctx, m.graph, NULL);
    if (!st) st = asvk_graph_zero_inputs(f->ctx, m.graph);
    for (size_t n = 0; !st && n < batch; n++) /* the runtime's activations are NHWC */
        for (size_t ch = 0; ch < c; ch++)
            for (size_t i = 0; i < hw; i++) nhwc[(n * hw + i) * c + ch] = input[(n * c + ch) * hw + i];
    if (!st) st = asvk_buffer_upload(f->ctx, asvk_graph_cval(m.graph, m.input)->buf, 0, nhwc, (uint64_t)batch * c * hw * 4);
    if (!st) st = asvk_stream_create(f->ctx, &s);
    if (!st) st = asvk_graph_record(m.graph, s, NULL);
    if (!st) st = asvk_stream_end(s);
    if (!st) st = asvk_stream_run(s);
    if (!st) st = asvk_buffer_download(f->ctx, asvk_graph_cval(m.graph, m.logits)->buf, 0, logits, (uint64_t)batch * k * 4);
    asvk_stream_destroy(s);
    if (m.graph) asvk_graph_destroy(f->ctx, m.graph);
    free(nhwc);
    return st;
}
