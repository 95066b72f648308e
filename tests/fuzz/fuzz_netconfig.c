/* ProxylessNAS / once-for-all / AutoSpace net.config files, read by the same
 * asvk_arch_load as asvk JSON (told apart by content); its own corpus starts
 * from net.config files so the fuzzer spends its time in the importer. */
#include "runtime/io/arch.h"
#include "tests/fuzz/arch_checks.h"
#include "tests/fuzz/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[4096];
    fuzz_write(path, sizeof path, "net.config", data, size);
    asvk_error_clear();
    asvk_arch a;
    if (asvk_arch_load(path, &a) == ASVK_OK) fuzz_check_arch(&a), fuzz_check_arch_netconfig(&a);
    else if (!asvk_error_message()[0]) fuzz_fail("refused without a message");
    asvk_arch_free(&a);
    return 0;
}
