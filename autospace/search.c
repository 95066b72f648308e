/* Gumbel-softmax architecture search in a layer-wise space; see search.h. */
#include "autospace/search.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "autospace/evolve.h"
#include "autospace/supernet_step.h"
#include "autospace/widen.h"
#include "runtime/data/split.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/json_read.h"
#include "runtime/io/safetensors.h"
#include "runtime/schedule.h"

struct asvk_search {
    asvk_context *ctx;
    asvk_search_config cfg;
    const asvk_dataset *data;
    asvk_split split;
    asvk_supernet_spec spec;
    asvk_param_store *ps;
    asvk_sn_graph gw, ga;
    asvk_alpha al;
    double cost[ASVK_SKEL_MAX_LAYERS][ASVK_ALPHA_MAX_K]; /* per candidate: MAdds or ms */
    double fixed;                                       /* stem and head, same unit */
    uint32_t done;
    asvk_skeleton train_sk; /* the skeleton the supernet trains at (cfg.data_resolution) */
};

void asvk_search_config_default(asvk_search_config *c) {
    memset(c, 0, sizeof *c);
    c->skip = true;
    c->steps = 600;
    c->warmup = 150;
    c->batch = 64;
    c->lr = 0.05, c->momentum = 0.9, c->weight_decay = 5e-5;
    c->arch_lr = 0.05;
    c->tau0 = 5.0, c->tau1 = 0.5; /* FBNet starts at 5 and decays */
    c->lambda = 1.0;
    c->widen = 1, c->widen_divisor = 4;
    c->seed = 1;
    c->val_images = 5000;
    c->label_smoothing = 0.1;
    c->crop_pad = 2;
    c->flip = true;
    c->norm = asvk_norm_fashion_mnist;
}

asvk_status asvk_space_mbconv(const asvk_skeleton *sk, asvk_space *out) {
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "mbconv");
    out->layers = sk->count;
    static const uint32_t ks[] = {3, 5, 7};
    static const float es[] = {3, 6};
    for (uint32_t l = 0; l < sk->count; l++)
        for (uint32_t i = 0; i < 3; i++)
            for (uint32_t j = 0; j < 2; j++) {
                asvk_space_cell *c = &out->cells[l][out->count[l]++];
                asvk_cell m = asvk_cell_mbconv(ks[i], es[j]);
                asvk_status st = asvk_genome_canonical(&m, &c->cell, &c->hash);
                if (st) return st;
            }
    return asvk_space_set_skeleton(out, sk);
}

/* ---- costs ---- */

static bool skippable(const asvk_skeleton *sk, uint32_t l) {
    uint32_t c, h;
    asvk_skeleton_layer_input(sk, l, &c, &h);
    return sk->layers[l].stride == 1 && c == sk->layers[l].out;
}

static uint32_t candidates(const asvk_search *s, uint32_t l) { return asvk_supernet_candidates(&s->spec, l); }

static const char *unit(const asvk_search_config *c) { return c->budget_kind == ASVK_BUDGET_LATENCY ? "ms" : "M MAdds"; }
static double shown(const asvk_search_config *c, double v) { return c->budget_kind == ASVK_BUDGET_LATENCY ? v : v / 1e6; }

static asvk_status costs(asvk_search *s) {
    const asvk_search_config *c = &s->cfg;
    const asvk_skeleton *sk = &c->space.sk;
    asvk_status st = ASVK_OK;
    for (uint32_t l = 0; l < sk->count && !st; l++)
        for (uint32_t k = 0; k < c->space.count[l] && !st; k++) {
            if (c->budget_kind == ASVK_BUDGET_MADDS) s->cost[l][k] = (double)c->space.cells[l][k].madds;
            else st = asvk_lut_predict_cell(c->lut, sk, l, &c->space.cells[l][k].cell, &s->cost[l][k]);
        }
    if (st) return st;
    if (c->budget_kind == ASVK_BUDGET_MADDS) {
        s->fixed = (double)asvk_evolve_fixed_madds(sk);
        return ASVK_OK;
    }
    /* the table's price of the network of first cells, less those cells */
    asvk_cell cells[ASVK_SKEL_MAX_LAYERS];
    double sum = 0, net;
    for (uint32_t l = 0; l < sk->count; l++) cells[l] = c->space.cells[l][0].cell, sum += s->cost[l][0];
    asvk_arch a;
    if ((st = asvk_skeleton_to_arch(sk, cells, NULL, &a))) return st;
    st = asvk_lut_predict_arch(c->lut, &a, &net);
    asvk_arch_free(&a);
    if (!st) s->fixed = net - sum;
    return st;
}

