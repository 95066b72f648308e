/* The data pipeline (host only, no Vulkan context): dataset formats and their
 * errors on generated files, the installed Fashion-MNIST, seeded shuffles,
 * splits, augmentation, batch normalization and the loader thread. */
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zlib.h>

#include <stb/stb_image_write.h>

#include "runtime/data/augment.h"
#include "runtime/data/batch.h"
#include "runtime/data/dataset.h"
#include "runtime/data/loader.h"
#include "runtime/data/shuffle.h"
#include "runtime/data/split.h"
#include "tests/data/jpeg_fixtures.h"
#include "tests/harness.h"

/* ---- fixtures in a temporary folder ---- */

static int rm_entry(const char *path, const struct stat *s, int flag, struct FTW *f) {
    (void)s, (void)flag, (void)f;
    return remove(path);
}

/* A fresh folder under $TMPDIR (or /tmp); *dir holds its path. */
static bool temp_dir(char *dir, size_t size) {
    const char *t = getenv("TMPDIR");
    snprintf(dir, size, "%s/asvk-data-XXXXXX", t && *t ? t : "/tmp");
    return mkdtemp(dir) != NULL;
}

static void temp_dir_remove(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* dir/name in p (700 bytes), for use inside an expression. */
static const char *at(char *p, const char *dir, const char *name) {
    snprintf(p, 700, "%s/%s", dir, name);
    return p;
}

static bool write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    bool ok = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

/* An image folder in a new temporary dir: one class holding one file, `name`. */
static bool one_image_folder(char *dir, size_t size, const char *name, const void *data, size_t n) {
    char p[700];
    if (!temp_dir(dir, size)) return false;
    snprintf(p, sizeof p, "%s/class", dir), mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/class/%s", dir, name);
    return write_file(p, data, n);
}

static bool write_gz(const char *path, const void *data, size_t n) {
    gzFile f = gzopen(path, "wb6");
    if (!f) return false;
    bool ok = n == 0 || gzwrite(f, data, (unsigned)n) == (int)n;
    return gzclose(f) == Z_OK && ok;
}

static uint8_t *read_whole(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*n ? *n : 1);
    if (b && fread(b, 1, *n, f) != *n) free(b), b = NULL;
    fclose(f);
    return b;
}

static void put_be32(uint8_t *p, uint32_t v) { p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v; }

/* An IDX file in memory: magic, dims, payload. */
static uint8_t *idx_bytes(uint32_t magic, const uint32_t *dims, uint32_t ndim, const uint8_t *payload,
                          size_t payload_n, size_t *n) {
    *n = 4 + 4 * ndim + payload_n;
    uint8_t *b = malloc(*n);
    put_be32(b, magic);
    for (uint32_t i = 0; i < ndim; i++) put_be32(b + 4 + 4 * i, dims[i]);
    memcpy(b + 4 + 4 * ndim, payload, payload_n);
    return b;
}

/* Fails the test unless `st` is `want` and the message names `needle`. */
#define EXPECT_FAIL(st_expr, want, needle)                                                                         \
    do {                                                                                                           \
        asvk_status st_ = (st_expr);                                                                               \
        CHECK(st_ == (want) && strstr(asvk_error_message(), (needle)), "%s: got %s (%s), want %s naming %s",       \
              #st_expr, asvk_status_name(st_), asvk_error_message(), asvk_status_name(want), (needle));            \
    } while (0)

static void fill_random(uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)test_rand_u32();
}

/* ---- IDX ---- */

static void idx_round_trip(void) {
    char dir[512], im_raw[600], im_gz[600], lb_raw[600], lb_gz[600], im4[600], cat_gz[600];
    CHECK(temp_dir(dir, sizeof dir), "mkdtemp: %s", strerror(errno));
    enum { N = 7, H = 5, W = 4 };
    uint8_t px[N * H * W], lab[N], px3[N * H * W * 3];
    fill_random(px, sizeof px);
    fill_random(px3, sizeof px3);
    for (int i = 0; i < N; i++) lab[i] = (uint8_t)(i * 3 % 5);
    size_t ni, nl, n4;
    uint8_t *bi = idx_bytes(0x803, (uint32_t[]){N, H, W}, 3, px, sizeof px, &ni);
    uint8_t *bl = idx_bytes(0x801, (uint32_t[]){N}, 1, lab, sizeof lab, &nl);
    uint8_t *b4 = idx_bytes(0x804, (uint32_t[]){N, H, W, 3}, 4, px3, sizeof px3, &n4);
    snprintf(im_raw, sizeof im_raw, "%s/images-idx3-ubyte", dir);
    snprintf(im_gz, sizeof im_gz, "%s/images-idx3-ubyte.gz", dir);
    snprintf(lb_raw, sizeof lb_raw, "%s/labels-idx1-ubyte", dir);
    snprintf(lb_gz, sizeof lb_gz, "%s/labels-idx1-ubyte.gz", dir);
    snprintf(im4, sizeof im4, "%s/rgb-idx4-ubyte.gz", dir);
    snprintf(cat_gz, sizeof cat_gz, "%s/two-members.gz", dir);
    CHECK(write_file(im_raw, bi, ni) && write_gz(im_gz, bi, ni) && write_file(lb_raw, bl, nl) &&
              write_gz(lb_gz, bl, nl) && write_gz(im4, b4, n4),
          "writing fixtures in %s", dir);
    /* `cat a.gz b.gz`: two gzip members, one stream of bytes. */
    {
        char half[600];
        snprintf(half, sizeof half, "%s/half.gz", dir);
        size_t cut = ni / 2, na, nb;
        write_gz(half, bi, cut);
        uint8_t *a = read_whole(half, &na);
        write_gz(half, bi + cut, ni - cut);
        uint8_t *b = read_whole(half, &nb);
        uint8_t *both = malloc(na + nb);
        memcpy(both, a, na), memcpy(both + na, b, nb);
        write_file(cat_gz, both, na + nb);
        free(a), free(b), free(both);
    }
    const char *images[] = {im_raw, im_gz, cat_gz}, *labels[] = {lb_gz, lb_raw, lb_gz};
    for (int k = 0; k < 3; k++) {
        asvk_dataset *d;
        OK(asvk_dataset_load_idx(images[k], labels[k], &d));
        CHECK(d->n == N && d->h == H && d->w == W && d->c == 1 && d->classes == 5, "%s: %u of %ux%ux%u, %u classes",
              images[k], d->n, d->h, d->w, d->c, d->classes);
        CHECK(memcmp(d->pixels, px, sizeof px) == 0, "%s: pixels differ", images[k]);
        for (int i = 0; i < N; i++) CHECK(d->labels[i] == lab[i], "%s: label %d: %d", images[k], i, d->labels[i]);
        CHECK(d->class_names == NULL && strcmp(d->source, images[k]) == 0, "names or source (%s)", d->source);
        asvk_dataset_destroy(d);
    }
    asvk_dataset *d;
    OK(asvk_dataset_load_idx(im4, lb_raw, &d));
    CHECK(d->c == 3 && memcmp(d->pixels, px3, sizeof px3) == 0, "4-D IDX: c %u or pixels differ", d->c);
    asvk_dataset_destroy(d);
    free(bi), free(bl), free(b4);
    temp_dir_remove(dir);
}

