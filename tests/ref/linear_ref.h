/* CPU double-precision reference of the linear layer (runtime/kernels/linear.h):
 * y = x W^T + b with x [rows][in], W [out][in], b [out], y [rows][out]. Each
 * function also returns, per output, the Euclidean norm of its product terms
 * (`norm`, may be NULL) for the rounding-error bounds of the tests. */
#ifndef ASVK_TESTS_REF_LINEAR_REF_H
#define ASVK_TESTS_REF_LINEAR_REF_H

#include "runtime/kernels/linear.h"

/* y = x W^T (+ b when b is not NULL) */
void linear_ref_forward(asvk_linear_dims d, const float *x, const float *w, const float *b, double *y, double *norm);
/* dx = dy W */
void linear_ref_backward_data(asvk_linear_dims d, const float *dy, const float *w, double *dx, double *norm);
/* dW = dy^T x */
void linear_ref_backward_weight(asvk_linear_dims d, const float *dy, const float *x, double *dw, double *norm);
/* db[j] = sum over rows of x[r*ld + j] (the column sums), j < cols */
void linear_ref_column_sums(const float *x, uint32_t rows, uint32_t cols, uint32_t ld, double *db, double *norm);

#endif
