/* The evolution's parts (AUTOSPACE.md): populations (tournaments, newborns
 * first, removal, Eqn. 5), the alpha optimizer and the cost term's gradient
 * (against finite differences), the weight bank, skeletons from and to
 * architectures (costs agree with the mbconv layers they came from), the
 * supernet's parameter store (only the sampled cells' weights), and
 * generations on a generated dataset: weights inherited by children are
 * their parents' exact values, populations never hold a redundant cell, the
 * anchors stay. The end-to-end runs (files, resume after SIGKILL) are
 * tests/cli/test_evolve.sh. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "autospace/alpha.h"
#include "autospace/bank.h"
#include "autospace/evolve.h"
#include "autospace/population.h"
#include "autospace/skeleton.h"
#include "autospace/space.h"
#include "autospace/supernet.h"
#include "autospace/supernet_step.h"
#include "runtime/cell_ops.h"
#include "runtime/params.h"
#include "tests/harness.h"

static asvk_member member(double fitness, uint32_t born, uint32_t sampled, bool anchor, uint64_t hash) {
    asvk_member m = {0};
    m.cell = asvk_cell_mbconv(3, 6);
    m.fitness = fitness, m.born = born, m.sampled = sampled, m.anchor = anchor, m.hash = hash;
    return m;
}

/* ---- populations ---- */

static void population_sampling(void) {
    asvk_population p = {0};
    static const double fit[] = {0.5, 1.5, 0.9, 2.0, 1.1, 0.2, 1.0, 1.7};
    for (uint32_t i = 0; i < 8; i++) {
        asvk_member m = member(fit[i], 0, i == 2 || i == 6 ? 0 : 3, i == 0, 100 + i);
        OK(asvk_pop_add(&p, &m));
    }
    uint64_t rng = 42;
    uint32_t out[4];
    OK(asvk_pop_sample(&p, &rng, 4, 4, NULL, out));
    /* the never-sampled members (2 and 6) come first, and all four are distinct */
    CHECK(out[0] == 2 && out[1] == 6, "newborns not sampled first: %u %u", out[0], out[1]);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < i; j++) CHECK(out[i] != out[j], "member %u sampled twice", out[i]);
    /* a huge tournament finds the fittest eligible member */
    bool allowed[8] = {1, 1, 1, 0, 1, 1, 1, 1}; /* the fittest (3) is not allowed */
    int w = asvk_pop_tournament(&p, &rng, 200, allowed, NULL);
    CHECK(w == 7, "tournament of 200 picked %d, not the fittest allowed member 7", w);
    bool taken[8] = {0, 0, 0, 0, 0, 0, 0, 1};
    w = asvk_pop_tournament(&p, &rng, 200, allowed, taken);
    CHECK(w == 1, "tournament skipping the taken 7 picked %d, not 1", w);
    /* size-1 tournaments are uniform over the eligible members: every one turns up */
    uint32_t seen[8] = {0};
    for (int t = 0; t < 800; t++) seen[asvk_pop_tournament(&p, &rng, 1, allowed, NULL)]++;
    for (int i = 0; i < 8; i++)
        CHECK(allowed[i] ? seen[i] > 60 : seen[i] == 0, "member %d drawn %u times of 800 (7 eligible)", i, seen[i]);
    bool none[8] = {0};
    EXPECT_ERR(asvk_pop_sample(&p, &rng, 2, 4, none, out), ASVK_ERR_USAGE, "only 0 cells of the population");
    asvk_pop_free(&p);
}

static void population_removal_and_score(void) {
    asvk_population p = {0};
    asvk_member ms[] = {
        member(0.1, 0, 9, true, 1),  /* the weakest, but an anchor: never removed */
        member(0.3, 4, 1, false, 2), /* weaker than the rest, but sampled only once */
        member(0.6, 3, 2, false, 3), /* tie with 4: this one is younger */
        member(0.6, 1, 5, false, 4), /* the oldest of the weakest eligible */
        member(0.9, 0, 7, false, 5),
    };
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) OK(asvk_pop_add(&p, &ms[i]));
    CHECK(asvk_pop_worst(&p, 2) == 3, "worst is %d, expected member 3 (the oldest of the 0.6 pair)", asvk_pop_worst(&p, 2));
    CHECK(asvk_pop_worst(&p, 1) == 1, "with min_sampled 1 the worst is %d, expected 1", asvk_pop_worst(&p, 1));
    CHECK(asvk_pop_worst(&p, 100) == -1, "nothing is sampled 100 times");
    asvk_pop_remove(&p, 3);
    CHECK(p.count == 4 && asvk_pop_find(&p, 4) < 0 && asvk_pop_find(&p, 5) == 3, "remove kept the order");
    /* Eqn. 5: f <- (1 - beta) f + beta K share; a uniform share keeps f = 1 */
    asvk_member m = member(1.0, 0, 0, false, 9);
    asvk_pop_score(&m, 0.5, 4, 0.25);
    CHECK(m.fitness == 1.0, "a uniform share moved the fitness to %g", m.fitness);
    asvk_pop_score(&m, 0.5, 4, 0.5);
    CHECK(fabs(m.fitness - 1.5) < 1e-15, "fitness %g, expected 0.5 * 1 + 0.5 * 4 * 0.5 = 1.5", m.fitness);
    asvk_pop_free(&p);
}

/* ---- the alpha optimizer ---- */

static double cost_term(asvk_alpha *al, const double cost[][ASVK_ALPHA_MAX_K], double lambda) {
    double g[ASVK_SKEL_MAX_LAYERS][ASVK_ALPHA_MAX_K] = {{0}};
    return lambda * log(asvk_alpha_cost_grad(al, cost, 0, g));
}

