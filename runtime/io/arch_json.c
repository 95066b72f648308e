/* asvk architecture files ("format": "asvk-arch/1", docs/architecture.md):
 * strict reading, writing, and telling them apart from net.config files. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/cell_ops.h"
#include "runtime/io/arch.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/json_read.h"
#include "runtime/io/netconfig.h"

#define ARCH_FORMAT "asvk-arch/1"
/* An architecture file is a few kilobytes; anything far larger is not one. */
#define MAX_ARCH_FILE (64u << 20)

static const char *const top_keys[] = {"format", "name", "in_channels", "resolution", "num_classes", "bn", "layers",
                                       NULL};
static const char *const bn_keys[] = {"momentum", "eps", NULL};
static const char *const conv_keys[] = {"type", "out", "kernel", "stride", "groups", "bn", "bias", "act", NULL};
static const char *const mbconv_keys[] = {"type", "out", "kernel", "stride", "expand", "mid", "act", "se",
                                          "residual", NULL};
static const char *const pool_keys[] = {"type", "mode", "kernel", "stride", "pad", NULL};
static const char *const linear_keys[] = {"type", "out", "bias", "act", NULL};
static const char *const dropout_keys[] = {"type", "rate", NULL};
static const char *const bare_keys[] = {"type", NULL};
static const char *const cell_keys[] = {"type", "out", "stride", "genome", NULL};
static const char *const genome_keys[] = {"nodes", "edges", "mix", "expand", "se", "act", NULL};

static asvk_status read_act(const cJSON *o, const char *ctx, asvk_act def, asvk_act *out) {
    const char *s;
    asvk_status st = asvk_json_string(o, ctx, "act", false, NULL, &s);
    if (st) return st;
    if (!s) {
        *out = def;
        return ASVK_OK;
    }
    if (!asvk_act_parse(s, out))
        return asvk_error_set(ASVK_ERR_USAGE, "%s.act '%s' is not an activation (none, relu, relu6, hswish, swish, sigmoid)",
                              ctx, s);
    return ASVK_OK;
}

/* "genome": {"nodes": 4, "edges": [[0, 1, "dw3x3"], ...], "mix": ["sum", ...],
 * "expand": 6, "se": false, "act": "relu6"} (docs/architecture.md) */
