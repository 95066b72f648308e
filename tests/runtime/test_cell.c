/* Cells in the runtime (runtime/cell_ops.h, runtime/io/motif.h): the MBConv
 * genome computes bit for bit what the mbconv layer computes (forward and
 * backward); structural checks; hand-computed costs and the parameter list
 * against them; Motif decode/encode round trips over every cell of the
 * published search space and network; the published network's cost under
 * each kernel reading; JSON and net.config round trips of cell layers;
 * random genomes' forward and every gradient against a double-precision CPU
 * reference of the whole cell (tests/ref/cell_ref.c) and its central finite
 * differences. A network of cells against PyTorch: test_torch_parity.c. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "autospace/genome.h"
#include "runtime/cell_ops.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/motif.h"
#include "runtime/io/netconfig.h"
#include "runtime/model.h"
#include "runtime/ops/basic.h"
#include "runtime/params.h"
#include "tests/harness.h"
#include "tests/ref/cell_ref.h"

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

/* ---- 6. random genomes against the double-precision reference of the whole cell ----
 *
 * Random valid genomes (autospace/genome.h, seeded from the test seed), each
 * with an activation, SE or not, and a layer shape of its own (batch 2, odd
 * and even sizes, strides 1 and 2, channels 5 and 6, the residual at 6 -> 6),
 * built by asvk_cell_build in training mode with random weights, non-trivial
 * BN affines and WEIGHTED logits, against tests/ref/cell_ref.c:
 *   forward   y against the reference's y;
 *   backward  L = sum(y * r), fixed random r: the GPU's dL/dx and dL/dp of
 *             every trainable tensor (conv weights, BN gamma and beta, mix
 *             alphas, SE weights and biases) against central differences of
 *             the double reference, for up to RC_SAMPLES elements of each.
 * Kinks (relu, relu6, hswish, hsigmoid, max-pool ties): the input is drawn
 * again until every kinked activation input and every max-pool winner lies
 * RC_MARGIN or more from its kink or runner-up (cell_ref_info.margin), so that
 * fp32 rounding cannot put the GPU on another piece than the reference; and a
 * central difference whose two forwards leave the base point's piece (their
 * cell_ref_info.pattern differs) is retaken with a 10x and a 100x smaller
 * step and only then skipped: skips are counted and must stay under 2% of the
 * elements checked. Each slot must draw a genome with the features it asks
 * for, so that the set covers every operator, strided identities of both
 * kinds (the s x s pool at 6x6, the 3x3 padded pool at 5x5 and 7x7), strided
 * pools, WEIGHTED merges and the no-expand cell for any seed.
 * ASVK_TEST_RATIOS=1 prints each genome with its errors. */

#define RC_PREFIX "layers.0."
#define RC_BATCH 2u
#define RC_SAMPLES 6u
#define RC_MARGIN 1e-4
#define RC_MAX_TENSORS 64

typedef struct {
    char name[48];        /* suffix, as asvk_cell_params lists it */
    asvk_param_role role;
    uint32_t fan_in;      /* conv weights: in/groups * k * k */
    uint64_t n;
    int idx;              /* in the store */
    bool asked;           /* by the reference */
    float *f;             /* the values uploaded */
    double *d;            /* the reference's copy (the finite differences perturb it) */
} rc_tensor;

typedef struct {
    asvk_param_store *ps;
    rc_tensor t[RC_MAX_TENSORS];
    uint32_t count;
} rc_params;

