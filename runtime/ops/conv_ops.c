/* Convolution and batch-norm graph ops. */
#include <stdio.h>
#include <string.h>

#include "runtime/graph_internal.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/conv_attr.h"
#include "runtime/ops/nn.h"


void asvk_op_conv_describe(const asvk_node *n, char *buf, size_t size) {
    const conv_attr *a = ASVK_CATTR(n, conv_attr);
    snprintf(buf, size, "k%ux%u s%ux%u p%ux%u g%u%s act%d%s", a->d.kh, a->d.kw, a->d.sh, a->d.sw, a->d.ph, a->d.pw,
             a->d.groups, a->has_bias ? " bias" : "", (int)a->act, a->xbn ? " bn-in" : "");
}

/* forward, data and weight gradients: the same multiply-adds */
double asvk_op_conv_flops(const asvk_node *n) {
    const conv_attr *a = ASVK_CATTR(n, conv_attr);
    asvk_nhwc o = asvk_conv_out(&a->d);
    return 2.0 * asvk_nhwc_count(o) * a->d.kh * a->d.kw * (a->d.in.c / a->d.groups);
}

static asvk_node node_copy(asvk_graph *g, int i) {
    uint32_t n;
    return asvk_graph_nodes(g, &n)[i];
}

static asvk_buffer none(void) { return (asvk_buffer){0}; }

/* The BN fused into the node's input (runtime/ops/fuse_bn.c): its four
 * vectors from in[xat..xat+3]; NULL when there is none. */
static const asvk_bn_load *fused_bn(const asvk_exec *ex, const asvk_node *n, asvk_bn_load *out) {
    const conv_attr *a = ASVK_CATTR(n, conv_attr);
    if (!a->xbn) return NULL;
    *out = asvk_exec_bn_load(ex, n, a->xat, a->xact);
    return out;
}

static asvk_status conv_record(asvk_exec *ex, const asvk_node *n) {
    const conv_attr *a = ASVK_CATTR(n, conv_attr);
    asvk_bn_load bn;
    return asvk_conv_forward_bn(ex->stream, &a->d, asvk_exec_buf(ex, n->in[0]), fused_bn(ex, n, &bn),
                                asvk_exec_buf(ex, n->in[1]), a->has_bias ? asvk_exec_buf(ex, n->in[2]) : none(), a->act,
                                asvk_exec_buf(ex, n->out[0]));
}
/* The BN backward fused into the node's dy (fuse_bn.c): t and the BN
 * backward's terms from in[dat], in[dat+1]; NULL when there is none. */
