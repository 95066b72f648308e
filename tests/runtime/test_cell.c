/* Cells in the runtime (runtime/cell_ops.h, runtime/io/motif.h): the MBConv
 * genome computes bit for bit what the mbconv layer computes (forward and
 * backward); structural checks; hand-computed costs and the parameter list
 * against them; Motif decode/encode round trips over every cell of the
 * published search space and network; the published network's cost under
 * each kernel reading; JSON and net.config round trips of cell layers.
 * Random genomes against PyTorch: tests/runtime/test_torch_parity_cells.c. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/cell_ops.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/motif.h"
#include "runtime/io/netconfig.h"
#include "runtime/model.h"
#include "tests/harness.h"

#define EXPECT_ERR(call, status, want)                                                                           \
    do {                                                                                                         \
        asvk_status st_ = (call);                                                                                \
        CHECK(st_ == (status) && strstr(asvk_error_message(), want), "%s gave %s '%s', expected %s with '%s'",   \
              #call, asvk_status_name(st_), asvk_error_message(), asvk_status_name(status), want);               \
    } while (0)

/* The published reference files, found as tests/runtime/test_arch.c finds them. */
static const char *reference(const char *rel, char *buf, size_t n) {
    const char *dir = getenv("ASVK_REFERENCE_DIR");
    if (dir && *dir) snprintf(buf, n, "%s/%s", dir, rel);
    else {
        const char *f = __FILE__;
        const char *end = strstr(f, "/tests/runtime/");
        snprintf(buf, n, "%.*s/../shared/reference/%s", end ? (int)(end - f) : 1, end ? f : ".", rel);
    }
    if (access(buf, R_OK) != 0) {
        fprintf(stderr, "note: reference file %s not found (set ASVK_REFERENCE_DIR); its checks are skipped\n", buf);
        return NULL;
    }
    return buf;
}

static cJSON *load_json(const char *path) {
    char *text;
    size_t len;
    if (asvk_file_read_all(path, 16u << 20, &text, &len)) return NULL;
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    return j;
}

/* ---- 1. the MBConv genome is the mbconv layer ---- */

typedef struct {
    uint32_t k, stride, out;
    float expand;
    bool se;
} mb_row;

/* in -> rows as mbconv (cells false) or as their genomes (cells true) -> global pool -> linear 5 */
static void mb_arch(asvk_arch *a, const mb_row *rows, uint32_t n, bool cells) {
    asvk_arch_init(a);
    snprintf(a->name, sizeof a->name, "%s", cells ? "cells" : "mbconvs");
    a->in_channels = 8, a->resolution = 9, a->num_classes = 5;
    for (uint32_t i = 0; i < n; i++) {
        asvk_layer l;
        if (cells) {
            l = asvk_layer_default(ASVK_LAYER_CELL);
            l.cell.cell = asvk_cell_mbconv(rows[i].k, rows[i].expand);
            l.cell.cell.se = rows[i].se;
            l.cell.out = rows[i].out, l.cell.stride = rows[i].stride;
        } else {
            l = asvk_layer_default(ASVK_LAYER_MBCONV);
            l.mbconv.kernel = rows[i].k, l.mbconv.expand = rows[i].expand, l.mbconv.se = rows[i].se;
            l.mbconv.out = rows[i].out, l.mbconv.stride = rows[i].stride;
        }
        asvk_arch_append(a, &l);
    }
    asvk_layer l = asvk_layer_default(ASVK_LAYER_GLOBAL_POOL);
    asvk_arch_append(a, &l);
    l = asvk_layer_default(ASVK_LAYER_LINEAR);
    l.linear.out = 5;
    asvk_arch_append(a, &l);
}

/* An mbconv parameter's name in the genome: the depthwise conv is edge 0 -> 1. */
static void cell_name(const char *mb, char *out, size_t n) {
    const char *d = strstr(mb, ".dw");
    if (d) snprintf(out, n, "%.*s.e1_0%s", (int)(d - mb), mb, d + 3);
    else snprintf(out, n, "%s", mb);
}

typedef struct {
    asvk_param_store *ps;
    asvk_model m;
    float logits[4 * 5], loss;
} step_run;

