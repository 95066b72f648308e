#include "runtime/kernels/common.h"

asvk_status asvk_check_floats(asvk_buffer buf, uint64_t floats, const char *what) {
    if (!buf.block) return asvk_error_set(ASVK_ERR_INTERNAL, "%s: buffer not allocated", what);
    if (floats * 4 > buf.size)
        return asvk_error_set(ASVK_ERR_INTERNAL, "%s: needs %llu floats, buffer holds %llu", what,
                              (unsigned long long)floats, (unsigned long long)(buf.size / 4));
    return ASVK_OK;
}
