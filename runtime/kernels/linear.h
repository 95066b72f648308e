/* Linear (fully connected) layers on row-major activations: x is
 * [rows][in] (an (N, in) tensor, or the pixels of an NHWC tensor), W is
 * stored [out][in] (PyTorch's), b is [out], y is [rows][out]:
 *   y = x W^T + b
 * The products run through asvk_blas_gemm (runtime/blas.h); the bias
 * broadcast and the bias gradient (column sums) are kernels of their own
 * (shaders/linear/). Buffers are views at any 4-byte offset. */
#ifndef ASVK_RUNTIME_KERNELS_LINEAR_H
#define ASVK_RUNTIME_KERNELS_LINEAR_H

#include "runtime/kernels/common.h"

typedef struct asvk_linear_dims {
    uint32_t rows; /* N */
    uint32_t in, out;
} asvk_linear_dims;

/* y = x W^T + b: one GEMM dispatch, the bias added in its epilogue. b may
 * be empty ({0}): y = x W^T. */
asvk_status asvk_linear_forward(asvk_stream *s, asvk_linear_dims d, asvk_buffer x, asvk_buffer w, asvk_buffer b,
                                asvk_buffer y);

/* dx (+)= dy W: [rows][out] x [out][in] (an NN GEMM; beta = accumulate). */
asvk_status asvk_linear_backward_data(asvk_stream *s, asvk_linear_dims d, asvk_buffer dy, asvk_buffer w,
                                      asvk_buffer dx, bool accumulate);

/* dW (+)= dy^T x: [out][rows] x [rows][in] (a TN GEMM; beta = accumulate). */
asvk_status asvk_linear_backward_weight(asvk_stream *s, asvk_linear_dims d, asvk_buffer dy, asvk_buffer x,
                                        asvk_buffer dw, bool accumulate);

/* db (+)= column sums of dy (deterministic: fixed order, no atomics). More
 * than 256 rows take two dispatches through a workspace of
 * asvk_linear_bias_workspace() bytes (0: none needed), which must stay
 * allocated until the stream has run. */
uint64_t asvk_linear_bias_workspace(uint32_t rows, uint32_t out);
asvk_status asvk_linear_backward_bias(asvk_stream *s, asvk_linear_dims d, asvk_buffer dy, asvk_buffer db,
                                      asvk_buffer workspace, bool accumulate);

/* The column sums behind the bias gradient, for any row-major matrix:
 * y[j] (+)= sum over r < rows of x[r*ld + j], j < cols (also the bias
 * gradient of a convolution: rows = N*H*W pixels, cols = C). Workspace as
 * above (asvk_linear_bias_workspace(rows, cols)). */
asvk_status asvk_linear_column_sums(asvk_stream *s, asvk_buffer x, uint32_t rows, uint32_t cols, uint32_t ld,
                                    asvk_buffer y, asvk_buffer workspace, bool accumulate);

#endif
