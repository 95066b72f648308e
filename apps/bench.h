/* asvk bench: shared pieces of the sub-benchmarks. */
#ifndef ASVK_APPS_BENCH_H
#define ASVK_APPS_BENCH_H

#include <cjson/cJSON.h>

#include "apps/cli.h"
#include "apps/stats.h"

/* {asvk_version, git_commit, device: {name, vendor, driver, vulkan, ...}, switches} */
cJSON *bench_stamp(const asvk_context *ctx);

/* Runs a recorded stream whose timestamps 0 and 1 bracket the measured work:
 * `warmup` runs, then `repeat` timed ones; fills *out (nanoseconds). */
asvk_status bench_time_stream(asvk_stream *s, int warmup, int repeat, asvk_summary *out);

cJSON *bench_summary_json(const asvk_summary *s, double flops);

/* The device's measured ceilings (bench peak): SGEMM with its tuned kernel
 * and large copies through the transfer engine and a shader. */
typedef struct bench_ceilings {
    uint32_t n;                 /* SGEMM n x n x n */
    char kernel[64];
    asvk_summary sgemm, copy, shader_copy, fma;
    double copy_bytes;          /* read + written per copy */
    double fma_flops;           /* per peak_fma dispatch */
    double gflops, copy_gbps, shader_gbps, fma_gflops;
} bench_ceilings;
asvk_status bench_ceilings_measure(asvk_context *ctx, bool quick, int warmup, int repeat, bench_ceilings *out);
/* The arithmetic ceiling alone (bench_ceilings' fma): *flops per timed run. */
asvk_status bench_fma_measure(asvk_context *ctx, bool quick, int warmup, int repeat, asvk_summary *out,
                              double *flops);

int bench_gemm(cli_args *a);
int bench_ops(cli_args *a);
int bench_train(cli_args *a);
int bench_peak(cli_args *a);
int bench_compare(cli_args *a);
int bench_allreduce(cli_args *a);

#endif
