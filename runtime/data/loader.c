#include "runtime/data/loader.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/data/shuffle.h"

#define LOADER_MAX_SLOTS 3

struct asvk_loader {
    const asvk_dataset *d;
    uint32_t *given;  /* the indices to visit, in the caller's order */
    uint32_t *order;  /* this epoch's order (thread only) */
    uint32_t count, batch, steps;
    uint32_t part, part_first; /* images of this shard per batch, and where they start in it */
    asvk_loader_options o;
    asvk_batch_options bo;

    asvk_batch slots[LOADER_MAX_SLOTS];
    uint32_t nslots;
    pthread_t thread;
    bool started;

    /* Under mu: slots head .. head+ready-1 (mod nslots) are ready; the
     * consumer holds slot head-1 while `held`; the thread fills the rest. */
    pthread_mutex_t mu;
    pthread_cond_t can_fill, can_take;
    uint32_t head, ready;
    bool held, stop, done;
    asvk_status error;
    char message[2048];  /* the thread's error message (messages are per thread) */
};

uint32_t asvk_loader_steps(const asvk_loader *l) { return l->steps; }

static void *produce(void *arg) {
    asvk_loader *l = arg;
    uint32_t epoch = l->o.start_epoch, step = l->o.start_step, tail = 0, order_epoch = UINT32_MAX;
    asvk_status st = ASVK_OK;
    for (;;) {
        if (l->o.epochs && epoch >= l->o.epochs) break;
        pthread_mutex_lock(&l->mu);
        while (!l->stop && l->ready + l->held == l->nslots) pthread_cond_wait(&l->can_fill, &l->mu);
        bool stop = l->stop;
        pthread_mutex_unlock(&l->mu);
        if (stop) return NULL;
        /* The slot at tail is neither ready nor held, so the consumer does
         * not touch it while we fill it unlocked. */
        if (order_epoch != epoch) {
            if (l->o.shuffle)
                asvk_shuffle_epoch(l->o.seed, epoch, l->given, l->count, l->order);
            else
                memcpy(l->order, l->given, (size_t)l->count * sizeof *l->order);
            order_epoch = epoch;
        }
        uint64_t first = (uint64_t)step * l->batch + l->part_first;
        uint32_t n = l->count - first < l->part ? (uint32_t)(l->count - first) : l->part;
        asvk_batch *b = &l->slots[tail];
        if ((st = asvk_batch_fill(b, l->d, l->order + first, n, &l->bo, epoch))) break;
        b->step = step;
        pthread_mutex_lock(&l->mu);
        l->ready++;
        pthread_cond_signal(&l->can_take);
        pthread_mutex_unlock(&l->mu);
        tail = (tail + 1) % l->nslots;
        if (++step == l->steps) step = 0, epoch++;
    }
    pthread_mutex_lock(&l->mu);
    l->done = true;
    l->error = st;
    if (st) snprintf(l->message, sizeof l->message, "%s", asvk_error_message());
    pthread_cond_signal(&l->can_take);
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

asvk_status asvk_loader_next(asvk_loader *l, const asvk_batch **out) {
    *out = NULL;
    pthread_mutex_lock(&l->mu);
    if (l->held) {
        l->held = false;
        l->head = (l->head + 1) % l->nslots;
        pthread_cond_signal(&l->can_fill);
    }
    while (!l->ready && !l->done) pthread_cond_wait(&l->can_take, &l->mu);
    asvk_status st = ASVK_OK;
    if (l->ready) {
        l->ready--;
        l->held = true;
        *out = &l->slots[l->head];
    } else if (l->error) {
        st = asvk_error_set(l->error, "%s", l->message);
    }
    pthread_mutex_unlock(&l->mu);
    return st;
}

void asvk_loader_destroy(asvk_loader *l) {
    if (!l) return;
    if (l->started) {
        pthread_mutex_lock(&l->mu);
        l->stop = true;
        pthread_cond_signal(&l->can_fill);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->thread, NULL);
        pthread_cond_destroy(&l->can_fill);
        pthread_cond_destroy(&l->can_take);
        pthread_mutex_destroy(&l->mu);
    }
    for (uint32_t i = 0; i < LOADER_MAX_SLOTS; i++) asvk_batch_free(&l->slots[i]);
    free(l->given);
    free(l->order);
    free(l);
}

