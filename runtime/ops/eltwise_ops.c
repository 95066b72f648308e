/* Activation, multiply, channel scale, dropout and mixture graph ops. */
#include <stdio.h>
#include <string.h>

#include "runtime/graph_internal.h"
#include "runtime/kernels/eltwise.h"
#include "runtime/ops/nn.h"

static asvk_node node_copy(asvk_graph *g, int i) {
    uint32_t n;
    return asvk_graph_nodes(g, &n)[i];
}
static asvk_buffer none(void) { return (asvk_buffer){0}; }
static uint64_t count(const asvk_exec *ex, asvk_val v) { return asvk_graph_cval(ex->graph, v)->floats; }
static asvk_val like(asvk_graph *g, const char *name, asvk_val x) {
    const asvk_value *v = asvk_graph_cval(g, x);
    uint32_t dims[4];
    memcpy(dims, v->dims, sizeof dims);
    return asvk_graph_value(g, name, ASVK_VAL_TEMP, v->ndim, dims);
}
static bool needs(asvk_graph *g, asvk_val v) { return asvk_graph_val(g, v)->requires_grad; }

/* ---- activation ---- */
typedef struct { asvk_act act; bool accumulate; } act_attr;

void asvk_op_act_describe(const asvk_node *n, char *buf, size_t size) {
    snprintf(buf, size, "act%d", (int)ASVK_CATTR(n, act_attr)->act);
}

static asvk_status act_record(asvk_exec *ex, const asvk_node *n) {
    return asvk_act_forward(ex->stream, ASVK_CATTR(n, act_attr)->act, asvk_exec_buf(ex, n->in[0]),
                            asvk_exec_buf(ex, n->out[0]), count(ex, n->out[0]));
}
static asvk_status act_bwd_record(asvk_exec *ex, const asvk_node *n) {
    const act_attr *a = ASVK_CATTR(n, act_attr);
    return asvk_act_backward(ex->stream, a->act, asvk_exec_buf(ex, n->in[0]), asvk_exec_buf(ex, n->in[1]),
                             asvk_exec_buf(ex, n->out[0]), count(ex, n->out[0]), a->accumulate);
}
static asvk_status act_backward(asvk_graph *g, int i) {
    asvk_node n = node_copy(g, i);
    act_attr a = *ASVK_CATTR(&n, act_attr);
    asvk_val dy = asvk_graph_val(g, n.out[0])->grad;
    asvk_val dx = asvk_graph_grad(g, n.in[0], &a.accumulate);
    return asvk_graph_node(g, ASVK_OP_ACT_BWD, (asvk_val[]){n.in[0], dy}, 2, &dx, 1, &a, sizeof a) < 0
               ? ASVK_ERR_INTERNAL : ASVK_OK;
}
asvk_val asvk_op_act(asvk_graph *g, const char *name, asvk_val x, asvk_act act) {
    act_attr a = {act, false};
    asvk_val y = like(g, name, x);
    if (y == ASVK_NO_VAL || asvk_graph_node(g, ASVK_OP_ACT, &x, 1, &y, 1, &a, sizeof a) < 0) return ASVK_NO_VAL;
    return y;
}

/* ---- multiply ---- */
typedef struct { bool want_da, want_db, acc_da, acc_db; } mul_attr;

