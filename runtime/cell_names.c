/* The small, fixed parts of runtime/cell.h: operator names, constructors. */
#include <string.h>

#include "runtime/cell.h"

static const char *const names[ASVK_CELL_OPS] = {"zero",  "identity", "conv1x1", "conv3x3",   "dw3x3",
                                                 "dw5x5", "dw7x7",    "avgpool3x3", "maxpool3x3"};

const char *asvk_cell_op_name(asvk_cell_op op) { return (unsigned)op < ASVK_CELL_OPS ? names[op] : "?"; }

bool asvk_cell_op_parse(const char *name, asvk_cell_op *out) {
    for (int i = 0; i < ASVK_CELL_OPS; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (asvk_cell_op)i;
            return true;
        }
    return false;
}

void asvk_cell_init(asvk_cell *c, uint32_t nodes, float expand) {
    memset(c, 0, sizeof *c);
    c->nodes = (uint8_t)nodes;
    c->expand = expand;
    c->act = ASVK_ACT_RELU6;
}

asvk_cell asvk_cell_mbconv(uint32_t k, float expand) {
    asvk_cell c;
    asvk_cell_init(&c, 2, expand);
    c.op[1][0] = k == 7 ? ASVK_CELL_DW7X7 : k == 5 ? ASVK_CELL_DW5X5 : ASVK_CELL_DW3X3;
    return c;
}
