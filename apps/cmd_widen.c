/* asvk widen: a searched network made as wide as a budget allows
 * (autospace/widen.h), for a network whose cells cannot spend the budget. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/space_opts.h"
#include "autospace/widen.h"

static const cli_opt opts[] = {
    {"--budget-madds", "X", "MAdds budget, e.g. 3.1M"},
    {"--budget-latency", "MS", "latency budget in milliseconds, priced by --lut"},
    {"--lut", "FILE", "latency table of the target device (asvk latency); needed for --budget-latency"},
    {"--max-width", "F", "the largest factor tried (default 2; tried in steps of 0.01 from 1)"},
    {"--divisor", "N", "channel counts round to multiples of N (default 4)"},
    {"--floor", "F", "widen only a network costing less than F x budget (0 to 1; default 1: any under the budget); "
                     "one at F or more is written unchanged"},
    {"--out", "FILE", "write the widened network (asvk JSON) to FILE"},
    {"--json", NULL, "print the result as JSON"},
    {0},
};

static int run(cli_args *a) {
    if (a->npos == 0) return cli_usage_error(a, "name a network (a searched net.json)");
    if (a->npos > 1) return cli_usage_error(a, "unexpected argument '%s'", a->pos[1]);
    double max_width, floor_share;
    long divisor;
    if (!cli_double(a, "--max-width", 2, 1, 16, &max_width) || !cli_int(a, "--divisor", 4, 1, 256, &divisor) ||
        !cli_double(a, "--floor", 1, 0, 1, &floor_share))
        return 2;
    const char *lut_path = cli_str(a, "--lut", NULL);
    double budget = 0;
    bool bl;
    int rc = opts_parse_budget(a, &budget, &bl);
    if (rc) return rc;
    asvk_lut *lut = NULL;
    asvk_arch arch, wide;
    asvk_arch_init(&wide);
    asvk_status st = asvk_arch_open(a->pos[0], &arch);
    if (st) return cli_fail(st);
    asvk_skeleton sk;
    asvk_cell cells[ASVK_SKEL_MAX_LAYERS];
    asvk_widen_result r;
    if (!(st = asvk_skeleton_from_net(&arch, &sk, cells)) && bl) st = asvk_lut_load(lut_path, &lut);
    if (!st) st = asvk_widen_to_budget(&sk, cells, bl ? lut : NULL, budget, floor_share, max_width, (uint32_t)divisor, &r);
    if (!st) st = asvk_skeleton_to_arch(&r.sk, cells, arch.name, &wide);
    const char *out = cli_str(a, "--out", NULL);
    if (!st && out) st = asvk_arch_save(out, &wide);
    if (!st) {
        if (cli_flag(a, "--json")) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddNumberToObject(j, "width", r.width);
            cJSON_AddBoolToObject(j, "widened", r.width > 1);
            cJSON_AddNumberToObject(j, "madds", (double)r.madds);
            cJSON_AddNumberToObject(j, "params", (double)r.params);
            if (bl) cJSON_AddNumberToObject(j, "predicted_latency_ms", r.cost);
            cJSON_AddStringToObject(j, "budget_kind", bl ? "latency_ms" : "madds");
            cJSON_AddNumberToObject(j, "budget", budget);
            cJSON_AddNumberToObject(j, "budget_used", r.cost / budget);
            cJSON *ch = cJSON_AddArrayToObject(j, "layer_channels");
            for (uint32_t l = 0; l < r.sk.count; l++) cJSON_AddItemToArray(ch, cJSON_CreateNumber(r.sk.layers[l].out));
            char *text = cJSON_Print(j);
            printf("%s\n", text ? text : "{}");
            free(text);
            cJSON_Delete(j);
        } else {
            printf("width %.2f: %.3f M MAdds, %.3f M params", r.width, r.madds / 1e6, r.params / 1e6);
            if (bl) printf(", %.3f ms predicted", r.cost);
            printf(" (%.1f%% of the budget)%s%s\n", 100 * r.cost / budget, out ? " -> " : "", out ? out : "");
        }
    }
    asvk_arch_free(&wide);
    asvk_arch_free(&arch);
    asvk_lut_destroy(lut);
    return st ? cli_fail(st) : 0;
}

const cli_command cmd_widen = {
    "widen",
    "make a searched network as wide as a MAdds or latency budget allows",
    "asvk widen <net.json> --budget-madds X | --budget-latency MS --lut FILE [--max-width F] [--divisor N]\n"
    "           [--out FILE] [--json]",
    "Multiplies every channel count of the network's stem, searchable layers, head and\n"
    "feature mix by one factor w (MobileNet's width multiplier; counts rounded to\n"
    "multiples of --divisor, never narrower), cells keeping their expansion ratios,\n"
    "and takes the w from 1 to --max-width (steps of 0.01) whose network costs the most\n"
    "within the budget: MAdds by asvk cost's counting, or the latency the table predicts.\n"
    "For a network found in a space of cheap cells, which no choice of cells lets spend\n"
    "the budget (asvk search --widen does the same to its result). The network must be\n"
    "of a skeleton: a stem conv, mbconv / cell / skip layers, an optional 1x1 head,\n"
    "global pool, linear (as asvk search writes them). A network over the budget at\n"
    "width 1 is refused; one that no wider network fits, or at --floor's share of the\n"
    "budget already, is written unchanged (w 1).",
    opts,
    run,
};
