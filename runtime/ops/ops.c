/* The op table: one line per op id. */
#include "runtime/ops/ops.h"

extern const asvk_op_def asvk_op_matmul_def, asvk_op_matmul_bwd_data_def, asvk_op_matmul_bwd_weight_def,
    asvk_op_add_def, asvk_op_grad_copy_def, asvk_op_dot_loss_def;

static const asvk_op_def *const table[ASVK_OP_COUNT_] = {
    [ASVK_OP_MATMUL] = &asvk_op_matmul_def,
    [ASVK_OP_MATMUL_BWD_DATA] = &asvk_op_matmul_bwd_data_def,
    [ASVK_OP_MATMUL_BWD_WEIGHT] = &asvk_op_matmul_bwd_weight_def,
    [ASVK_OP_ADD] = &asvk_op_add_def,
    [ASVK_OP_GRAD_COPY] = &asvk_op_grad_copy_def,
    [ASVK_OP_DOT_LOSS] = &asvk_op_dot_loss_def,
};

const asvk_op_def *asvk_op_def_get(uint16_t op) { return op < ASVK_OP_COUNT_ ? table[op] : 0; }