static const asvk_bn_grad_load *fused_dbn(const asvk_exec *ex, const asvk_node *n, asvk_bn_grad_load *out) {
    const conv_attr *a = ASVK_CATTR(n, conv_attr);
    if (!a->dbn) return NULL;
    asvk_bn_desc bd = {asvk_conv_out(&a->d), a->dact, 0, 0}; /* the BN's shape: the convolution's output */
    *out = (asvk_bn_grad_load){a->dact, asvk_exec_buf(ex, n->in[a->dat]),
                               asvk_bn_backward_terms(&bd, asvk_exec_buf(ex, n->in[a->dat + 1])),
                               (uint32_t)asvk_nhwc_pixels(bd.shape), (a->d.cout + 3) / 4 * 4};
    return out;
}
static asvk_status conv_bwd_data_record(asvk_exec *ex, const asvk_node *n) {
    const conv_attr *a = ASVK_CATTR(n, conv_attr);
    asvk_bn_grad_load dbn;
    return asvk_conv_backward_data_bn(ex->stream, &a->d, asvk_exec_buf(ex, n->in[0]), fused_dbn(ex, n, &dbn),
                                      asvk_exec_buf(ex, n->in[1]), asvk_exec_buf(ex, n->out[0]), a->accumulate);
}
static asvk_status conv_bwd_weight_record(asvk_exec *ex, const asvk_node *n) {
    const conv_attr *a = ASVK_CATTR(n, conv_attr);
    asvk_bn_load bn;
    asvk_bn_grad_load dbn;
    return asvk_conv_backward_weight_bn(ex->stream, &a->d, asvk_exec_buf(ex, n->in[1]), fused_bn(ex, n, &bn),
                                        asvk_exec_buf(ex, n->in[0]), fused_dbn(ex, n, &dbn),
                                        asvk_exec_buf(ex, n->out[0]), a->accumulate,
                                        n->ws != ASVK_NO_VAL ? asvk_exec_buf(ex, n->ws) : none());
}
static uint64_t conv_bwd_weight_ws(const asvk_graph *g, const asvk_node *n) {
    (void)g;
    return asvk_conv_backward_weight_workspace(&ASVK_CATTR(n, conv_attr)->d);
}
static asvk_status conv_bwd_bias_record(asvk_exec *ex, const asvk_node *n) {
    const conv_attr *a = ASVK_CATTR(n, conv_attr);
    return asvk_conv_backward_bias(ex->stream, &a->d, asvk_exec_buf(ex, n->in[0]), asvk_exec_buf(ex, n->out[0]),
                                   a->accumulate, n->ws != ASVK_NO_VAL ? asvk_exec_buf(ex, n->ws) : none());
}
static uint64_t conv_bwd_bias_ws(const asvk_graph *g, const asvk_node *n) {
    (void)g;
    return asvk_conv_backward_bias_workspace(&ASVK_CATTR(n, conv_attr)->d);
}

static asvk_status add_bwd(asvk_graph *g, uint16_t op, const asvk_val *in, uint32_t nin, asvk_val out,
                           const void *attr, uint32_t bytes) {
    return asvk_graph_node(g, op, in, nin, &out, 1, attr, bytes) < 0 ? ASVK_ERR_INTERNAL : ASVK_OK;
}

static asvk_status conv_backward(asvk_graph *g, int i) {
    asvk_node n = node_copy(g, i);
    conv_attr a = *ASVK_CATTR(&n, conv_attr);
    if (a.act != ASVK_ACT_NONE)
        return asvk_error_set(ASVK_ERR_INTERNAL, "a convolution with its activation in the epilogue is inference-only");
    asvk_val dy = asvk_graph_val(g, n.out[0])->grad;
    asvk_status st = ASVK_OK;
    if (asvk_graph_val(g, n.in[0])->requires_grad) {
        asvk_val dx = asvk_graph_grad(g, n.in[0], &a.accumulate);
        st = add_bwd(g, ASVK_OP_CONV_BWD_DATA, (asvk_val[]){dy, n.in[1]}, 2, dx, &a, sizeof a);
    }
    if (!st && asvk_graph_val(g, n.in[1])->requires_grad) {
        asvk_val dw = asvk_graph_grad(g, n.in[1], &a.accumulate);
        st = add_bwd(g, ASVK_OP_CONV_BWD_WEIGHT, (asvk_val[]){dy, n.in[0]}, 2, dw, &a, sizeof a);
    }
    if (!st && a.has_bias && asvk_graph_val(g, n.in[2])->requires_grad) {
        asvk_val db = asvk_graph_grad(g, n.in[2], &a.accumulate);
        st = add_bwd(g, ASVK_OP_CONV_BWD_BIAS, &dy, 1, db, &a, sizeof a);
    }
    return st;
}

asvk_val asvk_op_conv(asvk_graph *g, const char *name, asvk_val x, asvk_val w, asvk_val bias, uint32_t cout,
                      uint32_t k, uint32_t stride, uint32_t pad, uint32_t groups) {
    return asvk_op_conv_act(g, name, x, w, bias, cout, k, stride, pad, groups, ASVK_ACT_NONE);
}

