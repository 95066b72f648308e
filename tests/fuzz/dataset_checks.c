#include "tests/fuzz/dataset_checks.h"

#include "tests/fuzz/common.h"

void fuzz_check_dataset(asvk_status st, asvk_dataset *d) {
    if (st != ASVK_OK) {
        if (d) fuzz_fail("a refused dataset was returned");
        if (!asvk_error_message()[0]) fuzz_fail("refused without a message");
        return;
    }
    if (!d) fuzz_fail("no dataset and no error");
    if (asvk_dataset_validate(d) != ASVK_OK) fuzz_fail("a loaded dataset is not valid: %s", asvk_error_message());
    asvk_norm norm;
    if (asvk_dataset_norm(d, NULL, 0, &norm) != ASVK_OK)
        fuzz_fail("a loaded dataset has no norm: %s", asvk_error_message());
    volatile uint32_t sink = 0;
    uint64_t bytes = (uint64_t)d->n * d->h * d->w * d->c;
    for (uint64_t i = 0; i < bytes; i++) sink += d->pixels[i];
    for (uint32_t i = 0; i < d->n; i++) sink += (uint32_t)d->labels[i];
    for (uint32_t i = 0; d->class_names && i < d->classes; i++) sink += (uint32_t)d->class_names[i][0];
    (void)sink;
    asvk_dataset_destroy(d);
}
