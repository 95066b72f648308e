/* asvk architecture files (asvk-arch/1) as `asvk train --arch`, `asvk cost`
 * and `asvk evolve --reference` read them: asvk_arch_load (the file, then
 * asvk_arch_parse, which tells asvk JSON from a net.config by content). */
#include "runtime/io/arch.h"
#include "tests/fuzz/arch_checks.h"
#include "tests/fuzz/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[4096];
    fuzz_write(path, sizeof path, "net.json", data, size);
    asvk_error_clear();
    asvk_arch a;
    if (asvk_arch_load(path, &a) == ASVK_OK) fuzz_check_arch(&a), fuzz_check_arch_netconfig(&a);
    else if (!asvk_error_message()[0]) fuzz_fail("refused without a message");
    asvk_arch_free(&a);
    return 0;
}
