/* The evolutionary loop; see evolve.h. */
#include "autospace/evolve.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "autospace/alpha.h"
#include "autospace/bank.h"
#include "autospace/supernet.h"
#include "autospace/supernet_step.h"
#include "runtime/cell_ops.h"
#include "runtime/data/loader.h"
#include "runtime/data/split.h"
#include "runtime/dist/dist_store.h"
#include "runtime/io/safetensors.h"
#include "runtime/ops/nn.h"
#include "runtime/schedule.h"

#include "autospace/evolve_internal.h"


void asvk_evolve_config_default(asvk_evolve_config *c) {
    memset(c, 0, sizeof *c);
    c->population = 32;
    c->k = 4;
    c->generations = 20;
    c->tournament = 4;
    c->min_sampled = 2;
    c->beta = 0.5;
    c->steps = 100;
    c->batch = 64;
    c->lr = 0.05;
    c->momentum = 0.9;
    c->weight_decay = 5e-5;
    c->arch_lr = 0.01;
    c->lambda = 0.0;
    c->anchors = true;
    c->seed = 1;
    c->val_images = 5000;
    c->label_smoothing = 0.1;
    c->crop_pad = 2;
    c->flip = true;
    c->norm = asvk_norm_fashion_mnist;
    asvk_genome_options_default(&c->genome);
}

static asvk_prng *prng(asvk_evolve *e) { return (asvk_prng *)&e->rng; }

/* Costs of a cell at a layer, cached in the member. */
static asvk_status member_of(const asvk_evolve *e, uint32_t layer, const asvk_cell *c, asvk_member *m) {
    memset(m, 0, sizeof *m);
    asvk_status st = asvk_genome_canonical(c, &m->cell, &m->hash);
    if (!st) st = asvk_supernet_cell_cost(&e->cfg.sk, layer, &m->cell, &m->madds, &m->params);
    if (!st && e->cfg.lut) st = asvk_lut_predict_cell(e->cfg.lut, &e->cfg.sk, layer, &m->cell, &m->ms);
    m->fitness = 1.0; /* neutral: the share of a uniform mixture, times K */
    m->born = e->generation;
    return st;
}

/* What the cost term, the shares and the budget count: MAdds, or with a table predicted ms. */
static double cost_of(const asvk_evolve *e, const asvk_member *m) { return e->cfg.lut ? m->ms : (double)m->madds; }

static bool affordable(const asvk_evolve *e, uint32_t layer, const asvk_member *m) {
    return e->layer_budget[layer] <= 0 || cost_of(e, m) <= e->layer_budget[layer];
}

/* The cost of a cell at a layer, in the unit of cost_of. */
static asvk_status cell_cost(const asvk_evolve_config *c, uint32_t layer, const asvk_cell *cell, double *out) {
    uint64_t m, p;
    if (c->lut) return asvk_lut_predict_cell(c->lut, &c->sk, layer, cell, out);
    asvk_status st = asvk_supernet_cell_cost(&c->sk, layer, cell, &m, &p);
    *out = (double)m;
    return st;
}

/* The network of the cheapest possible cells (their costs are taken off it
 * to leave the stem and head's). */
static asvk_status cheapest_network(const asvk_skeleton *sk, asvk_cell cells[ASVK_SKEL_MAX_LAYERS], asvk_arch *a) {
    for (uint32_t l = 0; l < sk->count; l++) cells[l] = asvk_cell_mbconv(3, 1);
    return asvk_skeleton_to_arch(sk, cells, NULL, a);
}

/* What every network of the skeleton costs besides its cells, in the unit of cost_of. */
static asvk_status fixed_cost(const asvk_evolve_config *c, double *out) {
    if (!c->lut) {
        *out = (double)asvk_evolve_fixed_madds(&c->sk);
        return ASVK_OK;
    }
    asvk_cell cells[ASVK_SKEL_MAX_LAYERS];
    asvk_arch a;
    asvk_status st = cheapest_network(&c->sk, cells, &a);
    if (st) return st;
    st = asvk_lut_predict_arch(c->lut, &a, out);
    asvk_arch_free(&a);
    for (uint32_t l = 0; l < c->sk.count && !st; l++) {
        double ms;
        if (!(st = asvk_lut_predict_cell(c->lut, &c->sk, l, &cells[l], &ms))) *out -= ms;
    }
    return st;
}

void asvk_evolve_share_budget(uint32_t n, double cells, const double *ref_cost, const double *cheapest, double *out) {
    bool pinned[ASVK_SKEL_MAX_LAYERS] = {false};
    for (uint32_t round = 0; round <= n; round++) {
        double left = cells, weight = 0;
        for (uint32_t l = 0; l < n; l++) {
            if (pinned[l]) left -= cheapest[l];
            else weight += ref_cost[l];
        }
        bool changed = false;
        for (uint32_t l = 0; l < n; l++) {
            out[l] = pinned[l] ? cheapest[l] : weight > 0 ? left * ref_cost[l] / weight : 0;
            if (!pinned[l] && out[l] < cheapest[l]) pinned[l] = changed = true;
        }
        if (!changed) return;
    }
}

