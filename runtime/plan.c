/* The memory planner and the recorder.
 *
 * Temporaries get offsets in shared arenas by liveness: a value lives from
 * the first node that touches it to the last, and two values may share
 * bytes only if their lives do not overlap. Placement is greedy, largest
 * first, at the lowest offset that fits beside the overlapping values already
 * placed (the classic offset-assignment heuristic of inference runtimes). An
 * arena never exceeds what one binding can address, and no value straddles
 * two arenas. The stream's hazard tracking turns every reuse of bytes into
 * the barrier it needs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/graph_internal.h"
#include "runtime/kernels/conv.h"
#include "runtime/ops/ops.h"

#define VALUE_ALIGN 256

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

typedef struct { uint64_t offset, size; int32_t first, last; } placed;

static int by_size_desc(const void *a, const void *b, void *ctx) {
    const asvk_value *vals = ctx;
    const asvk_value *x = &vals[*(const uint32_t *)a], *y = &vals[*(const uint32_t *)b];
    if (x->floats != y->floats) return x->floats > y->floats ? -1 : 1;
    return x->first_use - y->first_use;
}

static int by_offset(const void *a, const void *b) {
    const placed *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Bytes per element of a temporary: fp16 for activations when asked. */
static uint32_t value_bytes(const asvk_graph *g, const asvk_value *v) {
    return g->half_acts && v->kind == ASVK_VAL_TEMP && v->ndim == 4 ? 2u : 4u;
}

void asvk_graph_set_fusion(asvk_graph *g, bool on) { g->no_fusion = !on; }

asvk_status asvk_graph_set_half_activations(asvk_context *ctx, asvk_graph *g, bool on) {
    if (g->planned) return asvk_error_set(ASVK_ERR_INTERNAL, "fp16 activations must be chosen before planning");
    asvk_status st = on ? asvk_context_require(ctx, "fp16") : ASVK_OK;
    if (!st) g->half_acts = on;
    return st;
}

static asvk_status own_buffer(asvk_context *ctx, asvk_graph *g, asvk_value *v) {
    void *p = realloc(g->own, (g->own_count + 1) * sizeof *g->own);
    if (!p) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    g->own = p;
    asvk_status st = asvk_buffer_alloc(ctx, v->floats * 4, &g->own[g->own_count]);
    if (st) return asvk_error_prefix(st, "allocating %s: ", v->name);
    v->buf = g->own[g->own_count++];
    return ASVK_OK;
}

static asvk_status bind_persistent(asvk_graph *g, asvk_value *v) {
    char name[128];
    snprintf(name, sizeof name, "%s", v->name);
    if (v->kind == ASVK_VAL_GRAD) {
        size_t n = strlen(name);
        if (n > 5 && strcmp(name + n - 5, ".grad") == 0) name[n - 5] = 0;
    }
    int i = g->store ? asvk_params_find(g->store, name) : -1;
    if (i < 0 || !g->store->allocated)
        return asvk_error_set(ASVK_ERR_INTERNAL, "%s is not an allocated parameter", name);
    v->buf = v->kind == ASVK_VAL_GRAD ? asvk_params_grad(g->store, i) : asvk_params_buffer(g->store, i);
    if (!v->buf.block) return asvk_error_set(ASVK_ERR_INTERNAL, "%s has no gradient buffer", name);
    return ASVK_OK;
}

static void touch(asvk_graph *g, asvk_val v, int32_t node) {
    asvk_value *x = &g->values[v];
    if (x->first_use < 0 || node < x->first_use) x->first_use = node;
    if (node > x->last_use) x->last_use = node;
}

