/* The genome's validity, canonical form, encoding, hash and text line
 * (genome.h says what each is; this file says how). */
#include "autospace/genome.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "autospace/genome_internal.h"

#define N ASVK_CELL_MAX_NODES

void asvk_genome_options_default(asvk_genome_options *o) {
    memset(o, 0, sizeof *o);
    o->ops = ((1u << ASVK_CELL_OPS) - 1) & ~1u;
    o->expands[0] = 1.0f, o->expands[1] = 3.0f, o->expands[2] = 6.0f;
    o->expand_count = 3;
    o->nodes = 4;
    o->density = 0.4;
    o->weighted = true;
    o->se = false;
    o->retries = 2000;
}

static const asvk_genome_options *opts_or_default(const asvk_genome_options *o, asvk_genome_options *tmp) {
    if (o) return o;
    asvk_genome_options_default(tmp);
    return tmp;
}

static void expands_text(const asvk_genome_options *o, char *buf, size_t n) {
    size_t len = 0;
    buf[0] = 0;
    for (uint32_t k = 0; k < o->expand_count && len < n; k++)
        len += (size_t)snprintf(buf + len, n - len, "%s%g", k ? ", " : "", o->expands[k]);
}

asvk_status asvk_genome_options_check(const asvk_genome_options *o) {
    if (!(o->ops & (((1u << ASVK_CELL_OPS) - 1) & ~1u)))
        return asvk_error_set(ASVK_ERR_USAGE, "the genome options allow no edge operator");
    if (o->nodes < 2 || o->nodes > N)
        return asvk_error_set(ASVK_ERR_USAGE, "genome nodes must be 2 to %d, not %u", N, o->nodes);
    if (o->expand_count > ASVK_GENOME_MAX_EXPANDS)
        return asvk_error_set(ASVK_ERR_USAGE, "at most %d expansion ratios, not %u", ASVK_GENOME_MAX_EXPANDS,
                              o->expand_count);
    for (uint32_t k = 0; k < o->expand_count; k++)
        if (!(o->expands[k] > 0 && o->expands[k] <= 64))
            return asvk_error_set(ASVK_ERR_USAGE, "expansion ratio %g must be in (0, 64]", o->expands[k]);
    if (!(o->density >= 0 && o->density <= 1))
        return asvk_error_set(ASVK_ERR_USAGE, "edge density %g must be in [0, 1]", o->density);
    if (o->retries == 0) return asvk_error_set(ASVK_ERR_USAGE, "genome retries must be at least 1");
    return ASVK_OK;
}

bool asvk_genome_op_has_params(uint8_t op) {
    return op == ASVK_CELL_CONV1X1 || op == ASVK_CELL_CONV3X3 || op == ASVK_CELL_DW3X3 || op == ASVK_CELL_DW5X5 ||
           op == ASVK_CELL_DW7X7;
}

/* Everything but paths and cost: the ranges and zeros of genome.h. */
static asvk_status check_form(const asvk_cell *c) {
    if (c->nodes < 2 || c->nodes > N)
        return asvk_error_set(ASVK_ERR_USAGE, "a cell has 2 to %d nodes, not %u", N, c->nodes);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            uint8_t op = c->op[i][j];
            if (!op) continue;
            if (op >= ASVK_CELL_OPS)
                return asvk_error_set(ASVK_ERR_USAGE, "edge %d>%d has operator code %u, not one of 0 to %d", j, i, op,
                                      ASVK_CELL_OPS - 1);
            if (j >= i)
                return asvk_error_set(ASVK_ERR_USAGE,
                                      "op[%d][%d] is set, but edges go from a lower node to a higher one (j < i)", i, j);
            if (i >= c->nodes)
                return asvk_error_set(ASVK_ERR_USAGE, "edge %d>%d leads to node %d, beyond the cell's %u nodes", j, i, i,
                                      c->nodes);
        }
    for (int i = 0; i < N; i++) {
        if (c->mix[i] > ASVK_MIX_WEIGHTED)
            return asvk_error_set(ASVK_ERR_USAGE, "node %d has merge mode %u, not sum (0) or weighted (1)", i, c->mix[i]);
        if (i >= c->nodes && c->mix[i])
            return asvk_error_set(ASVK_ERR_USAGE, "merge mode set for node %d, beyond the cell's %u nodes", i, c->nodes);
    }
    if (!isfinite(c->expand) || !(c->expand > 0))
        return asvk_error_set(ASVK_ERR_USAGE, "expansion ratio %g must be a positive number", (double)c->expand);
    if ((unsigned)c->act > ASVK_ACT_HSIGMOID)
        return asvk_error_set(ASVK_ERR_USAGE, "activation code %u is not an activation", (unsigned)c->act);
    return ASVK_OK;
}

