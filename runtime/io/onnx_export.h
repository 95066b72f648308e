/* ONNX export (`asvk export --onnx`): the inference graph the runtime builds
 * for an architecture, with every BN folded into its convolution, written as
 * an ONNX model through protobuf-c and the onnx.proto schema Debian ships
 * (third_party/CMakeLists.txt), never hand-made wire bytes. docs/export.md
 * describes the model: opset 13, input "input" [batch, C, H, W] (NCHW,
 * normalised as the trainer feeds images, batch symbolic), output "logits"
 * [batch, classes]; how each runtime op maps to ONNX operators. */
#ifndef ASVK_RUNTIME_IO_ONNX_EXPORT_H
#define ASVK_RUNTIME_IO_ONNX_EXPORT_H

#include "runtime/graph.h"
#include "runtime/io/arch.h"
#include "runtime/params.h"

#define ASVK_ONNX_OPSET 13

typedef struct asvk_onnx_info {
    uint32_t nodes, initializers; /* of the ONNX graph */
    uint64_t bytes;               /* the file's size */
} asvk_onnx_info;

/* Writes `a` with the weights of `ps` (declared by asvk_model_declare,
 * allocated on ctx, folds up to date: runtime/infer.h makes such a store) to
 * `path`, atomically. A runtime node with no ONNX form is ASVK_ERR_USAGE
 * naming the node, its op and the layer it belongs to. info may be NULL. */
asvk_status asvk_onnx_export(asvk_context *ctx, const asvk_arch *a, const asvk_param_store *ps, const char *path,
                             asvk_onnx_info *info);

/* The same for a graph built over `ps` (as asvk_model_build builds it, in
 * inference mode): `input` becomes "input", `logits` (N, classes, 1, 1)
 * "logits"; a cross-entropy node is left out. `a` gives the name, the input
 * shape and the BN epsilon. */
asvk_status asvk_onnx_export_graph(asvk_context *ctx, const asvk_arch *a, const asvk_param_store *ps, asvk_graph *g,
                                   asvk_val input, asvk_val logits, const char *path, asvk_onnx_info *info);

#endif
