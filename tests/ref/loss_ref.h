/* CPU double-precision references of the losses (runtime/kernels/loss.h):
 * softmax cross-entropy with label smoothing, from the definition
 * loss_i = -sum_j t_ij log softmax(z_i)_j, t = (1-eps) onehot + eps/K, and
 * the squared-error term scale * sum (y - t)^2. */
#ifndef ASVK_TESTS_REF_LOSS_REF_H
#define ASVK_TESTS_REF_LOSS_REF_H

#include <stdint.h>

/* per_sample[i] (NaN for a label outside [0, K)), *mean over the batch,
 * *correct = rows whose first maximal logit is the label. */
void loss_ref_ce_forward(uint32_t n, uint32_t k, float eps, const float *z, const float *labels, double *per_sample,
                         double *mean, uint32_t *correct);

/* dz = (softmax(z) - t) * scale / n */
void loss_ref_ce_backward(uint32_t n, uint32_t k, float eps, const float *z, const float *labels, double scale,
                          double *dz);

/* returns scale * sum_{i<n} (y_i - t_i)^2 */
double loss_ref_mse_forward(uint64_t n, double scale, const float *y, const float *t);

/* dy_i = 2 * scale * dout * (y_i - t_i) */
void loss_ref_mse_backward(uint64_t n, double scale, const float *y, const float *t, double dout, double *dy);

#endif
