/* The published AutoSpace "Motif" cell encoding (reference/autospace/
 * search_space.config and net_340M.config) <-> asvk_cell (runtime/cell.h).
 *
 * A Motif is a 4 x 4 matrix M over nodes 0 (expanded input) .. 3 (output):
 *   M[i][j], j < i   operator code on edge j -> i (the table below)
 *   M[0][3]          dim_conv_idx: expansion ratio index (0 -> 1, 1 -> 3, 2 -> 6)
 *   M[1][3]          [mode of node 2, mode of node 3]: 0 sum, 1 weighted sum
 * The file writes M[1][3] as a nested list, so callers pass the lower
 * triangle as `m` (its upper entries and diagonal are ignored on decode and
 * written 0 on encode) and the two upper entries separately.
 *
 * Operator codes: OUR READING of the published files (the authors published
 * no code; AUTOSPACE.md, "The cell genome", gives the evidence):
 *   1 no edge (ZERO)      2 IDENTITY      3, 5, 7, 9 depthwise k x k conv
 * and the kernel of the depthwise codes is an option:
 *   ASVK_MOTIF_K_CODE_MINUS_2 (default)  5 -> dw3x3, 7 -> dw5x5, 9 -> dw7x7,
 *       3 -> dw3x3 (k = 1 would be a depthwise 1x1, which is not an operator
 *       of the open space; 3 stays a spatial depthwise op, as the files
 *       suggest, at the smallest kernel we have). dw3x3 encodes as 5, so a
 *       code 3 does not survive decode -> encode under this reading.
 *   ASVK_MOTIF_K_CODE                    3 -> dw3x3, 5 -> dw5x5, 7 -> dw7x7,
 *       9 -> not representable (ASVK_ERR_USAGE).
 * The default is the reading under which net_340M.config builds at all (it
 * uses code 9) and lands nearest its published 340M MAdds / 4.3M params, with
 * the (5, 2, 2) chain reading as MobileNetV2's dw3x3 block; the figures are
 * in docs/architecture.md. Codes 0, 4, 6, 8 and >= 10 are unknown. */
#ifndef ASVK_RUNTIME_IO_MOTIF_H
#define ASVK_RUNTIME_IO_MOTIF_H

#include <cjson/cJSON.h>

#include "engine/status.h"
#include "runtime/cell.h"

typedef enum {
    ASVK_MOTIF_K_CODE_MINUS_2 = 0, /* depthwise kernel = max(3, code - 2) */
    ASVK_MOTIF_K_CODE = 1,         /* depthwise kernel = code */
} asvk_motif_reading;

#define ASVK_MOTIF_READING_DEFAULT ASVK_MOTIF_K_CODE_MINUS_2
#define ASVK_MOTIF_NODES 4

/* "code-2" / "code": option values for --motif-reading style flags. */
const char *asvk_motif_reading_name(asvk_motif_reading r);
bool asvk_motif_reading_parse(const char *s, asvk_motif_reading *out);

/* One operator code <-> one cell operator. ASVK_ERR_USAGE for unknown codes,
 * and for operators the format cannot hold (conv1x1, conv3x3, the pools;
 * dw7x7 under ASVK_MOTIF_K_CODE). */
asvk_status asvk_motif_op_decode(int code, asvk_motif_reading reading, asvk_cell_op *out);
asvk_status asvk_motif_op_encode(asvk_cell_op op, asvk_motif_reading reading, int *code);

/* dim_conv_idx <-> expansion ratio (0 -> 1, 1 -> 3, 2 -> 6; others are errors). */
asvk_status asvk_motif_expand_decode(int dim_conv_idx, float *expand);
asvk_status asvk_motif_expand_encode(float expand, int *dim_conv_idx);

/* A Motif to a cell: 4 nodes, ops from m's lower triangle, expand from
 * dim_conv_idx, mix[0] / mix[1] as the merge modes of nodes 2 / 3 (kept as
 * given even where the node has one input, so a round trip is exact), relu6,
 * no SE (net.config's has_se is the caller's). The cell is not checked for
 * reachability here: that is asvk_cell_check's (runtime/cell_ops.h). */
asvk_status asvk_motif_decode(const int m[4][4], int dim_conv_idx, const int mix[2], asvk_motif_reading reading,
                              asvk_cell *out);

/* A cell to a Motif. Cells of 2 or 3 nodes are padded to 4 with identity
 * edges after their output node (the published MBConv cells are such chains,
 * (5, 2, 2)): the result computes the same function. ASVK_ERR_USAGE for more
 * than 4 nodes, an operator the format cannot hold, an expansion other than
 * 1, 3 or 6, or an activation other than relu6 (the format has no field for
 * it). Node 1's merge mode is not in the format (in 4 nodes it has at most
 * one input) and SE is net.config's has_se, the caller's: both are ignored. */
asvk_status asvk_motif_encode(const asvk_cell *c, asvk_motif_reading reading, int m[4][4], int *dim_conv_idx,
                              int mix[2]);

/* The same with the matrix as JSON, as search_space.config holds it and
 * net.config's build_graph string spells it:
 *   [[0, 0, 0, dim_conv_idx], [c10, 0, 0, [mix2, mix3]], [c20, c21, 0, 0], [c30, c31, c32, 0]]
 * Reading checks the shape and that the diagonal and the other upper entries
 * are 0; messages name `ctx` ("blocks[3][2]"). Writing returns a new array
 * (cJSON_Delete it), or NULL with the message set. */
asvk_status asvk_motif_from_json(const cJSON *matrix, const char *ctx, asvk_motif_reading reading, asvk_cell *out);
asvk_status asvk_motif_to_json(const asvk_cell *c, asvk_motif_reading reading, cJSON **out);

#endif
