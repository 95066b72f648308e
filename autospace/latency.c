/* Latency tables and the predictor; see latency.h. */
#include "autospace/latency.h"
#include "autospace/latency_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/version.h"
#include "runtime/cell_ops.h"
#include "runtime/fold.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/json_read.h"
#include "runtime/model.h"

#define LUT_FORMAT "asvk-latency/1"

static void free_net(fit_net *f) {
    for (uint32_t k = 0; k < f->n; k++) free(f->keys[k]);
    free(f->keys);
    f->keys = NULL, f->n = f->cap = 0;
}

asvk_lut *asvk_lut_create(uint32_t batch) {
    asvk_lut *t = calloc(1, sizeof *t);
    if (t) t->batch = batch ? batch : 1, t->scale = 1, t->alone_scale = 1;
    return t;
}

void asvk_lut_destroy(asvk_lut *t) {
    if (!t) return;
    for (uint32_t i = 0; i < t->n; i++) free(t->e[i].key), free(t->e[i].obs), free(t->e[i].med);
    for (uint32_t i = 0; i < t->nf; i++) free_net(&t->fit[i]);
    for (uint32_t i = 0; i < t->nc; i++) free_net(&t->cells[i]);
    free(t->e), free(t->fit), free(t->cells), free(t);
}

uint32_t asvk_lut_batch(const asvk_lut *t) { return t->batch; }
uint32_t asvk_lut_count(const asvk_lut *t) { return t->n; }
const asvk_lut_stamp *asvk_lut_stamp_of(const asvk_lut *t) { return &t->stamp; }

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_of(double *v, uint32_t n) {
    if (!n) return 0;
    qsort(v, n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static entry *find(const asvk_lut *t, const char *key, uint32_t *pos);

/* A node's predicted share of a network: scale * its table time + per_node,
 * held to at least half its time (a small node where the terms, fitted on
 * whole networks, would outweigh it). Per node and never negative, so that
 * a network is never predicted below the sum of its cells' predictions. */
static double share(double ms, double scale, double per_node) {
    double v = scale * ms + per_node;
    return v > 0.5 * ms ? v : 0.5 * ms;
}

static double fit_error(const asvk_lut *t, const entry *const *const *nodes, double scale, double per_node) {
    double err = 0;
    for (uint32_t i = 0; i < t->nf; i++) {
        double p = 0;
        for (uint32_t k = 0; k < t->fit[i].n; k++) p += share(nodes[i][k]->ms, scale, per_node);
        double r = p / t->fit[i].total_ms - 1;
        err += r * r;
    }
    return err;
}

/* scale and per_node: what makes the table's shares add up to the measured
 * networks' untimed totals, in relative squared error (the error --check
 * reports), floor included. A timestamp before every node costs a little and
 * serializes independent nodes that the untimed graph runs side by side
 * (lavapipe overlaps a cell's parallel edges); the node times in the table
 * are medians over occurrences, not the network's own. A grid over both
 * terms, refined twice around the best point: two parameters, tens of
 * networks, so exhaustive is cheap and has no local minima to fall into. */
static void fit_model(asvk_lut *t) {
    t->scale = 1, t->per_node_ms = 0;
    if (!t->nf) return;
    const entry ***nodes = calloc(t->nf, sizeof *nodes);
    bool ok = nodes != NULL;
    for (uint32_t i = 0; ok && i < t->nf; i++) {
        ok = t->fit[i].total_ms > 0 && (nodes[i] = malloc((t->fit[i].n + 1) * sizeof **nodes)) != NULL;
        for (uint32_t k = 0; ok && k < t->fit[i].n; k++) ok = (nodes[i][k] = find(t, t->fit[i].keys[k], NULL)) != NULL;
    }
    if (ok) {
        double bs = 1, bp = 0, best = fit_error(t, (const entry *const *const *)nodes, 1, 0);
        double cs = 1, cp = 0, ws = 0.75, wp = 0.25; /* half-widths: scale, ms per node */
        /* The coarse grid moves while its best point is on its edge (up to 8
         * times: a table of fast nodes can want a scale past 1.75), then the
         * grid is refined twice around the best point. */
        for (int round = 0, moves = 0; round < 3; round++) {
            int bi = 0, bj = 0;
            for (int i = -20; i <= 20; i++)
                for (int j = -20; j <= 20; j++) {
                    double sc = cs + ws * i / 20, pn = cp + wp * j / 20;
                    if (sc <= 0.05) continue;
                    double e = fit_error(t, (const entry *const *const *)nodes, sc, pn);
                    if (e < best) best = e, bs = sc, bp = pn, bi = i, bj = j;
                }
            bool edge = (abs(bi) == 20 && cs + ws * bi / 20 > 0.05 + ws / 20) || abs(bj) == 20;
            cs = bs, cp = bp;
            if (round == 0 && edge && moves++ < 8) round--; /* the same width again, around the edge point */
            else ws /= 10, wp /= 10;
        }
        t->scale = bs, t->per_node_ms = bp;
    }
    for (uint32_t i = 0; nodes && i < t->nf; i++) free(nodes[i]);
    free(nodes);
}

/* A cell alone (a graph of its own): alone_scale * its nodes' shares +
 * overhead, least squares in relative error over the cells measured alone
 * (x = S/M, 1/M against 1). Alone, a small cell's data stays in cache from
 * run to run where inside a network it does not, and the graph's first
 * dispatch wakes the device's threads: a scale and a constant. Only
 * predictions of a cell on its own carry them; a network's cells don't. */
static void fit_overhead(asvk_lut *t) {
    double sxx = 0, sxy = 0, syy = 0, sx = 0, sy = 0;
    uint32_t used = 0;
    for (uint32_t i = 0; i < t->nc; i++) {
        double sum = 0, m = t->cells[i].total_ms;
        bool ok = m > 0;
        for (uint32_t k = 0; ok && k < t->cells[i].n; k++) {
            const entry *e = find(t, t->cells[i].keys[k], NULL);
            if (!(ok = e != NULL)) break;
            sum += share(e->ms, t->scale, t->per_node_ms);
        }
        if (!ok) continue;
        double x = sum / m, y = 1 / m;
        sxx += x * x, sxy += x * y, syy += y * y, sx += x, sy += y;
        used++;
    }
    t->alone_scale = 1, t->overhead_ms = 0;
    if (!used) return;
    double det = sxx * syy - sxy * sxy;
    double a = det > 1e-12 * sxx * syy ? (sx * syy - sy * sxy) / det : 0;
    double o = det > 1e-12 * sxx * syy ? (sy * sxx - sx * sxy) / det : 0;
    if (used >= 3 && a > 0.25 && a < 4) t->alone_scale = a, t->overhead_ms = o;
    else t->overhead_ms = syy > 0 ? (sy - sxy) / syy : 0; /* the constant alone: few cells or a wild scale */
}

/* Medians of whatever was observed since the last call. */
static void finish(asvk_lut *t) {
    for (uint32_t i = 0; i < t->n; i++) {
        entry *e = &t->e[i];
        if (!e->n) continue;
        e->ms = median_of(e->obs, e->n);
        e->median_ms = median_of(e->med, e->n);
        e->spread = e->ms > 0 ? (e->obs[e->n - 1] - e->obs[0]) / e->ms : 0;
        e->runs = e->n;
    }
    fit_model(t);
    fit_overhead(t);
}

double asvk_lut_overhead_ms(const asvk_lut *t) { return t->overhead_ms; }
double asvk_lut_per_node_ms(const asvk_lut *t) { return t->per_node_ms; }
double asvk_lut_node_scale(const asvk_lut *t) { return t->scale; }
double asvk_lut_alone_scale(const asvk_lut *t) { return t->alone_scale; }

/* Binary search over the sorted keys; *pos is where `key` is or would go. */
static entry *find(const asvk_lut *t, const char *key, uint32_t *pos) {
    uint32_t lo = 0, hi = t->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        int c = strcmp(t->e[mid].key, key);
        if (!c) {
            if (pos) *pos = mid;
            return &t->e[mid];
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    if (pos) *pos = lo;
    return NULL;
}

const entry *asvk_lut_entry(const asvk_lut *t, const char *key) { return find(t, key, NULL); }
double asvk_lut_node_share(const asvk_lut *t, double ms) { return share(ms, t->scale, t->per_node_ms); }

static entry *insert(asvk_lut *t, const char *key);

asvk_status asvk_lut_put(asvk_lut *t, const char *key, double ms, uint32_t runs) {
    entry *e = insert(t, key);
    if (!e) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    e->ms = e->median_ms = ms, e->spread = 0, e->runs = runs;
    return ASVK_OK;
}

static entry *insert(asvk_lut *t, const char *key) {
    uint32_t pos;
    entry *e = find(t, key, &pos);
    if (e) return e;
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? 2 * t->cap : 64;
        entry *ne = realloc(t->e, cap * sizeof *ne);
        if (!ne) return NULL;
        t->e = ne, t->cap = cap;
    }
    char *k = strdup(key);
    if (!k) return NULL;
    memmove(&t->e[pos + 1], &t->e[pos], (t->n - pos) * sizeof *t->e);
    t->e[pos] = (entry){.key = k};
    t->n++;
    return &t->e[pos];
}

static bool push_key(fit_net *f, const char *key) {
    if (f->n == f->cap) {
        uint32_t c = f->cap ? 2 * f->cap : 64;
        char **nk = realloc(f->keys, c * sizeof *nk);
        if (!nk) return false;
        f->keys = nk, f->cap = c;
    }
    if (!(f->keys[f->n] = strdup(key))) return false;
    f->n++;
    return true;
}

static bool push(double **v, uint32_t *n, uint32_t *cap, double x) {
    if (*n == *cap) {
        uint32_t c = *cap ? 2 * *cap : 8;
        double *nv = realloc(*v, c * sizeof *nv);
        if (!nv) return false;
        *v = nv, *cap = c;
    }
    (*v)[(*n)++] = x;
    return true;
}

void asvk_lut_stamp_device(asvk_lut *t, const asvk_context *ctx) {
    const asvk_device_info *d = asvk_context_device(ctx);
    asvk_lut_stamp *s = &t->stamp;
    snprintf(s->device, sizeof s->device, "%s", d->name);
    snprintf(s->vendor, sizeof s->vendor, "%s", d->vendor);
    snprintf(s->driver, sizeof s->driver, "%s", d->driver);
    snprintf(s->driver_version, sizeof s->driver_version, "%s", d->driver_version_str);
    snprintf(s->asvk_version, sizeof s->asvk_version, "%s", ASVK_VERSION);
    s->vendor_id = d->vendor_id, s->device_id = d->device_id;
}

const char *asvk_lut_other_device(const asvk_lut *t, const asvk_context *ctx, char *buf, size_t n) {
    const asvk_device_info *d = asvk_context_device(ctx);
    const asvk_lut_stamp *s = &t->stamp;
    if (s->imported) return NULL; /* a published phone's table: pricing for that phone is its purpose */
    if (s->vendor_id == d->vendor_id && s->device_id == d->device_id && strcmp(s->device, d->name) == 0 &&
        strcmp(s->driver_version, d->driver_version_str) == 0)
        return NULL;
    snprintf(buf, n, "the latency table was measured on %s (driver %s), not on this %s (driver %s): its times are "
             "that device's", s->device, s->driver_version, d->name, d->driver_version_str);
    return buf;
}

/* ---- measuring ---- */

typedef struct {
    asvk_lut *t;
    fit_net net;
    bool oom;
} measure_ctx;

/* The fastest of the runs, for nodes and totals alike: on a shared or
 * power-managed device the slower runs are interference (a thread pool
 * waking, another process, clocks ramping) that differs between sessions;
 * the fastest run is what repeats (lavapipe here: the same network measured
 * twice differs by 2.4% at the median as the fastest of 15 runs, 3.8% as the
 * median of 15; a cell by 8.8% against 9.8%). */
static void on_node(void *user, const char *key, const char *op, const asvk_timing *tm) {
    (void)op;
    measure_ctx *m = user;
    entry *e = insert(m->t, key);
    uint32_t n = e ? e->n : 0;
    if (!e || !push(&e->med, &n, &e->capm, tm->median_ns / 1e6) || !push(&e->obs, &e->n, &e->cap, tm->min_ns / 1e6))
        m->oom = true;
    if (!push_key(&m->net, key)) m->oom = true;
}

asvk_status asvk_lut_measure_arch(asvk_lut *t, asvk_context *ctx, const asvk_arch *a, uint32_t warmup, uint32_t repeat,
                                  asvk_timing *total) {
    measure_ctx m = {t, {0}, false};
    asvk_timing tot;
    t->warmup = warmup, t->repeat = repeat;
    asvk_status st = asvk_arch_profile(ctx, a, t->batch, warmup, repeat, on_node, &m, &tot);
    if (!st && m.oom) st = asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    if (!st && t->nf == t->capf) {
        uint32_t c = t->capf ? 2 * t->capf : 16;
        fit_net *nf = realloc(t->fit, c * sizeof *nf);
        if (!nf) st = asvk_error_set(ASVK_ERR_OOM, "out of host memory");
        else t->fit = nf, t->capf = c;
    }
    if (!st) {
        m.net.total_ms = tot.min_ns / 1e6;
        t->fit[t->nf++] = m.net;
        finish(t);
        if (total) *total = tot;
    } else {
        free_net(&m.net);
    }
    return st;
}

/* ---- probes ---- */

static asvk_status probe_arch(const asvk_skeleton *sk, const asvk_cell *c, const char *what, asvk_arch *out) {
    asvk_cell cells[ASVK_SKEL_MAX_LAYERS];
    for (uint32_t l = 0; l < sk->count; l++) cells[l] = *c;
    char name[64];
    snprintf(name, sizeof name, "probe-%.50s", what);
    return asvk_skeleton_to_arch(sk, cells, name, out);
}

asvk_status asvk_lut_probes(const asvk_skeleton *sk, uint32_t ops, const float *expands, uint32_t nexpands,
                            const asvk_act *acts, uint32_t nacts, asvk_arch **out, uint32_t *count) {
    uint32_t cap = nexpands * nacts * (ASVK_CELL_OPS + 4) + 1, n = 0;
    asvk_arch *a = calloc(cap, sizeof *a);
    if (!a) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    asvk_status st = ASVK_OK;
    for (uint32_t x = 0; x < nexpands && !st; x++)
        for (uint32_t y = 0; y < nacts && !st; y++) {
            char what[48];
            asvk_cell c;
            for (uint32_t op = 1; op < ASVK_CELL_OPS && !st; op++) {
                if (!(ops & (1u << op))) continue;
                asvk_cell_init(&c, 3, expands[x]); /* 0 -(strided)-> 1 -> 2 */
                c.act = acts[y];
                c.op[1][0] = c.op[2][1] = (uint8_t)op;
                snprintf(what, sizeof what, "e%g-%s-%s", (double)expands[x], asvk_cell_op_name((asvk_cell_op)op),
                         asvk_act_name(acts[y]));
                st = probe_arch(sk, &c, what, &a[n]);
                if (!st) n++;
            }
            /* merges: node 2 of 2 inputs and node 3 of 3, each mode in each */
            for (int swap = 0; swap < 2 && !st; swap++) {
                asvk_cell_init(&c, 4, expands[x]);
                c.act = acts[y];
                c.op[1][0] = c.op[2][0] = c.op[2][1] = c.op[3][0] = c.op[3][1] = c.op[3][2] = ASVK_CELL_IDENTITY;
                c.mix[2] = swap ? ASVK_MIX_WEIGHTED : ASVK_MIX_SUM;
                c.mix[3] = swap ? ASVK_MIX_SUM : ASVK_MIX_WEIGHTED;
                snprintf(what, sizeof what, "e%g-merges%d-%s", (double)expands[x], swap, asvk_act_name(acts[y]));
                st = probe_arch(sk, &c, what, &a[n]);
                if (!st) n++;
            }
            if (!st && y == 0) {
                /* two identity edges bringing one value into a node: the cell
                 * graph copies one of them (act none) at the layer's inner
                 * shape, after the stride: 1 = id(0) (strided), 2 = id(1),
                 * 3 = id(1) + id(2). The copy does not depend on the act. */
                asvk_cell_init(&c, 4, expands[x]);
                c.act = acts[y];
                c.op[1][0] = c.op[2][1] = c.op[3][1] = c.op[3][2] = ASVK_CELL_IDENTITY;
                snprintf(what, sizeof what, "e%g-copies", (double)expands[x]);
                st = probe_arch(sk, &c, what, &a[n]);
                if (!st) n++;
            }
            if (!st) { /* squeeze-excitation */
                c = asvk_cell_mbconv(3, expands[x]);
                c.act = acts[y];
                c.se = true;
                snprintf(what, sizeof what, "e%g-se-%s", (double)expands[x], asvk_act_name(acts[y]));
                st = probe_arch(sk, &c, what, &a[n]);
                if (!st) n++;
            }
        }
    if (st) {
        for (uint32_t i = 0; i < n; i++) asvk_arch_free(&a[i]);
        free(a);
        return st;
    }
    *out = a;
    *count = n;
    return ASVK_OK;
}

/* ---- predicting ---- */

typedef struct {
    const asvk_lut *t;
    double ms; /* the sum of the nodes' predicted shares */
    asvk_status st;
} predict_ctx;

static void on_key(void *user, const char *key) {
    predict_ctx *p = user;
    if (p->st) return;
    const entry *e = find(p->t, key, NULL);
    if (!e) {
        p->st = asvk_error_set(ASVK_ERR_USAGE, "the latency table has no time for '%s'; measure this skeleton and "
                               "space with 'asvk latency' first", key);
        return;
    }
    p->ms += share(e->ms, p->t->scale, p->t->per_node_ms);
}

asvk_status asvk_lut_predict_arch(const asvk_lut *t, const asvk_arch *a, double *ms) {
    if (t->stamp.keys != ASVK_LUT_KEYS_NODE) return asvk_lut_blocks_predict(t, a, NULL, NULL, ms);
    predict_ctx p = {t, 0, ASVK_OK};
    asvk_status st = asvk_arch_node_keys(a, t->batch, on_key, &p);
    if (!st) st = p.st;
    if (!st) *ms = p.ms; /* the graph overhead is for cells alone: the shares are fitted on whole networks */
    return st;
}

static asvk_status declare(void *user, const char *suffix, asvk_param_role role, uint32_t rank, const uint32_t *shape) {
    asvk_param_store *ps = user;
    uint32_t dims[4];
    memcpy(dims, shape, rank * sizeof *dims);
    if (role == ASVK_PARAM_CONV_WEIGHT && rank == 4) dims[1] = shape[2], dims[2] = shape[3], dims[3] = shape[1];
    int group = role == ASVK_PARAM_BN_MEAN || role == ASVK_PARAM_BN_VAR ? ASVK_GROUP_STATE : ASVK_GROUP_DECAY;
    return asvk_params_add(ps, suffix, rank, dims, group) < 0 ? ASVK_ERR_USAGE : ASVK_OK;
}

/* A graph holding one cell at its layer (inference mode) over a store of its tensors. */
static asvk_status cell_graph(const asvk_skeleton *sk, uint32_t layer, const asvk_cell *c, uint32_t batch,
                              asvk_param_store **ps_out, asvk_graph **g_out) {
    *ps_out = NULL, *g_out = NULL;
    uint32_t ch, h;
    asvk_skeleton_layer_input(sk, layer, &ch, &h);
    asvk_cell_shape s;
    asvk_status st = asvk_cell_shape_of(c, ch, h, h, sk->layers[layer].out, sk->layers[layer].stride, &s);
    if (st) return st;
    asvk_param_store *ps = asvk_params_create();
    if (!ps) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    st = asvk_cell_params(c, &s, declare, ps);
    if (!st) st = asvk_fold_declare(ps); /* as networks run it: BN folded in */
    asvk_graph *g = st ? NULL : asvk_graph_create(ps);
    if (!st && !g) st = asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    if (!st) {
        asvk_val x = asvk_graph_act(g, "input", (asvk_nhwc){batch, h, h, ch});
        asvk_cell_build_opts o = {(float)sk->bn_eps, (float)sk->bn_momentum, false};
        asvk_val y = x == ASVK_NO_VAL ? x : asvk_cell_build(g, "", c, &s, x, &o);
        if (y == ASVK_NO_VAL) st = ASVK_ERR_USAGE;
        else asvk_graph_val(g, x)->kind = ASVK_VAL_INPUT, asvk_graph_val(g, y)->kind = ASVK_VAL_OUTPUT;
    }
    if (st) {
        if (g) asvk_graph_destroy(NULL, g);
        asvk_params_destroy(NULL, ps);
        return st;
    }
    *ps_out = ps, *g_out = g;
    return ASVK_OK;
}

asvk_status asvk_lut_predict_cell(const asvk_lut *t, const asvk_skeleton *sk, uint32_t layer, const asvk_cell *c,
                                  double *ms) {
    if (t->stamp.keys != ASVK_LUT_KEYS_NODE) return asvk_lut_blocks_predict_cell(t, sk, layer, c, ms);
    asvk_param_store *ps;
    asvk_graph *g;
    asvk_status st = cell_graph(sk, layer, c, t->batch, &ps, &g);
    if (st) return st;
    uint32_t n;
    asvk_graph_nodes(g, &n);
    predict_ctx p = {t, 0, ASVK_OK};
    char key[512];
    for (uint32_t i = 0; i < n && !p.st; i++) {
        asvk_graph_node_key(g, i, key, sizeof key);
        on_key(&p, key);
    }
    if (!(st = p.st)) *ms = p.ms;
    asvk_graph_destroy(NULL, g);
    asvk_params_destroy(NULL, ps);
    return st;
}

asvk_status asvk_lut_predict_cell_alone(const asvk_lut *t, const asvk_skeleton *sk, uint32_t layer,
                                        const asvk_cell *c, double *ms) {
    double shares;
    asvk_status st = asvk_lut_predict_cell(t, sk, layer, c, &shares);
    if (!st) *ms = t->alone_scale * shares + t->overhead_ms;
    return st;
}

asvk_status asvk_lut_measure_cell(asvk_context *ctx, const asvk_skeleton *sk, uint32_t layer, const asvk_cell *c,
                                  uint32_t batch, uint32_t warmup, uint32_t repeat, asvk_timing *out) {
    asvk_param_store *ps;
    asvk_graph *g;
    asvk_status st = cell_graph(sk, layer, c, batch, &ps, &g);
    if (st) return st;
    if (!(st = asvk_params_alloc(ctx, ps, 0))) {
        /* small constant weights: timing must not run into NaN or denormals */
        for (uint32_t i = 0; i < ps->count && !st; i++) {
            float *v = malloc(ps->items[i].floats * sizeof *v);
            if (!v) { st = asvk_error_set(ASVK_ERR_OOM, "out of host memory"); break; }
            for (uint64_t k = 0; k < ps->items[i].floats; k++) v[k] = 0.05f;
            st = asvk_params_upload(ctx, ps, (int)i, v);
            free(v);
        }
    }
    if (!st) st = asvk_fold_run(ctx, ps, (float)sk->bn_eps);
    if (!st) st = asvk_graph_plan(ctx, g, NULL);
    if (!st) st = asvk_graph_zero_inputs(ctx, g);
    if (!st) st = asvk_graph_time(ctx, g, warmup, repeat, out);
    asvk_graph_destroy(ctx, g);
    asvk_params_destroy(ctx, ps);
    return st;
}

/* ---- files ---- */

asvk_status asvk_lut_save(const asvk_lut *t, const char *path) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "format", LUT_FORMAT);
    cJSON *d = cJSON_AddObjectToObject(j, "device");
    cJSON_AddStringToObject(d, "name", t->stamp.device);
    cJSON_AddStringToObject(d, "vendor", t->stamp.vendor);
    cJSON_AddNumberToObject(d, "vendor_id", t->stamp.vendor_id);
    cJSON_AddNumberToObject(d, "device_id", t->stamp.device_id);
    cJSON_AddStringToObject(d, "driver", t->stamp.driver);
    cJSON_AddStringToObject(d, "driver_version", t->stamp.driver_version);
    cJSON_AddStringToObject(j, "asvk_version", t->stamp.asvk_version);
    if (t->stamp.imported || t->stamp.keys != ASVK_LUT_KEYS_NODE) asvk_lut_blocks_save(t, j);
    cJSON_AddNumberToObject(j, "batch", t->batch);
    asvk_json_add_exact(j, "graph_overhead_ms", t->overhead_ms);
    asvk_json_add_exact(j, "per_node_ms", t->per_node_ms);
    asvk_json_add_exact(j, "node_scale", t->scale);
    asvk_json_add_exact(j, "alone_scale", t->alone_scale);
    cJSON_AddStringToObject(j, "statistic", t->stamp.imported ? "ms: the published table's mean over its runs"
                            : "ms: the fastest of repeat runs after warmup (median over a key's occurrences)");
    cJSON_AddNumberToObject(j, "warmup", t->warmup);
    cJSON_AddNumberToObject(j, "repeat", t->repeat);
    cJSON *e = cJSON_AddObjectToObject(j, "nodes");
    for (uint32_t i = 0; i < t->n; i++) {
        cJSON *o = cJSON_CreateObject();
        asvk_json_add_exact(o, "ms", t->e[i].ms);
        asvk_json_add_exact(o, "median_ms", t->e[i].median_ms);
        asvk_json_add_exact(o, "spread", t->e[i].spread);
        cJSON_AddNumberToObject(o, "runs", t->e[i].runs);
        cJSON_AddItemToObject(e, t->e[i].key, o);
    }
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    asvk_status st = asvk_file_write_atomic(path, text, strlen(text));
    free(text);
    return st;
}

