/* Published AutoSpace search spaces (search_space.config: Motif matrices per
 * layer), read by the same asvk_space_load as space.json (told apart by
 * content), under both Motif readings; its own corpus starts from Motif files. */
#include "tests/fuzz/space_checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_space_input(data, size, "search_space.config");
    return 0;
}
