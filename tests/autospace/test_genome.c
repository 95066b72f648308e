/* Cell genomes (autospace/genome.h): validity messages, the canonical form
 * and its hash on hand-made cells, and property checks over thousands of
 * random cells and mutations — validity, idempotence, invariance under
 * relabelling / dead nodes / identity chains, no hash collisions, children
 * new to their population, and inheritance maps that name only edges with
 * the same op and endpoints. No GPU. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "autospace/genome.h"
#include "runtime/io/json_read.h"
#include "tests/harness.h"

#define N ASVK_CELL_MAX_NODES

static asvk_cell cell_of(uint32_t nodes, float expand) {
    asvk_cell c;
    asvk_cell_init(&c, nodes, expand);
    return c;
}

static uint64_t hash_of(const asvk_cell *c) {
    uint64_t h = 0;
    asvk_status st = asvk_genome_hash(c, &h);
    CHECK(st == ASVK_OK, "hash failed: %s", asvk_error_message());
    return h;
}

static const char *fmt(const asvk_cell *c) {
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    asvk_genome_format(c, buf[k], sizeof buf[k]);
    return buf[k];
}

/* ---- helpers that change a cell's form, not its function ---- */

/* Node numbers shifted to make room for a new node at p (no edges yet). */
static asvk_cell insert_node(const asvk_cell *c, uint32_t p) {
    asvk_cell o = cell_of(c->nodes + 1u, c->expand);
    o.se = c->se, o.act = c->act;
    for (uint32_t i = 0; i < c->nodes; i++) {
        uint32_t ni = i < p ? i : i + 1;
        o.mix[ni] = c->mix[i];
        for (uint32_t j = 0; j < i; j++) o.op[ni][j < p ? j : j + 1] = c->op[i][j];
    }
    return o;
}

/* A random order of the intermediate nodes that keeps every edge upward. */
static asvk_cell relabel_random(const asvk_cell *c) {
    uint32_t n = c->nodes, lab[N], placed = 1;
    bool done[N] = {true};
    lab[0] = 0;
    while (placed < n - 1) {
        uint32_t cand[N], k = 0;
        for (uint32_t i = 1; i + 1 < n; i++) {
            if (done[i]) continue;
            bool ready = true;
            for (uint32_t j = 0; j < i; j++) ready &= !c->op[i][j] || done[j];
            if (ready) cand[k++] = i;
        }
        uint32_t v = cand[test_rand_u32() % k];
        done[v] = true;
        lab[v] = placed++;
    }
    lab[n - 1] = n - 1;
    asvk_cell o = cell_of(n, c->expand);
    o.se = c->se, o.act = c->act;
    for (uint32_t i = 0; i < n; i++) {
        o.mix[lab[i]] = c->mix[i];
        for (uint32_t j = 0; j < i; j++)
            if (c->op[i][j]) o.op[lab[i]][lab[j]] = c->op[i][j];
    }
    return o;
}

/* A dead node: an input from below, no way to the output. */
static asvk_cell add_dead_node(const asvk_cell *c) {
    uint32_t p = 1 + test_rand_u32() % (c->nodes - 1u);
    asvk_cell o = insert_node(c, p);
    o.op[p][test_rand_u32() % p] = (uint8_t)(1 + test_rand_u32() % (ASVK_CELL_OPS - 1));
    return o;
}

/* Splits intermediate node u (or the output) into u -identity-> v, moving a
 * random subset of u's outgoing edges to v: v equals u, so it contracts away. */
static asvk_cell split_identity(const asvk_cell *c) {
    uint32_t u = 1 + test_rand_u32() % (c->nodes - 1u); /* never node 0: a strided identity is a pool */
    asvk_cell o = insert_node(c, u + 1);
    uint32_t v = u + 1;
    o.op[v][u] = ASVK_CELL_IDENTITY;
    if (u == c->nodes - 1u) return o; /* the output grew an identity tail */
    bool moved = false;
    for (uint32_t w = v + 1; w < o.nodes; w++)
        if (o.op[w][u] && (test_rand_u32() % 2 || !moved)) o.op[w][v] = o.op[w][u], o.op[w][u] = 0, moved = true;
    return o;
}

/* ---- cases ---- */

