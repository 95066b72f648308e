/* Basic ops on the BLAS kernels: matmul, add, gradient routing, the dot
 * loss used by the finite-difference tests of whole graphs, and the
 * squared-error terms and scalar loss of block-wise distillation. */
#include <stdio.h>
#include <string.h>

#include "runtime/blas.h"
#include "runtime/kernels/loss.h"
#include "runtime/kernels/norm.h"
#include "runtime/ops/basic.h"

/* ---- matmul: y[M][N] = x[M][K] . w[N][K]^T ---- */

static asvk_status matmul_record(asvk_exec *ex, const asvk_node *n) {
    const asvk_matmul_attr *a = ASVK_CATTR(n, asvk_matmul_attr);
    asvk_gemm_desc d = {.m = a->m, .n = a->n, .k = a->k, .trans_b = true, .alpha = 1};
    return asvk_blas_gemm(ex->stream, &d, asvk_exec_buf(ex, n->in[0]), asvk_exec_buf(ex, n->in[1]),
                          asvk_exec_buf(ex, n->out[0]));
}

/* dx[M][K] (+)= dy[M][N] . w[N][K] */
static asvk_status matmul_bwd_data_record(asvk_exec *ex, const asvk_node *n) {
    const asvk_matmul_attr *a = ASVK_CATTR(n, asvk_matmul_attr);
    asvk_gemm_desc d = {.m = a->m, .n = a->k, .k = a->n, .alpha = 1, .beta = a->accumulate ? 1.0f : 0.0f};
    return asvk_blas_gemm(ex->stream, &d, asvk_exec_buf(ex, n->in[0]), asvk_exec_buf(ex, n->in[1]),
                          asvk_exec_buf(ex, n->out[0]));
}

/* dw[N][K] (+)= dy[M][N]^T . x[M][K] */
static asvk_status matmul_bwd_weight_record(asvk_exec *ex, const asvk_node *n) {
    const asvk_matmul_attr *a = ASVK_CATTR(n, asvk_matmul_attr);
    asvk_gemm_desc d = {.m = a->n, .n = a->k, .k = a->m, .trans_a = true, .alpha = 1, .beta = a->accumulate ? 1.0f : 0.0f};
    return asvk_blas_gemm(ex->stream, &d, asvk_exec_buf(ex, n->in[0]), asvk_exec_buf(ex, n->in[1]),
                          asvk_exec_buf(ex, n->out[0]));
}

static asvk_status matmul_backward(asvk_graph *g, int i) {
    asvk_node n = asvk_graph_nodes(g, &(uint32_t){0})[i];
    asvk_matmul_attr a = *ASVK_CATTR(&n, asvk_matmul_attr);
    asvk_val dy = asvk_graph_val(g, n.out[0])->grad;
    bool acc;
    if (asvk_graph_val(g, n.in[0])->requires_grad) {
        asvk_val dx = asvk_graph_grad(g, n.in[0], &acc);
        a.accumulate = acc;
        if (asvk_graph_node(g, ASVK_OP_MATMUL_BWD_DATA, (asvk_val[]){dy, n.in[1]}, 2, &dx, 1, &a, sizeof a) < 0)
            return ASVK_ERR_INTERNAL;
    }
    if (asvk_graph_val(g, n.in[1])->requires_grad) {
        asvk_val dw = asvk_graph_grad(g, n.in[1], &acc);
        a.accumulate = acc;
        if (asvk_graph_node(g, ASVK_OP_MATMUL_BWD_WEIGHT, (asvk_val[]){dy, n.in[0]}, 2, &dw, 1, &a, sizeof a) < 0)
            return ASVK_ERR_INTERNAL;
    }
    return ASVK_OK;
}

asvk_val asvk_op_matmul(asvk_graph *g, const char *name, asvk_val x, asvk_val w, uint32_t m, uint32_t n, uint32_t k) {
    uint32_t dims[2] = {m, n};
    asvk_val y = asvk_graph_value(g, name, ASVK_VAL_TEMP, 2, dims);
    asvk_matmul_attr a = {m, n, k, false};
    if (y == ASVK_NO_VAL || asvk_graph_node(g, ASVK_OP_MATMUL, (asvk_val[]){x, w}, 2, &y, 1, &a, sizeof a) < 0)
        return ASVK_NO_VAL;
    return y;
}

double asvk_op_matmul_flops(const asvk_node *n) {
    const asvk_matmul_attr *a = ASVK_CATTR(n, asvk_matmul_attr);
    return 2.0 * a->m * a->n * a->k;
}

