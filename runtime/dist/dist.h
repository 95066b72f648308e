/* Distributed runs: the one interface the trainer, the supernet steps and
 * the search use to work as one of N data-parallel processes (ranks).
 *
 * Two implementations stand behind it: a single process (rank 0 of 1, every
 * collective a no-op; what a NULL handle means too) and Open MPI
 * (dist_mpi.c, built when CMake's find_package(MPI) finds it). asvk_dist_open
 * picks MPI when the process was started by mpirun (OMPI_COMM_WORLD_SIZE is
 * set), so the plain binary behaves as before without it.
 *
 * Every collective has a deadline (asvk_dist_set_timeout; ASVK_DIST_TIMEOUT
 * seconds, default 300): a rank that died or hangs makes the others fail
 * with ASVK_ERR_IO and one sentence naming the collective, never a deadlock.
 * Collectives are matched by order, as in MPI: every rank must make the same
 * calls in the same order. Nothing here prints. */
#ifndef ASVK_RUNTIME_DIST_DIST_H
#define ASVK_RUNTIME_DIST_DIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/status.h"

typedef struct asvk_dist asvk_dist;

typedef enum { ASVK_DIST_F32 = 0, ASVK_DIST_F64, ASVK_DIST_U64 } asvk_dist_type;
typedef enum { ASVK_DIST_SUM = 0, ASVK_DIST_MAX, ASVK_DIST_MIN } asvk_dist_op;

/* A non-blocking all-reduce in flight (asvk_dist_iallreduce). */
typedef struct asvk_dist_req {
    void *impl;   /* the implementation's request; NULL: already complete */
    double start; /* when it was started (monotonic seconds), for its deadline */
    const char *what;
} asvk_dist_req;

/* The world of this process: MPI when started by mpirun and MPI is built in,
 * else a single process. argc and argv may be NULL. */
asvk_status asvk_dist_open(int *argc, char ***argv, asvk_dist **out);
/* Ends the world (MPI_Finalize); `failed`: this rank stops on an error the
 * others may not share (MPI_Abort, so that no rank waits for it). */
void asvk_dist_close(asvk_dist *d, bool failed);

/* A NULL handle is the single process. */
int asvk_dist_rank(const asvk_dist *d);
int asvk_dist_size(const asvk_dist *d);
/* The rank among the processes of its machine (OMPI_COMM_WORLD_LOCAL_RANK). */
int asvk_dist_local_rank(const asvk_dist *d);
/* "single process" or "Open MPI v4.1.4". */
const char *asvk_dist_backend(const asvk_dist *d);
bool asvk_dist_is_parallel(const asvk_dist *d);

/* Seconds a collective may wait for the other ranks. */
void asvk_dist_set_timeout(asvk_dist *d, double seconds);
double asvk_dist_timeout(const asvk_dist *d);

/* In place, over every rank. `what` names the collective in a timeout's
 * message ("the gradients of step 12"). */
asvk_status asvk_dist_allreduce(asvk_dist *d, void *buf, size_t count, asvk_dist_type type, asvk_dist_op op,
                                const char *what);
/* Started now, finished by asvk_dist_wait: the buffer belongs to the
 * collective until then. */
asvk_status asvk_dist_iallreduce(asvk_dist *d, void *buf, size_t count, asvk_dist_type type, asvk_dist_op op,
                                 const char *what, asvk_dist_req *req);
asvk_status asvk_dist_wait(asvk_dist *d, asvk_dist_req *req);
/* Whether it finished, without blocking (MPI progresses the collective in
 * the call); past its deadline, the error asvk_dist_wait would give. */
asvk_status asvk_dist_test(asvk_dist *d, asvk_dist_req *req, bool *done);
/* `bytes` of root's buf to every rank. */
asvk_status asvk_dist_broadcast(asvk_dist *d, void *buf, size_t bytes, int root, const char *what);
/* Every rank reached this point, within `timeout_s` (<= 0: the default). */
asvk_status asvk_dist_barrier(asvk_dist *d, double timeout_s, const char *what);

/* Helpers over the collectives. */
/* Every rank's `bytes` of `mine` at out[rank * bytes] (out: size * bytes). */
asvk_status asvk_dist_gather_all(asvk_dist *d, const void *mine, size_t bytes, void *out, const char *what);
/* Whether every rank holds the same 64-bit hash; ASVK_ERR_INTERNAL naming
 * the first rank that differs from rank 0 and `what` when not. */
asvk_status asvk_dist_check_same(asvk_dist *d, uint64_t hash, const char *what);
/* The status of `root`'s work (a file it alone wrote) on every rank: root's
 * message on root, "rank R: ..." elsewhere. */
asvk_status asvk_dist_share_status(asvk_dist *d, asvk_status st, int root, const char *what);

/* FNV-1a over bytes, chained from `h` (start with ASVK_DIST_HASH_INIT). */
#define ASVK_DIST_HASH_INIT 0xcbf29ce484222325ull
uint64_t asvk_dist_hash(uint64_t h, const void *data, size_t bytes);

#endif
