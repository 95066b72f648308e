/* asvk cost: params and multiply-adds of an architecture (file or built-in). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "apps/cli.h"
#include "apps/commands.h"
#include "runtime/io/arch.h"

static const cli_opt opts[] = {
    {"--resolution", "R", "input height and width (default: the architecture's own)"},
    {"--per-layer", NULL, "print one row per layer: shapes, params, MAdds"},
    {"--json", NULL, "print JSON (totals and every layer) instead of text"},
    {"--save", "FILE", "also write the architecture as asvk JSON (asvk-arch/1) to FILE"},
    {"--save-netconfig", "FILE", "also write it as a ProxylessNAS net.config to FILE"},
    {0},
};

static void shape(char *buf, size_t n, uint32_t c, uint32_t h, uint32_t w) { snprintf(buf, n, "%ux%ux%u", c, h, w); }

/* The settings that make a layer what it is, for the table. */
static void describe(const asvk_layer *l, const asvk_layer_dims *d, char *buf, size_t n) {
    switch (l->type) {
    case ASVK_LAYER_CONV:
        if (l->conv.groups > 1)
            snprintf(buf, n, "k%u s%u g%u %s", l->conv.kernel, l->conv.stride, l->conv.groups, asvk_act_name(l->conv.act));
        else
            snprintf(buf, n, "k%u s%u %s", l->conv.kernel, l->conv.stride, asvk_act_name(l->conv.act));
        break;
    case ASVK_LAYER_MBCONV:
        snprintf(buf, n, "k%u s%u e%g (%u)%s%s", l->mbconv.kernel, l->mbconv.stride, l->mbconv.expand, d->mid,
                 l->mbconv.se ? " se" : "", d->residual ? " +x" : "");
        break;
    case ASVK_LAYER_POOL:
        snprintf(buf, n, "%s k%u s%u p%u", l->pool.mode == ASVK_POOL_MAX ? "max" : "avg", l->pool.kernel,
                 l->pool.stride, l->pool.pad);
        break;
    case ASVK_LAYER_DROPOUT: snprintf(buf, n, "rate %g", l->dropout); break;
    case ASVK_LAYER_LINEAR:
        snprintf(buf, n, "%s%s%s", l->linear.bias ? "bias" : "no bias", l->linear.act ? " " : "",
                 l->linear.act ? asvk_act_name(l->linear.act) : "");
        break;
    default: snprintf(buf, n, "-"); break;
    }
}

static void print_json(const asvk_arch *a, const asvk_cost *c) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", a->name);
    cJSON_AddNumberToObject(o, "resolution", c->resolution);
    cJSON_AddNumberToObject(o, "in_channels", a->in_channels);
    cJSON_AddNumberToObject(o, "num_classes", a->num_classes);
    cJSON_AddNumberToObject(o, "layers_count", a->count);
    cJSON_AddNumberToObject(o, "params", (double)c->params);
    cJSON_AddNumberToObject(o, "madds", (double)c->madds);
    cJSON *rows = cJSON_AddArrayToObject(o, "layers");
    for (uint32_t i = 0; i < c->count; i++) {
        const asvk_layer_cost *r = &c->layers[i];
        cJSON *row = cJSON_CreateObject();
        cJSON_AddNumberToObject(row, "index", i);
        cJSON_AddStringToObject(row, "type", asvk_layer_type_name(a->layers[i].type));
        int in[3] = {(int)r->dims.in_c, (int)r->dims.in_h, (int)r->dims.in_w};
        int out[3] = {(int)r->dims.out_c, (int)r->dims.out_h, (int)r->dims.out_w};
        cJSON_AddItemToObject(row, "in", cJSON_CreateIntArray(in, 3));
        cJSON_AddItemToObject(row, "out", cJSON_CreateIntArray(out, 3));
        cJSON_AddNumberToObject(row, "params", (double)r->params);
        cJSON_AddNumberToObject(row, "madds", (double)r->madds);
        cJSON_AddItemToArray(rows, row);
    }
    char *text = cJSON_Print(o);
    printf("%s\n", text ? text : "{}");
    free(text);
    cJSON_Delete(o);
}

