/* A data-parallel step in parts with bucketed gradient all-reduces; see
 * dist_step.h. */
#include "runtime/dist/dist_step.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/params.h"

#define DEFAULT_BUCKET_KB 256
#define DEFAULT_MAX_BUCKETS 16

typedef struct {
    int group;
    uint64_t offset, floats; /* within the group's gradient buffer */
} grad_range;

typedef struct {
    grad_range *ranges;
    uint32_t nranges;
    uint64_t floats;
    float *host;     /* packed gradients while reduced */
    asvk_dist_req req;
    double started;
} bucket;

/* A recorded part of the step and what the host does once it has run: start
 * a bucket's all-reduce, or combine a BN's numbers (then the next part may
 * be submitted only after it). */
typedef struct {
    asvk_stream *s;
    int32_t bucket;       /* -1: none */
    asvk_sync_point sync; /* kind 0: none */
} part;

struct asvk_dist_step {
    asvk_context *ctx;
    asvk_dist *d;
    asvk_graph *g;
    asvk_param_store *ps;
    part *parts;            /* the forward and backward, in order */
    uint32_t nparts, cap;
    uint32_t nbuckets;
    asvk_stream *opt;       /* the optimizer's part (NULL: none) */
    bucket *buckets;
    asvk_dist_step_stats stats;
};

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct { int item; int32_t ready; } item_ready;

static int by_ready(const void *a, const void *b) {
    const item_ready *x = a, *y = b;
    if (x->ready != y->ready) return x->ready < y->ready ? -1 : 1;
    return x->item - y->item;
}

static asvk_status add_range(bucket *b, const asvk_store_item *p) {
    if (b->nranges) { /* the store lays a group out in order: neighbours merge */
        grad_range *last = &b->ranges[b->nranges - 1];
        if (last->group == p->group && last->offset + last->floats == p->offset) {
            last->floats += p->floats;
            b->floats += p->floats;
            return ASVK_OK;
        }
    }
    grad_range *r = realloc(b->ranges, (b->nranges + 1) * sizeof *r);
    if (!r) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    b->ranges = r;
    b->ranges[b->nranges++] = (grad_range){p->group, p->offset, p->floats};
    b->floats += p->floats;
    return ASVK_OK;
}

/* Which node writes each parameter's gradient last: its bucket can go once
 * that node has run. A gradient no node writes (a frozen parameter) is ready
 * from the start. */
static asvk_status ready_order(asvk_graph *g, asvk_param_store *ps, uint32_t opt_from, uint32_t mask,
                               item_ready **out, uint32_t *count) {
    item_ready *ir = calloc(ps->count ? ps->count : 1, sizeof *ir);
    if (!ir) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    int32_t *last = malloc((ps->count ? ps->count : 1) * sizeof *last);
    if (!last) {
        free(ir);
        return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    }
    for (uint32_t i = 0; i < ps->count; i++) last[i] = -1;
    uint32_t nn;
    asvk_node *nodes = asvk_graph_nodes(g, &nn);
    for (uint32_t n = 0; n < opt_from && n < nn; n++)
        for (uint32_t k = 0; k < nodes[n].nout; k++) {
            const asvk_value *v = asvk_graph_cval(g, nodes[n].out[k]);
            if (v->kind != ASVK_VAL_GRAD) continue;
            char name[128];
            snprintf(name, sizeof name, "%s", v->name);
            size_t len = strlen(name);
            if (len > 5 && strcmp(name + len - 5, ".grad") == 0) name[len - 5] = 0;
            int i = asvk_params_find(ps, name);
            if (i >= 0) last[i] = (int32_t)n;
        }
    uint32_t c = 0;
    for (uint32_t i = 0; i < ps->count; i++) {
        int grp = ps->items[i].group;
        if (!asvk_group_trainable(grp) || !(mask & (1u << grp)) || !ps->items[i].floats) continue;
        ir[c++] = (item_ready){(int)i, last[i]};
    }
    free(last);
    qsort(ir, c, sizeof *ir, by_ready);
    *out = ir;
    *count = c;
    return ASVK_OK;
}

static asvk_status add_part(asvk_dist_step *s, asvk_stream *st_, int32_t which, const asvk_sync_point *sync) {
    if (s->nparts == s->cap) {
        uint32_t cap = s->cap ? 2 * s->cap : 16;
        part *p = realloc(s->parts, cap * sizeof *p);
        if (!p) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
        s->parts = p, s->cap = cap;
    }
    s->parts[s->nparts++] = (part){st_, which, sync ? *sync : (asvk_sync_point){0}};
    return asvk_stream_end(st_);
}

