#include "runtime/data/shuffle.h"

#include <string.h>

void asvk_shuffle_indices(asvk_rng *r, uint32_t *v, uint32_t n) {
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = asvk_rng_below(r, i);
        uint32_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

void asvk_shuffle_epoch(uint64_t seed, uint32_t epoch, const uint32_t *base, uint32_t n, uint32_t *out) {
    if (!base)
        for (uint32_t i = 0; i < n; i++) out[i] = i;
    else if (base != out)
        memcpy(out, base, (size_t)n * sizeof *out);
    asvk_rng r = asvk_rng_make(seed, ASVK_RNG_SHUFFLE, epoch, 0);
    asvk_shuffle_indices(&r, out, n);
}
