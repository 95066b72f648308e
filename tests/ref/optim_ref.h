/* CPU double-precision reference of the optimizer steps (runtime/kernels/optim.h):
 * the formulas of torch.optim.SGD (dampening 0) and torch.optim.AdamW
 * (amsgrad off), one step from a given state. Each function also returns a
 * per-element rounding bound for an fp32 implementation of the same step
 * from the same (fp32) state, derived beside the code. */
#ifndef ASVK_TESTS_REF_OPTIM_REF_H
#define ASVK_TESTS_REF_OPTIM_REF_H

#include <stddef.h>

#include "runtime/kernels/optim.h"

/* One SGD step of element i from p, buf (the state before the step) and g:
 * writes p_new, buf_new (buf ignored and buf_new untouched without momentum)
 * and the bounds tol_p, tol_buf. */
void optim_ref_sgd(const asvk_sgd_config *c, double lr, size_t n, const float *g, const float *p, const float *buf,
                   double *p_new, double *buf_new, double *tol_p, double *tol_buf);

/* One AdamW step with step count t (1-based). */
void optim_ref_adamw(const asvk_adamw_config *c, double lr, double t, size_t n, const float *g, const float *p,
                     const float *m, const float *v, double *p_new, double *m_new, double *v_new, double *tol_p,
                     double *tol_m, double *tol_v);

#endif
