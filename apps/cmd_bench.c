/* asvk bench: measured speed of kernels on the chosen device. */
#include <stdlib.h>
#include <string.h>

#include "apps/bench.h"
#include "apps/commands.h"
#include "engine/version.h"

static const cli_opt opts[] = {
    {"--device", "D", "device number or name substring (see 'asvk devices')"},
    {"--json", NULL, "print JSON (stamped with device, driver, asvk version and git commit)"},
    {"--quick", NULL, "a short sweep (gemm: 512^3 and 1024^3; peak: 512^3)"},
    {"--shapes", "LIST", "gemm shapes, comma-separated MxNxK[:nn|nt|tn|tt] (t: that operand transposed)"},
    {"--kernel", "TUNING", "gemm kernel to measure: naive, reg:TMxTN:WXxWY or smem:TMxTN:WXxWY:BK (default: the device's)"},
    {"--tune", NULL, "gemm: measure a grid of tunings on the first shape and report the best"},
    {"--repeat", "N", "timed runs per measurement, at least 5 (default 5); the median is reported"},
    {"--warmup", "N", "untimed runs first (default 2)"},
    {"--no-baseline", NULL, "gemm: skip the naive one-thread-per-output kernel"},
    {"--no-cpu", NULL, "gemm: skip the OpenBLAS sgemm baseline on the CPU"},
    {"--arch", "A", "train, ops: architecture file or built-in (default fmnist)"},
    {"--batch", "N", "train, ops: training and inference batch (default 128)"},
    {"--profile", NULL, "train: device time per op kind, training step and inference"},
    {"--fp16", NULL, "train, ops: activations stored as fp16 (needs 16-bit storage; compare with and without: slower on lavapipe)"},
    {0},
};

static int run(cli_args *a) {
    if (a->npos < 1) return cli_usage_error(a, "name a benchmark (gemm)");
    if (strcmp(a->pos[0], "gemm") == 0) return bench_gemm(a);
    if (strcmp(a->pos[0], "train") == 0 || strcmp(a->pos[0], "net") == 0) return bench_train(a);
    if (strcmp(a->pos[0], "ops") == 0) return bench_ops(a);
    if (strcmp(a->pos[0], "peak") == 0) return bench_peak(a);
    if (strcmp(a->pos[0], "compare") == 0) return bench_compare(a);
    if (strcmp(a->pos[0], "allreduce") == 0) return bench_allreduce(a);
    return cli_usage_error(a, "no benchmark '%s' (known: peak, gemm, ops, net (= train), compare, allreduce)", a->pos[0]);
}

const cli_command cmd_bench = {
    "bench",
    "measure kernels on the device (timestamp queries, medians)",
    "asvk bench gemm [--quick] [--shapes LIST] [--kernel TUNING] [--tune] [--json] [--device D]\n"
    "       asvk bench train|net [--arch A] [--batch N] [--profile] [--json] [--device D]\n"
    "       asvk bench ops [--arch A] [--batch N] [--quick] [--json] [--device D]\n"
    "       asvk bench peak [--quick] [--json] [--device D]\n"
    "       asvk bench compare A.json B.json ...\n"
    "       mpirun -np N asvk bench allreduce [--repeat N] [--json]",
    "allreduce: the time of one fp32 all-reduce of 1 KiB to 64 MiB over the ranks of\n"
    "mpirun (host buffers, as a distributed step reduces its gradient buckets), the\n"
    "slowest rank's median, and the bus bandwidth 2(N-1)/N x bytes / time.\n\n"
    "gemm: SGEMM GFLOP/s for a sweep of shapes: the device's tuned kernel against the\n"
    "naive one-thread-per-output kernel (up to 1024^3 work) run in the same process,\n"
    "and OpenBLAS sgemm on the CPU (all its threads) when libopenblas0 is installed.\n"
    "Each figure is the median of --repeat timed runs after --warmup runs, timed on\n"
    "the device with timestamp queries (OpenBLAS with the monotonic clock); the\n"
    "spread column is (max - min) / median. 'agree' is the largest difference between\n"
    "the tuned and naive results relative to the largest |C|.\n\n"
    "train: images/s of a whole training step (forward, backward, optimizer; one\n"
    "submit) and of inference at --batch, and batch-1 latency, each the median of\n"
    "--repeat device-timed replays. --profile adds the device time per op kind.\n"
    "Each is also given as effective GFLOP/s (the graph's convolution and linear\n"
    "work, 2 flops per multiply-add, over the median) and as a fraction of the\n"
    "FMA ceiling (bench peak's chains) measured in the same process.\n"
    "Start-up: when the device, the trainer (its pipelines created) and the first\n"
    "step were ready, and the first step's time beyond a median one: the driver's\n"
    "work at first dispatch (lavapipe compiles each pipeline there; with Mesa's\n"
    "shader cache empty, as on a machine's first run, about 0.4 s a pipeline).\n"
    "'net' is the same benchmark.\n\n"
    "ops: every operator of the network's training step, inference at --batch and\n"
    "batch-1 inference, forward and backward, at its own shapes: device time (a\n"
    "timestamp before every node; medians), GFLOP/s (2 per multiply-add), GB/s of\n"
    "the bytes its tensors hold, and those as fractions of the device's ceilings\n"
    "measured in the same run (peak below), per op kind and per shape, with the\n"
    "device commands (dispatches and transfers) each records and the step's total.\n\n"
    "peak: the device's measured ceilings: SGEMM (1024^3 on CPU devices, 4096^3\n"
    "otherwise) with its tuned kernel, and 32/128 MiB copies through the transfer\n"
    "engine and through a shader (GB/s counts bytes read plus written).\n\n"
    "compare: bench --json files side by side, one column per device, with each\n"
    "column's ratio to the first (higher-is-better figures divided, latencies\n"
    "inverted, so a ratio above 1 always means faster).",
    opts,
    run,
};

