/* Channel concat / split (runtime/kernels/concat.h). Both are copies (the
 * split with accumulation adds once), so every check is exact: a copy must
 * reproduce the bits, and old + dy is one correctly rounded fp32 addition
 * (Vulkan requires it), which the host computes identically. Sentinels
 * around every view catch stray writes. */
#include <stdlib.h>
#include <string.h>

#include "runtime/kernels/concat.h"
#include "tests/harness.h"

#define GUARD 4u
#define SENTINEL 12345.0f

static float *host(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

typedef struct { asvk_buffer buf, view; uint32_t off; size_t n; } dtensor;

static asvk_status dt_create(asvk_context *ctx, const float *v, size_t n, uint32_t off, dtensor *t) {
    size_t total = off + n + GUARD;
    float *tmp = host(total);
    for (size_t i = 0; i < total; i++) tmp[i] = SENTINEL;
    if (v) memcpy(tmp + off, v, n * sizeof(float));
    asvk_status st = test_upload(ctx, tmp, total, &t->buf);
    free(tmp);
    t->view = asvk_buffer_sub(t->buf, off * 4ull, n * 4ull);
    t->off = off, t->n = n;
    return st;
}

static bool dt_read(asvk_context *ctx, const dtensor *t, float *v, const char *what) {
    size_t total = t->off + t->n + GUARD;
    float *tmp = host(total);
    asvk_status st = test_download(ctx, t->buf, tmp, total);
    CHECK(st == ASVK_OK, "download %s: %s", what, asvk_error_message());
    bool ok = st == ASVK_OK;
    for (size_t i = 0; ok && i < total; i++)
        if ((i < t->off || i >= t->off + t->n) && tmp[i] != SENTINEL) {
            CHECK(0, "%s: float %zu outside the view (offset %u, %zu floats) was written", what, i, t->off, t->n);
            ok = false;
        }
    if (ok) memcpy(v, tmp + t->off, t->n * sizeof(float));
    free(tmp);
    return ok;
}

static void dt_free(asvk_context *ctx, dtensor *t) {
    if (t->buf.block) asvk_buffer_free(ctx, &t->buf);
}

typedef struct {
    uint32_t pixels, parts;
    uint32_t ch[8];
    uint32_t xoff[8], yoff;
    bool acc[8], skip[8];
} cat_case;

static void run_case(const cat_case *c) {
    asvk_context *ctx = test_context();
    uint32_t C = 0, beg[8];
    for (uint32_t i = 0; i < c->parts; i++) beg[i] = C, C += c->ch[i];
    size_t ny = (size_t)c->pixels * C;
    float *x[8], *dx0[8], *dx = host(ny), *y = host(ny), *dy = host(ny);
    dtensor X[8] = {0}, DX[8] = {0}, Y, DY;
    asvk_buffer xv[8], dxv[8];
    for (uint32_t i = 0; i < c->parts; i++) {
        size_t n = (size_t)c->pixels * c->ch[i];
        x[i] = host(n), dx0[i] = host(n);
        test_fill_uniform(x[i], n, -1, 1);
        test_fill_uniform(dx0[i], n, -1, 1);
        /* zero-channel parts get a small dummy buffer (never touched) */
        OK(dt_create(ctx, x[i], n ? n : 1, c->xoff[i], &X[i]));
        OK(dt_create(ctx, dx0[i], n ? n : 1, c->xoff[i] ^ 2u, &DX[i]));
        xv[i] = X[i].view;
        dxv[i] = c->skip[i] ? (asvk_buffer){0} : DX[i].view;
    }
    test_fill_uniform(dy, ny, -1, 1);
    OK(dt_create(ctx, NULL, ny, c->yoff, &Y));
    OK(dt_create(ctx, dy, ny, c->yoff ^ 1u, &DY));
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    OK(asvk_concat_forward(s, c->pixels, c->parts, c->ch, xv, Y.view));
    OK(asvk_concat_backward(s, c->pixels, c->parts, c->ch, DY.view, dxv, c->acc));
    asvk_stream_stats stats;
    asvk_stream_stats_get(s, &stats);
    CHECK(stats.dispatches <= 2, "concat + split took %u dispatches, want one each", stats.dispatches);
    OK(asvk_stream_run(s));
    asvk_stream_destroy(s);

    char name[200];
    int len = snprintf(name, sizeof name, "concat %u pixels, channels", c->pixels);
    for (uint32_t i = 0; i < c->parts && len < 150; i++)
        len += snprintf(name + len, sizeof name - len, " %u%s%s@%u", c->ch[i], c->acc[i] ? "+" : "",
                        c->skip[i] ? "(skip)" : "", c->xoff[i]);
    snprintf(name + len, sizeof name - len, ", y@%u", c->yoff);
    int bad = 0;
    if (dt_read(ctx, &Y, y, "concat y"))
        for (uint32_t r = 0; r < c->pixels; r++)
            for (uint32_t i = 0; i < c->parts; i++)
                for (uint32_t k = 0; k < c->ch[i]; k++) {
                    float got = y[(size_t)r * C + beg[i] + k], want = x[i][(size_t)r * c->ch[i] + k];
                    if (memcmp(&got, &want, 4) && bad++ < 3)
                        CHECK(0, "%s: y[%u][%u] = %.9g, want part %u [%u][%u] = %.9g", name, r, beg[i] + k, got, i, r,
                              k, want);
                }
    for (uint32_t i = 0; i < c->parts; i++) {
        if (c->ch[i] == 0) continue;
        size_t n = (size_t)c->pixels * c->ch[i];
        if (!dt_read(ctx, &DX[i], dx, "split dx")) continue;
        for (uint32_t r = 0; r < c->pixels; r++)
            for (uint32_t k = 0; k < c->ch[i]; k++) {
                size_t e = (size_t)r * c->ch[i] + k;
                float d = dy[(size_t)r * C + beg[i] + k];
                float want = c->skip[i] ? dx0[i][e] : c->acc[i] ? dx0[i][e] + d : d;
                if (memcmp(&dx[e], &want, 4) && bad++ < 6)
                    CHECK(0, "%s: dx_%u[%u][%u] = %.9g, want %.9g", name, i, r, k, dx[e], want);
            }
        (void)n;
    }
    for (uint32_t i = 0; i < c->parts; i++) dt_free(ctx, &X[i]), dt_free(ctx, &DX[i]), free(x[i]), free(dx0[i]);
    dt_free(ctx, &Y), dt_free(ctx, &DY);
    free(dx), free(y), free(dy);
}

static void random_cases(void) {
    for (int r = 0; r < 30; r++) {
        cat_case c = {.pixels = test_rand_range(1, 60), .parts = test_rand_range(1, 8), .yoff = test_rand_range(0, 7)};
        bool aligned = r % 3 == 0;
        for (uint32_t i = 0; i < c.parts; i++) {
            c.ch[i] = aligned ? 4 * test_rand_range(1, 4) : test_rand_range(r % 5 == 1 ? 0 : 1, 13);
            c.xoff[i] = aligned ? 4 * test_rand_range(0, 2) : test_rand_range(0, 7);
            c.acc[i] = test_rand_range(0, 1);
            c.skip[i] = test_rand_range(0, 5) == 0;
        }
        if (aligned) c.yoff &= ~3u;
        run_case(&c);
    }
}

static void edge_cases(void) {
    /* one part (a copy), eight parts of one channel, one pixel, a typical NHWC block */
    cat_case a = {.pixels = 37, .parts = 1, .ch = {5}, .xoff = {1}, .yoff = 2};
    cat_case b = {.pixels = 9, .parts = 8, .ch = {1, 1, 1, 1, 1, 1, 1, 1}, .xoff = {0, 1, 2, 3, 4, 5, 6, 7},
                  .acc = {1, 0, 1, 0, 1, 0, 1, 0}};
    cat_case d = {.pixels = 1, .parts = 3, .ch = {3, 4, 2}, .yoff = 3};
    cat_case e = {.pixels = 2 * 14 * 14, .parts = 3, .ch = {16, 24, 8}, .acc = {0, 1, 0}};
    cat_case f = {.pixels = 5, .parts = 2, .ch = {6, 6}, .skip = {1, 1}};
    run_case(&a), run_case(&b), run_case(&d), run_case(&e), run_case(&f);
}

static void errors(void) {
    asvk_context *ctx = test_context();
    asvk_buffer b;
    OK(asvk_buffer_alloc(ctx, 64, &b));
    asvk_buffer xs[9] = {b, b, b, b, b, b, b, b, b};
    uint32_t ch[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    CHECK(asvk_concat_forward(s, 1, 9, ch, xs, b) == ASVK_ERR_USAGE, "nine parts accepted");
    CHECK(asvk_concat_forward(s, 1, 0, ch, xs, b) == ASVK_ERR_USAGE, "zero parts accepted");
    ch[0] = 100;
    CHECK(asvk_concat_forward(s, 1, 2, ch, xs, b) == ASVK_ERR_INTERNAL, "undersized y accepted");
    asvk_stream_destroy(s);
    asvk_buffer_free(ctx, &b);
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"random_cases", random_cases},
        {"edge_cases", edge_cases},
        {"errors", errors},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
