/* Launchers for shaders/loss/ (see loss.h). */
#include "runtime/kernels/loss.h"

#include <stddef.h>

#define LOSS_FWD_WG 64u /* the forward's single workgroup (a power of two) */
#define LOSS_BWD_WG 64u

static asvk_status check(uint32_t n, uint32_t k, float smoothing, asvk_buffer logits, asvk_buffer labels) {
    if (n == 0 || k == 0) return asvk_error_set(ASVK_ERR_USAGE, "cross-entropy of %u samples over %u classes", n, k);
    if (!(smoothing >= 0 && smoothing <= 1))
        return asvk_error_set(ASVK_ERR_USAGE, "label smoothing %g is outside [0, 1]", (double)smoothing);
    if ((uint64_t)n * k + 4 > UINT32_MAX)
        return asvk_error_set(ASVK_ERR_LIMIT, "cross-entropy: logits of more than 2^32 floats");
    asvk_status st = asvk_check_floats(logits, (uint64_t)n * k, "cross-entropy logits");
    return st ? st : asvk_check_floats(labels, n, "cross-entropy labels");
}

asvk_status asvk_loss_ce_forward(asvk_stream *s, uint32_t n, uint32_t k, float smoothing, asvk_buffer logits,
                                 asvk_buffer labels, asvk_buffer loss, asvk_buffer correct, asvk_buffer per_sample) {
    asvk_status st = check(n, k, smoothing, logits, labels);
    if (st || (st = asvk_check_floats(loss, 1, "cross-entropy loss")) ||
        (st = asvk_check_floats(correct, 1, "cross-entropy correct")))
        return st;
    bool per = per_sample.block != NULL;
    if (per && (st = asvk_check_floats(per_sample, n, "cross-entropy per-sample losses"))) return st;
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer bind[5];
    uint32_t off[5];
    asvk_buffer_bindable(ctx, logits, &bind[0], &off[0]);
    asvk_buffer_bindable(ctx, labels, &bind[1], &off[1]);
    asvk_buffer_bindable(ctx, loss, &bind[2], &off[2]);
    asvk_buffer_bindable(ctx, correct, &bind[3], &off[3]);
    /* Without per-sample output the binding still needs a buffer; the loss
     * is bound there, never written (PER_SAMPLE is off). */
    asvk_buffer_bindable(ctx, per ? per_sample : loss, &bind[4], &off[4]);
    uint32_t spec[3] = {LOSS_FWD_WG, per, k % 4 == 0 && off[0] % 4 == 0};
    asvk_kernel *kern;
    if ((st = asvk_kernel_get(ctx, "loss_ce_fwd", spec, 3, &kern))) return st;
    struct { uint32_t n, k; float on, off; uint32_t zoff, loff, lossoff, coroff, soff; } push = {
        n, k, (float)(1.0 - smoothing), (float)((double)smoothing / k), off[0], off[1], off[2], off[3], off[4]};
    return asvk_stream_dispatch(s, kern, bind, 5, &push, sizeof push, 1, 1, 1);
}

asvk_status asvk_loss_ce_backward(asvk_stream *s, uint32_t n, uint32_t k, float smoothing, asvk_buffer logits,
                                  asvk_buffer labels, asvk_buffer dloss, asvk_buffer dlogits, bool accumulate) {
    asvk_status st = check(n, k, smoothing, logits, labels);
    if (st || (st = asvk_check_floats(dloss, 1, "cross-entropy dloss")) ||
        (st = asvk_check_floats(dlogits, (uint64_t)n * k, "cross-entropy dlogits")))
        return st;
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer bind[4];
    uint32_t off[4];
    asvk_buffer_bindable(ctx, logits, &bind[0], &off[0]);
    asvk_buffer_bindable(ctx, labels, &bind[1], &off[1]);
    asvk_buffer_bindable(ctx, dloss, &bind[2], &off[2]);
    asvk_buffer_bindable(ctx, dlogits, &bind[3], &off[3]);
    uint32_t spec[3] = {LOSS_BWD_WG, accumulate, k % 4 == 0 && off[0] % 4 == 0 && off[3] % 4 == 0};
    asvk_kernel *kern;
    if ((st = asvk_kernel_get(ctx, "loss_ce_bwd", spec, 3, &kern))) return st;
    struct { uint32_t n, k; float on, off; uint32_t zoff, loff, doff, dzoff; } push = {
        n, k, (float)(1.0 - smoothing), (float)((double)smoothing / k), off[0], off[1], off[2], off[3]};
    return asvk_stream_dispatch_linear(s, kern, bind, 4, &push, sizeof push, asvk_ceil_div(n, LOSS_BWD_WG));
}
