/* Published block tables (ProxylessNAS, once-for-all): the block keys of a
 * network, its prediction as the sum of their entries in the order the
 * authors' estimators add them, the model of blocks a table lacks, and the
 * table file's "source" and "block_model" members.
 *
 * Keys (shapes H x W x C): "Conv-input:..-output:.." is the first conv;
 * "expanded_conv-input:..-output:..-expand:E-kernel:K-stride:S-idskip:I" an
 * MBConv block (E the expansion ratio; once-for-all: the middle width, and
 * "-se:0/1-hs:0/1" follow); "Conv_1" the conv before the global pool;
 * once-for-all's "AvgPool2D" the pool and "Conv_2" the feature mix after it;
 * "Logits-input:..-output:N" the classifier (ProxylessNAS: its input is the
 * map before the pool, which it includes). A skip block costs nothing, as a
 * ZeroLayer in ProxylessNAS's estimator. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autospace/latency_internal.h"
#include "runtime/io/json_read.h"

static const char *const model_terms[ASVK_LUT_MODEL_TERMS] = {"pointwise_madds", "depthwise_madds",
                                                              "activation_elements", "se_madds", "expand_conv",
                                                              "constant"};

const asvk_lut_block_model *asvk_lut_model(const asvk_lut *t) { return &t->model; }

static const char *scheme_name(asvk_lut_keys k) {
    return k == ASVK_LUT_KEYS_PROXYLESS ? "proxylessnas" : k == ASVK_LUT_KEYS_OFA ? "once-for-all" : "node";
}

/* ---- keys ---- */

typedef struct {
    char type[16];
    uint32_t in[3], out[3], nout; /* nout: 1 for Logits' class count */
    uint32_t expand, kernel, stride, idskip, se, hs;
    bool block; /* expanded_conv */
} block_key;

/* Strict parse: the whole key must be one of the forms above. */
static bool parse_key(const char *key, asvk_lut_keys scheme, block_key *b, char *why, size_t n) {
    memset(b, 0, sizeof *b);
    const char *dash = strchr(key, '-');
    size_t tl = dash ? (size_t)(dash - key) : 0;
    static const char *const types[] = {"Conv", "Conv_1", "Conv_2", "AvgPool2D", "Logits", "expanded_conv"};
    bool known = false;
    for (size_t i = 0; i < sizeof types / sizeof *types && !known; i++)
        known = tl == strlen(types[i]) && strncmp(key, types[i], tl) == 0;
    if (!known) {
        if (why) snprintf(why, n, "its type '%.*s' is none of Conv, Conv_1, Conv_2, AvgPool2D, Logits, expanded_conv",
                          (int)(tl ? tl : strcspn(key, "")), key);
        return false;
    }
    memcpy(b->type, key, tl);
    b->block = strcmp(b->type, "expanded_conv") == 0;
    bool logits = strcmp(b->type, "Logits") == 0;
    int used = -1;
    const char *p = dash;
    if (sscanf(p, "-input:%ux%ux%u-output:%n", &b->in[0], &b->in[1], &b->in[2], &used) != 3 || used < 0) goto bad;
    p += used, used = -1;
    if (logits) {
        if (sscanf(p, "%u%n", &b->out[0], &used) != 1 || used < 0) goto bad;
        b->nout = 1;
    } else {
        if (sscanf(p, "%ux%ux%u%n", &b->out[0], &b->out[1], &b->out[2], &used) != 3 || used < 0) goto bad;
        b->nout = 3;
    }
    p += used, used = -1;
    if (b->block) {
        if (sscanf(p, "-expand:%u-kernel:%u-stride:%u-idskip:%u%n", &b->expand, &b->kernel, &b->stride, &b->idskip,
                   &used) != 4 || used < 0)
            goto bad;
        p += used, used = -1;
        if (scheme == ASVK_LUT_KEYS_OFA) {
            if (sscanf(p, "-se:%u-hs:%u%n", &b->se, &b->hs, &used) != 2 || used < 0) goto bad;
            p += used;
        }
    }
    if (*p) goto bad;
    for (int i = 0; i < 3; i++)
        if (b->in[i] < 1 || b->in[i] > 65536 || (i < (int)b->nout && (b->out[i] < 1 || b->out[i] > 65536))) goto bad;
    if (b->block && (b->expand < 1 || b->expand > 65536 || b->kernel < 1 || b->kernel > 15 || b->stride < 1 ||
                     b->stride > 8 || b->idskip > 1 || b->se > 1 || b->hs > 1))
        goto bad;
    return true;
bad:
    if (why)
        snprintf(why, n, "it is not of the form %s", b->block ? (scheme == ASVK_LUT_KEYS_OFA
                     ? "expanded_conv-input:HxWxC-output:HxWxC-expand:MID-kernel:K-stride:S-idskip:0|1-se:0|1-hs:0|1"
                     : "expanded_conv-input:HxWxC-output:HxWxC-expand:E-kernel:K-stride:S-idskip:0|1")
                 : logits ? "Logits-input:HxWxC-output:N" : "TYPE-input:HxWxC-output:HxWxC");
    return false;
}