static asvk_status run_step(asvk_context *ctx, const asvk_arch *a, asvk_param_store *ps, const float *x,
                            const float *labels, step_run *r) {
    const uint32_t batch = 4;
    asvk_status st;
    r->ps = ps;
    if ((st = asvk_model_build(a, ps, batch, 0, true, 0.1f, &r->m))) return st;
    asvk_graph_val(r->m.graph, r->m.logits)->kind = ASVK_VAL_OUTPUT;
    if ((st = asvk_graph_backward(r->m.graph, r->m.loss))) return st;
    asvk_val step = asvk_graph_step(r->m.graph);
    if ((st = asvk_graph_plan(ctx, r->m.graph, NULL))) return st;
    float sv[ASVK_STEP_FLOATS] = {0};
    sv[ASVK_STEP_LOSS_SCALE] = 1;
    uint64_t nx = (uint64_t)batch * a->resolution * a->resolution * a->in_channels;
    asvk_stream *s;
    if ((st = asvk_buffer_upload(ctx, asvk_graph_val(r->m.graph, r->m.input)->buf, 0, x, nx * 4)) ||
        (st = asvk_buffer_upload(ctx, asvk_graph_val(r->m.graph, r->m.labels)->buf, 0, labels, batch * 4)) ||
        (st = asvk_buffer_upload(ctx, asvk_graph_val(r->m.graph, step)->buf, 0, sv, sizeof sv)) ||
        (st = asvk_stream_create(ctx, &s)))
        return st;
    st = asvk_graph_record(r->m.graph, s, NULL);
    if (!st) st = asvk_stream_run(s);
    asvk_stream_destroy(s);
    if (!st) st = asvk_buffer_download(ctx, asvk_graph_val(r->m.graph, r->m.logits)->buf, 0, r->logits, sizeof r->logits);
    if (!st) st = asvk_buffer_download(ctx, asvk_graph_val(r->m.graph, r->m.loss)->buf, 0, &r->loss, 4);
    return st;
}

static void mbconv_genome_is_mbconv_bitwise(void) {
    asvk_context *ctx = test_context();
    /* residual with SE; strided with a 7x7 at an odd size; no expand conv; expand 3 with 5x5 */
    const mb_row rows[] = {{3, 1, 8, 6, true}, {7, 2, 12, 6, false}, {5, 1, 12, 1, true}, {5, 2, 16, 3, false}};
    asvk_arch am, ac;
    mb_arch(&am, rows, 4, false);
    mb_arch(&ac, rows, 4, true);
    asvk_cost cm, cc;
    OK(asvk_arch_cost(&am, 0, &cm));
    OK(asvk_arch_cost(&ac, 0, &cc));
    CHECK(cm.params == cc.params && cm.madds == cc.madds, "cost: mbconv %llu/%llu, cells %llu/%llu",
          (unsigned long long)cm.params, (unsigned long long)cm.madds, (unsigned long long)cc.params,
          (unsigned long long)cc.madds);
    asvk_cost_free(&cm), asvk_cost_free(&cc);

    asvk_param_store *pm = asvk_params_create(), *pc = asvk_params_create();
    OK(asvk_model_declare(&am, pm));
    OK(asvk_model_declare(&ac, pc));
    CHECK(pm->count == pc->count, "%u vs %u tensors", pm->count, pc->count);
    OK(asvk_params_alloc(ctx, pm, 0));
    OK(asvk_params_alloc(ctx, pc, 0));
    OK(asvk_model_init(ctx, &am, pm, 5));
    /* the same weights by name, with non-trivial BN affines */
    for (uint32_t i = 0; i < pm->count; i++) {
        char name[128];
        cell_name(pm->items[i].name, name, sizeof name);
        int j = asvk_params_find(pc, name);
        CHECK(j >= 0 && pc->items[j].floats == pm->items[i].floats, "%s has no twin %s", pm->items[i].name, name);
        if (j < 0) return;
        float *v = malloc(pm->items[i].floats * 4);
        OK(asvk_params_download(ctx, pm, (int)i, v));
        for (uint64_t k = 0; k < pm->items[i].floats; k++) v[k] += test_rand_uniform(-0.2f, 0.2f);
        OK(asvk_params_upload(ctx, pm, (int)i, v));
        OK(asvk_params_upload(ctx, pc, j, v));
        free(v);
    }
    const uint64_t nx = 4ull * 9 * 9 * 8;
    float *x = malloc(nx * 4), labels[4] = {0, 3, 1, 4};
    test_fill_uniform(x, nx, -2, 2);
    step_run rm, rc;
    OK(run_step(ctx, &am, pm, x, labels, &rm));
    OK(run_step(ctx, &ac, pc, x, labels, &rc));
    CHECK(memcmp(rm.logits, rc.logits, sizeof rm.logits) == 0 && rm.loss == rc.loss, "forward differs: loss %.9g vs %.9g",
          rm.loss, rc.loss);
    /* every gradient, and the BN running statistics the step updated */
    uint32_t same = 0;
    for (uint32_t i = 0; i < pm->count; i++) {
        char name[128];
        cell_name(pm->items[i].name, name, sizeof name);
        int j = asvk_params_find(pc, name);
        uint64_t n = pm->items[i].floats;
        float *a = malloc(n * 4), *b = malloc(n * 4);
        bool state = pm->items[i].group == ASVK_GROUP_STATE;
        OK(state ? asvk_params_download(ctx, pm, (int)i, a) : asvk_buffer_download(ctx, asvk_params_grad(pm, (int)i), 0, a, n * 4));
        OK(state ? asvk_params_download(ctx, pc, j, b) : asvk_buffer_download(ctx, asvk_params_grad(pc, j), 0, b, n * 4));
        bool eq = memcmp(a, b, n * 4) == 0;
        CHECK(eq, "%s %s differs from the mbconv layer's", name, state ? "(running statistic)" : "gradient");
        same += eq;
        free(a), free(b);
    }
    CHECK(same == pm->count, "%u of %u tensors equal", same, pm->count);
    free(x);
    asvk_graph_destroy(ctx, rm.m.graph);
    asvk_graph_destroy(ctx, rc.m.graph);
    asvk_params_destroy(ctx, pm);
    asvk_params_destroy(ctx, pc);
    asvk_arch_free(&am), asvk_arch_free(&ac);
}

