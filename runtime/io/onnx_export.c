/* ONNX export; see onnx_export.h. The graph is walked node by node in the
 * runtime's order; parameters become initializers (conv weights OHWI ->
 * OIHW), activations keep their runtime names. */
#include "runtime/io/onnx_export.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

#include "engine/version.h"
#include "runtime/io/atomic_file.h"
#include "runtime/model.h"
#include "runtime/ops/ops.h"

typedef struct {
    asvk_context *ctx;
    const asvk_arch *arch;
    const asvk_param_store *ps;
    asvk_graph *g;
    void **mem; /* every allocation, freed together */
    size_t nmem, capmem;
    Onnx__NodeProto **nodes;
    size_t nnodes, capnodes;
    Onnx__TensorProto **inits;
    size_t ninits, capinits;
    char **name; /* per runtime value: its ONNX tensor name */
    uint32_t tmp;
    const char *zero, *six; /* Clip bounds, made on first use */
    asvk_status st;
} ox;

static void *xalloc(ox *o, size_t n) {
    if (o->st) return NULL;
    void *p = calloc(1, n ? n : 1);
    if (p && o->nmem == o->capmem) {
        size_t c = o->capmem ? 2 * o->capmem : 256;
        void **nm = realloc(o->mem, c * sizeof *nm);
        if (nm) o->mem = nm, o->capmem = c;
        else free(p), p = NULL;
    }
    if (!p) {
        o->st = asvk_error_set(ASVK_ERR_OOM, "out of host memory writing ONNX");
        return NULL;
    }
    return o->mem[o->nmem++] = p;
}

static char *xstr(ox *o, const char *s) {
    char *p = xalloc(o, strlen(s) + 1);
    if (p) strcpy(p, s);
    return p;
}

static bool push(ox *o, void ***v, size_t *n, size_t *cap, void *x) {
    if (!x) return false;
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        void **nv = realloc(*v, c * sizeof *nv);
        if (!nv) {
            o->st = asvk_error_set(ASVK_ERR_OOM, "out of host memory writing ONNX");
            return false;
        }
        *v = nv, *cap = c;
    }
    (*v)[(*n)++] = x;
    return true;
}

/* A fresh tensor name from a base ("layers.3.dw" -> "layers.3.dw/relu6"). */
static const char *fresh(ox *o, const char *base, const char *what) {
    char buf[160];
    snprintf(buf, sizeof buf, "%s/%s_%u", base, what, o->tmp++);
    return xstr(o, buf);
}

/* ---- attributes and nodes ---- */

static Onnx__AttributeProto *attr(ox *o, const char *name, Onnx__AttributeProto__AttributeType type) {
    Onnx__AttributeProto *a = xalloc(o, sizeof *a);
    if (!a) return NULL;
    onnx__attribute_proto__init(a);
    a->name = xstr(o, name);
    a->has_type = true, a->type = type;
    return a;
}

