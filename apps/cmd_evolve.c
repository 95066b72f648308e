/* asvk evolve: learn a layer-wise search space with the AutoSpace
 * differentiable evolutionary algorithm (autospace/evolve.h), in a run
 * folder that --resume continues. */
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
#include "autospace/evolve.h"
#include "autospace/space.h"
#include "runtime/io/atomic_file.h"
#include "runtime/trainer.h"
#include "runtime/io/json_read.h"

/* Options that are part of the run (saved in config.json, read back by --resume). */
static const cli_opt opts[] = {
    {"--reference", "A", "reference architecture: skeleton and anchor cells (default fmnist_evo; any .json, net.config or built-in)"},
    {"--data", "SPEC", "training data: fashion-mnist[:DIR] (default), cifar10:DIR, folder:DIR[:RES[:C]]"},
    {"--generations", "N", "generations (default 24; --quick 4); 0 writes the initial populations as the space: with --no-anchors, K random affordable cells per layer (the baseline a learned space must beat)"},
    {"--population", "N", "cells per layer (default 16; --quick 8)"},
    {"--k", "N", "cells sampled and mixed per layer each generation, and cells per layer in the space (default 4)"},
    {"--steps", "N", "weight + architecture step pairs per generation (default 48; --quick 12)"},
    {"--batch", "N", "batch size (default 64; --quick 32)"},
    {"--lr", "X", "peak SGD learning rate of the weights, cosine over the run (default 0.05)"},
    {"--momentum", "X", "SGD momentum (default 0.9)"},
    {"--wd", "X", "weight decay of conv and linear weights (default 5e-5)"},
    {"--arch-lr", "X", "Adam learning rate of the mixture weights alpha (default 0.05)"},
    {"--lambda", "X", "weight of the cost term in the alpha loss (default 0.05)"},
    {"--cost", "FORM", "the cost term: log (lambda*log E[cost], a pull towards cheaper cells at any cost; the default) or "
                       "hinge (lambda*max(0, log(E[cost]/budget)): only above the budget)"},
    {"--budget-madds", "X", "MAdds budget of a whole network, e.g. 12M (default 1.5x the reference's; 0: none)"},
    {"--fitness", "FORM", "what a generation scores a cell by: alpha (its weight in the trained mixture; the default) or "
                          "perturb (how much the mixture's held-out loss rises without it)"},
    {"--lut", "FILE", "latency table of the target device (asvk latency): cells cost their predicted latency, not MAdds"},
    {"--budget-latency", "MS", "with --lut: latency budget of a whole network in ms (default 1.5x the reference's predicted)"},
    {"--tournament", "N", "tournament size (default 4)"},
    {"--min-sampled", "N", "generations a cell is trained before it may be removed (default 2)"},
    {"--beta", "X", "fitness moving-average rate of Eqn. 5 (default 0.5)"},
    {"--nodes", "N", "nodes of random and mutated cells (default 4)"},
    {"--ops", "LIST", "edge operators, comma-separated, or 'all' (default) or 'motif' (identity and depthwise only)"},
    {"--expands", "LIST", "expansion ratios of cells, comma-separated (default 1,3,6; the reference's are added)"},
    {"--se", NULL, "mutations may add squeeze-excitation"},
    {"--no-weighted", NULL, "no weighted (channel-attention) merges, only sums"},
    {"--no-anchors", NULL, "do not keep the reference cells in the populations"},
    {"--reference-mode", "M", "anchor (default): reference cells as anchors; distill: also block supervision by the trained reference"},
    {"--reference-epochs", "N", "distill: epochs to train the reference first (default 3; --quick 1)"},
    {"--reference-weights", "FILE", "distill: a checkpoint of the reference network (run/reference.json) instead of training it"},
    {"--val", "N", "training images held out for the alpha steps (default 5000; --quick 1000)"},
    {"--limit", "N", "use only the first N training images (tests and quick experiments)"},
    {"--smoothing", "X", "label smoothing (default 0.1)"},
    {"--crop-pad", "P", "random crop with P pixels of padding (default 2; 0: off)"},
    {"--no-flip", NULL, "no random horizontal flips"},
    {"--fp16", NULL, "store the supernet's activations as fp16 (half the memory; needs 16-bit storage; slower on a CPU device such as lavapipe)"},
    {"--sync-bn", NULL, "under mpirun: batch-norm statistics over the global batch, not each rank's share (docs/scale.md)"},
    {"--seed", "N", "seed of everything random: cells, mutations, weights, batches (default 1)"},
    /* Options of one invocation. */
    {"--quick", NULL, "a short run (about 3 minutes on a CPU): fewer generations, steps and cells; options given win"},
    {"--run", "DIR", "run folder (default runs/evolve-<reference>-<date>-<time>)"},
    {"--resume", NULL, "continue the run in --run from its last finished generation"},
    {"--stop-after", "N", "stop after N generations of this invocation; the run stays resumable"},
    {"--quiet", NULL, "no progress line"},
    {"--device", "D", "device number or name substring (see 'asvk devices')"},
    {0},
};
#define FIRST_INVOCATION_OPT "--quick"

