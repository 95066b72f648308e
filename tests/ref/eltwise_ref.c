#include "tests/ref/eltwise_ref.h"

#include <math.h>

double eltwise_ref_act(asvk_act act, double z) {
    switch (act) {
    case ASVK_ACT_RELU: return z > 0 ? z : 0;
    case ASVK_ACT_RELU6: return z < 0 ? 0 : z > 6 ? 6 : z;
    case ASVK_ACT_HSWISH: return z * (z + 3 < 0 ? 0 : z + 3 > 6 ? 6 : z + 3) / 6;
    case ASVK_ACT_SWISH: return z / (1 + exp(-z));
    case ASVK_ACT_SIGMOID: return 1 / (1 + exp(-z));
    case ASVK_ACT_HSIGMOID: return (z + 3 < 0 ? 0 : z + 3 > 6 ? 6 : z + 3) / 6;
    default: return z;
    }
}

double eltwise_ref_act_grad(asvk_act act, double z) {
    switch (act) {
    case ASVK_ACT_RELU: return z > 0 ? 1 : 0;
    case ASVK_ACT_RELU6: return z > 0 && z < 6 ? 1 : 0;
    case ASVK_ACT_HSWISH: return z < -3 ? 0 : z <= 3 ? z / 3 + 0.5 : 1;
    case ASVK_ACT_SWISH: {
        double s = 1 / (1 + exp(-z));
        return s * (1 + z * (1 - s));
    }
    case ASVK_ACT_SIGMOID: {
        double s = 1 / (1 + exp(-z));
        return s * (1 - s);
    }
    case ASVK_ACT_HSIGMOID: return z > -3 && z < 3 ? 1.0 / 6 : 0;
    default: return 1;
    }
}

double eltwise_ref_act_lipschitz(asvk_act act) {
    switch (act) {
    case ASVK_ACT_HSWISH: return 1.5;   /* z/3 + 1/2 at z = 3 */
    case ASVK_ACT_SWISH: return 1.1;    /* max of s(1 + z(1-s)) is 1.0998 */
    case ASVK_ACT_SIGMOID: return 0.25;
    case ASVK_ACT_HSIGMOID: return 1.0 / 6;
    default: return 1;
    }
}

double eltwise_ref_act_curvature(asvk_act act) {
    switch (act) {
    case ASVK_ACT_HSWISH: return 1.0 / 3;
    case ASVK_ACT_SWISH: return 0.5;    /* swish''(0) = 1/2 is the maximum */
    case ASVK_ACT_SIGMOID: return 0.1;  /* max |s(1-s)(1-2s)| = 0.0962 */
    default: return 0;
    }
}

int eltwise_ref_act_kinks(asvk_act act, double *k) {
    switch (act) {
    case ASVK_ACT_RELU: k[0] = 0; return 1;
    case ASVK_ACT_RELU6: k[0] = 0, k[1] = 6; return 2;
    case ASVK_ACT_HSWISH:
    case ASVK_ACT_HSIGMOID: k[0] = -3, k[1] = 3; return 2;
    default: return 0;
    }
}

static uint32_t lowbias32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

int eltwise_ref_dropout_keep(uint32_t seed, uint32_t stream, uint32_t threshold, uint32_t i) {
    uint32_t key = lowbias32(seed ^ lowbias32(stream ^ 0x9e3779b9u));
    return (lowbias32(lowbias32(i ^ key) + key) >> 8) >= threshold;
}

uint32_t eltwise_ref_dropout_threshold(double p) { return (uint32_t)llround(p * 16777216.0); }

void eltwise_ref_chscale_forward(asvk_nhwc sh, const float *x, const float *s, double *y) {
    size_t hw = (size_t)sh.h * sh.w;
    for (size_t n = 0; n < sh.n; n++)
        for (size_t p = 0; p < hw; p++)
            for (size_t c = 0; c < sh.c; c++) {
                size_t i = (n * hw + p) * sh.c + c;
                y[i] = (double)x[i] * s[n * sh.c + c];
            }
}

void eltwise_ref_chscale_backward(asvk_nhwc sh, const float *x, const float *s, const float *dy, double *dx,
                                  double *ds) {
    size_t hw = (size_t)sh.h * sh.w;
    for (size_t n = 0; n < sh.n; n++)
        for (size_t c = 0; c < sh.c; c++) {
            double acc = 0;
            for (size_t p = 0; p < hw; p++) {
                size_t i = (n * hw + p) * sh.c + c;
                acc += (double)dy[i] * x[i];
                if (dx) dx[i] = (double)dy[i] * s[n * sh.c + c];
            }
            if (ds) ds[n * sh.c + c] = acc;
        }
}

void eltwise_ref_softmax(uint32_t k, const float *alpha, double *w) {
    double m = alpha[0], sum = 0;
    for (uint32_t j = 1; j < k; j++) m = alpha[j] > m ? alpha[j] : m;
    for (uint32_t j = 0; j < k; j++) sum += w[j] = exp(alpha[j] - m);
    for (uint32_t j = 0; j < k; j++) w[j] /= sum;
}

void eltwise_ref_mix_forward(uint32_t k, const float *const *x, const float *alpha, size_t n, double *y) {
    double w[32];
    eltwise_ref_softmax(k, alpha, w);
    for (size_t i = 0; i < n; i++) {
        double acc = 0;
        for (uint32_t j = 0; j < k; j++) acc += w[j] * x[j][i];
        y[i] = acc;
    }
}

void eltwise_ref_mix_backward(uint32_t k, const float *const *x, const float *alpha, const float *dy, size_t n,
                      double *const *dx, double *dalpha) {
    double w[32], d[32] = {0}, wd = 0; /* k <= 32 */
    eltwise_ref_softmax(k, alpha, w);
    for (uint32_t j = 0; j < k; j++) {
        for (size_t i = 0; i < n; i++) {
            d[j] += (double)dy[i] * x[j][i];
            if (dx && dx[j]) dx[j][i] = w[j] * dy[i];
        }
        wd += w[j] * d[j];
    }
    if (dalpha)
        for (uint32_t j = 0; j < k; j++) dalpha[j] = w[j] * (d[j] - wd);
}
