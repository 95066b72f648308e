/* Inference with every BatchNorm folded into the convolution before it.
 *
 * In training a conv -> BN -> act is two passes over the activations (the
 * convolution, then BN with the activation fused); in inference the BN is an
 * affine map per channel, which folds into the convolution's weights and
 * bias, so that one convolution with its bias and activation in the epilogue
 * does it all: one dispatch and one pass less per convolution.
 *
 * The folded tensors are derived state in the parameter store, one pair per
 * convolution that has a BN: "<conv>.fold_w" (the weight's shape) and
 * "<conv>.fold_b" [cout], where "<conv>.weight" is the convolution's weight
 * and its BN is "<conv>_bn.*" (mbconv and cell convolutions) or, for a conv
 * layer "layers.<i>.conv", "layers.<i>.bn.*". They are never saved in
 * checkpoints (asvk_fold_is_derived) and are refreshed by running the fold
 * graph after the weights change and before an evaluation. Inference graphs
 * use them when the store has them (asvk_fold_names), and build the plain
 * conv -> BN otherwise. */
#ifndef ASVK_RUNTIME_FOLD_H
#define ASVK_RUNTIME_FOLD_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/graph.h"
#include "runtime/params.h"

/* Declares the folded pair of every convolution with a BN among the
 * store's tensors (call after declaring them, before asvk_params_alloc). */
asvk_status asvk_fold_declare(asvk_param_store *ps);

/* True for a derived tensor (a folded weight or bias). */
bool asvk_fold_is_derived(const char *name);

/* The folded names of the convolution whose weight is `weight`
 * ("layers.3.expand.weight" -> "layers.3.expand.fold_w", ".fold_b"); false
 * when the store does not hold them. */
bool asvk_fold_names(const asvk_param_store *ps, const char *weight, char *w_out, char *b_out, size_t n);

/* A graph of one fold node per folded pair; eps is the BN epsilon. */
asvk_status asvk_fold_graph(asvk_param_store *ps, float eps, asvk_graph **out);

/* Builds, runs and frees the fold graph once (for one-off inference). */
asvk_status asvk_fold_run(asvk_context *ctx, asvk_param_store *ps, float eps);

#endif