asvk_val asvk_op_conv_act(asvk_graph *g, const char *name, asvk_val x, asvk_val w, asvk_val bias, uint32_t cout,
                          uint32_t k, uint32_t stride, uint32_t pad, uint32_t groups, asvk_act act) {
    conv_attr a = {{asvk_graph_shape(g, x), cout, k, k, stride, stride, pad, pad, groups}, bias != ASVK_NO_VAL, false, act,
                   false, 0, ASVK_ACT_NONE, false, 0, ASVK_ACT_NONE};
    if (asvk_conv_check(&a.d)) return ASVK_NO_VAL;
    asvk_val y = asvk_graph_act(g, name, asvk_conv_out(&a.d));
    asvk_val in[3] = {x, w, bias};
    if (y == ASVK_NO_VAL || asvk_graph_node(g, ASVK_OP_CONV, in, a.has_bias ? 3 : 2, &y, 1, &a, sizeof a) < 0)
        return ASVK_NO_VAL;
    return y;
}

/* ---- batch norm ---- */

void asvk_op_bn_describe(const asvk_node *n, char *buf, size_t size) {
    const bn_attr *a = ASVK_CATTR(n, bn_attr);
    snprintf(buf, size, "%s act%d%s", a->training ? "train" : "infer", (int)a->d.act, a->fused ? " fused" : "");
}

/* forward inputs: x, gamma, beta, running_mean, running_var;
 * training outputs: y, save_mean, save_invstd; inference output: y; fused
 * into its readers (fuse_bn.c): save_mean, save_invstd, and only the
 * statistics are computed (the readers apply them as they load x) */
static asvk_status bn_record(asvk_exec *ex, const asvk_node *n) {
    const bn_attr *a = ASVK_CATTR(n, bn_attr);
    asvk_buffer b[5];
    for (int k = 0; k < 5; k++) b[k] = asvk_exec_buf(ex, n->in[k]);
    if (!a->training)
        return asvk_bn_forward_infer(ex->stream, &a->d, b[0], b[1], b[2], b[3], b[4], asvk_exec_buf(ex, n->out[0]));
    if (ex->sync || a->fused) {
        /* the statistics first: the host combines every rank's between them
         * and the apply, which a fused BN's readers do */
        uint32_t s0 = a->fused ? 0 : 1; /* where save_mean, save_invstd are among the outputs */
        asvk_buffer ws = n->ws != ASVK_NO_VAL ? asvk_exec_buf(ex, n->ws) : none();
        asvk_buffer mean = asvk_exec_buf(ex, n->out[s0]), invstd = asvk_exec_buf(ex, n->out[s0 + 1]);
        /* (the graph's whole recording, made first, checked the sizes) */
        asvk_status st = asvk_bn_forward_stats(ex->stream, &a->d, b[0], b[3], b[4], mean, invstd, ws);
        asvk_sync_point p = {ASVK_SYNC_BN_STATS, a->d.shape.c, asvk_nhwc_pixels(a->d.shape), a->d.eps, a->d.momentum,
                             mean, invstd, b[3], b[4], none()};
        if (!st && ex->sync) st = ex->sync->cut(ex->sync->user, &p, &ex->stream);
        if (st || a->fused) return st;
        return asvk_bn_forward_apply(ex->stream, &a->d, b[0], b[1], b[2], mean, invstd, asvk_exec_buf(ex, n->out[0]));
    }
    return asvk_bn_forward_train(ex->stream, &a->d, b[0], b[1], b[2], b[3], b[4], asvk_exec_buf(ex, n->out[0]),
                                 asvk_exec_buf(ex, n->out[1]), asvk_exec_buf(ex, n->out[2]),
                                 n->ws != ASVK_NO_VAL ? asvk_exec_buf(ex, n->ws) : none());
}
static uint64_t bn_ws(const asvk_graph *g, const asvk_node *n) {
    (void)g;
    const bn_attr *a = ASVK_CATTR(n, bn_attr);
    return a->training ? asvk_bn_workspace(a->d.shape) : 0;
}

