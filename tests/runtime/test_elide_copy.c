/* Gradient copies elided at planning (runtime/ops/elide_copy.c): a graph
 * planned with the rewrites gives bit-identical loss and gradients to the
 * same graph planned without them, one dispatch fewer per elided copy, on
 * random DAGs of matmuls and adds (values read many times, adds of a value
 * with itself) and on the residual patterns whose counts are known: both
 * copies of a residual add go, the block input's only while its gradient's
 * accumulation comes after every reader of the add's gradient. */
#include <stdlib.h>
#include <string.h>

#include "runtime/graph.h"
#include "runtime/ops/basic.h"
#include "runtime/params.h"
#include "tests/harness.h"

enum { M = 6, H = 12, MAXV = 28 };

/* op k: a matmul of v[a] (b < 0) or an add of v[a] and v[b]; v[0] is the
 * input's matmul. The loss reads v[count - 1] and, if out_grad >= 0, that
 * value's gradient is made an output (it must keep its own bytes). */
typedef struct { int a[MAXV], b[MAXV], count, out_grad; } dag;

typedef struct {
    float loss, *grads;
    uint32_t dispatches, elided, copies;
    uint64_t planned;
} run_result;

static uint32_t weights(const dag *d) {
    uint32_t w = 1;
    for (int i = 1; i < d->count; i++) w += d->b[i] < 0;
    return w;
}

static void run(const dag *d, bool rewrite, const float *wv, const float *x, const float *r, run_result *out) {
    asvk_context *ctx = test_context();
    uint32_t nw = weights(d);
    asvk_param_store *ps = asvk_params_create();
    for (uint32_t i = 0; i < nw; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, "w%u", i);
        asvk_params_add(ps, nm, 2, (uint32_t[]){H, H}, ASVK_GROUP_DECAY);
    }
    OK(asvk_params_alloc(ctx, ps, 0));
    for (uint32_t i = 0; i < nw; i++) OK(asvk_params_upload(ctx, ps, (int)i, wv + (size_t)i * H * H));
    asvk_graph *g = asvk_graph_create(ps);
    asvk_val vx = asvk_graph_value(g, "x", ASVK_VAL_INPUT, 2, (uint32_t[]){M, H});
    asvk_val vr = asvk_graph_value(g, "r", ASVK_VAL_INPUT, 2, (uint32_t[]){M, H});
    asvk_val v[MAXV];
    uint32_t w = 0;
    for (int i = 0; i < d->count; i++) {
        char nm[16], wn[16];
        snprintf(nm, sizeof nm, "v%d", i);
        if (i == 0 || d->b[i] < 0) {
            snprintf(wn, sizeof wn, "w%u", w++);
            v[i] = asvk_op_matmul(g, nm, i ? v[d->a[i]] : vx, asvk_graph_param(g, wn), M, H, H);
        } else {
            v[i] = asvk_op_add(g, nm, v[d->a[i]], v[d->b[i]]);
        }
    }
    asvk_val loss = asvk_op_dot_loss(g, "loss", v[d->count - 1], vr);
    CHECK(loss != ASVK_NO_VAL, "building failed: %s", asvk_error_message());
    OK(asvk_graph_backward(g, loss));
    asvk_val og = d->out_grad >= 0 ? asvk_graph_val(g, v[d->out_grad])->grad : ASVK_NO_VAL;
    if (og != ASVK_NO_VAL) asvk_graph_val(g, og)->kind = ASVK_VAL_OUTPUT;
    asvk_graph_set_fusion(g, rewrite);
    asvk_plan_report rep;
    OK(asvk_graph_plan(ctx, g, &rep));
    out->elided = rep.elided_copies, out->planned = rep.planned_bytes, out->copies = 0;
    uint32_t nn;
    const asvk_node *nodes = asvk_graph_nodes(g, &nn);
    for (uint32_t i = 0; i < nn; i++)
        if (nodes[i].op == ASVK_OP_GRAD_COPY && !ASVK_CATTR(&nodes[i], asvk_grad_copy_attr)->accumulate) out->copies++;
    OK(asvk_buffer_upload(ctx, asvk_graph_val(g, vx)->buf, 0, x, M * H * 4));
    OK(asvk_buffer_upload(ctx, asvk_graph_val(g, vr)->buf, 0, r, M * H * 4));
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    OK(asvk_graph_record(g, s, &rep));
    out->dispatches = rep.dispatches;
    /* read after the second replay: a gradient accumulated into the bytes
     * of the gradient it was copied from must not carry over a step */
    OK(asvk_stream_run(s));
    OK(asvk_stream_run(s));
    OK(asvk_buffer_download(ctx, asvk_graph_val(g, loss)->buf, 0, &out->loss, 4));
    uint32_t extra = og != ASVK_NO_VAL ? M * H : 0;
    out->grads = malloc(((size_t)nw * H * H + extra) * 4);
    for (uint32_t i = 0; i < nw; i++) OK(asvk_buffer_download(ctx, asvk_params_grad(ps, (int)i), 0, out->grads + (size_t)i * H * H, H * H * 4));
    if (extra) OK(asvk_buffer_download(ctx, asvk_graph_val(g, og)->buf, 0, out->grads + (size_t)nw * H * H, extra * 4));
    asvk_stream_destroy(s);
    asvk_graph_destroy(ctx, g);
    asvk_params_destroy(ctx, ps);
}