static asvk_status validate_skeleton(const asvk_skeleton *sk) {
    if (!sk->in_channels || !sk->resolution || sk->num_classes < 2 || !sk->stem_out || !sk->stem_stride ||
        !sk->stem_kernel)
        return asvk_error_set(ASVK_ERR_USAGE, "skeleton %s: input, classes (>= 2) and stem must be set", sk->name);
    if (!sk->count || sk->count > ASVK_SKEL_MAX_LAYERS)
        return asvk_error_set(ASVK_ERR_USAGE, "skeleton %s: 1 to %d searchable layers, not %u", sk->name,
                              ASVK_SKEL_MAX_LAYERS, sk->count);
    for (uint32_t l = 0; l < sk->count; l++)
        if (!sk->layers[l].out || (sk->layers[l].stride != 1 && sk->layers[l].stride != 2))
            return asvk_error_set(ASVK_ERR_USAGE, "skeleton %s: layer %u needs channels > 0 and stride 1 or 2", sk->name, l);
    return ASVK_OK;
}

uint64_t asvk_evolve_fixed_madds(const asvk_skeleton *sk) {
    asvk_cell cells[ASVK_SKEL_MAX_LAYERS];
    asvk_arch a;
    if (cheapest_network(sk, cells, &a)) return 0;
    asvk_cost c;
    uint64_t fixed = 0;
    if (!asvk_arch_cost(&a, 0, &c)) {
        /* the searchable layers follow the stem (layers 1..count), whatever their type: an MBConv
         * genome becomes an mbconv layer, and counting only cell layers here (as before) left the
         * cheapest cells in the "fixed" cost, so evolve and search saw less room than there was */
        fixed = c.madds;
        for (uint32_t i = 1; i <= sk->count && i < a.count; i++) fixed -= c.layers[i].madds;
        asvk_cost_free(&c);
    }
    asvk_arch_free(&a);
    return fixed;
}

/* The reference cells' expansion ratios join the options' set, so that
 * anchors and their children are valid cells. */
static asvk_status admit_reference_expands(asvk_evolve_config *c) {
    asvk_genome_options *o = &c->genome;
    for (uint32_t l = 0; c->anchors && l < c->sk.count && o->expand_count; l++) {
        bool have = false;
        for (uint32_t i = 0; i < o->expand_count; i++) have |= o->expands[i] == c->reference[l].expand;
        if (have) continue;
        if (o->expand_count == ASVK_GENOME_MAX_EXPANDS)
            return asvk_error_set(ASVK_ERR_USAGE, "the reference's expansion ratio %g does not fit the %d ratios a run "
                                  "may use", (double)c->reference[l].expand, ASVK_GENOME_MAX_EXPANDS);
        o->expands[o->expand_count++] = c->reference[l].expand;
    }
    return ASVK_OK;
}

