/* Optimizer steps (runtime/kernels/optim.h) against the double-precision
 * reference of PyTorch's formulas (tests/ref/optim_ref.c). Every case
 * records its step ONCE and replays it for several steps, uploading new
 * gradients and a new step buffer (learning rate, t) before each replay, as
 * training does. After each step the GPU state is compared with one
 * reference step taken from the GPU's previous (fp32) state, with the
 * per-element rounding bounds the reference derives (a few ulp of each
 * term: tight, and independent of how many steps ran before). */
#include <stdlib.h>
#include <string.h>

#include "runtime/kernels/optim.h"
#include "tests/harness.h"
#include "tests/ref/optim_ref.h"

static float *host(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

/* n floats at element offset off of a fresh buffer, with room around. */
typedef struct { asvk_buffer buf, view; uint32_t off; } dvec;

static asvk_status dv_create(asvk_context *ctx, const float *v, size_t n, uint32_t off, dvec *d) {
    float *tmp = host(n + off + 4);
    for (size_t i = 0; i < n + off + 4; i++) tmp[i] = 777.0f;
    memcpy(tmp + off, v, n * 4);
    /* large: sliced_updates binds less than a whole vector (ASVK_MAX_BINDING) */
    asvk_status st = asvk_buffer_alloc_large(ctx, (n + off + 4) * 4, &d->buf);
    if (!st) st = asvk_buffer_upload(ctx, d->buf, 0, tmp, (n + off + 4) * 4);
    free(tmp);
    d->view = asvk_buffer_sub(d->buf, off * 4ull, n * 4ull);
    d->off = off;
    return st;
}

static asvk_status dv_read(asvk_context *ctx, const dvec *d, float *v, size_t n) {
    return asvk_buffer_download(ctx, d->buf, d->off * 4ull, v, n * 4);
}

static asvk_status dv_write(asvk_context *ctx, const dvec *d, const float *v, size_t n) {
    return asvk_buffer_upload(ctx, d->buf, d->off * 4ull, v, n * 4);
}

static int compare(const char *name, const char *what, int stepno, const float *got, const double *want,
                   const double *tol, size_t n) {
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        if (!(fabs(got[i] - want[i]) <= tol[i]) && bad++ < 3)
            CHECK(0, "%s step %d: %s[%zu] = %.9g, reference %.9g (tolerance %.3g)", name, stepno, what, i, got[i],
                  want[i], tol[i]);
    return bad;
}

/* Gradients of a step: uniform in [-1, 1], with some exact zeros and some
 * tiny values (AdamW's v near 0, where eps matters). */
static void gradients(float *g, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t kind = test_rand_range(0, 9);
        g[i] = kind == 0 ? 0.0f : kind == 1 ? test_rand_uniform(-1e-6f, 1e-6f) : test_rand_uniform(-1, 1);
    }
}

typedef struct {
    float lr, t;
} step_values;

static void set_step(float *sb, step_values v, uint32_t lr_slot) {
    for (int i = 0; i < ASVK_STEP_FLOATS; i++) sb[i] = 0;
    /* The other learning-rate slot holds a decoy: reading the wrong slot shows. */
    sb[ASVK_STEP_LR] = lr_slot == ASVK_STEP_LR ? v.lr : 0.5f;
    sb[ASVK_STEP_LR_ARCH] = lr_slot == ASVK_STEP_LR_ARCH ? v.lr : 0.5f;
    sb[ASVK_STEP_T] = v.t;
}

/* ---- SGD ---- */

/* The context run_sgd and run_adamw use: the shared one, or sliced_updates'. */
static asvk_context *optim_ctx;

