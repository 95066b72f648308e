/* Host-side augmentation of training images: a random crop of the image
 * padded by P zero pixels on every side (an offset of -P..P in each axis),
 * then a horizontal flip with probability 1/2. Each image's draw is a pure
 * function of (seed, epoch, dataset index), so an epoch's augmentations are
 * reproducible and independent of batch size, order and threads. The padding
 * is raw pixel 0 (before normalization), as torchvision's
 * RandomCrop(padding=P) does. Evaluation uses no augmentation (asvk_augment
 * {0}). */
#ifndef ASVK_RUNTIME_DATA_AUGMENT_H
#define ASVK_RUNTIME_DATA_AUGMENT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct asvk_augment {
    uint32_t pad;  /* crop offsets in [-pad, pad]; 0: no crop */
    bool flip;     /* horizontal flip with probability 1/2 */
} asvk_augment;

/* One image's transform: out(y, x) = in(y + dy, x' + dx), x' = w-1-x when
 * flipped else x, and 0 outside the input. */
typedef struct asvk_augment_op {
    int32_t dx, dy;
    bool flip;
} asvk_augment_op;

asvk_augment_op asvk_augment_draw(const asvk_augment *a, uint64_t seed, uint32_t epoch, uint32_t index);

static inline bool asvk_augment_is_identity(asvk_augment_op op) { return !op.dx && !op.dy && !op.flip; }

/* The output columns [*x0, *x1) that read inside the input (the rest are
 * padding); shared by asvk_augment_apply and the batch filler. */
void asvk_augment_span(uint32_t w, asvk_augment_op op, uint32_t *x0, uint32_t *x1);

/* dst = op(src), both h x w x c bytes; src and dst must not overlap. */
void asvk_augment_apply(const uint8_t *src, uint8_t *dst, uint32_t h, uint32_t w, uint32_t c, asvk_augment_op op);

#endif
