/* Learning-rate schedules, evaluated on the host each step and written to
 * the step buffer (ASVK_STEP_LR), so the recorded step never changes. */
#ifndef ASVK_RUNTIME_SCHEDULE_H
#define ASVK_RUNTIME_SCHEDULE_H

#include <stdint.h>

#include "engine/status.h"

typedef enum { ASVK_SCHEDULE_COSINE = 0, ASVK_SCHEDULE_STEP, ASVK_SCHEDULE_CONSTANT } asvk_schedule_kind;

typedef struct asvk_schedule {
    asvk_schedule_kind kind;
    double lr;            /* peak learning rate */
    double warmup_steps;  /* linear warm-up from lr/warmup_steps... to lr */
    uint64_t total_steps; /* for cosine: decays to final_lr at total_steps */
    double final_lr;
    uint64_t step_every;  /* step: multiply by gamma every step_every steps */
    double gamma;
} asvk_schedule;

/* Learning rate of 0-based step `step`. */
double asvk_schedule_lr(const asvk_schedule *s, uint64_t step);
asvk_status asvk_schedule_parse_kind(const char *text, asvk_schedule_kind *out);
const char *asvk_schedule_kind_name(asvk_schedule_kind k);

#endif
