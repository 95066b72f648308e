/* asvk search: pick one cell per layer from a learned or hand-made space
 * under a MAdds or latency budget (autospace/search.h), in a run folder
 * that --resume continues. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/data_spec.h"
#include "apps/interrupt.h"
#include "apps/ranks.h"
#include "apps/run_folder.h"
#include "apps/space_opts.h"
#include "autospace/alpha.h"
#include "autospace/search.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/json_read.h"

static const cli_opt opts[] = {
    {"--space", "S", "a space.json (from asvk evolve), 'mbconv' (ProxylessNAS's MBConv k3/5/7 x e3/6 on --reference; "
                     "default), 'proxyless' (the same on ProxylessNAS's ImageNet skeleton, for its Pixel 1 table) or "
                     "'ofa-mbv3' (once-for-all's MobileNetV3 space, k3/5/7 x e3/4/6, depth 2-4, for its Note10 tables)"},
    {"--reference", "A", "skeleton of the mbconv space (default fmnist_evo), or of proxyless's or ofa-mbv3's cells "
                         "when given (their own ImageNet one otherwise); a space.json brings its own"},
    {"--budget-madds", "X", "MAdds budget of the network, e.g. 4M"},
    {"--budget-latency", "MS", "latency budget in milliseconds, priced by --lut"},
    {"--lut", "FILE", "latency table of the target device (asvk latency); needed for --budget-latency"},
    {"--data", "SPEC", "training data: fashion-mnist[:DIR] (default), cifar10:DIR, folder:DIR[:RES[:C]]"},
    {"--steps", "N", "weight + alpha step pairs (default 600; --quick 120)"},
    {"--warmup", "N", "weight-only steps first (default 150; --quick 30)"},
    {"--batch", "N", "batch size (default 64; --quick 32)"},
    {"--lr", "X", "peak SGD learning rate of the weights (default 0.05)"},
    {"--momentum", "X", "SGD momentum (default 0.9)"},
    {"--wd", "X", "weight decay (default 5e-5)"},
    {"--arch-lr", "X", "Adam learning rate of the alphas (default 0.05)"},
    {"--tau0", "X", "Gumbel-softmax temperature at the start (default 5)"},
    {"--tau1", "X", "... and at the end (default 0.5)"},
    {"--lambda", "X", "weight of the budget term (default 1)"},
    {"--no-skip", NULL, "no identity candidate in the layers whose shape allows one"},
    {"--spend", "F", "the network costs at least F of the budget (0 to 1; default 0: the most likely network within it); "
                     "below it, the most likely network between F x budget and the budget"},
    {"--widen", "F", "a network still under --spend's share of the budget (the budget without --spend) is made wider, "
                     "up to F times, to the costliest width within the budget (asvk widen; default 1: never)"},
    {"--widen-divisor", "N", "widened channel counts are multiples of N (default 4)"},
    {"--fp16", NULL, "store the supernet's activations as fp16 (half the memory; needs 16-bit storage; slower on a CPU device such as lavapipe)"},
    {"--sync-bn", NULL, "under mpirun: batch-norm statistics over the global batch, not each rank's share (docs/scale.md)"},
    {"--data-resolution", "R", "train the supernet on R x R images (default the skeleton's); costs and the table "
                               "stay at the skeleton's resolution"},
    {"--val", "N", "training images held out for the alpha steps (default 5000; --quick 1000)"},
    {"--limit", "N", "use only the first N training images"},
    {"--seed", "N", "seed of weights, noise and batches (default 1)"},
    {"--save-every", "N", "save the state and log a history line every N steps (default 100)"},
    /* options of one invocation */
    {"--quick", NULL, "a short search (a few minutes on a CPU); options given win"},
    {"--run", "DIR", "run folder (default runs/search-<space>-<date>-<time>)"},
    {"--resume", NULL, "continue the search in --run from its last saved step"},
    {"--quiet", NULL, "no progress line"},
    {"--device", "D", "device number or name substring (see 'asvk devices')"},
    {0},
};
#define FIRST_INVOCATION_OPT "--quick"

