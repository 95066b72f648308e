/* CIFAR-10, binary version: fixed 3073-byte records in up to six files. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/data/dataset.h"
#include "runtime/data/gzfile.h"

#define CIFAR_SIDE 32u
#define CIFAR_PLANE (CIFAR_SIDE * CIFAR_SIDE)
#define CIFAR_RECORD (1u + 3u * CIFAR_PLANE)
#define CIFAR_CLASSES 10u
/* The real files hold 10000 records; this bounds what one corrupt file can
 * make us allocate. */
#define CIFAR_MAX_RECORDS (1u << 20)

static const char *const cifar_names[CIFAR_CLASSES] = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                       "dog",      "frog",       "horse", "ship", "truck"};

#define PATH_BYTES 4096

/* dir/name into out, or ASVK_ERR_USAGE when it does not fit. */
static asvk_status join(char *out, const char *dir, const char *name) {
    int k = snprintf(out, PATH_BYTES, "%s/%s", dir, name);
    if (k < 0 || k >= PATH_BYTES) return asvk_error_set(ASVK_ERR_USAGE, "%s/%s: path too long", dir, name);
    return ASVK_OK;
}

static bool is_file(const char *path) {
    struct stat s;
    return stat(path, &s) == 0 && S_ISREG(s.st_mode);
}

/* Appends the records of one file to (pixels, labels), converting each
 * image from planar RGB to interleaved. */
static asvk_status read_batch(const char *path, uint8_t **pixels, int32_t **labels, uint32_t *n) {
    asvk_gzfile *f;
    asvk_status st = asvk_gzfile_open(path, &f);
    if (st) return st;
    uint8_t *raw;
    uint64_t size;
    st = asvk_gzfile_read_all(f, (uint64_t)CIFAR_RECORD * CIFAR_MAX_RECORDS + 1, &raw, &size);
    asvk_gzfile_close(f);
    if (st) return st;
    uint64_t records = size / CIFAR_RECORD;
    if (size == 0) st = asvk_error_set(ASVK_ERR_USAGE, "%s: empty file, no CIFAR-10 records", path);
    else if (size % CIFAR_RECORD)
        st = asvk_error_set(ASVK_ERR_USAGE, "%s: truncated: %llu bytes is not a whole number of %u-byte CIFAR-10 "
                                            "records (record %llu has %llu bytes)", path, (unsigned long long)size,
                            CIFAR_RECORD, (unsigned long long)records, (unsigned long long)(size % CIFAR_RECORD));
    else if (records > CIFAR_MAX_RECORDS - *n)
        st = asvk_error_set(ASVK_ERR_USAGE, "%s: more records than a CIFAR-10 batch file holds", path);
    if (st) {
        free(raw);
        return st;
    }
    uint32_t total = *n + (uint32_t)records;
    uint8_t *np = realloc(*pixels, (size_t)total * 3 * CIFAR_PLANE);
    if (np) *pixels = np;
    int32_t *nl = realloc(*labels, (size_t)total * sizeof *nl);
    if (nl) *labels = nl;
    if (!np || !nl) {
        free(raw);
        return asvk_error_set(ASVK_ERR_OOM, "out of host memory loading %s", path);
    }
    for (uint32_t r = 0; r < records; r++) {
        const uint8_t *rec = raw + (uint64_t)r * CIFAR_RECORD;
        if (rec[0] >= CIFAR_CLASSES) {
            uint32_t bad = rec[0];
            free(raw);
            return asvk_error_set(ASVK_ERR_USAGE, "%s: record %u has label %u (CIFAR-10 labels are 0..9); the file "
                                                  "is damaged or not CIFAR-10", path, r, bad);
        }
        nl[*n + r] = rec[0];
        uint8_t *dst = np + (uint64_t)(*n + r) * 3 * CIFAR_PLANE;
        for (uint32_t p = 0; p < CIFAR_PLANE; p++)
            for (uint32_t ch = 0; ch < 3; ch++) dst[p * 3 + ch] = rec[1 + ch * CIFAR_PLANE + p];
    }
    free(raw);
    *n = total;
    return ASVK_OK;
}

/* batches.meta.txt: one class name per line (blank lines ignored). A file
 * with fewer than 10 names leaves the built-in names in place. */
