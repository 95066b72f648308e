/* Latency tables (`asvk latency`) and the predictor built on them.
 *
 * A table maps the cost key of every inference-graph node (asvk_graph_node_key:
 * op, the attributes that decide its cost, input and output shapes) to its
 * median device time, measured with a timestamp before every node inside
 * whole networks, so each time includes the node's dispatches, barriers and
 * the gaps between them as the runtime really runs them. The networks
 * measured are probes that put every operator of a space, at every expansion
 * ratio and every stride, into every searchable layer of a skeleton. Keys
 * depend only on graphs, which build without a device, so a table measured on
 * one device (a phone, a board) prices networks on another machine.
 *
 * Prediction of a network: the sum over its nodes of their shares, a share
 * being scale * table time + per_node, held to at least half the table time;
 * scale and per_node are fitted to the measured networks' untimed totals
 * (relative squared error, the floor included): a timestamp before every
 * node costs a little and serializes independent nodes that an untimed
 * graph runs side by side. The probes are chains; `asvk latency` also
 * measures random calibration networks, whose cells' parallel edges are
 * not. A cell inside a network: its nodes' shares, so a network is never
 * below the sum of its cells. A cell alone (a graph of its own) is
 * alone_scale * its shares + the graph overhead, both fitted on calibration
 * cells measured alone.
 *
 * Every time is the fastest of `repeat` runs after `warmup` (the median over
 * a key's occurrences in the measured networks): on a shared or
 * power-managed device the slower runs are interference that differs between
 * sessions, and the fastest is what repeats (see latency.c).
 *
 * Imported tables (asvk_lut_import_yaml, `asvk latency import`) hold the
 * block keys and times a phone's published ProxylessNAS or once-for-all
 * table gives, in the same file format and behind the same predictor: a
 * network is the sum of its blocks' entries (lut_blocks.c), a block the table
 * lacks comes from a model fitted on its entries. Their stamp says so
 * (asvk_lut_stamp.imported, .source). */
#ifndef ASVK_AUTOSPACE_LATENCY_H
#define ASVK_AUTOSPACE_LATENCY_H

#include <stdbool.h>
#include <stddef.h>

#include "autospace/genome.h"
#include "autospace/skeleton.h"
#include "engine/engine.h"
#include "runtime/profile.h"

typedef struct asvk_lut asvk_lut;

/* What a table's keys are: the cost keys of graph nodes (a table measured
 * by asvk), or the block keys of a published table (ProxylessNAS's
 * "expanded_conv-input:HxWxC-output:HxWxC-expand:E-kernel:K-stride:S-idskip:I",
 * once-for-all's with the middle width as E and "-se:0/1-hs:0/1"; autospace/lut_blocks.c). */
typedef enum { ASVK_LUT_KEYS_NODE = 0, ASVK_LUT_KEYS_PROXYLESS, ASVK_LUT_KEYS_OFA } asvk_lut_keys;

typedef struct asvk_lut_stamp {
    char device[256], vendor[32], driver[520], driver_version[32], asvk_version[32];
    uint32_t vendor_id, device_id;
    bool imported;       /* converted from a published table (asvk latency import), not measured by asvk */
    char source[256];    /* imported: the file it came from */
    asvk_lut_keys keys;
    uint32_t resolution; /* block tables: the input resolution their shapes are at */
} asvk_lut_stamp;

/* Block tables: a blocks's time from its shape when the table lacks its key,
 * ms = coef . (pointwise MAdds, depthwise MAdds, activation elements read and
 * written, SE MAdds, has an expand conv, 1), least squares in relative error
 * over the table's expanded_conv entries; its error on held-out entries
 * (leave-one-out) is kept beside it. */
#define ASVK_LUT_MODEL_TERMS 6
typedef struct asvk_lut_block_model {
    double coef[ASVK_LUT_MODEL_TERMS];
    uint32_t entries;                  /* 0: no model (too few entries) */
    double heldout_median, heldout_p90; /* |predicted - entry| / entry, each entry left out of the fit */
} asvk_lut_block_model;

asvk_lut *asvk_lut_create(uint32_t batch);
void asvk_lut_destroy(asvk_lut *t);
uint32_t asvk_lut_batch(const asvk_lut *t);
uint32_t asvk_lut_count(const asvk_lut *t);
const asvk_lut_stamp *asvk_lut_stamp_of(const asvk_lut *t);
double asvk_lut_overhead_ms(const asvk_lut *t);
double asvk_lut_per_node_ms(const asvk_lut *t);
double asvk_lut_node_scale(const asvk_lut *t);
double asvk_lut_alone_scale(const asvk_lut *t);

