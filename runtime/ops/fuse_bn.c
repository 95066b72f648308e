/* A training batch norm fused into the convolutions and adds that read its
 * output.
 *
 * In training, conv -> BN(+act) -> conv stores the BN's output y and loads it
 * again in the next convolution's forward and in its weight gradient; BN's
 * apply is one more dispatch and one more pass over the tensor. When every
 * reader of y is a convolution that can apply the BN itself as it loads its
 * input (the GEMM and depthwise paths: asvk_conv_takes_bn), the readers are
 * given the BN's input x and the BN's parameters and statistics instead
 * (conv_attr.xbn, shaders/include/bn_load.glsl), and the BN computes its
 * statistics only: y is never stored, and does not live from the forward to
 * the backward any more. The backward is unchanged: the BN's backward reads
 * x and dy, and the readers' backward-data writes dy as before. A residual add
 * applies the BNs of either or both of its inputs (shaders/norm/bn_add.comp),
 * a pool its input's (shaders/pool/pool_fwd.comp; a max pool's backward
 * finds its windows' maxima through the apply too). A BN read by anything
 * else (a mixture, a host output) stays as it is. The second pass below fuses the BN's backward into
 * the convolution before it. */
#include <string.h>

#include "runtime/graph_internal.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/conv_attr.h"
#include "runtime/ops/nn.h"

/* The input slot through which node n reads y and could apply its BN: a
 * convolution's x, a weight gradient's x, either input of an add, a pool's
 * x, a max pool's backward's x;
 * UINT32_MAX when n reads y otherwise or in two slots. */
static uint32_t bn_slot(const asvk_node *n, asvk_val y) {
    uint32_t at = UINT32_MAX;
    if (n->op == ASVK_OP_CONV) at = 0;
    if (n->op == ASVK_OP_CONV_BWD_WEIGHT) at = 1;
    if (n->op == ASVK_OP_ADD) at = n->in[0] == y ? 0 : 1;
    if (n->op == ASVK_OP_POOL || n->op == ASVK_OP_POOL_BWD) at = 0;
    if (at == UINT32_MAX || n->in[at] != y || n->nin + 4 > ASVK_NODE_MAX_IN) return UINT32_MAX;
    for (uint32_t k = 0; k < n->nin; k++)
        if (k != at && n->in[k] == y) return UINT32_MAX;
    if (n->op == ASVK_OP_ADD) return ASVK_CATTR(n, asvk_add_attr)->bn[at] ? UINT32_MAX : at;
    if (n->op == ASVK_OP_POOL || n->op == ASVK_OP_POOL_BWD) { /* only max pooling's backward reads x */
        const pool_attr *pa = ASVK_CATTR(n, pool_attr);
        bool reads_x = n->op == ASVK_OP_POOL || (!pa->global && pa->kind == ASVK_POOL_MAX);
        return !pa->xbn && reads_x ? at : UINT32_MAX;
    }
    const conv_attr *a = ASVK_CATTR(n, conv_attr);
    return !a->xbn && asvk_conv_takes_bn(&a->d) ? at : UINT32_MAX;
}

static bool reads(const asvk_node *n, asvk_val v) {
    for (uint32_t k = 0; k < n->nin; k++)
        if (n->in[k] == v) return true;
    return false;
}

uint32_t asvk_graph_fuse_bn(asvk_graph *g) {
    uint32_t fused = 0;
    for (uint32_t i = 0; i < g->node_count; i++) {
        asvk_node *bn = &g->nodes[i];
        if (bn->op != ASVK_OP_BN || bn->nout != 3) continue;
        bn_attr *ba = ASVK_ATTR(bn, bn_attr);
        asvk_val y = bn->out[0];
        if (!ba->training || ba->fused || g->values[y].kind != ASVK_VAL_TEMP) continue;
        uint32_t readers = 0;
        bool ok = true;
        for (uint32_t j = 0; j < g->node_count && ok; j++) {
            if (j == i || !reads(&g->nodes[j], y)) continue;
            ok = bn_slot(&g->nodes[j], y) != UINT32_MAX;
            readers++;
        }
        if (!ok || !readers) continue;
        for (uint32_t j = 0; j < g->node_count; j++) {
            asvk_node *n = &g->nodes[j];
            if (j == i || !reads(n, y)) continue;
            uint32_t slot = bn_slot(n, y);
            n->in[slot] = bn->in[0];
            if (n->op == ASVK_OP_ADD) {
                asvk_add_attr *a = ASVK_ATTR(n, asvk_add_attr);
                a->bn[slot] = true, a->at[slot] = n->nin, a->act[slot] = ba->d.act;
            } else if (n->op == ASVK_OP_POOL || n->op == ASVK_OP_POOL_BWD) {
                pool_attr *a = ASVK_ATTR(n, pool_attr);
                a->xbn = true, a->xat = n->nin, a->xact = ba->d.act;
            } else {
                conv_attr *a = ASVK_ATTR(n, conv_attr);
                a->xbn = true, a->xat = n->nin, a->xact = ba->d.act;
            }
            n->in[n->nin++] = bn->in[1]; /* gamma */
            n->in[n->nin++] = bn->in[2]; /* beta */
            n->in[n->nin++] = bn->out[1]; /* save_mean */
            n->in[n->nin++] = bn->out[2]; /* save_invstd */
        }
        ba->fused = true;
        bn->out[0] = bn->out[1], bn->out[1] = bn->out[2], bn->nout = 2;
        g->values[y].producer = -1;
        fused++;
    }
    return fused;
}

