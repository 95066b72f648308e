/* struct asvk_evolve, shared by autospace/evolve.c and evolve_state.c. */
#ifndef ASVK_AUTOSPACE_EVOLVE_INTERNAL_H
#define ASVK_AUTOSPACE_EVOLVE_INTERNAL_H

#include "autospace/alpha.h"
#include "autospace/bank.h"
#include "autospace/evolve.h"
#include "runtime/data/split.h"

struct asvk_evolve {
    asvk_context *ctx;
    asvk_evolve_config cfg;
    const asvk_dataset *data;
    asvk_split split;
    asvk_population pop[ASVK_SKEL_MAX_LAYERS];
    asvk_bank *bank;
    uint64_t rng;         /* splitmix64 state (asvk_prng-compatible) */
    uint32_t generation;  /* generations finished */
    double layer_budget[ASVK_SKEL_MAX_LAYERS]; /* MAdds (or ms, with a table) a cell may cost at each layer (0: none) */
    uint32_t sampled[ASVK_SKEL_MAX_LAYERS][ASVK_ALPHA_MAX_K]; /* last generation's sample (indices) */
    double share[ASVK_SKEL_MAX_LAYERS][ASVK_ALPHA_MAX_K];      /* and their final softmax(alpha) */
    double score[ASVK_SKEL_MAX_LAYERS][ASVK_ALPHA_MAX_K];      /* and what Eqn. 5 scored them by (--fitness) */
    uint64_t sample_hash[ASVK_SKEL_MAX_LAYERS][ASVK_ALPHA_MAX_K];
};

#endif