static asvk_status mul_record(asvk_exec *ex, const asvk_node *n) {
    return asvk_ew_mul(ex->stream, asvk_exec_buf(ex, n->in[0]), asvk_exec_buf(ex, n->in[1]),
                       asvk_exec_buf(ex, n->out[0]), count(ex, n->out[0]));
}
/* in: dy, a, b; out: [da][, db] */
static asvk_status mul_bwd_record(asvk_exec *ex, const asvk_node *n) {
    const mul_attr *a = ASVK_CATTR(n, mul_attr);
    asvk_buffer da = a->want_da ? asvk_exec_buf(ex, n->out[0]) : none();
    asvk_buffer db = a->want_db ? asvk_exec_buf(ex, n->out[a->want_da ? 1 : 0]) : none();
    return asvk_ew_mul_backward(ex->stream, asvk_exec_buf(ex, n->in[0]), asvk_exec_buf(ex, n->in[1]),
                                asvk_exec_buf(ex, n->in[2]), da, a->acc_da, db, a->acc_db, count(ex, n->in[0]));
}
static asvk_status mul_backward(asvk_graph *g, int i) {
    asvk_node n = node_copy(g, i);
    mul_attr a = {needs(g, n.in[0]), needs(g, n.in[1]), false, false};
    asvk_val outs[2];
    uint32_t no = 0;
    if (a.want_da) outs[no++] = asvk_graph_grad(g, n.in[0], &a.acc_da);
    if (a.want_db) outs[no++] = asvk_graph_grad(g, n.in[1], &a.acc_db);
    asvk_val dy = asvk_graph_val(g, n.out[0])->grad;
    return asvk_graph_node(g, ASVK_OP_MUL_BWD, (asvk_val[]){dy, n.in[0], n.in[1]}, 3, outs, no, &a, sizeof a) < 0
               ? ASVK_ERR_INTERNAL : ASVK_OK;
}
asvk_val asvk_op_mul(asvk_graph *g, const char *name, asvk_val a, asvk_val b) {
    asvk_val y = like(g, name, a);
    if (y == ASVK_NO_VAL || asvk_graph_node(g, ASVK_OP_MUL, (asvk_val[]){a, b}, 2, &y, 1, NULL, 0) < 0)
        return ASVK_NO_VAL;
    return y;
}

/* ---- channel scale ---- */
typedef struct { asvk_nhwc shape; bool want_dx, acc_dx, acc_ds; } chscale_attr;

static asvk_status chscale_record(asvk_exec *ex, const asvk_node *n) {
    return asvk_ew_chscale_forward(ex->stream, ASVK_CATTR(n, chscale_attr)->shape, asvk_exec_buf(ex, n->in[0]),
                                   asvk_exec_buf(ex, n->in[1]), asvk_exec_buf(ex, n->out[0]));
}
/* in: x, s, dy; out: ds[, dx] */
static asvk_status chscale_bwd_record(asvk_exec *ex, const asvk_node *n) {
    const chscale_attr *a = ASVK_CATTR(n, chscale_attr);
    return asvk_ew_chscale_backward(ex->stream, a->shape, asvk_exec_buf(ex, n->in[0]), asvk_exec_buf(ex, n->in[1]),
                                    asvk_exec_buf(ex, n->in[2]), a->want_dx ? asvk_exec_buf(ex, n->out[1]) : none(),
                                    a->acc_dx, asvk_exec_buf(ex, n->out[0]), a->acc_ds,
                                    n->ws != ASVK_NO_VAL ? asvk_exec_buf(ex, n->ws) : none());
}
static uint64_t chscale_ws(const asvk_graph *g, const asvk_node *n) {
    (void)g;
    return asvk_ew_chscale_workspace(ASVK_CATTR(n, chscale_attr)->shape);
}
static asvk_status chscale_backward(asvk_graph *g, int i) {
    asvk_node n = node_copy(g, i);
    chscale_attr a = *ASVK_CATTR(&n, chscale_attr);
    a.want_dx = needs(g, n.in[0]);
    asvk_val outs[2] = {asvk_graph_grad(g, n.in[1], &a.acc_ds), ASVK_NO_VAL};
    if (a.want_dx) outs[1] = asvk_graph_grad(g, n.in[0], &a.acc_dx);
    asvk_val dy = asvk_graph_val(g, n.out[0])->grad;
    return asvk_graph_node(g, ASVK_OP_CHSCALE_BWD, (asvk_val[]){n.in[0], n.in[1], dy}, 3, outs, a.want_dx ? 2 : 1, &a,
                           sizeof a) < 0 ? ASVK_ERR_INTERNAL : ASVK_OK;
}
asvk_val asvk_op_chscale(asvk_graph *g, const char *name, asvk_val x, asvk_val s) {
    chscale_attr a = {asvk_graph_shape(g, x), false, false, false};
    asvk_val y = like(g, name, x);
    if (y == ASVK_NO_VAL || asvk_graph_node(g, ASVK_OP_CHSCALE, (asvk_val[]){x, s}, 2, &y, 1, &a, sizeof a) < 0)
        return ASVK_NO_VAL;
    return y;
}

