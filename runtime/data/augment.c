#include "runtime/data/augment.h"

#include <string.h>

#include "runtime/data/rng.h"

asvk_augment_op asvk_augment_draw(const asvk_augment *a, uint64_t seed, uint32_t epoch, uint32_t index) {
    asvk_augment_op op = {0, 0, false};
    if (!a || (!a->pad && !a->flip)) return op;
    asvk_rng r = asvk_rng_make(seed, ASVK_RNG_AUGMENT, epoch, index);
    /* Always three draws, so turning one part off leaves the others' values
     * unchanged. */
    uint32_t span = 2 * a->pad + 1;
    uint32_t ux = asvk_rng_below(&r, span), uy = asvk_rng_below(&r, span), uf = asvk_rng_below(&r, 2);
    if (a->pad) op.dx = (int32_t)ux - (int32_t)a->pad, op.dy = (int32_t)uy - (int32_t)a->pad;
    op.flip = a->flip && uf;
    return op;
}

void asvk_augment_span(uint32_t w, asvk_augment_op op, uint32_t *x0, uint32_t *x1) {
    /* Unflipped, output x reads x + dx; flipped, w-1-x + dx: in range for
     * x in [-dx, w-dx) or [dx, w+dx) respectively, clipped to [0, w). */
    int64_t lo = op.flip ? op.dx : -(int64_t)op.dx, hi = lo + w;
    if (lo < 0) lo = 0;
    if (hi > (int64_t)w) hi = w;
    if (hi < lo) hi = lo = 0;
    *x0 = (uint32_t)lo, *x1 = (uint32_t)hi;
}

void asvk_augment_apply(const uint8_t *src, uint8_t *dst, uint32_t h, uint32_t w, uint32_t c, asvk_augment_op op) {
    size_t row = (size_t)w * c;
    uint32_t x0, x1;
    asvk_augment_span(w, op, &x0, &x1);
    for (uint32_t y = 0; y < h; y++) {
        int64_t sy = (int64_t)y + op.dy;
        uint8_t *out = dst + y * row;
        if (sy < 0 || sy >= h || x0 == x1) {
            memset(out, 0, row);
            continue;
        }
        const uint8_t *in = src + (size_t)sy * row;
        memset(out, 0, (size_t)x0 * c);
        memset(out + (size_t)x1 * c, 0, (size_t)(w - x1) * c);
        if (!op.flip) {
            memcpy(out + (size_t)x0 * c, in + ((int64_t)x0 + op.dx) * c, (size_t)(x1 - x0) * c);
        } else {
            for (uint32_t x = x0; x < x1; x++) {
                const uint8_t *p = in + ((int64_t)(w - 1 - x) + op.dx) * c;
                for (uint32_t ch = 0; ch < c; ch++) out[(size_t)x * c + ch] = p[ch];
            }
        }
    }
}
