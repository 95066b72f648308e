/* PyTorch parity: one training batch through asvk (logits, loss, the
 * gradient of every parameter) against the same network in PyTorch built
 * from the same architecture JSON with the same weights
 * (tests/torch/parity.py, Debian's python3-torch), norm-wise relative error
 * <= 1e-4 per tensor. PyTorch runs in float64, so the bound measures asvk. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/io/safetensors.h"
#include "runtime/fold.h"
#include "runtime/model.h"
#include "tests/harness.h"

#ifndef ASVK_SOURCE_DIR
#define ASVK_SOURCE_DIR "."
#endif

/* OK for a function returning int: -1 on failure. */
#define OKI(call)                                                                                 \
    do {                                                                                          \
        asvk_status oki_st_ = (call);                                                             \
        if (oki_st_ != ASVK_OK) {                                                                 \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, asvk_error_message()); \
            return -1;                                                                            \
        }                                                                                         \
    } while (0)

/* Returns the script's exit code: 0 agree, 3 ill-posed batch (a value
 * within 1e-5 of an activation kink or max-pool tie), else disagreement. */
static int attempt(const char *arch_path, int round) {
    asvk_context *ctx = test_context();
    asvk_arch arch;
    if (asvk_arch_load(arch_path, &arch)) { fprintf(stderr, "%s\n", asvk_error_message()); return -1; }
    const uint32_t batch = 5, res = arch.resolution, cin = arch.in_channels;
    const float smoothing = 0.1f;
    asvk_param_store *ps = asvk_params_create();
    OKI(asvk_model_declare(&arch, ps));
    OKI(asvk_params_alloc(ctx, ps, 0));
    OKI(asvk_model_init(ctx, &arch, ps, 7 + (uint64_t)round));
    /* Non-trivial BN affine parameters and biases, so their gradients are exercised. */
    for (uint32_t i = 0; i < ps->count; i++) {
        const asvk_store_item *p = &ps->items[i];
        if (p->group == ASVK_GROUP_STATE) continue; /* (the folded tensors are state too) */
        float *v = malloc(p->floats * 4);
        OKI(asvk_params_download(ctx, ps, (int)i, v));
        for (uint64_t k = 0; k < p->floats; k++) v[k] += test_rand_uniform(-0.2f, 0.2f);
        OKI(asvk_params_upload(ctx, ps, (int)i, v));
        free(v);
    }
    asvk_model m;
    OKI(asvk_model_build(&arch, ps, batch, res, true, smoothing, &m));
    asvk_graph_val(m.graph, m.logits)->kind = ASVK_VAL_OUTPUT; /* keep it for reading */
    OKI(asvk_graph_backward(m.graph, m.loss));
    asvk_val step = asvk_graph_step(m.graph);
    OKI(asvk_graph_plan(ctx, m.graph, NULL));

    uint64_t nx = (uint64_t)batch * res * res * cin;
    float *x = malloc(nx * 4), labels[8], st[ASVK_STEP_FLOATS] = {0};
    test_fill_uniform(x, nx, -2, 2);
    for (uint32_t i = 0; i < batch; i++) labels[i] = (float)test_rand_range(0, arch.num_classes - 1);
    st[ASVK_STEP_LOSS_SCALE] = 1;
    OKI(asvk_buffer_upload(ctx, asvk_graph_val(m.graph, m.input)->buf, 0, x, nx * 4));
    OKI(asvk_buffer_upload(ctx, asvk_graph_val(m.graph, m.labels)->buf, 0, labels, batch * 4));
    OKI(asvk_buffer_upload(ctx, asvk_graph_val(m.graph, step)->buf, 0, st, sizeof st));

    /* Parameters before the step (BN running stats too: the step updates them). */
    uint32_t n = ps->count;
    asvk_st_tensor *ts = calloc(2 * n + 4, sizeof *ts);
    float **data = calloc(2 * n + 4, sizeof *data);
    char (*names)[128] = calloc(2 * n + 4, sizeof *names);
    size_t nt = 0;
    for (uint32_t i = 0; i < n; i++) {
        const asvk_store_item *p = &ps->items[i];
        if (asvk_fold_is_derived(p->name)) continue; /* inference-only, not in the PyTorch model */
        data[nt] = malloc(p->floats * 4);
        OKI(asvk_params_download(ctx, ps, (int)i, data[nt]));
        snprintf(names[nt], sizeof names[nt], "%s", p->name);
        ts[nt] = (asvk_st_tensor){names[nt], p->ndim, {p->dims[0], p->dims[1], p->dims[2], p->dims[3]}, data[nt]};
        nt++;
    }
    asvk_stream *s;
    OKI(asvk_stream_create(ctx, &s));
    OKI(asvk_graph_record(m.graph, s, NULL));
    OKI(asvk_stream_run(s));
    asvk_stream_destroy(s);
    for (uint32_t i = 0; i < n; i++) {
        const asvk_store_item *p = &ps->items[i];
        if (p->group == ASVK_GROUP_STATE) continue;
        data[nt] = malloc(p->floats * 4);
        OKI(asvk_buffer_download(ctx, asvk_params_grad(ps, (int)i), 0, data[nt], p->floats * 4));
        snprintf(names[nt], sizeof names[nt], "grad.%s", p->name);
        ts[nt] = (asvk_st_tensor){names[nt], p->ndim, {p->dims[0], p->dims[1], p->dims[2], p->dims[3]}, data[nt]};
        nt++;
    }
    float *logits = malloc((uint64_t)batch * arch.num_classes * 4), loss;
    OKI(asvk_buffer_download(ctx, asvk_graph_val(m.graph, m.logits)->buf, 0, logits, (uint64_t)batch * arch.num_classes * 4));
    OKI(asvk_buffer_download(ctx, asvk_graph_val(m.graph, m.loss)->buf, 0, &loss, 4));
    ts[nt++] = (asvk_st_tensor){"input", 4, {batch, res, res, cin}, x};
    ts[nt++] = (asvk_st_tensor){"labels", 1, {batch}, labels};
    ts[nt++] = (asvk_st_tensor){"logits", 2, {batch, arch.num_classes}, logits};
    ts[nt++] = (asvk_st_tensor){"loss", 1, {1}, &loss};
    char dir[] = "/tmp/asvk-parity-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char path[256], cmd[1024], sm[32];
    snprintf(path, sizeof path, "%s/state.safetensors", dir);
    snprintf(sm, sizeof sm, "%.9g", smoothing);
    asvk_st_meta meta[1] = {{"label_smoothing", sm}};
    OKI(asvk_safetensors_write(path, ts, nt, meta, 1));
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/torch/parity.py %s %s", ASVK_SOURCE_DIR, arch_path, path);
    int rc = system(cmd);
    rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    remove(path);
    rmdir(dir);
    for (size_t i = 0; i < 2 * n + 4; i++) free(data[i]);
    free(data), free(names), free(ts), free(x), free(logits);
    asvk_graph_destroy(ctx, m.graph);
    asvk_params_destroy(ctx, ps);
    asvk_arch_free(&arch);
    return rc;
}

static void parity(const char *arch_path) {
    int rc = 3;
    for (int round = 0; round < 6 && rc == 3; round++) rc = attempt(arch_path, round);
    CHECK(rc == 0, "PyTorch parity failed on %s (exit %d): see the table above", arch_path, rc);
}

/* conv, mbconv with and without SE, pools, dropout, linear: parity_arch.json */
static void one_batch_matches_pytorch(void) { parity(ASVK_SOURCE_DIR "/tests/torch/parity_arch.json"); }

/* AutoSpace cells: every edge operator, strided edges, WEIGHTED merges (their
 * logits are parameters with gradients), SE, expand 1/2/3, four activations */
static void cells_match_pytorch(void) { parity(ASVK_SOURCE_DIR "/tests/torch/parity_cells_arch.json"); }

int main(int argc, char **argv) {
    static const test_case cases[] = {{"one_batch_matches_pytorch", one_batch_matches_pytorch},
                                      {"cells_match_pytorch", cells_match_pytorch}};
    return test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