static void idx_errors(void) {
    char dir[512], im[600], lb[600], p[600];
    CHECK(temp_dir(dir, sizeof dir), "mkdtemp: %s", strerror(errno));
    enum { N = 6, H = 3, W = 3 };
    uint8_t px[N * H * W], lab[N] = {0, 1, 2, 0, 1, 2};
    fill_random(px, sizeof px);
    size_t ni, nl;
    uint8_t *bi = idx_bytes(0x803, (uint32_t[]){N, H, W}, 3, px, sizeof px, &ni);
    uint8_t *bl = idx_bytes(0x801, (uint32_t[]){N}, 1, lab, sizeof lab, &nl);
    snprintf(im, sizeof im, "%s/ok-images.gz", dir);
    snprintf(lb, sizeof lb, "%s/ok-labels", dir);
    write_gz(im, bi, ni), write_file(lb, bl, nl);
    asvk_dataset *d = (asvk_dataset *)1;

    /* A missing file the caller named is bad input (exit 2), not an I/O
     * failure; so is a path through a file. */
    snprintf(p, sizeof p, "%s/missing-images.gz", dir);
    EXPECT_FAIL(asvk_dataset_load_idx(p, lb, &d), ASVK_ERR_USAGE, p);
    CHECK(d == NULL, "out not cleared on failure");
    snprintf(p, sizeof p, "%s/missing-labels", dir);
    EXPECT_FAIL(asvk_dataset_load_idx(im, p, &d), ASVK_ERR_USAGE, p);
    char through[700];
    snprintf(through, sizeof through, "%s/labels", lb);
    EXPECT_FAIL(asvk_dataset_load_idx(im, through, &d), ASVK_ERR_USAGE, through);

    /* Wrong magic: a labels file given as images, and vice versa. */
    EXPECT_FAIL(asvk_dataset_load_idx(lb, im, &d), ASVK_ERR_USAGE, "wrong magic");
    EXPECT_FAIL(asvk_dataset_load_idx(lb, im, &d), ASVK_ERR_USAGE, lb);
    EXPECT_FAIL(asvk_dataset_load_idx(im, im, &d), ASVK_ERR_USAGE, "wrong magic");
    uint8_t *bad = malloc(ni);
    memcpy(bad, bi, ni);
    put_be32(bad, 0x08031111);
    snprintf(p, sizeof p, "%s/bad-magic", dir);
    write_file(p, bad, ni);
    EXPECT_FAIL(asvk_dataset_load_idx(p, lb, &d), ASVK_ERR_USAGE, p);

    /* Truncated images, raw and gzip (the compressed stream cut). */
    snprintf(p, sizeof p, "%s/short-images", dir);
    write_file(p, bi, ni - 5);
    EXPECT_FAIL(asvk_dataset_load_idx(p, lb, &d), ASVK_ERR_USAGE, p);
    EXPECT_FAIL(asvk_dataset_load_idx(p, lb, &d), ASVK_ERR_USAGE, "truncated");
    snprintf(p, sizeof p, "%s/short-images.gz", dir);
    write_gz(p, bi, ni - 5);
    EXPECT_FAIL(asvk_dataset_load_idx(p, lb, &d), ASVK_ERR_USAGE, "truncated");
    size_t nz;
    uint8_t *z = read_whole(im, &nz);
    snprintf(p, sizeof p, "%s/cut-stream.gz", dir);
    for (size_t cut = 1; cut < nz; cut += (cut < 24 ? 1 : 7)) {
        write_file(p, z, nz - cut);
        asvk_status st = asvk_dataset_load_idx(p, lb, &d);
        CHECK(st == ASVK_ERR_USAGE && strstr(asvk_error_message(), p), "cut %zu of %zu: %s (%s)", cut, nz,
              asvk_status_name(st), asvk_error_message());
    }
    snprintf(p, sizeof p, "%s/header-only", dir);
    write_file(p, bi, 10);
    EXPECT_FAIL(asvk_dataset_load_idx(p, lb, &d), ASVK_ERR_USAGE, "truncated");
    write_file(p, bi, 2);
    EXPECT_FAIL(asvk_dataset_load_idx(p, lb, &d), ASVK_ERR_USAGE, "truncated");
    write_file(p, bi, 0);
    EXPECT_FAIL(asvk_dataset_load_idx(p, lb, &d), ASVK_ERR_USAGE, p);

    /* Corrupt compressed data: a flipped byte fails inflate or the CRC. */
    uint8_t *zc = malloc(nz);
    memcpy(zc, z, nz);
    zc[nz / 2] ^= 0x55;
    snprintf(p, sizeof p, "%s/flipped.gz", dir);
    write_file(p, zc, nz);
    EXPECT_FAIL(asvk_dataset_load_idx(p, lb, &d), ASVK_ERR_USAGE, "corrupt gzip");

    /* Not gzip at all, but named .gz. */
    snprintf(p, sizeof p, "%s/garbage.gz", dir);
    write_file(p, "this is not gzip data at all", 28);
    EXPECT_FAIL(asvk_dataset_load_idx(p, lb, &d), ASVK_ERR_USAGE, p);
    EXPECT_FAIL(asvk_dataset_load_idx(p, lb, &d), ASVK_ERR_USAGE, "not gzip");

    /* Label count mismatch; the message names both files. */
    size_t nl2;
    uint8_t *bl2 = idx_bytes(0x801, (uint32_t[]){N - 1}, 1, lab, N - 1, &nl2);
    snprintf(p, sizeof p, "%s/five-labels.gz", dir);
    write_gz(p, bl2, nl2);
    EXPECT_FAIL(asvk_dataset_load_idx(im, p, &d), ASVK_ERR_USAGE, p);
    EXPECT_FAIL(asvk_dataset_load_idx(im, p, &d), ASVK_ERR_USAGE, im);

    /* Bad dimensions, more data than declared, a non-byte type, 2 channels. */
    size_t nb;
    uint8_t *b0 = idx_bytes(0x803, (uint32_t[]){N, 0, W}, 3, px, sizeof px, &nb);
    snprintf(p, sizeof p, "%s/zero-height", dir);
    write_file(p, b0, nb);
    EXPECT_FAIL(asvk_dataset_load_idx(p, lb, &d), ASVK_ERR_USAGE, "bad dimension");
    free(b0);
    b0 = idx_bytes(0x803, (uint32_t[]){N, 1u << 20, W}, 3, px, sizeof px, &nb);
    write_file(p, b0, nb);
    EXPECT_FAIL(asvk_dataset_load_idx(p, lb, &d), ASVK_ERR_USAGE, p);
    free(b0);
    b0 = idx_bytes(0x803, (uint32_t[]){0xffffffffu, 65535, 65535}, 3, px, sizeof px, &nb);
    write_file(p, b0, nb);
    EXPECT_FAIL(asvk_dataset_load_idx(p, lb, &d), ASVK_ERR_USAGE, p);
    free(b0);
    b0 = idx_bytes(0x803, (uint32_t[]){N - 1, H, W}, 3, px, sizeof px, &nb);
    snprintf(p, sizeof p, "%s/extra-data", dir);
    write_file(p, b0, nb);
    EXPECT_FAIL(asvk_dataset_load_idx(p, lb, &d), ASVK_ERR_USAGE, "more data");
    free(b0);
    b0 = idx_bytes(0x0d03, (uint32_t[]){N, H, W}, 3, px, sizeof px, &nb);
    snprintf(p, sizeof p, "%s/floats", dir);
    write_file(p, b0, nb);
    EXPECT_FAIL(asvk_dataset_load_idx(p, lb, &d), ASVK_ERR_USAGE, "data type");
    free(b0);
    b0 = idx_bytes(0x804, (uint32_t[]){1, H, W, 2}, 4, px, H * W * 2, &nb);
    snprintf(p, sizeof p, "%s/two-channels", dir);
    write_file(p, b0, nb);
    EXPECT_FAIL(asvk_dataset_load_idx(p, lb, &d), ASVK_ERR_USAGE, "channels");
    free(b0);

    /* Fashion-MNIST: a missing folder, and a folder without the files. */
    snprintf(p, sizeof p, "%s/no-such-folder", dir);
    EXPECT_FAIL(asvk_dataset_load_fashion_mnist(p, ASVK_DATASET_TRAIN, &d), ASVK_ERR_USAGE, p);
    EXPECT_FAIL(asvk_dataset_load_fashion_mnist(lb, ASVK_DATASET_TRAIN, &d), ASVK_ERR_USAGE, lb);
    EXPECT_FAIL(asvk_dataset_load_fashion_mnist(dir, ASVK_DATASET_TEST, &d), ASVK_ERR_USAGE, "t10k-images-idx3-ubyte");
    EXPECT_FAIL(asvk_dataset_load_fashion_mnist(dir, ASVK_DATASET_TEST, &d), ASVK_ERR_USAGE, "dataset-fashion-mnist");
    free(bi), free(bl), free(bl2), free(bad), free(z), free(zc);
    temp_dir_remove(dir);
}

/* A label above 9 in a Fashion-MNIST folder: the loader once reported the
 * class count after freeing the dataset (a heap use-after-free under ASan).
 * Byte 8 of the labels file, the first label, is set to 255 as in the report;
 * a label of exactly 10 is the smallest one refused, 9 the largest kept. */
static void fashion_mnist_bad_labels(void) {
    char dir[512], im[600], lb[600];
    CHECK(temp_dir(dir, sizeof dir), "mkdtemp: %s", strerror(errno));
    enum { N = 4, H = 3, W = 3 };
    uint8_t px[N * H * W], lab[N] = {0, 1, 2, 3};
    fill_random(px, sizeof px);
    size_t ni, nl;
    uint8_t *bi = idx_bytes(0x803, (uint32_t[]){N, H, W}, 3, px, sizeof px, &ni);
    uint8_t *bl = idx_bytes(0x801, (uint32_t[]){N}, 1, lab, sizeof lab, &nl);
    snprintf(im, sizeof im, "%s/train-images-idx3-ubyte.gz", dir);
    snprintf(lb, sizeof lb, "%s/train-labels-idx1-ubyte.gz", dir);
    CHECK(write_gz(im, bi, ni), "writing %s", im);
    asvk_dataset *d = (asvk_dataset *)1;
    const uint8_t bad[] = {255, 10};
    const char *want[] = {"labels up to 255", "labels up to 10"};
    for (int k = 0; k < 2; k++) {
        bl[8] = bad[k];
        CHECK(write_gz(lb, bl, nl), "writing %s", lb);
        EXPECT_FAIL(asvk_dataset_load_fashion_mnist(dir, ASVK_DATASET_TRAIN, &d), ASVK_ERR_USAGE, lb);
        CHECK(strstr(asvk_error_message(), want[k]), "label %u: '%s' lacks '%s'", bad[k], asvk_error_message(), want[k]);
        CHECK(d == NULL, "out not cleared on failure");
    }
    bl[8] = 9;
    CHECK(write_gz(lb, bl, nl), "writing %s", lb);
    OK(asvk_dataset_load_fashion_mnist(dir, ASVK_DATASET_TRAIN, &d));
    CHECK(d->classes == 10 && d->labels[0] == 9 && d->class_names, "label 9: %u classes", d->classes);
    asvk_dataset_destroy(d);
    free(bi), free(bl);
    temp_dir_remove(dir);
}

/* ---- CIFAR-10 ---- */

/* Record r of a generated batch file: label r % 10, pixel (y, x, ch) = r + 7y + 3x + 50ch. */
static uint8_t cifar_px(uint32_t r, uint32_t y, uint32_t x, uint32_t ch) { return (uint8_t)(r + 7 * y + 3 * x + 50 * ch); }

static uint8_t *cifar_file(uint32_t first, uint32_t records, size_t *n) {
    *n = (size_t)records * 3073;
    uint8_t *b = malloc(*n);
    for (uint32_t r = 0; r < records; r++) {
        uint8_t *rec = b + (size_t)r * 3073;
        rec[0] = (first + r) % 10;
        for (uint32_t ch = 0; ch < 3; ch++)
            for (uint32_t y = 0; y < 32; y++)
                for (uint32_t x = 0; x < 32; x++) rec[1 + ch * 1024 + y * 32 + x] = cifar_px(first + r, y, x, ch);
    }
    return b;
}

