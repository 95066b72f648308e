#include "tests/ref/pool_ref.h"

#include <math.h>
#include <string.h>

/* Clipped window of output (oy, ox): rows [*y0, *y1), columns [*x0, *x1). */
static void window(const asvk_pool2d *p, asvk_nhwc xs, uint32_t oy, uint32_t ox, uint32_t *y0, uint32_t *y1,
                   uint32_t *x0, uint32_t *x1) {
    long ya = (long)oy * p->sh - p->ph, xa = (long)ox * p->sw - p->pw;
    long yb = ya + p->kh, xb = xa + p->kw;
    *y0 = (uint32_t)(ya < 0 ? 0 : ya), *y1 = (uint32_t)(yb > (long)xs.h ? (long)xs.h : yb);
    *x0 = (uint32_t)(xa < 0 ? 0 : xa), *x1 = (uint32_t)(xb > (long)xs.w ? (long)xs.w : xb);
}

static uint64_t at(asvk_nhwc s, uint32_t n, uint32_t y, uint32_t x, uint32_t c) {
    return (((uint64_t)n * s.h + y) * s.w + x) * s.c + c;
}

/* Index (in x) of the first maximum of a window, or of every element (for average). */
static uint64_t argmax(const asvk_pool2d *p, asvk_nhwc xs, const float *x, uint32_t n, uint32_t oy, uint32_t ox,
                       uint32_t c) {
    uint32_t y0, y1, x0, x1;
    window(p, xs, oy, ox, &y0, &y1, &x0, &x1);
    uint64_t best = at(xs, n, y0, x0, c);
    for (uint32_t iy = y0; iy < y1; iy++)
        for (uint32_t ix = x0; ix < x1; ix++) {
            uint64_t i = at(xs, n, iy, ix, c);
            if (x[i] > x[best]) best = i;
        }
    return best;
}

void pool_ref_forward(asvk_pool_kind kind, const asvk_pool2d *p, asvk_nhwc xs, const float *x, double *y,
                      double *ysum) {
    asvk_nhwc ys;
    if (asvk_pool2d_output(xs, p, &ys)) return;
    for (uint32_t n = 0; n < xs.n; n++)
        for (uint32_t oy = 0; oy < ys.h; oy++)
            for (uint32_t ox = 0; ox < ys.w; ox++)
                for (uint32_t c = 0; c < xs.c; c++) {
                    uint64_t o = at(ys, n, oy, ox, c);
                    if (kind == ASVK_POOL_MAX) {
                        y[o] = x[argmax(p, xs, x, n, oy, ox, c)];
                        if (ysum) ysum[o] = fabs(y[o]);
                        continue;
                    }
                    uint32_t y0, y1, x0, x1;
                    window(p, xs, oy, ox, &y0, &y1, &x0, &x1);
                    double s = 0, sa = 0, cnt = (double)(y1 - y0) * (x1 - x0);
                    for (uint32_t iy = y0; iy < y1; iy++)
                        for (uint32_t ix = x0; ix < x1; ix++) {
                            double v = x[at(xs, n, iy, ix, c)];
                            s += v;
                            sa += fabs(v);
                        }
                    y[o] = s / cnt;
                    if (ysum) ysum[o] = sa / cnt;
                }
}

void pool_ref_backward(asvk_pool_kind kind, const asvk_pool2d *p, asvk_nhwc xs, const float *x, const float *dy,
                       double *dx, double *dxsum, uint32_t *dxterms) {
    asvk_nhwc ys;
    if (asvk_pool2d_output(xs, p, &ys)) return;
    uint64_t nx = asvk_nhwc_count(xs);
    memset(dx, 0, nx * sizeof *dx);
    if (dxsum) memset(dxsum, 0, nx * sizeof *dxsum);
    if (dxterms) memset(dxterms, 0, nx * sizeof *dxterms);
    for (uint32_t n = 0; n < xs.n; n++)
        for (uint32_t oy = 0; oy < ys.h; oy++)
            for (uint32_t ox = 0; ox < ys.w; ox++)
                for (uint32_t c = 0; c < xs.c; c++) {
                    double g = dy[at(ys, n, oy, ox, c)];
                    if (kind == ASVK_POOL_MAX) {
                        uint64_t i = argmax(p, xs, x, n, oy, ox, c);
                        dx[i] += g;
                        if (dxsum) dxsum[i] += fabs(g);
                        if (dxterms) dxterms[i]++;
                        continue;
                    }
                    uint32_t y0, y1, x0, x1;
                    window(p, xs, oy, ox, &y0, &y1, &x0, &x1);
                    double share = g / ((double)(y1 - y0) * (x1 - x0));
                    for (uint32_t iy = y0; iy < y1; iy++)
                        for (uint32_t ix = x0; ix < x1; ix++) {
                            uint64_t i = at(xs, n, iy, ix, c);
                            dx[i] += share;
                            if (dxsum) dxsum[i] += fabs(share);
                            if (dxterms) dxterms[i]++;
                        }
                }
}