static void validity_messages(void) {
    asvk_cell mb = asvk_cell_mbconv(3, 6);
    OK(asvk_genome_validate(&mb, NULL));
    asvk_cell c = cell_of(1, 6);
    EXPECT_ERR(asvk_genome_validate(&c, NULL), ASVK_ERR_USAGE, "2 to 6 nodes, not 1");
    c = cell_of(7, 6);
    EXPECT_ERR(asvk_genome_validate(&c, NULL), ASVK_ERR_USAGE, "2 to 6 nodes, not 7");
    c = mb, c.op[0][1] = ASVK_CELL_DW3X3;
    EXPECT_ERR(asvk_genome_validate(&c, NULL), ASVK_ERR_USAGE, "op[0][1] is set, but edges go from a lower node");
    c = mb, c.op[1][0] = ASVK_CELL_OPS;
    EXPECT_ERR(asvk_genome_validate(&c, NULL), ASVK_ERR_USAGE, "edge 0>1 has operator code 9");
    c = mb, c.op[3][1] = ASVK_CELL_DW3X3;
    EXPECT_ERR(asvk_genome_validate(&c, NULL), ASVK_ERR_USAGE, "edge 1>3 leads to node 3, beyond the cell's 2 nodes");
    c = mb, c.mix[1] = 2;
    EXPECT_ERR(asvk_genome_validate(&c, NULL), ASVK_ERR_USAGE, "node 1 has merge mode 2");
    c = mb, c.mix[4] = 1;
    EXPECT_ERR(asvk_genome_validate(&c, NULL), ASVK_ERR_USAGE, "merge mode set for node 4, beyond");
    c = mb, c.expand = 0;
    EXPECT_ERR(asvk_genome_validate(&c, NULL), ASVK_ERR_USAGE, "expansion ratio 0 must be a positive number");
    c = mb, c.expand = NAN;
    EXPECT_ERR(asvk_genome_validate(&c, NULL), ASVK_ERR_USAGE, "must be a positive number");
    c = mb, c.expand = 4;
    EXPECT_ERR(asvk_genome_validate(&c, NULL), ASVK_ERR_USAGE, "expansion ratio 4 is not one of the allowed ratios (1, 3, 6)");
    /* the set is data */
    asvk_genome_options o;
    asvk_genome_options_default(&o);
    o.expands[0] = 4, o.expand_count = 1;
    OK(asvk_genome_validate(&c, &o));
    o.expand_count = 0;
    OK(asvk_genome_validate(&c, &o));
    c.expand = 65;
    EXPECT_ERR(asvk_genome_validate(&c, &o), ASVK_ERR_USAGE, "above 64");
    c = mb, c.act = (asvk_act)9;
    EXPECT_ERR(asvk_genome_validate(&c, NULL), ASVK_ERR_USAGE, "activation code 9");
    /* paths */
    c = cell_of(3, 6);
    c.op[1][0] = ASVK_CELL_DW3X3;
    EXPECT_ERR(asvk_genome_validate(&c, NULL), ASVK_ERR_USAGE, "node 2 (the output) is not reachable from node 0");
    c.op[2][0] = ASVK_CELL_DW5X5;
    EXPECT_ERR(asvk_genome_validate(&c, NULL), ASVK_ERR_USAGE, "node 1 is not on a path from node 0 to node 2");
    /* cost: identities and pools with expand 1 compute a parameter-free function */
    c = cell_of(3, 1);
    c.op[1][0] = ASVK_CELL_MAXPOOL3X3, c.op[2][1] = ASVK_CELL_IDENTITY, c.op[2][0] = ASVK_CELL_AVGPOOL3X3;
    c.mix[2] = ASVK_MIX_WEIGHTED, c.se = true;
    EXPECT_ERR(asvk_genome_validate(&c, NULL), ASVK_ERR_USAGE, "the cell costs nothing");
    EXPECT_ERR(asvk_genome_hash(&c, &(uint64_t){0}), ASVK_ERR_USAGE, "the cell costs nothing");
    c.expand = 3;
    OK(asvk_genome_validate(&c, NULL));
    c.expand = 1, c.op[2][1] = ASVK_CELL_CONV1X1;
    OK(asvk_genome_validate(&c, NULL));
    /* options themselves */
    asvk_genome_options_default(&o);
    o.ops = 1; /* only zero */
    EXPECT_ERR(asvk_genome_options_check(&o), ASVK_ERR_USAGE, "no edge operator");
    asvk_genome_options_default(&o);
    o.nodes = 7;
    EXPECT_ERR(asvk_genome_options_check(&o), ASVK_ERR_USAGE, "genome nodes must be 2 to 6, not 7");
}

