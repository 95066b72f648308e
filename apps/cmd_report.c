/* asvk report: an HTML page of a pipeline run folder (evolve/, search/,
 * train/, latency.json, measured.json): the learned cells drawn as graphs,
 * fitness and loss curves, the chosen network with its params, MAdds,
 * predicted and measured latency and accuracy. Everything is read from the
 * run's own files; a part that is missing is said to be missing. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/fmt.h"
#include "apps/report.h"
#include "apps/svg.h"
#include "autospace/genome.h"
#include "autospace/space.h"
#include "runtime/io/atomic_file.h"

static const cli_opt opts[] = {{0}};

/* ---- reading the run's files ---- */

typedef struct {
    cJSON **rows;
    uint32_t n;
} jsonl;

static void jsonl_free(jsonl *j) {
    for (uint32_t i = 0; i < j->n; i++) cJSON_Delete(j->rows[i]);
    free(j->rows);
    memset(j, 0, sizeof *j);
}

static bool jsonl_read(const char *path, jsonl *out) {
    memset(out, 0, sizeof *out);
    char *text;
    size_t size;
    if (access(path, F_OK) != 0 || asvk_file_read_all(path, 1u << 30, &text, &size)) return false;
    for (size_t at = 0; at < size;) {
        char *nl = memchr(text + at, '\n', size - at);
        size_t end = nl ? (size_t)(nl - text) : size;
        cJSON *row = cJSON_ParseWithLength(text + at, end - at);
        if (row) {
            cJSON **r = realloc(out->rows, (out->n + 1) * sizeof *r);
            if (!r) {
                cJSON_Delete(row);
                break;
            }
            out->rows = r;
            out->rows[out->n++] = row;
        }
        at = end + 1;
    }
    free(text);
    return true;
}

static double num(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static cJSON *read_json(const char *path) {
    char *text;
    size_t size;
    if (access(path, F_OK) != 0 || asvk_file_read_all(path, 1u << 28, &text, &size)) return NULL;
    cJSON *j = cJSON_ParseWithLength(text, size);
    free(text);
    return j;
}

/* A column of a JSON-lines file as a series against `xkey`. */
static svg_series series(const jsonl *j, const char *name, const char *xkey, const char *ykey, double scale, double *x,
                         double *y) {
    for (uint32_t i = 0; i < j->n; i++) x[i] = num(j->rows[i], xkey), y[i] = num(j->rows[i], ykey) * scale;
    return (svg_series){name, x, y, j->n};
}

/* ---- the page ---- */

static void html_escape(FILE *f, const char *s) {
    for (; s && *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else fputc(*s, f);
    }
}

static const char *plural(double n) { return n == 1 ? "" : "s"; }

/* A number of the run's files, as every number on the page is written (apps/fmt.h): with an SI prefix
 * (`si`) or three significant digits; one that is missing or not finite (cJSON writes NaN and infinity
 * as null) is said to be so, marked, rather than printed as "nan". */
static void figure(FILE *f, const cJSON *o, const char *key, double scale, const char *unit, bool si) {
    const cJSON *v = key ? cJSON_GetObjectItemCaseSensitive(o, key) : o;
    char b[64];
    if (!v) fputs("<span class=\"bad\">missing</span>", f);
    else if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble * scale))
        fputs("<span class=\"bad\">not a finite number in the run's files</span>", f);
    else fputs(si ? fmt_si(b, sizeof b, v->valuedouble * scale, unit) : fmt_sig(b, sizeof b, v->valuedouble * scale, unit), f);
}

