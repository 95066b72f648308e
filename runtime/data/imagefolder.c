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
 * past its arrays, and a scan decoding with a table no DHT defined (its
 * arrays uninitialised) makes stbi__jpeg_huff_decode index its symbols with
 * a negative number (both found by fuzzing under the sanitizers; stb 2.28
 * checks the id itself). A table stb builds never yields an id outside it
 * (its codes are canonical and it refuses overfull lengths), so defined
 * tables need no more than the symbol count. The checks below refuse such
 * files before stb reads them; anything else malformed is left to stb,
 * which rejects it safely. */

/* The byte at i, or 0 past the end, as stbi__get8 reads. */
static unsigned byte_at(const uint8_t *b, size_t n, size_t i) { return i < n ? b[i] : 0; }

/* Walks a DHT segment whose length field starts at p the way stb's
 * stbi__process_marker does (table by table while the length lasts, reading
 * zeros past the end); false when a table holds more than 256 symbols.
 * Marks the tables it defines (class DC 0 / AC 1, id) in `defined`. */
static bool dht_ok(const uint8_t *b, size_t n, size_t p, bool defined[2][4]) {
    long left = (long)(byte_at(b, n, p) << 8 | byte_at(b, n, p + 1)) - 2;
    for (size_t t = p + 2; left > 0 && t < n;) {
        unsigned symbols = 0, cls = byte_at(b, n, t) >> 4, id = byte_at(b, n, t) & 15;
        for (size_t i = 1; i <= 16; i++) symbols += byte_at(b, n, t + i);
        if (symbols > 256) return false;
        if (cls <= 1 && id <= 3) defined[cls][id] = true; /* stb refuses other classes and ids */
        t += 17 + symbols;
        left -= 17 + (long)symbols;
    }
    return true;
}

/* Where stb finds a JPEG's start-of-image marker ends: 0xff, any more 0xff
 * fill bytes, 0xd8 (stbi__get_marker), so "ff ff d8" starts a JPEG too (a
 * fuzzer found one that slipped past a check of the first two bytes); 0 when
 * stb does not read the file as a JPEG. */
static size_t jpeg_soi_end(const uint8_t *b, size_t n) {
    if (n < 2 || b[0] != 0xff) return 0;
    size_t i = 1;
    while (i < n && b[i] == 0xff) i++;
    return i < n && b[i] == 0xd8 ? i + 1 : 0;
}

/* Whether the scan whose header's length field starts at p decodes only with
 * Huffman tables a DHT defined before it: stb 2.27 decodes with an undefined
 * table's uninitialised arrays (an index of -13959387 found by fuzzing). A
 * sequential scan uses its components' DC and AC tables; a progressive one
 * its DC tables in a first DC pass (Ss = 0, Ah = 0), its AC tables in AC
 * passes (Ss > 0), as stb decodes them. */
static bool sos_ok(const uint8_t *b, size_t n, size_t p, const bool defined[2][4], bool progressive) {
    unsigned ns = byte_at(b, n, p + 2);
    size_t spec = p + 3 + 2 * (size_t)ns; /* Ss, Se, Ah/Al after the components */
    unsigned ss = byte_at(b, n, spec), ah = byte_at(b, n, spec + 2) >> 4;
    bool dc = !progressive || (ss == 0 && ah == 0), ac = !progressive || ss > 0;
    for (unsigned i = 0; i < ns && i < 4; i++) {
        unsigned t = byte_at(b, n, p + 4 + 2 * (size_t)i), td = t >> 4, ta = t & 15;
        if ((dc && td <= 3 && !defined[0][td]) || (ac && ta <= 3 && !defined[1][ta])) return false;
    }
    return true;
}