typedef struct {
    char reference[1024], data[1024], ops[256], expands[128], reference_weights[1024], lut_path[1024];
    asvk_lut *lut; /* owned; cfg.lut borrows it */
    asvk_evolve_config cfg;
    uint32_t limit, reference_epochs;
} evolve_options;

static int parse_options(cli_args *a, evolve_options *o, asvk_skeleton *sk_out) {
    memset(o, 0, sizeof *o);
    asvk_evolve_config *c = &o->cfg;
    asvk_evolve_config_default(c);
    bool quick = cli_flag(a, "--quick");
    snprintf(o->reference, sizeof o->reference, "%s", cli_str(a, "--reference", "fmnist_evo"));
    snprintf(o->data, sizeof o->data, "%s", cli_str(a, "--data", "fashion-mnist"));
    long v;
#define INT(name, def, quick_def, lo, hi, dst)                                         \
    do {                                                                              \
        if (!cli_int(a, name, quick ? (quick_def) : (def), lo, hi, &v)) return 2;     \
        dst = (uint32_t)v;                                                            \
    } while (0)
    INT("--generations", 24, 4, 0, 100000, c->generations);
    INT("--population", 16, 8, 1, 4096, c->population);
    INT("--k", 4, 4, 1, ASVK_ALPHA_MAX_K, c->k);
    INT("--steps", 48, 12, 1, 1000000, c->steps);
    INT("--batch", 64, 32, 2, 4096, c->batch);
    INT("--tournament", 4, 4, 1, 4096, c->tournament);
    INT("--min-sampled", 2, 2, 1, 100000, c->min_sampled);
    INT("--nodes", 4, 4, 2, ASVK_CELL_MAX_NODES, c->genome.nodes);
    INT("--val", 5000, 1000, 1, 100000000, c->val_images);
    INT("--limit", 0, 0, 0, 100000000, o->limit);
    INT("--crop-pad", 2, 2, 0, 64, c->crop_pad);
    INT("--reference-epochs", 3, 1, 1, 10000, o->reference_epochs);
    if (!cli_int(a, "--seed", 1, 0, 0x7fffffff, &v)) return 2;
    c->seed = (uint64_t)v;
#undef INT
    if (!cli_double(a, "--lr", 0.05, 1e-9, 100, &c->lr) || !cli_double(a, "--momentum", 0.9, 0, 0.9999, &c->momentum) ||
        !cli_double(a, "--wd", 5e-5, 0, 10, &c->weight_decay) || !cli_double(a, "--arch-lr", 0.05, 0, 100, &c->arch_lr) ||
        !cli_double(a, "--lambda", 0.05, 0, 1000, &c->lambda) || !cli_double(a, "--beta", 0.5, 0, 1, &c->beta) ||
        !cli_double(a, "--smoothing", 0.1, 0, 0.99, &c->label_smoothing))
        return 2;
    c->flip = !cli_flag(a, "--no-flip");
    c->fp16 = cli_flag(a, "--fp16");
    c->sync_bn = cli_flag(a, "--sync-bn");
    const char *form = cli_str(a, "--cost", "log");
    if (strcmp(form, "log") == 0) c->cost_mode = ASVK_EVOLVE_COST_LOG;
    else if (strcmp(form, "hinge") == 0) c->cost_mode = ASVK_EVOLVE_COST_HINGE;
    else return cli_usage_error(a, "--cost must be log or hinge, not '%s'", form);
    const char *fit = cli_str(a, "--fitness", "alpha");
    if (strcmp(fit, "alpha") == 0) c->fitness = ASVK_EVOLVE_FITNESS_ALPHA;
    else if (strcmp(fit, "perturb") == 0) c->fitness = ASVK_EVOLVE_FITNESS_PERTURB;
    else return cli_usage_error(a, "--fitness must be alpha or perturb, not '%s'", fit);
    c->anchors = !cli_flag(a, "--no-anchors");
    const char *mode = cli_str(a, "--reference-mode", "anchor");
    if (strcmp(mode, "distill") == 0) c->distill = true;
    else if (strcmp(mode, "anchor") != 0)
        return cli_usage_error(a, "--reference-mode must be anchor or distill, not '%s'", mode);
    snprintf(o->reference_weights, sizeof o->reference_weights, "%s", cli_str(a, "--reference-weights", ""));
    if (o->reference_weights[0] && !c->distill)
        return cli_usage_error(a, "--reference-weights is for --reference-mode distill");
    c->genome.se = cli_flag(a, "--se");
    c->genome.weighted = !cli_flag(a, "--no-weighted");
    snprintf(o->ops, sizeof o->ops, "%s", cli_str(a, "--ops", "all"));
    if (!opts_parse_ops(o->ops, &c->genome.ops)) return cli_usage_error(a, "--ops must be " OPTS_OPS_HELP ", not '%s'", o->ops);
    snprintf(o->expands, sizeof o->expands, "%s", cli_str(a, "--expands", "1,3,6"));
    if (!opts_parse_expands(o->expands, c->genome.expands, &c->genome.expand_count))
        return cli_usage_error(a, "--expands must be up to %d ratios in (0, 64] separated by commas, not '%s'",
                               ASVK_GENOME_MAX_EXPANDS, o->expands);

    asvk_arch ref;
    asvk_status st = asvk_arch_open(o->reference, &ref);
    if (!st) st = asvk_skeleton_from_arch(&ref, &c->sk, c->reference);
    if (st) {
        if (ref.layers) asvk_arch_free(&ref);
        return cli_fail(st);
    }
    const char *budget = cli_str(a, "--budget-madds", NULL), *latency = cli_str(a, "--budget-latency", NULL);
    if (budget && !*budget) budget = NULL; /* "" in a run's config.json: not given */
    if (latency && !*latency) latency = NULL;
    snprintf(o->lut_path, sizeof o->lut_path, "%s", cli_str(a, "--lut", ""));
    if ((latency && !o->lut_path[0]) || (budget && o->lut_path[0])) {
        asvk_arch_free(&ref);
        return cli_usage_error(a, latency ? "--budget-latency needs --lut (a table from 'asvk latency')"
                                          : "with --lut cells cost their latency: give --budget-latency, not --budget-madds");
    }
    if (o->lut_path[0]) {
        /* the latency table prices every cell; the budget is in its ms */
        if (latency && !cli_double(a, "--budget-latency", 0, 1e-6, 1e9, &c->budget_ms)) {
            asvk_arch_free(&ref);
            return 2;
        }
        if (!(st = asvk_lut_load(o->lut_path, &o->lut)) && !latency) {
            double ms;
            if (!(st = asvk_lut_predict_arch(o->lut, &ref, &ms))) c->budget_ms = 1.5 * ms;
        }
        asvk_arch_free(&ref);
        if (st) {
            asvk_lut_destroy(o->lut);
            o->lut = NULL;
            return cli_fail(st);
        }
        c->lut = o->lut, c->budget_madds = 0;
        if (sk_out) *sk_out = c->sk;
        return 0;
    }
    if (budget) {
        if (!opts_parse_amount(budget, &c->budget_madds))
            return cli_usage_error(a, "--budget-madds must be a number of multiply-adds such as 12M, not '%s'", budget);
    } else {
        asvk_cost cost;
        if ((st = asvk_arch_cost(&ref, 0, &cost))) {
            asvk_arch_free(&ref);
            return cli_fail(st);
        }
        c->budget_madds = 1.5 * (double)cost.madds;
        asvk_cost_free(&cost);
    }
    asvk_arch_free(&ref);
    if (sk_out) *sk_out = c->sk;
    return 0;
}