static void cifar10(void) {
    char dir[512], p[600];
    CHECK(temp_dir(dir, sizeof dir), "mkdtemp: %s", strerror(errno));
    size_t n1, n2, nt;
    uint8_t *b1 = cifar_file(0, 3, &n1), *b2 = cifar_file(3, 2, &n2), *bt = cifar_file(100, 4, &nt);
    snprintf(p, sizeof p, "%s/data_batch_1.bin", dir), write_file(p, b1, n1);
    snprintf(p, sizeof p, "%s/data_batch_2.bin", dir), write_file(p, b2, n2);
    snprintf(p, sizeof p, "%s/test_batch.bin", dir), write_file(p, bt, nt);
    const char meta[] = "plane\ncar\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";
    snprintf(p, sizeof p, "%s/batches.meta.txt", dir), write_file(p, meta, sizeof meta - 1);
    asvk_dataset *d;
    OK(asvk_dataset_load_cifar10(dir, ASVK_DATASET_TRAIN, &d));
    CHECK(d->n == 5 && d->h == 32 && d->w == 32 && d->c == 3 && d->classes == 10, "train: %u of %ux%ux%u", d->n,
          d->h, d->w, d->c);
    int bad = 0;
    for (uint32_t i = 0; i < d->n; i++) {
        CHECK(d->labels[i] == (int32_t)(i % 10), "label %u: %d", i, d->labels[i]);
        const uint8_t *im = asvk_dataset_image(d, i);
        for (uint32_t y = 0; y < 32; y++)
            for (uint32_t x = 0; x < 32; x++)
                for (uint32_t ch = 0; ch < 3; ch++)
                    if (im[(y * 32 + x) * 3 + ch] != cifar_px(i, y, x, ch) && bad++ < 3)
                        CHECK(0, "image %u (%u,%u,%u): %u", i, y, x, ch, im[(y * 32 + x) * 3 + ch]);
    }
    CHECK(d->class_names && strcmp(d->class_names[0], "plane") == 0 && strcmp(d->class_names[9], "truck") == 0,
          "names from batches.meta.txt");
    asvk_dataset_destroy(d);
    OK(asvk_dataset_load_cifar10(dir, ASVK_DATASET_TEST, &d));
    CHECK(d->n == 4 && d->labels[0] == 0 && asvk_dataset_image(d, 3)[5 * 3 + 1] == cifar_px(103, 0, 5, 1),
          "test batch: %u records", d->n);
    asvk_dataset_destroy(d);

    /* A truncated record; a label past 9; a gap in the batch files; none. */
    snprintf(p, sizeof p, "%s/data_batch_2.bin", dir), write_file(p, b2, n2 - 100);
    EXPECT_FAIL(asvk_dataset_load_cifar10(dir, ASVK_DATASET_TRAIN, &d), ASVK_ERR_USAGE, p);
    EXPECT_FAIL(asvk_dataset_load_cifar10(dir, ASVK_DATASET_TRAIN, &d), ASVK_ERR_USAGE, "truncated");
    b2[3073] = 10;
    write_file(p, b2, n2);
    EXPECT_FAIL(asvk_dataset_load_cifar10(dir, ASVK_DATASET_TRAIN, &d), ASVK_ERR_USAGE, "label 10");
    remove(p);
    snprintf(p, sizeof p, "%s/data_batch_3.bin", dir), write_file(p, b1, n1);
    EXPECT_FAIL(asvk_dataset_load_cifar10(dir, ASVK_DATASET_TRAIN, &d), ASVK_ERR_USAGE, "data_batch_2.bin");
    snprintf(p, sizeof p, "%s/test_batch.bin", dir), write_file(p, bt, 0);
    EXPECT_FAIL(asvk_dataset_load_cifar10(dir, ASVK_DATASET_TEST, &d), ASVK_ERR_USAGE, p);
    temp_dir_remove(dir);
    CHECK(temp_dir(dir, sizeof dir), "mkdtemp");
    EXPECT_FAIL(asvk_dataset_load_cifar10(dir, ASVK_DATASET_TRAIN, &d), ASVK_ERR_USAGE, "data_batch_1.bin");
    EXPECT_FAIL(asvk_dataset_load_cifar10(dir, ASVK_DATASET_TEST, &d), ASVK_ERR_USAGE, "test_batch.bin");
    snprintf(p, sizeof p, "%s/nothing-here", dir);
    EXPECT_FAIL(asvk_dataset_load_cifar10(p, ASVK_DATASET_TRAIN, &d), ASVK_ERR_USAGE, p);
    temp_dir_remove(dir);
    free(b1), free(b2), free(bt);
}

/* ---- image folders ---- */

static void image_folder(void) {
    char dir[512], p[700];
    CHECK(temp_dir(dir, sizeof dir), "mkdtemp: %s", strerror(errno));
    const char *classes[] = {"zebra", "cat", "dog"}; /* created unsorted */
    for (int k = 0; k < 3; k++) snprintf(p, sizeof p, "%s/%s", dir, classes[k]), mkdir(p, 0755);
    uint8_t rgb[20 * 12 * 3];
    fill_random(rgb, sizeof rgb);
    uint8_t flat[5 * 7 * 3], flat_gray[6 * 6];
    for (int i = 0; i < 5 * 7; i++) flat[3 * i] = 200, flat[3 * i + 1] = 100, flat[3 * i + 2] = 50;
    memset(flat_gray, 77, sizeof flat_gray);
    /* cat: a.png (RGB 20x12), b.jpg (gray 9x13); dog: flat.png (RGB 7x5),
     * z.JPEG (RGB 20x12); zebra: flat gray PNG; plus files that are not
     * images. The JPEGs are fixtures (tests/data/jpeg_fixtures.h says why). */
    CHECK(stbi_write_png(at(p, dir, "cat/a.png"), 20, 12, 3, rgb, 0), "write %s", p);
    CHECK(write_file(at(p, dir, "cat/b.jpg"), jpeg_gray_9x13, sizeof jpeg_gray_9x13), "write %s", p);
    snprintf(p, sizeof p, "%s/cat/notes.txt", dir), write_file(p, "not an image", 12);
    snprintf(p, sizeof p, "%s/cat/.hidden.png", dir), write_file(p, "junk", 4);
    CHECK(stbi_write_png(at(p, dir, "dog/flat.png"), 7, 5, 3, flat, 0), "write %s", p);
    CHECK(write_file(at(p, dir, "dog/z.JPEG"), jpeg_rgb_20x12, sizeof jpeg_rgb_20x12), "write %s", p);
    CHECK(stbi_write_png(at(p, dir, "zebra/g.png"), 6, 6, 1, flat_gray, 0), "write %s", p);
    snprintf(p, sizeof p, "%s/stray-file.png", dir), write_file(p, "junk", 4); /* not in a class folder */

    asvk_dataset *d;
    OK(asvk_dataset_load_image_folder(dir, 6, 8, 3, &d));
    CHECK(d->n == 5 && d->h == 6 && d->w == 8 && d->c == 3 && d->classes == 3, "%u of %ux%ux%u, %u classes", d->n,
          d->h, d->w, d->c, d->classes);
    const char *sorted[] = {"cat", "dog", "zebra"};
    for (int k = 0; k < 3 && d->class_names; k++)
        CHECK(strcmp(d->class_names[k], sorted[k]) == 0, "class %d: %s", k, d->class_names[k]);
    const int32_t want_labels[] = {0, 0, 1, 1, 2};
    for (uint32_t i = 0; i < d->n && i < 5; i++) CHECK(d->labels[i] == want_labels[i], "label %u: %d", i, d->labels[i]);
    /* Resizing a flat image keeps its colour (the filters' weights sum to 1;
     * 1 of rounding allowed); a gray image becomes three equal channels. */
    const uint8_t *f = asvk_dataset_image(d, 2), *g = asvk_dataset_image(d, 4);
    for (uint32_t q = 0; q < 6 * 8; q++) {
        CHECK(abs(f[3 * q] - 200) <= 1 && abs(f[3 * q + 1] - 100) <= 1 && abs(f[3 * q + 2] - 50) <= 1,
              "flat RGB pixel %u: %u %u %u", q, f[3 * q], f[3 * q + 1], f[3 * q + 2]);
        CHECK(abs(g[3 * q] - 77) <= 1 && g[3 * q] == g[3 * q + 1] && g[3 * q] == g[3 * q + 2],
              "flat gray pixel %u: %u %u %u", q, g[3 * q], g[3 * q + 1], g[3 * q + 2]);
    }
    asvk_dataset_destroy(d);
    /* One channel: RGB becomes luma, stb's (77 R + 150 G + 29 B) >> 8. At
     * the source size nothing is resized, so PNG pixels come back exact. */
    OK(asvk_dataset_load_image_folder(dir, 12, 20, 1, &d));
    uint8_t want_luma = (uint8_t)((77 * 200 + 150 * 100 + 29 * 50) >> 8);
    CHECK(abs(asvk_dataset_image(d, 2)[17] - want_luma) <= 1, "luma %u, want %u", asvk_dataset_image(d, 2)[17],
          want_luma);
    uint8_t first = asvk_dataset_image(d, 0)[0], want_first = (uint8_t)((77 * rgb[0] + 150 * rgb[1] + 29 * rgb[2]) >> 8);
    CHECK(first == want_first, "luma of a.png (0,0): %u, want %u", first, want_first);
    asvk_dataset_destroy(d);
    OK(asvk_dataset_load_image_folder(dir, 12, 20, 3, &d));
    CHECK(memcmp(asvk_dataset_image(d, 0), rgb, sizeof rgb) == 0, "a.png at its own size is not exact");
    /* JPEG is lossy, and below quality 90 stb halves the chroma resolution:
     * a ramp of 12-20 levels per pixel decodes within about one step. A
     * swapped channel, a flip or a misplaced row is off by 100 or more. */
    int worst = 0;
    const uint8_t *z = asvk_dataset_image(d, 3);
    for (int y = 0; y < 12; y++)
        for (int x = 0; x < 20; x++) {
            const int want[3] = {12 * x, 20 * y, 128};
            for (int ch = 0; ch < 3; ch++) {
                int e = abs(z[(y * 20 + x) * 3 + ch] - want[ch]);
                worst = e > worst ? e : worst;
            }
        }
    CHECK(worst <= 24, "z.JPEG decodes %d levels away from its source", worst);
    asvk_dataset_destroy(d);
    OK(asvk_dataset_load_image_folder(dir, 13, 9, 1, &d));
    worst = 0;
    for (int y = 0; y < 13; y++)
        for (int x = 0; x < 9; x++) {
            int e = abs(asvk_dataset_image(d, 1)[y * 9 + x] - (15 * x + 9 * y));
            worst = e > worst ? e : worst;
        }
    CHECK(worst <= 12, "b.jpg decodes %d levels away from its source", worst);
    asvk_dataset_destroy(d);

    /* Errors: a corrupt image, a truncated PNG, a class without images, no
     * classes, a missing folder, bad sizes. */
    snprintf(p, sizeof p, "%s/dog/broken.png", dir), write_file(p, "\x89PNG\r\n\x1a\n garbage garbage", 24);
    EXPECT_FAIL(asvk_dataset_load_image_folder(dir, 6, 8, 3, &d), ASVK_ERR_USAGE, p);
    EXPECT_FAIL(asvk_dataset_load_image_folder(dir, 6, 8, 3, &d), ASVK_ERR_USAGE, "(Corrupt PNG)"); /* stb's reason */
    size_t n;
    char good[800];
    snprintf(good, sizeof good, "%s/cat/a.png", dir);
    uint8_t *png = read_whole(good, &n);
    write_file(p, png, n / 2);
    EXPECT_FAIL(asvk_dataset_load_image_folder(dir, 6, 8, 3, &d), ASVK_ERR_USAGE, p);
    remove(p);
    snprintf(p, sizeof p, "%s/dog/cut.jpg", dir), write_file(p, jpeg_rgb_20x12, 200);
    EXPECT_FAIL(asvk_dataset_load_image_folder(dir, 6, 8, 3, &d), ASVK_ERR_USAGE, p);
    /* A Huffman table claiming 16 x 255 symbols: stb_image 2.27 would write
     * past its arrays (imagefolder.c refuses it first). */
    uint8_t evil[sizeof jpeg_rgb_20x12];
    memcpy(evil, jpeg_rgb_20x12, sizeof evil);
    size_t dht = 0;
    while (dht + 1 < sizeof evil && !(evil[dht] == 0xff && evil[dht + 1] == 0xc4)) dht++;
    CHECK(dht + 21 < sizeof evil, "no DHT in the fixture");
    if (dht + 21 < sizeof evil) memset(evil + dht + 5, 0xff, 16);
    write_file(p, evil, sizeof evil);
    EXPECT_FAIL(asvk_dataset_load_image_folder(dir, 6, 8, 3, &d), ASVK_ERR_USAGE, "Huffman");
    remove(p);
    free(png);
    snprintf(p, sizeof p, "%s/empty-class", dir), mkdir(p, 0755);
    snprintf(good, sizeof good, "%s/readme.md", p), write_file(good, "x", 1);
    EXPECT_FAIL(asvk_dataset_load_image_folder(dir, 6, 8, 3, &d), ASVK_ERR_USAGE, p);
    EXPECT_FAIL(asvk_dataset_load_image_folder(p, 6, 8, 3, &d), ASVK_ERR_USAGE, "no class sub-folders");
    snprintf(p, sizeof p, "%s/nowhere", dir);
    EXPECT_FAIL(asvk_dataset_load_image_folder(p, 6, 8, 3, &d), ASVK_ERR_USAGE, p);
    EXPECT_FAIL(asvk_dataset_load_image_folder(dir, 0, 8, 3, &d), ASVK_ERR_USAGE, "height");
    EXPECT_FAIL(asvk_dataset_load_image_folder(dir, 0, 8, 3, &d), ASVK_ERR_USAGE, dir);
    EXPECT_FAIL(asvk_dataset_load_image_folder(dir, 6, 8, 2, &d), ASVK_ERR_USAGE, "channels");
    temp_dir_remove(dir);
}