static void print_text(const asvk_arch *a, const asvk_cost *c, bool per_layer) {
    printf("%s: input %ux%ux%u, %u classes, %u layers\n", a->name, a->in_channels, c->resolution, c->resolution,
           a->num_classes, a->count);
    if (per_layer) {
        printf("\n%4s  %-11s  %-12s  %-12s  %-22s %10s %13s\n", "#", "type", "input", "output", "settings", "params",
               "MAdds");
        for (uint32_t i = 0; i < c->count; i++) {
            const asvk_layer_cost *r = &c->layers[i];
            char in[32], out[32], set[64];
            shape(in, sizeof in, r->dims.in_c, r->dims.in_h, r->dims.in_w);
            shape(out, sizeof out, r->dims.out_c, r->dims.out_h, r->dims.out_w);
            describe(&a->layers[i], &r->dims, set, sizeof set);
            printf("%4u  %-11s  %-12s  %-12s  %-22s %10llu %13llu\n", i, asvk_layer_type_name(a->layers[i].type), in,
                   out, set, (unsigned long long)r->params, (unsigned long long)r->madds);
        }
        printf("\n");
    }
    printf("params  %10.3f M  (%llu)\n", c->params / 1e6, (unsigned long long)c->params);
    printf("MAdds   %10.3f M  (%llu) at %ux%u\n", c->madds / 1e6, (unsigned long long)c->madds, c->resolution,
           c->resolution);
}

static int run(cli_args *a) {
    if (a->npos == 0) return cli_usage_error(a, "name an architecture: a .json file, a net.config, or a built-in (%s)",
                                             asvk_arch_builtin_names());
    if (a->npos > 1) return cli_usage_error(a, "unexpected argument '%s'", a->pos[1]);
    long res;
    if (!cli_int(a, "--resolution", 0, 1, 16384, &res)) return 2;
    asvk_arch arch;
    asvk_status st = asvk_arch_open(a->pos[0], &arch);
    if (st) return cli_fail(st);
    asvk_cost cost;
    st = asvk_arch_cost(&arch, (uint32_t)res, &cost);
    if (st) {
        asvk_arch_free(&arch);
        return cli_fail(st);
    }
    const char *save = cli_str(a, "--save", NULL), *save_nc = cli_str(a, "--save-netconfig", NULL);
    if (save && (st = asvk_arch_save(save, &arch))) goto done;
    if (save_nc && (st = asvk_arch_save_netconfig(save_nc, &arch))) goto done;
    if (cli_flag(a, "--json")) print_json(&arch, &cost);
    else print_text(&arch, &cost, cli_flag(a, "--per-layer"));
done:
    asvk_cost_free(&cost);
    asvk_arch_free(&arch);
    return st ? cli_fail(st) : 0;
}

const cli_command cmd_cost = {
    "cost",
    "count an architecture's params and multiply-adds",
    "asvk cost <arch> [--resolution R] [--per-layer] [--json] [--save FILE] [--save-netconfig FILE]",
    "<arch> is a file (asvk JSON or a ProxylessNAS net.config, told apart by content)\n"
    "or a built-in: mbv2, proxyless_mobile, fmnist, with options after colons, e.g.\n"
    "mbv2:w=0.75:r=160:classes=10:in=1:dropout=0.2 (w: width multiplier, r: resolution).\n"
    "A bare built-in name wins over a file of that name; write ./NAME for the file.\n\n"
    "Counting follows ProxylessNAS: MAdds count convolutions (C_in*C_out*k*k*H_out*W_out\n"
    "/ groups) and linear weights only; params count every trainable tensor (weights,\n"
    "biases, BN gamma and beta), not BN running statistics. See docs/architecture.md.",
    opts,
    run,
};