static bool jpeg_tables_ok(const uint8_t *b, size_t n, size_t pos /* after SOI */) {
    /* Up to the first scan, follow stb's header walk: markers after 0xff
     * fill bytes, padding skipped before the frame header, and each segment
     * stb accepts is exactly its length long. */
    bool framed = false, progressive = false, defined[2][4] = {{false}};
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
        if (m == 0xc4 && !dht_ok(b, n, pos, defined)) return false;
        if (m >= 0xc0 && m <= 0xc2) framed = true, progressive = m == 0xc2;
        size_t len = byte_at(b, n, pos) << 8 | byte_at(b, n, pos + 1);
        if (len < 2) return true;
        pos += len;
    }
    if (!sos_ok(b, n, pos, defined, progressive)) return false;
    /* From the first scan on, where stb resumes depends on decoding, so
     * check every place it could take for a DHT or scan marker, in order:
     * entropy-coded data never holds 0xff 0xc4 or 0xff 0xda (a data 0xff is
     * stuffed as 0xff 0x00). */
    for (size_t i = pos; i + 1 < n; i++) {
        if (b[i] != 0xff) continue;
        if (b[i + 1] == 0xc4 && !dht_ok(b, n, i + 2, defined)) return false;
        if (b[i + 1] == 0xda && !sos_ok(b, n, i + 2, defined, progressive)) return false;
    }
    return true;
}

/* Corrupt or odd headers that make stb_image 2.27 itself do undefined or
 * ruinous things (found by tests/fuzz) are dealt with before it reads a file:
 *   - a PNM (P5, P6) header number of 10 or more digits overflows the int it
 *     is read into: refused (no size or maximum value has that many);
 *   - a PNG whose first IDAT chunk is empty makes it offset a null pointer:
 *     leading empty IDAT chunks are dropped, which changes no pixel (one
 *     whose CRC the file cuts short too: the file then ends before it);
 *   - a PNG IDAT chunk of over a megabyte that runs past the end of the
 *     file: stb grew its buffer to the declared length (gigabytes) before
 *     finding the data missing; refused, as stb would refuse the file anyway
 *     (a truncated file's short IDAT is left to stb's own message). */
#define PNG_SHORT_IDAT (1u << 20)
/* Past whitespace and '#' comments from i, as stbi__pnm_skip_whitespace does. */
static size_t pnm_skip(const uint8_t *b, size_t n, size_t i) {
    for (;;) {
        while (i < n && b[i] && strchr(" \t\n\v\f\r", b[i])) i++;
        if (i >= n || b[i] != '#') return i;
        while (i < n && b[i] != '\n' && b[i] != '\r') i++;
    }
}

static bool pnm_numbers_ok(const uint8_t *b, size_t n) {
    if (n < 2 || b[0] != 'P' || (b[1] != '5' && b[1] != '6')) return true;
    size_t i = 2;
    for (int k = 0; k < 3; k++) { /* width, height, maximum value, as stbi__pnm_info reads them */
        i = pnm_skip(b, n, i);
        size_t digits = 0;
        for (; i < n && b[i] >= '0' && b[i] <= '9'; i++) digits++;
        if (digits > 9) return false;
    }
    return true;
}

/* Binary PNM (P5 gray, P6 RGB) is decoded here, not by stb 2.27, which
 * reads 16-bit samples in the host's byte order instead of Netpbm's
 * big-endian one and never scales by the maximum value: a 16-bit or a
 * maxval-15 image loaded as silent garbage. Samples become 8-bit as
 * round(v * 255 / maxval) (a sample above maxval counts as maxval). Returns
 * false for other formats; true with *img (malloc'd, w x h x channels) or
 * *why (a corrupt or truncated file). */
static bool pnm_decode(const uint8_t *b, size_t n, uint8_t **img, int *w, int *h, int *channels, const char **why) {
    *img = NULL, *why = NULL;
    if (n < 2 || b[0] != 'P' || (b[1] != '5' && b[1] != '6')) return false;
    uint32_t v[3] = {0};
    size_t i = 2;
    for (int k = 0; k < 3; k++) {
        i = pnm_skip(b, n, i);
        size_t digits = 0;
        for (; i < n && b[i] >= '0' && b[i] <= '9' && digits < 9; i++, digits++) v[k] = v[k] * 10 + (b[i] - '0');
        if (!digits || (i < n && b[i] >= '0' && b[i] <= '9')) {
            *why = "corrupt PNM header: no pixels (a width, height and maximum value of 1 to 9 digits each are "
                   "expected)";
            return true;
        }
    }
    if (i >= n || !strchr(" \t\n\v\f\r", b[i])) {
        *why = "corrupt PNM header: no whitespace after the maximum value";
        return true;
    }
    i++; /* the raster follows one whitespace character */
    int c = b[1] == '5' ? 1 : 3, bytes = v[2] > 255 ? 2 : 1;
    if (!v[0] || !v[1]) {
        *why = "corrupt PNM header: no pixels (a width or height of 0)";
        return true;
    }
    if (!v[2] || v[2] > 65535) {
        *why = "corrupt PNM header: the maximum value must be 1 to 65535";
        return true;
    }
    uint64_t samples = (uint64_t)v[0] * v[1] * c;
    if (samples * bytes > n - i) {
        *why = "truncated PNM: fewer samples than its header declares";
        return true;
    }
    uint8_t *out = malloc(samples);
    if (!out) {
        *why = "out of host memory";
        return true;
    }
    const uint8_t *s = b + i;
    for (uint64_t k = 0; k < samples; k++, s += bytes) {
        uint32_t x = bytes == 2 ? (uint32_t)s[0] << 8 | s[1] : s[0];
        if (x > v[2]) x = v[2];
        out[k] = (uint8_t)((x * 255u + v[2] / 2) / v[2]);
    }
    *img = out, *w = (int)v[0], *h = (int)v[1], *channels = c;
    return true;
}

