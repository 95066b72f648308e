/* A latency prediction part by part (asvk_lut_predict_parts): a block
 * table's blocks (lut_blocks.c), or a measured table's layers: every node of
 * the inference graph belongs to the layer whose weights it reads, and a
 * node that reads none (an add, an activation, a pool) to the layer before
 * it. The parts add up, node for node in graph order, to
 * asvk_lut_predict_arch's total. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autospace/latency_internal.h"
#include "runtime/model.h"

/* The layer index of "layers.<i>.*", or -1. */
static int32_t layer_of(const char *name) {
    if (strncmp(name, "layers.", 7) != 0) return -1;
    char *end;
    long i = strtol(name + 7, &end, 10);
    return end != name + 7 && *end == '.' && i >= 0 && i < 1 << 24 ? (int32_t)i : -1;
}

static asvk_status node_parts(const asvk_lut *t, const asvk_arch *a, asvk_lut_part *parts, double *ms) {
    asvk_param_store *ps = asvk_params_create();
    if (!ps) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    asvk_model m = {0};
    asvk_status st = asvk_model_declare(a, ps);
    if (!st) st = asvk_model_build(a, ps, asvk_lut_batch(t), 0, false, 0, &m);
    double total = 0;
    if (!st) {
        uint32_t n;
        asvk_node *nodes = asvk_graph_nodes(m.graph, &n);
        char key[512];
        int32_t layer = 0;
        for (uint32_t i = 0; i < n && !st; i++) {
            for (uint32_t k = 0; k < nodes[i].nin; k++) {
                const asvk_value *v = asvk_graph_cval(m.graph, nodes[i].in[k]);
                int32_t l = v && (v->kind == ASVK_VAL_PARAM || v->kind == ASVK_VAL_STATE) ? layer_of(v->name) : -1;
                if (l >= 0 && (uint32_t)l < a->count) {
                    layer = l;
                    break;
                }
            }
            asvk_graph_node_key(m.graph, i, key, sizeof key);
            const entry *e = asvk_lut_entry(t, key);
            if (!e) {
                st = asvk_error_set(ASVK_ERR_USAGE, "the latency table has no time for '%s'; measure this skeleton and "
                                    "space with 'asvk latency' first", key);
                break;
            }
            double s = asvk_lut_node_share(t, e->ms);
            parts[layer].ms += s;
            total += s;
        }
    }
    if (m.graph) asvk_graph_destroy(NULL, m.graph);
    asvk_params_destroy(NULL, ps);
    if (!st) *ms = total;
    return st;
}

asvk_status asvk_lut_predict_parts(const asvk_lut *t, const asvk_arch *a, asvk_lut_part **parts, uint32_t *count,
                                   double *ms) {
    *parts = NULL, *count = 0;
    if (asvk_lut_stamp_of(t)->keys != ASVK_LUT_KEYS_NODE) return asvk_lut_blocks_predict(t, a, parts, count, ms);
    asvk_lut_part *p = calloc(a->count + 1, sizeof *p);
    if (!p) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    for (uint32_t i = 0; i < a->count; i++) {
        snprintf(p[i].key, sizeof p[i].key, "layer %u (%s)", i, asvk_layer_type_name(a->layers[i].type));
        p[i].layer = (int32_t)i;
    }
    asvk_status st = node_parts(t, a, p, ms);
    if (st) {
        free(p);
        return st;
    }
    *parts = p, *count = a->count;
    return ASVK_OK;
}
