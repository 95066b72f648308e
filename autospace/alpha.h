/* The architecture parameters of a supernet (one alpha vector of K logits
 * per layer, AUTOSPACE.md Eqn. 3) and their update: Adam on the host. The
 * alphas are tiny (L x K floats): their gradient from the held-out batch is
 * read back after the architecture step, the cost term's gradient is added
 * here in closed form, and the updated alphas are written back. */
#ifndef ASVK_AUTOSPACE_ALPHA_H
#define ASVK_AUTOSPACE_ALPHA_H

#include <stdint.h>

#define ASVK_ALPHA_MAX_K 16 /* = ASVK_MIX_MAX: one mixture per layer */

typedef struct asvk_alpha {
    uint32_t layers;
    uint32_t k[64];                   /* logits of each layer (asvk_alpha_init sets them all alike) */
    double a[64][ASVK_ALPHA_MAX_K];   /* logits */
    double m[64][ASVK_ALPHA_MAX_K];   /* Adam moments */
    double v[64][ASVK_ALPHA_MAX_K];
    uint64_t t;
    double lr, beta1, beta2, eps;
} asvk_alpha;

void asvk_alpha_init(asvk_alpha *al, uint32_t layers, uint32_t k, double lr);
/* softmax of layer l's logits into p[k] */
void asvk_alpha_softmax(const asvk_alpha *al, uint32_t l, double *p);

/* The cost term  lambda * log(C),  C = sum_l sum_k softmax(alpha_l)_k cost[l][k],
 * and its gradient added into grad[l][k]:
 *   dC/dalpha_lj = p_lj (cost_lj - sum_k p_lk cost_lk),  d/dalpha = lambda / C * dC/dalpha.
 * Returns C. */
double asvk_alpha_cost_grad(const asvk_alpha *al, const double cost[][ASVK_ALPHA_MAX_K], double lambda,
                            double grad[][ASVK_ALPHA_MAX_K]);

/* The hinge  lambda * max(0, log(C / budget)): no pull while C is within the
 * budget (the term above pulls towards cheaper cells at any C), the same
 * gradient as above when C exceeds it; budget <= 0: no term. Returns C. */
double asvk_alpha_cost_hinge_grad(const asvk_alpha *al, const double cost[][ASVK_ALPHA_MAX_K], double lambda,
                                  double budget, double grad[][ASVK_ALPHA_MAX_K]);

/* One Adam step (PyTorch's Adam, no weight decay) with grad[l][k]. */
void asvk_alpha_step(asvk_alpha *al, const double grad[][ASVK_ALPHA_MAX_K]);

#endif
