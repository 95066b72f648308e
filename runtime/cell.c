/* Cells in the runtime, host side: the structural check, shapes, cost and
 * parameter tensors of a genome (semantics: runtime/cell.h, runtime/cell_ops.h).
 * Cost and parameters are written independently of each other so that the
 * tests can hold one against the other (as runtime/io/cost.c does). */
#include <math.h>
#include <stdio.h>

#include "runtime/cell_ops.h"

#define MAX_CHANNELS 65536u
#define MAX_STRIDE 8u
#define MAX_EXPAND 64.0f

uint32_t asvk_cell_inputs(const asvk_cell *c, uint32_t node) {
    uint32_t k = 0;
    for (uint32_t j = 0; j < node && node < ASVK_CELL_MAX_NODES; j++) k += c->op[node][j] != ASVK_CELL_ZERO;
    return k;
}

asvk_status asvk_cell_check(const asvk_cell *c) {
    uint32_t n = c->nodes;
    if (n < 2 || n > ASVK_CELL_MAX_NODES)
        return asvk_error_set(ASVK_ERR_USAGE, "a cell has 2 to %d nodes, not %u", ASVK_CELL_MAX_NODES, n);
    for (uint32_t i = 0; i < ASVK_CELL_MAX_NODES; i++)
        for (uint32_t j = 0; j < ASVK_CELL_MAX_NODES; j++) {
            if (c->op[i][j] >= ASVK_CELL_OPS)
                return asvk_error_set(ASVK_ERR_USAGE, "edge %u -> %u has operator code %u (known: 0 to %d)", j, i,
                                      c->op[i][j], ASVK_CELL_OPS - 1);
            if (c->op[i][j] != ASVK_CELL_ZERO && (j >= i || i >= n))
                return asvk_error_set(ASVK_ERR_USAGE,
                                      "edge %u -> %u (%s) is not an edge of a %u-node cell (edges go from a lower "
                                      "node to a higher one)",
                                      j, i, asvk_cell_op_name((asvk_cell_op)c->op[i][j]), n);
        }
    for (uint32_t i = 0; i < ASVK_CELL_MAX_NODES; i++)
        if (c->mix[i] > ASVK_MIX_WEIGHTED)
            return asvk_error_set(ASVK_ERR_USAGE, "node %u has mix mode %u (0 sum, 1 weighted)", i, c->mix[i]);
    if (!(c->expand > 0 && c->expand <= MAX_EXPAND))
        return asvk_error_set(ASVK_ERR_USAGE, "a cell's expand ratio must be above 0 and at most %g, not %g",
                              (double)MAX_EXPAND, (double)c->expand);
    if (!asvk_act_name(c->act) || c->act == ASVK_ACT_HSIGMOID)
        return asvk_error_set(ASVK_ERR_USAGE, "a cell's activation code %d is not one of none, relu, relu6, hswish, "
                              "swish, sigmoid", (int)c->act);
    /* Edges go forward only, so "every node after 0 has an input" means every
     * node is reached from 0, and "every node before N-1 feeds one" means
     * every node reaches N-1. */
    for (uint32_t i = 1; i < n; i++)
        if (!asvk_cell_inputs(c, i))
            return asvk_error_set(ASVK_ERR_USAGE, "node %u of the cell has no input (every node must lie on a path "
                                  "from node 0 to node %u)", i, n - 1);
    for (uint32_t j = 0; j + 1 < n; j++) {
        bool feeds = false;
        for (uint32_t i = j + 1; i < n; i++) feeds |= c->op[i][j] != ASVK_CELL_ZERO;
        if (!feeds)
            return asvk_error_set(ASVK_ERR_USAGE, "node %u of the cell feeds no other node (every node must lie on a "
                                  "path from node 0 to node %u)", j, n - 1);
    }
    return ASVK_OK;
}