static asvk_status copy_string(const cJSON *o, const char *ctx, const char *key, char *dst, size_t n) {
    const char *s;
    asvk_status st = asvk_json_string(o, ctx, key, true, NULL, &s);
    if (!st) snprintf(dst, n, "%s", s);
    return st;
}

asvk_status asvk_lut_load(const char *path, asvk_lut **out) {
    static const char *const keys[] = {"format", "device", "asvk_version", "batch", "graph_overhead_ms", "per_node_ms",
                                       "node_scale", "alone_scale", "statistic", "warmup", "repeat", "nodes",
                                       "source", "block_model", NULL};
    static const char *const dev_keys[] = {"name", "vendor", "vendor_id", "device_id", "driver", "driver_version", NULL};
    static const char *const node_keys[] = {"ms", "median_ms", "spread", "runs", NULL};
    *out = NULL;
    char *text;
    size_t size;
    asvk_status st = asvk_file_read_all(path, 1u << 28, &text, &size);
    if (st) return st;
    cJSON *j;
    st = asvk_json_parse(text, size, path, &j);
    free(text);
    if (st) return st;
    asvk_lut *t = asvk_lut_create(1);
    const char *fmt;
    char ctx[1200];
    if (!t) st = asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    if (!st && !cJSON_IsObject(j)) st = asvk_error_set(ASVK_ERR_USAGE, "%s must hold a JSON object", path);
    /* top-level members: the key path starts after "<file>: " */
    if (!st && ((st = asvk_json_check_keys(j, "", keys)) || (st = asvk_json_string(j, "", "format", true, NULL, &fmt))))
        st = asvk_error_prefix(st, "%s: ", path);
    if (!st && strcmp(fmt, LUT_FORMAT) != 0)
        st = asvk_error_set(ASVK_ERR_USAGE, "%s is not a latency table (format \"%s\", not \"%s\")", path, fmt, LUT_FORMAT);
    if (!st && ((st = asvk_json_uint(j, "", "batch", true, 0, 1, 65536, &t->batch)) ||
                (st = asvk_json_number(j, "", "graph_overhead_ms", true, 0, -1e6, 1e6, &t->overhead_ms)) ||
                (st = asvk_json_number(j, "", "per_node_ms", true, 0, -1e6, 1e6, &t->per_node_ms)) ||
                (st = asvk_json_number(j, "", "node_scale", false, 1, 0.01, 100, &t->scale)) ||
                (st = asvk_json_number(j, "", "alone_scale", false, 1, 0.01, 100, &t->alone_scale)) ||
                (st = asvk_json_uint(j, "", "warmup", false, 0, 0, UINT32_MAX, &t->warmup)) ||
                (st = asvk_json_uint(j, "", "repeat", false, 0, 0, UINT32_MAX, &t->repeat)) ||
                (st = copy_string(j, "", "asvk_version", t->stamp.asvk_version, sizeof t->stamp.asvk_version))))
        st = asvk_error_prefix(st, "%s: ", path);
    const cJSON *d = st ? NULL : asvk_json_get(j, "device");
    snprintf(ctx, sizeof ctx, "%.1100s: device", path);
    if (!st && !cJSON_IsObject(d)) st = asvk_error_set(ASVK_ERR_USAGE, "%s must be an object", ctx);
    if (!st) st = asvk_json_check_keys(d, ctx, dev_keys);
    if (!st) st = copy_string(d, ctx, "name", t->stamp.device, sizeof t->stamp.device);
    if (!st) st = copy_string(d, ctx, "vendor", t->stamp.vendor, sizeof t->stamp.vendor);
    if (!st) st = copy_string(d, ctx, "driver", t->stamp.driver, sizeof t->stamp.driver);
    if (!st) st = copy_string(d, ctx, "driver_version", t->stamp.driver_version, sizeof t->stamp.driver_version);
    if (!st) st = asvk_json_uint(d, ctx, "vendor_id", true, 0, 0, UINT32_MAX, &t->stamp.vendor_id);
    if (!st) st = asvk_json_uint(d, ctx, "device_id", true, 0, 0, UINT32_MAX, &t->stamp.device_id);
    if (!st) st = asvk_lut_blocks_load(t, j, path); /* "source" and "block_model" of imported tables */
    const cJSON *nodes = st ? NULL : asvk_json_get(j, "nodes");
    if (!st && !cJSON_IsObject(nodes)) st = asvk_error_set(ASVK_ERR_USAGE, "%s: nodes must be an object", path);
    for (const cJSON *o = nodes ? nodes->child : NULL; o && !st; o = o->next) {
        if ((st = asvk_utf8_check(o->string, path, "a node name in nodes"))) break; /* saved back as a JSON key */
        snprintf(ctx, sizeof ctx, "%.600s: nodes['%.500s']", path, o->string);
        double ms, median_ms, spread;
        uint32_t runs;
        if (!cJSON_IsObject(o)) st = asvk_error_set(ASVK_ERR_USAGE, "%s must be an object", ctx);
        if (!st) st = asvk_json_check_keys(o, ctx, node_keys);
        if (!st) st = asvk_json_number(o, ctx, "ms", true, 0, 0, 1e6, &ms);
        if (!st) st = asvk_json_number(o, ctx, "median_ms", false, ms, 0, 1e6, &median_ms);
        if (!st) st = asvk_json_number(o, ctx, "spread", false, 0, 0, 1e6, &spread);
        if (!st) st = asvk_json_uint(o, ctx, "runs", false, 1, 1, UINT32_MAX, &runs);
        char why[256];
        if (!st && t->stamp.keys != ASVK_LUT_KEYS_NODE && !asvk_lut_block_key_valid(o->string, t->stamp.keys, why, sizeof why))
            st = asvk_error_set(ASVK_ERR_USAGE, "%s is not a block key of this table: %s", ctx, why);
        if (st) break;
        if (find(t, o->string, NULL)) {
            st = asvk_error_set(ASVK_ERR_USAGE, "%s is given twice", ctx);
            break;
        }
        entry *e = insert(t, o->string);
        if (!e) st = asvk_error_set(ASVK_ERR_OOM, "out of host memory");
        else e->ms = ms, e->median_ms = median_ms, e->spread = spread, e->runs = runs;
    }
    cJSON_Delete(j);
    if (st) {
        asvk_lut_destroy(t);
        return st;
    }
    *out = t;
    return ASVK_OK;
}