/* Images the fuzzer (tests/fuzz/fuzz_image.c) found. Below, stb_image 2.27 decodes
 * a PNM or Radiance HDR header with a zero side into an "image" of no pixels
 * (34 x 0: a height without digits reads as 0); resizing it divided by zero
 * and turned the NaN into an int (undefined behaviour). Refused by name. */
static void image_folder_fuzzed(void) {
#define FILE_BYTES(s) s, sizeof s - 1
    static const struct {
        const char *name, *bytes;
        size_t size;
    } bad[] = {
        {"no-digits.pgm", FILE_BYTES("P5\n 34\x1a" "255\n\x00\x25")}, /* tests/fuzz/corpus/image/pnm-zero-height */
        {"zero-height.pgm", FILE_BYTES("P5\n34 0\n255\n")},
        {"zero-width.pgm", FILE_BYTES("P5\n0 3\n255\n")},
        {"zero-height.hdr", FILE_BYTES("#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 0 +X 3\n")},
    };
#undef FILE_BYTES
    /* An 18-byte GIF whose header declares a 12800 x 8242 canvas: stb filled
     * about a gigabyte before it found the data corrupt (seconds; a fuzzer
     * timeout). Refused from its header, by the pixels its size can hold
     * (tests/fuzz/corpus/image/gif-huge-canvas). */
    {
        static const uint8_t gif[] = {0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x00, 0x32, 0x32, 0x20,
                                      0xff, 0xff, 0xff, 0x88, 0x01, 0x44, 0x00, 0x3b};
        char dir[512], p[700];
        CHECK(temp_dir(dir, sizeof dir), "mkdtemp: %s", strerror(errno));
        snprintf(p, sizeof p, "%s/class", dir), mkdir(p, 0755);
        snprintf(p, sizeof p, "%s/class/huge.gif", dir);
        CHECK(write_file(p, gif, sizeof gif), "write %s", p);
        asvk_dataset *d = NULL;
        EXPECT_FAIL(asvk_dataset_load_image_folder(dir, 6, 8, 3, &d), ASVK_ERR_USAGE, p);
        EXPECT_FAIL(asvk_dataset_load_image_folder(dir, 6, 8, 3, &d), ASVK_ERR_USAGE, "declares 12800x8242 pixels");
        temp_dir_remove(dir);
    }
    /* The Huffman table image_folder refuses, after more 0xff bytes before
     * its start-of-image marker, which stb skips as fill: the check of the
     * table looked only at files starting ff d8, and stb wrote past its
     * arrays (tests/fuzz/corpus/image/jpeg-fill-before-soi). */
    {
        uint8_t evil[3 + sizeof jpeg_rgb_20x12] = {0xff, 0xff, 0xff};
        memcpy(evil + 3, jpeg_rgb_20x12, sizeof jpeg_rgb_20x12);
        size_t dht = 3;
        while (dht + 1 < sizeof evil && !(evil[dht] == 0xff && evil[dht + 1] == 0xc4)) dht++;
        CHECK(dht + 21 < sizeof evil, "no DHT in the fixture");
        if (dht + 21 < sizeof evil) memset(evil + dht + 5, 0xff, 16);
        char dir[512], p[700];
        CHECK(temp_dir(dir, sizeof dir), "mkdtemp: %s", strerror(errno));
        snprintf(p, sizeof p, "%s/class", dir), mkdir(p, 0755);
        snprintf(p, sizeof p, "%s/class/fill.jpg", dir);
        CHECK(write_file(p, evil, sizeof evil), "write %s", p);
        asvk_dataset *d = NULL;
        EXPECT_FAIL(asvk_dataset_load_image_folder(dir, 6, 8, 3, &d), ASVK_ERR_USAGE, "Huffman");
        /* the fill bytes alone are fine: the fixture still reads */
        memcpy(evil + 3, jpeg_rgb_20x12, sizeof jpeg_rgb_20x12);
        CHECK(write_file(p, evil, sizeof evil), "write %s", p);
        OK(asvk_dataset_load_image_folder(dir, 12, 20, 3, &d));
        asvk_dataset_destroy(d);
        temp_dir_remove(dir);
    }
    /* A scan decoding with an AC table no DHT defined: stb 2.27 read the
     * table's uninitialised arrays and indexed its symbols with -13959387
     * (UndefinedBehaviorSanitizer,
     * tests/fuzz/corpus/image/jpeg-huffman-negative-id, whose first 3 bytes
     * are the harness's); refused before stb reads the file. */
    {
        size_t n = 0;
        uint8_t *fuzzed = read_whole(ASVK_SOURCE_DIR "/tests/fuzz/corpus/image/jpeg-huffman-negative-id", &n);
        CHECK(fuzzed && n > 3, "cannot read the corpus file");
        char dir[512];
        CHECK(fuzzed && one_image_folder(dir, sizeof dir, "a.jpg", fuzzed + 3, n - 3), "write: %s", strerror(errno));
        asvk_dataset *d = NULL;
        EXPECT_FAIL(asvk_dataset_load_image_folder(dir, 8, 8, 1, &d), ASVK_ERR_USAGE, "Huffman");
        CHECK(!d, "a dataset was returned");
        free(fuzzed);
        temp_dir_remove(dir);
    }
    /* A Photoshop file of 4 channels (RGBA, 2x2, raw) with a dark,
     * half-transparent pixel: stb 2.27's matte removal converts -252.0 to a
     * byte (undefined; tests/fuzz, corpus image/psd-alpha-matte): refused
     * with its reason, as is the fuzzer's file; 3 channels still read. */
    {
        uint8_t psd[26 + 12 + 2 + 4 * 4] = {'8', 'B', 'P', 'S', 0, 1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 2, 0, 8, 0, 3};
        static const uint8_t planes[16] = {0, 200, 200, 200, 0, 200, 200, 200, 0, 200, 200, 200, 128, 255, 255, 255};
        memcpy(psd + 40, planes, sizeof planes);
        char dir[512];
        CHECK(one_image_folder(dir, sizeof dir, "a.psd", psd, sizeof psd), "write: %s", strerror(errno));
        asvk_dataset *d = NULL;
        EXPECT_FAIL(asvk_dataset_load_image_folder(dir, 2, 2, 3, &d), ASVK_ERR_USAGE, "a Photoshop file of 4 channels");
        CHECK(!d, "a dataset was returned");
        temp_dir_remove(dir);
        size_t n = 0;
        uint8_t *fuzzed = read_whole(ASVK_SOURCE_DIR "/tests/fuzz/corpus/image/psd-alpha-matte", &n);
        CHECK(fuzzed && n > 3, "cannot read the corpus file");
        CHECK(fuzzed && one_image_folder(dir, sizeof dir, "a.psd", fuzzed + 3, n - 3), "write: %s", strerror(errno));
        EXPECT_FAIL(asvk_dataset_load_image_folder(dir, 4, 4, 3, &d), ASVK_ERR_USAGE, "a Photoshop file of 7 channels");
        free(fuzzed);
        temp_dir_remove(dir);
        /* the same file with 3 channels (its first 12 bytes of pixels) reads: red 0 200 200 200 */
        psd[13] = 3;
        CHECK(one_image_folder(dir, sizeof dir, "a.psd", psd, sizeof psd - 4), "write: %s", strerror(errno));
        OK(asvk_dataset_load_image_folder(dir, 2, 2, 3, &d));
        CHECK(d && d->pixels[0] == 0 && d->pixels[3] == 200, "the 3-channel PSD read as %u %u", d ? d->pixels[0] : 0,
              d ? d->pixels[3] : 0);
        asvk_dataset_destroy(d);
        temp_dir_remove(dir);
    }
    /* stb's own undefined behaviour, avoided before it reads the file: a PNM
     * header number too long for an int (signed overflow;
     * tests/fuzz/corpus/image/pnm-long-number) is refused; a PNG whose first
     * IDAT chunk is empty (a null pointer offset, which clang's UBSan reports;
     * tests/fuzz/corpus/image/png-empty-idat) reads as the same image; one
     * whose IDAT declares far more than the file holds is refused before stb
     * sizes a buffer by it. */
    {
        char dir[512], p[700];
        CHECK(temp_dir(dir, sizeof dir), "mkdtemp: %s", strerror(errno));
        snprintf(p, sizeof p, "%s/class", dir), mkdir(p, 0755);
        snprintf(p, sizeof p, "%s/class/long.ppm", dir);
        static const char ppm[] = "P6 2 2111111111111111111111 255\n";
        CHECK(write_file(p, ppm, sizeof ppm - 1), "write %s", p);
        asvk_dataset *d = NULL;
        EXPECT_FAIL(asvk_dataset_load_image_folder(dir, 6, 8, 3, &d), ASVK_ERR_USAGE, "10 or more digits");
        remove(p);
        uint8_t rgb[5 * 3 * 3];
        fill_random(rgb, sizeof rgb);
        snprintf(p, sizeof p, "%s/class/a.png", dir);
        CHECK(stbi_write_png(p, 5, 3, 3, rgb, 0), "write %s", p);
        OK(asvk_dataset_load_image_folder(dir, 3, 5, 3, &d));
        size_t n = 0;
        uint8_t *png = read_whole(p, &n), *odd = malloc(n + 12);
        size_t at = 8;
        while (png && at + 8 <= n && memcmp(png + at + 4, "IDAT", 4) != 0)
            at += 12 + ((size_t)png[at] << 24 | (size_t)png[at + 1] << 16 | (size_t)png[at + 2] << 8 | png[at + 3]);
        CHECK(png && odd && at + 8 <= n, "no IDAT in the PNG");
        if (png && odd && at + 8 <= n) {
            static const uint8_t empty_idat[12] = {0, 0, 0, 0, 'I', 'D', 'A', 'T', 0x35, 0xaf, 0x06, 0x1e};
            memcpy(odd, png, at), memcpy(odd + at, empty_idat, 12), memcpy(odd + at + 12, png + at, n - at);
            CHECK(write_file(p, odd, n + 12), "write %s", p);
            asvk_dataset *e = NULL;
            OK(asvk_dataset_load_image_folder(dir, 3, 5, 3, &e));
            CHECK(d && e && memcmp(d->pixels, e->pixels, sizeof rgb) == 0, "an empty IDAT changed the image");
            asvk_dataset_destroy(e);
            /* an IDAT that declares 1.2 GB in a file of a few dozen bytes: stb
             * grew its buffer to 2 GiB before it found the data missing
             * (tests/fuzz/corpus/image/png-idat-past-end) */
            memcpy(odd, png, n);
            odd[at] = 0x48, odd[at + 1] = 0x52, odd[at + 2] = 0x41, odd[at + 3] = 0x44;
            CHECK(write_file(p, odd, n), "write %s", p);
            EXPECT_FAIL(asvk_dataset_load_image_folder(dir, 3, 5, 3, &e), ASVK_ERR_USAGE, "an IDAT chunk declares more than");
        }
        free(png), free(odd);
        asvk_dataset_destroy(d);
        temp_dir_remove(dir);
    }
    /* 16-bit PNM (maxval above 255) brought to another channel count: stb
     * 2.27 converted the 16-bit samples as 8-bit ones, then narrowed twice the
     * bytes it had, reading past its buffer (AddressSanitizer;
     * tests/fuzz/corpus/image/pnm-16bit-channels). Binary PNM is now decoded
     * by asvk (imagefolder.c: pnm_decode): big-endian samples, scaled by the
     * maximum value to round(v * 255 / maxval); the gray of (r, g, b) is
     * (77 r + 150 g + 29 b) >> 8. */
    {
        static const uint8_t ppm[] = "P6 1 2 65535\n\xff\xff\xff\xff\xff\xff\x80\x80\x00\x00\x00\x00";
        static const uint8_t pgm[] = "P5 1 2 1000\n\x03\x03\x01\x01";
        /* 771 and 257 of 1000 (stb 2.27 gave 3 and 1) */
        static const uint8_t want_ppm_gray[2] = {255, 38}, want_pgm_rgb[6] = {197, 197, 197, 66, 66, 66};
        char dir[512], p[700];
        CHECK(temp_dir(dir, sizeof dir), "mkdtemp: %s", strerror(errno));
        snprintf(p, sizeof p, "%s/class", dir), mkdir(p, 0755);
        snprintf(p, sizeof p, "%s/class/a.ppm", dir);
        CHECK(write_file(p, ppm, sizeof ppm - 1), "write %s", p);
        asvk_dataset *d = NULL;
        OK(asvk_dataset_load_image_folder(dir, 2, 1, 1, &d));
        CHECK(d && memcmp(d->pixels, want_ppm_gray, 2) == 0, "16-bit PPM as gray: %u %u", d ? d->pixels[0] : 0,
              d ? d->pixels[1] : 0);
        asvk_dataset_destroy(d);
        remove(p);
        snprintf(p, sizeof p, "%s/class/a.pgm", dir);
        CHECK(write_file(p, pgm, sizeof pgm - 1), "write %s", p);
        d = NULL;
        OK(asvk_dataset_load_image_folder(dir, 2, 1, 3, &d));
        CHECK(d && memcmp(d->pixels, want_pgm_rgb, 6) == 0, "16-bit PGM as RGB: %u %u %u %u %u %u",
              d ? d->pixels[0] : 0, d ? d->pixels[1] : 0, d ? d->pixels[2] : 0, d ? d->pixels[3] : 0,
              d ? d->pixels[4] : 0, d ? d->pixels[5] : 0);
        asvk_dataset_destroy(d);
        temp_dir_remove(dir);
    }
    /* PNM samples as Netpbm defines them: 16-bit ones big-endian (stb 2.27
     * read 0xff00 as 0x00ff: 0 and 255 below instead of 254 and 1), 8-bit
     * ones scaled by a maximum value below 255, comments in the header; a
     * truncated raster is refused by name. */
    {
        static const struct { const char *file; size_t len; uint8_t want[2]; } pnms[] = {
            {"P5 2 1 65535\n\xff\x00\x00\xff", 17, {254, 1}},
            {"P5 2 1 15\n\x0f\x05", 12, {255, 85}},
            {"P5\n# a comment\n2 1\n255\n\x10\x20", 25, {16, 32}},
        };
        for (size_t i = 0; i < sizeof pnms / sizeof pnms[0]; i++) {
            char dir[512];
            CHECK(strlen(pnms[i].file) <= pnms[i].len && one_image_folder(dir, sizeof dir, "a.pgm", pnms[i].file,
                                                                           pnms[i].len),
                  "write: %s", strerror(errno));
            asvk_dataset *d = NULL;
            OK(asvk_dataset_load_image_folder(dir, 1, 2, 1, &d));
            CHECK(d && d->pixels[0] == pnms[i].want[0] && d->pixels[1] == pnms[i].want[1], "PNM %zu: %u %u, not %u %u",
                  i, d ? d->pixels[0] : 0, d ? d->pixels[1] : 0, pnms[i].want[0], pnms[i].want[1]);
            asvk_dataset_destroy(d);
            temp_dir_remove(dir);
        }
        char dir[512];
        CHECK(one_image_folder(dir, sizeof dir, "short.pgm", "P5 2 2 255\n\x01\x02\x03", 14), "write: %s",
              strerror(errno));
        asvk_dataset *e = NULL;
        EXPECT_FAIL(asvk_dataset_load_image_folder(dir, 2, 2, 1, &e), ASVK_ERR_USAGE, "truncated PNM");
        temp_dir_remove(dir);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char dir[512], p[700];
        CHECK(temp_dir(dir, sizeof dir), "mkdtemp: %s", strerror(errno));
        snprintf(p, sizeof p, "%s/class", dir), mkdir(p, 0755);
        snprintf(p, sizeof p, "%s/class/%s", dir, bad[i].name);
        CHECK(write_file(p, bad[i].bytes, bad[i].size), "write %s", p);
        asvk_dataset *d = NULL;
        EXPECT_FAIL(asvk_dataset_load_image_folder(dir, 6, 8, 1, &d), ASVK_ERR_USAGE, p);
        EXPECT_FAIL(asvk_dataset_load_image_folder(dir, 6, 8, 3, &d), ASVK_ERR_USAGE, "no pixels");
        CHECK(!d, "%s: a dataset was returned", bad[i].name);
        temp_dir_remove(dir);
    }
}

