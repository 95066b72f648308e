/* The parameter store: every persistent tensor of a model, by name —
 * trainable parameters (in two contiguous groups, with and without weight
 * decay, so one optimizer dispatch updates a whole group), their gradients
 * (laid out like the parameters), non-trained state (BN running statistics)
 * and optimizer state. Training and evaluation graphs of one model share it. */
#ifndef ASVK_RUNTIME_PARAMS_H
#define ASVK_RUNTIME_PARAMS_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"

/* Groups: weights with decay, weights without (BN affine, biases), state
 * (not trained: BN running statistics), and architecture parameters (the
 * supernet's alphas: trained by their own optimizer, never by the weights'). */
enum { ASVK_GROUP_DECAY = 0, ASVK_GROUP_NO_DECAY = 1, ASVK_GROUP_STATE = 2, ASVK_GROUP_ARCH = 3, ASVK_GROUPS = 4 };
static inline int asvk_group_trainable(int g) { return g != ASVK_GROUP_STATE; }
#define ASVK_OPT_SLOTS 2 /* optimizer state tensors per parameter (momentum; Adam's m and v) */

typedef struct asvk_store_item {
    char name[96];
    uint32_t ndim;
    uint32_t dims[4]; /* storage shape (see docs/architecture.md for layouts) */
    uint64_t floats;
    int group;        /* ASVK_GROUP_* */
    uint64_t offset;  /* in floats, within its group; a multiple of 4 */
} asvk_store_item;

typedef struct asvk_param_store {
    asvk_store_item *items;
    uint32_t count, cap;
    uint64_t group_floats[ASVK_GROUPS];
    asvk_buffer data[ASVK_GROUPS]; /* parameters (and state for ASVK_GROUP_STATE) */
    asvk_buffer grad[ASVK_GROUPS]; /* gradients of the trainable groups */
    asvk_buffer opt[ASVK_GROUPS][ASVK_OPT_SLOTS];
    bool allocated;
} asvk_param_store;

asvk_param_store *asvk_params_create(void);
void asvk_params_destroy(asvk_context *ctx, asvk_param_store *s);

/* Declares a tensor (before asvk_params_alloc). Returns its index, or -1 if
 * the name exists with another shape (message set). Declaring the same name
 * with the same shape again returns the existing index. */
int asvk_params_add(asvk_param_store *s, const char *name, uint32_t ndim, const uint32_t *dims, int group);
int asvk_params_find(const asvk_param_store *s, const char *name);

/* Allocates and zeroes every group, its gradients and `opt_slots` optimizer slots. */
asvk_status asvk_params_alloc(asvk_context *ctx, asvk_param_store *s, uint32_t opt_slots);

asvk_buffer asvk_params_buffer(const asvk_param_store *s, int index);
asvk_buffer asvk_params_grad(const asvk_param_store *s, int index); /* trainable only */
asvk_status asvk_params_upload(asvk_context *ctx, asvk_param_store *s, int index, const float *data);
asvk_status asvk_params_download(asvk_context *ctx, const asvk_param_store *s, int index, float *data);

/* Trainable parameter count (floats, padding excluded; architecture parameters included). */
uint64_t asvk_params_trainable(const asvk_param_store *s);

#endif