/* ---- add and gradient routing ---- */

static asvk_status add_record(asvk_exec *ex, const asvk_node *n) {
    uint64_t count = asvk_graph_cval(ex->graph, n->out[0])->floats;
    const asvk_add_attr *a = ASVK_CATTR(n, asvk_add_attr);
    if (a->bn[0] || a->bn[1]) { /* a BN fused into an input (fuse_bn.c) */
        asvk_bn_load l[2];
        for (int i = 0; i < 2; i++)
            if (a->bn[i]) l[i] = asvk_exec_bn_load(ex, n, a->at[i], a->act[i]);
        return asvk_bn_add(ex->stream, asvk_graph_shape(ex->graph, n->out[0]), asvk_exec_buf(ex, n->in[0]),
                           a->bn[0] ? &l[0] : NULL, asvk_exec_buf(ex, n->in[1]), a->bn[1] ? &l[1] : NULL,
                           asvk_exec_buf(ex, n->out[0]));
    }
    return asvk_blas_binary(ex->stream, ASVK_BINARY_ADD, asvk_exec_buf(ex, n->in[0]), asvk_exec_buf(ex, n->in[1]),
                            asvk_exec_buf(ex, n->out[0]), count);
}

static asvk_status grad_copy_record(asvk_exec *ex, const asvk_node *n) {
    if (ASVK_CATTR(n, asvk_grad_copy_attr)->elided) return ASVK_OK;
    uint64_t count = asvk_graph_cval(ex->graph, n->out[0])->floats;
    if (ASVK_CATTR(n, asvk_grad_copy_attr)->accumulate)
        return asvk_blas_axpy(ex->stream, 1.0f, asvk_exec_buf(ex, n->in[0]), asvk_exec_buf(ex, n->out[0]), count);
    return asvk_blas_copy(ex->stream, asvk_exec_buf(ex, n->out[0]), asvk_exec_buf(ex, n->in[0]), count);
}

asvk_status asvk_op_route_grad(asvk_graph *g, asvk_val dy, asvk_val x) {
    if (!asvk_graph_val(g, x)->requires_grad) return ASVK_OK;
    asvk_grad_copy_attr a = {0};
    asvk_val dx = asvk_graph_grad(g, x, &a.accumulate);
    return asvk_graph_node(g, ASVK_OP_GRAD_COPY, &dy, 1, &dx, 1, &a, sizeof a) < 0 ? ASVK_ERR_INTERNAL : ASVK_OK;
}

static asvk_status add_backward(asvk_graph *g, int i) {
    asvk_node n = asvk_graph_nodes(g, &(uint32_t){0})[i];
    asvk_val dy = asvk_graph_val(g, n.out[0])->grad;
    asvk_status st = asvk_op_route_grad(g, dy, n.in[0]);
    return st ? st : asvk_op_route_grad(g, dy, n.in[1]);
}

asvk_val asvk_op_add(asvk_graph *g, const char *name, asvk_val a, asvk_val b) {
    const asvk_value *va = asvk_graph_val(g, a);
    uint32_t ndim = va->ndim, dims[4];
    memcpy(dims, va->dims, sizeof dims);
    asvk_val y = asvk_graph_value(g, name, ASVK_VAL_TEMP, ndim, dims);
    if (y == ASVK_NO_VAL || asvk_graph_node(g, ASVK_OP_ADD, (asvk_val[]){a, b}, 2, &y, 1, NULL, 0) < 0)
        return ASVK_NO_VAL;
    return y;
}

/* ---- dot loss: L = sum(x * r) ---- */

static uint64_t dot_workspace(const asvk_graph *g, const asvk_node *n) {
    uint64_t count = asvk_graph_cval(g, n->in[0])->floats;
    return count * 4 + asvk_blas_sum_workspace(1, (uint32_t)count);
}

static asvk_status dot_record(asvk_exec *ex, const asvk_node *n) {
    uint64_t count = asvk_graph_cval(ex->graph, n->in[0])->floats;
    asvk_buffer ws = asvk_exec_buf(ex, n->ws);
    asvk_buffer prod = asvk_buffer_sub(ws, 0, count * 4);
    asvk_buffer rest = asvk_buffer_sub(ws, count * 4, ws.size - count * 4);
    asvk_status st = asvk_blas_binary(ex->stream, ASVK_BINARY_MUL, asvk_exec_buf(ex, n->in[0]),
                                      asvk_exec_buf(ex, n->in[1]), prod, count);
    return st ? st : asvk_blas_sum_rows(ex->stream, prod, 1, (uint32_t)count, (uint32_t)count,
                                         asvk_exec_buf(ex, n->out[0]), rest);
}

