/* Softmax cross-entropy with label smoothing (shaders/loss/), PyTorch's
 * nn.CrossEntropyLoss(label_smoothing=eps, reduction='mean'):
 *   logits [N][K] row-major, labels N floats holding class indices (exact
 *   integers in [0, K); others give that sample a NaN loss and NaN gradients),
 *   target t = (1 - eps) * onehot(label) + eps / K,
 *   loss = (1/N) sum_i -sum_j t_ij log softmax(logits_i)_j.
 * Numerically stable (the row maximum is subtracted; the loss is a sum of
 * non-negative terms). Deterministic: fixed summation order, no atomics.
 * Buffers are views at any 4-byte offset. */
#ifndef ASVK_RUNTIME_KERNELS_LOSS_H
#define ASVK_RUNTIME_KERNELS_LOSS_H

#include "runtime/kernels/common.h"

/* loss[0] = mean loss; correct[0] = number of rows whose first maximal logit
 * is the label (top-1 hits, as a float; accuracy = correct / N). per_sample
 * (N floats) receives each row's loss when not empty ({0}: not written).
 * One dispatch of one workgroup. ASVK_ERR_USAGE when N or K is 0 or eps is
 * outside [0, 1]. */
asvk_status asvk_loss_ce_forward(asvk_stream *s, uint32_t n, uint32_t k, float smoothing, asvk_buffer logits,
                                 asvk_buffer labels, asvk_buffer loss, asvk_buffer correct, asvk_buffer per_sample);

/* dlogits (+)= (softmax(logits) - t) * dloss[0] / N. dloss is a 1-float
 * view holding the upstream gradient of the mean loss (1.0 for training on
 * this loss alone), e.g. a slot of the step buffer: it is read at run time,
 * so a recorded step may change it between replays. One dispatch, one
 * invocation per row (the row's max and sum of exponentials are recomputed
 * from the logits rather than saved by the forward). */
asvk_status asvk_loss_ce_backward(asvk_stream *s, uint32_t n, uint32_t k, float smoothing, asvk_buffer logits,
                                  asvk_buffer labels, asvk_buffer dloss, asvk_buffer dlogits, bool accumulate);

#endif