static asvk_status read_genome(const cJSON *o, const char *lctx, asvk_cell *c) {
    char ctx[48];
    snprintf(ctx, sizeof ctx, "%s.genome", lctx);
    if (!cJSON_IsObject(o)) return asvk_error_set(ASVK_ERR_USAGE, "%s must be a JSON object", ctx);
    uint32_t nodes;
    double expand;
    asvk_status st;
    if ((st = asvk_json_check_keys(o, ctx, genome_keys)) ||
        (st = asvk_json_uint(o, ctx, "nodes", true, 0, 2, ASVK_CELL_MAX_NODES, &nodes)) ||
        (st = asvk_json_number(o, ctx, "expand", true, 0, 0.01, 64, &expand)))
        return st;
    asvk_cell_init(c, nodes, (float)expand); /* a genome holds a float: 1.2 reads as 1.2f */
    if ((st = asvk_json_bool(o, ctx, "se", false, false, &c->se)) || (st = read_act(o, ctx, ASVK_ACT_RELU6, &c->act)))
        return st;
    const cJSON *edges = asvk_json_get(o, "edges");
    if (!cJSON_IsArray(edges))
        return asvk_error_set(ASVK_ERR_USAGE, "%s.edges must be an array of [from, to, \"op\"] triples", ctx);
    uint32_t e = 0;
    for (const cJSON *it = edges->child; it; it = it->next, e++) {
        const cJSON *j = cJSON_GetArrayItem(it, 0), *i = cJSON_GetArrayItem(it, 1), *op = cJSON_GetArrayItem(it, 2);
        asvk_cell_op code;
        /* range first: converting a double outside int's range is undefined (found by tests/fuzz) */
        if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 3 || !cJSON_IsNumber(j) || !cJSON_IsNumber(i) ||
            !cJSON_IsString(op) || !(j->valuedouble > -1e9 && j->valuedouble < 1e9) ||
            !(i->valuedouble > -1e9 && i->valuedouble < 1e9) || j->valuedouble != (int)j->valuedouble ||
            i->valuedouble != (int)i->valuedouble)
            return asvk_error_set(ASVK_ERR_USAGE, "%s.edges[%u] must be a [from, to, \"op\"] triple", ctx, e);
        int from = (int)j->valuedouble, to = (int)i->valuedouble;
        if (from < 0 || to <= from || to >= (int)nodes)
            return asvk_error_set(ASVK_ERR_USAGE, "%s.edges[%u]: %d -> %d is not an edge of a %u-node cell (0 <= from "
                                  "< to < %u)", ctx, e, from, to, nodes, nodes);
        if (!asvk_cell_op_parse(op->valuestring, &code) || code == ASVK_CELL_ZERO)
            return asvk_error_set(ASVK_ERR_USAGE, "%s.edges[%u]: '%s' is not an operator (identity, conv1x1, conv3x3, "
                                  "dw3x3, dw5x5, dw7x7, avgpool3x3, maxpool3x3)", ctx, e, op->valuestring);
        if (c->op[to][from])
            return asvk_error_set(ASVK_ERR_USAGE, "%s.edges[%u]: edge %d -> %d is given twice", ctx, e, from, to);
        c->op[to][from] = (uint8_t)code;
    }
    const cJSON *mix = asvk_json_get(o, "mix");
    if (mix) {
        if (!cJSON_IsArray(mix) || cJSON_GetArraySize(mix) != (int)nodes)
            return asvk_error_set(ASVK_ERR_USAGE, "%s.mix must be an array of %u modes (\"sum\" or \"weighted\"), one "
                                  "per node", ctx, nodes);
        uint32_t n = 0;
        for (const cJSON *it = mix->child; it; it = it->next, n++) {
            if (cJSON_IsString(it) && strcmp(it->valuestring, "sum") == 0) c->mix[n] = ASVK_MIX_SUM;
            else if (cJSON_IsString(it) && strcmp(it->valuestring, "weighted") == 0) c->mix[n] = ASVK_MIX_WEIGHTED;
            else return asvk_error_set(ASVK_ERR_USAGE, "%s.mix[%u] must be \"sum\" or \"weighted\"", ctx, n);
        }
    }
    st = asvk_cell_check(c);
    return st ? asvk_error_prefix(st, "%s: ", ctx) : ASVK_OK;
}

