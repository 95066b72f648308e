/* Graph ops over the operator kernels (runtime/kernels/): each builder adds
 * a forward node and returns its output value; the op's backward rule adds
 * the backward nodes when autograd runs. Values are activations (N,C,H,W)
 * stored NHWC, or parameters from the store. */
#ifndef ASVK_RUNTIME_OPS_NN_H
#define ASVK_RUNTIME_OPS_NN_H

#include "runtime/kernels/conv.h"
#include "runtime/kernels/norm.h"
#include "runtime/kernels/optim.h"
#include "runtime/kernels/pool.h"
#include "runtime/ops/ops.h"

/* y = conv(x, w) (+ bias); bias may be ASVK_NO_VAL. */
asvk_val asvk_op_conv(asvk_graph *g, const char *name, asvk_val x, asvk_val w, asvk_val bias, uint32_t cout,
                      uint32_t k, uint32_t stride, uint32_t pad, uint32_t groups);
/* The same with `act` in the convolution's epilogue: inference only (no
 * backward), for convolutions whose BN is folded in (runtime/fold.h). */
asvk_val asvk_op_conv_act(asvk_graph *g, const char *name, asvk_val x, asvk_val w, asvk_val bias, uint32_t cout,
                          uint32_t k, uint32_t stride, uint32_t pad, uint32_t groups, asvk_act act);
/* w_out, b_out (persistent values) = w and bias with the inference BN (gamma,
 * beta, mean, var, eps) folded in (asvk_conv_fold_bn); bias may be ASVK_NO_VAL. */
asvk_status asvk_op_fold_bn(asvk_graph *g, asvk_val w, asvk_val bias, asvk_val gamma, asvk_val beta, asvk_val mean,
                            asvk_val var, asvk_val w_out, asvk_val b_out, float eps);
/* y = act(batchnorm(x)); training: batch statistics, running stats updated. */
asvk_val asvk_op_bn(asvk_graph *g, const char *name, asvk_val x, asvk_val gamma, asvk_val beta, asvk_val rmean,
                    asvk_val rvar, asvk_act act, float eps, float momentum, bool training);
asvk_val asvk_op_act(asvk_graph *g, const char *name, asvk_val x, asvk_act act);
asvk_val asvk_op_mul(asvk_graph *g, const char *name, asvk_val a, asvk_val b);
/* y[n,c,h,w] = x[n,c,h,w] * s[n,c] (s is (N,C,1,1)) */
asvk_val asvk_op_chscale(asvk_graph *g, const char *name, asvk_val x, asvk_val s);
/* dropout with rate p while training; `id` distinguishes the masks of layers */
asvk_val asvk_op_dropout(asvk_graph *g, const char *name, asvk_val x, float p, uint32_t id);
/* y = sum_k softmax(alpha)_k x_k, k <= 8 */
asvk_val asvk_op_mix(asvk_graph *g, const char *name, const asvk_val *x, uint32_t k, asvk_val alpha);
asvk_val asvk_op_pool(asvk_graph *g, const char *name, asvk_val x, asvk_pool_kind kind, uint32_t k, uint32_t stride,
                      uint32_t pad);
asvk_val asvk_op_global_pool(asvk_graph *g, const char *name, asvk_val x);
/* y[N][out] = x[N][in] . w^T + b (x is (N,in,1,1) or (N,in)); b may be ASVK_NO_VAL */
asvk_val asvk_op_linear(asvk_graph *g, const char *name, asvk_val x, asvk_val w, asvk_val b, uint32_t out);
/* channel concat of k <= 8 activations with equal N, H, W */
asvk_val asvk_op_concat(asvk_graph *g, const char *name, const asvk_val *x, uint32_t k);
/* Softmax cross-entropy with label smoothing: the mean loss; *correct gets
 * the count of right top-1 predictions (both OUTPUT values of one float). */
asvk_val asvk_op_ce_loss(asvk_graph *g, const char *name, asvk_val logits, asvk_val labels, float smoothing,
                         asvk_val *correct);

/* Optimizer nodes: update one parameter group of the graph's store. */
asvk_status asvk_op_sgd(asvk_graph *g, int group, const asvk_sgd_config *c);
asvk_status asvk_op_adamw(asvk_graph *g, int group, const asvk_adamw_config *c);

#endif
