/* The architecture model: building, comparing, names, and shape inference
 * with the validation every consumer relies on. */
#include "runtime/io/arch.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cell_ops.h"

/* Limits well beyond any network asvk trains, chosen so that shape and
 * parameter-count arithmetic stays far inside 64 bits (MAdds saturate). */
#define MAX_CHANNELS 65536u
#define MAX_KERNEL 15u
#define MAX_STRIDE 8u
#define MAX_RESOLUTION 16384u
#define MAX_EXPAND 64.0

void asvk_arch_init(asvk_arch *a) {
    memset(a, 0, sizeof *a);
    a->in_channels = 3;
    a->resolution = 224;
    a->bn_momentum = 0.1;
    a->bn_eps = 1e-5;
}

void asvk_arch_free(asvk_arch *a) {
    if (!a) return;
    free(a->layers);
    a->layers = NULL;
    a->count = a->capacity = 0;
}

asvk_layer asvk_layer_default(asvk_layer_type type) {
    asvk_layer l;
    memset(&l, 0, sizeof l);
    l.type = type;
    switch (type) {
    case ASVK_LAYER_CONV:
        l.conv = (asvk_conv_spec){.stride = 1, .groups = 1, .bn = true, .bias = false, .act = ASVK_ACT_RELU6};
        break;
    case ASVK_LAYER_MBCONV:
        l.mbconv = (asvk_mbconv_spec){.stride = 1, .expand = 6, .act = ASVK_ACT_RELU6, .residual = ASVK_RESIDUAL_AUTO};
        break;
    case ASVK_LAYER_POOL: l.pool = (asvk_pool_spec){.mode = ASVK_POOL_AVG}; break;
    case ASVK_LAYER_LINEAR: l.linear = (asvk_linear_spec){.bias = true, .act = ASVK_ACT_NONE}; break;
    case ASVK_LAYER_CELL: /* the MBConv genome, k3 e6 (MobileNetV2's block) */
        l.cell.cell = asvk_cell_mbconv(3, 6);
        l.cell.stride = 1;
        break;
    default: break;
    }
    return l;
}

asvk_status asvk_arch_append(asvk_arch *a, const asvk_layer *layer) {
    if (a->count == a->capacity) {
        uint32_t cap = a->capacity ? a->capacity * 2 : 16;
        asvk_layer *n = realloc(a->layers, (size_t)cap * sizeof *n);
        if (!n) return asvk_error_set(ASVK_ERR_OOM, "out of host memory building architecture '%s'", a->name);
        a->layers = n;
        a->capacity = cap;
    }
    a->layers[a->count++] = *layer;
    return ASVK_OK;
}

asvk_status asvk_arch_copy(asvk_arch *dst, const asvk_arch *src) {
    asvk_arch c = *src;
    c.layers = NULL;
    c.count = c.capacity = 0;
    for (uint32_t i = 0; i < src->count; i++) {
        asvk_status st = asvk_arch_append(&c, &src->layers[i]);
        if (st) {
            asvk_arch_free(&c);
            return st;
        }
    }
    *dst = c;
    return ASVK_OK;
}

static bool layer_equal(const asvk_layer *x, const asvk_layer *y) {
    if (x->type != y->type) return false;
    switch (x->type) {
    case ASVK_LAYER_CONV: {
        const asvk_conv_spec *a = &x->conv, *b = &y->conv;
        return a->out == b->out && a->kernel == b->kernel && a->stride == b->stride && a->groups == b->groups &&
               a->bn == b->bn && a->bias == b->bias && a->act == b->act;
    }
    case ASVK_LAYER_MBCONV: {
        const asvk_mbconv_spec *a = &x->mbconv, *b = &y->mbconv;
        return a->out == b->out && a->kernel == b->kernel && a->stride == b->stride && a->expand == b->expand &&
               a->mid == b->mid && a->act == b->act && a->se == b->se && a->residual == b->residual;
    }
    case ASVK_LAYER_POOL:
        return x->pool.mode == y->pool.mode && x->pool.kernel == y->pool.kernel &&
               x->pool.stride == y->pool.stride && x->pool.pad == y->pool.pad;
    case ASVK_LAYER_LINEAR:
        return x->linear.out == y->linear.out && x->linear.bias == y->linear.bias && x->linear.act == y->linear.act;
    case ASVK_LAYER_DROPOUT: return x->dropout == y->dropout;
    case ASVK_LAYER_CELL:
        return x->cell.out == y->cell.out && x->cell.stride == y->cell.stride &&
               asvk_cell_equal(&x->cell.cell, &y->cell.cell);
    default: return true;
    }
}

