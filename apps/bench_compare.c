/* asvk bench compare: bench --json files side by side, one column per run
 * (device), with each column's ratio to the first: the cross-vendor table a
 * user posts in an issue. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/bench.h"
#include "runtime/io/atomic_file.h"

#define MAX_ROWS 256
#define MAX_RUNS 7

typedef struct {
    char label[96];
    char unit[16];
    bool higher_better;
    double v[MAX_RUNS];
} row;

typedef struct {
    row r[MAX_ROWS];
    uint32_t n;
} table;

static row *get(table *t, const char *label, const char *unit, bool hb) {
    for (uint32_t i = 0; i < t->n; i++)
        if (strcmp(t->r[i].label, label) == 0) return &t->r[i];
    if (t->n == MAX_ROWS) return NULL;
    row *r = &t->r[t->n++];
    snprintf(r->label, sizeof r->label, "%s", label);
    snprintf(r->unit, sizeof r->unit, "%s", unit);
    r->higher_better = hb;
    for (int k = 0; k < MAX_RUNS; k++) r->v[k] = NAN;
    return r;
}

static double num(const cJSON *o, const char *k) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static void put(table *t, int col, const char *label, const char *unit, bool hb, double v) {
    if (!isfinite(v)) return;
    row *r = get(t, label, unit, hb);
    if (r) r->v[col] = v;
}

/* The metrics each benchmark writes (apps/bench_*.c). */
static void collect(table *t, int col, const cJSON *j) {
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "benchmark");
    const char *kind = cJSON_IsString(b) ? b->valuestring : "";
    char label[96];
    if (strcmp(kind, "gemm") == 0) {
        const cJSON *r;
        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(j, "results")) {
            snprintf(label, sizeof label, "gemm %gx%gx%g:%s%s", num(r, "m"), num(r, "n"), num(r, "k"),
                     cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "trans_a")) ? "t" : "n",
                     cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "trans_b")) ? "t" : "n");
            put(t, col, label, "GFLOP/s", true, num(cJSON_GetObjectItemCaseSensitive(r, "tuned"), "gflops"));
        }
    } else if (strcmp(kind, "peak") == 0) {
        put(t, col, "peak sgemm", "GFLOP/s", true, num(cJSON_GetObjectItemCaseSensitive(j, "sgemm"), "gflops"));
        put(t, col, "peak copy (transfer)", "GB/s", true, num(cJSON_GetObjectItemCaseSensitive(j, "copy_transfer"), "gb_per_s"));
        put(t, col, "peak copy (shader)", "GB/s", true, num(cJSON_GetObjectItemCaseSensitive(j, "copy_shader"), "gb_per_s"));
    } else if (strcmp(kind, "train") == 0) {
        const cJSON *arch = cJSON_GetObjectItemCaseSensitive(j, "arch");
        const char *an = cJSON_IsString(arch) ? arch->valuestring : "?";
        double batch = num(j, "batch");
        snprintf(label, sizeof label, "%s train b%g", an, batch);
        put(t, col, label, "img/s", true, num(j, "train_images_per_s"));
        snprintf(label, sizeof label, "%s infer b%g", an, batch);
        put(t, col, label, "img/s", true, num(j, "infer_images_per_s"));
        snprintf(label, sizeof label, "%s latency b1", an);
        put(t, col, label, "ms", false, num(j, "latency_batch1_ms"));
        /* newer files: the step's dispatches and the share of the FMA ceiling ("-" where absent) */
        snprintf(label, sizeof label, "%s train b%g dispatches", an, batch);
        put(t, col, label, "count", false, num(j, "dispatches_per_step"));
        const cJSON *eff = cJSON_GetObjectItemCaseSensitive(j, "effective_gflops");
        snprintf(label, sizeof label, "%s train b%g of FMA ceiling", an, batch);
        put(t, col, label, "%", true, 100 * num(cJSON_GetObjectItemCaseSensitive(eff, "train_step"), "of_fma_ceiling"));
    }
}

int bench_compare(cli_args *a) {
    int runs = a->npos - 1;
    if (runs < 1) return cli_usage_error(a, "give one or more bench --json files to compare");
    if (runs > MAX_RUNS) return cli_usage_error(a, "at most %d files", MAX_RUNS);
    table *t = calloc(1, sizeof *t);
    char dev[MAX_RUNS][48];
    int rc = 0;
    for (int i = 0; i < runs && !rc; i++) {
        char *text;
        size_t size;
        asvk_status st = asvk_file_read_all(a->pos[i + 1], 1 << 24, &text, &size);
        if (st) { rc = cli_fail(st); break; }
        cJSON *j = cJSON_ParseWithLength(text, size);
        free(text);
        const cJSON *d = j ? cJSON_GetObjectItemCaseSensitive(j, "device") : NULL;
        const cJSON *name = d ? cJSON_GetObjectItemCaseSensitive(d, "name") : NULL;
        if (!cJSON_IsString(name)) {
            fprintf(stderr, "asvk: %s is not the --json output of asvk bench (no device stamp)\n", a->pos[i + 1]);
            rc = 2;
        } else {
            snprintf(dev[i], sizeof dev[i], "%s", name->valuestring);
            collect(t, i, j);
        }
        cJSON_Delete(j);
    }
    if (!rc) {
        if (!t->n) {
            fprintf(stderr, "asvk: the files hold no benchmark figures asvk knows\n");
            rc = 2;
        } else {
            printf("%-34s %-8s", "metric", "unit");
            for (int i = 0; i < runs; i++) printf(" %14.14s", dev[i]);
            for (int i = 1; i < runs; i++) printf("  %d/1", i + 1);
            printf("\n");
            for (uint32_t r = 0; r < t->n; r++) {
                printf("%-34.34s %-8s", t->r[r].label, t->r[r].unit);
                for (int i = 0; i < runs; i++) {
                    if (isfinite(t->r[r].v[i])) printf(" %14.3f", t->r[r].v[i]);
                    else printf(" %14s", "-");
                }
                for (int i = 1; i < runs; i++) {
                    double x = t->r[r].v[i], y = t->r[r].v[0];
                    /* ratios read "how many times better than the first run" */
                    double q = t->r[r].higher_better ? x / y : y / x;
                    if (isfinite(q)) printf(" %5.2fx", q);
                    else printf(" %6s", "-");
                }
                printf("\n");
            }
            printf("(ratios: how many times better than the first column)\n");
        }
    }
    free(t);
    return rc;
}
