/* Networks known by name. Each is a stem conv, rows of inverted-residual
 * stages (MobileNetV2's t, c, n, s table, plus a kernel), a 1x1 head conv,
 * global pool, optional dropout and a linear classifier; options after colons
 * change width, resolution, classes, input channels and dropout. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/io/arch.h"

typedef struct {
    double expand;    /* 0: a skip block (ProxylessNAS ZeroLayer + identity) */
    uint32_t out, repeat, stride, kernel;
} stage_row;

typedef struct {
    const char *name;
    uint32_t in_channels, resolution, classes;
    double bn_momentum, bn_eps, dropout;
    uint32_t stem, stem_stride;
    uint32_t head; /* scaled by max(1, w), as torchvision and ProxylessNAS do */
    const stage_row *rows;
    size_t nrows;
} builtin;

/* torchvision / ProxylessNAS MobileNetV2-1.0. */
static const stage_row mbv2_rows[] = {
    {1, 16, 1, 1, 3}, {6, 24, 2, 2, 3}, {6, 32, 3, 2, 3}, {6, 64, 4, 2, 3},
    {6, 96, 3, 1, 3}, {6, 160, 3, 2, 3}, {6, 320, 1, 1, 3},
};

/* ProxylessNAS-Mobile, block by block as in proxyless_mobile.config
 * (tests hold the two equal). */
static const stage_row proxyless_mobile_rows[] = {
    {1, 16, 1, 1, 3},
    {3, 32, 1, 2, 5}, {3, 32, 1, 1, 3}, {0, 32, 2, 1, 0},
    {3, 40, 1, 2, 7}, {3, 40, 1, 1, 3}, {3, 40, 2, 1, 5},
    {6, 80, 1, 2, 7}, {3, 80, 3, 1, 5},
    {6, 96, 1, 1, 5}, {3, 96, 3, 1, 5},
    {6, 192, 1, 2, 7}, {6, 192, 1, 1, 7}, {3, 192, 2, 1, 7},
    {6, 320, 1, 1, 7},
};

/* Fashion-MNIST (1 x 28 x 28, 10 classes): MobileNet-style with a stride-1
 * stem, three downsamplings (28 -> 14 -> 7 -> 4), about 0.3M params and
 * 10M MAdds — small enough to train on a CPU Vulkan device in minutes. */
static const stage_row fmnist_rows[] = {
    {1, 16, 1, 1, 3}, {4, 24, 2, 2, 3}, {4, 40, 2, 2, 5}, {4, 80, 2, 2, 3}, {6, 96, 1, 1, 3},
};

/* The default reference of `asvk evolve` on Fashion-MNIST: the MobileNetV2
 * recipe (MBConv k3, e6 after an e1 first block, AUTOSPACE.md's default
 * reference) scaled to 28x28 so that a supernet of K cells per layer trains
 * in minutes on a CPU Vulkan device: stem s2 to 14x14, 7 blocks. */
static const stage_row fmnist_evo_rows[] = {
    {1, 16, 1, 1, 3}, {6, 24, 2, 2, 3}, {6, 40, 2, 2, 3}, {6, 64, 2, 1, 3},
};

/* The AutoSpace paper's ImageNet skeleton, as the published
 * search_space.config's 11 layers read: one layer per distinct block shape of
 * the published network (net_340M.config, ProxylessNAS's layout): each
 * stage's first block and the blocks after it, 24 40 80 96 192, then 320.
 * The cells are MBConv k3 e6 (the published space's anchor chain). The
 * published network's fixed start, conv 32 s2 and an e1 block to 16, is one
 * stem conv to 16 here (a skeleton's stem is one conv), so every layer sees
 * the published input shape and its cells cost what they cost there. */