static void run_sgd(const asvk_sgd_config *c, size_t n, uint32_t off, const step_values *steps, int nsteps) {
    asvk_context *ctx = optim_ctx ? optim_ctx : test_context();
    float *p = host(n), *g = host(n), *buf = host(n), *pg = host(n), *bg = host(n), sb[ASVK_STEP_FLOATS];
    double *pr = calloc(n, 8), *br = calloc(n, 8), *tp = calloc(n, 8), *tb = calloc(n, 8);
    test_fill_uniform(p, n, -1, 1);
    memset(buf, 0, n * 4); /* momentum buffers start at zero (optim.h) */
    gradients(g, n);
    bool mom = c->momentum != 0;
    dvec P, G, B, S;
    OK(dv_create(ctx, p, n, off, &P));
    OK(dv_create(ctx, g, n, off ^ 3u, &G));
    OK(dv_create(ctx, buf, n, off ^ 1u, &B));
    set_step(sb, steps[0], c->lr_slot);
    OK(dv_create(ctx, sb, ASVK_STEP_FLOATS, off % 3, &S));
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    asvk_buffer none = {0};
    OK(asvk_optim_sgd(s, c, S.view, n, P.view, G.view, mom ? B.view : none));
    char name[128];
    snprintf(name, sizeof name, "SGD n %zu offset %u momentum %g wd %g%s%s", n, off, (double)c->momentum,
             (double)c->weight_decay, c->nesterov ? " nesterov" : "",
             c->lr_slot == ASVK_STEP_LR_ARCH ? " arch-lr" : "");
    for (int k = 0; k < nsteps; k++) {
        if (k > 0) { /* new gradients and step values, the same recording */
            gradients(g, n);
            OK(dv_write(ctx, &G, g, n));
            set_step(sb, steps[k], c->lr_slot);
            OK(dv_write(ctx, &S, sb, ASVK_STEP_FLOATS));
        }
        OK(asvk_stream_run(s));
        OK(dv_read(ctx, &P, pg, n));
        if (mom) OK(dv_read(ctx, &B, bg, n));
        optim_ref_sgd(c, steps[k].lr, n, g, p, buf, pr, br, tp, tb);
        compare(name, "p", k + 1, pg, pr, tp, n);
        if (mom) compare(name, "momentum", k + 1, bg, br, tb, n);
        if (mom && k == 0 && c->weight_decay == 0) {
            /* PyTorch's first step sets buf = d = g: exactly, not momentum * g. */
            int bad = 0;
            for (size_t i = 0; i < n; i++)
                if (bg[i] != g[i] && bad++ < 3) CHECK(0, "%s: first-step buffer[%zu] = %.9g, want g = %.9g", name, i,
                                                      bg[i], g[i]);
        }
        memcpy(p, pg, n * 4);
        if (mom) memcpy(buf, bg, n * 4);
    }
    asvk_stream_destroy(s);
    asvk_buffer_free(ctx, &P.buf), asvk_buffer_free(ctx, &G.buf), asvk_buffer_free(ctx, &B.buf);
    asvk_buffer_free(ctx, &S.buf);
    free(p), free(g), free(buf), free(pg), free(bg), free(pr), free(br), free(tp), free(tb);
}

static const step_values lr_schedule[] = {{0.1f, 1}, {0.05f, 2}, {0.2f, 3}, {0.01f, 4}, {0.3f, 5}};

static void sgd_steps(void) {
    const asvk_sgd_config cfg[] = {
        {0, 0, false, ASVK_STEP_LR},       {0.9f, 0, false, ASVK_STEP_LR},        {0.9f, 0, true, ASVK_STEP_LR},
        {0.9f, 5e-4f, true, ASVK_STEP_LR}, {0.8f, 0.01f, false, ASVK_STEP_LR},    {0, 0.1f, false, ASVK_STEP_LR},
        {0.5f, 1e-3f, false, ASVK_STEP_LR_ARCH},
    };
    const size_t sizes[] = {1, 7, 1003, 64};
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
        size_t n = sizes[i % 4];
        uint32_t off = i % 2 ? (uint32_t)i : 4 * (uint32_t)(i % 3); /* odd views and the vec4 path */
        run_sgd(&cfg[i], n, off, lr_schedule, 5);
    }
}

