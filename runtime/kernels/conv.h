/* Convolution kernels (forward, backward data, backward weight, backward
 * bias) recorded into an asvk_stream. Activations are NHWC, weights OHWI
 * ([Cout][kh][kw][Cin/groups]), bias [Cout] (docs/kernels.md). Buffers are
 * views at any 4-byte offset; vec4 paths are taken where channel counts and
 * offsets allow, scalar paths otherwise. Outputs must not overlap inputs.
 *
 * Each launcher picks a path by shape (asvk_conv_path() tells which); every
 * path is correct for every shape it takes:
 *   DEPTHWISE  groups == Cin == Cout, any kernel, stride, padding. Kernels up
 *              to 7x7 with strides up to 2 run kernels specialized for the
 *              kernel shape (shaders/conv/conv_dw_*_k.comp: taps unrolled,
 *              weights in registers, each loaded input row shared by several
 *              outputs); others run generic windowed kernels.
 *   GEMM       otherwise 1x1, stride 1, no padding (any groups up to 65535):
 *              asvk_blas_gemm, one batch per group; the MobileNet pointwise
 *              convs. Bias and activation run in the GEMM's epilogue.
 *   DIRECT     everything else (stems with Cin = 1 or 3, full 3x3 convs,
 *              strided or padded 1x1, grouped convs): implicit GEMM without an
 *              im2col buffer, a register block of pixels x channels per
 *              invocation, vec4 along the contracted channels where
 *              Cin/groups % 4 == 0. Up to 4 input channels per group and
 *              kh*kw*Cin/groups <= 27 (stems) take a forward specialized for
 *              the kernel shape (conv_fwd_k).
 * Backward data is a gather (every dx element written once, no atomics).
 * Backward weight and bias are reductions over N*OH*OW pixels: deterministic
 * (fixed order), in two passes through a caller-provided workspace when the
 * reduction is split into chunks (the split depends on the shape only). Each
 * call records 1 or 2 dispatches (a GEMM taller than 65535 tiles: more); the
 * forward records 1.
 * ASVK_CONV_TUNE=cpu|gpu forces the CPU or GPU row of register blocks and
 * workgroup sizes (runtime/kernels/conv.c) instead of the device's type. */
#ifndef ASVK_RUNTIME_KERNELS_CONV_H
#define ASVK_RUNTIME_KERNELS_CONV_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/kernels/common.h"

typedef struct asvk_conv_desc {
    asvk_nhwc in;                    /* input geometry (N, H, W, Cin), NHWC */
    uint32_t cout;
    uint32_t kh, kw, sh, sw, ph, pw; /* kernel, stride, zero padding */
    uint32_t groups;                 /* Cin and Cout divisible by groups; depthwise: groups == Cin == Cout */
} asvk_conv_desc;

typedef enum { ASVK_CONV_PATH_GEMM = 0, ASVK_CONV_PATH_DEPTHWISE = 1, ASVK_CONV_PATH_DIRECT = 2 } asvk_conv_path_kind;

/* Output geometry: oh = (h + 2ph - kh)/sh + 1, ow likewise, c = cout. */
asvk_nhwc asvk_conv_out(const asvk_conv_desc *d);
/* ASVK_ERR_USAGE with a message naming the problem for impossible shapes
 * (zero sizes, channels not divisible by groups, a kernel larger than the
 * padded input, tensors beyond 2^31 elements). Every launcher calls it. */
asvk_status asvk_conv_check(const asvk_conv_desc *d);
/* The path every launcher takes for this shape (see above). */
asvk_conv_path_kind asvk_conv_path(const asvk_conv_desc *d);
/* Weight elements: cout * kh * kw * cin/groups. */
uint64_t asvk_conv_weight_count(const asvk_conv_desc *d);

/* y = conv(x, w) (+ bias[cout] when bias.block != NULL). w is OHWI. */
asvk_status asvk_conv_forward(asvk_stream *s, const asvk_conv_desc *d, asvk_buffer x, asvk_buffer w, asvk_buffer bias,
                              asvk_buffer y);
/* y = act(conv(x, w) + bias): the forward with its epilogue, still one
 * dispatch on every path (the activation is a specialization constant;
 * ASVK_ACT_NONE compiles to the plain forward). asvk_conv_forward is this
 * with ASVK_ACT_NONE. */