/* ---- dropout ---- */
typedef struct { float p; uint32_t id; bool accumulate; } dropout_attr;

void asvk_op_dropout_describe(const asvk_node *n, char *buf, size_t size) {
    snprintf(buf, size, "p%g", (double)ASVK_CATTR(n, dropout_attr)->p);
}

static asvk_status dropout_record(asvk_exec *ex, const asvk_node *n) {
    const dropout_attr *a = ASVK_CATTR(n, dropout_attr);
    return asvk_dropout_forward(ex->stream, a->p, a->id, asvk_exec_buf(ex, n->in[1]), asvk_exec_buf(ex, n->in[0]),
                                asvk_exec_buf(ex, n->out[0]), count(ex, n->out[0]));
}
/* in: dy, step */
static asvk_status dropout_bwd_record(asvk_exec *ex, const asvk_node *n) {
    const dropout_attr *a = ASVK_CATTR(n, dropout_attr);
    return asvk_dropout_backward(ex->stream, a->p, a->id, asvk_exec_buf(ex, n->in[1]), asvk_exec_buf(ex, n->in[0]),
                                 asvk_exec_buf(ex, n->out[0]), count(ex, n->out[0]), a->accumulate);
}
static asvk_status dropout_backward(asvk_graph *g, int i) {
    asvk_node n = node_copy(g, i);
    dropout_attr a = *ASVK_CATTR(&n, dropout_attr);
    asvk_val dy = asvk_graph_val(g, n.out[0])->grad;
    asvk_val dx = asvk_graph_grad(g, n.in[0], &a.accumulate);
    return asvk_graph_node(g, ASVK_OP_DROPOUT_BWD, (asvk_val[]){dy, n.in[1]}, 2, &dx, 1, &a, sizeof a) < 0
               ? ASVK_ERR_INTERNAL : ASVK_OK;
}
asvk_val asvk_op_dropout(asvk_graph *g, const char *name, asvk_val x, float p, uint32_t id) {
    dropout_attr a = {p, id, false};
    asvk_val y = like(g, name, x), step = asvk_graph_step(g);
    if (y == ASVK_NO_VAL || asvk_graph_node(g, ASVK_OP_DROPOUT, (asvk_val[]){x, step}, 2, &y, 1, &a, sizeof a) < 0)
        return ASVK_NO_VAL;
    return y;
}

/* ---- mixture ---- */
typedef struct { uint32_t k; bool want[ASVK_MIX_MAX], acc[ASVK_MIX_MAX]; bool want_alpha, acc_alpha; } mix_attr;


static asvk_status mix_record(asvk_exec *ex, const asvk_node *n) {
    const mix_attr *a = ASVK_CATTR(n, mix_attr);
    asvk_buffer x[ASVK_MIX_MAX];
    for (uint32_t j = 0; j < a->k; j++) x[j] = asvk_exec_buf(ex, n->in[j]);
    return asvk_mix_forward(ex->stream, a->k, x, asvk_exec_buf(ex, n->in[a->k]), asvk_exec_buf(ex, n->out[0]),
                            count(ex, n->out[0]));
}
/* backward in: dy, alpha, x_0..x_{k-1} (2 + k <= ASVK_NODE_MAX_IN inputs, so the planner
 * keeps the candidates alive until here); out: [dalpha,] dx_j of wanted j. */
static asvk_status mix_bwd_record(asvk_exec *ex, const asvk_node *n) {
    const mix_attr *a = ASVK_CATTR(n, mix_attr);
    asvk_buffer x[ASVK_MIX_MAX], dx[ASVK_MIX_MAX];
    uint32_t o = a->want_alpha ? 1 : 0;
    for (uint32_t j = 0; j < a->k; j++) {
        x[j] = asvk_exec_buf(ex, n->in[2 + j]);
        dx[j] = a->want[j] ? asvk_exec_buf(ex, n->out[o++]) : none();
    }
    return asvk_mix_backward(ex->stream, a->k, x, asvk_exec_buf(ex, n->in[1]), asvk_exec_buf(ex, n->in[0]),
                             count(ex, n->in[0]), dx, a->acc, a->want_alpha ? asvk_exec_buf(ex, n->out[0]) : none(),
                             a->acc_alpha, n->ws != ASVK_NO_VAL ? asvk_exec_buf(ex, n->ws) : none());
}
static uint64_t mix_bwd_ws(const asvk_graph *g, const asvk_node *n) {
    const mix_attr *a = ASVK_CATTR(n, mix_attr);
    return a->want_alpha ? asvk_mix_workspace(a->k, asvk_graph_cval(g, n->in[0])->floats) : 0;
}
/* A node has at most ASVK_NODE_MAX_OUT outputs, so the gradients are spread
 * over as many backward nodes as needed; alpha's goes with the first. */
