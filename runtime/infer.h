/* A network ready for inference on inputs the host gives: its own parameter
 * store (weights copied from another store, e.g. a trainer's after a
 * checkpoint load, or initialised from a seed), every BN folded into its
 * convolution (runtime/fold.h), and forward passes of any batch returning the
 * logits. What `asvk export` writes to ONNX and checks it against. */
#ifndef ASVK_RUNTIME_INFER_H
#define ASVK_RUNTIME_INFER_H

#include "runtime/io/arch.h"
#include "runtime/params.h"

typedef struct asvk_infer asvk_infer;

/* `weights`: a store declared by asvk_model_declare for the same
 * architecture and allocated (its tensors are copied), or NULL for fresh
 * weights from `seed` (asvk_model_init). */
asvk_status asvk_infer_create(asvk_context *ctx, const asvk_arch *a, const asvk_param_store *weights, uint64_t seed,
                              asvk_infer **out);
void asvk_infer_destroy(asvk_infer *f);
/* The store: trained tensors and their folded forms. */
const asvk_param_store *asvk_infer_store(const asvk_infer *f);
/* logits[batch][classes] of input[batch][C][H][W] (NCHW, PyTorch's and
 * ONNX's layout; already normalised as the trainer feeds images). */
asvk_status asvk_infer_run(asvk_infer *f, const float *input_nchw, uint32_t batch, float *logits);

#endif
