#include "tests/ref/optim_ref.h"

#include <math.h>

#define U (1.0 / 16777216.0) /* fp32 unit roundoff */

void optim_ref_sgd(const asvk_sgd_config *c, double lr, size_t n, const float *g, const float *p, const float *buf,
                   double *p_new, double *buf_new, double *tol_p, double *tol_buf) {
    double mom = c->momentum, wd = c->weight_decay;
    for (size_t i = 0; i < n; i++) {
        double d = g[i] + wd * p[i];
        double A = fabs(g[i]) + wd * fabs(p[i]); /* size of d's terms */
        double D = A;                            /* size of the final d's terms */
        if (mom != 0) {
            double b = mom * buf[i] + d;
            double B = mom * fabs(buf[i]) + A;
            buf_new[i] = b;
            /* d: 2 roundings (<= 2uA); buf: 2 more on terms of size B. 2x margin. */
            tol_buf[i] = 2 * 4 * U * B;
            d = c->nesterov ? d + mom * b : b;
            D = c->nesterov ? A + mom * B : B;
        }
        double pn = p[i] - lr * d;
        p_new[i] = pn;
        /* d carries <= 6uD (<= 3 levels of 2 roundings), lr*d one more
         * rounding, the subtraction u|p_new|; lr is the same float in both. 2x margin. */
        tol_p[i] = 2 * (U * fabs(pn) + 7 * U * lr * D) + 1e-38;
    }
}

void optim_ref_adamw(const asvk_adamw_config *c, double lr, double t, size_t n, const float *g, const float *p,
                     const float *m, const float *v, double *p_new, double *m_new, double *v_new, double *tol_p,
                     double *tol_m, double *tol_v) {
    double b1 = c->beta1, b2 = c->beta2, eps = c->eps, wd = c->weight_decay;
    double bc1 = 1 - pow(b1, t), bc2 = 1 - pow(b2, t);
    for (size_t i = 0; i < n; i++) {
        double gi = g[i];
        double mn = b1 * m[i] + (1 - b1) * gi, M = b1 * fabs(m[i]) + (1 - b1) * fabs(gi);
        double vn = b2 * v[i] + (1 - b2) * gi * gi;
        double denom = sqrt(vn) / sqrt(bc2) + eps;
        double upd = lr / bc1 * mn / denom;
        double pn = p[i] * (1 - lr * wd) - upd;
        m_new[i] = mn, v_new[i] = vn, p_new[i] = pn;
        /* m: 3 roundings (b1*m, (1-b1)*g, the sum; 1-b1 is exact for b1 in
         * [0.5, 1), else one more). v: g*g, two products, the sum: 4u of its
         * non-negative terms. 2x margins. */
        tol_m[i] = 2 * 4 * U * M + 1e-38;
        tol_v[i] = 2 * 4 * U * vn + 1e-38;
        /* The update lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps), term by term:
         * bias corrections <= 15u each (series or 1 - exp, see the shader),
         * lr/bc1 a 2.5-ulp division (5u), m 4u of M, sqrt(v) 5u + half of v's
         * 4u, sqrt(bc2) 5u + 8u, its division 5u, + eps u, the division
         * 5u, the product u: about 60u of lr/bc1 * M/denom; 64u allowed.
         * p * (1 - lr wd): 3 roundings (4u|p|); the subtraction u|p_new|. */
        tol_p[i] = 64 * U * lr / bc1 * M / denom + 4 * U * fabs(p[i]) + 2 * U * fabs(pn) + 1e-38;
    }
}
