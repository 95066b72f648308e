/* The data pipeline's random numbers: a counter-based generator, so that a
 * shuffle or an augmentation is a pure function of (seed, purpose, epoch,
 * index) and a run resumed at any (epoch, step) draws exactly what the
 * uninterrupted run drew. Integer-only (splitmix64 and Lemire's bounded
 * draw), so every platform and compiler gives the same numbers; rand() would
 * differ between C libraries. */
#ifndef ASVK_RUNTIME_DATA_RNG_H
#define ASVK_RUNTIME_DATA_RNG_H

#include <stdint.h>

/* Purposes, mixed into the key so that the shuffle, the split and the
 * augmentation of one seed are independent streams. */
enum {
    ASVK_RNG_SHUFFLE = 0x5348554655ull,
    ASVK_RNG_SPLIT = 0x53504c4954ull,
    ASVK_RNG_AUGMENT = 0x4155474dull,
};

typedef struct asvk_rng {
    uint64_t state;
} asvk_rng;

/* splitmix64's finalizer: a bijection that spreads every input bit. */
static inline uint64_t asvk_rng_mix(uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A generator keyed by (seed, purpose, a, b); chained rather than XORed
 * together so that swapping a and b gives a different stream. */
static inline asvk_rng asvk_rng_make(uint64_t seed, uint64_t purpose, uint64_t a, uint64_t b) {
    uint64_t k = asvk_rng_mix(seed);
    k = asvk_rng_mix(k ^ purpose);
    k = asvk_rng_mix(k ^ a);
    k = asvk_rng_mix(k ^ b);
    return (asvk_rng){k};
}

static inline uint64_t asvk_rng_next(asvk_rng *r) {
    r->state += 0x9e3779b97f4a7c15ull;
    uint64_t z = r->state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n), unbiased (Lemire 2019: multiply, reject the few low
 * products that would favour some values). n must be > 0. */
static inline uint32_t asvk_rng_below(asvk_rng *r, uint32_t n) {
    uint64_t m = (uint64_t)(uint32_t)(asvk_rng_next(r) >> 32) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (uint64_t)(uint32_t)(asvk_rng_next(r) >> 32) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

#endif
