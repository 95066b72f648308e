/* The random numbers of the evolution (random cells, mutations): a seeded,
 * caller-owned splitmix64 state, so a run is a pure function of its seed,
 * identical on every platform and compiler (rand() differs between C
 * libraries). The sequence is exactly asvk_pop_rand's (population.h), so the
 * evolve loop may hand `&rng.state` to the population functions and keep one
 * stream. The name `asvk_rng` is taken by the data pipeline's counter-based
 * generator (runtime/data/rng.h); both headers can be included together. */
#ifndef ASVK_AUTOSPACE_RNG_H
#define ASVK_AUTOSPACE_RNG_H

#include <stdint.h>

typedef struct asvk_prng {
    uint64_t state;
} asvk_prng;

/* Any seed is fine, 0 included: splitmix64 has no bad states. */
static inline asvk_prng asvk_prng_seed(uint64_t seed) { return (asvk_prng){seed}; }

static inline uint64_t asvk_prng_next(asvk_prng *r) {
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0; rejection keeps it unbiased (as asvk_pop_rand_below). */
static inline uint32_t asvk_prng_below(asvk_prng *r, uint32_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;
    do x = asvk_prng_next(r);
    while (x >= limit);
    return (uint32_t)(x % n);
}

/* Uniform in [0, 1) with 53 random bits: exact in every IEEE double. */
static inline double asvk_prng_unit(asvk_prng *r) { return (double)(asvk_prng_next(r) >> 11) * 0x1.0p-53; }

#endif
