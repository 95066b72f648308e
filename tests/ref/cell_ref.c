#include "tests/ref/cell_ref.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/ref/eltwise_ref.h"

/* An NHWC tensor of doubles (v NULL: none, after a failure). */
typedef struct {
    uint32_t n, h, w, c;
    double *v;
} ten;

typedef struct {
    const asvk_cell *cell;
    const asvk_cell_shape *s;
    double eps;
    cell_ref_param_fn param;
    void *user;
    cell_ref_info info;
    bool failed;
} ref;

static ten ten_new(ref *r, uint32_t n, uint32_t h, uint32_t w, uint32_t c) {
    ten t = {n, h, w, c, calloc((size_t)n * h * w * c, sizeof(double))};
    if (!t.v && !r->failed) {
        fprintf(stderr, "cell_ref: out of memory\n");
        r->failed = true;
    }
    return t;
}

static uint64_t count(const ten *t) { return (uint64_t)t->n * t->h * t->w * t->c; }

static uint64_t at(const ten *t, uint32_t n, uint32_t y, uint32_t x, uint32_t c) {
    return (((uint64_t)n * t->h + y) * t->w + x) * t->c + c;
}

/* the parameter prefix + suffix */
static const double *P(ref *r, const char *prefix, const char *suffix) {
    char name[64];
    snprintf(name, sizeof name, "%s%s", prefix, suffix);
    const double *p = r->param(r->user, name);
    if (!p && !r->failed) {
        fprintf(stderr, "cell_ref: no parameter %s\n", name);
        r->failed = true;
    }
    return p;
}

static void note(ref *r, uint64_t code) { r->info.pattern = (r->info.pattern ^ code) * 0x100000001b3ull; }

/* act(z), noting which side of each kink z lies and how close it is */
static double act(ref *r, asvk_act a, double z) {
    double k[2];
    int nk = eltwise_ref_act_kinks(a, k);
    uint64_t side = 0;
    for (int i = 0; i < nk; i++) {
        side = side * 2 + (z > k[i]);
        if (fabs(z - k[i]) < r->info.margin) r->info.margin = fabs(z - k[i]);
    }
    if (nk) note(r, side);
    return eltwise_ref_act(a, z);
}

/* k x k convolution, stride, padding k/2; depthwise (one input channel per
 * output channel) or full; w OHWI. */
static ten conv(ref *r, const ten *x, const double *w, uint32_t cout, uint32_t k, uint32_t stride, bool dw) {
    uint32_t pad = k / 2, oh = (x->h + 2 * pad - k) / stride + 1, ow = (x->w + 2 * pad - k) / stride + 1;
    ten y = ten_new(r, x->n, oh, ow, cout);
    if (!y.v || !w || !x->v) return y;
    uint32_t cin = dw ? 1 : x->c;
    for (uint32_t n = 0; n < x->n; n++)
        for (uint32_t oy = 0; oy < oh; oy++)
            for (uint32_t ox = 0; ox < ow; ox++)
                for (uint32_t co = 0; co < cout; co++) {
                    double acc = 0;
                    for (uint32_t ky = 0; ky < k; ky++) {
                        long iy = (long)oy * stride + ky - pad;
                        if (iy < 0 || iy >= (long)x->h) continue;
                        for (uint32_t kx = 0; kx < k; kx++) {
                            long ix = (long)ox * stride + kx - pad;
                            if (ix < 0 || ix >= (long)x->w) continue;
                            const double *xp = x->v + at(x, n, (uint32_t)iy, (uint32_t)ix, 0);
                            const double *wp = w + (((uint64_t)co * k + ky) * k + kx) * cin;
                            if (dw) acc += xp[co] * wp[0];
                            else
                                for (uint32_t ci = 0; ci < cin; ci++) acc += xp[ci] * wp[ci];
                        }
                    }
                    y.v[at(&y, n, oy, ox, co)] = acc;
                }
    return y;
}

/* In place: act(gamma*(t - mean)/sqrt(var + eps) + beta), batch statistics,
 * biased variance; parameters `bn`.weight and `bn`.bias. */
static void bn_act(ref *r, ten *t, const char *bn, asvk_act a) {
    const double *gamma = P(r, bn, ".weight"), *beta = P(r, bn, ".bias");
    if (!t->v || !gamma || !beta) return;
    uint64_t pixels = (uint64_t)t->n * t->h * t->w;
    for (uint32_t c = 0; c < t->c; c++) {
        double mean = 0, var = 0;
        for (uint64_t p = 0; p < pixels; p++) mean += t->v[p * t->c + c];
        mean /= (double)pixels;
        for (uint64_t p = 0; p < pixels; p++) var += (t->v[p * t->c + c] - mean) * (t->v[p * t->c + c] - mean);
        var /= (double)pixels;
        double invstd = 1 / sqrt(var + r->eps);
        for (uint64_t p = 0; p < pixels; p++) {
            double *v = &t->v[p * t->c + c];
            *v = act(r, a, gamma[c] * (*v - mean) * invstd + beta[c]);
        }
    }
}