asvk_status asvk_graph_plan(asvk_context *ctx, asvk_graph *g, asvk_plan_report *rep) {
    if (g->planned) return asvk_error_set(ASVK_ERR_INTERNAL, "a graph is planned once");
    asvk_plan_report r = {0};
    const char *no_fusion = getenv("ASVK_NO_FUSION");
    bool rewrite = !g->no_fusion && !(no_fusion && *no_fusion && strcmp(no_fusion, "0") != 0);
    if (rewrite) r.fused_bn = asvk_graph_fuse_bn(g);
    /* Workspaces become temporaries of their node. */
    for (uint32_t i = 0; i < g->node_count; i++) {
        const asvk_op_def *d = asvk_op_def_get(g->nodes[i].op);
        uint64_t bytes = d->workspace ? d->workspace(g, &g->nodes[i]) : 0;
        if (!bytes) continue;
        char name[96];
        snprintf(name, sizeof name, "%s#%u.ws", d->name, i);
        uint32_t floats = (uint32_t)((bytes + 3) / 4);
        asvk_val w = asvk_graph_value(g, name, ASVK_VAL_TEMP, 1, &floats);
        if (w == ASVK_NO_VAL) return ASVK_ERR_OOM;
        g->nodes[i].ws = w;
    }
    /* (the BN backward's fusion hands its workspace to the convolutions) */
    if (rewrite && !g->half_acts && asvk_conv_fuse_bn_backward(ctx)) r.fused_bn_backward = asvk_graph_fuse_bn_backward(g);
    if (rewrite) r.elided_copies = asvk_graph_elide_copies(g);
    for (uint32_t i = 0; i < g->value_count; i++) g->values[i].first_use = g->values[i].last_use = -1;
    for (uint32_t i = 0; i < g->node_count; i++) {
        asvk_node *n = &g->nodes[i];
        for (uint32_t k = 0; k < n->nin; k++) touch(g, n->in[k], (int32_t)i);
        for (uint32_t k = 0; k < n->nout; k++) touch(g, n->out[k], (int32_t)i);
        if (n->ws != ASVK_NO_VAL) touch(g, n->ws, (int32_t)i);
    }

    const asvk_device_info *dev = asvk_context_device(ctx);
    uint64_t cap = dev->max_storage_buffer_range;
    if (dev->max_allocation_size && dev->max_allocation_size < cap) cap = dev->max_allocation_size;
    cap = cap / VALUE_ALIGN * VALUE_ALIGN;

    uint32_t *order = malloc((g->value_count + 1) * sizeof *order);
    placed *done = malloc((g->value_count + 1) * sizeof *done);
    placed *live = malloc((g->value_count + 1) * sizeof *live);
    uint64_t *offset = calloc(g->value_count + 1, sizeof *offset);
    if (!order || !done || !live || !offset) {
        free(order), free(done), free(live), free(offset);
        return asvk_error_set(ASVK_ERR_OOM, "out of host memory planning the graph");
    }
    uint32_t nt = 0, nd = 0;
    for (uint32_t i = 0; i < g->value_count; i++)
        if (g->values[i].kind == ASVK_VAL_TEMP && g->values[i].first_use >= 0) order[nt++] = i;
    qsort_r(order, nt, sizeof *order, by_size_desc, g->values);
    uint64_t end = 0;
    asvk_status st = ASVK_OK;
    /* ASVK_PLAN_NO_REUSE=1 gives every temporary its own bytes: a debugging
     * switch that tells a liveness or out-of-bounds bug from a kernel bug. */
    const char *no_reuse_env = getenv("ASVK_PLAN_NO_REUSE");
    bool no_reuse = no_reuse_env && *no_reuse_env && strcmp(no_reuse_env, "0") != 0;
    for (uint32_t t = 0; t < nt && !st; t++) {
        asvk_value *v = &g->values[order[t]];
        uint64_t size = align_up(v->floats * value_bytes(g, v), VALUE_ALIGN);
        if (size > cap) {
            st = asvk_error_set(ASVK_ERR_LIMIT, "%s needs %.1f MiB, more than one binding of %s can address (%.1f MiB); "
                                "lower --batch or the resolution", v->name, size / 1048576.0, dev->name, cap / 1048576.0);
            break;
        }
        uint32_t nl = 0;
        for (uint32_t k = 0; k < nd; k++)
            if (no_reuse || (done[k].first <= v->last_use && v->first_use <= done[k].last)) live[nl++] = done[k];
        qsort(live, nl, sizeof *live, by_offset);
        uint64_t o = 0;
        for (uint32_t k = 0; k <= nl; k++) {
            if (o / cap != (o + size - 1) / cap) o = (o / cap + 1) * cap; /* never straddle arenas */
            if (k == nl || o + size <= live[k].offset) break;
            if (live[k].offset + live[k].size > o) o = live[k].offset + live[k].size;
        }
        offset[order[t]] = o;
        done[nd++] = (placed){o, size, v->first_use, v->last_use};
        if (o + size > end) end = o + size;
        r.unplanned_bytes += size;
        r.temp_values++;
    }
    free(done);
    free(live);
    if (!st && end) {
        g->arena_count = (uint32_t)((end + cap - 1) / cap);
        g->arenas = calloc(g->arena_count, sizeof *g->arenas);
        if (!g->arenas) st = asvk_error_set(ASVK_ERR_OOM, "out of host memory");
        for (uint32_t a = 0; a < g->arena_count && !st; a++) {
            uint64_t size = end - (uint64_t)a * cap < cap ? end - (uint64_t)a * cap : cap;
            st = asvk_buffer_alloc(ctx, size, &g->arenas[a]);
            if (st) asvk_error_prefix(st, "allocating %.1f MiB of activations: ", end / 1048576.0);
        }
    }
    for (uint32_t t = 0; t < nt && !st; t++) {
        asvk_value *v = &g->values[order[t]];
        uint64_t o = offset[order[t]];
        v->buf = asvk_buffer_sub(g->arenas[o / cap], o % cap, v->floats * value_bytes(g, v));
        v->buf.half = value_bytes(g, v) == 2;
    }
    free(order);
    free(offset);
    for (uint32_t i = 0; i < g->value_count && !st; i++) {
        asvk_value *v = &g->values[i];
        switch (v->kind) {
        case ASVK_VAL_INPUT:
        case ASVK_VAL_OUTPUT:
        case ASVK_VAL_STEP: st = own_buffer(ctx, g, v); break;
        case ASVK_VAL_PARAM:
        case ASVK_VAL_STATE:
        case ASVK_VAL_GRAD: st = bind_persistent(g, v); break;
        default: break;
        }
    }
    if (st) return st;
    r.planned_bytes = end;
    if (g->store)
        for (int k = 0; k < ASVK_GROUPS; k++) r.persistent_bytes += g->store->group_floats[k] * 4 * (asvk_group_trainable(k) ? 2 : 1);
    r.nodes = g->node_count;
    g->planned = true;
    if (rep) *rep = r;
    return ASVK_OK;
}

