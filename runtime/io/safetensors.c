/* safetensors writing and fully validated reading (see safetensors.h). */
#include "runtime/io/safetensors.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/io/atomic_file.h"
#include "runtime/io/json_read.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian; add byte swapping");

/* The safetensors library refuses headers above 100 MB; so do we, before
 * allocating anything for one. */
#define MAX_HEADER 100000000ull
/* Offsets are JSON numbers (doubles in cJSON): exact up to 2^53. */
#define MAX_EXACT 9007199254740992.0

struct asvk_safetensors {
    char *buf; /* the whole file; tensor data points into it */
    size_t size;
    asvk_st_tensor *t;
    size_t n;
    asvk_st_meta *meta;
    size_t nmeta;
};

/* ---- writing ---- */

typedef struct {
    char *s;
    size_t n, cap;
    bool oom;
} buf;

static void append(buf *b, const char *s, size_t len) {
    if (b->oom) return;
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + len + 1) cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) {
            b->oom = true;
            return;
        }
        b->s = ns, b->cap = cap;
    }
    memcpy(b->s + b->n, s, len);
    b->n += len;
    b->s[b->n] = 0;
}

static void append_str(buf *b, const char *s) { append(b, s, strlen(s)); }

/* A JSON string literal with escapes, via cJSON. */
static void append_quoted(buf *b, const char *s) {
    cJSON *j = cJSON_CreateString(s);
    char *q = j ? cJSON_PrintUnformatted(j) : NULL;
    if (!q) b->oom = true;
    else append_str(b, q);
    free(q);
    cJSON_Delete(j);
}

static bool elements(const uint64_t *shape, uint32_t rank, uint64_t *out) {
    uint64_t n = 1;
    for (uint32_t d = 0; d < rank; d++) {
        if (shape[d] && n > (UINT64_MAX / 8) / shape[d]) return false;
        n *= shape[d];
    }
    *out = n;
    return true;
}

asvk_status asvk_safetensors_write(const char *path, const asvk_st_tensor *t, size_t count, const asvk_st_meta *meta,
                                   size_t meta_count) {
    for (size_t i = 0; i < count; i++) {
        uint64_t n;
        if (!t[i].name || !*t[i].name || strcmp(t[i].name, "__metadata__") == 0)
            return asvk_error_set(ASVK_ERR_INTERNAL, "writing '%s': tensor %zu has no usable name", path, i);
        if (t[i].rank > ASVK_ST_MAX_RANK || !elements(t[i].shape, t[i].rank, &n))
            return asvk_error_set(ASVK_ERR_INTERNAL, "writing '%s': tensor '%s' has a bad shape", path, t[i].name);
        if (n && !t[i].data)
            return asvk_error_set(ASVK_ERR_INTERNAL, "writing '%s': tensor '%s' has no data", path, t[i].name);
        for (size_t k = 0; k < i; k++)
            if (strcmp(t[k].name, t[i].name) == 0)
                return asvk_error_set(ASVK_ERR_INTERNAL, "writing '%s': tensor name '%s' is used twice", path, t[i].name);
    }
    /* The header is written by hand: cJSON would print offsets beyond 2^50 in
     * exponent notation, which the safetensors library rejects. */
    buf h = {0};
    append_str(&h, "{");
    bool first = true;
    if (meta_count) {
        append_str(&h, "\"__metadata__\":{");
        for (size_t i = 0; i < meta_count; i++) {
            if (i) append_str(&h, ",");
            append_quoted(&h, meta[i].key);
            append_str(&h, ":");
            append_quoted(&h, meta[i].value);
        }
        append_str(&h, "}");
        first = false;
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < count; i++) {
        uint64_t n = 0;
        elements(t[i].shape, t[i].rank, &n);
        if (!first) append_str(&h, ",");
        first = false;
        append_quoted(&h, t[i].name);
        append_str(&h, ":{\"dtype\":\"F32\",\"shape\":[");
        char num[64];
        for (uint32_t d = 0; d < t[i].rank; d++) {
            snprintf(num, sizeof num, "%s%llu", d ? "," : "", (unsigned long long)t[i].shape[d]);
            append_str(&h, num);
        }
        snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)offset,
                 (unsigned long long)(offset + 4 * n));
        append_str(&h, num);
        offset += 4 * n;
    }
    append_str(&h, "}");
    while (!h.oom && h.n % 8) append_str(&h, " "); /* data starts 8-byte aligned, as the library writes it */
    asvk_file_part *parts = calloc(count + 2, sizeof *parts);
    if (h.oom || !parts) {
        free(h.s), free(parts);
        return asvk_error_set(ASVK_ERR_OOM, "out of host memory writing '%s'", path);
    }
    uint8_t len8[8];
    for (int k = 0; k < 8; k++) len8[k] = (uint8_t)((uint64_t)h.n >> (8 * k));
    parts[0] = (asvk_file_part){len8, 8};
    parts[1] = (asvk_file_part){h.s, h.n};
    for (size_t i = 0; i < count; i++) {
        uint64_t n = 0;
        elements(t[i].shape, t[i].rank, &n);
        parts[i + 2] = (asvk_file_part){t[i].data, (size_t)(4 * n)};
    }
    asvk_status st = asvk_file_write_atomic_parts(path, parts, count + 2);
    free(parts);
    free(h.s);
    return st;
}

