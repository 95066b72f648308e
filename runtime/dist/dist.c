/* The distributed interface's common part: the single process, the polling
 * loop that gives every collective its deadline, and helpers. See dist.h. */
#include "runtime/dist/dist_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_TIMEOUT_S 300.0

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double env_timeout(void) {
    const char *s = getenv("ASVK_DIST_TIMEOUT");
    char *end;
    double v = s && *s ? strtod(s, &end) : 0;
    return s && *s && !*end && v > 0 ? v : DEFAULT_TIMEOUT_S;
}

asvk_status asvk_dist_open(int *argc, char ***argv, asvk_dist **out) {
    *out = NULL;
    asvk_dist *d = calloc(1, sizeof *d);
    if (!d) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    d->size = 1;
    d->timeout = env_timeout();
    snprintf(d->backend, sizeof d->backend, "single process");
    const char *world = getenv("OMPI_COMM_WORLD_SIZE");
    if (world && *world) {
#ifdef ASVK_HAVE_MPI
        asvk_status st = asvk_dist_mpi_open(argc, argv, d);
        if (st) {
            free(d);
            return st;
        }
#else
        /* More than one process started by mpirun, each believing it is
         * alone, would each write the same run folder. */
        if (atoi(world) > 1) {
            free(d);
            return asvk_error_set(ASVK_ERR_FEATURE, "this asvk was built without MPI, but mpirun started %s of it; "
                                  "install libopenmpi-dev (scripts/setup.sh) and rebuild, or run one process", world);
        }
#endif
    }
    (void)argc, (void)argv;
    *out = d;
    return ASVK_OK;
}

void asvk_dist_close(asvk_dist *d, bool failed) {
    if (!d) return;
    if (d->ops) d->ops->close(d, failed);
    free(d);
}

int asvk_dist_rank(const asvk_dist *d) { return d ? d->rank : 0; }
int asvk_dist_size(const asvk_dist *d) { return d ? d->size : 1; }
int asvk_dist_local_rank(const asvk_dist *d) { return d ? d->local_rank : 0; }
const char *asvk_dist_backend(const asvk_dist *d) { return d ? d->backend : "single process"; }
bool asvk_dist_is_parallel(const asvk_dist *d) { return d && d->size > 1; }
void asvk_dist_set_timeout(asvk_dist *d, double seconds) {
    if (d && seconds > 0) d->timeout = seconds;
}
double asvk_dist_timeout(const asvk_dist *d) { return d ? d->timeout : env_timeout(); }

/* Polls until done or past the deadline: first a short spin (a reduction of
 * a few kilobytes completes in microseconds), then sleeps growing to 1 ms,
 * so that a waiting rank leaves the CPU to the device threads (lavapipe
 * runs on the same cores). */
static asvk_status poll_until(asvk_dist *d, void *req, double start, double timeout, const char *what) {
    bool done = false;
    long nap_ns = 0;
    for (uint32_t i = 0;; i++) {
        asvk_status st = d->ops->test(d, req, &done);
        if (st) return asvk_error_prefix(st, "rank %d: %s: ", d->rank, what ? what : "a collective");
        if (done) return ASVK_OK;
        if (now_s() - start > timeout)
            return asvk_error_set(ASVK_ERR_IO, "rank %d of %d: %s: no answer from the other ranks within %.0f s; a "
                                  "rank died or hangs (its own error, if any, is above; set ASVK_DIST_TIMEOUT to "
                                  "wait longer)", d->rank, d->size, what ? what : "a collective", timeout);
        if (i < 200) continue;
        nap_ns = nap_ns ? (nap_ns * 2 > 1000000 ? 1000000 : nap_ns * 2) : 20000;
        struct timespec ts = {0, nap_ns};
        nanosleep(&ts, NULL);
    }
}

asvk_status asvk_dist_iallreduce(asvk_dist *d, void *buf, size_t count, asvk_dist_type type, asvk_dist_op op,
                                 const char *what, asvk_dist_req *req) {
    *req = (asvk_dist_req){NULL, now_s(), what};
    if (!asvk_dist_is_parallel(d) || !count) return ASVK_OK;
    asvk_status st = d->ops->iallreduce(d, buf, count, type, op, &req->impl);
    return st ? asvk_error_prefix(st, "rank %d: %s: ", d->rank, what ? what : "an all-reduce") : ASVK_OK;
}

