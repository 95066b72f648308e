/* Pooling, linear, concat, loss and optimizer graph ops. */
#include <stdio.h>
#include <string.h>

#include "runtime/graph_internal.h"
#include "runtime/kernels/concat.h"
#include "runtime/kernels/linear.h"
#include "runtime/kernels/loss.h"
#include "runtime/ops/conv_attr.h"
#include "runtime/ops/nn.h"

static asvk_node node_copy(asvk_graph *g, int i) {
    uint32_t n;
    return asvk_graph_nodes(g, &n)[i];
}
static asvk_buffer none(void) { return (asvk_buffer){0}; }
static bool needs(asvk_graph *g, asvk_val v) { return asvk_graph_val(g, v)->requires_grad; }

/* ---- pooling ---- */

void asvk_op_pool_describe(const asvk_node *n, char *buf, size_t size) {
    const pool_attr *a = ASVK_CATTR(n, pool_attr);
    if (a->global) snprintf(buf, size, "global%s", a->xbn ? " bn-in" : "");
    else snprintf(buf, size, "%s k%ux%u s%ux%u p%ux%u%s", a->kind == ASVK_POOL_MAX ? "max" : "avg", a->p.kh, a->p.kw,
                  a->p.sh, a->p.sw, a->p.ph, a->p.pw, a->xbn ? " bn-in" : "");
}

static asvk_status pool_record(asvk_exec *ex, const asvk_node *n) {
    const pool_attr *a = ASVK_CATTR(n, pool_attr);
    asvk_bn_load bn; /* a BN fused into x (fuse_bn.c) */
    if (a->xbn) bn = asvk_exec_bn_load(ex, n, a->xat, a->xact);
    if (a->global)
        return asvk_pool_global_avg_forward_bn(ex->stream, a->xs, asvk_exec_buf(ex, n->in[0]), a->xbn ? &bn : NULL,
                                               asvk_exec_buf(ex, n->out[0]));
    return asvk_pool2d_forward_bn(ex->stream, a->kind, &a->p, a->xs, asvk_exec_buf(ex, n->in[0]),
                                  a->xbn ? &bn : NULL, asvk_exec_buf(ex, n->out[0]));
}
/* in: x, dy (max pooling: x may be a fused BN's input, its parameters after) */
static asvk_status pool_bwd_record(asvk_exec *ex, const asvk_node *n) {
    const pool_attr *a = ASVK_CATTR(n, pool_attr);
    if (a->global)
        return asvk_pool_global_avg_backward(ex->stream, a->xs, asvk_exec_buf(ex, n->in[1]),
                                             asvk_exec_buf(ex, n->out[0]), a->accumulate);
    asvk_bn_load bn;
    if (a->xbn) bn = asvk_exec_bn_load(ex, n, a->xat, a->xact);
    return asvk_pool2d_backward_bn(ex->stream, a->kind, &a->p, a->xs, asvk_exec_buf(ex, n->in[0]),
                                   a->xbn ? &bn : NULL, asvk_exec_buf(ex, n->in[1]), asvk_exec_buf(ex, n->out[0]),
                                   a->accumulate, n->ws != ASVK_NO_VAL ? asvk_exec_buf(ex, n->ws) : none());
}
/* max pooling: each window's maximum, found once before the gather */
static uint64_t pool_bwd_ws(const asvk_graph *g, const asvk_node *n) {
    (void)g;
    const pool_attr *a = ASVK_CATTR(n, pool_attr);
    return a->global ? 0 : asvk_pool2d_backward_workspace(a->kind, &a->p, a->xs);
}
static asvk_status pool_backward(asvk_graph *g, int i) {
    asvk_node n = node_copy(g, i);
    pool_attr a = *ASVK_CATTR(&n, pool_attr);
    asvk_val dy = asvk_graph_val(g, n.out[0])->grad;
    asvk_val dx = asvk_graph_grad(g, n.in[0], &a.accumulate);
    /* Average pooling does not read x; listing it only when needed lets the
     * planner release it earlier. */
    bool reads_x = !a.global && a.kind == ASVK_POOL_MAX;
    asvk_val in[2] = {reads_x ? n.in[0] : dy, dy};
    return asvk_graph_node(g, ASVK_OP_POOL_BWD, in, 2, &dx, 1, &a, sizeof a) < 0 ? ASVK_ERR_INTERNAL : ASVK_OK;
}
asvk_val asvk_op_pool(asvk_graph *g, const char *name, asvk_val x, asvk_pool_kind kind, uint32_t k, uint32_t stride,
                      uint32_t pad) {
    pool_attr a = {kind, {k, k, stride, stride, pad, pad}, asvk_graph_shape(g, x), false, false, false, 0, ASVK_ACT_NONE};
    asvk_nhwc ys;
    if (asvk_pool2d_output(a.xs, &a.p, &ys)) return ASVK_NO_VAL;
    asvk_val y = asvk_graph_act(g, name, ys);
    if (y == ASVK_NO_VAL || asvk_graph_node(g, ASVK_OP_POOL, &x, 1, &y, 1, &a, sizeof a) < 0) return ASVK_NO_VAL;
    return y;
}
asvk_val asvk_op_global_pool(asvk_graph *g, const char *name, asvk_val x) {
    pool_attr a = {ASVK_POOL_AVG, {0}, asvk_graph_shape(g, x), true, false, false, 0, ASVK_ACT_NONE};
    asvk_nhwc ys = {a.xs.n, 1, 1, a.xs.c};
    asvk_val y = asvk_graph_act(g, name, ys);
    if (y == ASVK_NO_VAL || asvk_graph_node(g, ASVK_OP_POOL, &x, 1, &y, 1, &a, sizeof a) < 0) return ASVK_NO_VAL;
    return y;
}

