#include "runtime/io/json_read.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where the first "\u0000" escape starts, or len: cJSON decodes it into a
 * NUL that ends the C string it returns, so a name "a\u0000b" would read as
 * "a" without a word. Escapes are two characters or \uXXXX, so a "\\"
 * before "u0000" is skipped whole. */
static size_t nul_escape(const char *t, size_t len) {
    for (size_t i = 0; i + 1 < len; i++) {
        if (t[i] != '\\') continue;
        if (t[i + 1] == 'u' && i + 5 < len && memcmp(t + i + 2, "0000", 4) == 0) return i;
        i++; /* the escaped character */
    }
    return len;
}

/* The line and column (from 1) of byte `off`. */
static void line_col(const char *text, size_t off, unsigned *line, unsigned *col) {
    *line = *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') ++*line, *col = 1;
        else ++*col;
    }
}

asvk_status asvk_json_parse(const char *text, size_t len, const char *source, cJSON **out) {
    *out = NULL;
    const char *src = source ? source : "input";
    size_t nul = nul_escape(text, len);
    if (nul < len) {
        unsigned line, col;
        line_col(text, nul, &line, &col);
        return asvk_error_set(ASVK_ERR_USAGE, "%s: line %u, column %u: a string holds \\u0000 (a NUL character), which "
                              "asvk cannot keep in a name or value; remove it", src, line, col);
    }
    size_t start = 0;
    while (start < len && (text[start] == ' ' || text[start] == '\n' || text[start] == '\r' || text[start] == '\t'))
        start++;
    if (start == len) return asvk_error_set(ASVK_ERR_USAGE, "%s: empty file, expected a JSON object", src);
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (j && end) { /* only whitespace may follow the value: "{...} x" is a broken file, not a config */
        const char *p = end;
        while (p < text + len && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
        if (p < text + len) {
            cJSON_Delete(j);
            j = NULL;
            end = p;
        }
    }
    if (!j) {
        size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
        unsigned line, col;
        line_col(text, off, &line, &col);
        char near[24];
        size_t k = 0;
        for (size_t i = off; i < len && k < 16 && text[i] != '\n'; i++) near[k++] = text[i] >= 32 && text[i] < 127 ? text[i] : '?';
        near[k] = 0;
        if (off >= len)
            return asvk_error_set(ASVK_ERR_USAGE, "%s: not valid JSON: it ends early (line %u, column %u)", src, line, col);
        return asvk_error_set(ASVK_ERR_USAGE, "%s: not valid JSON at line %u, column %u (byte %zu, near '%s')", src,
                              line, col, off, near);
    }
    *out = j;
    return ASVK_OK;
}

static const char *dot(const char *ctx) { return ctx && *ctx ? "." : ""; }
static const char *nz(const char *ctx) { return ctx ? ctx : ""; }

asvk_status asvk_json_check_keys(const cJSON *obj, const char *ctx, const char *const *known) {
    if (!cJSON_IsObject(obj)) return asvk_error_set(ASVK_ERR_USAGE, "%s must be a JSON object", *nz(ctx) ? ctx : "the file");
    for (const cJSON *it = obj->child; it; it = it->next) {
        bool ok = false;
        for (size_t i = 0; known[i]; i++) ok |= strcmp(it->string, known[i]) == 0;
        if (!ok) {
            char list[512];
            size_t n = 0;
            list[0] = 0;
            for (size_t i = 0; known[i] && n < sizeof list - 1; i++)
                n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", known[i]);
            return asvk_error_set(ASVK_ERR_USAGE, "%s%sunknown key '%s' (known keys: %s)", nz(ctx), *nz(ctx) ? ": " : "",
                                  it->string, list);
        }
        for (const cJSON *o = obj->child; o != it; o = o->next)
            if (strcmp(o->string, it->string) == 0)
                return asvk_error_set(ASVK_ERR_USAGE, "%s%skey '%s' is given twice", nz(ctx), *nz(ctx) ? ": " : "",
                                      it->string);
    }
    return ASVK_OK;
}

const cJSON *asvk_json_get(const cJSON *obj, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

static asvk_status missing(const char *ctx, const char *key) {
    return asvk_error_set(ASVK_ERR_USAGE, "%s%s%s is missing", nz(ctx), dot(ctx), key);
}

/* A short rendering of a JSON value for messages. */
static void show(const cJSON *v, char *buf, size_t n) {
    char *s = cJSON_PrintUnformatted(v);
    snprintf(buf, n, "%s", s ? s : "?");
    if (s && strlen(s) >= n && n > 4) strcpy(buf + n - 4, "...");
    free(s);
}

asvk_status asvk_json_uint(const cJSON *obj, const char *ctx, const char *key, bool required, uint32_t def,
                           uint32_t lo, uint32_t hi, uint32_t *out) {
    const cJSON *v = asvk_json_get(obj, key);
    if (!v) {
        if (required) return missing(ctx, key);
        *out = def;
        return ASVK_OK;
    }
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!cJSON_IsNumber(v) || d != floor(d) || d < lo || d > hi) {
        char s[64];
        show(v, s, sizeof s);
        return asvk_error_set(ASVK_ERR_USAGE, "%s%s%s must be an integer from %u to %u, not %s", nz(ctx), dot(ctx), key,
                              lo, hi, s);
    }
    *out = (uint32_t)d;
    return ASVK_OK;
}

asvk_status asvk_json_number(const cJSON *obj, const char *ctx, const char *key, bool required, double def,
                             double lo, double hi, double *out) {
    const cJSON *v = asvk_json_get(obj, key);
    if (!v) {
        if (required) return missing(ctx, key);
        *out = def;
        return ASVK_OK;
    }
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi)) {
        char s[64];
        show(v, s, sizeof s);
        return asvk_error_set(ASVK_ERR_USAGE, "%s%s%s must be a number from %g to %g, not %s", nz(ctx), dot(ctx), key,
                              lo, hi, s);
    }
    *out = v->valuedouble;
    return ASVK_OK;
}