/* ---- reading ---- */

void asvk_safetensors_free(asvk_safetensors *st) {
    if (!st) return;
    for (size_t i = 0; i < st->n; i++) free((char *)st->t[i].name);
    for (size_t i = 0; i < st->nmeta; i++) free((char *)st->meta[i].key), free((char *)st->meta[i].value);
    free(st->t);
    free(st->meta);
    free(st->buf);
    free(st);
}

typedef struct {
    uint64_t begin, end;
    size_t index;
} span;

static int by_begin(const void *a, const void *b) {
    const span *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end > y->end) - (x->end < y->end);
}

static asvk_status bad(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static asvk_status bad(const char *path, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return asvk_error_set(ASVK_ERR_USAGE, "%s: not a valid safetensors file: %s", path, msg);
}

static bool json_u64(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= MAX_EXACT) ||
        v->valuedouble != (double)(uint64_t)v->valuedouble)
        return false;
    *out = (uint64_t)v->valuedouble;
    return true;
}

static asvk_status read_meta(const char *path, const cJSON *m, asvk_safetensors *st) {
    if (!cJSON_IsObject(m)) return bad(path, "__metadata__ must be an object of strings");
    size_t n = (size_t)cJSON_GetArraySize(m);
    st->meta = calloc(n ? n : 1, sizeof *st->meta);
    if (!st->meta) return asvk_error_set(ASVK_ERR_OOM, "out of host memory reading '%s'", path);
    for (const cJSON *it = m->child; it; it = it->next) {
        asvk_status u = asvk_utf8_check(it->string, path, "a __metadata__ key");
        if (u) return u;
        if (!cJSON_IsString(it)) return bad(path, "__metadata__ value of '%s' is not a string", it->string);
        /* the safetensors library keeps the last of repeated keys, asvk_safetensors_meta_get the first */
        for (size_t i = 0; i < st->nmeta; i++)
            if (strcmp(st->meta[i].key, it->string) == 0) return bad(path, "__metadata__ key '%s' appears twice", it->string);
        char field[300];
        snprintf(field, sizeof field, "the __metadata__ value of '%.200s'", it->string);
        if ((u = asvk_utf8_check(it->valuestring, path, field))) return u;
        asvk_st_meta *e = &st->meta[st->nmeta++];
        e->key = strdup(it->string);
        e->value = strdup(it->valuestring);
        if (!e->key || !e->value) return asvk_error_set(ASVK_ERR_OOM, "out of host memory reading '%s'", path);
    }
    return ASVK_OK;
}

