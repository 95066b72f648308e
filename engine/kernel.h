/* Kernels: a compute pipeline per (embedded shader, specialization constants).
 * Shapes go in push constants; workgroup and tile sizes in specialization
 * constants. Bindings, their access and the push-constant size are read from
 * the SPIR-V itself (engine/reflect.c), so the shader is the one source of
 * truth for its interface. */
#ifndef ASVK_ENGINE_KERNEL_H
#define ASVK_ENGINE_KERNEL_H

#include <stdint.h>

#include "engine/device.h"

typedef struct asvk_kernel asvk_kernel;

/* Finds or creates the kernel; it is owned by the context. Pipelines are
 * built lazily at first dispatch and cached (also on disk, per device UUID). */
asvk_status asvk_kernel_get(asvk_context *ctx, const char *shader, const uint32_t *spec,
                            uint32_t spec_count, asvk_kernel **out);

/* Bindings the kernel's shader declares. */
uint32_t asvk_kernel_binding_count(asvk_kernel *k);

/* Pipelines created in this context so far (pipeline-cache hits included). */
uint32_t asvk_context_pipeline_count(const asvk_context *ctx);

/* The time spent creating those pipelines (shader modules included), in ns
 * of wall-clock time: pipelines built together on several threads
 * (asvk_stream_dry_end) count once, as the time the caller waited. */
uint64_t asvk_context_pipeline_ns(const asvk_context *ctx);

/* Where the pipeline cache of this device lives ("" when not persisted). */
const char *asvk_context_pipeline_cache_path(const asvk_context *ctx);

#endif
