/* Basic graph ops on the BLAS kernels (runtime/ops/basic.c). */
#ifndef ASVK_RUNTIME_OPS_BASIC_H
#define ASVK_RUNTIME_OPS_BASIC_H

#include "runtime/ops/ops.h"

typedef struct { uint32_t m, n, k; bool accumulate; } asvk_matmul_attr;
/* elided: dx shares dy's bytes and the copy records nothing (elide_copy.c) */
typedef struct { bool accumulate, elided; } asvk_grad_copy_attr;
/* add: input i (0, 1) is a training BN's input with that BN fused in
 * (runtime/ops/fuse_bn.c): its act, and its gamma, beta, save_mean and
 * save_invstd at in[at[i]..at[i]+3]. Zero: the plain add. */
typedef struct { bool bn[2]; uint8_t at[2]; asvk_act act[2]; } asvk_add_attr;

/* y[m][n] = x[m][k] . w[n][k]^T */
asvk_val asvk_op_matmul(asvk_graph *g, const char *name, asvk_val x, asvk_val w, uint32_t m, uint32_t n, uint32_t k);
asvk_val asvk_op_add(asvk_graph *g, const char *name, asvk_val a, asvk_val b);
/* L = sum(x * r), an OUTPUT scalar; a loss op (backward: dx = r). */
asvk_val asvk_op_dot_loss(asvk_graph *g, const char *name, asvk_val x, asvk_val r);
/* Block-wise distillation terms. out = scale * sum_i (y[i] - t[i])^2 over
 * every float of y and t (same count; shapes may differ), an OUTPUT value
 * of one float (readable after a replay). Not a loss by itself: sum terms
 * with asvk_op_add and end with asvk_op_scalar_loss. Backward: only y gets
 * a gradient, dy = 2 * scale * d(out) * (y - t); t is a target and gets
 * none even when it requires a gradient (a teacher's activations: its
 * parameters, if they train, receive nothing from this term). */
asvk_val asvk_op_mse(asvk_graph *g, const char *name, asvk_val y, asvk_val t, float scale);
/* L = x for a one-float x (e.g. a sum of asvk_op_mse terms), an OUTPUT
 * scalar; a loss op: its backward seeds dx = step[ASVK_STEP_LOSS_SCALE]
 * (read at run time from the step buffer, like the cross-entropy's). */
asvk_val asvk_op_scalar_loss(asvk_graph *g, const char *name, asvk_val x);
/* Backward helper: grad(x) = dy, or += dy when x already has a contribution. */
asvk_status asvk_op_route_grad(asvk_graph *g, asvk_val dy, asvk_val x);

#endif
