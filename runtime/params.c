#include "runtime/params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

asvk_param_store *asvk_params_create(void) { return calloc(1, sizeof(asvk_param_store)); }

void asvk_params_destroy(asvk_context *ctx, asvk_param_store *s) {
    if (!s) return;
    for (int g = 0; g < ASVK_GROUPS; g++) asvk_buffer_free(ctx, &s->data[g]);
    for (int g = 0; g < ASVK_GROUPS; g++) {
        asvk_buffer_free(ctx, &s->grad[g]);
        for (int k = 0; k < ASVK_OPT_SLOTS; k++) asvk_buffer_free(ctx, &s->opt[g][k]);
    }
    free(s->items);
    free(s);
}

int asvk_params_find(const asvk_param_store *s, const char *name) {
    for (uint32_t i = 0; i < s->count; i++)
        if (strcmp(s->items[i].name, name) == 0) return (int)i;
    return -1;
}

int asvk_params_add(asvk_param_store *s, const char *name, uint32_t ndim, const uint32_t *dims, int group) {
    uint64_t floats = 1;
    for (uint32_t i = 0; i < ndim; i++) floats *= dims[i];
    int found = asvk_params_find(s, name);
    if (found >= 0) {
        const asvk_store_item *p = &s->items[found];
        bool same = p->ndim == ndim && p->group == group;
        for (uint32_t i = 0; same && i < ndim; i++) same = p->dims[i] == dims[i];
        if (!same) {
            asvk_error_set(ASVK_ERR_USAGE, "parameter %s declared twice with different shapes", name);
            return -1;
        }
        return found;
    }
    if (s->allocated || ndim > 4 || strlen(name) >= sizeof s->items[0].name) {
        asvk_error_set(ASVK_ERR_INTERNAL, "parameter %s: store already allocated, or name/rank too large", name);
        return -1;
    }
    if (s->count == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 64;
        void *p = realloc(s->items, cap * sizeof *s->items);
        if (!p) { asvk_error_set(ASVK_ERR_OOM, "out of host memory"); return -1; }
        s->items = p;
        s->cap = cap;
    }
    asvk_store_item *p = &s->items[s->count];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->ndim = ndim;
    memcpy(p->dims, dims, ndim * sizeof *dims);
    p->floats = floats;
    p->group = group;
    /* Each tensor starts on a 4-float boundary so kernels can use vec4 paths;
     * the padding stays zero (gradients and optimizer updates keep it zero). */
    p->offset = s->group_floats[group];
    s->group_floats[group] += (floats + 3) / 4 * 4;
    return (int)s->count++;
}

static asvk_status alloc_zeroed(asvk_context *ctx, uint64_t floats, asvk_buffer *b) {
    if (!floats) return ASVK_OK;
    asvk_status st = asvk_buffer_alloc_large(ctx, floats * 4, b); /* bound per tensor, or in slices */
    if (st) return st;
    asvk_stream *s;
    if ((st = asvk_stream_create(ctx, &s))) return st;
    st = asvk_stream_fill_u32(s, asvk_buffer_sub(*b, 0, floats * 4), 0);
    if (!st) st = asvk_stream_run(s);
    asvk_stream_destroy(s);
    return st;
}

asvk_status asvk_params_alloc(asvk_context *ctx, asvk_param_store *s, uint32_t opt_slots) {
    asvk_status st = ASVK_OK;
    for (int g = 0; g < ASVK_GROUPS && !st; g++) st = alloc_zeroed(ctx, s->group_floats[g], &s->data[g]);
    for (int g = 0; g < ASVK_GROUPS && !st; g++) {
        if (!asvk_group_trainable(g)) continue;
        st = alloc_zeroed(ctx, s->group_floats[g], &s->grad[g]);
        for (uint32_t k = 0; k < opt_slots && k < ASVK_OPT_SLOTS && !st; k++)
            st = alloc_zeroed(ctx, s->group_floats[g], &s->opt[g][k]);
    }
    if (st) return asvk_error_prefix(st, "allocating the model's parameters: ");
    s->allocated = true;
    return ASVK_OK;
}

asvk_buffer asvk_params_buffer(const asvk_param_store *s, int i) {
    const asvk_store_item *p = &s->items[i];
    return asvk_buffer_sub(s->data[p->group], p->offset * 4, p->floats * 4);
}

asvk_buffer asvk_params_grad(const asvk_param_store *s, int i) {
    const asvk_store_item *p = &s->items[i];
    asvk_buffer none = {0};
    if (p->group == ASVK_GROUP_STATE) return none;
    return asvk_buffer_sub(s->grad[p->group], p->offset * 4, p->floats * 4);
}

asvk_status asvk_params_upload(asvk_context *ctx, asvk_param_store *s, int i, const float *data) {
    asvk_buffer b = asvk_params_buffer(s, i);
    return asvk_buffer_upload(ctx, b, 0, data, b.size);
}

asvk_status asvk_params_download(asvk_context *ctx, const asvk_param_store *s, int i, float *data) {
    asvk_buffer b = asvk_params_buffer(s, i);
    return asvk_buffer_download(ctx, b, 0, data, b.size);
}

uint64_t asvk_params_trainable(const asvk_param_store *s) {
    uint64_t n = 0;
    for (uint32_t i = 0; i < s->count; i++)
        if (s->items[i].group != ASVK_GROUP_STATE) n += s->items[i].floats;
    return n;
}
