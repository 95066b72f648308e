#include "tests/ref/linear_ref.h"

#include <math.h>

void linear_ref_forward(asvk_linear_dims d, const float *x, const float *w, const float *b, double *y, double *norm) {
    for (uint32_t r = 0; r < d.rows; r++)
        for (uint32_t o = 0; o < d.out; o++) {
            double s = b ? b[o] : 0, sq = 0;
            for (uint32_t i = 0; i < d.in; i++) {
                double t = (double)x[(uint64_t)r * d.in + i] * w[(uint64_t)o * d.in + i];
                s += t;
                sq += t * t;
            }
            y[(uint64_t)r * d.out + o] = s;
            if (norm) norm[(uint64_t)r * d.out + o] = sqrt(sq);
        }
}

void linear_ref_backward_data(asvk_linear_dims d, const float *dy, const float *w, double *dx, double *norm) {
    for (uint32_t r = 0; r < d.rows; r++)
        for (uint32_t i = 0; i < d.in; i++) {
            double s = 0, sq = 0;
            for (uint32_t o = 0; o < d.out; o++) {
                double t = (double)dy[(uint64_t)r * d.out + o] * w[(uint64_t)o * d.in + i];
                s += t;
                sq += t * t;
            }
            dx[(uint64_t)r * d.in + i] = s;
            if (norm) norm[(uint64_t)r * d.in + i] = sqrt(sq);
        }
}

void linear_ref_backward_weight(asvk_linear_dims d, const float *dy, const float *x, double *dw, double *norm) {
    for (uint32_t o = 0; o < d.out; o++)
        for (uint32_t i = 0; i < d.in; i++) {
            double s = 0, sq = 0;
            for (uint32_t r = 0; r < d.rows; r++) {
                double t = (double)dy[(uint64_t)r * d.out + o] * x[(uint64_t)r * d.in + i];
                s += t;
                sq += t * t;
            }
            dw[(uint64_t)o * d.in + i] = s;
            if (norm) norm[(uint64_t)o * d.in + i] = sqrt(sq);
        }
}

void linear_ref_column_sums(const float *x, uint32_t rows, uint32_t cols, uint32_t ld, double *db, double *norm) {
    for (uint32_t j = 0; j < cols; j++) {
        double s = 0, sq = 0;
        for (uint32_t r = 0; r < rows; r++) {
            double t = x[(uint64_t)r * ld + j];
            s += t;
            sq += t * t;
        }
        db[j] = s;
        if (norm) norm[j] = sqrt(sq);
    }
}