static bool png_prepare(uint8_t *b, size_t *size) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    size_t n = *size;
    if (n < 8 || memcmp(b, sig, 8) != 0) return true;
    bool data = false; /* a non-empty IDAT seen */
    for (size_t p = 8; p + 8 <= n;) {
        uint32_t len = (uint32_t)b[p] << 24 | (uint32_t)b[p + 1] << 16 | (uint32_t)b[p + 2] << 8 | b[p + 3];
        if (memcmp(b + p + 4, "IEND", 4) == 0) break;
        if (len > n - p - 8 || n - p - 8 - len < 4) { /* past the end: stb fails too, a short one cheaply */
            if (!data && !len && memcmp(b + p + 4, "IDAT", 4) == 0) n = p; /* an empty first IDAT cut short: dropped too */
            *size = n;
            return memcmp(b + p + 4, "IDAT", 4) != 0 || len <= PNG_SHORT_IDAT;
        }
        if (!data && !len && memcmp(b + p + 4, "IDAT", 4) == 0) {
            memmove(b + p, b + p + 12, n - p - 12); /* length, type, CRC: the chunk is gone */
            n -= 12;
            continue;
        }
        data |= len && memcmp(b + p + 4, "IDAT", 4) == 0;
        p += 12 + (size_t)len;
    }
    *size = n;
    return true;
}

/* Images larger than this are not training data; refusing them before
 * reading bounds the memory a stray file costs. */
#define FOLDER_MAX_FILE_BYTES (256u << 20)

/* stb_image sizes its buffers from the header alone, so a few corrupt bytes
 * could declare a 16384 x 16384 canvas: an 18-byte GIF cost a gigabyte and
 * seconds of filling (found by tests/fuzz). No format stb reads packs more
 * pixels than this into one byte of file (deflate stops near 1032:1, LZW's
 * 12-bit codes near 2600:1), so a header that declares more is corrupt. */
/* The channel count of a Photoshop file (stb_image's PSD decoder: "8BPS",
 * then the channels at byte 12, big-endian), 0 for any other file. stb 2.27
 * "removes the white matte" of a PSD with 4 or more channels by converting
 * c / alpha + 255 (1 - 1 / alpha) to a byte, which is below 0 for any dark,
 * semi-transparent pixel: undefined behaviour in C (a float out of range of
 * its integer type; found by tests/fuzz, corpus image/psd-alpha-matte), not
 * only in corrupt files. Such files are refused before stb reads them. */
static unsigned psd_channels(const uint8_t *b, size_t n) {
    if (n < 14 || memcmp(b, "8BPS", 4) != 0) return 0;
    return (unsigned)b[12] << 8 | b[13];
}

#define FOLDER_MAX_PIXELS_PER_BYTE 4096u

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

/* stb_image's conversion of 8-bit pixels from n channels (gray, gray + alpha,
 * RGB, RGBA) to c (1: its luma weights, 3: gray replicated; alpha dropped). */
static void to_channels(const uint8_t *src, uint32_t n, uint8_t *dst, uint32_t c, size_t pixels) {
    for (size_t i = 0; i < pixels; i++, src += n, dst += c) {
        if (c == 1) dst[0] = n >= 3 ? (uint8_t)((src[0] * 77 + src[1] * 150 + src[2] * 29) >> 8) : src[0];
        else if (n >= 3) dst[0] = src[0], dst[1] = src[1], dst[2] = src[2];
        else dst[0] = dst[1] = dst[2] = src[0];
    }
}

