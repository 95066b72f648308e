/* The published AutoSpace Motif encoding <-> asvk_cell; the operator-code
 * table below is OUR READING of the published files (runtime/io/motif.h). */
#include "runtime/io/motif.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "runtime/io/arch.h"

/* ---- the operator-code table: the one place the reading lives ---- */

enum { CODE_ZERO = 1, CODE_IDENTITY = 2 };

/* Depthwise codes and their kernel under each reading (0: not representable). */
static const struct { int code; uint32_t k[2]; } dw_codes[] = {
    /*         K_CODE_MINUS_2  K_CODE */
    {3, {3, 3}}, /* code - 2 would be a depthwise 1x1, not in the open space: read as dw3x3 */
    {5, {3, 5}},
    {7, {5, 7}},
    {9, {7, 0}},
};
#define N_DW (sizeof dw_codes / sizeof dw_codes[0])

/* The code a dw k x k encodes to: the first of the table, except that under
 * the default reading dw3x3 is 5 (the published MBConv chain (5, 2, 2)),
 * never the 3 that only the fallback above reads as dw3x3. */
static int dw_code(uint32_t k, asvk_motif_reading r) {
    if (r == ASVK_MOTIF_K_CODE_MINUS_2 && k == 3) return 5;
    for (size_t i = 0; i < N_DW; i++)
        if (dw_codes[i].k[r] == k) return dw_codes[i].code;
    return 0;
}

static const float expand_of_idx[] = {1, 3, 6}; /* dim_conv_idx 0, 1, 2 */

const char *asvk_motif_reading_name(asvk_motif_reading r) {
    return r == ASVK_MOTIF_K_CODE ? "code" : r == ASVK_MOTIF_K_CODE_MINUS_2 ? "code-2" : "?";
}

bool asvk_motif_reading_parse(const char *s, asvk_motif_reading *out) {
    if (strcmp(s, "code-2") == 0) *out = ASVK_MOTIF_K_CODE_MINUS_2;
    else if (strcmp(s, "code") == 0) *out = ASVK_MOTIF_K_CODE;
    else return false;
    return true;
}

static bool reading_ok(asvk_motif_reading r) { return r == ASVK_MOTIF_K_CODE_MINUS_2 || r == ASVK_MOTIF_K_CODE; }

asvk_status asvk_motif_op_decode(int code, asvk_motif_reading reading, asvk_cell_op *out) {
    if (!reading_ok(reading)) return asvk_error_set(ASVK_ERR_USAGE, "unknown Motif kernel reading %d", (int)reading);
    if (code == CODE_ZERO) *out = ASVK_CELL_ZERO;
    else if (code == CODE_IDENTITY) *out = ASVK_CELL_IDENTITY;
    else {
        for (size_t i = 0; i < N_DW; i++) {
            if (dw_codes[i].code != code) continue;
            uint32_t k = dw_codes[i].k[reading];
            if (!k)
                return asvk_error_set(ASVK_ERR_USAGE,
                                      "Motif operator code %d would be a depthwise %dx%d under the '%s' kernel reading, "
                                      "which asvk does not have; read the file with the 'code-2' reading",
                                      code, code, code, asvk_motif_reading_name(reading));
            *out = k == 3 ? ASVK_CELL_DW3X3 : k == 5 ? ASVK_CELL_DW5X5 : ASVK_CELL_DW7X7;
            return ASVK_OK;
        }
        return asvk_error_set(ASVK_ERR_USAGE, "Motif operator code %d is unknown (known: 1 none, 2 identity, 3, 5, 7, 9 "
                              "depthwise)", code);
    }
    return ASVK_OK;
}