/* conv `name` -> BN `name`_bn -> act */
static ten conv_bn(ref *r, const ten *x, const char *name, uint32_t cout, uint32_t k, uint32_t stride, bool dw,
                   asvk_act a) {
    char bn[48];
    snprintf(bn, sizeof bn, "%s_bn", name);
    ten y = conv(r, x, P(r, name, ".weight"), cout, k, stride, dw);
    bn_act(r, &y, bn, a);
    return y;
}

/* k x k pool, stride, padding; average over the in-bounds elements, or
 * maximum (the first in scan order on ties, noted in the pattern). */
static ten pool(ref *r, const ten *x, bool max, uint32_t k, uint32_t stride, uint32_t pad) {
    uint32_t oh = (x->h + 2 * pad - k) / stride + 1, ow = (x->w + 2 * pad - k) / stride + 1;
    ten y = ten_new(r, x->n, oh, ow, x->c);
    if (!y.v || !x->v) return y;
    for (uint32_t n = 0; n < x->n; n++)
        for (uint32_t oy = 0; oy < oh; oy++)
            for (uint32_t ox = 0; ox < ow; ox++)
                for (uint32_t c = 0; c < x->c; c++) {
                    double sum = 0, best = -INFINITY;
                    uint32_t cnt = 0, arg = 0;
                    for (uint32_t ky = 0; ky < k; ky++) {
                        long iy = (long)oy * stride + ky - pad;
                        if (iy < 0 || iy >= (long)x->h) continue;
                        for (uint32_t kx = 0; kx < k; kx++) {
                            long ix = (long)ox * stride + kx - pad;
                            if (ix < 0 || ix >= (long)x->w) continue;
                            double v = x->v[at(x, n, (uint32_t)iy, (uint32_t)ix, c)];
                            sum += v;
                            if (v > best) best = v, arg = ky * k + kx;
                            cnt++;
                        }
                    }
                    if (!max) {
                        y.v[at(&y, n, oy, ox, c)] = sum / cnt;
                        continue;
                    }
                    y.v[at(&y, n, oy, ox, c)] = best;
                    note(r, arg);
                    double second = -INFINITY; /* the largest value below the maximum */
                    for (uint32_t ky = 0; ky < k; ky++) {
                        long iy = (long)oy * stride + ky - pad;
                        if (iy < 0 || iy >= (long)x->h) continue;
                        for (uint32_t kx = 0; kx < k; kx++) {
                            long ix = (long)ox * stride + kx - pad;
                            if (ix < 0 || ix >= (long)x->w) continue;
                            double v = x->v[at(x, n, (uint32_t)iy, (uint32_t)ix, c)];
                            if (v < best && v > second) second = v;
                        }
                    }
                    if (best - second < r->info.margin) r->info.margin = best - second;
                }
    return y;
}

static ten copy(ref *r, const ten *x) {
    ten y = ten_new(r, x->n, x->h, x->w, x->c);
    if (y.v && x->v) memcpy(y.v, x->v, count(x) * sizeof(double));
    return y;
}

/* edge j -> i applied to node j's value */
static ten edge(ref *r, uint32_t i, uint32_t j, const ten *x) {
    const asvk_cell *c = r->cell;
    const asvk_cell_shape *s = r->s;
    uint32_t stride = j == 0 ? s->stride : 1, mid = s->mid;
    char name[32];
    snprintf(name, sizeof name, "e%u_%u", i, j);
    switch ((asvk_cell_op)c->op[i][j]) {
    case ASVK_CELL_IDENTITY:
        if (stride == 1) return copy(r, x);
        if (s->pool_exact) return pool(r, x, false, stride, stride, 0);
        return pool(r, x, false, 2 * (stride / 2) + 1, stride, stride / 2);
    case ASVK_CELL_CONV1X1: return conv_bn(r, x, name, mid, 1, stride, false, c->act);
    case ASVK_CELL_CONV3X3: return conv_bn(r, x, name, mid, 3, stride, false, c->act);
    case ASVK_CELL_DW3X3: return conv_bn(r, x, name, mid, 3, stride, true, c->act);
    case ASVK_CELL_DW5X5: return conv_bn(r, x, name, mid, 5, stride, true, c->act);
    case ASVK_CELL_DW7X7: return conv_bn(r, x, name, mid, 7, stride, true, c->act);
    case ASVK_CELL_AVGPOOL3X3: return pool(r, x, false, 3, stride, 1);
    case ASVK_CELL_MAXPOOL3X3: return pool(r, x, true, 3, stride, 1);
    default:
        fprintf(stderr, "cell_ref: edge %u -> %u has operator %u\n", j, i, c->op[i][j]);
        r->failed = true;
        return (ten){0};
    }
}

