#include "runtime/data/split.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/data/shuffle.h"

typedef struct {
    uint32_t cls;
    uint64_t rem;
} class_share;

/* Largest class_share first; ties to the lower class, so the choice is fixed. */
static int cmp_rem(const void *a, const void *b) {
    const class_share *x = a, *y = b;
    if (x->rem != y->rem) return x->rem > y->rem ? -1 : 1;
    return x->cls < y->cls ? -1 : x->cls > y->cls;
}

/* Marks in `held` the images picked for validation, class by class. */
static asvk_status pick_stratified(const asvk_dataset *d, uint32_t nval, uint64_t seed, uint8_t *held) {
    uint32_t k = d->classes;
    uint32_t *count = calloc(k, sizeof *count), *start = calloc(k + 1, sizeof *start), *quota = calloc(k, sizeof *quota);
    uint32_t *members = malloc((size_t)(d->n ? d->n : 1) * sizeof *members);
    class_share *rem = malloc(k * sizeof *rem);
    asvk_status st = ASVK_OK;
    if (!count || !start || !quota || !members || !rem) {
        st = asvk_error_set(ASVK_ERR_OOM, "out of host memory splitting %s", d->source);
        goto done;
    }
    for (uint32_t i = 0; i < d->n; i++) count[d->labels[i]]++;
    uint32_t given = 0;
    for (uint32_t c = 0; c < k; c++) {
        uint64_t share = (uint64_t)nval * count[c];
        quota[c] = (uint32_t)(share / d->n);
        rem[c] = (class_share){c, share % d->n};
        given += quota[c];
        start[c + 1] = start[c] + count[c];
    }
    qsort(rem, k, sizeof *rem, cmp_rem);
    /* A class with a class_share has quota < count, so it can take one more. */
    for (uint32_t r = 0; given < nval; r++, given++) quota[rem[r].cls]++;
    /* Counting sort by class keeps each class's images in index order
     * before the class's own shuffle. */
    memset(count, 0, k * sizeof *count);
    for (uint32_t i = 0; i < d->n; i++) members[start[d->labels[i]] + count[d->labels[i]]++] = i;
    for (uint32_t c = 0; c < k; c++) {
        asvk_rng r = asvk_rng_make(seed, ASVK_RNG_SPLIT, 1, c);
        asvk_shuffle_indices(&r, members + start[c], count[c]);
        for (uint32_t j = 0; j < quota[c]; j++) held[members[start[c] + j]] = 1;
    }
done:
    free(count), free(start), free(quota), free(members), free(rem);
    return st;
}

asvk_status asvk_split_create(const asvk_dataset *d, const asvk_split_options *o, asvk_split *out) {
    *out = (asvk_split){0};
    if (!d->n) return asvk_error_set(ASVK_ERR_USAGE, "%s: no images to split", d->source);
    if (!(o->fraction >= 0 && o->fraction < 1))
        return asvk_error_set(ASVK_ERR_USAGE, "validation fraction %g: must be at least 0 and below 1", o->fraction);
    uint32_t nval = o->count ? o->count : (uint32_t)floor(o->fraction * d->n + 0.5);
    if (nval >= d->n)
        return asvk_error_set(ASVK_ERR_USAGE, "a validation split of %u of the %u images of %s leaves none to train "
                                              "on; hold out fewer", nval, d->n, d->source);
    asvk_status st;
    if (o->stratified && (st = asvk_dataset_validate(d))) return st;
    uint8_t *held = calloc(d->n, 1);
    uint32_t *all = malloc((size_t)d->n * sizeof *all);
    if (!held || !all) {
        free(held), free(all);
        return asvk_error_set(ASVK_ERR_OOM, "out of host memory splitting %s", d->source);
    }
    if (o->stratified) {
        if ((st = pick_stratified(d, nval, o->seed, held))) {
            free(held), free(all);
            return st;
        }
    } else {
        asvk_rng r = asvk_rng_make(o->seed, ASVK_RNG_SPLIT, 0, 0);
        for (uint32_t i = 0; i < d->n; i++) all[i] = i;
        asvk_shuffle_indices(&r, all, d->n);
        for (uint32_t j = 0; j < nval; j++) held[all[j]] = 1;
    }
    /* `all` becomes the train list; the validation list is its own array. */
    uint32_t *val = malloc((size_t)(nval ? nval : 1) * sizeof *val);
    if (!val) {
        free(held), free(all);
        return asvk_error_set(ASVK_ERR_OOM, "out of host memory splitting %s", d->source);
    }
    uint32_t nt = 0, nv = 0;
    for (uint32_t i = 0; i < d->n; i++) {
        if (held[i]) val[nv++] = i;
        else all[nt++] = i;
    }
    free(held);
    *out = (asvk_split){.train = all, .n_train = nt, .val = val, .n_val = nv};
    return ASVK_OK;
}

void asvk_split_destroy(asvk_split *s) {
    free(s->train);
    free(s->val);
    *s = (asvk_split){0};
}
