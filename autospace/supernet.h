/* The supernet of a generation (AUTOSPACE.md, Eqn. 3): the skeleton's stem
 * and head around L layers, each the softmax(alpha_l)-weighted mixture of the
 * K cells sampled for it. Two graphs are built from it: the weight step
 * (gradients for the weights, alphas frozen) and the architecture step
 * (gradients for the alphas only; BN running statistics untouched). */
#ifndef ASVK_AUTOSPACE_SUPERNET_H
#define ASVK_AUTOSPACE_SUPERNET_H

#include "autospace/alpha.h"
#include "autospace/bank.h"
#include "autospace/skeleton.h"
#include "runtime/dist/dist.h"
#include "runtime/model.h"

typedef struct asvk_supernet_spec {
    const asvk_skeleton *sk;
    uint32_t k;                          /* cells of every layer, unless count[l] is set */
    uint32_t count[ASVK_SKEL_MAX_LAYERS]; /* cells of layer l (0: k) */
    /* skip[l]: layer l's mixture has the identity as one more candidate,
     * after its cells (the layer can vanish; only where the stride is 1 and
     * the channels match). alpha.<l> then has count + 1 logits. */
    bool skip[ASVK_SKEL_MAX_LAYERS];
    /* Block supervision (AUTOSPACE.md, --reference-mode distill): the
     * reference network (stem and `reference` cells, frozen, BN in inference
     * mode, tensors "teacher.layers.<i>.*" as asvk_skeleton_to_arch names
     * them) runs on the batch; layer l's candidates take the reference's
     * feature map before layer l as input and are trained to reproduce its
     * feature map after layer l; the loss is the sum over layers of the mean
     * squared error. Layers are then independent of each other, and the
     * supernet has no head. */
    bool distill;
    const asvk_cell *reference; /* [sk->count], when distill */
    asvk_cell cells[ASVK_SKEL_MAX_LAYERS][ASVK_ALPHA_MAX_K];
    uint64_t hash[ASVK_SKEL_MAX_LAYERS][ASVK_ALPHA_MAX_K];
    uint32_t batch;
    double bn_eps, bn_momentum;
    double label_smoothing;
    bool fp16; /* activations stored as fp16 (asvk_graph_set_half_activations) */
    /* Data-parallel runs (NULL: one process): `batch` is the global batch;
     * the steps of supernet_step.h build for batch / ranks and average the
     * gradients over the ranks. */
    asvk_dist *dist;
    bool sync_bn; /* and BN statistics over the global batch (runtime/dist/dist_step.h) */
} asvk_supernet_spec;

/* Cells of layer l, and the mixture's candidates there (cells + skip). */
uint32_t asvk_supernet_cells(const asvk_supernet_spec *s, uint32_t layer);
uint32_t asvk_supernet_candidates(const asvk_supernet_spec *s, uint32_t layer);

/* Name prefix of a cell's tensors at a layer: "cells.<layer>.<hash>." */
void asvk_supernet_cell_prefix(uint32_t layer, uint64_t hash, char *out, size_t n);

/* Declares the stem, head, sampled cells and alphas ("alpha.<layer>", the
 * architecture group) in an empty store; with distill, the reference's
 * stem and cells ("teacher.", the state group: never trained) instead of
 * the stem and head. */
asvk_status asvk_supernet_declare(const asvk_supernet_spec *s, asvk_param_store *ps);
/* Fills an allocated store: tensors the bank holds come from it; the others
 * are initialised (seeded by their names); alphas are zero. The teacher's
 * tensors must be in the bank (ASVK_ERR_USAGE naming the first missing). */
asvk_status asvk_supernet_load(asvk_context *ctx, const asvk_supernet_spec *s, asvk_param_store *ps,
                               const asvk_bank *bank, uint64_t seed);
/* Copies every tensor but the alphas back into the bank. */
asvk_status asvk_supernet_save(asvk_context *ctx, asvk_param_store *ps, asvk_bank *bank);

/* The forward graph and its loss; arch_step selects which parameters
 * receive gradients (the caller adds backward and optimizer nodes). With
 * distill, out->logits and out->correct are ASVK_NO_VAL. */
asvk_status asvk_supernet_build(const asvk_supernet_spec *s, asvk_param_store *ps, bool arch_step, asvk_model *out);

/* Cost of one cell at layer l of the skeleton (ProxylessNAS convention). */
asvk_status asvk_supernet_cell_cost(const asvk_skeleton *sk, uint32_t layer, const asvk_cell *c, uint64_t *madds,
                                    uint64_t *params);

#endif