asvk_status asvk_evolve_create(asvk_context *ctx, const asvk_evolve_config *cfg, const asvk_dataset *train,
                               asvk_evolve **out) {
    *out = NULL;
    const asvk_skeleton *sk = &cfg->sk;
    asvk_status st = validate_skeleton(sk);
    if (st) return st;
    if (cfg->k < 1 || cfg->k > ASVK_ALPHA_MAX_K)
        return asvk_error_set(ASVK_ERR_USAGE, "-k must be 1 to %d (cells mixed per layer)", ASVK_ALPHA_MAX_K);
    if (cfg->population < cfg->k)
        return asvk_error_set(ASVK_ERR_USAGE, "a population of %u cannot supply K = %u cells per layer; raise "
                              "--population to at least %u", cfg->population, cfg->k, cfg->k);
    if (!cfg->batch || !cfg->steps || !cfg->tournament)
        return asvk_error_set(ASVK_ERR_USAGE, "--batch, --steps and --tournament must be at least 1");
    if ((st = asvk_genome_options_check(&cfg->genome))) return st;
    if (train->h != sk->resolution || train->w != sk->resolution || train->c != sk->in_channels)
        return asvk_error_set(ASVK_ERR_USAGE, "%s has %ux%ux%u images; skeleton %s takes %ux%ux%u",
                              train->source ? train->source : "the dataset", train->h, train->w, train->c, sk->name,
                              sk->resolution, sk->resolution, sk->in_channels);
    int32_t top = 0; /* the labels present: a Fashion-MNIST-format file may use fewer than its 10 classes */
    for (uint32_t i = 0; i < train->n; i++) top = train->labels[i] > top ? train->labels[i] : top;
    if ((uint32_t)top >= sk->num_classes)
        return asvk_error_set(ASVK_ERR_USAGE, "%s has labels up to %d; skeleton %s classifies %u classes",
                              train->source ? train->source : "the dataset", top, sk->name, sk->num_classes);
    for (uint32_t l = 0; l < sk->count; l++) {
        uint64_t m, p;
        if ((st = asvk_genome_validate(&cfg->reference[l], NULL)) && (st = asvk_cell_check(&cfg->reference[l])))
            return asvk_error_prefix(st, "the reference cell of layer %u: ", l);
        if ((st = asvk_supernet_cell_cost(sk, l, &cfg->reference[l], &m, &p)))
            return asvk_error_prefix(st, "the reference cell of layer %u: ", l);
    }
    asvk_evolve *e = calloc(1, sizeof *e);
    if (!e) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    e->ctx = ctx;
    e->cfg = *cfg;
    sk = &e->cfg.sk;
    if ((st = admit_reference_expands(&e->cfg))) {
        free(e);
        return st;
    }
    e->data = train;
    /* The seed is hashed, not scaled: splitmix64 steps its state by the
     * golden gamma, so a state of seed * gamma made seed s + 1's stream seed
     * s's shifted by one draw (their populations came out the same). */
    asvk_prng seeder = asvk_prng_seed(cfg->seed ^ 0x1234567);
    e->rng = asvk_prng_next(&seeder);
    e->bank = asvk_bank_create();
    asvk_split_options so = {.count = cfg->val_images, .seed = cfg->seed, .stratified = true};
    if (!e->bank) st = asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    if (!st) st = asvk_split_create(train, &so, &e->split);
    if (!st && (e->split.n_train < cfg->batch || e->split.n_val < cfg->batch))
        st = asvk_error_set(ASVK_ERR_USAGE, "%u training and %u held-out images cannot fill batches of %u; lower "
                            "--batch or --val", e->split.n_train, e->split.n_val, cfg->batch);

    /* The budget, shared between layers in proportion to the reference
     * cell's cost there; the cheapest possible cell must fit, or no cell can. */
    if (!st && cfg->budget_ms > 0 && !cfg->lut)
        st = asvk_error_set(ASVK_ERR_USAGE, "a latency budget needs a latency table (asvk latency)");
    double ref_total = 0, ref_cost[ASVK_SKEL_MAX_LAYERS] = {0};
    for (uint32_t l = 0; l < sk->count && !st; l++) {
        st = cell_cost(&e->cfg, l, &e->cfg.reference[l], &ref_cost[l]);
        ref_total += ref_cost[l];
    }
    /* MAdds shown in M, latency in ms */
    double budget = cfg->lut ? cfg->budget_ms : cfg->budget_madds, scale = cfg->lut ? 1 : 1e-6;
    const char *unit = cfg->lut ? " ms" : "M MAdds", *opt = cfg->lut ? "--budget-latency" : "--budget-madds";
    if (!st && budget > 0) {
        double fixed = 0;
        st = fixed_cost(&e->cfg, &fixed);
        double cells = budget - fixed;
        if (!st && cells <= 0)
            st = asvk_error_set(ASVK_ERR_USAGE, "a budget of %.3f%s does not cover the skeleton's stem and head "
                                "(%.3f%s); raise %s", budget * scale, unit, fixed * scale, unit, opt);
        asvk_cell cheap = asvk_cell_mbconv(3, 1);
        double cheapest[ASVK_SKEL_MAX_LAYERS], cheap_total = 0;
        for (uint32_t l = 0; l < sk->count && !st; l++) {
            st = cell_cost(&e->cfg, l, &cheap, &cheapest[l]);
            cheap_total += cheapest[l];
        }
        if (!st && cells < cheap_total)
            st = asvk_error_set(ASVK_ERR_USAGE, "a budget of %.3f%s leaves the cells %.3f%s, below the cheapest "
                                "cells' %.3f%s; raise %s", budget * scale, unit, cells * scale, unit,
                                cheap_total * scale, unit, opt);
        if (!st) asvk_evolve_share_budget(sk->count, cells, ref_cost, cheapest, e->layer_budget);
    }
    /* Initial populations: the anchor, then random cells new to the layer. */
    for (uint32_t l = 0; l < sk->count && !st; l++) {
        if (cfg->anchors) {
            asvk_member m;
            st = member_of(e, l, &e->cfg.reference[l], &m);
            m.anchor = true;
            if (!st) st = asvk_pop_add(&e->pop[l], &m);
        }
        uint32_t tries = 0;
        while (!st && e->pop[l].count < cfg->population) {
            asvk_cell c;
            asvk_member m;
            if ((st = asvk_genome_random(prng(e), e->cfg.genome.nodes, &e->cfg.genome, &c))) break;
            if ((st = member_of(e, l, &c, &m))) break;
            if (asvk_pop_find(&e->pop[l], m.hash) < 0 && affordable(e, l, &m)) st = asvk_pop_add(&e->pop[l], &m);
            if (++tries > 100 * cfg->population)
                st = asvk_error_set(ASVK_ERR_USAGE, "could not draw %u distinct affordable cells for layer %u; lower "
                                    "--population or raise the budget", cfg->population, l);
        }
    }
    if (st) {
        asvk_evolve_destroy(e);
        return st;
    }
    *out = e;
    return ASVK_OK;
}

