/* asvk latency: measure a latency table for a skeleton and space on this
 * device, and check the predictor built on it against measured cells and
 * networks (autospace/latency.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/interrupt.h"
#include "apps/latency_tables.h"
#include "apps/space_opts.h"
#include "autospace/latency.h"
#include "autospace/space.h"

static const cli_opt opts[] = {
    {"--skeleton", "A", "architecture giving the skeleton (default fmnist_evo); any .json, net.config or built-in"},
    {"--space", "FILE", "a space.json: its skeleton, and operators/expansions from its cells (instead of --skeleton)"},
    {"--ops", "LIST", "operators to measure: 'all' (default), 'motif' or a comma-separated list"},
    {"--expands", "LIST", "expansion ratios to measure (default 1,3,6 and the skeleton's own)"},
    {"--batch", "N", "batch of the measured inference (default 1: latency)"},
    {"--repeat", "N", "timed runs per measurement, at least 5 (default 15); the fastest is kept (see latency.h)"},
    {"--warmup", "N", "untimed runs first (default 3)"},
    {"--out", "FILE", "where to write the table (default latency.json; never written by --check alone)"},
    {"--lut", "FILE", "with --check: an existing table to check instead of measuring one"},
    {"--calibrate", "N", "random networks measured beside the probes, and twice as many cells alone, to fit the "
                         "predictor's terms (default 12)"},
    {"--check", "N", "measure N random cells and N random networks and report the prediction error"},
    {"--seed", "N", "seed of the random cells of --check (default 1)"},
    {"--device", "D", "device number or name substring (see 'asvk devices'); import: the phone's name"},
    {"--quiet", NULL, "no progress"},
    {"--resolution", "R", "predict: the network's input resolution (default its own)"},
    {"--json", NULL, "predict: print JSON"},
    {0},
};

static void add_expand(float *e, uint32_t *n, float v) {
    for (uint32_t i = 0; i < *n; i++)
        if (e[i] == v) return;
    if (*n < ASVK_GENOME_MAX_EXPANDS) e[(*n)++] = v;
}

static void add_act(asvk_act *a, uint32_t *n, asvk_act v) {
    for (uint32_t i = 0; i < *n; i++)
        if (a[i] == v) return;
    if (*n < 8) a[(*n)++] = v;
}

static double quantile(double *v, uint32_t n, double q) {
    for (uint32_t i = 1; i < n; i++)
        for (uint32_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1], v[j - 1] = t;
        }
    double pos = q * (n - 1);
    uint32_t lo = (uint32_t)pos;
    return lo + 1 < n ? v[lo] + (pos - lo) * (v[lo + 1] - v[lo]) : v[lo];
}

/* Ctrl-C / SIGTERM between two measurements: nothing is written until the end. */
static asvk_status stop_point(void) {
    return interrupt_requested() ? asvk_error_set(ASVK_ERR_CANCELLED, "stopped between measurements") : ASVK_OK;
}