/* ---- 2. structure ---- */

static void invalid_cells_are_refused(void) {
    asvk_cell c;
    asvk_cell_init(&c, 1, 6);
    EXPECT_ERR(asvk_cell_check(&c), ASVK_ERR_USAGE, "a cell has 2 to 6 nodes, not 1");
    asvk_cell_init(&c, 4, 6);
    c.op[1][0] = ASVK_CELL_DW3X3, c.op[3][1] = ASVK_CELL_IDENTITY;
    EXPECT_ERR(asvk_cell_check(&c), ASVK_ERR_USAGE, "node 2 of the cell has no input");
    c.op[2][0] = ASVK_CELL_CONV1X1;
    EXPECT_ERR(asvk_cell_check(&c), ASVK_ERR_USAGE, "node 2 of the cell feeds no other node");
    c.op[3][2] = ASVK_CELL_MAXPOOL3X3;
    OK(asvk_cell_check(&c));
    c.op[1][2] = ASVK_CELL_DW5X5;
    EXPECT_ERR(asvk_cell_check(&c), ASVK_ERR_USAGE, "edge 2 -> 1 (dw5x5) is not an edge");
    c.op[1][2] = 0, c.op[3][0] = 42;
    EXPECT_ERR(asvk_cell_check(&c), ASVK_ERR_USAGE, "edge 0 -> 3 has operator code 42");
    c.op[3][0] = 0, c.mix[2] = 3;
    EXPECT_ERR(asvk_cell_check(&c), ASVK_ERR_USAGE, "node 2 has mix mode 3");
    c.mix[2] = 1, c.expand = 0;
    EXPECT_ERR(asvk_cell_check(&c), ASVK_ERR_USAGE, "expand ratio must be above 0");
    c.expand = 2;
    asvk_cell_shape s;
    EXPECT_ERR(asvk_cell_shape_of(&c, 8, 8, 8, 8, 9, &s), ASVK_ERR_USAGE, "stride must be from 1 to 8, not 9");
    /* in an architecture the message names the layer */
    asvk_arch a;
    asvk_arch_init(&a);
    a.num_classes = 3;
    asvk_layer l = asvk_layer_default(ASVK_LAYER_CELL);
    l.cell.out = 16, l.cell.cell.op[1][0] = 0;
    asvk_arch_append(&a, &l);
    EXPECT_ERR(asvk_arch_validate(&a, 32), ASVK_ERR_USAGE, "layer 0 (cell): node 1 of the cell has no input");
    asvk_arch_free(&a);
}

/* ---- 3. cost, by hand, and the parameter list against it ---- */

typedef struct {
    uint64_t trainable, total;
    uint32_t count, alphas;
    char names[64][48];
} param_tally;

static asvk_status tally(void *user, const char *suffix, asvk_param_role role, uint32_t rank, const uint32_t *shape) {
    param_tally *t = user;
    uint64_t n = 1;
    for (uint32_t d = 0; d < rank; d++) n *= shape[d];
    t->total += n;
    if (role != ASVK_PARAM_BN_MEAN && role != ASVK_PARAM_BN_VAR) t->trainable += n;
    t->alphas += role == ASVK_PARAM_MIX_ALPHA;
    if (t->count < 64) snprintf(t->names[t->count], sizeof t->names[0], "%s", suffix);
    t->count++;
    return ASVK_OK;
}

