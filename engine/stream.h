/* Command streams: record many dispatches and copies into one command
 * buffer, with the barriers their buffer hazards need (read-after-write,
 * write-after-read, write-after-write; callers never place barriers), submit
 * once, and replay the recording as often as wanted. Timestamp queries time
 * regions of a stream. */
#ifndef ASVK_ENGINE_STREAM_H
#define ASVK_ENGINE_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/kernel.h"
#include "engine/memory.h"

typedef struct asvk_stream asvk_stream;

typedef struct asvk_stream_stats {
    uint32_t dispatches;
    uint32_t transfers;
    uint32_t barriers;
    uint32_t timestamps;
    uint32_t submits;
} asvk_stream_stats;

asvk_status asvk_stream_create(asvk_context *ctx, asvk_stream **out);
void asvk_stream_destroy(asvk_stream *s);

/* Records a dispatch of `groups` workgroups. bindings[i] is bound at binding i;
 * push holds push_bytes of push constants (the size the shader declares). */
asvk_status asvk_stream_dispatch(asvk_stream *s, asvk_kernel *k, const asvk_buffer *bindings,
                                 uint32_t binding_count, const void *push, uint32_t push_bytes,
                                 uint32_t gx, uint32_t gy, uint32_t gz);

/* Dispatches `groups` workgroups of a 1-D grid, folded into x and y when it
 * exceeds maxComputeWorkGroupCount[0]; shaders index it with LINEAR_GROUP
 * (shaders/include/io.glsl) and bounds-check, since the fold may overshoot. */
asvk_status asvk_stream_dispatch_linear(asvk_stream *s, asvk_kernel *k, const asvk_buffer *bindings,
                                        uint32_t binding_count, const void *push, uint32_t push_bytes,
                                        uint64_t groups);

asvk_context *asvk_stream_context(const asvk_stream *s);

/* A zeroed 32-bit counter (a 16-byte range) for a kernel whose workgroups
 * count their arrivals, so that the last one to finish completes a
 * reduction in the same dispatch (shaders/include/last_group.glsl). The
 * kernel must leave it zero when it ends, which keeps it valid for replays
 * of the recording. Slots are reused in turn, each reuse ordered by the
 * stream's hazard tracking; the stream owns and frees them. */
asvk_status asvk_stream_counter(asvk_stream *s, asvk_buffer *out);
/* n consecutive such counters (n at most ASVK_STREAM_COUNTERS_MAX), e.g.
 * one per output tile whose K-slices are summed by the last to arrive. */
#define ASVK_STREAM_COUNTERS_MAX 2048u
asvk_status asvk_stream_counters(asvk_stream *s, uint32_t n, asvk_buffer *out);

/* Transfer-engine copy and 32-bit pattern fill (offsets/sizes multiples of 4). */
asvk_status asvk_stream_copy(asvk_stream *s, asvk_buffer dst, asvk_buffer src);
asvk_status asvk_stream_fill_u32(asvk_stream *s, asvk_buffer dst, uint32_t pattern);

/* Records a timestamp after all previously recorded work; *index names it. */
asvk_status asvk_stream_timestamp(asvk_stream *s, uint32_t *index);

/* A dry pass before a recording: between begin and end the stream records
 * nothing (dispatches, copies, fills; timestamps are refused) and only
 * collects the pipelines its dispatches would use; end builds those not yet
 * built, on as many threads as the host has cores (up to 8), and the same
 * calls repeated then record without waiting for the driver between them.
 * Creating a pipeline costs a driver 10-60 ms on a CPU device, one at a time
 * when they are built as the recording meets them. The counters handed out
 * in the pass are handed out again after it. */
asvk_status asvk_stream_dry_begin(asvk_stream *s);
asvk_status asvk_stream_dry_end(asvk_stream *s);

/* Ends recording (implicit in submit). */
asvk_status asvk_stream_end(asvk_stream *s);
/* Submits the recording (again, for a replay) and returns without waiting. */
asvk_status asvk_stream_submit(asvk_stream *s);
/* Waits for the last submit. */
asvk_status asvk_stream_wait(asvk_stream *s);
/* Whether the last submit has finished, without blocking (it is then
 * waited for, as asvk_stream_wait does); true when nothing is in flight. */
asvk_status asvk_stream_poll(asvk_stream *s, bool *done);
/* submit + wait */
asvk_status asvk_stream_run(asvk_stream *s);

/* Nanoseconds between two timestamps of the last completed run. */
asvk_status asvk_stream_elapsed_ns(asvk_stream *s, uint32_t from, uint32_t to, double *ns);

void asvk_stream_stats_get(const asvk_stream *s, asvk_stream_stats *out);

#endif