static void alpha_cost_gradient(void) {
    asvk_alpha al;
    asvk_alpha_init(&al, 3, 4, 0.1);
    double cost[ASVK_SKEL_MAX_LAYERS][ASVK_ALPHA_MAX_K] = {{0}};
    for (uint32_t l = 0; l < 3; l++)
        for (uint32_t k = 0; k < 4; k++) al.a[l][k] = test_rand_uniform(-1, 1), cost[l][k] = test_rand_uniform(1e5, 3e6);
    double g[ASVK_SKEL_MAX_LAYERS][ASVK_ALPHA_MAX_K] = {{0}};
    const double lambda = 0.7;
    asvk_alpha_cost_grad(&al, (const double(*)[ASVK_ALPHA_MAX_K])cost, lambda, g);
    /* central differences in double: error ~h^2 * (third derivative) ~ 1e-10 */
    for (uint32_t l = 0; l < 3; l++)
        for (uint32_t k = 0; k < 4; k++) {
            const double h = 1e-5, a0 = al.a[l][k];
            al.a[l][k] = a0 + h;
            double up = cost_term(&al, (const double(*)[ASVK_ALPHA_MAX_K])cost, lambda);
            al.a[l][k] = a0 - h;
            double down = cost_term(&al, (const double(*)[ASVK_ALPHA_MAX_K])cost, lambda);
            al.a[l][k] = a0;
            double fd = (up - down) / (2 * h);
            CHECK(fabs(fd - g[l][k]) <= 1e-8 + 1e-6 * fabs(fd), "d(lambda log C)/d alpha[%u][%u] = %.10g, finite "
                  "differences %.10g", l, k, g[l][k], fd);
        }
}

/* The hinge: no gradient while the expected cost is within the budget, the
 * log term's gradient (by finite differences above) once it is over. */
static void alpha_cost_hinge(void) {
    asvk_alpha al;
    asvk_alpha_init(&al, 2, 3, 0.1);
    double cost[ASVK_SKEL_MAX_LAYERS][ASVK_ALPHA_MAX_K] = {{1e6, 2e6, 3e6}, {5e5, 1e6, 4e6}};
    for (uint32_t l = 0; l < 2; l++)
        for (uint32_t k = 0; k < 3; k++) al.a[l][k] = test_rand_uniform(-1, 1);
    double none[ASVK_SKEL_MAX_LAYERS][ASVK_ALPHA_MAX_K] = {{0}}, hinge[ASVK_SKEL_MAX_LAYERS][ASVK_ALPHA_MAX_K] = {{0}},
           plain[ASVK_SKEL_MAX_LAYERS][ASVK_ALPHA_MAX_K] = {{0}};
    double c = asvk_alpha_cost_grad(&al, (const double(*)[ASVK_ALPHA_MAX_K])cost, 0.3, plain);
    CHECK(asvk_alpha_cost_hinge_grad(&al, (const double(*)[ASVK_ALPHA_MAX_K])cost, 0.3, 1.01 * c, none) == c,
          "the hinge returns another expected cost");
    asvk_alpha_cost_hinge_grad(&al, (const double(*)[ASVK_ALPHA_MAX_K])cost, 0.3, 0.99 * c, hinge);
    for (uint32_t l = 0; l < 2; l++)
        for (uint32_t k = 0; k < 3; k++) {
            CHECK(none[l][k] == 0, "within the budget the hinge pulls alpha[%u][%u] by %g", l, k, none[l][k]);
            CHECK(hinge[l][k] == plain[l][k] && plain[l][k] != 0, "over the budget alpha[%u][%u]: hinge %g, log %g", l,
                  k, hinge[l][k], plain[l][k]);
        }
}

static void alpha_adam_step(void) {
    /* PyTorch's Adam (bias-corrected), by hand for two steps with beta1 0.5 */
    asvk_alpha al;
    asvk_alpha_init(&al, 1, 2, 0.1);
    double g[ASVK_SKEL_MAX_LAYERS][ASVK_ALPHA_MAX_K] = {{0.2, -0.4}};
    asvk_alpha_step(&al, (const double(*)[ASVK_ALPHA_MAX_K])g);
    /* step 1: m_hat = g, v_hat = g^2: the step is lr * sign(g) up to eps */
    CHECK(fabs(al.a[0][0] + 0.1) < 1e-6 && fabs(al.a[0][1] - 0.1) < 1e-6, "step 1: %g %g", al.a[0][0], al.a[0][1]);
    g[0][0] = 0.1, g[0][1] = 0.0;
    asvk_alpha_step(&al, (const double(*)[ASVK_ALPHA_MAX_K])g);
    double m = 0.5 * 0.5 * 0.2 + 0.5 * 0.1, v = 0.999 * 0.001 * 0.04 + 0.001 * 0.01;
    double a1 = -0.1 * 0.2 / (0.2 + 1e-8); /* step 1, eps included */
    double want = a1 - 0.1 * (m / 0.75) / (sqrt(v / (1 - 0.999 * 0.999)) + 1e-8);
    CHECK(fabs(al.a[0][0] - want) < 1e-12, "step 2: %.12g, by hand %.12g", al.a[0][0], want);
    double p[2];
    asvk_alpha_softmax(&al, 0, p);
    CHECK(fabs(p[0] + p[1] - 1) < 1e-15 && p[1] > p[0], "softmax %g %g", p[0], p[1]);
}

/* ---- the bank ---- */

