/* ProxylessNAS net.config files (the format of the ProxylessNAS, once-for-all
 * and AutoSpace releases): import into an asvk_arch (export:
 * netconfig_export.c). Network classes: ProxylessNASNets (feature_mix_layer
 * before the global pool) and once-for-all's MobileNetV3 (final_expand_layer
 * before it, feature_mix_layer after it on the pooled 1x1 map). The import is strict
 * like the asvk reader: every key is known, every feature the file asks for
 * that asvk does not implement (dilation, shuffles, other op orders) is a
 * clear error rather than a silently different network. AutoSpace Motif
 * blocks are cells (runtime/io/motif.h holds the reading of their codes). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/io/atomic_file.h"
#include "runtime/io/json_read.h"
#include "runtime/io/motif.h"
#include "runtime/io/netconfig.h"

static const char *const top_keys[] = {"name", "bn", "first_conv", "blocks", "final_expand_layer", "feature_mix_layer",
                                       "classifier", NULL};
static const char *const bn_keys[] = {"momentum", "eps", NULL};
static const char *const conv_keys[] = {"name", "kernel_size", "stride", "dilation", "groups", "bias", "has_shuffle",
                                        "in_channels", "out_channels", "use_bn", "act_func", "dropout_rate",
                                        "ops_order", NULL};
static const char *const block_keys[] = {"name", "mobile_inverted_conv", "shortcut", NULL};
static const char *const mb_keys[] = {"name", "in_channels", "out_channels", "kernel_size", "stride", "expand_ratio",
                                      "mid_channels", "act_func", "has_se", "use_se", "groups", NULL};
static const char *const zero_keys[] = {"name", "stride", NULL};
static const char *const motif_keys[] = {"name", "in_channels", "out_channels", "kernel_size", "stride", "expand_ratio",
                                         "num_nodes", "build_graph", "dim_conv_idx", "atten_mode",
                                         "feature_mix_mode_idx", "has_se", "act_func", NULL};
static const char *const identity_keys[] = {"name", "in_channels", "out_channels", "use_bn", "act_func",
                                            "dropout_rate", "ops_order", NULL};
static const char *const linear_keys[] = {"name", "in_features", "out_features", "bias", "use_bn", "act_func",
                                          "dropout_rate", "ops_order", NULL};

#define BIG 65536u

/* ---- import ---- */

static asvk_status need_name(const cJSON *o, const char *ctx, const char *want) {
    const char *name;
    asvk_status st = asvk_json_string(o, ctx, "name", true, NULL, &name);
    if (st) return st;
    if (strcmp(name, want) != 0)
        return asvk_error_set(ASVK_ERR_USAGE, "%s is a '%s', but only a %s can stand there", ctx, name, want);
    return ASVK_OK;
}

/* ProxylessNAS act_func: a name or null (no activation). */
static asvk_status read_act(const cJSON *o, const char *ctx, asvk_act def, asvk_act *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "act_func");
    if (!v) {
        *out = def;
        return ASVK_OK;
    }
    if (cJSON_IsNull(v)) {
        *out = ASVK_ACT_NONE;
        return ASVK_OK;
    }
    if (!cJSON_IsString(v) || !asvk_act_parse(v->valuestring, out) || *out == ASVK_ACT_NONE)
        return asvk_error_set(ASVK_ERR_USAGE, "%s.act_func %s%s%s is not supported (relu, relu6, h_swish, swish, sigmoid or null)",
                              ctx, cJSON_IsString(v) ? "'" : "", cJSON_IsString(v) ? v->valuestring : "(not a string)",
                              cJSON_IsString(v) ? "'" : "");
    return ASVK_OK;
}

static asvk_status no_dropout(const cJSON *o, const char *ctx) {
    double d;
    asvk_status st = asvk_json_number(o, ctx, "dropout_rate", false, 0, 0, 1, &d);
    if (!st && d != 0)
        st = asvk_error_set(ASVK_ERR_USAGE, "%s.dropout_rate %g is not supported here (only the classifier may drop out)", ctx, d);
    return st;
}