void asvk_evolve_destroy(asvk_evolve *e) {
    if (!e) return;
    for (uint32_t l = 0; l < ASVK_SKEL_MAX_LAYERS; l++) asvk_pop_free(&e->pop[l]);
    asvk_split_destroy(&e->split);
    asvk_bank_destroy(e->bank);
    free(e);
}

uint32_t asvk_evolve_generation(const asvk_evolve *e) { return e->generation; }
const asvk_split *asvk_evolve_split(const asvk_evolve *e) { return &e->split; }

bool asvk_evolve_has_teacher(const asvk_evolve *e) {
    uint64_t n;
    return asvk_bank_get(e->bank, "teacher.layers.0.conv.weight", &n) != NULL;
}

asvk_status asvk_evolve_set_teacher(asvk_evolve *e, const char *checkpoint) {
    asvk_safetensors *f;
    asvk_status st = asvk_safetensors_read(checkpoint, &f);
    if (st) return st;
    for (size_t i = 0; i < asvk_safetensors_count(f) && !st; i++) {
        const asvk_st_tensor *t = asvk_safetensors_tensor(f, i);
        if (strncmp(t->name, "optimizer.", 10) == 0) continue;
        uint64_t n = 1;
        for (uint32_t r = 0; r < t->rank; r++) n *= t->shape[r];
        char name[160];
        snprintf(name, sizeof name, "teacher.%s", t->name);
        st = asvk_safetensors_check_finite_as(checkpoint, t, "the reference's training diverged; train it again "
                                              "(a smaller --lr) or give other --reference-weights");
        if (!st) st = asvk_bank_put(e->bank, name, t->data, n);
    }
    asvk_safetensors_free(f);
    if (!st && !asvk_evolve_has_teacher(e))
        st = asvk_error_set(ASVK_ERR_USAGE, "%s is not a checkpoint of the reference network (no layers.0.conv.weight)",
                            checkpoint);
    return st;
}
const asvk_bank *asvk_evolve_bank(const asvk_evolve *e) { return e->bank; }
const asvk_population *asvk_evolve_population(const asvk_evolve *e, uint32_t l) { return &e->pop[l]; }
double asvk_evolve_layer_budget(const asvk_evolve *e, uint32_t l) { return e->layer_budget[l]; }

/* ---- one generation ---- */

static asvk_sn_data data_of(const asvk_evolve *e, bool train) {
    /* the held-out batches get their own shuffle seed */
    return (asvk_sn_data){e->data, train ? e->split.train : e->split.val, train ? e->split.n_train : e->split.n_val,
                          e->cfg.batch, e->cfg.seed + (train ? 0 : 7919), e->cfg.norm, e->cfg.crop_pad, e->cfg.flip,
                          e->cfg.dist};
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Copies the parent's tensors of everything the child keeps unchanged to the
 * child's names in the bank (AUTOSPACE.md: a child inherits its parent's
 * weights on unchanged edges). */
static asvk_status inherit(asvk_evolve *e, uint32_t layer, const asvk_member *parent, const asvk_member *child,
                           const asvk_genome_map *map) {
    char pp[64], cp[64];
    asvk_supernet_cell_prefix(layer, parent->hash, pp, sizeof pp);
    asvk_supernet_cell_prefix(layer, child->hash, cp, sizeof cp);
    const char *bn[] = {"weight", "bias", "running_mean", "running_var"};
    char from[160], to[160];
    asvk_status st = ASVK_OK;
#define COPY(fs, ts)                                                                                          \
    do {                                                                                                      \
        snprintf(from, sizeof from, "%s%s", pp, fs);                                                          \
        snprintf(to, sizeof to, "%s%s", cp, ts);                                                              \
        uint64_t cnt;                                                                                         \
        const float *v = asvk_bank_get(e->bank, from, &cnt);                                                  \
        if (v && !st) st = asvk_bank_put(e->bank, to, v, cnt);                                                \
    } while (0)
    char fs[64], ts[64];
    if (map->expand) {
        COPY("expand.weight", "expand.weight");
        for (int r = 0; r < 4; r++) {
            snprintf(fs, sizeof fs, "expand_bn.%s", bn[r]);
            COPY(fs, fs);
        }
    }
    if (map->project) {
        COPY("project.weight", "project.weight");
        for (int r = 0; r < 4; r++) {
            snprintf(fs, sizeof fs, "project_bn.%s", bn[r]);
            COPY(fs, fs);
        }
    }
    for (uint32_t i = 1; i < child->cell.nodes; i++)
        for (uint32_t j = 0; j < i; j++) {
            if (!map->edge[i][j] || map->node[i] < 0 || map->node[j] < 0) continue;
            snprintf(fs, sizeof fs, "e%d_%d.weight", map->node[i], map->node[j]);
            snprintf(ts, sizeof ts, "e%u_%u.weight", i, j);
            COPY(fs, ts);
            for (int r = 0; r < 4; r++) {
                snprintf(fs, sizeof fs, "e%d_%d_bn.%s", map->node[i], map->node[j], bn[r]);
                snprintf(ts, sizeof ts, "e%u_%u_bn.%s", i, j, bn[r]);
                COPY(fs, ts);
            }
        }
#undef COPY
    return st;
}