asvk_status asvk_json_bool(const cJSON *obj, const char *ctx, const char *key, bool required, bool def, bool *out) {
    const cJSON *v = asvk_json_get(obj, key);
    if (!v) {
        if (required) return missing(ctx, key);
        *out = def;
        return ASVK_OK;
    }
    if (!cJSON_IsBool(v)) {
        char s[64];
        show(v, s, sizeof s);
        return asvk_error_set(ASVK_ERR_USAGE, "%s%s%s must be true or false, not %s", nz(ctx), dot(ctx), key, s);
    }
    *out = cJSON_IsTrue(v);
    return ASVK_OK;
}

asvk_status asvk_json_string(const cJSON *obj, const char *ctx, const char *key, bool required, const char *def,
                             const char **out) {
    const cJSON *v = asvk_json_get(obj, key);
    if (!v) {
        if (required) return missing(ctx, key);
        *out = def;
        return ASVK_OK;
    }
    if (!cJSON_IsString(v)) {
        char s[64];
        show(v, s, sizeof s);
        return asvk_error_set(ASVK_ERR_USAGE, "%s%s%s must be a string, not %s", nz(ctx), dot(ctx), key, s);
    }
    char field[512];
    snprintf(field, sizeof field, "%s%s%s", nz(ctx), dot(ctx), key);
    asvk_status st = asvk_utf8_check(v->valuestring, NULL, field);
    if (st) return st;
    *out = v->valuestring;
    return ASVK_OK;
}

/* The length of the UTF-8 sequence at s (RFC 3629: shortest form, no
 * surrogates, at most U+10FFFF), or 0 when it is not one. */
static size_t utf8_sequence(const unsigned char *s) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf; /* the range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c == 0xe0) n = 3, lo = 0xa0;
    else if (c == 0xed) n = 3, hi = 0x9f;
    else if (c >= 0xe1 && c <= 0xef) n = 3;
    else if (c == 0xf0) n = 4, lo = 0x90;
    else if (c == 0xf4) n = 4, hi = 0x8f;
    else if (c >= 0xf1 && c <= 0xf3) n = 4;
    else return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf) return 0;
    return n;
}

asvk_status asvk_utf8_check(const char *s, const char *file, const char *field) {
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; p[i];) {
        size_t n = utf8_sequence(p + i);
        if (!n)
            return asvk_error_set(ASVK_ERR_USAGE, "%s%s%s is not valid UTF-8 (byte %zu is 0x%02x); write it in UTF-8",
                                  file && *file ? file : "", file && *file ? ": " : "", field, i, p[i]);
        i += n;
    }
    return ASVK_OK;
}

void asvk_json_format_double(double v, char *buf, size_t n) {
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

cJSON *asvk_json_exact(double v) {
    if (!isfinite(v)) return cJSON_CreateNull();
    char num[32];
    asvk_json_format_double(v, num, sizeof num);
    return cJSON_CreateRaw(num);
}

cJSON *asvk_json_add_exact(cJSON *obj, const char *key, double v) {
    cJSON *x = asvk_json_exact(v);
    if (x && !cJSON_AddItemToObject(obj, key, x)) {
        cJSON_Delete(x);
        return NULL;
    }
    return x;
}
