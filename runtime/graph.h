/* The graph runtime: a model builds a forward graph of nodes over values;
 * autograd appends the backward nodes; the planner gives every temporary
 * value (activation, activation gradient, workspace) memory by liveness,
 * sharing buffers between values whose lifetimes do not overlap; the whole
 * step is recorded once into one command stream and replayed while shapes
 * stay the same.
 *
 * Values are referred to by index (asvk_val). Persistent values (parameters,
 * their gradients, running statistics, optimizer state) live in a parameter
 * store shared by every graph of a model (training and evaluation). */
#ifndef ASVK_RUNTIME_GRAPH_H
#define ASVK_RUNTIME_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "runtime/kernels/common.h"

typedef int32_t asvk_val;
#define ASVK_NO_VAL (-1)
#define ASVK_NODE_MAX_IN 18 /* a mixture's backward: dy, alpha and ASVK_MIX_MAX candidates */
#define ASVK_NODE_MAX_OUT 4
#define ASVK_ATTR_BYTES 160

typedef enum {
    ASVK_VAL_TEMP,   /* activations, their gradients, workspaces: planned by liveness */
    ASVK_VAL_INPUT,  /* written by the host before each replay (images, labels) */
    ASVK_VAL_OUTPUT, /* small results the host reads after a replay (loss, correct count) */
    ASVK_VAL_PARAM,  /* trainable, in the parameter store */
    ASVK_VAL_STATE,  /* persistent but not trained (BN running stats): in the store */
    ASVK_VAL_GRAD,   /* gradient of a parameter: in the store, beside its parameter */
    ASVK_VAL_STEP,   /* the step-scalar buffer (ASVK_STEP_*) */
} asvk_val_kind;

typedef struct asvk_value {
    char name[96];
    asvk_val_kind kind;
    uint32_t ndim;
    uint32_t dims[4]; /* logical shape; activations are (N, C, H, W), stored NHWC */
    uint64_t floats;
    bool requires_grad;
    asvk_val grad;     /* its gradient value, or ASVK_NO_VAL */
    bool grad_started; /* while autograd runs: a contribution was already written */
    int32_t producer;  /* node that writes it, -1 for persistent/input values */
    int32_t first_use, last_use; /* node indices, for the planner */
    asvk_buffer buf;   /* bound at plan time */
} asvk_value;

typedef struct asvk_node {
    uint16_t op;   /* asvk_op_id */
    uint8_t nin, nout;
    asvk_val in[ASVK_NODE_MAX_IN];
    asvk_val out[ASVK_NODE_MAX_OUT];
    asvk_val ws;   /* workspace (a TEMP value) or ASVK_NO_VAL */
    bool backward; /* appended by autograd (or an optimizer node) */
    _Alignas(8) uint8_t attr[ASVK_ATTR_BYTES]; /* op-specific attributes, see runtime/ops/ */
} asvk_node;

typedef struct asvk_graph asvk_graph;
typedef struct asvk_param_store asvk_param_store;

/* Attributes are plain structs copied into the node. */
#define ASVK_ATTR(node, type) ((type *)(void *)(node)->attr)
#define ASVK_CATTR(node, type) ((const type *)(const void *)(node)->attr)

asvk_graph *asvk_graph_create(asvk_param_store *store);
asvk_param_store *asvk_graph_store(const asvk_graph *g);
void asvk_graph_destroy(asvk_context *ctx, asvk_graph *g);

/* Values. Persistent kinds bind to the store entry of the same name at plan time. */
asvk_val asvk_graph_value(asvk_graph *g, const char *name, asvk_val_kind kind, uint32_t ndim, const uint32_t *dims);
asvk_val asvk_graph_act(asvk_graph *g, const char *name, asvk_nhwc shape); /* a TEMP activation (N,C,H,W) */
asvk_val asvk_graph_param(asvk_graph *g, const char *name); /* a PARAM or STATE from the store */
asvk_value *asvk_graph_val(asvk_graph *g, asvk_val v);
const asvk_value *asvk_graph_cval(const asvk_graph *g, asvk_val v);
asvk_nhwc asvk_graph_shape(const asvk_graph *g, asvk_val v); /* (N,C,H,W) dims as NHWC geometry */
uint32_t asvk_graph_value_count(const asvk_graph *g);

/* Appends a node; returns its index or -1 (see asvk_error_message). */
int asvk_graph_node(asvk_graph *g, uint16_t op, const asvk_val *in, uint32_t nin, const asvk_val *out,
                    uint32_t nout, const void *attr, uint32_t attr_bytes);
asvk_node *asvk_graph_nodes(asvk_graph *g, uint32_t *count);
/* The step-scalar value (created on first use). */
asvk_val asvk_graph_step(asvk_graph *g);

/* Recomputes which values need a gradient from the parameters' flags (set
 * a PARAM's requires_grad to false to freeze it for this graph), before
 * asvk_graph_backward. */
void asvk_graph_refresh_requires_grad(asvk_graph *g);

/* Autograd: appends backward nodes from a scalar loss value; gradients of
 * parameters land in the store's gradient buffers, written (not added) by
 * the first contribution of each step. */
asvk_status asvk_graph_backward(asvk_graph *g, asvk_val loss);
/* The gradient value of v for a backward rule: created on first use. The
 * returned flag says whether the rule must accumulate into it. */
asvk_val asvk_graph_grad(asvk_graph *g, asvk_val v, bool *accumulate);

