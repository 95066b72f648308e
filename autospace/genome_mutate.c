/* Random cells and mutation (genome.h). Both draw, canonicalise and check,
 * and draw again on failure: rejection keeps every result exactly as valid
 * as asvk_genome_validate says, with no second set of rules to drift. */
#include <string.h>

#include "autospace/genome.h"
#include "autospace/genome_internal.h"

#define N ASVK_CELL_MAX_NODES

static const char *const mutation_names[ASVK_MUTATE_KINDS] = {"op", "add_edge", "remove_edge", "mix", "expand", "se"};

const char *asvk_mutation_name(asvk_mutation m) {
    return (unsigned)m < ASVK_MUTATE_KINDS ? mutation_names[m] : "?";
}

/* The allowed operators as a list; returns the count. */
static uint32_t op_list(const asvk_genome_options *o, uint8_t ops[ASVK_CELL_OPS]) {
    uint32_t k = 0;
    for (uint32_t op = 1; op < ASVK_CELL_OPS; op++)
        if (o->ops & (1u << op)) ops[k++] = (uint8_t)op;
    return k;
}

static asvk_status check_for_drawing(const asvk_genome_options *o) {
    asvk_status st = asvk_genome_options_check(o);
    if (st) return st;
    if (!o->expand_count)
        return asvk_error_set(ASVK_ERR_USAGE, "random cells and mutations need a set of expansion ratios (none given)");
    return ASVK_OK;
}

static bool in_population(uint64_t h, const uint64_t *pop, uint32_t n) {
    for (uint32_t i = 0; i < n; i++)
        if (pop[i] == h) return true;
    return false;
}

asvk_status asvk_genome_random(asvk_prng *rng, uint32_t nodes, const asvk_genome_options *o, asvk_cell *out) {
    asvk_genome_options def;
    if (!o) asvk_genome_options_default(&def), o = &def;
    asvk_status st = check_for_drawing(o);
    if (st) return st;
    if (!nodes) nodes = o->nodes;
    if (nodes < 2 || nodes > N) return asvk_error_set(ASVK_ERR_USAGE, "a cell has 2 to %d nodes, not %u", N, nodes);
    uint8_t ops[ASVK_CELL_OPS];
    uint32_t nops = op_list(o, ops);
    for (uint32_t attempt = 0; attempt < o->retries; attempt++) {
        asvk_cell c;
        asvk_cell_init(&c, nodes, o->expands[asvk_prng_below(rng, o->expand_count)]);
        for (uint32_t i = 1; i < nodes; i++)
            for (uint32_t j = 0; j < i; j++)
                if (asvk_prng_unit(rng) < o->density) c.op[i][j] = ops[asvk_prng_below(rng, nops)];
        /* an input from below and an output above for every node: then each
         * lies on a path from node 0 to the output (induction both ways) */
        for (uint32_t i = 1; i < nodes; i++) {
            bool any = false;
            for (uint32_t j = 0; j < i; j++) any |= c.op[i][j] != 0;
            if (!any) c.op[i][asvk_prng_below(rng, i)] = ops[asvk_prng_below(rng, nops)];
        }
        for (uint32_t j = 0; j + 1 < nodes; j++) {
            bool any = false;
            for (uint32_t i = j + 1; i < nodes; i++) any |= c.op[i][j] != 0;
            if (!any) c.op[j + 1 + asvk_prng_below(rng, nodes - 1 - j)][j] = ops[asvk_prng_below(rng, nops)];
        }
        for (uint32_t i = 1; i < nodes && o->weighted; i++) {
            uint32_t k = 0;
            for (uint32_t j = 0; j < i; j++) k += c.op[i][j] != 0;
            if (k >= 2 && asvk_prng_below(rng, 2)) c.mix[i] = ASVK_MIX_WEIGHTED;
        }
        asvk_cell canon;
        if (asvk_genome_canonical(&c, &canon, NULL) || asvk_genome_validate(&canon, o)) continue;
        asvk_error_clear();
        *out = canon;
        return ASVK_OK;
    }
    return asvk_error_set(ASVK_ERR_USAGE,
                          "no valid random cell found in %u draws: the operators and expansion ratios allowed "
                          "cannot make a cell that costs something",
                          o->retries);
}

/* The parent padded to `nodes` nodes by an identity chain after its output:
 * equivalent (canonicalisation contracts the chain again), and the room a
 * mutation needs to add structure to a small cell. New nodes have id -1. */
static void pad(const asvk_cell *p, uint32_t nodes, asvk_genome_work *w) {
    asvk_genome_work_from_cell(p, w);
    for (uint32_t i = p->nodes; i < N; i++) w->id[i] = -1;
    for (uint32_t i = p->nodes; i < nodes; i++) {
        w->op[i][i - 1] = ASVK_CELL_IDENTITY;
        w->n = i + 1;
    }
}

static uint32_t inputs_of(const asvk_genome_work *w, uint32_t i) {
    uint32_t k = 0;
    for (uint32_t j = 0; j < i; j++) k += w->op[i][j] != 0;
    return k;
}