static void read_meta(const char *dir, char names[CIFAR_CLASSES][64], bool *found) {
    char path[PATH_BYTES];
    *found = false;
    if (join(path, dir, "batches.meta.txt")) return;
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[256], got[CIFAR_CLASSES][64];
    uint32_t k = 0;
    while (k < CIFAR_CLASSES && fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        while (len && isspace((unsigned char)line[len - 1])) line[--len] = 0;
        char *s = line;
        while (isspace((unsigned char)*s)) s++;
        if (!*s) continue;
        size_t n = strlen(s) < sizeof got[0] - 1 ? strlen(s) : sizeof got[0] - 1; /* long names are cut */
        memcpy(got[k], s, n);
        got[k++][n] = 0;
    }
    fclose(f);
    if (k == CIFAR_CLASSES) {
        memcpy(names, got, sizeof got);
        *found = true;
    }
}

asvk_status asvk_dataset_load_cifar10(const char *dir, asvk_dataset_part part, asvk_dataset **out) {
    *out = NULL;
    /* Missing files and folders are all ones the user named: bad input. */
    struct stat s;
    if (!dir || stat(dir, &s) != 0 || !S_ISDIR(s.st_mode))
        return asvk_error_set(ASVK_ERR_USAGE, "%s: no such folder; pass the folder of CIFAR-10's binary version "
                                              "(cifar-10-batches-bin, with data_batch_1.bin .. test_batch.bin)",
                              dir ? dir : "(null)");
    char base[PATH_BYTES], path[PATH_BYTES], name[64];
    asvk_status st = join(base, dir, "cifar-10-batches-bin");
    if (st) return st;
    /* The archive unpacks into cifar-10-batches-bin/: accept its parent too. */
    if (stat(base, &s) != 0 || !S_ISDIR(s.st_mode)) snprintf(base, sizeof base, "%s", dir);

    uint8_t *pixels = NULL;
    int32_t *labels = NULL;
    uint32_t n = 0, files = 0;
    if (part == ASVK_DATASET_TEST) {
        if (!(st = join(path, base, "test_batch.bin"))) {
            if (!is_file(path))
                st = asvk_error_set(ASVK_ERR_USAGE, "%s: no such file; the folder is not CIFAR-10's binary "
                                                    "version", path);
            else if (!(st = read_batch(path, &pixels, &labels, &n)))
                files = 1;
        }
    } else {
        for (uint32_t b = 1; b <= 5 && !st; b++) {
            snprintf(name, sizeof name, "data_batch_%u.bin", b);
            if ((st = join(path, base, name))) break;
            if (!is_file(path)) {
                /* A gap (1, 2, 4) means a lost file, not a smaller dataset. */
                for (uint32_t later = b + 1; later <= 5 && files; later++) {
                    char lp[PATH_BYTES];
                    snprintf(name, sizeof name, "data_batch_%u.bin", later);
                    if (!join(lp, base, name) && is_file(lp)) {
                        st = asvk_error_set(ASVK_ERR_USAGE, "%s: no such file, but %s exists; a batch file is "
                                                            "missing", path, lp);
                        break;
                    }
                }
                break;
            }
            if (!(st = read_batch(path, &pixels, &labels, &n))) files++;
        }
        if (!st && !files)
            st = asvk_error_set(ASVK_ERR_USAGE, "%s/data_batch_1.bin: no such file; the folder is not CIFAR-10's "
                                                "binary version (cifar-10-batches-bin)", base);
    }
    asvk_dataset *d = NULL;
    if (!st) {
        d = calloc(1, sizeof *d);
        char *src = strdup(base);
        if (!d || !src) {
            free(src);
            st = asvk_error_set(ASVK_ERR_OOM, "out of host memory loading %s", base);
        } else {
            *d = (asvk_dataset){.n = n, .h = CIFAR_SIDE, .w = CIFAR_SIDE, .c = 3, .pixels = pixels, .labels = labels,
                                .classes = CIFAR_CLASSES, .source = src};
            pixels = NULL, labels = NULL;
            char meta[CIFAR_CLASSES][64];
            bool found;
            read_meta(base, meta, &found);
            const char *names[CIFAR_CLASSES];
            for (uint32_t i = 0; i < CIFAR_CLASSES; i++) names[i] = found ? meta[i] : cifar_names[i];
            st = asvk_dataset_set_class_names(d, names);
        }
    }
    free(pixels), free(labels);
    if (st) {
        asvk_dataset_destroy(d);
        return st;
    }
    *out = d;
    return ASVK_OK;
}
