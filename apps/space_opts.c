/* Shared option values; see space_opts.h. */
#include "apps/space_opts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/cli.h"

bool opts_parse_ops(const char *s, uint32_t *mask) {
    if (strcmp(s, "all") == 0) s = "identity,conv1x1,conv3x3,dw3x3,dw5x5,dw7x7,avgpool3x3,maxpool3x3";
    else if (strcmp(s, "motif") == 0) s = "identity,dw3x3,dw5x5,dw7x7";
    *mask = 0;
    while (*s) {
        size_t n = strcspn(s, ",");
        char name[32];
        asvk_cell_op op;
        snprintf(name, sizeof name, "%.*s", (int)(n < 31 ? n : 31), s);
        if (n >= 31 || !asvk_cell_op_parse(name, &op) || op == ASVK_CELL_ZERO) return false;
        *mask |= 1u << op;
        s += n + (s[n] == ',');
    }
    return *mask != 0;
}

bool opts_parse_expands(const char *s, float *out, uint32_t *count) {
    *count = 0;
    while (*s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || !(v > 0 && v <= 64) || (*end && *end != ',') || *count == ASVK_GENOME_MAX_EXPANDS) return false;
        out[(*count)++] = (float)v;
        s = *end ? end + 1 : end;
    }
    return *count > 0;
}

bool opts_parse_amount(const char *s, double *out) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v >= 0)) return false;
    if (*end == 'k' || *end == 'K') v *= 1e3, end++;
    else if (*end == 'M' || *end == 'm') v *= 1e6, end++;
    else if (*end == 'G' || *end == 'g') v *= 1e9, end++;
    if (*end) return false;
    *out = v;
    return true;
}

int opts_parse_budget(cli_args *a, double *budget, bool *latency) {
    const char *bm = cli_str(a, "--budget-madds", NULL), *bl = cli_str(a, "--budget-latency", NULL);
    if (!bm == !bl) return cli_usage_error(a, "give one budget: --budget-madds X or --budget-latency MS");
    *latency = bl != NULL;
    if (bm && (!opts_parse_amount(bm, budget) || !(*budget > 0)))
        return cli_usage_error(a, "--budget-madds must be a positive number such as 4M, not '%s'", bm);
    if (bl) {
        char *end;
        *budget = strtod(bl, &end);
        if (end == bl || *end || !(*budget > 0))
            return cli_usage_error(a, "--budget-latency must be milliseconds > 0, not '%s'", bl);
        if (!cli_str(a, "--lut", NULL)) return cli_usage_error(a, "--budget-latency needs --lut (a table from 'asvk latency')");
    }
    return 0;
}