/* Decodes one image into dst (h x w x c) or fails naming the file. */
static asvk_status load_image(const char *path, uint32_t h, uint32_t w, uint32_t c, uint8_t *dst) {
    uint8_t *file;
    size_t size;
    asvk_status st = read_file(path, &file, &size);
    if (st) return st;
    if (size > INT32_MAX) size = INT32_MAX; /* unreachable under FOLDER_MAX_FILE_BYTES; stb takes an int */
    size_t soi = jpeg_soi_end(file, size);
    if (soi && !jpeg_tables_ok(file, size, soi)) {
        free(file);
        return asvk_error_set(ASVK_ERR_USAGE, "%s: cannot read the image (corrupt JPEG: a Huffman table with more "
                                              "than 256 symbols, or a scan using a table no DHT defined); remove or replace the file", path);
    }
    if (!pnm_numbers_ok(file, size)) {
        free(file);
        return asvk_error_set(ASVK_ERR_USAGE, "%s: cannot read the image (corrupt PNM: a header number of 10 or more "
                                              "digits); remove or replace the file", path);
    }
    unsigned psd = psd_channels(file, size);
    if (psd >= 4) {
        free(file);
        return asvk_error_set(ASVK_ERR_USAGE, "%s: cannot read the image (a Photoshop file of %u channels: stb_image "
                                              "2.27 cannot remove its alpha matte safely); save it as PNG", path, psd);
    }
    if (!png_prepare(file, &size)) {
        free(file);
        return asvk_error_set(ASVK_ERR_USAGE, "%s: cannot read the image (corrupt PNG: an IDAT chunk declares more than "
                                              "the file holds); remove or replace the file", path);
    }
    int iw, ih, ic;
    if (stbi_info_from_memory(file, (int)size, &iw, &ih, &ic) && iw > 0 && ih > 0 &&
        (uint64_t)iw * (uint64_t)ih > (uint64_t)size * FOLDER_MAX_PIXELS_PER_BYTE) {
        free(file);
        return asvk_error_set(ASVK_ERR_USAGE, "%s: cannot read the image (corrupt: its header declares %dx%d pixels, "
                                              "more than %zu bytes can hold); remove or replace the file", path, iw, ih,
                              size);
    }
    /* A 16-bit image is decoded in its own channels and converted here: stb
     * 2.27 converts a 16-bit PNM's samples to other channels as if they were
     * 8-bit, then narrows twice the bytes it has (a heap over-read found by
     * tests/fuzz). 8-bit images keep stb's conversion; binary PNM is
     * pnm_decode's. */
    const char *pnm_why;
    unsigned char *img;
    bool pnm = pnm_decode(file, size, &img, &iw, &ih, &ic, &pnm_why);
    int want = pnm || stbi_is_16_bit_from_memory(file, (int)size) ? 0 : (int)c;
    if (!pnm) img = stbi_load_from_memory(file, (int)size, &iw, &ih, &ic, want);
    free(file);
    if (!img) {
        const char *why = pnm ? pnm_why : stbi_failure_reason();
        return asvk_error_set(ASVK_ERR_USAGE, "%s: cannot read the image (%s); remove or replace the file", path,
                              why ? why : "unknown format");
    }
    if (iw <= 0 || ih <= 0) { /* stb 2.27 decodes PNM and HDR headers with a zero side (found by tests/fuzz) */
        stbi_image_free(img);
        return asvk_error_set(ASVK_ERR_USAGE, "%s: cannot read the image (its header says %dx%d: no pixels); remove or "
                                              "replace the file", path, iw, ih);
    }
    if (!want && (uint32_t)ic != c) {
        uint8_t *conv = ic >= 1 && ic <= 4 ? malloc((size_t)iw * ih * c) : NULL;
        if (!conv) {
            stbi_image_free(img);
            return asvk_error_set(ic >= 1 && ic <= 4 ? ASVK_ERR_OOM : ASVK_ERR_USAGE,
                                  "%s: cannot convert a %dx%d image of %d channels to %u", path, iw, ih, ic, c);
        }
        to_channels(img, (uint32_t)ic, conv, c, (size_t)iw * ih);
        stbi_image_free(img);
        img = conv; /* stbi_image_free is free() */
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
