/* Skeletons from and to architectures, and as JSON; see skeleton.h. */
#include "autospace/skeleton.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cell_ops.h"
#include "runtime/io/json_read.h"

#define LERR(i, l, ...) asvk_error_prefix(asvk_error_set(ASVK_ERR_USAGE, __VA_ARGS__), "%s: layer %u (%s): ", a->name, \
                                          i, asvk_layer_type_name((l)->type))

/* The mbconv block as a genome (runtime/cell.h: {2 nodes, dw k x k, expand e}). */
static asvk_status mbconv_cell(const asvk_arch *a, uint32_t i, const asvk_layer *l, const asvk_layer_dims *d,
                               asvk_cell *out) {
    const asvk_mbconv_spec *m = &l->mbconv;
    if (m->kernel != 3 && m->kernel != 5 && m->kernel != 7)
        return LERR(i, l, "a %ux%u depthwise kernel is not a cell operator (3, 5, 7)", m->kernel, m->kernel);
    *out = asvk_cell_mbconv(m->kernel, (float)m->expand);
    out->act = m->act;
    out->se = m->se;
    asvk_cell_shape s;
    asvk_status st = asvk_cell_shape_of(out, d->in_c, d->in_h, d->in_w, m->out, m->stride, &s);
    if (st) return asvk_error_prefix(st, "%s: layer %u (mbconv): ", a->name, i);
    if (s.mid != d->mid)
        return LERR(i, l, "its width %u is not round(%u x %g) = %u, which a cell cannot hold", d->mid, d->in_c,
                    m->expand, s.mid);
    if (s.residual != d->residual)
        return LERR(i, l, "a cell adds its input exactly when the stride is 1 and the channels match; this block %s",
                    d->residual ? "adds it otherwise" : "does not");
    return ASVK_OK;
}

