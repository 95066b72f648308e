/* asvk train: train an architecture, with a run folder that --resume continues. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/data_spec.h"
#include "apps/interrupt.h"
#include "apps/ranks.h"
#include "apps/run_folder.h"
#include "runtime/data/split.h"
#include "runtime/io/atomic_file.h"
#include "runtime/trainer.h"
#include "runtime/io/json_read.h"

static const cli_opt opts[] = {
    {"--arch", "A", "architecture: a .json or net.config file, or a built-in (fmnist, mbv2[:w=..:r=..])"},
    {"--resolution", "R", "input height and width (default: the architecture's own, or a net.config's run.config)"},
    {"--data", "SPEC", "training data: fashion-mnist[:DIR] (default), cifar10:DIR, folder:DIR[:RES[:C]]"},
    {"--test-data", "SPEC", "test data for folder datasets (fashion-mnist and cifar10 bring their own)"},
    {"--epochs", "N", "epochs (default 10)"},
    {"--batch", "N", "batch size (default 128)"},
    {"--lr", "X", "peak learning rate (default 0.1 for SGD, 0.002 for AdamW)"},
    {"--optimizer", "NAME", "sgd (momentum, Nesterov) or adamw (default sgd)"},
    {"--momentum", "X", "SGD momentum (default 0.9)"},
    {"--no-nesterov", NULL, "plain momentum instead of Nesterov's"},
    {"--wd", "X", "weight decay of conv and linear weights (default 5e-5; BN and biases never decay)"},
    {"--schedule", "NAME", "cosine (default), step (x0.1 every 30 epochs) or constant"},
    {"--warmup", "E", "linear warm-up epochs (default 0)"},
    {"--smoothing", "X", "label smoothing (default 0.1)"},
    {"--crop-pad", "P", "random crop with P pixels of zero padding (default 2; 0: off)"},
    {"--no-flip", NULL, "no random horizontal flips"},
    {"--fp16", NULL, "store activations and their gradients as fp16 (fp32 arithmetic; needs 16-bit storage); halves activation memory (fmnist, batch 128: 239 -> 122 MB of device memory), but on a CPU device such as lavapipe it is no faster and often slower (docs/perf.md)"},
    {"--sync-bn", NULL, "under mpirun: batch-norm statistics over the global batch, not each rank's share (docs/scale.md)"},
    {"--val", "N", "hold out N training images for validation (default 0)"},
    {"--limit", "N", "train on the first N images only (quick experiments and tests)"},
    {"--seed", "N", "seed of initialisation, shuffling, augmentation and dropout (default 1)"},
    {"--run", "DIR", "run folder (default runs/<arch>-<date>-<time>)"},
    {"--resume", NULL, "continue the run in --run from its last checkpoint (options come from its config.json)"},
    {"--save-every", "N", "also checkpoint every N steps inside an epoch (default: at epoch ends)"},
    {"--stop-after", "N", "stop after N epochs of this invocation; the run stays resumable (time-slicing)"},
    {"--allow-nonfinite", NULL, "--resume from a checkpoint that holds NaN or infinite values (refused by default)"},
    {"--plan", NULL, "print the training step's plan (dispatches, submits, memory) and exit"},
    {"--quiet", NULL, "no progress line"},
    {"--device", "D", "device number or name substring (see 'asvk devices')"},
    {0},
};

typedef struct {
    char arch[1024], data[1024], test_data[1024];
    asvk_train_config cfg;
    uint32_t val, limit, save_every, resolution;
    uint32_t stop_after; /* not saved: it belongs to one invocation */
} train_options;