static void canonical_examples(void) {
    /* MBConv and its published 4-node chain form dw -> id -> id */
    asvk_cell mb = asvk_cell_mbconv(3, 6), chain = cell_of(4, 6), canon;
    chain.op[1][0] = ASVK_CELL_DW3X3, chain.op[2][1] = ASVK_CELL_IDENTITY, chain.op[3][2] = ASVK_CELL_IDENTITY;
    uint64_t h1, h2;
    OK(asvk_genome_canonical(&chain, &canon, &h2));
    h1 = hash_of(&mb);
    CHECK(h1 == h2, "MBConv %016" PRIx64 " and its chain form %016" PRIx64 " differ", h1, h2);
    CHECK(memcmp(&canon, &mb, sizeof mb) == 0, "chain canonicalises to '%s', not MBConv '%s'", fmt(&canon), fmt(&mb));
    CHECK(asvk_genome_is_canonical(&mb), "MBConv is not canonical");
    /* the hash is part of the checkpoint format: it must never change silently */
    CHECK(h1 == UINT64_C(0x1c384660e8fae76c), "MBConv(3, 6) hash changed: %016" PRIx64, h1);
    /* an identity out of node 0 is a pool on a strided layer: kept */
    asvk_cell a = cell_of(3, 6);
    a.op[1][0] = ASVK_CELL_IDENTITY, a.op[2][1] = ASVK_CELL_DW3X3;
    OK(asvk_genome_canonical(&a, &canon, NULL));
    CHECK(canon.nodes == 3 && hash_of(&a) != h1, "identity out of node 0 was contracted: '%s'", fmt(&canon));
    /* an identity chain in the middle contracts; the merge mode of a single input becomes SUM */
    a = cell_of(5, 6);
    a.op[1][0] = ASVK_CELL_DW5X5, a.op[2][1] = ASVK_CELL_IDENTITY, a.mix[2] = ASVK_MIX_WEIGHTED;
    a.op[3][2] = ASVK_CELL_CONV1X1, a.op[4][3] = ASVK_CELL_DW3X3, a.op[4][0] = ASVK_CELL_IDENTITY;
    asvk_cell b = cell_of(4, 6);
    b.op[1][0] = ASVK_CELL_DW5X5, b.op[2][1] = ASVK_CELL_CONV1X1, b.op[3][2] = ASVK_CELL_DW3X3;
    b.op[3][0] = ASVK_CELL_IDENTITY;
    OK(asvk_genome_canonical(&a, &canon, NULL));
    CHECK(canon.nodes == 4 && hash_of(&a) == hash_of(&b), "'%s' canonicalised to '%s', expected '%s'", fmt(&a),
          fmt(&canon), fmt(&b));
    /* no contraction when a node would get two edges from one node: u + f(u) */
    a = cell_of(4, 6);
    a.op[1][0] = ASVK_CELL_DW3X3, a.op[2][1] = ASVK_CELL_IDENTITY, a.op[3][1] = ASVK_CELL_DW5X5;
    a.op[3][2] = ASVK_CELL_DW5X5;
    OK(asvk_genome_canonical(&a, &canon, NULL));
    CHECK(canon.nodes == 4, "'%s' lost a node: '%s'", fmt(&a), fmt(&canon));
    /* dead nodes and their edges go */
    a = cell_of(4, 3);
    a.op[1][0] = ASVK_CELL_DW3X3, a.op[3][1] = ASVK_CELL_DW7X7, a.op[2][0] = ASVK_CELL_CONV3X3;
    a.op[2][1] = ASVK_CELL_MAXPOOL3X3, a.mix[2] = ASVK_MIX_WEIGHTED;
    b = cell_of(3, 3);
    b.op[1][0] = ASVK_CELL_DW3X3, b.op[2][1] = ASVK_CELL_DW7X7;
    OK(asvk_genome_canonical(&a, &canon, NULL));
    CHECK(memcmp(&canon, &b, sizeof b) == 0, "dead node: '%s' became '%s', not '%s'", fmt(&a), fmt(&canon), fmt(&b));
    /* relabelling: two parallel branches in either order are one cell */
    a = cell_of(4, 6), b = cell_of(4, 6);
    a.op[1][0] = ASVK_CELL_DW3X3, a.op[2][0] = ASVK_CELL_DW5X5, a.op[3][1] = ASVK_CELL_IDENTITY;
    a.op[3][2] = ASVK_CELL_CONV1X1, a.mix[3] = ASVK_MIX_WEIGHTED;
    b.op[2][0] = ASVK_CELL_DW3X3, b.op[1][0] = ASVK_CELL_DW5X5, b.op[3][2] = ASVK_CELL_IDENTITY;
    b.op[3][1] = ASVK_CELL_CONV1X1, b.mix[3] = ASVK_MIX_WEIGHTED;
    CHECK(hash_of(&a) == hash_of(&b), "'%s' and '%s' differ", fmt(&a), fmt(&b));
    /* in place, and idempotent */
    asvk_cell c = a;
    OK(asvk_genome_canonical(&c, &c, NULL));
    asvk_cell d = c;
    OK(asvk_genome_canonical(&d, &d, NULL));
    CHECK(memcmp(&c, &d, sizeof c) == 0, "not idempotent: '%s' then '%s'", fmt(&c), fmt(&d));
    /* padding bytes are zeroed: a dirty struct canonicalises to the same bytes */
    memset(&d, 0xa5, sizeof d);
    d.nodes = a.nodes, memcpy(d.op, a.op, sizeof d.op), memcpy(d.mix, a.mix, sizeof d.mix);
    d.expand = a.expand, d.se = a.se, d.act = a.act;
    OK(asvk_genome_canonical(&d, &d, NULL));
    CHECK(memcmp(&c, &d, sizeof c) == 0, "padding leaks into the canonical form");
}