typedef struct {
    char space[1024], reference[1024], data[1024], lut[1024];
    asvk_search_config cfg;
    uint32_t limit, save_every;
} search_options;

/* Parses the run options; loads the space (and the table) into o->cfg. *lut is owned by the caller. */
static int parse_options(cli_args *a, search_options *o, asvk_lut **lut) {
    memset(o, 0, sizeof *o);
    asvk_search_config *c = &o->cfg;
    asvk_search_config_default(c);
    *lut = NULL;
    bool quick = cli_flag(a, "--quick");
    snprintf(o->space, sizeof o->space, "%s", cli_str(a, "--space", "mbconv"));
    snprintf(o->reference, sizeof o->reference, "%s", cli_str(a, "--reference", "fmnist_evo"));
    snprintf(o->data, sizeof o->data, "%s", cli_str(a, "--data", "fashion-mnist"));
    snprintf(o->lut, sizeof o->lut, "%s", cli_str(a, "--lut", ""));
    long v;
#define INT(name, def, qdef, lo, hi, dst)                                   \
    do {                                                                    \
        if (!cli_int(a, name, quick ? (qdef) : (def), lo, hi, &v)) return 2; \
        dst = (uint32_t)v;                                                  \
    } while (0)
    INT("--steps", 600, 120, 2, 10000000, c->steps);
    INT("--warmup", 150, 30, 0, 10000000, c->warmup);
    INT("--batch", 64, 32, 2, 4096, c->batch);
    INT("--val", 5000, 1000, 1, 100000000, c->val_images);
    INT("--limit", 0, 0, 0, 100000000, o->limit);
    INT("--save-every", 100, 20, 1, 100000000, o->save_every);
    INT("--data-resolution", 0, 0, 0, 16384, c->data_resolution);
    INT("--widen-divisor", 4, 4, 1, 256, c->widen_divisor);
    if (!cli_int(a, "--seed", 1, 0, 0x7fffffff, &v)) return 2;
    c->seed = (uint64_t)v;
#undef INT
    if (!cli_double(a, "--lr", c->lr, 1e-9, 100, &c->lr) || !cli_double(a, "--momentum", c->momentum, 0, 0.9999, &c->momentum) ||
        !cli_double(a, "--wd", c->weight_decay, 0, 10, &c->weight_decay) ||
        !cli_double(a, "--arch-lr", c->arch_lr, 0, 100, &c->arch_lr) || !cli_double(a, "--tau0", c->tau0, 1e-3, 1e3, &c->tau0) ||
        !cli_double(a, "--tau1", c->tau1, 1e-3, 1e3, &c->tau1) || !cli_double(a, "--lambda", c->lambda, 0, 1e6, &c->lambda) ||
        !cli_double(a, "--spend", 0, 0, 1, &c->spend) || !cli_double(a, "--widen", 1, 1, 16, &c->widen))
        return 2;
    c->skip = !cli_flag(a, "--no-skip");
    c->fp16 = cli_flag(a, "--fp16");
    c->sync_bn = cli_flag(a, "--sync-bn");
    bool latency;
    int rc = opts_parse_budget(a, &c->budget, &latency);
    if (rc) return rc;
    if (latency) c->budget_kind = ASVK_BUDGET_LATENCY;
    asvk_status st;
    if (asvk_space_builtin_has(o->space) && cli_str(a, "--reference", NULL)) {
        /* a built-in space's cells on another skeleton (a table from 'asvk latency' prices it) */
        st = asvk_space_builtin_on(o->space, o->reference, &c->space);
    } else if (asvk_space_builtin_has(o->space)) {
        st = asvk_space_builtin(o->space, &c->space);
    } else if (strcmp(o->space, "mbconv") == 0) {
        asvk_arch ref;
        asvk_skeleton sk;
        if ((st = asvk_arch_open(o->reference, &ref))) return cli_fail(st);
        st = asvk_skeleton_from_arch(&ref, &sk, NULL);
        asvk_arch_free(&ref);
        if (!st) st = asvk_space_mbconv(&sk, &c->space);
    } else {
        st = asvk_space_load(o->space, ASVK_MOTIF_READING_DEFAULT, &c->space);
        if (!st && !c->space.has_skeleton)
            st = asvk_error_set(ASVK_ERR_USAGE, "%s has no skeleton (a search_space.config?): search a space.json", o->space);
    }
    if (st) return cli_fail(st);
    if (o->lut[0]) {
        if ((st = asvk_lut_load(o->lut, lut))) return cli_fail(st);
        c->lut = *lut;
    }
    return 0;
}

