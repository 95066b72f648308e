/* CPU double-precision reference of the pooling kernels (runtime/kernels/pool.h):
 * PyTorch's AvgPool2d(count_include_pad=False) / MaxPool2d, ceil_mode=False. */
#ifndef ASVK_TESTS_REF_POOL_REF_H
#define ASVK_TESTS_REF_POOL_REF_H

#include "runtime/kernels/pool.h"

/* y = pool(x) over geometry xs (output geometry from asvk_pool2d_output).
 * ysum (may be NULL) receives, per output, the sum of |terms| (average: of
 * |x|/count over the window), for rounding-error bounds. */
void pool_ref_forward(asvk_pool_kind kind, const asvk_pool2d *p, asvk_nhwc xs, const float *x, double *y,
                      double *ysum);

/* dx = gradient of sum(pool(x) * dy) (no accumulation). Max pooling sends
 * dy to the first maximum of each window in scan order, found by a forward
 * scan (a scatter; the kernel gathers). dxsum (may be NULL) receives the sum
 * of |terms| added into each dx, and dxterms (may be NULL) their number. */
void pool_ref_backward(asvk_pool_kind kind, const asvk_pool2d *p, asvk_nhwc xs, const float *x, const float *dy,
                       double *dx, double *dxsum, uint32_t *dxterms);

#endif