static void cost_by_hand(void) {
    asvk_cell_shape s;
    /* MBConv k3 e6, 16 -> 24 at 8x8, stride 2: mid 96, output 4x4.
     * expand 16*96*64 = 98304 MAdds, 1536+192 params; dw 96*9*16 = 13824,
     * 864+192; project 96*24*16 = 36864, 2304+48. */
    asvk_cell a = asvk_cell_mbconv(3, 6);
    OK(asvk_cell_shape_of(&a, 16, 8, 8, 24, 2, &s));
    asvk_cell_cost c = asvk_cell_cost_of(&a, &s);
    CHECK(s.mid == 96 && s.out_h == 4 && !s.residual, "mid %u out %u", s.mid, s.out_h);
    CHECK(c.madds == 148992 && c.params == 5136, "mbconv cell: %llu MAdds, %llu params", (unsigned long long)c.madds,
          (unsigned long long)c.params);

    /* 4 nodes, expand 1, 8 -> 8 at 6x6, stride 1, SE, both merges weighted:
     * 0->1 conv3x3 576*36 = 20736 MAdds, 576+16; 0->2 dw5x5 200*36 = 7200, 200+16;
     * 1->2 maxpool, 1->3 identity free; 2->3 conv1x1 64*36 = 2304, 64+16;
     * alphas 2 + 2; SE r = make_divisible(2, 8) = 8: 2*64 = 128 MAdds, 128+8+8;
     * project 64*36 = 2304, 64+16. Total 32672 MAdds, 1116 params. */
    asvk_cell b;
    asvk_cell_init(&b, 4, 1);
    b.op[1][0] = ASVK_CELL_CONV3X3, b.op[2][0] = ASVK_CELL_DW5X5, b.op[2][1] = ASVK_CELL_MAXPOOL3X3;
    b.op[3][1] = ASVK_CELL_IDENTITY, b.op[3][2] = ASVK_CELL_CONV1X1;
    b.mix[2] = b.mix[3] = ASVK_MIX_WEIGHTED, b.mix[1] = ASVK_MIX_WEIGHTED; /* node 1 has one input: no alpha */
    b.se = true;
    OK(asvk_cell_shape_of(&b, 8, 6, 6, 8, 1, &s));
    c = asvk_cell_cost_of(&b, &s);
    CHECK(s.mid == 8 && s.se_mid == 8 && s.residual, "mid %u se %u", s.mid, s.se_mid);
    CHECK(c.madds == 32672 && c.params == 1116, "cell b: %llu MAdds, %llu params", (unsigned long long)c.madds,
          (unsigned long long)c.params);
    param_tally t = {0};
    OK(asvk_cell_params(&b, &s, tally, &t));
    CHECK(t.trainable == c.params && t.alphas == 2, "listed %llu trainable, %u alphas", (unsigned long long)t.trainable,
          t.alphas);
    static const char *const want[] = {"e1_0.weight", "e1_0_bn.weight", "e1_0_bn.bias", "e1_0_bn.running_mean",
                                       "e1_0_bn.running_var", "e2_0.weight", "e2_0_bn.weight", "e2_0_bn.bias",
                                       "e2_0_bn.running_mean", "e2_0_bn.running_var", "mix2.alpha", "e3_2.weight",
                                       "e3_2_bn.weight", "e3_2_bn.bias", "e3_2_bn.running_mean", "e3_2_bn.running_var",
                                       "mix3.alpha", "se.reduce.weight", "se.reduce.bias", "se.expand.weight",
                                       "se.expand.bias", "project.weight", "project_bn.weight", "project_bn.bias",
                                       "project_bn.running_mean", "project_bn.running_var"};
    CHECK(t.count == sizeof want / sizeof want[0], "%u tensors", t.count);
    for (uint32_t i = 0; i < t.count && i < sizeof want / sizeof want[0]; i++)
        CHECK(strcmp(t.names[i], want[i]) == 0, "tensor %u is %s, expected %s", i, t.names[i], want[i]);

    /* expand 3, 10 -> 16 at 7x7, stride 2 (odd: the strided identity is the
     * 3x3 pool), mid 30, output 4x4: expand 10*30*49 = 14700, 300+60; 0->1
     * identity, 0->2 avgpool free; 1->2 dw7x7 1470*16 = 23520, 1470+60; 2 alphas;
     * 2->3 dw3x3 270*16 = 4320, 270+60; project 480*16 = 7680, 480+32. */
    asvk_cell d;
    asvk_cell_init(&d, 4, 3);
    d.op[1][0] = ASVK_CELL_IDENTITY, d.op[2][0] = ASVK_CELL_AVGPOOL3X3, d.op[2][1] = ASVK_CELL_DW7X7;
    d.op[3][2] = ASVK_CELL_DW3X3, d.mix[2] = ASVK_MIX_WEIGHTED;
    OK(asvk_cell_shape_of(&d, 10, 7, 7, 16, 2, &s));
    c = asvk_cell_cost_of(&d, &s);
    CHECK(s.mid == 30 && s.out_h == 4 && s.out_w == 4 && !s.pool_exact, "mid %u out %ux%u", s.mid, s.out_h, s.out_w);
    CHECK(c.madds == 50220 && c.params == 2734, "cell d: %llu MAdds, %llu params", (unsigned long long)c.madds,
          (unsigned long long)c.params);
    OK(asvk_cell_shape_of(&d, 10, 8, 6, 16, 2, &s));
    CHECK(s.pool_exact && s.out_h == 4 && s.out_w == 3, "8x6 at stride 2: %ux%u", s.out_h, s.out_w);
}

