/* asvk bench ops: every operator of a network's training step and of its
 * inference, forward and backward, at the network's own shapes: device time
 * (a timestamp before every node, medians), GFLOP/s, GB/s of the bytes its
 * tensors hold, and the fractions of the device's measured ceilings (bench
 * peak: the tuned SGEMM, the shader copy) — per op kind and per shape — and
 * the device commands (dispatches and transfers) each records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/bench.h"
#include "runtime/trainer.h"

#define MAX_ROWS 2048

typedef struct {
    char op[32];
    char key[512];
    uint32_t nodes, dispatches;
    double ns, flops, bytes;
} row;

typedef struct {
    row *rows;
    uint32_t n;
    const asvk_graph *g;
    double total_ns;
    uint32_t dispatches;
} table;

static row *find_row(table *t, const char *op, const char *key) {
    for (uint32_t i = 0; i < t->n; i++)
        if (strcmp(t->rows[i].op, op) == 0 && strcmp(t->rows[i].key, key) == 0) return &t->rows[i];
    if (t->n == MAX_ROWS) return NULL;
    row *r = &t->rows[t->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->op, sizeof r->op, "%s", op);
    snprintf(r->key, sizeof r->key, "%s", key);
    return r;
}

static void on_node(void *user, uint32_t node, const char *op, const asvk_timing *tm) {
    table *t = user;
    double ns = tm->median_ns;
    char key[512];
    double flops, bytes;
    asvk_graph_node_key(t->g, node, key, sizeof key);
    asvk_graph_node_work(t->g, node, &flops, &bytes);
    row *r = find_row(t, op, key);
    t->total_ns += ns;
    t->dispatches += tm->dispatches;
    if (!r) return;
    r->nodes++, r->dispatches += tm->dispatches, r->ns += ns, r->flops += flops, r->bytes += bytes;
}

static int by_time(const void *a, const void *b) {
    double x = ((const row *)a)->ns, y = ((const row *)b)->ns;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The same rows summed per op kind. */
static uint32_t kinds(const table *t, row *out) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < t->n; i++) {
        uint32_t k = 0;
        while (k < n && strcmp(out[k].op, t->rows[i].op) != 0) k++;
        if (k == n) memset(&out[n], 0, sizeof out[n]), snprintf(out[n].op, sizeof out[n].op, "%s", t->rows[i].op), n++;
        out[k].nodes += t->rows[i].nodes, out[k].dispatches += t->rows[i].dispatches, out[k].ns += t->rows[i].ns,
            out[k].flops += t->rows[i].flops, out[k].bytes += t->rows[i].bytes;
    }
    qsort(out, n, sizeof *out, by_time);
    return n;
}