cJSON *bench_stamp(const asvk_context *ctx) {
    const asvk_device_info *d = asvk_context_device(ctx);
    const asvk_switches *sw = asvk_context_switches(ctx);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "asvk_version", ASVK_VERSION);
    cJSON_AddStringToObject(o, "git_commit", asvk_git_commit);
    cJSON *dev = cJSON_AddObjectToObject(o, "device");
    char ver[32];
    snprintf(ver, sizeof ver, "%u.%u.%u", (d->api_version >> 22) & 0x7f, (d->api_version >> 12) & 0x3ff,
             d->api_version & 0xfff);
    cJSON_AddStringToObject(dev, "name", d->name);
    cJSON_AddStringToObject(dev, "vendor", d->vendor);
    cJSON_AddNumberToObject(dev, "vendor_id", d->vendor_id);
    cJSON_AddNumberToObject(dev, "device_id", d->device_id);
    cJSON_AddStringToObject(dev, "type", asvk_device_type_name(d->type));
    cJSON_AddStringToObject(dev, "driver", d->driver);
    cJSON_AddStringToObject(dev, "driver_version", d->driver_version_str);
    cJSON_AddStringToObject(dev, "vulkan", ver);
    cJSON *s = cJSON_AddObjectToObject(o, "switches");
    cJSON_AddBoolToObject(s, "push_descriptors", sw->push_descriptors);
    cJSON_AddBoolToObject(s, "texel_inputs", sw->texel_inputs);
    cJSON_AddBoolToObject(s, "image_inputs", sw->image_inputs);
    cJSON_AddBoolToObject(s, "host_mapped", sw->host_mapped);
    cJSON_AddBoolToObject(s, "fp16", sw->fp16);
    cJSON_AddBoolToObject(s, "subgroup", sw->subgroup);
    return o;
}

asvk_status bench_time_stream(asvk_stream *s, int warmup, int repeat, asvk_summary *out) {
    asvk_status st;
    for (int i = 0; i < warmup; i++)
        if ((st = asvk_stream_run(s))) return st;
    double *t = calloc((size_t)repeat, sizeof *t);
    if (!t) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    for (int i = 0; i < repeat; i++) {
        if ((st = asvk_stream_run(s)) || (st = asvk_stream_elapsed_ns(s, 0, 1, &t[i]))) {
            free(t);
            return st;
        }
    }
    *out = asvk_summarize(t, (size_t)repeat);
    free(t);
    return ASVK_OK;
}

cJSON *bench_summary_json(const asvk_summary *s, double flops) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "median_ms", s->median / 1e6);
    cJSON_AddNumberToObject(o, "min_ms", s->min / 1e6);
    cJSON_AddNumberToObject(o, "max_ms", s->max / 1e6);
    cJSON_AddNumberToObject(o, "runs", (double)s->n);
    if (flops > 0) cJSON_AddNumberToObject(o, "gflops", flops / s->median);
    return o;
}
