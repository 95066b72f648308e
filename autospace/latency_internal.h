/* The latency table's representation, shared by latency.c (measured tables,
 * the node predictor, the file), lut_blocks.c (published block tables: their
 * keys, the missing-block model) and lut_import.c (published YAML). */
#ifndef ASVK_AUTOSPACE_LATENCY_INTERNAL_H
#define ASVK_AUTOSPACE_LATENCY_INTERNAL_H

#include <cjson/cJSON.h>

#include "autospace/latency.h"

typedef struct {
    char *key;
    double *obs, *med; /* per occurrence in a measured network: fastest and median run (ms), until finished */
    uint32_t n, cap, capm;
    double ms, median_ms, spread; /* medians over the occurrences; (max - min) / ms of the fastest runs */
    uint32_t runs;                /* occurrences behind ms */
} entry;

/* A measured network: its nodes' keys and its untimed total (fastest run). */
typedef struct {
    char **keys;
    uint32_t n, cap;
    double total_ms;
} fit_net;

struct asvk_lut {
    asvk_lut_stamp stamp;
    uint32_t batch;
    entry *e;
    uint32_t n, cap;
    fit_net *fit; /* the measured networks, for the fit */
    uint32_t nf, capf;
    fit_net *cells; /* cells measured alone, for the graph overhead */
    uint32_t nc, capc;
    double overhead_ms, per_node_ms, scale, alone_scale;
    uint32_t warmup, repeat; /* of the measurements */
    asvk_lut_block_model model; /* block tables: the model of blocks the table lacks */
};

/* The entry of `key` (NULL when absent), and a new or existing one set to ms over `runs` runs. */
const entry *asvk_lut_entry(const asvk_lut *t, const char *key);
asvk_status asvk_lut_put(asvk_lut *t, const char *key, double ms, uint32_t runs);
/* A node's predicted share in a network (measured tables: the fitted scale, per-node term and floor). */
double asvk_lut_node_share(const asvk_lut *t, double ms);

/* ---- block tables (lut_blocks.c) ---- */

/* A network's prediction by a block table: the sum of its blocks' entries in
 * the order the authors' estimators add them, a block the table lacks from
 * the block model. parts/count (may be NULL) receive the breakdown. */
asvk_status asvk_lut_blocks_predict(const asvk_lut *t, const asvk_arch *a, asvk_lut_part **parts, uint32_t *count,
                                    double *ms);
/* A skeleton layer's cell by a block table (lut_blocks.c). */
asvk_status asvk_lut_blocks_predict_cell(const asvk_lut *t, const asvk_skeleton *sk, uint32_t layer, const asvk_cell *c,
                                         double *ms);
/* Whether `key` is a block key of `scheme` (the message says why not when `why` is given). */
bool asvk_lut_block_key_valid(const char *key, asvk_lut_keys scheme, char *why, size_t n);
/* Fits t->model on the table's expanded_conv entries, with its leave-one-out error. */
void asvk_lut_blocks_fit(asvk_lut *t);
/* The "source" and "block_model" members of a table file. */
void asvk_lut_blocks_save(const asvk_lut *t, cJSON *j);
asvk_status asvk_lut_blocks_load(asvk_lut *t, const cJSON *j, const char *path);

#endif
