/* Seeded permutations: the order of an epoch is a pure function of
 * (seed, epoch), so a run resumed at (epoch, step) sees the same order the
 * uninterrupted run saw, on every platform. */
#ifndef ASVK_RUNTIME_DATA_SHUFFLE_H
#define ASVK_RUNTIME_DATA_SHUFFLE_H

#include <stdint.h>

#include "runtime/data/rng.h"

/* Fisher-Yates shuffle of v[0..n) in place, drawing from r. */
void asvk_shuffle_indices(asvk_rng *r, uint32_t *v, uint32_t n);

/* out = base permuted by the permutation of (seed, epoch); base NULL stands
 * for 0..n-1. out and base may be the same array. */
void asvk_shuffle_epoch(uint64_t seed, uint32_t epoch, const uint32_t *base, uint32_t n, uint32_t *out);

#endif
