/* safetensors checkpoints as `asvk eval --checkpoint` opens them
 * (asvk_safetensors_read: the whole file, fully validated). Every tensor's
 * data is read through (so AddressSanitizer sees any offset that points
 * outside the buffer), and a file that reads must write and read back with
 * the same tensors and metadata. */
#include <stdlib.h>
#include <string.h>

#include "runtime/io/safetensors.h"
#include "tests/fuzz/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[4096], out[4096];
    fuzz_write(path, sizeof path, "model.safetensors", data, size);
    asvk_error_clear();
    asvk_safetensors *st;
    if (asvk_safetensors_read(path, &st) != ASVK_OK) {
        if (!asvk_error_message()[0]) fuzz_fail("refused without a message");
        return 0;
    }
    size_t n = asvk_safetensors_count(st), nm = asvk_safetensors_meta_count(st);
    asvk_st_tensor *t = calloc(n ? n : 1, sizeof *t);
    asvk_st_meta *m = calloc(nm ? nm : 1, sizeof *m);
    if (!t || !m) fuzz_fail("out of memory");
    volatile uint32_t sink = 0;
    for (size_t i = 0; i < n; i++) {
        t[i] = *asvk_safetensors_tensor(st, i);
        uint64_t count = 1;
        for (uint32_t d = 0; d < t[i].rank; d++) count *= t[i].shape[d];
        for (uint64_t k = 0; k < count; k++) {
            uint32_t bits;
            memcpy(&bits, &t[i].data[k], 4);
            sink ^= bits;
        }
        if (asvk_safetensors_find(st, t[i].name) != asvk_safetensors_tensor(st, i))
            fuzz_fail("tensor '%s' is not found by its name", t[i].name);
    }
    for (size_t i = 0; i < nm; i++) m[i] = *asvk_safetensors_meta(st, i);
    (void)sink;
    fuzz_path(out, sizeof out, "written.safetensors");
    if (asvk_safetensors_write(out, t, n, m, nm) != ASVK_OK)
        fuzz_fail("a file that reads does not write: %s", asvk_error_message());
    asvk_safetensors *back;
    if (asvk_safetensors_read(out, &back) != ASVK_OK)
        fuzz_fail("a written file does not read back: %s", asvk_error_message());
    if (asvk_safetensors_count(back) != n || asvk_safetensors_meta_count(back) != nm)
        fuzz_fail("a file reads back with other tensors or metadata");
    for (size_t i = 0; i < n; i++) {
        const asvk_st_tensor *b = asvk_safetensors_find(back, t[i].name);
        uint64_t count = 1;
        for (uint32_t d = 0; d < t[i].rank; d++) count *= t[i].shape[d];
        if (!b || b->rank != t[i].rank || memcmp(b->shape, t[i].shape, t[i].rank * sizeof b->shape[0]) ||
            memcmp(b->data, t[i].data, count * 4))
            fuzz_fail("tensor '%s' reads back different", t[i].name);
    }
    for (size_t i = 0; i < nm; i++) {
        const char *v = asvk_safetensors_meta_get(back, m[i].key);
        if (!v || strcmp(v, m[i].value)) fuzz_fail("metadata '%s' reads back different", m[i].key);
    }
    asvk_safetensors_free(back);
    free(t), free(m);
    asvk_safetensors_free(st);
    return 0;
}