/* ---- 4. Motif round trips ---- */

/* m with each code 3 below the diagonal read as `to` (what the default reading writes back). */
static cJSON *recode(const cJSON *m, int from, int to) {
    cJSON *c = cJSON_Duplicate(m, true);
    for (int i = 1; i < 4; i++)
        for (int j = 0; j < i; j++) {
            cJSON *v = cJSON_GetArrayItem(cJSON_GetArrayItem(c, i), j);
            if (v->valueint == from) cJSON_SetNumberValue(v, to);
        }
    return c;
}

static void motif_round_trip(const cJSON *m, const char *where, asvk_motif_reading r, bool lossless) {
    asvk_cell c, back;
    asvk_status st = asvk_motif_from_json(m, where, r, &c);
    CHECK(st == ASVK_OK, "%s: %s", where, asvk_error_message());
    if (st) return;
    CHECK(asvk_cell_check(&c) == ASVK_OK, "%s decodes to an invalid cell: %s", where, asvk_error_message());
    cJSON *out;
    OK(asvk_motif_to_json(&c, r, &out));
    cJSON *want = lossless ? cJSON_Duplicate(m, true) : recode(m, 3, 5);
    char *a = cJSON_PrintUnformatted(out), *b = cJSON_PrintUnformatted(want);
    CHECK(cJSON_Compare(out, want, true), "%s (%s): wrote %s for %s", where, asvk_motif_reading_name(r), a, b);
    OK(asvk_motif_from_json(out, where, r, &back));
    CHECK(asvk_cell_equal(&c, &back), "%s: decode(encode(cell)) differs from the cell", where);
    free(a), free(b);
    cJSON_Delete(out), cJSON_Delete(want);
}

static bool has_code(const cJSON *m, int code) {
    for (int i = 1; i < 4; i++)
        for (int j = 0; j < i; j++)
            if (cJSON_GetArrayItem(cJSON_GetArrayItem(m, i), j)->valueint == code) return true;
    return false;
}

static void motif_search_space_round_trips(void) {
    char path[1024];
    if (!reference("autospace/search_space.config", path, sizeof path)) return;
    cJSON *root = load_json(path);
    CHECK(root != NULL, "cannot read %s", path);
    if (!root) return;
    uint32_t cells = 0, with3 = 0;
    const cJSON *blocks = cJSON_GetObjectItem(root, "blocks");
    for (int l = 0; l < cJSON_GetArraySize(blocks); l++) {
        const cJSON *layer = cJSON_GetArrayItem(blocks, l);
        for (int k = 0; k < cJSON_GetArraySize(layer); k++, cells++) {
            const cJSON *m = cJSON_GetArrayItem(layer, k);
            char where[48];
            snprintf(where, sizeof where, "blocks[%d][%d]", l, k);
            bool three = has_code(m, 3);
            with3 += three;
            motif_round_trip(m, where, ASVK_MOTIF_READING_DEFAULT, !three); /* code 3 comes back as 5 */
            motif_round_trip(m, where, ASVK_MOTIF_K_CODE, true);            /* no code 9 in the space */
        }
    }
    CHECK(cells == 99 && with3 > 0, "%u cells, %u with code 3", cells, with3);
    cJSON_Delete(root);
}

