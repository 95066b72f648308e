/* Image-folder datasets: root/<class>/<image>, decoded by stb_image and
 * resized by stb_image_resize (compiled in stb_impl.c). */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>

#include "runtime/data/dataset.h"

#define FOLDER_MAX_SIDE ASVK_FOLDER_MAX_SIDE

typedef struct {
    char **v;
    uint32_t n, cap;
} name_list;

static void names_free(name_list *l) {
    for (uint32_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    *l = (name_list){0};
}

static bool names_push(name_list *l, const char *s) {
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) return false;
        l->v = v, l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(s))) return false;
    l->n++;
    return true;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool image_name(const char *name) {
    static const char *const ext[] = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga", ".psd",
                                      ".pnm", ".ppm", ".pgm",  ".pic", ".hdr"};
    const char *dot = strrchr(name, '.');
    if (!dot) return false;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (strcasecmp(dot, ext[i]) == 0) return true;
    return false;
}

/* The entries of `dir` that are folders (want_dirs) or image files, sorted
 * by name (byte order, so the class numbering is the same everywhere). */
static asvk_status list_entries(const char *dir, bool want_dirs, name_list *out) {
    *out = (name_list){0};
    DIR *dp = opendir(dir);
    if (!dp) return asvk_error_set(ASVK_ERR_IO, "%s: cannot open the folder: %s", dir, strerror(errno));
    struct dirent *e;
    char path[4096];
    while ((e = readdir(dp))) {
        if (e->d_name[0] == '.') continue; /* ".", "..", hidden files and folders */
        int k = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat s;
        /* A dangling link is not part of the dataset; a path too long to
         * open is skipped like one. */
        if (k < 0 || (size_t)k >= sizeof path || stat(path, &s) != 0) continue;
        bool ok = want_dirs ? S_ISDIR(s.st_mode) : S_ISREG(s.st_mode) && image_name(e->d_name);
        if (ok && !names_push(out, e->d_name)) {
            closedir(dp);
            names_free(out);
            return asvk_error_set(ASVK_ERR_OOM, "out of host memory listing %s", dir);
        }
    }
    closedir(dp);
    if (out->n) qsort(out->v, out->n, sizeof *out->v, cmp_names);
    return ASVK_OK;
}

/* dir/a[/b] into out, or ASVK_ERR_USAGE when it does not fit. */
static asvk_status join(char *out, size_t size, const char *dir, const char *a, const char *b) {
    int k = b ? snprintf(out, size, "%s/%s/%s", dir, a, b) : snprintf(out, size, "%s/%s", dir, a);
    if (k < 0 || (size_t)k >= size)
        return asvk_error_set(ASVK_ERR_USAGE, "%s/%s%s%s: path too long", dir, a, b ? "/" : "", b ? b : "");
    return ASVK_OK;
}

/* stb_image 2.27 trusts the symbol counts of a JPEG Huffman table: a
 * corrupt file whose counts sum past 256 makes stbi__build_huffman write
 * past its arrays (found by fuzzing under the sanitizers). The checks below
 * refuse such a table before stb reads the file; anything else malformed is
 * left to stb, which rejects it safely. */

/* The byte at i, or 0 past the end, as stbi__get8 reads. */
static unsigned byte_at(const uint8_t *b, size_t n, size_t i) { return i < n ? b[i] : 0; }

/* Walks a DHT segment whose length field starts at p the way stb's
 * stbi__process_marker does (table by table while the length lasts, reading
 * zeros past the end); false when a table holds more than 256 symbols. */
static bool dht_ok(const uint8_t *b, size_t n, size_t p) {
    long left = (long)(byte_at(b, n, p) << 8 | byte_at(b, n, p + 1)) - 2;
    for (size_t t = p + 2; left > 0 && t < n;) {
        unsigned symbols = 0;
        for (size_t i = 1; i <= 16; i++) symbols += byte_at(b, n, t + i);
        if (symbols > 256) return false;
        t += 17 + symbols;
        left -= 17 + (long)symbols;
    }
    return true;
}

