/* Training a supernet step by step, shared by the evolution (evolve.c) and
 * the architecture search (search.c): the weight step (SGD) and the
 * architecture step (gradients of the alphas only) each recorded once and
 * replayed, batches from loaders positioned at any global step (so runs
 * resume exactly), and the alphas moved between the device and the host's
 * optimizer (alpha.h). */
#ifndef ASVK_AUTOSPACE_SUPERNET_STEP_H
#define ASVK_AUTOSPACE_SUPERNET_STEP_H

#include "autospace/alpha.h"
#include "autospace/supernet.h"
#include "runtime/data/loader.h"
#include "runtime/dist/dist_step.h"

typedef struct asvk_sn_graph {
    asvk_model m;
    asvk_stream *s;
    asvk_dist *dist;
    asvk_dist_step *ds; /* data-parallel: the step in parts, gradients (weights or alphas) averaged */
    uint32_t fwd_to;    /* the forward's nodes are [0, fwd_to) */
    asvk_stream *fwd;   /* those alone, recorded on the first asvk_sn_run_forward */
} asvk_sn_graph;

/* SGD of the weight step; NULL for the architecture step. */
typedef struct asvk_sn_sgd {
    double momentum, weight_decay;
} asvk_sn_sgd;

/* Builds, plans and records one step: forward, backward and, with sgd, the
 * optimizer of the decay and no-decay groups. */
asvk_status asvk_sn_graph_make(asvk_context *ctx, const asvk_supernet_spec *spec, asvk_param_store *ps,
                               const asvk_sn_sgd *sgd, asvk_sn_graph *out);
void asvk_sn_graph_free(asvk_context *ctx, asvk_sn_graph *g);

/* Uploads the batch and the step scalars (learning rate, step count, a
 * dropout seed from `seed` and the global step) and runs the step. */
asvk_status asvk_sn_run(asvk_context *ctx, asvk_sn_graph *g, const asvk_batch *b, uint64_t global_step, double lr,
                        uint64_t seed);
/* The forward alone (the loss and its count of right answers; nothing
 * differentiated or stepped): what measuring a loss needs, about half of an
 * alpha step (79 of its 130 dispatches in test_evolve's space). It computes
 * what asvk_sn_run's forward computes, to the bit. Data-parallel graphs run
 * the whole step. */
asvk_status asvk_sn_run_forward(asvk_context *ctx, asvk_sn_graph *g, const asvk_batch *b, uint64_t global_step,
                                uint64_t seed);
/* The step's loss and its number of right top-1 answers (NaN without a
 * classifier); data-parallel: the whole batch's (mean loss, summed count). */
asvk_status asvk_sn_outputs(asvk_context *ctx, const asvk_sn_graph *g, float *loss, float *correct);

/* A loader over idx[0..n) positioned at global batch `from` (shuffled per
 * epoch by `seed`, the last partial batch dropped), augmented or not. */
typedef struct asvk_sn_data {
    const asvk_dataset *d;
    const uint32_t *idx;
    uint32_t n, batch;
    uint64_t seed;
    asvk_norm norm;
    uint32_t crop_pad;
    bool flip;
    asvk_dist *dist; /* data-parallel: each rank loads its share of every batch */
} asvk_sn_data;
asvk_status asvk_sn_loader(const asvk_sn_data *d, uint64_t from, bool augment, asvk_loader **out);

/* The alphas' gradients from the device into grad[l][0..k_l), and the host's
 * logits (scaled by `scale`: Gumbel-softmax uploads (alpha + g) / tau) to it. */
asvk_status asvk_sn_alpha_grads(asvk_context *ctx, asvk_param_store *ps, const asvk_alpha *al,
                                double grad[][ASVK_ALPHA_MAX_K]);
asvk_status asvk_sn_alpha_upload(asvk_context *ctx, asvk_param_store *ps, const asvk_alpha *al,
                                 const double logits[][ASVK_ALPHA_MAX_K]);

#endif
