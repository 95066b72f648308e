/* The CPU baseline for GEMM: OpenBLAS's cblas_sgemm, opened at run time
 * (Debian libopenblas0), so asvk runs without it and reports its absence. */
#ifndef ASVK_APPS_CPU_BLAS_H
#define ASVK_APPS_CPU_BLAS_H
#include <stdbool.h>
typedef struct cpu_blas cpu_blas;
/* NULL (and a reason in *why) when OpenBLAS is not installed. */
cpu_blas *cpu_blas_open(const char **why);
void cpu_blas_close(cpu_blas *b);
int cpu_blas_threads(const cpu_blas *b);
void cpu_blas_sgemm(const cpu_blas *b, bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda,
                    const float *bm, int ldb, float beta, float *c, int ldc);
#endif
