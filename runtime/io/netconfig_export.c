/* ProxylessNAS / once-for-all net.config export (asvk_arch_to_netconfig):
 * networks of the form conv, (mbconv|skip|cell)*, [conv], global_pool,
 * [dropout], linear as ProxylessNASNets, and conv, mbconv*, conv,
 * global_pool, conv, [dropout], linear as once-for-all's MobileNetV3. Import
 * is netconfig.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/io/atomic_file.h"
#include "runtime/io/motif.h"
#include "runtime/io/netconfig.h"

/* ---- export ---- */

static const char *export_act(asvk_act act) {
    return act == ASVK_ACT_HSWISH ? "h_swish" : asvk_act_name(act);
}

static void add_act(cJSON *o, asvk_act act) {
    if (act == ASVK_ACT_NONE) cJSON_AddNullToObject(o, "act_func");
    else cJSON_AddStringToObject(o, "act_func", export_act(act));
}

static cJSON *export_conv(const asvk_layer *l, const asvk_layer_dims *d) {
    const asvk_conv_spec *c = &l->conv;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", "ConvLayer");
    cJSON_AddNumberToObject(o, "kernel_size", c->kernel);
    cJSON_AddNumberToObject(o, "stride", c->stride);
    cJSON_AddNumberToObject(o, "dilation", 1);
    cJSON_AddNumberToObject(o, "groups", c->groups);
    cJSON_AddBoolToObject(o, "bias", c->bias);
    cJSON_AddBoolToObject(o, "has_shuffle", false);
    cJSON_AddNumberToObject(o, "in_channels", d->in_c);
    cJSON_AddNumberToObject(o, "out_channels", d->out_c);
    cJSON_AddBoolToObject(o, "use_bn", c->bn);
    add_act(o, c->act);
    cJSON_AddNumberToObject(o, "dropout_rate", 0);
    cJSON_AddStringToObject(o, "ops_order", "weight_bn_act");
    return o;
}

/* once-for-all writes the channels as one-element lists, ProxylessNAS as numbers */
static cJSON *export_identity(uint32_t c, bool ofa) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", "IdentityLayer");
    int ci = (int)c;
    if (ofa) {
        cJSON_AddItemToObject(o, "in_channels", cJSON_CreateIntArray(&ci, 1));
        cJSON_AddItemToObject(o, "out_channels", cJSON_CreateIntArray(&ci, 1));
    } else {
        cJSON_AddNumberToObject(o, "in_channels", c);
        cJSON_AddNumberToObject(o, "out_channels", c);
    }
    cJSON_AddBoolToObject(o, "use_bn", false);
    cJSON_AddNullToObject(o, "act_func");
    cJSON_AddNumberToObject(o, "dropout_rate", 0);
    cJSON_AddStringToObject(o, "ops_order", "weight_bn_act");
    return o;
}

/* A CELL as a Motif, in the published key order; NULL (message set) when the
 * cell does not fit the format (runtime/io/motif.h). Cells of fewer than 4
 * nodes are written padded with identity edges, so they read back as the
 * equivalent 4-node cell. */
static cJSON *export_motif(const asvk_layer *l, const asvk_layer_dims *d) {
    asvk_cell c = l->cell.cell;
    asvk_act act = c.act;
    c.act = ASVK_ACT_RELU6; /* the Motif matrix has no activation; act_func carries it */
    int m[4][4], idx, mix[2];
    if (asvk_motif_encode(&c, ASVK_MOTIF_READING_DEFAULT, m, &idx, mix)) return NULL;
    char graph[160];
    snprintf(graph, sizeof graph, "[[0, 0, 0, %d], [%d, 0, 0, [%d, %d]], [%d, %d, 0, 0], [%d, %d, %d, 0]]", idx, m[1][0],
             mix[0], mix[1], m[2][0], m[2][1], m[3][0], m[3][1], m[3][2]);
    cJSON *conv = cJSON_CreateObject();
    cJSON_AddStringToObject(conv, "name", "Motif");
    cJSON_AddNumberToObject(conv, "in_channels", d->in_c);
    cJSON_AddNumberToObject(conv, "out_channels", d->out_c);
    cJSON_AddNumberToObject(conv, "kernel_size", 3);
    cJSON_AddNumberToObject(conv, "stride", l->cell.stride);
    cJSON_AddNumberToObject(conv, "expand_ratio", c.expand);
    cJSON_AddNumberToObject(conv, "num_nodes", ASVK_MOTIF_NODES);
    cJSON_AddStringToObject(conv, "build_graph", graph);
    cJSON_AddNumberToObject(conv, "dim_conv_idx", idx);
    cJSON_AddStringToObject(conv, "atten_mode", "channel");
    cJSON_AddItemToObject(conv, "feature_mix_mode_idx", cJSON_CreateIntArray(mix, 2));
    cJSON_AddBoolToObject(conv, "has_se", c.se);
    if (act != ASVK_ACT_RELU6) add_act(conv, act);
    return conv;
}

