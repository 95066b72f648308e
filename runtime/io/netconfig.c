/* ProxylessNAS net.config files (the format of the ProxylessNAS and AutoSpace
 * releases): import into an asvk_arch and export back. The import is strict
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

static const char *const top_keys[] = {"name", "bn", "first_conv", "blocks", "feature_mix_layer", "classifier", NULL};
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

static asvk_status read_identity(const cJSON *o, const char *ctx, uint32_t in_c, uint32_t out_c) {
    asvk_status st;
    uint32_t i, k;
    bool bn;
    if ((st = asvk_json_check_keys(o, ctx, identity_keys)) || (st = need_name(o, ctx, "IdentityLayer")) ||
        (st = asvk_json_uint(o, ctx, "in_channels", false, in_c, 1, BIG, &i)) ||
        (st = asvk_json_uint(o, ctx, "out_channels", false, out_c, 1, BIG, &k)) ||
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
    if (strcmp(net, "ProxylessNASNets") != 0)
        return asvk_error_set(ASVK_ERR_USAGE, "network class '%s' is not supported (only ProxylessNASNets)", net);
    const cJSON *bn = asvk_json_get(root, "bn");
    a->bn_momentum = 0.1, a->bn_eps = 1e-5; /* PyTorch's, which ProxylessNAS keeps when "bn" is absent */
    if (bn && ((st = asvk_json_check_keys(bn, "bn", bn_keys)) ||
               (st = asvk_json_number(bn, "bn", "momentum", false, 0.1, 0, 1, &a->bn_momentum)) ||
               (st = asvk_json_number(bn, "bn", "eps", false, 1e-5, 1e-12, 0.5, &a->bn_eps))))
        return st;
    const cJSON *first = asvk_json_get(root, "first_conv");
    const cJSON *blocks = asvk_json_get(root, "blocks");
    const cJSON *mix = asvk_json_get(root, "feature_mix_layer");
    const cJSON *cls = asvk_json_get(root, "classifier");
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
    if (mix) {
        if (!cJSON_IsObject(mix)) return asvk_error_set(ASVK_ERR_USAGE, "feature_mix_layer must be a JSON object or null");
        if ((st = read_conv(mix, "feature_mix_layer", &cur, &l)) || (st = asvk_arch_append(a, &l))) return st;
    }
    l = asvk_layer_default(ASVK_LAYER_GLOBAL_POOL);
    if ((st = asvk_arch_append(a, &l))) return st;
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

static cJSON *export_identity(uint32_t c) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", "IdentityLayer");
    cJSON_AddNumberToObject(o, "in_channels", c);
    cJSON_AddNumberToObject(o, "out_channels", c);
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

static cJSON *export_block(const asvk_layer *l, const asvk_layer_dims *d) {
    cJSON *o = cJSON_CreateObject(), *conv;
    cJSON_AddStringToObject(o, "name", "MobileInvertedResidualBlock");
    if (l->type == ASVK_LAYER_CELL) {
        if (!(conv = export_motif(l, d))) {
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddItemToObject(o, "mobile_inverted_conv", conv);
        if (d->residual) cJSON_AddItemToObject(o, "shortcut", export_identity(d->in_c));
        else cJSON_AddNullToObject(o, "shortcut");
        return o;
    }
    conv = cJSON_CreateObject();
    if (l->type == ASVK_LAYER_SKIP) {
        cJSON_AddStringToObject(conv, "name", "ZeroLayer");
        cJSON_AddNumberToObject(conv, "stride", 1);
        cJSON_AddItemToObject(o, "mobile_inverted_conv", conv);
        cJSON_AddItemToObject(o, "shortcut", export_identity(d->in_c));
        return o;
    }
    const asvk_mbconv_spec *m = &l->mbconv;
    cJSON_AddStringToObject(conv, "name", "MBInvertedConvLayer");
    cJSON_AddNumberToObject(conv, "in_channels", d->in_c);
    cJSON_AddNumberToObject(conv, "out_channels", d->out_c);
    cJSON_AddNumberToObject(conv, "kernel_size", m->kernel);
    cJSON_AddNumberToObject(conv, "stride", m->stride);
    cJSON_AddNumberToObject(conv, "expand_ratio", m->expand);
    /* Keys the original ProxylessNAS code lacks are written only when needed,
     * so that plain MBConv networks stay loadable by it. */
    if (m->mid) cJSON_AddNumberToObject(conv, "mid_channels", m->mid);
    if (m->act != ASVK_ACT_RELU6) add_act(conv, m->act);
    if (m->se) cJSON_AddBoolToObject(conv, "has_se", true);
    cJSON_AddItemToObject(o, "mobile_inverted_conv", conv);
    if (d->residual) cJSON_AddItemToObject(o, "shortcut", export_identity(d->in_c));
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
    for (i = 1; i < n && (a->layers[i].type == ASVK_LAYER_MBCONV || a->layers[i].type == ASVK_LAYER_SKIP ||
                          a->layers[i].type == ASVK_LAYER_CELL);
         i++) {
        cJSON *blk = export_block(&a->layers[i], &dims[i]);
        if (!blk) {
            st = asvk_error_prefix(ASVK_ERR_USAGE, "architecture '%s' cannot be written as a net.config: layer %u (cell): ",
                                   a->name, i);
            goto fail;
        }
        cJSON_AddItemToArray(blocks, blk);
    }
    if (i < n && a->layers[i].type == ASVK_LAYER_CONV && i + 1 < n && a->layers[i + 1].type == ASVK_LAYER_GLOBAL_POOL) {
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
    i++;
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