static void bank_round_trip(void) {
    asvk_bank *b = asvk_bank_create();
    float x[5] = {1, 2, 3, 4, 5}, y[2] = {-1, 0.5f};
    OK(asvk_bank_put(b, "cells.0.aa.e1_0.weight", x, 5));
    OK(asvk_bank_put(b, "cells.0.bb.e1_0.weight", y, 2));
    OK(asvk_bank_put(b, "stem.conv.weight", y, 2));
    x[0] = 9;
    OK(asvk_bank_put(b, "cells.0.aa.e1_0.weight", x, 5)); /* replaces */
    uint64_t n;
    const float *v = asvk_bank_get(b, "cells.0.aa.e1_0.weight", &n);
    CHECK(v && n == 5 && v[0] == 9 && asvk_bank_count(b) == 3, "put/get");
    CHECK(strcmp(asvk_bank_name(b, 0), "cells.0.aa.e1_0.weight") == 0 && !asvk_bank_name(b, 3), "names in order");
    char path[] = "/tmp/asvk-bank-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    close(fd);
    OK(asvk_bank_save(b, path, NULL, 0));
    asvk_bank_drop_prefix(b, "cells.0.aa.");
    CHECK(asvk_bank_count(b) == 2 && !asvk_bank_get(b, "cells.0.aa.e1_0.weight", &n), "drop_prefix");
    asvk_bank *c = asvk_bank_create();
    OK(asvk_bank_load(c, path));
    v = asvk_bank_get(c, "cells.0.aa.e1_0.weight", &n);
    CHECK(asvk_bank_count(c) == 3 && v && n == 5 && memcmp(v, x, sizeof x) == 0, "save/load");
    remove(path);
    asvk_bank_destroy(b);
    asvk_bank_destroy(c);
}

/* ---- skeletons ---- */

static void skeleton_from_and_to_arch(void) {
    static const char *const specs[] = {"fmnist_evo", "mbv2:r=96:w=0.5", "proxyless_mobile", "fmnist"};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        asvk_arch a, b;
        OK(asvk_arch_builtin(specs[i], &a));
        asvk_skeleton sk;
        asvk_cell ref[ASVK_SKEL_MAX_LAYERS];
        asvk_status st = asvk_skeleton_from_arch(&a, &sk, ref);
        if (strcmp(specs[i], "proxyless_mobile") == 0) {
            /* its skip blocks (ZeroLayer) are no cells: refused by name */
            CHECK(st == ASVK_ERR_USAGE && strstr(asvk_error_message(), "global_pool"), "%s: %s", specs[i],
                  asvk_error_message());
            asvk_arch_free(&a);
            continue;
        }
        OK(st);
        OK(asvk_skeleton_to_arch(&sk, ref, NULL, &b));
        /* the network of the reference cells is the reference: same cost, same parameter count */
        asvk_cost ca, cb;
        OK(asvk_arch_cost(&a, 0, &ca));
        OK(asvk_arch_cost(&b, 0, &cb));
        CHECK(ca.madds == cb.madds && ca.params == cb.params, "%s: %llu MAdds %llu params, as cells %llu %llu", specs[i],
              (unsigned long long)ca.madds, (unsigned long long)ca.params, (unsigned long long)cb.madds,
              (unsigned long long)cb.params);
        /* what is not in the searchable layers (stem, head, classifier) */
        uint64_t cells_madds = 0;
        for (uint32_t l = 1; l <= sk.count; l++) cells_madds += cb.layers[l].madds;
        CHECK(asvk_evolve_fixed_madds(&sk) == ca.madds - cells_madds, "%s: fixed MAdds %llu, want %llu - %llu", specs[i],
              (unsigned long long)asvk_evolve_fixed_madds(&sk), (unsigned long long)ca.madds,
              (unsigned long long)cells_madds);
        /* JSON round trip */
        cJSON *j = asvk_skeleton_to_json(&sk);
        asvk_skeleton back;
        OK(asvk_skeleton_from_json(j, "sk", &back));
        cJSON_Delete(j);
        CHECK(memcmp(&back.layers, &sk.layers, sizeof sk.layers) == 0 && back.count == sk.count &&
                  back.head == sk.head && back.stem_stride == sk.stem_stride && back.dropout == sk.dropout,
              "%s: skeleton JSON round trip", specs[i]);
        asvk_cost_free(&ca), asvk_cost_free(&cb);
        asvk_arch_free(&a), asvk_arch_free(&b);
    }
}

/* once-for-all's MobileNetV3 space (autospace/space_builtin.c): its shape, the
 * stages' activations and SE, where depth may shrink, the feature mix after
 * the pool; the published w1.2 network (flops-389M, depths 2 3 3 4 4) is one
 * of its networks, with the same params and MAdds as its own net.config. */