/* live[i]: node i is on a path from node 0 to node n-1. Returns false when
 * the output is not reachable at all. */
static bool live_nodes(uint32_t n, const uint8_t op[N][N], bool live[N]) {
    bool from0[N] = {0}, to_out[N] = {0};
    from0[0] = true;
    for (uint32_t i = 1; i < n; i++)
        for (uint32_t j = 0; j < i && !from0[i]; j++) from0[i] = from0[j] && op[i][j];
    to_out[n - 1] = true;
    for (int i = (int)n - 2; i >= 0; i--)
        for (uint32_t k = (uint32_t)i + 1; k < n && !to_out[i]; k++) to_out[i] = to_out[k] && op[k][i];
    for (uint32_t i = 0; i < n; i++) live[i] = from0[i] && to_out[i];
    return from0[n - 1];
}

static bool costs_something(uint32_t n, const uint8_t op[N][N], float expand) {
    if (expand != 1.0f) return true;
    for (uint32_t i = 1; i < n; i++)
        for (uint32_t j = 0; j < i; j++)
            if (asvk_genome_op_has_params(op[i][j])) return true;
    return false;
}

static const char *const costless_msg =
    "the cell costs nothing: it has no convolution edge and expand 1, so it is a parameter-free function of its input";

asvk_status asvk_genome_validate(const asvk_cell *c, const asvk_genome_options *o) {
    asvk_genome_options tmp;
    o = opts_or_default(o, &tmp);
    asvk_status st = check_form(c);
    if (st) return st;
    if (o->expand_count) {
        bool ok = false;
        for (uint32_t k = 0; k < o->expand_count; k++) ok |= c->expand == o->expands[k];
        if (!ok) {
            char set[128];
            expands_text(o, set, sizeof set);
            return asvk_error_set(ASVK_ERR_USAGE, "expansion ratio %g is not one of the allowed ratios (%s)",
                                  (double)c->expand, set);
        }
    } else if (c->expand > 64) {
        return asvk_error_set(ASVK_ERR_USAGE, "expansion ratio %g is above 64", (double)c->expand);
    }
    bool live[N];
    uint32_t n = c->nodes;
    if (!live_nodes(n, c->op, live))
        return asvk_error_set(ASVK_ERR_USAGE, "node %u (the output) is not reachable from node 0", n - 1);
    for (uint32_t i = 0; i < n; i++)
        if (!live[i])
            return asvk_error_set(ASVK_ERR_USAGE, "node %u is not on a path from node 0 to node %u (the output)", i,
                                  n - 1);
    if (!costs_something(n, c->op, c->expand)) return asvk_error_set(ASVK_ERR_USAGE, "%s", costless_msg);
    return ASVK_OK;
}

/* ---- canonical form ---- */

void asvk_genome_work_from_cell(const asvk_cell *c, asvk_genome_work *w) {
    memset(w, 0, sizeof *w);
    w->n = c->nodes;
    memcpy(w->op, c->op, sizeof w->op);
    memcpy(w->mix, c->mix, sizeof w->mix);
    for (int i = 0; i < N; i++) w->id[i] = (int8_t)i;
}

static uint32_t inputs(const asvk_genome_work *w, uint32_t i, uint32_t *last) {
    uint32_t k = 0;
    for (uint32_t j = 0; j < i; j++)
        if (w->op[i][j]) k++, *last = j;
    return k;
}

/* Keeps the nodes with keep[i], in order, with the edges among them. */
static void compact(asvk_genome_work *w, const bool keep[N]) {
    int map[N];
    uint32_t m = 0;
    for (uint32_t i = 0; i < w->n; i++) map[i] = keep[i] ? (int)m++ : -1;
    asvk_genome_work o;
    memset(&o, 0, sizeof o);
    o.n = m;
    for (uint32_t i = 0; i < w->n; i++) {
        if (map[i] < 0) continue;
        o.mix[map[i]] = w->mix[i];
        o.id[map[i]] = w->id[i];
        for (uint32_t j = 0; j < i; j++)
            if (map[j] >= 0) o.op[map[i]][map[j]] = w->op[i][j];
    }
    for (uint32_t i = m; i < N; i++) o.id[i] = -1;
    *w = o;
}