/* skips: a skip layer among the searchable ones is read as a cell of 0 nodes (a searched network) */
static asvk_status from_arch(const asvk_arch *a, asvk_skeleton *sk, asvk_cell *reference, bool skips) {
    memset(sk, 0, sizeof *sk);
    asvk_layer_dims *dims = calloc(a->count ? a->count : 1, sizeof *dims);
    if (!dims) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    asvk_status st = asvk_arch_dims(a, 0, dims);
    if (st) goto done;
    snprintf(sk->name, sizeof sk->name, "%s", a->name);
    sk->in_channels = a->in_channels, sk->resolution = a->resolution, sk->num_classes = a->num_classes;
    sk->bn_momentum = a->bn_momentum, sk->bn_eps = a->bn_eps;
    uint32_t i = 0;
    const asvk_layer *l = &a->layers[0];
    if (a->count < 3 || l->type != ASVK_LAYER_CONV || l->conv.groups != 1 || !l->conv.bn || l->conv.bias) {
        st = asvk_error_set(ASVK_ERR_USAGE, "%s: a skeleton starts with a stem conv (groups 1, BN, no bias)", a->name);
        goto done;
    }
    sk->stem_out = l->conv.out, sk->stem_kernel = l->conv.kernel, sk->stem_stride = l->conv.stride;
    sk->stem_act = l->conv.act;
    for (i = 1; i < a->count && (a->layers[i].type == ASVK_LAYER_MBCONV || a->layers[i].type == ASVK_LAYER_CELL ||
                                 (skips && a->layers[i].type == ASVK_LAYER_SKIP));
         i++) {
        l = &a->layers[i];
        if (sk->count == ASVK_SKEL_MAX_LAYERS) {
            st = LERR(i, l, "a skeleton has at most %d searchable layers", ASVK_SKEL_MAX_LAYERS);
            goto done;
        }
        if (l->type == ASVK_LAYER_SKIP) { /* the identity: its input's shape */
            if (reference) memset(&reference[sk->count], 0, sizeof reference[sk->count]);
            sk->layers[sk->count++] = (asvk_skel_layer){dims[i].in_c, 1};
            continue;
        }
        asvk_cell c;
        uint32_t out = l->type == ASVK_LAYER_MBCONV ? l->mbconv.out : l->cell.out;
        uint32_t stride = l->type == ASVK_LAYER_MBCONV ? l->mbconv.stride : l->cell.stride;
        if (stride != 1 && stride != 2) {
            st = LERR(i, l, "searchable layers have stride 1 or 2, not %u", stride);
            goto done;
        }
        if (l->type == ASVK_LAYER_MBCONV) {
            if ((st = mbconv_cell(a, i, l, &dims[i], &c))) goto done;
        } else {
            c = l->cell.cell;
        }
        if (reference) reference[sk->count] = c;
        sk->layers[sk->count++] = (asvk_skel_layer){out, stride};
    }
    if (!sk->count) {
        st = asvk_error_set(ASVK_ERR_USAGE, "%s: no mbconv or cell layer after the stem to search", a->name);
        goto done;
    }
    if (i < a->count && a->layers[i].type == ASVK_LAYER_CONV) {
        l = &a->layers[i];
        if (l->conv.kernel != 1 || l->conv.stride != 1 || l->conv.groups != 1 || !l->conv.bn || l->conv.bias) {
            st = LERR(i, l, "the head conv of a skeleton is 1x1, stride 1, groups 1, with BN and no bias");
            goto done;
        }
        sk->head = l->conv.out, sk->head_act = l->conv.act;
        i++;
    }
    if (i < a->count && a->layers[i].type == ASVK_LAYER_GLOBAL_POOL) i++;
    else {
        st = asvk_error_set(ASVK_ERR_USAGE, "%s: after the searchable layers a skeleton has an optional 1x1 conv, then "
                            "global_pool, [dropout], linear (layer %u is a %s)", a->name, i,
                            i < a->count ? asvk_layer_type_name(a->layers[i].type) : "missing");
        goto done;
    }
    if (i < a->count && a->layers[i].type == ASVK_LAYER_CONV) {
        l = &a->layers[i];
        if (l->conv.kernel != 1 || l->conv.stride != 1 || l->conv.groups != 1 || l->conv.bn || l->conv.bias) {
            st = LERR(i, l, "the conv after a skeleton's global pool (a feature mix) is 1x1, stride 1, groups 1, "
                      "without BN or bias");
            goto done;
        }
        sk->feature_mix = l->conv.out, sk->feature_mix_act = l->conv.act;
        i++;
    }
    if (i < a->count && a->layers[i].type == ASVK_LAYER_DROPOUT) sk->dropout = a->layers[i++].dropout;
    if (i + 1 != a->count || a->layers[i].type != ASVK_LAYER_LINEAR || !a->layers[i].linear.bias ||
        a->layers[i].linear.act != ASVK_ACT_NONE) {
        st = asvk_error_set(ASVK_ERR_USAGE, "%s: a skeleton ends in one linear classifier with a bias and no "
                            "activation, right after global_pool [and dropout]", a->name);
        goto done;
    }
done:
    free(dims);
    return st;
}

asvk_status asvk_skeleton_from_arch(const asvk_arch *a, asvk_skeleton *sk, asvk_cell *reference) {
    return from_arch(a, sk, reference, false);
}

asvk_status asvk_skeleton_from_net(const asvk_arch *a, asvk_skeleton *sk, asvk_cell *cells) {
    return from_arch(a, sk, cells, true);
}

asvk_status asvk_skeleton_to_arch(const asvk_skeleton *sk, const asvk_cell *cells, const char *name, asvk_arch *out) {
    return asvk_skeleton_to_arch_ex(sk, cells, name, true, out);
}

