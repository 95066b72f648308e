/* CIFAR-10 binary batches as `--data cifar10:DIR` reads them
 * (asvk_dataset_load_cifar10: data_batch_N.bin or test_batch.bin, plain or
 * gzip-compressed, and batches.meta.txt).
 *
 * Input: a flags byte (bit 0: the test part, bit 1: files inside a
 * cifar-10-batches-bin sub-folder, bit 2: the second batch file is
 * data_batch_3.bin, a gap), then batches.meta.txt, the first batch file
 * (data_batch_1.bin or test_batch.bin), each as a 2-byte little-endian length
 * and its bytes, then the second batch file (the rest; none when empty). */
#include <stdio.h>

#include "runtime/data/dataset.h"
#include "tests/fuzz/common.h"
#include "tests/fuzz/dataset_checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t flags = data[0];
    const uint8_t *piece[3];
    size_t len[3];
    fuzz_split(data + 1, size - 1, piece, len, 3);
    const char *sub = flags & 2 ? "cifar/cifar-10-batches-bin" : "cifar";
    char name[128], path[4096];
    fuzz_clean();
    snprintf(name, sizeof name, "%s/batches.meta.txt", sub);
    fuzz_write(path, sizeof path, name, piece[0], len[0]);
    snprintf(name, sizeof name, "%s/%s", sub, flags & 1 ? "test_batch.bin" : "data_batch_1.bin");
    fuzz_write(path, sizeof path, name, piece[1], len[1]);
    if (len[2]) {
        snprintf(name, sizeof name, "%s/data_batch_%d.bin", sub, flags & 4 ? 3 : 2);
        fuzz_write(path, sizeof path, name, piece[2], len[2]);
    }
    asvk_error_clear();
    asvk_dataset *d = NULL;
    asvk_status st = asvk_dataset_load_cifar10(fuzz_path(path, sizeof path, "cifar"),
                                               flags & 1 ? ASVK_DATASET_TEST : ASVK_DATASET_TRAIN, &d);
    fuzz_check_dataset(st, d);
    return 0;
}