/* backward inputs: x, dy, gamma, beta, save_mean, save_invstd; outputs: dgamma, dbeta[, dx] */
static asvk_status bn_bwd_record(asvk_exec *ex, const asvk_node *n) {
    const bn_attr *a = ASVK_CATTR(n, bn_attr);
    asvk_bn_grads gr = {a->want_dx && !a->dx_fused ? asvk_exec_buf(ex, n->out[2]) : none(), a->acc_dx,
                        asvk_exec_buf(ex, n->out[0]),
                        a->acc_dgamma, asvk_exec_buf(ex, n->out[1]), a->acc_dbeta};
    if (ex->sync && (a->want_dx || a->dx_fused)) { /* dx (here or in its reader) needs the sums over every rank */
        asvk_buffer in[6], ws = n->ws != ASVK_NO_VAL ? asvk_exec_buf(ex, n->ws) : none();
        for (int k = 0; k < 6; k++) in[k] = asvk_exec_buf(ex, n->in[k]);
        asvk_status st = asvk_bn_backward_sums(ex->stream, &a->d, in[0], in[1], in[2], in[3], in[4], in[5], &gr, ws);
        asvk_sync_point p = {ASVK_SYNC_BN_SUMS, a->d.shape.c, asvk_nhwc_pixels(a->d.shape), a->d.eps, a->d.momentum,
                             none(), none(), none(), none(), asvk_bn_backward_totals(&a->d, ws)};
        if (!st) st = ex->sync->cut(ex->sync->user, &p, &ex->stream);
        if (st || a->dx_fused) return st;
        return asvk_bn_backward_dx(ex->stream, &a->d, in[0], in[1], in[2], in[3], in[4], in[5], &gr, ws);
    }
    return asvk_bn_backward(ex->stream, &a->d, asvk_exec_buf(ex, n->in[0]), asvk_exec_buf(ex, n->in[1]),
                            asvk_exec_buf(ex, n->in[2]), asvk_exec_buf(ex, n->in[3]), asvk_exec_buf(ex, n->in[4]),
                            asvk_exec_buf(ex, n->in[5]), &gr, n->ws != ASVK_NO_VAL ? asvk_exec_buf(ex, n->ws) : none());
}
static uint64_t bn_bwd_ws(const asvk_graph *g, const asvk_node *n) {
    (void)g;
    return asvk_bn_workspace(ASVK_CATTR(n, bn_attr)->d.shape);
}

static asvk_status bn_backward(asvk_graph *g, int i) {
    asvk_node n = node_copy(g, i);
    bn_attr a = *ASVK_CATTR(&n, bn_attr);
    if (!a.training)
        return asvk_error_set(ASVK_ERR_INTERNAL, "backward through an inference-mode batch norm (%s)",
                              asvk_graph_val(g, n.out[0])->name);
    asvk_val dy = asvk_graph_val(g, n.out[0])->grad;
    asvk_val dgamma = asvk_graph_grad(g, n.in[1], &a.acc_dgamma);
    asvk_val dbeta = asvk_graph_grad(g, n.in[2], &a.acc_dbeta);
    a.want_dx = asvk_graph_val(g, n.in[0])->requires_grad;
    asvk_val outs[3] = {dgamma, dbeta, ASVK_NO_VAL};
    if (a.want_dx) outs[2] = asvk_graph_grad(g, n.in[0], &a.acc_dx);
    asvk_val in[6] = {n.in[0], dy, n.in[1], n.in[2], n.out[1], n.out[2]};
    return asvk_graph_node(g, ASVK_OP_BN_BWD, in, 6, outs, a.want_dx ? 3 : 2, &a, sizeof a) < 0 ? ASVK_ERR_INTERNAL
                                                                                                : ASVK_OK;
}