asvk_status asvk_skeleton_to_arch_ex(const asvk_skeleton *sk, const asvk_cell *cells, const char *name,
                                     bool mbconv_layers, asvk_arch *out) {
    asvk_arch_init(out);
    snprintf(out->name, sizeof out->name, "%s", name ? name : sk->name);
    out->in_channels = sk->in_channels, out->resolution = sk->resolution, out->num_classes = sk->num_classes;
    out->bn_momentum = sk->bn_momentum, out->bn_eps = sk->bn_eps;
    asvk_layer l = asvk_layer_default(ASVK_LAYER_CONV);
    l.conv.out = sk->stem_out, l.conv.kernel = sk->stem_kernel, l.conv.stride = sk->stem_stride, l.conv.act = sk->stem_act;
    asvk_status st = asvk_arch_append(out, &l);
    for (uint32_t i = 0; i < sk->count && !st; i++) {
        const asvk_cell *c = &cells[i];
        uint32_t k;
        if (c->nodes == 0) {
            l = asvk_layer_default(ASVK_LAYER_SKIP);
        } else if (mbconv_layers && (k = asvk_skeleton_mbconv_kernel(c))) {
            /* an MBConv genome as the layer type every NAS tool reads */
            l = asvk_layer_default(ASVK_LAYER_MBCONV);
            l.mbconv.out = sk->layers[i].out, l.mbconv.kernel = k, l.mbconv.stride = sk->layers[i].stride;
            l.mbconv.expand = c->expand, l.mbconv.act = c->act, l.mbconv.se = c->se;
        } else {
            l = asvk_layer_default(ASVK_LAYER_CELL);
            l.cell.cell = *c, l.cell.out = sk->layers[i].out, l.cell.stride = sk->layers[i].stride;
        }
        st = asvk_arch_append(out, &l);
    }
    if (!st && sk->head) {
        l = asvk_layer_default(ASVK_LAYER_CONV);
        l.conv.out = sk->head, l.conv.kernel = 1, l.conv.act = sk->head_act;
        st = asvk_arch_append(out, &l);
    }
    if (!st) l = asvk_layer_default(ASVK_LAYER_GLOBAL_POOL), st = asvk_arch_append(out, &l);
    if (!st && sk->feature_mix) {
        l = asvk_layer_default(ASVK_LAYER_CONV);
        l.conv.out = sk->feature_mix, l.conv.kernel = 1, l.conv.act = sk->feature_mix_act, l.conv.bn = false;
        st = asvk_arch_append(out, &l);
    }
    if (!st && sk->dropout > 0) {
        l = asvk_layer_default(ASVK_LAYER_DROPOUT);
        l.dropout = sk->dropout;
        st = asvk_arch_append(out, &l);
    }
    if (!st) {
        l = asvk_layer_default(ASVK_LAYER_LINEAR);
        l.linear.out = sk->num_classes;
        st = asvk_arch_append(out, &l);
    }
    if (!st) st = asvk_arch_validate(out, 0);
    if (st) asvk_arch_free(out);
    return st;
}

uint32_t asvk_skeleton_mbconv_kernel(const asvk_cell *c) {
    if (c->nodes != 2 || c->mix[1] != ASVK_MIX_SUM) return 0;
    switch (c->op[1][0]) {
    case ASVK_CELL_DW3X3: return 3;
    case ASVK_CELL_DW5X5: return 5;
    case ASVK_CELL_DW7X7: return 7;
    default: return 0;
    }
}

void asvk_skeleton_layer_input(const asvk_skeleton *sk, uint32_t layer, uint32_t *channels, uint32_t *size) {
    uint32_t res = (sk->resolution + sk->stem_stride - 1) / sk->stem_stride, ch = sk->stem_out;
    for (uint32_t l = 0; l < layer && l < sk->count; l++) {
        res = (res + sk->layers[l].stride - 1) / sk->layers[l].stride;
        ch = sk->layers[l].out;
    }
    *channels = ch;
    *size = res;
}

/* ---- JSON ---- */

