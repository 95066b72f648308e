/* CPU references (double precision) of the element-wise kernels
 * (runtime/kernels/eltwise.h), for the tests only. */
#ifndef ASVK_TESTS_REF_ELTWISE_REF_H
#define ASVK_TESTS_REF_ELTWISE_REF_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/kernels/common.h"

/* act(z) and dact/dz with PyTorch's one-sided values at the kinks. */
double eltwise_ref_act(asvk_act act, double z);
double eltwise_ref_act_grad(asvk_act act, double z);
/* sup |act'|: how much an error in z can grow through act. */
double eltwise_ref_act_lipschitz(asvk_act act);
/* sup |act''| away from the kinks: how much an error in z moves act'. */
double eltwise_ref_act_curvature(asvk_act act);
/* Points where act' jumps (count returned, at most 2 written). */
int eltwise_ref_act_kinks(asvk_act act, double *kinks);

/* The dropout mask of shaders/eltwise/dropout_apply.comp, bit for bit: 1 if
 * element i is kept for this seed, stream and 24-bit threshold. */
int eltwise_ref_dropout_keep(uint32_t seed, uint32_t stream, uint32_t threshold, uint32_t i);
/* The threshold the launcher derives from p. */
uint32_t eltwise_ref_dropout_threshold(double p);

/* y[n,h,w,c] = x * s[n,c]; backward dx = dy*s, ds[n,c] = sum_hw dy*x. */
void eltwise_ref_chscale_forward(asvk_nhwc sh, const float *x, const float *s, double *y);
void eltwise_ref_chscale_backward(asvk_nhwc sh, const float *x, const float *s, const float *dy, double *dx,
                                  double *ds);

/* softmax of k values */
void eltwise_ref_softmax(uint32_t k, const float *alpha, double *w);
/* y = sum_j softmax(alpha)_j x[j] */
void eltwise_ref_mix_forward(uint32_t k, const float *const *x, const float *alpha, size_t n, double *y);
/* dx[j] = w_j dy (n each; dx may be NULL), dalpha_j = w_j (d_j - sum_i w_i d_i), d_i = <dy, x_i> */
void eltwise_ref_mix_backward(uint32_t k, const float *const *x, const float *alpha, const float *dy, size_t n,
                      double *const *dx, double *dalpha);

#endif