bool asvk_arch_equal(const asvk_arch *a, const asvk_arch *b) {
    if (strcmp(a->name, b->name) || a->in_channels != b->in_channels || a->resolution != b->resolution ||
        a->num_classes != b->num_classes || a->bn_momentum != b->bn_momentum || a->bn_eps != b->bn_eps ||
        a->count != b->count)
        return false;
    for (uint32_t i = 0; i < a->count; i++)
        if (!layer_equal(&a->layers[i], &b->layers[i])) return false;
    return true;
}

uint32_t asvk_make_divisible(double v, uint32_t divisor) {
    double d = divisor;
    double n = floor((v + d / 2) / d) * d;
    if (n < d) n = d;
    if (n < 0.9 * v) n += d;
    return (uint32_t)n;
}

/* ---- names ---- */

static const char *const type_names[] = {
    [ASVK_LAYER_CONV] = "conv",       [ASVK_LAYER_MBCONV] = "mbconv",   [ASVK_LAYER_SKIP] = "skip",
    [ASVK_LAYER_POOL] = "pool",       [ASVK_LAYER_GLOBAL_POOL] = "global_pool",
    [ASVK_LAYER_DROPOUT] = "dropout", [ASVK_LAYER_LINEAR] = "linear",     [ASVK_LAYER_CELL] = "cell",
};
#define NTYPES (sizeof type_names / sizeof type_names[0])

const char *asvk_layer_type_name(asvk_layer_type t) {
    return (unsigned)t < NTYPES && type_names[t] ? type_names[t] : "unknown";
}

bool asvk_layer_type_parse(const char *s, asvk_layer_type *out) {
    for (unsigned t = 1; t < NTYPES; t++)
        if (type_names[t] && strcmp(s, type_names[t]) == 0) {
            *out = (asvk_layer_type)t;
            return true;
        }
    return false;
}

static const char *const act_names[] = {"none", "relu", "relu6", "hswish", "swish", "sigmoid"};
#define NACTS (sizeof act_names / sizeof act_names[0])

const char *asvk_act_name(asvk_act act) { return (unsigned)act < NACTS ? act_names[act] : NULL; }

bool asvk_act_parse(const char *s, asvk_act *out) {
    for (unsigned i = 0; i < NACTS; i++)
        if (strcmp(s, act_names[i]) == 0) {
            *out = (asvk_act)i;
            return true;
        }
    if (strcmp(s, "h_swish") == 0) { /* ProxylessNAS / once-for-all spelling */
        *out = ASVK_ACT_HSWISH;
        return true;
    }
    return false;
}

/* ---- shapes ---- */