static void hash_pairs_that_differ(void) {
    asvk_cell base = asvk_cell_mbconv(3, 6), v[12];
    int k = 0;
    v[k++] = asvk_cell_mbconv(5, 6);
    v[k++] = asvk_cell_mbconv(3, 3);
    v[k] = base, v[k++].se = true;
    v[k] = base, v[k++].act = ASVK_ACT_HSWISH;
    asvk_cell a = cell_of(3, 6);
    a.op[1][0] = ASVK_CELL_DW3X3, a.op[2][1] = ASVK_CELL_DW3X3;
    v[k++] = a; /* two stacked dw3x3 */
    a.op[2][0] = ASVK_CELL_IDENTITY;
    v[k++] = a; /* plus a strided skip to the output */
    a.mix[2] = ASVK_MIX_WEIGHTED;
    v[k++] = a; /* merged by weights */
    a = cell_of(3, 6);
    a.op[1][0] = ASVK_CELL_IDENTITY, a.op[2][1] = ASVK_CELL_DW3X3;
    v[k++] = a; /* pool (when strided), then dw */
    a = cell_of(3, 6);
    a.op[1][0] = ASVK_CELL_DW3X3, a.op[2][0] = ASVK_CELL_DW3X3, a.op[2][1] = ASVK_CELL_IDENTITY;
    v[k++] = a; /* dw + id(dw): 2 inputs from related nodes */
    a = cell_of(2, 1);
    a.op[1][0] = ASVK_CELL_CONV1X1;
    v[k++] = a;
    uint64_t h[13];
    h[k] = hash_of(&base);
    for (int i = 0; i < k; i++) h[i] = hash_of(&v[i]);
    for (int i = 0; i <= k; i++)
        for (int j = 0; j < i; j++)
            CHECK(h[i] != h[j], "cells %d and %d share hash %016" PRIx64 ": '%s', '%s'", i, j, h[i],
                  fmt(i < k ? &v[i] : &base), fmt(&v[j]));
}

/* Open-addressing table hash -> canonical encoding, to catch collisions. */
typedef struct {
    uint64_t hash;
    uint8_t code[ASVK_GENOME_CODE_MAX];
    size_t len;
} seen_entry;

static bool seen_check(seen_entry *t, size_t cap, const asvk_cell *c, uint64_t h, size_t *distinct) {
    uint8_t code[ASVK_GENOME_CODE_MAX];
    size_t len = asvk_genome_encode(c, code);
    for (size_t i = h % cap;; i = (i + 1) % cap) {
        if (!t[i].hash) {
            t[i].hash = h, t[i].len = len, memcpy(t[i].code, code, len);
            ++*distinct;
            return true;
        }
        if (t[i].hash == h) return t[i].len == len && memcmp(t[i].code, code, len) == 0;
    }
}

