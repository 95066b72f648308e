/* Launchers for shaders/cat/ (see concat.h for why one fused dispatch). */
#include "runtime/kernels/concat.h"

#include <stddef.h>

#define CAT_WG 64u

static asvk_status check_parts(uint64_t pixels, uint32_t parts, const uint32_t *channels, uint64_t *total_c) {
    if (parts < 1 || parts > ASVK_CONCAT_MAX_PARTS)
        return asvk_error_set(ASVK_ERR_USAGE, "concat of %u parts: 1 to %d are supported", parts,
                              ASVK_CONCAT_MAX_PARTS);
    uint64_t c = 0;
    for (uint32_t i = 0; i < parts; i++) c += channels[i];
    if (pixels * c + 4 > UINT32_MAX)
        return asvk_error_set(ASVK_ERR_LIMIT, "concat: a tensor of more than 2^32 floats");
    *total_c = c;
    return ASVK_OK;
}

asvk_status asvk_concat_forward(asvk_stream *s, uint64_t pixels, uint32_t parts, const uint32_t *channels,
                                const asvk_buffer *x, asvk_buffer y) {
    uint64_t c;
    asvk_status st = check_parts(pixels, parts, channels, &c);
    if (st) return st;
    if (pixels == 0 || c == 0) return ASVK_OK;
    if ((st = asvk_check_floats(y, pixels * c, "concat y"))) return st;
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer bind[ASVK_CONCAT_MAX_PARTS + 1];
    struct { uint32_t total, c, parts, yoff, cbeg[8], xoff[8]; } push = {(uint32_t)(pixels * c), (uint32_t)c, 0, 0,
                                                                        {0}, {0}};
    uint32_t beg = 0;
    for (uint32_t i = 0; i < parts; i++) {
        if (channels[i] == 0) continue;
        if ((st = asvk_check_floats(x[i], pixels * channels[i], "concat part"))) return st;
        uint32_t j = push.parts++;
        asvk_buffer_bindable(ctx, x[i], &bind[j], &push.xoff[j]);
        push.cbeg[j] = beg;
        beg += channels[i];
    }
    for (uint32_t j = push.parts; j < ASVK_CONCAT_MAX_PARTS; j++) bind[j] = bind[0];
    asvk_buffer_bindable(ctx, y, &bind[8], &push.yoff);
    uint32_t spec[2] = {CAT_WG, push.yoff % 4 == 0};
    asvk_kernel *k;
    if ((st = asvk_kernel_get(ctx, "cat_fwd", spec, 2, &k))) return st;
    return asvk_stream_dispatch_linear(s, k, bind, 9, &push, sizeof push, asvk_ceil_div(pixels * c, 4 * CAT_WG));
}

asvk_status asvk_concat_backward(asvk_stream *s, uint64_t pixels, uint32_t parts, const uint32_t *channels,
                                 asvk_buffer dy, const asvk_buffer *dx, const bool *accumulate) {
    uint64_t c;
    asvk_status st = check_parts(pixels, parts, channels, &c);
    if (st) return st;
    if (pixels == 0 || c == 0) return ASVK_OK;
    if ((st = asvk_check_floats(dy, pixels * c, "concat dy"))) return st;
    asvk_context *ctx = asvk_stream_context(s);
    asvk_buffer bind[ASVK_CONCAT_MAX_PARTS + 1];
    struct { uint32_t rows, c, parts, dyoff, accum, cbeg[8], cnt[8], dxoff[8]; } push = {
        (uint32_t)pixels, (uint32_t)c, 0, 0, 0, {0}, {0}, {0}};
    uint32_t beg = 0;
    uint64_t quads = 0;
    for (uint32_t i = 0; i < parts; beg += channels[i], i++) {
        if (channels[i] == 0 || !dx[i].block) continue;
        if ((st = asvk_check_floats(dx[i], pixels * channels[i], "concat part gradient"))) return st;
        uint32_t j = push.parts++;
        asvk_buffer_bindable(ctx, dx[i], &bind[1 + j], &push.dxoff[j]);
        push.cbeg[j] = beg;
        push.cnt[j] = channels[i];
        if (accumulate && accumulate[i]) push.accum |= 1u << j;
        quads += asvk_ceil_div(pixels * channels[i], 4);
    }
    if (push.parts == 0) return ASVK_OK;
    for (uint32_t j = push.parts; j < ASVK_CONCAT_MAX_PARTS; j++) bind[1 + j] = bind[1];
    asvk_buffer_bindable(ctx, dy, &bind[0], &push.dyoff);
    uint32_t spec[1] = {CAT_WG};
    asvk_kernel *k;
    if ((st = asvk_kernel_get(ctx, "cat_bwd", spec, 1, &k))) return st;
    return asvk_stream_dispatch_linear(s, k, bind, 9, &push, sizeof push, asvk_ceil_div(quads, CAT_WG));
}
