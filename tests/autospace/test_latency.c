/* Latency tables (autospace/latency.h): the probes cover every node shape a
 * space's networks have, a measured table saves and loads to the same
 * predictions, predictions are sums of the table's entries, a missing shape
 * is a clear error, malformed files are refused by name. Timing figures
 * themselves are never asserted (asvk latency --check reports them). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "autospace/latency.h"
#include "runtime/io/atomic_file.h"
#include "runtime/profile.h"
#include "tests/harness.h"

static const char *small_json =
    "{\"format\": \"asvk-arch/1\", \"name\": \"small\", \"in_channels\": 1, \"resolution\": 10, \"num_classes\": 4, "
    "\"layers\": [{\"type\": \"conv\", \"out\": 8, \"kernel\": 3, \"stride\": 2}, "
    "{\"type\": \"mbconv\", \"out\": 8, \"kernel\": 3, \"expand\": 3}, "
    "{\"type\": \"mbconv\", \"out\": 12, \"kernel\": 5, \"stride\": 2, \"expand\": 6}, "
    "{\"type\": \"global_pool\"}, {\"type\": \"linear\", \"out\": 4}]}";

static asvk_status small_skeleton(asvk_skeleton *sk) {
    asvk_arch a;
    asvk_status st = asvk_arch_parse(small_json, strlen(small_json), "small", &a);
    if (st) return st;
    st = asvk_skeleton_from_arch(&a, sk, NULL);
    asvk_arch_free(&a);
    return st;
}

static void write_text(const char *path, const char *text) {
    asvk_status st = asvk_file_write_atomic(path, text, strlen(text));
    CHECK(st == ASVK_OK, "write %s", path);
}

static void probes_cover_random_cells(void) {
    asvk_skeleton sk;
    OK(small_skeleton(&sk));
    uint32_t ops = (1u << ASVK_CELL_IDENTITY) | (1u << ASVK_CELL_DW3X3) | (1u << ASVK_CELL_CONV1X1) |
                   (1u << ASVK_CELL_MAXPOOL3X3);
    const float expands[] = {1, 3};
    const asvk_act acts[] = {ASVK_ACT_RELU6};
    asvk_arch *probes;
    uint32_t n;
    OK(asvk_lut_probes(&sk, ops, expands, 2, acts, 1, &probes, &n));
    CHECK(n == 2 * (4 + 4), "%u probes, expected 2 ratios x (4 operators + 2 merge + 1 copy + 1 SE probes)", n);
    asvk_lut *t = asvk_lut_create(1);
    asvk_lut_stamp_device(t, test_context());
    double *measured = calloc(n, sizeof *measured);
    for (uint32_t i = 0; i < n; i++) {
        asvk_timing tm;
        OK(asvk_lut_measure_arch(t, test_context(), &probes[i], 0, 5, &tm));
        CHECK(tm.median_ns > 0 && tm.min_ns <= tm.median_ns && tm.median_ns <= tm.max_ns, "probe %u timing", i);
        measured[i] = tm.min_ns / 1e6;
    }
    CHECK(asvk_lut_count(t) > 20, "%u node shapes", asvk_lut_count(t));
    CHECK(asvk_lut_node_scale(t) > 0, "node scale %g", asvk_lut_node_scale(t));
    /* any random cell of those operators and ratios, at any layer, and any network of them, is priced */
    asvk_genome_options o;
    asvk_genome_options_default(&o);
    o.ops = ops, o.expand_count = 2, o.expands[0] = 1, o.expands[1] = 3;
    asvk_prng rng = asvk_prng_seed(test_seed);
    for (int r = 0; r < 30; r++) {
        asvk_cell cells[2];
        OK(asvk_genome_random(&rng, 4, &o, &cells[0]));
        OK(asvk_genome_random(&rng, 4, &o, &cells[1]));
        double c0, c1, net;
        OK(asvk_lut_predict_cell(t, &sk, 0, &cells[0], &c0));
        OK(asvk_lut_predict_cell(t, &sk, 1, &cells[1], &c1));
        asvk_arch a;
        OK(asvk_skeleton_to_arch(&sk, cells, NULL, &a));
        OK(asvk_lut_predict_arch(t, &a, &net));
        /* a network is its cells plus the stem, head and overheads: more than its cells alone */
        CHECK(c0 > 0 && c1 > 0 && net > c0 + c1 - 1e-12 * net, "cells %g + %g, network %g", c0, c1, net);
        asvk_arch_free(&a);
    }
    /* cells alone calibrate the graph overhead; a cell with a shape the table lacks is refused */
    for (int r = 0; r < 3; r++) {
        asvk_cell cell;
        OK(asvk_genome_random(&rng, 4, &o, &cell));
        asvk_timing tm;
        OK(asvk_lut_calibrate_cell(t, test_context(), &sk, (uint32_t)r % 2, &cell, 0, 5, &tm));
        CHECK(tm.min_ns > 0, "calibration cell %d timing", r);
    }
    double ov = asvk_lut_overhead_ms(t);
    CHECK(ov == ov && ov > -1e3 && ov < 1e3, "graph overhead %g ms", ov);
    asvk_cell c7 = asvk_cell_mbconv(7, 3);
    EXPECT_ERR(asvk_lut_calibrate_cell(t, test_context(), &sk, 0, &c7, 0, 5, NULL), ASVK_ERR_USAGE,
               "latency table has no time for 'conv[k7x7");
    /* save, load: the same predictions */
    char path[] = "/tmp/asvk-lut-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    OK(asvk_lut_save(t, path));
    asvk_lut *u;
    OK(asvk_lut_load(path, &u));
    CHECK(asvk_lut_count(u) == asvk_lut_count(t) && asvk_lut_batch(u) == 1 &&
              strcmp(asvk_lut_stamp_of(u)->device, asvk_context_device(test_context())->name) == 0,
          "reloaded table");
    char why[1200];
    CHECK(asvk_lut_other_device(u, test_context(), why, sizeof why) == NULL, "its own device called another: %s", why);
    for (uint32_t i = 0; i < n; i++) {
        double a, b;
        OK(asvk_lut_predict_arch(t, &probes[i], &a));
        OK(asvk_lut_predict_arch(u, &probes[i], &b));
        CHECK(a == b, "probe %u: %.17g before saving, %.17g after", i, a, b);
    }
    /* the file holds every number exactly (asvk_json_exact): the reloaded table predicts bit for bit */
    CHECK(asvk_lut_overhead_ms(u) == asvk_lut_overhead_ms(t) && asvk_lut_node_scale(u) == asvk_lut_node_scale(t) &&
              asvk_lut_alone_scale(u) == asvk_lut_alone_scale(t) && asvk_lut_per_node_ms(u) == asvk_lut_per_node_ms(t),
          "reloaded overhead %.17g vs %.17g, scale %.17g vs %.17g", asvk_lut_overhead_ms(u), asvk_lut_overhead_ms(t),
          asvk_lut_node_scale(u), asvk_lut_node_scale(t));
    /* the fitted shares match the measured networks at least as well as the plain sums of the table */
    {
        char *text;
        size_t size;
        OK(asvk_file_read_all(path, 1u << 28, &text, &size));
        cJSON *j = cJSON_Parse(text);
        free(text);
        CHECK(j != NULL, "parse %s", path);
        cJSON_ReplaceItemInObject(j, "node_scale", cJSON_CreateNumber(1));
        cJSON_ReplaceItemInObject(j, "per_node_ms", cJSON_CreateNumber(0));
        char *plain = cJSON_Print(j);
        cJSON_Delete(j);
        write_text(path, plain);
        free(plain);
        asvk_lut *p;
        OK(asvk_lut_load(path, &p));
        double fitted = 0, sums = 0;
        for (uint32_t i = 0; i < n; i++) {
            double a, b;
            OK(asvk_lut_predict_arch(t, &probes[i], &a));
            OK(asvk_lut_predict_arch(p, &probes[i], &b));
            fitted += (a / measured[i] - 1) * (a / measured[i] - 1);
            sums += (b / measured[i] - 1) * (b / measured[i] - 1);
        }
        CHECK(fitted <= sums * (1 + 1e-9), "fitted squared relative error %g, plain sums %g", fitted, sums);
        asvk_lut_destroy(p);
    }
    free(measured);
    /* a node fed one value by two identity edges (the graph copies one), in
     * both layers (the second strided): priced */
    for (uint32_t l = 0; l < 2; l++) {
        asvk_cell d;
        asvk_cell_init(&d, 4, 3);
        d.op[1][0] = ASVK_CELL_DW3X3;
        d.op[2][1] = d.op[3][1] = d.op[3][2] = ASVK_CELL_IDENTITY;
        double ms;
        OK(asvk_lut_predict_cell(u, &sk, l, &d, &ms));
        CHECK(ms > 0, "layer %u: copy cell %g ms", l, ms);
    }
    /* a shape the table lacks: dw7x7 was never measured */
    asvk_cell c = asvk_cell_mbconv(7, 3);
    double ms;
    EXPECT_ERR(asvk_lut_predict_cell(u, &sk, 0, &c, &ms), ASVK_ERR_USAGE, "latency table has no time for 'conv[k7x7");
    remove(path);
    asvk_lut_destroy(t);
    asvk_lut_destroy(u);
    for (uint32_t i = 0; i < n; i++) asvk_arch_free(&probes[i]);
    free(probes);
}

