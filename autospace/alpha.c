#include "autospace/alpha.h"

#include <math.h>
#include <string.h>

void asvk_alpha_init(asvk_alpha *al, uint32_t layers, uint32_t k, double lr) {
    memset(al, 0, sizeof *al);
    al->layers = layers;
    for (uint32_t l = 0; l < 64; l++) al->k[l] = k;
    al->lr = lr;
    al->beta1 = 0.5; /* DARTS' architecture Adam: short memory, the mixture moves fast */
    al->beta2 = 0.999;
    al->eps = 1e-8;
}

void asvk_alpha_softmax(const asvk_alpha *al, uint32_t l, double *p) {
    double mx = -INFINITY, s = 0;
    for (uint32_t j = 0; j < al->k[l]; j++) mx = fmax(mx, al->a[l][j]);
    for (uint32_t j = 0; j < al->k[l]; j++) s += p[j] = exp(al->a[l][j] - mx);
    for (uint32_t j = 0; j < al->k[l]; j++) p[j] /= s;
}

double asvk_alpha_cost_grad(const asvk_alpha *al, const double cost[][ASVK_ALPHA_MAX_K], double lambda,
                            double grad[][ASVK_ALPHA_MAX_K]) {
    double p[64][ASVK_ALPHA_MAX_K], mean[64], total = 0;
    for (uint32_t l = 0; l < al->layers; l++) {
        asvk_alpha_softmax(al, l, p[l]);
        mean[l] = 0;
        for (uint32_t j = 0; j < al->k[l]; j++) mean[l] += p[l][j] * cost[l][j];
        total += mean[l];
    }
    if (total <= 0 || lambda == 0) return total;
    for (uint32_t l = 0; l < al->layers; l++)
        for (uint32_t j = 0; j < al->k[l]; j++) grad[l][j] += lambda / total * p[l][j] * (cost[l][j] - mean[l]);
    return total;
}

double asvk_alpha_cost_hinge_grad(const asvk_alpha *al, const double cost[][ASVK_ALPHA_MAX_K], double lambda,
                                  double budget, double grad[][ASVK_ALPHA_MAX_K]) {
    double total = asvk_alpha_cost_grad(al, cost, 0, grad); /* lambda 0: C only, grad untouched */
    if (budget <= 0 || total <= budget) return total;
    return asvk_alpha_cost_grad(al, cost, lambda, grad);
}

void asvk_alpha_step(asvk_alpha *al, const double grad[][ASVK_ALPHA_MAX_K]) {
    al->t++;
    double c1 = 1 - pow(al->beta1, (double)al->t), c2 = 1 - pow(al->beta2, (double)al->t);
    for (uint32_t l = 0; l < al->layers; l++)
        for (uint32_t j = 0; j < al->k[l]; j++) {
            double g = grad[l][j];
            al->m[l][j] = al->beta1 * al->m[l][j] + (1 - al->beta1) * g;
            al->v[l][j] = al->beta2 * al->v[l][j] + (1 - al->beta2) * g * g;
            al->a[l][j] -= al->lr * (al->m[l][j] / c1) / (sqrt(al->v[l][j] / c2) + al->eps);
        }
}
