/* asvk bench gemm: tuned SGEMM against the naive kernel and OpenBLAS. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/bench.h"
#include "apps/cpu_blas.h"
#include "runtime/blas.h"

#define MAX_SHAPES 32
#define NAIVE_MAX_FLOPS 2.2e9 /* naive runs up to 1024^3: beyond it takes minutes on lavapipe */

typedef struct { uint32_t m, n, k; bool ta, tb; } shape;

static const char *QUICK = "512x512x512,1024x1024x1024";
static const char *FULL = "256x256x256,512x512x512,1024x1024x1024,1024x1024x1024:nt,1024x1024x1024:tn,"
                          "2048x2048x2048,25088x64x144,3136x144x24,144x24x3136:tn,3136x24x144:nt";

static int parse_shapes(const cli_args *a, const char *text, shape *out, int *count) {
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", text);
    int n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        unsigned m, nn, k;
        char op[4] = "nn";
        int got = sscanf(t, "%ux%ux%u:%2s", &m, &nn, &k, op);
        if (got < 3 || !m || !nn || !k || m > 1u << 20 || nn > 1u << 20 || k > 1u << 20 ||
            (op[0] != 'n' && op[0] != 't') || (op[1] != 'n' && op[1] != 't') || n == MAX_SHAPES)
            return cli_usage_error(a, "bad gemm shape '%s' (write MxNxK or MxNxK:nt, at most %d shapes)", t, MAX_SHAPES);
        out[n++] = (shape){m, nn, k, op[0] == 't', op[1] == 't'};
    }
    *count = n;
    return n ? 0 : cli_usage_error(a, "no gemm shapes given");
}

typedef struct {
    asvk_context *ctx;
    int warmup, repeat;
    asvk_buffer A, B, C;
    float *hc; /* host copy of C for the agreement check */
} bench_env;

/* Times one kernel on one shape; leaves C on the device. */
static asvk_status time_gemm(bench_env *e, const asvk_gemm_tuning *t, const shape *sh, asvk_summary *out) {
    asvk_gemm_desc d = {.trans_a = sh->ta, .trans_b = sh->tb, .m = sh->m, .n = sh->n, .k = sh->k,
                        .alpha = 1.0f, .beta = 0.0f};
    asvk_stream *s;
    asvk_status st = asvk_stream_create(e->ctx, &s);
    if (st) return st;
    uint32_t t0, t1;
    if (!(st = asvk_stream_timestamp(s, &t0)) && !(st = asvk_blas_gemm_tuned(s, t, &d, e->A, e->B, e->C)) &&
        !(st = asvk_stream_timestamp(s, &t1)))
        st = bench_time_stream(s, e->warmup, e->repeat, out);
    asvk_stream_destroy(s);
    return st;
}

static void fill_random(float *v, size_t n, uint32_t seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = (float)((seed >> 8) * (1.0 / 16777216.0) * 2.0 - 1.0);
    }
}

static double time_cpu(const cpu_blas *cb, const shape *sh, const float *a, const float *b, float *c, int warmup,
                       int repeat, asvk_summary *out) {
    int lda = sh->ta ? (int)sh->m : (int)sh->k, ldb = sh->tb ? (int)sh->k : (int)sh->n;
    double *t = calloc((size_t)repeat, sizeof *t);
    if (!t) return -1;
    for (int i = 0; i < warmup + repeat; i++) {
        double t0 = asvk_now_ns();
        cpu_blas_sgemm(cb, sh->ta, sh->tb, (int)sh->m, (int)sh->n, (int)sh->k, 1.0f, a, lda, b, ldb, 0.0f, c, (int)sh->n);
        if (i >= warmup) t[i - warmup] = asvk_now_ns() - t0;
    }
    *out = asvk_summarize(t, (size_t)repeat);
    free(t);
    return 0;
}

static double spread(const asvk_summary *s) { return s->median > 0 ? (s->max - s->min) / s->median * 100.0 : 0; }

