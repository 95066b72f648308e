#include "tests/ref/conv_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Visits every (output pixel, tap, input channel, output channel) product of
 * the convolution once, with the indices of its x, w and y elements. */
typedef void (*visit_fn)(void *u, uint64_t xi, uint64_t wi, uint64_t yi);

static void each_term(const asvk_conv_desc *d, visit_fn f, void *u) {
    asvk_nhwc o = asvk_conv_out(d);
    uint32_t cg = d->in.c / d->groups, cog = d->cout / d->groups;
    for (uint32_t n = 0; n < o.n; n++)
        for (uint32_t oy = 0; oy < o.h; oy++)
            for (uint32_t ox = 0; ox < o.w; ox++)
                for (uint32_t co = 0; co < d->cout; co++) {
                    uint32_t g = co / cog;
                    uint64_t yi = (((uint64_t)n * o.h + oy) * o.w + ox) * d->cout + co;
                    for (uint32_t ky = 0; ky < d->kh; ky++) {
                        int64_t iy = (int64_t)oy * d->sh + ky - d->ph;
                        if (iy < 0 || iy >= d->in.h) continue;
                        for (uint32_t kx = 0; kx < d->kw; kx++) {
                            int64_t ix = (int64_t)ox * d->sw + kx - d->pw;
                            if (ix < 0 || ix >= d->in.w) continue;
                            for (uint32_t ci = 0; ci < cg; ci++) {
                                uint64_t xi = (((uint64_t)n * d->in.h + iy) * d->in.w + ix) * d->in.c + g * cg + ci;
                                uint64_t wi = (((uint64_t)co * d->kh + ky) * d->kw + kx) * cg + ci;
                                f(u, xi, wi, yi);
                            }
                        }
                    }
                }
}

typedef struct {
    const float *a, *b; /* the two factors */
    int ia, ib, io;     /* which index (0 x, 1 w, 2 y) each factor and the output use */
    double *out, *sq, *cnt;
} acc_state;

static void accumulate(void *u, uint64_t xi, uint64_t wi, uint64_t yi) {
    acc_state *s = u;
    uint64_t idx[3] = {xi, wi, yi};
    double t = (double)s->a[idx[s->ia]] * s->b[idx[s->ib]];
    uint64_t o = idx[s->io];
    s->out[o] += t;
    s->sq[o] += t * t;
    s->cnt[o] += 1;
}

/* out[i] = sum of the products a*b with output index i (+ bias[i % cout] as
 * one more term when bias is given). */
static void run(const asvk_conv_desc *d, const float *a, int ia, const float *b, int ib, int io, uint64_t n,
                const float *bias, double *out, double *mag) {
    double *sq = calloc(n, sizeof *sq), *cnt = calloc(n, sizeof *cnt);
    memset(out, 0, n * sizeof *out);
    acc_state s = {a, b, ia, ib, io, out, sq, cnt};
    each_term(d, accumulate, &s);
    for (uint64_t i = 0; bias && i < n; i++) {
        double t = bias[i % d->cout];
        out[i] += t, sq[i] += t * t, cnt[i] += 1;
    }
    if (mag)
        for (uint64_t i = 0; i < n; i++) mag[i] = sqrt(cnt[i] * sq[i]);
    free(sq), free(cnt);
}

void conv_ref_forward(const asvk_conv_desc *d, const float *x, const float *w, const float *bias, double *y,
                      double *mag) {
    run(d, x, 0, w, 1, 2, asvk_nhwc_count(asvk_conv_out(d)), bias, y, mag);
}

void conv_ref_backward_data(const asvk_conv_desc *d, const float *dy, const float *w, double *dx, double *mag) {
    run(d, dy, 2, w, 1, 0, asvk_nhwc_count(d->in), NULL, dx, mag);
}

void conv_ref_backward_weight(const asvk_conv_desc *d, const float *x, const float *dy, double *dw, double *mag) {
    run(d, x, 0, dy, 2, 1, asvk_conv_weight_count(d), NULL, dw, mag);
}

void conv_ref_backward_bias(const asvk_conv_desc *d, const float *dy, double *db, double *mag) {
    asvk_nhwc o = asvk_conv_out(d);
    uint64_t pix = asvk_nhwc_pixels(o);
    for (uint32_t c = 0; c < d->cout; c++) {
        double s = 0, sq = 0;
        for (uint64_t p = 0; p < pix; p++) {
            double t = dy[p * d->cout + c];
            s += t, sq += t * t;
        }
        db[c] = s;
        if (mag) mag[c] = sqrt((double)pix * sq);
    }
}