static asvk_status read_layer(const cJSON *o, uint32_t i, asvk_layer *l) {
    char ctx[32];
    snprintf(ctx, sizeof ctx, "layers[%u]", i);
    if (!cJSON_IsObject(o)) return asvk_error_set(ASVK_ERR_USAGE, "%s must be a JSON object", ctx);
    const char *ts;
    asvk_status st = asvk_json_string(o, ctx, "type", true, NULL, &ts);
    if (st) return st;
    asvk_layer_type t;
    if (!asvk_layer_type_parse(ts, &t))
        return asvk_error_set(ASVK_ERR_USAGE,
                              "%s.type '%s' is not a layer type (conv, mbconv, cell, skip, pool, global_pool, dropout, linear)",
                              ctx, ts);
    *l = asvk_layer_default(t);
    const uint32_t big = 65536;
    switch (t) {
    case ASVK_LAYER_CONV: {
        asvk_conv_spec *c = &l->conv;
        if ((st = asvk_json_check_keys(o, ctx, conv_keys)) ||
            (st = asvk_json_uint(o, ctx, "out", true, 0, 1, big, &c->out)) ||
            (st = asvk_json_uint(o, ctx, "kernel", true, 0, 1, 15, &c->kernel)) ||
            (st = asvk_json_uint(o, ctx, "stride", false, 1, 1, 8, &c->stride)) ||
            (st = asvk_json_uint(o, ctx, "groups", false, 1, 1, big, &c->groups)) ||
            (st = asvk_json_bool(o, ctx, "bn", false, true, &c->bn)) ||
            (st = asvk_json_bool(o, ctx, "bias", false, false, &c->bias)) ||
            (st = read_act(o, ctx, ASVK_ACT_RELU6, &c->act)))
            return st;
        return ASVK_OK;
    }
    case ASVK_LAYER_MBCONV: {
        asvk_mbconv_spec *m = &l->mbconv;
        const cJSON *res = asvk_json_get(o, "residual");
        if ((st = asvk_json_check_keys(o, ctx, mbconv_keys)) ||
            (st = asvk_json_uint(o, ctx, "out", true, 0, 1, big, &m->out)) ||
            (st = asvk_json_uint(o, ctx, "kernel", true, 0, 1, 15, &m->kernel)) ||
            (st = asvk_json_uint(o, ctx, "stride", false, 1, 1, 8, &m->stride)) ||
            (st = asvk_json_number(o, ctx, "expand", true, 0, 0.01, 64, &m->expand)) ||
            (st = asvk_json_uint(o, ctx, "mid", false, 0, 1, big, &m->mid)) ||
            (st = read_act(o, ctx, ASVK_ACT_RELU6, &m->act)) ||
            (st = asvk_json_bool(o, ctx, "se", false, false, &m->se)))
            return st;
        if (res) {
            bool r;
            if ((st = asvk_json_bool(o, ctx, "residual", false, false, &r))) return st;
            m->residual = r ? ASVK_RESIDUAL_ON : ASVK_RESIDUAL_OFF;
        }
        return ASVK_OK;
    }
    case ASVK_LAYER_POOL: {
        asvk_pool_spec *p = &l->pool;
        const char *mode;
        if ((st = asvk_json_check_keys(o, ctx, pool_keys)) ||
            (st = asvk_json_string(o, ctx, "mode", true, NULL, &mode)) ||
            (st = asvk_json_uint(o, ctx, "kernel", true, 0, 1, 15, &p->kernel)) ||
            (st = asvk_json_uint(o, ctx, "stride", false, p->kernel, 1, 8, &p->stride)) ||
            (st = asvk_json_uint(o, ctx, "pad", false, 0, 0, 7, &p->pad)))
            return st;
        if (strcmp(mode, "avg") == 0) p->mode = ASVK_POOL_AVG;
        else if (strcmp(mode, "max") == 0) p->mode = ASVK_POOL_MAX;
        else return asvk_error_set(ASVK_ERR_USAGE, "%s.mode must be \"avg\" or \"max\", not '%s'", ctx, mode);
        return ASVK_OK;
    }
    case ASVK_LAYER_LINEAR: {
        asvk_linear_spec *s = &l->linear;
        if ((st = asvk_json_check_keys(o, ctx, linear_keys)) ||
            (st = asvk_json_uint(o, ctx, "out", true, 0, 1, big, &s->out)) ||
            (st = asvk_json_bool(o, ctx, "bias", false, true, &s->bias)) ||
            (st = read_act(o, ctx, ASVK_ACT_NONE, &s->act)))
            return st;
        return ASVK_OK;
    }
    case ASVK_LAYER_CELL: {
        asvk_cell_spec *c = &l->cell;
        const cJSON *g = asvk_json_get(o, "genome");
        if ((st = asvk_json_check_keys(o, ctx, cell_keys)) ||
            (st = asvk_json_uint(o, ctx, "out", true, 0, 1, big, &c->out)) ||
            (st = asvk_json_uint(o, ctx, "stride", false, 1, 1, 8, &c->stride)))
            return st;
        if (!g) return asvk_error_set(ASVK_ERR_USAGE, "%s.genome is missing", ctx);
        return read_genome(g, ctx, &c->cell);
    }
    case ASVK_LAYER_DROPOUT:
        if ((st = asvk_json_check_keys(o, ctx, dropout_keys)) ||
            (st = asvk_json_number(o, ctx, "rate", true, 0, 0, 0.999999, &l->dropout)))
            return st;
        return ASVK_OK;
    default: return asvk_json_check_keys(o, ctx, bare_keys);
    }
}

