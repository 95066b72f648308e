/* The graph structure, private to runtime/graph.c and runtime/plan.c. */
#ifndef ASVK_RUNTIME_GRAPH_INTERNAL_H
#define ASVK_RUNTIME_GRAPH_INTERNAL_H

#include "runtime/graph.h"
#include "runtime/params.h"

struct asvk_graph {
    asvk_param_store *store;
    asvk_value *values;
    uint32_t value_count, value_cap;
    asvk_node *nodes;
    uint32_t node_count, node_cap;
    uint32_t forward_nodes;
    bool in_backward;
    asvk_val step;
    asvk_buffer *arenas; /* planned temporaries */
    uint32_t arena_count;
    asvk_buffer *own;    /* inputs, outputs, the step buffer */
    uint32_t own_count;
    bool planned;
    bool half_acts; /* activations (4-D temporaries) stored as fp16 */
    bool no_fusion; /* planning leaves batch norms unfused (asvk_graph_set_fusion) */
};

#endif
