#include "apps/data_spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static asvk_status open_one(const char *spec, asvk_dataset_part part, uint32_t res, uint32_t ch, asvk_dataset **out,
                            char *name, size_t name_len, asvk_norm *norm) {
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
        if (!arg || !*arg) return asvk_error_set(ASVK_ERR_USAGE, "--data cifar10 needs a folder: cifar10:DIR");
        snprintf(name, name_len, "cifar10");
        *norm = asvk_norm_cifar10;
        return asvk_dataset_load_cifar10(arg, part, out);
    }
    if (strcmp(buf, "folder") == 0) {
        if (!arg || !*arg) return asvk_error_set(ASVK_ERR_USAGE, "--data folder needs a folder: folder:DIR[:RES[:C]]");
        char *r = strchr(arg, ':');
        if (r) {
            *r++ = 0;
            char *c = strchr(r, ':');
            if (c) *c++ = 0, ch = (uint32_t)strtoul(c, NULL, 10);
            res = (uint32_t)strtoul(r, NULL, 10);
        }
        if (!res || (ch != 1 && ch != 3))
            return asvk_error_set(ASVK_ERR_USAGE, "--data folder:%s: give a resolution and 1 or 3 channels", arg);
        snprintf(name, name_len, "folder");
        asvk_status st = asvk_dataset_load_image_folder(arg, res, res, ch, out);
        if (!st) st = asvk_dataset_norm(*out, NULL, 0, norm);
        return st;
    }
    return asvk_error_set(ASVK_ERR_USAGE, "unknown --data '%s': use fashion-mnist[:DIR], cifar10:DIR or folder:DIR[:RES[:C]]",
                          spec);
}

asvk_status data_open(const char *spec, const char *test_spec, uint32_t res, uint32_t ch, bool need_train, data_sets *out) {
    memset(out, 0, sizeof *out);
    if (!spec) spec = "fashion-mnist";
    asvk_status st = ASVK_OK;
    asvk_norm norm;
    if (need_train) st = open_one(spec, ASVK_DATASET_TRAIN, res, ch, &out->train, out->name, sizeof out->name, &out->norm);
    if (st) return st;
    if (test_spec) {
        st = open_one(test_spec, ASVK_DATASET_TEST, res, ch, &out->test, out->name, sizeof out->name, &norm);
        if (!need_train) out->norm = norm;
    } else if (strncmp(spec, "folder", 6) != 0) {
        st = open_one(spec, ASVK_DATASET_TEST, res, ch, &out->test, out->name, sizeof out->name, &norm);
        if (!need_train) out->norm = norm;
    }
    if (st) data_close(out);
    return st;
}

void data_close(data_sets *d) {
    asvk_dataset_destroy(d->train);
    asvk_dataset_destroy(d->test);
    d->train = d->test = NULL;
}
