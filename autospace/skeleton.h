/* The target skeleton of an AutoSpace run (AUTOSPACE.md): a stem, L
 * searchable layers given by output channels and stride, and a head. Each
 * searchable layer holds an AutoSpace cell (runtime/cell.h); the skeleton
 * fixes everything else.
 *
 * A skeleton comes from a reference architecture (asvk_skeleton_from_arch):
 * its first layer is the stem, every mbconv or cell layer after it is a
 * searchable layer whose block, read as a genome, is the layer's reference
 * cell (the anchor), and what follows is the head. The way back,
 * asvk_skeleton_to_arch, builds the network with one chosen cell per layer
 * (the reference itself, or a network drawn from a learned space), which
 * `asvk train` trains like any other architecture. */
#ifndef ASVK_AUTOSPACE_SKELETON_H
#define ASVK_AUTOSPACE_SKELETON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/status.h"
#include "runtime/cell.h"
#include "runtime/io/arch.h"

#define ASVK_SKEL_MAX_LAYERS 32

typedef struct asvk_skel_layer {
    uint32_t out;    /* output channels */
    uint32_t stride; /* 1 or 2; edges leaving the cell's node 0 carry it */
} asvk_skel_layer;

typedef struct asvk_skeleton {
    char name[64];
    uint32_t in_channels, resolution, num_classes;
    uint32_t stem_out, stem_stride, stem_kernel; /* stem: k x k conv -> BN -> stem_act */
    asvk_act stem_act;
    uint32_t count;
    asvk_skel_layer layers[ASVK_SKEL_MAX_LAYERS];
    uint32_t head;     /* 1x1 conv -> BN -> head_act to `head` channels (0: none), then global pool */
    asvk_act head_act;
    uint32_t feature_mix; /* after the pool: 1x1 conv (no BN, no bias) -> feature_mix_act (0: none),
                           * once-for-all MobileNetV3's feature_mix_layer */
    asvk_act feature_mix_act;
    double dropout;    /* before the classifier */
    double bn_momentum, bn_eps;
} asvk_skeleton;

/* The skeleton of `a` and its reference cells (reference[l] for each
 * searchable layer l; may be NULL). The architecture must read as
 *   conv (stem, groups 1, BN, no bias),
 *   (mbconv | cell)+            searchable layers, stride 1 or 2,
 *   [conv 1x1 (head, BN, no bias)], global_pool,
 *   [conv 1x1 (feature mix, no BN, no bias)], [dropout], linear (bias, no act)
 * and each mbconv must be a genome: no explicit `mid` other than the derived
 * one and a residual exactly when stride is 1 and channels match (the cell's
 * rule). ASVK_ERR_USAGE names the layer that does not fit. */
asvk_status asvk_skeleton_from_arch(const asvk_arch *a, asvk_skeleton *sk, asvk_cell *reference);
/* The same for a network of a skeleton (a searched net.json): skip layers among the
 * searchable ones are read too, as cells of 0 nodes (asvk_skeleton_to_arch's skip). */
asvk_status asvk_skeleton_from_net(const asvk_arch *a, asvk_skeleton *sk, asvk_cell *cells);

/* The network of the skeleton with cells[l] at searchable layer l, named
 * `name` (NULL: the skeleton's). Cells keep their own activation and SE; a
 * cell of 0 nodes is a skip layer (the identity; stride 1, equal channels),
 * and an MBConv genome becomes an mbconv layer (the same function, the
 * layer type ProxylessNAS tools read). */
asvk_status asvk_skeleton_to_arch(const asvk_skeleton *sk, const asvk_cell *cells, const char *name, asvk_arch *out);
/* The same with every searchable layer a cell layer when !mbconv_layers
 * (its tensors then have the cell's names, runtime/cell_ops.h). */
asvk_status asvk_skeleton_to_arch_ex(const asvk_skeleton *sk, const asvk_cell *cells, const char *name,
                                     bool mbconv_layers, asvk_arch *out);

/* The depthwise kernel when c is an MBConv genome ({2 nodes, dw k x k}), else 0. */
uint32_t asvk_skeleton_mbconv_kernel(const asvk_cell *c);

/* Input channels and height (= width) of searchable layer l. */
void asvk_skeleton_layer_input(const asvk_skeleton *sk, uint32_t layer, uint32_t *channels, uint32_t *size);

/* JSON: {"name", "in_channels", "resolution", "num_classes", "stem": {"out", "kernel", "stride", "act"},
 * "layers": [{"out", "stride"}], "head": {"out", "act"} | null, ["feature_mix": {"out", "act"}] (written only
 * when the skeleton has one), "dropout", "bn": {"momentum", "eps"}}.
 * Reading is strict (unknown keys, types, ranges) and names `ctx`. */
cJSON *asvk_skeleton_to_json(const asvk_skeleton *sk);
asvk_status asvk_skeleton_from_json(const cJSON *j, const char *ctx, asvk_skeleton *out);

#endif
