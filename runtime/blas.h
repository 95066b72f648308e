/* BLAS-like kernels recorded into a stream: fill, copy, element-wise
 * add/sub/mul, axpy, row sums, and SGEMM with either operand transposed.
 * Buffers are views (asvk_buffer_sub) at any 4-byte offset; sizes are in
 * floats. The GEMM is the one that later serves 1x1 convolutions, linear
 * layers and their backward passes. */
#ifndef ASVK_RUNTIME_BLAS_H
#define ASVK_RUNTIME_BLAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "runtime/kernels/common.h"

/* C = act(alpha * op(A) op(B) + beta * C + bias), row-major, `batch` times
 * with element strides between batches. A leading dimension of 0 means tight.
 * The epilogue is optional and off when zeroed: bias (bias.block != NULL)
 * adds bias[b * stride_bias + n] to column n of batch b (stride_bias 0: one
 * bias row for every batch; e.g. per output channel of a grouped 1x1
 * convolution), then act (an asvk_act) is applied to the sum. Without them
 * the kernels compile to exactly the plain GEMM (specialization constants). */
typedef struct asvk_gemm_desc {
    bool trans_a, trans_b; /* A stored K x M / B stored N x K */
    uint32_t m, n, k;
    uint32_t lda, ldb, ldc;
    uint32_t batch; /* 0 or 1: one */
    uint64_t stride_a, stride_b, stride_c;
    float alpha, beta;
    asvk_buffer bias;     /* optional epilogue bias (must not overlap C) */
    uint64_t stride_bias; /* elements between the bias rows of consecutive batches */
    asvk_act act;         /* epilogue activation, ASVK_ACT_NONE: none */
    /* Split-K in one dispatch (partials.block != NULL): batch b is the b-th
     * K-slice, whose partial product goes to partials + b * stride_c; the
     * last slice of each output tile to finish sums the tile's slices in
     * batch order and applies alpha, beta, the bias and act into the single
     * matrix C (C is then one matrix: stride_c only lays out the partials,
     * stride_bias is unused). The sums are those of a column-sum pass over
     * the partials, in the same order. */
    asvk_buffer partials;
    /* A batch norm fused into an operand (bn.gamma.block != NULL): operand
     * bn_operand (1: A, 2: B; that operand not transposed) is the BN's input
     * and its loads pass through the BN's apply (asvk_bn_load). The channel of
     * A's element (m, k) of batch b is b * bn_stride + k, of B's (k, n)
     * b * bn_stride + n (bn_stride 0 when the batches are K-slices). */
    asvk_bn_load bn;
    int bn_operand;
    uint32_t bn_stride;
    /* A batch norm's backward fused into A's loads (dbn.t.block != NULL): A
     * is the BN's output gradient, t beside it, and the loads compute the
     * BN's dx (asvk_bn_grad_load). A's element (m, k) of batch b is channel
     * b * dbn_stride + (trans_a ? m : k). Not with bn_operand 1. */
    asvk_bn_grad_load dbn;
    uint32_t dbn_stride;
} asvk_gemm_desc;

typedef enum { ASVK_GEMM_AUTO = 0, ASVK_GEMM_NAIVE, ASVK_GEMM_REG, ASVK_GEMM_SMEM } asvk_gemm_kernel;

/* Which kernel and which tile/workgroup sizes (specialization constants). */
typedef struct asvk_gemm_tuning {
    asvk_gemm_kernel kernel;
    uint32_t wg_x, wg_y; /* workgroup */
    uint32_t tm, tn;     /* outputs per invocation (multiples of 4 for reg) */
    uint32_t bk;         /* K step of the shared tiles (smem) */
} asvk_gemm_tuning;

/* The tuning for this device (a table by device type and vendor), unless
 * ASVK_GEMM overrides it, e.g. ASVK_GEMM=reg:8x8:8x1 or smem:4x4:16x16:16. */
asvk_status asvk_gemm_tuning_default(const asvk_context *ctx, asvk_gemm_tuning *out);
/* Parses "naive", "reg:TMxTN:WXxWY" or "smem:TMxTN:WXxWY:BK". */
asvk_status asvk_gemm_tuning_parse(const char *text, asvk_gemm_tuning *out);
void asvk_gemm_tuning_format(const asvk_gemm_tuning *t, char *out, size_t n);

asvk_status asvk_blas_gemm(asvk_stream *s, const asvk_gemm_desc *d, asvk_buffer a, asvk_buffer b, asvk_buffer c);
asvk_status asvk_blas_gemm_tuned(asvk_stream *s, const asvk_gemm_tuning *t, const asvk_gemm_desc *d,
                                 asvk_buffer a, asvk_buffer b, asvk_buffer c);

/* y[0..n) = value */
asvk_status asvk_blas_fill(asvk_stream *s, asvk_buffer y, uint64_t n, float value);

/* The arithmetic ceiling behind asvk bench peak (shaders/blas/peak_fma.comp):
 * `invocations` (a multiple of 64) each run 16 vec4 chains acc = acc*a + b
 * for `iters` steps from acc[j] = (s + j, s, -s, 1), s = 0.001 * (local
 * index in its workgroup of 64), and store the chains' sum at y[4i..4i+3]:
 * invocations * iters * 128 flops. */
#define ASVK_PEAK_FMA_WG 64u
asvk_status asvk_blas_peak_fma(asvk_stream *s, asvk_buffer y, uint32_t invocations, uint32_t iters, float a, float b);
/* y = x, n floats (transfer-engine copy where aligned, else a kernel) */
asvk_status asvk_blas_copy(asvk_stream *s, asvk_buffer y, asvk_buffer x, uint64_t n);
/* y[r*yld + c] = x[r*xld + c], r < rows, c < cols */
asvk_status asvk_blas_copy2d(asvk_stream *s, asvk_buffer y, uint32_t yld, asvk_buffer x, uint32_t xld,
                             uint32_t rows, uint32_t cols);

typedef enum { ASVK_BINARY_ADD = 0, ASVK_BINARY_SUB = 1, ASVK_BINARY_MUL = 2 } asvk_binary_op;
/* c = a op b, n floats */
asvk_status asvk_blas_binary(asvk_stream *s, asvk_binary_op op, asvk_buffer a, asvk_buffer b, asvk_buffer c,
                             uint64_t n);
/* y += alpha * x, n floats */
asvk_status asvk_blas_axpy(asvk_stream *s, float alpha, asvk_buffer x, asvk_buffer y, uint64_t n);

/* y[r] = sum_c x[r*ld + c]. Rows longer than one workgroup's chunk need a
 * workspace of asvk_blas_sum_workspace() bytes (0: none), which must stay
 * allocated until the stream has run. */
uint64_t asvk_blas_sum_workspace(uint32_t rows, uint32_t cols);
asvk_status asvk_blas_sum_rows(asvk_stream *s, asvk_buffer x, uint32_t rows, uint32_t cols, uint32_t ld,
                               asvk_buffer y, asvk_buffer workspace);

#endif
