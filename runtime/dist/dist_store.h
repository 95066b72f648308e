/* A parameter store (runtime/params.h) across the ranks of a distributed run:
 * rank 0's values to every rank (after initialisation or a checkpoint, as
 * DistributedDataParallel broadcasts its module at start), the BN running
 * statistics averaged (each rank's come from its own shard of the batch),
 * and a hash of everything, exchanged to prove the ranks still agree. */
#ifndef ASVK_RUNTIME_DIST_DIST_STORE_H
#define ASVK_RUNTIME_DIST_DIST_STORE_H

#include "runtime/dist/dist.h"
#include "runtime/params.h"

/* Parameters, state and `opt_slots` optimizer slots of every group. */
asvk_status asvk_dist_store_broadcast(asvk_context *ctx, asvk_dist *d, asvk_param_store *ps, uint32_t opt_slots);
/* The state group (BN running statistics) averaged over the ranks. */
asvk_status asvk_dist_store_average_state(asvk_context *ctx, asvk_dist *d, asvk_param_store *ps);
/* Whether every rank holds the same parameters and optimizer state
 * (ASVK_ERR_INTERNAL naming the first rank that differs); `what` names the
 * point ("after epoch 3"). */
asvk_status asvk_dist_store_check(asvk_context *ctx, asvk_dist *d, const asvk_param_store *ps, uint32_t opt_slots,
                                  const char *what);

#endif