asvk_status asvk_loader_create(const asvk_dataset *d, const uint32_t *indices, uint32_t count, uint32_t batch,
                               const asvk_loader_options *o, asvk_loader **out) {
    *out = NULL;
    if (!indices) count = d->n;
    uint32_t slots = o->slots ? o->slots : 3;
    if (slots < 2 || slots > LOADER_MAX_SLOTS)
        return asvk_error_set(ASVK_ERR_USAGE, "a loader ring of %u batches: use 2 or 3", slots);
    if (!batch) return asvk_error_set(ASVK_ERR_USAGE, "batch size 0: use at least 1");
    if (!count) return asvk_error_set(ASVK_ERR_USAGE, "%s: no images to load", d->source);
    uint32_t shards = o->shards ? o->shards : 1;
    if (o->shard >= shards || batch % shards || (shards > 1 && !o->drop_last))
        return asvk_error_set(ASVK_ERR_USAGE, "a batch of %u cannot be cut into %u equal parts; make --batch a "
                              "multiple of the number of processes", batch, shards);
    if (o->drop_last && count < batch)
        return asvk_error_set(ASVK_ERR_USAGE, "%s: batch %u is larger than the %u images and the last partial batch "
                                              "is dropped, so no batch would be made; lower --batch", d->source,
                              batch, count);
    uint32_t steps = o->drop_last ? count / batch : (uint32_t)((count + (uint64_t)batch - 1) / batch);
    if (o->start_step >= steps || (o->epochs && o->start_epoch >= o->epochs))
        return asvk_error_set(ASVK_ERR_USAGE, "resuming at epoch %u step %u: past the end (%u steps per epoch, %u "
                                              "epochs)", o->start_epoch, o->start_step, steps, o->epochs);
    if (indices)
        for (uint32_t i = 0; i < count; i++)
            if (indices[i] >= d->n)
                return asvk_error_set(ASVK_ERR_USAGE, "%s: index %u is past its %u images", d->source, indices[i],
                                      d->n);
    /* Checked here so that bad options fail at create, not at the first
     * batch (where asvk_batch_fill would report them from the thread). */
    for (uint32_t ch = 0; ch < d->c; ch++)
        if (!(o->norm.std[ch] > 0))
            return asvk_error_set(ASVK_ERR_USAGE, "normalization std[%u] = %g: must be positive", ch, o->norm.std[ch]);
    asvk_loader *l = calloc(1, sizeof *l);
    if (!l) return asvk_error_set(ASVK_ERR_OOM, "out of host memory for a loader");
    *l = (asvk_loader){.d = d, .count = count, .batch = batch, .steps = steps, .o = *o, .nslots = slots,
                       .part = batch / shards, .part_first = batch / shards * o->shard,
                       .bo = {.norm = o->norm, .augment = o->augment, .seed = o->seed}};
    l->given = malloc((size_t)count * sizeof *l->given);
    l->order = malloc((size_t)count * sizeof *l->order);
    if (!l->given || !l->order) {
        asvk_loader_destroy(l);
        return asvk_error_set(ASVK_ERR_OOM, "out of host memory for a loader of %u images", count);
    }
    for (uint32_t i = 0; i < count; i++) l->given[i] = indices ? indices[i] : i;
    asvk_status st;
    for (uint32_t i = 0; i < slots; i++)
        if ((st = asvk_batch_alloc(batch / shards, d->h, d->w, d->c, &l->slots[i]))) {
            asvk_loader_destroy(l);
            return st;
        }
    if (pthread_mutex_init(&l->mu, NULL) || pthread_cond_init(&l->can_fill, NULL) ||
        pthread_cond_init(&l->can_take, NULL)) {
        asvk_loader_destroy(l);
        return asvk_error_set(ASVK_ERR_INTERNAL, "cannot create the loader's mutex or condition variables");
    }
    if (pthread_create(&l->thread, NULL, produce, l)) {
        pthread_cond_destroy(&l->can_fill), pthread_cond_destroy(&l->can_take), pthread_mutex_destroy(&l->mu);
        asvk_loader_destroy(l);
        return asvk_error_set(ASVK_ERR_OOM, "cannot start the loader thread (out of threads or memory)");
    }
    l->started = true;
    *out = l;
    return ASVK_OK;
}
