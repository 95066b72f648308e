/* Device memory: a few large blocks, sub-allocated. Never one vkAllocateMemory
 * per tensor; every allocation lies within one VkBuffer no larger than
 * maxStorageBufferRange, so any allocation can be bound whole. */
#ifndef ASVK_ENGINE_MEMORY_H
#define ASVK_ENGINE_MEMORY_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/device.h"

struct asvk_block;

/* A range of device memory. A value type: copy it freely; sub-ranges are
 * made with asvk_buffer_sub. offset and size are in bytes. `half`: the
 * tensor in it is stored as fp16 (2 bytes an element; kernels read and
 * write it through the fp16 forms of their shaders), else fp32. */
typedef struct asvk_buffer {
    struct asvk_block *block;
    uint64_t offset;
    uint64_t size;
    bool half;
} asvk_buffer;

/* Bytes per element of the tensor in b: 2 (fp16) or 4 (fp32). */
static inline uint32_t asvk_buffer_elem_bytes(asvk_buffer b) { return b.half ? 2u : 4u; }

typedef struct asvk_memory_stats {
    uint32_t allocate_calls; /* vkAllocateMemory calls so far */
    uint32_t blocks;         /* blocks held now */
    uint64_t reserved;       /* bytes held in blocks */
    uint64_t used;           /* bytes in live allocations */
    uint64_t peak_used;
    uint64_t budget;
} asvk_memory_stats;

/* Allocates `bytes` (rounded up to 16) aligned for any binding. Contents undefined. */
asvk_status asvk_buffer_alloc(asvk_context *ctx, uint64_t bytes, asvk_buffer *out);
/* The same for a buffer that may be larger than one binding
 * (maxStorageBufferRange), up to the device's largest allocation: its users
 * bind sub-ranges only (a parameter group: each tensor, and the optimizer in
 * slices). A dispatch binding more than the device allows fails with
 * ASVK_ERR_INTERNAL. */
asvk_status asvk_buffer_alloc_large(asvk_context *ctx, uint64_t bytes, asvk_buffer *out);
void asvk_buffer_free(asvk_context *ctx, asvk_buffer *buf);

/* A sub-range of `buf` (bytes). */
asvk_buffer asvk_buffer_sub(asvk_buffer buf, uint64_t offset, uint64_t size);

/* Splits a view at any element offset into a range that can be bound on this
 * device (offset aligned down to the device's alignment) and the element
 * offset of the view inside it (in its own elements: fp16 or fp32), which
 * kernels take as a push constant. */
void asvk_buffer_bindable(const asvk_context *ctx, asvk_buffer view, asvk_buffer *bind, uint32_t *elem_offset);

/* Synchronous host <-> device copies; they wait for submitted work first. */
asvk_status asvk_buffer_upload(asvk_context *ctx, asvk_buffer dst, uint64_t offset, const void *src,
                               uint64_t bytes);
asvk_status asvk_buffer_download(asvk_context *ctx, asvk_buffer src, uint64_t offset, void *dst,
                                 uint64_t bytes);

/* The host address of b where its memory is host-mapped (lavapipe,
 * integrated GPUs), else NULL (use upload and download). It waits for
 * nothing: the caller orders its reads and writes against the device work
 * that touches b (a stream it waited for, a submit after its writes); this
 * is what lets a distributed step read finished gradients while later parts
 * of the step still run. */
void *asvk_buffer_host_ptr(asvk_buffer b);

void asvk_memory_stats_get(const asvk_context *ctx, asvk_memory_stats *out);

#endif