asvk_status asvk_conv_forward_ex(asvk_stream *s, const asvk_conv_desc *d, asvk_buffer x, asvk_buffer w,
                                 asvk_buffer bias, asvk_act act, asvk_buffer y);
/* The forward with a training batch norm fused into its input's loads: x is
 * the BN's input, and the convolution reads the BN's output as
 * asvk_bn_load says (NULL: plain x). The GEMM and DEPTHWISE paths take one
 * (asvk_conv_takes_bn); the DIRECT path refuses it. */
asvk_status asvk_conv_forward_bn(asvk_stream *s, const asvk_conv_desc *d, asvk_buffer x, const asvk_bn_load *xbn,
                                 asvk_buffer w, asvk_buffer bias, asvk_act act, asvk_buffer y);
bool asvk_conv_takes_bn(const asvk_conv_desc *d);
/* Folds an inference BatchNorm that follows a convolution of `cout` output
 * channels and `kc` weights per channel into its weights and bias, so that
 * asvk_conv_forward_ex(w_out, b_out, act) computes act(BN_infer(conv(x, w) + bias)):
 *   a[co]         = gamma[co] / sqrt(var[co] + eps)        (inversesqrt, as bn_apply)
 *   w_out[co][..] = w[co][..] * a[co]                      (OHWI, every weight of channel co)
 *   b_out[co]     = (bias[co] - mean[co]) * a[co] + beta[co]   (bias 0 when bias.block is NULL)
 * gamma, beta, mean and var are [cout]. One dispatch; the outputs must not
 * overlap any input. It reads and writes the weights once, so it runs
 * before evaluations to follow weights that training changes, not inside
 * the inference that it saves a pass over every activation. */
asvk_status asvk_conv_fold_bn(asvk_stream *s, uint32_t cout, uint64_t kc, float eps, asvk_buffer w, asvk_buffer bias,
                              asvk_buffer gamma, asvk_buffer beta, asvk_buffer mean, asvk_buffer var,
                              asvk_buffer w_out, asvk_buffer b_out);
/* dx (=, or += when accumulate) d(sum y*dy)/dx. */
asvk_status asvk_conv_backward_data(asvk_stream *s, const asvk_conv_desc *d, asvk_buffer dy, asvk_buffer w,
                                    asvk_buffer dx, bool accumulate);
/* The same with dy computed as it is loaded: the convolution's output y is
 * a training BN's input, dy is that BN's output gradient and dbn its
 * backward (asvk_bn_grad_load; NULL: plain dy). The GEMM path only
 * (asvk_conv_takes_dbn); asvk_conv_fuse_bn_backward says whether the
 * device's tuning wants it. */
asvk_status asvk_conv_backward_data_bn(asvk_stream *s, const asvk_conv_desc *d, asvk_buffer dy,
                                       const asvk_bn_grad_load *dbn, asvk_buffer w, asvk_buffer dx, bool accumulate);
bool asvk_conv_takes_dbn(const asvk_conv_desc *d);
bool asvk_conv_fuse_bn_backward(const asvk_context *ctx);
/* Bytes of workspace asvk_conv_backward_weight needs (0: none). It depends
 * on the shape only; the workspace must stay allocated until the stream ran. */
uint64_t asvk_conv_backward_weight_workspace(const asvk_conv_desc *d);
/* dw (=, or +=) sum over pixels of dy (x) x, in OHWI. */
asvk_status asvk_conv_backward_weight(asvk_stream *s, const asvk_conv_desc *d, asvk_buffer x, asvk_buffer dy,
                                      asvk_buffer dw, bool accumulate, asvk_buffer workspace);
/* The same with a batch norm fused into x's loads (asvk_conv_forward_bn)
 * and/or a batch norm's backward into dy's (asvk_conv_backward_data_bn). */
asvk_status asvk_conv_backward_weight_bn(asvk_stream *s, const asvk_conv_desc *d, asvk_buffer x,
                                         const asvk_bn_load *xbn, asvk_buffer dy, const asvk_bn_grad_load *dbn,
                                         asvk_buffer dw, bool accumulate, asvk_buffer workspace);
uint64_t asvk_conv_backward_bias_workspace(const asvk_conv_desc *d);
/* db[c] (=, or +=) sum over N*OH*OW of dy[.][c]. */
asvk_status asvk_conv_backward_bias(asvk_stream *s, const asvk_conv_desc *d, asvk_buffer dy, asvk_buffer db,
                                    bool accumulate, asvk_buffer workspace);

#endif
