/* A held-out validation split of a dataset's images.
 *
 * The size is a fraction of the images (rounded to nearest) or an exact
 * count. Stratified (the default choice for training runs) gives each class
 * its share of the validation images, rounded by largest remainder so the
 * total is exact, and picks them by a seeded shuffle within the class; not
 * stratified picks them by a seeded shuffle of all images. Either way the
 * result depends only on (dataset labels, size, seed, stratified), and both
 * lists are sorted ascending (their order does not matter: loaders shuffle
 * per epoch). */
#ifndef ASVK_RUNTIME_DATA_SPLIT_H
#define ASVK_RUNTIME_DATA_SPLIT_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/data/dataset.h"

typedef struct asvk_split_options {
    double fraction;  /* of the images held out, in [0, 1); used when count is 0 */
    uint32_t count;   /* images held out; overrides fraction */
    uint64_t seed;
    bool stratified;
} asvk_split_options;

typedef struct asvk_split {
    uint32_t *train, n_train;
    uint32_t *val, n_val;
} asvk_split;

/* ASVK_ERR_USAGE for a size that leaves no training image or a bad fraction. */
asvk_status asvk_split_create(const asvk_dataset *d, const asvk_split_options *o, asvk_split *out);
void asvk_split_destroy(asvk_split *s);

#endif