static cJSON *options_json(const search_options *o) {
    const asvk_search_config *c = &o->cfg;
    cJSON *j = cJSON_CreateObject();
    char b[64];
    cJSON_AddStringToObject(j, "space", o->space);
    cJSON_AddStringToObject(j, "reference", o->reference);
    snprintf(b, sizeof b, "%.17g", c->budget);
    cJSON_AddStringToObject(j, "budget-madds", c->budget_kind == ASVK_BUDGET_MADDS ? b : "");
    cJSON_AddStringToObject(j, "budget-latency", c->budget_kind == ASVK_BUDGET_LATENCY ? b : "");
    cJSON_AddStringToObject(j, "lut", o->lut);
    cJSON_AddStringToObject(j, "data", o->data);
    cJSON_AddNumberToObject(j, "steps", c->steps);
    cJSON_AddNumberToObject(j, "warmup", c->warmup);
    cJSON_AddNumberToObject(j, "batch", c->batch);
    asvk_json_add_exact(j, "lr", c->lr);
    asvk_json_add_exact(j, "momentum", c->momentum);
    asvk_json_add_exact(j, "wd", c->weight_decay);
    asvk_json_add_exact(j, "arch-lr", c->arch_lr);
    asvk_json_add_exact(j, "tau0", c->tau0);
    asvk_json_add_exact(j, "tau1", c->tau1);
    asvk_json_add_exact(j, "lambda", c->lambda);
    asvk_json_add_exact(j, "spend", c->spend);
    asvk_json_add_exact(j, "widen", c->widen);
    cJSON_AddNumberToObject(j, "widen-divisor", c->widen_divisor);
    cJSON_AddBoolToObject(j, "no-skip", !c->skip);
    cJSON_AddBoolToObject(j, "fp16", c->fp16);
    cJSON_AddBoolToObject(j, "sync-bn", c->sync_bn);
    cJSON_AddNumberToObject(j, "val", c->val_images);
    cJSON_AddNumberToObject(j, "limit", o->limit);
    asvk_json_add_exact(j, "seed", (double)c->seed);
    cJSON_AddNumberToObject(j, "save-every", o->save_every);
    cJSON_AddNumberToObject(j, "data-resolution", o->cfg.data_resolution);
    return j;
}

typedef struct {
    bool tty, quiet;
    double start, last;
    uint32_t first;
} progress;