static void motif_network_round_trips(void) {
    char path[1024];
    if (!reference("autospace/net_340M.config", path, sizeof path)) return;
    cJSON *root = load_json(path);
    if (!root) return;
    uint32_t motifs = 0, nine = 0;
    const cJSON *blocks = cJSON_GetObjectItem(root, "blocks");
    for (int b = 0; b < cJSON_GetArraySize(blocks); b++) {
        const cJSON *conv = cJSON_GetObjectItem(cJSON_GetArrayItem(blocks, b), "mobile_inverted_conv");
        if (strcmp(cJSON_GetObjectItem(conv, "name")->valuestring, "Motif") != 0) continue;
        cJSON *m = cJSON_Parse(cJSON_GetObjectItem(conv, "build_graph")->valuestring);
        char where[48];
        snprintf(where, sizeof where, "blocks[%d].build_graph", b);
        motif_round_trip(m, where, ASVK_MOTIF_READING_DEFAULT, true);
        if (has_code(m, 9)) {
            asvk_cell c;
            EXPECT_ERR(asvk_motif_from_json(m, where, ASVK_MOTIF_K_CODE, &c), ASVK_ERR_USAGE,
                       "code 9 would be a depthwise 9x9 under the 'code' kernel reading");
            nine++;
        } else {
            motif_round_trip(m, where, ASVK_MOTIF_K_CODE, true);
        }
        cJSON_Delete(m);
        motifs++;
    }
    CHECK(motifs == 13 && nine == 4, "%u Motifs, %u with code 9", motifs, nine);
    cJSON_Delete(root);
}

static void motif_codes_and_errors(void) {
    /* the MBConv genome is the published MBConv chain (5, 2, 2) */
    cJSON *out, *want = cJSON_Parse("[[0, 0, 0, 2], [5, 0, 0, [0, 0]], [1, 2, 0, 0], [1, 1, 2, 0]]");
    asvk_cell mb = asvk_cell_mbconv(3, 6), back;
    OK(asvk_motif_to_json(&mb, ASVK_MOTIF_READING_DEFAULT, &out));
    CHECK(cJSON_Compare(out, want, true), "the MBConv genome is not (5, 2, 2)");
    OK(asvk_motif_from_json(out, "mb", ASVK_MOTIF_READING_DEFAULT, &back));
    asvk_cell_shape s1, s2;
    OK(asvk_cell_shape_of(&mb, 24, 14, 14, 40, 2, &s1));
    OK(asvk_cell_shape_of(&back, 24, 14, 14, 40, 2, &s2));
    asvk_cell_cost c1 = asvk_cell_cost_of(&mb, &s1), c2 = asvk_cell_cost_of(&back, &s2);
    CHECK(back.nodes == 4 && c1.params == c2.params && c1.madds == c2.madds, "the padded cell costs otherwise");
    cJSON_Delete(out), cJSON_Delete(want);

    asvk_cell_op op;
    int code;
    static const struct { int code; asvk_cell_op def, byk; } table[] = {
        {1, ASVK_CELL_ZERO, ASVK_CELL_ZERO},      {2, ASVK_CELL_IDENTITY, ASVK_CELL_IDENTITY},
        {3, ASVK_CELL_DW3X3, ASVK_CELL_DW3X3},    {5, ASVK_CELL_DW3X3, ASVK_CELL_DW5X5},
        {7, ASVK_CELL_DW5X5, ASVK_CELL_DW7X7}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        OK(asvk_motif_op_decode(table[i].code, ASVK_MOTIF_K_CODE_MINUS_2, &op));
        CHECK(op == table[i].def, "code %d reads as %s", table[i].code, asvk_cell_op_name(op));
        OK(asvk_motif_op_decode(table[i].code, ASVK_MOTIF_K_CODE, &op));
        CHECK(op == table[i].byk, "code %d reads as %s under 'code'", table[i].code, asvk_cell_op_name(op));
    }
    OK(asvk_motif_op_decode(9, ASVK_MOTIF_K_CODE_MINUS_2, &op));
    CHECK(op == ASVK_CELL_DW7X7, "9 reads as %s", asvk_cell_op_name(op));
    OK(asvk_motif_op_encode(ASVK_CELL_DW3X3, ASVK_MOTIF_K_CODE_MINUS_2, &code));
    CHECK(code == 5, "dw3x3 writes %d", code);
    OK(asvk_motif_op_encode(ASVK_CELL_DW3X3, ASVK_MOTIF_K_CODE, &code));
    CHECK(code == 3, "dw3x3 writes %d under 'code'", code);
    EXPECT_ERR(asvk_motif_op_decode(4, ASVK_MOTIF_K_CODE_MINUS_2, &op), ASVK_ERR_USAGE, "Motif operator code 4 is unknown");
    EXPECT_ERR(asvk_motif_op_encode(ASVK_CELL_CONV3X3, ASVK_MOTIF_K_CODE_MINUS_2, &code), ASVK_ERR_USAGE,
               "operator conv3x3 has no code in the Motif format");
    OK(asvk_motif_op_encode(ASVK_CELL_DW7X7, ASVK_MOTIF_K_CODE, &code));
    CHECK(code == 7, "dw7x7 writes %d under 'code'", code);
    OK(asvk_motif_op_encode(ASVK_CELL_DW7X7, ASVK_MOTIF_K_CODE_MINUS_2, &code));
    CHECK(code == 9, "dw7x7 writes %d", code);
    EXPECT_ERR(asvk_motif_op_encode(ASVK_CELL_MAXPOOL3X3, ASVK_MOTIF_K_CODE, &code), ASVK_ERR_USAGE,
               "operator maxpool3x3 has no code");
    int m[4][4] = {{0}}, idx, mix[2] = {0, 2};
    m[1][0] = 5, m[2][0] = 1, m[2][1] = 2, m[3][0] = 1, m[3][1] = 1, m[3][2] = 2;
    asvk_cell c;
    EXPECT_ERR(asvk_motif_decode((const int(*)[4])m, 3, mix, ASVK_MOTIF_READING_DEFAULT, &c), ASVK_ERR_USAGE,
               "dim_conv_idx 3 is unknown");
    EXPECT_ERR(asvk_motif_decode((const int(*)[4])m, 2, mix, ASVK_MOTIF_READING_DEFAULT, &c), ASVK_ERR_USAGE,
               "feature_mix_mode_idx of node 3 is 2");
    mb.expand = 4;
    EXPECT_ERR(asvk_motif_encode(&mb, ASVK_MOTIF_READING_DEFAULT, m, &idx, mix), ASVK_ERR_USAGE,
               "expand ratio 4 has no dim_conv_idx");
    asvk_cell_init(&c, 5, 6);
    EXPECT_ERR(asvk_motif_encode(&c, ASVK_MOTIF_READING_DEFAULT, m, &idx, mix), ASVK_ERR_USAGE,
               "a 5-node cell does not fit");
    cJSON *bad = cJSON_Parse("[[0, 0, 0, 2], [5, 0, 0, [0, 0]], [1, 2, 7, 0], [1, 1, 2, 0]]");
    EXPECT_ERR(asvk_motif_from_json(bad, "x", ASVK_MOTIF_READING_DEFAULT, &c), ASVK_ERR_USAGE,
               "x[2][2] is 7; entries on and above the diagonal are 0");
    cJSON_Delete(bad);
}