static void malformed_tables(void) {
    char path[] = "/tmp/asvk-lut-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    asvk_lut *t;
    static const struct { const char *text, *want; } cases[] = {
        {"{", "not valid JSON"},
        {"{\"format\": \"asvk-arch/1\"}", "is not a latency table"},
        {"{\"format\": \"asvk-latency/1\", \"batch\": 1, \"graph_overhead_ms\": 0, \"per_node_ms\": 0, "
         "\"asvk_version\": \"x\", \"device\": {}, \"nodes\": {}}", "device.name is missing"},
        {"{\"format\": \"asvk-latency/1\", \"batch\": 1, \"graph_overhead_ms\": 0, \"per_node_ms\": 0, "
         "\"asvk_version\": \"x\", \"device\": {\"name\": \"d\", \"vendor\": \"v\", \"vendor_id\": 1, \"device_id\": 2, "
         "\"driver\": \"x\", \"driver_version\": \"1\"}, \"nodes\": {\"conv x\": {\"ms\": -1}}}", "nodes['conv x'].ms"},
        {"{\"format\": \"asvk-latency/1\", \"batch\": 1, \"graph_overhead_ms\": 0, \"per_node_ms\": 0, \"colour\": 1}",
         "unknown key 'colour'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_text(path, cases[i].text);
        EXPECT_ERR(asvk_lut_load(path, &t), ASVK_ERR_USAGE, cases[i].want);
    }
    remove(path);
    EXPECT_ERR(asvk_lut_load("/nonexistent/lut.json", &t), ASVK_ERR_USAGE, "/nonexistent/lut.json");
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"probes_cover_random_cells", probes_cover_random_cells},
        {"malformed_tables", malformed_tables},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
