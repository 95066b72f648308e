/* Basic graph ops on the BLAS kernels (runtime/ops/basic.c). */
#ifndef ASVK_RUNTIME_OPS_BASIC_H
#define ASVK_RUNTIME_OPS_BASIC_H

#include "runtime/ops/ops.h"

typedef struct { uint32_t m, n, k; bool accumulate; } asvk_matmul_attr;
typedef struct { bool accumulate; } asvk_grad_copy_attr;

/* y[m][n] = x[m][k] . w[n][k]^T */
asvk_val asvk_op_matmul(asvk_graph *g, const char *name, asvk_val x, asvk_val w, uint32_t m, uint32_t n, uint32_t k);
asvk_val asvk_op_add(asvk_graph *g, const char *name, asvk_val a, asvk_val b);
/* L = sum(x * r), an OUTPUT scalar; a loss op (backward: dx = r). */
asvk_val asvk_op_dot_loss(asvk_graph *g, const char *name, asvk_val x, asvk_val r);
/* Backward helper: grad(x) = dy, or += dy when x already has a contribution. */
asvk_status asvk_op_route_grad(asvk_graph *g, asvk_val dy, asvk_val x);

#endif