static asvk_status evolve_layer(asvk_evolve *e, uint32_t l) {
    asvk_population *p = &e->pop[l];
    bool *allowed = calloc(p->count + 1, sizeof *allowed);
    uint64_t *hashes = calloc(p->count + 1, sizeof *hashes);
    if (!allowed || !hashes) {
        free(allowed), free(hashes);
        return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    }
    for (uint32_t i = 0; i < p->count; i++) allowed[i] = affordable(e, l, &p->m[i]), hashes[i] = p->m[i].hash;
    asvk_status st = ASVK_OK;
    int parent = asvk_pop_tournament(p, &e->rng, e->cfg.tournament, allowed, NULL);
    asvk_member child;
    bool made = false;
    for (int attempt = 0; attempt < 20 && parent >= 0 && !st && !made; attempt++) {
        asvk_cell c;
        asvk_genome_map map;
        asvk_mutation kind;
        st = asvk_genome_mutate(prng(e), &p->m[parent].cell, hashes, p->count, &e->cfg.genome, &c, &map, &kind);
        if (st) break;
        if ((st = member_of(e, l, &c, &child))) break;
        if (!affordable(e, l, &child) || asvk_pop_find(p, child.hash) >= 0) continue; /* too costly: try again */
        child.parent = p->m[parent].hash;
        child.fitness = p->m[parent].fitness; /* the child starts where its parent stands */
        st = inherit(e, l, &p->m[parent], &child, &map);
        made = true;
    }
    free(allowed);
    free(hashes);
    if (st) return st;
    if (made && (st = asvk_pop_add(p, &child))) return st;
    while (p->count > e->cfg.population) {
        int w = asvk_pop_worst(p, e->cfg.min_sampled);
        if (w < 0) break;
        char prefix[64];
        asvk_supernet_cell_prefix(l, p->m[w].hash, prefix, sizeof prefix);
        asvk_bank_drop_prefix(e->bank, prefix);
        asvk_pop_remove(p, (uint32_t)w);
    }
    return ASVK_OK;
}

/* Data-parallel: every rank evolves its own copy of the populations from the
 * same averaged alphas and the same random stream; a hash of that state
 * (members, fitness, ages, the stream) proves after each generation that the
 * copies are still one. */
static asvk_status check_ranks(const asvk_evolve *e) {
    if (!asvk_dist_is_parallel(e->cfg.dist)) return ASVK_OK;
    uint64_t h = asvk_dist_hash(ASVK_DIST_HASH_INIT, &e->rng, sizeof e->rng);
    h = asvk_dist_hash(h, &e->generation, sizeof e->generation);
    for (uint32_t l = 0; l < e->cfg.sk.count; l++) {
        const asvk_population *p = &e->pop[l];
        h = asvk_dist_hash(h, &p->count, sizeof p->count);
        for (uint32_t i = 0; i < p->count; i++) {
            const asvk_member *m = &p->m[i];
            uint64_t v[5] = {m->hash, m->parent, m->born, m->sampled, m->anchor};
            h = asvk_dist_hash(h, v, sizeof v);
            h = asvk_dist_hash(h, &m->fitness, sizeof m->fitness);
        }
        h = asvk_dist_hash(h, e->share[l], sizeof e->share[l]);
    }
    char what[96];
    snprintf(what, sizeof what, "the evolution state after generation %u (populations, fitness, random draws)",
             e->generation);
    return asvk_dist_check_same(e->cfg.dist, h, what);
}

/* --fitness perturb: a sampled cell's contribution to its trained mixture, as the rise of the held-out
 * loss when the cell is taken out of it (its logit at -1e4: weight 0, the others' renormalized), on the
 * same PERTURB_BATCHES held-out batches for every cell of every layer (paired: the batches' own
 * difficulty cancels), as shares of the layer's total rise; a cell whose removal lowers the loss
 * counts 0, and a layer where none raises it shares uniformly. A softmax mixture trained with its
 * weights leans on the cells that fit first, those with few or no parameters (the collapse the
 * diagnosis in docs/autospace.md measured), so their alpha share says little of what they add; Wang
 * et al., "Rethinking architecture selection in differentiable NAS" (ICLR 2021), select operations
 * this way. The evaluations run the alpha-step graph's forward (its BN in batch mode, its running
 * statistics untouched; asvk_sn_run_forward): PERTURB_BATCHES x (1 + layers x K) runs, each about
 * half an alpha step. */