static void builtin_ofa_mbv3_space(void) {
    asvk_space sp;
    OK(asvk_space_builtin("ofa-mbv3", &sp));
    const asvk_skeleton *sk = &sp.sk;
    CHECK(sp.layers == 21 && sk->count == 21 && sk->stem_out == 24 && sk->stem_act == ASVK_ACT_HSWISH &&
              sk->head == 1152 && sk->head_act == ASVK_ACT_HSWISH && sk->feature_mix == 1536 &&
              sk->feature_mix_act == ASVK_ACT_HSWISH && sk->resolution == 224 && sk->num_classes == 1000,
          "ofa-mbv3 skeleton");
    static const uint32_t outs[] = {32, 48, 96, 136, 192};
    CHECK(sp.count[0] == 1 && sp.no_skip[0], "the fixed first block");
    for (uint32_t l = 1; l < 21; l++) {
        uint32_t stage = (l - 1) / 4, depth = (l - 1) % 4;
        bool se = stage == 1 || stage >= 3;
        asvk_act act = stage >= 2 ? ASVK_ACT_HSWISH : ASVK_ACT_RELU;
        CHECK(sp.count[l] == 9 && sk->layers[l].out == outs[stage] && sp.no_skip[l] == (depth < 2) &&
                  sk->layers[l].stride == (depth ? 1u : stage == 3 ? 1u : 2u),
              "layer %u: %u cells, out %u, stride %u, no_skip %d", l, sp.count[l], sk->layers[l].out,
              sk->layers[l].stride, sp.no_skip[l]);
        for (uint32_t k = 0; k < sp.count[l]; k++)
            CHECK(sp.cells[l][k].cell.act == act && sp.cells[l][k].cell.se == se &&
                      asvk_skeleton_mbconv_kernel(&sp.cells[l][k].cell) != 0,
                  "layer %u cell %u: act, SE or not an MBConv", l, k);
    }
    /* space.json round trip keeps the skip rule and the feature mix */
    char *text;
    OK(asvk_space_to_text(&sp, &text));
    char path[] = "/tmp/asvk-space-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0, "write %s", path);
    free(text);
    asvk_space back;
    OK(asvk_space_load(path, ASVK_MOTIF_READING_DEFAULT, &back));
    unlink(path);
    CHECK(memcmp(back.no_skip, sp.no_skip, sizeof sp.no_skip) == 0 && back.sk.feature_mix == 1536 &&
              asvk_space_cells(&back) == 181, "ofa-mbv3 space.json round trip");

    asvk_arch pub;
    OK(asvk_arch_load(ASVK_SOURCE_DIR "/tests/data/reference/once-for-all/flops-389M_top1-79.1_finetune-75/net.config",
                      &pub));
    asvk_cell cells[ASVK_SKEL_MAX_LAYERS];
    memset(cells, 0, sizeof cells); /* 0 nodes: a skip */
    uint32_t layer = 0, matched = 0;
    for (uint32_t i = 0; i < pub.count; i++) {
        const asvk_layer *x = &pub.layers[i];
        if (x->type != ASVK_LAYER_MBCONV) continue;
        /* a stage starts where the channels change (or stage 4, stride 1: 96 -> 136) */
        while (layer > 1 && layer < 21 && (layer - 1) % 4 != 0 && sk->layers[layer].out != x->mbconv.out) layer++;
        CHECK(layer < 21 && sk->layers[layer].out == x->mbconv.out, "published block %u has no layer", i);
        if (layer >= 21) break;
        for (uint32_t k = 0; k < sp.count[layer]; k++) {
            const asvk_cell *c = &sp.cells[layer][k].cell;
            if (asvk_skeleton_mbconv_kernel(c) == x->mbconv.kernel && c->expand == (float)x->mbconv.expand &&
                c->se == x->mbconv.se && c->act == x->mbconv.act) {
                cells[layer] = *c, matched++;
                break;
            }
        }
        layer++;
    }
    CHECK(matched == 17, "%u of the 17 published blocks are cells of ofa-mbv3", matched);
    asvk_arch ours;
    OK(asvk_skeleton_to_arch(sk, cells, NULL, &ours));
    asvk_cost a, b;
    OK(asvk_arch_cost(&pub, 224, &a));
    OK(asvk_arch_cost(&ours, 224, &b));
    CHECK(a.madds == b.madds && a.params == b.params, "published %llu MAdds %llu params; in ofa-mbv3 %llu %llu",
          (unsigned long long)a.madds, (unsigned long long)a.params, (unsigned long long)b.madds,
          (unsigned long long)b.params);
    CHECK(a.madds > 380e6 && a.madds < 400e6, "flops-389M counts %llu MAdds", (unsigned long long)a.madds);
    asvk_cost_free(&a), asvk_cost_free(&b);
    asvk_arch_free(&pub), asvk_arch_free(&ours);
}

/* Skeletons the fuzzer found (tests/fuzz/README.md): each read, but no
 * network could be built from it, so a space.json holding it failed only in
 * the search or the latency probes. */
static void skeleton_fuzzed_inputs(void) {
#define SKEL(x) "{\"name\": \"s\", \"in_channels\": 1, \"resolution\": 12, \"num_classes\": 4, " \
                "\"stem\": {\"out\": 8, \"stride\": 2}, \"layers\": [{\"out\": 12, \"stride\": 2}]" x "}"
    static const struct { const char *text, *want; } cases[] = {
        /* tests/fuzz/corpus/space_json/bn-eps-1 */
        {SKEL(", \"bn\": {\"eps\": 1}"), "sk: BN eps must be in (0, 1), not 1"},
    };
#undef SKEL
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *j = cJSON_Parse(cases[i].text);
        CHECK(j, "case %zu is not JSON", i);
        asvk_skeleton sk;
        asvk_status st = asvk_skeleton_from_json(j, "sk", &sk);
        CHECK(st == ASVK_ERR_USAGE && strstr(asvk_error_message(), cases[i].want),
              "case %zu gave %s '%s', expected a usage error with '%s'", i, asvk_status_name(st), asvk_error_message(),
              cases[i].want);
        cJSON_Delete(j);
    }
    /* the same skeleton with its default BN reads */
    cJSON *j = cJSON_Parse("{\"name\": \"s\", \"in_channels\": 1, \"resolution\": 12, \"num_classes\": 4, "
                           "\"stem\": {\"out\": 8, \"stride\": 2}, \"layers\": [{\"out\": 12, \"stride\": 2}]}");
    asvk_skeleton sk;
    OK(asvk_skeleton_from_json(j, "sk", &sk));
    cJSON_Delete(j);
}

/* ---- the supernet's store ---- */

static asvk_status count_param(void *user, const char *suffix, asvk_param_role role, uint32_t rank,
                               const uint32_t *shape) {
    uint64_t *n = user, f = 1;
    (void)suffix, (void)role;
    for (uint32_t i = 0; i < rank; i++) f *= shape[i];
    *n += f;
    return ASVK_OK;
}