asvk_status asvk_dist_wait(asvk_dist *d, asvk_dist_req *req) {
    if (!req->impl) return ASVK_OK;
    void *r = req->impl;
    req->impl = NULL;
    return poll_until(d, r, req->start, d->timeout, req->what);
}

asvk_status asvk_dist_test(asvk_dist *d, asvk_dist_req *req, bool *done) {
    *done = true;
    if (!req->impl) return ASVK_OK;
    asvk_status st = d->ops->test(d, req->impl, done);
    if (st || *done) {
        req->impl = NULL;
        return st ? asvk_error_prefix(st, "rank %d: %s: ", d->rank, req->what ? req->what : "a collective") : ASVK_OK;
    }
    if (now_s() - req->start > d->timeout) {
        void *r = req->impl;
        req->impl = NULL;
        return poll_until(d, r, req->start, d->timeout, req->what); /* past the deadline: its message */
    }
    return ASVK_OK;
}

asvk_status asvk_dist_allreduce(asvk_dist *d, void *buf, size_t count, asvk_dist_type type, asvk_dist_op op,
                                const char *what) {
    asvk_dist_req r;
    asvk_status st = asvk_dist_iallreduce(d, buf, count, type, op, what, &r);
    return st ? st : asvk_dist_wait(d, &r);
}

asvk_status asvk_dist_broadcast(asvk_dist *d, void *buf, size_t bytes, int root, const char *what) {
    if (!asvk_dist_is_parallel(d) || !bytes) return ASVK_OK;
    double start = now_s();
    void *req = NULL;
    asvk_status st = d->ops->ibroadcast(d, buf, bytes, root, &req);
    if (st) return asvk_error_prefix(st, "rank %d: %s: ", d->rank, what ? what : "a broadcast");
    return req ? poll_until(d, req, start, d->timeout, what) : ASVK_OK;
}

asvk_status asvk_dist_barrier(asvk_dist *d, double timeout_s, const char *what) {
    if (!asvk_dist_is_parallel(d)) return ASVK_OK;
    double start = now_s();
    void *req = NULL;
    asvk_status st = d->ops->ibarrier(d, &req);
    if (st) return asvk_error_prefix(st, "rank %d: %s: ", d->rank, what ? what : "a barrier");
    return req ? poll_until(d, req, start, timeout_s > 0 ? timeout_s : d->timeout, what) : ASVK_OK;
}

asvk_status asvk_dist_gather_all(asvk_dist *d, const void *mine, size_t bytes, void *out, const char *what) {
    memcpy((char *)out + (size_t)asvk_dist_rank(d) * bytes, mine, bytes);
    asvk_status st = ASVK_OK;
    /* one broadcast per rank: for the few bytes this serves (device names,
     * hashes) simpler than a gather of its own in every implementation */
    for (int r = 0; r < asvk_dist_size(d) && !st; r++)
        st = asvk_dist_broadcast(d, (char *)out + (size_t)r * bytes, bytes, r, what);
    return st;
}

asvk_status asvk_dist_check_same(asvk_dist *d, uint64_t hash, const char *what) {
    if (!asvk_dist_is_parallel(d)) return ASVK_OK;
    uint64_t *all = calloc((size_t)d->size, sizeof *all);
    if (!all) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    asvk_status st = asvk_dist_gather_all(d, &hash, sizeof hash, all, what);
    for (int r = 1; r < d->size && !st; r++)
        if (all[r] != all[0])
            st = asvk_error_set(ASVK_ERR_INTERNAL, "%s differs between rank 0 (hash %016llx) and rank %d (%016llx): the "
                                "ranks no longer hold the same state (a bug in asvk, or ranks running different "
                                "builds, data or options); the run stops here, its folder as the last safe point left it",
                                what, (unsigned long long)all[0], r, (unsigned long long)all[r]);
    free(all);
    return st;
}

asvk_status asvk_dist_share_status(asvk_dist *d, asvk_status st, int root, const char *what) {
    if (!asvk_dist_is_parallel(d)) return st;
    uint64_t code = (uint64_t)st;
    asvk_status bst = asvk_dist_broadcast(d, &code, sizeof code, root, what);
    if (bst) return bst;
    if (d->rank == root || code == ASVK_OK) return (asvk_status)code;
    return asvk_error_set((asvk_status)code, "rank %d failed at %s (its message is above)", root, what);
}

uint64_t asvk_dist_hash(uint64_t h, const void *data, size_t bytes) {
    const unsigned char *p = data;
    for (size_t i = 0; i < bytes; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}
