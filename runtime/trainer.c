/* The training loop's device side; see trainer.h. */
#include "runtime/trainer.h"

#include "runtime/fold.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/version.h"
#include "runtime/data/loader.h"
#include "runtime/dist/dist_store.h"
#include "runtime/io/json_read.h"
#include "runtime/io/safetensors.h"
#include "runtime/ops/nn.h"

#define EVAL_SLOTS 4

typedef struct {
    uint32_t batch;
    asvk_model m;
    asvk_stream *s;
} eval_graph;

struct asvk_trainer {
    asvk_context *ctx;
    asvk_arch arch;
    asvk_train_config cfg;
    asvk_param_store *ps;
    asvk_model train;
    asvk_stream *stream;
    asvk_dist_step *dstep;  /* data-parallel runs: the step in parts, gradients averaged between */
    uint32_t local_batch;   /* this rank's share of cfg.batch */
    asvk_plan_report plan;
    eval_graph eval[EVAL_SLOTS];
    asvk_graph *fold;       /* BN folded into the convolutions of the inference graphs (runtime/fold.h) */
    asvk_stream *fold_stream;
    bool fold_stale;        /* the weights changed since the last fold */
    bool state_shared;      /* distributed: the ranks' BN running statistics were averaged since the last step */
    asvk_schedule sched;
    uint64_t steps_per_epoch;
    uint32_t opt_slots;
    /* Running sums of the epoch in progress, through step `run_next` of
     * epoch `run_epoch`: saved in mid-epoch checkpoints, so that a resumed
     * epoch's loss and accuracy cover the whole epoch. */
    struct { bool valid; uint32_t epoch, next, steps; double loss, acc; } run;
};