static void supernet_holds_only_sampled_cells(void) {
    asvk_arch a;
    OK(asvk_arch_builtin("fmnist_evo", &a));
    asvk_skeleton sk;
    asvk_cell ref[ASVK_SKEL_MAX_LAYERS];
    OK(asvk_skeleton_from_arch(&a, &sk, ref));
    asvk_arch_free(&a);
    asvk_supernet_spec spec = {.sk = &sk, .k = 3, .batch = 4, .bn_eps = 1e-5, .bn_momentum = 0.1};
    asvk_genome_options o;
    asvk_genome_options_default(&o);
    asvk_prng rng = asvk_prng_seed(3);
    uint64_t cell_floats = 0;
    for (uint32_t l = 0; l < sk.count; l++)
        for (uint32_t k = 0; k < spec.k; k++) {
            OK(asvk_genome_random(&rng, 4, &o, &spec.cells[l][k]));
            OK(asvk_genome_hash(&spec.cells[l][k], &spec.hash[l][k]));
            uint32_t c, h;
            asvk_skeleton_layer_input(&sk, l, &c, &h);
            asvk_cell_shape s;
            OK(asvk_cell_shape_of(&spec.cells[l][k], c, h, h, sk.layers[l].out, sk.layers[l].stride, &s));
            OK(asvk_cell_params(&spec.cells[l][k], &s, count_param, &cell_floats));
        }
    asvk_param_store *ps = asvk_params_create();
    OK(asvk_supernet_declare(&spec, ps));
    uint64_t in_cells = 0, alphas = 0, other = 0;
    for (uint32_t i = 0; i < ps->count; i++) {
        const asvk_store_item *p = &ps->items[i];
        if (strncmp(p->name, "cells.", 6) == 0) {
            unsigned layer;
            char hex[17];
            CHECK(sscanf(p->name, "cells.%u.%16[0-9a-f].", &layer, hex) == 2, "name %s", p->name);
            uint64_t h;
            bool sampled = false;
            if (layer < sk.count && asvk_genome_hash_parse(hex, &h))
                for (uint32_t k = 0; k < spec.k; k++) sampled |= spec.hash[layer][k] == h;
            CHECK(sampled, "%s is not a tensor of a sampled cell", p->name);
            in_cells += p->floats;
        } else if (strncmp(p->name, "alpha.", 6) == 0) {
            alphas += p->floats;
            CHECK(p->group == ASVK_GROUP_ARCH, "%s is not in the architecture group", p->name);
        } else {
            CHECK(strncmp(p->name, "stem.", 5) == 0 || strncmp(p->name, "head.", 5) == 0, "stray tensor %s", p->name);
            other += p->floats;
        }
    }
    CHECK(in_cells == cell_floats, "the store holds %llu cell floats, the sampled cells have %llu",
          (unsigned long long)in_cells, (unsigned long long)cell_floats);
    CHECK(alphas == (uint64_t)sk.count * spec.k && other > 0, "%llu alpha floats", (unsigned long long)alphas);
    asvk_model m;
    OK(asvk_supernet_build(&spec, ps, false, &m));
    asvk_graph_destroy(NULL, m.graph);
    asvk_params_destroy(NULL, ps);
}

/* ---- generations ---- */

/* Stripes, columns, checks or flat fields on noise (tests/cli/make_idx.py's classes). */
static asvk_dataset *textures(uint32_t n, uint32_t size) {
    asvk_dataset *d;
    if (asvk_dataset_create(n, size, size, 1, 4, "textures", &d)) return NULL;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = i % 4;
        d->labels[i] = (int32_t)k;
        uint8_t *px = asvk_dataset_image(d, i);
        for (uint32_t y = 0; y < size; y++)
            for (uint32_t x = 0; x < size; x++) {
                uint32_t v = k == 0 ? y % 2 * 160 : k == 1 ? x % 2 * 160 : k == 2 ? (x + y) % 2 * 160 : 80;
                px[y * size + x] = (uint8_t)(v + test_rand_range(0, 59));
            }
    }
    return d;
}

/* "e2_1_bn.bias" -> "e_bn.bias"-like kind: the tensor name with the edge's node numbers skipped. */
static const char *edge_kind(const char *s) {
    if (s[0] != 'e' || !isdigit((unsigned char)s[1])) return s;
    const char *p = s + 1;
    while (isdigit((unsigned char)*p)) p++;
    if (*p == '_') p++;
    while (isdigit((unsigned char)*p)) p++;
    return p;
}

/* The defaults with a small skeleton (10x10 inputs, 4 classes, two searchable layers). */
static asvk_status small_config(asvk_evolve_config *cfg) {
    static const char *arch_json =
        "{\"format\": \"asvk-arch/1\", \"name\": \"small\", \"in_channels\": 1, \"resolution\": 10, \"num_classes\": 4, "
        "\"layers\": [{\"type\": \"conv\", \"out\": 8, \"kernel\": 3, \"stride\": 2}, "
        "{\"type\": \"mbconv\", \"out\": 8, \"kernel\": 3, \"expand\": 3}, "
        "{\"type\": \"mbconv\", \"out\": 12, \"kernel\": 5, \"stride\": 2, \"expand\": 6}, "
        "{\"type\": \"global_pool\"}, {\"type\": \"linear\", \"out\": 4}]}";
    asvk_arch a;
    asvk_status st = asvk_arch_parse(arch_json, strlen(arch_json), "small", &a);
    if (st) return st;
    asvk_evolve_config_default(cfg);
    st = asvk_skeleton_from_arch(&a, &cfg->sk, cfg->reference);
    asvk_arch_free(&a);
    return st;
}

