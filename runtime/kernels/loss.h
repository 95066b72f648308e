/* Losses (shaders/loss/): softmax cross-entropy and a squared-error term.
 *
 * Softmax cross-entropy with label smoothing, PyTorch's
 * nn.CrossEntropyLoss(label_smoothing=eps, reduction='mean'):
 *   logits [N][K] row-major, labels N floats holding class indices (exact
 *   integers in [0, K); others give that sample a NaN loss and NaN gradients),
 *   target t = (1 - eps) * onehot(label) + eps / K,
 *   loss = (1/N) sum_i -sum_j t_ij log softmax(logits_i)_j.
 * Numerically stable (the row maximum is subtracted; the loss is a sum of
 * non-negative terms). Deterministic: fixed summation order, no atomics.
 *
 * Squared error (block-wise distillation: one term per layer, summed by the
 * graph), PyTorch's scale * F.mse_loss(y, t, reduction='sum'):
 *   out = scale * sum_{i<n} (y_i - t_i)^2   (scale = 1/n: the mean),
 *   dy  = 2 * scale * dout * (y - t); the target t gets no gradient.
 * Deterministic: fixed summation order, no atomics.
 *
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

/* Bytes of the workspace asvk_loss_mse_forward needs for n floats (0: none,
 * when n <= 2048). */
uint64_t asvk_loss_mse_workspace(uint64_t n);

/* out[0] = scale * sum_{i<n} (y[i] - t[i])^2 (n = 0: 0). y and t hold n
 * floats; workspace (asvk_loss_mse_workspace(n) bytes, {0} when that is 0)
 * holds per-chunk partial sums and must stay allocated until the stream has
 * run. Dispatches: 1 for n <= 2048 (one workgroup), 2 up to 2048^2 floats
 * (per-2048-chunk partials, then asvk_blas_sum_rows over them), 3 beyond;
 * n = 0 is a transfer fill.
 * vec4 loads where the y and t offsets are 4-aligned, scalar otherwise.
 * ASVK_ERR_LIMIT beyond 2^31 floats. */
asvk_status asvk_loss_mse_forward(asvk_stream *s, uint64_t n, float scale, asvk_buffer y, asvk_buffer t,
                                  asvk_buffer out, asvk_buffer workspace);

/* dy (+)= 2 * scale * dout[0] * (y - t), n floats (n = 0: nothing). dout is
 * a 1-float view holding the upstream gradient of the forward's out (like
 * asvk_loss_ce_backward's dloss, read at run time). dy must not overlap y
 * or t. One dispatch, four elements per invocation, vec4 where the y, t and
 * dy offsets are 4-aligned. ASVK_ERR_LIMIT beyond 2^31 floats. */
asvk_status asvk_loss_mse_backward(asvk_stream *s, uint64_t n, float scale, asvk_buffer y, asvk_buffer t,
                                   asvk_buffer dout, asvk_buffer dy, bool accumulate);

#endif
