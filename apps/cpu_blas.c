#include "apps/cpu_blas.h"

#include <dlfcn.h>
#include <stdlib.h>

typedef void (*sgemm_fn)(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                         const float *b, int ldb, float beta, float *c, int ldc);
struct cpu_blas {
    void *lib;
    sgemm_fn sgemm;
    int (*threads)(void);
};

cpu_blas *cpu_blas_open(const char **why) {
    static const char *names[] = {"libopenblas.so.0", "libopenblas.so"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        void *lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (!lib) continue;
        cpu_blas *b = calloc(1, sizeof *b);
        if (!b) { dlclose(lib); break; }
        b->lib = lib;
        b->sgemm = (sgemm_fn)dlsym(lib, "cblas_sgemm");
        b->threads = (int (*)(void))dlsym(lib, "openblas_get_num_threads");
        if (b->sgemm) return b;
        dlclose(lib);
        free(b);
    }
    *why = "OpenBLAS (libopenblas0) is not installed";
    return NULL;
}

void cpu_blas_close(cpu_blas *b) {
    if (!b) return;
    dlclose(b->lib);
    free(b);
}

int cpu_blas_threads(const cpu_blas *b) { return b->threads ? b->threads() : 0; }

void cpu_blas_sgemm(const cpu_blas *b, bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda,
                    const float *bm, int ldb, float beta, float *c, int ldc) {
    enum { RowMajor = 101, NoTrans = 111, Trans = 112 };
    b->sgemm(RowMajor, ta ? Trans : NoTrans, tb ? Trans : NoTrans, m, n, k, alpha, a, lda, bm, ldb, beta, c, ldc);
}
