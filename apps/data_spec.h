/* --data specifications shared by train, eval and evolve:
 *   fashion-mnist[:DIR]      the default; DIR defaults to the Debian package's
 *   cifar10:DIR              CIFAR-10 binary batches
 *   folder:DIR[:RES[:C]]     one sub-folder per class (PNG/JPEG), resized to RES
 *                            (1..ASVK_FOLDER_MAX_SIDE) with C = 1 or 3 channels
 * The test part of a folder dataset is --test-data folder:DIR2, else none. */
#ifndef ASVK_APPS_DATA_SPEC_H
#define ASVK_APPS_DATA_SPEC_H

#include <stdbool.h>

#include "runtime/data/dataset.h"

typedef struct {
    asvk_dataset *train, *test; /* test may be NULL */
    asvk_norm norm;
    char name[64];
} data_sets;

/* resolution/channels: what the network takes; a folder's default size, and
 * the size every part must have (ASVK_ERR_USAGE naming the part's file
 * otherwise; 0 skips the check). Failures leave `out` empty. */
asvk_status data_open(const char *spec, const char *test_spec, uint32_t resolution, uint32_t channels, bool need_train,
                      data_sets *out);
void data_close(data_sets *d);

#endif