static void random_cells_properties(void) {
    asvk_prng rng = asvk_prng_seed(test_seed);
    enum { COUNT = 20000, CAP = 65536 };
    seen_entry *seen = calloc(CAP, sizeof *seen);
    size_t distinct = 0;
    asvk_genome_options o;
    asvk_genome_options_default(&o);
    for (int t = 0; t < COUNT && test_failures < 20; t++) {
        uint32_t nodes = 2 + (uint32_t)t % 5;
        o.density = (t % 7) / 6.0;
        o.se = false;
        asvk_cell c, canon;
        OK(asvk_genome_random(&rng, nodes, &o, &c));
        if (t % 11 == 0) c.se = true; /* a valid variant the drawing never makes */
        uint64_t h, h2;
        OK(asvk_genome_validate(&c, &o));
        CHECK(asvk_genome_is_canonical(&c), "random cell '%s' is not canonical", fmt(&c));
        CHECK(c.nodes <= nodes, "random cell has %u nodes, asked %u", c.nodes, nodes);
        OK(asvk_genome_canonical(&c, &canon, &h));
        CHECK(memcmp(&canon, &c, sizeof c) == 0, "canonical form moved: '%s' -> '%s'", fmt(&c), fmt(&canon));
        CHECK(seen_check(seen, CAP, &canon, h, &distinct), "hash collision %016" PRIx64 " at '%s'", h, fmt(&canon));
        /* the same function in other forms */
        asvk_cell r = relabel_random(&c);
        OK(asvk_genome_hash(&r, &h2));
        CHECK(h2 == h, "relabelled '%s' -> '%s' hashes differently", fmt(&c), fmt(&r));
        if (c.nodes < N) {
            asvk_cell x = add_dead_node(&c);
            OK(asvk_genome_hash(&x, &h2));
            CHECK(h2 == h, "'%s' with a dead node '%s' hashes differently", fmt(&c), fmt(&x));
            x = split_identity(&c);
            OK(asvk_genome_hash(&x, &h2));
            CHECK(h2 == h, "'%s' with an identity split '%s' hashes differently", fmt(&c), fmt(&x));
            if (x.nodes < N) {
                asvk_cell y = relabel_random(&x);
                y = add_dead_node(&y);
                OK(asvk_genome_hash(&y, &h2));
                CHECK(h2 == h, "'%s' as '%s' hashes differently", fmt(&c), fmt(&y));
            }
        }
        /* format and JSON round trip */
        cJSON *j = asvk_genome_to_json(&c);
        CHECK(j != NULL, "to_json failed: %s", asvk_error_message());
        if (j) {
            asvk_cell back;
            asvk_status st = asvk_genome_from_json(j, "cell", &o, &back);
            CHECK(st == ASVK_OK && memcmp(&back, &c, sizeof c) == 0, "JSON round trip of '%s': %s", fmt(&c),
                  st ? asvk_error_message() : fmt(&back));
            cJSON_Delete(j);
        }
    }
    CHECK(distinct > COUNT / 3, "only %zu distinct cells in %d draws", distinct, COUNT);
    fprintf(stderr, "  %zu distinct canonical cells in %d random draws, no collision\n", distinct, (int)COUNT);
    free(seen);
}

static void random_is_deterministic(void) {
    asvk_prng a = asvk_prng_seed(42), b = asvk_prng_seed(42);
    for (int t = 0; t < 200; t++) {
        asvk_cell x, y;
        OK(asvk_genome_random(&a, 4, NULL, &x));
        OK(asvk_genome_random(&b, 4, NULL, &y));
        CHECK(memcmp(&x, &y, sizeof x) == 0, "draw %d differs", t);
    }
    /* the generator is splitmix64: the first value of seed 0 is a published constant */
    asvk_prng z = asvk_prng_seed(0);
    CHECK(asvk_prng_next(&z) == UINT64_C(0xe220a8397b1dcdaf), "splitmix64 sequence changed");
    asvk_genome_options o;
    asvk_genome_options_default(&o);
    o.ops = (1u << ASVK_CELL_IDENTITY) | (1u << ASVK_CELL_MAXPOOL3X3);
    o.expands[0] = 1, o.expand_count = 1, o.retries = 50;
    asvk_cell c;
    EXPECT_ERR(asvk_genome_random(&a, 4, &o, &c), ASVK_ERR_USAGE, "no valid random cell found in 50 draws");
    o.expand_count = 0;
    EXPECT_ERR(asvk_genome_random(&a, 4, &o, &c), ASVK_ERR_USAGE, "need a set of expansion ratios");
    EXPECT_ERR(asvk_genome_random(&a, 9, NULL, &c), ASVK_ERR_USAGE, "2 to 6 nodes, not 9");
}