/* ---- life cycle ---- */

asvk_status asvk_search_create(asvk_context *ctx, const asvk_search_config *cfg, const asvk_dataset *train,
                               asvk_search **out) {
    *out = NULL;
    const asvk_space *sp = &cfg->space;
    const asvk_skeleton *sk = &sp->sk;
    if (!sp->has_skeleton) return asvk_error_set(ASVK_ERR_USAGE, "the space %s has no skeleton", sp->name);
    if (cfg->budget_kind == ASVK_BUDGET_LATENCY && !cfg->lut)
        return asvk_error_set(ASVK_ERR_USAGE, "a latency budget needs a latency table (--lut, from 'asvk latency')");
    if (!(cfg->budget > 0)) return asvk_error_set(ASVK_ERR_USAGE, "the budget must be positive");
    if (!cfg->steps || !cfg->batch || cfg->warmup >= cfg->steps)
        return asvk_error_set(ASVK_ERR_USAGE, "--steps must exceed --warmup, and --batch be at least 1");
    if (!(cfg->tau0 > 0 && cfg->tau1 > 0)) return asvk_error_set(ASVK_ERR_USAGE, "temperatures must be positive");
    uint32_t res = cfg->data_resolution ? cfg->data_resolution : sk->resolution;
    if (train->h != res || train->w != res || train->c != sk->in_channels)
        return asvk_error_set(ASVK_ERR_USAGE, "%s has %ux%ux%u images; skeleton %s takes %ux%ux%u",
                              train->source ? train->source : "the dataset", train->h, train->w, train->c, sk->name,
                              res, res, sk->in_channels);
    asvk_search *s = calloc(1, sizeof *s);
    if (!s) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    s->ctx = ctx, s->cfg = *cfg, s->data = train;
    const asvk_space *own = &s->cfg.space;
    asvk_status st = ASVK_OK;
    s->train_sk = own->sk;
    s->train_sk.resolution = res; /* the costs stay at the skeleton's own resolution */
    s->spec = (asvk_supernet_spec){.sk = &s->train_sk, .k = 1, .batch = cfg->batch, .bn_eps = sk->bn_eps,
                                   .bn_momentum = sk->bn_momentum, .label_smoothing = cfg->label_smoothing,
                                   .fp16 = cfg->fp16, .dist = cfg->dist, .sync_bn = cfg->sync_bn};
    for (uint32_t l = 0; l < sk->count && !st; l++) {
        if (!own->count[l] || own->count[l] + (cfg->skip && skippable(sk, l) && !own->no_skip[l]) > ASVK_ALPHA_MAX_K)
            st = asvk_error_set(ASVK_ERR_USAGE, "layer %u of the space has %u cells; a search takes 1 to %d per layer "
                                "(skip included)", l, own->count[l], ASVK_ALPHA_MAX_K);
        s->spec.count[l] = own->count[l];
        s->spec.skip[l] = cfg->skip && skippable(sk, l) && !own->no_skip[l];
        for (uint32_t k = 0; k < own->count[l]; k++)
            s->spec.cells[l][k] = own->cells[l][k].cell, s->spec.hash[l][k] = own->cells[l][k].hash;
    }
    if (!st) st = costs(s);
    if (!st) { /* the cheapest network must meet the budget */
        double cheapest = s->fixed;
        for (uint32_t l = 0; l < sk->count; l++) {
            double m = INFINITY;
            for (uint32_t k = 0; k < candidates(s, l); k++) m = fmin(m, s->cost[l][k]);
            cheapest += m;
        }
        if (cheapest > cfg->budget)
            st = asvk_error_set(ASVK_ERR_USAGE, "the budget of %.3f%s is below the cheapest network of the space (%.3f%s); "
                                "raise it", shown(cfg, cfg->budget), unit(cfg), shown(cfg, cheapest), unit(cfg));
    }
    asvk_split_options so = {.count = cfg->val_images, .seed = cfg->seed, .stratified = true};
    if (!st) st = asvk_split_create(train, &so, &s->split);
    if (!st && (s->split.n_train < cfg->batch || s->split.n_val < cfg->batch))
        st = asvk_error_set(ASVK_ERR_USAGE, "%u training and %u held-out images cannot fill batches of %u; lower "
                            "--batch or --val", s->split.n_train, s->split.n_val, cfg->batch);
    asvk_alpha_init(&s->al, sk->count, 1, cfg->arch_lr);
    for (uint32_t l = 0; l < sk->count; l++) s->al.k[l] = candidates(s, l);
    s->ps = st ? NULL : asvk_params_create();
    if (!st && !s->ps) st = asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    asvk_sn_sgd sgd = {cfg->momentum, cfg->weight_decay};
    if (!st) st = asvk_supernet_declare(&s->spec, s->ps);
    if (!st) st = asvk_params_alloc(ctx, s->ps, cfg->momentum > 0 ? 1 : 0);
    if (!st) st = asvk_supernet_load(ctx, &s->spec, s->ps, NULL, cfg->seed);
    if (!st) st = asvk_sn_graph_make(ctx, &s->spec, s->ps, &sgd, &s->gw);
    if (!st) st = asvk_sn_graph_make(ctx, &s->spec, s->ps, NULL, &s->ga);
    if (st) {
        asvk_search_destroy(s);
        return st;
    }
    *out = s;
    return ASVK_OK;
}