static const stage_row autospace_imagenet_rows[] = {
    {6, 24, 1, 2, 3}, {6, 24, 1, 1, 3}, {6, 40, 1, 2, 3}, {6, 40, 1, 1, 3}, {6, 80, 1, 2, 3}, {6, 80, 1, 1, 3},
    {6, 96, 1, 1, 3}, {6, 96, 1, 1, 3}, {6, 192, 1, 2, 3}, {6, 192, 1, 1, 3}, {6, 320, 1, 1, 3},
};

#define ROWS(r) r, sizeof r / sizeof r[0]
static const builtin builtins[] = {
    {"mbv2", 3, 224, 1000, 0.1, 1e-5, 0.2, 32, 2, 1280, ROWS(mbv2_rows)},
    {"proxyless_mobile", 3, 224, 1000, 0.1, 1e-3, 0.0, 32, 2, 1280, ROWS(proxyless_mobile_rows)},
    {"fmnist", 1, 28, 10, 0.1, 1e-5, 0.2, 16, 1, 384, ROWS(fmnist_rows)},
    {"fmnist_evo", 1, 28, 10, 0.1, 1e-5, 0.1, 16, 2, 256, ROWS(fmnist_evo_rows)},
    {"autospace_imagenet", 3, 224, 1000, 0.1, 1e-3, 0.0, 16, 2, 1280, ROWS(autospace_imagenet_rows)},
};
#define NBUILTINS (sizeof builtins / sizeof builtins[0])

const char *asvk_arch_builtin_names(void) { return "mbv2, proxyless_mobile, fmnist, fmnist_evo, autospace_imagenet"; }

static const builtin *find(const char *spec) {
    size_t n = strcspn(spec, ":");
    for (size_t i = 0; i < NBUILTINS; i++)
        if (strlen(builtins[i].name) == n && strncmp(builtins[i].name, spec, n) == 0) return &builtins[i];
    return NULL;
}

bool asvk_arch_builtin_has(const char *spec) { return spec && find(spec) != NULL; }

typedef struct {
    double w, dropout;
    uint32_t r, classes, in;
} options;

static asvk_status parse_number(const char *spec, const char *key, const char *val, size_t len, double lo, double hi,
                                bool integer, double *out) {
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return asvk_error_set(ASVK_ERR_USAGE, "built-in '%s': option %s needs a value", spec, key);
    memcpy(buf, val, len);
    buf[len] = 0;
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (errno || *end || !(v >= lo && v <= hi) || (integer && v != floor(v)))
        return asvk_error_set(ASVK_ERR_USAGE, "built-in '%s': %s must be %s from %g to %g, not '%s'", spec, key,
                              integer ? "an integer" : "a number", lo, hi, buf);
    *out = v;
    return ASVK_OK;
}

static asvk_status parse_options(const char *spec, const builtin *b, options *o) {
    *o = (options){1.0, b->dropout, b->resolution, b->classes, b->in_channels};
    const char *p = spec + strcspn(spec, ":");
    while (*p == ':') {
        p++;
        size_t n = strcspn(p, ":");
        const char *eq = memchr(p, '=', n);
        if (!eq)
            return asvk_error_set(ASVK_ERR_USAGE, "built-in '%s': option '%.*s' must be KEY=VALUE (w, r, classes, in, dropout)",
                                  spec, (int)n, p);
        size_t klen = (size_t)(eq - p), vlen = n - klen - 1;
        char key[16];
        snprintf(key, sizeof key, "%.*s", (int)(klen < 15 ? klen : 15), p);
        double v;
        asvk_status st;
        if (klen == 1 && *p == 'w') {
            if ((st = parse_number(spec, "w", eq + 1, vlen, 0.05, 8, false, &v))) return st;
            o->w = v;
        } else if (klen == 1 && *p == 'r') {
            if ((st = parse_number(spec, "r", eq + 1, vlen, 1, 16384, true, &v))) return st;
            o->r = (uint32_t)v;
        } else if (klen == 7 && strncmp(p, "classes", 7) == 0) {
            if ((st = parse_number(spec, "classes", eq + 1, vlen, 1, 65536, true, &v))) return st;
            o->classes = (uint32_t)v;
        } else if (klen == 2 && strncmp(p, "in", 2) == 0) {
            if ((st = parse_number(spec, "in", eq + 1, vlen, 1, 65536, true, &v))) return st;
            o->in = (uint32_t)v;
        } else if (klen == 7 && strncmp(p, "dropout", 7) == 0) {
            if ((st = parse_number(spec, "dropout", eq + 1, vlen, 0, 0.99, false, &v))) return st;
            o->dropout = v;
        } else {
            return asvk_error_set(ASVK_ERR_USAGE, "built-in '%s': unknown option '%.*s' (known: w, r, classes, in, dropout)",
                                  spec, (int)klen, p);
        }
        p += n;
    }
    return ASVK_OK;
}

