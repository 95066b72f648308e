/* Supernet steps; see supernet_step.h. */
#include "autospace/supernet_step.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "runtime/ops/nn.h"

asvk_status asvk_sn_graph_make(asvk_context *ctx, const asvk_supernet_spec *spec, asvk_param_store *ps,
                               const asvk_sn_sgd *sgd, asvk_sn_graph *out) {
    memset(out, 0, sizeof *out);
    out->dist = spec->dist;
    uint32_t ranks = (uint32_t)asvk_dist_size(spec->dist);
    if (spec->batch % ranks)
        return asvk_error_set(ASVK_ERR_USAGE, "--batch %u cannot be shared equally by %u processes; make it a multiple "
                              "of %u", spec->batch, ranks, ranks);
    asvk_supernet_spec local = *spec;
    local.batch = spec->batch / ranks;
    asvk_status st = asvk_supernet_build(&local, ps, sgd == NULL, &out->m);
    if (!st) asvk_graph_nodes(out->m.graph, &out->fwd_to);
    if (!st) st = asvk_graph_backward(out->m.graph, out->m.loss);
    uint32_t opt_from = 0;
    if (!st) asvk_graph_nodes(out->m.graph, &opt_from);
    for (int group = 0; sgd && group < 2 && !st; group++) {
        asvk_sgd_config c = {(float)sgd->momentum, group == ASVK_GROUP_DECAY ? (float)sgd->weight_decay : 0.0f,
                             sgd->momentum > 0, ASVK_STEP_LR};
        st = asvk_op_sgd(out->m.graph, group, &c);
    }
    if (!st) asvk_graph_step(out->m.graph);
    if (!st) st = asvk_graph_set_half_activations(ctx, out->m.graph, spec->fp16);
    if (!st) st = asvk_graph_plan(ctx, out->m.graph, NULL);
    if (!st) st = asvk_stream_create(ctx, &out->s);
    if (!st) st = asvk_graph_record(out->m.graph, out->s, NULL);
    if (!st) st = asvk_stream_end(out->s);
    /* the weight step averages the weights' gradients before its SGD; the
     * architecture step the alphas' (the host's Adam reads them) */
    uint32_t groups = sgd ? 1u << ASVK_GROUP_DECAY | 1u << ASVK_GROUP_NO_DECAY : 1u << ASVK_GROUP_ARCH;
    asvk_dist_step_options o = {opt_from, groups, 0, 0, spec->sync_bn};
    if (!st && asvk_dist_is_parallel(spec->dist)) st = asvk_dist_step_create(ctx, spec->dist, out->m.graph, &o, &out->ds);
    return st;
}

void asvk_sn_graph_free(asvk_context *ctx, asvk_sn_graph *g) {
    asvk_stream_destroy(g->fwd);
    asvk_dist_step_destroy(g->ds);
    asvk_stream_destroy(g->s);
    asvk_graph_destroy(ctx, g->m.graph);
    memset(g, 0, sizeof *g);
}

/* the batch and the step scalars into the graph's inputs */
static asvk_status upload(asvk_context *ctx, asvk_sn_graph *g, const asvk_batch *b, uint64_t global_step, double lr,
                          uint64_t seed) {
    float step[ASVK_STEP_FLOATS] = {0};
    step[ASVK_STEP_LR] = (float)lr;
    step[ASVK_STEP_T] = (float)(global_step + 1);
    uint32_t s = (uint32_t)(seed * 2654435761u + global_step * 40503u);
    memcpy(&step[ASVK_STEP_SEED], &s, 4);
    step[ASVK_STEP_LOSS_SCALE] = 1;
    asvk_graph *gr = g->m.graph;
    uint64_t n = (uint64_t)b->n * b->h * b->w * b->c;
    asvk_status st = asvk_buffer_upload(ctx, asvk_graph_cval(gr, g->m.input)->buf, 0, b->x, n * 4);
    if (!st) st = asvk_buffer_upload(ctx, asvk_graph_cval(gr, g->m.labels)->buf, 0, b->y, b->n * 4ull);
    if (!st) st = asvk_buffer_upload(ctx, asvk_graph_cval(gr, asvk_graph_step(gr))->buf, 0, step, sizeof step);
    return st;
}

asvk_status asvk_sn_run(asvk_context *ctx, asvk_sn_graph *g, const asvk_batch *b, uint64_t global_step, double lr,
                        uint64_t seed) {
    asvk_status st = upload(ctx, g, b, global_step, lr, seed);
    if (!st && g->ds) {
        char what[64];
        snprintf(what, sizeof what, "supernet step %llu", (unsigned long long)global_step + 1);
        st = asvk_dist_step_run(g->ds, what);
    } else if (!st) {
        st = asvk_stream_run(g->s);
    }
    return st;
}