cJSON *asvk_skeleton_to_json(const asvk_skeleton *sk) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", sk->name);
    cJSON_AddNumberToObject(o, "in_channels", sk->in_channels);
    cJSON_AddNumberToObject(o, "resolution", sk->resolution);
    cJSON_AddNumberToObject(o, "num_classes", sk->num_classes);
    cJSON *stem = cJSON_AddObjectToObject(o, "stem");
    cJSON_AddNumberToObject(stem, "out", sk->stem_out);
    cJSON_AddNumberToObject(stem, "kernel", sk->stem_kernel);
    cJSON_AddNumberToObject(stem, "stride", sk->stem_stride);
    cJSON_AddStringToObject(stem, "act", asvk_act_name(sk->stem_act));
    cJSON *layers = cJSON_AddArrayToObject(o, "layers");
    for (uint32_t i = 0; i < sk->count; i++) {
        cJSON *l = cJSON_CreateObject();
        cJSON_AddNumberToObject(l, "out", sk->layers[i].out);
        cJSON_AddNumberToObject(l, "stride", sk->layers[i].stride);
        cJSON_AddItemToArray(layers, l);
    }
    if (sk->head) {
        cJSON *h = cJSON_AddObjectToObject(o, "head");
        cJSON_AddNumberToObject(h, "out", sk->head);
        cJSON_AddStringToObject(h, "act", asvk_act_name(sk->head_act));
    } else {
        cJSON_AddNullToObject(o, "head");
    }
    if (sk->feature_mix) {
        cJSON *h = cJSON_AddObjectToObject(o, "feature_mix");
        cJSON_AddNumberToObject(h, "out", sk->feature_mix);
        cJSON_AddStringToObject(h, "act", asvk_act_name(sk->feature_mix_act));
    }
    cJSON_AddNumberToObject(o, "dropout", sk->dropout);
    cJSON *bn = cJSON_AddObjectToObject(o, "bn");
    cJSON_AddNumberToObject(bn, "momentum", sk->bn_momentum);
    cJSON_AddNumberToObject(bn, "eps", sk->bn_eps);
    return o;
}

static asvk_status read_act(const cJSON *o, const char *ctx, asvk_act *out) {
    const char *s;
    asvk_status st = asvk_json_string(o, ctx, "act", false, "relu6", &s);
    if (st) return st;
    if (!asvk_act_parse(s, out)) return asvk_error_set(ASVK_ERR_USAGE, "%s.act '%s' is not an activation", ctx, s);
    return ASVK_OK;
}

/* An optional {"out", "act"} 1x1 conv of the head (`key` absent: out stays 0). */
static asvk_status read_conv(const cJSON *j, const char *ctx, const char *key, const char *what, uint32_t *out,
                             asvk_act *act) {
    static const char *const conv_keys[] = {"out", "act", NULL};
    const cJSON *o = asvk_json_get(j, key);
    if (!o) return ASVK_OK;
    char sub[160];
    snprintf(sub, sizeof sub, "%s.%s", ctx, key);
    if (!cJSON_IsObject(o)) return asvk_error_set(ASVK_ERR_USAGE, "%s must be %s", sub, what);
    asvk_status st;
    if ((st = asvk_json_check_keys(o, sub, conv_keys)) || (st = asvk_json_uint(o, sub, "out", true, 0, 1, 65536, out)))
        return st;
    return read_act(o, sub, act);
}