static asvk_status weight_bn_act(const cJSON *o, const char *ctx) {
    const char *order;
    asvk_status st = asvk_json_string(o, ctx, "ops_order", false, "weight_bn_act", &order);
    if (!st && strcmp(order, "weight_bn_act") != 0)
        st = asvk_error_set(ASVK_ERR_USAGE, "%s.ops_order '%s' is not supported (only weight_bn_act)", ctx, order);
    return st;
}

static asvk_status channels_match(const char *ctx, const char *key, uint32_t given, uint32_t expected) {
    if (given != expected)
        return asvk_error_set(ASVK_ERR_USAGE, "%s.%s is %u, but the layer before gives %u channels", ctx, key, given,
                              expected);
    return ASVK_OK;
}

/* A ConvLayer (first_conv, feature_mix_layer). Defaults are ProxylessNAS's. */
static asvk_status read_conv(const cJSON *o, const char *ctx, uint32_t *in_c, asvk_layer *l) {
    asvk_status st;
    if ((st = asvk_json_check_keys(o, ctx, conv_keys)) || (st = need_name(o, ctx, "ConvLayer"))) return st;
    *l = asvk_layer_default(ASVK_LAYER_CONV);
    asvk_conv_spec *c = &l->conv;
    uint32_t in, dil;
    bool shuffle;
    if ((st = asvk_json_uint(o, ctx, "in_channels", true, 0, 1, BIG, &in)) ||
        (st = asvk_json_uint(o, ctx, "out_channels", true, 0, 1, BIG, &c->out)) ||
        (st = asvk_json_uint(o, ctx, "kernel_size", false, 3, 1, 15, &c->kernel)) ||
        (st = asvk_json_uint(o, ctx, "stride", false, 1, 1, 8, &c->stride)) ||
        (st = asvk_json_uint(o, ctx, "dilation", false, 1, 1, 1, &dil)) ||
        (st = asvk_json_uint(o, ctx, "groups", false, 1, 1, BIG, &c->groups)) ||
        (st = asvk_json_bool(o, ctx, "bias", false, false, &c->bias)) ||
        (st = asvk_json_bool(o, ctx, "has_shuffle", false, false, &shuffle)) ||
        (st = asvk_json_bool(o, ctx, "use_bn", false, true, &c->bn)) || (st = read_act(o, ctx, ASVK_ACT_RELU, &c->act)) ||
        (st = no_dropout(o, ctx)) || (st = weight_bn_act(o, ctx)))
        return st;
    if (shuffle) return asvk_error_set(ASVK_ERR_USAGE, "%s.has_shuffle true is not supported", ctx);
    if (*in_c && (st = channels_match(ctx, "in_channels", in, *in_c))) return st;
    *in_c = c->out;
    return ASVK_OK;
}

/* once-for-all writes an IdentityLayer's channels as one-element lists
 * ("in_channels": [32]); ProxylessNAS as numbers. Both read the same. */
static asvk_status read_channel_list(const cJSON *o, const char *ctx, const char *key, uint32_t def, uint32_t *out) {
    const cJSON *v = asvk_json_get(o, key);
    if (!v || !cJSON_IsArray(v)) return asvk_json_uint(o, ctx, key, false, def, 1, BIG, out);
    const cJSON *first = cJSON_GetArrayItem(v, 0);
    double d = first ? first->valuedouble : 0;
    if (cJSON_GetArraySize(v) != 1 || !cJSON_IsNumber(first) || d != floor(d) || d < 1 || d > BIG)
        return asvk_error_set(ASVK_ERR_USAGE, "%s.%s must be a channel count or a list of one channel count (1 to %u)",
                              ctx, key, BIG);
    *out = (uint32_t)d;
    return ASVK_OK;
}

