/* The differentiable evolutionary algorithm (AUTOSPACE.md): per layer of a
 * skeleton a population of cells; each generation samples K cells per layer
 * by tournament, trains the supernet (weights by SGD on the training split,
 * the mixture's alphas by Adam on a held-out split with the cost term),
 * scores the sampled cells by their share of the mixture (Eqn. 5), and
 * replaces the weakest member of each layer by a mutated child of a
 * tournament winner. A run is a pure function of its configuration and seed:
 * the state after every generation is written so that a killed run resumes
 * to the same result. Nothing here prints: progress goes to a callback. */
#ifndef ASVK_AUTOSPACE_EVOLVE_H
#define ASVK_AUTOSPACE_EVOLVE_H

#include "autospace/alpha.h"
#include "autospace/genome.h"
#include "autospace/latency.h"
#include "autospace/population.h"
#include "autospace/skeleton.h"
#include "autospace/space.h"
#include "runtime/data/dataset.h"
#include "runtime/dist/dist.h"
#include "runtime/data/split.h"

/* The cost term of the alpha loss: lambda * log E[cost] (LOG: a pull towards cheaper cells at
 * every cost), or lambda * max(0, log(E[cost] / budget)) (HINGE: only above the cells' budget,
 * the sum of the layers' shares). */
typedef enum { ASVK_EVOLVE_COST_LOG = 0, ASVK_EVOLVE_COST_HINGE = 1 } asvk_evolve_cost_mode;

/* What a generation scores a sampled cell by (Eqn. 5's share): ALPHA, its weight softmax(alpha) in
 * the trained mixture; PERTURB, how much the mixture's held-out loss rises when the cell is taken
 * out of it (evolve.c, perturb_shares), as a share of its layer's total rise. */
typedef enum { ASVK_EVOLVE_FITNESS_ALPHA = 0, ASVK_EVOLVE_FITNESS_PERTURB = 1 } asvk_evolve_fitness;

typedef struct asvk_evolve_config {
    asvk_skeleton sk;
    asvk_cell reference[ASVK_SKEL_MAX_LAYERS]; /* the reference architecture's cell at each layer */
    uint32_t population;  /* members per layer */
    uint32_t k;           /* cells sampled (and mixed) per layer */
    uint32_t generations;
    uint32_t tournament;  /* tournament size */
    uint32_t min_sampled; /* generations a member is trained before it may be removed */
    double beta;          /* Eqn. 5's moving-average rate */
    uint32_t steps;       /* weight+architecture step pairs per generation */
    uint32_t batch;
    double lr, momentum, weight_decay; /* weights: SGD, cosine over the run */
    double arch_lr;       /* alphas: Adam */
    double lambda;        /* weight of the cost term */
    asvk_evolve_cost_mode cost_mode; /* the cost term's form (alpha.h) */
    asvk_evolve_fitness fitness;     /* what Eqn. 5 scores by */
    double budget_madds;  /* MAdds budget of the whole network, stem and head included; 0: none. The
                           * cells' part is shared between layers in proportion to the reference cell's
                           * cost there, and a cell costing more than its layer's share is never sampled */
    const asvk_lut *lut;  /* with a table, a cell's cost is its predicted latency (ms) on the table's
                           * device instead of its MAdds: the cost term, the shares and the budget
                           * (borrowed; it must price every cell of the space at every layer) */
    double budget_ms;     /* latency budget of the whole network (needs lut; budget_madds unused); 0: none */
    bool anchors;         /* the reference cells in every population, never removed */
    bool distill;         /* block supervision by the trained reference (supernet.h); needs
                           * asvk_evolve_set_teacher before the first generation */
    uint64_t seed;
    uint32_t val_images;  /* held out of the training set for the alphas */
    double label_smoothing;
    uint32_t crop_pad;
    bool flip;
    bool fp16;            /* supernet activations stored as fp16 */
    asvk_norm norm;
    asvk_genome_options genome;
    asvk_dist *dist; /* data-parallel runs (runtime/dist/dist.h; NULL: one process); not saved */
    bool sync_bn;    /* distributed: BN statistics over the global batch */
} asvk_evolve_config;

/* Every default but the skeleton and its reference cells, which come from a
 * reference architecture (asvk_skeleton_from_arch). */
void asvk_evolve_config_default(asvk_evolve_config *c);

/* MAdds of the skeleton's stem and head (what every network of it costs
 * besides its cells). */