/* ---- the installed Fashion-MNIST ---- */

static void fashion_mnist(void) {
    asvk_dataset *tr, *te;
    OK(asvk_dataset_load_fashion_mnist(NULL, ASVK_DATASET_TRAIN, &tr));
    asvk_status st = asvk_dataset_load_fashion_mnist(ASVK_FASHION_MNIST_DIR, ASVK_DATASET_TEST, &te);
    if (st) asvk_dataset_destroy(tr);
    OK(st);
    CHECK(tr->n == 60000 && te->n == 10000, "%u train, %u test", tr->n, te->n);
    CHECK(tr->h == 28 && tr->w == 28 && tr->c == 1 && tr->classes == 10 && te->classes == 10, "shape");
    uint32_t ctr[10] = {0}, cte[10] = {0};
    for (uint32_t i = 0; i < tr->n; i++) ctr[tr->labels[i]]++;
    for (uint32_t i = 0; i < te->n; i++) cte[te->labels[i]]++;
    for (int k = 0; k < 10; k++) CHECK(ctr[k] == 6000 && cte[k] == 1000, "class %d: %u, %u", k, ctr[k], cte[k]);
    /* The first labels as published (github.com/zalandoresearch/fashion-mnist). */
    const int32_t first_tr[] = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5}, first_te[] = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
    for (int i = 0; i < 10; i++)
        CHECK(tr->labels[i] == first_tr[i] && te->labels[i] == first_te[i], "label %d: %d, %d", i, tr->labels[i],
              te->labels[i]);
    CHECK(strcmp(tr->class_names[9], "Ankle boot") == 0 && strcmp(tr->class_names[0], "T-shirt/top") == 0, "names");
    /* The shipped constants are this data's statistics (to the 7 digits given). */
    asvk_norm m;
    OK(asvk_dataset_norm(tr, NULL, 0, &m));
    CHECK(fabsf(m.mean[0] - asvk_norm_fashion_mnist.mean[0]) < 1e-6f &&
              fabsf(m.std[0] - asvk_norm_fashion_mnist.std[0]) < 1e-6f,
          "mean %.7f std %.7f", m.mean[0], m.std[0]);
    asvk_dataset_destroy(tr);
    asvk_dataset_destroy(te);
}

