/* asvk bench peak: the device's own measured ceilings, the denominators of
 * the "fraction of peak" that bench ops reports: a large SGEMM with the
 * device's tuned kernel, and large buffer copies (transfer engine and
 * shader); and the arithmetic ceiling (independent vec4 FMA chains, no
 * memory traffic), what no kernel of the device can exceed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/bench.h"
#include "runtime/blas.h"

static asvk_status time_copy(asvk_context *ctx, bool shader, asvk_buffer a, asvk_buffer b, uint64_t floats, int warmup,
                             int repeat, asvk_summary *out) {
    asvk_stream *s;
    asvk_status st = asvk_stream_create(ctx, &s);
    if (st) return st;
    uint32_t t0, t1;
    if (!(st = asvk_stream_timestamp(s, &t0))) {
        if (shader) /* one row: the kernel path of concat/split and strided copies */
            st = asvk_blas_copy2d(s, b, 0, a, 0, 1, (uint32_t)floats);
        else
            st = asvk_blas_copy(s, b, a, floats);
    }
    if (!st) st = asvk_stream_timestamp(s, &t1);
    if (!st) st = bench_time_stream(s, warmup, repeat, out);
    asvk_stream_destroy(s);
    return st;
}

asvk_status bench_fma_measure(asvk_context *ctx, bool quick, int warmup, int repeat, asvk_summary *out,
                              double *flops) {
    /* FMA chains: CPU devices ~4 GFLOP a run, GPUs ~69 */
    bool cpu = asvk_context_device(ctx)->type == ASVK_DEVICE_CPU;
    uint32_t inv = cpu ? 16384 : 1u << 18, iters = quick ? 512 : 2048;
    asvk_buffer y = {0};
    asvk_stream *s = NULL;
    uint32_t t0, t1;
    asvk_status st = asvk_context_require(ctx, "timestamps");
    if (!st) st = asvk_buffer_alloc(ctx, 16ull * inv, &y);
    if (!st) st = asvk_stream_create(ctx, &s);
    if (!st && !(st = asvk_stream_timestamp(s, &t0)) && !(st = asvk_blas_peak_fma(s, y, inv, iters, 0.9999f, 1e-4f)) &&
        !(st = asvk_stream_timestamp(s, &t1)))
        st = bench_time_stream(s, warmup, repeat, out);
    asvk_stream_destroy(s);
    asvk_buffer_free(ctx, &y);
    *flops = (double)inv * iters * 128;
    return st;
}

asvk_status bench_ceilings_measure(asvk_context *ctx, bool quick, int warmup, int repeat, bench_ceilings *out) {
    memset(out, 0, sizeof *out);
    const asvk_device_info *d = asvk_context_device(ctx);
    /* Sizes that take tens of milliseconds: CPU devices get smaller ones. */
    bool cpu = d->type == ASVK_DEVICE_CPU;
    uint32_t n = quick ? 512 : cpu ? 1024 : 4096;
    uint64_t copy_floats = (cpu ? 32ull : 128ull) << 18; /* 32 / 128 MiB */
    if (copy_floats * 4 > d->max_storage_buffer_range) copy_floats = d->max_storage_buffer_range / 4 / 1024 * 1024;
    out->n = n, out->copy_bytes = 2.0 * copy_floats * 4; /* read + write */
    asvk_buffer A = {0}, B = {0}, C = {0};
    asvk_gemm_tuning tune;
    asvk_status st = asvk_context_require(ctx, "timestamps");
    if (!st) st = asvk_gemm_tuning_default(ctx, &tune);
    if (st) return st;
    asvk_gemm_tuning_format(&tune, out->kernel, sizeof out->kernel);
    uint64_t big = (uint64_t)n * n > copy_floats ? (uint64_t)n * n : copy_floats;
    if ((st = asvk_buffer_alloc(ctx, big * 4, &A)) || (st = asvk_buffer_alloc(ctx, big * 4, &B)) ||
        (st = asvk_buffer_alloc(ctx, (uint64_t)n * n * 4, &C)))
        goto done;
    {
        asvk_stream *s;
        if ((st = asvk_stream_create(ctx, &s))) goto done;
        /* defined contents: zeros keep the arithmetic free of denormals and NaNs */
        st = asvk_stream_fill_u32(s, A, 0);
        if (!st) st = asvk_stream_fill_u32(s, B, 0);
        if (!st) st = asvk_stream_run(s);
        asvk_stream_destroy(s);
        if (st) goto done;
        asvk_gemm_desc g = {.m = n, .n = n, .k = n, .alpha = 1};
        if ((st = asvk_stream_create(ctx, &s))) goto done;
        uint32_t t0, t1;
        if (!(st = asvk_stream_timestamp(s, &t0)) && !(st = asvk_blas_gemm_tuned(s, &tune, &g, A, B, C)) &&
            !(st = asvk_stream_timestamp(s, &t1)))
            st = bench_time_stream(s, warmup, repeat, &out->sgemm);
        asvk_stream_destroy(s);
        if (st) goto done;
    }
    if ((st = bench_fma_measure(ctx, quick, warmup, repeat, &out->fma, &out->fma_flops))) goto done;
    if ((st = time_copy(ctx, false, A, B, copy_floats, warmup, repeat, &out->copy))) goto done;
    st = time_copy(ctx, true, A, B, copy_floats, warmup, repeat, &out->shader_copy);
    if (!st) {
        out->gflops = 2.0 * n * n * n / out->sgemm.median;
        out->copy_gbps = out->copy_bytes / out->copy.median;
        out->shader_gbps = out->copy_bytes / out->shader_copy.median;
        out->fma_gflops = out->fma_flops / out->fma.median;
    }
done:
    asvk_buffer_free(ctx, &A);
    asvk_buffer_free(ctx, &B);
    asvk_buffer_free(ctx, &C);
    return st;
}

