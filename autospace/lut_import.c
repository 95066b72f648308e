/* asvk latency import: a published ProxylessNAS or once-for-all latency
 * table (YAML, read with libyaml) as an asvk block table. The files are a
 * mapping of block keys to {count, mean, var} (ProxylessNAS) or {count,
 * mean, std} (once-for-all), times in ms; `mean` becomes the entry's time,
 * `count` its runs. The key format (ProxylessNAS's, or once-for-all's with
 * "-se:..-hs:..") and the resolution (the "Conv-input:RxRx3" key) come from
 * the keys themselves. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "autospace/latency_internal.h"
#include "engine/version.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/json_read.h"

static const char *scalar(const yaml_node_t *n) {
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool number(const char *s, double *out) {
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return !errno && !*end && isfinite(*out);
}

/* One entry: {count, mean, var | std}; mean is required and positive. */
static asvk_status read_entry(yaml_document_t *doc, const yaml_node_t *v, const char *path, const char *key,
                              double *mean, uint32_t *count) {
    if (!v || v->type != YAML_MAPPING_NODE)
        return asvk_error_set(ASVK_ERR_USAGE, "%s: '%s' must map to {count, mean, var or std}", path, key);
    bool has_mean = false;
    *count = 1;
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        const char *k = scalar(yaml_document_get_node(doc, p->key));
        const char *s = scalar(yaml_document_get_node(doc, p->value));
        double d;
        if (!k) return asvk_error_set(ASVK_ERR_USAGE, "%s: '%s' has a key that is not a plain value", path, key);
        if (strcmp(k, "mean") == 0) {
            if (!number(s, &d) || !(d > 0) || d > 1e6)
                return asvk_error_set(ASVK_ERR_USAGE, "%s: '%s': mean must be a time in ms above 0, not '%s'", path, key,
                                      s ? s : "(not a number)");
            *mean = d, has_mean = true;
        } else if (strcmp(k, "count") == 0) {
            if (!number(s, &d) || d < 1 || d > UINT32_MAX || d != floor(d))
                return asvk_error_set(ASVK_ERR_USAGE, "%s: '%s': count must be a whole number of runs, not '%s'", path,
                                      key, s ? s : "(not a number)");
            *count = (uint32_t)d;
        } else if (strcmp(k, "var") == 0 || strcmp(k, "std") == 0) {
            if (!number(s, &d) || d < 0)
                return asvk_error_set(ASVK_ERR_USAGE, "%s: '%s': %s must be a number of at least 0, not '%s'", path, key,
                                      k, s ? s : "(not a number)");
        } else {
            return asvk_error_set(ASVK_ERR_USAGE, "%s: '%s' has an unknown key '%.64s' (known: count, mean, var, std)",
                                  path, key, k);
        }
    }
    if (!has_mean) return asvk_error_set(ASVK_ERR_USAGE, "%s: '%s' has no mean", path, key);
    return ASVK_OK;
}

/* The key format of the table: once-for-all's blocks carry "-se:", ProxylessNAS's do not. */
static asvk_status scheme_of(yaml_document_t *doc, const yaml_node_t *root, const char *path, asvk_lut_keys *out) {
    *out = ASVK_LUT_KEYS_NODE;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        const char *k = scalar(yaml_document_get_node(doc, p->key));
        if (!k || strncmp(k, "expanded_conv-", 14) != 0) continue;
        asvk_lut_keys s = strstr(k, "-se:") ? ASVK_LUT_KEYS_OFA : ASVK_LUT_KEYS_PROXYLESS;
        if (*out != ASVK_LUT_KEYS_NODE && s != *out)
            return asvk_error_set(ASVK_ERR_USAGE, "%s: '%s' is a %s key, but the table's blocks before it are %s's", path,
                                  k, s == ASVK_LUT_KEYS_OFA ? "once-for-all" : "ProxylessNAS",
                                  s == ASVK_LUT_KEYS_OFA ? "ProxylessNAS" : "once-for-all");
        *out = s;
    }
    if (*out == ASVK_LUT_KEYS_NODE)
        return asvk_error_set(ASVK_ERR_USAGE, "%s holds no expanded_conv block: not a ProxylessNAS or once-for-all "
                              "latency table", path);
    return ASVK_OK;
}