static cJSON *export_block(const asvk_layer *l, const asvk_layer_dims *d, bool ofa) {
    cJSON *o = cJSON_CreateObject(), *conv;
    cJSON_AddStringToObject(o, "name", "MobileInvertedResidualBlock");
    if (l->type == ASVK_LAYER_CELL) {
        if (!(conv = export_motif(l, d))) {
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddItemToObject(o, "mobile_inverted_conv", conv);
        if (d->residual) cJSON_AddItemToObject(o, "shortcut", export_identity(d->in_c, ofa));
        else cJSON_AddNullToObject(o, "shortcut");
        return o;
    }
    conv = cJSON_CreateObject();
    if (l->type == ASVK_LAYER_SKIP) {
        cJSON_AddStringToObject(conv, "name", "ZeroLayer");
        cJSON_AddNumberToObject(conv, "stride", 1);
        cJSON_AddItemToObject(o, "mobile_inverted_conv", conv);
        cJSON_AddItemToObject(o, "shortcut", export_identity(d->in_c, ofa));
        return o;
    }
    const asvk_mbconv_spec *m = &l->mbconv;
    cJSON_AddStringToObject(conv, "name", "MBInvertedConvLayer");
    cJSON_AddNumberToObject(conv, "in_channels", d->in_c);
    cJSON_AddNumberToObject(conv, "out_channels", d->out_c);
    cJSON_AddNumberToObject(conv, "kernel_size", m->kernel);
    cJSON_AddNumberToObject(conv, "stride", m->stride);
    cJSON_AddNumberToObject(conv, "expand_ratio", m->expand);
    if (ofa) { /* once-for-all's MBConvLayer writes every key */
        if (m->expand == 1) cJSON_AddNullToObject(conv, "mid_channels");
        else cJSON_AddNumberToObject(conv, "mid_channels", d->mid);
        add_act(conv, m->act);
        cJSON_AddBoolToObject(conv, "use_se", m->se);
    } else {
        /* Keys the original ProxylessNAS code lacks are written only when
         * needed, so that plain MBConv networks stay loadable by it. */
        if (m->mid) cJSON_AddNumberToObject(conv, "mid_channels", m->mid);
        if (m->act != ASVK_ACT_RELU6) add_act(conv, m->act);
        if (m->se) cJSON_AddBoolToObject(conv, "has_se", true);
    }
    cJSON_AddItemToObject(o, "mobile_inverted_conv", conv);
    if (d->residual) cJSON_AddItemToObject(o, "shortcut", export_identity(d->in_c, ofa));
    else cJSON_AddNullToObject(o, "shortcut");
    return o;
}

static asvk_status misplaced(const asvk_arch *a, uint32_t i, const char *why) {
    return asvk_error_set(ASVK_ERR_USAGE, "architecture '%s' cannot be written as a net.config: layer %u (%s) %s", a->name,
                          i, i < a->count ? asvk_layer_type_name(a->layers[i].type) : "end", why);
}

static asvk_status build_netconfig(const asvk_arch *a, const asvk_layer_dims *dims, cJSON *root) {
    cJSON *bn = cJSON_AddObjectToObject(root, "bn");
    cJSON_AddNumberToObject(bn, "momentum", a->bn_momentum);
    cJSON_AddNumberToObject(bn, "eps", a->bn_eps);
    uint32_t i = 0, n = a->count;
    if (a->layers[0].type != ASVK_LAYER_CONV) return misplaced(a, 0, "is not the conv stem a net.config starts with");
    cJSON_AddItemToObject(root, "first_conv", export_conv(&a->layers[0], &dims[0]));
    cJSON *blocks = cJSON_CreateArray();
    asvk_status st = ASVK_OK;
    uint32_t end = 1; /* the first layer after the blocks */
    while (end < n && (a->layers[end].type == ASVK_LAYER_MBCONV || a->layers[end].type == ASVK_LAYER_SKIP ||
                       a->layers[end].type == ASVK_LAYER_CELL))
        end++;
    /* once-for-all's MobileNetV3: final expand conv, pool, feature mix conv on the 1x1 map */
    bool ofa = end + 2 < n && a->layers[end].type == ASVK_LAYER_CONV &&
               a->layers[end + 1].type == ASVK_LAYER_GLOBAL_POOL && a->layers[end + 2].type == ASVK_LAYER_CONV;
    if (ofa) cJSON_ReplaceItemInObject(root, "name", cJSON_CreateString("MobileNetV3"));
    for (i = 1; i < end; i++) {
        cJSON *blk = export_block(&a->layers[i], &dims[i], ofa);
        if (!blk) {
            st = asvk_error_prefix(ASVK_ERR_USAGE, "architecture '%s' cannot be written as a net.config: layer %u (cell): ",
                                   a->name, i);
            goto fail;
        }
        cJSON_AddItemToArray(blocks, blk);
    }
    if (ofa) {
        cJSON_AddItemToObject(root, "final_expand_layer", export_conv(&a->layers[i], &dims[i]));
        cJSON_AddItemToObject(root, "feature_mix_layer", export_conv(&a->layers[i + 2], &dims[i + 2]));
        i++; /* the pool; the feature mix is passed below */
    } else if (i < n && a->layers[i].type == ASVK_LAYER_CONV && i + 1 < n &&
               a->layers[i + 1].type == ASVK_LAYER_GLOBAL_POOL) {
        cJSON_AddItemToObject(root, "feature_mix_layer", export_conv(&a->layers[i], &dims[i]));
        i++;
    } else {
        cJSON_AddNullToObject(root, "feature_mix_layer");
    }
    if (i >= n || a->layers[i].type != ASVK_LAYER_GLOBAL_POOL) {
        st = misplaced(a, i, "has no place there: after the blocks a net.config has an optional conv "
                         "(feature_mix_layer), the global average pool, an optional dropout and the classifier");
        goto fail;
    }
    i += ofa ? 2 : 1;
    double rate = 0;
    if (i < n && a->layers[i].type == ASVK_LAYER_DROPOUT) rate = a->layers[i++].dropout;
    if (i >= n || a->layers[i].type != ASVK_LAYER_LINEAR) {
        st = misplaced(a, i, "stands where the classifier must be");
        goto fail;
    }
    if (i + 1 != n) {
        st = misplaced(a, i + 1, "follows the classifier");
        goto fail;
    }
    const asvk_linear_spec *s = &a->layers[i].linear;
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "name", "LinearLayer");
    cJSON_AddNumberToObject(c, "in_features", dims[i].in_c);
    cJSON_AddNumberToObject(c, "out_features", s->out);
    cJSON_AddBoolToObject(c, "bias", s->bias);
    cJSON_AddBoolToObject(c, "use_bn", false);
    add_act(c, s->act);
    cJSON_AddNumberToObject(c, "dropout_rate", rate);
    cJSON_AddStringToObject(c, "ops_order", "weight_bn_act");
    cJSON_AddItemToObject(root, "classifier", c);
    cJSON_AddItemToObject(root, "blocks", blocks); /* last, as in the published files */
    return ASVK_OK;
fail:
    cJSON_Delete(blocks);
    return st;
}

asvk_status asvk_arch_to_netconfig(const asvk_arch *a, char **text) {
    *text = NULL;
    asvk_layer_dims *dims = malloc(((size_t)a->count + 1) * sizeof *dims);
    if (!dims) return asvk_error_set(ASVK_ERR_OOM, "out of host memory writing '%s'", a->name);
    asvk_status st = asvk_arch_dims(a, 0, dims);
    if (st) {
        free(dims);
        return asvk_error_prefix(st, "architecture '%s' is not valid: ", a->name);
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "name", "ProxylessNASNets");
    st = build_netconfig(a, dims, root);
    free(dims);
    if (!st) {
        *text = cJSON_Print(root);
        if (!*text) st = asvk_error_set(ASVK_ERR_OOM, "out of host memory writing '%s'", a->name);
    }
    cJSON_Delete(root);
    return st;
}

asvk_status asvk_arch_save_netconfig(const char *path, const asvk_arch *a) {
    char *text;
    asvk_status st = asvk_arch_to_netconfig(a, &text);
    if (st) return st;
    size_t n = strlen(text);
    asvk_file_part parts[2] = {{text, n}, {"\n", 1}};
    st = asvk_file_write_atomic_parts(path, parts, 2);
    free(text);
    return st;
}