static asvk_status read_identity(const cJSON *o, const char *ctx, uint32_t in_c, uint32_t out_c) {
    asvk_status st;
    uint32_t i, k;
    bool bn;
    if ((st = asvk_json_check_keys(o, ctx, identity_keys)) || (st = need_name(o, ctx, "IdentityLayer")) ||
        (st = read_channel_list(o, ctx, "in_channels", in_c, &i)) ||
        (st = read_channel_list(o, ctx, "out_channels", out_c, &k)) ||
        (st = asvk_json_bool(o, ctx, "use_bn", false, false, &bn)) || (st = no_dropout(o, ctx)) ||
        (st = weight_bn_act(o, ctx)))
        return st;
    asvk_act act;
    if ((st = read_act(o, ctx, ASVK_ACT_NONE, &act))) return st;
    if (bn || act != ASVK_ACT_NONE)
        return asvk_error_set(ASVK_ERR_USAGE, "%s: an IdentityLayer with BN or an activation is not supported", ctx);
    if (i != in_c || k != out_c || in_c != out_c)
        return asvk_error_set(ASVK_ERR_USAGE, "%s: an identity shortcut needs equal input and output channels, "
                              "but the block maps %u to %u channels", ctx, in_c, out_c);
    return ASVK_OK;
}

/* An AutoSpace Motif block as a CELL layer. build_graph is the cell's matrix
 * as a string; dim_conv_idx and feature_mix_mode_idx repeat its [0][3] and
 * [1][3] and expand_ratio follows dim_conv_idx, so all must agree.
 * kernel_size is 3 in every published Motif, whatever its edges: it is a
 * leftover of the block class and ignored. atten_mode "channel" is the only
 * published mode; asvk reads a weighted merge as cell.h's softmax-weighted sum. */
static asvk_status read_motif(const cJSON *conv, const char *cctx, const cJSON *shortcut, const char *sctx,
                              uint32_t *cur_c, asvk_motif_reading reading, asvk_layer *l) {
    asvk_status st;
    uint32_t in, nodes, k, idx;
    double expand;
    bool se;
    const char *graph, *atten;
    *l = asvk_layer_default(ASVK_LAYER_CELL);
    asvk_cell_spec *c = &l->cell;
    if ((st = asvk_json_check_keys(conv, cctx, motif_keys)) ||
        (st = asvk_json_uint(conv, cctx, "in_channels", true, 0, 1, BIG, &in)) ||
        (st = asvk_json_uint(conv, cctx, "out_channels", true, 0, 1, BIG, &c->out)) ||
        (st = asvk_json_uint(conv, cctx, "kernel_size", false, 3, 1, 15, &k)) ||
        (st = asvk_json_uint(conv, cctx, "stride", false, 1, 1, 8, &c->stride)) ||
        (st = asvk_json_number(conv, cctx, "expand_ratio", true, 0, 0.01, 64, &expand)) ||
        (st = asvk_json_uint(conv, cctx, "num_nodes", false, ASVK_MOTIF_NODES, 1, 64, &nodes)) ||
        (st = asvk_json_string(conv, cctx, "build_graph", true, NULL, &graph)) ||
        (st = asvk_json_uint(conv, cctx, "dim_conv_idx", true, 0, 0, 64, &idx)) ||
        (st = asvk_json_string(conv, cctx, "atten_mode", false, "channel", &atten)) ||
        (st = asvk_json_bool(conv, cctx, "has_se", false, false, &se)))
        return st;
    if ((st = channels_match(cctx, "in_channels", in, *cur_c))) return st;
    if (nodes != ASVK_MOTIF_NODES)
        return asvk_error_set(ASVK_ERR_USAGE, "%s.num_nodes is %u; Motif cells have %d", cctx, nodes, ASVK_MOTIF_NODES);
    if (strcmp(atten, "channel") != 0)
        return asvk_error_set(ASVK_ERR_USAGE, "%s.atten_mode '%s' is not supported (only \"channel\")", cctx, atten);
    char gctx[128];
    snprintf(gctx, sizeof gctx, "%s.build_graph", cctx);
    cJSON *m = cJSON_Parse(graph);
    if (!m) return asvk_error_set(ASVK_ERR_USAGE, "%s is not a JSON matrix: '%.60s'", gctx, graph);
    st = asvk_motif_from_json(m, gctx, reading, &c->cell);
    cJSON_Delete(m);
    int g_idx = 0, mix[2] = {c->cell.mix[2], c->cell.mix[3]};
    if (st || (st = asvk_motif_expand_encode(c->cell.expand, &g_idx))) return st;
    if ((int)idx != g_idx)
        return asvk_error_set(ASVK_ERR_USAGE, "%s.dim_conv_idx is %u, but build_graph[0][3] is %d", cctx, idx, g_idx);
    const cJSON *fm = asvk_json_get(conv, "feature_mix_mode_idx");
    if (fm) {
        const cJSON *a = cJSON_GetArrayItem(fm, 0), *b = cJSON_GetArrayItem(fm, 1);
        if (!cJSON_IsArray(fm) || cJSON_GetArraySize(fm) != 2 || !cJSON_IsNumber(a) || !cJSON_IsNumber(b) ||
            a->valuedouble != mix[0] || b->valuedouble != mix[1])
            return asvk_error_set(ASVK_ERR_USAGE, "%s.feature_mix_mode_idx must equal build_graph[1][3], [%d, %d]", cctx,
                                  mix[0], mix[1]);
    }
    if ((double)c->cell.expand != expand)
        return asvk_error_set(ASVK_ERR_USAGE, "%s.expand_ratio is %g, but dim_conv_idx %u means %g", cctx, expand, idx,
                              (double)c->cell.expand);
    c->cell.se = se;
    if ((st = read_act(conv, cctx, ASVK_ACT_RELU6, &c->cell.act))) return st;
    (void)k;
    /* the cell's residual is automatic: the file's shortcut must say the same */
    bool shape_kept = c->stride == 1 && in == c->out;
    if (shortcut) {
        if ((st = read_identity(shortcut, sctx, in, c->out))) return st;
    } else if (shape_kept) {
        return asvk_error_set(ASVK_ERR_USAGE, "%s is null, but a cell that keeps its shape always adds its input", sctx);
    }
    if (shortcut && !shape_kept)
        return asvk_error_set(ASVK_ERR_USAGE, "%s: an identity shortcut needs stride 1, not %u", sctx, c->stride);
    *cur_c = c->out;
    return ASVK_OK;
}

