/* Graph construction and autograd. */
#include "runtime/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/graph_internal.h"
#include "runtime/ops/ops.h"

asvk_graph *asvk_graph_create(asvk_param_store *store) {
    asvk_graph *g = calloc(1, sizeof *g);
    if (g) {
        g->store = store;
        g->step = ASVK_NO_VAL;
    }
    return g;
}

void asvk_graph_destroy(asvk_context *ctx, asvk_graph *g) {
    if (!g) return;
    for (uint32_t i = 0; i < g->arena_count; i++) asvk_buffer_free(ctx, &g->arenas[i]);
    free(g->arenas);
    for (uint32_t i = 0; i < g->own_count; i++) asvk_buffer_free(ctx, &g->own[i]);
    free(g->own);
    free(g->values);
    free(g->nodes);
    free(g);
}

asvk_val asvk_graph_value(asvk_graph *g, const char *name, asvk_val_kind kind, uint32_t ndim, const uint32_t *dims) {
    if (ndim > 4) {
        asvk_error_set(ASVK_ERR_INTERNAL, "value %s has rank %u > 4", name, ndim);
        return ASVK_NO_VAL;
    }
    if (g->value_count == g->value_cap) {
        uint32_t cap = g->value_cap ? g->value_cap * 2 : 256;
        void *p = realloc(g->values, cap * sizeof *g->values);
        if (!p) { asvk_error_set(ASVK_ERR_OOM, "out of host memory"); return ASVK_NO_VAL; }
        g->values = p;
        g->value_cap = cap;
    }
    asvk_value *v = &g->values[g->value_count];
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    v->kind = kind;
    v->ndim = ndim;
    v->floats = 1;
    for (uint32_t i = 0; i < ndim; i++) v->dims[i] = dims[i], v->floats *= dims[i];
    v->grad = ASVK_NO_VAL;
    v->producer = -1;
    v->first_use = v->last_use = -1;
    v->requires_grad = kind == ASVK_VAL_PARAM;
    return (asvk_val)g->value_count++;
}

asvk_val asvk_graph_act(asvk_graph *g, const char *name, asvk_nhwc s) {
    uint32_t dims[4] = {s.n, s.c, s.h, s.w};
    return asvk_graph_value(g, name, ASVK_VAL_TEMP, 4, dims);
}

asvk_val asvk_graph_param(asvk_graph *g, const char *name) {
    int i = g->store ? asvk_params_find(g->store, name) : -1;
    if (i < 0) {
        asvk_error_set(ASVK_ERR_INTERNAL, "no parameter named %s in the store", name);
        return ASVK_NO_VAL;
    }
    const asvk_store_item *p = &g->store->items[i];
    return asvk_graph_value(g, name, p->group == ASVK_GROUP_STATE ? ASVK_VAL_STATE : ASVK_VAL_PARAM, p->ndim, p->dims);
}

asvk_value *asvk_graph_val(asvk_graph *g, asvk_val v) { return &g->values[v]; }
const asvk_value *asvk_graph_cval(const asvk_graph *g, asvk_val v) { return &g->values[v]; }
uint32_t asvk_graph_value_count(const asvk_graph *g) { return g->value_count; }

asvk_nhwc asvk_graph_shape(const asvk_graph *g, asvk_val v) {
    const asvk_value *x = &g->values[v];
    asvk_nhwc s = {x->ndim > 0 ? x->dims[0] : 1, x->ndim > 2 ? x->dims[2] : 1, x->ndim > 3 ? x->dims[3] : 1,
                   x->ndim > 1 ? x->dims[1] : 1};
    return s;
}

asvk_param_store *asvk_graph_store(const asvk_graph *g) { return g->store; }

asvk_val asvk_graph_step(asvk_graph *g) {
    if (g->step == ASVK_NO_VAL) {
        uint32_t n = ASVK_STEP_FLOATS;
        g->step = asvk_graph_value(g, "step", ASVK_VAL_STEP, 1, &n);
    }
    return g->step;
}