static double wall(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static bool on_step(void *user, uint32_t step, uint32_t steps, double loss, double acc) {
    progress *p = user;
    double now = wall();
    if (interrupt_requested()) return false; /* the state of the last save stands */
    if (p->quiet || !p->tty || (now - p->last < 0.25 && step != steps)) return true;
    p->last = now;
    double eta = step > p->first ? (now - p->start) / (step - p->first) * (steps - step) : 0;
    fprintf(stderr, "\r\033[Kstep %u/%u  loss %.4f  acc %.2f%%  ETA %02d:%02d:%02d", step, steps, loss, 100 * acc,
            (int)(eta / 3600), (int)fmod(eta / 60, 60), (int)fmod(eta, 60));
    fflush(stderr);
    return true;
}

/* net.json, net.config (when the format holds the network) and result.json. */
static asvk_status write_result(const asvk_search *s, const search_options *o, const char *dir, bool quiet) {
    asvk_search_result r;
    asvk_status st = asvk_search_result_get(s, &r);
    if (st) return st;
    const asvk_skeleton *sk = &r.sk; /* the space's, or widened */
    char name[96], path[1100];
    snprintf(name, sizeof name, "%.40s-%.20s-searched", sk->name, o->cfg.space.name);
    asvk_arch a;
    if ((st = asvk_skeleton_to_arch(sk, r.cells, name, &a))) return st;
    snprintf(path, sizeof path, "%s/net.json", dir);
    st = asvk_arch_save(path, &a);
    snprintf(path, sizeof path, "%s/net.config", dir);
    bool netconfig = !st && asvk_arch_save_netconfig(path, &a) == ASVK_OK;
    if (netconfig) { /* the resolution, as once-for-all publishes it beside a net.config */
        char rc[64];
        int n = snprintf(rc, sizeof rc, "{\n    \"image_size\": %u\n}\n", a.resolution);
        snprintf(path, sizeof path, "%s/run.config", dir);
        st = asvk_file_write_atomic(path, rc, (size_t)n);
    }
    asvk_arch_free(&a);
    if (st) return st;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "madds", (double)r.madds);
    cJSON_AddNumberToObject(j, "params", (double)r.params);
    if (isfinite(r.latency_ms)) cJSON_AddNumberToObject(j, "predicted_latency_ms", r.latency_ms);
    cJSON_AddStringToObject(j, "budget_kind", o->cfg.budget_kind == ASVK_BUDGET_LATENCY ? "latency_ms" : "madds");
    cJSON_AddNumberToObject(j, "budget", o->cfg.budget);
    cJSON_AddNumberToObject(j, "layers_moved_to_meet_budget", r.moved);
    cJSON_AddNumberToObject(j, "width", r.width);
    cJSON *layers = cJSON_AddArrayToObject(j, "layers");
    for (uint32_t l = 0; l < sk->count; l++) {
        cJSON *lo = cJSON_CreateObject();
        char line[256] = "skip";
        if (r.cells[l].nodes) asvk_genome_format(&r.cells[l], line, sizeof line);
        cJSON_AddStringToObject(lo, "cell", line);
        cJSON_AddNumberToObject(lo, "choice", r.choice[l]);
        double p[ASVK_ALPHA_MAX_K];
        uint32_t k = asvk_search_probs(s, l, p);
        cJSON *pr = cJSON_AddArrayToObject(lo, "probs");
        for (uint32_t i = 0; i < k; i++) cJSON_AddItemToArray(pr, cJSON_CreateNumber(p[i]));
        cJSON_AddItemToArray(layers, lo);
    }
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    snprintf(path, sizeof path, "%s/result.json", dir);
    st = asvk_file_write_atomic(path, text, strlen(text));
    free(text);
    if (!st && !quiet) {
        fprintf(stderr, "searched network: %.3fM MAdds, %.3fM params", r.madds / 1e6, r.params / 1e6);
        if (r.width > 1) fprintf(stderr, ", widened %.2fx", r.width);
        if (isfinite(r.latency_ms)) fprintf(stderr, ", %.3f ms predicted", r.latency_ms);
        fprintf(stderr, "%s -> %s/net.json%s\n", r.moved ? " (the most likely network within the budget)" : "", dir,
                netconfig ? " and net.config" : " (its cells have no net.config form)");
    }
    return st;
}