static int parse_options(cli_args *a, train_options *o) {
    memset(o, 0, sizeof *o);
    asvk_train_config_default(&o->cfg);
    snprintf(o->arch, sizeof o->arch, "%s", cli_str(a, "--arch", "fmnist"));
    snprintf(o->data, sizeof o->data, "%s", cli_str(a, "--data", "fashion-mnist"));
    snprintf(o->test_data, sizeof o->test_data, "%s", cli_str(a, "--test-data", ""));
    long v;
    if (!cli_int(a, "--epochs", 10, 1, 100000, &v)) return 2;
    o->cfg.epochs = (uint32_t)v;
    if (!cli_int(a, "--batch", 128, 1, 65536, &v)) return 2;
    o->cfg.batch = (uint32_t)v;
    if (!cli_int(a, "--crop-pad", 2, 0, 64, &v)) return 2;
    o->cfg.crop_pad = (uint32_t)v;
    if (!cli_int(a, "--seed", 1, 0, 0x7fffffff, &v)) return 2;
    o->cfg.seed = (uint64_t)v;
    if (!cli_int(a, "--val", 0, 0, 100000000, &v)) return 2;
    o->val = (uint32_t)v;
    if (!cli_int(a, "--limit", 0, 0, 100000000, &v)) return 2;
    o->limit = (uint32_t)v;
    if (!cli_int(a, "--save-every", 0, 0, 100000000, &v)) return 2;
    o->save_every = (uint32_t)v;
    if (!cli_int(a, "--resolution", 0, 0, 16384, &v)) return 2;
    o->resolution = (uint32_t)v;
    if (!cli_int(a, "--stop-after", 0, 0, 100000, &v)) return 2;
    o->stop_after = (uint32_t)v;
    const char *opt = cli_str(a, "--optimizer", "sgd");
    if (strcmp(opt, "sgd") == 0) o->cfg.optimizer = ASVK_OPTIMIZER_SGD;
    else if (strcmp(opt, "adamw") == 0) o->cfg.optimizer = ASVK_OPTIMIZER_ADAMW, o->cfg.lr = 0.002, o->cfg.weight_decay = 0.05;
    else return cli_usage_error(a, "--optimizer must be sgd or adamw, not '%s'", opt);
    if (!cli_double(a, "--lr", o->cfg.lr, 1e-9, 100, &o->cfg.lr) ||
        !cli_double(a, "--momentum", o->cfg.momentum, 0, 0.9999, &o->cfg.momentum) ||
        !cli_double(a, "--wd", o->cfg.weight_decay, 0, 10, &o->cfg.weight_decay) ||
        !cli_double(a, "--warmup", 0, 0, 1000, &o->cfg.warmup_epochs) ||
        !cli_double(a, "--smoothing", o->cfg.label_smoothing, 0, 0.99, &o->cfg.label_smoothing))
        return 2;
    o->cfg.nesterov = !cli_flag(a, "--no-nesterov") && o->cfg.momentum > 0;
    o->cfg.flip = !cli_flag(a, "--no-flip");
    o->cfg.fp16 = cli_flag(a, "--fp16");
    o->cfg.sync_bn = cli_flag(a, "--sync-bn");
    asvk_status st = asvk_schedule_parse_kind(cli_str(a, "--schedule", "cosine"), &o->cfg.schedule);
    if (st) return cli_usage_error(a, "%s", asvk_error_message());
    return 0;
}

static cJSON *options_json(const train_options *o) {
    const asvk_train_config *c = &o->cfg;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "arch", o->arch);
    cJSON_AddStringToObject(j, "data", o->data);
    cJSON_AddStringToObject(j, "test_data", o->test_data);
    cJSON_AddNumberToObject(j, "epochs", c->epochs);
    cJSON_AddNumberToObject(j, "batch", c->batch);
    cJSON_AddStringToObject(j, "optimizer", c->optimizer == ASVK_OPTIMIZER_ADAMW ? "adamw" : "sgd");
    asvk_json_add_exact(j, "lr", c->lr);
    asvk_json_add_exact(j, "momentum", c->momentum);
    cJSON_AddBoolToObject(j, "nesterov", c->nesterov);
    asvk_json_add_exact(j, "weight_decay", c->weight_decay);
    cJSON_AddStringToObject(j, "schedule", asvk_schedule_kind_name(c->schedule));
    asvk_json_add_exact(j, "warmup_epochs", c->warmup_epochs);
    asvk_json_add_exact(j, "label_smoothing", c->label_smoothing);
    cJSON_AddNumberToObject(j, "crop_pad", c->crop_pad);
    cJSON_AddBoolToObject(j, "flip", c->flip);
    cJSON_AddBoolToObject(j, "fp16", c->fp16);
    cJSON_AddBoolToObject(j, "sync_bn", c->sync_bn);
    asvk_json_add_exact(j, "seed", (double)c->seed);
    cJSON_AddNumberToObject(j, "val", o->val);
    cJSON_AddNumberToObject(j, "limit", o->limit);
    cJSON_AddNumberToObject(j, "save_every", o->save_every);
    cJSON_AddNumberToObject(j, "resolution", o->resolution);
    return j;
}

