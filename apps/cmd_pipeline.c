/* asvk pipeline: evolve -> latency -> search -> train -> report, in one run
 * folder, each stage the command of its name with its own sub-folder (so
 * each is resumable, and --resume continues the pipeline where it stopped). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/interrupt.h"
#include "apps/pipeline_deploy.h"
#include "apps/report.h"
#include "apps/run_folder.h"
#include "autospace/latency.h"
#include "runtime/io/atomic_file.h"
#include "runtime/profile.h"

static const cli_opt opts[] = {
    {"--space", "S", "learned (default: evolve a space first) or mbconv (ProxylessNAS's hand-made space, for comparison)"},
    {"--reference", "A", "reference architecture: skeleton and anchors (default fmnist_evo)"},
    {"--data", "SPEC", "data for every stage (default fashion-mnist)"},
    {"--budget-madds", "X", "MAdds budget of the searched network (default: the reference's MAdds)"},
    {"--budget-latency", "MS", "latency budget instead, priced by the run's latency table"},
    {"--lut", "FILES", "more latency tables (comma-separated; e.g. a phone's from 'asvk latency import') that price the "
                       "found network in the report"},
    {"--widen", "F", "a searched network under the budget is made wider, up to F times, to the budget (asvk search "
                     "--widen; default: not widened)"},
    {"--epochs", "N", "epochs to train the searched network (default 15; --quick 1)"},
    {"--seed", "N", "seed of every stage (default 1)"},
    {"--fp16", NULL, "activations stored as fp16 in evolve, search and train (needs 16-bit storage; half the activation memory, slower on a CPU device such as lavapipe)"},
    {"--quick", NULL, "the quick preset of every stage (minutes on a CPU)"},
    /* options of one invocation */
    {"--run", "DIR", "run folder (default runs/pipeline-<space>-<date>-<time>)"},
    {"--resume", NULL, "continue the pipeline in --run: finished stages are kept, a stopped one resumes"},
    {"--quiet", NULL, "no progress lines"},
    {"--device", "D", "device number or name substring (see 'asvk devices')"},
    {0},
};

#define FIRST_INVOCATION_OPT "--run"

typedef struct {
    const char *argv[48];
    int argc;
    char store[16][1200];
    int nstore;
} argvec;

static void push(argvec *v, const char *s) {
    if (v->argc < 47) v->argv[v->argc++] = s;
}

static void pushf(argvec *v, const char *opt, const char *fmt, const char *value) {
    if (v->nstore == 16) return;
    snprintf(v->store[v->nstore], sizeof v->store[0], fmt, value);
    push(v, opt);
    push(v, v->store[v->nstore++]);
}

static void common(argvec *v, const cli_args *a) {
    if (cli_flag(a, "--quiet")) push(v, "--quiet");
    const char *d = cli_str(a, "--device", NULL);
    if (d) push(v, "--device"), push(v, d);
}

/* Runs `cmd` with v's arguments; a stage with a run folder of its own is
 * resumed (which does nothing more once it has finished). */
static int stage(const cli_command *cmd, argvec *v, const cli_args *a, const char *dir, bool quiet) {
    char cfg[1100];
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    argvec r = {0};
    argvec *use = v;
    if (access(cfg, F_OK) == 0) {
        push(&r, "--resume");
        push(&r, "--run");
        push(&r, dir);
        common(&r, a);
        use = &r;
    }
    if (interrupt_requested()) return interrupt_stopped(); /* between stages */
    if (!quiet) fprintf(stderr, "== %s%s ==\n", cmd->name, use == &r ? " (resuming)" : "");
    cli_args args;
    int rc = cli_parse(cmd, use->argc, (char **)use->argv, &args);
    return rc ? rc : cmd->run(&args);
}

static bool exists(const char *dir, const char *file) {
    char p[1100];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    return access(p, F_OK) == 0;
}

