/* A genome as JSON (genome.h): written compactly, read strictly. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "autospace/genome.h"
#include "runtime/io/arch.h"
#include "runtime/io/json_read.h"

#define N ASVK_CELL_MAX_NODES

bool asvk_genome_hash_parse(const char *s, uint64_t *out) {
    if (!s || strlen(s) != 16) return false;
    uint64_t h = 0;
    for (int i = 0; i < 16; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return false;
        h = h << 4 | (uint64_t)d;
    }
    *out = h;
    return true;
}

cJSON *asvk_genome_to_json(const asvk_cell *c) {
    uint64_t h;
    if (asvk_genome_hash(c, &h)) return NULL;
    cJSON *o = cJSON_CreateObject(), *edges;
    if (!o || !cJSON_AddNumberToObject(o, "nodes", c->nodes) ||
        !cJSON_AddNumberToObject(o, "expand", (double)c->expand) || !(edges = cJSON_AddArrayToObject(o, "edges")))
        goto oom;
    for (uint32_t i = 1; i < c->nodes; i++)
        for (uint32_t j = 0; j < i; j++) {
            if (!c->op[i][j]) continue;
            cJSON *e = cJSON_CreateArray();
            if (!e) goto oom;
            cJSON_AddItemToArray(edges, e);
            cJSON_AddItemToArray(e, cJSON_CreateNumber(j));
            cJSON_AddItemToArray(e, cJSON_CreateNumber(i));
            cJSON_AddItemToArray(e, cJSON_CreateString(asvk_cell_op_name((asvk_cell_op)c->op[i][j])));
        }
    bool any = false;
    for (uint32_t i = 0; i < c->nodes; i++) any |= c->mix[i] == ASVK_MIX_WEIGHTED;
    if (any) {
        cJSON *wt = cJSON_AddArrayToObject(o, "weighted");
        if (!wt) goto oom;
        for (uint32_t i = 0; i < c->nodes; i++)
            if (c->mix[i] == ASVK_MIX_WEIGHTED) cJSON_AddItemToArray(wt, cJSON_CreateNumber(i));
    }
    if (c->se) cJSON_AddBoolToObject(o, "se", true);
    if (c->act != ASVK_ACT_RELU6) cJSON_AddStringToObject(o, "act", asvk_act_name(c->act));
    char hex[17];
    snprintf(hex, sizeof hex, "%016" PRIx64, h);
    if (!cJSON_AddStringToObject(o, "hash", hex)) goto oom;
    return o;
oom:
    cJSON_Delete(o);
    asvk_error_set(ASVK_ERR_OOM, "out of host memory writing a cell as JSON");
    return NULL;
}

static const char *const cell_keys[] = {"nodes", "expand", "edges", "weighted", "se", "act", "hash", NULL};

/* A small non-negative integer element of an array. */
static bool small_int(const cJSON *v, uint32_t hi, uint32_t *out) {
    if (!cJSON_IsNumber(v)) return false;
    double d = v->valuedouble;
    if (!(d >= 0 && d <= hi) || d != (double)(uint32_t)d) return false;
    *out = (uint32_t)d;
    return true;
}

