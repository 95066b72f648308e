/* Pooling over NHWC activations (shaders/pool/): average and max pooling with
 * kernel, stride and padding, global average pooling, and their backward
 * passes. Buffers are views at any 4-byte offset; the vec4 path is taken
 * where C % 4 == 0 and the views are 16-byte aligned.
 *
 * Semantics (PyTorch's nn.AvgPool2d / nn.MaxPool2d with ceil_mode = False):
 * - output size OH = (H + 2*PH - KH) / SH + 1 (floor), OW likewise;
 * - a window is clipped to the image; 2*pad <= kernel (PyTorch's rule) keeps
 *   every clipped window non-empty;
 * - average pooling divides by the number of in-image elements of the window
 *   (count_include_pad = False), so zero padding never dilutes the mean;
 * - max pooling takes the maximum of the in-image elements (padding never
 *   wins); its gradient goes to the first maximum in scan order (rows, then
 *   columns), which the backward kernel recomputes from x (no index tensor).
 * Global average pooling (N,C,H,W) -> (N,C,1,1) is average pooling with the
 * window the whole image. */
#ifndef ASVK_RUNTIME_KERNELS_POOL_H
#define ASVK_RUNTIME_KERNELS_POOL_H

#include "runtime/kernels/common.h"

typedef enum { ASVK_POOL_AVG = 0, ASVK_POOL_MAX = 1 } asvk_pool_kind;

typedef struct asvk_pool2d {
    uint32_t kh, kw; /* window */
    uint32_t sh, sw; /* stride */
    uint32_t ph, pw; /* zero padding on each side */
} asvk_pool2d;

/* Output geometry of pooling `x` with `p`. ASVK_ERR_USAGE when the window,
 * stride or input is empty, 2*pad > window, or the window exceeds the padded input. */
asvk_status asvk_pool2d_output(asvk_nhwc x, const asvk_pool2d *p, asvk_nhwc *y);

/* y = pool(x); x has geometry xs, y the geometry asvk_pool2d_output gives. */
asvk_status asvk_pool2d_forward(asvk_stream *s, asvk_pool_kind kind, const asvk_pool2d *p, asvk_nhwc xs,
                                asvk_buffer x, asvk_buffer y);
/* The same with x a training BN's input read through its apply (xbn, see
 * asvk_bn_load; NULL: plain loads): a BN fused into the pool that reads its
 * output (runtime/ops/fuse_bn.c). Max pooling's backward then finds its
 * windows' maxima through the same apply (asvk_pool2d_backward_bn). */
asvk_status asvk_pool2d_forward_bn(asvk_stream *s, asvk_pool_kind kind, const asvk_pool2d *p, asvk_nhwc xs,
                                   asvk_buffer x, const asvk_bn_load *xbn, asvk_buffer y);

/* dx (+)= d pool / dx applied to dy. x (the forward input) and ws, a
 * workspace of asvk_pool2d_backward_workspace() bytes from a 16-byte aligned
 * offset, are used by max pooling only (two dispatches: each window's first
 * maximum found once into ws, then gathered); pass empty buffers ({0}) for
 * average pooling. */
asvk_status asvk_pool2d_backward(asvk_stream *s, asvk_pool_kind kind, const asvk_pool2d *p, asvk_nhwc xs,
                                 asvk_buffer x, asvk_buffer dy, asvk_buffer dx, bool accumulate, asvk_buffer ws);
/* Bytes of asvk_pool2d_backward's workspace: 16 per output pixel and quad of
 * channels for max pooling, 0 for average pooling or a geometry it refuses. */
uint64_t asvk_pool2d_backward_workspace(asvk_pool_kind kind, const asvk_pool2d *p, asvk_nhwc xs);
/* Max pooling's backward with x a training BN's input read through its apply
 * (xbn; NULL: asvk_pool2d_backward): the maxima of the BN's output, which is
 * never stored. */
asvk_status asvk_pool2d_backward_bn(asvk_stream *s, asvk_pool_kind kind, const asvk_pool2d *p, asvk_nhwc xs,
                                    asvk_buffer x, const asvk_bn_load *xbn, asvk_buffer dy, asvk_buffer dx,
                                    bool accumulate, asvk_buffer ws);

/* y[n][c] = mean over h, w of x[n][h][w][c]: y is (N, C, 1, 1), N*C floats. */
asvk_status asvk_pool_global_avg_forward(asvk_stream *s, asvk_nhwc xs, asvk_buffer x, asvk_buffer y);
asvk_status asvk_pool_global_avg_forward_bn(asvk_stream *s, asvk_nhwc xs, asvk_buffer x, const asvk_bn_load *xbn,
                                            asvk_buffer y);
/* dx[n][h][w][c] (+)= dy[n][c] / (H*W). */
asvk_status asvk_pool_global_avg_backward(asvk_stream *s, asvk_nhwc xs, asvk_buffer dy, asvk_buffer dx,
                                          bool accumulate);

#endif