static asvk_status read_block(const cJSON *o, uint32_t b, uint32_t *cur_c, asvk_motif_reading reading,
                              asvk_layer *l) {
    char ctx[64], cctx[96], sctx[96];
    snprintf(ctx, sizeof ctx, "blocks[%u]", b);
    snprintf(cctx, sizeof cctx, "%s.mobile_inverted_conv", ctx);
    snprintf(sctx, sizeof sctx, "%s.shortcut", ctx);
    asvk_status st;
    if ((st = asvk_json_check_keys(o, ctx, block_keys)) || (st = need_name(o, ctx, "MobileInvertedResidualBlock")))
        return st;
    const cJSON *conv = asvk_json_get(o, "mobile_inverted_conv");
    const cJSON *shortcut = asvk_json_get(o, "shortcut");
    if (!conv) return asvk_error_set(ASVK_ERR_USAGE, "%s is missing", cctx);
    if (!cJSON_IsObject(conv)) return asvk_error_set(ASVK_ERR_USAGE, "%s must be a JSON object", cctx);
    const char *name;
    if ((st = asvk_json_string(conv, cctx, "name", true, NULL, &name))) return st;
    if (strcmp(name, "Motif") == 0) return read_motif(conv, cctx, shortcut, sctx, cur_c, reading, l);
    if (strcmp(name, "ZeroLayer") == 0) {
        uint32_t stride;
        if ((st = asvk_json_check_keys(conv, cctx, zero_keys)) ||
            (st = asvk_json_uint(conv, cctx, "stride", false, 1, 1, 8, &stride)))
            return st;
        if (stride != 1)
            return asvk_error_set(ASVK_ERR_USAGE, "%s: a ZeroLayer with stride %u is not supported (only stride 1)", cctx,
                                  stride);
        if (!shortcut)
            return asvk_error_set(ASVK_ERR_USAGE, "%s: a ZeroLayer without a shortcut outputs zeros; not supported", ctx);
        if ((st = read_identity(shortcut, sctx, *cur_c, *cur_c))) return st;
        *l = asvk_layer_default(ASVK_LAYER_SKIP);
        return ASVK_OK;
    }
    if (strcmp(name, "MBInvertedConvLayer") != 0 && strcmp(name, "MBConvLayer") != 0)
        return asvk_error_set(ASVK_ERR_USAGE,
                              "%s is a '%s'; a block's conv must be an MBInvertedConvLayer, MBConvLayer or ZeroLayer",
                              cctx, name);
    *l = asvk_layer_default(ASVK_LAYER_MBCONV);
    asvk_mbconv_spec *m = &l->mbconv;
    uint32_t in, groups;
    bool has_se, use_se;
    if ((st = asvk_json_check_keys(conv, cctx, mb_keys)) ||
        (st = asvk_json_uint(conv, cctx, "in_channels", true, 0, 1, BIG, &in)) ||
        (st = asvk_json_uint(conv, cctx, "out_channels", true, 0, 1, BIG, &m->out)) ||
        (st = asvk_json_uint(conv, cctx, "kernel_size", false, 3, 1, 15, &m->kernel)) ||
        (st = asvk_json_uint(conv, cctx, "stride", false, 1, 1, 8, &m->stride)) ||
        (st = asvk_json_number(conv, cctx, "expand_ratio", false, 6, 0.01, 64, &m->expand)) ||
        (st = asvk_json_uint(conv, cctx, "mid_channels", false, 0, 1, BIG, &m->mid)) ||
        (st = asvk_json_uint(conv, cctx, "groups", false, 1, 1, 1, &groups)) ||
        (st = read_act(conv, cctx, ASVK_ACT_RELU6, &m->act)) ||
        (st = asvk_json_bool(conv, cctx, "has_se", false, false, &has_se)) ||
        (st = asvk_json_bool(conv, cctx, "use_se", false, false, &use_se)))
        return st;
    if ((st = channels_match(cctx, "in_channels", in, *cur_c))) return st;
    m->se = has_se || use_se;
    /* Canonical form: a mid equal to the derived width, or a residual equal to
     * the default rule, is stored as "derived", so that an import equals the
     * same network built by hand or by name. */
    if (m->mid && m->expand != 1 && m->mid == (uint32_t)nearbyint(in * m->expand)) m->mid = 0;
    if (m->mid && m->expand == 1 && m->mid == in) m->mid = 0;
    bool shape_kept = m->stride == 1 && in == m->out;
    if (shortcut) {
        if ((st = read_identity(shortcut, sctx, in, m->out))) return st;
        if (!shape_kept)
            return asvk_error_set(ASVK_ERR_USAGE, "%s: an identity shortcut needs stride 1, not %u", sctx, m->stride);
    }
    m->residual = (shortcut != NULL) == shape_kept ? ASVK_RESIDUAL_AUTO : ASVK_RESIDUAL_OFF;
    *cur_c = m->out;
    return ASVK_OK;
}