static void space_section(FILE *f, const char *dir) {
    char path[1100];
    snprintf(path, sizeof path, "%s/evolve/space.json", dir);
    static asvk_space sp;
    if (access(path, F_OK) != 0 || asvk_space_load(path, ASVK_MOTIF_READING_DEFAULT, &sp)) {
        fprintf(f, "<p>No learned space (no evolve/space.json): the search ran in a hand-made space.</p>\n");
        return;
    }
    snprintf(path, sizeof path, "%s/evolve/search_space.config", dir);
    bool motif = access(path, F_OK) == 0; /* absent when a layer keeps no cell its format holds */
    fprintf(f, "<h2>The learned space</h2>\n<p>%u layer%s, top %u cell%s each, after %u generation%s "
               "(<code>evolve/space.json</code>%s). In each cell, node 0 is the "
               "input after the expansion conv and the last node its output; an edge's colour is its operator's kind "
               "(red conv, blue depthwise, green pooling, grey identity), * marks a strided edge, a yellow node a "
               "weighted merge.</p>\n",
            sp.layers, plural(sp.layers), sp.count[0], plural(sp.count[0]), sp.generations, plural(sp.generations),
            motif ? ", <code>evolve/search_space.config</code>" : "");
    for (uint32_t l = 0; l < sp.layers; l++) {
        uint32_t c = 0, h = 0;
        if (sp.has_skeleton) asvk_skeleton_layer_input(&sp.sk, l, &c, &h);
        fprintf(f, "<h3>Layer %u: %ux%ux%u &rarr; %u, stride %u</h3>\n<div class=\"row\">\n", l + 1, c, h, h,
                sp.has_skeleton ? sp.sk.layers[l].out : 0, sp.has_skeleton ? sp.sk.layers[l].stride : 0);
        for (uint32_t k = 0; k < sp.count[l]; k++) {
            const asvk_space_cell *sc = &sp.cells[l][k];
            char cap[200], fit[48] = "", num[32], madds[32], params[32];
            if (sc->has_fitness) snprintf(fit, sizeof fit, ", fitness %s", fmt_sig(num, sizeof num, sc->fitness, ""));
            if (sp.has_skeleton)
                snprintf(cap, sizeof cap, "#%u%s%s\n%s, %s", k + 1, fit, sc->anchor ? " (reference)" : "",
                         fmt_si(madds, sizeof madds, (double)sc->madds, "MAdds"),
                         fmt_si(params, sizeof params, (double)sc->params, "params"));
            else snprintf(cap, sizeof cap, "#%u%s%s", k + 1, fit, sc->anchor ? " (reference)" : "");
            fprintf(f, "<div class=\"cell\">");
            svg_cell(f, &sc->cell, cap);
            fprintf(f, "</div>\n");
        }
        fprintf(f, "</div>\n");
    }
}

static void evolve_curves(FILE *f, const char *dir) {
    char path[1100];
    snprintf(path, sizeof path, "%s/evolve/history.jsonl", dir);
    jsonl h;
    if (!jsonl_read(path, &h) || !h.n) return;
    double *x = calloc(h.n * 4, sizeof *x), *y = calloc(h.n * 4, sizeof *y);
    if (!x || !y) goto out;
    svg_series s[4];
    s[0] = series(&h, "weight steps", "generation", "loss", 1, x, y);
    s[1] = series(&h, "held-out", "generation", "val_loss", 1, x + h.n, y + h.n);
    fprintf(f, "<h2>Evolution</h2>\n<div class=\"row\">\n");
    svg_chart(f, "supernet loss per generation", "generation", "loss", s, 2);
    s[0] = series(&h, "weight steps", "generation", "accuracy", 100, x, y);
    s[1] = series(&h, "held-out", "generation", "val_accuracy", 100, x + h.n, y + h.n);
    svg_chart(f, "supernet accuracy", "generation", "%", s, 2);
    fprintf(f, "</div>\n");
    /* best fitness per layer */
    const cJSON *layers0 = cJSON_GetObjectItemCaseSensitive(h.rows[0], "layers");
    uint32_t nl = (uint32_t)cJSON_GetArraySize(layers0);
    if (nl > 8) nl = 8;
    double *fx = calloc((size_t)h.n * nl + 1, sizeof *fx), *fy = calloc((size_t)h.n * nl + 1, sizeof *fy);
    svg_series fs[8];
    char names[8][24];
    for (uint32_t l = 0; fx && fy && l < nl; l++) {
        for (uint32_t g = 0; g < h.n; g++) {
            const cJSON *lo = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(h.rows[g], "layers"), (int)l);
            fx[l * h.n + g] = num(h.rows[g], "generation");
            fy[l * h.n + g] = num(lo, "best_fitness");
        }
        snprintf(names[l], sizeof names[l], "layer %u", l + 1);
        fs[l] = (svg_series){names[l], fx + l * h.n, fy + l * h.n, h.n};
    }
    if (fx && fy) svg_chart(f, "best fitness in each layer's population", "generation", "fitness", fs, nl);
    free(fx), free(fy);
out:
    free(x), free(y);
    jsonl_free(&h);
}