static Onnx__AttributeProto *attr_i(ox *o, const char *name, int64_t v) {
    Onnx__AttributeProto *a = attr(o, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (a) a->has_i = true, a->i = v;
    return a;
}

static Onnx__AttributeProto *attr_f(ox *o, const char *name, float v) {
    Onnx__AttributeProto *a = attr(o, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (a) a->has_f = true, a->f = v;
    return a;
}

static Onnx__AttributeProto *attr_is(ox *o, const char *name, const int64_t *v, size_t n) {
    Onnx__AttributeProto *a = attr(o, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    int64_t *c = xalloc(o, n * sizeof *c);
    if (!a || !c) return NULL;
    memcpy(c, v, n * sizeof *c);
    a->n_ints = n, a->ints = c;
    return a;
}

/* Appends a node `op` from inputs to one output; attrs end with NULL. */
static void node(ox *o, const char *op, const char *out, const char *const *in, size_t nin,
                 Onnx__AttributeProto *const *attrs, size_t nattrs) {
    Onnx__NodeProto *n = xalloc(o, sizeof *n);
    char **ins = xalloc(o, (nin + 1) * sizeof *ins), **outs = xalloc(o, sizeof *outs);
    Onnx__AttributeProto **at = xalloc(o, (nattrs + 1) * sizeof *at);
    if (!n || !ins || !outs || !at) return;
    onnx__node_proto__init(n);
    for (size_t i = 0; i < nin; i++) ins[i] = xstr(o, in[i]);
    for (size_t i = 0; i < nattrs; i++) {
        if (!attrs[i]) return; /* out of memory: o->st is set */
        at[i] = attrs[i];
    }
    outs[0] = xstr(o, out);
    n->n_input = nin, n->input = ins;
    n->n_output = 1, n->output = outs;
    n->n_attribute = nattrs, n->attribute = at;
    n->op_type = xstr(o, op);
    n->name = xstr(o, out);
    push(o, (void ***)&o->nodes, &o->nnodes, &o->capnodes, n);
}

/* ---- initializers ---- */

static const char *init(ox *o, const char *name, const int64_t *dims, size_t ndim, const float *data) {
    Onnx__TensorProto *t = xalloc(o, sizeof *t);
    int64_t *d = xalloc(o, (ndim + 1) * sizeof *d);
    size_t n = 1;
    for (size_t i = 0; i < ndim; i++) n *= (size_t)dims[i];
    uint8_t *raw = xalloc(o, n * 4);
    if (!t || !d || !raw) return NULL;
    onnx__tensor_proto__init(t);
    if (ndim) memcpy(d, dims, ndim * sizeof *d);
    for (size_t i = 0; i < n; i++) { /* raw_data is little-endian */
        uint32_t u;
        memcpy(&u, &data[i], 4);
        raw[4 * i] = (uint8_t)u, raw[4 * i + 1] = (uint8_t)(u >> 8), raw[4 * i + 2] = (uint8_t)(u >> 16),
        raw[4 * i + 3] = (uint8_t)(u >> 24);
    }
    t->n_dims = ndim, t->dims = d;
    t->has_data_type = true, t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->name = xstr(o, name);
    t->has_raw_data = true, t->raw_data.len = n * 4, t->raw_data.data = raw;
    return push(o, (void ***)&o->inits, &o->ninits, &o->capinits, t) ? t->name : NULL;
}

static const char *scalar(ox *o, const char *name, float v) { return init(o, name, NULL, 0, &v); }

/* The floats of a store tensor read by value v (malloc'd into the arena). */
static float *param(ox *o, asvk_val v, uint64_t *count) {
    const asvk_value *x = asvk_graph_cval(o->g, v);
    int i = x ? asvk_params_find(o->ps, x->name) : -1;
    if (i < 0) {
        if (!o->st) o->st = asvk_error_set(ASVK_ERR_INTERNAL, "ONNX export: no stored tensor for '%s'", x ? x->name : "?");
        return NULL;
    }
    *count = o->ps->items[i].floats;
    float *f = xalloc(o, *count * sizeof *f + 4);
    if (f && !o->st) o->st = asvk_params_download(o->ctx, o->ps, i, f);
    return o->st ? NULL : f;
}

/* A convolution weight stored OHWI [cout][k][k][cin] as ONNX's OIHW. */
static const char *conv_weight(ox *o, asvk_val v, uint32_t cout, uint32_t cin, uint32_t kh, uint32_t kw) {
    uint64_t n;
    float *w = param(o, v, &n);
    float *t = w ? xalloc(o, n * sizeof *t + 4) : NULL;
    if (!t) return NULL;
    if (n != (uint64_t)cout * cin * kh * kw) {
        o->st = asvk_error_set(ASVK_ERR_INTERNAL, "ONNX export: '%s' holds %llu floats, not %ux%ux%ux%u",
                               asvk_graph_cval(o->g, v)->name, (unsigned long long)n, cout, cin, kh, kw);
        return NULL;
    }
    for (uint32_t a = 0; a < cout; a++)
        for (uint32_t y = 0; y < kh; y++)
            for (uint32_t x = 0; x < kw; x++)
                for (uint32_t c = 0; c < cin; c++)
                    t[(((size_t)a * cin + c) * kh + y) * kw + x] = w[(((size_t)a * kh + y) * kw + x) * cin + c];
    int64_t dims[4] = {cout, cin, kh, kw};
    return init(o, asvk_graph_cval(o->g, v)->name, dims, 4, t);
}

static const char *vector(ox *o, asvk_val v) {
    uint64_t n;
    float *b = param(o, v, &n);
    int64_t d = (int64_t)n;
    return b ? init(o, asvk_graph_cval(o->g, v)->name, &d, 1, b) : NULL;
}

/* ---- activations ---- */

/* Writes act(in) to `out` (opset 13: HardSwish and Swish as products). */
static void act(ox *o, asvk_act a, const char *in, const char *out) {
    if (a == ASVK_ACT_RELU6 && !o->zero) o->zero = scalar(o, "asvk.zero", 0), o->six = scalar(o, "asvk.six", 6);
    Onnx__AttributeProto *hs[2] = {attr_f(o, "alpha", 1.0f / 6), attr_f(o, "beta", 0.5f)};
    const char *gate = a == ASVK_ACT_HSWISH || a == ASVK_ACT_SWISH ? fresh(o, out, "gate") : NULL;
    switch (a) {
    case ASVK_ACT_NONE: node(o, "Identity", out, &in, 1, NULL, 0); break;
    case ASVK_ACT_RELU: node(o, "Relu", out, &in, 1, NULL, 0); break;
    case ASVK_ACT_RELU6: node(o, "Clip", out, (const char *[]){in, o->zero, o->six}, 3, NULL, 0); break;
    case ASVK_ACT_SIGMOID: node(o, "Sigmoid", out, &in, 1, NULL, 0); break;
    case ASVK_ACT_HSIGMOID: node(o, "HardSigmoid", out, &in, 1, hs, 2); break;
    case ASVK_ACT_HSWISH: /* x * relu6(x + 3) / 6 */
        node(o, "HardSigmoid", gate, &in, 1, hs, 2);
        node(o, "Mul", out, (const char *[]){in, gate}, 2, NULL, 0);
        break;
    case ASVK_ACT_SWISH:
        node(o, "Sigmoid", gate, &in, 1, NULL, 0);
        node(o, "Mul", out, (const char *[]){in, gate}, 2, NULL, 0);
        break;
    default:
        if (!o->st) o->st = asvk_error_set(ASVK_ERR_USAGE, "activation %d has no ONNX form", (int)a);
    }
}

/* ---- nodes ---- */

static const char *vname(ox *o, asvk_val v) { return v >= 0 && o->name[v] ? o->name[v] : NULL; }

/* The ONNX name of a node's output: the runtime value's name, made unique. */
static const char *out_name(ox *o, asvk_val v) {
    const char *base = asvk_graph_cval(o->g, v)->name;
    for (uint32_t i = 0; i < asvk_graph_value_count(o->g); i++)
        if (o->name[i] && strcmp(o->name[i], base) == 0) return o->name[v] = (char *)fresh(o, base, "out");
    return o->name[v] = xstr(o, *base ? base : "v");
}

static asvk_status unsupported(ox *o, uint32_t i, const asvk_node *n, const char *why) {
    const char *what = asvk_graph_cval(o->g, n->out[0])->name;
    return asvk_error_set(ASVK_ERR_USAGE, "node %u (%s, writing '%s') cannot be exported to ONNX: %s", i,
                          asvk_graph_node_op_name(o->g, i), what, why);
}

static void conv(ox *o, uint32_t i, const asvk_node *n) {
    char d[128];
    asvk_op_describe_get(n->op)(n, d, sizeof d);
    unsigned kh, kw, sh, sw, ph, pw, g;
    int a = 0, used = 0;
    if (sscanf(d, "k%ux%u s%ux%u p%ux%u g%u%n", &kh, &kw, &sh, &sw, &ph, &pw, &g, &used) != 7) {
        o->st = unsupported(o, i, n, "its attributes do not read");
        return;
    }
    bool bias = strstr(d + used, " bias") != NULL;
    const char *ap = strstr(d + used, " act");
    if (ap) a = atoi(ap + 4);
    const asvk_value *x = asvk_graph_cval(o->g, n->in[0]), *y = asvk_graph_cval(o->g, n->out[0]);
    const char *in[3] = {vname(o, n->in[0]), conv_weight(o, n->in[1], y->dims[1], x->dims[1] / g, kh, kw),
                         bias ? vector(o, n->in[2]) : NULL};
    const char *out = out_name(o, n->out[0]), *c = a ? fresh(o, out, "conv") : out;
    int64_t k[2] = {kh, kw}, s[2] = {sh, sw}, p[4] = {ph, pw, ph, pw}, one[2] = {1, 1};
    Onnx__AttributeProto *at[5] = {attr_is(o, "kernel_shape", k, 2), attr_is(o, "strides", s, 2),
                                   attr_is(o, "pads", p, 4), attr_is(o, "dilations", one, 2), attr_i(o, "group", g)};
    if (!in[0] || !in[1] || (bias && !in[2])) {
        if (!o->st) o->st = unsupported(o, i, n, "an input has no ONNX tensor");
        return;
    }
    node(o, "Conv", c, in, bias ? 3 : 2, at, 5);
    if (a) act(o, (asvk_act)a, c, out);
}

/* A linear layer on an (N, in, 1, 1) map: a 1x1 convolution, so that the
 * runtime's (N, out, 1, 1) result keeps its shape. */
static void linear(ox *o, uint32_t i, const asvk_node *n) {
    char d[64];
    asvk_op_describe_get(n->op)(n, d, sizeof d);
    const asvk_value *x = asvk_graph_cval(o->g, n->in[0]), *y = asvk_graph_cval(o->g, n->out[0]);
    if (x->ndim != 4 || x->dims[2] != 1 || x->dims[3] != 1) {
        o->st = unsupported(o, i, n, "a linear layer on a spatial map");
        return;
    }
    bool bias = strstr(d, "bias") != NULL;
    const char *in[3] = {vname(o, n->in[0]), conv_weight(o, n->in[1], y->dims[1], x->dims[1], 1, 1),
                         bias ? vector(o, n->in[2]) : NULL};
    if (!o->st) node(o, "Conv", out_name(o, n->out[0]), in, bias ? 3 : 2, NULL, 0);
}

static void pool(ox *o, uint32_t i, const asvk_node *n) {
    char d[64];
    asvk_op_describe_get(n->op)(n, d, sizeof d);
    const char *in = vname(o, n->in[0]), *out = out_name(o, n->out[0]);
    if (strcmp(d, "global") == 0) {
        node(o, "GlobalAveragePool", out, &in, 1, NULL, 0);
        return;
    }
    char mode[8];
    unsigned kh, kw, sh, sw, ph, pw;
    if (sscanf(d, "%7s k%ux%u s%ux%u p%ux%u", mode, &kh, &kw, &sh, &sw, &ph, &pw) != 7) {
        o->st = unsupported(o, i, n, "its attributes do not read");
        return;
    }
    int64_t k[2] = {kh, kw}, s[2] = {sh, sw}, p[4] = {ph, pw, ph, pw};
    bool avg = strcmp(mode, "avg") == 0;
    /* the runtime's average divides by the in-bounds count (count_include_pad 0, ONNX's default) */
    Onnx__AttributeProto *at[4] = {attr_is(o, "kernel_shape", k, 2), attr_is(o, "strides", s, 2),
                                   attr_is(o, "pads", p, 4), attr_i(o, "count_include_pad", 0)};
    node(o, avg ? "AveragePool" : "MaxPool", out, &in, 1, at, avg ? 4 : 3);
}

/* y = sum_k softmax(alpha)_k x_k: the weights are constants once trained. */
static void mix(ox *o, uint32_t i, const asvk_node *n) {
    uint32_t k = n->nin - 1;
    uint64_t na;
    float *alpha = param(o, n->in[k], &na);
    if (!alpha) return;
    if (na != k) {
        o->st = unsupported(o, i, n, "its mixture logits do not match its inputs");
        return;
    }
    double mx = alpha[0], sum = 0;
    for (uint32_t j = 1; j < k; j++) mx = fmax(mx, alpha[j]);
    for (uint32_t j = 0; j < k; j++) sum += exp(alpha[j] - mx);
    const char *out = out_name(o, n->out[0]);
    const char *terms[8];
    for (uint32_t j = 0; j < k && !o->st; j++) {
        const char *w = scalar(o, fresh(o, out, "weight"), (float)(exp(alpha[j] - mx) / sum));
        terms[j] = fresh(o, out, "term");
        node(o, "Mul", terms[j], (const char *[]){vname(o, n->in[j]), w}, 2, NULL, 0);
    }
    if (!o->st) node(o, "Sum", out, terms, k, NULL, 0);
}

static void bn(ox *o, uint32_t i, const asvk_node *n) {
    char d[64];
    asvk_op_describe_get(n->op)(n, d, sizeof d);
    int a = 0;
    if (sscanf(d, "infer act%d", &a) != 1) {
        o->st = unsupported(o, i, n, "a training-mode batch norm");
        return;
    }
    const char *in[5] = {vname(o, n->in[0])};
    for (int k = 1; k < 5; k++) in[k] = vector(o, n->in[k]);
    const char *out = out_name(o, n->out[0]), *b = a ? fresh(o, out, "bn") : out;
    Onnx__AttributeProto *eps = attr_f(o, "epsilon", (float)o->arch->bn_eps);
    if (!o->st) node(o, "BatchNormalization", b, in, 5, &eps, 1);
    if (a) act(o, (asvk_act)a, b, out);
}

static void emit(ox *o, uint32_t i, const asvk_node *n) {
    const char *in0 = n->nin ? vname(o, n->in[0]) : NULL;
    switch (n->op) {
    case ASVK_OP_CONV: conv(o, i, n); break;
    case ASVK_OP_LINEAR: linear(o, i, n); break;
    case ASVK_OP_POOL: pool(o, i, n); break;
    case ASVK_OP_MIX: mix(o, i, n); break;
    case ASVK_OP_BN: bn(o, i, n); break;
    case ASVK_OP_ACT: {
        char d[32];
        int a = 0;
        asvk_op_describe_get(n->op)(n, d, sizeof d);
        sscanf(d, "act%d", &a);
        act(o, (asvk_act)a, in0, out_name(o, n->out[0]));
        break;
    }
    case ASVK_OP_ADD:
    case ASVK_OP_MUL:
    case ASVK_OP_CHSCALE: /* s is (N, C, 1, 1): ONNX broadcasting does the rest */
        node(o, n->op == ASVK_OP_ADD ? "Add" : "Mul", out_name(o, n->out[0]),
             (const char *[]){in0, vname(o, n->in[1])}, 2, NULL, 0);
        break;
    case ASVK_OP_CONCAT: {
        const char *in[8];
        for (uint32_t k = 0; k < n->nin && k < 8; k++) in[k] = vname(o, n->in[k]);
        Onnx__AttributeProto *axis = attr_i(o, "axis", 1);
        node(o, "Concat", out_name(o, n->out[0]), in, n->nin, &axis, 1);
        break;
    }
    case ASVK_OP_DROPOUT: node(o, "Identity", out_name(o, n->out[0]), &in0, 1, NULL, 0); break;
    default: o->st = unsupported(o, i, n, "the exporter has no ONNX form for this op"); return;
    }
}

/* ---- the model ---- */

static Onnx__ValueInfoProto *value_info(ox *o, const char *name, const int64_t *dims, size_t ndim) {
    Onnx__ValueInfoProto *v = xalloc(o, sizeof *v);
    Onnx__TypeProto *t = xalloc(o, sizeof *t);
    Onnx__TypeProto__Tensor *tt = xalloc(o, sizeof *tt);
    Onnx__TensorShapeProto *sh = xalloc(o, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **dim = xalloc(o, ndim * sizeof *dim);
    if (!v || !t || !tt || !sh || !dim) return NULL;
    onnx__value_info_proto__init(v), onnx__type_proto__init(t), onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    for (size_t i = 0; i < ndim; i++) {
        if (!(dim[i] = xalloc(o, sizeof **dim))) return NULL;
        onnx__tensor_shape_proto__dimension__init(dim[i]);
        if (i == 0) { /* the batch: any size */
            dim[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dim[i]->dim_param = xstr(o, "batch");
        } else {
            dim[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dim[i]->dim_value = dims[i];
        }
    }
    sh->n_dim = ndim, sh->dim = dim;
    tt->has_elem_type = true, tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, tt->shape = sh;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, t->tensor_type = tt;
    v->name = xstr(o, name), v->type = t;
    return v;
}

static asvk_status write_model(ox *o, const char *path, asvk_onnx_info *info) {
    int64_t in_dims[4] = {1, o->arch->in_channels, o->arch->resolution, o->arch->resolution};
    int64_t out_dims[2] = {1, o->arch->num_classes};
    Onnx__ValueInfoProto **gin = xalloc(o, sizeof *gin), **gout = xalloc(o, sizeof *gout);
    Onnx__GraphProto *g = xalloc(o, sizeof *g);
    Onnx__ModelProto *m = xalloc(o, sizeof *m);
    Onnx__OperatorSetIdProto *opset = xalloc(o, sizeof *opset), **opsets = xalloc(o, sizeof *opsets);
    Onnx__StringStringEntryProto *meta = xalloc(o, sizeof *meta), **metas = xalloc(o, sizeof *metas);
    if (o->st || !(gin[0] = value_info(o, "input", in_dims, 4)) || !(gout[0] = value_info(o, "logits", out_dims, 2)))
        return o->st;
    onnx__graph_proto__init(g);
    g->name = xstr(o, o->arch->name);
    g->n_node = o->nnodes, g->node = o->nodes;
    g->n_initializer = o->ninits, g->initializer = o->inits;
    g->n_input = 1, g->input = gin;
    g->n_output = 1, g->output = gout;
    onnx__operator_set_id_proto__init(opset);
    opset->domain = xstr(o, ""), opset->has_version = true, opset->version = ASVK_ONNX_OPSET;
    opsets[0] = opset;
    onnx__string_string_entry_proto__init(meta);
    meta->key = xstr(o, "asvk.input");
    meta->value = xstr(o, "input: float NCHW images, normalised per channel as asvk's trainer feeds them");
    metas[0] = meta;
    onnx__model_proto__init(m);
    m->has_ir_version = true, m->ir_version = 7; /* the IR of opset 13 */
    m->n_opset_import = 1, m->opset_import = opsets;
    m->producer_name = xstr(o, "asvk"), m->producer_version = xstr(o, ASVK_VERSION);
    m->graph = g;
    m->n_metadata_props = 1, m->metadata_props = metas;
    if (o->st) return o->st;
    size_t size = onnx__model_proto__get_packed_size(m);
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return asvk_error_set(ASVK_ERR_OOM, "out of host memory writing %s", path);
    onnx__model_proto__pack(m, buf);
    asvk_status st = asvk_file_write_atomic(path, buf, size);
    free(buf);
    if (!st && info) info->nodes = (uint32_t)o->nnodes, info->initializers = (uint32_t)o->ninits, info->bytes = size;
    return st;
}

asvk_status asvk_onnx_export_graph(asvk_context *ctx, const asvk_arch *a, const asvk_param_store *ps, asvk_graph *g,
                                   asvk_val input, asvk_val logits, const char *path, asvk_onnx_info *info) {
    asvk_status st;
    ox o = {ctx, a, ps, g, .st = ASVK_OK};
    o.name = calloc(asvk_graph_value_count(g) + 1, sizeof *o.name);
    if (!o.name) o.st = asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    if (!o.st) o.name[input] = xstr(&o, "input");
    uint32_t n;
    asvk_node *nodes = asvk_graph_nodes(g, &n);
    for (uint32_t i = 0; i < n && !o.st; i++) {
        if (nodes[i].op == ASVK_OP_CE_LOSS) continue; /* the loss of the logits: not part of the network */
        for (uint32_t k = 0; k < nodes[i].nin && !o.st; k++) {
            const asvk_value *v = asvk_graph_cval(g, nodes[i].in[k]);
            if ((v->kind == ASVK_VAL_TEMP || v->kind == ASVK_VAL_INPUT) && !vname(&o, nodes[i].in[k]))
                o.st = unsupported(&o, i, &nodes[i], "it reads a value no exported node wrote");
        }
        if (!o.st) emit(&o, i, &nodes[i]);
    }
    if (!o.st) { /* (N, classes, 1, 1) -> (N, classes) */
        const char *lg = vname(&o, logits);
        Onnx__AttributeProto *axis = attr_i(&o, "axis", 1);
        if (lg) node(&o, "Flatten", "logits", &lg, 1, &axis, 1);
        else o.st = asvk_error_set(ASVK_ERR_INTERNAL, "ONNX export: the logits were not written");
    }
    if (!o.st) st = write_model(&o, path, info);
    else st = o.st;
    for (size_t i = 0; i < o.nmem; i++) free(o.mem[i]);
    free(o.mem), free(o.nodes), free(o.inits), free(o.name);
    return st ? asvk_error_prefix(st, "exporting %s to %s: ", a->name, path) : ASVK_OK;
}

asvk_status asvk_onnx_export(asvk_context *ctx, const asvk_arch *a, const asvk_param_store *ps, const char *path,
                             asvk_onnx_info *info) {
    asvk_model m = {0};
    asvk_status st = asvk_model_build(a, (asvk_param_store *)ps, 1, 0, false, 0, &m); /* reads the store's names only */
    if (!st) st = asvk_onnx_export_graph(ctx, a, ps, m.graph, m.input, m.logits, path, info);
    if (m.graph) asvk_graph_destroy(NULL, m.graph);
    return st;
}