static asvk_status read_entry(const char *path, const cJSON *e, uint64_t data_size, asvk_st_tensor *t, span *sp) {
    const char *name = e->string;
    /* names go back into headers and JSON (a bank, a teacher), which must be UTF-8 */
    asvk_status u = asvk_utf8_check(name, path, "a tensor name");
    if (u) return u;
    /* "" (or a name cut short by a NUL byte) cannot be written back (found by tests/fuzz) */
    if (!*name) return bad(path, "a tensor has an empty name");
    if (!cJSON_IsObject(e)) return bad(path, "entry '%s' is not an object", name);
    static const char *const keys[] = {"dtype", "shape", "data_offsets", NULL};
    for (const cJSON *k = e->child; k; k = k->next) {
        bool ok = false;
        for (size_t i = 0; keys[i]; i++) ok |= strcmp(k->string, keys[i]) == 0;
        if (!ok) return bad(path, "tensor '%s' has an unknown key '%s'", name, k->string);
    }
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dtype)) return bad(path, "tensor '%s' has no dtype string", name);
    if (strcmp(dtype->valuestring, "F32") != 0)
        return asvk_error_set(ASVK_ERR_USAGE, "%s: tensor '%s' has dtype %s; asvk reads F32 tensors only (convert with "
                              "tensor.float() before saving)", path, name, dtype->valuestring);
    if (!cJSON_IsArray(shape)) return bad(path, "tensor '%s' has no shape array", name);
    int rank = cJSON_GetArraySize(shape);
    if (rank > ASVK_ST_MAX_RANK) return bad(path, "tensor '%s' has rank %d, more than %d", name, rank, ASVK_ST_MAX_RANK);
    t->rank = (uint32_t)rank;
    uint32_t d = 0;
    for (const cJSON *it = shape->child; it; it = it->next, d++)
        if (!json_u64(it, &t->shape[d])) return bad(path, "tensor '%s' has a shape entry that is not a size", name);
    uint64_t n;
    if (!elements(t->shape, t->rank, &n)) return bad(path, "tensor '%s' has a shape too large to address", name);
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 || !json_u64(offs->child, &sp->begin) ||
        !json_u64(offs->child->next, &sp->end))
        return bad(path, "tensor '%s' needs data_offsets [begin, end] of byte offsets", name);
    if (sp->end < sp->begin) return bad(path, "tensor '%s' ends (byte %llu) before it begins (byte %llu)", name,
                                        (unsigned long long)sp->end, (unsigned long long)sp->begin);
    if (sp->end - sp->begin != 4 * n)
        return bad(path, "tensor '%s' has shape of %llu F32 elements (%llu bytes) but data_offsets span %llu bytes", name,
                   (unsigned long long)n, (unsigned long long)(4 * n), (unsigned long long)(sp->end - sp->begin));
    if (sp->end > data_size)
        return asvk_error_set(ASVK_ERR_USAGE, "%s: the file is truncated or tensor '%s' lies outside it: its data ends "
                              "at byte %llu but the data section has %llu bytes", path, name,
                              (unsigned long long)sp->end, (unsigned long long)data_size);
    t->name = strdup(name);
    if (!t->name) return asvk_error_set(ASVK_ERR_OOM, "out of host memory reading '%s'", path);
    return ASVK_OK;
}

static asvk_status parse(const char *path, asvk_safetensors *st) {
    if (st->size < 8) return bad(path, "it has %zu bytes, fewer than the 8-byte header length", st->size);
    uint64_t hlen = 0;
    for (int k = 0; k < 8; k++) hlen |= (uint64_t)(uint8_t)st->buf[k] << (8 * k);
    if (hlen < 2 || hlen > MAX_HEADER)
        return bad(path, "header length %llu is not plausible (expected 2 to %llu bytes)", (unsigned long long)hlen,
                   MAX_HEADER);
    if (hlen > st->size - 8)
        return asvk_error_set(ASVK_ERR_USAGE, "%s: the file is truncated: its header needs %llu bytes but only %zu follow",
                              path, (unsigned long long)hlen, st->size - 8);
    const char *text = st->buf + 8;
    if (text[0] != '{') return bad(path, "the header does not start with '{'");
    cJSON *root;
    asvk_status s = asvk_json_parse(text, (size_t)hlen, path, &root);
    if (s) return asvk_error_prefix(s, "safetensors header of ");
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return bad(path, "the header is not a JSON object");
    }
    uint64_t data_start = 8 + hlen, data_size = st->size - data_start;
    size_t count = (size_t)cJSON_GetArraySize(root);
    st->t = calloc(count ? count : 1, sizeof *st->t);
    span *spans = calloc(count ? count : 1, sizeof *spans);
    if (!st->t || !spans) {
        cJSON_Delete(root);
        free(spans);
        return asvk_error_set(ASVK_ERR_OOM, "out of host memory reading '%s'", path);
    }
    for (const cJSON *e = root->child; e && !s; e = e->next) {
        for (const cJSON *o = root->child; o != e && !s; o = o->next)
            if (strcmp(o->string, e->string) == 0) s = bad(path, "the name '%s' appears twice", e->string);
        if (s) break;
        if (strcmp(e->string, "__metadata__") == 0) {
            s = read_meta(path, e, st);
        } else {
            spans[st->n].index = st->n;
            s = read_entry(path, e, data_size, &st->t[st->n], &spans[st->n]);
            if (!s || st->t[st->n].name) st->n++;
        }
    }
    cJSON_Delete(root);
    if (s) {
        free(spans);
        return s;
    }
    /* Packed: sorted by offset, each tensor starts where the previous ended,
     * the last ends at the end of the file. */
    qsort(spans, st->n, sizeof *spans, by_begin);
    uint64_t at = 0;
    for (size_t i = 0; i < st->n && !s; i++) {
        const char *name = st->t[spans[i].index].name;
        if (spans[i].begin < at)
            s = bad(path, "tensor '%s' (bytes %llu..%llu) overlaps the tensor before it (which ends at %llu)", name,
                    (unsigned long long)spans[i].begin, (unsigned long long)spans[i].end, (unsigned long long)at);
        else if (spans[i].begin > at)
            s = bad(path, "tensor '%s' starts at byte %llu, leaving a gap after byte %llu", name,
                    (unsigned long long)spans[i].begin, (unsigned long long)at);
        at = spans[i].end;
    }
    if (!s && at != data_size)
        s = bad(path, "%llu bytes follow the last tensor's data", (unsigned long long)(data_size - at));
    if (s) {
        free(spans);
        return s;
    }
    /* Tensor data must be float-aligned; a header padded to other than a
     * multiple of 4 (allowed by the format) shifts it, so move the data down
     * over the already parsed header. Offsets are multiples of 4 (F32 only,
     * packed from 0). */
    char *data = st->buf + data_start;
    if (data_start % 4) {
        char *aligned = st->buf + (data_start & ~(uint64_t)3);
        memmove(aligned, data, (size_t)data_size);
        data = aligned;
    }
    asvk_st_tensor *sorted = calloc(st->n ? st->n : 1, sizeof *sorted);
    if (!sorted) {
        free(spans);
        return asvk_error_set(ASVK_ERR_OOM, "out of host memory reading '%s'", path);
    }
    for (size_t i = 0; i < st->n; i++) {
        sorted[i] = st->t[spans[i].index];
        sorted[i].data = (const float *)(const void *)(data + spans[i].begin);
    }
    free(st->t);
    st->t = sorted;
    free(spans);
    return ASVK_OK;
}