bool asvk_lut_block_key_valid(const char *key, asvk_lut_keys scheme, char *why, size_t n) {
    block_key b;
    return parse_key(key, scheme, &b, why, n);
}

/* ---- the model ---- */

static double md8(double v) { return (double)asvk_make_divisible(v, 8); }

static void features(const block_key *b, asvk_lut_keys scheme, double x[ASVK_LUT_MODEL_TERMS]) {
    memset(x, 0, ASVK_LUT_MODEL_TERMS * sizeof *x);
    double hi = b->in[0], wi = b->in[1], ci = b->in[2], ho = b->out[0], wo = b->out[1], co = b->out[2];
    x[5] = 1;
    if (b->block) {
        double mid = scheme == ASVK_LUT_KEYS_OFA ? b->expand : ci * b->expand;
        bool exp = mid != ci;
        x[0] = (exp ? hi * wi * ci * mid : 0) + ho * wo * mid * co;
        x[1] = ho * wo * mid * b->kernel * b->kernel;
        x[2] = (exp ? hi * wi * mid : 0) + ho * wo * mid + hi * wi * ci + ho * wo * co;
        x[3] = b->se ? 2 * mid * md8(floor(mid / 4)) : 0;
        x[4] = exp;
    } else if (strcmp(b->type, "Logits") == 0) {
        x[0] = ci * b->out[0];
        x[2] = hi * wi * ci;
    } else if (strcmp(b->type, "AvgPool2D") == 0) {
        x[2] = hi * wi * ci;
    } else { /* Conv (3x3, the stem), Conv_1, Conv_2 (1x1) */
        x[0] = ho * wo * co * ci * (strcmp(b->type, "Conv") == 0 ? 9 : 1);
        x[2] = hi * wi * ci + ho * wo * co;
    }
}

/* Weighted least squares, minimizing sum ((x.c) / y - 1)^2 over rows not
 * `skip`: normal equations on columns scaled to unit size, a tiny ridge for
 * the columns a table leaves constant or zero (SE in ProxylessNAS's). */
static bool solve(const double (*x)[ASVK_LUT_MODEL_TERMS], const double *y, uint32_t n, uint32_t skip,
                  double c[ASVK_LUT_MODEL_TERMS]) {
    enum { K = ASVK_LUT_MODEL_TERMS };
    double scale[K] = {0}, a[K][K + 1] = {{0}};
    for (uint32_t i = 0; i < n; i++)
        for (int k = 0; k < K; k++) scale[k] = fmax(scale[k], fabs(x[i][k]));
    for (int k = 0; k < K; k++) scale[k] = scale[k] > 0 ? scale[k] : 1;
    for (uint32_t i = 0; i < n; i++) {
        if (i == skip || !(y[i] > 0)) continue;
        for (int r = 0; r < K; r++) {
            double xr = x[i][r] / scale[r] / y[i];
            for (int k = 0; k < K; k++) a[r][k] += xr * x[i][k] / scale[k] / y[i];
            a[r][K] += xr;
        }
    }
    double tr = 0;
    for (int k = 0; k < K; k++) tr += a[k][k];
    for (int k = 0; k < K; k++) a[k][k] += 1e-9 * (tr > 0 ? tr : 1);
    for (int col = 0; col < K; col++) { /* Gaussian elimination, partial pivoting */
        int piv = col;
        for (int r = col + 1; r < K; r++)
            if (fabs(a[r][col]) > fabs(a[piv][col])) piv = r;
        if (!(fabs(a[piv][col]) > 0)) return false;
        for (int k = 0; k <= K; k++) {
            double t = a[col][k];
            a[col][k] = a[piv][k], a[piv][k] = t;
        }
        for (int r = 0; r < K; r++) {
            if (r == col) continue;
            double f = a[r][col] / a[col][col];
            for (int k = col; k <= K; k++) a[r][k] -= f * a[col][k];
        }
    }
    for (int k = 0; k < K; k++) c[k] = a[k][K] / a[k][k] / scale[k];
    for (int k = 0; k < K; k++)
        if (!isfinite(c[k])) return false;
    return true;
}