void asvk_search_destroy(asvk_search *s) {
    if (!s) return;
    asvk_sn_graph_free(s->ctx, &s->gw);
    asvk_sn_graph_free(s->ctx, &s->ga);
    asvk_params_destroy(s->ctx, s->ps);
    asvk_split_destroy(&s->split);
    free(s);
}

uint32_t asvk_search_done(const asvk_search *s) { return s->done; }

uint32_t asvk_search_probs(const asvk_search *s, uint32_t layer, double *p) {
    asvk_alpha_softmax(&s->al, layer, p);
    return s->al.k[layer];
}

/* ---- steps ---- */

static double tau_at(const asvk_search_config *c, uint32_t t) {
    return c->tau0 * pow(c->tau1 / c->tau0, (double)t / c->steps);
}

/* Gumbel(0, 1) noise indexed by (seed, step, phase, layer, candidate): the
 * same in a resumed run. */
static double gumbel(uint64_t seed, uint32_t t, uint32_t phase, uint32_t l, uint32_t k) {
    uint64_t z = seed * 0x9e3779b97f4a7c15ull ^ ((uint64_t)t << 20 | (uint64_t)phase << 16 | l << 8 | k);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    double u = ((z >> 11) + 0.5) * 0x1.0p-53; /* (0, 1) */
    return -log(-log(u));
}

static asvk_status upload_logits(asvk_search *s, uint32_t t, uint32_t phase) {
    double logits[ASVK_SKEL_MAX_LAYERS][ASVK_ALPHA_MAX_K] = {{0}};
    if (t >= s->cfg.warmup) {
        double tau = tau_at(&s->cfg, t);
        for (uint32_t l = 0; l < s->al.layers; l++)
            for (uint32_t k = 0; k < s->al.k[l]; k++)
                logits[l][k] = (s->al.a[l][k] + gumbel(s->cfg.seed, t, phase, l, k)) / tau;
    }
    return asvk_sn_alpha_upload(s->ctx, s->ps, &s->al, (const double(*)[ASVK_ALPHA_MAX_K])logits);
}

static double expected_cost(const asvk_search *s) {
    double e = s->fixed, p[ASVK_ALPHA_MAX_K];
    for (uint32_t l = 0; l < s->al.layers; l++) {
        asvk_alpha_softmax(&s->al, l, p);
        for (uint32_t k = 0; k < s->al.k[l]; k++) e += p[k] * s->cost[l][k];
    }
    return e;
}