static void generations_inherit_and_stay_distinct(void) {
    asvk_evolve_config cfg;
    OK(small_config(&cfg));
    cfg.population = 5, cfg.k = 2, cfg.steps = 3, cfg.batch = 8, cfg.val_images = 64, cfg.generations = 6;
    cfg.min_sampled = 1, cfg.seed = 11;
    asvk_dataset *d = textures(256, 10);
    CHECK(d != NULL, "dataset");
    if (!d) return;
    asvk_evolve *e;
    OK(asvk_evolve_create(test_context(), &cfg, d, &e));
    uint32_t checked = 0;
    for (uint32_t g = 0; g < cfg.generations; g++) {
        asvk_generation_stats gs;
        OK(asvk_evolve_step(e, NULL, NULL, &gs));
        CHECK(isfinite(gs.loss) && gs.expected_madds > 0, "generation %u: loss %g", g, gs.loss);
        const asvk_bank *bank = asvk_evolve_bank(e);
        for (uint32_t l = 0; l < cfg.sk.count; l++) {
            const asvk_population *p = asvk_evolve_population(e, l);
            uint32_t anchors = 0;
            for (uint32_t i = 0; i < p->count; i++) {
                anchors += p->m[i].anchor;
                for (uint32_t j = 0; j < i; j++)
                    CHECK(p->m[i].hash != p->m[j].hash, "layer %u holds a redundant cell", l);
                /* the child born in this generation has trained nothing yet:
                 * every tensor it has in the bank is inherited, and must be
                 * bit for bit a tensor of its parent with the same suffix */
                if (p->m[i].born != g || !p->m[i].parent) continue;
                /* (a parent that lost its place in the same generation took its tensors with it) */
                if (asvk_pop_find(p, p->m[i].parent) < 0) continue;
                char cp[64], pp[64];
                asvk_supernet_cell_prefix(l, p->m[i].hash, cp, sizeof cp);
                asvk_supernet_cell_prefix(l, p->m[i].parent, pp, sizeof pp);
                for (uint32_t t = 0; t < asvk_bank_count(bank); t++) {
                    const char *name = asvk_bank_name(bank, t);
                    if (strncmp(name, cp, strlen(cp)) != 0) continue;
                    const char *suffix = name + strlen(cp);
                    uint64_t nc, np;
                    const float *vc = asvk_bank_get(bank, name, &nc);
                    bool found = false;
                    for (uint32_t u = 0; u < asvk_bank_count(bank) && !found; u++) {
                        const char *pn = asvk_bank_name(bank, u);
                        if (strncmp(pn, pp, strlen(pp)) != 0) continue;
                        const char *ps = pn + strlen(pp);
                        /* the same tensor of the same kind of part (an edge may move: e2_1 from e3_1) */
                        if (strcmp(edge_kind(suffix), edge_kind(ps)) != 0) continue;
                        const float *vp = asvk_bank_get(bank, pn, &np);
                        found = np == nc && memcmp(vp, vc, nc * sizeof *vc) == 0;
                    }
                    CHECK(found, "generation %u: %s is not a copy of a tensor of its parent", g, name);
                    checked++;
                }
            }
            CHECK(!cfg.anchors || anchors == 1, "layer %u has %u anchors", l, anchors);
        }
    }
    CHECK(checked > 0, "no inherited tensor was seen in %u generations", cfg.generations);
    asvk_evolve_destroy(e);
    asvk_dataset_destroy(d);
}

/* The defaults with fmnist_evo's skeleton and reference cells. */
static void fmnist_evo_config(asvk_evolve_config *cfg) {
    asvk_arch a;
    OK(asvk_arch_builtin("fmnist_evo", &a));
    asvk_evolve_config_default(cfg);
    OK(asvk_skeleton_from_arch(&a, &cfg->sk, cfg->reference));
    asvk_arch_free(&a);
}

static void bad_configs(void) {
    asvk_evolve_config cfg;
    fmnist_evo_config(&cfg);
    asvk_dataset *d = textures(64, 10);
    asvk_evolve *e;
    EXPECT_ERR(asvk_evolve_create(test_context(), &cfg, d, &e), ASVK_ERR_USAGE, "skeleton fmnist_evo takes 28x28x1");
    asvk_dataset_destroy(d);
    d = textures(400, 28);
    cfg.val_images = 100;
    cfg.k = ASVK_ALPHA_MAX_K + 1;
    EXPECT_ERR(asvk_evolve_create(test_context(), &cfg, d, &e), ASVK_ERR_USAGE, "-k must be 1 to 16");
    cfg.k = 4, cfg.population = 3;
    EXPECT_ERR(asvk_evolve_create(test_context(), &cfg, d, &e), ASVK_ERR_USAGE, "raise --population to at least 4");
    cfg.population = 8, cfg.budget_madds = 1e6;
    EXPECT_ERR(asvk_evolve_create(test_context(), &cfg, d, &e), ASVK_ERR_USAGE, "distinct affordable cells for layer 0");
    cfg.budget_madds = 0, cfg.batch = 512;
    EXPECT_ERR(asvk_evolve_create(test_context(), &cfg, d, &e), ASVK_ERR_USAGE, "cannot fill batches of 512");
    asvk_dataset_destroy(d);
}

/* The budget's layer shares: in proportion to the reference cells' cost when
 * that leaves every layer its cheapest cell; otherwise short layers get their
 * cheapest cell (in rounds: pinning one can short another) and the others
 * share the rest in proportion; the shares always sum to the budget. A budget
 * below the cheapest network is refused by asvk_evolve_create. */