#define PERTURB_BATCHES 2u
static asvk_status perturb_shares(asvk_evolve *e, asvk_param_store *ps, asvk_sn_graph *ga, asvk_loader *la,
                                  const asvk_alpha *al, uint64_t gs, double share[][ASVK_ALPHA_MAX_K]) {
    const asvk_evolve_config *c = &e->cfg;
    uint32_t layers = c->sk.count;
    double rise[ASVK_SKEL_MAX_LAYERS][ASVK_ALPHA_MAX_K] = {{0}};
    double logits[64][ASVK_ALPHA_MAX_K];
    const double(*trained)[ASVK_ALPHA_MAX_K] = (const double(*)[ASVK_ALPHA_MAX_K])al->a;
    asvk_status st = ASVK_OK;
    for (uint32_t bi = 0; bi < PERTURB_BATCHES && !st; bi++) {
        const asvk_batch *b;
        if ((st = asvk_loader_next(la, &b)) || !b) break;
        float base, loss, correct;
        if ((st = asvk_sn_alpha_upload(e->ctx, ps, al, trained)) || (st = asvk_sn_run_forward(e->ctx, ga, b, gs, c->seed)) ||
            (st = asvk_sn_outputs(e->ctx, ga, &base, &correct)))
            break;
        for (uint32_t l = 0; l < layers && !st; l++)
            for (uint32_t k = 0; k < c->k && !st; k++) {
                memcpy(logits, al->a, sizeof logits);
                logits[l][k] = -1e4;
                if ((st = asvk_sn_alpha_upload(e->ctx, ps, al, (const double(*)[ASVK_ALPHA_MAX_K])logits)) ||
                    (st = asvk_sn_run_forward(e->ctx, ga, b, gs, c->seed)) ||
                    (st = asvk_sn_outputs(e->ctx, ga, &loss, &correct)))
                    break;
                rise[l][k] += (double)loss - base;
            }
    }
    if (!st) st = asvk_sn_alpha_upload(e->ctx, ps, al, trained);
    if (st) return asvk_error_prefix(st, "measuring the cells' contributions: ");
    for (uint32_t l = 0; l < layers; l++) {
        double total = 0;
        for (uint32_t k = 0; k < c->k; k++) total += fmax(rise[l][k], 0);
        for (uint32_t k = 0; k < c->k; k++) share[l][k] = total > 0 ? fmax(rise[l][k], 0) / total : 1.0 / c->k;
    }
    return ASVK_OK;
}

