/* Network architectures: an ordered list of layers (stem conv, inverted
 * residual blocks, head) with everything derived from it — shapes at a
 * resolution, parameter tensors and their names, cost — and its files: asvk
 * JSON ("asvk-arch/1"), ProxylessNAS net.config, and built-ins by name.
 * docs/architecture.md describes the semantics, the JSON format and the
 * parameter-name contract shared with the training runtime and PyTorch. */
#ifndef ASVK_RUNTIME_IO_ARCH_H
#define ASVK_RUNTIME_IO_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/status.h"
#include "runtime/cell.h"
#include "runtime/kernels/common.h"
#include "runtime/kernels/pool.h"

typedef enum {
    ASVK_LAYER_CONV = 1,    /* conv k x k (groups) -> BN -> act  (ProxylessNAS ConvLayer) */
    ASVK_LAYER_MBCONV,      /* inverted residual: [1x1 expand] -> dw k x k -> [SE] -> 1x1 project [+ x] */
    ASVK_LAYER_SKIP,        /* output = input (a block whose conv is a ZeroLayer, shortcut IdentityLayer) */
    ASVK_LAYER_POOL,        /* avg/max pool k, stride, pad */
    ASVK_LAYER_GLOBAL_POOL, /* average over H and W -> C x 1 x 1 */
    ASVK_LAYER_DROPOUT,     /* dropout while training, identity otherwise */
    ASVK_LAYER_LINEAR,      /* fully connected on a C x 1 x 1 input, optional act */
    ASVK_LAYER_CELL,        /* an AutoSpace cell: a genome (runtime/cell.h) built at out channels and stride */
} asvk_layer_type;

/* ASVK_POOL_AVG / ASVK_POOL_MAX: the pooling kernels' own codes. */
typedef asvk_pool_kind asvk_pool_mode;

/* Whether an MBCONV adds its input: AUTO means when stride is 1 and input
 * channels equal output channels (MobileNetV2's rule). */
typedef enum { ASVK_RESIDUAL_AUTO = 0, ASVK_RESIDUAL_ON = 1, ASVK_RESIDUAL_OFF = 2 } asvk_residual;

typedef struct {
    uint32_t out, kernel, stride, groups; /* padding is kernel/2 (kernel odd) */
    bool bn, bias;
    asvk_act act;
} asvk_conv_spec;

typedef struct {
    uint32_t out, kernel, stride;
    double expand;     /* expansion ratio; 1 means no expand conv */
    uint32_t mid;      /* expanded width; 0: round(in * expand), half to even (Python's round) */
    asvk_act act;      /* after expand and depthwise; the projection has none */
    bool se;           /* squeeze-excitation after the depthwise conv */
    asvk_residual residual;
} asvk_mbconv_spec;

typedef struct {
    asvk_pool_mode mode;
    uint32_t kernel, stride, pad; /* average pooling divides by the in-bounds count */
} asvk_pool_spec;

typedef struct {
    uint32_t out;
    bool bias;
    asvk_act act;
} asvk_linear_spec;

/* The genome's semantics, shapes, cost and parameter names: runtime/cell_ops.h.
 * The residual is automatic (stride 1 and equal channels), as in the genome. */
typedef struct {
    asvk_cell cell;
    uint32_t out, stride;
} asvk_cell_spec;

typedef struct asvk_layer {
    asvk_layer_type type;
    union {
        asvk_conv_spec conv;
        asvk_mbconv_spec mbconv;
        asvk_pool_spec pool;
        asvk_linear_spec linear;
        asvk_cell_spec cell;
        double dropout; /* rate in [0, 1) */
    };
} asvk_layer;

#define ASVK_ARCH_NAME_MAX 64

typedef struct asvk_arch {
    char name[ASVK_ARCH_NAME_MAX];
    uint32_t in_channels;
    uint32_t resolution; /* default input height = width */
    uint32_t num_classes;
    double bn_momentum;  /* PyTorch convention: running = (1-m)*running + m*batch */
    double bn_eps;
    uint32_t count, capacity;
    asvk_layer *layers;
} asvk_arch;

/* Shapes of one layer at a resolution, from asvk_arch_dims. */
typedef struct asvk_layer_dims {
    uint32_t in_c, in_h, in_w;
    uint32_t out_c, out_h, out_w;
    uint32_t pad;     /* CONV, MBCONV (depthwise), POOL */
    uint32_t mid;     /* MBCONV, CELL: expanded width (= in_c when expand is 1) */
    uint32_t se_mid;  /* MBCONV, CELL with SE: squeeze width, make_divisible(mid / 4, 8) */
    bool residual;    /* MBCONV, CELL: adds its input */
} asvk_layer_dims;

/* ---- building ---- */

/* An empty architecture with the defaults (3 x 224 x 224 input, BN momentum
 * 0.1, eps 1e-5, no layers, num_classes 0 until set). */
void asvk_arch_init(asvk_arch *a);
void asvk_arch_free(asvk_arch *a);
/* A layer of `type` with every optional field at its default (CONV: stride 1,
 * groups 1, BN, no bias, relu6; MBCONV: stride 1, expand 6, relu6, no SE,
 * residual auto; POOL: avg, stride = kernel; LINEAR: bias, no act). Sizes
 * (out, kernel) are left 0 for the caller. */
asvk_layer asvk_layer_default(asvk_layer_type type);
asvk_status asvk_arch_append(asvk_arch *a, const asvk_layer *layer);
asvk_status asvk_arch_copy(asvk_arch *dst, const asvk_arch *src);
/* Same name, input, classes, BN settings and layer specs (exact compare). */
bool asvk_arch_equal(const asvk_arch *a, const asvk_arch *b);

/* ---- shapes and validation ---- */