/* measured.json: the searched network's batch-1 latency on this device, and the table's prediction. */
static asvk_status measure(const cli_args *a, const char *dir) {
    char path[1100];
    snprintf(path, sizeof path, "%s/search/net.json", dir);
    asvk_arch arch;
    asvk_status st = asvk_arch_load(path, &arch);
    if (st) return st;
    asvk_context *ctx;
    if ((st = cli_context(a, &ctx))) {
        asvk_arch_free(&arch);
        return st;
    }
    asvk_timing t;
    double pred = NAN;
    const uint32_t runs = 15;
    if (!(st = asvk_context_require(ctx, "timestamps"))) st = asvk_arch_profile(ctx, &arch, 1, 3, runs, NULL, NULL, &t);
    snprintf(path, sizeof path, "%s/latency.json", dir);
    asvk_lut *lut;
    if (!st && access(path, F_OK) == 0 && !asvk_lut_load(path, &lut)) {
        if (asvk_lut_predict_arch(lut, &arch, &pred)) pred = NAN;
        asvk_lut_destroy(lut);
    }
    if (!st) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "device", asvk_context_device(ctx)->name);
        cJSON_AddNumberToObject(j, "batch", 1);
        cJSON_AddNumberToObject(j, "runs", runs);
        cJSON_AddNumberToObject(j, "latency_ms", t.median_ns / 1e6);
        cJSON_AddNumberToObject(j, "latency_min_ms", t.min_ns / 1e6);
        cJSON_AddNumberToObject(j, "latency_max_ms", t.max_ns / 1e6);
        if (isfinite(pred)) cJSON_AddNumberToObject(j, "predicted_latency_ms", pred);
        char *text = cJSON_Print(j);
        cJSON_Delete(j);
        snprintf(path, sizeof path, "%s/measured.json", dir);
        st = text ? asvk_file_write_atomic(path, text, strlen(text)) : asvk_error_set(ASVK_ERR_OOM, "out of host memory");
        free(text);
        if (!st && !cli_flag(a, "--quiet")) {
            char predicted[48] = "no table to predict it";
            if (isfinite(pred)) snprintf(predicted, sizeof predicted, "%.3f ms predicted", pred);
            fprintf(stderr, "latency of the searched network on %s (batch 1): %.3f ms fastest, %.3f ms median measured; "
                    "%s\n", asvk_context_device(ctx)->name, t.min_ns / 1e6, t.median_ns / 1e6, predicted);
        }
    }
    asvk_arch_free(&arch);
    int rc = cli_context_done(ctx, 0);
    return st ? st : rc ? asvk_error_set(ASVK_ERR_VULKAN, "the validation layer reported messages") : ASVK_OK;
}

static int run_with(cli_args *a, const cli_args *o);

/* The pipeline's options come from the command line, or with --resume from
 * the pipeline.json the first invocation wrote. */
static int run(cli_args *a) {
    if (a->npos) return cli_usage_error(a, "unexpected argument '%s'", a->pos[0]);
    if (!cli_flag(a, "--resume")) return run_with(a, a);
    const char *run_opt = cli_str(a, "--run", NULL);
    if (!run_opt) return cli_usage_error(a, "--resume needs --run DIR");
    asvk_status lst;
    if (exists(run_opt, "pipeline.json") && (lst = run_lock(run_opt))) return cli_fail(lst);
    cJSON *j;
    static char store[CLI_MAX_OPTS][64];
    cli_args saved;
    static const char *const absent[] = {"--lut", "", "--widen", "", NULL}; /* pipelines from before the options */
    asvk_status st = cli_saved_args_absent(&cmd_pipeline, run_opt, "pipeline.json", "pipeline", FIRST_INVOCATION_OPT,
                                           absent, &saved, &j, store);
    int rc = st ? cli_fail(st) : run_with(a, &saved);
    cJSON_Delete(j);
    return rc;
}

