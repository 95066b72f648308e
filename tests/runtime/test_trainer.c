/* The trainer's epoch loop as a run's process sees it: a progress callback
 * that stops an epoch (what Ctrl-C does in asvk train), a checkpoint saved
 * at that step, and a new trainer resuming from it. The resumed epoch must
 * end exactly where a straight one does: the same loss and accuracy over the
 * whole epoch (the checkpoint carries the running sums), the same weights. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/trainer.h"
#include "runtime/io/safetensors.h"
#include "tests/harness.h"

/* class k is a bright 3x3 square at one of 4 places, on noise */
static void squares(uint32_t n, asvk_dataset **out) {
    OK(asvk_dataset_create(n, 12, 12, 1, 4, "generated squares", out));
    asvk_dataset *d = *out;
    uint32_t r = 7;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *px = asvk_dataset_image(d, i);
        for (uint32_t k = 0; k < 144; k++) r = r * 1664525u + 1013904223u, px[k] = (uint8_t)(r >> 27);
        int32_t c = (int32_t)(i % 4);
        d->labels[i] = c;
        uint32_t y0 = c < 2 ? 2 : 7, x0 = c % 2 ? 7 : 2;
        for (uint32_t y = 0; y < 3; y++)
            for (uint32_t x = 0; x < 3; x++) px[(y0 + y) * 12 + x0 + x] = 220;
    }
}

typedef struct {
    asvk_trainer *t;
    uint32_t stop_at;
    const char *path;
    asvk_status save;
    uint32_t calls;
} stopper;

static bool stop_and_save(void *user, uint32_t epoch, uint32_t step, uint32_t steps, double loss, double acc,
                          double ips) {
    (void)steps, (void)loss, (void)acc, (void)ips;
    stopper *s = user;
    s->calls++;
    if (step < s->stop_at) return true;
    s->save = asvk_trainer_save(s->t, s->path, epoch, step, NULL, 0);
    return false;
}

static void weights(asvk_trainer *t, const char *path, asvk_safetensors **out) {
    OK(asvk_trainer_save(t, path, 9, 0, NULL, 0));
    OK(asvk_safetensors_read(path, out));
}

static void stop_mid_epoch_and_resume(void) {
    asvk_context *ctx = test_context();
    asvk_arch arch;
    OK(asvk_arch_load(ASVK_SOURCE_DIR "/tests/cli/tiny_arch.json", &arch));
    asvk_dataset *train;
    squares(320, &train);
    asvk_train_config cfg;
    asvk_train_config_default(&cfg);
    cfg.batch = 32, cfg.epochs = 2, cfg.seed = test_seed, cfg.lr = 0.05;
    OK(asvk_dataset_norm(train, NULL, 0, &cfg.norm));
    const uint32_t steps = train->n / cfg.batch;
    char dir[] = "/tmp/asvk-test-trainer-XXXXXX", ckpt[128], a_path[128], b_path[128];
    CHECK(mkdtemp(dir) != NULL, "cannot make a temporary folder");
    snprintf(ckpt, sizeof ckpt, "%s/last.safetensors", dir);
    snprintf(a_path, sizeof a_path, "%s/a.safetensors", dir);
    snprintf(b_path, sizeof b_path, "%s/b.safetensors", dir);

    /* straight: two epochs */
    asvk_trainer *t;
    asvk_epoch_stats straight[2];
    OK(asvk_trainer_create(ctx, &arch, &cfg, steps, &t));
    for (uint32_t e = 0; e < 2; e++) OK(asvk_trainer_epoch(t, train, NULL, train->n, e, 0, NULL, NULL, &straight[e]));
    asvk_safetensors *a;
    weights(t, a_path, &a);
    asvk_trainer_destroy(t);

    /* stopped at step 4 of epoch 2 by the callback, which saved there; then a new trainer resumes */
    asvk_epoch_stats first, resumed;
    OK(asvk_trainer_create(ctx, &arch, &cfg, steps, &t));
    OK(asvk_trainer_epoch(t, train, NULL, train->n, 0, 0, NULL, NULL, &first));
    stopper s = {t, 4, ckpt, ASVK_OK, 0};
    EXPECT_ERR(asvk_trainer_epoch(t, train, NULL, train->n, 1, 0, stop_and_save, &s, &resumed), ASVK_ERR_CANCELLED,
               "stopped after step 4 of epoch 2");
    OK(s.save);
    CHECK(s.calls == 4, "the epoch went on for %u steps after the callback said stop at 4", s.calls);
    asvk_trainer_destroy(t);

    uint32_t epoch = 99, step = 99;
    OK(asvk_trainer_create(ctx, &arch, &cfg, steps, &t));
    OK(asvk_trainer_load(t, ckpt, &epoch, &step));
    CHECK(epoch == 1 && step == 4, "the checkpoint resumes at epoch %u step %u, not 1 and 4", epoch, step);
    OK(asvk_trainer_epoch(t, train, NULL, train->n, epoch, step, NULL, NULL, &resumed));
    printf("  epoch 2: straight loss %.9g acc %.9g over %u steps; resumed %.9g %.9g over %u\n", straight[1].loss,
           straight[1].accuracy, straight[1].steps, resumed.loss, resumed.accuracy, resumed.steps);
    CHECK(resumed.steps == steps, "the resumed epoch covers %u steps, not the whole %u", resumed.steps, steps);
    CHECK(resumed.loss == straight[1].loss && resumed.accuracy == straight[1].accuracy,
          "the resumed epoch's loss %.17g / accuracy %.17g differ from straight %.17g / %.17g", resumed.loss,
          resumed.accuracy, straight[1].loss, straight[1].accuracy);
    asvk_safetensors *b;
    weights(t, b_path, &b);
    asvk_trainer_destroy(t);
    /* the same weights, bit for bit */
    for (size_t i = 0; i < asvk_safetensors_count(a); i++) {
        const asvk_st_tensor *x = asvk_safetensors_tensor(a, i), *y = asvk_safetensors_find(b, x->name);
        CHECK(y != NULL, "%s is missing after resuming", x->name);
        if (!y) continue;
        uint64_t n = 1;
        for (uint32_t r = 0; r < x->rank; r++) n *= x->shape[r];
        CHECK(memcmp(x->data, y->data, n * 4) == 0, "%s differs after resuming", x->name);
    }

    /* resuming at a position the trainer holds no running sums for (here another epoch ran since the load):
     * the epoch covers its own steps only, and says so */
    OK(asvk_trainer_create(ctx, &arch, &cfg, steps, &t));
    OK(asvk_trainer_load(t, ckpt, &epoch, &step));
    OK(asvk_trainer_epoch(t, train, NULL, train->n, 0, 0, NULL, NULL, &first));
    OK(asvk_trainer_epoch(t, train, NULL, train->n, 1, 4, NULL, NULL, &resumed));
    CHECK(resumed.steps == steps - 4, "an epoch resumed without its sums covers %u steps, not the %u it ran",
          resumed.steps, steps - 4);
    asvk_trainer_destroy(t);

    asvk_safetensors_free(a);
    asvk_safetensors_free(b);
    unlink(ckpt), unlink(a_path), unlink(b_path), rmdir(dir);
    asvk_dataset_destroy(train);
    asvk_arch_free(&arch);
}

int main(int argc, char **argv) {
    static const test_case cases[] = {{"stop_mid_epoch_and_resume", stop_mid_epoch_and_resume}};
    return test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
