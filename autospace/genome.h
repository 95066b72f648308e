/* The cell genome's algorithms (AUTOSPACE.md, "The cell genome"; the genome
 * itself is runtime/cell.h): validity, the canonical form and its hash,
 * random cells, mutation with the map of inherited weights, and text/JSON.
 *
 * Validity (asvk_genome_validate):
 *   - 2 <= nodes <= ASVK_CELL_MAX_NODES; op[i][j] < ASVK_CELL_OPS for j < i
 *     and ZERO everywhere else (j >= i, or i >= nodes); mix[i] a
 *     asvk_cell_mix for i < nodes and 0 beyond; act an asvk_act;
 *   - expand finite and in the options' set (default {1, 3, 6});
 *   - every node lies on a path 0 -> ... -> nodes-1 through non-ZERO edges;
 *   - the cell costs something: some edge is a convolution (conv1x1, conv3x3,
 *     dw3x3/5x5/7x7), or expand != 1. Otherwise its DAG is identities and
 *     pools, a parameter-free function of the input (the projection alone
 *     would be a 1x1 conv, which the skeleton does not need a search for).
 *     SE and WEIGHTED merges do not count: they only rescale such a function.
 *
 * Canonical form (asvk_genome_canonical), applied until nothing changes:
 *   1. dead nodes (not on a path 0 -> nodes-1) and their edges are removed;
 *   2. a node v != 0 whose only input is an IDENTITY edge from a node u != 0
 *      equals u: its outgoing edges move to u and v is removed — unless some
 *      w already has edges from both u and v (u + f(u) is not one edge), and
 *      never for u == 0 (edges leaving node 0 carry the stride: a strided
 *      identity is a pool, not node 0's value);
 *   3. the merge of a node with fewer than two inputs is SUM (it has no merge);
 *   4. the intermediate nodes 1..nodes-2 are relabelled to the order, among
 *      all that keep every edge j -> i with j < i, whose encoding (below) is
 *      the smallest byte string.
 * Every other byte is zeroed (struct padding included), so equivalent cells
 * are byte-identical (memcmp) and the form is idempotent. The canonical form
 * of a valid cell is valid (it never has fewer than 2 nodes).
 * Not merged (documented limits): two nodes computing the same parameter-free
 * function of the same inputs; identity edges out of node 0 at stride 1.
 *
 * Encoding and hash (stable: the hash names a cell's weights in checkpoints,
 * so changing either is a format change): the bytes
 *   1 (version), nodes, expand as IEEE-754 binary32 little-endian (4 bytes),
 *   se, act, then for i = 1 .. nodes-1: op[i][0] .. op[i][i-1], mix[i]
 * and the hash is FNV-1a 64 of the canonical encoding followed by
 * splitmix64's finaliser (FNV's low bits mix poorly); 0 is never returned
 * (population.h uses 0 for "no parent"). */
#ifndef ASVK_AUTOSPACE_GENOME_H
#define ASVK_AUTOSPACE_GENOME_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "autospace/rng.h"
#include "engine/status.h"
#include "runtime/cell.h"

#define ASVK_GENOME_MAX_EXPANDS 8
/* Encoding length bound: 8 header bytes + rows of 2 .. 6 bytes (28 at 6 nodes). */
#define ASVK_GENOME_CODE_MAX 32

/* What random cells and mutations may use, and the expansion ratios a valid
 * cell may have. All data: set what the run needs. */
typedef struct asvk_genome_options {
    uint32_t ops;                            /* allowed edge operators: bit (1u << op); ZERO's bit is ignored */
    float expands[ASVK_GENOME_MAX_EXPANDS];  /* allowed expansion ratios */
    uint32_t expand_count;                   /* 0: any finite ratio in (0, 64] */
    uint32_t nodes;                          /* random cells are drawn, and mutations made, at this many nodes */
    double density;                          /* random cells: probability of each edge beyond the connecting ones */
    bool weighted;                           /* WEIGHTED merges may be drawn / mutated to */
    bool se;                                 /* mutation may toggle SE (random cells never have it) */
    uint32_t retries;                        /* attempts before asvk_genome_random / _mutate give up */
} asvk_genome_options;

/* ops: all; expands {1, 3, 6}; nodes 4; density 0.4; weighted on; SE off; 2000 retries. */
void asvk_genome_options_default(asvk_genome_options *o);
/* ASVK_ERR_USAGE when the options themselves are unusable (no op, nodes out of range...). */
asvk_status asvk_genome_options_check(const asvk_genome_options *o);

/* NULL options: the defaults. ASVK_ERR_USAGE names the first violation. */
asvk_status asvk_genome_validate(const asvk_cell *c, const asvk_genome_options *o);

/* The canonical form (out may alias in) and, when hash != NULL, its hash.
 * `in` must be well formed (as in validity) and have a path from node 0 to
 * node nodes-1 (dead nodes are allowed: they are removed); the result must
 * cost something. The expansion ratio is not checked against a set. */
asvk_status asvk_genome_canonical(const asvk_cell *in, asvk_cell *out, uint64_t *hash);
/* The hash of in's canonical form. */
asvk_status asvk_genome_hash(const asvk_cell *c, uint64_t *out);
/* The encoding above of c as it is (callers pass a canonical cell); returns its length. */
size_t asvk_genome_encode(const asvk_cell *c, uint8_t out[ASVK_GENOME_CODE_MAX]);
/* True when c equals its own canonical form (memcmp). */
bool asvk_genome_is_canonical(const asvk_cell *c);