/* node i from the values of nodes 0 .. i-1 */
static ten node(ref *r, uint32_t i, const ten *v) {
    const asvk_cell *c = r->cell;
    ten in[ASVK_CELL_MAX_NODES];
    uint32_t k = 0;
    for (uint32_t j = 0; j < i; j++)
        if (c->op[i][j] != ASVK_CELL_ZERO) in[k++] = edge(r, i, j, &v[j]);
    if (k == 0) {
        fprintf(stderr, "cell_ref: node %u has no input\n", i);
        r->failed = true;
        return (ten){0};
    }
    if (k == 1) return in[0];
    ten y = ten_new(r, in[0].n, in[0].h, in[0].w, in[0].c);
    double wgt[ASVK_CELL_MAX_NODES];
    for (uint32_t q = 0; q < k; q++) wgt[q] = 1;
    if (c->mix[i] == ASVK_MIX_WEIGHTED) {
        char mix[16];
        snprintf(mix, sizeof mix, "mix%u", i);
        const double *alpha = P(r, mix, ".alpha");
        if (alpha) {
            double m = alpha[0], sum = 0;
            for (uint32_t q = 1; q < k; q++) m = fmax(m, alpha[q]);
            for (uint32_t q = 0; q < k; q++) sum += wgt[q] = exp(alpha[q] - m);
            for (uint32_t q = 0; q < k; q++) wgt[q] /= sum;
        }
    }
    for (uint32_t q = 0; q < k; q++) {
        if (y.v && in[q].v)
            for (uint64_t e = 0; e < count(&y); e++) y.v[e] += wgt[q] * in[q].v[e];
        free(in[q].v);
    }
    return y;
}

/* h[n,:,:,c] *= hsigmoid(We relu(Wr mean_hw(h) + br) + be) */
static void squeeze_excite(ref *r, ten *h) {
    uint32_t mid = h->c, q = r->s->se_mid;
    const double *wr = P(r, "se.reduce", ".weight"), *br = P(r, "se.reduce", ".bias");
    const double *we = P(r, "se.expand", ".weight"), *be = P(r, "se.expand", ".bias");
    double *pooled = calloc(mid, sizeof *pooled), *hidden = calloc(q, sizeof *hidden);
    if (!h->v || !wr || !br || !we || !be || !pooled || !hidden) {
        if (!r->failed) fprintf(stderr, "cell_ref: squeeze-excitation failed\n");
        r->failed = true;
        free(pooled), free(hidden);
        return;
    }
    uint64_t hw = (uint64_t)h->h * h->w;
    for (uint32_t n = 0; n < h->n; n++) {
        memset(pooled, 0, mid * sizeof *pooled);
        for (uint64_t p = 0; p < hw; p++)
            for (uint32_t c = 0; c < mid; c++) pooled[c] += h->v[((uint64_t)n * hw + p) * mid + c];
        for (uint32_t c = 0; c < mid; c++) pooled[c] /= (double)hw;
        for (uint32_t o = 0; o < q; o++) {
            double z = br[o];
            for (uint32_t c = 0; c < mid; c++) z += wr[(uint64_t)o * mid + c] * pooled[c];
            hidden[o] = act(r, ASVK_ACT_RELU, z);
        }
        for (uint32_t c = 0; c < mid; c++) {
            double z = be[c];
            for (uint32_t o = 0; o < q; o++) z += we[(uint64_t)c * q + o] * hidden[o];
            double g = act(r, ASVK_ACT_HSIGMOID, z);
            for (uint64_t p = 0; p < hw; p++) h->v[((uint64_t)n * hw + p) * mid + c] *= g;
        }
    }
    free(pooled), free(hidden);
}

int cell_ref_forward(const asvk_cell *c, const asvk_cell_shape *s, uint32_t batch, double eps, const double *x,
                     cell_ref_param_fn param, void *user, double *y, cell_ref_info *info) {
    ref r = {c, s, eps, param, user, {INFINITY, 0xcbf29ce484222325ull}, false};
    ten in = {batch, s->in_h, s->in_w, s->in_c, (double *)x}; /* read only */
    ten v[ASVK_CELL_MAX_NODES] = {{0}};
    v[0] = c->expand != 1 ? conv_bn(&r, &in, "expand", s->mid, 1, 1, false, c->act) : copy(&r, &in);
    for (uint32_t i = 1; i < c->nodes && !r.failed; i++) v[i] = node(&r, i, v);
    ten h = v[c->nodes - 1];
    v[c->nodes - 1].v = NULL;
    if (c->se && !r.failed) squeeze_excite(&r, &h);
    ten out = r.failed ? (ten){0} : conv_bn(&r, &h, "project", s->out_c, 1, 1, false, ASVK_ACT_NONE);
    if (!r.failed && (out.h != s->out_h || out.w != s->out_w)) {
        fprintf(stderr, "cell_ref: output %ux%u, the shape says %ux%u\n", out.h, out.w, s->out_h, s->out_w);
        r.failed = true;
    }
    if (!r.failed) {
        for (uint64_t e = 0; e < count(&out); e++) y[e] = out.v[e] + (s->residual ? x[e] : 0);
    }
    for (uint32_t i = 0; i < ASVK_CELL_MAX_NODES; i++) free(v[i].v);
    free(h.v), free(out.v);
    if (info) *info = r.info;
    return r.failed ? -1 : 0;
}
