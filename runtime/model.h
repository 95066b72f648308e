/* Models: the graph of an architecture (runtime/io/arch.h) for training or
 * evaluation, over a parameter store shared by both, and the parameters'
 * initialisation. */
#ifndef ASVK_RUNTIME_MODEL_H
#define ASVK_RUNTIME_MODEL_H

#include "runtime/graph.h"
#include "runtime/io/arch.h"
#include "runtime/params.h"

typedef struct asvk_model {
    asvk_graph *graph;
    uint32_t batch, resolution;
    bool training;
    asvk_val input;  /* INPUT (N, C, H, W), NHWC floats */
    asvk_val labels; /* INPUT [N], class indices as floats */
    asvk_val logits; /* (N, classes) */
    asvk_val loss;   /* OUTPUT: mean cross-entropy of the batch */
    asvk_val correct;/* OUTPUT: right top-1 predictions in the batch */
} asvk_model;

/* Declares every tensor of the architecture in the store (trainable weights
 * with decay, BN affine and biases without, running statistics as state),
 * and the derived tensors inference folds its BNs into (runtime/fold.h:
 * inference graphs read them, so run the fold graph before them). */
asvk_status asvk_model_declare(const asvk_arch *a, asvk_param_store *ps);

/* Initialises an allocated store: convolutions Kaiming-normal (fan_out, as
 * torchvision's MobileNetV2), BN gamma 1 / beta 0, running mean 0 / var 1,
 * linear weights N(0, 0.01), biases 0. Deterministic in `seed`. */
asvk_status asvk_model_init(asvk_context *ctx, const asvk_arch *a, asvk_param_store *ps, uint64_t seed);

/* Builds the forward graph (and, for training, its loss; backward and the
 * optimizer are added by the caller). resolution 0: the architecture's. */
asvk_status asvk_model_build(const asvk_arch *a, asvk_param_store *ps, uint32_t batch, uint32_t resolution,
                             bool training, float label_smoothing, asvk_model *out);

#endif
