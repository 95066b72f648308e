/* A loader thread that prepares batches ahead of the consumer (the training
 * loop, which meanwhile waits on the GPU): a ring of 2 or 3 batch slots, the
 * thread filling free slots in order while the consumer holds one.
 *
 * Epoch e visits the given indices in the permutation of (seed, e) (or in
 * the given order when not shuffling), in steps of `batch` images; the last
 * partial batch is dropped (training) or kept (evaluation). A run resumed at
 * (start_epoch, start_step) gets exactly the batches the uninterrupted run
 * got from there on, augmentations included. */
#ifndef ASVK_RUNTIME_DATA_LOADER_H
#define ASVK_RUNTIME_DATA_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/data/batch.h"

typedef struct asvk_loader asvk_loader;

typedef struct asvk_loader_options {
    bool shuffle;          /* a fresh permutation each epoch; false: the given order */
    bool drop_last;        /* drop the last partial batch of each epoch */
    uint64_t seed;         /* of the shuffle and the augmentation */
    asvk_norm norm;
    asvk_augment augment;  /* {0} for evaluation */
    uint32_t epochs;       /* the run ends after epoch epochs-1; 0: never ends */
    uint32_t start_epoch;  /* first batch delivered: step start_step of start_epoch */
    uint32_t start_step;
    uint32_t slots;        /* batches in the ring, 2 or 3; 0 picks 3 */
    /* Data-parallel runs: deliver only part `shard` of `shards` (0: 1) of
     * each batch, batch / shards images (shards must divide the batch; drop
     * the last partial batch), reading only those images. Steps, positions
     * and every image's augmentation stay those of the whole batch, so the
     * shards of all ranks together are the single process's batch. */
    uint32_t shards, shard;
} asvk_loader_options;

/* Starts the thread. `indices[0..count)` are the dataset images to visit
 * (NULL: all, count ignored); they are copied, and `d` must outlive the
 * loader. ASVK_ERR_USAGE for bad options (an index past the dataset, a
 * batch that no epoch fills when dropping the last, a start past the end). */
asvk_status asvk_loader_create(const asvk_dataset *d, const uint32_t *indices, uint32_t count, uint32_t batch,
                               const asvk_loader_options *o, asvk_loader **out);

/* Batches per epoch. */
uint32_t asvk_loader_steps(const asvk_loader *l);

/* Waits for the next batch. *out stays valid until the next call or
 * destroy; it is NULL (with ASVK_OK) once the last epoch is done. An error
 * of the thread (a label outside the classes, ...) is returned here, after
 * the batches made before it, with its message. */
asvk_status asvk_loader_next(asvk_loader *l, const asvk_batch **out);

/* Stops the thread (it finishes the batch in hand, at most) and frees
 * everything; safe at any point of an epoch. */
void asvk_loader_destroy(asvk_loader *l);

#endif
