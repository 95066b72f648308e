/* asvk export --onnx: a trained checkpoint, or an architecture with fresh
 * weights, as an ONNX model (runtime/io/onnx_export.h), and optionally a
 * batch of random inputs with asvk's logits for them, to check the file in
 * another runtime (docs/export.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/cli.h"
#include "apps/commands.h"
#include "runtime/infer.h"
#include "runtime/io/onnx_export.h"
#include "runtime/io/safetensors.h"
#include "runtime/trainer.h"

static const cli_opt opts[] = {
    {"--onnx", "FILE", "the ONNX file to write"},
    {"--checkpoint", "C", "a checkpoint of 'asvk train' (model.safetensors): its architecture and weights"},
    {"--arch", "A", "an architecture (file or built-in) with fresh weights from --seed, instead of a checkpoint"},
    {"--resolution", "R", "input height and width of the exported network (default the network's own; the weights "
                           "do not depend on it)"},
    {"--seed", "N", "with --arch: seed of the fresh weights (default 1)"},
    {"--check-io", "FILE", "also write random inputs and asvk's logits for them (safetensors: input, logits)"},
    {"--check-batch", "N", "images in --check-io (default 2)"},
    {"--device", "D", "device number or name substring (see 'asvk devices')"},
    {0},
};

/* The architecture a checkpoint carries (as asvk eval reads it). */
static asvk_status checkpoint_arch(const char *ck, asvk_arch *arch) {
    asvk_safetensors *f;
    asvk_status st = asvk_safetensors_read(ck, &f);
    if (st) return st;
    const char *text = asvk_safetensors_meta_get(f, "architecture");
    char source[1100];
    snprintf(source, sizeof source, "%.1000s (its architecture metadata)", ck);
    if (!text) st = asvk_error_set(ASVK_ERR_USAGE, "%s carries no architecture: not an asvk checkpoint", ck);
    else st = asvk_arch_parse(text, strlen(text), source, arch);
    asvk_safetensors_free(f);
    return st;
}

/* Weights: a checkpoint loaded (and checked) by the trainer, or fresh ones. */
static asvk_status weights(asvk_context *ctx, const asvk_arch *arch, const char *ck, uint64_t seed, asvk_infer **out) {
    if (!ck) return asvk_infer_create(ctx, arch, NULL, seed, out);
    asvk_train_config cfg;
    asvk_train_config_default(&cfg);
    cfg.batch = 2; /* a training step is built: BN needs two values per channel on a 1x1 map */
    asvk_trainer *t = NULL;
    asvk_status st = asvk_trainer_create(ctx, arch, &cfg, 1, &t);
    if (!st) st = asvk_trainer_load(t, ck, NULL, NULL);
    if (!st) st = asvk_infer_create(ctx, arch, asvk_trainer_store(t), 0, out);
    asvk_trainer_destroy(t);
    return st;
}