static int run(cli_args *a) {
    if (a->npos && strcmp(a->pos[0], "import") == 0) return latency_import(a);
    if (a->npos && strcmp(a->pos[0], "predict") == 0) return latency_predict(a);
    if (a->npos) return cli_usage_error(a, "unexpected argument '%s' (subcommands: import, predict)", a->pos[0]);
    interrupt_graceful(true);
    interrupt_hint("the table is written only once it is whole; run the same command again");
    long batch, repeat, warmup, check, seed, calibrate;
    if (!cli_int(a, "--calibrate", 12, 0, 10000, &calibrate)) return 2;
    if (!cli_int(a, "--batch", 1, 1, 4096, &batch) || !cli_int(a, "--repeat", 15, 5, 10000, &repeat) ||
        !cli_int(a, "--warmup", 3, 0, 10000, &warmup) || !cli_int(a, "--check", 0, 0, 100000, &check) ||
        !cli_int(a, "--seed", 1, 0, 0x7fffffff, &seed))
        return 2;
    bool quiet = cli_flag(a, "--quiet");
    const char *lut_path = cli_str(a, "--lut", NULL), *out = cli_str(a, "--out", NULL);
    if (lut_path && !check) return cli_usage_error(a, "--lut is for --check (to check an existing table)");
    if (lut_path && out) return cli_usage_error(a, "--out writes a measured table; --lut checks an existing one");

    /* skeleton, operators, expansions and activations to cover */
    asvk_skeleton sk;
    asvk_cell ref[ASVK_SKEL_MAX_LAYERS];
    uint32_t ops = 0, nexp = 0, nacts = 0;
    float expands[ASVK_GENOME_MAX_EXPANDS];
    asvk_act acts[8];
    asvk_status st;
    const char *space_path = cli_str(a, "--space", NULL);
    if (space_path) {
        if (cli_str(a, "--skeleton", NULL)) return cli_usage_error(a, "give --space or --skeleton, not both");
        static asvk_space sp;
        if ((st = asvk_space_load(space_path, ASVK_MOTIF_READING_DEFAULT, &sp))) return cli_fail(st);
        if (!sp.has_skeleton) return cli_usage_error(a, "%s has no skeleton; use --skeleton", space_path);
        sk = sp.sk;
        for (uint32_t l = 0; l < sp.layers; l++)
            for (uint32_t k = 0; k < sp.count[l]; k++) {
                const asvk_cell *c = &sp.cells[l][k].cell;
                add_expand(expands, &nexp, c->expand);
                add_act(acts, &nacts, c->act);
                for (uint32_t i = 1; i < c->nodes; i++)
                    for (uint32_t j = 0; j < i; j++)
                        if (c->op[i][j]) ops |= 1u << c->op[i][j];
            }
        for (uint32_t l = 0; l < sk.count; l++) ref[l] = sp.cells[l][0].cell;
    } else {
        asvk_arch arch;
        if ((st = asvk_arch_open(cli_str(a, "--skeleton", "fmnist_evo"), &arch))) return cli_fail(st);
        st = asvk_skeleton_from_arch(&arch, &sk, ref);
        asvk_arch_free(&arch);
        if (st) return cli_fail(st);
        if (!opts_parse_ops(cli_str(a, "--ops", "all"), &ops)) return cli_usage_error(a, "--ops must be " OPTS_OPS_HELP);
        float given[ASVK_GENOME_MAX_EXPANDS];
        uint32_t ng;
        if (!opts_parse_expands(cli_str(a, "--expands", "1,3,6"), given, &ng))
            return cli_usage_error(a, "--expands must be up to %d ratios in (0, 64] separated by commas",
                                   ASVK_GENOME_MAX_EXPANDS);
        for (uint32_t i = 0; i < ng; i++) add_expand(expands, &nexp, given[i]);
        add_act(acts, &nacts, ASVK_ACT_RELU6);
        for (uint32_t l = 0; l < sk.count; l++) add_expand(expands, &nexp, ref[l].expand), add_act(acts, &nacts, ref[l].act);
    }

    asvk_context *ctx = NULL;
    asvk_lut *t = NULL;
    asvk_arch *probes = NULL;
    uint32_t nprobes = 0;
    if ((st = cli_context(a, &ctx))) return cli_fail(st);
    if ((st = asvk_context_require(ctx, "timestamps"))) goto done;
    if (lut_path) {
        if ((st = asvk_lut_load(lut_path, &t))) goto done;
        char why[1200];
        if (asvk_lut_other_device(t, ctx, why, sizeof why)) fprintf(stderr, "asvk: warning: %s\n", why);
        if (asvk_lut_batch(t) != (uint32_t)batch && cli_str(a, "--batch", NULL))
            fprintf(stderr, "asvk: warning: the table was measured at batch %u, not %ld; checking at %u\n",
                    asvk_lut_batch(t), batch, asvk_lut_batch(t));
    } else {
        if (!(t = asvk_lut_create((uint32_t)batch))) { st = asvk_error_set(ASVK_ERR_OOM, "out of host memory"); goto done; }
        asvk_lut_stamp_device(t, ctx);
        if ((st = asvk_lut_probes(&sk, ops, expands, nexp, acts, nacts, &probes, &nprobes))) goto done;
        for (uint32_t i = 0; i < nprobes && !st && !(st = stop_point()); i++) {
            asvk_timing tm;
            st = asvk_lut_measure_arch(t, ctx, &probes[i], (uint32_t)warmup, (uint32_t)repeat, &tm);
            if (!st && !quiet && cli_tty())
                fprintf(stderr, "\r\033[Kprobe %u/%u  %-32s %8.3f ms", i + 1, nprobes, probes[i].name, tm.min_ns / 1e6);
        }
        if (st) goto done;
        /* calibration: random networks of the space (their own seed, never the --check ones) */
        asvk_genome_options cg;
        asvk_genome_options_default(&cg);
        cg.ops = ops, cg.expand_count = nexp;
        memcpy(cg.expands, expands, nexp * sizeof *expands);
        asvk_prng crng = asvk_prng_seed((uint64_t)seed + 0x5eed);
        for (long i = 0; i < calibrate && !st && !(st = stop_point()); i++) {
            asvk_cell cells[ASVK_SKEL_MAX_LAYERS];
            for (uint32_t l = 0; l < sk.count && !st; l++) st = asvk_genome_random(&crng, cg.nodes, &cg, &cells[l]);
            asvk_arch net;
            if (st || (st = asvk_skeleton_to_arch(&sk, cells, "calibration", &net))) break;
            asvk_timing tm;
            st = asvk_lut_measure_arch(t, ctx, &net, (uint32_t)warmup, (uint32_t)repeat, &tm);
            asvk_arch_free(&net);
            if (!st && !quiet && cli_tty())
                fprintf(stderr, "\r\033[Kcalibration network %ld/%ld  %8.3f ms", i + 1, calibrate, tm.min_ns / 1e6);
        }
        if (st) goto done;
        /* calibration cells alone, for the graph overhead of a cell on its own */
        for (long i = 0; i < 2 * calibrate && !st && !(st = stop_point()); i++) {
            asvk_cell cell;
            uint32_t layer = asvk_prng_below(&crng, sk.count);
            asvk_timing tm;
            if (!(st = asvk_genome_random(&crng, cg.nodes, &cg, &cell)))
                st = asvk_lut_calibrate_cell(t, ctx, &sk, layer, &cell, (uint32_t)warmup, (uint32_t)(4 * repeat), &tm);
            if (!st && !quiet && cli_tty())
                fprintf(stderr, "\r\033[Kcalibration cell %ld/%ld  %8.3f ms", i + 1, 2 * calibrate, tm.min_ns / 1e6);
        }
        if (st) goto done;
        if (!quiet && cli_tty()) fprintf(stderr, "\r\033[K");
        const char *path = out ? out : "latency.json";
        if ((st = asvk_lut_save(t, path))) goto done;
        printf("latency table of %s on %s, batch %ld: %u probe and %ld calibration networks, %ld calibration "
               "cells, %u node shapes; node share %.3f x time %+.4f ms, a cell alone %.3f x shares %+.4f ms -> %s\n",
               sk.name, asvk_context_device(ctx)->name, batch, nprobes, calibrate, 2 * calibrate, asvk_lut_count(t),
               asvk_lut_node_scale(t), asvk_lut_per_node_ms(t), asvk_lut_alone_scale(t), asvk_lut_overhead_ms(t),
               path);
    }

    if (check) {
        /* random cells of the covered space at random layers, and random networks */
        asvk_genome_options go;
        asvk_genome_options_default(&go);
        go.ops = ops;
        go.expand_count = nexp;
        memcpy(go.expands, expands, nexp * sizeof *expands);
        asvk_prng rng = asvk_prng_seed((uint64_t)seed);
        double *err_c = calloc((size_t)check, sizeof *err_c), *err_n = calloc((size_t)check, sizeof *err_n);
        if (!err_c || !err_n) st = asvk_error_set(ASVK_ERR_OOM, "out of host memory");
        for (long i = 0; i < check && !st && !(st = stop_point()); i++) {
            asvk_cell cells[ASVK_SKEL_MAX_LAYERS];
            for (uint32_t l = 0; l < sk.count && !st; l++) st = asvk_genome_random(&rng, go.nodes, &go, &cells[l]);
            if (st) break;
            uint32_t layer = asvk_prng_below(&rng, sk.count);
            asvk_arch net;
            double pc = 0, pn = 0;
            asvk_timing mc, mn;
            if (st || (st = asvk_skeleton_to_arch(&sk, cells, "check-net", &net))) break;
            if (!(st = asvk_lut_predict_cell_alone(t, &sk, layer, &cells[layer], &pc)) &&
                !(st = asvk_lut_predict_arch(t, &net, &pn)) &&
                !(st = asvk_lut_measure_cell(ctx, &sk, layer, &cells[layer], asvk_lut_batch(t), (uint32_t)warmup,
                                             (uint32_t)(4 * repeat), &mc)) &&
                !(st = asvk_arch_profile(ctx, &net, asvk_lut_batch(t), (uint32_t)warmup, (uint32_t)repeat, NULL, NULL, &mn))) {
                err_c[i] = fabs(pc - mc.min_ns / 1e6) / (mc.min_ns / 1e6);
                err_n[i] = fabs(pn - mn.min_ns / 1e6) / (mn.min_ns / 1e6);
                if (!quiet)
                    fprintf(stderr, "%scheck %ld/%ld  layer %u cell: %.3f ms predicted, %.3f measured  network: %.3f / %.3f ms%s",
                            cli_tty() ? "\r\033[K" : "", i + 1, check, layer + 1, pc, mc.min_ns / 1e6, pn,
                            mn.min_ns / 1e6, cli_tty() ? "" : "\n");
            }
            asvk_arch_free(&net);
        }
        if (!st) {
            if (!quiet && cli_tty()) fprintf(stderr, "\r\033[K");
            double c50 = quantile(err_c, (uint32_t)check, 0.5), c90 = quantile(err_c, (uint32_t)check, 0.9);
            double n50 = quantile(err_n, (uint32_t)check, 0.5), n90 = quantile(err_n, (uint32_t)check, 0.9);
            printf("prediction error |predicted - measured| / measured over %ld random cells and %ld random networks:\n",
                   check, check);
            printf("  cells     median %5.1f%%  90th percentile %5.1f%%\n", 100 * c50, 100 * c90);
            printf("  networks  median %5.1f%%  90th percentile %5.1f%%\n", 100 * n50, 100 * n90);
        }
        free(err_c), free(err_n);
    }
done:
    for (uint32_t i = 0; i < nprobes; i++) asvk_arch_free(&probes[i]);
    free(probes);
    asvk_lut_destroy(t);
    return cli_context_done(ctx, st ? cli_fail(st) : 0);
}

