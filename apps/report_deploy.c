/* The report's "Toward a device" section: the exported ONNX file and the
 * found network's latency predicted by every table the run was given
 * (model.onnx, predictions.json; apps/pipeline_deploy.c writes them).
 * Numbers in the report's one format (apps/fmt.h). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "apps/fmt.h"
#include "apps/report.h"
#include "runtime/io/atomic_file.h"

static void esc(FILE *f, const char *s) {
    for (; s && *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else if (*s == '"') fputs("&quot;", f);
        else fputc(*s, f);
    }
}

static cJSON *read_json(const char *path) {
    char *text;
    size_t n;
    if (asvk_file_read_all(path, 1u << 24, &text, &n)) return NULL;
    cJSON *j = cJSON_ParseWithLength(text, n);
    free(text);
    return j;
}

void report_deploy_section(FILE *f, const char *dir) {
    char path[1100], b[64], c[64];
    struct stat st;
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    bool onnx = stat(path, &st) == 0;
    snprintf(path, sizeof path, "%s/predictions.json", dir);
    cJSON *p = read_json(path);
    if (!onnx && !p) return;
    fprintf(f, "<h2>Toward a device</h2>\n<table id=\"deploy\">\n");
    if (onnx)
        fprintf(f, "<tr><th>ONNX model (BN folded, opset 13)</th><td><a href=\"model.onnx\">model.onnx</a>, %s</td></tr>\n",
                fmt_si(b, sizeof b, (double)st.st_size, "bytes"));
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(p, "tables"), *r;
    cJSON_ArrayForEach(r, rows) {
        const char *table = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "table"));
        const char *dev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "device"));
        const char *err = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "error"));
        const cJSON *ms = cJSON_GetObjectItemCaseSensitive(r, "ms"), *mod = cJSON_GetObjectItemCaseSensitive(r, "modeled_ms");
        fprintf(f, "<tr><th>latency predicted on ");
        esc(f, dev ? dev : "?");
        fprintf(f, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "imported")) ? " (imported table " : " (table ");
        fprintf(f, "<code>");
        esc(f, table);
        fprintf(f, "</code>)</th><td>");
        if (err) {
            fprintf(f, "<span class=\"bad\">not priced: ");
            esc(f, err);
            fprintf(f, "</span>");
        } else if (cJSON_IsNumber(ms) && isfinite(ms->valuedouble)) {
            fputs(fmt_sig(b, sizeof b, ms->valuedouble, "ms"), f);
            if (cJSON_IsNumber(mod) && mod->valuedouble > 0)
                fprintf(f, ", of which %s modeled for blocks the table lacks", fmt_sig(c, sizeof c, mod->valuedouble, "ms"));
        } else {
            fprintf(f, "<span class=\"bad\">missing</span>");
        }
        fprintf(f, "</td></tr>\n");
    }
    fprintf(f, "</table>\n");
    cJSON_Delete(p);
}
