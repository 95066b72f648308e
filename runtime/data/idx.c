/* IDX files (MNIST's format, gzip-compressed or not) and Fashion-MNIST. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/data/dataset.h"
#include "runtime/data/gzfile.h"

/* Larger sides are not images this pipeline trains on; refusing them keeps
 * a corrupt header from sizing a huge allocation. */
#define IDX_MAX_SIDE 65535u

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

typedef struct {
    uint32_t ndim;
    uint32_t dims[4];
    uint8_t *data;   /* the payload after the header */
    uint64_t bytes;  /* product of dims */
} idx_array;

/* Reads an IDX array of unsigned bytes with 1..4 dimensions and checks that
 * the payload is exactly what the header declares. */
static asvk_status read_idx(const char *path, const char *what, uint32_t want_ndim_lo, uint32_t want_ndim_hi,
                            idx_array *a) {
    memset(a, 0, sizeof *a);
    asvk_gzfile *f;
    asvk_status st = asvk_gzfile_open(path, &f);
    if (st) return st;
    uint8_t head[4 + 4 * 4];
    size_t got;
    if ((st = asvk_gzfile_read(f, head, 4, &got))) goto fail;
    if (got < 4) {
        st = asvk_error_set(ASVK_ERR_USAGE, "%s: truncated: %zu byte(s), too short for an IDX header", path, got);
        goto fail;
    }
    uint32_t magic = be32(head);
    if (head[0] || head[1] || head[3] < want_ndim_lo || head[3] > want_ndim_hi) {
        st = asvk_error_set(ASVK_ERR_USAGE, "%s: wrong magic number 0x%08x for an IDX %s file (expected 0x%08x%s)",
                            path, magic, what, 0x800u | want_ndim_lo,
                            want_ndim_hi > want_ndim_lo ? " or 0x00000804" : "");
        goto fail;
    }
    if (head[2] != 0x08) {
        st = asvk_error_set(ASVK_ERR_USAGE, "%s: IDX data type 0x%02x is not supported (only unsigned bytes, 0x08)",
                            path, head[2]);
        goto fail;
    }
    a->ndim = head[3];
    if ((st = asvk_gzfile_read(f, head + 4, 4 * a->ndim, &got))) goto fail;
    if (got < 4 * a->ndim) {
        st = asvk_error_set(ASVK_ERR_USAGE, "%s: truncated inside the IDX header", path);
        goto fail;
    }
    a->bytes = 1;
    for (uint32_t i = 0; i < a->ndim; i++) {
        a->dims[i] = be32(head + 4 + 4 * i);
        if (a->dims[i] == 0 || (i > 0 && a->dims[i] > IDX_MAX_SIDE)) {
            st = asvk_error_set(ASVK_ERR_USAGE, "%s: bad dimension %u of size %u in the IDX header", path, i,
                                a->dims[i]);
            goto fail;
        }
        /* Factors after the first are below 2^16, so a product checked
         * against 2^48 each time cannot wrap 64 bits. */
        a->bytes *= a->dims[i];
        if (a->bytes > (1ull << 48)) {
            st = asvk_error_set(ASVK_ERR_USAGE, "%s: the IDX header declares an implausible size", path);
            goto fail;
        }
    }
    uint64_t size;
    /* One byte past the declared size tells a longer file from an exact one. */
    if ((st = asvk_gzfile_read_all(f, a->bytes + 1, &a->data, &size))) goto fail;
    if (size < a->bytes) {
        st = asvk_error_set(ASVK_ERR_USAGE, "%s: truncated: the header declares %llu bytes of %s but the file holds "
                                            "%llu", path, (unsigned long long)a->bytes, what, (unsigned long long)size);
        goto fail;
    }
    if (size > a->bytes) {
        /* In a compressed file, extra data is often a corrupt stream that
         * inflates too long; read on (a bounded amount) so that its CRC
         * check can say so rather than blaming the header. */
        uint8_t sink[16384];
        for (uint64_t drained = 0; asvk_gzfile_compressed(f) && drained < (64u << 20); drained += got) {
            if ((st = asvk_gzfile_read(f, sink, sizeof sink, &got))) goto fail;
            if (got < sizeof sink) break;
        }
        st = asvk_error_set(ASVK_ERR_USAGE, "%s: more data than the header declares (%llu bytes of %s); the header "
                                            "or the file is wrong", path, (unsigned long long)a->bytes, what);
        goto fail;
    }
    asvk_gzfile_close(f);
    return ASVK_OK;
fail:
    free(a->data);
    a->data = NULL;
    asvk_gzfile_close(f);
    return st;
}