static asvk_status read_edges(const cJSON *j, const char *ctx, asvk_cell *c) {
    const cJSON *edges = asvk_json_get(j, "edges");
    if (!edges) return asvk_error_set(ASVK_ERR_USAGE, "%s.edges is missing", ctx);
    if (!cJSON_IsArray(edges))
        return asvk_error_set(ASVK_ERR_USAGE, "%s.edges must be an array of [from, to, op]", ctx);
    int k = 0;
    for (const cJSON *e = edges->child; e; e = e->next, k++) {
        if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 3)
            return asvk_error_set(ASVK_ERR_USAGE, "%s.edges[%d] must be [from, to, op]", ctx, k);
        uint32_t from, to;
        const cJSON *f = cJSON_GetArrayItem(e, 0), *t = cJSON_GetArrayItem(e, 1), *o = cJSON_GetArrayItem(e, 2);
        if (!small_int(f, N, &from) || !small_int(t, N, &to) || to >= c->nodes || from >= to)
            return asvk_error_set(ASVK_ERR_USAGE,
                                  "%s.edges[%d]: from and to must be node numbers with from < to < nodes (%u)", ctx, k,
                                  c->nodes);
        asvk_cell_op op;
        if (!cJSON_IsString(o) || (!asvk_cell_op_parse(o->valuestring, &op) && strcmp(o->valuestring, "id") != 0))
            return asvk_error_set(ASVK_ERR_USAGE,
                                  "%s.edges[%d]: the operator must be one of identity, conv1x1, conv3x3, dw3x3, "
                                  "dw5x5, dw7x7, avgpool3x3, maxpool3x3",
                                  ctx, k);
        if (cJSON_IsString(o) && strcmp(o->valuestring, "id") == 0) op = ASVK_CELL_IDENTITY;
        if (op == ASVK_CELL_ZERO)
            return asvk_error_set(ASVK_ERR_USAGE, "%s.edges[%d]: a zero edge is no edge; leave it out", ctx, k);
        if (c->op[to][from])
            return asvk_error_set(ASVK_ERR_USAGE, "%s.edges[%d]: edge %u>%u is given twice", ctx, k, from, to);
        c->op[to][from] = (uint8_t)op;
    }
    return ASVK_OK;
}

asvk_status asvk_genome_from_json(const cJSON *j, const char *ctx, const asvk_genome_options *o, asvk_cell *out) {
    if (!ctx) ctx = "cell";
    if (!cJSON_IsObject(j)) return asvk_error_set(ASVK_ERR_USAGE, "%s must be a JSON object", ctx);
    asvk_status st;
    uint32_t nodes;
    double expand;
    bool se;
    const char *act_s, *hash_s;
    if ((st = asvk_json_check_keys(j, ctx, cell_keys)) ||
        (st = asvk_json_uint(j, ctx, "nodes", true, 0, 2, N, &nodes)) ||
        (st = asvk_json_number(j, ctx, "expand", true, 0, 1e-3, 64, &expand)) ||
        (st = asvk_json_bool(j, ctx, "se", false, false, &se)) ||
        (st = asvk_json_string(j, ctx, "act", false, NULL, &act_s)) ||
        (st = asvk_json_string(j, ctx, "hash", false, NULL, &hash_s)))
        return st;
    asvk_cell c;
    asvk_cell_init(&c, nodes, (float)expand);
    c.se = se;
    if (act_s && !asvk_act_parse(act_s, &c.act))
        return asvk_error_set(ASVK_ERR_USAGE, "%s.act '%s' is not an activation (none, relu, relu6, hswish, swish, sigmoid)",
                              ctx, act_s);
    if ((st = read_edges(j, ctx, &c))) return st;
    const cJSON *wt = asvk_json_get(j, "weighted");
    if (wt) {
        if (!cJSON_IsArray(wt))
            return asvk_error_set(ASVK_ERR_USAGE, "%s.weighted must be an array of node numbers", ctx);
        int k = 0;
        for (const cJSON *v = wt->child; v; v = v->next, k++) {
            uint32_t i;
            if (!small_int(v, N, &i) || i < 1 || i >= nodes)
                return asvk_error_set(ASVK_ERR_USAGE, "%s.weighted[%d] must be a node number from 1 to %u", ctx, k,
                                      nodes - 1);
            if (c.mix[i]) return asvk_error_set(ASVK_ERR_USAGE, "%s.weighted[%d]: node %u is given twice", ctx, k, i);
            c.mix[i] = ASVK_MIX_WEIGHTED;
        }
    }
    if ((st = asvk_genome_validate(&c, o))) return asvk_error_prefix(st, "%s: ", ctx);
    if (hash_s) {
        uint64_t want, got;
        if (!asvk_genome_hash_parse(hash_s, &want))
            return asvk_error_set(ASVK_ERR_USAGE, "%s.hash '%s' is not 16 hexadecimal digits", ctx, hash_s);
        if ((st = asvk_genome_hash(&c, &got))) return asvk_error_prefix(st, "%s: ", ctx);
        if (want != got)
            return asvk_error_set(ASVK_ERR_USAGE,
                                  "%s.hash %s does not match the cell (its hash is %016" PRIx64
                                  "): the file was edited or is corrupt",
                                  ctx, hash_s, got);
    }
    *out = c;
    return ASVK_OK;
}