/* config.json: every run option by its name without the dashes, values as
 * resolved (so a run never depends on later changes of the defaults). */
static cJSON *options_json(const evolve_options *o) {
    const asvk_evolve_config *c = &o->cfg;
    cJSON *j = cJSON_CreateObject();
    char b[64];
    cJSON_AddStringToObject(j, "reference", o->reference);
    cJSON_AddStringToObject(j, "data", o->data);
    cJSON_AddNumberToObject(j, "generations", c->generations);
    cJSON_AddNumberToObject(j, "population", c->population);
    cJSON_AddNumberToObject(j, "k", c->k);
    cJSON_AddNumberToObject(j, "steps", c->steps);
    cJSON_AddNumberToObject(j, "batch", c->batch);
    asvk_json_add_exact(j, "lr", c->lr);
    asvk_json_add_exact(j, "momentum", c->momentum);
    asvk_json_add_exact(j, "wd", c->weight_decay);
    asvk_json_add_exact(j, "arch-lr", c->arch_lr);
    asvk_json_add_exact(j, "lambda", c->lambda);
    cJSON_AddStringToObject(j, "cost", c->cost_mode == ASVK_EVOLVE_COST_HINGE ? "hinge" : "log");
    cJSON_AddStringToObject(j, "fitness", c->fitness == ASVK_EVOLVE_FITNESS_PERTURB ? "perturb" : "alpha");
    /* a latency-priced run: its table and budget, no MAdds budget ("": not given) */
    cJSON_AddStringToObject(j, "lut", o->lut ? o->lut_path : "");
    snprintf(b, sizeof b, "%.17g", c->budget_ms);
    cJSON_AddStringToObject(j, "budget-latency", o->lut ? b : "");
    snprintf(b, sizeof b, "%.17g", c->budget_madds);
    cJSON_AddStringToObject(j, "budget-madds", o->lut ? "" : b);
    cJSON_AddNumberToObject(j, "tournament", c->tournament);
    cJSON_AddNumberToObject(j, "min-sampled", c->min_sampled);
    asvk_json_add_exact(j, "beta", c->beta);
    cJSON_AddNumberToObject(j, "nodes", c->genome.nodes);
    cJSON_AddStringToObject(j, "ops", o->ops);
    cJSON_AddStringToObject(j, "expands", o->expands);
    cJSON_AddBoolToObject(j, "se", c->genome.se);
    cJSON_AddBoolToObject(j, "no-weighted", !c->genome.weighted);
    cJSON_AddBoolToObject(j, "no-anchors", !c->anchors);
    cJSON_AddStringToObject(j, "reference-mode", c->distill ? "distill" : "anchor");
    cJSON_AddNumberToObject(j, "reference-epochs", o->reference_epochs);
    cJSON_AddStringToObject(j, "reference-weights", o->reference_weights);
    cJSON_AddNumberToObject(j, "val", c->val_images);
    cJSON_AddNumberToObject(j, "limit", o->limit);
    asvk_json_add_exact(j, "smoothing", c->label_smoothing);
    cJSON_AddNumberToObject(j, "crop-pad", c->crop_pad);
    cJSON_AddBoolToObject(j, "no-flip", !c->flip);
    cJSON_AddBoolToObject(j, "fp16", c->fp16);
    cJSON_AddBoolToObject(j, "sync-bn", c->sync_bn);
    asvk_json_add_exact(j, "seed", (double)c->seed);
    return j;
}