static bool jpeg_tables_ok(const uint8_t *b, size_t n) {
    /* Up to the first scan, follow stb's header walk: markers after 0xff
     * fill bytes, padding skipped before the frame header, and each segment
     * stb accepts is exactly its length long. */
    size_t pos = 2; /* after SOI */
    bool framed = false;
    for (;;) {
        if (pos >= n) return true;
        if (b[pos] != 0xff) {
            if (framed) return true; /* stb refuses a missing marker here */
            pos++;
            continue;
        }
        while (pos < n && b[pos] == 0xff) pos++;
        if (pos >= n) return true;
        unsigned m = b[pos++];
        if (m == 0xda) break;        /* SOS */
        if (m == 0xd9) return true;  /* EOI */
        if (m == 0xc4 && !dht_ok(b, n, pos)) return false;
        if (m >= 0xc0 && m <= 0xc2) framed = true;
        size_t len = byte_at(b, n, pos) << 8 | byte_at(b, n, pos + 1);
        if (len < 2) return true;
        pos += len;
    }
    /* From the first scan on, where stb resumes depends on decoding, so
     * check every place it could take for a DHT marker: entropy-coded data
     * never holds 0xff 0xc4 (a data 0xff is stuffed as 0xff 0x00). */
    for (size_t i = pos; i + 1 < n; i++)
        if (b[i] == 0xff && b[i + 1] == 0xc4 && !dht_ok(b, n, i + 2)) return false;
    return true;
}

/* Images larger than this are not training data; refusing them before
 * reading bounds the memory a stray file costs. */
#define FOLDER_MAX_FILE_BYTES (256u << 20)

/* The whole file, or an ASVK_ERR_IO naming it. */
static asvk_status read_file(const char *path, uint8_t **data, size_t *size) {
    *data = NULL, *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        /* Gone since the folder was listed: still the input, not the host. */
        int e = errno;
        return asvk_error_set(e == ENOENT ? ASVK_ERR_USAGE : ASVK_ERR_IO, "%s: cannot open: %s", path, strerror(e));
    }
    struct stat s;
    if (fstat(fileno(f), &s) != 0 || s.st_size < 0 || (uint64_t)s.st_size > FOLDER_MAX_FILE_BYTES) {
        fclose(f);
        return asvk_error_set(ASVK_ERR_USAGE, "%s: not a readable image file of at most %u MiB", path,
                              FOLDER_MAX_FILE_BYTES >> 20);
    }
    size_t n = (size_t)s.st_size;
    uint8_t *b = malloc(n ? n : 1);
    if (!b) {
        fclose(f);
        return asvk_error_set(ASVK_ERR_OOM, "%s: out of host memory reading %zu bytes", path, n);
    }
    size_t got = fread(b, 1, n, f);
    bool bad = ferror(f);
    fclose(f);
    if (bad || got != n) {
        free(b);
        return asvk_error_set(ASVK_ERR_IO, "%s: read error", path);
    }
    *data = b, *size = n;
    return ASVK_OK;
}

/* Decodes one image into dst (h x w x c) or fails naming the file. */
static asvk_status load_image(const char *path, uint32_t h, uint32_t w, uint32_t c, uint8_t *dst) {
    uint8_t *file;
    size_t size;
    asvk_status st = read_file(path, &file, &size);
    if (st) return st;
    if (size > INT32_MAX) size = INT32_MAX; /* unreachable under FOLDER_MAX_FILE_BYTES; stb takes an int */
    if (size >= 2 && file[0] == 0xff && file[1] == 0xd8 && !jpeg_tables_ok(file, size)) {
        free(file);
        return asvk_error_set(ASVK_ERR_USAGE, "%s: cannot read the image (corrupt JPEG: a Huffman table with more "
                                              "than 256 symbols); remove or replace the file", path);
    }
    int iw, ih, ic;
    unsigned char *img = stbi_load_from_memory(file, (int)size, &iw, &ih, &ic, (int)c);
    free(file);
    if (!img) {
        const char *why = stbi_failure_reason();
        return asvk_error_set(ASVK_ERR_USAGE, "%s: cannot read the image (%s); remove or replace the file", path,
                              why ? why : "unknown format");
    }
    if ((uint32_t)iw == w && (uint32_t)ih == h)
        memcpy(dst, img, (size_t)h * w * c);
    else if (!stbir_resize_uint8(img, iw, ih, 0, dst, (int)w, (int)h, 0, (int)c))
        st = asvk_error_set(ASVK_ERR_OOM, "%s: out of host memory resizing %dx%d to %ux%u", path, iw, ih, w, h);
    stbi_image_free(img);
    return st;
}