static void layer_budgets(void) {
    static const struct {
        uint32_t n;
        double cells, ref[4], cheap[4], want[4];
    } cases[] = {
        {3, 300, {100, 100, 100}, {10, 10, 10}, {100, 100, 100}},  /* the reference fits: proportional */
        {3, 120, {100, 100, 100}, {10, 10, 10}, {40, 40, 40}},     /* scaled down, still proportional */
        {3, 100, {10, 100, 100}, {20, 10, 10}, {20, 40, 40}},      /* layer 0 short: pinned */
        {4, 100, {10, 20, 100, 100}, {20, 20, 10, 10}, {20, 20, 30, 30}}, /* two short at once */
        {3, 100, {10, 30, 100}, {20, 20, 10}, {20, 20, 60}},       /* pinning 0 shorts 1 (21.4, then 18.5) */
        {2, 30, {1, 1}, {10, 20}, {10, 20}},                       /* exactly the cheapest network */
    };
    for (uint32_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        double out[4] = {0}, sum = 0;
        asvk_evolve_share_budget(cases[t].n, cases[t].cells, cases[t].ref, cases[t].cheap, out);
        for (uint32_t l = 0; l < cases[t].n; l++) {
            CHECK(fabs(out[l] - cases[t].want[l]) < 1e-9, "case %u layer %u: %g, expected %g", t, l, out[l],
                  cases[t].want[l]);
            sum += out[l];
        }
        CHECK(fabs(sum - cases[t].cells) < 1e-9, "case %u: the shares sum to %g, not %g", t, sum, cases[t].cells);
    }
    /* fmnist_evo: the reference's first cell is the cheapest one, so any budget below the reference's pins it */
    asvk_evolve_config cfg;
    fmnist_evo_config(&cfg);
    cfg.val_images = 100;
    asvk_dataset *d = textures(400, 28);
    CHECK(d != NULL, "dataset");
    if (!d) return;
    double fixed = (double)asvk_evolve_fixed_madds(&cfg.sk), cheap_total = 0;
    asvk_cell c = asvk_cell_mbconv(3, 1);
    for (uint32_t l = 0; l < cfg.sk.count; l++) {
        uint64_t m, p;
        OK(asvk_supernet_cell_cost(&cfg.sk, l, &c, &m, &p));
        cheap_total += (double)m;
    }
    asvk_evolve *e = NULL;
    cfg.budget_madds = fixed + 0.999 * cheap_total;
    EXPECT_ERR(asvk_evolve_create(test_context(), &cfg, d, &e), ASVK_ERR_USAGE, "below the cheapest cells'");
    asvk_dataset_destroy(d);
}

/* Nearby seeds draw unrelated initial populations (seed s + 1 once drew
 * seed s's stream shifted by one number: the same cells). */
static void seeds_draw_distinct_populations(void) {
    asvk_evolve_config cfg;
    fmnist_evo_config(&cfg);
    cfg.val_images = 100, cfg.anchors = false, cfg.population = 16;
    asvk_dataset *d = textures(400, 28);
    CHECK(d != NULL, "dataset");
    if (!d) return;
    uint64_t hashes[4][ASVK_SKEL_MAX_LAYERS][16];
    uint32_t total = 0;
    for (uint32_t s = 0; s < 4; s++) {
        cfg.seed = s + 1;
        asvk_evolve *e;
        OK(asvk_evolve_create(test_context(), &cfg, d, &e));
        if (!e) break;
        for (uint32_t l = 0; l < cfg.sk.count; l++) {
            const asvk_population *p = asvk_evolve_population(e, l);
            CHECK(p->count == 16, "seed %u layer %u: %u cells", s + 1, l, p->count);
            for (uint32_t i = 0; i < 16 && i < p->count; i++) hashes[s][l][i] = p->m[i].hash;
        }
        asvk_evolve_destroy(e);
    }
    total = cfg.sk.count * 16;
    for (uint32_t s = 0; s + 1 < 4; s++) {
        uint32_t shared = 0;
        for (uint32_t l = 0; l < cfg.sk.count; l++)
            for (uint32_t i = 0; i < 16; i++)
                for (uint32_t j = 0; j < 16; j++) shared += hashes[s][l][i] == hashes[s + 1][l][j];
        /* independent draws from the open space share few cells (cheap ones, e.g. a lone dw3x3, recur) */
        CHECK(shared < total / 4, "seeds %u and %u share %u of %u cells", s + 1, s + 2, shared, total);
    }
    asvk_dataset_destroy(d);
}

/* --fitness perturb: the same first generation (same seed: the same sampled cells, data and
 * training) scored by alpha shares and by perturbation. Per layer the scores are shares (in [0, 1],
 * summing to 1); the perturbation's are not the alpha shares; and every sampled cell's fitness is
 * Eqn. 5 applied to its score: 1 -> (1 - beta) + beta * K * score. */
static void perturbation_fitness(void) {
    asvk_evolve_config cfg;
    OK(small_config(&cfg));
    cfg.population = 6, cfg.k = 3, cfg.steps = 4, cfg.batch = 8, cfg.val_images = 64, cfg.generations = 2;
    cfg.seed = 5;
    asvk_dataset *d = textures(256, 10);
    CHECK(d != NULL, "dataset");
    if (!d) return;
    asvk_generation_stats gs[2];
    uint64_t sampled_hash[2][ASVK_SKEL_MAX_LAYERS][8] = {{{0}}};
    for (int f = 0; f < 2; f++) {
        cfg.fitness = f ? ASVK_EVOLVE_FITNESS_PERTURB : ASVK_EVOLVE_FITNESS_ALPHA;
        asvk_evolve *e;
        OK(asvk_evolve_create(test_context(), &cfg, d, &e));
        OK(asvk_evolve_step(e, NULL, NULL, &gs[f]));
        for (uint32_t l = 0; l < cfg.sk.count; l++) {
            const asvk_population *p = asvk_evolve_population(e, l);
            double sum = 0;
            for (uint32_t k = 0; k < cfg.k; k++) {
                double sc = gs[f].score[l][k];
                CHECK(sc >= 0 && sc <= 1, "%s: layer %u cell %u scored %g", f ? "perturb" : "alpha", l, k, sc);
                sum += sc;
            }
            CHECK(fabs(sum - 1) < 1e-9, "%s: layer %u's scores sum to %.12g", f ? "perturb" : "alpha", l, sum);
            uint32_t n = 0;
            for (uint32_t i = 0; i < p->count; i++) {
                if (p->m[i].sampled != 1) continue;
                bool matches = false;
                for (uint32_t k = 0; k < cfg.k; k++)
                    matches |= fabs(p->m[i].fitness - ((1 - cfg.beta) + cfg.beta * cfg.k * gs[f].score[l][k])) < 1e-12;
                CHECK(matches, "%s: layer %u: a sampled cell's fitness %g is no score's Eqn. 5",
                      f ? "perturb" : "alpha", l, p->m[i].fitness);
                if (n < 8) sampled_hash[f][l][n++] = p->m[i].hash;
            }
        }
        asvk_evolve_destroy(e);
    }
    double differ = 0;
    for (uint32_t l = 0; l < cfg.sk.count; l++) {
        CHECK(memcmp(sampled_hash[0][l], sampled_hash[1][l], sizeof sampled_hash[0][l]) == 0,
              "layer %u: the two runs sampled different cells", l);
        for (uint32_t k = 0; k < cfg.k; k++) differ = fmax(differ, fabs(gs[0].score[l][k] - gs[1].score[l][k]));
    }
    CHECK(differ > 1e-3, "the perturbation's scores are the alpha shares (largest difference %g)", differ);
    asvk_dataset_destroy(d);
}

