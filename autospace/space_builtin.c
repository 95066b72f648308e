/* Hand-made spaces on ImageNet-shaped skeletons, searchable for a phone
 * with a published latency table (docs/autospace.md, "Spaces by name").
 *
 * proxyless: ProxylessNAS's mobile space (Cai et al. 2019): stem conv 32 s2,
 * a fixed MBConv e1 k3 block to 16, then stages of 24 40 80 96 192 320
 * channels (4 4 4 4 4 1 layers, strides 2 2 2 1 2 1) whose layers choose
 * MBConv k 3/5/7 x e 3/6 (ReLU6), or the identity where the shape allows
 * (every layer after a stage's first: the search's skip); head 1x1 1280,
 * 224 x 224 inputs, 1000 classes. The Pixel 1 table of the ProxylessNAS
 * authors is keyed by these shapes. */
#include <stdio.h>
#include <string.h>

#include "autospace/genome.h"
#include "autospace/space.h"

typedef struct {
    uint32_t out, n, stride;
} stage;

static asvk_status append_mbconv(asvk_arch *a, uint32_t out, uint32_t k, uint32_t stride, double e) {
    asvk_layer l = asvk_layer_default(ASVK_LAYER_MBCONV);
    l.mbconv.out = out, l.mbconv.kernel = k, l.mbconv.stride = stride, l.mbconv.expand = e;
    return asvk_arch_append(a, &l);
}

static asvk_status proxyless(asvk_space *out) {
    static const stage stages[] = {{24, 4, 2}, {40, 4, 2}, {80, 4, 2}, {96, 4, 1}, {192, 4, 2}, {320, 1, 1}};
    asvk_arch a;
    asvk_arch_init(&a);
    snprintf(a.name, sizeof a.name, "proxyless");
    a.num_classes = 1000, a.bn_eps = 1e-3; /* ProxylessNAS's BN */
    asvk_layer l = asvk_layer_default(ASVK_LAYER_CONV);
    l.conv.out = 32, l.conv.kernel = 3, l.conv.stride = 2;
    asvk_status st = asvk_arch_append(&a, &l);
    if (!st) st = append_mbconv(&a, 16, 3, 1, 1);
    for (size_t s = 0; s < sizeof stages / sizeof *stages && !st; s++)
        for (uint32_t i = 0; i < stages[s].n && !st; i++) st = append_mbconv(&a, stages[s].out, 3, i ? 1 : stages[s].stride, 6);
    if (!st) l = asvk_layer_default(ASVK_LAYER_CONV), l.conv.out = 1280, l.conv.kernel = 1, st = asvk_arch_append(&a, &l);
    if (!st) l = asvk_layer_default(ASVK_LAYER_GLOBAL_POOL), st = asvk_arch_append(&a, &l);
    if (!st) l = asvk_layer_default(ASVK_LAYER_LINEAR), l.linear.out = 1000, st = asvk_arch_append(&a, &l);
    asvk_skeleton sk;
    if (!st) st = asvk_skeleton_from_arch(&a, &sk, NULL);
    asvk_arch_free(&a);
    if (st) return st;
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "proxyless");
    out->layers = sk.count;
    static const uint32_t ks[] = {3, 5, 7};
    static const float es[] = {3, 6};
    for (uint32_t i = 0; i < sk.count && !st; i++) {
        uint32_t n = i == 0 ? 1 : 6; /* the first block is fixed */
        for (uint32_t j = 0; j < n && !st; j++) {
            asvk_space_cell *c = &out->cells[i][out->count[i]++];
            asvk_cell m = asvk_cell_mbconv(i == 0 ? 3 : ks[j / 2], i == 0 ? 1 : es[j % 2]);
            st = asvk_genome_canonical(&m, &c->cell, &c->hash);
        }
    }
    return st ? st : asvk_space_set_skeleton(out, &sk);
}

const char *asvk_space_builtin_names(void) { return "proxyless"; }

bool asvk_space_builtin_has(const char *name) { return name && strcmp(name, "proxyless") == 0; }

asvk_status asvk_space_builtin(const char *name, asvk_space *out) {
    if (name && strcmp(name, "proxyless") == 0) return proxyless(out);
    return asvk_error_set(ASVK_ERR_USAGE, "no built-in space '%s' (built-ins: %s)", name ? name : "",
                          asvk_space_builtin_names());
}
