/* Option values shared by the commands that work on spaces (evolve,
 * latency, search): operator lists, expansion-ratio lists, amounts. */
#ifndef ASVK_APPS_SPACE_OPTS_H
#define ASVK_APPS_SPACE_OPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "autospace/genome.h"

/* "all", "motif" (identity and depthwise: what the published Motif format
 * holds) or comma-separated operator names -> a mask of (1 << op). */
bool opts_parse_ops(const char *s, uint32_t *mask);
#define OPTS_OPS_HELP "'all', 'motif' or operators from identity, conv1x1, conv3x3, dw3x3, dw5x5, dw7x7, avgpool3x3, maxpool3x3"

/* "1,3,6": up to ASVK_GENOME_MAX_EXPANDS ratios in (0, 64]. */
bool opts_parse_expands(const char *s, float *out, uint32_t *count);

/* "12M", "1.5G", "300k", "300000": a positive number with an optional SI suffix. */
bool opts_parse_amount(const char *s, double *out);

/* The budget options of search and widen: exactly one of --budget-madds X
 * (an amount) and --budget-latency MS (milliseconds, which needs --lut).
 * Returns 0, or the exit code of the usage error it printed. */
struct cli_args;
int opts_parse_budget(struct cli_args *a, double *budget, bool *latency);

#endif