typedef struct asvk_plan_report {
    uint32_t nodes, dispatches, barriers, submits_per_step;
    uint32_t fused_bn; /* training batch norms fused into the convolutions that read them */
    uint32_t fused_bn_backward; /* training BNs whose dx the producing convolution's backward computes */
    uint32_t elided_copies; /* gradient copies whose gradient shares the copied bytes */
    uint64_t temp_values;
    uint64_t planned_bytes;   /* peak temporary memory after liveness sharing */
    uint64_t unplanned_bytes; /* what one buffer per temporary would take */
    uint64_t persistent_bytes;
} asvk_plan_report;

/* fp16 storage of activations: before planning, asks that every 4-D
 * temporary (activations and their gradients) be stored as fp16; kernels
 * still compute in fp32. Parameters, their gradients and optimizer state,
 * per-channel statistics, workspaces of reductions, logits, inputs and
 * outputs stay fp32. ASVK_ERR_FEATURE where the device lacks 16-bit
 * storage (or ASVK_DISABLE=fp16 turned it off). */
asvk_status asvk_graph_set_half_activations(asvk_context *ctx, asvk_graph *g, bool on);
/* Graph rewrites, done by asvk_graph_plan unless turned off here (before
 * planning) or by ASVK_NO_FUSION=1 in the environment: a training batch norm
 * whose every reader is a convolution on the GEMM or depthwise path or an
 * add is computed by those readers as they load their input, and the BN
 * keeps its statistics only (runtime/ops/fuse_bn.c); where the device's
 * tuning asks for it (GPUs), a training BN's dx is computed by the backward
 * of the 1x1 convolution that produced its input as it loads it (same file);
 * a gradient copy whose source and destination may share bytes is dropped
 * (runtime/ops/elide_copy.c). Results are those of the plain graph up to
 * rounding; the tests compare both. */
void asvk_graph_set_fusion(asvk_graph *g, bool on);
/* The passes themselves (asvk_graph_plan runs them, in this order, the
 * second once every node has its workspace): the number of BNs fused, of
 * BN backwards fused, of copies elided. */
uint32_t asvk_graph_fuse_bn(asvk_graph *g);
uint32_t asvk_graph_fuse_bn_backward(asvk_graph *g);
uint32_t asvk_graph_elide_copies(asvk_graph *g);
/* Gives every value its memory: temporaries by liveness in shared arenas,
 * persistent values from the store, inputs/outputs their own buffers. */
asvk_status asvk_graph_plan(asvk_context *ctx, asvk_graph *g, asvk_plan_report *report);
/* Records every node into `s` (not ended); fills dispatch/barrier counts. */
asvk_status asvk_graph_record(asvk_graph *g, asvk_stream *s, asvk_plan_report *report);

/* Batch norm over the ranks of a distributed run (--sync-bn): a training BN
 * stops recording where the host must combine the ranks' numbers, and the
 * hook gives the stream the rest goes to. STATS: after this rank's mean and
 * invstd (running statistics already updated with them); SUMS: after the
 * backward's sums of g and g*xhat (`totals`, [2][channels rounded up to 4]),
 * before dx. */
typedef enum { ASVK_SYNC_BN_STATS = 1, ASVK_SYNC_BN_SUMS } asvk_sync_kind;
typedef struct asvk_sync_point {
    asvk_sync_kind kind;
    uint32_t channels;
    uint64_t pixels; /* this rank's N*H*W */
    float eps, momentum;
    asvk_buffer mean, invstd, running_mean, running_var, totals;
} asvk_sync_point;
typedef struct asvk_sync_hook {
    asvk_status (*cut)(void *user, const asvk_sync_point *p, asvk_stream **s);
    void *user;
} asvk_sync_hook;

/* Records nodes [from, to) only (not ended) into *s: a step cut into parts
 * that are submitted one after another, so that the host can work between
 * them (a distributed step reduces gradients while later parts run). Each
 * stream starts with a barrier against earlier submissions, so the parts
 * keep the nodes' order. With a hook, training BNs cut the recording
 * further (*s is then the last stream). */
asvk_status asvk_graph_record_range(asvk_graph *g, asvk_stream **s, uint32_t from, uint32_t to,
                                    const asvk_sync_hook *hook);

/* Like asvk_graph_record, with a timestamp before every node and one after
 * the last: ts[i] (i < node count) precedes node i, ts[count] ends the step.
 * With cmds != NULL, cmds[i] is the number of device commands (dispatches
 * and transfers) node i recorded. */
asvk_status asvk_graph_record_timed(asvk_graph *g, asvk_stream *s, uint32_t *ts, uint32_t *cmds);
const char *asvk_graph_node_op_name(const asvk_graph *g, uint32_t node);
/* The cost key of a node for latency tables: op, the attributes that decide
 * its cost (asvk_op_describe_get), its input and output shapes, e.g.
 * "conv[k3x3 s1x1 p1x1 g1] 1x16x14x14 96x16x3x3 -> 1x96x14x14". It depends on
 * nothing but the graph, so a table measured on one device prices graphs
 * built on another. Returns the length it needed (snprintf style). */
size_t asvk_graph_node_key(const asvk_graph *g, uint32_t node, char *buf, size_t n);
/* A node's work: floating-point operations (2 per multiply-add; one per
 * output element for ops without a count) and bytes its inputs and
 * outputs hold (what it must at least read and write). */
void asvk_graph_node_work(const asvk_graph *g, uint32_t node, double *flops, double *bytes);
/* The multiply-add work of the whole graph (convolutions, linear layers,
 * matrix products and their gradients; 2 flops per multiply-add): what
 * "effective GFLOP/s" divides, against the device's FMA ceiling. */
double asvk_graph_matmul_flops(const asvk_graph *g);

#endif
