/* Width scaling of a skeleton's network (MobileNet's width multiplier):
 * every channel count of the stem, the searchable layers, the head and the
 * feature mix times w, rounded to a multiple of `divisor` (cells keep their
 * expansion ratios, so their inner widths follow). asvk_widen_to_budget
 * takes the widest such network, up to max_width, that a budget still holds:
 * a space of cheap cells on a skeleton of fixed widths cannot spend a budget
 * by choosing cells (docs/autospace.md, "The budget cannot be spent"); this
 * buys the rest as width, the one way every network of the skeleton can. */
#ifndef ASVK_AUTOSPACE_WIDEN_H
#define ASVK_AUTOSPACE_WIDEN_H

#include "autospace/latency.h"
#include "autospace/skeleton.h"

#define ASVK_WIDEN_STEP 0.01 /* the widths tried: 1, 1.01, 1.02, ... max_width */

/* out = sk with every channel count make_divisible(c x w, divisor); w >= 1. */
asvk_status asvk_skeleton_widen(const asvk_skeleton *sk, double w, uint32_t divisor, asvk_skeleton *out);

typedef struct asvk_widen_result {
    double width;     /* the factor taken (1: no wider network fits) */
    asvk_skeleton sk; /* the widened skeleton */
    double cost;      /* its network's MAdds, or table latency (ms) when priced by a table */
    uint64_t madds, params;
} asvk_widen_result;

/* The network of sk with cells[l] at layer l (0 nodes: skip), widened by the
 * factor in [1, max_width] whose network costs the most within `budget`
 * (the smallest factor of that cost): MAdds, or the latency `lut` predicts
 * when lut is given. A network that costs floor_share x budget or more at
 * width 1 is left as it is (floor_share 1: any under the budget is widened).
 * ASVK_ERR_USAGE when the network at width 1 already costs more than the
 * budget. */
asvk_status asvk_widen_to_budget(const asvk_skeleton *sk, const asvk_cell *cells, const asvk_lut *lut, double budget,
                                 double floor_share, double max_width, uint32_t divisor, asvk_widen_result *out);

#endif