/* ---- progress ---- */

typedef struct {
    bool tty, quiet;
    double start, last_draw;
    uint32_t generations, first_generation;
    uint32_t layers;
    double best[ASVK_SKEL_MAX_LAYERS];
    bool have_best;
} progress;

static double wall(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void eta_text(const progress *p, uint32_t gen, uint32_t step, uint32_t steps, char *out, size_t n) {
    double done = (double)(gen - p->first_generation) + (double)step / steps;
    double left = (double)p->generations - gen - (double)step / steps;
    if (done <= 0) {
        snprintf(out, n, "--:--:--");
        return;
    }
    double eta = (wall() - p->start) / done * left;
    snprintf(out, n, "%02d:%02d:%02d", (int)(eta / 3600), (int)fmod(eta / 60, 60), (int)fmod(eta, 60));
}

static void fitness_text(const progress *p, char *out, size_t n) {
    size_t len = 0;
    out[0] = 0;
    for (uint32_t l = 0; p->have_best && l < p->layers && len + 8 < n; l++)
        len += (size_t)snprintf(out + len, n - len, "%s%.2f", l ? " " : "", p->best[l]);
}

static bool on_step(void *user, uint32_t gen, uint32_t step, uint32_t steps, double loss, double acc) {
    progress *p = user;
    double now = wall();
    if (interrupt_requested()) return false; /* the generation is abandoned; the last saved one stands */
    if (p->quiet || !p->tty || (now - p->last_draw < 0.25 && step != steps)) return true;
    p->last_draw = now;
    char eta[32], fit[256];
    eta_text(p, gen, step, steps, eta, sizeof eta);
    fitness_text(p, fit, sizeof fit);
    char accs[32] = "";
    if (isfinite(acc)) snprintf(accs, sizeof accs, "  acc %.2f%%", 100 * acc);
    fprintf(stderr, "\r\033[Kgen %u/%u  step %u/%u  loss %.4f%s  best fitness [%s]  ETA %s", gen + 1, p->generations,
            step, steps, loss, accs, fit, eta);
    fflush(stderr);
    return true;
}

/* ---- block supervision's teacher ---- */

static bool on_reference_step(void *user, uint32_t epoch, uint32_t step, uint32_t steps, double loss, double acc,
                              double ips) {
    const progress *p = user;
    if (interrupt_requested()) return false; /* the teacher is trained again on resume */
    if (p->quiet || !p->tty || (step % 10 && step != steps)) return true;
    fprintf(stderr, "\r\033[Kreference epoch %u  step %u/%u  loss %.4f  acc %.2f%%  %.0f img/s", epoch + 1, step, steps,
            loss, 100 * acc, ips);
    fflush(stderr);
    return true;
}

/* The trained reference for --reference-mode distill: the run folder's
 * reference.safetensors when a previous invocation made it, else the
 * --reference-weights checkpoint, else the reference network
 * (reference.json) trained here on the run's training split. */
static asvk_status provide_teacher(asvk_context *ctx, const evolve_options *o, asvk_evolve *e, const asvk_dataset *train,
                                   const char *dir, const progress *p) {
    char path[1100];
    snprintf(path, sizeof path, "%s/reference.safetensors", dir);
    if (access(path, F_OK) == 0) return asvk_evolve_set_teacher(e, path);
    if (o->reference_weights[0]) return asvk_evolve_set_teacher(e, o->reference_weights);
    const asvk_evolve_config *c = &o->cfg;
    asvk_arch ref;
    char name[96], json[1100];
    snprintf(name, sizeof name, "%.50s-reference", c->sk.name);
    asvk_status st = asvk_skeleton_to_arch_ex(&c->sk, c->reference, name, false, &ref); /* the teacher's cell names */
    if (st) return st;
    snprintf(json, sizeof json, "%s/reference.json", dir);
    if ((st = RANKS_LEADER(asvk_arch_save(json, &ref), "writing reference.json"))) goto done;
    asvk_train_config tc;
    asvk_train_config_default(&tc);
    const asvk_split *sp = asvk_evolve_split(e);
    tc.epochs = o->reference_epochs, tc.seed = c->seed, tc.norm = c->norm, tc.crop_pad = c->crop_pad, tc.flip = c->flip;
    tc.label_smoothing = c->label_smoothing, tc.batch = c->batch; /* the evolution's batch: steps enough on small data */
    tc.dist = c->dist, tc.sync_bn = c->sync_bn;
    uint32_t steps = sp->n_train / tc.batch;
    asvk_trainer *t;
    if ((st = asvk_trainer_create(ctx, &ref, &tc, steps, &t))) goto done;
    if (!p->quiet) fprintf(stderr, "training the reference %s for %u epochs (%u images) for block supervision\n", name,
                           tc.epochs, sp->n_train);
    double loss = NAN, acc = NAN;
    for (uint32_t ep = 0; ep < tc.epochs && !st; ep++) {
        asvk_epoch_stats es;
        st = asvk_trainer_epoch(t, train, sp->train, sp->n_train, ep, 0, on_reference_step, (void *)p, &es);
    }
    if (!st) st = asvk_trainer_evaluate(t, train, sp->val, sp->n_val, &loss, &acc);
    if (!st) st = asvk_trainer_save(t, path, tc.epochs, 0, NULL, 0);
    asvk_trainer_destroy(t);
    if (!st && !p->quiet) {
        if (p->tty) fprintf(stderr, "\r\033[K");
        fprintf(stderr, "reference: held-out loss %.4f, accuracy %.2f%%; weights %s\n", loss, 100 * acc, path);
    }
    if (!st) st = asvk_evolve_set_teacher(e, path);
done:
    asvk_arch_free(&ref);
    return st;
}

/* ---- the run folder ---- */

/* space.json, search_space.config and best.json (the network of each
 * layer's fittest cell) from the populations as they stand. */
static asvk_status write_space(const asvk_evolve *e, const char *dir, uint32_t k, uint32_t *kept, uint32_t *cells) {
    asvk_space sp;
    asvk_status st = asvk_evolve_space(e, k, &sp);
    char path[1100];
    snprintf(path, sizeof path, "%s/space.json", dir);
    if (!st) st = asvk_space_save_json(&sp, path);
    snprintf(path, sizeof path, "%s/search_space.config", dir);
    if (!st) st = asvk_space_save_motif(&sp, path, ASVK_MOTIF_READING_DEFAULT, kept);
    *cells = asvk_space_cells(&sp);
    if (st) return st;
    asvk_cell best[ASVK_SKEL_MAX_LAYERS];
    for (uint32_t l = 0; l < sp.layers; l++) best[l] = sp.cells[l][0].cell;
    char name[80];
    snprintf(name, sizeof name, "%.50s-best", sp.sk.name);
    asvk_arch a;
    if ((st = asvk_skeleton_to_arch(&sp.sk, best, name, &a))) return st;
    snprintf(path, sizeof path, "%s/best.json", dir);
    st = asvk_arch_save(path, &a);
    asvk_arch_free(&a);
    return st;
}

static int run(cli_args *a) {
    if (a->npos) return cli_usage_error(a, "unexpected argument '%s'", a->pos[0]);
    bool resume = cli_flag(a, "--resume"), quiet = cli_flag(a, "--quiet") || !ranks_leader();
    const char *run_opt = cli_str(a, "--run", NULL);
    if (resume && !run_opt) return cli_usage_error(a, "--resume needs --run DIR (the run to continue)");
    long stop_after;
    if (!cli_int(a, "--stop-after", 0, 0, 100000, &stop_after)) return 2;
    evolve_options o;
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
        /* runs from before --cost and --fitness */
        static const char *const absent[] = {"--cost", "log", "--fitness", "alpha", NULL};
        st = cli_saved_args_absent(&cmd_evolve, run_dir, "config.json", "evolve run", FIRST_INVOCATION_OPT, absent, &saved,
                                   &j, store);
        rc = st ? cli_fail(st) : parse_options(&saved, &o, NULL);
        cJSON_Delete(j);
        if (rc) return rc;
    } else if ((rc = parse_options(a, &o, NULL))) {
        return rc;
    }
    asvk_evolve_config *c = &o.cfg;
    c->dist = ranks_dist();
    data_sets data;
    if ((st = data_open(o.data, NULL, c->sk.resolution, c->sk.in_channels, true, &data))) {
        asvk_lut_destroy(o.lut);
        return cli_fail(st);
    }
    c->norm = data.norm;
    if (o.limit && o.limit < data.train->n) data.train->n = o.limit;

    asvk_context *ctx = NULL;
    asvk_evolve *e = NULL;
    if ((st = cli_context(a, &ctx))) goto done;
    char why[512];
    if (o.lut && ranks_leader() && asvk_lut_other_device(o.lut, ctx, why, sizeof why)) fprintf(stderr, "asvk: warning: %s\n", why);
    if ((st = asvk_evolve_create(ctx, c, data.train, &e))) goto done;
    progress p = {cli_tty(), quiet, 0, 0, c->generations, 0, c->sk.count, {0}, false};
    /* a resumed run that never saved its generation 0 (stopped or killed while the teacher trained, say)
     * starts from the beginning */
    bool started = resume && run_has(run_dir, "state.json");
    if (started) {
        interrupt_resume_with("asvk evolve", run_dir, cli_str(a, "--device", NULL));
        if ((st = asvk_evolve_load(e, run_dir)) ||
            (st = RANKS_LEADER(run_jsonl_keep(run_dir, "history.jsonl", "generation", asvk_evolve_generation(e)),
                               "trimming history.jsonl")))
            goto done;
        /* killed before the teacher was saved with a generation's state */
        if (c->distill && !asvk_evolve_has_teacher(e) && (st = provide_teacher(ctx, &o, e, data.train, run_dir, &p)))
            goto done;
    } else {
        if (resume) {
            st = RANKS_LEADER(run_jsonl_keep(run_dir, "history.jsonl", "generation", 0), "trimming history.jsonl");
        } else {
            if (run_opt) snprintf(run_dir, sizeof run_dir, "%s", run_opt);
            else {
                char name[96];
                snprintf(name, sizeof name, "evolve-%.60s", c->sk.name);
                run_default_dir(run_dir, sizeof run_dir, name);
            }
            /* rank 0's folder name (its clock) is every rank's */
            st = asvk_dist_broadcast(ranks_dist(), run_dir, sizeof run_dir, 0, "the run folder's name");
            cJSON *cj = options_json(&o);
            static const char *const logs[] = {"history.jsonl", NULL};
            bool replaced = false;
            if (!st) st = RANKS_LEADER(run_create(run_dir, "config.json", cj, "state.json", logs, &replaced),
                                       "creating the run folder");
            cJSON_Delete(cj);
            if (!st && replaced && !quiet)
                fprintf(stderr, "%s held an evolution that never saved a generation; starting this one in its place\n",
                        run_dir);
        }
        if (!st) interrupt_resume_with("asvk evolve", run_dir, cli_str(a, "--device", NULL));
        if (!st && c->distill) st = provide_teacher(ctx, &o, e, data.train, run_dir, &p);
        if (!st) st = RANKS_LEADER(asvk_evolve_save(e, run_dir), "saving generation 0"); /* the initial populations */
        /* no generations: the space is K of the initial, untrained cells (ties broken by hash: a random choice) */
        uint32_t kept0, cells0;
        if (!st && !c->generations) st = RANKS_LEADER(write_space(e, run_dir, c->k, &kept0, &cells0), "writing the space");
        if (st) goto done;
    }
    p.start = wall();
    p.first_generation = asvk_evolve_generation(e);
    if (!quiet) {
        char budget[96];
        if (c->lut) snprintf(budget, sizeof budget, "%.3f ms (%.60s)", c->budget_ms, o.lut_path);
        else snprintf(budget, sizeof budget, "%.2fM MAdds", c->budget_madds / 1e6);
        fprintf(stderr, "%s %s on %s: %u layers, %u cells each, K = %u, %u generations of %u steps (batch %u), "
                "budget %s, run folder %s\n", resume ? "resuming" : "evolving a space for", c->sk.name,
                asvk_context_device(ctx)->name, c->sk.count, c->population, c->k, c->generations, c->steps, c->batch,
                budget, run_dir);
    }
    uint32_t end = c->generations;
    if (stop_after && asvk_evolve_generation(e) + stop_after < end) end = asvk_evolve_generation(e) + (uint32_t)stop_after;
    uint32_t kept = 0, cells = 0;
    while (!st && asvk_evolve_generation(e) < end) {
        if (interrupt_requested()) {
            st = asvk_error_set(ASVK_ERR_CANCELLED, "stopped after generation %u", asvk_evolve_generation(e));
            break;
        }
        asvk_generation_stats gs;
        if ((st = asvk_evolve_step(e, on_step, &p, &gs))) break;
        char *line = asvk_evolve_history_json(e, &gs);
        if (!line) {
            st = asvk_error_set(ASVK_ERR_OOM, "out of host memory");
            break;
        }
        /* history first: a kill before the state is saved repeats this
         * generation on resume, which drops the line (run_jsonl_keep) */
        st = ranks_leader() ? run_append_line(run_dir, "history.jsonl", line) : ASVK_OK;
        free(line);
        if (!st) st = ranks_leader() ? asvk_evolve_save(e, run_dir) : ASVK_OK;
        if (!st) st = ranks_leader() ? write_space(e, run_dir, c->k, &kept, &cells) : ASVK_OK;
        st = asvk_dist_share_status(ranks_dist(), st, 0, "saving the generation");
        if (st) break;
        memcpy(p.best, gs.best_fitness, sizeof p.best);
        p.have_best = true;
        if (!quiet) {
            char fit[256], eta[32];
            fitness_text(&p, fit, sizeof fit);
            eta_text(&p, gs.generation + 1, 0, 1, eta, sizeof eta);
            if (p.tty) fprintf(stderr, "\r\033[K");
            if (c->distill)
                fprintf(stderr, "gen %u/%u  distill loss %.4f  held-out %.4f", gs.generation + 1, c->generations,
                        gs.loss, gs.val_loss);
            else
                fprintf(stderr, "gen %u/%u  loss %.4f  acc %.2f%%  val acc %.2f%%", gs.generation + 1, c->generations,
                        gs.loss, 100 * gs.accuracy, 100 * gs.val_accuracy);
            if (c->lut) fprintf(stderr, "  E[latency] %.3f ms", gs.expected_ms);
            fprintf(stderr, "  E[MAdds] %.2fM  best fitness [%s]  %.0f img/s  %.1f s  ETA %s\n", gs.expected_madds / 1e6,
                    fit, gs.images_per_s, gs.seconds, eta);
        }
    }
    if (!st && asvk_evolve_generation(e) == c->generations && !quiet) {
        fprintf(stderr, "%s: %s/space.json%s; its best network: %s/best.json\n",
                c->generations ? "learned space" : "initial populations, not evolved", run_dir,
                kept ? " (and search_space.config)" : "", run_dir);
        if (!kept)
            fprintf(stderr, "note: no search_space.config: a layer holds no cell the published format can write (it has "
                    "only identity and depthwise edges, no SE, expansions 1, 3, 6 and 4 nodes; evolve with --ops motif "
                    "for a space it holds whole)\n");
        else if (kept < cells)
            fprintf(stderr, "note: search_space.config holds %u of the %u cells: the published format has only identity "
                    "and depthwise edges, no SE, expansions 1, 3, 6 and 4 nodes (evolve with --ops motif for a space it "
                    "holds whole)\n", kept, cells);
    }
done:
    asvk_evolve_destroy(e);
    rc = cli_context_done(ctx, st ? cli_fail(st) : 0);
    data_close(&data);
    asvk_lut_destroy(o.lut);
    return rc;
}

