/* Timing graphs and architectures on the device; see profile.h. */
#include "runtime/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/fold.h"
#include "runtime/model.h"

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, uint32_t n) {
    qsort(v, n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

asvk_status asvk_graph_zero_inputs(asvk_context *ctx, asvk_graph *g) {
    uint32_t n = asvk_graph_value_count(g);
    asvk_status st = ASVK_OK;
    for (uint32_t i = 0; i < n && !st; i++) {
        const asvk_value *v = asvk_graph_cval(g, (asvk_val)i);
        if (v->kind != ASVK_VAL_INPUT || !v->floats) continue;
        float *z = calloc(v->floats, sizeof *z);
        if (!z) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
        st = asvk_buffer_upload(ctx, v->buf, 0, z, v->floats * 4);
        free(z);
    }
    return st;
}

asvk_status asvk_graph_time(asvk_context *ctx, asvk_graph *g, uint32_t warmup, uint32_t repeat, asvk_timing *out) {
    if (!repeat) return asvk_error_set(ASVK_ERR_USAGE, "timing needs at least one run");
    asvk_stream *s;
    asvk_status st = asvk_stream_create(ctx, &s);
    if (st) return st;
    uint32_t t0, t1;
    double *v = calloc(repeat, sizeof *v);
    if (!v) st = asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    if (!st) st = asvk_stream_timestamp(s, &t0);
    if (!st) st = asvk_graph_record(g, s, NULL);
    if (!st) st = asvk_stream_timestamp(s, &t1);
    for (uint32_t i = 0; i < warmup && !st; i++) st = asvk_stream_run(s);
    for (uint32_t i = 0; i < repeat && !st; i++) {
        st = asvk_stream_run(s);
        if (!st) st = asvk_stream_elapsed_ns(s, t0, t1, &v[i]);
    }
    if (!st) {
        out->median_ns = median(v, repeat);
        out->min_ns = v[0], out->max_ns = v[repeat - 1], out->repeat = repeat;
    }
    free(v);
    asvk_stream_destroy(s);
    return st;
}

asvk_status asvk_graph_profile(asvk_context *ctx, asvk_graph *g, uint32_t warmup, uint32_t repeat, asvk_profile_fn fn,
                               void *user) {
    if (!repeat) return asvk_error_set(ASVK_ERR_USAGE, "timing needs at least one run");
    uint32_t nodes;
    asvk_graph_nodes(g, &nodes);
    uint32_t *ts = calloc(nodes + 1, sizeof *ts), *cmds = calloc(nodes + 1, sizeof *cmds);
    double *v = calloc((size_t)nodes * repeat + 1, sizeof *v), *col = calloc(repeat, sizeof *col);
    asvk_stream *s = NULL;
    asvk_status st = ts && cmds && v && col ? asvk_stream_create(ctx, &s)
                                            : asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    if (!st) st = asvk_graph_record_timed(g, s, ts, cmds);
    for (uint32_t i = 0; i < warmup && !st; i++) st = asvk_stream_run(s);
    for (uint32_t r = 0; r < repeat && !st; r++) {
        st = asvk_stream_run(s);
        for (uint32_t i = 0; i < nodes && !st; i++) st = asvk_stream_elapsed_ns(s, ts[i], ts[i + 1], &v[(size_t)r * nodes + i]);
    }
    for (uint32_t i = 0; i < nodes && !st; i++) {
        for (uint32_t r = 0; r < repeat; r++) col[r] = v[(size_t)r * nodes + i];
        double med = median(col, repeat); /* sorts col: initializers are not sequenced */
        asvk_timing t = {med, col[0], col[repeat - 1], repeat, cmds[i]};
        fn(user, i, asvk_graph_node_op_name(g, i), &t);
    }
    asvk_stream_destroy(s);
    free(ts), free(cmds), free(v), free(col);
    return st;
}

typedef struct {
    asvk_graph *g;
    asvk_arch_node_fn fn;
    void *user;
} node_ctx;

static void on_node(void *user, uint32_t node, const char *op, const asvk_timing *t) {
    node_ctx *c = user;
    char key[512];
    asvk_graph_node_key(c->g, node, key, sizeof key);
    c->fn(c->user, key, op, t);
}

asvk_status asvk_arch_profile(asvk_context *ctx, const asvk_arch *a, uint32_t batch, uint32_t warmup, uint32_t repeat,
                              asvk_arch_node_fn node_fn, void *user, asvk_timing *total) {
    asvk_param_store *ps = asvk_params_create();
    if (!ps) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    asvk_model m = {0};
    asvk_status st = asvk_model_declare(a, ps);
    if (!st) st = asvk_params_alloc(ctx, ps, 0);
    if (!st) st = asvk_model_init(ctx, a, ps, 1);
    if (!st) st = asvk_fold_run(ctx, ps, (float)a->bn_eps);
    if (!st) st = asvk_model_build(a, ps, batch, 0, false, 0, &m);
    if (!st) st = asvk_graph_plan(ctx, m.graph, NULL);
    if (!st) st = asvk_graph_zero_inputs(ctx, m.graph);
    if (!st && total) st = asvk_graph_time(ctx, m.graph, warmup, repeat, total);
    node_ctx nc = {m.graph, node_fn, user};
    if (!st && node_fn) st = asvk_graph_profile(ctx, m.graph, warmup, repeat, on_node, &nc);
    if (m.graph) asvk_graph_destroy(ctx, m.graph);
    asvk_params_destroy(ctx, ps);
    return st;
}

asvk_status asvk_arch_node_keys(const asvk_arch *a, uint32_t batch, asvk_arch_key_fn fn, void *user) {
    asvk_param_store *ps = asvk_params_create();
    if (!ps) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    asvk_model m = {0};
    asvk_status st = asvk_model_declare(a, ps);
    if (!st) st = asvk_model_build(a, ps, batch, 0, false, 0, &m);
    if (!st) {
        uint32_t n;
        asvk_graph_nodes(m.graph, &n);
        char key[512];
        for (uint32_t i = 0; i < n; i++) {
            asvk_graph_node_key(m.graph, i, key, sizeof key);
            fn(user, key);
        }
    }
    if (m.graph) asvk_graph_destroy(NULL, m.graph);
    asvk_params_destroy(NULL, ps);
    return st;
}