static cJSON *rows_json(const row *r, uint32_t n, const bench_ceilings *c, bool keys) {
    cJSON *a = cJSON_CreateArray();
    for (uint32_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "op", r[i].op);
        if (keys) cJSON_AddStringToObject(o, "shape", r[i].key);
        cJSON_AddNumberToObject(o, "nodes", r[i].nodes);
        cJSON_AddNumberToObject(o, "dispatches", r[i].dispatches);
        cJSON_AddNumberToObject(o, "ms", r[i].ns / 1e6);
        cJSON_AddNumberToObject(o, "gflops", r[i].flops / r[i].ns);
        cJSON_AddNumberToObject(o, "gb_per_s", r[i].bytes / r[i].ns);
        cJSON_AddNumberToObject(o, "of_sgemm_peak", r[i].flops / r[i].ns / c->gflops);
        cJSON_AddNumberToObject(o, "of_copy_peak", r[i].bytes / r[i].ns / c->shader_gbps);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static void print_rows(const char *title, const row *r, uint32_t n, uint32_t most, double total, uint32_t dispatches,
                       const bench_ceilings *c, bool keys) {
    if (dispatches) printf("\n%s: %.2f ms, %u dispatches\n", title, total / 1e6, dispatches);
    else printf("\n%s: %.2f ms\n", title, total / 1e6);
    printf("  %-16s %6s %6s %9s %6s %8s %8s %7s %7s%s\n", "op", "nodes", "disp", "ms", "share", "GFLOP/s", "GB/s",
           "%sgemm", "%copy", keys ? "  shape" : "");
    for (uint32_t i = 0; i < n && i < most; i++)
        printf("  %-16s %6u %6u %9.3f %5.1f%% %8.2f %8.2f %6.1f%% %6.1f%%%s%s\n", r[i].op, r[i].nodes, r[i].dispatches,
               r[i].ns / 1e6,
               100 * r[i].ns / total, r[i].flops / r[i].ns, r[i].bytes / r[i].ns, 100 * r[i].flops / r[i].ns / c->gflops,
               100 * r[i].bytes / r[i].ns / c->shader_gbps, keys ? "  " : "", keys ? r[i].key : "");
}

int bench_ops(cli_args *a) {
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
    asvk_train_config cfg;
    asvk_train_config_default(&cfg);
    cfg.batch = (uint32_t)batch;
    cfg.fp16 = cli_flag(a, "--fp16");
    asvk_trainer *t = NULL;
    cJSON *root = bench_stamp(ctx);
    bench_ceilings c;
    static row rows[3][MAX_ROWS], kind_rows[3][MAX_ROWS];
    table tabs[3] = {{rows[0], 0, NULL, 0, 0}, {rows[1], 0, NULL, 0, 0}, {rows[2], 0, NULL, 0, 0}};
    static const char *const titles[3] = {"training step", "inference", "batch-1 inference"};
    const uint32_t batches[3] = {(uint32_t)batch, (uint32_t)batch, 1};
    if (!(st = asvk_context_require(ctx, "timestamps")) &&
        !(st = bench_ceilings_measure(ctx, cli_flag(a, "--quick"), (int)warmup, (int)repeat, &c)) &&
        !(st = asvk_trainer_create(ctx, &arch, &cfg, 1, &t))) {
        for (int p = 0; p < 3 && !st; p++) {
            tabs[p].g = asvk_trainer_graph(t, p == 0, batches[p]);
            if (!tabs[p].g) st = ASVK_ERR_INTERNAL;
            else st = asvk_trainer_profile(t, p == 0, batches[p], (uint32_t)repeat, on_node, &tabs[p]);
        }
    }
    if (!st) {
        cJSON_AddStringToObject(root, "benchmark", "ops");
        cJSON_AddStringToObject(root, "arch", arch.name);
        cJSON_AddNumberToObject(root, "batch", (double)batch);
        cJSON_AddBoolToObject(root, "fp16_activations", cfg.fp16);
        cJSON *ceil = cJSON_AddObjectToObject(root, "ceilings");
        cJSON_AddNumberToObject(ceil, "sgemm_gflops", c.gflops);
        cJSON_AddNumberToObject(ceil, "copy_shader_gb_per_s", c.shader_gbps);
        cJSON_AddNumberToObject(ceil, "copy_transfer_gb_per_s", c.copy_gbps);
        cJSON_AddNumberToObject(ceil, "fma_gflops", c.fma_gflops);
        if (!json)
            printf("%s on %s, batch %ld; ceilings: SGEMM %u^3 %.2f GFLOP/s (%s), shader copy %.2f GB/s; FMA chains "
                   "%.2f GFLOP/s\n", arch.name, asvk_context_device(ctx)->name, batch, c.n, c.gflops, c.kernel,
                   c.shader_gbps, c.fma_gflops);
        for (int p = 0; p < 3; p++) {
            qsort(tabs[p].rows, tabs[p].n, sizeof *tabs[p].rows, by_time);
            uint32_t nk = kinds(&tabs[p], kind_rows[p]);
            cJSON *o = cJSON_AddObjectToObject(root, p == 0 ? "train" : p == 1 ? "infer" : "infer_batch1");
            cJSON_AddNumberToObject(o, "ms", tabs[p].total_ns / 1e6);
            cJSON_AddNumberToObject(o, "dispatches", tabs[p].dispatches);
            cJSON_AddItemToObject(o, "kinds", rows_json(kind_rows[p], nk, &c, false));
            cJSON_AddItemToObject(o, "shapes", rows_json(tabs[p].rows, tabs[p].n, &c, true));
            if (!json) {
                print_rows(titles[p], kind_rows[p], nk, 40, tabs[p].total_ns, tabs[p].dispatches, &c, false);
                print_rows("  its costliest shapes", tabs[p].rows, tabs[p].n, 8, tabs[p].total_ns, 0, &c, true);
            }
        }
    }
    if (!st && json) {
        char *text = cJSON_Print(root);
        printf("%s\n", text);
        free(text);
    }
    cJSON_Delete(root);
    asvk_trainer_destroy(t);
    asvk_arch_free(&arch);
    return cli_context_done(ctx, st ? cli_fail(st) : 0);
}