const cli_command cmd_evolve = {
    "evolve",
    "learn a layer-wise search space with AutoSpace's differentiable evolution",
    "asvk evolve [--reference A] [--data SPEC] [--generations N] [--quick] [--run DIR] [--resume] ...",
    "The reference architecture gives the skeleton (stem, searchable layers with\n"
    "their channels and strides, head) and, in every layer, a reference cell kept\n"
    "in the population as an anchor. Each layer evolves a population of cells (DAGs\n"
    "of basic operators inside an inverted residual, ../shared/AUTOSPACE.md): each\n"
    "generation samples K cells per layer by tournament, trains the supernet that\n"
    "mixes them by softmax(alpha) (weights by SGD on the training split, alpha by\n"
    "Adam on the held-out split with the cost term), moves each sampled cell's\n"
    "fitness toward its share of the mixture, and replaces the weakest cell by a\n"
    "mutated child of a tournament winner (inheriting its parent's weights).\n"
    "With --reference-mode distill the reference is trained first (or read from\n"
    "--reference-weights) and supervises every layer: each layer's candidates take\n"
    "the reference's feature map before that layer and learn to reproduce its map\n"
    "after it (mean squared error), so the layers evolve independently.\n"
    "\n"
    "The run folder holds config.json (every option), history.jsonl (one JSON line\n"
    "per generation: losses, accuracies, the sampled cells and their shares, every\n"
    "fitness), state.json with bank-NNNN.safetensors (the populations and every\n"
    "cell's weights: the supernet checkpoint), and after every generation\n"
    "space.json (per layer the top-K cells with fitness, MAdds and params, plus the\n"
    "skeleton), the same space as an AutoSpace search_space.config (the cells its\n"
    "format holds; none when a layer keeps no such cell), and best.json\n"
    "(the network of each layer's fittest cell, for 'asvk train --arch'). A killed\n"
    "run continues with --resume --run DIR and ends where an uninterrupted run\n"
    "with the same seed ends.",
    opts,
    run,
};