/* ---- AdamW ---- */

static void run_adamw(const asvk_adamw_config *c, size_t n, uint32_t off, const step_values *steps, int nsteps) {
    asvk_context *ctx = optim_ctx ? optim_ctx : test_context();
    float *p = host(n), *g = host(n), *m = host(n), *v = host(n), *pg = host(n), *mg = host(n), *vg = host(n);
    float sb[ASVK_STEP_FLOATS];
    double *pr = calloc(n, 8), *mr = calloc(n, 8), *vr = calloc(n, 8);
    double *tp = calloc(n, 8), *tm = calloc(n, 8), *tv = calloc(n, 8);
    test_fill_uniform(p, n, -1, 1);
    memset(m, 0, n * 4);
    memset(v, 0, n * 4);
    gradients(g, n);
    dvec P, G, M, V, S;
    OK(dv_create(ctx, p, n, off, &P));
    OK(dv_create(ctx, g, n, off ^ 2u, &G));
    OK(dv_create(ctx, m, n, off ^ 1u, &M));
    OK(dv_create(ctx, v, n, off, &V));
    set_step(sb, steps[0], c->lr_slot);
    OK(dv_create(ctx, sb, ASVK_STEP_FLOATS, 1, &S));
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    OK(asvk_optim_adamw(s, c, S.view, n, P.view, G.view, M.view, V.view));
    char name[128];
    snprintf(name, sizeof name, "AdamW n %zu offset %u betas %g %g eps %g wd %g%s", n, off, (double)c->beta1,
             (double)c->beta2, (double)c->eps, (double)c->weight_decay,
             c->lr_slot == ASVK_STEP_LR_ARCH ? " arch-lr" : "");
    for (int k = 0; k < nsteps; k++) {
        if (k > 0) {
            gradients(g, n);
            OK(dv_write(ctx, &G, g, n));
            set_step(sb, steps[k], c->lr_slot);
            OK(dv_write(ctx, &S, sb, ASVK_STEP_FLOATS));
        }
        OK(asvk_stream_run(s));
        OK(dv_read(ctx, &P, pg, n));
        OK(dv_read(ctx, &M, mg, n));
        OK(dv_read(ctx, &V, vg, n));
        optim_ref_adamw(c, steps[k].lr, steps[k].t, n, g, p, m, v, pr, mr, vr, tp, tm, tv);
        char label[32];
        snprintf(label, sizeof label, "p (t=%g)", (double)steps[k].t);
        compare(name, label, k + 1, pg, pr, tp, n);
        compare(name, "m", k + 1, mg, mr, tm, n);
        compare(name, "v", k + 1, vg, vr, tv, n);
        memcpy(p, pg, n * 4), memcpy(m, mg, n * 4), memcpy(v, vg, n * 4);
    }
    asvk_stream_destroy(s);
    asvk_buffer_free(ctx, &P.buf), asvk_buffer_free(ctx, &G.buf), asvk_buffer_free(ctx, &M.buf);
    asvk_buffer_free(ctx, &V.buf), asvk_buffer_free(ctx, &S.buf);
    free(p), free(g), free(m), free(v), free(pg), free(mg), free(vg);
    free(pr), free(mr), free(vr), free(tp), free(tm), free(tv);
}

