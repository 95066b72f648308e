/* What the implementations of runtime/dist/dist.h share: the handle and the
 * table of non-blocking operations every collective is built from (so that
 * one polling loop in dist.c gives them all their deadline). */
#ifndef ASVK_RUNTIME_DIST_DIST_INTERNAL_H
#define ASVK_RUNTIME_DIST_DIST_INTERNAL_H

#include "runtime/dist/dist.h"

typedef struct asvk_dist_ops {
    /* Start an operation; *req NULL when it completed at once. */
    asvk_status (*iallreduce)(asvk_dist *d, void *buf, size_t count, asvk_dist_type type, asvk_dist_op op, void **req);
    asvk_status (*ibroadcast)(asvk_dist *d, void *buf, size_t bytes, int root, void **req);
    asvk_status (*ibarrier)(asvk_dist *d, void **req);
    /* *done once complete (the request is then freed). */
    asvk_status (*test)(asvk_dist *d, void *req, bool *done);
    void (*close)(asvk_dist *d, bool failed);
} asvk_dist_ops;

struct asvk_dist {
    int rank, size, local_rank;
    double timeout;
    char backend[64];
    const asvk_dist_ops *ops;
    void *impl;
};

#ifdef ASVK_HAVE_MPI
/* dist_mpi.c: MPI_Init and the world communicator. */
asvk_status asvk_dist_mpi_open(int *argc, char ***argv, asvk_dist *d);
#endif

#endif