/* ---- 5. the published network ---- */

static void published_network(void) {
    char path[1024];
    if (!reference("autospace/net_340M.config", path, sizeof path)) return;
    asvk_arch a, b;
    OK(asvk_arch_load(path, &a));
    asvk_cost c;
    OK(asvk_arch_cost(&a, 224, &c));
    /* default reading (code - 2); tools/torch_arch.py counts the same from
     * the PyTorch module. The published figure is 340M MAdds. */
    CHECK(c.madds == 336336512 && c.params == 4507924, "net_340M: %llu MAdds, %llu params",
          (unsigned long long)c.madds, (unsigned long long)c.params);
    asvk_cost_free(&c);
    uint32_t cells = 0;
    for (uint32_t i = 0; i < a.count; i++) cells += a.layers[i].type == ASVK_LAYER_CELL;
    CHECK(cells == 13, "%u cells", cells);

    /* the 'code' reading cannot hold its code 9 */
    cJSON *root = load_json(path);
    EXPECT_ERR(asvk_arch_from_netconfig_reading(root, "n", ASVK_MOTIF_K_CODE, &b), ASVK_ERR_USAGE,
               "blocks[18].mobile_inverted_conv.build_graph: edge 0 -> 1: Motif operator code 9");
    cJSON_Delete(root);

    /* net.config and asvk JSON round trips */
    char *text;
    OK(asvk_arch_to_netconfig(&a, &text));
    OK(asvk_arch_parse(text, strlen(text), "net_340M.config", &b));
    CHECK(asvk_arch_equal(&a, &b), "net.config export + import differs");
    free(text);
    asvk_arch_free(&b);
    OK(asvk_arch_to_json(&a, &text));
    OK(asvk_arch_parse(text, strlen(text), "net_340M.json", &b));
    CHECK(asvk_arch_equal(&a, &b), "asvk JSON write + read differs");
    free(text);
    asvk_arch_free(&b);

    /* it builds, forward and backward (graph only: no device work) */
    asvk_param_store *ps = asvk_params_create();
    OK(asvk_model_declare(&a, ps));
    asvk_model m;
    OK(asvk_model_build(&a, ps, 2, 64, true, 0.1f, &m));
    OK(asvk_graph_backward(m.graph, m.loss));
    asvk_graph_destroy(NULL, m.graph);
    asvk_params_destroy(NULL, ps);
    asvk_arch_free(&a);
}

