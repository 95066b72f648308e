/* Latency tables ("asvk-latency/1") as `asvk search --lut`, `asvk evolve
 * --lut` and `asvk latency --check` read them (asvk_lut_load). A table that
 * loads must write and read back as itself. */
#include <string.h>

#include "autospace/latency.h"
#include "tests/fuzz/common.h"

static void same(const asvk_lut *a, const asvk_lut *b) {
    const asvk_lut_stamp *x = asvk_lut_stamp_of(a), *y = asvk_lut_stamp_of(b);
    if (asvk_lut_count(a) != asvk_lut_count(b) || asvk_lut_batch(a) != asvk_lut_batch(b) ||
        asvk_lut_overhead_ms(a) != asvk_lut_overhead_ms(b) || asvk_lut_per_node_ms(a) != asvk_lut_per_node_ms(b) ||
        asvk_lut_node_scale(a) != asvk_lut_node_scale(b) || asvk_lut_alone_scale(a) != asvk_lut_alone_scale(b))
        fuzz_fail("a latency table reads back with other figures (%u nodes, was %u)", asvk_lut_count(b),
                  asvk_lut_count(a));
    if (strcmp(x->device, y->device) || strcmp(x->vendor, y->vendor) || strcmp(x->driver, y->driver) ||
        strcmp(x->driver_version, y->driver_version) || strcmp(x->asvk_version, y->asvk_version) ||
        x->vendor_id != y->vendor_id || x->device_id != y->device_id)
        fuzz_fail("a latency table reads back with another stamp");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[4096], out[4096];
    fuzz_write(path, sizeof path, "lut.json", data, size);
    asvk_error_clear();
    asvk_lut *t;
    if (asvk_lut_load(path, &t) != ASVK_OK) {
        if (!asvk_error_message()[0]) fuzz_fail("refused without a message");
        return 0;
    }
    fuzz_path(out, sizeof out, "written.json");
    if (asvk_lut_save(t, out) != ASVK_OK) fuzz_fail("a loaded table does not write: %s", asvk_error_message());
    asvk_lut *back;
    if (asvk_lut_load(out, &back) != ASVK_OK) fuzz_fail("a written table does not read back: %s", asvk_error_message());
    same(t, back);
    asvk_lut_destroy(back);
    asvk_lut_destroy(t);
    return 0;
}
