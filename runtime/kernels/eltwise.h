/* Element-wise kernels and their backward passes (shaders/eltwise/):
 * activations, add/mul, channel scale (squeeze-excitation), dropout and
 * the AutoSpace mixture of K candidate outputs.
 *
 * Buffers are views at any 4-byte offset; sizes n are in floats (the
 * logical element count: these kernels do not care about the layout, except
 * channel scale, which takes NHWC geometry). Backward launchers that produce
 * a gradient take an accumulate flag: false writes it, true adds to it.
 * Outputs must not overlap inputs unless a comment allows it. */
#ifndef ASVK_RUNTIME_KERNELS_ELTWISE_H
#define ASVK_RUNTIME_KERNELS_ELTWISE_H

#include "runtime/kernels/common.h"

/* ---- activations (where no BatchNorm precedes: BN fuses its own) ---- */

/* y = act(x), n floats; y may be x (in place). */
asvk_status asvk_act_forward(asvk_stream *s, asvk_act act, asvk_buffer x, asvk_buffer y, uint64_t n);
/* dx (+)= dy * act'(x), x being the forward's input. act' takes PyTorch's
 * one-sided values at the kinks (shaders/include/act.glsl). */
asvk_status asvk_act_backward(asvk_stream *s, asvk_act act, asvk_buffer x, asvk_buffer dy, asvk_buffer dx,
                              uint64_t n, bool accumulate);

/* ---- add and mul ---- */

/* c = a + b (the BLAS kernel); its backward is the identity, routed by the
 * runtime with asvk_ew_add_into. */
asvk_status asvk_ew_add(asvk_stream *s, asvk_buffer a, asvk_buffer b, asvk_buffer c, uint64_t n);
/* dst = src (accumulate false: a transfer copy) or dst += src (a kernel). */
asvk_status asvk_ew_add_into(asvk_stream *s, asvk_buffer dst, asvk_buffer src, uint64_t n, bool accumulate);

/* c = a * b (the BLAS kernel). */
asvk_status asvk_ew_mul(asvk_stream *s, asvk_buffer a, asvk_buffer b, asvk_buffer c, uint64_t n);
/* da (+)= dy * b and db (+)= dy * a in one pass; either gradient may be
 * skipped by passing a view with block NULL. */
asvk_status asvk_ew_mul_backward(asvk_stream *s, asvk_buffer dy, asvk_buffer a, asvk_buffer b, asvk_buffer da,
                                 bool accumulate_da, asvk_buffer db, bool accumulate_db, uint64_t n);

/* ---- channel scale (squeeze-excitation) ---- */

/* y[n,h,w,c] = x[n,h,w,c] * scale[n,c]; x, y NHWC of `shape`, scale
 * [N][C] (the SE branch's output, an (N, C) tensor). y may be x. */
asvk_status asvk_ew_chscale_forward(asvk_stream *s, asvk_nhwc shape, asvk_buffer x, asvk_buffer scale, asvk_buffer y);
/* Bytes of workspace the backward needs (0: none) for images of H*W pixels
 * larger than one reduction chunk. */
uint64_t asvk_ew_chscale_workspace(asvk_nhwc shape);
/* dx (+)= dy * scale[n,c] and dscale[n,c] (+)= sum over h,w of dy*x, in one
 * pass over dy (plus a merge pass for large images). Either output may be
 * skipped (block NULL). Deterministic. */
asvk_status asvk_ew_chscale_backward(asvk_stream *s, asvk_nhwc shape, asvk_buffer x, asvk_buffer scale,
                                     asvk_buffer dy, asvk_buffer dx, bool accumulate_dx, asvk_buffer dscale,
                                     bool accumulate_dscale, asvk_buffer workspace);

/* ---- dropout ---- */

/* y = x * mask / (1 - p), mask[i] ~ Bernoulli(1 - p) drawn by a counter-based
 * hash of (seed, stream_id, i): the seed is read by the kernel from the step
 * buffer `step` (ASVK_STEP_SEED, uint32 bits stored as a float), so a
 * recorded step draws a new mask at every replay once the host rewrites the
 * seed; stream_id tells the dropout layers of one step apart (e.g. the
 * layer's index); i is the element index in the tensor. 0 <= p < 1; p = 0
 * is the exact identity. y may be x. */
asvk_status asvk_dropout_forward(asvk_stream *s, float p, uint32_t stream_id, asvk_buffer step, asvk_buffer x,
                                 asvk_buffer y, uint64_t n);
/* dx (+)= dy * mask / (1 - p) with the forward's mask, recomputed from the
 * same p, stream_id and step buffer (no mask tensor is stored; the seed must
 * not change between the forward and the backward of a step). */
asvk_status asvk_dropout_backward(asvk_stream *s, float p, uint32_t stream_id, asvk_buffer step, asvk_buffer dy,
                                  asvk_buffer dx, uint64_t n, bool accumulate);

/* ---- mixture of K candidates (AutoSpace Eqn. 3) ---- */

/* 16: once-for-all's MobileNetV3 space has 9 blocks and a skip per layer
 * (each input is a binding: 18 storage buffers, see asvk_kernel_get's check) */
#define ASVK_MIX_MAX 16

/* y = sum_{j<k} softmax(alpha)_j * x[j], n floats each, 1 <= k <= ASVK_MIX_MAX; alpha
 * is a device buffer of k floats (an architecture parameter). One pass: the
 * k inputs are k bindings of one kernel. */
asvk_status asvk_mix_forward(asvk_stream *s, uint32_t k, const asvk_buffer *x, asvk_buffer alpha, asvk_buffer y,
                             uint64_t n);
/* Bytes of workspace asvk_mix_backward needs for dalpha. */
uint64_t asvk_mix_workspace(uint32_t k, uint64_t n);
/* With w = softmax(alpha):
 *   dx[j] (+)= w_j * dy                                         (accumulate_dx[j])
 *   dalpha_j (+)= sum_i w_i (delta_ij - w_j) <dy, x[i]>          (accumulate_dalpha)
 * dx may be NULL (no input gradients) and any dx[j] may have block NULL;
 * accumulate_dx may be NULL (all false). dalpha may have block NULL; it
 * needs x and the workspace, the input gradients need neither. The inner
 * products are deterministic (chunk partials, then one workgroup). */
asvk_status asvk_mix_backward(asvk_stream *s, uint32_t k, const asvk_buffer *x, asvk_buffer alpha, asvk_buffer dy,
                              uint64_t n, const asvk_buffer *dx, const bool *accumulate_dx, asvk_buffer dalpha,
                              bool accumulate_dalpha, asvk_buffer workspace);

#endif
