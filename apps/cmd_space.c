/* asvk space show: a learned (space.json) or published (search_space.config)
 * search space, layer by layer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/cli.h"
#include "apps/commands.h"
#include "autospace/genome.h"
#include "autospace/skeleton.h"
#include "autospace/space.h"

static const cli_opt opts[] = {
    {"--reference", "A", "architecture whose skeleton gives the layers' shapes and the cells' cost (a search_space.config of 11 layers: autospace_imagenet)"},
    {"--motif-reading", "R", "kernel reading of Motif operator codes: code-2 (default) or code (runtime/io/motif.h)"},
    {"--json", NULL, "print the space as asvk-space/1 JSON"},
    {0},
};

static void print_space(const asvk_space *s, const char *path) {
    printf("space %s (%s): %u layers, %u cells", s->name, path, s->layers, asvk_space_cells(s));
    if (s->generations) printf(", learned in %u generation%s", s->generations, s->generations == 1 ? "" : "s");
    printf("\n");
    if (s->has_skeleton) {
        const asvk_skeleton *k = &s->sk;
        printf("skeleton %s: input %ux%ux%u, stem %u (k%u s%u), %u searchable layers", k->name, k->in_channels,
               k->resolution, k->resolution, k->stem_out, k->stem_kernel, k->stem_stride, k->count);
        if (k->head) printf(", head %u", k->head);
        if (k->feature_mix) printf(", feature mix %u", k->feature_mix);
        printf(", %u classes\n", k->num_classes);
    }
    for (uint32_t l = 0; l < s->layers; l++) {
        printf("\nlayer %u", l + 1);
        if (s->has_skeleton) {
            uint32_t c, h;
            asvk_skeleton_layer_input(&s->sk, l, &c, &h);
            printf(": %ux%ux%u -> %u, stride %u", c, h, h, s->sk.layers[l].out, s->sk.layers[l].stride);
        }
        if (s->no_skip[l]) printf(" (never skipped)");
        printf("\n   #  %8s  %9s  %8s  cell\n", "fitness", "MAdds", "params");
        for (uint32_t k = 0; k < s->count[l]; k++) {
            const asvk_space_cell *c = &s->cells[l][k];
            char line[256], fit[16] = "-", madds[16] = "-", params[16] = "-";
            asvk_genome_format(&c->cell, line, sizeof line);
            if (c->has_fitness) snprintf(fit, sizeof fit, "%.3f", c->fitness);
            if (s->has_skeleton) {
                snprintf(madds, sizeof madds, "%.3fM", c->madds / 1e6);
                snprintf(params, sizeof params, "%.1fK", c->params / 1e3);
            }
            printf("  %2u  %8s  %9s  %8s  %s%s\n", k + 1, fit, madds, params, line, c->anchor ? "  (reference)" : "");
        }
    }
}

static int show(cli_args *a) {
    if (a->npos != 2 || strcmp(a->pos[0], "show") != 0)
        return cli_usage_error(a, "usage: asvk space show <space.json | search_space.config | %s>",
                               asvk_space_builtin_names());
    asvk_motif_reading reading = ASVK_MOTIF_READING_DEFAULT;
    const char *r = cli_str(a, "--motif-reading", NULL);
    if (r && !asvk_motif_reading_parse(r, &reading))
        return cli_usage_error(a, "--motif-reading must be code-2 or code, not '%s'", r);
    asvk_space s;
    const char *ref = cli_str(a, "--reference", NULL);
    asvk_status st;
    if (asvk_space_builtin_has(a->pos[1]) && ref) { /* its cells on the reference's skeleton */
        st = asvk_space_builtin_on(a->pos[1], ref, &s);
        ref = NULL;
    } else {
        st = asvk_space_builtin_has(a->pos[1]) ? asvk_space_builtin(a->pos[1], &s) : asvk_space_load(a->pos[1], reading, &s);
    }
    if (st) return cli_fail(st);
    /* the published space (11 layers, no skeleton) is the paper's ImageNet skeleton's */
    if (!ref && !s.has_skeleton && s.layers == 11) ref = "autospace_imagenet";
    if (ref) {
        asvk_arch arch;
        asvk_skeleton sk;
        if ((st = asvk_arch_open(ref, &arch))) return cli_fail(st);
        st = asvk_skeleton_from_arch(&arch, &sk, NULL);
        asvk_arch_free(&arch);
        if (!st) st = asvk_space_set_skeleton(&s, &sk);
        if (st) return cli_fail(st);
    }
    if (cli_flag(a, "--json")) {
        char *text;
        if ((st = asvk_space_to_text(&s, &text))) return cli_fail(st);
        printf("%s\n", text);
        free(text);
        return 0;
    }
    print_space(&s, a->pos[1]);
    return 0;
}

const cli_command cmd_space = {
    "space",
    "show a search space: learned (space.json) or published (search_space.config)",
    "asvk space show <space.json | search_space.config | proxyless | ofa-mbv3> [--reference A] [--motif-reading R]\n"
    "                [--json]",
    "Prints every layer's cells as one line each ('e6 | 0>1 dw3x3 | 1>2 id | 2\n"
    "weighted': expansion, then edges from>to with their operator, then weighted\n"
    "merges), with fitness, MAdds and params where the file or --reference gives\n"
    "them. A search_space.config (the published AutoSpace format) has no skeleton:\n"
    "give --reference for shapes and costs (an 11-layer one, like the published\n"
    "space, defaults to the built-in autospace_imagenet, the paper's ImageNet\n"
    "skeleton); its operator codes are read as\n"
    "documented in runtime/io/motif.h (our reading of the published files).\n"
    "proxyless and ofa-mbv3 are the built-in hand-made spaces on their ImageNet\n"
    "skeletons (docs/autospace.md, \"Spaces by name\"); with --reference, their cells\n"
    "on that skeleton (--json writes a space.json that 'asvk latency --space' measures\n"
    "and 'asvk search --space' searches).",
    opts,
    show,
};