/* ---- shuffle, split ---- */

static void shuffle_determinism(void) {
    /* splitmix64 from state 0 gives 0xe220a8397b1dcdaf first (the published
     * reference value): the generator is the same on every platform. */
    asvk_rng r = {0};
    CHECK(asvk_rng_next(&r) == 0xe220a8397b1dcdafull, "splitmix64 reference value");
    /* Golden values: a change here breaks the reproducibility of every
     * earlier run (its shuffles, splits and augmentations), so it must be
     * deliberate. */
    uint32_t gold[10];
    const uint32_t want_gold[10] = {9, 7, 2, 6, 3, 8, 5, 4, 1, 0};
    asvk_shuffle_epoch(42, 3, NULL, 10, gold);
    CHECK(memcmp(gold, want_gold, sizeof gold) == 0, "shuffle golden values: %u %u %u ...", gold[0], gold[1], gold[2]);
    asvk_augment_op g = asvk_augment_draw(&(asvk_augment){4, true}, 99, 5, 3);
    CHECK(g.dx == 4 && g.dy == -4 && g.flip, "augmentation golden values: %d %d %d", g.dx, g.dy, g.flip);
    enum { N = 1000 };
    uint32_t a[N], b[N], c[N], e[N], seen[N];
    asvk_shuffle_epoch(42, 3, NULL, N, a);
    asvk_shuffle_epoch(42, 3, NULL, N, b);
    asvk_shuffle_epoch(43, 3, NULL, N, c);
    asvk_shuffle_epoch(42, 4, NULL, N, e);
    CHECK(memcmp(a, b, sizeof a) == 0, "same seed and epoch, different order");
    CHECK(memcmp(a, c, sizeof a) != 0 && memcmp(a, e, sizeof a) != 0, "another seed or epoch, same order");
    memset(seen, 0, sizeof seen);
    uint32_t fixed = 0;
    for (uint32_t i = 0; i < N; i++) seen[a[i]]++, fixed += a[i] == i;
    for (uint32_t i = 0; i < N; i++) CHECK(seen[i] == 1, "%u seen %u times", i, seen[i]);
    CHECK(fixed < 10, "%u fixed points (about 1 expected)", fixed);
    /* A base list is permuted the same way as 0..n-1, in place or not. */
    for (uint32_t i = 0; i < N; i++) b[i] = 5 * i + 1;
    asvk_shuffle_epoch(42, 3, b, N, b);
    for (uint32_t i = 0; i < N; i++) CHECK(b[i] == 5 * a[i] + 1, "base permutation at %u", i);
    /* Unbiased draws: every position of a 3-element shuffle near 1/3. */
    uint32_t hist[3][3] = {{0}};
    for (uint32_t s = 0; s < 30000; s++) {
        uint32_t v[3];
        asvk_shuffle_epoch(s, 0, NULL, 3, v);
        for (int k = 0; k < 3; k++) hist[k][v[k]]++;
    }
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < 3; j++) CHECK(abs((int)hist[k][j] - 10000) < 500, "position %d value %d: %u", k, j, hist[k][j]);
}

static void split(void) {
    enum { N = 1003 };
    asvk_dataset *d;
    OK(asvk_dataset_create(N, 2, 2, 1, 4, "split-set", &d));
    for (uint32_t i = 0; i < N; i++) d->labels[i] = i < 600 ? 0 : i < 900 ? 1 : i < 1000 ? 2 : 3;
    for (int strat = 0; strat < 2; strat++) {
        asvk_split s, s2, s3;
        asvk_split_options o = {.fraction = 0.1, .seed = 7, .stratified = strat};
        OK(asvk_split_create(d, &o, &s));
        OK(asvk_split_create(d, &o, &s2));
        o.seed = 8;
        OK(asvk_split_create(d, &o, &s3));
        CHECK(s.n_val == 100 && s.n_train == N - 100, "sizes %u + %u", s.n_train, s.n_val);
        CHECK(memcmp(s.val, s2.val, s.n_val * 4) == 0, "same seed, different split");
        CHECK(memcmp(s.val, s3.val, s.n_val * 4) != 0, "different seed, same split");
        uint8_t seen[N] = {0};
        uint32_t per[4] = {0};
        for (uint32_t i = 0; i < s.n_train; i++) seen[s.train[i]]++;
        for (uint32_t i = 0; i < s.n_val; i++) seen[s.val[i]] += 2, per[d->labels[s.val[i]]]++;
        for (uint32_t i = 0; i < N; i++) CHECK(seen[i] == 1 || seen[i] == 2, "image %u in %u lists", i, seen[i]);
        for (uint32_t i = 1; i < s.n_val; i++) CHECK(s.val[i - 1] < s.val[i], "val not ascending at %u", i);
        if (strat) /* shares 59.82, 29.91, 9.97, 0.30 round (largest remainder) to 60, 30, 10, 0 */
            CHECK(per[0] == 60 && per[1] == 30 && per[2] == 10 && per[3] == 0, "per class %u %u %u %u", per[0],
                  per[1], per[2], per[3]);
        asvk_split_destroy(&s), asvk_split_destroy(&s2), asvk_split_destroy(&s3);
    }
    asvk_split s;
    OK(asvk_split_create(d, &(asvk_split_options){.count = 5, .seed = 1, .stratified = true}, &s));
    CHECK(s.n_val == 5 && s.n_train == N - 5, "count 5: %u", s.n_val);
    asvk_split_destroy(&s);
    OK(asvk_split_create(d, &(asvk_split_options){.fraction = 0}, &s));
    CHECK(s.n_val == 0 && s.n_train == N, "no validation: %u", s.n_val);
    asvk_split_destroy(&s);
    EXPECT_FAIL(asvk_split_create(d, &(asvk_split_options){.fraction = 1}, &s), ASVK_ERR_USAGE, "fraction");
    EXPECT_FAIL(asvk_split_create(d, &(asvk_split_options){.count = N}, &s), ASVK_ERR_USAGE, "split-set");
    d->labels[5] = 4;
    EXPECT_FAIL(asvk_split_create(d, &(asvk_split_options){.count = 3, .stratified = true}, &s), ASVK_ERR_USAGE,
                "label 4");
    asvk_dataset_destroy(d);
}

/* ---- augmentation, batches ---- */