static asvk_status rc_declare(void *user, const char *suffix, asvk_param_role role, uint32_t rank,
                              const uint32_t *shape) {
    rc_params *p = user;
    if (p->count == RC_MAX_TENSORS) return asvk_error_set(ASVK_ERR_INTERNAL, "more than %d tensors", RC_MAX_TENSORS);
    rc_tensor *t = &p->t[p->count++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", suffix);
    t->role = role;
    uint32_t storage[4] = {0};
    t->n = 1;
    for (uint32_t d = 0; d < rank; d++) storage[d] = shape[d], t->n *= shape[d];
    if (role == ASVK_PARAM_CONV_WEIGHT) { /* OIHW -> OHWI, as runtime/io/cost.c */
        storage[1] = shape[2], storage[2] = shape[3], storage[3] = shape[1];
        t->fan_in = shape[1] * shape[2] * shape[3];
    }
    /* the groups of asvk_model_declare */
    int group = role == ASVK_PARAM_BN_MEAN || role == ASVK_PARAM_BN_VAR ? ASVK_GROUP_STATE
                : role == ASVK_PARAM_CONV_WEIGHT                         ? ASVK_GROUP_DECAY
                                                                         : ASVK_GROUP_NO_DECAY;
    char name[96];
    snprintf(name, sizeof name, "%s%s", RC_PREFIX, suffix);
    t->idx = asvk_params_add(p->ps, name, rank, storage, group);
    t->f = malloc(t->n * sizeof *t->f);
    t->d = malloc(t->n * sizeof *t->d);
    return t->idx < 0 || !t->f || !t->d ? asvk_error_set(ASVK_ERR_INTERNAL, "cannot declare %s", name) : ASVK_OK;
}

static bool rc_trainable(const rc_tensor *t) { return t->role != ASVK_PARAM_BN_MEAN && t->role != ASVK_PARAM_BN_VAR; }

static const double *rc_lookup(void *user, const char *name) {
    rc_params *p = user;
    for (uint32_t i = 0; i < p->count; i++)
        if (strcmp(p->t[i].name, name) == 0) {
            p->t[i].asked = true;
            return p->t[i].d;
        }
    return NULL;
}

static double rc_unif(asvk_prng *g, double lo, double hi) { return lo + (hi - lo) * asvk_prng_unit(g); }

/* What a genome holds, for the slots' demands. */
enum {
    RC_WEIGHTED = 1 << 0, /* a WEIGHTED node with two or more inputs */
    RC_ID0 = 1 << 1,      /* an identity edge out of node 0 (a pool at stride 2) */
    RC_AVG0 = 1 << 2,     /* an average pool out of node 0 (strided at stride 2) */
    RC_MAX0 = 1 << 3,     /* a max pool out of node 0 */
    RC_EXPAND = 1 << 4,   /* expand != 1 */
    RC_NOEXPAND = 1 << 5,
    RC_OP = 6,            /* bit RC_OP + op: the operator occurs */
};

static uint32_t rc_features(const asvk_cell *c) {
    uint32_t f = c->expand != 1 ? RC_EXPAND : RC_NOEXPAND;
    for (uint32_t i = 1; i < c->nodes; i++) {
        if (c->mix[i] == ASVK_MIX_WEIGHTED && asvk_cell_inputs(c, i) >= 2) f |= RC_WEIGHTED;
        for (uint32_t j = 0; j < i; j++) {
            uint32_t op = c->op[i][j];
            if (op == ASVK_CELL_ZERO) continue;
            f |= 1u << (RC_OP + op);
            if (j == 0 && op == ASVK_CELL_IDENTITY) f |= RC_ID0;
            if (j == 0 && op == ASVK_CELL_AVGPOOL3X3) f |= RC_AVG0;
            if (j == 0 && op == ASVK_CELL_MAXPOOL3X3) f |= RC_MAX0;
        }
    }
    return f;
}
#define RC_HAS(op) (1u << (RC_OP + (op)))

typedef struct {
    uint32_t in_c, hw, out_c, stride, nodes;
    asvk_act act;
    bool se;
    uint32_t need; /* features the genome must have */
} rc_slot;

typedef struct {
    uint32_t checked, skipped;
    double worst_fwd, worst_grad; /* error / tolerance */
    uint32_t features;
} rc_stats;

typedef struct {
    const asvk_cell *c;
    const asvk_cell_shape *s;
    rc_params *p;
    const double *x, *r;
    double *y;
    uint64_t ny;
    double eps;
} rc_ref;

/* L = sum(y * r) of the reference, and its piece */
static double rc_loss(rc_ref *f, cell_ref_info *info, bool *ok) {
    *ok = cell_ref_forward(f->c, f->s, RC_BATCH, f->eps, f->x, rc_lookup, f->p, f->y, info) == 0;
    double l = 0;
    for (uint64_t i = 0; i < f->ny; i++) l += f->y[i] * f->r[i];
    return l;
}

/* dL/dv by central differences of the reference at step h, 10x and 100x
 * smaller while a side leaves the base piece; false when all three do. */
static bool rc_central(rc_ref *f, double *v, uint64_t base, double *fd) {
    double v0 = *v;
    for (double h = 1e-5; h > 0.5e-7; h /= 10) {
        cell_ref_info ip, im;
        bool okp, okm;
        *v = v0 + h;
        double lp = rc_loss(f, &ip, &okp);
        *v = v0 - h;
        double lm = rc_loss(f, &im, &okm);
        *v = v0;
        if (!okp || !okm) return false;
        if (ip.pattern == base && im.pattern == base) {
            *fd = (lp - lm) / (2 * h);
            return true;
        }
    }
    return false;
}

static void rc_case(asvk_prng *g, const rc_slot *slot, uint32_t k, rc_stats *stats) {
    asvk_context *ctx = test_context();
    asvk_genome_options o;
    asvk_genome_options_default(&o);
    /* 2.5: 5 * 2.5 = 12.5 rounds half to even to 12 (cell_ops.h) */
    o.expands[0] = 1, o.expands[1] = 2.5f, o.expands[2] = 3, o.expand_count = 3;
    asvk_cell c;
    bool found = false;
    for (uint32_t t = 0; t < 2000 && !found; t++) {
        OK(asvk_genome_random(g, slot->nodes, &o, &c));
        found = (rc_features(&c) & slot->need) == slot->need;
    }
    CHECK(found, "slot %u: no random genome with features 0x%x in 2000 draws", k, slot->need);
    if (!found) return;
    c.act = slot->act, c.se = slot->se;
    stats->features |= rc_features(&c);
    char desc[256];
    asvk_genome_format(&c, desc, sizeof desc);
    asvk_cell_shape s;
    OK(asvk_cell_shape_of(&c, slot->in_c, slot->hw, slot->hw, slot->out_c, slot->stride, &s));
    size_t dl = strlen(desc);
    snprintf(desc + dl, sizeof desc - dl, " @ %u -> %u, %ux%u, stride %u%s", slot->in_c, slot->out_c, slot->hw,
             slot->hw, slot->stride, s.residual ? ", residual" : "");

    /* parameters: conv weights U(-1, 1) * sqrt(3 / fan_in) (unit-variance
     * outputs), BN gamma +-U(0.5, 1.5), beta U(-0.5, 0.5), SE biases
     * U(-0.5, 0.5), mix logits U(-1, 1); running statistics 0 and 1 (training
     * mode does not read them) */
    rc_params p = {.ps = asvk_params_create()};
    OK(asvk_cell_params(&c, &s, rc_declare, &p));
    OK(asvk_params_alloc(ctx, p.ps, 0));
    for (uint32_t i = 0; i < p.count; i++) {
        rc_tensor *t = &p.t[i];
        for (uint64_t e = 0; e < t->n; e++) {
            double v = 0;
            switch (t->role) {
            case ASVK_PARAM_CONV_WEIGHT: v = rc_unif(g, -1, 1) * sqrt(3.0 / t->fan_in); break;
            case ASVK_PARAM_BN_WEIGHT: v = (asvk_prng_below(g, 2) ? 1 : -1) * rc_unif(g, 0.5, 1.5); break;
            case ASVK_PARAM_BN_BIAS:
            case ASVK_PARAM_BIAS: v = rc_unif(g, -0.5, 0.5); break;
            case ASVK_PARAM_MIX_ALPHA: v = rc_unif(g, -1, 1); break;
            case ASVK_PARAM_BN_VAR: v = 1; break;
            default: break;
            }
            t->f[e] = (float)v;
            t->d[e] = t->f[e];
        }
        OK(asvk_params_upload(ctx, p.ps, t->idx, t->f));
    }

    const uint64_t nx = (uint64_t)RC_BATCH * s.in_h * s.in_w * s.in_c;
    const uint64_t ny = (uint64_t)RC_BATCH * s.out_h * s.out_w * s.out_c;
    float *x = malloc(nx * 4), *r = malloc(ny * 4), *y = malloc(ny * 4), *dx = malloc(nx * 4);
    double *xd = malloc(nx * 8), *rd = malloc(ny * 8), *yref = malloc(ny * 8), *yb = malloc(ny * 8);
    for (uint64_t i = 0; i < ny; i++) rd[i] = r[i] = (float)rc_unif(g, -1, 1);
    rc_ref f = {&c, &s, &p, xd, rd, yb, ny, (double)1e-5f};
    cell_ref_info base = {0};
    double lref = 0;
    bool ok = false;
    uint32_t draws = 0;
    while (draws < 100) {
        draws++;
        for (uint64_t i = 0; i < nx; i++) xd[i] = x[i] = (float)rc_unif(g, -2, 2);
        lref = rc_loss(&f, &base, &ok);
        if (!ok || base.margin >= RC_MARGIN) break;
    }
    CHECK(ok, "%s: the reference failed", desc);
    CHECK(base.margin >= RC_MARGIN, "%s: every input drawn puts something within %g of a kink", desc, RC_MARGIN);
    memcpy(yref, yb, ny * 8);
    for (uint32_t i = 0; i < p.count; i++)
        CHECK(p.t[i].asked == rc_trainable(&p.t[i]), "%s: the reference %s %s", desc,
              p.t[i].asked ? "reads the running statistic" : "does not use", p.t[i].name);

    /* the GPU: forward and backward of one graph */
    asvk_graph *gr = asvk_graph_create(p.ps);
    asvk_val vx = asvk_graph_value(gr, "x", ASVK_VAL_INPUT, 4, (uint32_t[]){RC_BATCH, s.in_c, s.in_h, s.in_w});
    asvk_graph_val(gr, vx)->requires_grad = true;
    asvk_cell_build_opts bo = {1e-5f, 0.1f, true};
    asvk_val vy = asvk_cell_build(gr, RC_PREFIX, &c, &s, vx, &bo);
    asvk_val vr = asvk_graph_value(gr, "r", ASVK_VAL_INPUT, 4, (uint32_t[]){RC_BATCH, s.out_c, s.out_h, s.out_w});
    asvk_val loss = vy == ASVK_NO_VAL ? ASVK_NO_VAL : asvk_op_dot_loss(gr, "loss", vy, vr);
    CHECK(loss != ASVK_NO_VAL, "%s: building failed: %s", desc, asvk_error_message());
    if (loss == ASVK_NO_VAL) return;
    asvk_graph_val(gr, vy)->kind = ASVK_VAL_OUTPUT; /* kept for reading */
    OK(asvk_graph_backward(gr, loss));
    asvk_val vdx = asvk_graph_val(gr, vx)->grad;
    CHECK(vdx != ASVK_NO_VAL, "%s: no gradient for the input", desc);
    if (vdx == ASVK_NO_VAL) return;
    asvk_graph_val(gr, vdx)->kind = ASVK_VAL_OUTPUT;
    OK(asvk_graph_plan(ctx, gr, NULL));
    OK(asvk_buffer_upload(ctx, asvk_graph_val(gr, vx)->buf, 0, x, nx * 4));
    OK(asvk_buffer_upload(ctx, asvk_graph_val(gr, vr)->buf, 0, r, ny * 4));
    asvk_stream *st;
    OK(asvk_stream_create(ctx, &st));
    asvk_status rs = asvk_graph_record(gr, st, NULL);
    if (!rs) rs = asvk_stream_run(st);
    asvk_stream_destroy(st);
    OK(rs);
    float lgpu;
    OK(asvk_buffer_download(ctx, asvk_graph_val(gr, vy)->buf, 0, y, ny * 4));
    OK(asvk_buffer_download(ctx, asvk_graph_val(gr, vdx)->buf, 0, dx, nx * 4));
    OK(asvk_buffer_download(ctx, asvk_graph_val(gr, loss)->buf, 0, &lgpu, 4));

    /* Forward, norm-wise: ||y - y_ref|| <= 1e-4 ||y_ref||. y is the output of
     * a training-mode BN (plus x), so O(1) everywhere; on its way it passes
     * at most 6 conv -> BN stages (expand, a chain of 4 edges, project) of
     * <= 162 fp32 terms each (mid 18, 3x3), whose rounding is ~u sqrt(K) ~
     * 1e-6 relative per stage, and BN keeps relative errors relative
     * (measured: <= 1.2e-6 over 41 seeds, ASVK_TEST_RATIOS). 1e-4 has ~100x
     * to spare and is far below a wrong edge, a missing term of a merge, a
     * wrong softmax or pool window, the unbiased variance (1/P = 1/18 at
     * least) or a wrong BN epsilon (O(1e-3) or more). */
    double e2 = 0, n2 = 0;
    for (uint64_t i = 0; i < ny; i++) e2 += (y[i] - yref[i]) * (y[i] - yref[i]), n2 += yref[i] * yref[i];
    double fwd = sqrt(e2) / (1e-4 * sqrt(n2));
    CHECK(fwd <= 1, "%s: forward error %.3g of norm %.3g (tolerance 1e-4 relative)", desc, sqrt(e2), sqrt(n2));
    /* the loss: sum(y * r) in fp32 adds rounding of ~u sqrt(ny) relative to sum |y r| */
    double lmag = 0;
    for (uint64_t i = 0; i < ny; i++) lmag += fabs(yref[i] * rd[i]);
    CHECK(fabs(lgpu - lref) <= 1e-4 * lmag, "%s: loss %.9g, reference %.9g", desc, lgpu, lref);
    stats->worst_fwd = fmax(stats->worst_fwd, fwd);

    /* Backward: element e of tensor T passes when
     *   |g_e - fd_e| <= 1e-3 |fd_e| + 1e-4 max_T |g| + 1e-5 max_all |g|
     * (g: the GPU's gradient; max_all over the input and every tensor).
     * fd: central differences of the double reference (h = 1e-5: truncation
     * ~h^2 L''' and rounding ~1e-15 L / h, both ~1e-8 relative or less). The
     * fp32 backward repeats the forward's ~7 stages with BN's backward (sums
     * of g and g*xhat over N*H*W <= 98 pixels) at each: ~1e-5 of a tensor's
     * scale (measured: <= 4e-5 over 41 seeds, ASVK_TEST_RATIOS), so 1e-3
     * relative has ~25x to spare. Elements that cancel to near 0 keep the absolute error
     * of their terms, hence the term at the tensor's largest entry; a tensor
     * whose gradient is zero by structure (a BN's beta followed, through
     * pools and sums only, by another BN, which removes any per-channel
     * shift) is fp32 noise of the size of its terms, ~u * P * |dL/dz| <=
     * ~1e-5 of the largest gradient, hence the last term. A wrong sign,
     * factor, index or missing path is O(1) relative. */
    uint32_t bad = 0;
    double worst = 0;
    float *grads[RC_MAX_TENSORS + 1] = {dx};
    double gall = 0;
    for (int32_t ti = -1; ti < (int32_t)p.count; ti++) {
        if (ti >= 0 && !rc_trainable(&p.t[ti])) continue;
        uint64_t n = ti < 0 ? nx : p.t[ti].n;
        if (ti >= 0) {
            grads[ti + 1] = malloc(n * 4);
            OK(asvk_buffer_download(ctx, asvk_params_grad(p.ps, p.t[ti].idx), 0, grads[ti + 1], n * 4));
        }
        for (uint64_t e = 0; e < n; e++) gall = fmax(gall, fabs(grads[ti + 1][e]));
    }
    for (int32_t ti = -1; ti < (int32_t)p.count; ti++) {
        if (ti >= 0 && !rc_trainable(&p.t[ti])) continue;
        const char *name = ti < 0 ? "input" : p.t[ti].name;
        uint64_t n = ti < 0 ? nx : p.t[ti].n;
        double *dv = ti < 0 ? xd : p.t[ti].d;
        const float *gv = grads[ti + 1];
        double gmax = 0;
        for (uint64_t e = 0; e < n; e++) gmax = fmax(gmax, fabs(gv[e]));
        uint64_t picked[RC_SAMPLES];
        uint32_t m = n < RC_SAMPLES ? (uint32_t)n : RC_SAMPLES;
        for (uint32_t q = 0; q < m; q++) {
            uint64_t e;
            bool dup;
            do {
                e = n <= RC_SAMPLES ? q : asvk_prng_below(g, (uint32_t)n);
                dup = false;
                for (uint32_t z = 0; z < q; z++) dup |= picked[z] == e;
            } while (dup);
            picked[q] = e;
            double fd;
            stats->checked++;
            if (!rc_central(&f, &dv[e], base.pattern, &fd)) {
                stats->skipped++;
                continue;
            }
            double tol = 1e-3 * fabs(fd) + 1e-4 * gmax + 1e-5 * gall, err = fabs(gv[e] - fd);
            worst = fmax(worst, err / tol);
            if (!(err <= tol) && bad++ < 8)
                CHECK(0, "%s: dL/d%s[%llu] = %.7g, finite difference %.7g (tolerance %.3g)", desc, name,
                      (unsigned long long)e, gv[e], fd, tol);
        }
    }
    for (uint32_t i = 0; i < p.count; i++) free(grads[i + 1]);
    CHECK(bad == 0, "%s: %u gradient elements wrong", desc, bad);
    stats->worst_grad = fmax(stats->worst_grad, worst);
    if (getenv("ASVK_TEST_RATIOS"))
        fprintf(stderr, "  %s: forward %.3g, worst gradient %.3g of tolerance, %u input draws, margin %.3g\n", desc,
                fwd, worst, draws, base.margin);

    asvk_graph_destroy(ctx, gr);
    for (uint32_t i = 0; i < p.count; i++) free(p.t[i].f), free(p.t[i].d);
    asvk_params_destroy(ctx, p.ps);
    free(x), free(r), free(y), free(dx), free(xd), free(rd), free(yref), free(yb);
}

static void random_cells_match_reference(void) {
    asvk_prng g = asvk_prng_seed(test_seed ^ 0x63656c6c726566ull);
    static const rc_slot slots[] = {
        {6, 7, 6, 1, 4, ASVK_ACT_RELU6, true, RC_WEIGHTED | RC_EXPAND | RC_HAS(ASVK_CELL_DW3X3)},
        {5, 7, 6, 2, 4, ASVK_ACT_HSWISH, false, RC_ID0 | RC_WEIGHTED},    /* the padded 3x3 strided identity */
        {5, 6, 6, 2, 3, ASVK_ACT_RELU, true, RC_ID0 | RC_HAS(ASVK_CELL_CONV3X3)}, /* the exact 2x2 one */
        {6, 5, 6, 1, 5, ASVK_ACT_SWISH, false, RC_NOEXPAND | RC_HAS(ASVK_CELL_MAXPOOL3X3)},
        {5, 5, 6, 2, 4, ASVK_ACT_RELU6, true, RC_MAX0 | RC_WEIGHTED},
        {6, 5, 6, 1, 4, ASVK_ACT_SIGMOID, false, RC_HAS(ASVK_CELL_CONV1X1) | RC_HAS(ASVK_CELL_AVGPOOL3X3)},
        {5, 7, 6, 1, 5, ASVK_ACT_HSWISH, true, RC_WEIGHTED | RC_HAS(ASVK_CELL_DW5X5)},
        {6, 5, 6, 2, 4, ASVK_ACT_NONE, false, RC_AVG0 | RC_HAS(ASVK_CELL_DW7X7)},
    };
    rc_stats stats = {0};
    uint32_t n = sizeof slots / sizeof slots[0];
    for (uint32_t k = 0; k < n; k++) rc_case(&g, &slots[k], k, &stats);
    for (uint32_t op = ASVK_CELL_IDENTITY; op < ASVK_CELL_OPS; op++)
        CHECK(stats.features & RC_HAS(op), "no genome used %s", asvk_cell_op_name((asvk_cell_op)op));
    /* skips only where three steps down to 1e-7 all straddle a kink: rare */
    CHECK(stats.checked >= 40 * n && stats.skipped * 50 <= stats.checked, "%u of %u gradient elements skipped",
          stats.skipped, stats.checked);
    if (getenv("ASVK_TEST_RATIOS"))
        fprintf(stderr, "  %u cells: worst forward %.3g, worst gradient %.3g of tolerance; %u elements, %u skipped\n",
                n, stats.worst_fwd, stats.worst_grad, stats.checked, stats.skipped);
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
        {"random_cells_match_reference", random_cells_match_reference},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