/* The search's cost is in its budget's unit: result.json says which, or the search's config.json before it. */
static bool search_priced_by_latency(const char *dir, double *budget) {
    char path[1100];
    snprintf(path, sizeof path, "%s/search/result.json", dir);
    cJSON *j = read_json(path);
    bool latency = false;
    *budget = NAN;
    if (j) {
        const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "budget_kind"));
        latency = kind && strcmp(kind, "latency_ms") == 0;
        *budget = num(j, "budget");
    } else {
        snprintf(path, sizeof path, "%s/search/config.json", dir);
        j = read_json(path);
        const char *bl = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "budget-latency"));
        latency = bl && *bl;
    }
    cJSON_Delete(j);
    return latency;
}

static void search_section(FILE *f, const char *dir) {
    char path[1100];
    snprintf(path, sizeof path, "%s/search/history.jsonl", dir);
    jsonl h;
    if (!jsonl_read(path, &h) || !h.n) {
        fprintf(f, "<p>No search history (search/history.jsonl).</p>\n");
        return;
    }
    double *x = calloc(h.n * 3, sizeof *x), *y = calloc(h.n * 3, sizeof *y);
    if (x && y) {
        svg_series s[2];
        fprintf(f, "<h2>Search</h2>\n<div class=\"row\">\n");
        s[0] = series(&h, "weight steps", "step", "loss", 1, x, y);
        s[1] = series(&h, "alpha steps", "step", "val_loss", 1, x + h.n, y + h.n);
        svg_chart(f, "search loss", "step", "loss", s, 2);
        double budget;
        bool latency = search_priced_by_latency(dir, &budget);
        s[0] = series(&h, "E[cost]", "step", "expected_cost", 1, x, y);
        for (uint32_t i = 0; i < h.n; i++) x[2 * h.n + i] = x[i], y[2 * h.n + i] = budget;
        s[1] = (svg_series){"budget", x + 2 * h.n, y + 2 * h.n, isfinite(budget) ? h.n : 0};
        svg_chart(f, "expected cost of the sampled networks", "step", latency ? "ms" : "MAdds", s, 2);
        fprintf(f, "</div>\n");
    }
    free(x), free(y);
    jsonl_free(&h);
}

static void network_section(FILE *f, const char *dir) {
    char path[1100];
    snprintf(path, sizeof path, "%s/search/result.json", dir);
    cJSON *r = read_json(path);
    snprintf(path, sizeof path, "%s/measured.json", dir);
    cJSON *m = read_json(path);
    fprintf(f, "<h2>The chosen network</h2>\n");
    if (!r) {
        fprintf(f, "<p>No search result yet (search/result.json).</p>\n");
        cJSON_Delete(m);
        return;
    }
    double budget;
    bool latency = search_priced_by_latency(dir, &budget);
    fprintf(f, "<table id=\"network\">\n<tr><th>params</th><td>");
    figure(f, r, "params", 1, "params", true);
    fprintf(f, "</td></tr>\n<tr><th>MAdds</th><td>");
    figure(f, r, "madds", 1, "MAdds", true);
    fprintf(f, "</td></tr>\n<tr><th>budget</th><td>");
    figure(f, r, "budget", 1, latency ? "ms" : "MAdds", !latency);
    fprintf(f, "</td></tr>\n");
    const cJSON *pred = m ? m : r;
    if (cJSON_GetObjectItemCaseSensitive(pred, "predicted_latency_ms")) {
        fprintf(f, "<tr><th>latency, predicted by the table</th><td>");
        figure(f, pred, "predicted_latency_ms", 1, "ms", false);
        fprintf(f, "</td></tr>\n");
    }
    if (m) {
        /* the table predicts the fastest run (latency.h); both are shown */
        double runs = num(m, "runs");
        fprintf(f, "<tr><th>latency, measured (batch 1, fastest / median");
        if (isfinite(runs)) fprintf(f, " of %.0f runs", runs);
        fprintf(f, ")</th><td>");
        figure(f, m, "latency_min_ms", 1, "ms", false);
        fprintf(f, " / ");
        figure(f, m, "latency_ms", 1, "ms", false);
        fprintf(f, "</td></tr>\n<tr><th>measured on</th><td>");
        html_escape(f, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "device")));
        fprintf(f, "</td></tr>\n");
    }
    snprintf(path, sizeof path, "%s/train/log.jsonl", dir);
    jsonl t;
    if (jsonl_read(path, &t) && t.n) {
        fprintf(f, "<tr><th>test accuracy after %u epoch%s</th><td>", t.n, plural(t.n));
        figure(f, t.rows[t.n - 1], "test_acc", 100, "%", false);
        fprintf(f, "</td></tr>\n");
    }
    fprintf(f, "</table>\n");
    /* each layer's chosen cell and the probability the search gave it (softmax of its alphas) */
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(r, "layers"), *lo;
    fprintf(f, "<table id=\"layers\">\n<tr><th>layer</th><th>cell</th><th>probability</th></tr>\n");
    int l = 0;
    cJSON_ArrayForEach(lo, layers) {
        const cJSON *choice = cJSON_GetObjectItemCaseSensitive(lo, "choice");
        const cJSON *probs = cJSON_GetObjectItemCaseSensitive(lo, "probs");
        fprintf(f, "<tr><td>%d</td><td><code>", ++l);
        html_escape(f, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(lo, "cell")));
        fprintf(f, "</code></td><td>");
        if (cJSON_IsNumber(choice) && choice->valueint >= 0 && choice->valueint < cJSON_GetArraySize(probs))
            figure(f, cJSON_GetArrayItem(probs, choice->valueint), NULL, 1, "", false);
        else fprintf(f, "<span class=\"bad\">missing</span>");
        fprintf(f, "</td></tr>\n");
    }
    fprintf(f, "</table>\n");
    double moved = num(r, "layers_moved_to_meet_budget");
    if (moved > 0)
        fprintf(f, "<p>%.0f layer%s took a less likely cell than its most likely one, to meet the budget.</p>\n", moved,
                plural(moved));
    if (t.n) {
        double *x = calloc(t.n * 2, sizeof *x), *y = calloc(t.n * 2, sizeof *y);
        if (x && y) {
            svg_series s[2];
            fprintf(f, "<div class=\"row\">\n");
            s[0] = series(&t, "train", "epoch", "train_loss", 1, x, y);
            s[1] = series(&t, "test", "epoch", "test_loss", 1, x + t.n, y + t.n);
            svg_chart(f, "training loss", "epoch", "loss", s, 2);
            s[0] = series(&t, "train", "epoch", "train_acc", 100, x, y);
            s[1] = series(&t, "test", "epoch", "test_acc", 100, x + t.n, y + t.n);
            svg_chart(f, "training accuracy", "epoch", "%", s, 2);
            fprintf(f, "</div>\n");
        }
        free(x), free(y);
    }
    jsonl_free(&t);
    cJSON_Delete(r);
    cJSON_Delete(m);
}

