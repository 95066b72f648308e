/* A batch as the GPU takes it: float32 images NHWC, each value
 * (pixel/255 - mean[c]) / std[c], and the labels as floats (exact class
 * indices). */
#ifndef ASVK_RUNTIME_DATA_BATCH_H
#define ASVK_RUNTIME_DATA_BATCH_H

#include <stdint.h>

#include "runtime/data/augment.h"
#include "runtime/data/dataset.h"

typedef struct asvk_batch {
    uint32_t n;          /* images in this batch; below capacity only for a kept last partial batch */
    uint32_t capacity;
    uint32_t h, w, c;
    float *x;            /* n*h*w*c floats, NHWC */
    float *y;            /* n labels */
    uint32_t *index;     /* the dataset index of each image */
    uint32_t epoch;      /* position in the run, for resuming: this is batch `step` of `epoch` */
    uint32_t step;
} asvk_batch;

typedef struct asvk_batch_options {
    asvk_norm norm;
    asvk_augment augment;  /* {0} for evaluation */
    uint64_t seed;         /* of the augmentation */
} asvk_batch_options;

asvk_status asvk_batch_alloc(uint32_t capacity, uint32_t h, uint32_t w, uint32_t c, asvk_batch *b);
void asvk_batch_free(asvk_batch *b);

/* Fills b with images idx[0..n) of d (n <= capacity), augmented for
 * `epoch`. ASVK_ERR_USAGE for an index past the dataset, a label outside
 * its classes, a shape that differs from b's, or a std that is not > 0. */
asvk_status asvk_batch_fill(asvk_batch *b, const asvk_dataset *d, const uint32_t *idx, uint32_t n,
                            const asvk_batch_options *o, uint32_t epoch);

#endif