/* ---- linear ---- */
typedef struct { asvk_linear_dims d; bool has_bias, accumulate; } linear_attr;

double asvk_op_linear_flops(const asvk_node *n) {
    const linear_attr *a = ASVK_CATTR(n, linear_attr);
    return 2.0 * a->d.rows * a->d.in * a->d.out;
}

void asvk_op_linear_describe(const asvk_node *n, char *buf, size_t size) {
    snprintf(buf, size, "%s", ASVK_CATTR(n, linear_attr)->has_bias ? "bias" : "");
}

static asvk_status linear_record(asvk_exec *ex, const asvk_node *n) {
    const linear_attr *a = ASVK_CATTR(n, linear_attr);
    return asvk_linear_forward(ex->stream, a->d, asvk_exec_buf(ex, n->in[0]), asvk_exec_buf(ex, n->in[1]),
                               a->has_bias ? asvk_exec_buf(ex, n->in[2]) : none(), asvk_exec_buf(ex, n->out[0]));
}
static asvk_status linear_bwd_data_record(asvk_exec *ex, const asvk_node *n) {
    const linear_attr *a = ASVK_CATTR(n, linear_attr);
    return asvk_linear_backward_data(ex->stream, a->d, asvk_exec_buf(ex, n->in[0]), asvk_exec_buf(ex, n->in[1]),
                                     asvk_exec_buf(ex, n->out[0]), a->accumulate);
}
static asvk_status linear_bwd_weight_record(asvk_exec *ex, const asvk_node *n) {
    const linear_attr *a = ASVK_CATTR(n, linear_attr);
    return asvk_linear_backward_weight(ex->stream, a->d, asvk_exec_buf(ex, n->in[0]), asvk_exec_buf(ex, n->in[1]),
                                       asvk_exec_buf(ex, n->out[0]), a->accumulate);
}
static asvk_status linear_bwd_bias_record(asvk_exec *ex, const asvk_node *n) {
    const linear_attr *a = ASVK_CATTR(n, linear_attr);
    return asvk_linear_backward_bias(ex->stream, a->d, asvk_exec_buf(ex, n->in[0]), asvk_exec_buf(ex, n->out[0]),
                                     n->ws != ASVK_NO_VAL ? asvk_exec_buf(ex, n->ws) : none(), a->accumulate);
}
static uint64_t linear_bias_ws(const asvk_graph *g, const asvk_node *n) {
    (void)g;
    const linear_attr *a = ASVK_CATTR(n, linear_attr);
    return asvk_linear_bias_workspace(a->d.rows, a->d.out);
}
static asvk_status linear_backward(asvk_graph *g, int i) {
    asvk_node n = node_copy(g, i);
    linear_attr a = *ASVK_CATTR(&n, linear_attr);
    asvk_val dy = asvk_graph_val(g, n.out[0])->grad;
    if (needs(g, n.in[0])) {
        asvk_val dx = asvk_graph_grad(g, n.in[0], &a.accumulate);
        if (asvk_graph_node(g, ASVK_OP_LINEAR_BWD_DATA, (asvk_val[]){dy, n.in[1]}, 2, &dx, 1, &a, sizeof a) < 0)
            return ASVK_ERR_INTERNAL;
    }
    if (needs(g, n.in[1])) {
        asvk_val dw = asvk_graph_grad(g, n.in[1], &a.accumulate);
        if (asvk_graph_node(g, ASVK_OP_LINEAR_BWD_WEIGHT, (asvk_val[]){dy, n.in[0]}, 2, &dw, 1, &a, sizeof a) < 0)
            return ASVK_ERR_INTERNAL;
    }
    if (a.has_bias && needs(g, n.in[2])) {
        asvk_val db = asvk_graph_grad(g, n.in[2], &a.accumulate);
        if (asvk_graph_node(g, ASVK_OP_LINEAR_BWD_BIAS, &dy, 1, &db, 1, &a, sizeof a) < 0) return ASVK_ERR_INTERNAL;
    }
    return ASVK_OK;
}
asvk_val asvk_op_linear(asvk_graph *g, const char *name, asvk_val x, asvk_val w, asvk_val b, uint32_t out) {
    const asvk_value *xv = asvk_graph_cval(g, x);
    uint32_t in = (uint32_t)(xv->floats / xv->dims[0]);
    linear_attr a = {{xv->dims[0], in, out}, b != ASVK_NO_VAL, false};
    asvk_nhwc ys = {xv->dims[0], 1, 1, out};
    asvk_val y = asvk_graph_act(g, name, ys);
    asvk_val ins[3] = {x, w, b};
    if (y == ASVK_NO_VAL || asvk_graph_node(g, ASVK_OP_LINEAR, ins, a.has_bias ? 3 : 2, &y, 1, &a, sizeof a) < 0)
        return ASVK_NO_VAL;
    return y;
}

