/* What the runtime does with a cell genome (runtime/cell.h): its structural
 * check, its shapes at a layer, its cost, its parameter tensors and its
 * graph. runtime/cell.c holds the first four, runtime/cell_graph.c the graph.
 *
 * Semantics beyond cell.h's contract, fixed here:
 * - A strided IDENTITY edge is a 2x2 average pool with stride 2 (s x s,
 *   stride s, for stride s) when the input's height and width are multiples
 *   of s. Otherwise (odd sizes at stride 2) that pool would give floor(H/s)
 *   rows while every other edge gives ceil(H/s), so it becomes a
 *   (2*(s/2)+1)-square average pool with stride s and padding s/2 (3x3, pad
 *   1 at stride 2), which averages the in-bounds elements and gives
 *   ceil(H/s); at sizes the stride divides, the two agree on the shape.
 * - Every strided edge gives ceil(H/s) x ceil(W/s): convolutions and pools
 *   use "same" padding (k/2, pools 1).
 * - A node with a single input is that input (its mix mode is ignored and it
 *   has no alpha); a WEIGHTED node with k >= 2 inputs has an alpha of k
 *   logits, inputs in increasing source order, initialised to 0, trained
 *   with the weights but without weight decay.
 * - The cell is valid when it has 2..ASVK_CELL_MAX_NODES nodes, known
 *   operators and mix modes, nothing on or above the diagonal, an expansion
 *   in (0, 64], a known activation, and every node on a path from node 0 to
 *   node N-1 (every node after 0 has an input, every node before N-1 feeds
 *   one): exactly what can be built without dead parts.
 *
 * Parameter names (after the caller's prefix, "layers.{i}." in an
 * architecture), in this order:
 *   expand.weight [mid][1][1][in], expand_bn.*            when expand != 1
 *   e{i}_{j}.weight, e{i}_{j}_bn.*                         conv edge j -> i:
 *       conv1x1 [mid][1][1][mid], conv3x3 [mid][3][3][mid], dwKxK [mid][K][K][1]
 *   mix{i}.alpha [k]                                       WEIGHTED node i with k >= 2 inputs
 *       (edges by node i, then j; node i's alpha after its edges)
 *   se.reduce.weight [r][1][1][mid], se.reduce.bias [r],
 *   se.expand.weight [mid][1][1][r], se.expand.bias [mid] when se (r = make_divisible(mid / 4, 8))
 *   project.weight [out][1][1][mid], project_bn.*
 * with `_bn.*` = weight, bias, running_mean, running_var (runtime/io/arch.h roles). */
#ifndef ASVK_RUNTIME_CELL_OPS_H
#define ASVK_RUNTIME_CELL_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/status.h"
#include "runtime/cell.h"
#include "runtime/graph.h"
#include "runtime/io/arch.h"

/* The shapes of a cell at one place in a network. */
typedef struct asvk_cell_shape {
    uint32_t in_c, in_h, in_w; /* the cell's input */
    uint32_t out_c, stride;    /* the layer's output channels and stride */
    uint32_t out_h, out_w;     /* ceil(in / stride) */
    uint32_t mid;              /* width of every node: round(expand * in_c), half to even; in_c when expand is 1 */
    uint32_t se_mid;           /* squeeze width when se, else 0 */
    bool pool_exact;           /* a strided identity is the s x s pool (the stride divides H and W) */
    bool residual;             /* stride 1 and in_c == out_c */
} asvk_cell_shape;

typedef struct asvk_cell_cost {
    uint64_t params; /* trainable elements: conv weights, BN gamma and beta, SE biases, mix alphas */
    uint64_t madds;  /* convolutions only (ProxylessNAS convention; pools, adds, mixes are free) */
} asvk_cell_cost;

/* ASVK_ERR_USAGE with one sentence naming the first problem ("node 2 has no
 * input", "edge 0 -> 3 has operator code 12"). */
asvk_status asvk_cell_check(const asvk_cell *c);

/* Field-by-field equality (the whole op matrix and every node's mix). */
bool asvk_cell_equal(const asvk_cell *a, const asvk_cell *b);

/* Number of inputs of node i (non-ZERO edges j -> i). */
uint32_t asvk_cell_inputs(const asvk_cell *c, uint32_t node);

/* Checks the cell and derives its shapes; ASVK_ERR_USAGE when the cell is
 * invalid or the sizes are out of range (channels 1..65536, stride 1..8). */
asvk_status asvk_cell_shape_of(const asvk_cell *c, uint32_t in_c, uint32_t in_h, uint32_t in_w, uint32_t out_c,
                               uint32_t stride, asvk_cell_shape *out);

/* Params and MAdds of a cell (the shape from asvk_cell_shape_of). */
asvk_cell_cost asvk_cell_cost_of(const asvk_cell *c, const asvk_cell_shape *s);

/* Calls `fn` once per parameter tensor, in the order above, with the name
 * suffix ("e2_0_bn.running_var"), its role and its logical (PyTorch) shape;
 * stops at the first non-OK status and returns it. */
typedef asvk_status (*asvk_cell_param_fn)(void *user, const char *suffix, asvk_param_role role, uint32_t rank,
                                          const uint32_t *shape);
asvk_status asvk_cell_params(const asvk_cell *c, const asvk_cell_shape *s, asvk_cell_param_fn fn, void *user);

/* BN settings and mode of the graph a cell is built into. */
typedef struct asvk_cell_build_opts {
    float bn_eps, bn_momentum;
    bool training;
} asvk_cell_build_opts;

/* Adds the cell's forward graph on x (N, in_c, in_h, in_w) to g and returns
 * its output (N, out_c, out_h, out_w), or ASVK_NO_VAL with the message set.
 * Parameters are looked up in g's store as prefix + name ("layers.3." +
 * "e1_0.weight"); node and value names start with the prefix too. */
asvk_val asvk_cell_build(asvk_graph *g, const char *prefix, const asvk_cell *c, const asvk_cell_shape *s, asvk_val x,
                         const asvk_cell_build_opts *o);

#endif