static asvk_status from_asvk_json(const cJSON *root, asvk_arch *a) {
    asvk_status st = asvk_json_check_keys(root, "", top_keys);
    if (st) return st;
    const char *format, *name;
    if ((st = asvk_json_string(root, "", "format", true, NULL, &format))) return st;
    if (strcmp(format, ARCH_FORMAT) != 0)
        return asvk_error_set(ASVK_ERR_USAGE, "format '%s' is not one this asvk reads (it reads \"%s\")", format,
                              ARCH_FORMAT);
    if ((st = asvk_json_string(root, "", "name", true, NULL, &name))) return st;
    if (!*name || strlen(name) >= ASVK_ARCH_NAME_MAX)
        return asvk_error_set(ASVK_ERR_USAGE, "name must have 1 to %d characters", ASVK_ARCH_NAME_MAX - 1);
    snprintf(a->name, sizeof a->name, "%s", name);
    if ((st = asvk_json_uint(root, "", "in_channels", false, 3, 1, 65536, &a->in_channels)) ||
        (st = asvk_json_uint(root, "", "resolution", false, 224, 1, 16384, &a->resolution)) ||
        (st = asvk_json_uint(root, "", "num_classes", true, 0, 1, 65536, &a->num_classes)))
        return st;
    const cJSON *bn = asvk_json_get(root, "bn");
    if (bn) {
        if ((st = asvk_json_check_keys(bn, "bn", bn_keys)) ||
            (st = asvk_json_number(bn, "bn", "momentum", false, 0.1, 0, 1, &a->bn_momentum)) ||
            (st = asvk_json_number(bn, "bn", "eps", false, 1e-5, 1e-12, 0.5, &a->bn_eps)))
            return st;
    }
    const cJSON *layers = asvk_json_get(root, "layers");
    if (!layers) return asvk_error_set(ASVK_ERR_USAGE, "layers is missing");
    if (!cJSON_IsArray(layers) || !cJSON_GetArraySize(layers))
        return asvk_error_set(ASVK_ERR_USAGE, "layers must be a non-empty array of layer objects");
    uint32_t i = 0;
    for (const cJSON *it = layers->child; it; it = it->next, i++) {
        asvk_layer l;
        if ((st = read_layer(it, i, &l)) || (st = asvk_arch_append(a, &l))) return st;
    }
    return asvk_arch_validate(a, 0);
}

/* "dir/proxyless_mobile.config" -> "proxyless_mobile"; once-for-all's
 * "LG-G8_lat-11ms/net.config" -> "LG-G8_lat-11ms" (the folder names the network) */
static void stem(const char *source, char *out, size_t n) {
    const char *b = source ? strrchr(source, '/') : NULL;
    size_t len;
    if (b && strcmp(b, "/net.config") == 0) {
        const char *f = b;
        while (f > source && f[-1] != '/') f--;
        len = (size_t)(b - f);
        b = f;
        if (!len || (b[0] == '.' && (len == 1 || (len == 2 && b[1] == '.')))) b = "net", len = 3;
    } else {
        b = b ? b + 1 : source;
        if (!b || !*b) b = "netconfig";
        const char *dotp = strrchr(b, '.');
        len = dotp && dotp != b ? (size_t)(dotp - b) : strlen(b);
    }
    if (len >= n) {
        len = n - 1;
        while (len && ((unsigned char)b[len] & 0xc0) == 0x80) len--; /* never half a UTF-8 character */
    }
    memcpy(out, b, len);
    out[len] = 0;
}