/* Runs d with and without the rewrites: identical bits, one dispatch fewer
 * per elided copy. Returns the elided count and adds the refused ones. */
static uint32_t compare(const dag *d, const char *what, uint32_t *refused) {
    uint32_t nw = weights(d);
    float *wv = malloc((size_t)nw * H * H * 4), x[M * H], r[M * H];
    test_fill_uniform(wv, (uint64_t)nw * H * H, -0.45f, 0.45f); /* ~unit gain per matmul */
    test_fill_uniform(x, M * H, -1, 1);
    test_fill_uniform(r, M * H, -1, 1);
    run_result a, b;
    run(d, false, wv, x, r, &a);
    run(d, true, wv, x, r, &b);
    uint32_t extra = d->out_grad >= 0 ? M * H : 0;
    CHECK(a.elided == 0, "%s: %u copies elided with the rewrites off", what, a.elided);
    CHECK(a.dispatches - b.dispatches == b.elided, "%s: %u dispatches, %u with %u copies elided", what, a.dispatches,
          b.dispatches, b.elided);
    CHECK(b.planned <= a.planned, "%s: %llu bytes planned with the copies elided, %llu without", what,
          (unsigned long long)b.planned, (unsigned long long)a.planned);
    CHECK(memcmp(&a.loss, &b.loss, 4) == 0, "%s: loss %.9g, %.9g with copies elided", what, a.loss, b.loss);
    for (uint32_t i = 0; i < nw * H * H + extra; i++)
        if (memcmp(&a.grads[i], &b.grads[i], 4) != 0) {
            CHECK(false, "%s: gradient float %u is %.9g, %.9g with copies elided", what, i, a.grads[i], b.grads[i]);
            break;
        }
    if (refused) *refused += b.copies - b.elided;
    free(a.grads), free(b.grads), free(wv);
    return b.elided;
}

static void random_dags(void) {
    uint32_t elided = 0, refused = 0;
    for (int trial = 0; trial < 24; trial++) {
        dag d = {.count = (int)test_rand_range(6, MAXV), .out_grad = -1};
        for (int i = 1; i < d.count; i++) {
            /* mostly the previous value: chains with skips into them */
            d.a[i] = test_rand_range(0, 2) ? i - 1 : (int)test_rand_range(0, (uint32_t)i - 1);
            d.b[i] = test_rand_range(0, 1) ? -1 : (int)test_rand_range(0, (uint32_t)i - 1);
        }
        char what[32];
        snprintf(what, sizeof what, "random DAG %d", trial);
        elided += compare(&d, what, &refused);
    }
    /* both outcomes happened, or the comparison proved little */
    CHECK(elided > 0 && refused > 0, "random DAGs: %u copies elided, %u refused", elided, refused);
}

static void residual_patterns(void) {
    /* v3 = v2 + v0, v2 = mm(mm(v0)): the branch's copy is an alias, the
     * block input's is accumulated into by v1's matmul after every reader of
     * dv3 (v2's matmul backward): both go */
    dag two = {{0, 0, 1, 2}, {0, -1, -1, 0}, 4, -1};
    CHECK(compare(&two, "residual of two matmuls", NULL) == 2, "residual of two matmuls: not 2 elided");
    /* v2 = v1 + v0, v1 = mm(v0): v1's matmul backward reads dv2 and writes
     * the block input's gradient in one kernel: only the branch's goes */
    dag one = {{0, 0, 1}, {0, -1, 0}, 3, -1};
    CHECK(compare(&one, "residual of one matmul", NULL) == 1, "residual of one matmul: not 1 elided");
    /* v1 = v0 + v0: the second contribution reads dv1 after the first: none */
    dag twice = {{0, 0, 1}, {0, 0, -1}, 3, -1};
    CHECK(compare(&twice, "a value added to itself", NULL) == 0, "v0 + v0: a copy elided");
    /* the branch's gradient made an output keeps its bytes: one goes */
    dag kept = {{0, 0, 1, 2}, {0, -1, -1, 0}, 4, 2};
    CHECK(compare(&kept, "residual with an output gradient", NULL) == 1, "an output gradient was aliased");
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"residual_patterns", residual_patterns},
        {"random_dags", random_dags},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
