#include "tests/ref/loss_ref.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

/* log softmax of row z[0..k) into lp */
static void log_softmax(uint32_t k, const float *z, double *lp) {
    double m = z[0], s = 0;
    for (uint32_t j = 1; j < k; j++) m = z[j] > m ? z[j] : m;
    for (uint32_t j = 0; j < k; j++) s += exp((double)z[j] - m);
    for (uint32_t j = 0; j < k; j++) lp[j] = (double)z[j] - m - log(s);
}

static double target(uint32_t k, float eps, double label, uint32_t j) {
    return (1.0 - eps) * (j == (uint32_t)label ? 1.0 : 0.0) + (double)eps / k;
}

void loss_ref_ce_forward(uint32_t n, uint32_t k, float eps, const float *z, const float *labels, double *per_sample,
                         double *mean, uint32_t *correct) {
    double *lp = malloc((k ? k : 1) * sizeof *lp), total = 0;
    *correct = 0;
    for (uint32_t i = 0; i < n; i++) {
        const float *row = z + (uint64_t)i * k;
        double lab = labels[i], li = 0;
        if (!(lab >= 0 && lab < k)) {
            li = NAN;
        } else {
            log_softmax(k, row, lp);
            for (uint32_t j = 0; j < k; j++) li -= target(k, eps, lab, j) * lp[j];
            uint32_t am = 0;
            for (uint32_t j = 1; j < k; j++)
                if (row[j] > row[am]) am = j;
            *correct += am == (uint32_t)lab;
        }
        per_sample[i] = li;
        total += li;
    }
    *mean = total / n;
    free(lp);
}

void loss_ref_ce_backward(uint32_t n, uint32_t k, float eps, const float *z, const float *labels, double scale,
                          double *dz) {
    double *lp = malloc((k ? k : 1) * sizeof *lp);
    for (uint32_t i = 0; i < n; i++) {
        double lab = labels[i];
        bool valid = lab >= 0 && lab < k;
        log_softmax(k, z + (uint64_t)i * k, lp);
        for (uint32_t j = 0; j < k; j++)
            dz[(uint64_t)i * k + j] = valid ? (exp(lp[j]) - target(k, eps, lab, j)) * scale / n : NAN;
    }
    free(lp);
}

double loss_ref_mse_forward(uint64_t n, double scale, const float *y, const float *t) {
    double s = 0;
    for (uint64_t i = 0; i < n; i++) {
        double d = (double)y[i] - t[i];
        s += d * d;
    }
    return scale * s;
}

void loss_ref_mse_backward(uint64_t n, double scale, const float *y, const float *t, double dout, double *dy) {
    for (uint64_t i = 0; i < n; i++) dy[i] = 2 * scale * dout * ((double)y[i] - t[i]);
}
