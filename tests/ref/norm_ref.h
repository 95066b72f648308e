/* CPU reference (double precision) of BatchNorm 2-D with a fused activation
 * (runtime/kernels/norm.h), for the tests only. Tensors NHWC, the rest [C]. */
#ifndef ASVK_TESTS_REF_NORM_REF_H
#define ASVK_TESTS_REF_NORM_REF_H

#include "runtime/kernels/common.h"

/* Batch statistics: mean, biased variance, invstd = 1/sqrt(var + eps). */
void norm_ref_bn_stats(asvk_nhwc sh, const float *x, double eps, double *mean, double *var, double *invstd);

/* Training forward: y = act(gamma*(x - mean)*invstd + beta) with the batch
 * statistics; mean/invstd out (may be NULL); running statistics updated
 * from rm/rv into rm_out/rv_out (PyTorch: unbiased variance; may be NULL). */
void norm_ref_bn_forward_train(asvk_nhwc sh, asvk_act act, double eps, double momentum, const float *x,
                          const float *gamma, const float *beta, const float *rm, const float *rv, double *y,
                          double *mean, double *invstd, double *rm_out, double *rv_out);

/* Inference: y = act(gamma*(x - rm)/sqrt(rv + eps) + beta). */
void norm_ref_bn_forward_infer(asvk_nhwc sh, asvk_act act, double eps, const float *x, const float *gamma,
                          const float *beta, const float *rm, const float *rv, double *y);

/* Backward through the batch statistics, given the saved mean/invstd:
 * g = dy*act'(z), dbeta = sum g, dgamma = sum g*xhat,
 * dx = gamma*invstd*(g - mean(g) - xhat*mean(g*xhat)). Outputs may be NULL. */
void norm_ref_bn_backward(asvk_nhwc sh, asvk_act act, const float *x, const float *dy, const float *gamma,
                     const float *beta, const float *mean, const float *invstd, double *dx, double *dgamma,
                     double *dbeta);

#endif