/* ---- the BN's dx fused into the backward of the convolution that produced
 * its input ----
 *
 * conv -> t -> BN: in training the BN's backward stores dL/dt (its dx pass),
 * which the convolution's backward-data and weight gradient then load. When
 * those are its only readers and the convolution is a 1x1 (the GEMM path,
 * asvk_conv_takes_dbn), they are handed the BN's output gradient dy and t
 * instead, with the BN backward's workspace, where its sums leave the totals
 * and per-channel terms (asvk_bn_backward_terms), and compute dL/dt as they
 * load it (shaders/include/bn_grad_load.glsl); the BN's backward computes
 * its sums only. Done where the device's convolution tuning asks for it
 * (asvk_conv_fuse_bn_backward: GPUs), not with fp16 activations. Runs after
 * the workspaces exist (asvk_graph_plan). */

/* Whether node n reads dx only as a convolution backward's dy and can
 * compute it through the BN's backward. */
static bool dbn_reader(const asvk_node *n, asvk_val dx) {
    if (n->op != ASVK_OP_CONV_BWD_DATA && n->op != ASVK_OP_CONV_BWD_WEIGHT) return false;
    if (n->in[0] != dx || n->nin + 2 > ASVK_NODE_MAX_IN) return false;
    for (uint32_t k = 1; k < n->nin; k++)
        if (n->in[k] == dx) return false;
    const conv_attr *a = ASVK_CATTR(n, conv_attr);
    return !a->dbn && asvk_conv_takes_dbn(&a->d);
}

static bool writes(const asvk_node *n, asvk_val v) {
    for (uint32_t k = 0; k < n->nout; k++)
        if (n->out[k] == v) return true;
    return false;
}

uint32_t asvk_graph_fuse_bn_backward(asvk_graph *g) {
    uint32_t fused = 0;
    for (uint32_t i = 0; i < g->node_count; i++) {
        asvk_node *bb = &g->nodes[i];
        if (bb->op != ASVK_OP_BN_BWD || bb->nout != 3 || bb->ws == ASVK_NO_VAL) continue;
        bn_attr *ba = ASVK_ATTR(bb, bn_attr);
        asvk_val dx = bb->out[2];
        if (!ba->want_dx || ba->acc_dx || ba->dx_fused || g->values[dx].kind != ASVK_VAL_TEMP) continue;
        uint32_t readers = 0;
        bool ok = true;
        for (uint32_t j = 0; j < g->node_count && ok; j++) {
            if (j == i) continue;
            const asvk_node *n = &g->nodes[j];
            if (writes(n, dx)) {
                ok = false;
            } else if (reads(n, dx)) {
                ok = j > i && dbn_reader(n, dx);
                readers++;
            }
        }
        if (!ok || !readers) continue;
        for (uint32_t j = i + 1; j < g->node_count; j++) {
            asvk_node *n = &g->nodes[j];
            if (!reads(n, dx)) continue;
            conv_attr *a = ASVK_ATTR(n, conv_attr);
            a->dbn = true, a->dat = n->nin, a->dact = ba->d.act;
            n->in[0] = bb->in[1];         /* the BN's output gradient */
            n->in[n->nin++] = bb->in[0];  /* t, the BN's input */
            n->in[n->nin++] = bb->ws;     /* its totals and terms */
        }
        ba->dx_fused = true;
        bb->nout = 2;
        g->values[dx].producer = -1;
        fused++;
    }
    return fused;
}