asvk_status asvk_motif_op_encode(asvk_cell_op op, asvk_motif_reading reading, int *code) {
    if (!reading_ok(reading)) return asvk_error_set(ASVK_ERR_USAGE, "unknown Motif kernel reading %d", (int)reading);
    int c = 0;
    switch (op) {
    case ASVK_CELL_ZERO: c = CODE_ZERO; break;
    case ASVK_CELL_IDENTITY: c = CODE_IDENTITY; break;
    case ASVK_CELL_DW3X3: c = dw_code(3, reading); break;
    case ASVK_CELL_DW5X5: c = dw_code(5, reading); break;
    case ASVK_CELL_DW7X7: c = dw_code(7, reading); break;
    default: break;
    }
    if (!c)
        return asvk_error_set(ASVK_ERR_USAGE, "operator %s has no code in the Motif format (under the '%s' kernel "
                              "reading), which holds only identity and depthwise edges",
                              asvk_cell_op_name(op), asvk_motif_reading_name(reading));
    *code = c;
    return ASVK_OK;
}

asvk_status asvk_motif_expand_decode(int idx, float *expand) {
    if (idx < 0 || idx > 2)
        return asvk_error_set(ASVK_ERR_USAGE, "Motif dim_conv_idx %d is unknown (0, 1, 2: expand 1, 3, 6)", idx);
    *expand = expand_of_idx[idx];
    return ASVK_OK;
}

asvk_status asvk_motif_expand_encode(float expand, int *idx) {
    for (int i = 0; i < 3; i++)
        if (expand == expand_of_idx[i]) {
            *idx = i;
            return ASVK_OK;
        }
    return asvk_error_set(ASVK_ERR_USAGE, "expand ratio %g has no dim_conv_idx in the Motif format (1, 3, 6 only)",
                          (double)expand);
}

/* ---- whole cells ---- */

asvk_status asvk_motif_decode(const int m[4][4], int dim_conv_idx, const int mix[2], asvk_motif_reading reading,
                              asvk_cell *out) {
    float e = 0;
    asvk_status st = asvk_motif_expand_decode(dim_conv_idx, &e);
    if (st) return st;
    asvk_cell c;
    asvk_cell_init(&c, ASVK_MOTIF_NODES, e);
    for (int i = 1; i < 4; i++)
        for (int j = 0; j < i; j++) {
            asvk_cell_op op;
            if ((st = asvk_motif_op_decode(m[i][j], reading, &op)))
                return asvk_error_prefix(st, "edge %d -> %d: ", j, i);
            c.op[i][j] = (uint8_t)op;
        }
    for (int n = 0; n < 2; n++) {
        if (mix[n] != 0 && mix[n] != 1)
            return asvk_error_set(ASVK_ERR_USAGE, "Motif feature_mix_mode_idx of node %d is %d (0 sum, 1 weighted)",
                                  n + 2, mix[n]);
        c.mix[n + 2] = mix[n] ? ASVK_MIX_WEIGHTED : ASVK_MIX_SUM;
    }
    *out = c;
    return ASVK_OK;
}

asvk_status asvk_motif_encode(const asvk_cell *c, asvk_motif_reading reading, int m[4][4], int *dim_conv_idx,
                              int mix[2]) {
    if (c->nodes < 2 || c->nodes > ASVK_MOTIF_NODES)
        return asvk_error_set(ASVK_ERR_USAGE, "a %u-node cell does not fit the 4-node Motif format", c->nodes);
    if (c->act != ASVK_ACT_RELU6)
        return asvk_error_set(ASVK_ERR_USAGE, "a cell with activation %s does not fit the Motif format (relu6 only)",
                              asvk_act_name(c->act) ? asvk_act_name(c->act) : "?");
    for (int i = 0; i < ASVK_CELL_MAX_NODES; i++)
        for (int j = 0; j < ASVK_CELL_MAX_NODES; j++)
            if (c->op[i][j] && (j >= i || i >= c->nodes))
                return asvk_error_set(ASVK_ERR_USAGE, "edge %d -> %d is outside the cell's %u nodes", j, i, c->nodes);
    int idx = 0;
    asvk_status st = asvk_motif_expand_encode(c->expand, &idx);
    if (st) return st;
    int r[4][4] = {{0}};
    uint32_t last = c->nodes - 1u;
    for (int i = 1; i < 4; i++)
        for (int j = 0; j < i; j++) {
            /* padding: the old output node feeds the new ones by identity */
            asvk_cell_op op = (uint32_t)i <= last ? (asvk_cell_op)c->op[i][j]
                              : (uint32_t)j == (uint32_t)i - 1 ? ASVK_CELL_IDENTITY : ASVK_CELL_ZERO;
            if ((st = asvk_motif_op_encode(op, reading, &r[i][j]))) return asvk_error_prefix(st, "edge %d -> %d: ", j, i);
        }
    int x[2];
    for (int n = 0; n < 2; n++) {
        uint32_t node = (uint32_t)n + 2;
        x[n] = node <= last && c->mix[node] == ASVK_MIX_WEIGHTED ? 1 : 0;
    }
    memcpy(m, r, sizeof r);
    *dim_conv_idx = idx;
    mix[0] = x[0], mix[1] = x[1];
    return ASVK_OK;
}