asvk_status asvk_arch_parse(const char *text, size_t len, const char *source, asvk_arch *out) {
    const char *src = source ? source : "architecture";
    asvk_arch_init(out);
    cJSON *root;
    asvk_status st = asvk_json_parse(text, len, src, &root);
    if (st) return st;
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return asvk_error_set(ASVK_ERR_USAGE, "%s: an architecture file must hold a JSON object", src);
    }
    if (cJSON_GetObjectItemCaseSensitive(root, "format")) {
        st = from_asvk_json(root, out);
    } else if (cJSON_GetObjectItemCaseSensitive(root, "first_conv") || cJSON_GetObjectItemCaseSensitive(root, "blocks")) {
        /* the network is named after the file, and its name goes into JSON and checkpoints */
        char name[ASVK_ARCH_NAME_MAX];
        st = asvk_utf8_check(source ? source : "", NULL, "the file name (the network's name)");
        stem(source, name, sizeof name);
        if (!st) st = asvk_arch_from_netconfig(root, name, out);
    } else {
        st = asvk_error_set(ASVK_ERR_USAGE,
                            "it is neither an asvk architecture (no \"format\": \"" ARCH_FORMAT "\") nor a ProxylessNAS "
                            "net.config (no \"first_conv\" and \"blocks\")");
    }
    cJSON_Delete(root);
    if (st) {
        asvk_arch_free(out);
        return asvk_error_prefix(st, "%s: ", src);
    }
    return ASVK_OK;
}

asvk_status asvk_arch_load(const char *path, asvk_arch *out) {
    asvk_arch_init(out);
    char *text;
    size_t len;
    asvk_status st = asvk_file_read_all(path, MAX_ARCH_FILE, &text, &len);
    if (st) return st;
    st = asvk_arch_parse(text, len, path, out);
    /* a net.config has no resolution: once-for-all's run.config beside it gives it */
    bool netconfig = !st && !strstr(text, "\"format\"");
    free(text);
    uint32_t res = 0;
    if (netconfig && (st = asvk_netconfig_run_resolution(path, &res))) asvk_arch_free(out);
    else if (netconfig && res) out->resolution = res;
    return st;
}

asvk_status asvk_arch_open(const char *spec, asvk_arch *out) {
    asvk_arch_init(out);
    if (!spec || !*spec) return asvk_error_set(ASVK_ERR_USAGE, "no architecture given (a file or a built-in: %s)",
                                               asvk_arch_builtin_names());
    /* A bare name that is a built-in wins over a file of that name in the
     * current folder (a dataset folder called "fmnist" must not shadow the
     * network); "./fmnist" names the file. */
    if (!strchr(spec, '/')) {
        if (asvk_arch_builtin_has(spec)) return asvk_arch_builtin(spec, out);
        if (access(spec, F_OK) != 0 && !strchr(spec, '.'))
            return asvk_error_set(ASVK_ERR_USAGE, "no architecture file or built-in named '%s' (built-ins: %s)", spec,
                                  asvk_arch_builtin_names());
    }
    return asvk_arch_load(spec, out);
}

/* ---- writing ---- */

typedef struct {
    char *s;
    size_t n, cap;
    bool oom;
} strbuf;

static void put(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(strbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->oom = true;
            return;
        }
        if (b->s && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = b->cap ? b->cap : 1024;
        while (cap <= b->n + (size_t)k) cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) {
            b->oom = true;
            return;
        }
        b->s = ns, b->cap = cap;
    }
}

static void put_double(strbuf *b, const char *key, double v) {
    char num[32];
    asvk_json_format_double(v, num, sizeof num);
    put(b, ", \"%s\": %s", key, num);
}

