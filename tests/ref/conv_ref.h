/* CPU double-precision reference of the convolution family (tests only):
 * NHWC activations, OHWI weights, as runtime/kernels/conv.h. Each result
 * comes with mag[i] = sqrt(K_i * sum of its squared terms), K_i the number of
 * terms it sums (mag >= sum |terms| by Cauchy-Schwarz); tests derive error
 * bounds from it. mag may be NULL. The backward-data reference scatters
 * (the kernels gather), so the two are computed independently. */
#ifndef ASVK_TESTS_REF_CONV_REF_H
#define ASVK_TESTS_REF_CONV_REF_H

#include "runtime/kernels/conv.h"

/* y = conv(x, w) + bias (bias may be NULL) */
void conv_ref_forward(const asvk_conv_desc *d, const float *x, const float *w, const float *bias, double *y,
                      double *mag);
/* dx = d(sum y*dy)/dx */
void conv_ref_backward_data(const asvk_conv_desc *d, const float *dy, const float *w, double *dx, double *mag);
/* dw = d(sum y*dy)/dw, OHWI */
void conv_ref_backward_weight(const asvk_conv_desc *d, const float *x, const float *dy, double *dw, double *mag);
/* db[c] = sum over pixels of dy[.][c] */
void conv_ref_backward_bias(const asvk_conv_desc *d, const float *dy, double *db, double *mag);

#endif
