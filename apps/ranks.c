/* The command line in a distributed run; see ranks.h. The world handle is
 * the one process-wide value here: MPI itself is process-wide. */
#include "apps/ranks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static asvk_dist *world;
static char prefix[32] = "asvk";

asvk_status ranks_open(int *argc, char ***argv) {
    asvk_status st = asvk_dist_open(argc, argv, &world);
    if (!st && asvk_dist_rank(world) != 0) snprintf(prefix, sizeof prefix, "asvk[rank %d]", asvk_dist_rank(world));
    return st;
}

void ranks_close(int rc) {
    /* 130/143: a signal every rank got; 0: done together. Anything else may
     * be this rank's alone. */
    asvk_dist_close(world, rc != 0 && rc != 130 && rc != 143 && asvk_dist_is_parallel(world));
    world = NULL;
}

asvk_dist *ranks_dist(void) { return world; }
bool ranks_leader(void) { return asvk_dist_rank(world) == 0; }
bool ranks_parallel(void) { return asvk_dist_is_parallel(world); }
const char *ranks_prefix(void) { return prefix; }

const char *ranks_device(const char *given, char *buf, unsigned n) {
    if ((given && *given) || (getenv("ASVK_DEVICE") && *getenv("ASVK_DEVICE")) || !asvk_dist_is_parallel(world))
        return given;
    asvk_device_info *infos = NULL;
    uint32_t count = 0;
    if (asvk_devices_list(&infos, &count) || !count) {
        free(infos);
        return given; /* the context's own error says what is missing */
    }
    uint32_t gpus = 0;
    for (uint32_t i = 0; i < count; i++) gpus += infos[i].type != ASVK_DEVICE_CPU;
    uint32_t pick = (uint32_t)asvk_dist_local_rank(world) % (gpus ? gpus : count), seen = 0, chosen = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (gpus && infos[i].type == ASVK_DEVICE_CPU) continue;
        if (seen++ == pick) {
            chosen = i;
            break;
        }
    }
    free(infos);
    snprintf(buf, n, "%u", chosen);
    return buf;
}

asvk_status ranks_announce(asvk_context *ctx) {
    if (!asvk_dist_is_parallel(world)) return ASVK_OK;
    enum { SLOT = 192 };
    int size = asvk_dist_size(world);
    char mine[SLOT], host[64] = "";
    gethostname(host, sizeof host - 1);
    snprintf(mine, sizeof mine, "%.120s on %.60s", asvk_context_device(ctx)->name, host);
    char *all = calloc((size_t)size, SLOT);
    if (!all) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    asvk_status st = asvk_dist_gather_all(world, mine, SLOT, all, "the start-up (every rank's device)");
    if (!st && ranks_leader()) {
        fprintf(stderr, "%d processes (%s), global batch shared equally:\n", size, asvk_dist_backend(world));
        for (int r = 0; r < size; r++) fprintf(stderr, "  rank %d: %.*s\n", r, SLOT, all + (size_t)r * SLOT);
    }
    free(all);
    return st;
}