asvk_status asvk_evolve_step(asvk_evolve *e, asvk_evolve_progress_fn fn, void *user, asvk_generation_stats *out) {
    memset(out, 0, sizeof *out);
    const asvk_evolve_config *c = &e->cfg;
    const asvk_skeleton *sk = &c->sk;
    double t0 = now_s();
    if (c->distill && !asvk_evolve_has_teacher(e))
        return asvk_error_set(ASVK_ERR_USAGE, "block supervision needs the trained reference (asvk_evolve_set_teacher)");
    asvk_supernet_spec spec = {.sk = sk, .k = c->k, .distill = c->distill, .reference = c->reference,
                               .batch = c->batch, .bn_eps = sk->bn_eps, .bn_momentum = sk->bn_momentum,
                               .label_smoothing = c->label_smoothing, .fp16 = c->fp16, .dist = c->dist,
                               .sync_bn = c->sync_bn};
    asvk_status st = ASVK_OK;
    for (uint32_t l = 0; l < sk->count && !st; l++) {
        asvk_population *p = &e->pop[l];
        bool *allowed = calloc(p->count + 1, sizeof *allowed);
        if (!allowed) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
        for (uint32_t i = 0; i < p->count; i++) allowed[i] = affordable(e, l, &p->m[i]);
        st = asvk_pop_sample(p, &e->rng, c->k, c->tournament, allowed, e->sampled[l]);
        free(allowed);
        for (uint32_t k = 0; k < c->k && !st; k++) {
            spec.cells[l][k] = p->m[e->sampled[l][k]].cell;
            spec.hash[l][k] = p->m[e->sampled[l][k]].hash;
        }
    }
    if (st) return asvk_error_prefix(st, "generation %u: ", e->generation);

    asvk_param_store *ps = asvk_params_create();
    asvk_sn_graph gw = {0}, ga = {0};
    asvk_loader *lw = NULL, *la = NULL;
    if (!ps) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    asvk_sn_sgd sgd = {c->momentum, c->weight_decay};
    asvk_sn_data dw = data_of(e, true), da = data_of(e, false);
    if (!st) st = asvk_supernet_declare(&spec, ps);
    if (!st) st = asvk_params_alloc(e->ctx, ps, c->momentum > 0 ? 1 : 0);
    if (!st) st = asvk_supernet_load(e->ctx, &spec, ps, e->bank, c->seed);
    if (!st) st = asvk_sn_graph_make(e->ctx, &spec, ps, &sgd, &gw);
    if (!st && c->k > 1) st = asvk_sn_graph_make(e->ctx, &spec, ps, NULL, &ga);
    uint64_t first = (uint64_t)e->generation * c->steps;
    if (!st) st = asvk_sn_loader(&dw, first, true, &lw);
    if (!st && c->k > 1) st = asvk_sn_loader(&da, first, false, &la);

    asvk_alpha al;
    asvk_alpha_init(&al, sk->count, c->k, c->arch_lr);
    double cost[ASVK_SKEL_MAX_LAYERS][ASVK_ALPHA_MAX_K] = {{0}};
    for (uint32_t l = 0; l < sk->count; l++)
        for (uint32_t k = 0; k < c->k; k++) cost[l][k] = cost_of(e, &e->pop[l].m[e->sampled[l][k]]);
    asvk_schedule sched = {ASVK_SCHEDULE_COSINE, c->lr, (double)c->steps, (uint64_t)c->generations * c->steps,
                           0.1 * c->lr, 0, 0};
    double sum_loss = 0, sum_acc = 0, sum_vloss = 0, sum_vacc = 0, sum_gce = 0, sum_gcost = 0;
    double cells_budget = 0; /* the hinge's: the layers' shares together */
    for (uint32_t l = 0; l < sk->count; l++) cells_budget += e->layer_budget[l];
    for (uint32_t t = 0; t < c->steps && !st; t++) {
        const asvk_batch *b;
        uint64_t gs = first + t;
        if ((st = asvk_loader_next(lw, &b)) || !b) break;
        if ((st = asvk_sn_run(e->ctx, &gw, b, gs, asvk_schedule_lr(&sched, gs), c->seed))) break;
        float loss, correct;
        if ((st = asvk_sn_outputs(e->ctx, &gw, &loss, &correct))) break;
        if (!isfinite(loss)) {
            st = asvk_error_set(ASVK_ERR_USAGE, "the supernet's loss became %g in generation %u; lower --lr", loss,
                                e->generation);
            break;
        }
        sum_loss += loss, sum_acc += correct / c->batch; /* (a rank's batch holds its share: the count is the whole batch's) */
        if (c->k > 1) {
            if ((st = asvk_loader_next(la, &b)) || !b) break;
            if ((st = asvk_sn_run(e->ctx, &ga, b, gs, 0, c->seed)) || (st = asvk_sn_outputs(e->ctx, &ga, &loss, &correct)))
                break;
            sum_vloss += loss, sum_vacc += correct / c->batch;
            /* alphas: the loss gradient from the device, the cost term's here, Adam here */
            double grad[ASVK_SKEL_MAX_LAYERS][ASVK_ALPHA_MAX_K] = {{0}}, gc[ASVK_SKEL_MAX_LAYERS][ASVK_ALPHA_MAX_K] = {{0}};
            if ((st = asvk_sn_alpha_grads(e->ctx, ps, &al, grad))) break;
            if (c->cost_mode == ASVK_EVOLVE_COST_HINGE)
                asvk_alpha_cost_hinge_grad(&al, (const double(*)[ASVK_ALPHA_MAX_K])cost, c->lambda, cells_budget, gc);
            else
                asvk_alpha_cost_grad(&al, (const double(*)[ASVK_ALPHA_MAX_K])cost, c->lambda, gc);
            /* how the two parts compare (docs/autospace.md, the diagnosis), then their sum */
            double n_ce = 0, n_cost = 0;
            for (uint32_t l = 0; l < sk->count; l++)
                for (uint32_t k = 0; k < c->k; k++)
                    n_ce += grad[l][k] * grad[l][k], n_cost += gc[l][k] * gc[l][k], grad[l][k] += gc[l][k];
            sum_gce += sqrt(n_ce), sum_gcost += sqrt(n_cost);
            asvk_alpha_step(&al, (const double(*)[ASVK_ALPHA_MAX_K])grad);
            st = asvk_sn_alpha_upload(e->ctx, ps, &al, (const double(*)[ASVK_ALPHA_MAX_K])al.a);
        }
        if (fn && !fn(user, e->generation, t + 1, c->steps, sum_loss / (t + 1), sum_acc / (t + 1))) {
            st = asvk_error_set(ASVK_ERR_CANCELLED, "stopped at step %u", t + 1);
            break;
        }
    }
    /* what Eqn. 5 scores: the alpha shares, or the cells' contributions measured by perturbation */
    double score[ASVK_SKEL_MAX_LAYERS][ASVK_ALPHA_MAX_K];
    for (uint32_t l = 0; l < sk->count; l++) asvk_alpha_softmax(&al, l, score[l]);
    if (!st && c->k > 1 && c->fitness == ASVK_EVOLVE_FITNESS_PERTURB)
        st = perturb_shares(e, ps, &ga, la, &al, first + c->steps, score);
    asvk_loader_destroy(lw);
    asvk_loader_destroy(la);
    /* data-parallel: the bank gets the ranks' averaged BN statistics, and
     * weights every rank must hold alike */
    if (!st) st = asvk_dist_store_average_state(e->ctx, c->dist, ps);
    if (!st) st = asvk_dist_store_check(e->ctx, c->dist, ps, c->momentum > 0 ? 1 : 0, "of the supernet");
    if (!st) st = asvk_supernet_save(e->ctx, ps, e->bank);
    asvk_sn_graph_free(e->ctx, &gw);
    asvk_sn_graph_free(e->ctx, &ga);
    asvk_params_destroy(e->ctx, ps);
    if (st) return asvk_error_prefix(st, "generation %u: ", e->generation);

    /* Eqn. 5, then evolution. */
    out->generation = e->generation;
    out->loss = sum_loss / c->steps;
    out->accuracy = sum_acc / c->steps;
    out->val_loss = c->k > 1 ? sum_vloss / c->steps : NAN;
    out->val_accuracy = c->k > 1 ? sum_vacc / c->steps : NAN;
    out->alpha_grad_ce = c->k > 1 ? sum_gce / c->steps : NAN;
    out->alpha_grad_cost = c->k > 1 ? sum_gcost / c->steps : NAN;
    for (uint32_t l = 0; l < sk->count; l++) {
        double p[ASVK_ALPHA_MAX_K];
        asvk_alpha_softmax(&al, l, p);
        for (uint32_t k = 0; k < c->k; k++) {
            asvk_member *m = &e->pop[l].m[e->sampled[l][k]];
            asvk_pop_score(m, c->beta, c->k, score[l][k]);
            m->sampled++;
            e->share[l][k] = p[k];
            e->score[l][k] = out->score[l][k] = score[l][k];
            e->sample_hash[l][k] = m->hash;
            out->expected_madds += p[k] * (double)m->madds;
            out->expected_ms += p[k] * m->ms;
        }
    }
    for (uint32_t l = 0; l < sk->count && !st; l++) st = evolve_layer(e, l);
    for (uint32_t l = 0; l < sk->count; l++) {
        out->best_fitness[l] = -INFINITY;
        for (uint32_t i = 0; i < e->pop[l].count; i++)
            out->best_fitness[l] = fmax(out->best_fitness[l], e->pop[l].m[i].fitness);
    }
    e->generation++;
    if (!st) st = check_ranks(e);
    out->seconds = now_s() - t0;
    out->images_per_s = (double)c->steps * c->batch * (c->k > 1 ? 2 : 1) / out->seconds;
    return st;
}