void asvk_train_config_default(asvk_train_config *c) {
    memset(c, 0, sizeof *c);
    c->epochs = 10;
    c->batch = 128;
    c->optimizer = ASVK_OPTIMIZER_SGD;
    c->lr = 0.1;
    c->momentum = 0.9;
    c->nesterov = true;
    c->weight_decay = 5e-5;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->eps = 1e-8;
    c->schedule = ASVK_SCHEDULE_COSINE;
    c->warmup_epochs = 0;
    c->label_smoothing = 0.1;
    c->seed = 1;
    c->norm = asvk_norm_fashion_mnist;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static uint32_t mix32(uint64_t a, uint64_t b) {
    uint64_t z = a * 0x9e3779b97f4a7c15ull + b + 0x632be59bd9b4e019ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static asvk_status build_train(asvk_trainer *t) {
    const asvk_train_config *c = &t->cfg;
    asvk_status st = asvk_model_build(&t->arch, t->ps, t->local_batch, c->resolution, true, (float)c->label_smoothing,
                                      &t->train);
    if (st) return st;
    asvk_graph *g = t->train.graph;
    if ((st = asvk_graph_backward(g, t->train.loss))) return st;
    uint32_t opt_from;
    asvk_graph_nodes(g, &opt_from);
    for (int group = 0; group < 2; group++) {
        double wd = group == ASVK_GROUP_DECAY ? c->weight_decay : 0;
        if (c->optimizer == ASVK_OPTIMIZER_SGD) {
            asvk_sgd_config s = {(float)c->momentum, (float)wd, c->nesterov, ASVK_STEP_LR};
            st = asvk_op_sgd(g, group, &s);
        } else {
            asvk_adamw_config a = {(float)c->beta1, (float)c->beta2, (float)c->eps, (float)wd, ASVK_STEP_LR};
            st = asvk_op_adamw(g, group, &a);
        }
        if (st) return st;
    }
    asvk_graph_step(g);
    if ((st = asvk_graph_set_half_activations(t->ctx, g, t->cfg.fp16))) return st;
    if ((st = asvk_graph_plan(t->ctx, g, &t->plan))) return st;
    if ((st = asvk_stream_create(t->ctx, &t->stream))) return st;
    if ((st = asvk_graph_record(g, t->stream, &t->plan))) return st;
    if ((st = asvk_stream_end(t->stream))) return st;
    if (!asvk_dist_is_parallel(c->dist)) return ASVK_OK;
    asvk_dist_step_options o = {opt_from, 1u << ASVK_GROUP_DECAY | 1u << ASVK_GROUP_NO_DECAY, 0, 0, c->sync_bn};
    return asvk_dist_step_create(t->ctx, c->dist, g, &o, &t->dstep);
}

asvk_status asvk_trainer_create(asvk_context *ctx, const asvk_arch *a, const asvk_train_config *cfg,
                                uint32_t steps_per_epoch, asvk_trainer **out) {
    *out = NULL;
    if (!cfg->batch || !cfg->epochs) return asvk_error_set(ASVK_ERR_USAGE, "--batch and --epochs must be at least 1");
    if (cfg->nesterov && cfg->optimizer == ASVK_OPTIMIZER_SGD && cfg->momentum <= 0)
        return asvk_error_set(ASVK_ERR_USAGE, "Nesterov momentum needs --momentum > 0");
    asvk_trainer *t = calloc(1, sizeof *t);
    if (!t) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    t->ctx = ctx;
    t->cfg = *cfg;
    asvk_status st = asvk_arch_copy(&t->arch, a);
    if (!st) st = asvk_arch_validate(&t->arch, cfg->resolution);
    t->ps = asvk_params_create();
    if (!st && !t->ps) st = asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    t->opt_slots = cfg->optimizer == ASVK_OPTIMIZER_ADAMW ? 2 : cfg->momentum > 0 ? 1 : 0;
    uint32_t ranks = (uint32_t)asvk_dist_size(cfg->dist);
    t->local_batch = cfg->batch / ranks;
    if (!st && cfg->batch % ranks)
        st = asvk_error_set(ASVK_ERR_USAGE, "--batch %u cannot be shared equally by %u processes; make it a multiple of "
                            "%u", cfg->batch, ranks, ranks);
    if (!st) st = asvk_model_declare(&t->arch, t->ps);
    if (!st) st = asvk_params_alloc(ctx, t->ps, t->opt_slots);
    if (!st) st = asvk_model_init(ctx, &t->arch, t->ps, cfg->seed);
    /* the same start on every rank, whatever its device's arithmetic */
    if (!st) st = asvk_dist_store_broadcast(ctx, cfg->dist, t->ps, t->opt_slots);
    if (!st) st = build_train(t);
    if (!st) st = asvk_fold_graph(t->ps, (float)t->arch.bn_eps, &t->fold);
    if (!st) st = asvk_graph_plan(ctx, t->fold, NULL);
    if (!st) st = asvk_stream_create(ctx, &t->fold_stream);
    if (!st) st = asvk_graph_record(t->fold, t->fold_stream, NULL);
    if (!st) st = asvk_stream_end(t->fold_stream);
    t->fold_stale = true;
    if (st) {
        asvk_trainer_destroy(t);
        return st;
    }
    t->steps_per_epoch = steps_per_epoch;
    t->sched = (asvk_schedule){cfg->schedule, cfg->lr, cfg->warmup_epochs * steps_per_epoch,
                               (uint64_t)cfg->epochs * steps_per_epoch, cfg->final_lr, steps_per_epoch * 30ull, 0.1};
    *out = t;
    return ASVK_OK;
}

void asvk_trainer_destroy(asvk_trainer *t) {
    if (!t) return;
    asvk_dist_step_destroy(t->dstep);
    asvk_stream_destroy(t->stream);
    asvk_graph_destroy(t->ctx, t->train.graph);
    asvk_stream_destroy(t->fold_stream);
    asvk_graph_destroy(t->ctx, t->fold);
    for (int i = 0; i < EVAL_SLOTS; i++) {
        asvk_stream_destroy(t->eval[i].s);
        asvk_graph_destroy(t->ctx, t->eval[i].m.graph);
    }
    asvk_params_destroy(t->ctx, t->ps);
    asvk_arch_free(&t->arch);
    free(t);
}

const asvk_plan_report *asvk_trainer_plan(const asvk_trainer *t) { return &t->plan; }
const asvk_param_store *asvk_trainer_store(const asvk_trainer *t) { return t->ps; }

void asvk_trainer_dist_stats(const asvk_trainer *t, asvk_dist_step_stats *out) {
    if (t->dstep) asvk_dist_step_stats_get(t->dstep, out);
    else memset(out, 0, sizeof *out);
}

/* One step on the device: one submit, or in a distributed run the parts with
 * the gradients averaged between them; then the loss and the right answers
 * of the whole batch (the mean loss over the ranks' equal shares, the sum of
 * their counts). */
static asvk_status run_step(asvk_trainer *t, uint32_t epoch, uint32_t step, float *loss, float *correct) {
    asvk_status st;
    if (!t->dstep) {
        st = asvk_stream_run(t->stream);
    } else {
        char what[64];
        snprintf(what, sizeof what, "epoch %u step %u", epoch + 1, step + 1);
        st = asvk_dist_step_run(t->dstep, what);
    }
    if (!st) st = asvk_buffer_download(t->ctx, asvk_graph_cval(t->train.graph, t->train.loss)->buf, 0, loss, 4);
    if (!st) st = asvk_buffer_download(t->ctx, asvk_graph_cval(t->train.graph, t->train.correct)->buf, 0, correct, 4);
    if (st || !t->dstep) return st;
    float both[2] = {*loss, *correct};
    st = asvk_dist_allreduce(t->cfg.dist, both, 2, ASVK_DIST_F32, ASVK_DIST_SUM, "the loss of a step");
    *loss = both[0] / (float)asvk_dist_size(t->cfg.dist);
    *correct = both[1];
    return st;
}

/* Distributed: each rank's BN running statistics come from its own shard;
 * evaluation and checkpoints use their average (the same on every rank). */
static asvk_status share_state(asvk_trainer *t) {
    if (!t->dstep || t->state_shared) return ASVK_OK;
    asvk_status st = asvk_dist_store_average_state(t->ctx, t->cfg.dist, t->ps);
    t->fold_stale = true;
    if (!st) t->state_shared = true;
    return st;
}

/* Inference graphs read the folded weights: refold after training changed them. */
static asvk_status fresh_folds(asvk_trainer *t) {
    if (!t->fold_stale) return ASVK_OK;
    uint32_t n;
    asvk_graph_nodes(t->fold, &n);
    asvk_status st = n ? asvk_stream_run(t->fold_stream) : ASVK_OK;
    if (!st) t->fold_stale = false;
    return st;
}

static asvk_status upload_batch(asvk_context *ctx, const asvk_model *m, const asvk_batch *b) {
    uint64_t floats = (uint64_t)b->n * b->h * b->w * b->c;
    asvk_status st = asvk_buffer_upload(ctx, asvk_graph_cval(m->graph, m->input)->buf, 0, b->x, floats * 4);
    return st ? st : asvk_buffer_upload(ctx, asvk_graph_cval(m->graph, m->labels)->buf, 0, b->y, b->n * 4ull);
}

static asvk_status read_outputs(asvk_context *ctx, const asvk_model *m, float *loss, float *correct) {
    asvk_status st = asvk_buffer_download(ctx, asvk_graph_cval(m->graph, m->loss)->buf, 0, loss, 4);
    return st ? st : asvk_buffer_download(ctx, asvk_graph_cval(m->graph, m->correct)->buf, 0, correct, 4);
}

static asvk_status set_step(asvk_trainer *t, uint64_t global_step) {
    float step[ASVK_STEP_FLOATS] = {0};
    step[ASVK_STEP_LR] = (float)asvk_schedule_lr(&t->sched, global_step);
    step[ASVK_STEP_T] = (float)(global_step + 1);
    uint32_t seed = mix32(t->cfg.seed, global_step);
    memcpy(&step[ASVK_STEP_SEED], &seed, 4);
    step[ASVK_STEP_LOSS_SCALE] = 1.0f;
    asvk_val sv = asvk_graph_step(t->train.graph);
    return asvk_buffer_upload(t->ctx, asvk_graph_cval(t->train.graph, sv)->buf, 0, step, sizeof step);
}

/* Batches are copied whole into buffers sized for the network's input. */
static asvk_status check_images(const asvk_trainer *t, const asvk_dataset *d) {
    uint32_t res = t->train.resolution;
    if (d->h != res || d->w != res || d->c != t->arch.in_channels)
        return asvk_error_set(ASVK_ERR_USAGE, "%s has %ux%ux%u images; %s takes %ux%ux%u", d->source ? d->source : "the dataset",
                              d->h, d->w, d->c, t->arch.name, res, res, t->arch.in_channels);
    return ASVK_OK;
}

asvk_status asvk_trainer_epoch(asvk_trainer *t, const asvk_dataset *d, const uint32_t *idx, uint32_t n, uint32_t epoch,
                               uint32_t start_step, asvk_progress_fn progress, void *user, asvk_epoch_stats *out) {
    memset(out, 0, sizeof *out);
    asvk_status cst = check_images(t, d);
    if (cst) return cst;
    asvk_loader_options o = {.shuffle = true, .drop_last = true, .seed = t->cfg.seed, .norm = t->cfg.norm,
                             .augment = {.pad = t->cfg.crop_pad, .flip = t->cfg.flip},
                             .epochs = epoch + 1, .start_epoch = epoch, .start_step = start_step,
                             .shards = (uint32_t)asvk_dist_size(t->cfg.dist), .shard = (uint32_t)asvk_dist_rank(t->cfg.dist)};
    asvk_loader *l;
    asvk_status st = asvk_loader_create(d, idx, n, t->cfg.batch, &o, &l);
    if (st) return st;
    uint32_t steps = asvk_loader_steps(l);
    double t0 = now_s(), sum_loss = 0, sum_acc = 0;
    uint32_t done = 0, fresh = 0;
    if (start_step && t->run.valid && t->run.epoch == epoch && t->run.next == start_step)
        sum_loss = t->run.loss, sum_acc = t->run.acc, done = t->run.steps;
    t->run.valid = false;
    for (;;) {
        const asvk_batch *b;
        if ((st = asvk_loader_next(l, &b)) || !b) break;
        uint64_t gs = (uint64_t)b->epoch * t->steps_per_epoch + b->step;
        float loss, correct;
        if ((st = upload_batch(t->ctx, &t->train, b)) || (st = set_step(t, gs)) ||
            (st = run_step(t, epoch, b->step, &loss, &correct)))
            break;
        if (!isfinite(loss)) {
            st = asvk_error_set(ASVK_ERR_USAGE, "the loss became %g at epoch %u step %u; lower --lr", loss, epoch,
                                b->step + 1);
            break;
        }
        sum_loss += loss;
        sum_acc += correct / t->cfg.batch;
        done++, fresh++;
        t->fold_stale = true;
        t->state_shared = false;
        t->run.valid = true, t->run.epoch = epoch, t->run.next = b->step + 1, t->run.steps = done;
        t->run.loss = sum_loss, t->run.acc = sum_acc;
        double el = now_s() - t0;
        if (progress && !progress(user, epoch, b->step + 1, steps, sum_loss / done, sum_acc / done,
                                  fresh * (double)t->cfg.batch / el)) {
            st = asvk_error_set(ASVK_ERR_CANCELLED, "stopped after step %u of epoch %u", b->step + 1, epoch + 1);
            break;
        }
    }
    asvk_loader_destroy(l);
    if (st) return st;
    out->steps = done;
    out->seconds = now_s() - t0;
    out->loss = done ? sum_loss / done : 0;
    out->accuracy = done ? sum_acc / done : 0;
    out->images_per_s = out->seconds > 0 ? fresh * (double)t->cfg.batch / out->seconds : 0;
    return ASVK_OK;
}

static asvk_status eval_graph_for(asvk_trainer *t, uint32_t batch, eval_graph **out) {
    int free_slot = -1;
    for (int i = 0; i < EVAL_SLOTS; i++) {
        if (t->eval[i].batch == batch) { *out = &t->eval[i]; return ASVK_OK; }
        if (!t->eval[i].batch && free_slot < 0) free_slot = i;
    }
    if (free_slot < 0) { /* evict the last slot */
        free_slot = EVAL_SLOTS - 1;
        asvk_stream_destroy(t->eval[free_slot].s);
        asvk_graph_destroy(t->ctx, t->eval[free_slot].m.graph);
        memset(&t->eval[free_slot], 0, sizeof t->eval[free_slot]);
    }
    eval_graph *e = &t->eval[free_slot];
    asvk_status st = asvk_model_build(&t->arch, t->ps, batch, t->train.resolution, false, (float)t->cfg.label_smoothing, &e->m);
    if (!st) st = asvk_graph_set_half_activations(t->ctx, e->m.graph, t->cfg.fp16);
    if (!st) st = asvk_graph_plan(t->ctx, e->m.graph, NULL);
    if (!st) st = asvk_stream_create(t->ctx, &e->s);
    if (!st) st = asvk_graph_record(e->m.graph, e->s, NULL);
    if (!st) st = asvk_stream_end(e->s);
    if (st) {
        asvk_stream_destroy(e->s);
        asvk_graph_destroy(t->ctx, e->m.graph);
        memset(e, 0, sizeof *e);
        return st;
    }
    e->batch = batch;
    *out = e;
    return ASVK_OK;
}

asvk_status asvk_trainer_evaluate(asvk_trainer *t, const asvk_dataset *d, const uint32_t *idx, uint32_t n,
                                  double *loss, double *accuracy) {
    if (!idx) n = d->n;
    if (!n) return asvk_error_set(ASVK_ERR_USAGE, "nothing to evaluate: no images");
    asvk_status fst = check_images(t, d);
    if (!fst) fst = share_state(t);
    if (!fst) fst = fresh_folds(t);
    if (fst) return fst;
    uint32_t batch = t->cfg.batch < n ? t->cfg.batch : n;
    asvk_loader_options o = {.shuffle = false, .drop_last = false, .seed = t->cfg.seed, .norm = t->cfg.norm, .epochs = 1};
    asvk_loader *l;
    asvk_status st = asvk_loader_create(d, idx, n, batch, &o, &l);
    if (st) return st;
    double sum_loss = 0, sum_correct = 0;
    for (;;) {
        const asvk_batch *b;
        if ((st = asvk_loader_next(l, &b)) || !b) break;
        eval_graph *e;
        if ((st = eval_graph_for(t, b->n, &e)) || (st = upload_batch(t->ctx, &e->m, b)) || (st = asvk_stream_run(e->s)))
            break;
        float bl, bc;
        if ((st = read_outputs(t->ctx, &e->m, &bl, &bc))) break;
        sum_loss += (double)bl * b->n;
        sum_correct += bc;
    }
    asvk_loader_destroy(l);
    if (st) return st;
    *loss = sum_loss / n;
    *accuracy = sum_correct / n;
    return ASVK_OK;
}

/* ---- checkpoints ---- */

static const char *slot_name(const asvk_trainer *t, uint32_t k) {
    if (t->cfg.optimizer == ASVK_OPTIMIZER_ADAMW) return k ? "exp_avg_sq" : "exp_avg";
    return "momentum_buffer";
}

asvk_status asvk_trainer_save(asvk_trainer *t, const char *path, uint32_t next_epoch, uint32_t next_step,
                              const char *const *extra, uint32_t extra_pairs) {
    /* distributed: every rank comes here (the averaging and the check are
     * collectives); rank 0 alone writes, and its result is every rank's */
    asvk_status sst = share_state(t);
    if (!sst && t->dstep) sst = asvk_dist_store_check(t->ctx, t->cfg.dist, t->ps, t->opt_slots, "at a checkpoint");
    if (sst && asvk_dist_rank(t->cfg.dist) != 0) return sst; /* (MPI_Abort follows: rank 0 does not wait long) */
    if (sst || asvk_dist_rank(t->cfg.dist) != 0) return asvk_dist_share_status(t->cfg.dist, sst, 0, "writing a checkpoint");
    const asvk_param_store *ps = t->ps;
    uint32_t per = 1 + t->opt_slots;
    asvk_st_tensor *ts = calloc((size_t)ps->count * per, sizeof *ts);
    char (*names)[128] = calloc((size_t)ps->count * per, sizeof *names);
    float **data = calloc((size_t)ps->count * per, sizeof *data);
    asvk_status st = ts && names && data ? ASVK_OK : asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    size_t nt = 0;
    for (uint32_t i = 0; i < ps->count && !st; i++) {
        const asvk_store_item *p = &ps->items[i];
        if (asvk_fold_is_derived(p->name)) continue; /* recomputed from the weights */
        for (uint32_t k = 0; k < per && !st; k++) {
            if (k > 0 && p->group == ASVK_GROUP_STATE) break;
            asvk_buffer b = k == 0 ? asvk_params_buffer(ps, (int)i)
                                   : asvk_buffer_sub(ps->opt[p->group][k - 1], p->offset * 4, p->floats * 4);
            data[nt] = malloc(p->floats * 4);
            if (!data[nt]) { st = asvk_error_set(ASVK_ERR_OOM, "out of host memory"); break; }
            if ((st = asvk_buffer_download(t->ctx, b, 0, data[nt], p->floats * 4))) break;
            if (k == 0) snprintf(names[nt], sizeof names[nt], "%s", p->name);
            else snprintf(names[nt], sizeof names[nt], "optimizer.%s.%s", p->name, slot_name(t, k - 1));
            ts[nt].name = names[nt];
            ts[nt].rank = p->ndim;
            for (uint32_t r = 0; r < p->ndim; r++) ts[nt].shape[r] = p->dims[r];
            ts[nt].data = data[nt];
            nt++;
        }
    }
    char *arch_json = NULL, epoch_s[24], step_s[24], cfg_s[512];
    if (!st) st = asvk_arch_to_json(&t->arch, &arch_json);
    if (!st) {
        snprintf(epoch_s, sizeof epoch_s, "%u", next_epoch);
        snprintf(step_s, sizeof step_s, "%u", next_step);
        const asvk_train_config *c = &t->cfg;
        snprintf(cfg_s, sizeof cfg_s,
                 "{\"epochs\":%u,\"batch\":%u,\"optimizer\":\"%s\",\"lr\":%.9g,\"momentum\":%.9g,\"weight_decay\":%.9g,"
                 "\"nesterov\":%s,\"schedule\":\"%s\",\"warmup_epochs\":%.9g,\"label_smoothing\":%.9g,\"seed\":%llu,"
                 "\"crop_pad\":%u,\"flip\":%s,\"resolution\":%u}",
                 c->epochs, c->batch, c->optimizer == ASVK_OPTIMIZER_ADAMW ? "adamw" : "sgd", c->lr, c->momentum,
                 c->weight_decay, c->nesterov ? "true" : "false", asvk_schedule_kind_name(c->schedule),
                 c->warmup_epochs, c->label_smoothing, (unsigned long long)c->seed, c->crop_pad,
                 c->flip ? "true" : "false", t->train.resolution);
        asvk_st_meta meta[32] = {{"format", "asvk-checkpoint/1"},
                                 {"asvk_version", ASVK_VERSION},
                                 {"next_epoch", epoch_s},
                                 {"next_step", step_s},
                                 {"architecture", arch_json},
                                 {"train_config", cfg_s}};
        size_t nm = 6;
        /* mid-epoch: the epoch's running sums so far (exact digits), for a whole-epoch loss after resuming */
        char run_s[3][40];
        if (next_step && t->run.valid && t->run.epoch == next_epoch && t->run.next == next_step) {
            snprintf(run_s[0], sizeof run_s[0], "%u", t->run.steps);
            asvk_json_format_double(t->run.loss, run_s[1], sizeof run_s[1]);
            asvk_json_format_double(t->run.acc, run_s[2], sizeof run_s[2]);
            meta[nm++] = (asvk_st_meta){"epoch_steps", run_s[0]};
            meta[nm++] = (asvk_st_meta){"epoch_loss_sum", run_s[1]};
            meta[nm++] = (asvk_st_meta){"epoch_accuracy_sum", run_s[2]};
        }
        for (uint32_t e = 0; e < extra_pairs && nm < 32; e++) meta[nm++] = (asvk_st_meta){extra[2 * e], extra[2 * e + 1]};
        st = asvk_safetensors_write(path, ts, nt, meta, nm);
    }
    free(arch_json);
    for (size_t i = 0; i < nt; i++) free(data[i]);
    free(data);
    free(names);
    free(ts);
    return asvk_dist_share_status(t->cfg.dist, st, 0, "writing a checkpoint");
}

/* The running sums of a mid-epoch checkpoint (absent from older ones and
 * from epoch ends: the resumed epoch then covers its remaining steps). */
static asvk_status load_running_sums(asvk_trainer *t, const asvk_safetensors *f, const char *path, uint32_t epoch,
                                     uint32_t step) {
    t->run.valid = false;
    const char *n = asvk_safetensors_meta_get(f, "epoch_steps"), *l = asvk_safetensors_meta_get(f, "epoch_loss_sum"),
               *a = asvk_safetensors_meta_get(f, "epoch_accuracy_sum");
    if (!n && !l && !a) return ASVK_OK;
    char *end[3];
    unsigned long steps = n ? strtoul(n, &end[0], 10) : 0;
    double loss = l ? strtod(l, &end[1]) : 0, acc = a ? strtod(a, &end[2]) : 0;
    if (!n || !l || !a || *end[0] || *end[1] || *end[2] || !step || steps == 0 || steps > step || !isfinite(loss) ||
        !isfinite(acc) || acc < 0 || acc > steps)
        return asvk_error_set(ASVK_ERR_USAGE, "%s: the running sums of epoch %u (epoch_steps, epoch_loss_sum, "
                              "epoch_accuracy_sum) are missing or out of range; the file is damaged", path, epoch + 1);
    t->run.valid = true, t->run.epoch = epoch, t->run.next = step, t->run.steps = (uint32_t)steps;
    t->run.loss = loss, t->run.acc = acc;
    return ASVK_OK;
}

/* "[8, 3, 3, 1]" */
static void shape_text(const uint64_t *dims, uint32_t rank, char *buf, size_t n) {
    size_t at = (size_t)snprintf(buf, n, "[");
    for (uint32_t r = 0; r < rank && at < n; r++)
        at += (size_t)snprintf(buf + at, n - at, "%s%llu", r ? ", " : "", (unsigned long long)dims[r]);
    if (at < n) snprintf(buf + at, n - at, "]");
}

/* A position member: a plain decimal number (strtoul alone would read "-1"
 * as 4294967295 and "x" as 0). */
static bool read_count(const char *s, uint32_t *out) {
    if (!s || *s < '0' || *s > '9') return false;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || v > UINT32_MAX) return false;
    *out = (uint32_t)v;
    return true;
}

/* next_epoch and next_step of a training checkpoint, within this run: an
 * epoch past the run's end or a step past an epoch's end would resume with a
 * schedule and a loader position that never existed. A step equal to the
 * epoch's length is an epoch whose steps are all done. */
static asvk_status read_position(const asvk_trainer *t, const asvk_safetensors *f, const char *path, uint32_t *epoch,
                                 uint32_t *step) {
    const char *e = asvk_safetensors_meta_get(f, "next_epoch"), *s = asvk_safetensors_meta_get(f, "next_step");
    if (!e || !s) return asvk_error_set(ASVK_ERR_USAGE, "%s is not an asvk training checkpoint (no position)", path);
    if (!read_count(e, epoch) || !read_count(s, step))
        return asvk_error_set(ASVK_ERR_USAGE, "%s: the position (next_epoch '%.40s', next_step '%.40s') is not two "
                              "whole numbers; the file is damaged: resume from another checkpoint", path, e, s);
    if (*epoch > t->cfg.epochs || (*epoch == t->cfg.epochs && *step))
        return asvk_error_set(ASVK_ERR_USAGE, "%s: next_epoch %u, next_step %u lies beyond the run's %u epochs; give "
                              "--epochs %u or more to continue it", path, *epoch, *step, t->cfg.epochs,
                              *epoch + (*step ? 1 : 0));
    if (*step > t->steps_per_epoch)
        return asvk_error_set(ASVK_ERR_USAGE, "%s: next_step %u is beyond the %llu steps of an epoch of this run; the "
                              "checkpoint belongs to another run (other data, --batch or --limit)", path, *step,
                              (unsigned long long)t->steps_per_epoch);
    return ASVK_OK;
}

/* The checkpoint's tensor for slot k (0: the parameter, then its optimizer
 * state) of store item i, checked against the store: shape (rank and every
 * dimension: the same element count in another shape is another layout or
 * architecture) and, with `values` unless allowed, finite values. NULL with
 * ASVK_OK: an optimizer tensor a weights-only load does without. */
static asvk_status checked_tensor(const asvk_trainer *t, const asvk_safetensors *f, const char *path, uint32_t i,
                                  uint32_t k, bool weights_only, bool values, const asvk_st_tensor **out) {
    const asvk_store_item *p = &t->ps->items[i];
    char name[160];
    if (k == 0) snprintf(name, sizeof name, "%s", p->name);
    else snprintf(name, sizeof name, "optimizer.%s.%s", p->name, slot_name(t, k - 1));
    const asvk_st_tensor *x = *out = asvk_safetensors_find(f, name);
    if (!x) {
        if (k > 0 && weights_only) return ASVK_OK;
        return asvk_error_set(ASVK_ERR_USAGE, "%s has no tensor %s: it was made for another architecture or "
                              "optimizer than %s", path, name, t->arch.name);
    }
    bool same = x->rank == p->ndim;
    for (uint32_t r = 0; same && r < p->ndim; r++) same = x->shape[r] == p->dims[r];
    if (!same) {
        uint64_t want[4];
        for (uint32_t r = 0; r < p->ndim; r++) want[r] = p->dims[r];
        char has_s[200], want_s[100];
        shape_text(x->shape, x->rank, has_s, sizeof has_s);
        shape_text(want, p->ndim, want_s, sizeof want_s);
        return asvk_error_set(ASVK_ERR_USAGE, "%s: tensor %s has shape %s, but %s needs %s; the checkpoint was made "
                              "for another architecture", path, name, has_s, t->arch.name, want_s);
    }
    return !values || t->cfg.allow_nonfinite ? ASVK_OK : asvk_safetensors_check_finite(path, x);
}

asvk_status asvk_trainer_load(asvk_trainer *t, const char *path, uint32_t *next_epoch, uint32_t *next_step) {
    asvk_safetensors *f;
    asvk_status st = asvk_safetensors_read(path, &f);
    if (st) return st;
    const asvk_param_store *ps = t->ps;
    uint32_t epoch = 0, step = 0;
    if (next_epoch) st = read_position(t, f, path, &epoch, &step);
    /* every check before the first upload: a refused file leaves the weights as they were */
    for (int pass = 0; pass < 2 && !st; pass++)
        for (uint32_t i = 0; i < ps->count && !st; i++) {
            const asvk_store_item *p = &ps->items[i];
            if (asvk_fold_is_derived(p->name)) continue;
            uint32_t per = p->group == ASVK_GROUP_STATE ? 1 : 1 + t->opt_slots;
            for (uint32_t k = 0; k < per && !st; k++) {
                const asvk_st_tensor *x;
                if ((st = checked_tensor(t, f, path, i, k, !next_epoch, pass == 0, &x)) || !x || !pass) continue;
                asvk_buffer b = k == 0 ? asvk_params_buffer(ps, (int)i)
                                       : asvk_buffer_sub(ps->opt[p->group][k - 1], p->offset * 4, p->floats * 4);
                st = asvk_buffer_upload(t->ctx, b, 0, x->data, p->floats * 4);
                t->fold_stale = true;
            }
        }
    if (!st && next_epoch) {
        *next_epoch = epoch, *next_step = step;
        st = load_running_sums(t, f, path, *next_epoch, *next_step);
    }
    asvk_safetensors_free(f);
    return st;
}

/* ---- timing for bench (runtime/profile.h) ---- */

static asvk_status time_graph(asvk_context *ctx, asvk_graph *g, uint32_t warmup, uint32_t repeat, double *med,
                              double *mn, double *mx) {
    asvk_timing t;
    asvk_status st = asvk_graph_zero_inputs(ctx, g);
    if (!st) st = asvk_graph_time(ctx, g, warmup, repeat, &t);
    if (!st) *med = t.median_ns, *mn = t.min_ns, *mx = t.max_ns;
    return st;
}

const asvk_graph *asvk_trainer_graph(asvk_trainer *t, bool training, uint32_t batch) {
    if (training) return t->train.graph;
    eval_graph *e;
    return eval_graph_for(t, batch, &e) ? NULL : e->m.graph;
}

asvk_status asvk_trainer_profile(asvk_trainer *t, bool training, uint32_t batch, uint32_t repeat, asvk_profile_fn fn,
                                 void *user) {
    asvk_graph *g;
    asvk_status st;
    if (training) {
        g = t->train.graph;
        if ((st = set_step(t, 0))) return st;
    } else {
        eval_graph *e;
        if ((st = eval_graph_for(t, batch, &e)) || (st = fresh_folds(t))) return st;
        g = e->m.graph;
    }
    /* zeroing the step buffer too would be wrong: set_step wrote it (it is the step value, not an INPUT) */
    if ((st = asvk_graph_zero_inputs(t->ctx, g))) return st;
    return asvk_graph_profile(t->ctx, g, 1, repeat, fn, user);
}

asvk_status asvk_trainer_time_step(asvk_trainer *t, uint32_t warmup, uint32_t repeat, double *median_ns,
                                   double *min_ns, double *max_ns) {
    asvk_status st = set_step(t, 0);
    return st ? st : time_graph(t->ctx, t->train.graph, warmup, repeat, median_ns, min_ns, max_ns);
}

asvk_status asvk_trainer_time_eval(asvk_trainer *t, uint32_t batch, uint32_t warmup, uint32_t repeat,
                                   double *median_ns, double *min_ns, double *max_ns) {
    eval_graph *e;
    asvk_status st = eval_graph_for(t, batch, &e);
    if (!st) st = fresh_folds(t);
    return st ? st : time_graph(t->ctx, e->m.graph, warmup, repeat, median_ns, min_ns, max_ns);
}
