/* asvk bench allreduce: the time of one all-reduce of float gradients against
 * their size, over the ranks of `mpirun -np N` (the cost model of
 * docs/scale.md and of the distributed step's buckets). No device: host
 * buffers, as the distributed step reduces them. Rank 0 prints. */
#include <stdio.h>
#include <stdlib.h>

#include "apps/bench.h"
#include "apps/ranks.h"
#include "apps/stats.h"

int bench_allreduce(cli_args *a) {
    asvk_dist *d = ranks_dist();
    int n = asvk_dist_size(d);
    bool json = cli_flag(a, "--json");
    long repeat;
    if (!cli_int(a, "--repeat", 20, 1, 100000, &repeat)) return 2;
    static const uint64_t sizes[] = {1024, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864};
    size_t ns = sizeof sizes / sizeof sizes[0];
    float *buf = malloc(sizes[ns - 1]);
    double *t = malloc((size_t)repeat * sizeof *t);
    if (!buf || !t) {
        free(buf), free(t);
        return cli_fail(asvk_error_set(ASVK_ERR_OOM, "out of host memory"));
    }
    if (ranks_leader() && !json)
        printf("all-reduce (sum, fp32) over %d rank%s (%s), median of %ld:\n%12s %12s %12s %14s\n", n, n == 1 ? "" : "s",
               asvk_dist_backend(d), repeat, "bytes", "median us", "min us", "bus GB/s");
    if (ranks_leader() && json) printf("{\"ranks\":%d,\"backend\":\"%s\",\"results\":[", n, asvk_dist_backend(d));
    asvk_status st = ASVK_OK;
    for (size_t i = 0; i < ns && !st; i++) {
        uint64_t floats = sizes[i] / 4;
        st = asvk_dist_barrier(d, 0, "the benchmark's start");
        for (long r = -2; r < repeat && !st; r++) { /* two warm-up runs */
            /* the last run's sum is checked: every rank holds n x its input */
            if (r == -2 || r == repeat - 1)
                for (uint64_t k = 0; k < floats; k++) buf[k] = (float)(k % 97);
            double t0 = asvk_now_ns();
            st = asvk_dist_allreduce(d, buf, floats, ASVK_DIST_F32, ASVK_DIST_SUM, "the benchmark");
            if (r >= 0) t[r] = (asvk_now_ns() - t0) * 1e-9;
        }
        for (uint64_t k = 0; k < floats && !st; k++)
            if (buf[k] != (float)(k % 97) * (float)n)
                st = asvk_error_set(ASVK_ERR_INTERNAL, "the all-reduce of %llu bytes summed element %llu to %g, not %g",
                                    (unsigned long long)sizes[i], (unsigned long long)k, buf[k],
                                    (double)((float)(k % 97) * (float)n));
        if (st) break;
        /* the slowest rank's time is the collective's */
        st = asvk_dist_allreduce(d, t, (size_t)repeat, ASVK_DIST_F64, ASVK_DIST_MAX, "the benchmark's times");
        asvk_summary sum = asvk_summarize(t, (size_t)repeat);
        double med = sum.median, mn = sum.min;
        /* bus bandwidth (NCCL's convention): a ring moves 2(n-1)/n of the bytes through each rank */
        double bus = n > 1 ? 2.0 * (n - 1) / n * (double)sizes[i] / med / 1e9 : 0;
        if (!st && ranks_leader() && !json)
            printf("%12llu %12.1f %12.1f %14.2f\n", (unsigned long long)sizes[i], med * 1e6, mn * 1e6, bus);
        if (!st && ranks_leader() && json)
            printf("%s{\"bytes\":%llu,\"median_us\":%.3f,\"min_us\":%.3f,\"bus_gbps\":%.4f}", i ? "," : "",
                   (unsigned long long)sizes[i], med * 1e6, mn * 1e6, bus);
    }
    if (ranks_leader() && json) printf("]}\n");
    free(buf);
    free(t);
    return st ? cli_fail(st) : 0;
}