static void cell_json_round_trip(void) {
    static const char *text =
        "{\"format\": \"asvk-arch/1\", \"name\": \"c\", \"in_channels\": 4, \"resolution\": 12, \"num_classes\": 3, "
        "\"layers\": [{\"type\": \"cell\", \"out\": 8, \"stride\": 2, \"genome\": {\"nodes\": 3, \"edges\": "
        "[[1, 2, \"maxpool3x3\"], [0, 1, \"conv3x3\"], [0, 2, \"identity\"]], \"mix\": [\"sum\", \"sum\", \"weighted\"], "
        "\"expand\": 1.2, \"se\": true, \"act\": \"hswish\"}}, {\"type\": \"global_pool\"}, "
        "{\"type\": \"linear\", \"out\": 3}]}";
    asvk_arch a, b;
    OK(asvk_arch_parse(text, strlen(text), "c.json", &a));
    const asvk_cell *c = &a.layers[0].cell.cell;
    CHECK(c->op[2][1] == ASVK_CELL_MAXPOOL3X3 && c->op[1][0] == ASVK_CELL_CONV3X3 && c->mix[2] == ASVK_MIX_WEIGHTED &&
              c->expand == 1.2f && c->se && c->act == ASVK_ACT_HSWISH,
          "genome read wrong");
    char *out;
    OK(asvk_arch_to_json(&a, &out));
    CHECK(strstr(out, "\"genome\": {\"nodes\": 3, \"edges\": [[0, 1, \"conv3x3\"], [0, 2, \"identity\"], [1, 2, "
                      "\"maxpool3x3\"]], \"mix\": [\"sum\", \"sum\", \"weighted\"], \"expand\": 1.2, \"se\": true, "
                      "\"act\": \"hswish\"}") != NULL,
          "written as %s", out);
    OK(asvk_arch_parse(out, strlen(out), "c2.json", &b));
    CHECK(asvk_arch_equal(&a, &b), "write + read differs");
    free(out);
    asvk_arch_free(&b);
    /* a cell with conv3x3 has no place in a net.config */
    EXPECT_ERR(asvk_arch_to_netconfig(&a, &out), ASVK_ERR_USAGE, "cannot be written as a net.config: layer 0 (cell)");
    asvk_arch_free(&a);
    static const struct { const char *genome, *want; } bad[] = {
        {"{\"nodes\": 3, \"edges\": [[0, 1, \"dw3x3\"], [1, 2, \"dw3x3\"], [0, 1, \"identity\"]], \"expand\": 2}",
         "layers[0].genome.edges[2]: edge 0 -> 1 is given twice"},
        {"{\"nodes\": 3, \"edges\": [[0, 1, \"dw4x4\"]], \"expand\": 2}", "'dw4x4' is not an operator"},
        {"{\"nodes\": 3, \"edges\": [[2, 1, \"dw3x3\"]], \"expand\": 2}", "2 -> 1 is not an edge of a 3-node cell"},
        {"{\"nodes\": 3, \"edges\": [[0, 1, \"dw3x3\"], [0, 2, \"dw3x3\"]], \"expand\": 2}",
         "layers[0].genome: node 1 of the cell feeds no other node"},
        {"{\"nodes\": 2, \"edges\": [[0, 1, \"dw3x3\"]], \"expand\": 2, \"mix\": [\"sum\"]}", "mix must be an array of 2"},
        {"{\"nodes\": 2, \"edges\": [[0, 1, \"dw3x3\"]]}", "layers[0].genome.expand is missing"},
        {"{\"nodes\": 2, \"edges\": [[0, 1, \"dw3x3\"]], \"expand\": 2, \"kernel\": 3}", "unknown key 'kernel'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char t[1024];
        snprintf(t, sizeof t,
                 "{\"format\": \"asvk-arch/1\", \"name\": \"c\", \"num_classes\": 3, \"layers\": [{\"type\": \"cell\", "
                 "\"out\": 3, \"genome\": %s}, {\"type\": \"global_pool\"}, {\"type\": \"linear\", \"out\": 3}]}",
                 bad[i].genome);
        EXPECT_ERR(asvk_arch_parse(t, strlen(t), "bad.json", &a), ASVK_ERR_USAGE, bad[i].want);
    }
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"mbconv_genome_is_mbconv_bitwise", mbconv_genome_is_mbconv_bitwise},
        {"invalid_cells_are_refused", invalid_cells_are_refused},
        {"cost_by_hand", cost_by_hand},
        {"motif_search_space_round_trips", motif_search_space_round_trips},
        {"motif_network_round_trips", motif_network_round_trips},
        {"motif_codes_and_errors", motif_codes_and_errors},
        {"published_network", published_network},
        {"cell_json_round_trip", cell_json_round_trip},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
