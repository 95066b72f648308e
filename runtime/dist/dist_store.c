/* The parameter store across ranks; see dist_store.h. */
#include "runtime/dist/dist_store.h"

#include <stdio.h>
#include <stdlib.h>

/* Calls fn on every (buffer, floats) of the store that `want` selects:
 * kind 0 parameters and state, kind 1 optimizer slots. */
typedef asvk_status (*buffer_fn)(asvk_context *ctx, asvk_dist *d, asvk_buffer b, uint64_t floats, void *user);

static asvk_status each_buffer(asvk_context *ctx, asvk_dist *d, const asvk_param_store *ps, uint32_t opt_slots,
                               buffer_fn fn, void *user) {
    asvk_status st = ASVK_OK;
    for (int g = 0; g < ASVK_GROUPS && !st; g++) {
        uint64_t n = ps->group_floats[g];
        if (!n) continue;
        st = fn(ctx, d, ps->data[g], n, user);
        for (uint32_t k = 0; k < opt_slots && asvk_group_trainable(g) && !st; k++)
            if (ps->opt[g][k].block) st = fn(ctx, d, ps->opt[g][k], n, user);
    }
    return st;
}

static asvk_status bcast_one(asvk_context *ctx, asvk_dist *d, asvk_buffer b, uint64_t floats, void *user) {
    (void)user;
    float *h = malloc(floats * 4);
    if (!h) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    asvk_status st = asvk_dist_rank(d) == 0 ? asvk_buffer_download(ctx, b, 0, h, floats * 4) : ASVK_OK;
    if (!st) st = asvk_dist_broadcast(d, h, floats * 4, 0, "rank 0's parameters");
    if (!st && asvk_dist_rank(d) != 0) st = asvk_buffer_upload(ctx, b, 0, h, floats * 4);
    free(h);
    return st;
}

asvk_status asvk_dist_store_broadcast(asvk_context *ctx, asvk_dist *d, asvk_param_store *ps, uint32_t opt_slots) {
    if (!asvk_dist_is_parallel(d)) return ASVK_OK;
    return each_buffer(ctx, d, ps, opt_slots, bcast_one, NULL);
}

asvk_status asvk_dist_store_average_state(asvk_context *ctx, asvk_dist *d, asvk_param_store *ps) {
    uint64_t n = ps->group_floats[ASVK_GROUP_STATE];
    if (!asvk_dist_is_parallel(d) || !n) return ASVK_OK;
    float *h = malloc(n * 4);
    if (!h) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    asvk_status st = asvk_buffer_download(ctx, ps->data[ASVK_GROUP_STATE], 0, h, n * 4);
    if (!st) st = asvk_dist_allreduce(d, h, n, ASVK_DIST_F32, ASVK_DIST_SUM, "the BN running statistics");
    float scale = 1.0f / (float)asvk_dist_size(d);
    for (uint64_t i = 0; i < n && !st; i++) h[i] *= scale;
    if (!st) st = asvk_buffer_upload(ctx, ps->data[ASVK_GROUP_STATE], 0, h, n * 4);
    free(h);
    return st;
}

static asvk_status hash_one(asvk_context *ctx, asvk_dist *d, asvk_buffer b, uint64_t floats, void *user) {
    (void)d;
    float *h = malloc(floats * 4);
    if (!h) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    asvk_status st = asvk_buffer_download(ctx, b, 0, h, floats * 4);
    if (!st) *(uint64_t *)user = asvk_dist_hash(*(uint64_t *)user, h, floats * 4);
    free(h);
    return st;
}

asvk_status asvk_dist_store_check(asvk_context *ctx, asvk_dist *d, const asvk_param_store *ps, uint32_t opt_slots,
                                  const char *what) {
    if (!asvk_dist_is_parallel(d)) return ASVK_OK;
    uint64_t h = ASVK_DIST_HASH_INIT;
    asvk_status st = ASVK_OK;
    /* parameters and optimizer state only: the state group (BN running
     * statistics) is per rank between averagings */
    for (int g = 0; g < ASVK_GROUPS && !st; g++) {
        if (!asvk_group_trainable(g) || !ps->group_floats[g]) continue;
        st = hash_one(ctx, d, ps->data[g], ps->group_floats[g], &h);
        for (uint32_t k = 0; k < opt_slots && !st; k++)
            if (ps->opt[g][k].block) st = hash_one(ctx, d, ps->opt[g][k], ps->group_floats[g], &h);
    }
    char label[160];
    snprintf(label, sizeof label, "the weights %s", what);
    return st ? st : asvk_dist_check_same(d, h, label);
}