static asvk_status options_from_json(const char *path, train_options *o) {
    cJSON *j;
    asvk_status st = run_read_json(path, &j);
    if (st) return st;
    asvk_train_config_default(&o->cfg);
    const char *e = NULL;
#define STR(k, dst) do { cJSON *x = cJSON_GetObjectItemCaseSensitive(j, k); if (!cJSON_IsString(x)) e = k; else snprintf(dst, sizeof dst, "%s", x->valuestring); } while (0)
#define NUM(k, dst) do { cJSON *x = cJSON_GetObjectItemCaseSensitive(j, k); if (!cJSON_IsNumber(x)) e = k; else dst = x->valuedouble; } while (0)
#define BOOL(k, dst) do { cJSON *x = cJSON_GetObjectItemCaseSensitive(j, k); if (!cJSON_IsBool(x)) e = k; else dst = cJSON_IsTrue(x); } while (0)
    double d = 0;
    STR("arch", o->arch);
    STR("data", o->data);
    STR("test_data", o->test_data);
    NUM("epochs", d); o->cfg.epochs = (uint32_t)d;
    NUM("batch", d); o->cfg.batch = (uint32_t)d;
    char opt[16] = "sgd";
    STR("optimizer", opt);
    o->cfg.optimizer = strcmp(opt, "adamw") == 0 ? ASVK_OPTIMIZER_ADAMW : ASVK_OPTIMIZER_SGD;
    NUM("lr", o->cfg.lr);
    NUM("momentum", o->cfg.momentum);
    BOOL("nesterov", o->cfg.nesterov);
    NUM("weight_decay", o->cfg.weight_decay);
    char sched[16] = "cosine";
    STR("schedule", sched);
    if (asvk_schedule_parse_kind(sched, &o->cfg.schedule)) e = "schedule";
    NUM("warmup_epochs", o->cfg.warmup_epochs);
    NUM("label_smoothing", o->cfg.label_smoothing);
    NUM("crop_pad", d); o->cfg.crop_pad = (uint32_t)d;
    BOOL("flip", o->cfg.flip);
    if (cJSON_GetObjectItemCaseSensitive(j, "fp16")) BOOL("fp16", o->cfg.fp16); /* absent before fp16 storage */
    if (cJSON_GetObjectItemCaseSensitive(j, "sync_bn")) BOOL("sync_bn", o->cfg.sync_bn); /* absent before --sync-bn */
    NUM("seed", d); o->cfg.seed = (uint64_t)d;
    NUM("val", d); o->val = (uint32_t)d;
    NUM("limit", d); o->limit = (uint32_t)d;
    NUM("save_every", d); o->save_every = (uint32_t)d;
    if (cJSON_GetObjectItemCaseSensitive(j, "resolution")) { NUM("resolution", d); o->resolution = (uint32_t)d; } /* absent before --resolution */
#undef STR
#undef NUM
#undef BOOL
    cJSON_Delete(j);
    if (e) return asvk_error_set(ASVK_ERR_USAGE, "%s: '%s' is missing or of the wrong type", path, e);
    return ASVK_OK;
}

typedef struct {
    bool tty, quiet;
    uint32_t epochs;
    double last_draw, start;
    run_log *log;
    uint64_t steps_done, steps_total;
    asvk_trainer *t;
    const char *run;
    uint32_t save_every;
    asvk_status save_status;
} progress_state;