static asvk_status build(const builtin *b, const options *o, asvk_arch *a) {
    asvk_status st;
    asvk_layer l = asvk_layer_default(ASVK_LAYER_CONV);
    l.conv.out = asvk_make_divisible(b->stem * o->w, 8);
    l.conv.kernel = 3;
    l.conv.stride = b->stem_stride;
    if ((st = asvk_arch_append(a, &l))) return st;
    for (size_t r = 0; r < b->nrows; r++) {
        const stage_row *row = &b->rows[r];
        for (uint32_t k = 0; k < row->repeat; k++) {
            if (row->expand == 0) {
                l = asvk_layer_default(ASVK_LAYER_SKIP);
            } else {
                l = asvk_layer_default(ASVK_LAYER_MBCONV);
                l.mbconv.out = asvk_make_divisible(row->out * o->w, 8);
                l.mbconv.kernel = row->kernel;
                l.mbconv.stride = k == 0 ? row->stride : 1;
                l.mbconv.expand = row->expand;
            }
            if ((st = asvk_arch_append(a, &l))) return st;
        }
    }
    l = asvk_layer_default(ASVK_LAYER_CONV);
    l.conv.out = asvk_make_divisible(b->head * (o->w > 1 ? o->w : 1), 8);
    l.conv.kernel = 1;
    if ((st = asvk_arch_append(a, &l))) return st;
    l = asvk_layer_default(ASVK_LAYER_GLOBAL_POOL);
    if ((st = asvk_arch_append(a, &l))) return st;
    if (o->dropout > 0) {
        l = asvk_layer_default(ASVK_LAYER_DROPOUT);
        l.dropout = o->dropout;
        if ((st = asvk_arch_append(a, &l))) return st;
    }
    l = asvk_layer_default(ASVK_LAYER_LINEAR);
    l.linear.out = o->classes;
    return asvk_arch_append(a, &l);
}

asvk_status asvk_arch_builtin(const char *spec, asvk_arch *out) {
    asvk_arch_init(out);
    const builtin *b = spec ? find(spec) : NULL;
    if (!b)
        return asvk_error_set(ASVK_ERR_USAGE, "no built-in architecture '%s' (built-ins: %s)", spec ? spec : "",
                              asvk_arch_builtin_names());
    options o;
    asvk_status st = parse_options(spec, b, &o);
    if (st) return st;
    if (strlen(spec) >= sizeof out->name)
        return asvk_error_set(ASVK_ERR_USAGE, "built-in spec '%s' is longer than %zu characters", spec,
                              sizeof out->name - 1);
    snprintf(out->name, sizeof out->name, "%s", spec);
    out->in_channels = o.in;
    out->resolution = o.r;
    out->num_classes = o.classes;
    out->bn_momentum = b->bn_momentum;
    out->bn_eps = b->bn_eps;
    if (!(st = build(b, &o, out))) st = asvk_arch_validate(out, 0);
    if (st) {
        asvk_arch_free(out);
        return asvk_error_prefix(st, "built-in '%s': ", spec);
    }
    return ASVK_OK;
}
