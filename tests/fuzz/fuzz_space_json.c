/* Learned search spaces (space.json, "asvk-space/1") as `asvk space show`,
 * `asvk search --space` and `asvk latency --space` read them (asvk_space_load). */
#include "tests/fuzz/space_checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_space_input(data, size, "space.json");
    return 0;
}