/* The definition, pixel by pixel. */
static uint8_t aug_ref(const uint8_t *src, uint32_t h, uint32_t w, uint32_t c, asvk_augment_op op, uint32_t y,
                       uint32_t x, uint32_t ch) {
    int64_t sy = (int64_t)y + op.dy, sx = (int64_t)(op.flip ? w - 1 - x : x) + op.dx;
    return sy < 0 || sy >= h || sx < 0 || sx >= w ? 0 : src[((size_t)sy * w + sx) * c + ch];
}

static void augment(void) {
    enum { H = 7, W = 9, C = 3 };
    uint8_t src[H * W * C], a[H * W * C], b[H * W * C];
    fill_random(src, sizeof src);
    for (int i = 0; i < H * W * C; i++) src[i] |= 1; /* no zero pixels, so padding is visible */
    asvk_augment_op flip = {0, 0, true};
    asvk_augment_apply(src, a, H, W, C, flip);
    asvk_augment_apply(a, b, H, W, C, flip);
    CHECK(memcmp(b, src, sizeof src) == 0 && memcmp(a, src, sizeof src) != 0, "a flip of a flip is not identity");
    asvk_augment pad0 = {0, false};
    asvk_augment_op op = asvk_augment_draw(&pad0, 1, 2, 3);
    CHECK(asvk_augment_is_identity(op), "pad 0 without flip drew %d %d %d", op.dx, op.dy, op.flip);
    asvk_augment_apply(src, a, H, W, C, op);
    CHECK(memcmp(a, src, sizeof src) == 0, "crop with pad 0 is not identity");
    /* A shifted crop: dx = 2, dy = -1 leaves row 0 and the last 2 columns zero. */
    asvk_augment_apply(src, a, H, W, C, (asvk_augment_op){2, -1, false});
    for (uint32_t y = 0; y < H; y++)
        for (uint32_t x = 0; x < W; x++) {
            bool border = y == 0 || x >= W - 2;
            CHECK((a[(y * W + x) * C] == 0) == border, "shifted crop (%u,%u): %u", y, x, a[(y * W + x) * C]);
        }
    /* Random draws against the definition, including shifts past the image. */
    asvk_augment aug = {4, true};
    uint32_t flips = 0, bad = 0;
    int32_t lo = 0, hi = 0;
    for (uint32_t idx = 0; idx < 400; idx++) {
        op = asvk_augment_draw(&aug, 99, 5, idx);
        asvk_augment_op again = asvk_augment_draw(&aug, 99, 5, idx), other = asvk_augment_draw(&aug, 99, 6, idx);
        CHECK(op.dx == again.dx && op.dy == again.dy && op.flip == again.flip, "draw not reproducible");
        (void)other;
        flips += op.flip;
        lo = op.dx < lo ? op.dx : lo, hi = op.dx > hi ? op.dx : hi;
        CHECK(op.dx >= -4 && op.dx <= 4 && op.dy >= -4 && op.dy <= 4, "offset %d %d", op.dx, op.dy);
        if (idx % 10 == 0) op.dx *= 3; /* beyond the image: all zeros */
        asvk_augment_apply(src, a, H, W, C, op);
        for (uint32_t y = 0; y < H; y++)
            for (uint32_t x = 0; x < W; x++)
                for (uint32_t ch = 0; ch < C; ch++)
                    if (a[(y * W + x) * C + ch] != aug_ref(src, H, W, C, op, y, x, ch) && bad++ < 3)
                        CHECK(0, "op %d %d %d at (%u,%u,%u)", op.dx, op.dy, op.flip, y, x, ch);
    }
    CHECK(flips > 150 && flips < 250 && lo == -4 && hi == 4, "%u flips of 400, dx in [%d, %d]", flips, lo, hi);
    uint32_t same = 0;
    for (uint32_t idx = 0; idx < 100; idx++) {
        asvk_augment_op p = asvk_augment_draw(&aug, 99, 5, idx), q = asvk_augment_draw(&aug, 99, 6, idx);
        same += p.dx == q.dx && p.dy == q.dy && p.flip == q.flip;
    }
    CHECK(same < 10, "%u of 100 draws equal across epochs", same);
}

/* Both channel counts: the batch filler has a path for each. */
static void batch_values_c(uint32_t C) {
    enum { N = 10, H = 4, W = 5 };
    asvk_dataset *d;
    OK(asvk_dataset_create(N, H, W, C, 3, "batch-set", &d));
    fill_random(d->pixels, (size_t)N * H * W * C);
    for (int i = 0; i < N; i++) d->labels[i] = i % 3;
    d->pixels[0] = 0, d->pixels[1] = 255;
    asvk_batch b;
    OK(asvk_batch_alloc(4, H, W, C, &b));
    asvk_batch_options o = {.norm = {{0.5f, 0.25f, 0.125f}, {0.2f, 0.3f, 0.4f}}, .seed = 3};
    const uint32_t idx[] = {0, 7, 2};
    OK(asvk_batch_fill(&b, d, idx, 3, &o, 0));
    CHECK(b.n == 3 && b.epoch == 0, "n %u", b.n);
    /* One float rounding per operation: |error| <= 3 ulp of values below 5. */
    for (uint32_t k = 0; k < 3; k++) {
        CHECK(b.y[k] == (float)(idx[k] % 3) && b.index[k] == idx[k], "label %u: %g", k, b.y[k]);
        const uint8_t *im = asvk_dataset_image(d, idx[k]);
        for (uint32_t q = 0; q < H * W * C; q++) {
            double want = (im[q] / 255.0 - o.norm.mean[q % C]) / o.norm.std[q % C];
            CHECK(fabs(b.x[k * H * W * C + q] - want) <= 3 * 5 * FP32_U * 2, "x[%u][%u] %.9g want %.9g", k, q,
                  b.x[k * H * W * C + q], want);
        }
    }
    CHECK(b.x[0] == (0 - 0.5f) / 0.2f && fabsf(b.x[1] - (1 - (C == 3 ? 0.25f : 0.5f)) / (C == 3 ? 0.3f : 0.2f)) < 1e-6f,
          "extremes %g %g", b.x[0], b.x[1]);
    /* Augmented: exactly apply-then-normalize, with pixel 0 in the padding;
     * over all images and several epochs so that every kind of draw occurs. */
    o.augment = (asvk_augment){2, true};
    uint8_t aug[H * W * 3];
    uint32_t flips = 0, shifts = 0, bad = 0;
    for (uint32_t epoch = 0; epoch < 6; epoch++)
        for (uint32_t i = 0; i < N; i += 2) {
            uint32_t pair[2] = {i, N - 1 - i};
            OK(asvk_batch_fill(&b, d, pair, 2, &o, epoch));
            for (uint32_t k = 0; k < 2; k++) {
                asvk_augment_op op = asvk_augment_draw(&o.augment, 3, epoch, pair[k]);
                flips += op.flip, shifts += op.dx != 0 || op.dy != 0;
                asvk_augment_apply(asvk_dataset_image(d, pair[k]), aug, H, W, C, op);
                for (uint32_t q = 0; q < H * W * C; q++) {
                    float want = ((float)aug[q] / 255.0f - o.norm.mean[q % C]) / o.norm.std[q % C];
                    if (b.x[k * H * W * C + q] != want && bad++ < 3)
                        CHECK(0, "augmented image %u epoch %u (op %d %d %d) x[%u]: %g want %g", pair[k], epoch, op.dx,
                              op.dy, op.flip, q, b.x[k * H * W * C + q], want);
                }
            }
        }
    CHECK(flips > 5 && shifts > 5, "%u flips, %u shifts in 60 draws", flips, shifts);
    EXPECT_FAIL(asvk_batch_fill(&b, d, (uint32_t[]){0, 1, 2, 3, 4}, 5, &o, 0), ASVK_ERR_USAGE, "batch-set");
    EXPECT_FAIL(asvk_batch_fill(&b, d, (uint32_t[]){10}, 1, &o, 0), ASVK_ERR_USAGE, "index 10");
    o.norm.std[C - 1] = 0;
    EXPECT_FAIL(asvk_batch_fill(&b, d, idx, 1, &o, 0), ASVK_ERR_USAGE, "std");
    o.norm.std[C - 1] = 1;
    d->labels[7] = 3;
    EXPECT_FAIL(asvk_batch_fill(&b, d, idx, 3, &o, 0), ASVK_ERR_USAGE, "label 3 of image 7");
    asvk_batch_free(&b);
    asvk_dataset_destroy(d);
}

static void batch_values(void) {
    batch_values_c(1);
    batch_values_c(3);
}

/* ---- the loader thread ---- */

static asvk_dataset *numbered_set(uint32_t n, uint32_t classes) {
    asvk_dataset *d;
    if (asvk_dataset_create(n, 3, 3, 1, classes, "numbered", &d)) return NULL;
    for (uint32_t i = 0; i < n; i++) {
        d->labels[i] = (int32_t)(i % classes);
        memset(asvk_dataset_image(d, i), (int)(i % 251), 9);
    }
    return d;
}