/* A random valid cell: `nodes` nodes (0: options' nodes), each node given an
 * input from a lower and an output to a higher node, every other pair an edge
 * with probability density; ops uniform over the allowed set; a node with
 * two or more inputs WEIGHTED with probability 1/2 when allowed; expand
 * uniform over the set. Returned canonical (so possibly with fewer nodes).
 * ASVK_ERR_USAGE when no valid cell turns up in `retries` draws (e.g. only
 * parameter-free ops and expand 1). */
asvk_status asvk_genome_random(asvk_prng *rng, uint32_t nodes, const asvk_genome_options *o, asvk_cell *out);

/* Which weights of a child come from its parent (both canonical).
 * node[i]: the parent node child node i descends from, -1 for a new node
 * (distinct child nodes never share a parent node). Child edge (i, j)
 * inherits the weights (conv, BN) of parent edge (node[i], node[j]) exactly
 * when edge[i][j]; that is exactly when both nodes descend from parent nodes,
 * the parent has an edge between those two, and its op is the child's. So
 * the edge a mutation changed or added is new, and so is an edge that
 * canonicalisation moved to another source (a contracted identity) unless
 * the parent had that very edge.
 * expand: the 1x1 expansion conv and its BN carry over (same ratio, so the
 * same shape; false when either cell has ratio 1, which has no such conv).
 * project: the 1x1 projection and its BN carry over (the same middle width,
 * i.e. the same ratio: the input of the projection is node nodes-1's width).
 * se: the squeeze-excitation weights carry over (both have SE, same ratio).
 * WEIGHTED merge logits never carry over (they start at zero: an even mix). */
typedef struct asvk_genome_map {
    int8_t node[ASVK_CELL_MAX_NODES];
    bool edge[ASVK_CELL_MAX_NODES][ASVK_CELL_MAX_NODES];
    bool expand, project, se;
} asvk_genome_map;

/* The kinds of mutation (AUTOSPACE.md): one change each. */
typedef enum {
    ASVK_MUTATE_OP = 0,     /* one edge's operator to another allowed one */
    ASVK_MUTATE_ADD_EDGE,   /* a ZERO pair gets an allowed operator */
    ASVK_MUTATE_REMOVE_EDGE,
    ASVK_MUTATE_MIX,        /* a node with two or more inputs: SUM <-> WEIGHTED */
    ASVK_MUTATE_EXPAND,     /* another ratio of the set */
    ASVK_MUTATE_SE,         /* only with options.se */
    ASVK_MUTATE_KINDS
} asvk_mutation;

const char *asvk_mutation_name(asvk_mutation m);

/* A child of `parent` (valid; canonicalised first) by one mutation: the
 * parent is first padded to options.nodes nodes by an identity chain after
 * its output (an equivalent cell, so mutations can add structure to a small
 * cell), a kind is drawn uniformly among the enabled ones and applied at a
 * random place, and the result canonicalised. Drawn again until the child
 * is valid (with o's expansion set), differs from the parent and its hash is
 * none of population[0..n); after o->retries draws ASVK_ERR_USAGE "no new
 * valid mutation found". child is canonical; map (may be NULL) relates it to
 * the parent's canonical form; kind (may be NULL) says what changed. */
asvk_status asvk_genome_mutate(asvk_prng *rng, const asvk_cell *parent, const uint64_t *population, uint32_t n,
                               const asvk_genome_options *o, asvk_cell *child, asvk_genome_map *map,
                               asvk_mutation *kind);

/* One line: "e6 | 0>1 dw3x3 | 1>2 id | 0>2 conv1x1 | 2 weighted", then
 * " | se" and " | act hswish" when set (relu6 is the default). Edges by
 * target, then source. Returns the length it needed (snprintf style). */
size_t asvk_genome_format(const asvk_cell *c, char *buf, size_t n);
/* Short operator names of the formatted line ("id" for identity, else asvk_cell_op_name). */
const char *asvk_genome_op_short(asvk_cell_op op);

/* JSON: {"nodes": 4, "expand": 6, "edges": [[0, 1, "dw3x3"], [1, 2, "identity"]],
 *        "weighted": [2], "se": false, "act": "relu6", "hash": "0123456789abcdef"}
 * (edges as [from, to, op]; "weighted" lists the WEIGHTED nodes). to_json
 * writes the cell as it is, with its canonical hash; NULL on a cell that has
 * no canonical form or out of memory. from_json reads strictly (unknown and
 * duplicate keys, bad types, ranges, duplicate edges: errors naming the key
 * under `ctx`), validates with `o` (NULL: defaults), and when "hash" is
 * given, checks it against the cell's canonical hash. */
cJSON *asvk_genome_to_json(const asvk_cell *c);
asvk_status asvk_genome_from_json(const cJSON *j, const char *ctx, const asvk_genome_options *o, asvk_cell *out);

/* Parses the 16 hex digits of a hash. */
bool asvk_genome_hash_parse(const char *s, uint64_t *out);

#endif