/* The hook of a synchronised BN: the part so far ends at the sync point. */
static asvk_status cut_at(void *user, const asvk_sync_point *p, asvk_stream **stream) {
    asvk_dist_step *s = user;
    asvk_status st = add_part(s, *stream, -1, p);
    *stream = NULL;
    return st ? st : asvk_stream_create(s->ctx, stream);
}

static asvk_status record_part(asvk_dist_step *s, uint32_t from, uint32_t to, int32_t which, bool sync_bn) {
    asvk_stream *st_ = NULL;
    asvk_sync_hook hook = {cut_at, s};
    asvk_status st = asvk_stream_create(s->ctx, &st_);
    if (!st) st = asvk_graph_record_range(s->g, &st_, from, to, sync_bn ? &hook : NULL);
    if (!st) return add_part(s, st_, which, NULL);
    asvk_stream_destroy(st_);
    return st;
}

asvk_status asvk_dist_step_create(asvk_context *ctx, asvk_dist *d, asvk_graph *g, const asvk_dist_step_options *o,
                                  asvk_dist_step **out) {
    *out = NULL;
    asvk_dist_step *s = calloc(1, sizeof *s);
    if (!s) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    s->ctx = ctx, s->d = d, s->g = g, s->ps = asvk_graph_store(g);
    uint64_t bucket_bytes = o->bucket_bytes;
    if (!bucket_bytes) {
        const char *e = getenv("ASVK_DIST_BUCKET_KB");
        long kb = e && *e ? strtol(e, NULL, 10) : 0;
        bucket_bytes = (uint64_t)(kb > 0 ? kb : DEFAULT_BUCKET_KB) * 1024;
    }
    uint32_t max_buckets = o->max_buckets ? o->max_buckets : DEFAULT_MAX_BUCKETS;
    uint32_t nn;
    asvk_graph_nodes(g, &nn);
    uint32_t opt_from = o->opt_from < nn ? o->opt_from : nn;
    item_ready *ir = NULL;
    uint32_t ni = 0;
    asvk_status st = ready_order(g, s->ps, opt_from, o->group_mask, &ir, &ni);
    /* cut points: a bucket closes once it holds bucket_bytes (never between
     * two gradients of the same node); the last takes the rest */
    uint32_t *cuts = calloc(max_buckets + 1, sizeof *cuts);
    s->buckets = calloc(max_buckets + 1, sizeof *s->buckets);
    if (!st && (!cuts || !s->buckets)) st = asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    uint32_t nb = 0;
    uint64_t total_floats = 0;
    for (uint32_t i = 0; i < ni; i++) total_floats += s->ps->items[ir[i].item].floats;
    uint64_t per = bucket_bytes / 4;
    if (per * max_buckets < total_floats) per = (total_floats + max_buckets - 1) / max_buckets;
    for (uint32_t i = 0; i < ni && !st; i++) {
        bucket *b = &s->buckets[nb];
        st = add_range(b, &s->ps->items[ir[i].item]);
        bool node_done = i + 1 == ni || ir[i + 1].ready != ir[i].ready;
        if (!st && (i + 1 == ni || (b->floats >= per && node_done && nb + 1 < max_buckets))) {
            cuts[nb] = i + 1 == ni ? opt_from : (uint32_t)(ir[i].ready + 1);
            nb++;
        }
    }
    if (!st && nb == 0) cuts[nb++] = opt_from; /* nothing to reduce: one part */
    s->nbuckets = nb;
    for (uint32_t k = 0, from = 0; k < nb && !st; k++) {
        st = record_part(s, from, cuts[k], (int32_t)k, o->sync_bn);
        from = cuts[k];
        if (s->buckets[k].floats && !(s->buckets[k].host = malloc(s->buckets[k].floats * 4)))
            st = asvk_error_set(ASVK_ERR_OOM, "out of host memory");
        s->stats.bytes_per_step += s->buckets[k].floats * 4;
        if (s->buckets[k].floats) s->stats.buckets++;
    }
    if (!st && opt_from < nn) {
        st = asvk_stream_create(ctx, &s->opt);
        if (!st) st = asvk_graph_record_range(g, &s->opt, opt_from, nn, NULL);
        if (!st) st = asvk_stream_end(s->opt);
    }
    free(ir);
    free(cuts);
    if (st) {
        asvk_dist_step_destroy(s);
        return st;
    }
    *out = s;
    return ASVK_OK;
}

void asvk_dist_step_destroy(asvk_dist_step *s) {
    if (!s) return;
    for (uint32_t k = 0; s->parts && k < s->nparts; k++) asvk_stream_destroy(s->parts[k].s);
    asvk_stream_destroy(s->opt);
    for (uint32_t k = 0; s->buckets && k < s->nbuckets + 1; k++) {
        free(s->buckets[k].ranges);
        free(s->buckets[k].host);
    }
    free(s->buckets);
    free(s->parts);
    free(s);
}

