/* The weight bank: every cell's weights (and the skeleton's stem and head)
 * in host memory, by parameter name, across generations. Only the sampled
 * cells' weights are on the device during a generation (AUTOSPACE.md); the
 * bank keeps the rest, so a cell resumes training where it stopped, and a
 * child starts from its parent's weights on unchanged edges. */
#ifndef ASVK_AUTOSPACE_BANK_H
#define ASVK_AUTOSPACE_BANK_H

#include <stdint.h>

#include "engine/status.h"

typedef struct asvk_bank asvk_bank;

asvk_bank *asvk_bank_create(void);
void asvk_bank_destroy(asvk_bank *b);

/* The tensor named `name`, or NULL; *count gets its length. */
const float *asvk_bank_get(const asvk_bank *b, const char *name, uint64_t *count);
/* Stores a copy (replacing a tensor of that name). */
asvk_status asvk_bank_put(asvk_bank *b, const char *name, const float *data, uint64_t count);
/* Removes every tensor whose name starts with `prefix`. */
void asvk_bank_drop_prefix(asvk_bank *b, const char *prefix);
uint32_t asvk_bank_count(const asvk_bank *b);
/* The i-th tensor's name in name order (i < asvk_bank_count), or NULL. */
const char *asvk_bank_name(const asvk_bank *b, uint32_t i);
uint64_t asvk_bank_floats(const asvk_bank *b);

/* Checkpoint: every tensor as 1-D f32 in safetensors, with metadata pairs. */
asvk_status asvk_bank_save(const asvk_bank *b, const char *path, const char *const *meta, uint32_t meta_pairs);
/* Replaces the contents with the file's tensors. */
asvk_status asvk_bank_load(asvk_bank *b, const char *path);

#endif
