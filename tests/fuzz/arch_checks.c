#include "tests/fuzz/arch_checks.h"

#include <stdlib.h>
#include <string.h>

#include "autospace/skeleton.h"
#include "tests/fuzz/common.h"

static void cost_of(const asvk_arch *a, uint32_t resolution, const char *what, asvk_cost *out) {
    if (asvk_arch_cost(a, resolution, out) != ASVK_OK)
        fuzz_fail("%s has no cost: %s", what, asvk_error_message());
}

static void check_skeleton(const asvk_arch *a, const asvk_cost *cost) {
    asvk_skeleton *sk = malloc(sizeof *sk);
    asvk_cell *ref = calloc(ASVK_SKEL_MAX_LAYERS, sizeof *ref);
    if (!sk || !ref) fuzz_fail("out of memory");
    /* refusing is fine: most networks are not skeletons */
    if (asvk_skeleton_from_arch(a, sk, ref) == ASVK_OK) {
        asvk_arch back;
        if (asvk_skeleton_to_arch(sk, ref, NULL, &back) != ASVK_OK)
            fuzz_fail("a skeleton does not build its own reference network: %s", asvk_error_message());
        asvk_cost c2;
        cost_of(&back, a->resolution, "a skeleton's reference network", &c2);
        if (c2.params != cost->params || c2.madds != cost->madds)
            fuzz_fail("a skeleton's reference network costs %llu params, %llu MAdds; the network %llu, %llu",
                      (unsigned long long)c2.params, (unsigned long long)c2.madds, (unsigned long long)cost->params,
                      (unsigned long long)cost->madds);
        asvk_cost_free(&c2);
        asvk_arch_free(&back);
    }
    free(sk), free(ref);
}

void fuzz_check_arch(const asvk_arch *a) {
    asvk_cost cost;
    cost_of(a, 0, "a loaded architecture", &cost);
    asvk_param *params;
    uint32_t n;
    if (asvk_arch_params(a, &params, &n) != ASVK_OK)
        fuzz_fail("a loaded architecture has no parameter list: %s", asvk_error_message());
    free(params);
    check_skeleton(a, &cost);
    asvk_cost_free(&cost);

    char *text;
    if (asvk_arch_to_json(a, &text) != ASVK_OK) fuzz_fail("a loaded architecture does not write: %s", asvk_error_message());
    asvk_arch back;
    if (asvk_arch_parse(text, strlen(text), "written.json", &back) != ASVK_OK)
        fuzz_fail("a written architecture does not read back: %s\n%s", asvk_error_message(), text);
    if (!asvk_arch_equal(a, &back)) fuzz_fail("an architecture reads back different:\n%s", text);
    asvk_arch_free(&back);
    free(text);
}

void fuzz_check_arch_netconfig(const asvk_arch *a) {
    char *text;
    if (asvk_arch_to_netconfig(a, &text) != ASVK_OK) return; /* not every network has a net.config form */
    asvk_arch back;
    if (asvk_arch_parse(text, strlen(text), "written.config", &back) != ASVK_OK)
        fuzz_fail("a written net.config does not read back: %s\n%s", asvk_error_message(), text);
    asvk_cost c1, c2;
    cost_of(a, a->resolution, "a loaded architecture", &c1);
    cost_of(&back, a->resolution, "a written net.config", &c2);
    /* a dropout of rate 0 is the identity; net.config has no place for it (dropout_rate 0 means none) */
    uint32_t kept = 0;
    for (uint32_t i = 0; i < a->count; i++) kept += !(a->layers[i].type == ASVK_LAYER_DROPOUT && a->layers[i].dropout == 0);
    if (back.count != kept || back.in_channels != a->in_channels || back.num_classes != a->num_classes ||
        c1.params != c2.params || c1.madds != c2.madds)
        fuzz_fail("a net.config reads back as another network (%u layers, %llu params, %llu MAdds; was %u, %llu, "
                  "%llu):\n%s", back.count, (unsigned long long)c2.params, (unsigned long long)c2.madds, kept,
                  (unsigned long long)c1.params, (unsigned long long)c1.madds, text);
    for (uint32_t i = 0, k = 0; i < a->count; i++) {
        if (a->layers[i].type == ASVK_LAYER_DROPOUT && a->layers[i].dropout == 0) continue;
        if (back.layers[k].type != a->layers[i].type)
            fuzz_fail("a net.config reads back with layer %u a %s, not a %s:\n%s", k,
                      asvk_layer_type_name(back.layers[k].type), asvk_layer_type_name(a->layers[i].type), text);
        k++;
    }
    asvk_cost_free(&c1), asvk_cost_free(&c2);
    asvk_arch_free(&back);
    free(text);
}