static double dot(const double *c, const double *x) {
    double s = 0;
    for (int k = 0; k < ASVK_LUT_MODEL_TERMS; k++) s += c[k] * x[k];
    return s;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void asvk_lut_blocks_fit(asvk_lut *t) {
    memset(&t->model, 0, sizeof t->model);
    uint32_t n = 0;
    double (*x)[ASVK_LUT_MODEL_TERMS] = malloc((t->n + 1) * sizeof *x);
    double *y = malloc((t->n + 1) * sizeof *y), *err = malloc((t->n + 1) * sizeof *err);
    for (uint32_t i = 0; x && y && err && i < t->n; i++) {
        block_key b;
        if (!parse_key(t->e[i].key, t->stamp.keys, &b, NULL, 0) || !b.block || !(t->e[i].ms > 0)) continue;
        features(&b, t->stamp.keys, x[n]);
        y[n++] = t->e[i].ms;
    }
    asvk_lut_block_model *m = &t->model;
    /* six terms: fewer than 12 blocks would leave the model to chance */
    if (n >= 12 && solve((const double (*)[ASVK_LUT_MODEL_TERMS])x, y, n, UINT32_MAX, m->coef)) {
        uint32_t ne = 0;
        for (uint32_t i = 0; i < n; i++) {
            double c[ASVK_LUT_MODEL_TERMS];
            if (solve((const double (*)[ASVK_LUT_MODEL_TERMS])x, y, n, i, c)) err[ne++] = fabs(dot(c, x[i]) / y[i] - 1);
        }
        qsort(err, ne, sizeof *err, cmp_double);
        m->entries = n;
        m->heldout_median = ne ? (ne % 2 ? err[ne / 2] : 0.5 * (err[ne / 2 - 1] + err[ne / 2])) : 0;
        m->heldout_p90 = ne ? err[(uint32_t)ceil(0.9 * ne) - 1] : 0;
    }
    free(x), free(y), free(err);
}

/* ---- a network's blocks ---- */

/* The table's first-conv key, which fixes its resolution (for messages). */
static const char *first_conv_key(const asvk_lut *t) {
    for (uint32_t i = 0; i < t->n; i++)
        if (strncmp(t->e[i].key, "Conv-input:", 11) == 0) return t->e[i].key;
    return "Conv-input:?";
}

typedef struct {
    asvk_lut_part *v;
    uint32_t n, cap;
    double total;
    asvk_status st;
} parts_acc;

static void shape(char *buf, size_t n, uint32_t h, uint32_t w, uint32_t c) { snprintf(buf, n, "%ux%ux%u", h, w, c); }

/* A block's time: its entry, or the model's estimate when the table lacks it. */
static asvk_status block_ms(const asvk_lut *t, const char *key, double *ms, bool *modeled) {
    const entry *e = asvk_lut_entry(t, key);
    *modeled = !e;
    if (e) {
        *ms = e->ms;
        return ASVK_OK;
    }
    block_key b;
    if (!t->model.entries)
        return asvk_error_set(ASVK_ERR_USAGE, "the table has no entry '%s' and no model of missing blocks", key);
    if (!parse_key(key, t->stamp.keys, &b, NULL, 0))
        return asvk_error_set(ASVK_ERR_INTERNAL, "'%s' is not a block key of the table", key);
    double x[ASVK_LUT_MODEL_TERMS];
    features(&b, t->stamp.keys, x);
    *ms = fmax(dot(t->model.coef, x), 0);
    return ASVK_OK;
}

static void add(parts_acc *p, const asvk_lut *t, int32_t layer, const char *key) {
    if (p->st) return;
    asvk_lut_part part = {.layer = layer};
    snprintf(part.key, sizeof part.key, "%s", key);
    if (key[0] && (p->st = block_ms(t, key, &part.ms, &part.modeled))) return;
    if (p->n == p->cap) {
        uint32_t c = p->cap ? 2 * p->cap : 32;
        asvk_lut_part *nv = realloc(p->v, c * sizeof *nv);
        if (!nv) {
            p->st = asvk_error_set(ASVK_ERR_OOM, "out of host memory");
            return;
        }
        p->v = nv, p->cap = c;
    }
    p->v[p->n++] = part;
    p->total += part.ms; /* in block order: the authors' estimators' sum, term for term */
}

static asvk_status no_block(const asvk_arch *a, uint32_t i, const char *why) {
    return asvk_error_set(ASVK_ERR_USAGE, "layer %u (%s) of '%s' %s", i, asvk_layer_type_name(a->layers[i].type),
                          a->name, why);
}

static asvk_status blocks_of(const asvk_lut *t, const asvk_arch *a, const asvk_layer_dims *d, parts_acc *p) {
    bool ofa = t->stamp.keys == ASVK_LUT_KEYS_OFA, pooled = false;
    char key[256], in[48], out[48];
    uint32_t sh = 0, sw = 0, sc = 0; /* the map before the global pool (ProxylessNAS's Logits input) */
    for (uint32_t i = 0; i < a->count && !p->st; i++) {
        const asvk_layer *l = &a->layers[i];
        const asvk_layer_dims *x = &d[i];
        shape(in, sizeof in, x->in_h, x->in_w, x->in_c);
        shape(out, sizeof out, x->out_h, x->out_w, x->out_c);
        key[0] = 0;
        switch (l->type) {
        case ASVK_LAYER_CONV: {
            const char *type = i == 0 ? "Conv" : !pooled ? "Conv_1" : ofa ? "Conv_2" : NULL;
            if (!type) return no_block(a, i, "has no block in a ProxylessNAS table (a conv after the global pool)");
            snprintf(key, sizeof key, "%s-input:%s-output:%s", type, in, out);
            break;
        }
        case ASVK_LAYER_MBCONV: {
            const asvk_mbconv_spec *m = &l->mbconv;
            uint32_t e = ofa ? x->mid : (uint32_t)m->expand;
            if (!ofa && (double)e != m->expand)
                return no_block(a, i, "has a fractional expansion ratio, which ProxylessNAS keys cannot hold");
            int n = snprintf(key, sizeof key, "expanded_conv-input:%s-output:%s-expand:%u-kernel:%u-stride:%u-idskip:%d",
                             in, out, e, m->kernel, m->stride, x->residual ? 1 : 0);
            if (ofa)
                snprintf(key + n, sizeof key - (size_t)n, "-se:%d-hs:%d", m->se ? 1 : 0, m->act == ASVK_ACT_HSWISH ? 1 : 0);
            break;
        }
        case ASVK_LAYER_SKIP: snprintf(key, sizeof key, "%s", ""); break; /* a ZeroLayer: no time */
        case ASVK_LAYER_GLOBAL_POOL:
            pooled = true, sh = x->in_h, sw = x->in_w, sc = x->in_c;
            if (ofa) snprintf(key, sizeof key, "AvgPool2D-input:%s-output:%s", in, out);
            break;
        case ASVK_LAYER_DROPOUT: continue;
        case ASVK_LAYER_LINEAR:
            if (ofa || !pooled) snprintf(key, sizeof key, "Logits-input:%s-output:%u", in, x->out_c);
            else snprintf(key, sizeof key, "Logits-input:%ux%ux%u-output:%u", sh, sw, sc, x->out_c);
            break;
        default: return no_block(a, i, "has no block in a published table (they price MBConv networks)");
        }
        if (l->type == ASVK_LAYER_SKIP) {
            add(p, t, (int32_t)i, "");
            if (!p->st) snprintf(p->v[p->n - 1].key, sizeof p->v[0].key, "skip");
        } else if (key[0]) {
            add(p, t, (int32_t)i, key);
        }
    }
    return p->st;
}

asvk_status asvk_lut_blocks_predict(const asvk_lut *t, const asvk_arch *a, asvk_lut_part **parts, uint32_t *count,
                                    double *ms) {
    if (parts) *parts = NULL, *count = 0;
    uint32_t res = a->resolution;
    if (t->stamp.resolution && res != t->stamp.resolution)
        return asvk_error_set(ASVK_ERR_USAGE, "the table holds %ux%u inputs (its key '%s'), but '%s' takes %ux%u; use "
                              "the table of that resolution or --resolution %u", t->stamp.resolution, t->stamp.resolution,
                              first_conv_key(t), a->name, res, res, t->stamp.resolution);
    asvk_layer_dims *d = malloc(((size_t)a->count + 1) * sizeof *d);
    if (!d) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    parts_acc p = {0};
    asvk_status st = asvk_arch_dims(a, 0, d);
    if (!st) st = blocks_of(t, a, d, &p);
    free(d);
    if (st) {
        free(p.v);
        return st;
    }
    *ms = p.total;
    if (parts) *parts = p.v, *count = p.n;
    else free(p.v);
    return ASVK_OK;
}

/* ---- file members ---- */

void asvk_lut_blocks_save(const asvk_lut *t, cJSON *j) {
    cJSON *s = cJSON_AddObjectToObject(j, "source");
    cJSON_AddStringToObject(s, "kind", t->stamp.imported ? "imported" : "measured");
    cJSON_AddStringToObject(s, "file", t->stamp.source);
    cJSON_AddStringToObject(s, "keys", scheme_name(t->stamp.keys));
    cJSON_AddNumberToObject(s, "resolution", t->stamp.resolution);
    if (!t->model.entries) return;
    cJSON *m = cJSON_AddObjectToObject(j, "block_model");
    cJSON_AddItemToObject(m, "terms", cJSON_CreateStringArray(model_terms, ASVK_LUT_MODEL_TERMS));
    cJSON *c = cJSON_AddArrayToObject(m, "coef");
    for (int k = 0; k < ASVK_LUT_MODEL_TERMS; k++) cJSON_AddItemToArray(c, asvk_json_exact(t->model.coef[k]));
    cJSON_AddNumberToObject(m, "entries", t->model.entries);
    asvk_json_add_exact(m, "heldout_median", t->model.heldout_median);
    asvk_json_add_exact(m, "heldout_p90", t->model.heldout_p90);
}

asvk_status asvk_lut_blocks_load(asvk_lut *t, const cJSON *j, const char *path) {
    static const char *const src_keys[] = {"kind", "file", "keys", "resolution", NULL};
    static const char *const model_keys[] = {"terms", "coef", "entries", "heldout_median", "heldout_p90", NULL};
    const cJSON *s = asvk_json_get(j, "source"), *m = asvk_json_get(j, "block_model");
    char ctx[1200];
    asvk_status st;
    const char *kind, *file, *keys;
    if (s) {
        snprintf(ctx, sizeof ctx, "%.1100s: source", path);
        if (!cJSON_IsObject(s)) return asvk_error_set(ASVK_ERR_USAGE, "%s must be an object", ctx);
        if ((st = asvk_json_check_keys(s, ctx, src_keys)) || (st = asvk_json_string(s, ctx, "kind", true, NULL, &kind)) ||
            (st = asvk_json_string(s, ctx, "file", false, "", &file)) ||
            (st = asvk_json_string(s, ctx, "keys", true, NULL, &keys)) ||
            (st = asvk_json_uint(s, ctx, "resolution", false, 0, 0, 16384, &t->stamp.resolution)) ||
            (st = asvk_utf8_check(file, path, "source.file")))
            return st;
        if (strcmp(kind, "imported") != 0 && strcmp(kind, "measured") != 0)
            return asvk_error_set(ASVK_ERR_USAGE, "%s.kind is '%s', not \"imported\" or \"measured\"", ctx, kind);
        t->stamp.imported = strcmp(kind, "imported") == 0;
        snprintf(t->stamp.source, sizeof t->stamp.source, "%s", file);
        if (strcmp(keys, "proxylessnas") == 0) t->stamp.keys = ASVK_LUT_KEYS_PROXYLESS;
        else if (strcmp(keys, "once-for-all") == 0) t->stamp.keys = ASVK_LUT_KEYS_OFA;
        else if (strcmp(keys, "node") == 0) t->stamp.keys = ASVK_LUT_KEYS_NODE;
        else return asvk_error_set(ASVK_ERR_USAGE, "%s.keys is '%s', not \"node\", \"proxylessnas\" or \"once-for-all\"",
                                   ctx, keys);
        if (t->stamp.keys != ASVK_LUT_KEYS_NODE && !t->stamp.resolution)
            return asvk_error_set(ASVK_ERR_USAGE, "%s.resolution is missing (a block table's shapes are at one resolution)",
                                  ctx);
    }
    if (!m) return ASVK_OK;
    snprintf(ctx, sizeof ctx, "%.1100s: block_model", path);
    if (!cJSON_IsObject(m)) return asvk_error_set(ASVK_ERR_USAGE, "%s must be an object", ctx);
    if (t->stamp.keys == ASVK_LUT_KEYS_NODE)
        return asvk_error_set(ASVK_ERR_USAGE, "%s belongs to block tables (source.keys)", ctx);
    const cJSON *c = asvk_json_get(m, "coef");
    if ((st = asvk_json_check_keys(m, ctx, model_keys)) ||
        (st = asvk_json_uint(m, ctx, "entries", true, 0, 1, UINT32_MAX, &t->model.entries)) ||
        (st = asvk_json_number(m, ctx, "heldout_median", false, 0, 0, 1e6, &t->model.heldout_median)) ||
        (st = asvk_json_number(m, ctx, "heldout_p90", false, 0, 0, 1e6, &t->model.heldout_p90)))
        return st;
    if (!cJSON_IsArray(c) || cJSON_GetArraySize(c) != ASVK_LUT_MODEL_TERMS)
        return asvk_error_set(ASVK_ERR_USAGE, "%s.coef must be an array of %d numbers", ctx, ASVK_LUT_MODEL_TERMS);
    int k = 0;
    for (const cJSON *v = c->child; v; v = v->next, k++) {
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
            return asvk_error_set(ASVK_ERR_USAGE, "%s.coef[%d] must be a finite number", ctx, k);
        t->model.coef[k] = v->valuedouble;
    }
    return ASVK_OK;
}

/* A cell of a skeleton's layer as a published table prices it: an MBConv
 * genome is the block at that layer's shapes; a skip costs nothing. */
asvk_status asvk_lut_blocks_predict_cell(const asvk_lut *t, const asvk_skeleton *sk, uint32_t layer, const asvk_cell *c,
                                         double *ms) {
    *ms = 0;
    if (c->nodes == 0) return ASVK_OK;
    uint32_t k = asvk_skeleton_mbconv_kernel(c), in, h, out = sk->layers[layer].out, s = sk->layers[layer].stride;
    if (!k)
        return asvk_error_set(ASVK_ERR_USAGE, "layer %u: a published latency table prices MBConv blocks only, not this "
                              "cell", layer);
    if (sk->resolution != t->stamp.resolution)
        return asvk_error_set(ASVK_ERR_USAGE, "the table holds %ux%u inputs (its key '%s'), but the skeleton %s takes "
                              "%ux%u", t->stamp.resolution, t->stamp.resolution, first_conv_key(t), sk->name,
                              sk->resolution, sk->resolution);
    asvk_skeleton_layer_input(sk, layer, &in, &h);
    uint32_t ho = (h + s - 1) / s;
    bool ofa = t->stamp.keys == ASVK_LUT_KEYS_OFA;
    uint32_t e = ofa ? (c->expand == 1 ? in : (uint32_t)nearbyint(in * (double)c->expand)) : (uint32_t)c->expand;
    if (!ofa && (float)e != c->expand)
        return asvk_error_set(ASVK_ERR_USAGE, "layer %u: expansion %g has no ProxylessNAS key", layer, (double)c->expand);
    char key[256];
    int n = snprintf(key, sizeof key, "expanded_conv-input:%ux%ux%u-output:%ux%ux%u-expand:%u-kernel:%u-stride:%u-idskip:%d",
                     h, h, in, ho, ho, out, e, k, s, s == 1 && in == out ? 1 : 0);
    if (ofa) snprintf(key + n, sizeof key - (size_t)n, "-se:%d-hs:%d", c->se ? 1 : 0, c->act == ASVK_ACT_HSWISH ? 1 : 0);
    bool modeled;
    return block_ms(t, key, ms, &modeled);
}
