/* A data-parallel training step: the recorded step of a planned graph cut
 * into parts, so that the gradients of the parameters are averaged over the
 * ranks (runtime/dist/dist.h) before the optimizer nodes run, the same
 * update on every rank.
 *
 * As PyTorch's DistributedDataParallel does, the gradients are reduced in
 * buckets while the backward pass goes on: the backward nodes are cut after
 * the last node that writes each bucket's gradients (buckets follow the order
 * in which the backward pass finishes gradients: the head's first), every
 * part is submitted at once, and as each part finishes on the device the host
 * copies its bucket out of host-mapped memory and starts its non-blocking
 * all-reduce while the device runs the later parts. The averaged gradients go
 * back before the optimizer part is submitted. On a device without
 * host-mapped memory the copies wait for the device (correct, no overlap). */
#ifndef ASVK_RUNTIME_DIST_DIST_STEP_H
#define ASVK_RUNTIME_DIST_DIST_STEP_H

#include "runtime/dist/dist.h"
#include "runtime/graph.h"

typedef struct asvk_dist_step asvk_dist_step;

typedef struct asvk_dist_step_options {
    uint32_t opt_from;      /* the first optimizer node (node count: none) */
    uint32_t group_mask;    /* store groups whose gradients are averaged: 1 << ASVK_GROUP_* */
    uint64_t bucket_bytes;  /* gradient bytes per bucket (0: ASVK_DIST_BUCKET_KB, default 256 KiB) */
    uint32_t max_buckets;   /* 0: 16 */
    /* Batch norm over the global batch (--sync-bn): every training BN's
     * statistics and its backward's sums are combined over the ranks on the
     * host (two round trips per BN per step); else each rank normalises with
     * its own shard's statistics, as DistributedDataParallel does by default. */
    bool sync_bn;
} asvk_dist_step_options;

/* Time of the steps run so far, host clock. compute: waiting for the
 * device's parts while no reduction was exposed; reduce_exposed: blocked on
 * all-reduces after the last backward part finished; reduce_total: the
 * all-reduces from start to completion (overlapped or not); optimizer: the
 * last part. */
typedef struct asvk_dist_step_stats {
    uint64_t steps;
    double wall_s, backward_s, reduce_exposed_s, reduce_total_s, optimizer_s, pack_s, sync_bn_s;
    uint64_t bytes_per_step;
    uint32_t buckets;
} asvk_dist_step_stats;

/* The graph must be planned; its recording is made here (parts). */
asvk_status asvk_dist_step_create(asvk_context *ctx, asvk_dist *d, asvk_graph *g, const asvk_dist_step_options *o,
                                  asvk_dist_step **out);
void asvk_dist_step_destroy(asvk_dist_step *s);

/* Runs one step (inputs and step scalars already uploaded) and waits for it;
 * `what` names the step in a timeout's message. */
asvk_status asvk_dist_step_run(asvk_dist_step *s, const char *what);
void asvk_dist_step_stats_get(const asvk_dist_step *s, asvk_dist_step_stats *out);

/* The parts' count and the bucket bytes, for reports. */
uint32_t asvk_dist_step_parts(const asvk_dist_step *s);

#endif