/* N(0, 1) inputs (splitmix64 + Box-Muller), asvk's logits for them. */
static asvk_status check_io(asvk_infer *f, const asvk_arch *a, const char *path, uint32_t batch, uint64_t seed) {
    size_t n = (size_t)batch * a->in_channels * a->resolution * a->resolution;
    float *x = malloc(n * sizeof *x + 4), *y = malloc((size_t)batch * a->num_classes * sizeof *y + 4);
    asvk_status st = x && y ? ASVK_OK : asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 12345;
    for (size_t i = 0; !st && i < n; i++) {
        double u[2];
        for (int k = 0; k < 2; k++) {
            uint64_t z = (s += 0x9e3779b97f4a7c15ull);
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
            u[k] = ((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
        }
        x[i] = (float)(sqrt(-2 * log(u[0] + 0x1.0p-60)) * cos(2 * M_PI * u[1]));
    }
    if (!st) st = asvk_infer_run(f, x, batch, y);
    if (!st) {
        asvk_st_tensor t[2] = {{"input", 4, {batch, a->in_channels, a->resolution, a->resolution}, x},
                               {"logits", 2, {batch, a->num_classes}, y}};
        asvk_st_meta meta[1] = {{"architecture", a->name}};
        st = asvk_safetensors_write(path, t, 2, meta, 1);
    }
    free(x), free(y);
    return st;
}

static int run(cli_args *a) {
    if (a->npos) return cli_usage_error(a, "unexpected argument '%s'", a->pos[0]);
    const char *onnx = cli_str(a, "--onnx", NULL), *ck = cli_str(a, "--checkpoint", NULL);
    const char *spec = cli_str(a, "--arch", NULL), *io = cli_str(a, "--check-io", NULL);
    if (!onnx) return cli_usage_error(a, "--onnx FILE is required (the only export format)");
    if (!ck == !spec) return cli_usage_error(a, "give --checkpoint C (trained weights) or --arch A (fresh weights), one of them");
    long res, seed, batch;
    if (!cli_int(a, "--resolution", 0, 1, 16384, &res) || !cli_int(a, "--seed", 1, 0, 0x7fffffff, &seed) ||
        !cli_int(a, "--check-batch", 2, 1, 256, &batch))
        return 2;
    asvk_arch arch;
    asvk_status st = ck ? checkpoint_arch(ck, &arch) : asvk_arch_open(spec, &arch);
    if (st) return cli_fail(st);
    if ((st = asvk_arch_validate(&arch, 0))) {
        asvk_arch_free(&arch);
        return cli_fail(st);
    }
    asvk_context *ctx;
    if ((st = cli_context(a, &ctx))) {
        asvk_arch_free(&arch);
        return cli_fail(st);
    }
    asvk_infer *f = NULL;
    asvk_onnx_info info = {0};
    asvk_arch at = {0}; /* the network at the resolution asked for: weights load at the checkpoint's own */
    st = asvk_arch_copy(&at, &arch);
    if (!st && res) at.resolution = (uint32_t)res;
    if (!st) st = asvk_arch_validate(&at, 0);
    if (!st) st = weights(ctx, &arch, ck, (uint64_t)seed, &f);
    if (!st && res) {
        asvk_infer *g = NULL;
        st = asvk_infer_create(ctx, &at, asvk_infer_store(f), 0, &g);
        asvk_infer_destroy(f);
        f = g;
    }
    if (!st) st = asvk_onnx_export(ctx, &at, asvk_infer_store(f), onnx, &info);
    if (!st && io) st = check_io(f, &at, io, (uint32_t)batch, (uint64_t)seed);
    if (!st) {
        printf("%s: %s (%ux%ux%u -> %u classes), ONNX opset %d, %u nodes, %u initializers, %.2f MB\n", onnx, at.name,
               at.in_channels, at.resolution, at.resolution, at.num_classes, ASVK_ONNX_OPSET, info.nodes,
               info.initializers, info.bytes / 1e6);
        if (io) printf("%s: %ld random inputs and asvk's logits for them\n", io, batch);
    }
    asvk_infer_destroy(f);
    asvk_arch_free(&at);
    asvk_arch_free(&arch);
    return cli_context_done(ctx, st ? cli_fail(st) : 0);
}

const cli_command cmd_export = {
    "export",
    "write a network as an ONNX model (BN folded), for mobile runtimes",
    "asvk export --onnx FILE (--checkpoint C | --arch A [--resolution R] [--seed N]) [--check-io FILE]",
    "Writes the inference network with every BatchNorm folded into its convolution,\n"
    "ONNX opset 13: input \"input\" [batch, C, H, W] float (NCHW, normalised per\n"
    "channel as the trainer feeds images; the batch is symbolic), output \"logits\"\n"
    "[batch, classes]. --check-io writes random inputs and asvk's logits for them, to\n"
    "compare with another runtime (ONNX Runtime, ncnn, TFLite converters). An op\n"
    "with no ONNX form is an error naming the node. See docs/export.md.",
    opts,
    run,
};