/* Applies one mutation of `kind` at a random place; false when the kind has
 * no place here (no free pair, no merging node...). */
static bool apply(asvk_prng *rng, asvk_mutation kind, const asvk_genome_options *o, asvk_genome_work *w,
                  asvk_cell *attrs) {
    uint8_t ops[ASVK_CELL_OPS];
    uint32_t nops = op_list(o, ops);
    uint32_t cand[N * N], k = 0;
    switch (kind) {
    case ASVK_MUTATE_OP:
    case ASVK_MUTATE_REMOVE_EDGE:
    case ASVK_MUTATE_ADD_EDGE: {
        bool want_edge = kind != ASVK_MUTATE_ADD_EDGE;
        for (uint32_t i = 1; i < w->n; i++)
            for (uint32_t j = 0; j < i; j++)
                if ((w->op[i][j] != 0) == want_edge) cand[k++] = i * N + j;
        if (!k) return false;
        uint32_t e = cand[asvk_prng_below(rng, k)], i = e / N, j = e % N;
        if (kind == ASVK_MUTATE_REMOVE_EDGE) {
            w->op[i][j] = 0;
            return true;
        }
        uint8_t choice[ASVK_CELL_OPS];
        uint32_t nc = 0;
        for (uint32_t a = 0; a < nops; a++)
            if (ops[a] != w->op[i][j]) choice[nc++] = ops[a];
        if (!nc) return false;
        w->op[i][j] = choice[asvk_prng_below(rng, nc)];
        return true;
    }
    case ASVK_MUTATE_MIX:
        if (!o->weighted) return false;
        for (uint32_t i = 1; i < w->n; i++)
            if (inputs_of(w, i) >= 2) cand[k++] = i;
        if (!k) return false;
        {
            uint32_t i = cand[asvk_prng_below(rng, k)];
            w->mix[i] = w->mix[i] == ASVK_MIX_SUM ? ASVK_MIX_WEIGHTED : ASVK_MIX_SUM;
        }
        return true;
    case ASVK_MUTATE_EXPAND: {
        float choice[ASVK_GENOME_MAX_EXPANDS];
        for (uint32_t a = 0; a < o->expand_count; a++)
            if (o->expands[a] != attrs->expand) choice[k++] = o->expands[a];
        if (!k) return false;
        attrs->expand = choice[asvk_prng_below(rng, k)];
        return true;
    }
    case ASVK_MUTATE_SE:
        if (!o->se) return false;
        attrs->se = !attrs->se;
        return true;
    default:
        return false;
    }
}

static void make_map(const asvk_cell *parent, const asvk_cell *child, const asvk_genome_work *w,
                     asvk_genome_map *map) {
    memset(map, 0, sizeof *map);
    for (uint32_t i = 0; i < N; i++) map->node[i] = i < child->nodes ? w->id[i] : -1;
    for (uint32_t i = 1; i < child->nodes; i++)
        for (uint32_t j = 0; j < i; j++) {
            int pi = map->node[i], pj = map->node[j];
            map->edge[i][j] = child->op[i][j] && pi >= 0 && pj >= 0 && parent->op[pi][pj] == child->op[i][j];
        }
    bool same = child->expand == parent->expand;
    map->expand = same && child->expand != 1.0f;
    map->project = same;
    map->se = same && child->se && parent->se;
}

asvk_status asvk_genome_mutate(asvk_prng *rng, const asvk_cell *parent, const uint64_t *population, uint32_t n,
                               const asvk_genome_options *o, asvk_cell *child, asvk_genome_map *map,
                               asvk_mutation *kind) {
    asvk_genome_options def;
    if (!o) asvk_genome_options_default(&def), o = &def;
    asvk_status st = check_for_drawing(o);
    if (st) return st;
    asvk_cell p;
    uint64_t ph;
    if ((st = asvk_genome_canonical(parent, &p, &ph))) return asvk_error_prefix(st, "the parent cell: ");
    uint32_t nodes = p.nodes > o->nodes ? p.nodes : o->nodes;
    asvk_genome_work base;
    pad(&p, nodes, &base);
    for (uint32_t attempt = 0; attempt < o->retries; attempt++) {
        asvk_genome_work w = base;
        asvk_cell attrs = p;
        asvk_mutation k = (asvk_mutation)asvk_prng_below(rng, ASVK_MUTATE_KINDS);
        if (!apply(rng, k, o, &w, &attrs)) continue;
        if (asvk_genome_canonical_work(&w, attrs.expand)) continue;
        asvk_cell c;
        asvk_genome_work_to_cell(&w, &attrs, &c);
        if (asvk_genome_validate(&c, o)) continue;
        uint64_t h = asvk_genome_hash_raw(&c);
        if (h == ph || in_population(h, population, n)) continue;
        asvk_error_clear();
        if (map) make_map(&p, &c, &w, map);
        if (kind) *kind = k;
        *child = c;
        return ASVK_OK;
    }
    return asvk_error_set(ASVK_ERR_USAGE, "no new valid mutation found in %u attempts (the population may hold every "
                          "neighbour of this cell)", o->retries);
}