asvk_status asvk_safetensors_read(const char *path, asvk_safetensors **out) {
    *out = NULL;
    asvk_safetensors *st = calloc(1, sizeof *st);
    if (!st) return asvk_error_set(ASVK_ERR_OOM, "out of host memory reading '%s'", path);
    asvk_status s = asvk_file_read_all(path, 0, &st->buf, &st->size);
    if (!s) s = parse(path, st);
    if (s) {
        asvk_safetensors_free(st);
        return s;
    }
    *out = st;
    return ASVK_OK;
}

size_t asvk_safetensors_count(const asvk_safetensors *st) { return st->n; }

const asvk_st_tensor *asvk_safetensors_tensor(const asvk_safetensors *st, size_t i) {
    return i < st->n ? &st->t[i] : NULL;
}

const asvk_st_tensor *asvk_safetensors_find(const asvk_safetensors *st, const char *name) {
    for (size_t i = 0; i < st->n; i++)
        if (strcmp(st->t[i].name, name) == 0) return &st->t[i];
    return NULL;
}

size_t asvk_safetensors_meta_count(const asvk_safetensors *st) { return st->nmeta; }

const asvk_st_meta *asvk_safetensors_meta(const asvk_safetensors *st, size_t i) {
    return i < st->nmeta ? &st->meta[i] : NULL;
}

const char *asvk_safetensors_meta_get(const asvk_safetensors *st, const char *key) {
    for (size_t i = 0; i < st->nmeta; i++)
        if (strcmp(st->meta[i].key, key) == 0) return st->meta[i].value;
    return NULL;
}

asvk_status asvk_safetensors_check_finite_as(const char *path, const asvk_st_tensor *t, const char *advice) {
    uint64_t n = 1, bad_count = 0, first = 0;
    for (uint32_t d = 0; d < t->rank; d++) n *= t->shape[d];
    for (uint64_t i = 0; i < n; i++)
        if (!isfinite(t->data[i]) && !bad_count++) first = i;
    if (!bad_count) return ASVK_OK;
    return asvk_error_set(ASVK_ERR_USAGE, "%s: tensor %s holds non-finite values (%llu in all, the first %g at element "
                          "%llu): %s", path, t->name, (unsigned long long)bad_count, (double)t->data[first],
                          (unsigned long long)first, advice);
}

asvk_status asvk_safetensors_check_finite(const char *path, const asvk_st_tensor *t) {
    return asvk_safetensors_check_finite_as(path, t, "training diverged before this checkpoint was saved; use an "
                                            "earlier checkpoint, or pass --allow-nonfinite to load it anyway");
}
