/* Hand-made spaces on ImageNet-shaped skeletons, searchable for a phone
 * with a published latency table (docs/autospace.md, "Spaces by name").
 *
 * proxyless: ProxylessNAS's mobile space (Cai et al. 2019): stem conv 32 s2,
 * a fixed MBConv e1 k3 block to 16, then stages of 24 40 80 96 192 320
 * channels (4 4 4 4 4 1 layers, strides 2 2 2 1 2 1) whose layers choose
 * MBConv k 3/5/7 x e 3/6 (ReLU6), or the identity where the shape allows
 * (every layer after a stage's first: the search's skip); head 1x1 1280,
 * 224 x 224 inputs, 1000 classes. The Pixel 1 table of the ProxylessNAS
 * authors is keyed by these shapes.
 *
 * ofa-mbv3: once-for-all's MobileNetV3 space at width 1.2 (Cai et al. 2020,
 * OFAMobileNetV3 ks 3/5/7, expand 3/4/6, depth 2-4; widths
 * make_divisible(w x 1.2, 8)): stem conv 24 s2 h-swish, a fixed MBConv e1
 * k3 ReLU block 24 -> 24, five stages of 32 48 96 136 192 channels (4
 * layers each at the largest depth, strides 2 2 2 1 2; ReLU, ReLU + SE,
 * h-swish, h-swish + SE, h-swish + SE) whose layers choose MBConv k 3/5/7 x
 * e 3/4/6, and the identity in a stage's third and fourth layers (depth 2 to
 * 4: a search may skip them and no other); final expand 1x1 1152 h-swish,
 * global pool, feature mix 1x1 1536 h-swish (no BN), dropout 0.1, 1000
 * classes at 224 x 224. The Samsung Note10 tables of the once-for-all
 * authors are keyed by these shapes. */
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

static asvk_status cells_on(const char *name, const asvk_skeleton *sk, const asvk_cell *reference, asvk_space *out);

/* The space `name` on the skeleton of `a`, each layer's activation and SE
 * from a's block there; the skeleton and those blocks are left in *sk, ref. */
static asvk_status on_arch(const char *name, const asvk_arch *a, asvk_skeleton *sk, asvk_cell *ref, asvk_space *out) {
    asvk_status st = asvk_skeleton_from_arch(a, sk, ref);
    return st ? st : cells_on(name, sk, ref, out);
}

/* The space `name` on its own skeleton, `a` (freed here; st: how building
 * it went), its first searchable layer fixed to the reference block. */
static asvk_status on_own_skeleton(const char *name, asvk_arch *a, asvk_status st, asvk_space *out) {
    asvk_skeleton sk;
    asvk_cell ref[ASVK_SKEL_MAX_LAYERS];
    if (!st) st = on_arch(name, a, &sk, ref, out);
    asvk_arch_free(a);
    if (st) return st;
    memset(out->cells[0], 0, sizeof out->cells[0]);
    out->count[0] = 1, out->no_skip[0] = true; /* the first block is fixed */
    asvk_space_cell *c = &out->cells[0][0];
    if ((st = asvk_genome_canonical(&ref[0], &c->cell, &c->hash))) return st;
    return asvk_space_set_skeleton(out, &sk);
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
    return on_own_skeleton("proxyless", &a, st, out);
}

typedef struct {
    uint32_t out, stride;
    asvk_act act;
    bool se;
} ofa_stage;