static bool in(const uint64_t *v, uint32_t n, uint64_t h) {
    for (uint32_t i = 0; i < n; i++)
        if (v[i] == h) return true;
    return false;
}

static void mutation_properties(void) {
    asvk_prng rng = asvk_prng_seed(test_seed ^ 0x5eed);
    asvk_genome_options o;
    asvk_genome_options_default(&o);
    o.se = true;
    enum { POP = 32, STEPS = 20000 };
    asvk_cell pop[POP];
    uint64_t hashes[POP];
    uint32_t n = 0;
    pop[n] = asvk_cell_mbconv(3, 6), hashes[n] = hash_of(&pop[n]), n++;
    while (n < POP) {
        asvk_cell c;
        OK(asvk_genome_random(&rng, 0, &o, &c));
        uint64_t h = hash_of(&c);
        if (!in(hashes, n, h)) pop[n] = c, hashes[n] = h, n++;
    }
    uint32_t kinds[ASVK_MUTATE_KINDS] = {0}, inherited = 0, edges = 0;
    for (int s = 0; s < STEPS && test_failures < 20; s++) {
        uint32_t pi = asvk_prng_below(&rng, POP);
        asvk_cell child;
        asvk_genome_map map;
        asvk_mutation kind;
        OK(asvk_genome_mutate(&rng, &pop[pi], hashes, POP, &o, &child, &map, &kind));
        kinds[kind]++;
        uint64_t h = hash_of(&child);
        const asvk_cell *p = &pop[pi];
        CHECK(asvk_genome_validate(&child, &o) == ASVK_OK, "child '%s' invalid: %s", fmt(&child), asvk_error_message());
        CHECK(asvk_genome_is_canonical(&child), "child '%s' not canonical", fmt(&child));
        CHECK(!in(hashes, POP, h), "child '%s' (%s of '%s') is already in the population", fmt(&child),
              asvk_mutation_name(kind), fmt(p));
        /* the map: an injective node map, and inherited edges have the parent's op between the mapped nodes */
        bool used[N] = {0};
        for (uint32_t i = 0; i < child.nodes; i++) {
            int q = map.node[i];
            CHECK(q >= -1 && q < (int)p->nodes, "node map %d out of range", q);
            if (q >= 0) {
                CHECK(!used[q], "parent node %d mapped twice ('%s' -> '%s')", q, fmt(p), fmt(&child));
                used[q] = true;
            }
        }
        CHECK(map.node[0] == 0, "node 0 maps to %d", map.node[0]);
        bool all = true;
        for (uint32_t i = 1; i < child.nodes; i++)
            for (uint32_t j = 0; j < i; j++) {
                if (!child.op[i][j]) {
                    CHECK(!map.edge[i][j], "no edge %u>%u marked inherited", j, i);
                    continue;
                }
                edges++;
                if (map.edge[i][j]) {
                    inherited++;
                    int a = map.node[i], b = map.node[j];
                    CHECK(a >= 0 && b >= 0 && p->op[a][b] == child.op[i][j],
                          "edge %u>%u of '%s' marked inherited from '%s' (nodes %d>%d)", j, i, fmt(&child), fmt(p), b,
                          a);
                } else {
                    all = false;
                }
            }
        bool same_e = child.expand == p->expand;
        CHECK(map.project == same_e && map.expand == (same_e && p->expand != 1) &&
                  map.se == (same_e && p->se && child.se),
              "wrapper flags wrong: '%s' -> '%s'", fmt(p), fmt(&child));
        /* changes that leave the graph alone keep every edge's weights */
        if (kind == ASVK_MUTATE_EXPAND || kind == ASVK_MUTATE_SE || kind == ASVK_MUTATE_MIX)
            CHECK(all && child.nodes == p->nodes, "%s mutation '%s' -> '%s' lost edge weights",
                  asvk_mutation_name(kind), fmt(p), fmt(&child));
        if (kind == ASVK_MUTATE_EXPAND) CHECK(!map.project && child.expand != p->expand, "expand did not change");
        /* evolve: replace a random member (never the reference at 0) */
        uint32_t r = 1 + asvk_prng_below(&rng, POP - 1);
        pop[r] = child, hashes[r] = h;
    }
    for (int k = 0; k < ASVK_MUTATE_KINDS; k++)
        CHECK(kinds[k] > 0, "mutation kind %s never happened in %d steps", asvk_mutation_name((asvk_mutation)k), STEPS);
    CHECK(inherited > edges / 4, "only %u of %u child edges inherited", inherited, edges);
    fprintf(stderr, "  %d mutations: op %u, add %u, remove %u, mix %u, expand %u, se %u; %u of %u edges inherited\n",
            STEPS, kinds[0], kinds[1], kinds[2], kinds[3], kinds[4], kinds[5], inherited, edges);
}

