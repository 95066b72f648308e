/* Launchers for linear layers (see linear.h). */
#include "runtime/kernels/linear.h"

#include "runtime/blas.h"

#define LIN_WG 64u
#define SUM_CHUNK 256u /* rows one invocation adds in the first pass */
#define SUM_MAX_CHUNKS 256u

static asvk_status check_dims(asvk_linear_dims d) {
    if ((uint64_t)d.rows * (d.in > d.out ? d.in : d.out) + 4 > UINT32_MAX || (uint64_t)d.in * d.out + 4 > UINT32_MAX)
        return asvk_error_set(ASVK_ERR_LIMIT, "linear %u x %u -> %u: a tensor of more than 2^32 floats", d.rows, d.in,
                              d.out);
    return ASVK_OK;
}

static asvk_status bias_fill(asvk_stream *s, asvk_buffer b, asvk_buffer y, uint32_t rows, uint32_t cols) {
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer bind[2];
    uint32_t off[2];
    asvk_buffer_bindable(ctx, b, &bind[0], &off[0]);
    asvk_buffer_bindable(ctx, y, &bind[1], &off[1]);
    uint32_t spec[3] = {LIN_WG, off[1] % 4 == 0, off[1] % 4 == 0 && off[0] % 4 == 0 && cols % 4 == 0};
    asvk_kernel *k;
    asvk_status st = asvk_kernel_get(ctx, "linear_bias_fill", spec, 3, &k);
    if (st) return st;
    uint32_t total = rows * cols;
    struct { uint32_t total, cols, boff, yoff; } push = {total, cols, off[0], off[1]};
    return asvk_stream_dispatch_linear(s, k, bind, 2, &push, sizeof push, asvk_ceil_div(total, 4 * LIN_WG));
}

asvk_status asvk_linear_forward(asvk_stream *s, asvk_linear_dims d, asvk_buffer x, asvk_buffer w, asvk_buffer b,
                                asvk_buffer y) {
    asvk_status st = check_dims(d);
    if (st || d.rows == 0 || d.out == 0) return st;
    if ((st = asvk_check_floats(y, (uint64_t)d.rows * d.out, "linear y"))) return st;
    bool bias = b.block != NULL;
    if (bias && (st = asvk_check_floats(b, d.out, "linear bias"))) return st;
    if (d.in == 0) return bias ? bias_fill(s, b, y, d.rows, d.out) : asvk_blas_fill(s, y, (uint64_t)d.rows * d.out, 0);
    /* y[rows][out] = x[rows][in] * (W[out][in])^T + bias (the GEMM's epilogue: one dispatch) */
    asvk_gemm_desc g = {.trans_b = true, .m = d.rows, .n = d.out, .k = d.in, .alpha = 1, .beta = 0, .bias = b};
    return asvk_blas_gemm(s, &g, x, w, y);
}

asvk_status asvk_linear_backward_data(asvk_stream *s, asvk_linear_dims d, asvk_buffer dy, asvk_buffer w,
                                      asvk_buffer dx, bool accumulate) {
    asvk_status st = check_dims(d);
    if (st || d.rows == 0 || d.in == 0) return st;
    /* dx[rows][in] = dy[rows][out] * W[out][in] */
    asvk_gemm_desc g = {.m = d.rows, .n = d.in, .k = d.out, .alpha = 1, .beta = accumulate ? 1.0f : 0.0f};
    return asvk_blas_gemm(s, &g, dy, w, dx);
}

asvk_status asvk_linear_backward_weight(asvk_stream *s, asvk_linear_dims d, asvk_buffer dy, asvk_buffer x,
                                        asvk_buffer dw, bool accumulate) {
    asvk_status st = check_dims(d);
    if (st || d.out == 0 || d.in == 0) return st;
    if (d.rows == 0) return accumulate ? ASVK_OK : asvk_blas_fill(s, dw, (uint64_t)d.out * d.in, 0);
    /* dW[out][in] = (dy[rows][out])^T * x[rows][in] */
    asvk_gemm_desc g = {.trans_a = true, .m = d.out, .n = d.in, .k = d.rows, .alpha = 1,
                        .beta = accumulate ? 1.0f : 0.0f};
    return asvk_blas_gemm(s, &g, dy, x, dw);
}