static asvk_status read_classifier(const cJSON *o, uint32_t cur_c, asvk_arch *a) {
    const char *ctx = "classifier";
    asvk_status st;
    asvk_layer l = asvk_layer_default(ASVK_LAYER_LINEAR);
    uint32_t in;
    bool bn;
    double rate;
    if ((st = asvk_json_check_keys(o, ctx, linear_keys)) || (st = need_name(o, ctx, "LinearLayer")) ||
        (st = asvk_json_uint(o, ctx, "in_features", true, 0, 1, BIG, &in)) ||
        (st = asvk_json_uint(o, ctx, "out_features", true, 0, 1, BIG, &l.linear.out)) ||
        (st = asvk_json_bool(o, ctx, "bias", false, true, &l.linear.bias)) ||
        (st = asvk_json_bool(o, ctx, "use_bn", false, false, &bn)) ||
        (st = read_act(o, ctx, ASVK_ACT_NONE, &l.linear.act)) ||
        (st = asvk_json_number(o, ctx, "dropout_rate", false, 0, 0, 0.999999, &rate)) || (st = weight_bn_act(o, ctx)))
        return st;
    if (bn) return asvk_error_set(ASVK_ERR_USAGE, "classifier.use_bn true is not supported");
    if ((st = channels_match(ctx, "in_features", in, cur_c))) return st;
    if (rate > 0) { /* ProxylessNAS LinearLayer drops out its input, before the weights */
        asvk_layer d = asvk_layer_default(ASVK_LAYER_DROPOUT);
        d.dropout = rate;
        if ((st = asvk_arch_append(a, &d))) return st;
    }
    a->num_classes = l.linear.out;
    return asvk_arch_append(a, &l);
}

