/* Launchers for shaders/loss/ (see loss.h). */
#include "runtime/kernels/loss.h"

#include <stddef.h>

#include "runtime/blas.h"

#define LOSS_FWD_WG 64u /* the forward's single workgroup (a power of two) */
#define LOSS_BWD_WG 64u
#define MSE_WG 64u   /* loss_mse_fwd workgroup (a power of two) */
#define MSE_ITEMS 8u /* vec4s per invocation: a chunk is 2048 floats */
#define MSE_CHUNK (MSE_WG * 4u * MSE_ITEMS)
#define MSE_BWD_WG 64u /* four elements per invocation */
#define MSE_MAX (1ull << 31) /* element indices (+ a folded grid's overshoot) stay in 32 bits */

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

/* ---- squared error ---- */

static uint64_t mse_chunks(uint64_t n) { return n ? asvk_ceil_div(n, MSE_CHUNK) : 1; }

uint64_t asvk_loss_mse_workspace(uint64_t n) {
    uint64_t chunks = mse_chunks(n);
    if (chunks == 1 || n > MSE_MAX) return 0;
    /* the partials, rounded to 16 bytes, then reduce_sum's own workspace */
    return asvk_ceil_div(chunks * 4, 16) * 16 + asvk_blas_sum_workspace(1, (uint32_t)chunks);
}

static asvk_status mse_check(uint64_t n, asvk_buffer y, asvk_buffer t) {
    if (n > MSE_MAX)
        return asvk_error_set(ASVK_ERR_LIMIT, "squared error of %llu floats (at most 2^31)", (unsigned long long)n);
    asvk_status st = asvk_check_floats(y, n, "squared-error y");
    return st ? st : asvk_check_floats(t, n, "squared-error target");
}

asvk_status asvk_loss_mse_forward(asvk_stream *s, uint64_t n, float scale, asvk_buffer y, asvk_buffer t,
                                  asvk_buffer out, asvk_buffer workspace) {
    asvk_status st = mse_check(n, y, t);
    if (st || (st = asvk_check_floats(out, 1, "squared-error out"))) return st;
    if (n == 0) return asvk_stream_fill_u32(s, asvk_buffer_sub(out, 0, 4), 0); /* the empty sum (a transfer) */
    uint64_t chunks = mse_chunks(n), ws = asvk_loss_mse_workspace(n), pbytes = asvk_ceil_div(chunks * 4, 16) * 16;
    if (chunks > 1 && (!workspace.block || workspace.size < ws))
        return asvk_error_set(ASVK_ERR_INTERNAL, "squared error of %llu floats needs a %llu-byte workspace",
                              (unsigned long long)n, (unsigned long long)ws);
    asvk_buffer partials = chunks > 1 ? asvk_buffer_sub(workspace, 0, chunks * 4) : out;
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer bind[3];
    uint32_t off[3];
    asvk_buffer_bindable(ctx, y, &bind[0], &off[0]);
    asvk_buffer_bindable(ctx, t, &bind[1], &off[1]);
    asvk_buffer_bindable(ctx, partials, &bind[2], &off[2]);
    uint32_t spec[3] = {MSE_WG, MSE_ITEMS, off[0] % 4 == 0 && off[1] % 4 == 0};
    asvk_kernel *kern;
    if ((st = asvk_kernel_get(ctx, "loss_mse_fwd", spec, 3, &kern))) return st;
    struct { uint32_t n, yoff, toff, ooff, chunks; float scale; } push = {
        (uint32_t)n, off[0], off[1], off[2], (uint32_t)chunks, scale};
    if ((st = asvk_stream_dispatch_linear(s, kern, bind, 3, &push, sizeof push, chunks)) || chunks == 1) return st;
    asvk_buffer rest = asvk_buffer_sub(workspace, pbytes, workspace.size - pbytes);
    return asvk_blas_sum_rows(s, partials, 1, (uint32_t)chunks, (uint32_t)chunks, out, rest);
}

asvk_status asvk_loss_mse_backward(asvk_stream *s, uint64_t n, float scale, asvk_buffer y, asvk_buffer t,
                                   asvk_buffer dout, asvk_buffer dy, bool accumulate) {
    asvk_status st = mse_check(n, y, t);
    if (st || (st = asvk_check_floats(dout, 1, "squared-error dout")) ||
        (st = asvk_check_floats(dy, n, "squared-error dy")))
        return st;
    if (n == 0) return ASVK_OK;
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer bind[4];
    uint32_t off[4];
    asvk_buffer_bindable(ctx, y, &bind[0], &off[0]);
    asvk_buffer_bindable(ctx, t, &bind[1], &off[1]);
    asvk_buffer_bindable(ctx, dout, &bind[2], &off[2]);
    asvk_buffer_bindable(ctx, dy, &bind[3], &off[3]);
    uint32_t spec[3] = {MSE_BWD_WG, accumulate, off[0] % 4 == 0 && off[1] % 4 == 0 && off[3] % 4 == 0};
    asvk_kernel *kern;
    if ((st = asvk_kernel_get(ctx, "loss_mse_bwd", spec, 3, &kern))) return st;
    struct { uint32_t n, yoff, toff, doff, dyoff; float scale2; } push = {
        (uint32_t)n, off[0], off[1], off[2], off[3], 2.0f * scale};
    return asvk_stream_dispatch_linear(s, kern, bind, 4, &push, sizeof push, asvk_ceil_div(n, 4 * MSE_BWD_WG));
}