/* Rows per chunk and chunk count of the first pass. */
static void chunking(uint32_t rows, uint32_t *rpc, uint32_t *chunks) {
    if (rows <= SUM_CHUNK) {
        *rpc = rows ? rows : 1, *chunks = 1;
        return;
    }
    *rpc = (uint32_t)asvk_ceil_div(rows, SUM_MAX_CHUNKS);
    if (*rpc < SUM_CHUNK) *rpc = SUM_CHUNK;
    *chunks = (uint32_t)asvk_ceil_div(rows, *rpc);
}

uint64_t asvk_linear_bias_workspace(uint32_t rows, uint32_t out) {
    uint32_t rpc, chunks;
    chunking(rows, &rpc, &chunks);
    return chunks > 1 ? (uint64_t)chunks * out * 4 : 0;
}

static asvk_status colsum_pass(asvk_stream *s, asvk_buffer x, uint32_t rows, uint32_t cols, uint32_t ld,
                               uint32_t rpc, uint32_t chunks, asvk_buffer y, bool accumulate) {
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer bind[2];
    uint32_t off[2];
    asvk_buffer_bindable(ctx, x, &bind[0], &off[0]);
    asvk_buffer_bindable(ctx, y, &bind[1], &off[1]);
    uint32_t spec[4] = {LIN_WG, accumulate, off[0] % 4 == 0 && ld % 4 == 0,
                        off[1] % 4 == 0 && (chunks == 1 || cols % 4 == 0)};
    asvk_kernel *k;
    asvk_status st = asvk_kernel_get(ctx, "linear_colsum", spec, 4, &k);
    if (st) return st;
    uint32_t quads = (cols + 3) / 4;
    struct { uint32_t rows, cols, ld, rpc, chunks, quads, xoff, yoff; } push = {rows, cols, ld, rpc, chunks, quads,
                                                                              off[0], off[1]};
    return asvk_stream_dispatch_linear(s, k, bind, 2, &push, sizeof push,
                                       asvk_ceil_div((uint64_t)quads * chunks, LIN_WG));
}

asvk_status asvk_linear_column_sums(asvk_stream *s, asvk_buffer x, uint32_t rows, uint32_t cols, uint32_t ld,
                                    asvk_buffer y, asvk_buffer workspace, bool accumulate) {
    if (cols == 0) return ASVK_OK;
    if (ld < cols) return asvk_error_set(ASVK_ERR_INTERNAL, "column sums: ld %u < cols %u", ld, cols);
    asvk_status st;
    if ((st = asvk_check_floats(y, cols, "column sums y"))) return st;
    if (rows == 0) return accumulate ? ASVK_OK : asvk_blas_fill(s, y, cols, 0);
    if ((uint64_t)rows * ld + 4 > UINT32_MAX)
        return asvk_error_set(ASVK_ERR_LIMIT, "column sums: a matrix of more than 2^32 floats");
    if ((st = asvk_check_floats(x, (uint64_t)(rows - 1) * ld + cols, "column sums x"))) return st;
    uint32_t rpc, chunks;
    chunking(rows, &rpc, &chunks);
    if (chunks == 1) return colsum_pass(s, x, rows, cols, ld, rpc, 1, y, accumulate);
    uint64_t ws = (uint64_t)chunks * cols * 4;
    if (!workspace.block || workspace.size < ws)
        return asvk_error_set(ASVK_ERR_INTERNAL, "column sums: %u rows need a %llu-byte workspace", rows,
                              (unsigned long long)ws);
    if ((st = colsum_pass(s, x, rows, cols, ld, rpc, chunks, workspace, false))) return st;
    return colsum_pass(s, workspace, chunks, cols, cols, chunks, 1, y, accumulate);
}

asvk_status asvk_linear_backward_bias(asvk_stream *s, asvk_linear_dims d, asvk_buffer dy, asvk_buffer db,
                                      asvk_buffer workspace, bool accumulate) {
    return asvk_linear_column_sums(s, dy, d.rows, d.out, d.out, db, workspace, accumulate);
}