/* Rule 2 of genome.h once; true when a node was contracted. */
static bool contract_one(asvk_genome_work *w) {
    for (uint32_t v = 1; v < w->n; v++) {
        uint32_t u = 0;
        if (inputs(w, v, &u) != 1 || u == 0 || w->op[v][u] != ASVK_CELL_IDENTITY) continue;
        bool conflict = false;
        for (uint32_t k = v + 1; k < w->n; k++) conflict |= w->op[k][v] && w->op[k][u];
        /* after pruning, an output fed only by u has u just before it */
        if (conflict || (v == w->n - 1 && u != v - 1)) continue;
        for (uint32_t k = v + 1; k < w->n; k++)
            if (w->op[k][v]) w->op[k][u] = w->op[k][v], w->op[k][v] = 0;
        bool keep[N];
        for (uint32_t i = 0; i < N; i++) keep[i] = i != v;
        compact(w, keep);
        return true;
    }
    return false;
}

/* Bytes of the encoding's variable part (rows 1 .. n-1): the part relabelling changes. */
static size_t encode_rows(uint32_t n, const uint8_t op[N][N], const uint8_t mix[N], uint8_t *out) {
    size_t k = 0;
    for (uint32_t i = 1; i < n; i++) {
        for (uint32_t j = 0; j < i; j++) out[k++] = op[i][j];
        out[k++] = mix[i];
    }
    return k;
}

/* Rule 4: the topological relabelling of nodes 1..n-2 with the smallest rows. */
static void relabel(asvk_genome_work *w) {
    uint32_t n = w->n, k = n - 2;
    if (k < 2) return;
    uint32_t perm[N]; /* perm[a]: new label of old node a + 1 */
    for (uint32_t a = 0; a < k; a++) perm[a] = a + 1;
    uint8_t best[ASVK_GENOME_CODE_MAX], cur[ASVK_GENOME_CODE_MAX];
    asvk_genome_work best_w = *w;
    bool have = false;
    for (;;) {
        uint32_t lab[N];
        lab[0] = 0, lab[n - 1] = n - 1;
        for (uint32_t a = 0; a < k; a++) lab[a + 1] = perm[a];
        bool ok = true;
        for (uint32_t i = 1; i < n && ok; i++)
            for (uint32_t j = 0; j < i && ok; j++) ok = !w->op[i][j] || lab[j] < lab[i];
        if (ok) {
            asvk_genome_work t;
            memset(&t, 0, sizeof t);
            t.n = n;
            for (uint32_t i = 0; i < N; i++) t.id[i] = -1;
            for (uint32_t i = 0; i < n; i++) {
                t.mix[lab[i]] = w->mix[i];
                t.id[lab[i]] = w->id[i];
                for (uint32_t j = 0; j < i; j++)
                    if (w->op[i][j]) t.op[lab[i]][lab[j]] = w->op[i][j];
            }
            size_t len = encode_rows(n, t.op, t.mix, cur);
            if (!have || memcmp(cur, best, len) < 0) {
                memcpy(best, cur, len);
                best_w = t;
                have = true;
            }
        }
        /* next permutation in lexicographic order */
        int a = (int)k - 2;
        while (a >= 0 && perm[a] > perm[a + 1]) a--;
        if (a < 0) break;
        int b = (int)k - 1;
        while (perm[b] < perm[a]) b--;
        uint32_t t = perm[a];
        perm[a] = perm[b], perm[b] = t;
        for (int x = a + 1, y = (int)k - 1; x < y; x++, y--) t = perm[x], perm[x] = perm[y], perm[y] = t;
    }
    *w = best_w;
}

asvk_status asvk_genome_canonical_work(asvk_genome_work *w, float expand) {
    for (;;) {
        bool live[N];
        if (!live_nodes(w->n, w->op, live))
            return asvk_error_set(ASVK_ERR_USAGE, "node %u (the output) is not reachable from node 0", w->n - 1);
        compact(w, live);
        if (!contract_one(w)) break;
    }
    for (uint32_t i = 0; i < w->n; i++) {
        uint32_t last;
        if (inputs(w, i, &last) < 2) w->mix[i] = ASVK_MIX_SUM;
    }
    relabel(w);
    if (!costs_something(w->n, w->op, expand)) return asvk_error_set(ASVK_ERR_USAGE, "%s", costless_msg);
    return ASVK_OK;
}