static asvk_status mix_backward(asvk_graph *g, int i) {
    asvk_node n = node_copy(g, i);
    const mix_attr f = *ASVK_CATTR(&n, mix_attr);
    asvk_val dy = asvk_graph_val(g, n.out[0])->grad;
    asvk_val in[ASVK_MIX_MAX + 2] = {dy, n.in[f.k]};
    memcpy(in + 2, n.in, f.k * sizeof *in);
    bool alpha_left = needs(g, n.in[f.k]);
    uint32_t j = 0;
    do {
        mix_attr a = {.k = f.k};
        asvk_val outs[ASVK_NODE_MAX_OUT];
        uint32_t no = 0;
        if (alpha_left) {
            a.want_alpha = true;
            outs[no++] = asvk_graph_grad(g, n.in[f.k], &a.acc_alpha);
            alpha_left = false;
        }
        for (; j < f.k && no < ASVK_NODE_MAX_OUT; j++)
            if (needs(g, n.in[j])) {
                a.want[j] = true;
                outs[no++] = asvk_graph_grad(g, n.in[j], &a.acc[j]);
            }
        if (no && asvk_graph_node(g, ASVK_OP_MIX_BWD, in, 2 + f.k, outs, no, &a, sizeof a) < 0) return ASVK_ERR_INTERNAL;
    } while (j < f.k);
    return ASVK_OK;
}
asvk_val asvk_op_mix(asvk_graph *g, const char *name, const asvk_val *x, uint32_t k, asvk_val alpha) {
    if (k < 1 || k > ASVK_MIX_MAX) {
        asvk_error_set(ASVK_ERR_INTERNAL, "mixture of %u candidates (1 to %d)", k, ASVK_MIX_MAX);
        return ASVK_NO_VAL;
    }
    mix_attr a = {.k = k};
    asvk_val in[ASVK_MIX_MAX + 1];
    memcpy(in, x, k * sizeof *x);
    in[k] = alpha;
    asvk_val y = like(g, name, x[0]);
    if (y == ASVK_NO_VAL || asvk_graph_node(g, ASVK_OP_MIX, in, k + 1, &y, 1, &a, sizeof a) < 0) return ASVK_NO_VAL;
    return y;
}

const asvk_op_def asvk_op_act_def = {"act", act_record, act_backward, NULL, false};
const asvk_op_def asvk_op_act_bwd_def = {"act_bwd", act_bwd_record, NULL, NULL, false};
const asvk_op_def asvk_op_mul_def = {"mul", mul_record, mul_backward, NULL, false};
const asvk_op_def asvk_op_mul_bwd_def = {"mul_bwd", mul_bwd_record, NULL, NULL, false};
const asvk_op_def asvk_op_chscale_def = {"chscale", chscale_record, chscale_backward, NULL, false};
const asvk_op_def asvk_op_chscale_bwd_def = {"chscale_bwd", chscale_bwd_record, NULL, chscale_ws, false};
const asvk_op_def asvk_op_dropout_def = {"dropout", dropout_record, dropout_backward, NULL, false};
const asvk_op_def asvk_op_dropout_bwd_def = {"dropout_bwd", dropout_bwd_record, NULL, NULL, false};
const asvk_op_def asvk_op_mix_def = {"mix", mix_record, mix_backward, NULL, false};
const asvk_op_def asvk_op_mix_bwd_def = {"mix_bwd", mix_bwd_record, NULL, mix_bwd_ws, false};