/* lambda * |log(E / B)|: d/dalpha_lj = sign(E - B) lambda / E * p_lj (cost_lj - sum_k p_lk cost_lk) */
static void budget_grad(const asvk_search *s, double grad[][ASVK_ALPHA_MAX_K]) {
    double e = expected_cost(s), p[ASVK_ALPHA_MAX_K];
    double f = (e > s->cfg.budget ? 1 : e < s->cfg.budget ? -1 : 0) * s->cfg.lambda / e;
    for (uint32_t l = 0; l < s->al.layers && f; l++) {
        asvk_alpha_softmax(&s->al, l, p);
        double mean = 0;
        for (uint32_t k = 0; k < s->al.k[l]; k++) mean += p[k] * s->cost[l][k];
        for (uint32_t k = 0; k < s->al.k[l]; k++) grad[l][k] += f * p[k] * (s->cost[l][k] - mean);
    }
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

asvk_status asvk_search_run(asvk_search *s, uint32_t n, asvk_search_progress_fn fn, void *user, asvk_search_stats *out) {
    memset(out, 0, sizeof *out);
    const asvk_search_config *c = &s->cfg;
    double t0 = now_s();
    uint32_t end = s->done + n < c->steps ? s->done + n : c->steps;
    asvk_sn_data dw = {s->data, s->split.train, s->split.n_train, c->batch, c->seed, c->norm, c->crop_pad, c->flip,
                       c->dist};
    asvk_sn_data da = {s->data, s->split.val, s->split.n_val, c->batch, c->seed + 7919, c->norm, 0, false, c->dist};
    asvk_loader *lw = NULL, *la = NULL;
    asvk_status st = asvk_sn_loader(&dw, s->done, true, &lw);
    /* the held-out loader counts alpha steps, which start after the warm-up */
    if (!st) st = asvk_sn_loader(&da, s->done > c->warmup ? s->done - c->warmup : 0, false, &la);
    asvk_schedule sched = {ASVK_SCHEDULE_COSINE, c->lr, (double)c->steps, (uint64_t)c->steps, 0.01 * c->lr, 0, 0};
    double sl = 0, sa = 0, svl = 0, sva = 0;
    uint32_t nw = 0, na = 0;
    for (uint32_t t = s->done; t < end && !st; t++) {
        const asvk_batch *b;
        float loss, correct;
        if ((st = asvk_loader_next(lw, &b)) || !b) break;
        if ((st = upload_logits(s, t, 0)) || (st = asvk_sn_run(s->ctx, &s->gw, b, t, asvk_schedule_lr(&sched, t), c->seed)) ||
            (st = asvk_sn_outputs(s->ctx, &s->gw, &loss, &correct)))
            break;
        if (!isfinite(loss)) {
            st = asvk_error_set(ASVK_ERR_USAGE, "the search's loss became %g at step %u; lower --lr", loss, t);
            break;
        }
        sl += loss, sa += correct / c->batch, nw++; /* (a rank's batch holds its share: the count is the whole batch's) */
        if (t >= c->warmup) {
            if ((st = asvk_loader_next(la, &b)) || !b) break;
            if ((st = upload_logits(s, t, 1)) || (st = asvk_sn_run(s->ctx, &s->ga, b, t, 0, c->seed)) ||
                (st = asvk_sn_outputs(s->ctx, &s->ga, &loss, &correct)))
                break;
            svl += loss, sva += correct / c->batch, na++;
            double grad[ASVK_SKEL_MAX_LAYERS][ASVK_ALPHA_MAX_K] = {{0}};
            if ((st = asvk_sn_alpha_grads(s->ctx, s->ps, &s->al, grad))) break;
            double tau = tau_at(c, t); /* d/dalpha of (alpha + g) / tau */
            for (uint32_t l = 0; l < s->al.layers; l++)
                for (uint32_t k = 0; k < s->al.k[l]; k++) grad[l][k] /= tau;
            budget_grad(s, grad);
            asvk_alpha_step(&s->al, (const double(*)[ASVK_ALPHA_MAX_K])grad);
        }
        s->done = t + 1;
        if (fn && !fn(user, s->done, c->steps, sl / nw, sa / nw)) {
            st = asvk_error_set(ASVK_ERR_CANCELLED, "stopped at step %u", s->done);
            break;
        }
    }
    asvk_loader_destroy(lw);
    asvk_loader_destroy(la);
    if (st) return st;
    out->step = s->done;
    out->loss = nw ? sl / nw : NAN, out->accuracy = nw ? sa / nw : NAN;
    out->val_loss = na ? svl / na : NAN, out->val_accuracy = na ? sva / na : NAN;
    out->tau = tau_at(c, s->done);
    out->expected_cost = expected_cost(s);
    out->seconds = now_s() - t0;
    /* data-parallel: every rank steps its own alphas from the same averaged
     * gradients; their hash proves the copies are still one */
    if (!asvk_dist_is_parallel(c->dist)) return ASVK_OK;
    uint64_t h = asvk_dist_hash(ASVK_DIST_HASH_INIT, &s->done, sizeof s->done);
    for (uint32_t l = 0; l < s->al.layers; l++) h = asvk_dist_hash(h, s->al.a[l], s->al.k[l] * sizeof s->al.a[l][0]);
    char what[64];
    snprintf(what, sizeof what, "the architecture logits after search step %u", s->done);
    return asvk_dist_check_same(c->dist, h, what);
}

/* ---- the result ---- */

/* The network of the largest sum of log-probabilities within the budget: a
 * multiple-choice knapsack, solved exactly by dynamic programming over the
 * cells' cost in BINS steps (costs rounded up, so the result never exceeds
 * the budget). allowed[l][k] limits the candidates. With floor > 0, only
 * networks whose cells cost at least floor (same unit) count, and when none
 * does, the most costly one that fits. false when nothing fits. */
#define BINS 4000
static bool knapsack(const asvk_search *s, const double p[][ASVK_ALPHA_MAX_K], bool allowed[][ASVK_ALPHA_MAX_K],
                     double floor_cost, int *choice) {
    uint32_t L = s->al.layers;
    double room = s->cfg.budget - s->fixed;
    if (room < 0) return false;
    double unit = room > 0 ? room / BINS : 1;
    static double best[ASVK_SKEL_MAX_LAYERS + 1][BINS + 1]; /* cells costing exactly b units */
    static signed char pick[ASVK_SKEL_MAX_LAYERS][BINS + 1];
    for (uint32_t b = 0; b <= BINS; b++) best[0][b] = b ? -INFINITY : 0;
    for (uint32_t l = 0; l < L; l++)
        for (uint32_t b = 0; b <= BINS; b++) {
            best[l + 1][b] = -INFINITY, pick[l][b] = -1;
            for (uint32_t k = 0; k < s->al.k[l]; k++) {
                if (!allowed[l][k]) continue;
                double w = ceil(s->cost[l][k] / unit - 1e-9);
                if (w > b) continue;
                double v = best[l][b - (uint32_t)w] + log(p[l][k]);
                if (v > best[l + 1][b]) best[l + 1][b] = v, pick[l][b] = (signed char)k;
            }
        }
    /* each layer's cost is rounded up by less than a unit: b units mean more than (b - L) x unit */
    double lo = floor_cost > 0 ? ceil(floor_cost / unit) + L : 0;
    uint32_t at = 0, last = 0;
    bool any = false, reached = false;
    for (uint32_t b = 0; b <= BINS; b++) {
        if (!isfinite(best[L][b])) continue;
        if (b >= lo && (!reached || best[L][b] > best[L][at])) at = b, reached = true;
        any = true, last = b;
    }
    if (!any) return false;
    if (!reached) at = last; /* nothing reaches the floor: the most costly that fits */
    for (uint32_t l = L, b = at; l-- > 0;) {
        int k = pick[l][b];
        choice[l] = k;
        b -= (uint32_t)ceil(s->cost[l][k] / unit - 1e-9);
    }
    return true;
}

/* A skipped layer followed by a kept one of the same shape holds the same
 * network as the kept block first and the skip after it (identities add
 * nothing; the block's price and cost do not depend on its place among equal
 * shapes). Skips sink to the end of such runs, where the block moved is also
 * a cell of the earlier layer's space, so that a depth-elastic space
 * (ofa-mbv3: a stage's 3rd and 4th layers) yields a network of that depth
 * as its authors write it (a once-for-all subnet drops a stage's last layers). */
static void sink_skips(const asvk_search *s, int *choice) {
    const asvk_space *sp = &s->cfg.space;
    for (bool changed = true; changed;) {
        changed = false;
        for (uint32_t l = 0; l + 1 < sp->sk.count; l++) {
            uint32_t here = asvk_supernet_cells(&s->spec, l), next = asvk_supernet_cells(&s->spec, l + 1);
            if (!s->spec.skip[l] || !s->spec.skip[l + 1] || (uint32_t)choice[l] != here || (uint32_t)choice[l + 1] >= next)
                continue;
            uint64_t h = sp->cells[l + 1][choice[l + 1]].hash;
            for (uint32_t k = 0; k < here; k++)
                if (sp->cells[l][k].hash == h) {
                    choice[l] = (int)k, choice[l + 1] = (int)next, changed = true;
                    break;
                }
        }
    }
}

asvk_status asvk_search_result_get(const asvk_search *s, asvk_search_result *out) {
    memset(out, 0, sizeof *out);
    const asvk_search_config *c = &s->cfg;
    const asvk_skeleton *sk = &c->space.sk;
    double p[ASVK_SKEL_MAX_LAYERS][ASVK_ALPHA_MAX_K], total = s->fixed;
    bool allowed[ASVK_SKEL_MAX_LAYERS][ASVK_ALPHA_MAX_K] = {{0}};
    int argmax[ASVK_SKEL_MAX_LAYERS];
    for (uint32_t l = 0; l < sk->count; l++) {
        asvk_alpha_softmax(&s->al, l, p[l]);
        /* the layer vanishes only when the identity outweighs all cells together:
         * a flat mixture of 6 cells and a skip at 0.2 says "a cell", not "skip" */
        uint32_t cells = asvk_supernet_cells(&s->spec, l);
        int best = 0;
        for (uint32_t k = 0; k < cells; k++) {
            allowed[l][k] = true;
            if (p[l][k] > p[l][best]) best = (int)k;
        }
        if (s->spec.skip[l] && p[l][cells] >= 0.5) best = (int)cells, allowed[l][cells] = true;
        out->choice[l] = argmax[l] = best;
        total += s->cost[l][best];
    }
    /* over budget: the most likely network that fits, skips where the search
     * wanted them; failing that, with skips wherever they can go */
    double floor_cells = c->spend * c->budget - s->fixed;
    if (total > c->budget) {
        bool fits = knapsack(s, (const double(*)[ASVK_ALPHA_MAX_K])p, allowed, floor_cells, out->choice);
        for (uint32_t l = 0; !fits && l < sk->count; l++)
            for (uint32_t k = 0; k < s->al.k[l]; k++) allowed[l][k] = true;
        if (!fits && !knapsack(s, (const double(*)[ASVK_ALPHA_MAX_K])p, allowed, floor_cells, out->choice))
            return asvk_error_set(ASVK_ERR_INTERNAL, "no network of the space fits the budget");
    } else if (total < c->spend * c->budget) {
        /* under the floor: every candidate may move, the most likely network between floor and budget */
        for (uint32_t l = 0; l < sk->count; l++)
            for (uint32_t k = 0; k < s->al.k[l]; k++) allowed[l][k] = true;
        if (!knapsack(s, (const double(*)[ASVK_ALPHA_MAX_K])p, allowed, floor_cells, out->choice))
            return asvk_error_set(ASVK_ERR_INTERNAL, "no network of the space fits the budget");
    }
    sink_skips(s, out->choice);
    sink_skips(s, argmax); /* a reorder is not a move */
    bool moved[ASVK_SKEL_MAX_LAYERS] = {0};
    for (uint32_t l = 0; l < sk->count; l++) moved[l] = out->choice[l] != argmax[l];
    for (uint32_t l = 0; l < sk->count; l++) {
        out->moved += moved[l];
        if ((uint32_t)out->choice[l] < c->space.count[l]) out->cells[l] = c->space.cells[l][out->choice[l]].cell;
        else memset(&out->cells[l], 0, sizeof out->cells[l]); /* skip */
    }
    out->width = 1, out->sk = *sk;
    asvk_status st;
    if (c->widen > 1) {
        asvk_widen_result w;
        if ((st = asvk_widen_to_budget(sk, out->cells, c->budget_kind == ASVK_BUDGET_LATENCY ? c->lut : NULL, c->budget,
                                       c->spend > 0 ? c->spend : 1, c->widen, c->widen_divisor, &w)))
            return st;
        out->width = w.width, out->sk = w.sk;
    }
    asvk_arch a;
    if ((st = asvk_skeleton_to_arch(&out->sk, out->cells, NULL, &a))) return st;
    asvk_cost cost;
    if (!(st = asvk_arch_cost(&a, 0, &cost))) {
        out->madds = cost.madds, out->params = cost.params;
        asvk_cost_free(&cost);
    }
    out->latency_ms = NAN;
    if (!st && c->lut) st = asvk_lut_predict_arch(c->lut, &a, &out->latency_ms);
    asvk_arch_free(&a);
    return st;
}

/* ---- state ---- */

#define STATE_FORMAT "asvk-search-state/1"

static asvk_status weights_io(asvk_search *s, const char *path, bool save) {
    asvk_param_store *ps = s->ps;
    static const char *const what[] = {"data", "opt0", "opt1"};
    asvk_st_tensor t[ASVK_GROUPS * 3];
    float *bufs[ASVK_GROUPS * 3] = {0};
    char names[ASVK_GROUPS * 3][32];
    size_t n = 0;
    asvk_status st = ASVK_OK;
    asvk_safetensors *f = NULL;
    if (!save && (st = asvk_safetensors_read(path, &f))) return st;
    for (int g = 0; g < ASVK_GROUPS && !st; g++)
        for (int w = 0; w < 3 && !st; w++) {
            asvk_buffer b = w == 0 ? ps->data[g] : ps->opt[g][w - 1];
            uint64_t floats = ps->group_floats[g];
            if (!b.block || !floats) continue;
            snprintf(names[n], sizeof names[n], "group%d.%s", g, what[w]);
            if (save) {
                if (!(bufs[n] = malloc(floats * 4))) st = asvk_error_set(ASVK_ERR_OOM, "out of host memory");
                if (!st) st = asvk_buffer_download(s->ctx, b, 0, bufs[n], floats * 4);
                t[n] = (asvk_st_tensor){names[n], 1, {floats}, bufs[n]};
                n++;
            } else {
                const asvk_st_tensor *x = asvk_safetensors_find(f, names[n]);
                if (!x || x->rank != 1 || x->shape[0] != floats)
                    st = asvk_error_set(ASVK_ERR_USAGE, "%s does not hold this search's %s (%llu floats)", path, names[n],
                                        (unsigned long long)floats);
                else if (!(st = asvk_safetensors_check_finite_as(path, x, "the search diverged before this state "
                                                                  "was saved (or the file was damaged); start the "
                                                                  "search again")))
                    st = asvk_buffer_upload(s->ctx, b, 0, x->data, floats * 4);
            }
        }
    if (save && !st) st = asvk_safetensors_write(path, t, n, NULL, 0);
    for (size_t i = 0; i < n; i++) free(bufs[i]);
    asvk_safetensors_free(f);
    return st;
}

static cJSON *matrix(const asvk_alpha *al, const double m[][ASVK_ALPHA_MAX_K]) {
    cJSON *a = cJSON_CreateArray();
    for (uint32_t l = 0; l < al->layers; l++) {
        cJSON *row = cJSON_CreateArray();
        for (uint32_t k = 0; k < al->k[l]; k++) cJSON_AddItemToArray(row, asvk_json_exact(m[l][k])); /* read back on resume */
        cJSON_AddItemToArray(a, row);
    }
    return a;
}

asvk_status asvk_search_save(asvk_search *s, const char *dir) {
    char path[1100];
    snprintf(path, sizeof path, "%s/search-weights.safetensors", dir);
    asvk_status st = weights_io(s, path, true);
    if (st) return st;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "format", STATE_FORMAT);
    cJSON_AddNumberToObject(j, "step", s->done);
    cJSON_AddNumberToObject(j, "adam_t", (double)s->al.t);
    cJSON_AddItemToObject(j, "alpha", matrix(&s->al, (const double(*)[ASVK_ALPHA_MAX_K])s->al.a));
    cJSON_AddItemToObject(j, "adam_m", matrix(&s->al, (const double(*)[ASVK_ALPHA_MAX_K])s->al.m));
    cJSON_AddItemToObject(j, "adam_v", matrix(&s->al, (const double(*)[ASVK_ALPHA_MAX_K])s->al.v));
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    snprintf(path, sizeof path, "%s/search.json", dir);
    st = asvk_file_write_atomic(path, text, strlen(text));
    free(text);
    return st;
}