static asvk_status ofa_mbv3(asvk_space *out) {
    static const ofa_stage stages[] = {{32, 2, ASVK_ACT_RELU, false},
                                       {48, 2, ASVK_ACT_RELU, true},
                                       {96, 2, ASVK_ACT_HSWISH, false},
                                       {136, 1, ASVK_ACT_HSWISH, true},
                                       {192, 2, ASVK_ACT_HSWISH, true}};
    enum { DEPTH = 4 }; /* the largest; asvk_space_builtin_on lets the 3rd and 4th go */
    asvk_arch a;
    asvk_arch_init(&a);
    snprintf(a.name, sizeof a.name, "ofa-mbv3");
    a.num_classes = 1000; /* BN: PyTorch's defaults, as once-for-all's net.config files */
    asvk_layer l = asvk_layer_default(ASVK_LAYER_CONV);
    l.conv.out = 24, l.conv.kernel = 3, l.conv.stride = 2, l.conv.act = ASVK_ACT_HSWISH;
    asvk_status st = asvk_arch_append(&a, &l);
    if (!st) {
        l = asvk_layer_default(ASVK_LAYER_MBCONV);
        l.mbconv.out = 24, l.mbconv.kernel = 3, l.mbconv.expand = 1, l.mbconv.act = ASVK_ACT_RELU;
        st = asvk_arch_append(&a, &l);
    }
    for (size_t s = 0; s < sizeof stages / sizeof *stages && !st; s++)
        for (uint32_t i = 0; i < DEPTH && !st; i++) {
            l = asvk_layer_default(ASVK_LAYER_MBCONV);
            l.mbconv.out = stages[s].out, l.mbconv.kernel = 3, l.mbconv.stride = i ? 1 : stages[s].stride;
            l.mbconv.expand = 6, l.mbconv.act = stages[s].act, l.mbconv.se = stages[s].se;
            st = asvk_arch_append(&a, &l);
        }
    if (!st) {
        l = asvk_layer_default(ASVK_LAYER_CONV);
        l.conv.out = 1152, l.conv.kernel = 1, l.conv.act = ASVK_ACT_HSWISH;
        st = asvk_arch_append(&a, &l);
    }
    if (!st) l = asvk_layer_default(ASVK_LAYER_GLOBAL_POOL), st = asvk_arch_append(&a, &l);
    if (!st) {
        l = asvk_layer_default(ASVK_LAYER_CONV);
        l.conv.out = 1536, l.conv.kernel = 1, l.conv.act = ASVK_ACT_HSWISH, l.conv.bn = false;
        st = asvk_arch_append(&a, &l);
    }
    if (!st) l = asvk_layer_default(ASVK_LAYER_DROPOUT), l.dropout = 0.1, st = asvk_arch_append(&a, &l);
    if (!st) l = asvk_layer_default(ASVK_LAYER_LINEAR), l.linear.out = 1000, st = asvk_arch_append(&a, &l);
    return on_own_skeleton("ofa-mbv3", &a, st, out);
}

/* A layer's own shape: stride 1 and equal channels (a skip fits). */
static bool same_shape(const asvk_skeleton *sk, uint32_t l) {
    uint32_t c, h;
    asvk_skeleton_layer_input(sk, l, &c, &h);
    return sk->layers[l].stride == 1 && c == sk->layers[l].out;
}

static asvk_status cells_on(const char *name, const asvk_skeleton *sk, const asvk_cell *reference, asvk_space *out) {
    bool ofa = name && strcmp(name, "ofa-mbv3") == 0;
    if (!ofa && !(name && strcmp(name, "proxyless") == 0))
        return asvk_error_set(ASVK_ERR_USAGE, "no built-in space '%s' (built-ins: %s)", name ? name : "",
                              asvk_space_builtin_names());
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", name);
    out->layers = sk->count;
    static const uint32_t ks[] = {3, 5, 7};
    static const float e_ofa[] = {3, 4, 6}, e_px[] = {3, 6};
    const float *es = ofa ? e_ofa : e_px;
    uint32_t ne = ofa ? 3 : 2, run = 0;
    asvk_status st = ASVK_OK;
    for (uint32_t l = 0; l < sk->count && !st; l++) {
        run = same_shape(sk, l) ? run + 1 : 0; /* place in a run of equal layers after the one that changes the shape */
        out->no_skip[l] = ofa && run < 2;      /* once-for-all: a stage keeps at least 2 layers */
        for (uint32_t j = 0; j < 3 * ne && !st; j++) {
            asvk_space_cell *c = &out->cells[l][out->count[l]++];
            asvk_cell m = asvk_cell_mbconv(ks[j / ne], es[j % ne]);
            if (ofa && reference) m.act = reference[l].act, m.se = reference[l].se; /* the reference's, as MobileNetV3's stages */
            st = asvk_genome_canonical(&m, &c->cell, &c->hash);
        }
    }
    return st ? st : asvk_space_set_skeleton(out, sk);
}

asvk_status asvk_space_builtin_on(const char *name, const char *reference, asvk_space *out) {
    asvk_arch a;
    asvk_status st = asvk_arch_open(reference, &a);
    if (st) return st;
    asvk_skeleton sk;
    asvk_cell ref[ASVK_SKEL_MAX_LAYERS];
    st = on_arch(name, &a, &sk, ref, out);
    asvk_arch_free(&a);
    return st;
}

const char *asvk_space_builtin_names(void) { return "proxyless, ofa-mbv3"; }

bool asvk_space_builtin_has(const char *name) {
    return name && (strcmp(name, "proxyless") == 0 || strcmp(name, "ofa-mbv3") == 0);
}

asvk_status asvk_space_builtin(const char *name, asvk_space *out) {
    if (name && strcmp(name, "proxyless") == 0) return proxyless(out);
    if (name && strcmp(name, "ofa-mbv3") == 0) return ofa_mbv3(out);
    return asvk_error_set(ASVK_ERR_USAGE, "no built-in space '%s' (built-ins: %s)", name ? name : "",
                          asvk_space_builtin_names());
}
