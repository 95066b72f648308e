/* ONNX export (runtime/io/onnx_export.h): the file reads back through
 * protobuf-c as a model of opset 13 with a symbolic batch, BNs folded (no
 * BatchNormalization node), conv weights in ONNX's OIHW order holding the
 * folded weights of the store, and a node with no ONNX form is an error
 * naming it. Running the files in ONNX Runtime against asvk's logits is
 * tests/cli/test_phone.sh. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "onnx.pb-c.h"
#include "runtime/infer.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/onnx_export.h"
#include "runtime/model.h"
#include "runtime/ops/basic.h"
#include "tests/harness.h"

static const char *tiny_json =
    "{\"format\": \"asvk-arch/1\", \"name\": \"tiny\", \"in_channels\": 2, \"resolution\": 9, \"num_classes\": 5, "
    "\"layers\": [{\"type\": \"conv\", \"out\": 8, \"kernel\": 3, \"stride\": 2, \"act\": \"hswish\"}, "
    "{\"type\": \"mbconv\", \"out\": 8, \"kernel\": 5, \"expand\": 3, \"se\": true}, "
    "{\"type\": \"pool\", \"mode\": \"max\", \"kernel\": 3, \"stride\": 2, \"pad\": 1}, "
    "{\"type\": \"global_pool\"}, {\"type\": \"linear\", \"out\": 5}]}";

static void tmp_path(char *buf, size_t n, const char *what) {
    snprintf(buf, n, "/tmp/asvk_test_onnx_%d_%s.onnx", (int)getpid(), what);
}

static void model_reads_back(void) {
    asvk_context *ctx = test_context();
    asvk_arch a;
    OK(asvk_arch_parse(tiny_json, strlen(tiny_json), "tiny", &a));
    asvk_infer *f;
    OK(asvk_infer_create(ctx, &a, NULL, 7, &f));
    char path[256];
    tmp_path(path, sizeof path, "tiny");
    asvk_onnx_info info;
    OK(asvk_onnx_export(ctx, &a, asvk_infer_store(f), path, &info));
    char *bytes;
    size_t size;
    OK(asvk_file_read_all(path, 0, &bytes, &size));
    unlink(path);
    CHECK(size == info.bytes, "file of %zu bytes, export said %llu", size, (unsigned long long)info.bytes);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, size, (const uint8_t *)bytes);
    free(bytes);
    CHECK(m != NULL, "protobuf-c cannot read the file back");
    if (!m) return;
    CHECK(m->n_opset_import == 1 && m->opset_import[0]->version == 13, "opset");
    const Onnx__GraphProto *g = m->graph;
    CHECK(g->n_input == 1 && strcmp(g->input[0]->name, "input") == 0, "input");
    const Onnx__TensorShapeProto *in = g->input[0]->type->tensor_type->shape;
    CHECK(in->n_dim == 4 && in->dim[0]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
              in->dim[1]->dim_value == 2 && in->dim[2]->dim_value == 9 && in->dim[3]->dim_value == 9,
          "input shape");
    CHECK(g->n_output == 1 && strcmp(g->output[0]->name, "logits") == 0 &&
              g->output[0]->type->tensor_type->shape->dim[1]->dim_value == 5, "output");
    uint32_t convs = 0;
    for (size_t i = 0; i < g->n_node; i++) {
        CHECK(strcmp(g->node[i]->op_type, "BatchNormalization") != 0, "a BN was not folded: %s", g->node[i]->name);
        convs += strcmp(g->node[i]->op_type, "Conv") == 0;
    }
    /* stem, expand, depthwise, SE reduce and expand, project, classifier */
    CHECK(convs == 7, "%u Conv nodes, expected 7", convs);
    /* the stem's weight: the store's folded OHWI [8][3][3][2] as OIHW [8][2][3][3] */
    const asvk_param_store *ps = asvk_infer_store(f);
    int k = asvk_params_find(ps, "layers.0.conv.fold_w");
    CHECK(k >= 0, "no folded stem weight in the store");
    float w[8 * 3 * 3 * 2];
    if (k >= 0) OK(asvk_params_download(ctx, ps, k, w));
    const Onnx__TensorProto *t = NULL;
    for (size_t i = 0; i < g->n_initializer; i++)
        if (strcmp(g->initializer[i]->name, "layers.0.conv.fold_w") == 0) t = g->initializer[i];
    CHECK(t && t->n_dims == 4 && t->dims[0] == 8 && t->dims[1] == 2 && t->dims[2] == 3 && t->dims[3] == 3 &&
              t->raw_data.len == sizeof w, "the stem's weight initializer");
    for (int o = 0; t && o < 8; o++)
        for (int c = 0; c < 2; c++)
            for (int y = 0; y < 3; y++)
                for (int x = 0; x < 3; x++) {
                    float v;
                    memcpy(&v, t->raw_data.data + 4 * (((o * 2 + c) * 3 + y) * 3 + x), 4);
                    CHECK(v == w[((o * 3 + y) * 3 + x) * 2 + c], "weight [%d][%d][%d][%d]", o, c, y, x);
                }
    onnx__model_proto__free_unpacked(m, NULL);
    asvk_infer_destroy(f);
    asvk_arch_free(&a);
}

static void unexportable_node_is_named(void) {
    asvk_context *ctx = test_context();
    asvk_arch a;
    OK(asvk_arch_parse(tiny_json, strlen(tiny_json), "tiny", &a));
    asvk_infer *f;
    OK(asvk_infer_create(ctx, &a, NULL, 7, &f));
    asvk_model m;
    OK(asvk_model_build(&a, (asvk_param_store *)asvk_infer_store(f), 1, 0, false, 0, &m));
    /* a distillation term has no place in an inference model */
    CHECK(asvk_op_mse(m.graph, "probe", m.logits, m.logits, 1.0f) != ASVK_NO_VAL, "mse node");
    char path[256];
    tmp_path(path, sizeof path, "bad");
    EXPECT_ERR(asvk_onnx_export_graph(ctx, &a, asvk_infer_store(f), m.graph, m.input, m.logits, path, NULL),
               ASVK_ERR_USAGE, "(mse, writing 'probe') cannot be exported to ONNX");
    CHECK(access(path, F_OK) != 0, "a failed export left %s", path);
    asvk_graph_destroy(NULL, m.graph);
    asvk_infer_destroy(f);
    asvk_arch_free(&a);
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"model_reads_back", model_reads_back},
        {"unexportable_node_is_named", unexportable_node_is_named},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
