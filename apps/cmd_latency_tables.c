/* asvk latency import / predict: published phone latency tables turned
 * into asvk tables, and a network's predicted latency on any table with its
 * per-block breakdown (autospace/latency.h). Neither needs a Vulkan device. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/cli.h"
#include "apps/latency_tables.h"
#include "autospace/latency.h"
#include "runtime/io/json_read.h"

int latency_import(cli_args *a) {
    if (a->npos != 2) return cli_usage_error(a, "usage: asvk latency import FILE.yaml --device \"NAME\" [--out TABLE.json]");
    const char *dev = cli_str(a, "--device", NULL);
    if (!dev) return cli_usage_error(a, "name the phone the table was measured on: --device \"NAME\"");
    const char *out = cli_str(a, "--out", "latency.json");
    asvk_lut *t;
    asvk_status st = asvk_lut_import_yaml(a->pos[1], dev, &t);
    if (st) return cli_fail(st);
    if ((st = asvk_lut_save(t, out))) {
        asvk_lut_destroy(t);
        return cli_fail(st);
    }
    const asvk_lut_stamp *s = asvk_lut_stamp_of(t);
    const asvk_lut_block_model *m = asvk_lut_model(t);
    printf("%s: %u entries of %s (%s keys, %ux%u inputs), imported as measured on %s\n", out, asvk_lut_count(t),
           s->source, s->keys == ASVK_LUT_KEYS_OFA ? "once-for-all" : "ProxylessNAS", s->resolution, s->resolution,
           s->device);
    if (m->entries)
        printf("missing-block model: fitted on %u blocks; held-out error (each block left out of the fit) median "
               "%.1f%%, 90th percentile %.1f%%\n", m->entries, 100 * m->heldout_median, 100 * m->heldout_p90);
    else
        printf("missing-block model: none (too few blocks); a network needs every block in the table\n");
    asvk_lut_destroy(t);
    return 0;
}

static void print_json(const char *lut_path, const asvk_lut *t, const asvk_arch *arch, const asvk_lut_part *p,
                       uint32_t n, double ms, double modeled) {
    const asvk_lut_stamp *s = asvk_lut_stamp_of(t);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "network", arch->name);
    cJSON_AddNumberToObject(o, "resolution", arch->resolution);
    cJSON_AddStringToObject(o, "table", lut_path);
    cJSON_AddStringToObject(o, "device", s->device);
    cJSON_AddBoolToObject(o, "imported", s->imported);
    asvk_json_add_exact(o, "ms", ms);
    asvk_json_add_exact(o, "modeled_ms", modeled);
    cJSON *rows = cJSON_AddArrayToObject(o, "parts");
    for (uint32_t i = 0; i < n; i++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "key", p[i].key);
        cJSON_AddNumberToObject(r, "layer", p[i].layer);
        asvk_json_add_exact(r, "ms", p[i].ms);
        cJSON_AddBoolToObject(r, "modeled", p[i].modeled);
        cJSON_AddItemToArray(rows, r);
    }
    char *text = cJSON_Print(o);
    printf("%s\n", text ? text : "{}");
    free(text);
    cJSON_Delete(o);
}

int latency_predict(cli_args *a) {
    if (a->npos != 2) return cli_usage_error(a, "usage: asvk latency predict --lut TABLE NET [--resolution R] [--json]");
    const char *lut_path = cli_str(a, "--lut", NULL);
    if (!lut_path) return cli_usage_error(a, "--lut TABLE is required (from 'asvk latency' or 'asvk latency import')");
    long res;
    if (!cli_int(a, "--resolution", 0, 1, 16384, &res)) return 2;
    asvk_lut *t;
    asvk_status st = asvk_lut_load(lut_path, &t);
    if (st) return cli_fail(st);
    asvk_arch arch;
    if ((st = asvk_arch_open(a->pos[1], &arch))) {
        asvk_lut_destroy(t);
        return cli_fail(st);
    }
    if (res) arch.resolution = (uint32_t)res;
    asvk_lut_part *p = NULL;
    uint32_t n = 0;
    double ms = 0, modeled = 0;
    if (!(st = asvk_arch_validate(&arch, 0))) st = asvk_lut_predict_parts(t, &arch, &p, &n, &ms);
    if (st) st = asvk_error_prefix(st, "%s with %s: ", a->pos[1], lut_path);
    for (uint32_t i = 0; !st && i < n; i++)
        if (p[i].modeled) modeled += p[i].ms;
    if (!st && cli_flag(a, "--json")) {
        print_json(lut_path, t, &arch, p, n, ms, modeled);
    } else if (!st) {
        const asvk_lut_stamp *s = asvk_lut_stamp_of(t);
        printf("%s at %ux%u on %s (%s %s):\n", arch.name, arch.resolution, arch.resolution, s->device,
               s->imported ? "table imported from" : "table measured by asvk", s->imported ? s->source : s->asvk_version);
        printf("%6s  %10s  %s\n", "layer", "ms", "block");
        for (uint32_t i = 0; i < n; i++)
            printf("%6d  %10.4f  %s%s\n", p[i].layer, p[i].ms, p[i].key, p[i].modeled ? "  (not in the table: modeled)" : "");
        printf("total %.3f ms", ms);
        if (modeled > 0) {
            const asvk_lut_block_model *m = asvk_lut_model(t);
            printf("; %.3f ms (%.1f%%) modeled for blocks the table lacks (the model's held-out error: median %.1f%%, "
                   "90th percentile %.1f%%)", modeled, 100 * modeled / ms, 100 * m->heldout_median, 100 * m->heldout_p90);
        }
        printf("\n");
    }
    free(p);
    asvk_arch_free(&arch);
    asvk_lut_destroy(t);
    return st ? cli_fail(st) : 0;
}
