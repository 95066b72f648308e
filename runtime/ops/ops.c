/* The op table: one line per op id. */
#include "runtime/ops/ops.h"

extern const asvk_op_def asvk_op_matmul_def, asvk_op_matmul_bwd_data_def, asvk_op_matmul_bwd_weight_def,
    asvk_op_add_def, asvk_op_grad_copy_def, asvk_op_dot_loss_def,
    asvk_op_conv_def, asvk_op_conv_bwd_data_def, asvk_op_conv_bwd_weight_def, asvk_op_conv_bwd_bias_def, asvk_op_bn_def, asvk_op_bn_bwd_def, asvk_op_act_def, asvk_op_act_bwd_def, asvk_op_mul_def, asvk_op_mul_bwd_def, asvk_op_chscale_def, asvk_op_chscale_bwd_def, asvk_op_dropout_def, asvk_op_dropout_bwd_def, asvk_op_mix_def, asvk_op_mix_bwd_def, asvk_op_pool_def, asvk_op_pool_bwd_def, asvk_op_linear_def, asvk_op_linear_bwd_data_def, asvk_op_linear_bwd_weight_def, asvk_op_linear_bwd_bias_def, asvk_op_concat_def, asvk_op_concat_bwd_def, asvk_op_ce_loss_def, asvk_op_ce_loss_bwd_def, asvk_op_optim_def,
    asvk_op_mse_def, asvk_op_mse_bwd_def, asvk_op_scalar_loss_def, asvk_op_scalar_loss_bwd_def, asvk_op_fold_bn_def;

static const asvk_op_def *const table[ASVK_OP_COUNT_] = {
    [ASVK_OP_MATMUL] = &asvk_op_matmul_def,
    [ASVK_OP_MATMUL_BWD_DATA] = &asvk_op_matmul_bwd_data_def,
    [ASVK_OP_MATMUL_BWD_WEIGHT] = &asvk_op_matmul_bwd_weight_def,
    [ASVK_OP_ADD] = &asvk_op_add_def,
    [ASVK_OP_GRAD_COPY] = &asvk_op_grad_copy_def,
    [ASVK_OP_DOT_LOSS] = &asvk_op_dot_loss_def,
    [ASVK_OP_CONV] = &asvk_op_conv_def,
    [ASVK_OP_CONV_BWD_DATA] = &asvk_op_conv_bwd_data_def,
    [ASVK_OP_CONV_BWD_WEIGHT] = &asvk_op_conv_bwd_weight_def,
    [ASVK_OP_CONV_BWD_BIAS] = &asvk_op_conv_bwd_bias_def,
    [ASVK_OP_BN] = &asvk_op_bn_def,
    [ASVK_OP_BN_BWD] = &asvk_op_bn_bwd_def,
    [ASVK_OP_ACT] = &asvk_op_act_def,
    [ASVK_OP_ACT_BWD] = &asvk_op_act_bwd_def,
    [ASVK_OP_MUL] = &asvk_op_mul_def,
    [ASVK_OP_MUL_BWD] = &asvk_op_mul_bwd_def,
    [ASVK_OP_CHSCALE] = &asvk_op_chscale_def,
    [ASVK_OP_CHSCALE_BWD] = &asvk_op_chscale_bwd_def,
    [ASVK_OP_DROPOUT] = &asvk_op_dropout_def,
    [ASVK_OP_DROPOUT_BWD] = &asvk_op_dropout_bwd_def,
    [ASVK_OP_MIX] = &asvk_op_mix_def,
    [ASVK_OP_MIX_BWD] = &asvk_op_mix_bwd_def,
    [ASVK_OP_POOL] = &asvk_op_pool_def,
    [ASVK_OP_POOL_BWD] = &asvk_op_pool_bwd_def,
    [ASVK_OP_LINEAR] = &asvk_op_linear_def,
    [ASVK_OP_LINEAR_BWD_DATA] = &asvk_op_linear_bwd_data_def,
    [ASVK_OP_LINEAR_BWD_WEIGHT] = &asvk_op_linear_bwd_weight_def,
    [ASVK_OP_LINEAR_BWD_BIAS] = &asvk_op_linear_bwd_bias_def,
    [ASVK_OP_CONCAT] = &asvk_op_concat_def,
    [ASVK_OP_CONCAT_BWD] = &asvk_op_concat_bwd_def,
    [ASVK_OP_CE_LOSS] = &asvk_op_ce_loss_def,
    [ASVK_OP_CE_LOSS_BWD] = &asvk_op_ce_loss_bwd_def,
    [ASVK_OP_OPTIM] = &asvk_op_optim_def,
    [ASVK_OP_MSE] = &asvk_op_mse_def,
    [ASVK_OP_MSE_BWD] = &asvk_op_mse_bwd_def,
    [ASVK_OP_SCALAR_LOSS] = &asvk_op_scalar_loss_def,
    [ASVK_OP_SCALAR_LOSS_BWD] = &asvk_op_scalar_loss_bwd_def,
    [ASVK_OP_FOLD_BN] = &asvk_op_fold_bn_def,
};

const asvk_op_def *asvk_op_def_get(uint16_t op) { return op < ASVK_OP_COUNT_ ? table[op] : 0; }

extern void asvk_op_conv_describe(const asvk_node *n, char *buf, size_t size);
extern void asvk_op_bn_describe(const asvk_node *n, char *buf, size_t size);
extern void asvk_op_act_describe(const asvk_node *n, char *buf, size_t size);
extern void asvk_op_pool_describe(const asvk_node *n, char *buf, size_t size);
extern void asvk_op_linear_describe(const asvk_node *n, char *buf, size_t size);
extern void asvk_op_dropout_describe(const asvk_node *n, char *buf, size_t size);

/* Forward ops only: latency tables time inference graphs. */
static const asvk_op_describe_fn describe[ASVK_OP_COUNT_] = {
    [ASVK_OP_CONV] = asvk_op_conv_describe,       [ASVK_OP_BN] = asvk_op_bn_describe,
    [ASVK_OP_ACT] = asvk_op_act_describe,         [ASVK_OP_POOL] = asvk_op_pool_describe,
    [ASVK_OP_LINEAR] = asvk_op_linear_describe,   [ASVK_OP_DROPOUT] = asvk_op_dropout_describe,
};

asvk_op_describe_fn asvk_op_describe_get(uint16_t op) { return op < ASVK_OP_COUNT_ ? describe[op] : 0; }

extern double asvk_op_conv_flops(const asvk_node *n);
extern double asvk_op_linear_flops(const asvk_node *n);
extern double asvk_op_matmul_flops(const asvk_node *n);

static const asvk_op_flops_fn flops[ASVK_OP_COUNT_] = {
    [ASVK_OP_CONV] = asvk_op_conv_flops,          [ASVK_OP_CONV_BWD_DATA] = asvk_op_conv_flops,
    [ASVK_OP_CONV_BWD_WEIGHT] = asvk_op_conv_flops, [ASVK_OP_LINEAR] = asvk_op_linear_flops,
    [ASVK_OP_LINEAR_BWD_DATA] = asvk_op_linear_flops, [ASVK_OP_LINEAR_BWD_WEIGHT] = asvk_op_linear_flops,
    [ASVK_OP_MATMUL] = asvk_op_matmul_flops,      [ASVK_OP_MATMUL_BWD_DATA] = asvk_op_matmul_flops,
    [ASVK_OP_MATMUL_BWD_WEIGHT] = asvk_op_matmul_flops,
};

asvk_op_flops_fn asvk_op_flops_get(uint16_t op) { return op < ASVK_OP_COUNT_ ? flops[op] : 0; }
