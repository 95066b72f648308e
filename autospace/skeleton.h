/* The target skeleton of an AutoSpace run (AUTOSPACE.md): a stem, L
 * searchable layers given by output channels and stride, and a head. Each
 * searchable layer holds an AutoSpace cell (runtime/cell.h); the skeleton
 * fixes everything else. */
#ifndef ASVK_AUTOSPACE_SKELETON_H
#define ASVK_AUTOSPACE_SKELETON_H

#include <stdint.h>

#include "engine/status.h"

#define ASVK_SKEL_MAX_LAYERS 32

typedef struct asvk_skel_layer {
    uint32_t out;    /* output channels */
    uint32_t stride; /* 1 or 2; edges leaving the cell's node 0 carry it */
} asvk_skel_layer;

typedef struct asvk_skeleton {
    char name[64];
    uint32_t in_channels, resolution, num_classes;
    uint32_t stem_out, stem_stride;  /* stem: 3x3 conv -> BN -> ReLU6 */
    uint32_t count;
    asvk_skel_layer layers[ASVK_SKEL_MAX_LAYERS];
    uint32_t head;                   /* 1x1 conv -> BN -> ReLU6 to `head` channels (0: none), then global pool */
    double dropout;                  /* before the classifier */
} asvk_skeleton;

#endif
