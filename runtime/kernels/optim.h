/* Optimizer steps as shaders (shaders/optim/): SGD with momentum / Nesterov /
 * weight decay and AdamW, with PyTorch's semantics (torch.optim.SGD with
 * dampening 0, torch.optim.AdamW with amsgrad off).
 *
 * Each launcher updates n contiguous floats (the runtime lays out all
 * parameters of a group contiguously, with their gradients and optimizer
 * state likewise), so one dispatch updates a whole group. The learning rate
 * and the step count t are read at run time from the step buffer
 * (ASVK_STEP_FLOATS floats, runtime/kernels/common.h): a training step is
 * recorded once and replayed after the host rewrites that buffer. lr_slot
 * picks the learning rate: ASVK_STEP_LR (the default, 0) or
 * ASVK_STEP_LR_ARCH for architecture parameters. Hyper-parameters that do
 * not change between steps are push constants. Buffers are views at any
 * 4-byte offset. */
#ifndef ASVK_RUNTIME_KERNELS_OPTIM_H
#define ASVK_RUNTIME_KERNELS_OPTIM_H

#include "runtime/kernels/common.h"

typedef struct asvk_sgd_config {
    float momentum;     /* 0: plain SGD, no momentum buffer */
    float weight_decay; /* L2 penalty added to the gradient: d = g + wd * p */
    bool nesterov;      /* needs momentum > 0 */
    uint32_t lr_slot;   /* step-buffer index of the learning rate */
} asvk_sgd_config;

/* d = g + wd p; buf = momentum buf + d; d = nesterov ? d + momentum buf : buf;
 * p -= lr d. The momentum buffer (n floats; empty {0} when momentum == 0)
 * must start at zero: the first step then gives buf = d exactly, PyTorch's
 * first-step rule. ASVK_ERR_USAGE for nesterov without momentum, negative
 * hyper-parameters or a slot outside the step buffer. */
asvk_status asvk_optim_sgd(asvk_stream *s, const asvk_sgd_config *c, asvk_buffer step, uint64_t n,
                           asvk_buffer param, asvk_buffer grad, asvk_buffer momentum_buf);

typedef struct asvk_adamw_config {
    float beta1, beta2; /* in [0, 1) */
    float eps;          /* > 0 */
    float weight_decay; /* decoupled: p *= 1 - lr * wd */
    uint32_t lr_slot;
} asvk_adamw_config;

/* p *= 1 - lr wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= lr/(1 - b1^t) * m / (sqrt(v)/sqrt(1 - b2^t) + eps), t = step[ASVK_STEP_T].
 * m and v (n floats each) start at zero. */
asvk_status asvk_optim_adamw(asvk_stream *s, const asvk_adamw_config *c, asvk_buffer step, uint64_t n,
                             asvk_buffer param, asvk_buffer grad, asvk_buffer m, asvk_buffer v);

#endif
