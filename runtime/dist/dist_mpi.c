/* The Open MPI implementation of runtime/dist/dist.h: non-blocking
 * collectives (MPI 3) on a duplicate of MPI_COMM_WORLD whose errors come
 * back as codes, so that dist.c polls each with a deadline instead of
 * blocking in MPI forever when a rank died or hangs. */
#include "runtime/dist/dist_internal.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    MPI_Comm comm;
} mpi_world;

static asvk_status mpi_fail(int rc, const char *call) {
    char text[MPI_MAX_ERROR_STRING] = "";
    int n = 0;
    MPI_Error_string(rc, text, &n);
    return asvk_error_set(ASVK_ERR_IO, "%s failed: %s (another rank may have died)", call, text);
}

static MPI_Datatype dtype(asvk_dist_type t) {
    return t == ASVK_DIST_F32 ? MPI_FLOAT : t == ASVK_DIST_F64 ? MPI_DOUBLE : MPI_UINT64_T;
}

static MPI_Op mop(asvk_dist_op o) { return o == ASVK_DIST_SUM ? MPI_SUM : o == ASVK_DIST_MAX ? MPI_MAX : MPI_MIN; }

static asvk_status new_req(MPI_Request **out) {
    *out = malloc(sizeof **out);
    return *out ? ASVK_OK : asvk_error_set(ASVK_ERR_OOM, "out of host memory");
}

static asvk_status m_iallreduce(asvk_dist *d, void *buf, size_t count, asvk_dist_type type, asvk_dist_op op,
                                void **req) {
    mpi_world *w = d->impl;
    if (count > (size_t)INT32_MAX) return asvk_error_set(ASVK_ERR_LIMIT, "an all-reduce of %zu values", count);
    MPI_Request *r;
    asvk_status st = new_req(&r);
    if (st) return st;
    int rc = MPI_Iallreduce(MPI_IN_PLACE, buf, (int)count, dtype(type), mop(op), w->comm, r);
    if (rc != MPI_SUCCESS) {
        free(r);
        return mpi_fail(rc, "MPI_Iallreduce");
    }
    *req = r;
    return ASVK_OK;
}

static asvk_status m_ibroadcast(asvk_dist *d, void *buf, size_t bytes, int root, void **req) {
    mpi_world *w = d->impl;
    if (bytes > (size_t)INT32_MAX) return asvk_error_set(ASVK_ERR_LIMIT, "a broadcast of %zu bytes", bytes);
    MPI_Request *r;
    asvk_status st = new_req(&r);
    if (st) return st;
    int rc = MPI_Ibcast(buf, (int)bytes, MPI_BYTE, root, w->comm, r);
    if (rc != MPI_SUCCESS) {
        free(r);
        return mpi_fail(rc, "MPI_Ibcast");
    }
    *req = r;
    return ASVK_OK;
}

static asvk_status m_ibarrier(asvk_dist *d, void **req) {
    mpi_world *w = d->impl;
    MPI_Request *r;
    asvk_status st = new_req(&r);
    if (st) return st;
    int rc = MPI_Ibarrier(w->comm, r);
    if (rc != MPI_SUCCESS) {
        free(r);
        return mpi_fail(rc, "MPI_Ibarrier");
    }
    *req = r;
    return ASVK_OK;
}

static asvk_status m_test(asvk_dist *d, void *req, bool *done) {
    (void)d;
    int flag = 0;
    int rc = MPI_Test(req, &flag, MPI_STATUS_IGNORE);
    *done = flag != 0;
    if (rc != MPI_SUCCESS) {
        free(req);
        return mpi_fail(rc, "MPI_Test");
    }
    if (flag) free(req);
    return ASVK_OK;
}

static void m_close(asvk_dist *d, bool failed) {
    mpi_world *w = d->impl;
    /* A rank that fails alone must not leave the others waiting in a
     * collective: MPI_Abort ends every rank of the job at once. */
    if (failed) MPI_Abort(MPI_COMM_WORLD, 1);
    if (w) MPI_Comm_free(&w->comm);
    free(w);
    MPI_Finalize();
}

static const asvk_dist_ops mpi_ops = {m_iallreduce, m_ibroadcast, m_ibarrier, m_test, m_close};

asvk_status asvk_dist_mpi_open(int *argc, char ***argv, asvk_dist *d) {
    int rc = MPI_Init(argc, argv);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Init");
    mpi_world *w = calloc(1, sizeof *w);
    if (!w) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    MPI_Comm_dup(MPI_COMM_WORLD, &w->comm);
    MPI_Comm_set_errhandler(w->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(w->comm, &d->rank);
    MPI_Comm_size(w->comm, &d->size);
    const char *lr = getenv("OMPI_COMM_WORLD_LOCAL_RANK");
    d->local_rank = lr && *lr ? atoi(lr) : d->rank;
    int major = 0, minor = 0, patch = 0;
#if defined(OMPI_MAJOR_VERSION)
    major = OMPI_MAJOR_VERSION, minor = OMPI_MINOR_VERSION, patch = OMPI_RELEASE_VERSION;
    snprintf(d->backend, sizeof d->backend, "Open MPI %d.%d.%d", major, minor, patch);
#else
    MPI_Get_version(&major, &minor);
    snprintf(d->backend, sizeof d->backend, "MPI %d.%d", major, minor);
#endif
    d->ops = &mpi_ops;
    d->impl = w;
    return ASVK_OK;
}