/* Fills dims[0..a->count) for an input of resolution x resolution (0: the
 * architecture's own) and checks everything: channel counts, groups,
 * strides that would make a map empty, a linear layer on a spatial map,
 * the final output being num_classes x 1 x 1. ASVK_ERR_USAGE names the layer. */
asvk_status asvk_arch_dims(const asvk_arch *a, uint32_t resolution, asvk_layer_dims *dims);
asvk_status asvk_arch_validate(const asvk_arch *a, uint32_t resolution);

/* make_divisible(v, 8) of torchvision/ProxylessNAS: nearest multiple of 8,
 * at least 8, never more than 10% below v. */
uint32_t asvk_make_divisible(double v, uint32_t divisor);

/* ---- names ---- */

const char *asvk_layer_type_name(asvk_layer_type t);  /* "conv", "mbconv", ... */
bool asvk_layer_type_parse(const char *s, asvk_layer_type *out);
const char *asvk_act_name(asvk_act act);              /* "none", "relu", "relu6", "hswish", "swish", "sigmoid" */
bool asvk_act_parse(const char *s, asvk_act *out);    /* also accepts ProxylessNAS "h_swish" */

/* ---- parameter tensors (the contract with the runtime and with PyTorch) ---- */

typedef enum {
    ASVK_PARAM_CONV_WEIGHT,   /* storage OHWI [Cout][kh][kw][Cin/groups]; PyTorch OIHW */
    ASVK_PARAM_LINEAR_WEIGHT, /* [out][in], both */
    ASVK_PARAM_BIAS,
    ASVK_PARAM_BN_WEIGHT,     /* gamma, initialised to 1 */
    ASVK_PARAM_BN_BIAS,       /* beta, initialised to 0 */
    ASVK_PARAM_BN_MEAN,       /* running mean: state, not trained, initialised to 0 */
    ASVK_PARAM_BN_VAR,        /* running variance: state, not trained, initialised to 1 */
    ASVK_PARAM_MIX_ALPHA,     /* a cell node's WEIGHTED-merge logits: trained, no decay, initialised to 0 */
} asvk_param_role;

#define ASVK_PARAM_NAME_MAX 64

typedef struct asvk_param {
    char name[ASVK_PARAM_NAME_MAX]; /* "layers.3.dw.weight" */
    uint32_t layer;                 /* index in the layer list */
    asvk_param_role role;
    uint32_t rank;
    uint32_t shape[4];              /* logical PyTorch shape (conv: O, I/groups, kh, kw) */
    uint32_t storage[4];            /* as stored by asvk and in checkpoints (conv: O, kh, kw, I/groups) */
    uint64_t count;                 /* elements */
    bool trainable;                 /* false for BN running statistics */
    bool decay;                     /* weight decay applies: conv and linear weights only */
} asvk_param;

/* Every tensor of the network, in layer order; *params is malloc'd (free()).
 * Uses the architecture's own resolution only to derive channel counts. */
asvk_status asvk_arch_params(const asvk_arch *a, asvk_param **params, uint32_t *count);

/* ---- cost (ProxylessNAS convention, see docs/architecture.md) ---- */

typedef struct asvk_layer_cost {
    uint64_t params; /* trainable elements: weights, biases, BN gamma and beta, cell mix alphas */
    uint64_t madds;  /* conv C_in*C_out*k*k*H_out*W_out/groups, linear in*out */
    asvk_layer_dims dims;
} asvk_layer_cost;

typedef struct asvk_cost {
    uint32_t resolution;
    uint64_t params, madds;
    uint32_t count;
    asvk_layer_cost *layers; /* malloc'd; asvk_cost_free */
} asvk_cost;

asvk_status asvk_arch_cost(const asvk_arch *a, uint32_t resolution, asvk_cost *out);
void asvk_cost_free(asvk_cost *c);

/* ---- files ---- */

/* Parses an architecture from text: asvk JSON ("format": "asvk-arch/1") or a
 * ProxylessNAS net.config (an object with "first_conv" and "blocks"), told
 * apart by content. `source` names the text in messages (a path), and its
 * stem becomes the name of a net.config import. */
asvk_status asvk_arch_parse(const char *text, size_t len, const char *source, asvk_arch *out);
asvk_status asvk_arch_load(const char *path, asvk_arch *out);
/* A path to an existing file, or a built-in spec (asvk_arch_builtin). */
asvk_status asvk_arch_open(const char *path_or_builtin, asvk_arch *out);

/* asvk JSON text (malloc'd, free()); the architecture is validated first. */
asvk_status asvk_arch_to_json(const asvk_arch *a, char **text);
asvk_status asvk_arch_save(const char *path, const asvk_arch *a);

/* ProxylessNAS net.config: stem CONV, MBCONV/SKIP/CELL blocks (a CELL as an
 * AutoSpace Motif, runtime/io/motif.h), optional 1x1 CONV
 * (feature_mix_layer), GLOBAL_POOL, optional DROPOUT, LINEAR. Anything else
 * is ASVK_ERR_USAGE naming the layer that has no place in the format. */
asvk_status asvk_arch_to_netconfig(const asvk_arch *a, char **text);
asvk_status asvk_arch_save_netconfig(const char *path, const asvk_arch *a);

/* Built-ins: "mbv2", "proxyless_mobile", "fmnist", with options after colons:
 * "mbv2:w=0.75:r=160:classes=10:in=1:dropout=0.2" (w: width multiplier, r:
 * resolution, classes, in: input channels). */
asvk_status asvk_arch_builtin(const char *spec, asvk_arch *out);
/* Whether the part of `spec` before any ':' names a built-in. */
bool asvk_arch_builtin_has(const char *spec);
/* The built-in names, comma-separated, for messages and help. */
const char *asvk_arch_builtin_names(void);

#endif