uint32_t asvk_evolve_top(const asvk_evolve *e, uint32_t layer, uint32_t k, uint32_t *out) {
    const asvk_population *p = &e->pop[layer];
    uint32_t n = 0;
    bool *taken = calloc(p->count + 1, sizeof *taken);
    if (!taken) return 0;
    while (n < k && n < p->count) {
        int best = -1;
        for (uint32_t i = 0; i < p->count; i++) {
            if (taken[i]) continue;
            /* trained cells first: a newborn's fitness is its parent's, a prior
             * rather than a measurement, and would let an untried variant of a
             * good cell crowd the space beside it */
            bool ti = p->m[i].sampled > 0, tb = best >= 0 && p->m[best].sampled > 0;
            if (best < 0 || (ti && !tb) ||
                (ti == tb && (p->m[i].fitness > p->m[best].fitness ||
                              (p->m[i].fitness == p->m[best].fitness && p->m[i].hash < p->m[best].hash))))
                best = (int)i;
        }
        taken[best] = true;
        out[n++] = (uint32_t)best;
    }
    free(taken);
    return n;
}

asvk_status asvk_evolve_space(const asvk_evolve *e, uint32_t k, asvk_space *out) {
    memset(out, 0, sizeof *out);
    if (k > ASVK_SPACE_MAX_CELLS) k = ASVK_SPACE_MAX_CELLS;
    snprintf(out->name, sizeof out->name, "%s", e->cfg.sk.name);
    out->generations = e->generation;
    out->layers = e->cfg.sk.count;
    for (uint32_t l = 0; l < out->layers; l++) {
        uint32_t idx[ASVK_SPACE_MAX_CELLS];
        out->count[l] = asvk_evolve_top(e, l, k, idx);
        for (uint32_t i = 0; i < out->count[l]; i++) {
            const asvk_member *m = &e->pop[l].m[idx[i]];
            out->cells[l][i] = (asvk_space_cell){m->cell, m->hash, true, m->fitness, 0, 0, m->anchor, m->sampled};
        }
    }
    return asvk_space_set_skeleton(out, &e->cfg.sk);
}
