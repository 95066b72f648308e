/* Training and evaluation of an architecture: the parameter store, one
 * recorded training step (forward, backward, optimizer; one submit per
 * step), evaluation graphs, and checkpoints (safetensors, written atomically;
 * names in docs/architecture.md and docs/checkpoints.md). Nothing here
 * prints: progress goes to a callback. */
#ifndef ASVK_RUNTIME_TRAINER_H
#define ASVK_RUNTIME_TRAINER_H

#include "runtime/data/dataset.h"
#include "runtime/dist/dist_step.h"
#include "runtime/io/arch.h"
#include "runtime/model.h"
#include "runtime/profile.h"
#include "runtime/schedule.h"

typedef enum { ASVK_OPTIMIZER_SGD = 0, ASVK_OPTIMIZER_ADAMW = 1 } asvk_optimizer;

typedef struct asvk_train_config {
    uint32_t epochs, batch;
    asvk_optimizer optimizer;
    double lr, momentum, weight_decay;
    bool nesterov;
    double beta1, beta2, eps; /* AdamW */
    asvk_schedule_kind schedule;
    double warmup_epochs, final_lr;
    double label_smoothing;
    uint64_t seed;
    uint32_t crop_pad; /* random crop with this zero padding (0: off) */
    bool flip;         /* random horizontal flip */
    uint32_t resolution; /* 0: the architecture's */
    asvk_norm norm;
    bool fp16;           /* activations stored as fp16 (asvk_graph_set_half_activations) */
    bool allow_nonfinite; /* asvk_trainer_load accepts NaN and infinite values (--allow-nonfinite) */
    /* Data-parallel runs (runtime/dist/dist.h; NULL: one process): `batch`
     * stays the global batch, each rank trains on its batch / size share,
     * gradients are averaged and every rank takes the same step; checkpoints
     * are written by rank 0 alone. Not saved in checkpoints. */
    asvk_dist *dist;
    bool sync_bn; /* distributed: BN statistics over the global batch (runtime/dist/dist_step.h) */
} asvk_train_config;

/* Defaults: SGD momentum 0.9 Nesterov, lr 0.1, wd 5e-5, cosine, batch 128. */
void asvk_train_config_default(asvk_train_config *c);

typedef struct asvk_trainer asvk_trainer;

typedef struct asvk_epoch_stats {
    double loss, accuracy; /* means over the epoch's batches (a resumed epoch: its steps before the
                              checkpoint too, when the checkpoint holds them) */
    double images_per_s;   /* of this call's steps */
    double seconds;        /* of this call */
    uint32_t steps;        /* the steps that loss and accuracy cover */
} asvk_epoch_stats;

/* Called after each step: epoch, step (1-based within the epoch), steps in
 * the epoch, the running mean loss and accuracy, images per second. Returns
 * false to stop: the epoch then ends with ASVK_ERR_CANCELLED after this step
 * (a checkpoint saved inside the callback resumes exactly there). */
typedef bool (*asvk_progress_fn)(void *user, uint32_t epoch, uint32_t step, uint32_t steps, double loss,
                                 double accuracy, double images_per_s);

/* Builds everything for `steps_per_epoch` steps per epoch (the schedule's
 * length). Parameters are initialised from cfg->seed. */
asvk_status asvk_trainer_create(asvk_context *ctx, const asvk_arch *a, const asvk_train_config *cfg,
                                uint32_t steps_per_epoch, asvk_trainer **out);
void asvk_trainer_destroy(asvk_trainer *t);

/* The training step's plan: dispatches, barriers, submits, memory. */
const asvk_plan_report *asvk_trainer_plan(const asvk_trainer *t);
const asvk_param_store *asvk_trainer_store(const asvk_trainer *t);

/* One epoch over images idx[0..n) of d (shuffled, augmented), from step
 * `start_step` (resuming); the last partial batch is dropped. */
asvk_status asvk_trainer_epoch(asvk_trainer *t, const asvk_dataset *d, const uint32_t *idx, uint32_t n, uint32_t epoch,
                               uint32_t start_step, asvk_progress_fn progress, void *user, asvk_epoch_stats *out);

/* Loss and top-1 accuracy over images idx[0..n) (NULL: all) of d, every
 * image counted once (a separate graph takes the last partial batch). */
asvk_status asvk_trainer_evaluate(asvk_trainer *t, const asvk_dataset *d, const uint32_t *idx, uint32_t n,
                                  double *loss, double *accuracy);

/* Checkpoints: parameters, BN statistics, optimizer state, and the position
 * (next epoch and step) with the config and architecture as metadata.
 * `extra` metadata pairs are added (may be NULL). */
asvk_status asvk_trainer_save(asvk_trainer *t, const char *path, uint32_t next_epoch, uint32_t next_step,
                              const char *const *extra, uint32_t extra_pairs);
/* Loads a checkpoint made for the same architecture; returns the position
 * (NULL next_epoch: weights only, as for evaluation). Refused with
 * ASVK_ERR_USAGE naming the file, before any weight changes: a tensor missing
 * or of another shape (rank and every dimension, not only the element count),
 * a non-finite value (unless cfg.allow_nonfinite), a position that is not a
 * decimal number or lies outside the run (next_epoch above cfg.epochs,
 * next_step above steps_per_epoch). docs/checkpoints.md lists the checks. */
asvk_status asvk_trainer_load(asvk_trainer *t, const char *path, uint32_t *next_epoch, uint32_t *next_step);

/* The distributed step's time split (all zero in a single process). */
void asvk_trainer_dist_stats(const asvk_trainer *t, asvk_dist_step_stats *out);

/* Records one training step's time on the device, medians: for bench. */
asvk_status asvk_trainer_time_step(asvk_trainer *t, uint32_t warmup, uint32_t repeat, double *median_ns,
                                   double *min_ns, double *max_ns);
/* Time of one evaluation forward pass of `batch` images (a graph of its own). */
asvk_status asvk_trainer_time_eval(asvk_trainer *t, uint32_t batch, uint32_t warmup, uint32_t repeat,
                                   double *median_ns, double *min_ns, double *max_ns);

/* Per-node device time of the training step (training) or of an evaluation
 * pass of `batch` images: medians over `repeat` runs, one callback per node. */
/* The training step's graph, or the evaluation graph of `batch` images
 * (built on first use); NULL with the message set on failure. */
const asvk_graph *asvk_trainer_graph(asvk_trainer *t, bool training, uint32_t batch);
asvk_status asvk_trainer_profile(asvk_trainer *t, bool training, uint32_t batch, uint32_t repeat, asvk_profile_fn fn,
                                 void *user);

#endif