static int run(cli_args *a) {
    if (a->npos) return cli_usage_error(a, "unexpected argument '%s'", a->pos[0]);
    bool resume = cli_flag(a, "--resume"), quiet = cli_flag(a, "--quiet") || !ranks_leader();
    const char *run_opt = cli_str(a, "--run", NULL);
    if (resume && !run_opt) return cli_usage_error(a, "--resume needs --run DIR (the search to continue)");
    static search_options o; /* holds a whole space */
    asvk_lut *lut = NULL;
    char run_dir[1024];
    int rc;
    asvk_status st;
    if (resume) {
        snprintf(run_dir, sizeof run_dir, "%s", run_opt);
        if (run_has(run_dir, "config.json") && (st = RANKS_LEADER(run_lock(run_dir), "locking the run folder")))
            return cli_fail(st);
        cJSON *j;
        static char store[CLI_MAX_OPTS][64];
        cli_args saved;
        static const char *const absent[] = {"--data-resolution", "0", "--spend", "0", "--widen", "1",
                                             "--widen-divisor", "4", NULL}; /* runs from before the options */
        st = cli_saved_args_absent(&cmd_search, run_dir, "config.json", "search", FIRST_INVOCATION_OPT, absent, &saved, &j,
                                   store);
        rc = st ? cli_fail(st) : parse_options(&saved, &o, &lut);
        cJSON_Delete(j);
        if (rc) return rc;
    } else if ((rc = parse_options(a, &o, &lut))) {
        return rc;
    }
    asvk_search_config *c = &o.cfg;
    c->dist = ranks_dist();
    data_sets data;
    uint32_t data_res = c->data_resolution ? c->data_resolution : c->space.sk.resolution;
    if ((st = data_open(o.data, NULL, data_res, c->space.sk.in_channels, true, &data))) {
        asvk_lut_destroy(lut);
        return cli_fail(st);
    }
    c->norm = data.norm;
    if (o.limit && o.limit < data.train->n) data.train->n = o.limit;
    asvk_context *ctx = NULL;
    asvk_search *s = NULL;
    if ((st = cli_context(a, &ctx))) goto done;
    if (lut) {
        char why[1200];
        if (ranks_leader() && asvk_lut_other_device(lut, ctx, why, sizeof why)) fprintf(stderr, "asvk: warning: %s\n", why);
    }
    if ((st = asvk_search_create(ctx, c, data.train, &s))) goto done;
    char state[1100] = "";
    if (resume) snprintf(state, sizeof state, "%s/search.json", run_dir);
    if (resume && access(state, F_OK) == 0) { /* (killed before its first save: it starts over) */
        if ((st = asvk_search_load(s, run_dir)) ||
            (st = RANKS_LEADER(run_jsonl_keep(run_dir, "history.jsonl", "step", asvk_search_done(s)),
                               "trimming history.jsonl")))
            goto done;
    } else if (resume) {
        if ((st = RANKS_LEADER(run_jsonl_keep(run_dir, "history.jsonl", "step", 0), "trimming history.jsonl"))) goto done;
    } else {
        if (run_opt) snprintf(run_dir, sizeof run_dir, "%s", run_opt);
        else {
            char name[96];
            snprintf(name, sizeof name, "search-%.60s", c->space.name);
            run_default_dir(run_dir, sizeof run_dir, name);
        }
        /* rank 0's folder name (its clock) is every rank's */
        st = asvk_dist_broadcast(ranks_dist(), run_dir, sizeof run_dir, 0, "the run folder's name");
        cJSON *cj = options_json(&o);
        static const char *const logs[] = {"history.jsonl", NULL};
        bool replaced = false;
        if (!st) st = RANKS_LEADER(run_create(run_dir, "config.json", cj, "search.json", logs, &replaced),
                                   "creating the run folder");
        cJSON_Delete(cj);
        if (st) goto done;
        if (replaced && !quiet)
            fprintf(stderr, "%s held a search that never saved its state; starting this one in its place\n", run_dir);
    }
    interrupt_resume_with("asvk search", run_dir, cli_str(a, "--device", NULL));
    if (!quiet)
        fprintf(stderr, "%s in %s (%u layers) on %s: %u steps (%u warm-up), batch %u, budget %g %s, run folder %s\n",
                resume ? "resuming the search" : "searching", c->space.name, c->space.layers, asvk_context_device(ctx)->name,
                c->steps, c->warmup, c->batch, c->budget_kind == ASVK_BUDGET_LATENCY ? c->budget : c->budget / 1e6,
                c->budget_kind == ASVK_BUDGET_LATENCY ? "ms" : "M MAdds", run_dir);
    progress p = {cli_tty(), quiet, wall(), 0, asvk_search_done(s)};
    while (!st && asvk_search_done(s) < c->steps) {
        if (interrupt_requested()) {
            st = asvk_error_set(ASVK_ERR_CANCELLED, "stopped after step %u", asvk_search_done(s));
            break;
        }
        asvk_search_stats ss;
        if ((st = asvk_search_run(s, o.save_every, on_step, &p, &ss))) break;
        char *line = asvk_search_history_json(s, &ss);
        if (!line) { st = asvk_error_set(ASVK_ERR_OOM, "out of host memory"); break; }
        st = ranks_leader() ? run_append_line(run_dir, "history.jsonl", line) : ASVK_OK;
        free(line);
        if (!st) st = ranks_leader() ? asvk_search_save(s, run_dir) : ASVK_OK;
        st = asvk_dist_share_status(ranks_dist(), st, 0, "saving the search");
        if (!st && !quiet) {
            if (p.tty) fprintf(stderr, "\r\033[K");
            fprintf(stderr, "step %u/%u  loss %.4f  acc %.2f%%", ss.step, c->steps, ss.loss, 100 * ss.accuracy);
            if (isfinite(ss.val_accuracy)) fprintf(stderr, "  val acc %.2f%%", 100 * ss.val_accuracy);
            fprintf(stderr, "  tau %.2f  E[cost] %.3f %s  %.1f s\n", ss.tau,
                    c->budget_kind == ASVK_BUDGET_LATENCY ? ss.expected_cost : ss.expected_cost / 1e6,
                    c->budget_kind == ASVK_BUDGET_LATENCY ? "ms" : "M MAdds", ss.seconds);
        }
    }
    if (!st) st = RANKS_LEADER(write_result(s, &o, run_dir, quiet), "writing the result");
done:
    asvk_search_destroy(s);
    rc = cli_context_done(ctx, st ? cli_fail(st) : 0);
    data_close(&data);
    asvk_lut_destroy(lut);
    return rc;
}