static double wall(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static bool on_progress(void *user, uint32_t epoch, uint32_t step, uint32_t steps, double loss, double acc, double ips) {
    progress_state *p = user;
    p->steps_done++;
    double now = wall();
    /* Ctrl-C or SIGTERM inside an epoch: a checkpoint at this step, then stop (the
     * epoch's end saves one anyway) */
    bool stop = interrupt_requested() && step < steps;
    if (((p->save_every && step % p->save_every == 0) || stop) && step < steps && !p->save_status) {
        char path[1100];
        snprintf(path, sizeof path, "%s/last.safetensors", p->run);
        p->save_status = asvk_trainer_save(p->t, path, epoch, step, NULL, 0);
    }
    if (stop || p->save_status) return false;
    if (p->quiet || !p->tty || (now - p->last_draw < 0.25 && step != steps)) return true;
    p->last_draw = now;
    double rate = (now - p->start) / (double)p->steps_done;
    double eta = rate * (double)(p->steps_total - p->steps_done);
    fprintf(stderr, "\r\033[Kepoch %u/%u  step %u/%u  loss %.4f  acc %.2f%%  %.0f img/s  ETA %02d:%02d:%02d", epoch + 1,
            p->epochs, step, steps, loss, 100 * acc, ips, (int)(eta / 3600), (int)fmod(eta / 60, 60), (int)fmod(eta, 60));
    fflush(stderr);
    return true;
}

static int run(cli_args *a) {
    if (a->npos) return cli_usage_error(a, "unexpected argument '%s'", a->pos[0]);
    train_options o;
    int rc = parse_options(a, &o);
    if (rc) return rc;
    bool resume = cli_flag(a, "--resume");
    const char *run_opt = cli_str(a, "--run", NULL);
    if (resume && !run_opt) return cli_usage_error(a, "--resume needs --run DIR (the run to continue)");
    char run_dir[1024];
    asvk_status st;
    if (resume) {
        snprintf(run_dir, sizeof run_dir, "%s", run_opt);
        char path[1100];
        snprintf(path, sizeof path, "%s/config.json", run_dir);
        if (access(path, F_OK) != 0)
            return cli_usage_error(a, "%s holds no training run (no config.json); start one without --resume", run_dir);
        /* rank 0 holds the folder for the whole run */
        st = ranks_leader() ? run_lock(run_dir) : ASVK_OK;
        if ((st = asvk_dist_share_status(ranks_dist(), st, 0, "locking the run folder"))) return cli_fail(st);
        uint32_t epochs_override = o.cfg.epochs, stop_after = o.stop_after;
        bool epochs_given = cli_str(a, "--epochs", NULL) != NULL;
        if ((st = options_from_json(path, &o))) return cli_fail(st);
        if (epochs_given) o.cfg.epochs = epochs_override;
        o.stop_after = stop_after;
    }

    asvk_arch arch;
    if ((st = asvk_arch_open(o.arch, &arch))) return cli_fail(st);
    if (o.resolution) arch.resolution = o.resolution;
    if ((st = asvk_arch_validate(&arch, 0))) { asvk_arch_free(&arch); return cli_fail(st); }
    data_sets data;
    if ((st = data_open(o.data, o.test_data[0] ? o.test_data : NULL, arch.resolution, arch.in_channels, true, &data))) {
        asvk_arch_free(&arch);
        return cli_fail(st);
    }
    o.cfg.norm = data.norm;
    asvk_split split = {0};
    asvk_split_options so = {.count = o.val, .seed = o.cfg.seed, .stratified = true};
    if ((st = asvk_split_create(data.train, &so, &split))) goto fail_data;
    if (o.limit && o.limit < split.n_train) split.n_train = o.limit;
    if (split.n_train < o.cfg.batch) {
        st = asvk_error_set(ASVK_ERR_USAGE, "%u training images do not fill one batch of %u; lower --batch", split.n_train,
                            o.cfg.batch);
        goto fail_split;
    }
    uint32_t steps = split.n_train / o.cfg.batch;

    asvk_context *ctx;
    if ((st = cli_context(a, &ctx))) goto fail_split;
    asvk_trainer *t;
    o.cfg.allow_nonfinite = cli_flag(a, "--allow-nonfinite"); /* this invocation's choice, never saved */
    o.cfg.dist = ranks_dist();
    if ((st = asvk_trainer_create(ctx, &arch, &o.cfg, steps, &t))) goto fail_ctx;

    const asvk_plan_report *plan = asvk_trainer_plan(t);
    if (cli_flag(a, "--plan") && !ranks_leader()) {
        asvk_trainer_destroy(t);
        asvk_split_destroy(&split);
        data_close(&data);
        asvk_arch_free(&arch);
        return cli_context_done(ctx, 0);
    }
    if (cli_flag(a, "--plan")) {
        printf("training step of %s, batch %u, on %s:\n", arch.name, o.cfg.batch, asvk_context_device(ctx)->name);
        printf("  nodes                 %u\n", plan->nodes);
        printf("  dispatches per step   %u (transfers included)\n", plan->dispatches);
        printf("  barriers per step     %u\n", plan->barriers);
        printf("  submits per step      %u\n", plan->submits_per_step);
        printf("  temporaries           %llu values\n", (unsigned long long)plan->temp_values);
        printf("  activation memory     %.2f MiB planned (liveness), %.2f MiB unplanned (one buffer each): %.1fx less\n",
               plan->planned_bytes / 1048576.0, plan->unplanned_bytes / 1048576.0,
               plan->planned_bytes ? (double)plan->unplanned_bytes / plan->planned_bytes : 0);
        printf("  parameters and state  %.2f MiB\n", plan->persistent_bytes / 1048576.0);
        asvk_trainer_destroy(t);
        asvk_split_destroy(&split);
        data_close(&data);
        asvk_arch_free(&arch);
        return cli_context_done(ctx, 0);
    }

    uint32_t epoch = 0, step = 0;
    bool started = false; /* a resumed run without a checkpoint starts from the beginning */
    if (resume && run_has(run_dir, "last.safetensors")) {
        char path[1100];
        snprintf(path, sizeof path, "%s/last.safetensors", run_dir);
        if ((st = asvk_trainer_load(t, path, &epoch, &step))) goto fail_trainer;
        /* epoch lines a kill left ahead of the checkpoint (the line is written first) */
        if (ranks_leader() && (st = run_jsonl_keep(run_dir, "log.jsonl", "epoch", epoch))) goto fail_trainer;
        if (step >= steps) epoch++, step = 0;
        started = true;
    } else if (resume) {
        if (ranks_leader() && (st = run_jsonl_keep(run_dir, "log.jsonl", "epoch", 0))) goto fail_trainer;
    } else {
        if (run_opt) snprintf(run_dir, sizeof run_dir, "%s", run_opt);
        else run_default_dir(run_dir, sizeof run_dir, arch.name);
        /* rank 0's folder name (its clock) and its creation are every rank's */
        if ((st = asvk_dist_broadcast(ranks_dist(), run_dir, sizeof run_dir, 0, "the run folder's name"))) goto fail_trainer;
        cJSON *cj = options_json(&o);
        static const char *const logs[] = {"log.jsonl", NULL};
        bool replaced = false;
        st = ranks_leader() ? run_create(run_dir, "config.json", cj, "last.safetensors", logs, &replaced) : ASVK_OK;
        cJSON_Delete(cj);
        if ((st = asvk_dist_share_status(ranks_dist(), st, 0, "creating the run folder"))) goto fail_trainer;
        if (replaced && !cli_flag(a, "--quiet"))
            fprintf(stderr, "%s held a run that never saved a checkpoint; starting this one in its place\n", run_dir);
    }
    interrupt_resume_with("asvk train", run_dir, cli_str(a, "--device", NULL));
    run_log *log = NULL;
    if (ranks_leader() && (st = run_log_open(run_dir, &log))) goto fail_trainer;
    bool quiet = cli_flag(a, "--quiet") || !ranks_leader();
    if (!quiet)
        fprintf(stderr, "%s %s on %s: %u training images, %u steps per epoch, run folder %s\n",
                started ? "resuming" : resume ? "starting (no checkpoint yet)" : "training", arch.name,
                asvk_context_device(ctx)->name, split.n_train, steps, run_dir);

    progress_state ps = {cli_tty(), quiet, o.cfg.epochs, 0, wall(), log, 0,
                         (uint64_t)(o.cfg.epochs - (epoch < o.cfg.epochs ? epoch : o.cfg.epochs)) * steps - step,
                         t, run_dir, o.save_every, ASVK_OK};
    uint32_t end_epoch = o.cfg.epochs;
    if (o.stop_after && epoch + o.stop_after < end_epoch) end_epoch = epoch + o.stop_after;
    for (; epoch < end_epoch && !st; epoch++, step = 0) {
        asvk_epoch_stats es;
        st = asvk_trainer_epoch(t, data.train, split.train, split.n_train, epoch, step, on_progress, &ps, &es);
        if (ps.save_status) st = ps.save_status; /* (the callback stopped the epoch for it) */
        if (st) break;
        double val_loss = NAN, val_acc = NAN, test_loss = NAN, test_acc = NAN;
        if (split.n_val && (st = asvk_trainer_evaluate(t, data.train, split.val, split.n_val, &val_loss, &val_acc))) break;
        if (data.test && (st = asvk_trainer_evaluate(t, data.test, NULL, 0, &test_loss, &test_acc))) break;
        char path[1100];
        snprintf(path, sizeof path, "%s/last.safetensors", run_dir);
        /* the line first: a kill between the two repeats the epoch, and resuming drops the line */
        if (log) run_log_epoch(log, epoch + 1, &es, val_loss, val_acc, test_loss, test_acc);
        if ((st = asvk_trainer_save(t, path, epoch + 1, 0, NULL, 0))) break;
        if (!ps.quiet) {
            if (ps.tty) fprintf(stderr, "\r\033[K");
            fprintf(stderr, "epoch %u/%u  loss %.4f  acc %.2f%%", epoch + 1, o.cfg.epochs, es.loss, 100 * es.accuracy);
            if (split.n_val) fprintf(stderr, "  val %.2f%%", 100 * val_acc);
            if (data.test) fprintf(stderr, "  test loss %.4f acc %.2f%%", test_loss, 100 * test_acc);
            fprintf(stderr, "  %.0f img/s  %.1f s\n", es.images_per_s, es.seconds);
        }
        if (interrupt_requested() && epoch + 1 < o.cfg.epochs) {
            st = asvk_error_set(ASVK_ERR_CANCELLED, "stopped after epoch %u", epoch + 1);
            break;
        }
    }
    if (!st && epoch >= o.cfg.epochs) {
        char path[1100];
        snprintf(path, sizeof path, "%s/model.safetensors", run_dir);
        st = asvk_trainer_save(t, path, o.cfg.epochs, 0, NULL, 0);
    }
    asvk_dist_step_stats ds;
    asvk_trainer_dist_stats(t, &ds);
    if (!quiet && ds.steps)
        fprintf(stderr, "%d ranks, %llu steps: %.1f ms a step = backward %.1f + exposed all-reduce %.1f + optimizer %.1f "
                "(all-reduces %.1f ms a step from start to end, %u buckets, %.1f KiB of gradients)\n",
                asvk_dist_size(ranks_dist()), (unsigned long long)ds.steps, 1e3 * ds.wall_s / ds.steps,
                1e3 * ds.backward_s / ds.steps, 1e3 * ds.reduce_exposed_s / ds.steps, 1e3 * ds.optimizer_s / ds.steps,
                1e3 * ds.reduce_total_s / ds.steps, ds.buckets, ds.bytes_per_step / 1024.0);
    run_log_close(log);
fail_trainer:
    asvk_trainer_destroy(t);
fail_ctx:
    rc = cli_context_done(ctx, st ? cli_fail(st) : 0);
    asvk_split_destroy(&split);
    data_close(&data);
    asvk_arch_free(&arch);
    return rc;
fail_split:
    asvk_split_destroy(&split);
fail_data:
    data_close(&data);
    asvk_arch_free(&arch);
    return cli_fail(st);
}

const cli_command cmd_train = {
    "train",
    "train a network and keep its run folder (log, checkpoints)",
    "asvk train [--arch A] [--data SPEC] [--epochs N] [--batch N] [--lr X] [--run DIR] [--resume] ...",
    "The run folder holds config.json (every option), log.jsonl (one JSON line per\n"
    "epoch: losses, accuracies, learning rate, images/s), last.safetensors (the\n"
    "checkpoint after each epoch, and every --save-every steps) and model.safetensors\n"
    "at the end. --resume --run DIR continues from last.safetensors exactly where\n"
    "it stopped (same batches, same augmentation); --epochs may extend the run.\n"
    "The same --seed on the same device gives the same loss curve.",
    opts,
    run,
};
