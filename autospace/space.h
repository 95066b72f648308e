/* A layer-wise search space: per searchable layer of a skeleton, a short
 * list of cells (what `asvk evolve` learns, what `asvk search` searches).
 *
 * Files:
 *   space.json ("format": "asvk-space/1"): the skeleton, and per layer its
 *     input shape and cells, each with genome (autospace/genome.h JSON),
 *     hash, fitness, MAdds and params at that layer, and whether it is the
 *     reference (anchor) cell. docs/autospace.md describes it.
 *   search_space.config: the published AutoSpace format (reference/autospace/),
 *     {"name": "SuperProxylessNASNets", "blocks": [[Motif matrix, ...], ...]},
 *     cells as runtime/io/motif.h encodes them. It has no skeleton, no
 *     fitness and no SE flag, and its operator codes hold only identity and
 *     depthwise edges: cells it cannot hold are left out of it (the writer
 *     says which), space.json keeps everything. */
#ifndef ASVK_AUTOSPACE_SPACE_H
#define ASVK_AUTOSPACE_SPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "autospace/skeleton.h"
#include "engine/status.h"
#include "runtime/io/motif.h"

#define ASVK_SPACE_MAX_CELLS 16

typedef struct asvk_space_cell {
    asvk_cell cell; /* canonical */
    uint64_t hash;
    bool has_fitness;
    double fitness;
    uint64_t madds, params; /* at its layer; 0 when the space has no skeleton */
    bool anchor;
    uint32_t sampled;       /* generations it was trained in (learned spaces) */
} asvk_space_cell;

typedef struct asvk_space {
    char name[64];
    bool has_skeleton;
    asvk_skeleton sk;
    uint32_t generations; /* of the run that learned it (0: unknown) */
    uint32_t layers;
    uint32_t count[ASVK_SKEL_MAX_LAYERS];
    bool no_skip[ASVK_SKEL_MAX_LAYERS]; /* a search may not skip this layer even where the shape allows
                                         * (once-for-all: a stage keeps at least 2 layers) */
    asvk_space_cell cells[ASVK_SKEL_MAX_LAYERS][ASVK_SPACE_MAX_CELLS];
} asvk_space;

/* Fills madds and params of every cell from the skeleton (sets has_skeleton);
 * ASVK_ERR_USAGE when the layer counts differ or a cell does not fit its layer. */
asvk_status asvk_space_set_skeleton(asvk_space *s, const asvk_skeleton *sk);

/* Write atomically. save_motif sets *kept (may be NULL) to the number of
 * cells the format could hold; the others are left out, and so is a cell
 * written alike to one before it in its layer. When some layer keeps no
 * cell it writes nothing, removes an older file at `path` and sets *kept to 0. */
asvk_status asvk_space_save_json(const asvk_space *s, const char *path);
asvk_status asvk_space_save_motif(const asvk_space *s, const char *path, asvk_motif_reading reading, uint32_t *kept);
/* space.json's text (free() it). */
asvk_status asvk_space_to_text(const asvk_space *s, char **text);
/* Cells in all layers. */
uint32_t asvk_space_cells(const asvk_space *s);

/* Reads either format (told apart by content); a search_space.config reads
 * under `reading` and has no skeleton until asvk_space_set_skeleton. */
asvk_status asvk_space_load(const char *path, asvk_motif_reading reading, asvk_space *out);

/* Hand-made spaces by name (autospace/space_builtin.c): "proxyless",
 * ProxylessNAS's mobile space on its ImageNet skeleton, and "ofa-mbv3",
 * once-for-all's MobileNetV3 space (width 1.2). */
asvk_status asvk_space_builtin(const char *name, asvk_space *out);
/* The same cells on the skeleton of another architecture (`reference`: a
 * file or a built-in, e.g. fmnist_evo, priced by a table from 'asvk
 * latency'): proxyless's k 3/5/7 x e 3/6 in every layer; ofa-mbv3's
 * k 3/5/7 x e 3/4/6 with each layer's activation and SE from the reference's
 * block there, skipped only from the 3rd layer of a run of equal shapes on
 * (depth 2 to 4 when runs have 4 layers). */
asvk_status asvk_space_builtin_on(const char *name, const char *reference, asvk_space *out);
bool asvk_space_builtin_has(const char *name);
const char *asvk_space_builtin_names(void);

#endif