/* "layer 5 (mbconv): <why>" — every shape error names the layer. */
static asvk_status layer_error(uint32_t i, const asvk_layer *l, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define LAYER_ERR(i, l, ...) layer_error(i, l, __VA_ARGS__)

static asvk_status layer_error(uint32_t i, const asvk_layer *l, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return asvk_error_set(ASVK_ERR_USAGE, "layer %u (%s): %s", i, asvk_layer_type_name(l->type), msg);
}

static asvk_status check_kernel_stride(uint32_t i, const asvk_layer *l, uint32_t k, uint32_t s) {
    if (k < 1 || k > MAX_KERNEL || k % 2 == 0)
        return LAYER_ERR(i, l, "kernel must be odd, from 1 to %u, not %u", MAX_KERNEL, k);
    if (s < 1 || s > MAX_STRIDE) return LAYER_ERR(i, l, "stride must be from 1 to %u, not %u", MAX_STRIDE, s);
    return ASVK_OK;
}

static asvk_status check_out(uint32_t i, const asvk_layer *l, uint32_t out) {
    if (out < 1 || out > MAX_CHANNELS)
        return LAYER_ERR(i, l, "out must be from 1 to %u channels, not %u", MAX_CHANNELS, out);
    return ASVK_OK;
}

static asvk_status check_act(uint32_t i, const asvk_layer *l, asvk_act act) {
    if (!asvk_act_name(act)) return LAYER_ERR(i, l, "unknown activation code %d", (int)act);
    return ASVK_OK;
}

/* Output size of a window of k with padding p and stride s over n; 0 when
 * the padded input is smaller than the window. */
static uint32_t window_out(uint32_t n, uint32_t k, uint32_t p, uint32_t s) {
    uint64_t padded = (uint64_t)n + 2 * p;
    return padded < k ? 0 : (uint32_t)((padded - k) / s + 1);
}

static asvk_status spatial(uint32_t i, const asvk_layer *l, const asvk_layer_dims *d, uint32_t k, uint32_t p,
                           uint32_t s, uint32_t *oh, uint32_t *ow) {
    *oh = window_out(d->in_h, k, p, s);
    *ow = window_out(d->in_w, k, p, s);
    if (!*oh || !*ow)
        return LAYER_ERR(i, l, "a %ux%u window (padding %u) does not fit its %ux%u input; use a larger resolution",
                         k, k, p, d->in_h, d->in_w);
    return ASVK_OK;
}

static asvk_status layer_dims(uint32_t i, const asvk_layer *l, asvk_layer_dims *d) {
    asvk_status st;
    d->out_c = d->in_c, d->out_h = d->in_h, d->out_w = d->in_w;
    switch (l->type) {
    case ASVK_LAYER_CONV: {
        const asvk_conv_spec *c = &l->conv;
        if ((st = check_out(i, l, c->out)) || (st = check_kernel_stride(i, l, c->kernel, c->stride)) ||
            (st = check_act(i, l, c->act)))
            return st;
        if (c->groups < 1 || d->in_c % c->groups || c->out % c->groups)
            return LAYER_ERR(i, l, "groups (%u) must divide both its input (%u) and output (%u) channels", c->groups,
                             d->in_c, c->out);
        d->pad = c->kernel / 2;
        d->out_c = c->out;
        return spatial(i, l, d, c->kernel, d->pad, c->stride, &d->out_h, &d->out_w);
    }
    case ASVK_LAYER_MBCONV: {
        const asvk_mbconv_spec *m = &l->mbconv;
        if ((st = check_out(i, l, m->out)) || (st = check_kernel_stride(i, l, m->kernel, m->stride)) ||
            (st = check_act(i, l, m->act)))
            return st;
        if (!(m->expand > 0 && m->expand <= MAX_EXPAND))
            return LAYER_ERR(i, l, "expand ratio must be above 0 and at most %g, not %g", MAX_EXPAND, m->expand);
        if (m->expand == 1) {
            if (m->mid && m->mid != d->in_c)
                return LAYER_ERR(i, l, "expand ratio 1 has no expand conv, so mid (%u) must equal its input channels (%u)",
                                 m->mid, d->in_c);
            d->mid = d->in_c;
        } else {
            /* nearbyint rounds half to even, as Python's round() in ProxylessNAS */
            d->mid = m->mid ? m->mid : (uint32_t)nearbyint(d->in_c * m->expand);
        }
        if (d->mid < 1 || d->mid > MAX_CHANNELS)
            return LAYER_ERR(i, l, "expanded width %u is outside 1..%u", d->mid, MAX_CHANNELS);
        d->se_mid = m->se ? asvk_make_divisible(d->mid / 4, 8) : 0;
        d->pad = m->kernel / 2;
        d->out_c = m->out;
        bool shape_kept = m->stride == 1 && d->in_c == m->out;
        if (m->residual == ASVK_RESIDUAL_ON && !shape_kept)
            return LAYER_ERR(i, l, "a residual add needs stride 1 and equal input and output channels, "
                             "not stride %u and %u -> %u channels", m->stride, d->in_c, m->out);
        if ((unsigned)m->residual > ASVK_RESIDUAL_OFF) return LAYER_ERR(i, l, "unknown residual setting %d", m->residual);
        d->residual = m->residual == ASVK_RESIDUAL_ON || (m->residual == ASVK_RESIDUAL_AUTO && shape_kept);
        return spatial(i, l, d, m->kernel, d->pad, m->stride, &d->out_h, &d->out_w);
    }
    case ASVK_LAYER_SKIP: return ASVK_OK;
    case ASVK_LAYER_POOL: {
        const asvk_pool_spec *p = &l->pool;
        if (p->mode != ASVK_POOL_AVG && p->mode != ASVK_POOL_MAX)
            return LAYER_ERR(i, l, "unknown pool mode %d", (int)p->mode);
        if (p->kernel < 1 || p->kernel > MAX_KERNEL)
            return LAYER_ERR(i, l, "kernel must be from 1 to %u, not %u", MAX_KERNEL, p->kernel);
        if (p->stride < 1 || p->stride > MAX_STRIDE)
            return LAYER_ERR(i, l, "stride must be from 1 to %u, not %u", MAX_STRIDE, p->stride);
        if (p->pad > p->kernel / 2)
            return LAYER_ERR(i, l, "pad (%u) must be at most half the kernel (%u)", p->pad, p->kernel);
        d->pad = p->pad;
        return spatial(i, l, d, p->kernel, p->pad, p->stride, &d->out_h, &d->out_w);
    }
    case ASVK_LAYER_GLOBAL_POOL: d->out_h = d->out_w = 1; return ASVK_OK;
    case ASVK_LAYER_DROPOUT:
        if (!(l->dropout >= 0 && l->dropout < 1)) return LAYER_ERR(i, l, "rate must be in [0, 1), not %g", l->dropout);
        return ASVK_OK;
    case ASVK_LAYER_LINEAR:
        if ((st = check_out(i, l, l->linear.out)) || (st = check_act(i, l, l->linear.act))) return st;
        if (d->in_h != 1 || d->in_w != 1)
            return LAYER_ERR(i, l, "its input is a %ux%ux%u map, but a linear layer needs C x 1 x 1; "
                             "put a global_pool before it", d->in_c, d->in_h, d->in_w);
        d->out_c = l->linear.out;
        return ASVK_OK;
    case ASVK_LAYER_CELL: {
        const asvk_cell_spec *c = &l->cell;
        if ((st = check_out(i, l, c->out))) return st;
        if (c->stride < 1 || c->stride > MAX_STRIDE)
            return LAYER_ERR(i, l, "stride must be from 1 to %u, not %u", MAX_STRIDE, c->stride);
        asvk_cell_shape s;
        if ((st = asvk_cell_shape_of(&c->cell, d->in_c, d->in_h, d->in_w, c->out, c->stride, &s)))
            return asvk_error_prefix(st, "layer %u (cell): ", i);
        d->mid = s.mid, d->se_mid = s.se_mid, d->residual = s.residual;
        d->out_c = s.out_c, d->out_h = s.out_h, d->out_w = s.out_w;
        return ASVK_OK;
    }
    }
    return asvk_error_set(ASVK_ERR_USAGE, "layer %u has an unknown type (%d)", i, (int)l->type);
}

asvk_status asvk_arch_dims(const asvk_arch *a, uint32_t resolution, asvk_layer_dims *dims) {
    if (!resolution) resolution = a->resolution;
    if (resolution < 1 || resolution > MAX_RESOLUTION)
        return asvk_error_set(ASVK_ERR_USAGE, "resolution must be from 1 to %u, not %u", MAX_RESOLUTION, resolution);
    if (a->in_channels < 1 || a->in_channels > MAX_CHANNELS)
        return asvk_error_set(ASVK_ERR_USAGE, "input channels must be from 1 to %u, not %u", MAX_CHANNELS,
                              a->in_channels);
    if (!(a->bn_momentum >= 0 && a->bn_momentum <= 1))
        return asvk_error_set(ASVK_ERR_USAGE, "BN momentum must be in [0, 1], not %g", a->bn_momentum);
    if (!(a->bn_eps > 0 && a->bn_eps < 1))
        return asvk_error_set(ASVK_ERR_USAGE, "BN eps must be in (0, 1), not %g", a->bn_eps);
    if (!a->count) return asvk_error_set(ASVK_ERR_USAGE, "the architecture has no layers");
    asvk_layer_dims cur = {.in_c = a->in_channels, .in_h = resolution, .in_w = resolution};
    for (uint32_t i = 0; i < a->count; i++) {
        asvk_layer_dims d = {.in_c = cur.in_c, .in_h = cur.in_h, .in_w = cur.in_w};
        asvk_status st = layer_dims(i, &a->layers[i], &d);
        if (st) return st;
        dims[i] = d;
        cur.in_c = d.out_c, cur.in_h = d.out_h, cur.in_w = d.out_w;
    }
    if (cur.in_c != a->num_classes || cur.in_h != 1 || cur.in_w != 1)
        return asvk_error_set(ASVK_ERR_USAGE,
                              "the network ends with a %ux%ux%u output, but it must end with num_classes (%u) x 1 x 1; "
                              "end it with global_pool and linear layers, or fix num_classes",
                              cur.in_c, cur.in_h, cur.in_w, a->num_classes);
    return ASVK_OK;
}

asvk_status asvk_arch_validate(const asvk_arch *a, uint32_t resolution) {
    asvk_layer_dims *d = malloc(((size_t)a->count + 1) * sizeof *d);
    if (!d) return asvk_error_set(ASVK_ERR_OOM, "out of host memory validating architecture '%s'", a->name);
    asvk_status st = asvk_arch_dims(a, resolution, d);
    free(d);
    return st;
}