int bench_peak(cli_args *a) {
    long repeat, warmup;
    if (!cli_int(a, "--repeat", 5, 5, 1000, &repeat) || !cli_int(a, "--warmup", 2, 0, 1000, &warmup)) return 2;
    bool json = cli_flag(a, "--json");
    asvk_context *ctx;
    asvk_status st = cli_context(a, &ctx);
    if (st) return cli_fail(st);
    const asvk_device_info *d = asvk_context_device(ctx);
    cJSON *root = bench_stamp(ctx);
    bench_ceilings c;
    if ((st = bench_ceilings_measure(ctx, cli_flag(a, "--quick"), (int)warmup, (int)repeat, &c))) goto done;
    cJSON_AddStringToObject(root, "benchmark", "peak");
    cJSON *jg = bench_summary_json(&c.sgemm, 2.0 * c.n * c.n * c.n);
    cJSON_AddNumberToObject(jg, "n", c.n);
    cJSON_AddStringToObject(jg, "kernel", c.kernel);
    cJSON_AddItemToObject(root, "sgemm", jg);
    cJSON *jf = bench_summary_json(&c.fma, c.fma_flops);
    cJSON_AddStringToObject(jf, "kernel", "peak_fma: 16 independent vec4 FMA chains an invocation");
    cJSON_AddItemToObject(root, "fma", jf);
    cJSON *jc = bench_summary_json(&c.copy, 0);
    cJSON_AddNumberToObject(jc, "bytes", c.copy_bytes);
    cJSON_AddNumberToObject(jc, "gb_per_s", c.copy_gbps);
    cJSON_AddItemToObject(root, "copy_transfer", jc);
    cJSON *js = bench_summary_json(&c.shader_copy, 0);
    cJSON_AddNumberToObject(js, "bytes", c.copy_bytes);
    cJSON_AddNumberToObject(js, "gb_per_s", c.shader_gbps);
    cJSON_AddItemToObject(root, "copy_shader", js);
    if (!json) {
        printf("device: %s (%s)\n", d->name, d->driver);
        printf("  sgemm %ux%ux%u (%s)    %9.2f GFLOP/s  (median of %ld, spread %.0f%%)\n", c.n, c.n, c.n, c.kernel,
               c.gflops, repeat, 100 * (c.sgemm.max - c.sgemm.min) / c.sgemm.median);
        printf("  fma chains (no memory)           %9.2f GFLOP/s  (the arithmetic ceiling; sgemm is %.0f%% of it)\n",
               c.fma_gflops, 100 * c.gflops / c.fma_gflops);
        printf("  copy, transfer engine (%.0f MiB) %9.2f GB/s   (read + write; spread %.0f%%)\n",
               c.copy_bytes / 2 / 1048576.0, c.copy_gbps, 100 * (c.copy.max - c.copy.min) / c.copy.median);
        printf("  copy, shader          (%.0f MiB) %9.2f GB/s   (spread %.0f%%)\n", c.copy_bytes / 2 / 1048576.0,
               c.shader_gbps, 100 * (c.shader_copy.max - c.shader_copy.min) / c.shader_copy.median);
    }
done:
    if (!st && json) {
        char *text = cJSON_Print(root);
        printf("%s\n", text);
        free(text);
    }
    cJSON_Delete(root);
    return cli_context_done(ctx, st ? cli_fail(st) : 0);
}