static void mutation_examples(void) {
    /* a 2-node MBConv grows through its padded chain form: every child of it is a 4-node-or-smaller cell */
    asvk_prng rng = asvk_prng_seed(7);
    asvk_cell mb = asvk_cell_mbconv(3, 6), child;
    asvk_genome_map map;
    uint64_t h = hash_of(&mb);
    bool grew = false;
    for (int t = 0; t < 200; t++) {
        OK(asvk_genome_mutate(&rng, &mb, &h, 1, NULL, &child, &map, NULL));
        CHECK(child.nodes <= 4, "child of MBConv has %u nodes", child.nodes);
        grew |= child.nodes > 2;
        /* the dw3x3 is kept whenever the child still has it on 0 -> a node that descends from node 1 */
        for (uint32_t i = 1; i < child.nodes; i++)
            if (child.op[i][0] == ASVK_CELL_DW3X3 && map.node[i] == 1)
                CHECK(map.edge[i][0], "'%s' did not inherit the dw3x3 of MBConv", fmt(&child));
    }
    CHECK(grew, "MBConv never grew");
    /* nothing left to try: one op, one ratio, two nodes */
    asvk_genome_options o;
    asvk_genome_options_default(&o);
    o.ops = 1u << ASVK_CELL_DW3X3, o.expands[0] = 6, o.expand_count = 1, o.nodes = 2, o.weighted = false;
    o.retries = 100;
    EXPECT_ERR(asvk_genome_mutate(&rng, &mb, &h, 1, &o, &child, &map, NULL), ASVK_ERR_USAGE,
               "no new valid mutation found");
    /* an invalid parent */
    asvk_cell bad = cell_of(3, 6);
    bad.op[1][0] = ASVK_CELL_DW3X3;
    EXPECT_ERR(asvk_genome_mutate(&rng, &bad, NULL, 0, NULL, &child, &map, NULL), ASVK_ERR_USAGE,
               "the parent cell: node 2 (the output) is not reachable");
}

static void format_line(void) {
    asvk_cell mb = asvk_cell_mbconv(3, 6);
    CHECK(strcmp(fmt(&mb), "e6 | 0>1 dw3x3") == 0, "'%s'", fmt(&mb));
    asvk_cell a = cell_of(4, 3);
    a.op[1][0] = ASVK_CELL_IDENTITY, a.op[2][0] = ASVK_CELL_DW5X5, a.op[2][1] = ASVK_CELL_DW5X5;
    a.op[3][1] = ASVK_CELL_IDENTITY, a.op[3][2] = ASVK_CELL_DW5X5, a.mix[3] = ASVK_MIX_WEIGHTED;
    a.se = true, a.act = ASVK_ACT_HSWISH;
    const char *want = "e3 | 0>1 id | 0>2 dw5x5 | 1>2 dw5x5 | 1>3 id | 2>3 dw5x5 | 3 weighted | se | act hswish";
    CHECK(strcmp(fmt(&a), want) == 0, "'%s'", fmt(&a));
    char small[8];
    size_t need = asvk_genome_format(&a, small, sizeof small);
    CHECK(need == strlen(want) && strlen(small) == 7 && strncmp(small, want, 7) == 0, "truncation: %zu '%s'", need,
          small);
}