/* The nodes' records in a dry pass of the stream: the pipelines they use, built together (engine/stream.h). */
static asvk_status build_pipelines(asvk_graph *g, asvk_stream *s, uint32_t from, uint32_t to) {
    asvk_exec ex = {asvk_stream_context(s), s, g, NULL};
    asvk_status st = asvk_stream_dry_begin(s);
    for (uint32_t i = from; i < to && !st; i++) {
        const asvk_op_def *d = asvk_op_def_get(g->nodes[i].op);
        if ((st = d->record(&ex, &g->nodes[i]))) st = asvk_error_prefix(st, "recording %s (node %u): ", d->name, i);
    }
    asvk_status end = asvk_stream_dry_end(s);
    return st ? st : end;
}

static asvk_status record(asvk_graph *g, asvk_stream *s, asvk_plan_report *rep, uint32_t *ts, uint32_t *cmds,
                          uint32_t from, uint32_t to) {
    if (!g->planned) return asvk_error_set(ASVK_ERR_INTERNAL, "record before plan");
    asvk_status bst = build_pipelines(g, s, from, to);
    if (bst) return bst;
    asvk_exec ex = {asvk_stream_context(s), s, g, NULL};
    asvk_stream_stats before, after;
    asvk_stream_stats_get(s, &before);
    for (uint32_t i = from; i < to; i++) {
        const asvk_op_def *d = asvk_op_def_get(g->nodes[i].op);
        asvk_status st = ts ? asvk_stream_timestamp(s, &ts[i]) : ASVK_OK;
        asvk_stream_stats a, b;
        asvk_stream_stats_get(s, &a);
        if (!st) st = d->record(&ex, &g->nodes[i]);
        if (st) return asvk_error_prefix(st, "recording %s (node %u): ", d->name, i);
        asvk_stream_stats_get(s, &b);
        if (cmds) cmds[i] = b.dispatches + b.transfers - a.dispatches - a.transfers;
    }
    if (ts) {
        asvk_status st = asvk_stream_timestamp(s, &ts[g->node_count]);
        if (st) return st;
    }
    asvk_stream_stats_get(s, &after);
    if (rep) {
        rep->dispatches = after.dispatches + after.transfers - before.dispatches - before.transfers;
        rep->barriers = after.barriers - before.barriers;
        rep->submits_per_step = 1;
    }
    return ASVK_OK;
}

