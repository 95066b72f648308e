#include "autospace/bank.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/io/safetensors.h"

typedef struct {
    char *name;
    float *data;
    uint64_t count;
} entry;

struct asvk_bank {
    entry *e;
    uint32_t n, cap;
};

asvk_bank *asvk_bank_create(void) { return calloc(1, sizeof(asvk_bank)); }

static void clear(asvk_bank *b) {
    for (uint32_t i = 0; i < b->n; i++) free(b->e[i].name), free(b->e[i].data);
    b->n = 0;
}

void asvk_bank_destroy(asvk_bank *b) {
    if (!b) return;
    clear(b);
    free(b->e);
    free(b);
}

/* Sorted by name: binary search. */
static int find(const asvk_bank *b, const char *name, uint32_t *pos) {
    uint32_t lo = 0, hi = b->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        int c = strcmp(b->e[mid].name, name);
        if (c == 0) { *pos = mid; return 1; }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    *pos = lo;
    return 0;
}

const float *asvk_bank_get(const asvk_bank *b, const char *name, uint64_t *count) {
    uint32_t p;
    if (!find(b, name, &p)) return NULL;
    *count = b->e[p].count;
    return b->e[p].data;
}

asvk_status asvk_bank_put(asvk_bank *b, const char *name, const float *data, uint64_t count) {
    uint32_t p;
    float *copy = malloc((count ? count : 1) * sizeof *copy);
    if (!copy) return asvk_error_set(ASVK_ERR_OOM, "out of host memory for the weight bank");
    memcpy(copy, data, count * sizeof *copy);
    if (find(b, name, &p)) {
        free(b->e[p].data);
        b->e[p].data = copy;
        b->e[p].count = count;
        return ASVK_OK;
    }
    if (b->n == b->cap) {
        uint32_t cap = b->cap ? b->cap * 2 : 256;
        void *q = realloc(b->e, cap * sizeof *b->e);
        if (!q) { free(copy); return asvk_error_set(ASVK_ERR_OOM, "out of host memory for the weight bank"); }
        b->e = q;
        b->cap = cap;
    }
    char *nm = strdup(name);
    if (!nm) { free(copy); return asvk_error_set(ASVK_ERR_OOM, "out of host memory for the weight bank"); }
    memmove(&b->e[p + 1], &b->e[p], (b->n - p) * sizeof *b->e);
    b->e[p] = (entry){nm, copy, count};
    b->n++;
    return ASVK_OK;
}

void asvk_bank_drop_prefix(asvk_bank *b, const char *prefix) {
    size_t len = strlen(prefix);
    uint32_t w = 0;
    for (uint32_t i = 0; i < b->n; i++) {
        if (strncmp(b->e[i].name, prefix, len) == 0) {
            free(b->e[i].name);
            free(b->e[i].data);
        } else {
            b->e[w++] = b->e[i];
        }
    }
    b->n = w;
}

uint32_t asvk_bank_count(const asvk_bank *b) { return b->n; }
const char *asvk_bank_name(const asvk_bank *b, uint32_t i) { return i < b->n ? b->e[i].name : NULL; }

uint64_t asvk_bank_floats(const asvk_bank *b) {
    uint64_t s = 0;
    for (uint32_t i = 0; i < b->n; i++) s += b->e[i].count;
    return s;
}

asvk_status asvk_bank_save(const asvk_bank *b, const char *path, const char *const *meta, uint32_t meta_pairs) {
    asvk_st_tensor *t = calloc(b->n ? b->n : 1, sizeof *t);
    asvk_st_meta *m = calloc(meta_pairs ? meta_pairs : 1, sizeof *m);
    if (!t || !m) {
        free(t), free(m);
        return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    }
    for (uint32_t i = 0; i < b->n; i++) t[i] = (asvk_st_tensor){b->e[i].name, 1, {b->e[i].count}, b->e[i].data};
    for (uint32_t i = 0; i < meta_pairs; i++) m[i] = (asvk_st_meta){meta[2 * i], meta[2 * i + 1]};
    asvk_status st = asvk_safetensors_write(path, t, b->n, m, meta_pairs);
    free(t);
    free(m);
    return st;
}

asvk_status asvk_bank_load(asvk_bank *b, const char *path) {
    asvk_safetensors *f;
    asvk_status st = asvk_safetensors_read(path, &f);
    if (st) return st;
    clear(b);
    for (size_t i = 0; i < asvk_safetensors_count(f) && !st; i++) {
        const asvk_st_tensor *x = asvk_safetensors_tensor(f, i);
        uint64_t count = 1;
        for (uint32_t r = 0; r < x->rank; r++) count *= x->shape[r];
        st = asvk_safetensors_check_finite_as(path, x, "the run's weights diverged before this generation was "
                                              "saved (or the file was damaged); start the run again");
        if (!st) st = asvk_bank_put(b, x->name, x->data, count);
    }
    asvk_safetensors_free(f);
    return st;
}
