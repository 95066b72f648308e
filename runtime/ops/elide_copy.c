/* Gradient copies elided: the gradient value shares the bytes it was copied
 * from.
 *
 * Autograd routes a gradient to an input through a grad_copy node when the
 * op passes it through unchanged (a residual add's two inputs, a dot loss):
 * the first contribution is copied into the input's gradient value, later
 * contributions accumulate into it. The copy is one more dispatch and one
 * more pass over the tensor. It is not needed when the two values may be one
 * buffer: nothing writes dy after the copy, and the gradient dx is either
 * never written again, or written (accumulated into) only once every reader
 * of dy has run, so that the accumulation may happen in dy's bytes. Then
 * every later reference to dx becomes dy and the copy records nothing.
 * Results are bit-identical (the same arithmetic on the same values); both
 * values must be temporaries of the same shape (fp16 storage applies to both
 * alike), so an output or a persistent gradient keeps its own buffer. */
#include "runtime/graph_internal.h"
#include "runtime/ops/basic.h"
#include <stdio.h>
#include <stdlib.h>

static bool in_list(const asvk_val *list, uint32_t n, asvk_val v) {
    for (uint32_t k = 0; k < n; k++)
        if (list[k] == v) return true;
    return false;
}

static bool same_temp(const asvk_value *a, const asvk_value *b) {
    if (a->kind != ASVK_VAL_TEMP || b->kind != ASVK_VAL_TEMP || a->ndim != b->ndim || a->floats != b->floats)
        return false;
    for (uint32_t d = 0; d < a->ndim; d++)
        if (a->dims[d] != b->dims[d]) return false;
    return true;
}

/* Whether copy node i (dy -> dx) may be elided in the graph as it is now;
 * *written: whether a later node accumulates into dx. */
static bool elidable(const asvk_graph *g, uint32_t i, asvk_val dy, asvk_val dx, bool *written) {
    uint32_t first_write = g->node_count; /* the first later node that accumulates into dx */
    for (uint32_t j = 0; j < g->node_count; j++) {
        const asvk_node *n = &g->nodes[j];
        if (j == i) continue;
        if (in_list(n->out, n->nout, dx)) {
            if (j < i) return false; /* written before its first contribution: not ours */
            if (j < first_write) first_write = j;
        }
        if (j > i && in_list(n->out, n->nout, dy)) return false;
    }
    *written = first_write < g->node_count;
    for (uint32_t j = first_write; j < g->node_count; j++)
        if (in_list(g->nodes[j].in, g->nodes[j].nin, dy)) return false; /* would see the accumulated sum */
    return true;
}

uint32_t asvk_graph_elide_copies(asvk_graph *g) {
    uint32_t elided = 0;
    /* First the copies whose gradient nothing writes again (pure aliases),
     * then those accumulated into later: once an accumulation writes into
     * dy, no other copy of dy may be elided. A residual add routes dy to its
     * branch (read only) and to its block input (accumulated into by the
     * branch's first convolution): both go. */
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t i = g->node_count; i-- > 0;) {
            asvk_node *c = &g->nodes[i];
            if (c->op != ASVK_OP_GRAD_COPY || c->nin != 1 || c->nout != 1) continue;
            asvk_grad_copy_attr *a = ASVK_ATTR(c, asvk_grad_copy_attr);
            asvk_val dy = c->in[0], dx = c->out[0];
            bool written;
            if (a->accumulate || dy == dx || !same_temp(&g->values[dy], &g->values[dx]) ||
                !elidable(g, i, dy, dx, &written) || (pass == 0 && written))
                continue;
            for (uint32_t j = i + 1; j < g->node_count; j++) {
                asvk_node *n = &g->nodes[j];
                for (uint32_t k = 0; k < n->nin; k++)
                    if (n->in[k] == dx) n->in[k] = dy;
                for (uint32_t k = 0; k < n->nout; k++)
                    if (n->out[k] == dx) n->out[k] = dy;
            }
            for (uint32_t v = 0; v < g->value_count; v++)
                if (g->values[v].grad == dx) g->values[v].grad = dy;
            g->values[dx].producer = -1;
            a->elided = true;
            c->nout = 0; /* dx is no longer touched: the planner gives it no bytes */
            elided++;
        }
    return elided;
}