asvk_status asvk_dataset_load_idx(const char *images, const char *labels, asvk_dataset **out) {
    *out = NULL;
    idx_array im, lb;
    asvk_status st = read_idx(images, "images", 3, 4, &im);
    if (st) return st;
    uint32_t c = im.ndim == 4 ? im.dims[3] : 1;
    if (c != 1 && c != 3) {
        free(im.data);
        return asvk_error_set(ASVK_ERR_USAGE, "%s: images with %u channels (only 1 or 3 are supported)", images, c);
    }
    if ((st = read_idx(labels, "labels", 1, 1, &lb))) {
        free(im.data);
        return st;
    }
    if (lb.dims[0] != im.dims[0]) {
        free(im.data), free(lb.data);
        return asvk_error_set(ASVK_ERR_USAGE, "%s holds %u labels but %s holds %u images; the files do not belong "
                                              "together", labels, lb.dims[0], images, im.dims[0]);
    }
    asvk_dataset *d = calloc(1, sizeof *d);
    int32_t *lab = malloc((size_t)lb.dims[0] * sizeof *lab);
    char *src = strdup(images);
    if (!d || !lab || !src) {
        free(d), free(lab), free(src), free(im.data), free(lb.data);
        return asvk_error_set(ASVK_ERR_OOM, "out of host memory loading %s", images);
    }
    uint32_t classes = 0;
    for (uint32_t i = 0; i < lb.dims[0]; i++) {
        lab[i] = lb.data[i];
        if ((uint32_t)lab[i] + 1 > classes) classes = (uint32_t)lab[i] + 1;
    }
    free(lb.data);
    *d = (asvk_dataset){.n = im.dims[0], .h = im.dims[1], .w = im.dims[2], .c = c, .pixels = im.data,
                        .labels = lab, .classes = classes, .source = src};
    *out = d;
    return ASVK_OK;
}

static bool exists(const char *path) {
    struct stat s;
    return stat(path, &s) == 0;
}

/* A file missing from a folder the user named is bad input (exit 2); from
 * the Debian package's folder, an incomplete installation (exit 1). */
static asvk_status missing(const char *dir) {
    return strcmp(dir, ASVK_FASHION_MNIST_DIR) == 0 ? ASVK_ERR_IO : ASVK_ERR_USAGE;
}

/* dir/name.gz, else dir/name, else an error naming what was looked for. */
static asvk_status find_file(const char *dir, const char *name, char *path, size_t size) {
    snprintf(path, size, "%s/%s.gz", dir, name);
    if (exists(path)) return ASVK_OK;
    snprintf(path, size, "%s/%s", dir, name);
    if (exists(path)) return ASVK_OK;
    return asvk_error_set(missing(dir), "%s/%s.gz: no such file (nor %s uncompressed); %s", dir, name, name,
                          strcmp(dir, ASVK_FASHION_MNIST_DIR) == 0
                              ? "install the package dataset-fashion-mnist (apt install dataset-fashion-mnist)"
                              : "put the Fashion-MNIST files there, or install dataset-fashion-mnist and use its "
                                "folder " ASVK_FASHION_MNIST_DIR);
}

asvk_status asvk_dataset_load_fashion_mnist(const char *dir, asvk_dataset_part part, asvk_dataset **out) {
    static const char *const names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                          "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    *out = NULL;
    if (!dir || !*dir) dir = ASVK_FASHION_MNIST_DIR;
    struct stat s;
    int err = stat(dir, &s) != 0 ? errno : 0;
    if (err || !S_ISDIR(s.st_mode))
        return asvk_error_set(missing(dir), "%s: no such folder (%s); %s", dir, err ? strerror(err) : "not a folder",
                              strcmp(dir, ASVK_FASHION_MNIST_DIR) == 0
                                  ? "install the package dataset-fashion-mnist (apt install dataset-fashion-mnist)"
                                  : "pass the folder that holds train-images-idx3-ubyte.gz and its siblings");
    const char *prefix = part == ASVK_DATASET_TRAIN ? "train" : "t10k";
    char name[64], images[4096], labels[4096];
    snprintf(name, sizeof name, "%s-images-idx3-ubyte", prefix);
    asvk_status st = find_file(dir, name, images, sizeof images);
    if (st) return st;
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte", prefix);
    if ((st = find_file(dir, name, labels, sizeof labels))) return st;
    asvk_dataset *d;
    if ((st = asvk_dataset_load_idx(images, labels, &d))) return st;
    if (d->classes > 10) {
        /* The largest label is read before the dataset is freed. */
        uint32_t top = d->classes - 1;
        asvk_dataset_destroy(d);
        return asvk_error_set(ASVK_ERR_USAGE, "%s: labels up to %u, but Fashion-MNIST has 10 classes (0..9); the "
                                              "file is damaged or not Fashion-MNIST", labels, top);
    }
    d->classes = 10;
    if ((st = asvk_dataset_set_class_names(d, names))) {
        asvk_dataset_destroy(d);
        return st;
    }
    *out = d;
    return ASVK_OK;
}