static asvk_status import(const cJSON *root, asvk_motif_reading reading, asvk_arch *a) {
    asvk_status st;
    if ((st = asvk_json_check_keys(root, "", top_keys))) return st;
    const char *net;
    if ((st = asvk_json_string(root, "", "name", false, "ProxylessNASNets", &net))) return st;
    bool mbv3 = strcmp(net, "MobileNetV3") == 0;
    if (!mbv3 && strcmp(net, "ProxylessNASNets") != 0)
        return asvk_error_set(ASVK_ERR_USAGE, "name: network class '%s' is not supported (ProxylessNASNets or "
                              "MobileNetV3)", net);
    const cJSON *bn = asvk_json_get(root, "bn");
    a->bn_momentum = 0.1, a->bn_eps = 1e-5; /* PyTorch's, which ProxylessNAS keeps when "bn" is absent */
    if (bn && ((st = asvk_json_check_keys(bn, "bn", bn_keys)) ||
               (st = asvk_json_number(bn, "bn", "momentum", false, 0.1, 0, 1, &a->bn_momentum)) ||
               (st = asvk_json_number(bn, "bn", "eps", false, 1e-5, 1e-12, 0.5, &a->bn_eps))))
        return st;
    const cJSON *first = asvk_json_get(root, "first_conv");
    const cJSON *blocks = asvk_json_get(root, "blocks");
    const cJSON *mix = asvk_json_get(root, "feature_mix_layer");
    const cJSON *fexp = asvk_json_get(root, "final_expand_layer");
    const cJSON *cls = asvk_json_get(root, "classifier");
    if (fexp && !mbv3)
        return asvk_error_set(ASVK_ERR_USAGE, "final_expand_layer belongs to a MobileNetV3 (\"name\": \"MobileNetV3\"), "
                              "not to a %s", net);
    if (mbv3 && (!fexp || !cJSON_IsObject(fexp)))
        return asvk_error_set(ASVK_ERR_USAGE, "final_expand_layer must be a JSON object in a MobileNetV3");
    if (!first) return asvk_error_set(ASVK_ERR_USAGE, "first_conv is missing");
    if (!blocks || !cJSON_IsArray(blocks)) return asvk_error_set(ASVK_ERR_USAGE, "blocks must be an array of blocks");
    if (!cls) return asvk_error_set(ASVK_ERR_USAGE, "classifier is missing");
    asvk_layer l;
    uint32_t cur = 0;
    if (!cJSON_IsObject(first)) return asvk_error_set(ASVK_ERR_USAGE, "first_conv must be a JSON object");
    if ((st = asvk_json_uint(first, "first_conv", "in_channels", true, 0, 1, BIG, &a->in_channels)) ||
        (st = read_conv(first, "first_conv", &cur, &l)) || (st = asvk_arch_append(a, &l)))
        return st;
    uint32_t b = 0;
    for (const cJSON *it = blocks->child; it; it = it->next, b++) {
        if (!cJSON_IsObject(it)) return asvk_error_set(ASVK_ERR_USAGE, "blocks[%u] must be a JSON object", b);
        if ((st = read_block(it, b, &cur, reading, &l)) || (st = asvk_arch_append(a, &l))) return st;
    }
    if (mix && !cJSON_IsObject(mix))
        return asvk_error_set(ASVK_ERR_USAGE, "feature_mix_layer must be a JSON object or null");
    if (mbv3 && ((st = read_conv(fexp, "final_expand_layer", &cur, &l)) || (st = asvk_arch_append(a, &l)))) return st;
    if (mix && !mbv3 && ((st = read_conv(mix, "feature_mix_layer", &cur, &l)) || (st = asvk_arch_append(a, &l))))
        return st;
    l = asvk_layer_default(ASVK_LAYER_GLOBAL_POOL);
    if ((st = asvk_arch_append(a, &l))) return st;
    /* MobileNetV3: the feature mix is a 1x1 conv on the pooled 1x1 map */
    if (mix && mbv3 && ((st = read_conv(mix, "feature_mix_layer", &cur, &l)) || (st = asvk_arch_append(a, &l))))
        return st;
    if (!cJSON_IsObject(cls)) return asvk_error_set(ASVK_ERR_USAGE, "classifier must be a JSON object");
    if ((st = read_classifier(cls, cur, a))) return st;
    return asvk_arch_validate(a, 0);
}

