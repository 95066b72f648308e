/* AutoSpace cells as data (../shared/AUTOSPACE.md, "The cell genome"): a
 * small DAG of basic operators inside an inverted-residual wrapper. This
 * header is the genome's shape, shared by the runtime (which builds a cell
 * into a graph and counts its cost: runtime/cell.c) and by autospace/
 * (which validates, canonicalises, hashes and mutates genomes).
 *
 * A cell at a layer with input C_in x H x W, output C_out and stride s:
 *   x0 = act(BN(conv1x1(x, mid)))        mid = round(expand * C_in); skipped when expand == 1
 *   node 0 = x0
 *   node i = merge over j < i with op[i][j] != ZERO of edge_op(node j)
 *            (edges leaving node 0 carry the stride s; every node has `mid` channels)
 *   y  = BN(conv1x1(SE(node N-1), C_out))  (no activation), SE only when `se`
 *   out = y + x when s == 1 and C_in == C_out
 * Edge ops keep channels (and resolution unless strided):
 *   IDENTITY          x, or a 2x2 average pool with stride 2 on a strided edge
 *   CONV1X1, CONV3X3  full convolution -> BN -> act
 *   DW3X3..DW7X7      depthwise convolution -> BN -> act
 *   AVGPOOL3X3, MAXPOOL3X3 (padding 1; average excludes padding)
 * Merges: SUM adds the inputs; WEIGHTED adds them weighted by softmax of a
 * learned per-node vector (one logit per input: the cheap SK-style weighted
 * sum the published cells require). A node with one input is that input.
 * MobileNetV2's block is {nodes 2, op[1][0] = DW3X3, expand 6}. */
#ifndef ASVK_RUNTIME_CELL_H
#define ASVK_RUNTIME_CELL_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/kernels/common.h"

#define ASVK_CELL_MAX_NODES 6

typedef enum {
    ASVK_CELL_ZERO = 0,
    ASVK_CELL_IDENTITY,
    ASVK_CELL_CONV1X1,
    ASVK_CELL_CONV3X3,
    ASVK_CELL_DW3X3,
    ASVK_CELL_DW5X5,
    ASVK_CELL_DW7X7,
    ASVK_CELL_AVGPOOL3X3,
    ASVK_CELL_MAXPOOL3X3,
    ASVK_CELL_OPS /* count */
} asvk_cell_op;

typedef enum { ASVK_MIX_SUM = 0, ASVK_MIX_WEIGHTED = 1 } asvk_cell_mix;

typedef struct asvk_cell {
    uint8_t nodes;                                        /* 2 .. ASVK_CELL_MAX_NODES */
    uint8_t op[ASVK_CELL_MAX_NODES][ASVK_CELL_MAX_NODES]; /* op[i][j] for j < i: edge j -> i; zero elsewhere */
    uint8_t mix[ASVK_CELL_MAX_NODES];                     /* asvk_cell_mix of node i */
    float expand;                                         /* expansion ratio, > 0 (1: no expand conv) */
    bool se;                                              /* squeeze-excitation before the projection */
    asvk_act act;                                         /* of the expand conv and every conv edge (default relu6) */
} asvk_cell;

/* Short names ("zero", "identity", "conv1x1", "conv3x3", "dw3x3", "dw5x5",
 * "dw7x7", "avgpool3x3", "maxpool3x3"), and their parsing. */
const char *asvk_cell_op_name(asvk_cell_op op);
bool asvk_cell_op_parse(const char *name, asvk_cell_op *out);

/* An empty cell of n nodes, expand e, relu6, no SE. */
void asvk_cell_init(asvk_cell *c, uint32_t nodes, float expand);
/* The MBConv genome: expand e, depthwise k x k (k = 3, 5, 7). */
asvk_cell asvk_cell_mbconv(uint32_t k, float expand);

#endif
