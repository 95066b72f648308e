#include "autospace/population.h"

#include <stdlib.h>
#include <string.h>

void asvk_pop_free(asvk_population *p) {
    free(p->m);
    memset(p, 0, sizeof *p);
}

int asvk_pop_find(const asvk_population *p, uint64_t hash) {
    for (uint32_t i = 0; i < p->count; i++)
        if (p->m[i].hash == hash) return (int)i;
    return -1;
}

asvk_status asvk_pop_add(asvk_population *p, const asvk_member *m) {
    if (asvk_pop_find(p, m->hash) >= 0)
        return asvk_error_set(ASVK_ERR_INTERNAL, "cell %016llx is already in the population", (unsigned long long)m->hash);
    if (p->count == p->cap) {
        uint32_t cap = p->cap ? p->cap * 2 : 32;
        void *q = realloc(p->m, cap * sizeof *p->m);
        if (!q) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
        p->m = q;
        p->cap = cap;
    }
    p->m[p->count++] = *m;
    return ASVK_OK;
}

void asvk_pop_remove(asvk_population *p, uint32_t i) {
    if (i >= p->count) return;
    memmove(&p->m[i], &p->m[i + 1], (p->count - i - 1) * sizeof *p->m);
    p->count--;
}

uint64_t asvk_pop_rand(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint32_t asvk_pop_rand_below(uint64_t *s, uint32_t n) {
    /* rejection keeps it unbiased and platform-independent */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n, r;
    do r = asvk_pop_rand(s);
    while (r >= limit);
    return (uint32_t)(r % n);
}

static bool eligible(uint32_t i, const bool *allowed, const bool *taken) {
    return (!allowed || allowed[i]) && (!taken || !taken[i]);
}

int asvk_pop_tournament(const asvk_population *p, uint64_t *rng, uint32_t size, const bool *allowed,
                        const bool *taken) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->count; i++) n += eligible(i, allowed, taken);
    if (!n) return -1;
    int best = -1;
    for (uint32_t t = 0; t < (size ? size : 1); t++) {
        uint32_t pick = asvk_pop_rand_below(rng, n), i = 0;
        for (;; i++)
            if (eligible(i, allowed, taken) && pick-- == 0) break;
        if (best < 0 || p->m[i].fitness > p->m[best].fitness ||
            (p->m[i].fitness == p->m[best].fitness && p->m[i].hash < p->m[best].hash))
            best = (int)i;
    }
    return best;
}

asvk_status asvk_pop_sample(const asvk_population *p, uint64_t *rng, uint32_t k, uint32_t tournament,
                            const bool *allowed, uint32_t *out) {
    bool *taken = calloc(p->count ? p->count : 1, sizeof *taken);
    if (!taken) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    uint32_t got = 0;
    for (uint32_t i = 0; i < p->count && got < k; i++)
        if (p->m[i].sampled == 0 && eligible(i, allowed, NULL)) out[got++] = i, taken[i] = true;
    while (got < k) {
        int i = asvk_pop_tournament(p, rng, tournament, allowed, taken);
        if (i < 0) break;
        out[got++] = (uint32_t)i;
        taken[i] = true;
    }
    free(taken);
    if (got < k)
        return asvk_error_set(ASVK_ERR_USAGE, "only %u cells of the population can be sampled, %u are needed (raise "
                              "--population or the budget, or lower -k)", got, k);
    return ASVK_OK;
}

int asvk_pop_worst(const asvk_population *p, uint32_t min_sampled) {
    int worst = -1;
    for (uint32_t i = 0; i < p->count; i++) {
        const asvk_member *m = &p->m[i];
        if (m->anchor || m->sampled < min_sampled) continue;
        if (worst < 0) { worst = (int)i; continue; }
        const asvk_member *w = &p->m[worst];
        if (m->fitness < w->fitness || (m->fitness == w->fitness &&
                                        (m->born < w->born || (m->born == w->born && m->hash < w->hash))))
            worst = (int)i;
    }
    return worst;
}

void asvk_pop_score(asvk_member *m, double beta, uint32_t k, double share) {
    m->fitness = (1 - beta) * m->fitness + beta * k * share;
}
