/* What an architecture holds and costs: its parameter tensors (names, shapes,
 * roles — the contract with the runtime and checkpoints) and its params and
 * multiply-adds in the ProxylessNAS convention. The two are computed
 * independently so that tests can hold one against the other. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cell_ops.h"
#include "runtime/io/arch.h"

/* ---- parameter tensors ---- */

typedef struct {
    asvk_param *v;
    uint32_t n, cap;
} param_list;

static asvk_status push(param_list *pl, uint32_t layer, const char *prefix, const char *suffix, asvk_param_role role,
                        uint32_t rank, const uint32_t *shape) {
    if (pl->n == pl->cap) {
        uint32_t cap = pl->cap ? pl->cap * 2 : 64;
        asvk_param *nv = realloc(pl->v, (size_t)cap * sizeof *nv);
        if (!nv) return asvk_error_set(ASVK_ERR_OOM, "out of host memory listing parameters");
        pl->v = nv, pl->cap = cap;
    }
    asvk_param *p = &pl->v[pl->n++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "layers.%u.%s%s", layer, prefix, suffix);
    p->layer = layer;
    p->role = role;
    p->rank = rank;
    p->count = 1;
    for (uint32_t d = 0; d < rank; d++) p->shape[d] = shape[d], p->count *= shape[d];
    memcpy(p->storage, p->shape, sizeof p->shape);
    if (role == ASVK_PARAM_CONV_WEIGHT) { /* OIHW -> OHWI */
        p->storage[1] = shape[2], p->storage[2] = shape[3], p->storage[3] = shape[1];
    }
    p->trainable = role != ASVK_PARAM_BN_MEAN && role != ASVK_PARAM_BN_VAR;
    p->decay = role == ASVK_PARAM_CONV_WEIGHT || role == ASVK_PARAM_LINEAR_WEIGHT;
    return ASVK_OK;
}

static asvk_status push_conv(param_list *pl, uint32_t layer, const char *prefix, uint32_t out, uint32_t in_per_group,
                             uint32_t k, bool bias) {
    char w[48];
    snprintf(w, sizeof w, "%sweight", prefix);
    uint32_t shape[4] = {out, in_per_group, k, k};
    asvk_status st = push(pl, layer, w, "", ASVK_PARAM_CONV_WEIGHT, 4, shape);
    if (!st && bias) st = push(pl, layer, prefix, "bias", ASVK_PARAM_BIAS, 1, &out);
    return st;
}

static asvk_status push_bn(param_list *pl, uint32_t layer, const char *prefix, uint32_t c) {
    static const struct { const char *s; asvk_param_role r; } parts[] = {
        {"weight", ASVK_PARAM_BN_WEIGHT}, {"bias", ASVK_PARAM_BN_BIAS},
        {"running_mean", ASVK_PARAM_BN_MEAN}, {"running_var", ASVK_PARAM_BN_VAR}};
    for (size_t i = 0; i < 4; i++) {
        asvk_status st = push(pl, layer, prefix, parts[i].s, parts[i].r, 1, &c);
        if (st) return st;
    }
    return ASVK_OK;
}

typedef struct {
    param_list *pl;
    uint32_t layer;
} cell_sink;

static asvk_status push_cell_param(void *user, const char *suffix, asvk_param_role role, uint32_t rank,
                                   const uint32_t *shape) {
    cell_sink *k = user;
    return push(k->pl, k->layer, suffix, "", role, rank, shape);
}

/* The shape a CELL layer was validated with (asvk_arch_dims). */
static asvk_cell_shape cell_shape(const asvk_layer *l, const asvk_layer_dims *d) {
    asvk_cell_shape s = {0};
    asvk_cell_shape_of(&l->cell.cell, d->in_c, d->in_h, d->in_w, l->cell.out, l->cell.stride, &s);
    return s;
}

static asvk_status layer_params(param_list *pl, uint32_t i, const asvk_layer *l, const asvk_layer_dims *d) {
    asvk_status st = ASVK_OK;
    switch (l->type) {
    case ASVK_LAYER_CONV:
        st = push_conv(pl, i, "conv.", l->conv.out, d->in_c / l->conv.groups, l->conv.kernel, l->conv.bias);
        if (!st && l->conv.bn) st = push_bn(pl, i, "bn.", l->conv.out);
        return st;
    case ASVK_LAYER_MBCONV:
        if (l->mbconv.expand != 1) {
            if ((st = push_conv(pl, i, "expand.", d->mid, d->in_c, 1, false))) return st;
            if ((st = push_bn(pl, i, "expand_bn.", d->mid))) return st;
        }
        if ((st = push_conv(pl, i, "dw.", d->mid, 1, l->mbconv.kernel, false))) return st;
        if ((st = push_bn(pl, i, "dw_bn.", d->mid))) return st;
        if (l->mbconv.se) {
            if ((st = push_conv(pl, i, "se.reduce.", d->se_mid, d->mid, 1, true))) return st;
            if ((st = push_conv(pl, i, "se.expand.", d->mid, d->se_mid, 1, true))) return st;
        }
        if ((st = push_conv(pl, i, "project.", d->out_c, d->mid, 1, false))) return st;
        return push_bn(pl, i, "project_bn.", d->out_c);
    case ASVK_LAYER_LINEAR: {
        uint32_t shape[2] = {l->linear.out, d->in_c};
        st = push(pl, i, "weight", "", ASVK_PARAM_LINEAR_WEIGHT, 2, shape);
        if (!st && l->linear.bias) st = push(pl, i, "bias", "", ASVK_PARAM_BIAS, 1, &l->linear.out);
        return st;
    }
    case ASVK_LAYER_CELL: {
        asvk_cell_shape s = cell_shape(l, d);
        cell_sink k = {pl, i};
        return asvk_cell_params(&l->cell.cell, &s, push_cell_param, &k);
    }
    default: return ASVK_OK;
    }
}