static void adamw_steps(void) {
    /* t = 1..4 (bias corrections far from 1: 1 - 0.999^1 = 0.001), then a
     * jump to t = 1000 and t = 2^20 (corrections near 1), with the learning
     * rate changing at every replay. */
    const step_values sched[] = {{1e-3f, 1}, {3e-3f, 2}, {1e-2f, 3}, {2e-3f, 4}, {5e-3f, 1000}, {1e-3f, 1048576}};
    const asvk_adamw_config cfg[] = {
        {0.9f, 0.999f, 1e-8f, 0.01f, ASVK_STEP_LR},
        {0.5f, 0.9f, 1e-3f, 0, ASVK_STEP_LR},
        {0, 0.99f, 1e-6f, 0.1f, ASVK_STEP_LR},              /* beta1 = 0: no first-moment correction */
        {0.9f, 0.999f, 1e-8f, 0, ASVK_STEP_LR_ARCH},        /* architecture learning rate */
        {0.95f, 0.9999f, 1e-8f, 5e-4f, ASVK_STEP_LR},
    };
    const size_t sizes[] = {1003, 5, 64, 13, 256};
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++)
        run_adamw(&cfg[i], sizes[i], i % 2 ? (uint32_t)(2 * i + 1) : 4 * (uint32_t)(i % 3), sched, 6);
}

/* A parameter group larger than one binding (a once-for-all supernet's 41M
 * weights against lavapipe's 128 MiB): on a context that binds at most 4 KiB
 * (ASVK_MAX_BINDING), 5003 floats with an unaligned offset are updated in
 * slices, every element as the reference has it; a dispatch binding more
 * than 4 KiB would fail (engine/stream.c). */
static void sliced_updates(void) {
    setenv("ASVK_MAX_BINDING", "4K", 1);
    asvk_status st = test_context_new(&optim_ctx);
    unsetenv("ASVK_MAX_BINDING");
    OK(st);
    CHECK(asvk_context_device(optim_ctx)->max_storage_buffer_range == 4096, "ASVK_MAX_BINDING not applied");
    const asvk_sgd_config sgd = {0.9f, 1e-4f, true, ASVK_STEP_LR};
    run_sgd(&sgd, 5003, 3, lr_schedule, 3);
    const step_values sched[] = {{1e-3f, 1}, {3e-3f, 2}, {1e-2f, 3}};
    const asvk_adamw_config adam = {0.9f, 0.999f, 1e-8f, 0.01f, ASVK_STEP_LR};
    run_adamw(&adam, 5003, 5, sched, 3);
    test_context_free(optim_ctx);
    optim_ctx = NULL;
}

/* Two groups in one recorded stream, as a training step has them: network
 * weights with SGD at ASVK_STEP_LR and architecture parameters with AdamW
 * at ASVK_STEP_LR_ARCH, views into one parameter buffer; three replays with
 * new learning rates. Each group must see its own rate. */