static asvk_status tune(bench_env *e, const shape *sh, bool json, cJSON *root) {
    static const char *candidates[] = {
        "reg:4x4:8x1", "reg:4x4:16x1", "reg:4x4:8x8", "reg:4x8:8x1", "reg:8x4:8x1", "reg:8x8:8x1",
        "reg:8x8:16x1", "reg:8x8:4x2", "reg:8x8:8x8", "reg:8x16:8x1", "reg:16x8:8x1", "reg:16x16:8x1",
        "reg:8x16:16x1", "reg:4x16:8x1", "reg:16x4:8x1", "smem:4x4:16x16:16", "smem:4x4:8x8:16",
        "smem:8x8:16x16:8", "smem:4x8:16x8:16", "naive",
    };
    double flops = 2.0 * sh->m * sh->n * sh->k;
    cJSON *arr = json ? cJSON_AddArrayToObject(root, "tuning") : NULL;
    double best = 0;
    const char *best_name = NULL;
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        asvk_gemm_tuning t;
        asvk_gemm_tuning_parse(candidates[i], &t);
        asvk_summary s;
        asvk_status st = time_gemm(e, &t, sh, &s);
        if (st == ASVK_ERR_LIMIT) continue; /* does not fit this device */
        if (st) return st;
        double gf = flops / s.median;
        if (gf > best) best = gf, best_name = candidates[i];
        if (arr) {
            cJSON *o = bench_summary_json(&s, flops);
            cJSON_AddStringToObject(o, "kernel", candidates[i]);
            cJSON_AddItemToArray(arr, o);
        } else {
            printf("  %-20s %8.2f GFLOP/s  (spread %.0f%%)\n", candidates[i], gf, spread(&s));
            fflush(stdout);
        }
    }
    if (!json && best_name) printf("best: %s at %.2f GFLOP/s\n", best_name, best);
    if (json && best_name) cJSON_AddStringToObject(root, "best", best_name);
    return ASVK_OK;
}

