/* A layer's population of cells (AUTOSPACE.md, "The differentiable
 * evolutionary algorithm"): members with fitness and age, tournament
 * sampling of the K cells a generation trains, and the choice of the member
 * to remove. Randomness comes from a caller-owned 64-bit state, so a run is
 * a pure function of its seed (and resumes exactly). */
#ifndef ASVK_AUTOSPACE_POPULATION_H
#define ASVK_AUTOSPACE_POPULATION_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/status.h"
#include "runtime/cell.h"

typedef struct asvk_member {
    asvk_cell cell;   /* canonical */
    uint64_t hash;
    double fitness;   /* Eqn. 5's moving share of the mixture, neutral at 1 */
    uint32_t born;    /* generation */
    uint32_t sampled; /* generations it was trained in */
    bool anchor;      /* a reference cell: never removed */
    uint64_t parent;  /* hash of the parent, 0 for initial members */
    uint64_t madds, params; /* its cost at this layer */
    double ms;              /* its predicted latency there (evolving with a latency table; else 0) */
} asvk_member;

typedef struct asvk_population {
    asvk_member *m;
    uint32_t count, cap;
} asvk_population;

void asvk_pop_free(asvk_population *p);
int asvk_pop_find(const asvk_population *p, uint64_t hash);
asvk_status asvk_pop_add(asvk_population *p, const asvk_member *m);
void asvk_pop_remove(asvk_population *p, uint32_t index);

/* splitmix64 step on a caller-owned state; uniform in [0, n). */
uint64_t asvk_pop_rand(uint64_t *state);
uint32_t asvk_pop_rand_below(uint64_t *state, uint32_t n);

/* The fittest of `size` members drawn with replacement among those with
 * allowed[i] (NULL: all), skipping the ones in `taken` (may be NULL). -1 if
 * none is eligible. */
int asvk_pop_tournament(const asvk_population *p, uint64_t *rng, uint32_t size, const bool *allowed,
                        const bool *taken);

/* K distinct members for a generation: members never sampled come first
 * (newborn cells are always sampled once), then tournaments. out[k] are
 * indices. ASVK_ERR_USAGE when fewer than k members are eligible. */
asvk_status asvk_pop_sample(const asvk_population *p, uint64_t *rng, uint32_t k, uint32_t tournament,
                            const bool *allowed, uint32_t *out);

/* The member to remove: lowest fitness among non-anchors sampled at least
 * `min_sampled` times (ties: the oldest, then the lowest hash); -1 if none. */
int asvk_pop_worst(const asvk_population *p, uint32_t min_sampled);

/* Eqn. 5: f <- (1 - beta) f + beta * K * share. */
void asvk_pop_score(asvk_member *m, double beta, uint32_t k, double share);

#endif
