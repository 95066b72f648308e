/* Width scaling to a budget; see widen.h. */
#include "autospace/widen.h"

#include <math.h>
#include <string.h>

static uint32_t widen_count(uint32_t c, double w, uint32_t divisor) {
    uint32_t v = asvk_make_divisible(c * w, divisor);
    return v > c ? v : c;
}

asvk_status asvk_skeleton_widen(const asvk_skeleton *sk, double w, uint32_t divisor, asvk_skeleton *out) {
    if (!(w >= 1) || !isfinite(w) || divisor == 0)
        return asvk_error_set(ASVK_ERR_USAGE, "a width factor is a number >= 1 and channels round to a divisor >= 1 "
                              "(given %g and %u)", w, divisor);
    *out = *sk;
    /* the nearest multiple of the divisor, never narrower than the skeleton's own count (which need not be
     * a multiple: 13 x 1.01 rounds to 12) */
#define WIDEN(c) ((c) = widen_count((c), w, divisor))
    WIDEN(out->stem_out);
    for (uint32_t l = 0; l < out->count; l++) WIDEN(out->layers[l].out);
    if (out->head) WIDEN(out->head);
    if (out->feature_mix) WIDEN(out->feature_mix);
#undef WIDEN
    return ASVK_OK;
}

/* The cost of sk's network with `cells`: MAdds and params, and the table's latency when lut is given. */
static asvk_status price(const asvk_skeleton *sk, const asvk_cell *cells, const asvk_lut *lut, double *cost,
                         uint64_t *madds, uint64_t *params) {
    asvk_arch a;
    asvk_status st = asvk_skeleton_to_arch(sk, cells, NULL, &a);
    if (st) return st;
    asvk_cost c;
    if (!(st = asvk_arch_cost(&a, 0, &c))) {
        *madds = c.madds, *params = c.params, *cost = (double)c.madds;
        asvk_cost_free(&c);
    }
    if (!st && lut) st = asvk_lut_predict_arch(lut, &a, cost);
    asvk_arch_free(&a);
    return st;
}

asvk_status asvk_widen_to_budget(const asvk_skeleton *sk, const asvk_cell *cells, const asvk_lut *lut, double budget,
                                 double floor_share, double max_width, uint32_t divisor, asvk_widen_result *out) {
    memset(out, 0, sizeof *out);
    if (!(max_width >= 1) || max_width > 16)
        return asvk_error_set(ASVK_ERR_USAGE, "the largest width factor is between 1 and 16, not %g", max_width);
    out->width = 1, out->sk = *sk;
    asvk_status st = price(sk, cells, lut, &out->cost, &out->madds, &out->params);
    if (st) return st;
    if (out->cost > budget)
        return asvk_error_set(ASVK_ERR_USAGE, "the network already costs %.3f %s at width 1, over the budget of %.3f %s",
                              lut ? out->cost : out->cost / 1e6, lut ? "ms" : "M MAdds", lut ? budget : budget / 1e6,
                              lut ? "ms" : "M MAdds");
    if (out->cost >= floor_share * budget) return ASVK_OK; /* spends enough as it is */
    /* every factor on the grid: rounding makes the cost a staircase, not always rising with w */
    uint32_t n = (uint32_t)floor((max_width - 1) / ASVK_WIDEN_STEP + 1e-9);
    for (uint32_t i = 1; i <= n; i++) {
        double w = 1 + i * ASVK_WIDEN_STEP, cost;
        asvk_skeleton wide;
        uint64_t madds, params;
        if ((st = asvk_skeleton_widen(sk, w, divisor, &wide)) || (st = price(&wide, cells, lut, &cost, &madds, &params)))
            return st;
        if (cost <= budget && cost > out->cost)
            out->width = w, out->sk = wide, out->cost = cost, out->madds = madds, out->params = params;
    }
    return ASVK_OK;
}
