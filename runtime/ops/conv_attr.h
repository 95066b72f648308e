/* Attributes of the convolution, batch-norm and pooling nodes, shared by
 * their op files (conv_ops.c, head_ops.c) and the pass that fuses a batch
 * norm into the convolutions and pools that read its output (fuse_bn.c). */
#ifndef ASVK_RUNTIME_OPS_CONV_ATTR_H
#define ASVK_RUNTIME_OPS_CONV_ATTR_H

#include "runtime/kernels/conv.h"
#include "runtime/kernels/norm.h"
#include "runtime/kernels/pool.h"

/* conv, conv_bwd_data, conv_bwd_weight, conv_bwd_bias. xbn (conv and
 * conv_bwd_weight): the input x is a training BN's input, read through that
 * BN's apply with activation xact; its gamma, beta, save_mean and
 * save_invstd are the node's inputs xat..xat+3. dbn (conv_bwd_data and
 * conv_bwd_weight): the output y is a training BN's input and the node's dy
 * is that BN's output gradient, read through the BN's backward with
 * activation dact; y (the BN's x) and the BN backward's workspace (its
 * terms) are the node's inputs dat, dat+1. */
typedef struct {
    asvk_conv_desc d;
    bool has_bias, accumulate;
    asvk_act act;
    bool xbn;
    uint8_t xat;
    asvk_act xact;
    bool dbn;
    uint8_t dat;
    asvk_act dact;
} conv_attr;

/* batchnorm, batchnorm_bwd. fused (training forward): every reader of y
 * applies the BN itself; the node computes the statistics only and its
 * outputs are save_mean, save_invstd (y is gone from the graph). dx_fused
 * (backward): the convolution that produced x computes dx as it loads it;
 * the node computes the sums only and its outputs are dgamma, dbeta. */
typedef struct {
    asvk_bn_desc d;
    bool training;
    bool want_dx, acc_dx, acc_dgamma, acc_dbeta;
    bool fused, dx_fused;
} bn_attr;

/* pool, pool_bwd. xbn (a pool, a max pool's backward): x is a training BN's
 * input, read through its apply with activation xact; its gamma, beta,
 * save_mean and save_invstd are the node's inputs xat..xat+3. */
typedef struct {
    asvk_pool_kind kind;
    asvk_pool2d p;
    asvk_nhwc xs;
    bool global, accumulate;
    bool xbn;
    uint8_t xat;
    asvk_act xact;
} pool_attr;

#endif
