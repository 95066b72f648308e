/* Launchers for shaders/optim/ (see optim.h). */
#include "runtime/kernels/optim.h"

#include <math.h>
#include <stddef.h>

#define OPT_WG 64u

static asvk_status check_common(asvk_buffer step, uint32_t lr_slot, uint64_t n, asvk_buffer param, asvk_buffer grad) {
    if (lr_slot >= ASVK_STEP_FLOATS || lr_slot == ASVK_STEP_T || lr_slot == ASVK_STEP_SEED)
        return asvk_error_set(ASVK_ERR_USAGE, "optimizer: step-buffer slot %u is not a learning rate", lr_slot);
    if (n + 4 > UINT32_MAX) return asvk_error_set(ASVK_ERR_LIMIT, "optimizer: a group of more than 2^32 floats");
    asvk_status st = asvk_check_floats(step, ASVK_STEP_FLOATS, "optimizer step buffer");
    if (!st) st = asvk_check_floats(param, n, "optimizer parameters");
    if (!st) st = asvk_check_floats(grad, n, "optimizer gradients");
    return st;
}

/* Floats per dispatch: a parameter group may be larger than the device binds
 * at once (maxStorageBufferRange, 128 MiB on lavapipe), so the update runs
 * over slices of at most this many floats (each slice's binding starts up to
 * 256 bytes earlier, at the offset alignment; the element-wise update does
 * not care where a slice ends). */
static uint64_t slice_floats(asvk_stream *s) {
    uint64_t range = asvk_context_device(asvk_stream_context(s))->max_storage_buffer_range;
    uint64_t f = range > 4096 ? (range - 1024) / 4 / 256 * 256 : 256;
    return f < (1ull << 30) ? f : 1ull << 30;
}

static asvk_buffer slice(asvk_buffer b, uint64_t first, uint64_t n) {
    return b.block ? asvk_buffer_sub(b, first * 4, n * 4) : b;
}

static asvk_status sgd_one(asvk_stream *s, const asvk_sgd_config *c, asvk_buffer step, uint64_t n,
                           asvk_buffer param, asvk_buffer grad, asvk_buffer momentum_buf);
static asvk_status adamw_one(asvk_stream *s, const asvk_adamw_config *c, asvk_buffer step, uint64_t n,
                             asvk_buffer param, asvk_buffer grad, asvk_buffer m, asvk_buffer v);

asvk_status asvk_optim_sgd(asvk_stream *s, const asvk_sgd_config *c, asvk_buffer step, uint64_t n,
                           asvk_buffer param, asvk_buffer grad, asvk_buffer momentum_buf) {
    uint64_t most = slice_floats(s);
    if (n <= most) return sgd_one(s, c, step, n, param, grad, momentum_buf);
    asvk_status st = check_common(step, c->lr_slot, n, param, grad);
    for (uint64_t i = 0; i < n && !st; i += most) {
        uint64_t k = n - i < most ? n - i : most;
        st = sgd_one(s, c, step, k, slice(param, i, k), slice(grad, i, k),
                     c->momentum != 0 ? slice(momentum_buf, i, k) : momentum_buf);
    }
    return st;
}

asvk_status asvk_optim_adamw(asvk_stream *s, const asvk_adamw_config *c, asvk_buffer step, uint64_t n,
                             asvk_buffer param, asvk_buffer grad, asvk_buffer m, asvk_buffer v) {
    uint64_t most = slice_floats(s);
    if (n <= most) return adamw_one(s, c, step, n, param, grad, m, v);
    asvk_status st = check_common(step, c->lr_slot, n, param, grad);
    if (!st && ((st = asvk_check_floats(m, n, "AdamW m")) || (st = asvk_check_floats(v, n, "AdamW v")))) return st;
    for (uint64_t i = 0; i < n && !st; i += most) {
        uint64_t k = n - i < most ? n - i : most;
        st = adamw_one(s, c, step, k, slice(param, i, k), slice(grad, i, k), slice(m, i, k), slice(v, i, k));
    }
    return st;
}