static void put_layer(strbuf *b, const asvk_layer *l) {
    put(b, "{\"type\": \"%s\"", asvk_layer_type_name(l->type));
    switch (l->type) {
    case ASVK_LAYER_CONV: {
        const asvk_conv_spec *c = &l->conv;
        put(b, ", \"out\": %u, \"kernel\": %u, \"stride\": %u, \"groups\": %u, \"bn\": %s, \"bias\": %s, \"act\": \"%s\"",
            c->out, c->kernel, c->stride, c->groups, c->bn ? "true" : "false", c->bias ? "true" : "false",
            asvk_act_name(c->act));
        break;
    }
    case ASVK_LAYER_MBCONV: {
        const asvk_mbconv_spec *m = &l->mbconv;
        put(b, ", \"out\": %u, \"kernel\": %u, \"stride\": %u", m->out, m->kernel, m->stride);
        put_double(b, "expand", m->expand);
        if (m->mid) put(b, ", \"mid\": %u", m->mid);
        put(b, ", \"act\": \"%s\", \"se\": %s", asvk_act_name(m->act), m->se ? "true" : "false");
        if (m->residual != ASVK_RESIDUAL_AUTO)
            put(b, ", \"residual\": %s", m->residual == ASVK_RESIDUAL_ON ? "true" : "false");
        break;
    }
    case ASVK_LAYER_POOL:
        put(b, ", \"mode\": \"%s\", \"kernel\": %u, \"stride\": %u, \"pad\": %u",
            l->pool.mode == ASVK_POOL_MAX ? "max" : "avg", l->pool.kernel, l->pool.stride, l->pool.pad);
        break;
    case ASVK_LAYER_DROPOUT: put_double(b, "rate", l->dropout); break;
    case ASVK_LAYER_CELL: {
        const asvk_cell *c = &l->cell.cell;
        put(b, ", \"out\": %u, \"stride\": %u, \"genome\": {\"nodes\": %u, \"edges\": [", l->cell.out, l->cell.stride,
            c->nodes);
        const char *sep = "";
        for (uint32_t i = 1; i < c->nodes; i++)
            for (uint32_t j = 0; j < i; j++)
                if (c->op[i][j]) {
                    put(b, "%s[%u, %u, \"%s\"]", sep, j, i, asvk_cell_op_name((asvk_cell_op)c->op[i][j]));
                    sep = ", ";
                }
        put(b, "], \"mix\": [");
        for (uint32_t i = 0; i < c->nodes; i++) put(b, "%s\"%s\"", i ? ", " : "", c->mix[i] ? "weighted" : "sum");
        /* the shortest text that reads back as the same float */
        char num[32];
        for (int p = 1; p <= 9; p++) {
            snprintf(num, sizeof num, "%.*g", p, (double)c->expand);
            if (strtof(num, NULL) == c->expand) break;
        }
        put(b, "], \"expand\": %s", num);
        put(b, ", \"se\": %s, \"act\": \"%s\"}", c->se ? "true" : "false", asvk_act_name(c->act));
        break;
    }
    case ASVK_LAYER_LINEAR:
        put(b, ", \"out\": %u, \"bias\": %s, \"act\": \"%s\"", l->linear.out, l->linear.bias ? "true" : "false",
            asvk_act_name(l->linear.act));
        break;
    default: break;
    }
    put(b, "}");
}

asvk_status asvk_arch_to_json(const asvk_arch *a, char **text) {
    *text = NULL;
    asvk_status st = asvk_arch_validate(a, 0);
    if (st) return asvk_error_prefix(st, "architecture '%s' is not valid: ", a->name);
    /* One layer per line: diffs of two architectures read layer by layer. */
    cJSON *name = cJSON_CreateString(a->name);
    char *qname = name ? cJSON_PrintUnformatted(name) : NULL;
    cJSON_Delete(name);
    strbuf b = {0};
    put(&b, "{\n  \"format\": \"%s\",\n  \"name\": %s,\n  \"in_channels\": %u,\n  \"resolution\": %u,\n"
            "  \"num_classes\": %u,\n  \"bn\": {",
        ARCH_FORMAT, qname ? qname : "\"?\"", a->in_channels, a->resolution, a->num_classes);
    free(qname);
    char num[32];
    asvk_json_format_double(a->bn_momentum, num, sizeof num);
    put(&b, "\"momentum\": %s", num);
    asvk_json_format_double(a->bn_eps, num, sizeof num);
    put(&b, ", \"eps\": %s},\n  \"layers\": [\n", num);
    for (uint32_t i = 0; i < a->count; i++) {
        put(&b, "    ");
        put_layer(&b, &a->layers[i]);
        put(&b, "%s\n", i + 1 < a->count ? "," : "");
    }
    put(&b, "  ]\n}\n");
    if (b.oom) {
        free(b.s);
        return asvk_error_set(ASVK_ERR_OOM, "out of host memory writing architecture '%s'", a->name);
    }
    *text = b.s;
    return ASVK_OK;
}

asvk_status asvk_arch_save(const char *path, const asvk_arch *a) {
    char *text;
    asvk_status st = asvk_arch_to_json(a, &text);
    if (st) return st;
    st = asvk_file_write_atomic(path, text, strlen(text));
    free(text);
    return st;
}