bool asvk_cell_equal(const asvk_cell *a, const asvk_cell *b) {
    if (a->nodes != b->nodes || a->expand != b->expand || a->se != b->se || a->act != b->act) return false;
    for (uint32_t i = 0; i < ASVK_CELL_MAX_NODES; i++) {
        if (a->mix[i] != b->mix[i]) return false;
        for (uint32_t j = 0; j < ASVK_CELL_MAX_NODES; j++)
            if (a->op[i][j] != b->op[i][j]) return false;
    }
    return true;
}

asvk_status asvk_cell_shape_of(const asvk_cell *c, uint32_t in_c, uint32_t in_h, uint32_t in_w, uint32_t out_c,
                               uint32_t stride, asvk_cell_shape *s) {
    asvk_status st = asvk_cell_check(c);
    if (st) return st;
    if (in_c < 1 || in_c > MAX_CHANNELS || out_c < 1 || out_c > MAX_CHANNELS)
        return asvk_error_set(ASVK_ERR_USAGE, "a cell maps 1 to %u channels, not %u -> %u", MAX_CHANNELS, in_c, out_c);
    if (stride < 1 || stride > MAX_STRIDE)
        return asvk_error_set(ASVK_ERR_USAGE, "a cell's stride must be from 1 to %u, not %u", MAX_STRIDE, stride);
    if (in_h < 1 || in_w < 1) return asvk_error_set(ASVK_ERR_USAGE, "a cell's input is empty (%ux%u)", in_h, in_w);
    *s = (asvk_cell_shape){.in_c = in_c, .in_h = in_h, .in_w = in_w, .out_c = out_c, .stride = stride};
    s->out_h = (in_h - 1) / stride + 1;
    s->out_w = (in_w - 1) / stride + 1;
    /* nearbyint rounds half to even, as Python's round() (and the mbconv layer) */
    s->mid = c->expand == 1 ? in_c : (uint32_t)nearbyint((double)in_c * (double)c->expand);
    if (s->mid < 1 || s->mid > MAX_CHANNELS)
        return asvk_error_set(ASVK_ERR_USAGE, "a cell's expanded width %u is outside 1..%u", s->mid, MAX_CHANNELS);
    s->se_mid = c->se ? asvk_make_divisible(s->mid / 4, 8) : 0;
    s->pool_exact = in_h % stride == 0 && in_w % stride == 0;
    s->residual = stride == 1 && in_c == out_c;
    return ASVK_OK;
}

static uint32_t conv_kernel(asvk_cell_op op) {
    switch (op) {
    case ASVK_CELL_CONV1X1: return 1;
    case ASVK_CELL_CONV3X3:
    case ASVK_CELL_DW3X3: return 3;
    case ASVK_CELL_DW5X5: return 5;
    case ASVK_CELL_DW7X7: return 7;
    default: return 0; /* no weights */
    }
}

static bool depthwise(asvk_cell_op op) {
    return op == ASVK_CELL_DW3X3 || op == ASVK_CELL_DW5X5 || op == ASVK_CELL_DW7X7;
}

static uint64_t mul_sat(uint64_t a, uint64_t b) {
    uint64_t r;
    return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}
static uint64_t add_sat(uint64_t a, uint64_t b) { return a + b < a ? UINT64_MAX : a + b; }