int asvk_graph_node(asvk_graph *g, uint16_t op, const asvk_val *in, uint32_t nin, const asvk_val *out, uint32_t nout,
                    const void *attr, uint32_t attr_bytes) {
    if (nin > ASVK_NODE_MAX_IN || nout > ASVK_NODE_MAX_OUT || attr_bytes > ASVK_ATTR_BYTES || !asvk_op_def_get(op)) {
        asvk_error_set(ASVK_ERR_INTERNAL, "node of op %u: too many inputs/outputs or unknown op", op);
        return -1;
    }
    for (uint32_t i = 0; i < nin; i++)
        if (in[i] < 0 || (uint32_t)in[i] >= g->value_count) {
            asvk_error_set(ASVK_ERR_INTERNAL, "node %s: input %u is not a value", asvk_op_def_get(op)->name, i);
            return -1;
        }
    for (uint32_t i = 0; i < nout; i++)
        if (out[i] < 0 || (uint32_t)out[i] >= g->value_count) {
            asvk_error_set(ASVK_ERR_INTERNAL, "node %s: output %u is not a value", asvk_op_def_get(op)->name, i);
            return -1;
        }
    if (g->node_count == g->node_cap) {
        uint32_t cap = g->node_cap ? g->node_cap * 2 : 256;
        void *p = realloc(g->nodes, cap * sizeof *g->nodes);
        if (!p) { asvk_error_set(ASVK_ERR_OOM, "out of host memory"); return -1; }
        g->nodes = p;
        g->node_cap = cap;
    }
    asvk_node *n = &g->nodes[g->node_count];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->nin = (uint8_t)nin;
    n->nout = (uint8_t)nout;
    if (nin) memcpy(n->in, in, nin * sizeof *in);
    if (nout) memcpy(n->out, out, nout * sizeof *out);
    n->ws = ASVK_NO_VAL;
    n->backward = g->in_backward;
    if (attr_bytes) memcpy(n->attr, attr, attr_bytes);
    bool rg = false;
    for (uint32_t i = 0; i < nin; i++) rg |= g->values[in[i]].requires_grad;
    for (uint32_t i = 0; i < nout; i++) {
        asvk_value *o = &g->values[out[i]];
        if (o->producer < 0 && (o->kind == ASVK_VAL_TEMP || o->kind == ASVK_VAL_OUTPUT)) o->producer = (int32_t)g->node_count;
        if (!g->in_backward) o->requires_grad |= rg;
    }
    return (int)g->node_count++;
}

asvk_node *asvk_graph_nodes(asvk_graph *g, uint32_t *count) {
    *count = g->node_count;
    return g->nodes;
}

asvk_val asvk_graph_grad(asvk_graph *g, asvk_val v, bool *accumulate) {
    asvk_value *x = &g->values[v];
    if (x->grad == ASVK_NO_VAL) {
        char name[128];
        snprintf(name, sizeof name, "%s.grad", x->name);
        asvk_val_kind kind = x->kind == ASVK_VAL_PARAM ? ASVK_VAL_GRAD : ASVK_VAL_TEMP;
        /* copies: adding a value may move the array x points into */
        uint32_t ndim = x->ndim, dims[4];
        memcpy(dims, x->dims, sizeof dims);
        asvk_val gv = asvk_graph_value(g, name, kind, ndim, dims);
        if (gv == ASVK_NO_VAL) return ASVK_NO_VAL;
        x = &g->values[v]; /* the array may have moved */
        x->grad = gv;
        x->grad_started = false;
    }
    *accumulate = x->grad_started;
    x->grad_started = true;
    return x->grad;
}

void asvk_graph_refresh_requires_grad(asvk_graph *g) {
    for (uint32_t i = 0; i < g->value_count; i++)
        if (g->values[i].kind != ASVK_VAL_PARAM) g->values[i].requires_grad = false;
    for (uint32_t i = 0; i < g->node_count; i++) {
        const asvk_node *n = &g->nodes[i];
        if (n->backward) continue;
        bool rg = false;
        for (uint32_t k = 0; k < n->nin; k++) rg |= g->values[n->in[k]].requires_grad;
        for (uint32_t k = 0; k < n->nout; k++)
            if (g->values[n->out[k]].kind != ASVK_VAL_PARAM) g->values[n->out[k]].requires_grad = rg;
    }
}

asvk_status asvk_graph_backward(asvk_graph *g, asvk_val loss) {
    if (loss < 0 || (uint32_t)loss >= g->value_count || g->values[loss].producer < 0)
        return asvk_error_set(ASVK_ERR_INTERNAL, "backward: the loss is not produced by a node");
    int loss_node = g->values[loss].producer;
    if (!asvk_op_def_get(g->nodes[loss_node].op)->is_loss)
        return asvk_error_set(ASVK_ERR_INTERNAL, "backward: %s is not a loss op", asvk_op_def_get(g->nodes[loss_node].op)->name);
    uint32_t forward = g->node_count;
    g->in_backward = true;
    for (int i = loss_node; i >= 0; i--) {
        const asvk_node *n = &g->nodes[i];
        if (n->backward) continue;
        bool needed = i == loss_node;
        for (uint32_t k = 0; k < n->nout && !needed; k++) needed = g->values[n->out[k]].grad != ASVK_NO_VAL;
        bool any_input = false;
        for (uint32_t k = 0; k < n->nin; k++) any_input |= g->values[n->in[k]].requires_grad;
        if (!needed || !any_input) continue;
        const asvk_op_def *d = asvk_op_def_get(n->op);
        if (!d->backward) {
            g->in_backward = false;
            return asvk_error_set(ASVK_ERR_INTERNAL, "op %s has no backward rule", d->name);
        }
        asvk_status st = d->backward(g, i);
        if (st) {
            g->in_backward = false;
            return st;
        }
    }
    g->in_backward = false;
    g->forward_nodes = forward;
    return ASVK_OK;
}
