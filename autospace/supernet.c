/* The supernet; see supernet.h. */
#include "autospace/supernet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cell_ops.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/nn.h"

uint32_t asvk_supernet_cells(const asvk_supernet_spec *s, uint32_t l) { return s->count[l] ? s->count[l] : s->k; }
uint32_t asvk_supernet_candidates(const asvk_supernet_spec *s, uint32_t l) {
    return asvk_supernet_cells(s, l) + (s->skip[l] ? 1 : 0);
}

void asvk_supernet_cell_prefix(uint32_t layer, uint64_t hash, char *out, size_t n) {
    snprintf(out, n, "cells.%u.%016llx.", layer, (unsigned long long)hash);
}

static asvk_status cell_shape(const asvk_skeleton *sk, uint32_t layer, const asvk_cell *cell, asvk_cell_shape *s) {
    uint32_t c, h;
    asvk_skeleton_layer_input(sk, layer, &c, &h);
    return asvk_cell_shape_of(cell, c, h, h, sk->layers[layer].out, sk->layers[layer].stride, s);
}

asvk_status asvk_supernet_cell_cost(const asvk_skeleton *sk, uint32_t layer, const asvk_cell *c, uint64_t *madds,
                                    uint64_t *params) {
    asvk_cell_shape s;
    asvk_status st = cell_shape(sk, layer, c, &s);
    if (st) return st;
    asvk_cell_cost k = asvk_cell_cost_of(c, &s);
    *madds = k.madds;
    *params = k.params;
    return ASVK_OK;
}

/* ---- parameter enumeration, shared by declare and load ---- */

typedef asvk_status (*param_visit)(void *user, const char *name, asvk_param_role role, uint32_t rank,
                                   const uint32_t *logical);

typedef struct {
    param_visit fn;
    void *user;
    const char *prefix;
} cell_visit;

static asvk_status on_cell_param(void *u, const char *suffix, asvk_param_role role, uint32_t rank, const uint32_t *shape) {
    cell_visit *v = u;
    char name[160];
    snprintf(name, sizeof name, "%s%s", v->prefix, suffix);
    return v->fn(v->user, name, role, rank, shape);
}

static asvk_status conv_bn_params(param_visit fn, void *u, const char *p, uint32_t out, uint32_t k, uint32_t in) {
    char name[96];
    asvk_status st;
    snprintf(name, sizeof name, "%s.conv.weight", p);
    if ((st = fn(u, name, ASVK_PARAM_CONV_WEIGHT, 4, (uint32_t[]){out, in, k, k}))) return st;
    const char *roles[4] = {"weight", "bias", "running_mean", "running_var"};
    asvk_param_role rr[4] = {ASVK_PARAM_BN_WEIGHT, ASVK_PARAM_BN_BIAS, ASVK_PARAM_BN_MEAN, ASVK_PARAM_BN_VAR};
    for (int r = 0; r < 4; r++) {
        snprintf(name, sizeof name, "%s.bn.%s", p, roles[r]);
        if ((st = fn(u, name, rr[r], 1, &out))) return st;
    }
    return ASVK_OK;
}

/* The teacher's tensors: the reference network's stem and cells, named as
 * in its architecture (asvk_skeleton_to_arch) under "teacher.". */
static asvk_status teacher_params(const asvk_supernet_spec *s, param_visit fn, void *u) {
    asvk_arch a;
    asvk_status st = asvk_skeleton_to_arch_ex(s->sk, s->reference, NULL, false, &a); /* cell names, as built below */
    if (st) return st;
    asvk_param *ps;
    uint32_t n;
    st = asvk_arch_params(&a, &ps, &n);
    asvk_arch_free(&a);
    if (st) return st;
    for (uint32_t i = 0; i < n && !st; i++) {
        if (ps[i].layer > s->sk->count) break; /* the head: not needed */
        char name[96];
        snprintf(name, sizeof name, "teacher.%s", ps[i].name);
        st = fn(u, name, ps[i].role, ps[i].rank, ps[i].shape);
    }
    free(ps);
    return st;
}