/* ---- concat ---- */
typedef struct { uint64_t pixels; uint32_t parts; uint32_t channels[8]; bool want[8], acc[8]; } concat_attr;

static asvk_status concat_record(asvk_exec *ex, const asvk_node *n) {
    const concat_attr *a = ASVK_CATTR(n, concat_attr);
    asvk_buffer x[8];
    for (uint32_t j = 0; j < a->parts; j++) x[j] = asvk_exec_buf(ex, n->in[j]);
    return asvk_concat_forward(ex->stream, a->pixels, a->parts, a->channels, x, asvk_exec_buf(ex, n->out[0]));
}
/* in: dy; out: the wanted dx_j in order */
static asvk_status concat_bwd_record(asvk_exec *ex, const asvk_node *n) {
    const concat_attr *a = ASVK_CATTR(n, concat_attr);
    asvk_buffer dx[8];
    uint32_t o = 0;
    for (uint32_t j = 0; j < a->parts; j++) dx[j] = a->want[j] ? asvk_exec_buf(ex, n->out[o++]) : none();
    return asvk_concat_backward(ex->stream, a->pixels, a->parts, a->channels, asvk_exec_buf(ex, n->in[0]), dx, a->acc);
}
static asvk_status concat_backward(asvk_graph *g, int i) {
    asvk_node n = node_copy(g, i);
    const concat_attr f = *ASVK_CATTR(&n, concat_attr);
    asvk_val dy = asvk_graph_val(g, n.out[0])->grad;
    uint32_t j = 0;
    while (j < f.parts) {
        concat_attr a = f;
        memset(a.want, 0, sizeof a.want);
        asvk_val outs[ASVK_NODE_MAX_OUT];
        uint32_t no = 0;
        for (; j < f.parts && no < ASVK_NODE_MAX_OUT; j++)
            if (needs(g, n.in[j])) {
                a.want[j] = true;
                outs[no++] = asvk_graph_grad(g, n.in[j], &a.acc[j]);
            }
        if (no && asvk_graph_node(g, ASVK_OP_CONCAT_BWD, &dy, 1, outs, no, &a, sizeof a) < 0) return ASVK_ERR_INTERNAL;
    }
    return ASVK_OK;
}
asvk_val asvk_op_concat(asvk_graph *g, const char *name, const asvk_val *x, uint32_t k) {
    if (k < 1 || k > 8) {
        asvk_error_set(ASVK_ERR_INTERNAL, "concat of %u parts (1 to 8)", k);
        return ASVK_NO_VAL;
    }
    asvk_nhwc s = asvk_graph_shape(g, x[0]);
    concat_attr a = {.pixels = asvk_nhwc_pixels(s), .parts = k};
    uint32_t c = 0;
    for (uint32_t j = 0; j < k; j++) {
        asvk_nhwc sj = asvk_graph_shape(g, x[j]);
        if (sj.n != s.n || sj.h != s.h || sj.w != s.w) {
            asvk_error_set(ASVK_ERR_INTERNAL, "concat %s: part %u has another N, H or W", name, j);
            return ASVK_NO_VAL;
        }
        a.channels[j] = sj.c;
        c += sj.c;
    }
    s.c = c;
    asvk_val y = asvk_graph_act(g, name, s);
    if (y == ASVK_NO_VAL || asvk_graph_node(g, ASVK_OP_CONCAT, x, k, &y, 1, &a, sizeof a) < 0) return ASVK_NO_VAL;
    return y;
}

