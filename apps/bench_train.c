/* asvk bench train: training-step and inference throughput of a network. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "apps/bench.h"
#include "apps/stats.h"
#include "runtime/trainer.h"

#define MAX_KINDS 64

typedef struct {
    const char *name[MAX_KINDS];
    double ns[MAX_KINDS];
    uint32_t count[MAX_KINDS];
    uint32_t kinds;
    double total;
} profile_sum;

static void on_node(void *user, uint32_t node, const char *op, const asvk_timing *tm) {
    (void)node;
    double ns = tm->median_ns;
    profile_sum *p = user;
    uint32_t k = 0;
    while (k < p->kinds && strcmp(p->name[k], op) != 0) k++;
    if (k == p->kinds) {
        if (k == MAX_KINDS) return;
        p->name[p->kinds++] = op;
    }
    p->ns[k] += ns;
    p->count[k]++;
    p->total += ns;
}

static void print_profile(const char *title, profile_sum *p, cJSON *into) {
    /* sort kinds by time, largest first */
    for (uint32_t i = 0; i < p->kinds; i++)
        for (uint32_t j = i + 1; j < p->kinds; j++)
            if (p->ns[j] > p->ns[i]) {
                const char *n = p->name[i]; p->name[i] = p->name[j]; p->name[j] = n;
                double d = p->ns[i]; p->ns[i] = p->ns[j]; p->ns[j] = d;
                uint32_t c = p->count[i]; p->count[i] = p->count[j]; p->count[j] = c;
            }
    if (into) {
        cJSON *arr = cJSON_AddArrayToObject(into, title);
        for (uint32_t i = 0; i < p->kinds; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "op", p->name[i]);
            cJSON_AddNumberToObject(o, "nodes", p->count[i]);
            cJSON_AddNumberToObject(o, "ms", p->ns[i] / 1e6);
            cJSON_AddItemToArray(arr, o);
        }
        return;
    }
    printf("\n%s: %.2f ms in %u kinds of op\n  %-20s %6s %10s %7s\n", title, p->total / 1e6, p->kinds, "op", "nodes",
           "ms", "share");
    for (uint32_t i = 0; i < p->kinds; i++)
        printf("  %-20s %6u %10.3f %6.1f%%\n", p->name[i], p->count[i], p->ns[i] / 1e6, 100 * p->ns[i] / p->total);
}

/* The process's peak resident set and the device memory the engine used and
 * holds, read right after the timed training steps (before the inference
 * graphs exist), as PyTorch's side (tools/torch_bench.py) reads its own. */
typedef struct { double rss_mb, device_peak_mb, device_reserved_mb; } step_mem;

static asvk_status step_memory(asvk_context *ctx, step_mem *out) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return asvk_error_set(ASVK_ERR_INTERNAL, "getrusage failed");
    asvk_memory_stats m;
    asvk_memory_stats_get(ctx, &m);
    out->rss_mb = ru.ru_maxrss / 1024.0; /* KiB on Linux */
    out->device_peak_mb = m.peak_used / 1048576.0, out->device_reserved_mb = m.reserved / 1048576.0;
    return ASVK_OK;
}

/* Start-up, in ms after main() began: a Vulkan device; the trainer (graph,
 * plan, parameters on the device, the training step recorded: its pipelines
 * created); the first training step done (one submit); and the pipelines
 * created by then and the time they took. */
typedef struct {
    double device_ms, trainer_ms, first_step_ms;
    double pipeline_ms[2]; /* pipelines' creation time by the trainer's mark and by the first step's */
    uint32_t pipelines[2];
} startup;

static double since_main_ms(double ns) { return (ns - asvk_main_ns) / 1e6; }

/* Marks the trainer ready (now) and runs one training step, its first. */
static asvk_status first_step(asvk_context *ctx, asvk_trainer *t, startup *up) {
    up->trainer_ms = since_main_ms(asvk_now_ns());
    up->pipelines[0] = asvk_context_pipeline_count(ctx), up->pipeline_ms[0] = asvk_context_pipeline_ns(ctx) / 1e6;
    double ns[3];
    asvk_status st = asvk_trainer_time_step(t, 0, 1, &ns[0], &ns[1], &ns[2]);
    up->first_step_ms = since_main_ms(asvk_now_ns());
    up->pipelines[1] = asvk_context_pipeline_count(ctx), up->pipeline_ms[1] = asvk_context_pipeline_ns(ctx) / 1e6;
    return st;
}