static asvk_status visit_all(const asvk_supernet_spec *s, param_visit fn, void *u) {
    const asvk_skeleton *sk = s->sk;
    asvk_status st = s->distill ? teacher_params(s, fn, u)
                                : conv_bn_params(fn, u, "stem", sk->stem_out, sk->stem_kernel, sk->in_channels);
    for (uint32_t l = 0; l < sk->count && !st; l++) {
        for (uint32_t k = 0; k < asvk_supernet_cells(s, l) && !st; k++) {
            asvk_cell_shape shape;
            if ((st = cell_shape(sk, l, &s->cells[l][k], &shape))) break;
            char prefix[64];
            asvk_supernet_cell_prefix(l, s->hash[l][k], prefix, sizeof prefix);
            cell_visit v = {fn, u, prefix};
            st = asvk_cell_params(&s->cells[l][k], &shape, on_cell_param, &v);
        }
        uint32_t kl = asvk_supernet_candidates(s, l);
        if (!st && kl > 1) {
            char name[32];
            snprintf(name, sizeof name, "alpha.%u", l);
            st = fn(u, name, ASVK_PARAM_MIX_ALPHA, 1, &kl);
        }
    }
    if (s->distill) return st;
    uint32_t last = sk->count ? sk->layers[sk->count - 1].out : sk->stem_out;
    if (!st && sk->head) st = conv_bn_params(fn, u, "head", sk->head, 1, last), last = sk->head;
    if (!st && sk->feature_mix) {
        st = fn(u, "head.mix.conv.weight", ASVK_PARAM_CONV_WEIGHT, 4, (uint32_t[]){sk->feature_mix, last, 1, 1});
        last = sk->feature_mix;
    }
    if (!st) st = fn(u, "head.linear.weight", ASVK_PARAM_LINEAR_WEIGHT, 2, (uint32_t[]){sk->num_classes, last});
    if (!st) st = fn(u, "head.linear.bias", ASVK_PARAM_BIAS, 1, &sk->num_classes);
    return st;
}

static void storage_shape(asvk_param_role role, uint32_t rank, const uint32_t *logical, uint32_t *out) {
    memcpy(out, logical, rank * sizeof *out);
    if (role == ASVK_PARAM_CONV_WEIGHT && rank == 4) { /* OIHW -> OHWI */
        out[1] = logical[2];
        out[2] = logical[3];
        out[3] = logical[1];
    }
}

static asvk_status on_declare(void *u, const char *name, asvk_param_role role, uint32_t rank, const uint32_t *logical) {
    asvk_param_store *ps = u;
    uint32_t dims[4];
    storage_shape(role, rank, logical, dims);
    int group = role == ASVK_PARAM_CONV_WEIGHT || role == ASVK_PARAM_LINEAR_WEIGHT ? ASVK_GROUP_DECAY
                : role == ASVK_PARAM_BN_MEAN || role == ASVK_PARAM_BN_VAR       ? ASVK_GROUP_STATE
                                                                                : ASVK_GROUP_NO_DECAY;
    if (strncmp(name, "alpha.", 6) == 0) group = ASVK_GROUP_ARCH;
    if (strncmp(name, "teacher.", 8) == 0) group = ASVK_GROUP_STATE; /* frozen: no gradient, no optimizer */
    return asvk_params_add(ps, name, rank, dims, group) < 0 ? ASVK_ERR_USAGE : ASVK_OK;
}

asvk_status asvk_supernet_declare(const asvk_supernet_spec *s, asvk_param_store *ps) {
    for (uint32_t l = 0; l < s->sk->count; l++) {
        uint32_t c = asvk_supernet_cells(s, l), kl = asvk_supernet_candidates(s, l);
        if (c < 1 || kl > ASVK_ALPHA_MAX_K)
            return asvk_error_set(ASVK_ERR_USAGE, "layer %u: 1 to %d candidates (cells and skip), not %u", l,
                                  ASVK_ALPHA_MAX_K, kl);
        uint32_t ch, h;
        asvk_skeleton_layer_input(s->sk, l, &ch, &h);
        if (s->skip[l] && (s->sk->layers[l].stride != 1 || ch != s->sk->layers[l].out))
            return asvk_error_set(ASVK_ERR_USAGE, "layer %u cannot be skipped: its stride or channels change the shape", l);
    }
    return visit_all(s, on_declare, ps);
}

/* ---- loading from the bank or initialising ---- */