static asvk_status fill(yaml_document_t *doc, const char *path, asvk_lut *t) {
    const yaml_node_t *root = yaml_document_get_root_node(doc);
    if (!root || root->type != YAML_MAPPING_NODE)
        return asvk_error_set(ASVK_ERR_USAGE, "%s must hold a mapping of block keys to their times", path);
    asvk_status st = scheme_of(doc, root, path, &t->stamp.keys);
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; !st && p < root->data.mapping.pairs.top; p++) {
        const char *k = scalar(yaml_document_get_node(doc, p->key));
        char why[256];
        if (!k) return asvk_error_set(ASVK_ERR_USAGE, "%s: a key is not a plain value", path);
        if ((st = asvk_utf8_check(k, path, "a key"))) return st;
        if (!asvk_lut_block_key_valid(k, t->stamp.keys, why, sizeof why))
            return asvk_error_set(ASVK_ERR_USAGE, "%s: unknown key '%.200s': %s", path, k, why);
        if (asvk_lut_entry(t, k)) return asvk_error_set(ASVK_ERR_USAGE, "%s: '%.200s' is given twice", path, k);
        double mean = 0;
        uint32_t count = 1;
        if ((st = read_entry(doc, yaml_document_get_node(doc, p->value), path, k, &mean, &count))) return st;
        unsigned r, r2, c;
        int used = -1;
        if (sscanf(k, "Conv-input:%ux%ux%u-%n", &r, &r2, &c, &used) == 3 && used > 0) {
            if (t->stamp.resolution && t->stamp.resolution != r)
                return asvk_error_set(ASVK_ERR_USAGE, "%s: '%s' is at %ux%u, but the table is at %ux%u", path, k, r, r2,
                                      t->stamp.resolution, t->stamp.resolution);
            t->stamp.resolution = r;
        }
        st = asvk_lut_put(t, k, mean, count);
    }
    if (!st && !t->stamp.resolution)
        st = asvk_error_set(ASVK_ERR_USAGE, "%s has no 'Conv-input:RxRx3-output:...' key (the first conv), so its "
                            "input resolution is unknown", path);
    return st;
}

asvk_status asvk_lut_import_yaml(const char *path, const char *device, asvk_lut **out) {
    *out = NULL;
    if (!device || !*device)
        return asvk_error_set(ASVK_ERR_USAGE, "name the device the table was measured on (--device \"NAME\")");
    char *text;
    size_t len;
    asvk_status st = asvk_file_read_all(path, 64u << 20, &text, &len);
    if (st) return st;
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        free(text);
        return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        st = asvk_error_set(ASVK_ERR_USAGE, "%s: line %zu, column %zu: %s", path, parser.problem_mark.line + 1,
                            parser.problem_mark.column + 1, parser.problem ? parser.problem : "YAML syntax error");
        yaml_parser_delete(&parser);
        free(text);
        return st;
    }
    asvk_lut *t = asvk_lut_create(1);
    if (!t) st = asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    if (!st) st = fill(&doc, path, t);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    free(text);
    if (!st) st = asvk_utf8_check(device, NULL, "the device name");
    const char *base = strrchr(path, '/');
    if (!st) st = asvk_utf8_check(base ? base + 1 : path, NULL, "the table's file name");
    if (st) {
        asvk_lut_destroy(t);
        return st;
    }
    asvk_lut_stamp *s = &t->stamp;
    snprintf(s->device, sizeof s->device, "%s", device);
    snprintf(s->driver, sizeof s->driver, "%s", "published latency table");
    snprintf(s->asvk_version, sizeof s->asvk_version, "%s", ASVK_VERSION);
    snprintf(s->source, sizeof s->source, "%s", base ? base + 1 : path);
    s->imported = true;
    asvk_lut_blocks_fit(t);
    *out = t;
    return ASVK_OK;
}