asvk_cell_cost asvk_cell_cost_of(const asvk_cell *c, const asvk_cell_shape *s) {
    asvk_cell_cost r = {0, 0};
    uint64_t in = s->in_c, mid = s->mid, out = s->out_c;
    uint64_t ihw = (uint64_t)s->in_h * s->in_w, ohw = (uint64_t)s->out_h * s->out_w;
    if (c->expand != 1) {
        r.madds = mul_sat(in * mid, ihw);
        r.params = in * mid + 2 * mid;
    }
    for (uint32_t i = 1; i < c->nodes; i++) {
        for (uint32_t j = 0; j < i; j++) {
            asvk_cell_op op = (asvk_cell_op)c->op[i][j];
            uint64_t k = conv_kernel(op);
            if (!k) continue;
            /* every edge's output is at the cell's output resolution */
            uint64_t w = (depthwise(op) ? mid : mid * mid) * k * k;
            r.madds = add_sat(r.madds, mul_sat(w, ohw));
            r.params += w + 2 * mid;
        }
        uint32_t k = asvk_cell_inputs(c, i);
        if (c->mix[i] == ASVK_MIX_WEIGHTED && k >= 2) r.params += k;
    }
    if (c->se) { /* two 1x1 convs on the pooled 1x1 map; their biases are params, not MAdds */
        uint64_t q = s->se_mid;
        r.madds = add_sat(r.madds, 2 * mid * q);
        r.params += 2 * mid * q + q + mid;
    }
    r.madds = add_sat(r.madds, mul_sat(mid * out, ohw));
    r.params += mid * out + 2 * out;
    return r;
}

static asvk_status bn(asvk_cell_param_fn fn, void *user, const char *prefix, uint32_t ch) {
    static const struct { const char *s; asvk_param_role r; } parts[] = {
        {"weight", ASVK_PARAM_BN_WEIGHT}, {"bias", ASVK_PARAM_BN_BIAS},
        {"running_mean", ASVK_PARAM_BN_MEAN}, {"running_var", ASVK_PARAM_BN_VAR}};
    char name[48];
    for (size_t p = 0; p < 4; p++) {
        snprintf(name, sizeof name, "%s.%s", prefix, parts[p].s);
        asvk_status st = fn(user, name, parts[p].r, 1, &ch);
        if (st) return st;
    }
    return ASVK_OK;
}

static asvk_status conv(asvk_cell_param_fn fn, void *user, const char *prefix, uint32_t out, uint32_t in, uint32_t k,
                        bool bias) {
    char name[48];
    snprintf(name, sizeof name, "%s.weight", prefix);
    asvk_status st = fn(user, name, ASVK_PARAM_CONV_WEIGHT, 4, (uint32_t[]){out, in, k, k});
    if (st || !bias) return st;
    snprintf(name, sizeof name, "%s.bias", prefix);
    return fn(user, name, ASVK_PARAM_BIAS, 1, &out);
}

asvk_status asvk_cell_params(const asvk_cell *c, const asvk_cell_shape *s, asvk_cell_param_fn fn, void *user) {
    asvk_status st;
    uint32_t mid = s->mid;
    if (c->expand != 1 && ((st = conv(fn, user, "expand", mid, s->in_c, 1, false)) || (st = bn(fn, user, "expand_bn", mid))))
        return st;
    char name[48];
    for (uint32_t i = 1; i < c->nodes; i++) {
        for (uint32_t j = 0; j < i; j++) {
            asvk_cell_op op = (asvk_cell_op)c->op[i][j];
            uint32_t k = conv_kernel(op);
            if (!k) continue;
            snprintf(name, sizeof name, "e%u_%u", i, j);
            if ((st = conv(fn, user, name, mid, depthwise(op) ? 1 : mid, k, false))) return st;
            snprintf(name, sizeof name, "e%u_%u_bn", i, j);
            if ((st = bn(fn, user, name, mid))) return st;
        }
        uint32_t k = asvk_cell_inputs(c, i);
        if (c->mix[i] == ASVK_MIX_WEIGHTED && k >= 2) {
            snprintf(name, sizeof name, "mix%u.alpha", i);
            if ((st = fn(user, name, ASVK_PARAM_MIX_ALPHA, 1, &k))) return st;
        }
    }
    if (c->se && ((st = conv(fn, user, "se.reduce", s->se_mid, mid, 1, true)) ||
                  (st = conv(fn, user, "se.expand", mid, s->se_mid, 1, true))))
        return st;
    if ((st = conv(fn, user, "project", s->out_c, mid, 1, false))) return st;
    return bn(fn, user, "project_bn", s->out_c);
}
