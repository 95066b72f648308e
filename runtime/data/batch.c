#include "runtime/data/batch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

asvk_status asvk_batch_alloc(uint32_t capacity, uint32_t h, uint32_t w, uint32_t c, asvk_batch *b) {
    *b = (asvk_batch){0};
    uint64_t per = (uint64_t)h * w * c;
    if (!capacity || !per || per * capacity > SIZE_MAX / 8)
        return asvk_error_set(ASVK_ERR_USAGE, "a batch of %u images of %ux%ux%u: sizes must be positive and fit "
                                              "in memory", capacity, h, w, c);
    b->capacity = capacity, b->h = h, b->w = w, b->c = c;
    b->x = malloc(per * capacity * sizeof *b->x);
    b->y = malloc((size_t)capacity * sizeof *b->y);
    b->index = malloc((size_t)capacity * sizeof *b->index);
    if (!b->x || !b->y || !b->index) {
        asvk_batch_free(b);
        return asvk_error_set(ASVK_ERR_OOM, "out of host memory for a batch of %u images of %ux%ux%u", capacity, h,
                              w, c);
    }
    return ASVK_OK;
}

void asvk_batch_free(asvk_batch *b) {
    free(b->x), free(b->y), free(b->index);
    *b = (asvk_batch){0};
}

/* x = normalize(op(src)), fused so that augmentation costs no extra pass;
 * test_data checks it equals asvk_augment_apply followed by normalization. */
static void fill_image(float *x, const uint8_t *src, uint32_t h, uint32_t w, uint32_t c, asvk_augment_op op,
                       const float lut[3][256]) {
    size_t row = (size_t)w * c;
    uint32_t x0, x1;
    asvk_augment_span(w, op, &x0, &x1);
    if (asvk_augment_is_identity(op) && c == 1) {
        for (size_t q = 0; q < (size_t)h * w; q++) x[q] = lut[0][src[q]];
        return;
    }
    for (uint32_t y = 0; y < h; y++) {
        int64_t sy = (int64_t)y + op.dy;
        float *out = x + y * row;
        bool inside = sy >= 0 && sy < h;
        uint32_t a = inside ? x0 : w, e = inside ? x1 : w;
        for (uint32_t xx = 0; xx < a; xx++)
            for (uint32_t ch = 0; ch < c; ch++) out[xx * c + ch] = lut[ch][0];
        for (uint32_t xx = e; xx < w; xx++)
            for (uint32_t ch = 0; ch < c; ch++) out[xx * c + ch] = lut[ch][0];
        if (a == e) continue;
        const uint8_t *in = src + (size_t)sy * row;
        if (c == 1) {
            /* Indices, not shifted pointers: in + dx may point outside the image. */
            int64_t base = op.flip ? (int64_t)(w - 1) + op.dx : op.dx, step = op.flip ? -1 : 1;
            for (uint32_t xx = a; xx < e; xx++) out[xx] = lut[0][in[base + step * (int64_t)xx]];
        } else {
            for (uint32_t xx = a; xx < e; xx++) {
                const uint8_t *p = in + ((op.flip ? (int64_t)(w - 1 - xx) : (int64_t)xx) + op.dx) * c;
                for (uint32_t ch = 0; ch < c; ch++) out[xx * c + ch] = lut[ch][p[ch]];
            }
        }
    }
}

asvk_status asvk_batch_fill(asvk_batch *b, const asvk_dataset *d, const uint32_t *idx, uint32_t n,
                            const asvk_batch_options *o, uint32_t epoch) {
    if (n > b->capacity || d->h != b->h || d->w != b->w || d->c != b->c)
        return asvk_error_set(ASVK_ERR_USAGE, "%s: %u images of %ux%ux%u do not fit a batch of %u of %ux%ux%u",
                              d->source, n, d->h, d->w, d->c, b->capacity, b->h, b->w, b->c);
    /* A table of the 256 normalized values per channel turns the per-pixel
     * arithmetic into one load; it is computed exactly as the formula. */
    float lut[3][256];
    for (uint32_t ch = 0; ch < d->c; ch++) {
        float mean = o->norm.mean[ch], sd = o->norm.std[ch];
        if (!(sd > 0) || !isfinite(sd) || !isfinite(mean))
            return asvk_error_set(ASVK_ERR_USAGE, "normalization of channel %u: mean %g, std %g; std must be a "
                                                  "positive number", ch, mean, sd);
        for (int v = 0; v < 256; v++) lut[ch][v] = ((float)v / 255.0f - mean) / sd;
    }
    size_t per = (size_t)d->h * d->w;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = idx[k];
        if (i >= d->n)
            return asvk_error_set(ASVK_ERR_USAGE, "%s: index %u is past its %u images", d->source, i, d->n);
        int32_t label = d->labels[i];
        if (label < 0 || (uint32_t)label >= d->classes)
            return asvk_error_set(ASVK_ERR_USAGE, "%s: label %d of image %u is outside 0..%u", d->source, label, i,
                                  d->classes ? d->classes - 1 : 0);
        asvk_augment_op op = asvk_augment_draw(&o->augment, o->seed, epoch, i);
        fill_image(b->x + (size_t)k * per * d->c, asvk_dataset_image(d, i), d->h, d->w, d->c, op, lut);
        b->y[k] = (float)label;
        b->index[k] = i;
    }
    b->n = n;
    b->epoch = epoch;
    return ASVK_OK;
}