static asvk_status dot_backward(asvk_graph *g, int i) {
    asvk_node n = asvk_graph_nodes(g, &(uint32_t){0})[i];
    return asvk_op_route_grad(g, n.in[1], n.in[0]); /* dL/dx = r */
}

asvk_val asvk_op_dot_loss(asvk_graph *g, const char *name, asvk_val x, asvk_val r) {
    uint32_t one = 1;
    asvk_val y = asvk_graph_value(g, name, ASVK_VAL_OUTPUT, 1, &one);
    if (y == ASVK_NO_VAL || asvk_graph_node(g, ASVK_OP_DOT_LOSS, (asvk_val[]){x, r}, 2, &y, 1, NULL, 0) < 0)
        return ASVK_NO_VAL;
    return y;
}

/* ---- squared-error term: out = scale * sum (y - t)^2 ---- */
typedef struct { uint64_t n; float scale; bool accumulate; } mse_attr;

static uint64_t mse_workspace(const asvk_graph *g, const asvk_node *n) {
    (void)g;
    return asvk_loss_mse_workspace(ASVK_CATTR(n, mse_attr)->n);
}

/* in: y, t; out: the 1-float term */
static asvk_status mse_record(asvk_exec *ex, const asvk_node *n) {
    const mse_attr *a = ASVK_CATTR(n, mse_attr);
    asvk_buffer ws = n->ws != ASVK_NO_VAL ? asvk_exec_buf(ex, n->ws) : (asvk_buffer){0};
    return asvk_loss_mse_forward(ex->stream, a->n, a->scale, asvk_exec_buf(ex, n->in[0]), asvk_exec_buf(ex, n->in[1]),
                                 asvk_exec_buf(ex, n->out[0]), ws);
}

/* in: y, t, d(term); out: dy */
static asvk_status mse_bwd_record(asvk_exec *ex, const asvk_node *n) {
    const mse_attr *a = ASVK_CATTR(n, mse_attr);
    return asvk_loss_mse_backward(ex->stream, a->n, a->scale, asvk_exec_buf(ex, n->in[0]), asvk_exec_buf(ex, n->in[1]),
                                  asvk_exec_buf(ex, n->in[2]), asvk_exec_buf(ex, n->out[0]), a->accumulate);
}

/* Only y gets a gradient: t is a target (see basic.h). */
static asvk_status mse_backward(asvk_graph *g, int i) {
    asvk_node n = asvk_graph_nodes(g, &(uint32_t){0})[i];
    if (!asvk_graph_val(g, n.in[0])->requires_grad) return ASVK_OK;
    mse_attr a = *ASVK_CATTR(&n, mse_attr);
    asvk_val dout = asvk_graph_val(g, n.out[0])->grad;
    if (dout == ASVK_NO_VAL) return ASVK_OK; /* nothing flows into this term */
    asvk_val dy = asvk_graph_grad(g, n.in[0], &a.accumulate);
    if (dy == ASVK_NO_VAL) return ASVK_ERR_INTERNAL;
    asvk_val in[3] = {n.in[0], n.in[1], dout};
    return asvk_graph_node(g, ASVK_OP_MSE_BWD, in, 3, &dy, 1, &a, sizeof a) < 0 ? ASVK_ERR_INTERNAL : ASVK_OK;
}

asvk_val asvk_op_mse(asvk_graph *g, const char *name, asvk_val y, asvk_val t, float scale) {
    if (y < 0 || t < 0 || (uint32_t)y >= asvk_graph_value_count(g) || (uint32_t)t >= asvk_graph_value_count(g)) {
        asvk_error_set(ASVK_ERR_INTERNAL, "mse %s: y or t is not a value", name);
        return ASVK_NO_VAL;
    }
    mse_attr a = {asvk_graph_cval(g, y)->floats, scale, false};
    if (asvk_graph_cval(g, t)->floats != a.n) {
        asvk_error_set(ASVK_ERR_INTERNAL, "mse %s: y (%s) has %llu floats, the target (%s) %llu", name,
                       asvk_graph_cval(g, y)->name, (unsigned long long)a.n, asvk_graph_cval(g, t)->name,
                       (unsigned long long)asvk_graph_cval(g, t)->floats);
        return ASVK_NO_VAL;
    }
    uint32_t one = 1;
    asvk_val out = asvk_graph_value(g, name, ASVK_VAL_OUTPUT, 1, &one);
    if (out == ASVK_NO_VAL || asvk_graph_node(g, ASVK_OP_MSE, (asvk_val[]){y, t}, 2, &out, 1, &a, sizeof a) < 0)
        return ASVK_NO_VAL;
    return out;
}