const cli_command cmd_search = {
    "search",
    "search a network inside a learned or hand-made space under a MAdds or latency budget",
    "asvk search [--space S] --budget-madds X | --budget-latency MS --lut FILE [--run DIR] [--resume] ...",
    "FBNet-style differentiable search: every candidate of every layer (the space's\n"
    "cells, plus the identity where the shape allows) sits in one supernet, mixed\n"
    "by Gumbel-softmax weights softmax((alpha + g) / tau); after a weight-only\n"
    "warm-up, weight steps (SGD, training split) alternate with alpha steps (Adam,\n"
    "held-out split) on cross-entropy + lambda * |log(E[cost] / budget)| (the budget\n"
    "as a target: searches in different spaces end at alike costs). The\n"
    "network is each layer's most likely cell (the identity where that has half the\n"
    "probability or more); over the budget, the most likely network that fits\n"
    "(by the cost model, and by the table for latency). --spend F takes the most\n"
    "likely network between F x budget and the budget instead of a cheaper one;\n"
    "--widen F then widens a network still under that floor (a space whose dearest\n"
    "network cannot reach it) by one width factor, as asvk widen does.\n"
    "The run folder holds config.json, history.jsonl, search.json with\n"
    "search-weights.safetensors (the state --resume continues), net.json (for\n"
    "'asvk train --arch'), net.config when the format holds it, and result.json.",
    opts,
    run,
};