static cJSON *parse(const char *text) {
    cJSON *j = NULL;
    if (asvk_json_parse(text, strlen(text), "test", &j)) return NULL;
    return j;
}

static void json_errors(void) {
    struct {
        const char *text, *want;
    } cases[] = {
        {"[]", "cell must be a JSON object"},
        {"{\"nodes\": 2, \"expand\": 6, \"edges\": [[0, 1, \"dw3x3\"]], \"colour\": 1}", "unknown key 'colour'"},
        {"{\"expand\": 6, \"edges\": [[0, 1, \"dw3x3\"]]}", "nodes"},
        {"{\"nodes\": 9, \"expand\": 6, \"edges\": []}", "nodes"},
        {"{\"nodes\": 2, \"expand\": 6}", "cell.edges is missing"},
        {"{\"nodes\": 2, \"expand\": 6, \"edges\": [[0, 1]]}", "cell.edges[0] must be [from, to, op]"},
        {"{\"nodes\": 2, \"expand\": 6, \"edges\": [[1, 0, \"dw3x3\"]]}", "cell.edges[0]: from and to must be"},
        {"{\"nodes\": 2, \"expand\": 6, \"edges\": [[0, 2, \"dw3x3\"]]}", "cell.edges[0]: from and to must be"},
        {"{\"nodes\": 2, \"expand\": 6, \"edges\": [[0, 1, \"dw9x9\"]]}", "cell.edges[0]: the operator must be"},
        {"{\"nodes\": 2, \"expand\": 6, \"edges\": [[0, 1, \"zero\"]]}", "a zero edge is no edge"},
        {"{\"nodes\": 2, \"expand\": 6, \"edges\": [[0, 1, \"dw3x3\"], [0, 1, \"id\"]]}", "cell.edges[1]: edge 0>1 is given twice"},
        {"{\"nodes\": 2, \"expand\": 6, \"edges\": [[0, 1, \"dw3x3\"]], \"weighted\": [5]}", "cell.weighted[0] must be a node"},
        {"{\"nodes\": 2, \"expand\": 6, \"edges\": [[0, 1, \"dw3x3\"]], \"act\": \"tanh\"}", "cell.act 'tanh'"},
        {"{\"nodes\": 3, \"expand\": 6, \"edges\": [[0, 1, \"dw3x3\"]]}", "cell: node 2 (the output) is not reachable"},
        {"{\"nodes\": 2, \"expand\": 4, \"edges\": [[0, 1, \"dw3x3\"]]}", "cell: expansion ratio 4 is not one of"},
        {"{\"nodes\": 2, \"expand\": 6, \"edges\": [[0, 1, \"dw3x3\"]], \"hash\": \"xyz\"}", "cell.hash 'xyz' is not 16"},
        {"{\"nodes\": 2, \"expand\": 6, \"edges\": [[0, 1, \"dw3x3\"]], \"hash\": \"0000000000000001\"}",
         "does not match the cell (its hash is 1c384660e8fae76c)"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        cJSON *j = parse(cases[k].text);
        CHECK(j != NULL, "case %zu does not parse", k);
        if (!j) continue;
        asvk_cell c;
        EXPECT_ERR(asvk_genome_from_json(j, "cell", NULL, &c), ASVK_ERR_USAGE, cases[k].want);
        cJSON_Delete(j);
    }
    /* a hand-written equivalent form with the canonical hash is accepted, as written */
    cJSON *j = parse("{\"nodes\": 4, \"expand\": 6, \"edges\": [[0, 1, \"dw3x3\"], [1, 2, \"id\"], [2, 3, \"identity\"]],"
                     " \"hash\": \"1c384660e8fae76c\"}");
    asvk_cell c;
    OK(asvk_genome_from_json(j, "cell", NULL, &c));
    CHECK(c.nodes == 4 && c.op[3][2] == ASVK_CELL_IDENTITY, "not read as written");
    cJSON_Delete(j);
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"validity_messages", validity_messages},
        {"canonical_examples", canonical_examples},
        {"hash_pairs_that_differ", hash_pairs_that_differ},
        {"random_cells_properties", random_cells_properties},
        {"random_is_deterministic", random_is_deterministic},
        {"mutation_properties", mutation_properties},
        {"mutation_examples", mutation_examples},
        {"format_line", format_line},
        {"json_errors", json_errors},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