/* ---- scalar loss: L = x for a 1-float x ---- */

/* in: x; out: L (a transfer copy) */
static asvk_status scalar_loss_record(asvk_exec *ex, const asvk_node *n) {
    return asvk_blas_copy(ex->stream, asvk_exec_buf(ex, n->out[0]), asvk_exec_buf(ex, n->in[0]), 1);
}

/* in: the step buffer; out: dx = step[ASVK_STEP_LOSS_SCALE] (or += it) */
static asvk_status scalar_loss_bwd_record(asvk_exec *ex, const asvk_node *n) {
    asvk_buffer seed = asvk_buffer_sub(asvk_exec_buf(ex, n->in[0]), ASVK_STEP_LOSS_SCALE * 4, 4);
    if (ASVK_CATTR(n, asvk_grad_copy_attr)->accumulate)
        return asvk_blas_axpy(ex->stream, 1.0f, seed, asvk_exec_buf(ex, n->out[0]), 1);
    return asvk_blas_copy(ex->stream, asvk_exec_buf(ex, n->out[0]), seed, 1);
}

static asvk_status scalar_loss_backward(asvk_graph *g, int i) {
    asvk_node n = asvk_graph_nodes(g, &(uint32_t){0})[i];
    asvk_grad_copy_attr a = {0};
    asvk_val step = asvk_graph_step(g);
    asvk_val dx = asvk_graph_grad(g, n.in[0], &a.accumulate);
    if (step == ASVK_NO_VAL || dx == ASVK_NO_VAL) return ASVK_ERR_INTERNAL;
    return asvk_graph_node(g, ASVK_OP_SCALAR_LOSS_BWD, &step, 1, &dx, 1, &a, sizeof a) < 0 ? ASVK_ERR_INTERNAL
                                                                                               : ASVK_OK;
}

asvk_val asvk_op_scalar_loss(asvk_graph *g, const char *name, asvk_val x) {
    if (x < 0 || (uint32_t)x >= asvk_graph_value_count(g) || asvk_graph_cval(g, x)->floats != 1) {
        asvk_error_set(ASVK_ERR_INTERNAL, "scalar loss %s: the input is not a value of one float", name);
        return ASVK_NO_VAL;
    }
    uint32_t one = 1;
    asvk_val y = asvk_graph_value(g, name, ASVK_VAL_OUTPUT, 1, &one);
    if (y == ASVK_NO_VAL || asvk_graph_node(g, ASVK_OP_SCALAR_LOSS, &x, 1, &y, 1, NULL, 0) < 0) return ASVK_NO_VAL;
    return y;
}

const asvk_op_def asvk_op_matmul_def = {"matmul", matmul_record, matmul_backward, NULL, false};
const asvk_op_def asvk_op_matmul_bwd_data_def = {"matmul_bwd_data", matmul_bwd_data_record, NULL, NULL, false};
const asvk_op_def asvk_op_matmul_bwd_weight_def = {"matmul_bwd_weight", matmul_bwd_weight_record, NULL, NULL, false};
const asvk_op_def asvk_op_add_def = {"add", add_record, add_backward, NULL, false};
const asvk_op_def asvk_op_grad_copy_def = {"grad_copy", grad_copy_record, NULL, NULL, false};
const asvk_op_def asvk_op_dot_loss_def = {"dot_loss", dot_record, dot_backward, dot_workspace, true};
const asvk_op_def asvk_op_mse_def = {"mse", mse_record, mse_backward, mse_workspace, false};
const asvk_op_def asvk_op_mse_bwd_def = {"mse_bwd", mse_bwd_record, NULL, NULL, false};
const asvk_op_def asvk_op_scalar_loss_def = {"scalar_loss", scalar_loss_record, scalar_loss_backward, NULL, true};
const asvk_op_def asvk_op_scalar_loss_bwd_def = {"scalar_loss_bwd", scalar_loss_bwd_record, NULL, NULL, false};