/* ---- JSON ---- */

/* An integral JSON number, or -1000 (never a valid entry) with *ok false. */
static int json_int(const cJSON *v, bool *ok) {
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 1e6) {
        *ok = false;
        return -1000;
    }
    return (int)v->valuedouble;
}

asvk_status asvk_motif_from_json(const cJSON *matrix, const char *ctx, asvk_motif_reading reading, asvk_cell *out) {
    const char *where = ctx ? ctx : "Motif";
    if (!cJSON_IsArray(matrix) || cJSON_GetArraySize(matrix) != 4)
        return asvk_error_set(ASVK_ERR_USAGE, "%s must be a 4x4 matrix (an array of 4 rows)", where);
    int m[4][4] = {{0}}, idx = 0, mix[2] = {0, 0};
    for (int i = 0; i < 4; i++) {
        const cJSON *row = cJSON_GetArrayItem(matrix, i);
        if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != 4)
            return asvk_error_set(ASVK_ERR_USAGE, "%s[%d] must be a row of 4 entries", where, i);
        for (int j = 0; j < 4; j++) {
            const cJSON *v = cJSON_GetArrayItem(row, j);
            bool ok = true;
            if (i == 1 && j == 3) { /* the mix pair */
                if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2)
                    return asvk_error_set(ASVK_ERR_USAGE, "%s[1][3] must be the pair [mix of node 2, mix of node 3]",
                                          where);
                for (int n = 0; n < 2; n++) mix[n] = json_int(cJSON_GetArrayItem(v, n), &ok);
            } else {
                m[i][j] = json_int(v, &ok);
            }
            if (!ok) return asvk_error_set(ASVK_ERR_USAGE, "%s[%d][%d] must hold integers", where, i, j);
            if (i == 0 && j == 3) idx = m[0][3];
            else if (j >= i && !(i == 1 && j == 3) && m[i][j] != 0)
                return asvk_error_set(ASVK_ERR_USAGE, "%s[%d][%d] is %d; entries on and above the diagonal are 0 "
                                      "(but [0][3], dim_conv_idx, and [1][3], the mix pair)", where, i, j, m[i][j]);
        }
    }
    asvk_status st = asvk_motif_decode((const int(*)[4])m, idx, mix, reading, out);
    return st ? asvk_error_prefix(st, "%s: ", where) : ASVK_OK;
}

asvk_status asvk_motif_to_json(const asvk_cell *c, asvk_motif_reading reading, cJSON **out) {
    *out = NULL;
    int m[4][4], idx, mix[2];
    asvk_status st = asvk_motif_encode(c, reading, m, &idx, mix);
    if (st) return st;
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < 4; i++) {
        cJSON *row = cJSON_CreateArray();
        if (!row || !cJSON_AddItemToArray(a, row)) {
            cJSON_Delete(row);
            cJSON_Delete(a);
            a = NULL;
            break;
        }
        for (int j = 0; j < 4; j++) {
            cJSON *v = i == 1 && j == 3 ? cJSON_CreateIntArray(mix, 2) : cJSON_CreateNumber(i == 0 && j == 3 ? idx : m[i][j]);
            if (!v || !cJSON_AddItemToArray(row, v)) {
                cJSON_Delete(v);
                cJSON_Delete(a);
                a = NULL;
                break;
            }
        }
    }
    if (!a) return asvk_error_set(ASVK_ERR_OOM, "out of host memory writing a Motif");
    *out = a;
    return ASVK_OK;
}