/* Stamps the table with the context's device and this asvk. */
void asvk_lut_stamp_device(asvk_lut *t, const asvk_context *ctx);
/* NULL when the table was measured on this context's device; otherwise a
 * sentence naming both (a warning for the caller to show). */
const char *asvk_lut_other_device(const asvk_lut *t, const asvk_context *ctx, char *buf, size_t n);

/* Measures the inference graph of `a` at the table's batch: every node is
 * one observation of its key, and the total one observation of the graph
 * overhead. `total` (may be NULL) receives the untimed whole-graph timing. */
asvk_status asvk_lut_measure_arch(asvk_lut *t, asvk_context *ctx, const asvk_arch *a, uint32_t warmup, uint32_t repeat,
                                  asvk_timing *total);

/* The probes that cover a skeleton: for every expansion ratio, one network
 * per operator (a 3-node chain of it, strided first edge, in every layer),
 * two with 2- and 3-input sum and weighted merges, one with the copy a node
 * fed one value by two identity edges makes, and one with SE; `acts`
 * are the activations cells may use. *out is malloc'd (asvk_arch_free each,
 * then free the array). */
asvk_status asvk_lut_probes(const asvk_skeleton *sk, uint32_t ops, const float *expands, uint32_t nexpands,
                            const asvk_act *acts, uint32_t nacts, asvk_arch **out, uint32_t *count);

/* Predictions. A key the table lacks is ASVK_ERR_USAGE naming it (measure
 * the skeleton's probes with `asvk latency` for that space). */
asvk_status asvk_lut_predict_arch(const asvk_lut *t, const asvk_arch *a, double *ms);
asvk_status asvk_lut_predict_cell(const asvk_lut *t, const asvk_skeleton *sk, uint32_t layer, const asvk_cell *c,
                                  double *ms);

/* Measures cell c of `layer` alone (as asvk_lut_measure_cell) and adds it to
 * the cells the graph overhead (asvk_lut_overhead_ms) is fitted on: what a
 * graph of its own costs beyond its nodes' shares. Every node of the cell
 * must already be in the table. `out` (may be NULL) receives the timing. */
asvk_status asvk_lut_calibrate_cell(asvk_lut *t, asvk_context *ctx, const asvk_skeleton *sk, uint32_t layer,
                                    const asvk_cell *c, uint32_t warmup, uint32_t repeat, asvk_timing *out);
/* A cell alone (its layer's input -> the cell -> its output): predicted
 * (alone_scale * its shares + the graph overhead, both fitted on the cells
 * given to asvk_lut_calibrate_cell) and timed on the device. */
asvk_status asvk_lut_predict_cell_alone(const asvk_lut *t, const asvk_skeleton *sk, uint32_t layer,
                                        const asvk_cell *c, double *ms);
asvk_status asvk_lut_measure_cell(asvk_context *ctx, const asvk_skeleton *sk, uint32_t layer, const asvk_cell *c,
                                  uint32_t batch, uint32_t warmup, uint32_t repeat, asvk_timing *out);

/* A prediction part by part: for a published block table, its blocks in the
 * order its authors' estimators add them (a block it lacks is `modeled`: the
 * table's block model, asvk_lut_model); for a measured table, the layers (the
 * nodes each layer's weights feed, and the weightless nodes after them).
 * *parts is malloc'd (free it); *ms is the total, asvk_lut_predict_arch's. */
typedef struct asvk_lut_part {
    char key[256];  /* the block key, or "layer 3 (mbconv)" */
    int32_t layer;  /* the architecture's layer it prices (-1: none) */
    double ms;
    bool modeled;   /* not in the table: estimated by the block model */
} asvk_lut_part;
asvk_status asvk_lut_predict_parts(const asvk_lut *t, const asvk_arch *a, asvk_lut_part **parts, uint32_t *count,
                                   double *ms);
/* A block table's model of the blocks it lacks (entries 0: none, e.g. a measured table). */
const asvk_lut_block_model *asvk_lut_model(const asvk_lut *t);

/* A published ProxylessNAS or once-for-all latency table (YAML: key -> {count,
 * mean, var|std}) as a block table stamped as measured on `device` and as
 * imported from `path`; the block model is fitted. Unknown keys, a key of
 * neither format, a missing or bad mean, tables mixing formats or
 * resolutions are ASVK_ERR_USAGE naming the file and the key. */
asvk_status asvk_lut_import_yaml(const char *path, const char *device, asvk_lut **out);

/* JSON ("format": "asvk-latency/1"), written atomically; reading validates everything. */
asvk_status asvk_lut_save(const asvk_lut *t, const char *path);
asvk_status asvk_lut_load(const char *path, asvk_lut **out);

#endif
