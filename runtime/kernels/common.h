/* Conventions shared by every operator-kernel family (docs/kernels.md). */
#ifndef ASVK_RUNTIME_KERNELS_COMMON_H
#define ASVK_RUNTIME_KERNELS_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"

/* Geometry of an activation tensor. Logical shape (N, C, H, W) as in
 * PyTorch; stored channels-last (NHWC): element (n, c, y, x) lives at
 * ((n*H + y)*W + x)*C + c. A 2-D tensor (N, F) is the case H = W = 1. */
typedef struct asvk_nhwc {
    uint32_t n, h, w, c;
} asvk_nhwc;

static inline uint64_t asvk_nhwc_count(asvk_nhwc s) { return (uint64_t)s.n * s.h * s.w * s.c; }
static inline uint64_t asvk_nhwc_pixels(asvk_nhwc s) { return (uint64_t)s.n * s.h * s.w; }

/* Activation functions; kernels take one as a specialization constant. */
typedef enum {
    ASVK_ACT_NONE = 0,
    ASVK_ACT_RELU = 1,
    ASVK_ACT_RELU6 = 2,
    ASVK_ACT_HSWISH = 3,  /* x * relu6(x + 3) / 6 */
    ASVK_ACT_SWISH = 4,   /* x * sigmoid(x) */
    ASVK_ACT_SIGMOID = 5,
    ASVK_ACT_HSIGMOID = 6, /* relu6(x + 3) / 6: the gate of ProxylessNAS/MobileNetV3 squeeze-excitation */
} asvk_act;

/* A training batch norm's apply done by the loads of the kernel that reads
 * its output (a BN fused into its consumer, runtime/ops/fuse_bn.c): the kernel is
 * given the BN's input x and uses y = act((x - mean[c]) * (gamma[c] *
 * invstd[c]) + beta[c]) for every value of channel c it loads
 * (shaders/include/bn_load.glsl; bn_apply's arithmetic). gamma, beta, mean
 * and invstd are [C] (mean and invstd: the batch statistics the BN's forward
 * saved). Launchers take a pointer to one (NULL: plain loads). */
typedef struct asvk_bn_load {
    asvk_act act;
    asvk_buffer gamma, beta, mean, invstd;
} asvk_bn_load;

/* A training batch norm's backward fused into the loads of its input's
 * gradient (runtime/ops/fuse_bn.c): the kernel reads the BN's output
 * gradient dy and its input t (laid out as dy) and computes dL/dt itself
 * (shaders/include/bn_grad_load.glsl) from the terms the BN's backward sums
 * left (asvk_bn_backward_terms: [6][cq] floats). */
typedef struct asvk_bn_grad_load {
    asvk_act act;
    asvk_buffer t, terms;
    uint32_t pixels; /* the BN's N*H*W */
    uint32_t cq;     /* the terms' rows: its channels rounded up to 4 */
} asvk_bn_grad_load;

/* Per-step scalars the host rewrites between replays of a recorded training
 * step, so that the command buffer never changes: a small device buffer of
 * ASVK_STEP_FLOATS floats, bound to kernels as a read-only tensor. */
enum {
    ASVK_STEP_LR = 0,     /* learning rate of this step */
    ASVK_STEP_T = 1,      /* 1-based optimizer step count, as a float */
    ASVK_STEP_SEED = 2,   /* random seed of this step (uint32 bits, read with floatBitsToUint) */
    ASVK_STEP_LR_ARCH = 3,/* learning rate of architecture parameters */
    ASVK_STEP_LOSS_SCALE = 4, /* dL/dloss seeded into the loss backward (1.0) */
    ASVK_STEP_FLOATS = 16
};

/* Fails with ASVK_ERR_INTERNAL when `buf` holds fewer than `floats` floats. */
asvk_status asvk_check_floats(asvk_buffer buf, uint64_t floats, const char *what);
/* Fails with ASVK_ERR_INTERNAL unless the fused BN's activation is known and
 * its four vectors hold `channels` floats each (`what` names the kernel). */
asvk_status asvk_bn_load_check(const asvk_bn_load *l, uint64_t channels, const char *what);

/* ceil(a / b) */
static inline uint64_t asvk_ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

/* Division by a divisor the shader only learns at run time, as a multiply and
 * shifts (shaders/include/fastdiv.glsl): a vector unit has no integer divide,
 * so on CPU devices (lavapipe) each `n / d` of a SIMD group becomes one scalar
 * division per lane, which dominated index arithmetic in the pooling kernels.
 * Granlund and Montgomery's round-up method ("Division by invariant integers
 * using multiplication", 1994, fig. 4.1): with l = ceil(log2 d),
 * magic = floor(2^32 (2^l - d) / d) + 1, t = (n * magic) >> 32,
 * n / d = (t + ((n - t) >> min(l, 1))) >> max(l - 1, 0), exact for every
 * 32-bit n and d >= 1. shifts = min(l, 1) | max(l - 1, 0) << 8. */
typedef struct {
    uint32_t magic, shifts;
} asvk_fastdiv;
asvk_fastdiv asvk_fastdiv_of(uint32_t d);
/* The shader's arithmetic on the host (the tests check it against `/`). */
static inline uint32_t asvk_fastdiv_apply(uint32_t n, asvk_fastdiv f) {
    uint32_t t = (uint32_t)(((uint64_t)n * f.magic) >> 32);
    return (t + ((n - t) >> (f.shifts & 0xffu))) >> (f.shifts >> 8);
}

#endif