int bench_train(cli_args *a) {
    long repeat, warmup, batch;
    if (!cli_int(a, "--repeat", 5, 5, 1000, &repeat) || !cli_int(a, "--warmup", 2, 0, 1000, &warmup) ||
        !cli_int(a, "--batch", 128, 1, 65536, &batch))
        return 2;
    bool json = cli_flag(a, "--json");
    asvk_arch arch;
    asvk_status st = asvk_arch_open(cli_str(a, "--arch", "fmnist"), &arch);
    if (st) return cli_fail(st);
    asvk_context *ctx;
    if ((st = cli_context(a, &ctx))) {
        asvk_arch_free(&arch);
        return cli_fail(st);
    }
    startup up = {.device_ms = since_main_ms(asvk_now_ns())};
    asvk_train_config cfg;
    asvk_train_config_default(&cfg);
    cfg.batch = (uint32_t)batch;
    cfg.fp16 = cli_flag(a, "--fp16");
    asvk_trainer *t = NULL;
    cJSON *root = bench_stamp(ctx);
    double tr[3], inf[3], lat[3];
    step_mem mem = {0};
    asvk_cost cost = {0};
    asvk_summary fma;
    double fma_flops = 0;
    if (!(st = asvk_context_require(ctx, "timestamps")) && !(st = asvk_arch_cost(&arch, 0, &cost)) &&
        !(st = asvk_trainer_create(ctx, &arch, &cfg, 1, &t)) && !(st = first_step(ctx, t, &up)) &&
        !(st = asvk_trainer_time_step(t, (uint32_t)warmup, (uint32_t)repeat, &tr[0], &tr[1], &tr[2])) &&
        !(st = step_memory(ctx, &mem)) &&
        !(st = asvk_trainer_time_eval(t, (uint32_t)batch, (uint32_t)warmup, (uint32_t)repeat, &inf[0], &inf[1], &inf[2])) &&
        !(st = asvk_trainer_time_eval(t, 1, (uint32_t)warmup, (uint32_t)repeat, &lat[0], &lat[1], &lat[2])) &&
        !(st = bench_fma_measure(ctx, false, (int)warmup, (int)repeat, &fma, &fma_flops))) {
        const asvk_plan_report *plan = asvk_trainer_plan(t);
        /* effective GFLOP/s: the multiply-add work of each graph over its median time, and the share
         * of the FMA ceiling measured in this process (bench peak's chains) */
        double fma_gflops = fma_flops / fma.median, work[3] = {0}, gfl[3];
        const double med[3] = {tr[0], inf[0], lat[0]};
        for (int i = 0; i < 3; i++) {
            const asvk_graph *g = asvk_trainer_graph(t, i == 0, i == 2 ? 1 : (uint32_t)batch);
            work[i] = g ? asvk_graph_matmul_flops(g) : 0;
            gfl[i] = work[i] / med[i];
        }
        cJSON_AddStringToObject(root, "benchmark", "train");
        cJSON_AddStringToObject(root, "arch", arch.name);
        cJSON_AddNumberToObject(root, "batch", (double)batch);
        cJSON_AddBoolToObject(root, "fp16_activations", cfg.fp16);
        cJSON_AddNumberToObject(root, "params", (double)cost.params);
        cJSON_AddNumberToObject(root, "madds", (double)cost.madds);
        cJSON_AddNumberToObject(root, "train_images_per_s", batch / (tr[0] * 1e-9));
        cJSON_AddNumberToObject(root, "infer_images_per_s", batch / (inf[0] * 1e-9));
        cJSON_AddNumberToObject(root, "latency_batch1_ms", lat[0] / 1e6);
        asvk_summary s = {tr[0], tr[1], tr[2], (size_t)repeat};
        cJSON_AddItemToObject(root, "train_step", bench_summary_json(&s, 0));
        s = (asvk_summary){inf[0], inf[1], inf[2], (size_t)repeat};
        cJSON_AddItemToObject(root, "infer_batch", bench_summary_json(&s, 0));
        s = (asvk_summary){lat[0], lat[1], lat[2], (size_t)repeat};
        cJSON_AddItemToObject(root, "infer_batch1", bench_summary_json(&s, 0));
        cJSON *eff = cJSON_AddObjectToObject(root, "effective_gflops");
        static const char *const eff_names[3] = {"train_step", "infer_batch", "infer_batch1"};
        for (int i = 0; i < 3; i++) {
            cJSON *o = cJSON_AddObjectToObject(eff, eff_names[i]);
            cJSON_AddNumberToObject(o, "flops", work[i]);
            cJSON_AddNumberToObject(o, "gflops", gfl[i]);
            cJSON_AddNumberToObject(o, "of_fma_ceiling", gfl[i] / fma_gflops);
        }
        cJSON_AddNumberToObject(eff, "fma_ceiling_gflops", fma_gflops);
        cJSON_AddNumberToObject(root, "dispatches_per_step", plan->dispatches);
        cJSON_AddNumberToObject(root, "barriers_per_step", plan->barriers);
        cJSON_AddNumberToObject(root, "peak_rss_mb", mem.rss_mb);
        cJSON_AddNumberToObject(root, "device_peak_mb", mem.device_peak_mb);
        cJSON_AddNumberToObject(root, "device_reserved_mb", mem.device_reserved_mb);
        cJSON *su = cJSON_AddObjectToObject(root, "startup_ms");
        cJSON_AddNumberToObject(su, "device", up.device_ms);
        cJSON_AddNumberToObject(su, "trainer", up.trainer_ms);
        cJSON_AddNumberToObject(su, "first_step", up.first_step_ms);
        cJSON_AddNumberToObject(su, "pipelines_by_trainer", up.pipeline_ms[0]);
        cJSON_AddNumberToObject(su, "pipelines_by_first_step", up.pipeline_ms[1]);
        cJSON_AddNumberToObject(root, "pipelines_by_first_step", up.pipelines[1]);
        /* what the first step took beyond a median one: the driver's own work at first dispatch
         * (lavapipe builds a pipeline's code with LLVM there, not when asvk creates it; Mesa's
         * disk cache keeps it for the next run), which the pipeline timers above do not see */
        double first_extra_ms = up.first_step_ms - up.trainer_ms - tr[0] / 1e6;
        cJSON_AddNumberToObject(su, "first_step_beyond_median", first_extra_ms);
        if (!json) {
            printf("%s (%.3fM params, %.2fM MAdds) on %s, batch %ld%s, medians of %ld runs:\n", arch.name,
                   cost.params / 1e6, cost.madds / 1e6, asvk_context_device(ctx)->name, batch,
                   cfg.fp16 ? ", fp16 activations" : "", repeat);
            printf("  training step   %9.2f ms  %9.1f images/s  (spread %.0f%%; %u dispatches, %u barriers, 1 submit)\n",
                   tr[0] / 1e6, batch / (tr[0] * 1e-9), 100 * (tr[2] - tr[1]) / tr[0], plan->dispatches, plan->barriers);
            printf("  inference       %9.2f ms  %9.1f images/s  (spread %.0f%%)\n", inf[0] / 1e6, batch / (inf[0] * 1e-9),
                   100 * (inf[2] - inf[1]) / inf[0]);
            printf("  batch-1 latency %9.3f ms                     (spread %.0f%%)\n", lat[0] / 1e6,
                   100 * (lat[2] - lat[1]) / lat[0]);
            printf("  effective GFLOP/s (multiply-add work / median time) against the FMA ceiling measured now, "
                   "%.1f GFLOP/s:\n    training step %.2f (%.1f%%, %.1f MFLOP an image), inference %.2f (%.1f%%), "
                   "batch 1 %.2f (%.1f%%)\n", fma_gflops, gfl[0], 100 * gfl[0] / fma_gflops, work[0] / batch / 1e6,
                   gfl[1], 100 * gfl[1] / fma_gflops, gfl[2], 100 * gfl[2] / fma_gflops);
            printf("  memory after the training steps: peak RSS %.0f MB; device memory %.0f MB at most in use, "
                   "%.0f MB held%s\n", mem.rss_mb, mem.device_peak_mb, mem.device_reserved_mb,
                   asvk_context_device(ctx)->unified_memory ? " (host memory on this device: inside the RSS)" : "");
            printf("  start-up after main(): a device at %.0f ms, the trainer at %.0f ms (%u pipelines created, "
                   "%.0f ms), the first training step done at %.0f ms (%u pipelines, %.0f ms; %.0f ms beyond a "
                   "median step: the driver's work at first dispatch, which a shader cache keeps for later runs)\n",
                   up.device_ms, up.trainer_ms, up.pipelines[0], up.pipeline_ms[0], up.first_step_ms, up.pipelines[1],
                   up.pipeline_ms[1], first_extra_ms);
        }
        if (cli_flag(a, "--profile")) {
            profile_sum ptr = {0}, pin = {0};
            if (!(st = asvk_trainer_profile(t, true, 0, (uint32_t)repeat, on_node, &ptr)) &&
                !(st = asvk_trainer_profile(t, false, (uint32_t)batch, (uint32_t)repeat, on_node, &pin))) {
                print_profile("training step", &ptr, json ? root : NULL);
                print_profile("inference", &pin, json ? root : NULL);
            }
        }
    }
    if (!st && json) {
        char *text = cJSON_Print(root);
        printf("%s\n", text);
        free(text);
    }
    cJSON_Delete(root);
    asvk_cost_free(&cost);
    asvk_trainer_destroy(t);
    asvk_arch_free(&arch);
    return cli_context_done(ctx, st ? cli_fail(st) : 0);
}
