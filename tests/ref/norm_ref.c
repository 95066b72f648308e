#include "tests/ref/norm_ref.h"

#include <math.h>
#include <stdlib.h>

#include "tests/ref/eltwise_ref.h"

void norm_ref_bn_stats(asvk_nhwc sh, const float *x, double eps, double *mean, double *var, double *invstd) {
    size_t pixels = (size_t)sh.n * sh.h * sh.w;
    for (size_t c = 0; c < sh.c; c++) {
        double m = 0, v = 0;
        for (size_t p = 0; p < pixels; p++) m += x[p * sh.c + c];
        m /= (double)pixels;
        for (size_t p = 0; p < pixels; p++) v += (x[p * sh.c + c] - m) * (x[p * sh.c + c] - m);
        v /= (double)pixels;
        if (mean) mean[c] = m;
        if (var) var[c] = v;
        if (invstd) invstd[c] = 1 / sqrt(v + eps);
    }
}

void norm_ref_bn_forward_train(asvk_nhwc sh, asvk_act act, double eps, double momentum, const float *x,
                          const float *gamma, const float *beta, const float *rm, const float *rv, double *y,
                          double *mean, double *invstd, double *rm_out, double *rv_out) {
    size_t pixels = (size_t)sh.n * sh.h * sh.w;
    double *m = malloc(sh.c * sizeof *m), *v = malloc(sh.c * sizeof *v), *is = malloc(sh.c * sizeof *is);
    norm_ref_bn_stats(sh, x, eps, m, v, is);
    for (size_t p = 0; p < pixels; p++)
        for (size_t c = 0; c < sh.c; c++) {
            size_t i = p * sh.c + c;
            if (y) y[i] = eltwise_ref_act(act, gamma[c] * (x[i] - m[c]) * is[c] + beta[c]);
        }
    for (size_t c = 0; c < sh.c; c++) {
        if (mean) mean[c] = m[c];
        if (invstd) invstd[c] = is[c];
        if (rm_out) rm_out[c] = (1 - momentum) * rm[c] + momentum * m[c];
        if (rv_out) rv_out[c] = (1 - momentum) * rv[c] + momentum * v[c] * pixels / (pixels - 1);
    }
    free(m), free(v), free(is);
}

void norm_ref_bn_forward_infer(asvk_nhwc sh, asvk_act act, double eps, const float *x, const float *gamma,
                          const float *beta, const float *rm, const float *rv, double *y) {
    size_t pixels = (size_t)sh.n * sh.h * sh.w;
    for (size_t p = 0; p < pixels; p++)
        for (size_t c = 0; c < sh.c; c++) {
            size_t i = p * sh.c + c;
            y[i] = eltwise_ref_act(act, gamma[c] * (x[i] - rm[c]) / sqrt(rv[c] + eps) + beta[c]);
        }
}

void norm_ref_bn_backward(asvk_nhwc sh, asvk_act act, const float *x, const float *dy, const float *gamma,
                     const float *beta, const float *mean, const float *invstd, double *dx, double *dgamma,
                     double *dbeta) {
    size_t pixels = (size_t)sh.n * sh.h * sh.w;
    for (size_t c = 0; c < sh.c; c++) {
        double sg = 0, sgx = 0, a = (double)gamma[c] * invstd[c];
        for (size_t p = 0; p < pixels; p++) {
            size_t i = p * sh.c + c;
            double xh = (x[i] - (double)mean[c]) * invstd[c];
            double g = dy[i] * eltwise_ref_act_grad(act, gamma[c] * xh + beta[c]);
            sg += g;
            sgx += g * xh;
        }
        if (dgamma) dgamma[c] = sgx;
        if (dbeta) dbeta[c] = sg;
        if (!dx) continue;
        for (size_t p = 0; p < pixels; p++) {
            size_t i = p * sh.c + c;
            double xh = (x[i] - (double)mean[c]) * invstd[c];
            double g = dy[i] * eltwise_ref_act_grad(act, gamma[c] * xh + beta[c]);
            dx[i] = a * (g - sg / pixels - xh * sgx / pixels);
        }
    }
}