static asvk_status sgd_one(asvk_stream *s, const asvk_sgd_config *c, asvk_buffer step, uint64_t n,
                           asvk_buffer param, asvk_buffer grad, asvk_buffer momentum_buf) {
    if (!(c->momentum >= 0) || !(c->weight_decay >= 0))
        return asvk_error_set(ASVK_ERR_USAGE, "SGD: momentum %g and weight decay %g must be >= 0",
                              (double)c->momentum, (double)c->weight_decay);
    if (c->nesterov && c->momentum == 0)
        return asvk_error_set(ASVK_ERR_USAGE, "SGD: Nesterov momentum needs a momentum above 0");
    asvk_status st = check_common(step, c->lr_slot, n, param, grad);
    if (st || n == 0) return st;
    bool mom = c->momentum != 0;
    if (mom && (st = asvk_check_floats(momentum_buf, n, "SGD momentum buffer"))) return st;
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer bind[4];
    uint32_t off[4];
    asvk_buffer_bindable(ctx, step, &bind[0], &off[0]);
    asvk_buffer_bindable(ctx, grad, &bind[1], &off[1]);
    asvk_buffer_bindable(ctx, param, &bind[2], &off[2]);
    /* Without momentum the buffer binding repeats the parameters (untouched). */
    asvk_buffer_bindable(ctx, mom ? momentum_buf : param, &bind[3], &off[3]);
    uint32_t spec[4] = {OPT_WG, mom, c->nesterov, off[1] % 4 == 0 && off[2] % 4 == 0 && off[3] % 4 == 0};
    asvk_kernel *k;
    if ((st = asvk_kernel_get(ctx, "optim_sgd", spec, 4, &k))) return st;
    struct { uint32_t n, lr_slot, soff, goff, poff, boff; float momentum, wd; } push = {
        (uint32_t)n, c->lr_slot, off[0], off[1], off[2], off[3], c->momentum, c->weight_decay};
    return asvk_stream_dispatch_linear(s, k, bind, 4, &push, sizeof push, asvk_ceil_div(n, 4 * OPT_WG));
}

static asvk_status adamw_one(asvk_stream *s, const asvk_adamw_config *c, asvk_buffer step, uint64_t n,
                             asvk_buffer param, asvk_buffer grad, asvk_buffer m, asvk_buffer v) {
    if (!(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1) || !(c->eps > 0) ||
        !(c->weight_decay >= 0))
        return asvk_error_set(ASVK_ERR_USAGE,
                              "AdamW: betas (%g, %g) must lie in [0, 1), eps %g above 0, weight decay %g >= 0",
                              (double)c->beta1, (double)c->beta2, (double)c->eps, (double)c->weight_decay);
    asvk_status st = check_common(step, c->lr_slot, n, param, grad);
    if (st || n == 0) return st;
    if ((st = asvk_check_floats(m, n, "AdamW m")) || (st = asvk_check_floats(v, n, "AdamW v"))) return st;
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer bind[5];
    uint32_t off[5];
    asvk_buffer_bindable(ctx, step, &bind[0], &off[0]);
    asvk_buffer_bindable(ctx, grad, &bind[1], &off[1]);
    asvk_buffer_bindable(ctx, param, &bind[2], &off[2]);
    asvk_buffer_bindable(ctx, m, &bind[3], &off[3]);
    asvk_buffer_bindable(ctx, v, &bind[4], &off[4]);
    uint32_t spec[2] = {OPT_WG, off[1] % 4 == 0 && off[2] % 4 == 0 && off[3] % 4 == 0 && off[4] % 4 == 0};
    asvk_kernel *k;
    if ((st = asvk_kernel_get(ctx, "optim_adamw", spec, 2, &k))) return st;
    /* ln(b) in double, rounded once: t * ln b is then accurate to ~2 ulp.
     * beta = 0 has no bias correction (1 - 0^t = 1): a large finite
     * stand-in for ln 0 = -inf takes the kernel's y < -88 branch. */
    float ln_b1 = c->beta1 > 0 ? (float)log((double)c->beta1) : -1e4f;
    float ln_b2 = c->beta2 > 0 ? (float)log((double)c->beta2) : -1e4f;
    struct {
        uint32_t n, lr_slot, t_slot, soff, goff, poff, moff, voff;
        float b1, b2, ln_b1, ln_b2, eps, wd;
    } push = {(uint32_t)n, c->lr_slot, ASVK_STEP_T, off[0], off[1], off[2], off[3], off[4],
              c->beta1, c->beta2, ln_b1, ln_b2, c->eps,
              c->weight_decay};
    return asvk_stream_dispatch_linear(s, k, bind, 5, &push, sizeof push, asvk_ceil_div(n, 4 * OPT_WG));
}