asvk_status asvk_sn_run_forward(asvk_context *ctx, asvk_sn_graph *g, const asvk_batch *b, uint64_t global_step,
                                uint64_t seed) {
    if (g->ds) return asvk_sn_run(ctx, g, b, global_step, 0, seed);
    asvk_status st = ASVK_OK;
    if (!g->fwd) {
        if (!(st = asvk_stream_create(ctx, &g->fwd))) st = asvk_graph_record_range(g->m.graph, &g->fwd, 0, g->fwd_to, NULL);
        if (!st) st = asvk_stream_end(g->fwd);
        if (st) {
            asvk_stream_destroy(g->fwd);
            g->fwd = NULL;
            return st;
        }
    }
    if (!(st = upload(ctx, g, b, global_step, 0, seed))) st = asvk_stream_run(g->fwd);
    return st;
}

asvk_status asvk_sn_outputs(asvk_context *ctx, const asvk_sn_graph *g, float *loss, float *correct) {
    asvk_status st = asvk_buffer_download(ctx, asvk_graph_cval(g->m.graph, g->m.loss)->buf, 0, loss, 4);
    *correct = NAN; /* block supervision has no classifier */
    if (!st && g->m.correct != ASVK_NO_VAL)
        st = asvk_buffer_download(ctx, asvk_graph_cval(g->m.graph, g->m.correct)->buf, 0, correct, 4);
    if (st || !g->ds) return st;
    float both[2] = {*loss, g->m.correct != ASVK_NO_VAL ? *correct : 0};
    st = asvk_dist_allreduce(g->dist, both, 2, ASVK_DIST_F32, ASVK_DIST_SUM, "the loss of a supernet step");
    *loss = both[0] / (float)asvk_dist_size(g->dist);
    if (g->m.correct != ASVK_NO_VAL) *correct = both[1];
    return st;
}

asvk_status asvk_sn_loader(const asvk_sn_data *d, uint64_t from, bool augment, asvk_loader **out) {
    uint32_t per_epoch = d->n / d->batch;
    if (!per_epoch)
        return asvk_error_set(ASVK_ERR_USAGE, "%u images cannot fill a batch of %u; lower --batch", d->n, d->batch);
    asvk_loader_options o = {.shuffle = true, .drop_last = true, .seed = d->seed, .norm = d->norm,
                             .augment = {augment ? d->crop_pad : 0, augment && d->flip},
                             .epochs = 0, .start_epoch = (uint32_t)(from / per_epoch),
                             .start_step = (uint32_t)(from % per_epoch),
                             .shards = (uint32_t)asvk_dist_size(d->dist), .shard = (uint32_t)asvk_dist_rank(d->dist)};
    return asvk_loader_create(d->d, d->idx, d->n, d->batch, &o, out);
}

asvk_status asvk_sn_alpha_grads(asvk_context *ctx, asvk_param_store *ps, const asvk_alpha *al,
                                double grad[][ASVK_ALPHA_MAX_K]) {
    asvk_status st = ASVK_OK;
    for (uint32_t l = 0; l < al->layers && !st; l++) {
        char name[32];
        float g[ASVK_ALPHA_MAX_K];
        snprintf(name, sizeof name, "alpha.%u", l);
        int i = asvk_params_find(ps, name);
        if (i < 0) continue; /* a layer of one candidate has no alphas */
        st = asvk_buffer_download(ctx, asvk_params_grad(ps, i), 0, g, al->k[l] * 4);
        for (uint32_t k = 0; k < al->k[l]; k++) grad[l][k] = g[k];
    }
    return st;
}

asvk_status asvk_sn_alpha_upload(asvk_context *ctx, asvk_param_store *ps, const asvk_alpha *al,
                                 const double logits[][ASVK_ALPHA_MAX_K]) {
    asvk_status st = ASVK_OK;
    for (uint32_t l = 0; l < al->layers && !st; l++) {
        char name[32];
        float a[ASVK_ALPHA_MAX_K];
        snprintf(name, sizeof name, "alpha.%u", l);
        int i = asvk_params_find(ps, name);
        if (i < 0) continue;
        for (uint32_t k = 0; k < al->k[l]; k++) a[k] = (float)logits[l][k];
        st = asvk_params_upload(ctx, ps, i, a);
    }
    return st;
}
