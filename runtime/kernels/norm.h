/* BatchNorm 2-D over NHWC activations, with the following activation fused
 * (shaders/norm/): training forward, inference forward, training backward.
 *
 * Statistics are per channel over the P = N*H*W pixels of the batch. The
 * training forward normalises with the biased batch variance and updates
 * the running statistics in place as PyTorch does:
 *   running_mean = (1-momentum)*running_mean + momentum*mean
 *   running_var  = (1-momentum)*running_var  + momentum*var_unbiased
 * and saves mean and invstd = 1/sqrt(var + eps) ([C] each) for the backward.
 * Reductions are deterministic (fixed order; the only atomic counts the
 * workgroups that are done): chunk partials in a caller workspace, merged
 * in the same dispatch by the last workgroup to finish (per-chunk mean and
 * M2 from sums shifted by a sample of the chunk, combined by Chan's
 * formula: sound when |mean| >> std, where E[x^2] - E[x]^2 would cancel).
 *
 * Dispatches: training forward 2, inference 1, backward 2 (1 without dx).
 * Every buffer is a view at any 4-byte offset; gamma, beta and the
 * statistics are [C]. y may be x itself in inference (the training
 * backward needs the forward's input); other buffers must not overlap an
 * output. Workspaces
 * must stay allocated until the stream has run; one workspace may serve
 * every BN of a network of this shape that runs in order in one stream
 * (the stream orders the reuse with barriers). */
#ifndef ASVK_RUNTIME_KERNELS_NORM_H
#define ASVK_RUNTIME_KERNELS_NORM_H

#include "runtime/kernels/common.h"

typedef struct asvk_bn_desc {
    asvk_nhwc shape;
    asvk_act act;   /* applied to the normalised output (ASVK_ACT_NONE: none) */
    float eps;      /* PyTorch's default 1e-5 */
    float momentum; /* PyTorch's default 0.1 */
} asvk_bn_desc;

/* Bytes of workspace that asvk_bn_forward_train and asvk_bn_backward need
 * for this shape (the larger of the two, so one buffer serves both). */
uint64_t asvk_bn_workspace(asvk_nhwc shape);

/* Training forward: y = act(gamma*(x - mean)*invstd + beta) with the batch
 * statistics; writes save_mean/save_invstd and updates running_mean and
 * running_var in place. Needs P = N*H*W >= 2 (PyTorch refuses one value per
 * channel too: the unbiased variance is undefined). */
asvk_status asvk_bn_forward_train(asvk_stream *s, const asvk_bn_desc *d, asvk_buffer x, asvk_buffer gamma,
                                  asvk_buffer beta, asvk_buffer running_mean, asvk_buffer running_var,
                                  asvk_buffer y, asvk_buffer save_mean, asvk_buffer save_invstd,
                                  asvk_buffer workspace);

/* Inference forward, one pass:
 * y = act(gamma*(x - running_mean)/sqrt(running_var + eps) + beta).
 * (d->momentum is not used.) */
asvk_status asvk_bn_forward_infer(asvk_stream *s, const asvk_bn_desc *d, asvk_buffer x, asvk_buffer gamma,
                                  asvk_buffer beta, asvk_buffer running_mean, asvk_buffer running_var,
                                  asvk_buffer y);

/* Gradients of the training forward. dx is optional (dx.block NULL: not
 * computed, e.g. for a network's input); dgamma and dbeta are required.
 * Each is written, or added to when its accumulate flag is set. */
typedef struct asvk_bn_grads {
    asvk_buffer dx;
    bool accumulate_dx;
    asvk_buffer dgamma;
    bool accumulate_dgamma;
    asvk_buffer dbeta;
    bool accumulate_dbeta;
} asvk_bn_grads;

/* Backward in training mode, through the batch statistics. Inputs are the
 * forward's x, gamma, beta and saved mean/invstd (z = the pre-activation is
 * recomputed, not stored) and dy = dL/dy:
 *   g = dy * act'(z),  xhat = (x - mean)*invstd
 *   dbeta (+)= sum g,  dgamma (+)= sum g*xhat
 *   dx (+)= gamma*invstd*(g - mean(g) - xhat*mean(g*xhat))   (means over P) */
asvk_status asvk_bn_backward(asvk_stream *s, const asvk_bn_desc *d, asvk_buffer x, asvk_buffer dy,
                             asvk_buffer gamma, asvk_buffer beta, asvk_buffer save_mean,
                             asvk_buffer save_invstd, const asvk_bn_grads *g, asvk_buffer workspace);

/* The halves of the training forward and backward (the same dispatches),
 * for a batch norm whose statistics span several processes
 * (runtime/dist/dist_step.h, --sync-bn): the host combines the ranks'
 * statistics (save_mean, save_invstd) or gradient sums (the totals view of
 * the workspace: sum g and sum g*xhat over this rank's pixels, [2][C
 * rounded up to 4]) between them. The first halves check nothing the whole
 * functions would not. */
asvk_status asvk_bn_forward_stats(asvk_stream *s, const asvk_bn_desc *d, asvk_buffer x, asvk_buffer running_mean,
                                  asvk_buffer running_var, asvk_buffer save_mean, asvk_buffer save_invstd,
                                  asvk_buffer workspace);
asvk_status asvk_bn_forward_apply(asvk_stream *s, const asvk_bn_desc *d, asvk_buffer x, asvk_buffer gamma,
                                  asvk_buffer beta, asvk_buffer save_mean, asvk_buffer save_invstd, asvk_buffer y);
asvk_status asvk_bn_backward_sums(asvk_stream *s, const asvk_bn_desc *d, asvk_buffer x, asvk_buffer dy,
                                  asvk_buffer gamma, asvk_buffer beta, asvk_buffer save_mean,
                                  asvk_buffer save_invstd, const asvk_bn_grads *g, asvk_buffer workspace);
asvk_status asvk_bn_backward_dx(asvk_stream *s, const asvk_bn_desc *d, asvk_buffer x, asvk_buffer dy,
                                asvk_buffer gamma, asvk_buffer beta, asvk_buffer save_mean, asvk_buffer save_invstd,
                                const asvk_bn_grads *g, asvk_buffer workspace);
asvk_buffer asvk_bn_backward_totals(const asvk_bn_desc *d, asvk_buffer workspace);
/* After asvk_bn_backward_sums (or asvk_bn_backward) has run: the workspace's
 * [6][C rounded up to 4] rows sum g, sum g*xhat (the totals), gamma*invstd,
 * mean, beta, invstd: what a kernel needs to compute the BN's dx as it loads
 * it (asvk_bn_grad_load), the dx pass left out. */
asvk_buffer asvk_bn_backward_terms(const asvk_bn_desc *d, asvk_buffer workspace);

/* c = f_a(a) + f_b(b) over NHWC tensors of `shape`, where f is a fused
 * training BN's apply (asvk_bn_load; NULL: the identity): the residual add
 * with the batch norms of its inputs fused in (runtime/ops/fuse_bn.c), one
 * dispatch (shaders/norm/bn_add.comp). c must not overlap a or b. */
asvk_status asvk_bn_add(asvk_stream *s, asvk_nhwc shape, asvk_buffer a, const asvk_bn_load *bna, asvk_buffer b,
                        const asvk_bn_load *bnb, asvk_buffer c);

#endif
