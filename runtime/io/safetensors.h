/* Checkpoints as safetensors files (https://github.com/huggingface/safetensors):
 * an 8-byte little-endian header length, a JSON header mapping each tensor
 * name to {"dtype", "shape", "data_offsets": [begin, end]} plus an optional
 * "__metadata__" map of strings, then the raw little-endian data. PyTorch,
 * numpy and the safetensors package read these files; asvk writes F32 only
 * and reads F32 only. Conv weights are stored in asvk's OHWI layout
 * (docs/architecture.md); PyTorch wants .permute(0, 3, 1, 2). */
#ifndef ASVK_RUNTIME_IO_SAFETENSORS_H
#define ASVK_RUNTIME_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "engine/status.h"

#define ASVK_ST_MAX_RANK 8

typedef struct asvk_st_tensor {
    const char *name;
    uint32_t rank;                    /* 0 is a scalar (one element) */
    uint64_t shape[ASVK_ST_MAX_RANK];
    const float *data;                /* shape's product elements, row-major */
} asvk_st_tensor;

typedef struct asvk_st_meta {
    const char *key, *value;
} asvk_st_meta;

/* Writes the tensors (names unique, not "__metadata__") and metadata to
 * `path` atomically. Tensors are laid out in the order given. */
asvk_status asvk_safetensors_write(const char *path, const asvk_st_tensor *tensors, size_t count,
                                   const asvk_st_meta *meta, size_t meta_count);

/* A file read into memory and fully validated: header length, JSON, dtype
 * F32 only, shapes against byte sizes, offsets in range and packed without
 * gaps or overlaps (as the safetensors library requires). Every failure is
 * ASVK_ERR_USAGE (a bad file) or ASVK_ERR_IO naming the file. */
typedef struct asvk_safetensors asvk_safetensors;

asvk_status asvk_safetensors_read(const char *path, asvk_safetensors **out);
void asvk_safetensors_free(asvk_safetensors *st);

size_t asvk_safetensors_count(const asvk_safetensors *st);
/* Tensors in file order (by data offset); data is 4-byte aligned. */
const asvk_st_tensor *asvk_safetensors_tensor(const asvk_safetensors *st, size_t i);
const asvk_st_tensor *asvk_safetensors_find(const asvk_safetensors *st, const char *name);
size_t asvk_safetensors_meta_count(const asvk_safetensors *st);
const asvk_st_meta *asvk_safetensors_meta(const asvk_safetensors *st, size_t i);
/* The metadata value of `key`, or NULL. */
const char *asvk_safetensors_meta_get(const asvk_safetensors *st, const char *key);

/* Fails (ASVK_ERR_USAGE, naming `path`, the tensor, the first bad element
 * and --allow-nonfinite) when tensor `t` holds a NaN or an infinity: weights
 * saved after training diverged, which would only spread through every
 * later step or prediction. Loaders call it unless the user allows them. */
asvk_status asvk_safetensors_check_finite(const char *path, const asvk_st_tensor *t);
/* The same check with `advice` ending the message, for files no flag lets
 * through (an evolve bank, a search's weights, a teacher). */
asvk_status asvk_safetensors_check_finite_as(const char *path, const asvk_st_tensor *t, const char *advice);

#endif