static bool read_matrix(const cJSON *a, const asvk_alpha *al, double m[][ASVK_ALPHA_MAX_K]) {
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != (int)al->layers) return false;
    for (uint32_t l = 0; l < al->layers; l++) {
        const cJSON *row = cJSON_GetArrayItem(a, (int)l);
        if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != (int)al->k[l]) return false;
        for (uint32_t k = 0; k < al->k[l]; k++) {
            const cJSON *v = cJSON_GetArrayItem(row, (int)k);
            if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return false;
            m[l][k] = v->valuedouble;
        }
    }
    return true;
}

asvk_status asvk_search_load(asvk_search *s, const char *dir) {
    char path[1100], *text;
    size_t size;
    snprintf(path, sizeof path, "%s/search.json", dir);
    asvk_status st = asvk_file_read_all(path, 1 << 24, &text, &size);
    if (st) return st;
    cJSON *j;
    st = asvk_json_parse(text, size, path, &j);
    free(text);
    if (st) return st;
    const cJSON *fmt = asvk_json_get(j, "format"), *step = asvk_json_get(j, "step"), *t = asvk_json_get(j, "adam_t");
    asvk_alpha al = s->al;
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, STATE_FORMAT) != 0 || !cJSON_IsNumber(step) ||
        step->valuedouble < 0 || step->valuedouble > s->cfg.steps || !cJSON_IsNumber(t) ||
        !read_matrix(asvk_json_get(j, "alpha"), &al, al.a) || !read_matrix(asvk_json_get(j, "adam_m"), &al, al.m) ||
        !read_matrix(asvk_json_get(j, "adam_v"), &al, al.v))
        st = asvk_error_set(ASVK_ERR_USAGE, "%s is not the state of this search (its space or steps differ)", path);
    uint32_t done = st ? 0 : (uint32_t)step->valuedouble;
    al.t = st ? 0 : (uint64_t)t->valuedouble;
    cJSON_Delete(j);
    snprintf(path, sizeof path, "%s/search-weights.safetensors", dir);
    if (!st) st = weights_io(s, path, false);
    if (!st) s->al = al, s->done = done;
    return st;
}

char *asvk_search_history_json(const asvk_search *s, const asvk_search_stats *st) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "step", st->step);
    cJSON_AddNumberToObject(o, "loss", st->loss);
    cJSON_AddNumberToObject(o, "accuracy", st->accuracy);
    if (isfinite(st->val_loss)) cJSON_AddNumberToObject(o, "val_loss", st->val_loss);
    if (isfinite(st->val_accuracy)) cJSON_AddNumberToObject(o, "val_accuracy", st->val_accuracy);
    cJSON_AddNumberToObject(o, "tau", st->tau);
    cJSON_AddNumberToObject(o, "expected_cost", st->expected_cost);
    cJSON_AddNumberToObject(o, "seconds", st->seconds);
    double p[ASVK_SKEL_MAX_LAYERS][ASVK_ALPHA_MAX_K];
    for (uint32_t l = 0; l < s->al.layers; l++) asvk_alpha_softmax(&s->al, l, p[l]);
    cJSON_AddItemToObject(o, "probs", matrix(&s->al, (const double(*)[ASVK_ALPHA_MAX_K])p));
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}