asvk_status asvk_graph_record(asvk_graph *g, asvk_stream *s, asvk_plan_report *rep) {
    return record(g, s, rep, NULL, NULL, 0, g->node_count);
}

asvk_status asvk_graph_record_range(asvk_graph *g, asvk_stream **s, uint32_t from, uint32_t to,
                                    const asvk_sync_hook *hook) {
    if (from > to || to > g->node_count)
        return asvk_error_set(ASVK_ERR_INTERNAL, "nodes %u..%u of a graph of %u", from, to, g->node_count);
    if (!g->planned) return asvk_error_set(ASVK_ERR_INTERNAL, "record before plan");
    asvk_exec ex = {asvk_stream_context(*s), *s, g, hook};
    asvk_status st = ASVK_OK;
    for (uint32_t i = from; i < to && !st; i++) {
        const asvk_op_def *d = asvk_op_def_get(g->nodes[i].op);
        if ((st = d->record(&ex, &g->nodes[i]))) st = asvk_error_prefix(st, "recording %s (node %u): ", d->name, i);
    }
    *s = ex.stream;
    return st;
}

asvk_status asvk_graph_record_timed(asvk_graph *g, asvk_stream *s, uint32_t *ts, uint32_t *cmds) {
    return record(g, s, NULL, ts, cmds, 0, g->node_count);
}

const char *asvk_graph_node_op_name(const asvk_graph *g, uint32_t node) {
    return node < g->node_count ? asvk_op_def_get(g->nodes[node].op)->name : "?";
}

static size_t put_dims(char *buf, size_t n, size_t len, const asvk_value *v) {
    for (uint32_t d = 0; d < v->ndim; d++) {
        int w = snprintf(buf + (len < n ? len : n), len < n ? n - len : 0, "%s%u", d ? "x" : "", v->dims[d]);
        len += w > 0 ? (size_t)w : 0;
    }
    return len;
}

size_t asvk_graph_node_key(const asvk_graph *g, uint32_t node, char *buf, size_t n) {
    if (node >= g->node_count) return (size_t)snprintf(buf, n, "?");
    const asvk_node *nd = &g->nodes[node];
    char attr[96] = "";
    asvk_op_describe_fn d = asvk_op_describe_get(nd->op);
    if (d) d(nd, attr, sizeof attr);
    int w = snprintf(buf, n, "%s%s%s%s", asvk_op_def_get(nd->op)->name, attr[0] ? "[" : "", attr, attr[0] ? "]" : "");
    size_t len = w > 0 ? (size_t)w : 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int w_ = snprintf(buf + (len < n ? len : n), len < n ? n - len : 0, __VA_ARGS__);          \
        len += w_ > 0 ? (size_t)w_ : 0;                                                            \
    } while (0)
    for (uint32_t k = 0; k < nd->nin; k++) {
        PUT(" ");
        len = put_dims(buf, n, len, &g->values[nd->in[k]]);
    }
    PUT(" ->");
    for (uint32_t k = 0; k < nd->nout; k++) {
        PUT(" ");
        len = put_dims(buf, n, len, &g->values[nd->out[k]]);
    }
#undef PUT
    return len;
}

void asvk_graph_node_work(const asvk_graph *g, uint32_t node, double *flops, double *bytes) {
    *flops = *bytes = 0;
    if (node >= g->node_count) return;
    const asvk_node *nd = &g->nodes[node];
    double out = 0;
    for (uint32_t k = 0; k < nd->nin; k++) *bytes += 4.0 * g->values[nd->in[k]].floats;
    for (uint32_t k = 0; k < nd->nout; k++) out += g->values[nd->out[k]].floats;
    *bytes += 4 * out;
    asvk_op_flops_fn f = asvk_op_flops_get(nd->op);
    *flops = f ? f(nd) : out;
}

double asvk_graph_matmul_flops(const asvk_graph *g) {
    double sum = 0;
    for (uint32_t i = 0; i < g->node_count; i++) {
        asvk_op_flops_fn f = asvk_op_flops_get(g->nodes[i].op);
        if (f) sum += f(&g->nodes[i]);
    }
    return sum;
}