/* The forward alone (what --fitness perturb measures with) gives the loss and
 * count of the whole step's forward to the bit, for the weight step's graph
 * and the alpha step's, twice over (the forward stream is recorded once and
 * replayed), in fewer dispatches than the step (the alpha step's backward
 * has no weight gradients: 79 of its 130 dispatches are the forward's). */
static void forward_only_loss(void) {
    asvk_evolve_config cfg;
    OK(small_config(&cfg));
    asvk_supernet_spec spec = {.sk = &cfg.sk, .k = 3, .batch = 8, .bn_eps = 1e-5, .bn_momentum = 0.1};
    asvk_genome_options o;
    asvk_genome_options_default(&o);
    asvk_prng rng = asvk_prng_seed(17);
    for (uint32_t l = 0; l < cfg.sk.count; l++)
        for (uint32_t k = 0; k < spec.k; k++) {
            OK(asvk_genome_random(&rng, 4, &o, &spec.cells[l][k]));
            OK(asvk_genome_hash(&spec.cells[l][k], &spec.hash[l][k]));
        }
    asvk_context *ctx = test_context();
    asvk_param_store *ps = asvk_params_create();
    OK(asvk_supernet_declare(&spec, ps));
    OK(asvk_params_alloc(ctx, ps, 1));
    OK(asvk_supernet_load(ctx, &spec, ps, NULL, 3));
    float x[8 * 10 * 10], y[8];
    test_fill_uniform(x, 8 * 10 * 10, -1, 1);
    for (int i = 0; i < 8; i++) y[i] = (float)(i % 4);
    asvk_batch b = {.n = 8, .capacity = 8, .h = 10, .w = 10, .c = 1, .x = x, .y = y};
    asvk_sn_sgd sgd = {0.9, 1e-4};
    for (int arch = 0; arch < 2; arch++) {
        asvk_sn_graph g;
        OK(asvk_sn_graph_make(ctx, &spec, ps, arch ? NULL : &sgd, &g));
        float loss[3], correct[3];
        /* the forward first: the weight step's SGD would change what the next forward sees */
        for (int r = 0; r < 2; r++) {
            OK(asvk_sn_run_forward(ctx, &g, &b, 5, 7));
            OK(asvk_sn_outputs(ctx, &g, &loss[r], &correct[r]));
        }
        OK(asvk_sn_run(ctx, &g, &b, 5, arch ? 0 : 0.05, 7));
        OK(asvk_sn_outputs(ctx, &g, &loss[2], &correct[2]));
        const char *what = arch ? "alpha step" : "weight step";
        CHECK(isfinite(loss[2]) && loss[2] > 0, "%s: loss %g", what, loss[2]);
        for (int r = 0; r < 2; r++)
            CHECK(memcmp(&loss[r], &loss[2], 4) == 0 && memcmp(&correct[r], &correct[2], 4) == 0,
                  "%s: the forward alone (run %d) gave loss %.9g, %g right, the step %.9g, %g right", what, r + 1,
                  loss[r], correct[r], loss[2], correct[2]);
        asvk_stream_stats fs, ss;
        asvk_stream_stats_get(g.fwd, &fs);
        asvk_stream_stats_get(g.s, &ss);
        CHECK(fs.dispatches > 0 && fs.dispatches < ss.dispatches,
              "%s: the forward alone records %u dispatches, the step %u", what, fs.dispatches, ss.dispatches);
        asvk_sn_graph_free(ctx, &g);
    }
    asvk_params_destroy(ctx, ps);
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"population_sampling", population_sampling},
        {"population_removal_and_score", population_removal_and_score},
        {"alpha_cost_gradient", alpha_cost_gradient},
        {"alpha_cost_hinge", alpha_cost_hinge},
        {"alpha_adam_step", alpha_adam_step},
        {"bank_round_trip", bank_round_trip},
        {"skeleton_from_and_to_arch", skeleton_from_and_to_arch},
        {"skeleton_fuzzed_inputs", skeleton_fuzzed_inputs},
        {"builtin_ofa_mbv3_space", builtin_ofa_mbv3_space},
        {"supernet_holds_only_sampled_cells", supernet_holds_only_sampled_cells},
        {"generations_inherit_and_stay_distinct", generations_inherit_and_stay_distinct},
        {"bad_configs", bad_configs},
        {"layer_budgets", layer_budgets},
        {"seeds_draw_distinct_populations", seeds_draw_distinct_populations},
        {"perturbation_fitness", perturbation_fitness},
        {"forward_only_loss", forward_only_loss},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