typedef struct {
    asvk_context *ctx;
    asvk_param_store *ps;
    const asvk_bank *bank;
    uint64_t seed;
} load_ctx;

static uint64_t mix64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static asvk_status on_load(void *u, const char *name, asvk_param_role role, uint32_t rank, const uint32_t *logical) {
    load_ctx *l = u;
    int i = asvk_params_find(l->ps, name);
    if (i < 0) return asvk_error_set(ASVK_ERR_INTERNAL, "%s was not declared", name);
    uint64_t n = l->ps->items[i].floats, have = 0;
    const float *b = l->bank ? asvk_bank_get(l->bank, name, &have) : NULL;
    if (b && have == n) return asvk_params_upload(l->ctx, l->ps, i, b);
    if (strncmp(name, "teacher.", 8) == 0)
        return asvk_error_set(ASVK_ERR_USAGE, "the reference's %s is %s: block supervision needs the trained "
                              "reference's weights", name + 8, b ? "of another size" : "missing");
    float *v = malloc(n * sizeof *v);
    if (!v) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    /* seeded by the name: the same cell gets the same start in any run layout */
    uint64_t s = l->seed;
    for (const char *c = name; *c; c++) s = (s ^ (uint8_t)*c) * 1099511628211ull;
    double std = 0, fill = 0;
    if (role == ASVK_PARAM_CONV_WEIGHT && rank == 4) std = sqrt(2.0 / ((double)logical[0] * logical[2] * logical[3]));
    else if (role == ASVK_PARAM_LINEAR_WEIGHT) std = 0.01;
    else if (role == ASVK_PARAM_BN_WEIGHT || role == ASVK_PARAM_BN_VAR) fill = 1;
    for (uint64_t k = 0; k < n; k++) {
        if (std > 0) {
            double u1 = ((mix64(&s) >> 11) + 0.5) * 0x1.0p-53, u2 = (mix64(&s) >> 11) * 0x1.0p-53;
            v[k] = (float)(std * sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
        } else {
            v[k] = (float)fill;
        }
    }
    asvk_status st = asvk_params_upload(l->ctx, l->ps, i, v);
    free(v);
    return st;
}

asvk_status asvk_supernet_load(asvk_context *ctx, const asvk_supernet_spec *s, asvk_param_store *ps,
                               const asvk_bank *bank, uint64_t seed) {
    load_ctx l = {ctx, ps, bank, seed};
    return visit_all(s, on_load, &l);
}

asvk_status asvk_supernet_save(asvk_context *ctx, asvk_param_store *ps, asvk_bank *bank) {
    asvk_status st = ASVK_OK;
    for (uint32_t i = 0; i < ps->count && !st; i++) {
        const asvk_store_item *p = &ps->items[i];
        if (strncmp(p->name, "alpha.", 6) == 0) continue;
        float *v = malloc(p->floats * sizeof *v);
        if (!v) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
        st = asvk_params_download(ctx, ps, (int)i, v);
        if (!st) st = asvk_bank_put(bank, p->name, v, p->floats);
        free(v);
    }
    return st;
}

/* ---- the graph ---- */

typedef struct {
    asvk_graph *g;
    bool arch_step;
    float eps, momentum;
    asvk_status st;
} builder;

static asvk_val P(builder *b, const char *name) {
    asvk_val v = asvk_graph_param(b->g, name);
    if (v == ASVK_NO_VAL) { b->st = ASVK_ERR_INTERNAL; return v; }
    asvk_value *x = asvk_graph_val(b->g, v);
    /* Which parameters this graph trains: the weights, or only the alphas. */
    if (x->kind == ASVK_VAL_PARAM) x->requires_grad = (strncmp(name, "alpha.", 6) == 0) == b->arch_step;
    return v;
}

static asvk_val conv_bn(builder *b, const char *p, asvk_val x, uint32_t out, uint32_t k, uint32_t stride,
                        asvk_act act, bool training) {
    if (x == ASVK_NO_VAL || b->st) return ASVK_NO_VAL;
    char n[96], g[4][96];
    snprintf(n, sizeof n, "%s.conv.weight", p);
    asvk_val w = P(b, n);
    snprintf(n, sizeof n, "%s.conv", p);
    asvk_val y = asvk_op_conv(b->g, n, x, w, ASVK_NO_VAL, out, k, stride, k / 2, 1);
    const char *roles[4] = {"weight", "bias", "running_mean", "running_var"};
    for (int r = 0; r < 4; r++) snprintf(g[r], sizeof g[r], "%s.bn.%s", p, roles[r]);
    snprintf(n, sizeof n, "%s.bn", p);
    if (y == ASVK_NO_VAL) return y;
    return asvk_op_bn(b->g, n, y, P(b, g[0]), P(b, g[1]), P(b, g[2]), P(b, g[3]), act, b->eps, b->momentum, training);
}

/* Eqn. 3 at layer l: sum_k softmax(alpha_l)_k cell_k(x). */
static asvk_val layer_mix(builder *b, const asvk_supernet_spec *s, uint32_t l, asvk_val x) {
    asvk_cell_build_opts co = {b->eps, b->momentum, true};
    asvk_val ys[ASVK_ALPHA_MAX_K];
    uint32_t cells = asvk_supernet_cells(s, l), kl = asvk_supernet_candidates(s, l);
    for (uint32_t k = 0; k < cells && x != ASVK_NO_VAL; k++) {
        asvk_cell_shape shape;
        asvk_status st = cell_shape(s->sk, l, &s->cells[l][k], &shape);
        if (st) { b->st = st; return ASVK_NO_VAL; }
        char prefix[64];
        asvk_supernet_cell_prefix(l, s->hash[l][k], prefix, sizeof prefix);
        /* the cell looks its parameters up itself: the build sets their flags afterwards */
        ys[k] = asvk_cell_build(b->g, prefix, &s->cells[l][k], &shape, x, &co);
        if (ys[k] == ASVK_NO_VAL) { b->st = ASVK_ERR_USAGE; return ASVK_NO_VAL; }
    }
    if (x == ASVK_NO_VAL) return x;
    if (s->skip[l]) ys[cells] = x; /* the identity candidate */
    if (kl == 1) return ys[0];
    char name[32];
    snprintf(name, sizeof name, "alpha.%u", l);
    asvk_val alpha = P(b, name);
    snprintf(name, sizeof name, "mix.%u", l);
    return alpha == ASVK_NO_VAL ? ASVK_NO_VAL : asvk_op_mix(b->g, name, ys, kl, alpha);
}

/* The classifier supernet: stem, mixed layers, head, cross-entropy. */
static void build_classifier(builder *b, const asvk_supernet_spec *s, bool arch_step, asvk_model *out) {
    const asvk_skeleton *sk = s->sk;
    asvk_val x = conv_bn(b, "stem", out->input, sk->stem_out, sk->stem_kernel, sk->stem_stride, sk->stem_act, true);
    for (uint32_t l = 0; l < sk->count && x != ASVK_NO_VAL && !b->st; l++) x = layer_mix(b, s, l, x);
    if (sk->head) x = conv_bn(b, "head", x, sk->head, 1, 1, sk->head_act, true);
    if (x != ASVK_NO_VAL) x = asvk_op_global_pool(b->g, "head.pool", x);
    if (x != ASVK_NO_VAL && sk->feature_mix) { /* once-for-all's feature mix: conv, no BN, act */
        x = asvk_op_conv(b->g, "head.mix.conv", x, P(b, "head.mix.conv.weight"), ASVK_NO_VAL, sk->feature_mix, 1, 1, 0, 1);
        if (x != ASVK_NO_VAL && sk->feature_mix_act != ASVK_ACT_NONE)
            x = asvk_op_act(b->g, "head.mix.act", x, sk->feature_mix_act);
    }
    if (x != ASVK_NO_VAL && sk->dropout > 0 && !arch_step) x = asvk_op_dropout(b->g, "head.dropout", x, (float)sk->dropout, 0);
    if (x != ASVK_NO_VAL) x = asvk_op_linear(b->g, "head.linear", x, P(b, "head.linear.weight"), P(b, "head.linear.bias"),
                                             sk->num_classes);
    if (x == ASVK_NO_VAL || b->st) {
        if (!b->st) b->st = ASVK_ERR_INTERNAL;
        return;
    }
    out->logits = x;
    out->loss = asvk_op_ce_loss(b->g, "loss", x, out->labels, (float)s->label_smoothing, &out->correct);
    if (out->loss == ASVK_NO_VAL) b->st = ASVK_ERR_INTERNAL;
}

/* Block supervision (supernet.h): the frozen reference gives every layer its
 * input and its target; the loss is the sum of the layers' mean squared errors. */
static void build_distill(builder *b, const asvk_supernet_spec *s, asvk_model *out) {
    const asvk_skeleton *sk = s->sk;
    out->logits = out->correct = ASVK_NO_VAL;
    asvk_val t = conv_bn(b, "teacher.layers.0", out->input, sk->stem_out, sk->stem_kernel, sk->stem_stride, sk->stem_act,
                         false);
    asvk_cell_build_opts inference = {b->eps, 0.0f, false};
    asvk_val total = ASVK_NO_VAL;
    for (uint32_t l = 0; l < sk->count && t != ASVK_NO_VAL && !b->st; l++) {
        asvk_val y = layer_mix(b, s, l, t);
        asvk_cell_shape shape;
        if ((b->st = cell_shape(sk, l, &s->reference[l], &shape))) return;
        char prefix[48], name[48];
        snprintf(prefix, sizeof prefix, "teacher.layers.%u.", l + 1);
        asvk_val next = asvk_cell_build(b->g, prefix, &s->reference[l], &shape, t, &inference);
        if (y == ASVK_NO_VAL || next == ASVK_NO_VAL) break;
        snprintf(name, sizeof name, "distill.%u", l);
        uint64_t n = asvk_graph_cval(b->g, next)->floats;
        asvk_val term = asvk_op_mse(b->g, name, y, next, (float)(1.0 / (double)n)); /* a mean: layers weigh alike */
        snprintf(name, sizeof name, "distill.sum.%u", l);
        total = term == ASVK_NO_VAL ? term : total == ASVK_NO_VAL ? term : asvk_op_add(b->g, name, total, term);
        if (total == ASVK_NO_VAL) break;
        t = next;
    }
    if (total == ASVK_NO_VAL || b->st) {
        if (!b->st) b->st = ASVK_ERR_INTERNAL;
        return;
    }
    out->loss = asvk_op_scalar_loss(b->g, "loss", total);
    if (out->loss == ASVK_NO_VAL) b->st = ASVK_ERR_INTERNAL;
}

asvk_status asvk_supernet_build(const asvk_supernet_spec *s, asvk_param_store *ps, bool arch_step, asvk_model *out) {
    memset(out, 0, sizeof *out);
    const asvk_skeleton *sk = s->sk;
    /* The architecture step must not move BN running statistics with the
     * held-out batches: momentum 0 keeps them as they are. */
    builder b = {asvk_graph_create(ps), arch_step, (float)s->bn_eps, arch_step ? 0.0f : (float)s->bn_momentum, ASVK_OK};
    if (!b.g) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    out->graph = b.g;
    out->batch = s->batch;
    out->resolution = sk->resolution;
    out->training = true;
    out->input = asvk_graph_act(b.g, "input", (asvk_nhwc){s->batch, sk->resolution, sk->resolution, sk->in_channels});
    asvk_graph_val(b.g, out->input)->kind = ASVK_VAL_INPUT;
    out->labels = asvk_graph_value(b.g, "labels", ASVK_VAL_INPUT, 1, &s->batch);
    if (s->distill && !s->reference) b.st = asvk_error_set(ASVK_ERR_INTERNAL, "distill without reference cells");
    else if (s->distill) build_distill(&b, s, out);
    else build_classifier(&b, s, arch_step, out);
    asvk_status st = b.st;
    if (!st) {
        /* Cells looked their weights up as trainable: set every parameter's
         * flag for this step, then recompute what needs a gradient. */
        uint32_t nv = asvk_graph_value_count(b.g);
        for (uint32_t i = 0; i < nv; i++) {
            asvk_value *v = asvk_graph_val(b.g, (asvk_val)i);
            if (v->kind == ASVK_VAL_PARAM) v->requires_grad = (strncmp(v->name, "alpha.", 6) == 0) == arch_step;
        }
        asvk_graph_refresh_requires_grad(b.g);
    }
    if (st) {
        asvk_graph_destroy(NULL, b.g);
        out->graph = NULL;
        return asvk_error_prefix(st, "building the supernet: ");
    }
    return ASVK_OK;
}
