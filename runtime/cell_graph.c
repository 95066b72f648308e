/* A cell genome as graph ops (semantics: runtime/cell.h, runtime/cell_ops.h):
 * the same conv-BN-act, squeeze-excitation and projection ops as the mbconv
 * layer of runtime/model.c, in the same order, so that the MBConv genome
 * computes bit for bit what the mbconv layer computes. */
#include <stdio.h>
#include <string.h>

#include "runtime/cell_ops.h"
#include "runtime/fold.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/nn.h"

typedef struct {
    asvk_graph *g;
    const char *prefix;
    const asvk_cell_build_opts *o;
    asvk_status st;
} ctx;

static asvk_val param(ctx *b, const char *suffix) {
    char name[128];
    snprintf(name, sizeof name, "%s%s", b->prefix, suffix);
    asvk_val v = asvk_graph_param(b->g, name);
    if (v == ASVK_NO_VAL && !b->st) b->st = ASVK_ERR_INTERNAL;
    return v;
}

static void node_name(ctx *b, char *buf, size_t n, const char *what) { snprintf(buf, n, "%s%s", b->prefix, what); }

/* conv k x k (groups) -> BN -> act, parameters `conv`.weight and `bn`.* */
static asvk_val conv_bn(ctx *b, const char *conv, const char *bn, asvk_val x, uint32_t cout, uint32_t k,
                        uint32_t stride, uint32_t groups, asvk_act act) {
    if (x == ASVK_NO_VAL) return x;
    char name[128], s[5][64];
    snprintf(s[0], sizeof s[0], "%s.weight", conv);
    node_name(b, name, sizeof name, conv);
    char full[160], fw[160], fb[160];
    snprintf(full, sizeof full, "%s%s", b->prefix, s[0]);
    if (!b->o->training && asvk_fold_names(asvk_graph_store(b->g), full, fw, fb, sizeof fw)) {
        /* inference with the BN folded in (runtime/fold.h): one convolution */
        asvk_val fwv = asvk_graph_param(b->g, fw), fbv = asvk_graph_param(b->g, fb);
        if ((fwv == ASVK_NO_VAL || fbv == ASVK_NO_VAL) && !b->st) b->st = ASVK_ERR_INTERNAL;
        if (fwv == ASVK_NO_VAL || fbv == ASVK_NO_VAL) return ASVK_NO_VAL;
        return asvk_op_conv_act(b->g, name, x, fwv, fbv, cout, k, stride, k / 2, groups, act);
    }
    asvk_val y = asvk_op_conv(b->g, name, x, param(b, s[0]), ASVK_NO_VAL, cout, k, stride, k / 2, groups);
    if (y == ASVK_NO_VAL) return y;
    const char *role[4] = {"weight", "bias", "running_mean", "running_var"};
    for (int r = 0; r < 4; r++) snprintf(s[1 + r], sizeof s[1 + r], "%s.%s", bn, role[r]);
    node_name(b, name, sizeof name, bn);
    return asvk_op_bn(b->g, name, y, param(b, s[1]), param(b, s[2]), param(b, s[3]), param(b, s[4]), act,
                      b->o->bn_eps, b->o->bn_momentum, b->o->training);
}

/* The output of edge j -> i applied to node j's value. */
static asvk_val edge(ctx *b, const asvk_cell *c, const asvk_cell_shape *s, uint32_t i, uint32_t j, asvk_val x) {
    asvk_cell_op op = (asvk_cell_op)c->op[i][j];
    uint32_t stride = j == 0 ? s->stride : 1;
    char conv[32], bn[32], name[128];
    snprintf(conv, sizeof conv, "e%u_%u", i, j);
    snprintf(bn, sizeof bn, "e%u_%u_bn", i, j);
    node_name(b, name, sizeof name, conv);
    switch (op) {
    case ASVK_CELL_IDENTITY:
        if (stride == 1) return x;
        /* runtime/cell_ops.h: s x s average pool, or (2*(s/2)+1)-square with
         * padding s/2 where the stride does not divide the input */
        if (s->pool_exact) return asvk_op_pool(b->g, name, x, ASVK_POOL_AVG, stride, stride, 0);
        return asvk_op_pool(b->g, name, x, ASVK_POOL_AVG, 2 * (stride / 2) + 1, stride, stride / 2);
    case ASVK_CELL_CONV1X1: return conv_bn(b, conv, bn, x, s->mid, 1, stride, 1, c->act);
    case ASVK_CELL_CONV3X3: return conv_bn(b, conv, bn, x, s->mid, 3, stride, 1, c->act);
    case ASVK_CELL_DW3X3: return conv_bn(b, conv, bn, x, s->mid, 3, stride, s->mid, c->act);
    case ASVK_CELL_DW5X5: return conv_bn(b, conv, bn, x, s->mid, 5, stride, s->mid, c->act);
    case ASVK_CELL_DW7X7: return conv_bn(b, conv, bn, x, s->mid, 7, stride, s->mid, c->act);
    case ASVK_CELL_AVGPOOL3X3: return asvk_op_pool(b->g, name, x, ASVK_POOL_AVG, 3, stride, 1);
    case ASVK_CELL_MAXPOOL3X3: return asvk_op_pool(b->g, name, x, ASVK_POOL_MAX, 3, stride, 1);
    default:
        asvk_error_set(ASVK_ERR_INTERNAL, "edge %u -> %u: operator %d has no graph", j, i, (int)op);
        return ASVK_NO_VAL;
    }
}

