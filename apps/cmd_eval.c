/* asvk eval: accuracy and loss of a checkpoint on test data. The loss is
 * plain cross-entropy whatever label smoothing the checkpoint was trained
 * with: a number comparable across runs (the training log's test loss
 * includes the run's smoothing). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/data_spec.h"
#include "runtime/io/safetensors.h"
#include "runtime/trainer.h"

static const cli_opt opts[] = {
    {"--checkpoint", "PATH", "a checkpoint written by 'asvk train' (model.safetensors or last.safetensors)"},
    {"--data", "SPEC", "data whose test part to use: fashion-mnist[:DIR] (default), cifar10:DIR"},
    {"--test-data", "SPEC", "explicit test data, e.g. folder:DIR:RES"},
    {"--batch", "N", "evaluation batch size (default 256)"},
    {"--json", NULL, "print JSON"},
    {"--allow-nonfinite", NULL, "load a checkpoint that holds NaN or infinite values (refused by default)"},
    {"--device", "D", "device number or name substring (see 'asvk devices')"},
    {0},
};

static int run(cli_args *a) {
    if (a->npos) return cli_usage_error(a, "unexpected argument '%s'", a->pos[0]);
    const char *ck = cli_str(a, "--checkpoint", NULL);
    if (!ck) return cli_usage_error(a, "--checkpoint PATH is required");
    long batch;
    if (!cli_int(a, "--batch", 256, 1, 65536, &batch)) return 2;
    asvk_safetensors *f;
    asvk_status st = asvk_safetensors_read(ck, &f);
    if (st) return cli_fail(st);
    const char *text = asvk_safetensors_meta_get(f, "architecture");
    asvk_arch arch;
    char source[1100]; /* messages name the file and say that the metadata is what is wrong */
    snprintf(source, sizeof source, "%.1000s (its architecture metadata)", ck);
    if (!text) st = asvk_error_set(ASVK_ERR_USAGE, "%s carries no architecture: not an asvk checkpoint", ck);
    else st = asvk_arch_parse(text, strlen(text), source, &arch);
    asvk_safetensors_free(f);
    if (st) return cli_fail(st);

    data_sets data;
    const char *spec = cli_str(a, "--data", "fashion-mnist");
    const char *test = cli_str(a, "--test-data", NULL);
    if ((st = data_open(spec, test, arch.resolution, arch.in_channels, false, &data))) {
        asvk_arch_free(&arch);
        return cli_fail(asvk_error_prefix(st, "evaluating %s: ", ck)); /* the network's size came from it */
    }
    if (!data.test) {
        data_close(&data);
        asvk_arch_free(&arch);
        return cli_usage_error(a, "no test data: give --test-data");
    }
    /* the architecture came from the checkpoint, not from the data: images of
     * another size would overrun (or underfill) the network's input, whatever
     * data_open checks */
    const asvk_dataset *d = data.test;
    if (d->h != arch.resolution || d->w != arch.resolution || d->c != arch.in_channels) {
        st = asvk_error_set(ASVK_ERR_USAGE, "%s: its architecture %s takes %ux%ux%u images, but the test images of %s "
                            "are %ux%ux%u; give --data or --test-data of that size", ck, arch.name, arch.resolution,
                            arch.resolution, arch.in_channels, d->source ? d->source : data.name, d->h, d->w, d->c);
        data_close(&data);
        asvk_arch_free(&arch);
        return cli_fail(st);
    }
    asvk_context *ctx;
    if ((st = cli_context(a, &ctx))) {
        data_close(&data);
        asvk_arch_free(&arch);
        return cli_fail(st);
    }
    asvk_train_config cfg;
    asvk_train_config_default(&cfg);
    cfg.batch = (uint32_t)batch;
    cfg.momentum = 0;
    cfg.nesterov = false;
    cfg.norm = data.norm;
    cfg.label_smoothing = 0; /* plain cross-entropy */
    cfg.allow_nonfinite = cli_flag(a, "--allow-nonfinite");
    asvk_trainer *t = NULL;
    double loss = 0, acc = 0;
    asvk_cost cost = {0};
    st = asvk_trainer_create(ctx, &arch, &cfg, 1, &t);
    if (!st) st = asvk_trainer_load(t, ck, NULL, NULL);
    if (!st) st = asvk_trainer_evaluate(t, data.test, NULL, 0, &loss, &acc);
    if (!st) st = asvk_arch_cost(&arch, 0, &cost);
    if (!st) {
        if (cli_flag(a, "--json")) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "checkpoint", ck);
            cJSON_AddStringToObject(j, "architecture", arch.name);
            cJSON_AddStringToObject(j, "data", data.name);
            cJSON_AddNumberToObject(j, "images", data.test->n);
            cJSON_AddNumberToObject(j, "top1", acc);
            cJSON_AddNumberToObject(j, "loss", loss);
            cJSON_AddStringToObject(j, "loss_kind", "cross_entropy"); /* no label smoothing */
            cJSON_AddNumberToObject(j, "params", (double)cost.params);
            cJSON_AddNumberToObject(j, "madds", (double)cost.madds);
            char *s = cJSON_Print(j);
            printf("%s\n", s);
            free(s);
            cJSON_Delete(j);
        } else {
            printf("%s on %s test (%u images): top-1 %.2f%%, cross-entropy %.4f (no label smoothing), %.3fM params, "
                   "%.2fM MAdds\n", arch.name, data.name, data.test->n, 100 * acc, loss, cost.params / 1e6,
                   cost.madds / 1e6);
        }
    }
    asvk_cost_free(&cost);
    asvk_trainer_destroy(t);
    int rc = cli_context_done(ctx, st ? cli_fail(st) : 0);
    data_close(&data);
    asvk_arch_free(&arch);
    return rc;
}

const cli_command cmd_eval = {
    "eval",
    "evaluate a checkpoint: top-1, cross-entropy loss, params, MAdds",
    "asvk eval --checkpoint PATH [--data SPEC] [--batch N] [--json] [--allow-nonfinite]",
    "The architecture comes from the checkpoint's metadata; the images are\n"
    "normalised with the dataset's statistics, as in training. The loss is plain\n"
    "cross-entropy (mean over the test images, no label smoothing, whatever\n"
    "--smoothing the checkpoint was trained with), so it is comparable across runs;\n"
    "the JSON says so as \"loss_kind\": \"cross_entropy\". A checkpoint whose\n"
    "tensors do not have the architecture's shapes, or that holds NaN or infinite\n"
    "values, is refused (exit 2); --allow-nonfinite loads the latter anyway.",
    opts,
    run,
};
