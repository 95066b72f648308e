/* Width scaling (autospace/widen.h): every channel count of a skeleton grows
 * by the factor and rounds to the divisor, never narrower; the width taken
 * for a budget is the grid's costliest network within it (checked against
 * every factor of the grid, priced independently); a network over the budget
 * is refused; searched networks with skip layers read back as their skeleton
 * and cells (asvk_skeleton_from_net), which a reference may not hold. */
#include <string.h>

#include "autospace/genome.h"
#include "autospace/widen.h"
#include "tests/harness.h"

static void fmnist_evo(asvk_skeleton *sk, asvk_cell *cells) {
    asvk_arch a;
    OK(asvk_arch_open("fmnist_evo", &a));
    OK(asvk_skeleton_from_arch(&a, sk, cells));
    asvk_arch_free(&a);
}

/* MAdds of sk's network with cells (0 and a failed check when it cannot be built) */
static uint64_t madds_of(const asvk_skeleton *sk, const asvk_cell *cells) {
    asvk_arch a;
    asvk_cost c;
    uint64_t m = 0;
    asvk_status st = asvk_skeleton_to_arch(sk, cells, NULL, &a);
    CHECK(st == ASVK_OK, "network of the skeleton: %s", asvk_error_message());
    if (st) return 0;
    if ((st = asvk_arch_cost(&a, 0, &c)) == ASVK_OK) m = c.madds, asvk_cost_free(&c);
    CHECK(st == ASVK_OK, "cost: %s", asvk_error_message());
    asvk_arch_free(&a);
    return m;
}

static void widen_rounds_every_count(void) {
    asvk_skeleton sk, w;
    asvk_cell cells[ASVK_SKEL_MAX_LAYERS];
    fmnist_evo(&sk, cells);
    sk.layers[1].out = 13; /* not a multiple of the divisor: 13 x 1.01 rounds to 12, which must not narrow it */
    const double ws[] = {1, 1.01, 1.2, 1.5, 2};
    for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) {
        OK(asvk_skeleton_widen(&sk, ws[i], 4, &w));
        uint32_t want = asvk_make_divisible(sk.stem_out * ws[i], 4);
        CHECK(w.stem_out == (want > sk.stem_out ? want : sk.stem_out), "w %g: stem %u", ws[i], w.stem_out);
        for (uint32_t l = 0; l < sk.count; l++) {
            want = asvk_make_divisible(sk.layers[l].out * ws[i], 4);
            CHECK(w.layers[l].out == (want > sk.layers[l].out ? want : sk.layers[l].out) &&
                      w.layers[l].out >= sk.layers[l].out && w.layers[l].stride == sk.layers[l].stride,
                  "w %g: layer %u %u -> %u", ws[i], l, sk.layers[l].out, w.layers[l].out);
        }
        want = asvk_make_divisible(sk.head * ws[i], 4);
        CHECK(w.head == (want > sk.head ? want : sk.head), "w %g: head %u", ws[i], w.head);
        CHECK(w.count == sk.count && w.resolution == sk.resolution && w.num_classes == sk.num_classes, "w %g", ws[i]);
    }
    OK(asvk_skeleton_widen(&sk, 1.01, 4, &w));
    CHECK(w.layers[1].out == 13, "13 x 1.01 narrowed to %u", w.layers[1].out);
    OK(asvk_skeleton_widen(&sk, 2, 4, &w));
    CHECK(w.layers[0].out == 32 && w.stem_out == 32 && w.head == 512, "x2: %u %u %u", w.stem_out, w.layers[0].out, w.head);
    EXPECT_ERR(asvk_skeleton_widen(&sk, 0.5, 4, &w), ASVK_ERR_USAGE, ">= 1");
    EXPECT_ERR(asvk_skeleton_widen(&sk, 1.5, 0, &w), ASVK_ERR_USAGE, "divisor");
}

