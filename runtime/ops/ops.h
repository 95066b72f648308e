/* Operators of the graph runtime: one definition per op id. Each op file
 * (runtime/ops/<family>.c) defines its attribute struct, how a node records
 * its kernels, and its backward rule, which appends backward nodes. */
#ifndef ASVK_RUNTIME_OPS_H
#define ASVK_RUNTIME_OPS_H

#include <stddef.h>

#include "runtime/graph.h"

typedef enum {
    ASVK_OP_MATMUL = 1, /* y[M][N] = x[M][K] . w[N][K]^T (a linear layer without bias) */
    ASVK_OP_MATMUL_BWD_DATA,
    ASVK_OP_MATMUL_BWD_WEIGHT,
    ASVK_OP_ADD,        /* c = a + b */
    ASVK_OP_GRAD_COPY,  /* dst = src, or dst += src (routing a gradient) */
    ASVK_OP_DOT_LOSS,   /* L = sum(x * r): the finite-difference test loss */
    ASVK_OP_CONV, ASVK_OP_CONV_BWD_DATA, ASVK_OP_CONV_BWD_WEIGHT, ASVK_OP_CONV_BWD_BIAS,
    ASVK_OP_BN, ASVK_OP_BN_BWD,
    ASVK_OP_ACT, ASVK_OP_ACT_BWD, ASVK_OP_MUL, ASVK_OP_MUL_BWD, ASVK_OP_CHSCALE, ASVK_OP_CHSCALE_BWD,
    ASVK_OP_DROPOUT, ASVK_OP_DROPOUT_BWD, ASVK_OP_MIX, ASVK_OP_MIX_BWD,
    ASVK_OP_POOL, ASVK_OP_POOL_BWD, ASVK_OP_LINEAR, ASVK_OP_LINEAR_BWD_DATA, ASVK_OP_LINEAR_BWD_WEIGHT,
    ASVK_OP_LINEAR_BWD_BIAS, ASVK_OP_CONCAT, ASVK_OP_CONCAT_BWD, ASVK_OP_CE_LOSS, ASVK_OP_CE_LOSS_BWD,
    ASVK_OP_OPTIM,
    ASVK_OP_MSE,         /* out = scale * sum (y - t)^2, one float */
    ASVK_OP_MSE_BWD,
    ASVK_OP_SCALAR_LOSS, /* L = x for a one-float x */
    ASVK_OP_SCALAR_LOSS_BWD,
    ASVK_OP_FOLD_BN,     /* a convolution's weights and bias with its inference BN folded in */
    ASVK_OP_COUNT_ = 64
} asvk_op_id;

typedef struct asvk_exec {
    asvk_context *ctx;
    asvk_stream *stream;
    asvk_graph *graph;
    const asvk_sync_hook *sync; /* distributed BN (graph.h); NULL: none */
} asvk_exec;

typedef struct asvk_op_def {
    const char *name;
    /* Records the node's kernels into ex->stream. */
    asvk_status (*record)(asvk_exec *ex, const asvk_node *n);
    /* Appends backward nodes for node index `node`; NULL: not differentiable. */
    asvk_status (*backward)(asvk_graph *g, int node);
    /* Workspace bytes the node needs (NULL: none); given to record as n->ws. */
    uint64_t (*workspace)(const asvk_graph *g, const asvk_node *n);
    bool is_loss; /* its backward seeds the gradient (dL/dL = 1) */
} asvk_op_def;

const asvk_op_def *asvk_op_def_get(uint16_t op);

/* Writes the attributes of a node that decide its cost beyond its shapes
 * ("k3x3 s2x2 p1x1 g96"), for latency tables (asvk_graph_node_key). Each op
 * file defines its own; ops whose shapes say everything have none (NULL). */
typedef void (*asvk_op_describe_fn)(const asvk_node *n, char *buf, size_t size);
asvk_op_describe_fn asvk_op_describe_get(uint16_t op);

/* Floating-point operations of a node for `asvk bench ops` (2 per
 * multiply-add); ops without one count one per output element. */
typedef double (*asvk_op_flops_fn)(const asvk_node *n);
asvk_op_flops_fn asvk_op_flops_get(uint16_t op);

/* Buffer of a value inside record(). */
static inline asvk_buffer asvk_exec_buf(const asvk_exec *ex, asvk_val v) {
    return asvk_graph_cval(ex->graph, v)->buf;
}

/* A BN fused into a node (runtime/ops/fuse_bn.c): its gamma, beta,
 * save_mean and save_invstd are the node's inputs at..at+3. */
static inline asvk_bn_load asvk_exec_bn_load(const asvk_exec *ex, const asvk_node *n, uint32_t at, asvk_act act) {
    return (asvk_bn_load){act, asvk_exec_buf(ex, n->in[at]), asvk_exec_buf(ex, n->in[at + 1]),
                          asvk_exec_buf(ex, n->in[at + 2]), asvk_exec_buf(ex, n->in[at + 3])};
}

#endif