static void loader_order(void) {
    enum { N = 103, B = 10 };
    asvk_dataset *d = numbered_set(N, 7);
    CHECK(d != NULL, "dataset");
    if (!d) return;
    asvk_loader_options o = {.shuffle = true, .seed = 11, .norm = asvk_norm_fashion_mnist, .epochs = 3,
                             .augment = {1, true}};
    for (int drop = 0; drop < 2; drop++) {
        o.drop_last = drop;
        asvk_loader *l;
        OK(asvk_loader_create(d, NULL, 0, B, &o, &l));
        uint32_t steps = asvk_loader_steps(l);
        CHECK(steps == (drop ? 10u : 11u), "steps %u", steps);
        for (uint32_t e = 0; e < 3; e++) {
            uint32_t perm[N], count[N] = {0}, pos = 0;
            asvk_shuffle_epoch(11, e, NULL, N, perm);
            for (uint32_t s = 0; s < steps; s++) {
                const asvk_batch *b;
                OK(asvk_loader_next(l, &b));
                CHECK(b && b->epoch == e && b->step == s, "batch %u/%u missing or at %u/%u", e, s, b ? b->epoch : 0,
                      b ? b->step : 0);
                if (!b) break;
                CHECK(b->n == (s == 10 ? 3u : (uint32_t)B), "step %u: %u images", s, b->n);
                for (uint32_t k = 0; k < b->n; k++, pos++) {
                    CHECK(b->index[k] == perm[pos], "epoch %u pos %u: %u, want %u", e, pos, b->index[k], perm[pos]);
                    CHECK(b->y[k] == (float)(b->index[k] % 7), "label of %u", b->index[k]);
                    count[b->index[k]]++;
                }
            }
            for (uint32_t i = 0; i < (drop ? 100u : (uint32_t)N); i++)
                CHECK(count[perm[i]] == 1, "epoch %u: %u seen %u times", e, perm[i], count[perm[i]]);
        }
        const asvk_batch *end;
        OK(asvk_loader_next(l, &end));
        CHECK(end == NULL, "a batch after the last epoch");
        OK(asvk_loader_next(l, &end));
        CHECK(end == NULL, "a batch after the end, asked twice");
        asvk_loader_destroy(l);
    }
    /* Resume at (1, 4) = the uninterrupted run from its 15th batch on, pixels included. */
    o.drop_last = false;
    asvk_loader *full, *resumed;
    OK(asvk_loader_create(d, NULL, 0, B, &o, &full));
    o.start_epoch = 1, o.start_step = 4, o.slots = 2;
    OK(asvk_loader_create(d, NULL, 0, B, &o, &resumed));
    const asvk_batch *a, *b;
    for (int s = 0; s < 11 + 4; s++) OK(asvk_loader_next(full, &a));
    for (int s = 0; s < 11 + 7; s++) {
        OK(asvk_loader_next(full, &a));
        OK(asvk_loader_next(resumed, &b));
        CHECK(a && b && a->epoch == b->epoch && a->step == b->step && a->n == b->n &&
                  memcmp(a->index, b->index, a->n * 4) == 0 && memcmp(a->x, b->x, a->n * 9 * 4) == 0,
              "resumed batch %d differs", s);
    }
    asvk_loader_destroy(full), asvk_loader_destroy(resumed);
    /* Evaluation: a subset, in its given order, last batch kept, no augmentation. */
    const uint32_t sub[] = {5, 3, 100, 42, 7};
    asvk_loader_options ev = {.norm = asvk_norm_fashion_mnist, .epochs = 1};
    asvk_loader *l;
    OK(asvk_loader_create(d, sub, 5, 2, &ev, &l));
    uint32_t got = 0;
    for (;;) {
        OK(asvk_loader_next(l, &b));
        if (!b) break;
        for (uint32_t k = 0; k < b->n; k++, got++) CHECK(got < 5 && b->index[k] == sub[got], "eval order at %u", got);
        float want = ((float)(b->index[0] % 251) / 255.0f - asvk_norm_fashion_mnist.mean[0]) /
                     asvk_norm_fashion_mnist.std[0];
        CHECK(b->x[4] == want, "eval batch unaugmented: %g want %g", b->x[4], want);
    }
    CHECK(got == 5, "%u images in the evaluation pass", got);
    asvk_loader_destroy(l);
    asvk_dataset_destroy(d);
}

static void loader_errors(void) {
    asvk_dataset *d = numbered_set(50, 5);
    if (!d) return;
    asvk_loader_options o = {.norm = asvk_norm_fashion_mnist, .drop_last = true};
    asvk_loader *l = (asvk_loader *)1;
    EXPECT_FAIL(asvk_loader_create(d, NULL, 0, 64, &o, &l), ASVK_ERR_USAGE, "batch 64");
    CHECK(l == NULL, "out not cleared");
    EXPECT_FAIL(asvk_loader_create(d, NULL, 0, 0, &o, &l), ASVK_ERR_USAGE, "batch size 0");
    EXPECT_FAIL(asvk_loader_create(d, (uint32_t[]){1, 50}, 2, 1, &o, &l), ASVK_ERR_USAGE, "index 50");
    o.slots = 4;
    EXPECT_FAIL(asvk_loader_create(d, NULL, 0, 8, &o, &l), ASVK_ERR_USAGE, "2 or 3");
    o.slots = 0, o.start_step = 6;
    EXPECT_FAIL(asvk_loader_create(d, NULL, 0, 8, &o, &l), ASVK_ERR_USAGE, "step 6");
    o.start_step = 0, o.norm.std[0] = 0;
    EXPECT_FAIL(asvk_loader_create(d, NULL, 0, 8, &o, &l), ASVK_ERR_USAGE, "std");
    /* An error in the thread reaches the consumer after the good batches. */
    o.norm = asvk_norm_fashion_mnist;
    d->labels[17] = 9;
    OK(asvk_loader_create(d, NULL, 0, 8, &o, &l));
    const asvk_batch *b;
    for (int s = 0; s < 2; s++) {
        OK(asvk_loader_next(l, &b));
        CHECK(b && b->step == (uint32_t)s, "good batch %d", s);
    }
    EXPECT_FAIL(asvk_loader_next(l, &b), ASVK_ERR_USAGE, "label 9 of image 17");
    CHECK(b == NULL, "a batch with the error");
    EXPECT_FAIL(asvk_loader_next(l, &b), ASVK_ERR_USAGE, "numbered");
    asvk_loader_destroy(l);
    asvk_dataset_destroy(d);
}

static void loader_destroy_mid_epoch(void) {
    asvk_dataset *d = numbered_set(1000, 10);
    if (!d) return;
    asvk_loader_options o = {.shuffle = true, .norm = asvk_norm_fashion_mnist, .augment = {2, true}};
    /* Right after create, after some batches, with the ring full (the thread
     * waiting), with 2 slots; many times, to shake out races. */
    for (uint32_t round = 0; round < 200; round++) {
        o.slots = 2 + round % 2, o.seed = round;
        asvk_loader *l;
        OK(asvk_loader_create(d, NULL, 0, 16, &o, &l));
        uint32_t take = round % 5;
        for (uint32_t s = 0; s < take; s++) {
            const asvk_batch *b;
            OK(asvk_loader_next(l, &b));
            CHECK(b && b->n == 16, "batch %u", s);
        }
        if (round % 7 == 0) nanosleep(&(struct timespec){0, 2000000}, NULL);
        asvk_loader_destroy(l);
    }
    asvk_loader_destroy(NULL);
    asvk_dataset_destroy(d);
}

/* ---- speed (reported, never asserted: DESIGN.md leaves that to bench) ---- */

static double clock_s(clockid_t id) {
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static void batch_speed(void) {
    asvk_dataset *d;
    OK(asvk_dataset_create(60000, 28, 28, 1, 10, "speed", &d));
    fill_random(d->pixels, (size_t)60000 * 784);
    for (uint32_t i = 0; i < d->n; i++) d->labels[i] = (int32_t)(i % 10);
    asvk_batch b;
    OK(asvk_batch_alloc(128, 28, 28, 1, &b));
    uint32_t perm[128];
    asvk_shuffle_epoch(1, 0, NULL, 128, perm);
    asvk_batch_options plain = {.norm = asvk_norm_fashion_mnist}, aug = plain;
    aug.augment = (asvk_augment){2, true};
    double t0 = clock_s(CLOCK_MONOTONIC);
    for (int r = 0; r < 200; r++) OK(asvk_batch_fill(&b, d, perm, 128, &plain, 0));
    double t1 = clock_s(CLOCK_MONOTONIC);
    for (int r = 0; r < 200; r++) OK(asvk_batch_fill(&b, d, perm, 128, &aug, (uint32_t)r));
    double t2 = clock_s(CLOCK_MONOTONIC);
    asvk_batch_free(&b);
    asvk_loader *l;
    asvk_loader_options o = {.shuffle = true, .drop_last = true, .norm = asvk_norm_fashion_mnist,
                             .augment = {2, true}, .epochs = 1};
    OK(asvk_loader_create(d, NULL, 0, 128, &o, &l));
    const asvk_batch *bb;
    uint32_t n = 0;
    double t3 = clock_s(CLOCK_MONOTONIC), c3 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    for (;;) {
        OK(asvk_loader_next(l, &bb));
        if (!bb) break;
        n += bb->n;
    }
    double t4 = clock_s(CLOCK_MONOTONIC), c4 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    asvk_loader_destroy(l);
    CHECK(n == 59904, "%u images in the epoch", n);
    fprintf(stderr, "  128x28x28 batch: %.1f us plain, %.1f us augmented; a 60000-image augmented epoch through the "
                    "loader: %.0f ms wall, %.0f ms CPU (both threads)\n",
            (t1 - t0) / 200 * 1e6, (t2 - t1) / 200 * 1e6, (t4 - t3) * 1e3, (c4 - c3) * 1e3);
    asvk_dataset_destroy(d);
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"idx_round_trip", idx_round_trip},
        {"idx_errors", idx_errors},
        {"fashion_mnist_bad_labels", fashion_mnist_bad_labels},
        {"cifar10", cifar10},
        {"image_folder", image_folder},
        {"image_folder_fuzzed", image_folder_fuzzed},
        {"fashion_mnist", fashion_mnist},
        {"shuffle_determinism", shuffle_determinism},
        {"split", split},
        {"augment", augment},
        {"batch_values", batch_values},
        {"loader_order", loader_order},
        {"loader_errors", loader_errors},
        {"loader_destroy_mid_epoch", loader_destroy_mid_epoch},
        {"batch_speed", batch_speed},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