asvk_status report_write(const char *dir) {
    char path[1100], tmp[1200];
    snprintf(path, sizeof path, "%s/report.html", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return asvk_error_set(ASVK_ERR_IO, "cannot write %s", tmp);
    fprintf(f, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>asvk run ");
    html_escape(f, dir);
    fprintf(f, "</title>\n<style>"
               "body{font-family:sans-serif;margin:2em;max-width:1400px} .row{display:flex;flex-wrap:wrap;gap:12px;"
               "align-items:flex-start} .cell{border:1px solid #ddd;padding:4px} svg{display:block}"
               " table{border-collapse:collapse;margin:1em 0} td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
               " td{font-variant-numeric:tabular-nums} .bad{color:#b00;font-style:italic}</style></head><body>\n");
    fprintf(f, "<h1>asvk run <code>");
    html_escape(f, dir);
    fprintf(f, "</code></h1>\n");
    network_section(f, dir);
    report_deploy_section(f, dir);
    search_section(f, dir);
    space_section(f, dir);
    evolve_curves(f, dir);
    fprintf(f, "</body></html>\n");
    bool bad = ferror(f) != 0;
    if (fclose(f) || bad || rename(tmp, path)) {
        remove(tmp);
        return asvk_error_set(ASVK_ERR_IO, "cannot write %s", path);
    }
    return ASVK_OK;
}

static int run(cli_args *a) {
    if (a->npos != 1) return cli_usage_error(a, "usage: asvk report RUN_DIR");
    asvk_status st = report_write(a->pos[0]);
    if (st) return cli_fail(st);
    printf("%s/report.html\n", a->pos[0]);
    return 0;
}

const cli_command cmd_report = {
    "report",
    "write the HTML report of a pipeline run folder",
    "asvk report RUN_DIR",
    "Writes RUN_DIR/report.html from the run's files: the learned cells drawn as\n"
    "graphs, fitness and loss curves of the evolution and the search, the chosen\n"
    "network with its params, MAdds, predicted and measured latency, and its\n"
    "training curves and test accuracy. 'asvk pipeline' writes it at its end.",
    opts,
    run,
};