/* ---- softmax cross-entropy ---- */
typedef struct { uint32_t n, k; float smoothing; bool accumulate; } ce_attr;

/* in: logits, labels; out: loss, correct */
static asvk_status ce_record(asvk_exec *ex, const asvk_node *n) {
    const ce_attr *a = ASVK_CATTR(n, ce_attr);
    return asvk_loss_ce_forward(ex->stream, a->n, a->k, a->smoothing, asvk_exec_buf(ex, n->in[0]),
                                asvk_exec_buf(ex, n->in[1]), asvk_exec_buf(ex, n->out[0]), asvk_exec_buf(ex, n->out[1]),
                                none());
}
/* in: logits, labels, step (its ASVK_STEP_LOSS_SCALE slot seeds dL/dloss) */
static asvk_status ce_bwd_record(asvk_exec *ex, const asvk_node *n) {
    const ce_attr *a = ASVK_CATTR(n, ce_attr);
    asvk_buffer dloss = asvk_buffer_sub(asvk_exec_buf(ex, n->in[2]), ASVK_STEP_LOSS_SCALE * 4, 4);
    return asvk_loss_ce_backward(ex->stream, a->n, a->k, a->smoothing, asvk_exec_buf(ex, n->in[0]),
                                 asvk_exec_buf(ex, n->in[1]), dloss, asvk_exec_buf(ex, n->out[0]), a->accumulate);
}
static asvk_status ce_backward(asvk_graph *g, int i) {
    asvk_node n = node_copy(g, i);
    ce_attr a = *ASVK_CATTR(&n, ce_attr);
    asvk_val dx = asvk_graph_grad(g, n.in[0], &a.accumulate);
    asvk_val in[3] = {n.in[0], n.in[1], asvk_graph_step(g)};
    return asvk_graph_node(g, ASVK_OP_CE_LOSS_BWD, in, 3, &dx, 1, &a, sizeof a) < 0 ? ASVK_ERR_INTERNAL : ASVK_OK;
}
asvk_val asvk_op_ce_loss(asvk_graph *g, const char *name, asvk_val logits, asvk_val labels, float smoothing,
                         asvk_val *correct) {
    const asvk_value *lv = asvk_graph_cval(g, logits);
    ce_attr a = {lv->dims[0], (uint32_t)(lv->floats / lv->dims[0]), smoothing, false};
    uint32_t one = 1;
    char nm[128];
    asvk_val loss = asvk_graph_value(g, name, ASVK_VAL_OUTPUT, 1, &one);
    snprintf(nm, sizeof nm, "%s.correct", name);
    asvk_val c = asvk_graph_value(g, nm, ASVK_VAL_OUTPUT, 1, &one);
    if (loss == ASVK_NO_VAL || c == ASVK_NO_VAL ||
        asvk_graph_node(g, ASVK_OP_CE_LOSS, (asvk_val[]){logits, labels}, 2, (asvk_val[]){loss, c}, 2, &a, sizeof a) < 0)
        return ASVK_NO_VAL;
    if (correct) *correct = c;
    return loss;
}

