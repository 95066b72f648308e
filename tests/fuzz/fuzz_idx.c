/* IDX files (Fashion-MNIST's format), plain or gzip-compressed, as `--data
 * fashion-mnist:DIR` reads them (asvk_dataset_load_fashion_mnist: the images
 * and labels files of a part, then asvk_dataset_load_idx).
 *
 * Input: a flags byte (bit 0: the images file is named *.gz, bit 1: the labels
 * file is, bit 2: the test part t10k-*), the labels file (2-byte
 * little-endian length, then its bytes), then the images file (the rest).
 * Gzip is found by content, so either file may be compressed whatever its name. */
#include <stdio.h>

#include "runtime/data/dataset.h"
#include "tests/fuzz/common.h"
#include "tests/fuzz/dataset_checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t flags = data[0];
    const uint8_t *piece[2];
    size_t len[2];
    fuzz_split(data + 1, size - 1, piece, len, 2);
    const char *part = flags & 4 ? "t10k" : "train";
    char name[64], path[4096];
    fuzz_clean();
    snprintf(name, sizeof name, "fmnist/%s-labels-idx1-ubyte%s", part, flags & 2 ? ".gz" : "");
    fuzz_write(path, sizeof path, name, piece[0], len[0]);
    snprintf(name, sizeof name, "fmnist/%s-images-idx3-ubyte%s", part, flags & 1 ? ".gz" : "");
    fuzz_write(path, sizeof path, name, piece[1], len[1]);
    asvk_error_clear();
    asvk_dataset *d = NULL;
    asvk_status st = asvk_dataset_load_fashion_mnist(fuzz_path(path, sizeof path, "fmnist"),
                                                     flags & 4 ? ASVK_DATASET_TEST : ASVK_DATASET_TRAIN, &d);
    fuzz_check_dataset(st, d);
    return 0;
}