asvk_status asvk_lut_calibrate_cell(asvk_lut *t, asvk_context *ctx, const asvk_skeleton *sk, uint32_t layer,
                                    const asvk_cell *c, uint32_t warmup, uint32_t repeat, asvk_timing *out) {
    asvk_param_store *ps;
    asvk_graph *g;
    asvk_status st = cell_graph(sk, layer, c, t->batch, &ps, &g);
    if (st) return st;
    fit_net f = {0};
    uint32_t n;
    asvk_graph_nodes(g, &n);
    char key[512];
    for (uint32_t i = 0; i < n && !st; i++) {
        asvk_graph_node_key(g, i, key, sizeof key);
        if (!find(t, key, NULL))
            st = asvk_error_set(ASVK_ERR_USAGE, "the latency table has no time for '%s'", key);
        else if (!push_key(&f, key))
            st = asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    }
    asvk_graph_destroy(NULL, g);
    asvk_params_destroy(NULL, ps);
    asvk_timing tm;
    if (!st) st = asvk_lut_measure_cell(ctx, sk, layer, c, t->batch, warmup, repeat, &tm);
    if (!st && t->nc == t->capc) {
        uint32_t cap = t->capc ? 2 * t->capc : 16;
        fit_net *nc = realloc(t->cells, cap * sizeof *nc);
        if (!nc) st = asvk_error_set(ASVK_ERR_OOM, "out of host memory");
        else t->cells = nc, t->capc = cap;
    }
    if (st) {
        free_net(&f);
        return st;
    }
    f.total_ms = tm.min_ns / 1e6;
    t->cells[t->nc++] = f;
    fit_overhead(t);
    if (out) *out = tm;
    return ASVK_OK;
}