asvk_status asvk_arch_from_netconfig_reading(const cJSON *root, const char *name, asvk_motif_reading reading,
                                             asvk_arch *out) {
    asvk_arch_init(out);
    snprintf(out->name, sizeof out->name, "%s", name && *name ? name : "netconfig");
    asvk_status st = import(root, reading, out);
    if (st) asvk_arch_free(out);
    return st;
}

asvk_status asvk_arch_from_netconfig(const cJSON *root, const char *name, asvk_arch *out) {
    return asvk_arch_from_netconfig_reading(root, name, ASVK_MOTIF_READING_DEFAULT, out);
}

/* once-for-all publishes each network as net.config with a run.config
 * beside it whose image_size is the input resolution (a number, or the list
 * of training sizes, whose largest is the evaluation size). Other keys are
 * training settings asvk does not use. */
asvk_status asvk_netconfig_run_resolution(const char *netconfig_path, uint32_t *resolution) {
    *resolution = 0;
    const char *slash = strrchr(netconfig_path, '/');
    char path[4096];
    int n = snprintf(path, sizeof path, "%.*srun.config", slash ? (int)(slash - netconfig_path + 1) : 0, netconfig_path);
    if (n < 0 || (size_t)n >= sizeof path) return ASVK_OK;
    FILE *f = fopen(path, "rb");
    if (!f) return ASVK_OK; /* no run.config: the default resolution */
    fclose(f);
    char *text;
    size_t len;
    cJSON *root = NULL;
    asvk_status st = asvk_file_read_all(path, 1u << 20, &text, &len);
    if (st) return st;
    st = asvk_json_parse(text, len, path, &root);
    free(text);
    if (st) return st;
    const cJSON *v = cJSON_IsObject(root) ? asvk_json_get(root, "image_size") : NULL;
    double best = 0;
    bool ok = v && (cJSON_IsNumber(v) || (cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0));
    for (const cJSON *it = v && cJSON_IsArray(v) ? v->child : v; ok && it; it = cJSON_IsArray(v) ? it->next : NULL) {
        double d = it->valuedouble;
        if (!cJSON_IsNumber(it) || d != floor(d) || d < 1 || d > 16384) ok = false;
        else if (d > best) best = d;
    }
    if (!v && cJSON_IsObject(root))
        st = asvk_error_set(ASVK_ERR_USAGE, "%s: image_size is missing (the input resolution of the net.config beside it)",
                            path);
    else if (!ok)
        st = asvk_error_set(ASVK_ERR_USAGE, "%s: image_size must be a resolution from 1 to 16384 or a list of them", path);
    else *resolution = (uint32_t)best;
    cJSON_Delete(root);
    return st;
}