/* a: this invocation (run folder, resume, quiet, device); o: the pipeline's options */
static int run_with(cli_args *a, const cli_args *o) {
    bool resume = cli_flag(a, "--resume"), quick = cli_flag(o, "--quick"), quiet = cli_flag(a, "--quiet");
    bool fp16 = cli_flag(o, "--fp16");
    const char *space = cli_str(o, "--space", "learned"), *run_opt = cli_str(a, "--run", NULL);
    if (strcmp(space, "learned") != 0 && strcmp(space, "mbconv") != 0)
        return cli_usage_error(a, "--space must be learned or mbconv, not '%s'", space);
    if (cli_str(o, "--budget-madds", NULL) && cli_str(o, "--budget-latency", NULL))
        return cli_usage_error(a, "give one budget");
    long epochs;
    if (!cli_int(o, "--epochs", quick ? 1 : 15, 1, 100000, &epochs)) return 2;
    char dir[1024], sub[4][1100], epochs_s[16];
    if (run_opt) snprintf(dir, sizeof dir, "%s", run_opt);
    else {
        char name[64];
        snprintf(name, sizeof name, "pipeline-%s", space);
        run_default_dir(dir, sizeof dir, name);
    }
    if (!resume && exists(dir, "pipeline.json"))
        return cli_fail(asvk_error_set(ASVK_ERR_USAGE, "%s already holds a pipeline; continue it with --resume --run %s",
                                       dir, dir));
    const char *ref = cli_str(o, "--reference", "fmnist_evo"), *data = cli_str(o, "--data", "fashion-mnist");
    const char *seed = cli_str(o, "--seed", "1");
    const char *bl = cli_str(o, "--budget-latency", NULL), *bm = cli_str(o, "--budget-madds", NULL);
    snprintf(sub[0], sizeof sub[0], "%s/evolve", dir);
    snprintf(sub[1], sizeof sub[1], "%s/search", dir);
    snprintf(sub[2], sizeof sub[2], "%s/train", dir);
    snprintf(sub[3], sizeof sub[3], "%s/latency.json", dir);
    snprintf(epochs_s, sizeof epochs_s, "%ld", epochs);
    if (!resume) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "space", space);
        cJSON_AddStringToObject(j, "reference", ref);
        cJSON_AddStringToObject(j, "data", data);
        cJSON_AddStringToObject(j, "budget-madds", bm ? bm : "");
        cJSON_AddStringToObject(j, "budget-latency", bl ? bl : "");
        cJSON_AddNumberToObject(j, "epochs", (double)epochs);
        cJSON_AddStringToObject(j, "seed", seed);
        cJSON_AddBoolToObject(j, "quick", quick);
        cJSON_AddBoolToObject(j, "fp16", fp16);
        cJSON_AddStringToObject(j, "lut", cli_str(o, "--lut", ""));
        cJSON_AddStringToObject(j, "widen", cli_str(o, "--widen", ""));
        /* pipeline.json: what the stages were started with (config.json marks a stage's own folder); written
         * whole, so that a pipeline folder always resumes */
        asvk_status st = run_create(dir, "pipeline.json", j, "pipeline.json", NULL, NULL);
        cJSON_Delete(j);
        if (st) return cli_fail(st);
    }
    interrupt_resume_with("asvk pipeline", dir, cli_str(a, "--device", NULL));
    int rc = 0;
    char space_path[1200];
    snprintf(space_path, sizeof space_path, "%s/space.json", sub[0]);
    bool learned = strcmp(space, "learned") == 0;
    /* A latency budget prices evolution too: the table of the open space (every cell evolve can make, at
     * every layer) comes first, and serves the search of the learned space after. */
    if (learned && bl && !exists(dir, "latency.json")) {
        argvec v = {0};
        push(&v, "--skeleton"), push(&v, ref), push(&v, "--out"), push(&v, sub[3]);
        common(&v, a);
        if (interrupt_requested()) return interrupt_stopped();
        if (!quiet) fprintf(stderr, "== latency (the open space, for a latency-priced evolution) ==\n");
        cli_args args;
        if ((rc = cli_parse(&cmd_latency, v.argc, (char **)v.argv, &args)) || (rc = cmd_latency.run(&args))) return rc;
    }
    if (learned) {
        argvec v = {0};
        push(&v, "--reference"), push(&v, ref), push(&v, "--data"), push(&v, data), push(&v, "--seed"), push(&v, seed);
        if (bl) push(&v, "--lut"), push(&v, sub[3]), push(&v, "--budget-latency"), push(&v, bl);
        if (quick) push(&v, "--quick");
        if (fp16) push(&v, "--fp16");
        push(&v, "--run"), push(&v, sub[0]);
        common(&v, a);
        if ((rc = stage(&cmd_evolve, &v, a, sub[0], quiet))) return rc;
    }
    /* the latency table of the searched space on this device (for the report, and a latency budget) */
    if (!exists(dir, "latency.json")) {
        argvec v = {0};
        if (strcmp(space, "learned") == 0) push(&v, "--space"), push(&v, space_path);
        else push(&v, "--skeleton"), push(&v, ref), push(&v, "--ops"), push(&v, "dw3x3,dw5x5,dw7x7,identity"),
                 push(&v, "--expands"), push(&v, "3,6");
        push(&v, "--out"), push(&v, sub[3]);
        common(&v, a);
        if (interrupt_requested()) return interrupt_stopped();
        if (!quiet) fprintf(stderr, "== latency ==\n");
        cli_args args;
        if ((rc = cli_parse(&cmd_latency, v.argc, (char **)v.argv, &args)) || (rc = cmd_latency.run(&args))) return rc;
    }
    {
        argvec v = {0};
        push(&v, "--space"), push(&v, strcmp(space, "learned") == 0 ? space_path : "mbconv");
        push(&v, "--reference"), push(&v, ref), push(&v, "--data"), push(&v, data), push(&v, "--seed"), push(&v, seed);
        push(&v, "--lut"), push(&v, sub[3]);
        char budget[64];
        if (bl) push(&v, "--budget-latency"), push(&v, bl);
        else {
            if (!bm) { /* the reference's own cost */
                asvk_arch r;
                asvk_cost c;
                asvk_status st = asvk_arch_open(ref, &r);
                if (!st) st = asvk_arch_cost(&r, 0, &c);
                if (st) return cli_fail(st);
                snprintf(budget, sizeof budget, "%llu", (unsigned long long)c.madds);
                asvk_cost_free(&c);
                asvk_arch_free(&r);
                bm = budget;
            }
            push(&v, "--budget-madds"), push(&v, bm);
        }
        const char *widen = cli_str(o, "--widen", "");
        if (*widen) push(&v, "--widen"), push(&v, widen);
        if (quick) push(&v, "--quick");
        if (fp16) push(&v, "--fp16");
        push(&v, "--run"), push(&v, sub[1]);
        common(&v, a);
        if ((rc = stage(&cmd_search, &v, a, sub[1], quiet))) return rc;
    }
    {
        argvec v = {0};
        pushf(&v, "--arch", "%s/net.json", sub[1]);
        push(&v, "--data"), push(&v, data), push(&v, "--seed"), push(&v, seed), push(&v, "--epochs"), push(&v, epochs_s);
        if (fp16) push(&v, "--fp16");
        push(&v, "--run"), push(&v, sub[2]);
        common(&v, a);
        if ((rc = stage(&cmd_train, &v, a, sub[2], quiet))) return rc;
    }
    if (interrupt_requested()) return interrupt_stopped();
    if ((rc = pipeline_export(a, dir))) return rc;
    asvk_status st = measure(a, dir);
    if (!st) st = pipeline_predictions(dir, cli_str(o, "--lut", ""));
    if (!st) st = report_write(dir);
    if (st) return cli_fail(st);
    if (!quiet) fprintf(stderr, "report: %s/report.html\n", dir);
    return 0;
}

const cli_command cmd_pipeline = {
    "pipeline",
    "evolve a space, search a network in it, train it, and write a report",
    "asvk pipeline [--quick] [--space learned|mbconv] [--budget-madds X | --budget-latency MS] [--run DIR] [--resume]",
    "Runs, in one run folder: asvk evolve (evolve/; skipped with --space mbconv),\n"
    "asvk latency (latency.json: this device's table for the space), asvk search\n"
    "(search/), asvk train on the searched network (train/), measures its batch-1\n"
    "latency (measured.json), exports it to ONNX (model.onnx), prices it on the run's\n"
    "table and every --lut table (predictions.json), and writes report.html (asvk\n"
    "report). Every stage\n"
    "keeps its own run folder, so --resume continues where the pipeline stopped.\n"
    "The same command with --space mbconv runs the hand-made space for comparison.",
    opts,
    run,
};