/* ---- optimizers ---- */
typedef struct { int group; bool adamw; asvk_sgd_config sgd; asvk_adamw_config adam; } optim_attr;

static asvk_status optim_record(asvk_exec *ex, const asvk_node *n) {
    const optim_attr *a = ASVK_CATTR(n, optim_attr);
    const asvk_param_store *ps = ex->graph->store;
    uint64_t floats = ps->group_floats[a->group];
    if (!floats) return ASVK_OK;
    asvk_buffer step = asvk_exec_buf(ex, n->in[0]);
    if (a->adamw)
        return asvk_optim_adamw(ex->stream, &a->adam, step, floats, ps->data[a->group], ps->grad[a->group],
                                ps->opt[a->group][0], ps->opt[a->group][1]);
    return asvk_optim_sgd(ex->stream, &a->sgd, step, floats, ps->data[a->group], ps->grad[a->group],
                          a->sgd.momentum > 0 ? ps->opt[a->group][0] : none());
}
static asvk_status optim_node(asvk_graph *g, const optim_attr *a) {
    if (!g->store || a->group < 0 || a->group >= ASVK_GROUPS || !asvk_group_trainable(a->group))
        return asvk_error_set(ASVK_ERR_INTERNAL, "optimizer on no trainable group");
    asvk_val step = asvk_graph_step(g);
    g->in_backward = true;
    int r = asvk_graph_node(g, ASVK_OP_OPTIM, &step, 1, NULL, 0, a, sizeof *a);
    g->in_backward = false;
    return r < 0 ? ASVK_ERR_INTERNAL : ASVK_OK;
}
asvk_status asvk_op_sgd(asvk_graph *g, int group, const asvk_sgd_config *c) {
    optim_attr a = {.group = group, .adamw = false, .sgd = *c};
    return optim_node(g, &a);
}
asvk_status asvk_op_adamw(asvk_graph *g, int group, const asvk_adamw_config *c) {
    optim_attr a = {.group = group, .adamw = true, .adam = *c};
    return optim_node(g, &a);
}

const asvk_op_def asvk_op_pool_def = {"pool", pool_record, pool_backward, NULL, false};
const asvk_op_def asvk_op_pool_bwd_def = {"pool_bwd", pool_bwd_record, NULL, pool_bwd_ws, false};
const asvk_op_def asvk_op_linear_def = {"linear", linear_record, linear_backward, NULL, false};
const asvk_op_def asvk_op_linear_bwd_data_def = {"linear_bwd_data", linear_bwd_data_record, NULL, NULL, false};
const asvk_op_def asvk_op_linear_bwd_weight_def = {"linear_bwd_weight", linear_bwd_weight_record, NULL, NULL, false};
const asvk_op_def asvk_op_linear_bwd_bias_def = {"linear_bwd_bias", linear_bwd_bias_record, NULL, linear_bias_ws, false};
const asvk_op_def asvk_op_concat_def = {"concat", concat_record, concat_backward, NULL, false};
const asvk_op_def asvk_op_concat_bwd_def = {"concat_bwd", concat_bwd_record, NULL, NULL, false};
const asvk_op_def asvk_op_ce_loss_def = {"ce_loss", ce_record, ce_backward, NULL, true};
const asvk_op_def asvk_op_ce_loss_bwd_def = {"ce_loss_bwd", ce_bwd_record, NULL, NULL, false};
const asvk_op_def asvk_op_optim_def = {"optimizer", optim_record, NULL, NULL, false};