uint32_t asvk_dist_step_parts(const asvk_dist_step *s) { return s->nparts + (s->opt ? 1 : 0); }
void asvk_dist_step_stats_get(const asvk_dist_step *s, asvk_dist_step_stats *out) { *out = s->stats; }

/* Gradients between the store and a bucket's host copy: straight from
 * host-mapped memory (the part that wrote them has finished), else through
 * the engine's staging copies (which wait for the device). */
static asvk_status move(asvk_dist_step *s, bucket *b, bool out) {
    float *h = b->host;
    for (uint32_t r = 0; r < b->nranges; r++) {
        const grad_range *gr = &b->ranges[r];
        asvk_buffer buf = asvk_buffer_sub(s->ps->grad[gr->group], gr->offset * 4, gr->floats * 4);
        float *dev = asvk_buffer_host_ptr(buf);
        asvk_status st = ASVK_OK;
        if (dev && out) memcpy(h, dev, gr->floats * 4);
        else if (dev) memcpy(dev, h, gr->floats * 4);
        else if (out) st = asvk_buffer_download(s->ctx, buf, 0, h, gr->floats * 4);
        else st = asvk_buffer_upload(s->ctx, buf, 0, h, gr->floats * 4);
        if (st) return st;
        h += gr->floats;
    }
    return ASVK_OK;
}

static void nap(uint32_t idle) {
    if (idle < 64) return;
    struct timespec ts = {0, idle < 256 ? 20000 : 100000};
    nanosleep(&ts, NULL);
}

/* Host values of a [n] device view: its mapped memory, or a copy. */
static asvk_status host_get(asvk_context *ctx, asvk_buffer b, float *out, uint64_t n) {
    const float *p = asvk_buffer_host_ptr(b);
    if (!p) return asvk_buffer_download(ctx, b, 0, out, n * 4);
    memcpy(out, p, n * 4);
    return ASVK_OK;
}

static asvk_status host_put(asvk_context *ctx, asvk_buffer b, const float *in, uint64_t n) {
    float *p = asvk_buffer_host_ptr(b);
    if (!p) return asvk_buffer_upload(ctx, b, 0, in, n * 4);
    memcpy(p, in, n * 4);
    return ASVK_OK;
}

/* A BN's numbers over every rank (every rank's shard has the same pixel
 * count P). STATS: each rank's mean and biased variance (from its invstd)
 * gathered in rank order and combined the same way on every rank; the saved
 * mean and invstd become the global batch's, and the running statistics,
 * already moved towards this rank's, are moved by momentum times the
 * difference instead. SUMS: the sums of g and g*xhat added up, divided by
 * the rank count, so that the dx kernel's division by this rank's P gives the
 * mean over the global batch. */
static asvk_status sync_bn(asvk_dist_step *s, const asvk_sync_point *p) {
    int n = asvk_dist_size(s->d), me = asvk_dist_rank(s->d);
    uint32_t c = p->channels;
    asvk_status st = ASVK_OK;
    if (p->kind == ASVK_SYNC_BN_SUMS) {
        uint64_t floats = p->totals.size / 4;
        float *t = malloc(floats * 4);
        if (!t) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
        st = host_get(s->ctx, p->totals, t, floats);
        if (!st) st = asvk_dist_allreduce(s->d, t, floats, ASVK_DIST_F32, ASVK_DIST_SUM, "a batch norm's gradient sums");
        for (uint64_t i = 0; i < floats && !st; i++) t[i] /= (float)n;
        if (!st) st = host_put(s->ctx, p->totals, t, floats);
        free(t);
        return st;
    }
    float *h = malloc((size_t)c * 4 * 4);
    double *all = calloc((size_t)n * c * 2, sizeof *all);
    if (!h || !all) {
        free(h), free(all);
        return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    }
    float *mean = h, *invstd = h + c, *rm = h + 2 * c, *rv = h + 3 * c;
    st = host_get(s->ctx, p->mean, mean, c);
    if (!st) st = host_get(s->ctx, p->invstd, invstd, c);
    if (!st) st = host_get(s->ctx, p->running_mean, rm, c);
    if (!st) st = host_get(s->ctx, p->running_var, rv, c);
    double *mine = all + (size_t)me * c * 2;
    for (uint32_t k = 0; k < c && !st; k++) {
        mine[2 * k] = mean[k];
        mine[2 * k + 1] = 1.0 / ((double)invstd[k] * invstd[k]) - p->eps;
    }
    if (!st) st = asvk_dist_allreduce(s->d, all, (size_t)n * c * 2, ASVK_DIST_F64, ASVK_DIST_SUM, "a batch norm's statistics");
    double P = (double)p->pixels, m = p->momentum;
    for (uint32_t k = 0; k < c && !st; k++) {
        double mu = 0, var = 0;
        for (int r = 0; r < n; r++) mu += all[((size_t)r * c + k) * 2];
        mu /= n;
        for (int r = 0; r < n; r++) {
            double d = all[((size_t)r * c + k) * 2] - mu;
            var += all[((size_t)r * c + k) * 2 + 1] + d * d;
        }
        var /= n;
        double own_var = mine[2 * k + 1];
        double unb = var * (n * P) / (n * P - 1), own_unb = own_var * P / (P - 1);
        rm[k] = (float)(rm[k] + m * (mu - mine[2 * k]));
        rv[k] = (float)(rv[k] + m * (unb - own_unb));
        mean[k] = (float)mu;
        invstd[k] = (float)(1.0 / sqrt(var + p->eps));
    }
    if (!st) st = host_put(s->ctx, p->mean, mean, c);
    if (!st) st = host_put(s->ctx, p->invstd, invstd, c);
    if (!st) st = host_put(s->ctx, p->running_mean, rm, c);
    if (!st) st = host_put(s->ctx, p->running_var, rv, c);
    free(h);
    free(all);
    return st;
}

