/* What the dataset harnesses check of a dataset that loaded. */
#ifndef ASVK_TESTS_FUZZ_DATASET_CHECKS_H
#define ASVK_TESTS_FUZZ_DATASET_CHECKS_H

#include "engine/status.h"
#include "runtime/data/dataset.h"

/* After a loader returned `st` and *d: a refusal has a message and no
 * dataset; a dataset passes asvk_dataset_validate, has its norm (as the
 * commands compute it), and every pixel and label is read (AddressSanitizer
 * sees short buffers). Frees the dataset. */
void fuzz_check_dataset(asvk_status st, asvk_dataset *d);

#endif
