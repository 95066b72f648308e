#include "runtime/schedule.h"

#include <math.h>
#include <string.h>

double asvk_schedule_lr(const asvk_schedule *s, uint64_t step) {
    double t = (double)step;
    if (s->warmup_steps > 0 && t < s->warmup_steps) return s->lr * (t + 1) / s->warmup_steps;
    switch (s->kind) {
    case ASVK_SCHEDULE_COSINE: {
        double span = (double)s->total_steps - s->warmup_steps;
        double p = span > 0 ? (t - s->warmup_steps) / span : 1.0;
        if (p > 1) p = 1;
        return s->final_lr + 0.5 * (s->lr - s->final_lr) * (1 + cos(M_PI * p));
    }
    case ASVK_SCHEDULE_STEP:
        return s->step_every ? s->lr * pow(s->gamma, floor(t / (double)s->step_every)) : s->lr;
    default: return s->lr;
    }
}

asvk_status asvk_schedule_parse_kind(const char *text, asvk_schedule_kind *out) {
    if (strcmp(text, "cosine") == 0) *out = ASVK_SCHEDULE_COSINE;
    else if (strcmp(text, "step") == 0) *out = ASVK_SCHEDULE_STEP;
    else if (strcmp(text, "constant") == 0) *out = ASVK_SCHEDULE_CONSTANT;
    else return asvk_error_set(ASVK_ERR_USAGE, "unknown schedule '%s' (cosine, step or constant)", text);
    return ASVK_OK;
}

const char *asvk_schedule_kind_name(asvk_schedule_kind k) {
    return k == ASVK_SCHEDULE_COSINE ? "cosine" : k == ASVK_SCHEDULE_STEP ? "step" : "constant";
}