void asvk_genome_work_to_cell(const asvk_genome_work *w, const asvk_cell *like, asvk_cell *out) {
    float expand = like->expand;
    bool se = like->se;
    asvk_act act = like->act;
    memset(out, 0, sizeof *out); /* padding too: canonical cells compare with memcmp */
    out->nodes = (uint8_t)w->n;
    for (uint32_t i = 0; i < w->n; i++) {
        out->mix[i] = w->mix[i];
        for (uint32_t j = 0; j < i; j++) out->op[i][j] = w->op[i][j];
    }
    out->expand = expand;
    out->se = se;
    out->act = act;
}

asvk_status asvk_genome_canonical(const asvk_cell *in, asvk_cell *out, uint64_t *hash) {
    asvk_status st = check_form(in);
    if (st) return st;
    asvk_genome_work w;
    asvk_genome_work_from_cell(in, &w);
    if ((st = asvk_genome_canonical_work(&w, in->expand))) return st;
    asvk_cell c;
    asvk_genome_work_to_cell(&w, in, &c);
    *out = c;
    if (hash) *hash = asvk_genome_hash_raw(out);
    return ASVK_OK;
}

asvk_status asvk_genome_hash(const asvk_cell *c, uint64_t *out) {
    asvk_cell canon;
    return asvk_genome_canonical(c, &canon, out);
}

bool asvk_genome_is_canonical(const asvk_cell *c) {
    asvk_cell canon;
    asvk_error_clear();
    if (asvk_genome_canonical(c, &canon, NULL)) return false;
    return memcmp(&canon, c, sizeof canon) == 0;
}

size_t asvk_genome_encode(const asvk_cell *c, uint8_t out[ASVK_GENOME_CODE_MAX]) {
    uint32_t n = c->nodes > N ? N : c->nodes;
    uint32_t bits;
    float e = c->expand;
    memcpy(&bits, &e, sizeof bits);
    size_t k = 0;
    out[k++] = 1;
    out[k++] = (uint8_t)n;
    for (int b = 0; b < 4; b++) out[k++] = (uint8_t)(bits >> (8 * b));
    out[k++] = c->se ? 1 : 0;
    out[k++] = (uint8_t)c->act;
    return k + encode_rows(n, c->op, c->mix, out + k);
}

uint64_t asvk_genome_hash_raw(const asvk_cell *c) {
    uint8_t code[ASVK_GENOME_CODE_MAX];
    size_t len = asvk_genome_encode(c, code);
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) h = (h ^ code[i]) * 0x100000001b3ull;
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h ? h : 1;
}

/* ---- text ---- */

const char *asvk_genome_op_short(asvk_cell_op op) {
    return op == ASVK_CELL_IDENTITY ? "id" : asvk_cell_op_name(op);
}

static const char *act_short(asvk_act a) {
    static const char *const names[] = {"none", "relu", "relu6", "hswish", "swish", "sigmoid", "hsigmoid"};
    return (unsigned)a < sizeof names / sizeof names[0] ? names[a] : "?";
}

size_t asvk_genome_format(const asvk_cell *c, char *buf, size_t n) {
    size_t len = 0;
#define PUT(...)                                                                                                  \
    do {                                                                                                          \
        int r_ = snprintf(len < n ? buf + len : NULL, len < n ? n - len : 0, __VA_ARGS__);                        \
        if (r_ > 0) len += (size_t)r_;                                                                            \
    } while (0)
    if (n) buf[0] = 0;
    uint32_t nodes = c->nodes > N ? N : c->nodes;
    PUT("e%g", (double)c->expand);
    for (uint32_t i = 1; i < nodes; i++)
        for (uint32_t j = 0; j < i; j++)
            if (c->op[i][j]) PUT(" | %u>%u %s", j, i, asvk_genome_op_short((asvk_cell_op)c->op[i][j]));
    for (uint32_t i = 0; i < nodes; i++)
        if (c->mix[i] == ASVK_MIX_WEIGHTED) PUT(" | %u weighted", i);
    if (c->se) PUT(" | se");
    if (c->act != ASVK_ACT_RELU6) PUT(" | act %s", act_short(c->act));
#undef PUT
    return len;
}