asvk_status asvk_dist_step_run(asvk_dist_step *s, const char *what) {
    double t0 = now_s();
    asvk_status st = ASVK_OK;
    float scale = 1.0f / (float)asvk_dist_size(s->d);
    char label[160];
    snprintf(label, sizeof label, "the gradients of %s", what ? what : "a step");
    /* Parts go to the device as far as the next one whose result the host
     * must change first (a synchronised BN); as each part finishes, its
     * bucket's all-reduce starts; the running all-reduces are tested all
     * along (MPI progresses a non-blocking collective only inside MPI
     * calls). Then they are finished and the optimizer's part runs. Every
     * rank starts the same collectives in the same order. */
    uint32_t submitted = 0, done = 0, reduced = 0, idle = 0;
    double backward_done = t0, pack = 0, syncs = 0;
    while (!st && (done < s->nparts || reduced < s->nbuckets)) {
        bool progressed = false;
        while (!st && submitted < s->nparts && (submitted == 0 || !s->parts[submitted - 1].sync.kind || submitted <= done))
            st = asvk_stream_submit(s->parts[submitted++].s);
        if (!st && done < s->nparts) {
            bool fin;
            if ((st = asvk_stream_poll(s->parts[done].s, &fin))) break;
            if (fin) {
                const part *pt = &s->parts[done];
                double p0 = now_s();
                if (pt->sync.kind) {
                    st = sync_bn(s, &pt->sync);
                    syncs += now_s() - p0;
                } else if (pt->bucket >= 0) {
                    bucket *b = &s->buckets[pt->bucket];
                    if (b->floats && !(st = move(s, b, true)))
                        st = asvk_dist_iallreduce(s->d, b->host, b->floats, ASVK_DIST_F32, ASVK_DIST_SUM, label,
                                                  &b->req);
                    b->started = now_s();
                    pack += b->started - p0;
                }
                if (++done == s->nparts) backward_done = now_s();
                progressed = true;
            }
        }
        /* buckets in order: bucket k starts after bucket k-1 */
        while (!st && reduced < s->nbuckets && s->buckets[reduced].started > 0) {
            bucket *b = &s->buckets[reduced];
            bool fin;
            if ((st = asvk_dist_test(s->d, &b->req, &fin)) || !fin) break;
            double p0 = now_s();
            s->stats.reduce_total_s += p0 - b->started;
            for (uint64_t i = 0; i < b->floats; i++) b->host[i] *= scale;
            if (b->floats) st = move(s, b, false);
            b->started = 0;
            pack += now_s() - p0;
            reduced++;
            progressed = true;
        }
        idle = progressed ? 0 : idle + 1;
        if (!st && !progressed) nap(idle);
    }
    double reduced_at = now_s();
    if (!st && s->opt) st = asvk_stream_run(s->opt);
    double t1 = now_s();
    if (st) return st;
    s->stats.steps++;
    s->stats.wall_s += t1 - t0;
    s->stats.backward_s += backward_done - t0;
    s->stats.reduce_exposed_s += reduced_at - backward_done;
    s->stats.optimizer_s += t1 - reduced_at;
    s->stats.pack_s += pack;
    s->stats.sync_bn_s += syncs;
    return ASVK_OK;
}