static void two_groups_one_stream(void) {
    asvk_context *ctx = test_context();
    const size_t nw = 50, na = 9;
    float p[59], g[59], buf[50] = {0}, m[9] = {0}, v[9] = {0}, out[59], bout[50], mout[9], vout[9];
    float sb[ASVK_STEP_FLOATS] = {0};
    test_fill_uniform(p, nw + na, -1, 1);
    gradients(g, nw + na);
    asvk_buffer P, G, B, M, V, S;
    OK(test_upload(ctx, p, nw + na, &P));
    OK(test_upload(ctx, g, nw + na, &G));
    OK(test_upload(ctx, buf, nw, &B));
    OK(test_upload(ctx, m, na, &M));
    OK(test_upload(ctx, v, na, &V));
    OK(test_upload(ctx, sb, ASVK_STEP_FLOATS, &S));
    asvk_sgd_config sc = {0.9f, 1e-4f, true, ASVK_STEP_LR};
    asvk_adamw_config ac = {0.9f, 0.999f, 1e-8f, 0, ASVK_STEP_LR_ARCH};
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    OK(asvk_optim_sgd(s, &sc, S, nw, asvk_buffer_sub(P, 0, nw * 4), asvk_buffer_sub(G, 0, nw * 4), B));
    OK(asvk_optim_adamw(s, &ac, S, na, asvk_buffer_sub(P, nw * 4, na * 4), asvk_buffer_sub(G, nw * 4, na * 4), M, V));
    const float lrs[3][2] = {{0.1f, 3e-4f}, {0.02f, 1e-3f}, {0.3f, 6e-4f}};
    double pr[59], br[50], mr[9], vr[9], tp[59], tb[50], tm[9], tv[9];
    for (int k = 0; k < 3; k++) {
        sb[ASVK_STEP_LR] = lrs[k][0], sb[ASVK_STEP_LR_ARCH] = lrs[k][1], sb[ASVK_STEP_T] = (float)(k + 1);
        OK(asvk_buffer_upload(ctx, S, 0, sb, sizeof sb));
        OK(asvk_stream_run(s));
        OK(test_download(ctx, P, out, nw + na));
        OK(test_download(ctx, B, bout, nw));
        OK(test_download(ctx, M, mout, na));
        OK(test_download(ctx, V, vout, na));
        optim_ref_sgd(&sc, lrs[k][0], nw, g, p, buf, pr, br, tp, tb);
        optim_ref_adamw(&ac, lrs[k][1], k + 1, na, g + nw, p + nw, m, v, pr + nw, mr, vr, tp + nw, tm, tv);
        compare("two groups: SGD", "p", k + 1, out, pr, tp, nw);
        compare("two groups: SGD", "momentum", k + 1, bout, br, tb, nw);
        compare("two groups: AdamW", "p", k + 1, out + nw, pr + nw, tp + nw, na);
        compare("two groups: AdamW", "m", k + 1, mout, mr, tm, na);
        compare("two groups: AdamW", "v", k + 1, vout, vr, tv, na);
        memcpy(p, out, sizeof p), memcpy(buf, bout, sizeof buf), memcpy(m, mout, sizeof m), memcpy(v, vout, sizeof v);
    }
    asvk_stream_stats st;
    asvk_stream_stats_get(s, &st);
    CHECK(st.dispatches == 2 && st.submits == 3, "two groups: %u dispatches, %u submits; want 2 and 3", st.dispatches,
          st.submits);
    asvk_stream_destroy(s);
    asvk_buffer_free(ctx, &P), asvk_buffer_free(ctx, &G), asvk_buffer_free(ctx, &B), asvk_buffer_free(ctx, &M);
    asvk_buffer_free(ctx, &V), asvk_buffer_free(ctx, &S);
}

static void errors(void) {
    asvk_context *ctx = test_context();
    asvk_buffer b;
    OK(asvk_buffer_alloc(ctx, 256, &b));
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    asvk_sgd_config sc = {0, 0, true, ASVK_STEP_LR};
    CHECK(asvk_optim_sgd(s, &sc, b, 8, b, b, b) == ASVK_ERR_USAGE, "nesterov without momentum accepted");
    sc = (asvk_sgd_config){0.9f, 0, false, ASVK_STEP_T};
    CHECK(asvk_optim_sgd(s, &sc, b, 8, b, b, b) == ASVK_ERR_USAGE, "the t slot accepted as a learning rate");
    asvk_adamw_config ac = {0.9f, 1.0f, 1e-8f, 0, ASVK_STEP_LR};
    CHECK(asvk_optim_adamw(s, &ac, b, 8, b, b, b, b) == ASVK_ERR_USAGE, "beta2 = 1 accepted");
    ac.beta2 = 0.999f;
    CHECK(asvk_optim_adamw(s, &ac, asvk_buffer_sub(b, 0, 32), 8, b, b, b, b) == ASVK_ERR_INTERNAL,
          "a step buffer of 8 floats accepted");
    CHECK(asvk_optim_adamw(s, &ac, b, 100, b, b, b, b) == ASVK_ERR_INTERNAL, "undersized parameters accepted");
    asvk_stream_destroy(s);
    asvk_buffer_free(ctx, &b);
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"sgd_steps", sgd_steps},
        {"adamw_steps", adamw_steps},
        {"two_groups_one_stream", two_groups_one_stream},
        {"sliced_updates", sliced_updates},
        {"errors", errors},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