const cli_command cmd_latency = {
    "latency",
    "measure a latency table on this device, import a phone's published one, predict a network's latency",
    "asvk latency [--skeleton A | --space FILE] [--ops LIST] [--out FILE] [--check N [--lut FILE]] ...\n"
    "       asvk latency import FILE.yaml --device \"NAME\" [--out TABLE.json]\n"
    "       asvk latency predict --lut TABLE NET [--resolution R] [--json]",
    "Measures, with timestamp queries on the device, the inference time of every\n"
    "node (each operator with its BN and activation, merges, SE, the cell wrapper's\n"
    "expand and project convolutions, the stem and head) at every shape the\n"
    "skeleton and the space can use: probe networks put each operator, at each\n"
    "expansion ratio, into every searchable layer. The table (JSON, keyed by\n"
    "operator, attributes and shapes, stamped with the device, driver and asvk\n"
    "version) prices any cell or network of the space on any machine: 'asvk\n"
    "search --lut'. --check N measures N random cells (as their share of a\n"
    "network) and N random networks and reports the prediction error.\n\n"
    "import: a published ProxylessNAS or once-for-all latency table (YAML, e.g.\n"
    "ofa-note10-224_lookup_table.yaml) as an asvk table stamped as measured on\n"
    "NAME and as imported; its blocks keep the authors' keys and times, and a\n"
    "model fitted on them prices blocks it lacks (the held-out error is printed).\n"
    "predict: a network's latency by a table, block by block: by a published\n"
    "table the sum of its blocks' entries, as the authors' estimators add them;\n"
    "blocks the table lacks are marked, with their share of the total.",
    opts,
    run,
};