/* Node i: its inputs merged by sum (a chain of adds, in source order) or by
 * the softmax-weighted mix; one input is passed through. */
static asvk_val node(ctx *b, const asvk_cell *c, const asvk_cell_shape *s, uint32_t i, const asvk_val *v) {
    asvk_val in[ASVK_CELL_MAX_NODES];
    uint32_t k = 0;
    char name[128], what[32];
    for (uint32_t j = 0; j < i; j++) {
        if (c->op[i][j] == ASVK_CELL_ZERO) continue;
        asvk_val e = edge(b, c, s, i, j, v[j]);
        if (e == ASVK_NO_VAL) return e;
        /* Two identity edges from nodes holding one value would bind one
         * buffer twice to the mix's backward, as a written and an accumulated
         * gradient; a copy (act none) keeps the inputs distinct. */
        for (uint32_t q = 0; q < k; q++)
            if (in[q] == e) {
                snprintf(what, sizeof what, "e%u_%u.copy", i, j);
                node_name(b, name, sizeof name, what);
                e = asvk_op_act(b->g, name, e, ASVK_ACT_NONE);
                if (e == ASVK_NO_VAL) return e;
                break;
            }
        in[k++] = e;
    }
    if (k == 1) return in[0];
    if (c->mix[i] == ASVK_MIX_WEIGHTED) {
        snprintf(what, sizeof what, "mix%u.alpha", i);
        asvk_val alpha = param(b, what);
        if (alpha == ASVK_NO_VAL) return alpha;
        snprintf(what, sizeof what, "mix%u", i);
        node_name(b, name, sizeof name, what);
        return asvk_op_mix(b->g, name, in, k, alpha);
    }
    asvk_val y = in[0];
    for (uint32_t q = 1; q < k && y != ASVK_NO_VAL; q++) {
        snprintf(what, sizeof what, "sum%u_%u", i, q);
        node_name(b, name, sizeof name, what);
        y = asvk_op_add(b->g, name, y, in[q]);
    }
    return y;
}

asvk_val asvk_cell_build(asvk_graph *g, const char *prefix, const asvk_cell *c, const asvk_cell_shape *s, asvk_val x,
                         const asvk_cell_build_opts *o) {
    ctx b = {g, prefix ? prefix : "", o, ASVK_OK};
    asvk_status st = asvk_cell_check(c);
    if (st || x == ASVK_NO_VAL) return ASVK_NO_VAL;
    asvk_val v[ASVK_CELL_MAX_NODES];
    v[0] = c->expand != 1 ? conv_bn(&b, "expand", "expand_bn", x, s->mid, 1, 1, 1, c->act) : x;
    for (uint32_t i = 1; i < c->nodes && v[i - 1] != ASVK_NO_VAL; i++) v[i] = node(&b, c, s, i, v);
    asvk_val h = v[c->nodes - 1];
    char name[128];
    if (c->se && h != ASVK_NO_VAL) { /* as the mbconv layer's (runtime/model.c) */
        char w[2][64];
        node_name(&b, name, sizeof name, "se.pool");
        asvk_val q = asvk_op_global_pool(g, name, h);
        snprintf(w[0], sizeof w[0], "%s", "se.reduce.weight");
        snprintf(w[1], sizeof w[1], "%s", "se.reduce.bias");
        node_name(&b, name, sizeof name, "se.reduce.");
        q = q == ASVK_NO_VAL ? q : asvk_op_linear(g, name, q, param(&b, w[0]), param(&b, w[1]), s->se_mid);
        node_name(&b, name, sizeof name, "se.reduce.act");
        q = q == ASVK_NO_VAL ? q : asvk_op_act(g, name, q, ASVK_ACT_RELU);
        node_name(&b, name, sizeof name, "se.expand.");
        q = q == ASVK_NO_VAL ? q
                             : asvk_op_linear(g, name, q, param(&b, "se.expand.weight"), param(&b, "se.expand.bias"),
                                              s->mid);
        node_name(&b, name, sizeof name, "se.expand.act");
        q = q == ASVK_NO_VAL ? q : asvk_op_act(g, name, q, ASVK_ACT_HSIGMOID);
        node_name(&b, name, sizeof name, "se");
        h = q == ASVK_NO_VAL ? q : asvk_op_chscale(g, name, h, q);
    }
    h = conv_bn(&b, "project", "project_bn", h, s->out_c, 1, 1, 1, ASVK_ACT_NONE);
    if (s->residual && h != ASVK_NO_VAL) {
        node_name(&b, name, sizeof name, "residual");
        h = asvk_op_add(g, name, h, x);
    }
    if (b.st && h != ASVK_NO_VAL) h = ASVK_NO_VAL;
    return h;
}
