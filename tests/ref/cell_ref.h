/* CPU double-precision reference of a whole AutoSpace cell in TRAINING mode
 * (tests only), written from the contract of runtime/cell.h and
 * runtime/cell_ops.h and independent of runtime/cell_graph.c:
 *
 *   x0 = act(BN(conv1x1(x)))                         expand != 1 (else x0 = x)
 *   node i = merge over j < i, op[i][j] != ZERO, of edge(i, j)(node j)
 *     edge stride: s when j == 0, else 1; every conv pads k/2, every pool 1
 *     IDENTITY    x at stride 1; at stride s an s x s average pool with stride
 *                 s when s divides H and W (shape->pool_exact), else the
 *                 (2*(s/2)+1)-square average pool, stride s, padding s/2
 *     CONV1X1/3X3 full conv -> BN -> act        DWkxk  depthwise -> BN -> act
 *     AVGPOOL3X3  average over the in-bounds elements of the 3x3 window
 *     MAXPOOL3X3  maximum over the in-bounds elements
 *     merge       one input: that input; SUM: the sum; WEIGHTED: sum of
 *                 softmax(mix{i}.alpha)_q * input_q, inputs in increasing j
 *   h = node N-1; with SE: h[n,:,:,c] *= hsigmoid(We relu(Wr mean_hw(h) + br) + be)
 *   y = BN(conv1x1(h, out_c)) (no act), + x when shape->residual
 *
 * BN uses the batch statistics over N*H*W with the biased variance, as the
 * GPU's training forward and tests/ref/norm_ref.c: y = act(gamma*(x - mean)
 * / sqrt(var + eps) + beta); the running statistics play no part. Every
 * intermediate is double: the float-input references of tests/ref/ (conv_ref,
 * norm_ref, pool_ref, eltwise_ref_mix) would round each stage to fp32, which
 * finite differences of this forward cannot afford (6e-8 / h). Activations
 * come from eltwise_ref_act, their kinks from eltwise_ref_act_kinks.
 *
 * Layouts as the runtime: activations NHWC; conv weights OHWI
 * ([out][k][k][in], depthwise [c][k][k][1]); se.reduce.weight [r][mid],
 * se.expand.weight [mid][r]. Parameters are fetched by the names of
 * runtime/cell_ops.h without any prefix ("e2_0.weight", "expand_bn.bias",
 * "mix3.alpha", "se.reduce.bias", "project_bn.weight"); the running_mean and
 * running_var tensors are never asked for. */
#ifndef ASVK_TESTS_REF_CELL_REF_H
#define ASVK_TESTS_REF_CELL_REF_H

#include <stdint.h>

#include "runtime/cell_ops.h"

/* The tensor named `name`, in the layout above, or NULL if there is none. */
typedef const double *(*cell_ref_param_fn)(void *user, const char *name);

/* What the forward passed through that is not smooth:
 * margin  the smallest distance of any activation input to a kink of its
 *         activation (relu 0; relu6 0, 6; hswish and the SE's hsigmoid -3, 3;
 *         the SE's relu 0) and of any max-pool window's maximum to the
 *         largest smaller value in it (exact ties are left out: they arise
 *         where clamped activations give equal constants, and moving the
 *         input a little keeps them tied); +inf when nothing was kinked.
 * pattern a hash of every such decision (which side of each kink every
 *         activation input lies, which element wins every max window): two
 *         forwards with equal patterns took the same smooth piece, so a
 *         central difference between them sees no kink. */
typedef struct cell_ref_info {
    double margin;
    uint64_t pattern;
} cell_ref_info;

/* y (batch, out_h, out_w, out_c) = the cell on x (batch, in_h, in_w, in_c),
 * with BN epsilon eps. info may be NULL. Returns 0, or -1 when a parameter
 * is missing or memory runs out (the message is printed on stderr). */
int cell_ref_forward(const asvk_cell *c, const asvk_cell_shape *s, uint32_t batch, double eps, const double *x,
                     cell_ref_param_fn param, void *user, double *y, cell_ref_info *info);

#endif
