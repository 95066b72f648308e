/* Timing graphs and architectures on the device with timestamp queries:
 * whole recorded graphs (medians of replays after warm-up) and every node of
 * a graph (a timestamp before each node; a node's time runs to the next
 * timestamp, so the nodes' times add up to the graph's, dispatch gaps and
 * barriers included). Shared by `asvk bench`, the trainer's timings and the
 * latency tables of autospace/latency.h. */
#ifndef ASVK_RUNTIME_PROFILE_H
#define ASVK_RUNTIME_PROFILE_H

#include "runtime/graph.h"
#include "runtime/io/arch.h"

typedef struct asvk_timing {
    double median_ns, min_ns, max_ns;
    uint32_t repeat;
    uint32_t dispatches; /* asvk_graph_profile: the commands (dispatches and transfers) the node records */
} asvk_timing;

/* Zeroes every INPUT value of a planned graph, so that benchmarks never run
 * on NaN from uninitialised memory. */
asvk_status asvk_graph_zero_inputs(asvk_context *ctx, asvk_graph *g);

/* The whole planned graph, recorded once, replayed warmup + repeat times. */
asvk_status asvk_graph_time(asvk_context *ctx, asvk_graph *g, uint32_t warmup, uint32_t repeat, asvk_timing *out);

/* Every node of a planned graph over `repeat` replays: its median, fastest
 * and slowest time. */
typedef void (*asvk_profile_fn)(void *user, uint32_t node, const char *op, const asvk_timing *t);
asvk_status asvk_graph_profile(asvk_context *ctx, asvk_graph *g, uint32_t warmup, uint32_t repeat, asvk_profile_fn fn,
                               void *user);

/* The inference graph of an architecture (freshly initialised weights, zero
 * inputs) at `batch`: its total time, and with node_fn != NULL every node's
 * times with its cost key (asvk_graph_node_key) and name. */
typedef void (*asvk_arch_node_fn)(void *user, const char *key, const char *op, const asvk_timing *t);
asvk_status asvk_arch_profile(asvk_context *ctx, const asvk_arch *a, uint32_t batch, uint32_t warmup, uint32_t repeat,
                              asvk_arch_node_fn node_fn, void *user, asvk_timing *total);

/* The cost keys of every node of the architecture's inference graph at
 * `batch`, without a device (the graph is built, never planned). */
typedef void (*asvk_arch_key_fn)(void *user, const char *key);
asvk_status asvk_arch_node_keys(const asvk_arch *a, uint32_t batch, asvk_arch_key_fn fn, void *user);

#endif
