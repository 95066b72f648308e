/* Architecture search inside a layer-wise space (`asvk search`): one cell
 * per layer, or the identity where the shapes allow, under a MAdds or a
 * latency budget.
 *
 * FBNet-style Gumbel-softmax (Wu et al. 2019): every candidate of every
 * layer is in one supernet, mixed by softmax((alpha + g) / tau) with fresh
 * Gumbel noise g each step and a temperature annealed from tau0 to tau1.
 * Chosen over ProxylessNAS's sampled binary paths because asvk records a
 * training step once and replays it: a fixed supernet keeps one recorded
 * step (one submit) for the whole search, where path sampling would change
 * the graph every step; with the 5 to 7 candidates a layer has here, the
 * cost of running them all stays within a small factor of a network.
 *
 * After `warmup` weight-only steps (an even mixture, no noise), each step
 * pair is a weight step (SGD on the training split) and an alpha step
 * (Adam, on a held-out split) on
 *   CE + lambda * |log(E[cost] / budget)|,
 *   E[cost] = fixed + sum_l sum_k softmax(alpha_l)_k cost_lk
 * (the expected MAdds or predicted latency of the network; fixed is the
 * stem and head): the budget is a target (TuNAS's absolute-value form),
 * pushing down above it and up below it, so that searches in different
 * spaces end at alike costs instead of drifting to cheap identities (the
 * skip collapse of differentiable NAS). The result is each layer's most
 * likely cell, or the identity where it has at least half the probability
 * (a skip at 0.2 beside six cells sharing 0.8 means "a cell"); when
 * that network breaks the budget, the network of the largest sum of
 * log-probabilities that fits (an exact multiple-choice knapsack). With
 * spend > 0, a network below spend x budget is replaced the same way by the
 * most likely one costing between spend x budget and the budget (the
 * nearest below when none reaches it), so that searches in different spaces
 * are compared at the cost they were given. With widen > 1, a result still
 * under that floor (a space whose dearest network cannot reach it) is made
 * wider to the budget (asvk_widen_to_budget). */
#ifndef ASVK_AUTOSPACE_SEARCH_H
#define ASVK_AUTOSPACE_SEARCH_H

#include "autospace/latency.h"
#include "autospace/space.h"
#include "runtime/data/dataset.h"
#include "runtime/dist/dist.h"

typedef enum { ASVK_BUDGET_MADDS = 0, ASVK_BUDGET_LATENCY = 1 } asvk_budget_kind;

typedef struct asvk_search_config {
    asvk_space space;        /* candidates per layer; must have its skeleton */
    bool skip;               /* the identity as a candidate where stride is 1 and channels match */
    uint32_t steps, warmup;  /* step pairs in all; the first `warmup` train the weights only */
    uint32_t batch;
    double lr, momentum, weight_decay; /* weights: SGD, cosine over the steps */
    double arch_lr;          /* alphas: Adam */
    double tau0, tau1;       /* Gumbel-softmax temperature, exponential from tau0 to tau1 */
    double lambda;           /* weight of the budget term */
    asvk_budget_kind budget_kind;
    double budget;           /* MAdds, or milliseconds with the table */
    double spend;            /* 0..1: the result costs at least this share of the budget (0: no floor) */
    double widen;            /* > 1: a result under spend x budget (under the budget when spend is 0) is made
                                wider, up to this factor, to the costliest width within the budget
                                (autospace/widen.h); 1: never */
    uint32_t widen_divisor;  /* the widened channel counts' multiple */
    const asvk_lut *lut;     /* needed for a latency budget; predicts latency for the report when given */
    uint64_t seed;
    uint32_t val_images;
    double label_smoothing;
    uint32_t crop_pad;
    bool flip;
    bool fp16; /* supernet activations stored as fp16 */
    uint32_t data_resolution; /* 0: the skeleton's; else the supernet trains on images of this size (the
                                 weights do not depend on it) while costs and tables stay at the skeleton's */
    asvk_norm norm;
    asvk_dist *dist; /* data-parallel runs (runtime/dist/dist.h; NULL: one process); rank 0 alone writes */
    bool sync_bn;    /* distributed: BN statistics over the global batch */
} asvk_search_config;

void asvk_search_config_default(asvk_search_config *c);

/* The hand-made space of ProxylessNAS: MBConv k in {3, 5, 7} x e in {3, 6}
 * in every layer of the skeleton (skip is the search's --skip). */
asvk_status asvk_space_mbconv(const asvk_skeleton *sk, asvk_space *out);

typedef struct asvk_search asvk_search;

/* Checks everything before training (the cheapest network must meet the
 * budget: ASVK_ERR_USAGE with its cost otherwise) and builds the supernet. */
asvk_status asvk_search_create(asvk_context *ctx, const asvk_search_config *cfg, const asvk_dataset *train,
                               asvk_search **out);
void asvk_search_destroy(asvk_search *s);

typedef struct asvk_search_stats {
    uint32_t step;           /* step pairs done */
    double loss, accuracy;   /* weight steps since the last call, means */
    double val_loss, val_accuracy; /* alpha steps since the last call (NaN in warm-up) */
    double tau, expected_cost;
    double seconds;
} asvk_search_stats;

/* After each step pair; returns false to stop: asvk_search_run returns ASVK_ERR_CANCELLED and the
 * search state is left between saves (load the last save to continue). */
typedef bool (*asvk_search_progress_fn)(void *user, uint32_t step, uint32_t steps, double loss, double accuracy);

/* Runs up to `n` more step pairs (fewer at the end). */
asvk_status asvk_search_run(asvk_search *s, uint32_t n, asvk_search_progress_fn fn, void *user, asvk_search_stats *out);
uint32_t asvk_search_done(const asvk_search *s);

/* Probabilities softmax(alpha_l) of each layer's candidates (cells, then skip). */
uint32_t asvk_search_probs(const asvk_search *s, uint32_t layer, double *p);

/* The chosen network: cells[l] (nodes == 0: skip), its cost by the cost
 * model, and its predicted latency when a table was given (else NaN). */
typedef struct asvk_search_result {
    asvk_cell cells[ASVK_SKEL_MAX_LAYERS];
    int choice[ASVK_SKEL_MAX_LAYERS]; /* candidate index */
    uint64_t madds, params;
    double latency_ms;
    uint32_t moved;                   /* layers moved to cheaper candidates to meet the budget */
    double width;                     /* the width factor of cfg.widen (1: the space's own widths) */
    asvk_skeleton sk;                 /* the skeleton of the network: the space's, widened by `width` */
} asvk_search_result;
asvk_status asvk_search_result_get(const asvk_search *s, asvk_search_result *out);

/* State after asvk_search_done() steps: dir/search.json (alphas, Adam, the
 * step) and dir/search-weights.safetensors (every parameter and optimizer
 * slot), written atomically, weights first. */
asvk_status asvk_search_save(asvk_search *s, const char *dir);
asvk_status asvk_search_load(asvk_search *s, const char *dir);

/* A JSON line of the current state (malloc'd). */
char *asvk_search_history_json(const asvk_search *s, const asvk_search_stats *st);

#endif
