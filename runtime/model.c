/* Architecture -> graph: the building blocks conv-BN-act, inverted residual
 * (with squeeze-excitation), pooling and the linear head. Parameter names
 * are the contract of docs/architecture.md. */
#include "runtime/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cell_ops.h"
#include "runtime/fold.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/nn.h"

asvk_status asvk_model_declare(const asvk_arch *a, asvk_param_store *ps) {
    asvk_param *p;
    uint32_t n;
    asvk_status st = asvk_arch_params(a, &p, &n);
    if (st) return st;
    for (uint32_t i = 0; i < n && !st; i++) {
        int group = !p[i].trainable ? ASVK_GROUP_STATE : p[i].decay ? ASVK_GROUP_DECAY : ASVK_GROUP_NO_DECAY;
        if (asvk_params_add(ps, p[i].name, p[i].rank, p[i].storage, group) < 0) st = ASVK_ERR_USAGE;
    }
    free(p);
    return st ? st : asvk_fold_declare(ps); /* inference folds every BN into its convolution */
}

/* splitmix64 and Box-Muller: the same numbers on every machine. */
static uint64_t mix64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double normal(uint64_t *s) {
    double u1 = ((mix64(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    double u2 = (mix64(s) >> 11) * (1.0 / 9007199254740992.0);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

asvk_status asvk_model_init(asvk_context *ctx, const asvk_arch *a, asvk_param_store *ps, uint64_t seed) {
    asvk_param *p;
    uint32_t n;
    asvk_status st = asvk_arch_params(a, &p, &n);
    if (st) return st;
    for (uint32_t i = 0; i < n && !st; i++) {
        int idx = asvk_params_find(ps, p[i].name);
        if (idx < 0) { st = asvk_error_set(ASVK_ERR_INTERNAL, "%s was not declared", p[i].name); break; }
        float *v = malloc(p[i].count * sizeof *v);
        if (!v) { st = asvk_error_set(ASVK_ERR_OOM, "out of host memory"); break; }
        /* One stream of numbers per tensor, so adding a layer does not change the others. */
        uint64_t s = seed * 0x100000001b3ull ^ (uint64_t)i * 0x9e3779b97f4a7c15ull;
        double std = 0, fill = 0;
        switch (p[i].role) {
        case ASVK_PARAM_CONV_WEIGHT:
            /* PyTorch's fan_out of an (O, I/g, kh, kw) weight: O * kh * kw */
            std = sqrt(2.0 / ((double)p[i].shape[0] * p[i].shape[2] * p[i].shape[3]));
            break;
        case ASVK_PARAM_LINEAR_WEIGHT: std = 0.01; break;
        case ASVK_PARAM_BN_WEIGHT:
        case ASVK_PARAM_BN_VAR: fill = 1; break;
        default: break;
        }
        for (uint64_t k = 0; k < p[i].count; k++) v[k] = (float)(std > 0 ? std * normal(&s) : fill);
        st = asvk_params_upload(ctx, ps, idx, v);
        free(v);
    }
    free(p);
    return st;
}

typedef struct {
    asvk_graph *g;
    const asvk_arch *a;
    bool training;
    asvk_status st;
} builder;

static asvk_val P(builder *b, uint32_t layer, const char *suffix) {
    char name[96];
    snprintf(name, sizeof name, "layers.%u.%s", layer, suffix);
    asvk_val v = asvk_graph_param(b->g, name);
    if (v == ASVK_NO_VAL && !b->st) b->st = ASVK_ERR_INTERNAL;
    return v;
}

static asvk_val conv_bn(builder *b, uint32_t i, const char *conv, const char *bn, asvk_val x, uint32_t cout,
                        uint32_t k, uint32_t stride, uint32_t groups, bool has_bn, bool bias, asvk_act act) {
    if (x == ASVK_NO_VAL) return x;
    char name[96], wn[64];
    snprintf(name, sizeof name, "layers.%u.%s", i, conv);
    snprintf(wn, sizeof wn, "%s.weight", conv);
    asvk_val w = P(b, i, wn), bv = ASVK_NO_VAL;
    if (bias) {
        snprintf(wn, sizeof wn, "%s.bias", conv);
        bv = P(b, i, wn);
    }
    char fw[160], fb[160], full[96];
    snprintf(full, sizeof full, "layers.%u.%s.weight", i, conv);
    if (has_bn && !b->training && asvk_fold_names(asvk_graph_store(b->g), full, fw, fb, sizeof fw)) {
        /* inference with the BN folded in (runtime/fold.h): one convolution */
        asvk_val fwv = asvk_graph_param(b->g, fw), fbv = asvk_graph_param(b->g, fb);
        if (fwv == ASVK_NO_VAL || fbv == ASVK_NO_VAL) {
            if (!b->st) b->st = ASVK_ERR_INTERNAL;
            return ASVK_NO_VAL;
        }
        return asvk_op_conv_act(b->g, name, x, fwv, fbv, cout, k, stride, k / 2, groups, act);
    }
    asvk_val y = asvk_op_conv(b->g, name, x, w, bv, cout, k, stride, k / 2, groups);
    if (y == ASVK_NO_VAL) return y;
    if (has_bn) {
        char s[4][64];
        const char *role[4] = {"weight", "bias", "running_mean", "running_var"};
        for (int r = 0; r < 4; r++) snprintf(s[r], sizeof s[r], "%s.%s", bn, role[r]);
        snprintf(name, sizeof name, "layers.%u.%s", i, bn);
        return asvk_op_bn(b->g, name, y, P(b, i, s[0]), P(b, i, s[1]), P(b, i, s[2]), P(b, i, s[3]), act,
                          (float)b->a->bn_eps, (float)b->a->bn_momentum, b->training);
    }
    if (act == ASVK_ACT_NONE) return y;
    snprintf(name, sizeof name, "layers.%u.%s.act", i, conv);
    return asvk_op_act(b->g, name, y, act);
}

static asvk_val linear(builder *b, uint32_t i, const char *prefix, asvk_val x, uint32_t out, bool bias, asvk_act act) {
    char name[96], wn[64];
    snprintf(wn, sizeof wn, "%sweight", prefix);
    asvk_val w = P(b, i, wn), bv = ASVK_NO_VAL;
    if (bias) {
        snprintf(wn, sizeof wn, "%sbias", prefix);
        bv = P(b, i, wn);
    }
    snprintf(name, sizeof name, "layers.%u.%s", i, *prefix ? prefix : "linear");
    asvk_val y = asvk_op_linear(b->g, name, x, w, bv, out);
    if (y == ASVK_NO_VAL || act == ASVK_ACT_NONE) return y;
    snprintf(name, sizeof name, "layers.%u.%sact", i, prefix);
    return asvk_op_act(b->g, name, y, act);
}

static asvk_val mbconv(builder *b, uint32_t i, const asvk_mbconv_spec *m, const asvk_layer_dims *d, asvk_val x) {
    asvk_val h = x;
    if (d->mid != d->in_c) h = conv_bn(b, i, "expand", "expand_bn", h, d->mid, 1, 1, 1, true, false, m->act);
    h = conv_bn(b, i, "dw", "dw_bn", h, d->mid, m->kernel, m->stride, d->mid, true, false, m->act);
    if (m->se && h != ASVK_NO_VAL) {
        char name[96];
        snprintf(name, sizeof name, "layers.%u.se.pool", i);
        asvk_val s = asvk_op_global_pool(b->g, name, h);
        s = linear(b, i, "se.reduce.", s, d->se_mid, true, ASVK_ACT_RELU);
        s = linear(b, i, "se.expand.", s, d->mid, true, ASVK_ACT_HSIGMOID);
        snprintf(name, sizeof name, "layers.%u.se", i);
        h = s == ASVK_NO_VAL ? s : asvk_op_chscale(b->g, name, h, s);
    }
    h = conv_bn(b, i, "project", "project_bn", h, d->out_c, 1, 1, 1, true, false, ASVK_ACT_NONE);
    if (d->residual && h != ASVK_NO_VAL) {
        char name[96];
        snprintf(name, sizeof name, "layers.%u.residual", i);
        h = asvk_op_add(b->g, name, h, x);
    }
    return h;
}

asvk_status asvk_model_build(const asvk_arch *a, asvk_param_store *ps, uint32_t batch, uint32_t resolution,
                             bool training, float smoothing, asvk_model *out) {
    memset(out, 0, sizeof *out);
    if (!resolution) resolution = a->resolution;
    asvk_layer_dims *dims = calloc(a->count ? a->count : 1, sizeof *dims);
    if (!dims) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    asvk_status st = asvk_arch_dims(a, resolution, dims);
    if (st) { free(dims); return st; }
    builder b = {asvk_graph_create(ps), a, training, ASVK_OK};
    if (!b.g) { free(dims); return asvk_error_set(ASVK_ERR_OOM, "out of host memory"); }
    out->graph = b.g;
    out->batch = batch;
    out->resolution = resolution;
    out->training = training;
    out->input = asvk_graph_act(b.g, "input", (asvk_nhwc){batch, resolution, resolution, a->in_channels});
    asvk_graph_val(b.g, out->input)->kind = ASVK_VAL_INPUT;
    out->labels = asvk_graph_value(b.g, "labels", ASVK_VAL_INPUT, 1, &batch);
    asvk_val x = out->input;
    uint32_t dropout_id = 0;
    for (uint32_t i = 0; i < a->count && x != ASVK_NO_VAL; i++) {
        const asvk_layer *l = &a->layers[i];
        const asvk_layer_dims *d = &dims[i];
        char name[96];
        switch (l->type) {
        case ASVK_LAYER_CONV:
            x = conv_bn(&b, i, "conv", "bn", x, l->conv.out, l->conv.kernel, l->conv.stride, l->conv.groups, l->conv.bn,
                        l->conv.bias, l->conv.act);
            break;
        case ASVK_LAYER_MBCONV: x = mbconv(&b, i, &l->mbconv, d, x); break;
        case ASVK_LAYER_SKIP: break;
        case ASVK_LAYER_POOL:
            snprintf(name, sizeof name, "layers.%u.pool", i);
            x = asvk_op_pool(b.g, name, x, l->pool.mode == ASVK_POOL_MAX ? ASVK_POOL_MAX : ASVK_POOL_AVG,
                             l->pool.kernel, l->pool.stride, l->pool.pad);
            break;
        case ASVK_LAYER_GLOBAL_POOL:
            snprintf(name, sizeof name, "layers.%u.pool", i);
            x = asvk_op_global_pool(b.g, name, x);
            break;
        case ASVK_LAYER_DROPOUT:
            snprintf(name, sizeof name, "layers.%u.dropout", i);
            if (training && l->dropout > 0) x = asvk_op_dropout(b.g, name, x, (float)l->dropout, dropout_id++);
            break;
        case ASVK_LAYER_LINEAR: x = linear(&b, i, "", x, l->linear.out, l->linear.bias, l->linear.act); break;
        case ASVK_LAYER_CELL: {
            asvk_cell_shape cs;
            asvk_cell_build_opts co = {(float)a->bn_eps, (float)a->bn_momentum, training};
            snprintf(name, sizeof name, "layers.%u.", i);
            st = asvk_cell_shape_of(&l->cell.cell, d->in_c, d->in_h, d->in_w, l->cell.out, l->cell.stride, &cs);
            x = st ? ASVK_NO_VAL : asvk_cell_build(b.g, name, &l->cell.cell, &cs, x, &co);
            break;
        }
        default: st = asvk_error_set(ASVK_ERR_USAGE, "layer %u: type %d cannot be built yet", i, l->type);
        }
    }
    free(dims);
    if (!st && (x == ASVK_NO_VAL || b.st)) st = b.st ? b.st : ASVK_ERR_INTERNAL;
    if (!st) {
        out->logits = x;
        out->loss = asvk_op_ce_loss(b.g, "loss", x, out->labels, smoothing, &out->correct);
        if (out->loss == ASVK_NO_VAL) st = ASVK_ERR_INTERNAL;
    }
    if (st) {
        asvk_graph_destroy(NULL, b.g);
        out->graph = NULL;
        return asvk_error_prefix(st, "building %s: ", a->name);
    }
    return ASVK_OK;
}
