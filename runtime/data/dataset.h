/* A labelled image dataset held in host memory, and its loaders.
 *
 * Images are uint8, stored NHWC (image i, row y, column x, channel k at
 * ((i*h + y)*w + x)*c + k), which is the layout the batches hand to the GPU.
 * Every loader validates its input before trusting it, and every message
 * names the file or folder. Bad input fails with ASVK_ERR_USAGE (exit 2): a
 * missing file or folder the caller named, or a file that is there but wrong
 * (bad magic, truncated, counts that disagree, bad dimensions, a corrupt gzip
 * stream or image, an empty folder). ASVK_ERR_IO is left for what the input
 * cannot be blamed for: read errors, a file that exists but cannot be opened
 * (permissions), and the Debian package's folder not being installed. */
#ifndef ASVK_RUNTIME_DATA_DATASET_H
#define ASVK_RUNTIME_DATA_DATASET_H

#include <stdint.h>

#include "engine/status.h"

typedef struct asvk_dataset {
    uint32_t n;           /* images */
    uint32_t h, w, c;     /* each image is h x w x c, c = 1 or 3 */
    uint8_t *pixels;      /* n*h*w*c bytes, NHWC */
    int32_t *labels;      /* n labels, each in [0, classes) */
    uint32_t classes;
    char **class_names;   /* `classes` names, or NULL when the source has none */
    char *source;         /* where it came from, for messages */
} asvk_dataset;

/* Mean and standard deviation per channel of pixel/255 (channels past c are
 * unused); a batch holds (pixel/255 - mean[c]) / std[c]. */
typedef struct asvk_norm {
    float mean[3];
    float std[3];
} asvk_norm;

/* Measured over the 60000 training images (tests/runtime/test_data.c checks
 * them against the installed data). */
extern const asvk_norm asvk_norm_fashion_mnist;
/* The widely quoted statistics of the 50000 CIFAR-10 training images
 * (population std, not the often-copied 0.2023/0.1994/0.2010); not checked
 * by a test, as no CIFAR-10 copy is installed. asvk_dataset_norm measures
 * any dataset. */
extern const asvk_norm asvk_norm_cifar10;

typedef enum {
    ASVK_DATASET_TRAIN,
    ASVK_DATASET_TEST,
} asvk_dataset_part;

#define ASVK_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

/* The largest side an image folder is resized to (stb_image's own limit,
 * STBI_MAX_DIMENSIONS in stb_impl.c). */
#define ASVK_FOLDER_MAX_SIDE 16384u

/* An empty dataset (pixels and labels zeroed) for generated data; `source`
 * may be NULL. */
asvk_status asvk_dataset_create(uint32_t n, uint32_t h, uint32_t w, uint32_t c, uint32_t classes,
                                const char *source, asvk_dataset **out);
void asvk_dataset_destroy(asvk_dataset *d);

/* Copies `classes` names (replacing any). */
asvk_status asvk_dataset_set_class_names(asvk_dataset *d, const char *const *names);

static inline uint8_t *asvk_dataset_image(const asvk_dataset *d, uint32_t i) {
    return d->pixels + (uint64_t)i * d->h * d->w * d->c;
}

/* Checks sizes and that every label is in [0, classes): for datasets built
 * by hand before they reach a loader. */
asvk_status asvk_dataset_validate(const asvk_dataset *d);

/* Mean and std per channel of pixel/255 over the images `idx[0..count)`
 * (all images when idx is NULL). */
asvk_status asvk_dataset_norm(const asvk_dataset *d, const uint32_t *idx, uint32_t count, asvk_norm *out);

/* IDX files (MNIST's format), each gzip-compressed or not (found by content:
 * a file named *.gz must be gzip). Images: magic 0x00000803 (n, h, w) or
 * 0x00000804 (n, h, w, c with c = 1 or 3), unsigned bytes. Labels: magic
 * 0x00000801 (n), unsigned bytes; classes = largest label + 1. */
asvk_status asvk_dataset_load_idx(const char *images, const char *labels, asvk_dataset **out);

/* Fashion-MNIST from `dir` (NULL or "" for ASVK_FASHION_MNIST_DIR, which the
 * Debian package dataset-fashion-mnist installs): the *-idx?-ubyte files,
 * gzip-compressed or not; 10 classes with their names. */
asvk_status asvk_dataset_load_fashion_mnist(const char *dir, asvk_dataset_part part, asvk_dataset **out);

/* CIFAR-10's binary version from `dir` (or its cifar-10-batches-bin
 * sub-folder): train = data_batch_1.bin .. data_batch_5.bin (those present,
 * from 1 without gaps), test = test_batch.bin; records of 1 label byte and a
 * 32x32 image as 1024 red, 1024 green, 1024 blue bytes. Class names come from
 * batches.meta.txt when present. */
asvk_status asvk_dataset_load_cifar10(const char *dir, asvk_dataset_part part, asvk_dataset **out);

/* A folder with one sub-folder per class (classes sorted by name, byte
 * order; hidden entries skipped), each holding images that stb_image reads
 * (.png .jpg .jpeg .bmp .gif .tga .psd .pnm .ppm .pgm .pic .hdr; other files are
 * skipped; a Photoshop file of 4 or more channels is refused, see
 * imagefolder.c). Each image is converted to c channels (1: luma, 3: gray
 * replicated; alpha dropped) and resized to h x w (stretched, no aspect
 * preservation; stb_image_resize's default filters). */
asvk_status asvk_dataset_load_image_folder(const char *dir, uint32_t h, uint32_t w, uint32_t c, asvk_dataset **out);

#endif