static void widest_network_within_budget(void) {
    asvk_skeleton sk;
    asvk_cell cells[ASVK_SKEL_MAX_LAYERS];
    fmnist_evo(&sk, cells);
    cells[2] = (asvk_cell){0}; /* a skip in a layer of equal shapes: it stays one after widening */
    uint64_t base = madds_of(&sk, cells);
    const double shares[] = {1.0, 1.3, 1.7, 10};
    for (size_t i = 0; i < sizeof shares / sizeof shares[0]; i++) {
        double budget = base * shares[i];
        asvk_widen_result r;
        OK(asvk_widen_to_budget(&sk, cells, NULL, budget, 1, 2, 2, &r));
        CHECK(r.madds == madds_of(&r.sk, cells) && r.cost == (double)r.madds, "share %g: madds %llu", shares[i],
              (unsigned long long)r.madds);
        CHECK(r.cost <= budget && r.width >= 1 && r.width <= 2, "share %g: width %g cost %g", shares[i], r.width, r.cost);
        /* no factor of the grid has a network dearer than the one taken and within the budget */
        for (int k = 0; k <= 100; k++) {
            asvk_skeleton w;
            OK(asvk_skeleton_widen(&sk, 1 + k * 0.01, 2, &w));
            uint64_t m = madds_of(&w, cells);
            CHECK(!(m <= budget && m > r.madds), "share %g: width %g costs %llu within the budget, more than %g's %llu",
                  shares[i], 1 + k * 0.01, (unsigned long long)m, r.width, (unsigned long long)r.madds);
        }
        if (shares[i] == 1.0) CHECK(r.width == 1 && r.madds == base, "at its own cost: width %g", r.width);
        if (shares[i] == 10) CHECK(r.width == 2, "a budget of 10x: width %g (the largest allowed is 2)", r.width);
        if (shares[i] == 1.3) CHECK(r.width > 1 && r.cost > base * 1.2, "1.3x: width %g, %g", r.width, r.cost / base);
    }
    asvk_widen_result r;
    EXPECT_ERR(asvk_widen_to_budget(&sk, cells, NULL, base * 0.9, 1, 2, 2, &r), ASVK_ERR_USAGE, "over the budget");
    EXPECT_ERR(asvk_widen_to_budget(&sk, cells, NULL, base * 2, 1, 0.5, 2, &r), ASVK_ERR_USAGE, "width factor");
    /* at the floor's share already: left as it is; under it: widened */
    OK(asvk_widen_to_budget(&sk, cells, NULL, base * 1.5, 0.6, 2, 2, &r));
    CHECK(r.width == 1 && r.madds == base, "at 67%% of the budget with a floor of 60%%: width %g", r.width);
    OK(asvk_widen_to_budget(&sk, cells, NULL, base * 1.5, 0.7, 2, 2, &r));
    CHECK(r.width > 1 && r.madds > base, "at 67%% of the budget with a floor of 70%%: width %g", r.width);
}

static void searched_networks_read_back(void) {
    asvk_skeleton sk, back;
    asvk_cell cells[ASVK_SKEL_MAX_LAYERS], got[ASVK_SKEL_MAX_LAYERS];
    fmnist_evo(&sk, cells);
    cells[2] = (asvk_cell){0};
    cells[5] = asvk_cell_mbconv(5, 3);
    asvk_arch a;
    OK(asvk_skeleton_to_arch(&sk, cells, "searched", &a));
    OK(asvk_skeleton_from_net(&a, &back, got));
    CHECK(back.count == sk.count && back.stem_out == sk.stem_out && back.head == sk.head, "skeleton read back");
    for (uint32_t l = 0; l < sk.count; l++) {
        char x[256] = "skip", y[256] = "skip";
        if (cells[l].nodes) asvk_genome_format(&cells[l], x, sizeof x);
        if (got[l].nodes) asvk_genome_format(&got[l], y, sizeof y);
        CHECK(strcmp(x, y) == 0 && back.layers[l].out == sk.layers[l].out && back.layers[l].stride == sk.layers[l].stride,
              "layer %u: %s read back as %s", l, x, y);
    }
    asvk_skeleton ref;
    EXPECT_ERR(asvk_skeleton_from_arch(&a, &ref, NULL), ASVK_ERR_USAGE, "global_pool");
    asvk_arch_free(&a);
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"widen_rounds_every_count", widen_rounds_every_count},
        {"widest_network_within_budget", widest_network_within_budget},
        {"searched_networks_read_back", searched_networks_read_back},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
