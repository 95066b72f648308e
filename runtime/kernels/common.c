#include "runtime/kernels/common.h"

asvk_status asvk_check_floats(asvk_buffer buf, uint64_t floats, const char *what) {
    if (!buf.block) return asvk_error_set(ASVK_ERR_INTERNAL, "%s: buffer not allocated", what);
    uint32_t e = asvk_buffer_elem_bytes(buf);
    if (floats * e > buf.size)
        return asvk_error_set(ASVK_ERR_INTERNAL, "%s: needs %llu elements, buffer holds %llu", what,
                              (unsigned long long)floats, (unsigned long long)(buf.size / e));
    return ASVK_OK;
}

asvk_status asvk_bn_load_check(const asvk_bn_load *l, uint64_t channels, const char *what) {
    if ((uint32_t)l->act > ASVK_ACT_HSIGMOID)
        return asvk_error_set(ASVK_ERR_INTERNAL, "%s: fused BN activation %d", what, l->act);
    const asvk_buffer *v[4] = {&l->gamma, &l->beta, &l->mean, &l->invstd};
    static const char *const names[4] = {"gamma", "beta", "mean", "invstd"};
    for (int i = 0; i < 4; i++) {
        if (!v[i]->block) return asvk_error_set(ASVK_ERR_INTERNAL, "%s: fused BN %s not allocated", what, names[i]);
        uint32_t e = asvk_buffer_elem_bytes(*v[i]);
        if (channels * e > v[i]->size)
            return asvk_error_set(ASVK_ERR_INTERNAL, "%s: fused BN %s needs %llu elements, holds %llu", what, names[i],
                                  (unsigned long long)channels, (unsigned long long)(v[i]->size / e));
    }
    return ASVK_OK;
}

asvk_fastdiv asvk_fastdiv_of(uint32_t d) {
    if (!d) d = 1; /* callers never divide by 0; 1 keeps the result defined */
    uint32_t l = 0;
    while ((1ull << l) < d) l++;
    /* (2^l - d) < d, so the quotient is below 2^32 */
    uint32_t magic = (uint32_t)((((1ull << l) - d) << 32) / d + 1);
    return (asvk_fastdiv){magic, (l < 1 ? l : 1) | (l > 0 ? l - 1 : 0) << 8};
}
