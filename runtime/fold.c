/* BN folding for inference; see fold.h. */
#include "runtime/fold.h"

#include <stdio.h>
#include <string.h>

#include "runtime/ops/nn.h"

/* "<conv>.weight" -> "<conv>"; false for anything else. */
static bool conv_prefix(const char *weight, char *out, size_t n) {
    size_t len = strlen(weight);
    if (len < 8 || strcmp(weight + len - 7, ".weight") != 0 || len - 7 >= n) return false;
    memcpy(out, weight, len - 7);
    out[len - 7] = '\0';
    return true;
}

/* The BN prefix of a convolution: "<conv>_bn" or, for "layers.<i>.conv", "layers.<i>.bn". */
static bool bn_of(const asvk_param_store *ps, const char *conv, char *bn, size_t n) {
    char name[160];
    snprintf(bn, n, "%s_bn", conv);
    snprintf(name, sizeof name, "%s.weight", bn);
    if (asvk_params_find(ps, name) >= 0) return true;
    size_t len = strlen(conv);
    if (len > 5 && strcmp(conv + len - 5, ".conv") == 0) {
        snprintf(bn, n, "%.*s.bn", (int)(len - 5), conv);
        snprintf(name, sizeof name, "%s.weight", bn);
        if (asvk_params_find(ps, name) >= 0) return true;
    }
    return false;
}

/* A 4-D convolution weight in the store whose BN is there too. */
static bool foldable(const asvk_param_store *ps, const asvk_store_item *it, char *conv, char *bn, size_t n) {
    return it->ndim == 4 && it->group != ASVK_GROUP_STATE && !asvk_fold_is_derived(it->name) &&
           conv_prefix(it->name, conv, n) && bn_of(ps, conv, bn, n);
}

bool asvk_fold_is_derived(const char *name) { return strstr(name, ".fold_w") || strstr(name, ".fold_b"); }

asvk_status asvk_fold_declare(asvk_param_store *ps) {
    uint32_t n = ps->count; /* the pairs added below are not scanned again */
    for (uint32_t i = 0; i < n; i++) {
        asvk_store_item it = ps->items[i]; /* (items may move as pairs are added) */
        char conv[128], bn[140], name[160];
        if (!foldable(ps, &it, conv, bn, sizeof conv)) continue;
        snprintf(name, sizeof name, "%s.fold_w", conv);
        if (asvk_params_add(ps, name, it.ndim, it.dims, ASVK_GROUP_STATE) < 0) return ASVK_ERR_USAGE;
        snprintf(name, sizeof name, "%s.fold_b", conv);
        if (asvk_params_add(ps, name, 1, it.dims, ASVK_GROUP_STATE) < 0) return ASVK_ERR_USAGE;
    }
    return ASVK_OK;
}

bool asvk_fold_names(const asvk_param_store *ps, const char *weight, char *w_out, char *b_out, size_t n) {
    char conv[128];
    if (!ps || !conv_prefix(weight, conv, sizeof conv)) return false;
    snprintf(w_out, n, "%s.fold_w", conv);
    snprintf(b_out, n, "%s.fold_b", conv);
    return asvk_params_find(ps, w_out) >= 0 && asvk_params_find(ps, b_out) >= 0;
}

asvk_status asvk_fold_graph(asvk_param_store *ps, float eps, asvk_graph **out) {
    asvk_graph *g = asvk_graph_create(ps);
    if (!g) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    asvk_status st = ASVK_OK;
    uint32_t n = ps->count;
    for (uint32_t i = 0; i < n && !st; i++) {
        char conv[128], bn[140], name[160], fw[160], fb[160];
        const asvk_store_item *it = &ps->items[i];
        if (!foldable(ps, it, conv, bn, sizeof conv) || !asvk_fold_names(ps, it->name, fw, fb, sizeof fw)) continue;
        asvk_val w = asvk_graph_param(g, it->name), bias = ASVK_NO_VAL, bnv[4];
        snprintf(name, sizeof name, "%s.bias", conv);
        if (asvk_params_find(ps, name) >= 0) bias = asvk_graph_param(g, name);
        static const char *const role[4] = {"weight", "bias", "running_mean", "running_var"};
        for (int r = 0; r < 4; r++) {
            snprintf(name, sizeof name, "%s.%s", bn, role[r]);
            bnv[r] = asvk_graph_param(g, name);
        }
        asvk_val wo = asvk_graph_param(g, fw), bo = asvk_graph_param(g, fb);
        if (w == ASVK_NO_VAL || wo == ASVK_NO_VAL || bo == ASVK_NO_VAL || bnv[0] == ASVK_NO_VAL || bnv[3] == ASVK_NO_VAL)
            st = asvk_error_set(ASVK_ERR_INTERNAL, "folding %s: a tensor is missing", conv);
        else st = asvk_op_fold_bn(g, w, bias, bnv[0], bnv[1], bnv[2], bnv[3], wo, bo, eps);
    }
    if (st) {
        asvk_graph_destroy(NULL, g);
        return st;
    }
    *out = g;
    return ASVK_OK;
}

asvk_status asvk_fold_run(asvk_context *ctx, asvk_param_store *ps, float eps) {
    asvk_graph *g;
    asvk_status st = asvk_fold_graph(ps, eps, &g);
    if (st) return st;
    uint32_t nodes;
    asvk_graph_nodes(g, &nodes);
    asvk_stream *s = NULL;
    if (nodes && !(st = asvk_graph_plan(ctx, g, NULL)) && !(st = asvk_stream_create(ctx, &s)) &&
        !(st = asvk_graph_record(g, s, NULL)))
        st = asvk_stream_run(s);
    asvk_stream_destroy(s);
    asvk_graph_destroy(ctx, g);
    return st;
}
