/* The command line in a distributed run (`mpirun -np N asvk train ...`):
 * the process's world (runtime/dist/dist.h), which rank speaks and writes,
 * each rank's device, and the start-up line that lists them all.
 *
 * Rank 0 alone prints progress, takes the run folder's lock and writes its
 * files; every rank reads the inputs (data, config.json, checkpoints) and
 * makes the same collective calls. A single process is rank 0 of 1, and
 * everything here is then what asvk always did. */
#ifndef ASVK_APPS_RANKS_H
#define ASVK_APPS_RANKS_H

#include <stdbool.h>

#include "engine/engine.h"
#include "runtime/dist/dist.h"

/* main(): before the command (MPI_Init when started by mpirun). */
asvk_status ranks_open(int *argc, char ***argv);
/* main(): after it; a non-zero rc that not every rank may share ends the
 * whole job at once (MPI_Abort), so no rank waits for this one. */
void ranks_close(int rc);

asvk_dist *ranks_dist(void);
/* Rank 0 (or the single process): the one that prints and writes. */
bool ranks_leader(void);
bool ranks_parallel(void);

/* The device this rank should use when neither --device nor ASVK_DEVICE
 * names one: its local rank modulo the machine's GPUs (all devices when
 * there is no GPU), as a device number; NULL to keep the usual choice.
 * `buf` holds the text. */
const char *ranks_device(const char *given, char *buf, unsigned n);

/* Rank 0 prints one line naming every rank's device and host (collective:
 * every rank calls it once its context exists). */
asvk_status ranks_announce(asvk_context *ctx);

/* A file's writing (an expression giving asvk_status) done by rank 0 alone,
 * its status every rank's: the others go on only once rank 0 has written
 * (or all stop with its error). */
#define RANKS_LEADER(call, what) \
    asvk_dist_share_status(ranks_dist(), ranks_leader() ? (call) : ASVK_OK, 0, (what))

/* "asvk" on rank 0, "asvk[rank R]" elsewhere: the prefix of error lines. */
const char *ranks_prefix(void);

#endif