asvk_status asvk_dataset_load_image_folder(const char *dir, uint32_t h, uint32_t w, uint32_t c, asvk_dataset **out) {
    *out = NULL;
    if (!h || !w || h > FOLDER_MAX_SIDE || w > FOLDER_MAX_SIDE || (c != 1 && c != 3))
        return asvk_error_set(ASVK_ERR_USAGE, "%s: image size %ux%ux%u: height and width must be 1..%u and "
                                              "channels 1 or 3", dir ? dir : "(null)", h, w, c, FOLDER_MAX_SIDE);
    struct stat s;
    if (!dir || stat(dir, &s) != 0) {
        /* A folder the user named that is not there is bad input (exit 2). */
        int e = dir ? errno : ENOENT;
        if (e != ENOENT && e != ENOTDIR) return asvk_error_set(ASVK_ERR_IO, "%s: cannot open: %s", dir, strerror(e));
        return asvk_error_set(ASVK_ERR_USAGE, "%s: no such folder; pass a folder with one sub-folder of images per "
                                              "class", dir ? dir : "(null)");
    }
    if (!S_ISDIR(s.st_mode))
        return asvk_error_set(ASVK_ERR_USAGE, "%s: not a folder; pass a folder with one sub-folder of images per "
                                              "class", dir);
    name_list classes, *files = NULL;
    asvk_status st = list_entries(dir, true, &classes);
    if (st) return st;
    asvk_dataset *d = NULL;
    char path[8192];
    if (!classes.n) {
        st = asvk_error_set(ASVK_ERR_USAGE, "%s: no class sub-folders; an image folder holds one sub-folder of "
                                            "images per class", dir);
        goto done;
    }
    if (!(files = calloc(classes.n, sizeof *files))) {
        st = asvk_error_set(ASVK_ERR_OOM, "out of host memory listing %s", dir);
        goto done;
    }
    uint64_t total = 0;
    for (uint32_t k = 0; k < classes.n; k++) {
        if ((st = join(path, sizeof path, dir, classes.v[k], NULL))) goto done;
        if ((st = list_entries(path, false, &files[k]))) goto done;
        if (!files[k].n) {
            st = asvk_error_set(ASVK_ERR_USAGE, "%s: a class folder with no images (PNG, JPEG, BMP, GIF, TGA, ...); "
                                                "add images or remove the folder", path);
            goto done;
        }
        total += files[k].n;
    }
    if (total > UINT32_MAX) {
        st = asvk_error_set(ASVK_ERR_USAGE, "%s: more than 2^32 images", dir);
        goto done;
    }
    if ((st = asvk_dataset_create((uint32_t)total, h, w, c, classes.n, dir, &d))) goto done;
    if ((st = asvk_dataset_set_class_names(d, (const char *const *)classes.v))) goto done;
    uint32_t i = 0;
    for (uint32_t k = 0; k < classes.n; k++)
        for (uint32_t j = 0; j < files[k].n; j++, i++) {
            if ((st = join(path, sizeof path, dir, classes.v[k], files[k].v[j]))) goto done;
            if ((st = load_image(path, h, w, c, asvk_dataset_image(d, i)))) goto done;
            d->labels[i] = (int32_t)k;
        }
done:
    if (files)
        for (uint32_t k = 0; k < classes.n; k++) names_free(&files[k]);
    free(files);
    names_free(&classes);
    if (st) {
        asvk_dataset_destroy(d);
        return st;
    }
    *out = d;
    return ASVK_OK;
}
