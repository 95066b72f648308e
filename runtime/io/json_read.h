/* Strict reading of JSON input files: every value's type and range is checked
 * and every failure names the key path ("layers[3].kernel"), so a typo or a
 * wrong value never passes silently. JSON null reads as absent. Shared by the
 * architecture, net.config, checkpoint-header and (later) search-space readers. */
#ifndef ASVK_RUNTIME_IO_JSON_READ_H
#define ASVK_RUNTIME_IO_JSON_READ_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/status.h"

/* Parses text (not necessarily NUL-terminated) into *out; a syntax error is
 * ASVK_ERR_USAGE "<source>: not valid JSON at line L, column C (near '...')". */
asvk_status asvk_json_parse(const char *text, size_t len, const char *source, cJSON **out);

/* Fails on a key of `obj` not in the NULL-terminated `known` list, or on a key
 * given twice; `ctx` names the object ("layers[3]"; "" for the top level). */
asvk_status asvk_json_check_keys(const cJSON *obj, const char *ctx, const char *const *known);

/* The member `key` of `obj`, or NULL when absent or null. */
const cJSON *asvk_json_get(const cJSON *obj, const char *key);

/* Typed members. `required` absent -> error; otherwise absent -> `def`.
 * Strings are checked to be UTF-8 (asvk_utf8_check). */
asvk_status asvk_json_uint(const cJSON *obj, const char *ctx, const char *key, bool required, uint32_t def,
                           uint32_t lo, uint32_t hi, uint32_t *out);
asvk_status asvk_json_number(const cJSON *obj, const char *ctx, const char *key, bool required, double def,
                             double lo, double hi, double *out);
asvk_status asvk_json_bool(const cJSON *obj, const char *ctx, const char *key, bool required, bool def, bool *out);
asvk_status asvk_json_string(const cJSON *obj, const char *ctx, const char *key, bool required, const char *def,
                             const char **out);

/* Names read from user files (architecture, layer, tensor, cell, space and
 * class names) end up in JSON, safetensors headers and the HTML report, all
 * of which must be UTF-8: Python's json and safetensors refuse anything else,
 * and cJSON copies bytes through unchecked. Fails with ASVK_ERR_USAGE
 * "<file>: <field> is not valid UTF-8 (...)" (no file part when `file` is
 * NULL or empty: for callers that prefix the file name themselves). Checks
 * the shortest form, no surrogates, nothing above U+10FFFF. */
asvk_status asvk_utf8_check(const char *s, const char *file, const char *field);

/* Formats a double so that strtod gives it back exactly, as short as possible. */
void asvk_json_format_double(double v, char *buf, size_t n);

/* A number item printed by asvk_json_format_double (a raw item; NaN and
 * infinities become null). For anything read back on resume: cJSON prints a
 * double with 15 digits whenever they read back within DBL_EPSILON, so a value
 * can come back 1 ulp off, and a resumed evolution then drifted from a straight
 * one. NULL when out of memory, like cJSON's own constructors. */
cJSON *asvk_json_exact(double v);
/* Adds asvk_json_exact(v) to `obj` as `key`; the item, or NULL. */
cJSON *asvk_json_add_exact(cJSON *obj, const char *key, double v);

#endif