uint64_t asvk_evolve_fixed_madds(const asvk_skeleton *sk);

/* Shares `cells` (a budget less the stem and head) between n layers in
 * proportion to the reference cell's cost there, except that no layer gets
 * less than its cheapest cell: a layer whose share falls short gets its
 * cheapest cell's cost and the rest is shared again among the others. Needs
 * cells >= the sum of `cheapest`. */
void asvk_evolve_share_budget(uint32_t n, double cells, const double *ref_cost, const double *cheapest, double *out);

typedef struct asvk_evolve asvk_evolve;

/* Checks everything before any training: the skeleton, population >= K,
 * a budget that the cheapest cells can meet, the data. */
asvk_status asvk_evolve_create(asvk_context *ctx, const asvk_evolve_config *cfg, const asvk_dataset *train,
                               asvk_evolve **out);
void asvk_evolve_destroy(asvk_evolve *e);

typedef struct asvk_generation_stats {
    uint32_t generation; /* 0-based, the one just finished */
    double loss, accuracy;        /* weight steps, means */
    double val_loss, val_accuracy;/* architecture steps (held-out batches), means */
    double seconds, images_per_s;
    double expected_madds;        /* sum over layers of the softmax(alpha)-weighted cell MAdds */
    double expected_ms;           /* and predicted latency (with a table; else 0) */
    double alpha_grad_ce, alpha_grad_cost; /* means over the alpha steps of the L2 norms (all layers) of the
                                            * loss's and the cost term's gradients w.r.t. alpha */
    double best_fitness[ASVK_SKEL_MAX_LAYERS];
    double score[ASVK_SKEL_MAX_LAYERS][ASVK_ALPHA_MAX_K]; /* what Eqn. 5 scored each sampled cell by: its alpha
                                                           * share, or with --fitness perturb its share of the
                                                           * layer's loss rise; per layer they sum to 1 */
} asvk_generation_stats;

/* After each step pair; returns false to stop: the generation is abandoned (nothing of it is
 * kept) and asvk_evolve_step returns ASVK_ERR_CANCELLED. */
typedef bool (*asvk_evolve_progress_fn)(void *user, uint32_t generation, uint32_t step, uint32_t steps, double loss,
                                        double accuracy);

/* Block supervision's teacher: the trained reference network's weights, a
 * checkpoint of the architecture asvk_skeleton_to_arch(sk, reference)
 * (an `asvk train` checkpoint; optimizer state is ignored). Kept in the
 * bank, so a resumed run has it. */
asvk_status asvk_evolve_set_teacher(asvk_evolve *e, const char *checkpoint);
bool asvk_evolve_has_teacher(const asvk_evolve *e);
/* The training / held-out split the run uses (the teacher trains on the same training part). */
const asvk_split *asvk_evolve_split(const asvk_evolve *e);

/* Runs the next generation. */
asvk_status asvk_evolve_step(asvk_evolve *e, asvk_evolve_progress_fn fn, void *user, asvk_generation_stats *out);
uint32_t asvk_evolve_generation(const asvk_evolve *e);
/* Every cell's weights between generations (read-only). */
const struct asvk_bank *asvk_evolve_bank(const asvk_evolve *e);
const asvk_population *asvk_evolve_population(const asvk_evolve *e, uint32_t layer);
/* A layer's share of the budget, in MAdds or ms (0: no budget): in proportion
 * to the reference cell's cost, but never below the layer's cheapest cell. */
double asvk_evolve_layer_budget(const asvk_evolve *e, uint32_t layer);

/* State after the last finished generation: dir/state.json and the weight
 * bank; written atomically (bank first, under a generation-stamped name). */
asvk_status asvk_evolve_save(asvk_evolve *e, const char *dir);
asvk_status asvk_evolve_load(asvk_evolve *e, const char *dir);

/* The history line of a generation (JSON, malloc'd). */
char *asvk_evolve_history_json(const asvk_evolve *e, const asvk_generation_stats *s);

/* The top-K members of a layer by fitness (indices into its population;
 * ties: the lower hash first), members trained at least once before those
 * never sampled (whose fitness is only inherited). */
uint32_t asvk_evolve_top(const asvk_evolve *e, uint32_t layer, uint32_t k, uint32_t *out);

/* The learned space: the top-k cells of every layer with fitness and cost. */
asvk_status asvk_evolve_space(const asvk_evolve *e, uint32_t k, asvk_space *out);

#endif
