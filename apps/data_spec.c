#include "apps/data_spec.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The whole of `s` as a number in [lo, hi]: no sign, no trailing text, no
 * wrap-around, so that "-5" or "28px" is refused instead of read as
 * 4294967291 or 28. */
static bool parse_count(const char *s, uint32_t lo, uint32_t hi, uint32_t *out) {
    if (!isdigit((unsigned char)*s)) return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return false;
    *out = (uint32_t)v;
    return true;
}

/* `opt` is the option the spec came from, for messages. */
static asvk_status open_one(const char *opt, const char *spec, asvk_dataset_part part, uint32_t res, uint32_t ch,
                            asvk_dataset **out, char *name, size_t name_len, asvk_norm *norm) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", spec);
    char *arg = strchr(buf, ':');
    if (arg) *arg++ = 0;
    if (strcmp(buf, "fashion-mnist") == 0) {
        snprintf(name, name_len, "fashion-mnist");
        *norm = asvk_norm_fashion_mnist;
        return asvk_dataset_load_fashion_mnist(arg, part, out);
    }
    if (strcmp(buf, "cifar10") == 0) {
        if (!arg || !*arg) return asvk_error_set(ASVK_ERR_USAGE, "%s cifar10 needs a folder: cifar10:DIR", opt);
        snprintf(name, name_len, "cifar10");
        *norm = asvk_norm_cifar10;
        return asvk_dataset_load_cifar10(arg, part, out);
    }
    if (strcmp(buf, "folder") == 0) {
        if (!arg || !*arg) return asvk_error_set(ASVK_ERR_USAGE, "%s folder needs a folder: folder:DIR[:RES[:C]]", opt);
        char *r = strchr(arg, ':'), *c = NULL;
        uint32_t net_res = res ? res : 32, net_ch = ch == 1 ? 1 : 3; /* the network's input, for the example */
        if (r) {
            *r++ = 0;
            if ((c = strchr(r, ':'))) *c++ = 0;
            if (!parse_count(r, 1, ASVK_FOLDER_MAX_SIDE, &res))
                return asvk_error_set(ASVK_ERR_USAGE, "%s %s: the resolution '%s' is not a whole number from 1 to %u; "
                                                      "write folder:%s:RES[:C], e.g. folder:%s:%u:%u", opt, spec, r,
                                      ASVK_FOLDER_MAX_SIDE, arg, arg, net_res, net_ch);
            if (c && (!parse_count(c, 1, 3, &ch) || ch == 2))
                return asvk_error_set(ASVK_ERR_USAGE, "%s %s: the channel count '%s' is not 1 or 3; write "
                                                      "folder:%s:%s:1 (gray) or folder:%s:%s:3 (RGB)", opt, spec, c,
                                      arg, r, arg, r);
        }
        if (!res || (ch != 1 && ch != 3))
            return asvk_error_set(ASVK_ERR_USAGE, "%s folder:%s: give a resolution and 1 or 3 channels", opt, arg);
        snprintf(name, name_len, "folder");
        asvk_status st = asvk_dataset_load_image_folder(arg, res, res, ch, out);
        if (!st) st = asvk_dataset_norm(*out, NULL, 0, norm);
        return st;
    }
    return asvk_error_set(ASVK_ERR_USAGE, "unknown %s '%s': use fashion-mnist[:DIR], cifar10:DIR or folder:DIR[:RES[:C]]",
                          opt, spec);
}

/* Every part must have the network's input size: batches are copied whole
 * into buffers sized for it, so a test part of another size once overran
 * them at its first evaluation (exit 1, after a whole epoch of training).
 * Checked here, before any work, naming the part's file. */
static asvk_status check_size(const asvk_dataset *d, const char *what, const char *opt, uint32_t res, uint32_t ch) {
    if (!d || !res || (d->h == res && d->w == res && d->c == ch)) return ASVK_OK;
    return asvk_error_set(ASVK_ERR_USAGE, "%s: the %s images are %ux%ux%u, but the network takes %ux%ux%u; give %s "
                                          "images of %ux%ux%u", d->source, what, d->h, d->w, d->c, res, res, ch, opt,
                          res, res, ch);
}

asvk_status data_open(const char *spec, const char *test_spec, uint32_t res, uint32_t ch, bool need_train, data_sets *out) {
    memset(out, 0, sizeof *out);
    if (!spec) spec = "fashion-mnist";
    asvk_status st = ASVK_OK;
    asvk_norm norm;
    if (need_train) {
        st = open_one("--data", spec, ASVK_DATASET_TRAIN, res, ch, &out->train, out->name, sizeof out->name, &out->norm);
        if (!st) st = check_size(out->train, "training", "--data", res, ch);
    }
    if (!st && test_spec) {
        st = open_one("--test-data", test_spec, ASVK_DATASET_TEST, res, ch, &out->test, out->name, sizeof out->name,
                      &norm);
        if (!need_train) out->norm = norm;
        if (!st) st = check_size(out->test, "test", "--test-data", res, ch);
    } else if (!st && strncmp(spec, "folder", 6) != 0) {
        st = open_one("--data", spec, ASVK_DATASET_TEST, res, ch, &out->test, out->name, sizeof out->name, &norm);
        if (!need_train) out->norm = norm;
        if (!st) st = check_size(out->test, "test", "--data", res, ch);
    }
    /* A loader may hand back a dataset with a failure (the folder's norm). */
    if (st) data_close(out);
    return st;
}

void data_close(data_sets *d) {
    asvk_dataset_destroy(d->train);
    asvk_dataset_destroy(d->test);
    d->train = d->test = NULL;
}