asvk_status asvk_skeleton_from_json(const cJSON *j, const char *ctx, asvk_skeleton *sk) {
    static const char *const keys[] = {"name", "in_channels", "resolution", "num_classes", "stem", "layers", "head",
                                       "feature_mix", "dropout", "bn", NULL};
    static const char *const stem_keys[] = {"out", "kernel", "stride", "act", NULL};
    static const char *const layer_keys[] = {"out", "stride", NULL};
    static const char *const bn_keys[] = {"momentum", "eps", NULL};
    memset(sk, 0, sizeof *sk);
    if (!cJSON_IsObject(j)) return asvk_error_set(ASVK_ERR_USAGE, "%s must be a JSON object", ctx);
    const char *name;
    char sub[160];
    asvk_status st;
    if ((st = asvk_json_check_keys(j, ctx, keys)) || (st = asvk_json_string(j, ctx, "name", true, NULL, &name)) ||
        (st = asvk_json_uint(j, ctx, "in_channels", true, 0, 1, 65536, &sk->in_channels)) ||
        (st = asvk_json_uint(j, ctx, "resolution", true, 0, 1, 16384, &sk->resolution)) ||
        (st = asvk_json_uint(j, ctx, "num_classes", true, 0, 1, 65536, &sk->num_classes)) ||
        (st = asvk_json_number(j, ctx, "dropout", false, 0, 0, 0.999, &sk->dropout)))
        return st;
    snprintf(sk->name, sizeof sk->name, "%s", name);
    const cJSON *stem = asvk_json_get(j, "stem");
    snprintf(sub, sizeof sub, "%s.stem", ctx);
    if (!cJSON_IsObject(stem)) return asvk_error_set(ASVK_ERR_USAGE, "%s must be an object", sub);
    if ((st = asvk_json_check_keys(stem, sub, stem_keys)) ||
        (st = asvk_json_uint(stem, sub, "out", true, 0, 1, 65536, &sk->stem_out)) ||
        (st = asvk_json_uint(stem, sub, "kernel", false, 3, 1, 15, &sk->stem_kernel)) ||
        (st = asvk_json_uint(stem, sub, "stride", false, 1, 1, 8, &sk->stem_stride)) ||
        (st = read_act(stem, sub, &sk->stem_act)))
        return st;
    if (sk->stem_kernel % 2 == 0) return asvk_error_set(ASVK_ERR_USAGE, "%s.kernel must be odd", sub);
    const cJSON *layers = asvk_json_get(j, "layers");
    if (!cJSON_IsArray(layers) || !cJSON_GetArraySize(layers) || cJSON_GetArraySize(layers) > ASVK_SKEL_MAX_LAYERS)
        return asvk_error_set(ASVK_ERR_USAGE, "%s.layers must be an array of 1 to %d {\"out\", \"stride\"} objects", ctx,
                              ASVK_SKEL_MAX_LAYERS);
    for (const cJSON *it = layers->child; it; it = it->next) {
        snprintf(sub, sizeof sub, "%s.layers[%u]", ctx, sk->count);
        asvk_skel_layer *l = &sk->layers[sk->count++];
        if (!cJSON_IsObject(it)) return asvk_error_set(ASVK_ERR_USAGE, "%s must be an object", sub);
        if ((st = asvk_json_check_keys(it, sub, layer_keys)) ||
            (st = asvk_json_uint(it, sub, "out", true, 0, 1, 65536, &l->out)) ||
            (st = asvk_json_uint(it, sub, "stride", false, 1, 1, 2, &l->stride)))
            return st;
    }
    if ((st = read_conv(j, ctx, "head", "an object or null", &sk->head, &sk->head_act)) ||
        (st = read_conv(j, ctx, "feature_mix", "an object", &sk->feature_mix, &sk->feature_mix_act)))
        return st;
    sk->bn_momentum = 0.1, sk->bn_eps = 1e-5;
    const cJSON *bn = asvk_json_get(j, "bn");
    if (bn) {
        snprintf(sub, sizeof sub, "%s.bn", ctx);
        if (!cJSON_IsObject(bn)) return asvk_error_set(ASVK_ERR_USAGE, "%s must be an object", sub);
        if ((st = asvk_json_check_keys(bn, sub, bn_keys)) ||
            (st = asvk_json_number(bn, sub, "momentum", false, 0.1, 0, 1, &sk->bn_momentum)) ||
            (st = asvk_json_number(bn, sub, "eps", false, 1e-5, 1e-12, 1, &sk->bn_eps)))
            return st;
    }
    /* Whatever the ranges above let through, the skeleton must build a network
     * (with an MBConv 3x3 in every layer, which fits any map): a space whose
     * skeleton cannot failed only when a search or the latency probes built
     * their first network (found by tests/fuzz: bn.eps 1). */
    asvk_cell cells[ASVK_SKEL_MAX_LAYERS];
    for (uint32_t i = 0; i < sk->count; i++) cells[i] = asvk_cell_mbconv(3, 1);
    asvk_arch a;
    if ((st = asvk_skeleton_to_arch(sk, cells, NULL, &a))) return asvk_error_prefix(st, "%s: ", ctx);
    asvk_arch_free(&a);
    return ASVK_OK;
}