int bench_gemm(cli_args *a) {
    long repeat, warmup;
    if (!cli_int(a, "--repeat", 5, 5, 1000, &repeat) || !cli_int(a, "--warmup", 2, 0, 1000, &warmup)) return 2;
    shape shapes[MAX_SHAPES];
    int nshapes;
    int rc = parse_shapes(a, cli_str(a, "--shapes", cli_flag(a, "--quick") ? QUICK : FULL), shapes, &nshapes);
    if (rc) return rc;
    bool json = cli_flag(a, "--json");
    asvk_gemm_tuning tuned;
    const char *ktext = cli_str(a, "--kernel", NULL);
    if (ktext) {
        asvk_status st = asvk_gemm_tuning_parse(ktext, &tuned);
        if (st) return cli_fail(st);
    }

    bench_env e = {.warmup = (int)warmup, .repeat = (int)repeat};
    asvk_status st = cli_context(a, &e.ctx);
    if (st) return cli_fail(st);
    if ((st = asvk_context_require(e.ctx, "timestamps"))) return cli_context_done(e.ctx, cli_fail(st));
    if (!ktext && (st = asvk_gemm_tuning_default(e.ctx, &tuned))) return cli_context_done(e.ctx, cli_fail(st));
    char tname[64];
    asvk_gemm_tuning_format(&tuned, tname, sizeof tname);
    asvk_gemm_tuning naive;
    asvk_gemm_tuning_parse("naive", &naive);

    const char *why = NULL;
    cpu_blas *cb = cli_flag(a, "--no-cpu") ? NULL : cpu_blas_open(&why);
    if (cli_flag(a, "--no-cpu")) why = "skipped (--no-cpu)";

    cJSON *root = bench_stamp(e.ctx);
    cJSON_AddStringToObject(root, "benchmark", "gemm");
    cJSON_AddStringToObject(root, "kernel", tname);
    cJSON_AddNumberToObject(root, "repeat", (double)repeat);
    cJSON_AddNumberToObject(root, "warmup", (double)warmup);
    if (cb) cJSON_AddNumberToObject(root, "cpu_threads", cpu_blas_threads(cb));
    cJSON *results = cJSON_AddArrayToObject(root, "results");

    if (!json) {
        printf("device: %s (%s)   kernel: %s   median of %ld runs after %ld warm-up\n",
               asvk_context_device(e.ctx)->name, asvk_context_device(e.ctx)->driver, tname, repeat, warmup);
        if (cb) printf("cpu baseline: OpenBLAS sgemm, %d threads\n", cpu_blas_threads(cb));
        else printf("cpu baseline: %s\n", why);
        if (!cli_flag(a, "--tune"))
            printf("%-22s %10s %10s %7s %8s %10s %9s %9s\n", "shape MxNxK:op", "naive", "tuned", "x naive",
                   "spread", "openblas", "vs blas", "agree");
    }

    uint64_t max_a = 0, max_b = 0, max_c = 0;
    for (int i = 0; i < nshapes; i++) {
        uint64_t sa = (uint64_t)shapes[i].m * shapes[i].k, sb = (uint64_t)shapes[i].k * shapes[i].n,
                 sc = (uint64_t)shapes[i].m * shapes[i].n;
        if (sa > max_a) max_a = sa;
        if (sb > max_b) max_b = sb;
        if (sc > max_c) max_c = sc;
    }
    float *ha = malloc(max_a * 4), *hb = malloc(max_b * 4), *hc = malloc(max_c * 4), *hn = malloc(max_c * 4);
    if (!ha || !hb || !hc || !hn) { st = asvk_error_set(ASVK_ERR_OOM, "out of host memory for the gemm shapes"); goto done; }
    fill_random(ha, max_a, 1);
    fill_random(hb, max_b, 2);
    if ((st = asvk_buffer_alloc(e.ctx, max_a * 4, &e.A)) || (st = asvk_buffer_alloc(e.ctx, max_b * 4, &e.B)) ||
        (st = asvk_buffer_alloc(e.ctx, max_c * 4, &e.C)))
        goto done;
    if ((st = asvk_buffer_upload(e.ctx, e.A, 0, ha, max_a * 4)) || (st = asvk_buffer_upload(e.ctx, e.B, 0, hb, max_b * 4)))
        goto done;

    if (cli_flag(a, "--tune")) {
        if (!json) printf("tuning on %ux%ux%u:\n", shapes[0].m, shapes[0].n, shapes[0].k);
        st = tune(&e, &shapes[0], json, root);
        goto done;
    }

    for (int i = 0; i < nshapes; i++) {
        const shape *sh = &shapes[i];
        double flops = 2.0 * sh->m * sh->n * sh->k;
        uint64_t nc = (uint64_t)sh->m * sh->n;
        char label[64];
        snprintf(label, sizeof label, "%ux%ux%u:%c%c", sh->m, sh->n, sh->k, sh->ta ? 't' : 'n', sh->tb ? 't' : 'n');
        cJSON *r = cJSON_CreateObject();
        cJSON_AddItemToArray(results, r);
        cJSON_AddNumberToObject(r, "m", sh->m);
        cJSON_AddNumberToObject(r, "n", sh->n);
        cJSON_AddNumberToObject(r, "k", sh->k);
        cJSON_AddBoolToObject(r, "trans_a", sh->ta);
        cJSON_AddBoolToObject(r, "trans_b", sh->tb);

        asvk_summary sn = {0}, stuned, scpu = {0};
        bool have_naive = !cli_flag(a, "--no-baseline") && flops <= NAIVE_MAX_FLOPS;
        if (have_naive) {
            if ((st = time_gemm(&e, &naive, sh, &sn)) || (st = asvk_buffer_download(e.ctx, e.C, 0, hn, nc * 4))) goto done;
            cJSON_AddItemToObject(r, "naive", bench_summary_json(&sn, flops));
        }
        if ((st = time_gemm(&e, &tuned, sh, &stuned)) || (st = asvk_buffer_download(e.ctx, e.C, 0, hc, nc * 4))) goto done;
        cJSON_AddItemToObject(r, "tuned", bench_summary_json(&stuned, flops));
        double agree = -1;
        if (have_naive) {
            double maxd = 0, maxc = 0;
            for (uint64_t j = 0; j < nc; j++) {
                double dd = fabs((double)hc[j] - hn[j]);
                if (dd > maxd || isnan(dd)) maxd = isnan(dd) ? INFINITY : dd;
                if (fabs(hn[j]) > maxc) maxc = fabs(hn[j]);
            }
            agree = maxc > 0 ? maxd / maxc : maxd;
            cJSON_AddNumberToObject(r, "tuned_vs_naive_max_rel_diff", agree);
            cJSON_AddNumberToObject(r, "speedup_vs_naive", sn.median / stuned.median);
        }
        if (cb) {
            time_cpu(cb, sh, ha, hb, hc, (int)warmup, (int)repeat, &scpu);
            cJSON_AddItemToObject(r, "openblas", bench_summary_json(&scpu, flops));
            cJSON_AddNumberToObject(r, "ratio_vs_openblas", scpu.median / stuned.median);
        }
        if (!json) {
            char nb[16] = "-", sp[16] = "-", cpu[16] = "-", vs[16] = "-", ag[16] = "-";
            if (have_naive) {
                snprintf(nb, sizeof nb, "%.2f", flops / sn.median);
                snprintf(sp, sizeof sp, "%.1fx", sn.median / stuned.median);
                snprintf(ag, sizeof ag, "%.1e", agree);
            }
            if (cb) {
                snprintf(cpu, sizeof cpu, "%.2f", flops / scpu.median);
                snprintf(vs, sizeof vs, "%.0f%%", 100.0 * scpu.median / stuned.median);
            }
            printf("%-22s %10s %10.2f %7s %7.0f%% %10s %9s %9s\n", label, nb, flops / stuned.median, sp, spread(&stuned),
                   cpu, vs, ag);
            fflush(stdout);
        }
    }
    if (!json) printf("(GFLOP/s; 'x naive' and 'vs blas' are ratios of medians)\n");

done:
    if (!st && json) {
        char *text = cJSON_Print(root);
        printf("%s\n", text);
        free(text);
    }
    cJSON_Delete(root);
    free(ha), free(hb), free(hc), free(hn);
    asvk_buffer_free(e.ctx, &e.A);
    asvk_buffer_free(e.ctx, &e.B);
    asvk_buffer_free(e.ctx, &e.C);
    cpu_blas_close(cb);
    return cli_context_done(e.ctx, st ? cli_fail(st) : 0);
}