asvk_status asvk_arch_params(const asvk_arch *a, asvk_param **params, uint32_t *count) {
    *params = NULL;
    *count = 0;
    asvk_layer_dims *dims = malloc(((size_t)a->count + 1) * sizeof *dims);
    if (!dims) return asvk_error_set(ASVK_ERR_OOM, "out of host memory listing parameters");
    asvk_status st = asvk_arch_dims(a, 0, dims);
    param_list pl = {0};
    for (uint32_t i = 0; !st && i < a->count; i++) st = layer_params(&pl, i, &a->layers[i], &dims[i]);
    free(dims);
    if (st) {
        free(pl.v);
        return st;
    }
    *params = pl.v;
    *count = pl.n;
    return ASVK_OK;
}

/* ---- cost ---- */

/* a * b, saturating: an absurd (but valid) architecture reports "huge", never a wrapped small number. */
static uint64_t mul_sat(uint64_t a, uint64_t b) {
    uint64_t r;
    return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

static uint64_t add_sat(uint64_t a, uint64_t b) { return a + b < a ? UINT64_MAX : a + b; }

/* A conv's multiply-adds: C_in * C_out * k^2 * H_out * W_out / groups, in
 * this order so that the division by groups (which divides C_in) is exact. */
static uint64_t conv_madds(uint64_t cin, uint64_t cout, uint64_t k, uint64_t groups, uint64_t oh, uint64_t ow) {
    return mul_sat(mul_sat(mul_sat(cin / groups * cout, k * k), oh), ow);
}

static void layer_cost(const asvk_layer *l, const asvk_layer_dims *d, asvk_layer_cost *c) {
    c->dims = *d;
    c->params = c->madds = 0;
    uint64_t ohw = (uint64_t)d->out_h * d->out_w;
    switch (l->type) {
    case ASVK_LAYER_CONV: {
        const asvk_conv_spec *s = &l->conv;
        c->madds = conv_madds(d->in_c, s->out, s->kernel, s->groups, d->out_h, d->out_w);
        c->params = (uint64_t)s->out * (d->in_c / s->groups) * s->kernel * s->kernel + (s->bias ? s->out : 0) +
                    (s->bn ? 2ull * s->out : 0);
        break;
    }
    case ASVK_LAYER_MBCONV: {
        const asvk_mbconv_spec *s = &l->mbconv;
        uint64_t in = d->in_c, mid = d->mid, out = d->out_c, k = s->kernel;
        if (s->expand != 1) {
            c->madds = add_sat(c->madds, conv_madds(in, mid, 1, 1, d->in_h, d->in_w));
            c->params += in * mid + 2 * mid;
        }
        c->madds = add_sat(c->madds, conv_madds(mid, mid, k, mid, d->out_h, d->out_w));
        c->params += mid * k * k + 2 * mid;
        if (s->se) { /* two 1x1 convs on the pooled 1x1 map; their biases are params, not MAdds */
            uint64_t r = d->se_mid;
            c->madds += mid * r + r * mid;
            c->params += mid * r + r + r * mid + mid;
        }
        c->madds = add_sat(c->madds, mul_sat(mid * out, ohw));
        c->params += mid * out + 2 * out;
        break;
    }
    case ASVK_LAYER_LINEAR:
        c->madds = (uint64_t)d->in_c * l->linear.out;
        c->params = c->madds + (l->linear.bias ? l->linear.out : 0);
        break;
    case ASVK_LAYER_CELL: {
        asvk_cell_shape s = cell_shape(l, d);
        asvk_cell_cost r = asvk_cell_cost_of(&l->cell.cell, &s);
        c->params = r.params, c->madds = r.madds;
        break;
    }
    default: break; /* skip, pools, dropout: no weights; pooling is not counted (ProxylessNAS) */
    }
}

asvk_status asvk_arch_cost(const asvk_arch *a, uint32_t resolution, asvk_cost *out) {
    memset(out, 0, sizeof *out);
    asvk_layer_dims *dims = malloc(((size_t)a->count + 1) * sizeof *dims);
    asvk_layer_cost *rows = calloc((size_t)a->count + 1, sizeof *rows);
    if (!dims || !rows) {
        free(dims), free(rows);
        return asvk_error_set(ASVK_ERR_OOM, "out of host memory computing the cost of '%s'", a->name);
    }
    asvk_status st = asvk_arch_dims(a, resolution, dims);
    if (st) {
        free(dims), free(rows);
        return st;
    }
    out->resolution = resolution ? resolution : a->resolution;
    for (uint32_t i = 0; i < a->count; i++) {
        layer_cost(&a->layers[i], &dims[i], &rows[i]);
        out->params = add_sat(out->params, rows[i].params);
        out->madds = add_sat(out->madds, rows[i].madds);
    }
    free(dims);
    out->count = a->count;
    out->layers = rows;
    return ASVK_OK;
}

void asvk_cost_free(asvk_cost *c) {
    if (!c) return;
    free(c->layers);
    c->layers = NULL;
    c->count = 0;
}
