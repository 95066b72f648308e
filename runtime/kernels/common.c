#include "runtime/kernels/common.h"

asvk_status asvk_check_floats(asvk_buffer buf, uint64_t floats, const char *what) {
    if (!buf.block) return asvk_error_set(ASVK_ERR_INTERNAL, "%s: buffer not allocated", what);
    uint32_t e = asvk_buffer_elem_bytes(buf);
    if (floats * e > buf.size)
        return asvk_error_set(ASVK_ERR_INTERNAL, "%s: needs %llu elements, buffer holds %llu", what,
                              (unsigned long long)floats, (unsigned long long)(buf.size / e));
    return ASVK_OK;
}