asvk_val asvk_op_bn(asvk_graph *g, const char *name, asvk_val x, asvk_val gamma, asvk_val beta, asvk_val rmean,
                    asvk_val rvar, asvk_act act, float eps, float momentum, bool training) {
    asvk_nhwc s = asvk_graph_shape(g, x);
    bn_attr a = {{s, act, eps, momentum}, training, false, false, false, false, false, false};
    asvk_val y = asvk_graph_act(g, name, s);
    asvk_val outs[3] = {y, ASVK_NO_VAL, ASVK_NO_VAL};
    if (training) {
        char nm[128];
        snprintf(nm, sizeof nm, "%s.mean", name);
        outs[1] = asvk_graph_value(g, nm, ASVK_VAL_TEMP, 1, &s.c);
        snprintf(nm, sizeof nm, "%s.invstd", name);
        outs[2] = asvk_graph_value(g, nm, ASVK_VAL_TEMP, 1, &s.c);
    }
    asvk_val in[5] = {x, gamma, beta, rmean, rvar};
    if (y == ASVK_NO_VAL || asvk_graph_node(g, ASVK_OP_BN, in, 5, outs, training ? 3 : 1, &a, sizeof a) < 0)
        return ASVK_NO_VAL;
    return y;
}

/* ---- folding BN into a convolution (inference) ---- */
typedef struct { uint32_t cout; uint64_t kc; float eps; bool has_bias; } fold_attr;

/* in: w, [bias], gamma, beta, mean, var; out: folded w, folded bias */
static asvk_status fold_record(asvk_exec *ex, const asvk_node *n) {
    const fold_attr *a = ASVK_CATTR(n, fold_attr);
    uint32_t k = a->has_bias ? 2 : 1;
    return asvk_conv_fold_bn(ex->stream, a->cout, a->kc, a->eps, asvk_exec_buf(ex, n->in[0]),
                             a->has_bias ? asvk_exec_buf(ex, n->in[1]) : none(), asvk_exec_buf(ex, n->in[k]),
                             asvk_exec_buf(ex, n->in[k + 1]), asvk_exec_buf(ex, n->in[k + 2]),
                             asvk_exec_buf(ex, n->in[k + 3]), asvk_exec_buf(ex, n->out[0]), asvk_exec_buf(ex, n->out[1]));
}

asvk_status asvk_op_fold_bn(asvk_graph *g, asvk_val w, asvk_val bias, asvk_val gamma, asvk_val beta, asvk_val mean,
                            asvk_val var, asvk_val w_out, asvk_val b_out, float eps) {
    const asvk_value *wv = asvk_graph_cval(g, w);
    fold_attr a = {wv->dims[0], wv->floats / (wv->dims[0] ? wv->dims[0] : 1), eps, bias != ASVK_NO_VAL};
    asvk_val in[6];
    uint32_t n = 0;
    in[n++] = w;
    if (a.has_bias) in[n++] = bias;
    in[n++] = gamma, in[n++] = beta, in[n++] = mean, in[n++] = var;
    return asvk_graph_node(g, ASVK_OP_FOLD_BN, in, n, (asvk_val[]){w_out, b_out}, 2, &a, sizeof a) < 0 ? ASVK_ERR_INTERNAL
                                                                                                      : ASVK_OK;
}

const asvk_op_def asvk_op_fold_bn_def = {"fold_bn", fold_record, NULL, NULL, false};
const asvk_op_def asvk_op_conv_def = {"conv", conv_record, conv_backward, NULL, false};
const asvk_op_def asvk_op_conv_bwd_data_def = {"conv_bwd_data", conv_bwd_data_record, NULL, NULL, false};
const asvk_op_def asvk_op_conv_bwd_weight_def = {"conv_bwd_weight", conv_bwd_weight_record, NULL, conv_bwd_weight_ws, false};
const asvk_op_def asvk_op_conv_bwd_bias_def = {"conv_bwd_bias", conv_bwd_bias_record, NULL, conv_bwd_bias_ws, false};
const asvk_op_def asvk_op_bn_def = {"batchnorm", bn_record, bn_backward, bn_ws, false};
const asvk_op_def asvk_op_bn_bwd_def = {"batchnorm_bwd", bn_bwd_record, NULL, bn_bwd_ws, false};
