/* The pipeline's ONNX export and its predictions on every table; see pipeline_deploy.h. */
#include "apps/pipeline_deploy.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apps/commands.h"
#include "autospace/latency.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/json_read.h"

int pipeline_export(const cli_args *a, const char *dir) {
    char onnx[1100], ck[1100];
    snprintf(onnx, sizeof onnx, "%s/model.onnx", dir);
    snprintf(ck, sizeof ck, "%s/train/model.safetensors", dir);
    if (access(onnx, F_OK) == 0) return 0;
    const char *argv[8] = {"--onnx", onnx, "--checkpoint", ck};
    int argc = 4;
    const char *d = cli_str(a, "--device", NULL);
    if (d) argv[argc++] = "--device", argv[argc++] = d;
    if (!cli_flag(a, "--quiet")) fprintf(stderr, "== export ==\n");
    cli_args args;
    int rc = cli_parse(&cmd_export, argc, (char **)argv, &args);
    return rc ? rc : cmd_export.run(&args);
}

static void predict_one(cJSON *rows, const char *table, const asvk_arch *net) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "table", table);
    asvk_lut *t;
    asvk_status st = asvk_lut_load(table, &t);
    if (!st) {
        const asvk_lut_stamp *s = asvk_lut_stamp_of(t);
        cJSON_AddStringToObject(r, "device", s->device);
        cJSON_AddBoolToObject(r, "imported", s->imported);
        asvk_lut_part *p = NULL;
        uint32_t n = 0;
        double ms = 0, modeled = 0;
        if (!(st = asvk_lut_predict_parts(t, net, &p, &n, &ms))) {
            for (uint32_t i = 0; i < n; i++) modeled += p[i].modeled ? p[i].ms : 0;
            asvk_json_add_exact(r, "ms", ms);
            asvk_json_add_exact(r, "modeled_ms", modeled);
        }
        free(p);
        asvk_lut_destroy(t);
    }
    if (st) cJSON_AddStringToObject(r, "error", asvk_error_message());
    cJSON_AddItemToArray(rows, r);
}

asvk_status pipeline_predictions(const char *dir, const char *luts) {
    char path[1100];
    snprintf(path, sizeof path, "%s/search/net.json", dir);
    asvk_arch net;
    asvk_status st = asvk_arch_load(path, &net);
    if (st) return st;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "network", net.name);
    cJSON *rows = cJSON_AddArrayToObject(j, "tables");
    snprintf(path, sizeof path, "%s/latency.json", dir);
    if (access(path, F_OK) == 0) predict_one(rows, path, &net);
    char list[4096];
    snprintf(list, sizeof list, "%s", luts ? luts : "");
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (*tok) predict_one(rows, tok, &net);
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    asvk_arch_free(&net);
    if (!text) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    snprintf(path, sizeof path, "%s/predictions.json", dir);
    st = asvk_file_write_atomic(path, text, strlen(text));
    free(text);
    return st;
}
