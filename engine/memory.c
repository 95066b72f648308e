/* Device memory: large blocks, each one VkDeviceMemory with one VkBuffer
 * over it, sub-allocated by a best-fit free list. Uploads and downloads go
 * through a memcpy where the memory is host-visible and coherent (lavapipe,
 * integrated GPUs), else through a host-visible staging buffer.
 * ASVK_MEMORY_BUDGET (bytes, with K/M/G suffix) caps what the engine takes. */
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

#define MiB (1024.0 * 1024.0)
#define DEFAULT_BLOCK (64ull << 20)
#define STAGING_CHUNK (16ull << 20)
static const VkBufferUsageFlags USAGE = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                        VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
                                        VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;

/* Storage-texel usage only where the imageLoad variant runs: a view of a
 * buffer with that usage must have a format the device can store to. */
static VkBufferUsageFlags usage(const asvk_context *ctx) {
    return USAGE | (ctx->sw.image_inputs ? VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT : 0);
}

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

static bool parse_bytes(const char *s, uint64_t *out) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || v <= 0) return false;
    switch (*end) {
    case 'k': case 'K': v *= 1024.0; end++; break;
    case 'm': case 'M': v *= MiB; end++; break;
    case 'g': case 'G': v *= 1024.0 * MiB; end++; break;
    default: break;
    }
    if (*end == 'i' || *end == 'B') end++;
    if (*end == 'B') end++;
    if (*end) return false;
    *out = (uint64_t)v;
    return true;
}

static int find_type(const VkPhysicalDeviceMemoryProperties *mp, uint32_t bits, VkMemoryPropertyFlags want) {
    for (uint32_t i = 0; i < mp->memoryTypeCount; i++)
        if ((bits & (1u << i)) && (mp->memoryTypes[i].propertyFlags & want) == want) return (int)i;
    return -1;
}

asvk_status asvk_memory_init(asvk_context *ctx) {
    VkFormatProperties fp;
    vkGetPhysicalDeviceFormatProperties(ctx->physical, VK_FORMAT_R32G32B32A32_SFLOAT, &fp);
    if (!(fp.bufferFeatures & VK_FORMAT_FEATURE_UNIFORM_TEXEL_BUFFER_BIT)) ctx->sw.texel_inputs = false;
    if (!ctx->sw.texel_inputs || !(fp.bufferFeatures & VK_FORMAT_FEATURE_STORAGE_TEXEL_BUFFER_BIT))
        ctx->sw.image_inputs = false;

    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 4096, .usage = usage(ctx)};
    VkBuffer probe;
    ASVK_VK(ctx, ctx->vk.vkCreateBuffer(ctx->device, &bci, NULL, &probe));
    VkMemoryRequirements req;
    ctx->vk.vkGetBufferMemoryRequirements(ctx->device, probe, &req);
    ctx->vk.vkDestroyBuffer(ctx->device, probe, NULL);

    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(ctx->physical, &mp);
    const VkMemoryPropertyFlags HOSTCOH = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    int t = -1;
    if (ctx->sw.host_mapped) t = find_type(&mp, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | HOSTCOH);
    if (t < 0) {
        ctx->sw.host_mapped = false;
        t = find_type(&mp, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    }
    if (t < 0) t = find_type(&mp, req.memoryTypeBits, 0);
    int staging = find_type(&mp, req.memoryTypeBits, HOSTCOH | VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
    if (staging < 0) staging = find_type(&mp, req.memoryTypeBits, HOSTCOH);
    if (t < 0 || staging < 0)
        return asvk_error_set(ASVK_ERR_FEATURE, "%s offers no memory type for storage buffers%s; pick another --device",
                              ctx->info.name, staging < 0 ? " that the host can map" : "");
    ctx->memory_type = (uint32_t)t;
    ctx->staging_type = (uint32_t)staging;

    uint32_t heap = mp.memoryTypes[t].heapIndex;
    ctx->budget = mp.memoryHeaps[heap].size;
    if (ctx->info.memory_budget_ext) {
        VkPhysicalDeviceMemoryBudgetPropertiesEXT b = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
        VkPhysicalDeviceMemoryProperties2 m2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2, .pNext = &b};
        vkGetPhysicalDeviceMemoryProperties2(ctx->physical, &m2);
        if (b.heapBudget[heap] && b.heapBudget[heap] < ctx->budget) ctx->budget = b.heapBudget[heap];
    }
    /* ASVK_POISON=1: every new tensor starts as NaN (host-mapped memory only),
     * so a kernel that reads what nothing wrote fails its CPU comparison
     * instead of reading zeros or a previous tensor's values (the sanitizer
     * pass of scripts/test runs with it). */
    const char *poison = getenv("ASVK_POISON");
    ctx->poison = poison && *poison && strcmp(poison, "0") != 0;
    /* ASVK_MAX_BINDING=SIZE: bind at most SIZE bytes at once, as a device
     * with a smaller maxStorageBufferRange would (tests of the paths that
     * split large buffers into slices) */
    const char *bind_env = getenv("ASVK_MAX_BINDING");
    if (bind_env && *bind_env) {
        uint64_t v;
        if (!parse_bytes(bind_env, &v) || v < 1024)
            return asvk_error_set(ASVK_ERR_USAGE, "ASVK_MAX_BINDING='%s' is not a size of at least 1K", bind_env);
        if (v < ctx->info.max_storage_buffer_range) ctx->info.max_storage_buffer_range = v;
    }
    const char *env = getenv("ASVK_MEMORY_BUDGET");
    if (env && *env) {
        uint64_t v;
        if (!parse_bytes(env, &v))
            return asvk_error_set(ASVK_ERR_USAGE, "ASVK_MEMORY_BUDGET='%s' is not a size; write e.g. 512M or 2G", env);
        if (v < ctx->budget) ctx->budget = v;
    }

    ctx->alignment = 256;
    if (ctx->info.min_storage_offset_alignment > ctx->alignment) ctx->alignment = ctx->info.min_storage_offset_alignment;
    if (ctx->info.min_texel_offset_alignment > ctx->alignment) ctx->alignment = ctx->info.min_texel_offset_alignment;
    if (req.alignment > ctx->alignment) ctx->alignment = req.alignment;

    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT,
                                   .queueFamilyIndex = ctx->queue_family};
    ASVK_VK(ctx, ctx->vk.vkCreateCommandPool(ctx->device, &pci, NULL, &ctx->transfer_pool));
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    ASVK_VK(ctx, ctx->vk.vkCreateFence(ctx->device, &fci, NULL, &ctx->transfer_fence));
    return ASVK_OK;
}

static void block_destroy(asvk_context *ctx, struct asvk_block *b) {
    if (b->buffer) ctx->vk.vkDestroyBuffer(ctx->device, b->buffer, NULL);
    if (b->memory) ctx->vk.vkFreeMemory(ctx->device, b->memory, NULL);
    ctx->reserved -= b->memory ? b->size : 0;
    free(b->free_list);
    free(b);
}

void asvk_memory_destroy_all(asvk_context *ctx) {
    for (uint32_t i = 0; i < ctx->block_count; i++) block_destroy(ctx, ctx->blocks[i]);
    free(ctx->blocks);
    ctx->blocks = NULL;
    ctx->block_count = 0;
    if (ctx->staging) ctx->vk.vkDestroyBuffer(ctx->device, ctx->staging, NULL);
    if (ctx->staging_memory) ctx->vk.vkFreeMemory(ctx->device, ctx->staging_memory, NULL);
    if (ctx->transfer_fence) ctx->vk.vkDestroyFence(ctx->device, ctx->transfer_fence, NULL);
    if (ctx->transfer_pool) ctx->vk.vkDestroyCommandPool(ctx->device, ctx->transfer_pool, NULL);
}

static asvk_status oom(asvk_context *ctx, uint64_t bytes) {
    return asvk_error_set(ASVK_ERR_OOM,
                          "out of device memory on %s: %.1f MiB more were needed with %.1f MiB of a %.1f MiB "
                          "budget in use; lower --batch or the model size%s",
                          ctx->info.name, bytes / MiB, ctx->used / MiB, ctx->budget / MiB,
                          getenv("ASVK_MEMORY_BUDGET") ? " (or raise ASVK_MEMORY_BUDGET)" : "");
}

/* Releases blocks with no live allocation, to make room under the budget. */
static void release_empty(asvk_context *ctx) {
    uint32_t w = 0;
    for (uint32_t i = 0; i < ctx->block_count; i++) {
        if (ctx->blocks[i]->live == 0) block_destroy(ctx, ctx->blocks[i]);
        else ctx->blocks[w++] = ctx->blocks[i];
    }
    ctx->block_count = w;
}

static asvk_status block_create(asvk_context *ctx, uint64_t size, bool dedicated, struct asvk_block **out) {
    if (ctx->reserved + size > ctx->budget) release_empty(ctx);
    if (ctx->reserved + size > ctx->budget) return oom(ctx, size);
    if (ctx->block_count == ctx->block_cap) {
        uint32_t cap = ctx->block_cap ? ctx->block_cap * 2 : 8;
        void *p = realloc(ctx->blocks, cap * sizeof *ctx->blocks);
        if (!p) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
        ctx->blocks = p;
        ctx->block_cap = cap;
    }
    struct asvk_block *b = calloc(1, sizeof *b);
    if (!b) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    b->size = size;
    b->dedicated = dedicated;
    b->id = ctx->next_block_id++;
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size, .usage = usage(ctx)};
    VkResult r = ctx->vk.vkCreateBuffer(ctx->device, &bci, NULL, &b->buffer);
    VkMemoryRequirements req = {0};
    if (r == VK_SUCCESS) {
        ctx->vk.vkGetBufferMemoryRequirements(ctx->device, b->buffer, &req);
        VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                    .allocationSize = req.size,
                                    .memoryTypeIndex = ctx->memory_type};
        ctx->allocate_calls++;
        r = ctx->vk.vkAllocateMemory(ctx->device, &mai, NULL, &b->memory);
    }
    if (r == VK_SUCCESS) r = ctx->vk.vkBindBufferMemory(ctx->device, b->buffer, b->memory, 0);
    if (r == VK_SUCCESS && ctx->sw.host_mapped)
        r = ctx->vk.vkMapMemory(ctx->device, b->memory, 0, VK_WHOLE_SIZE, 0, (void **)&b->mapped);
    b->free_list = malloc(sizeof *b->free_list);
    if (r != VK_SUCCESS || !b->free_list) {
        bool had_memory = b->memory != VK_NULL_HANDLE;
        if (!had_memory) b->size = 0;
        else ctx->reserved += b->size; /* block_destroy subtracts it */
        block_destroy(ctx, b);
        if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY) return oom(ctx, size);
        return r != VK_SUCCESS ? asvk_vk_fail(ctx, r, "allocating a memory block") : asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    }
    b->free_list[0] = (asvk_range){0, size};
    b->free_count = 1;
    b->free_cap = 1;
    ctx->reserved += size;
    ctx->blocks[ctx->block_count++] = b;
    *out = b;
    return ASVK_OK;
}

/* Best fit within one block; offsets stay aligned because every size is. */
static bool block_take(struct asvk_block *b, uint64_t size, uint64_t *offset) {
    int best = -1;
    for (uint32_t i = 0; i < b->free_count; i++)
        if (b->free_list[i].size >= size && (best < 0 || b->free_list[i].size < b->free_list[best].size))
            best = (int)i;
    if (best < 0) return false;
    asvk_range *r = &b->free_list[best];
    *offset = r->offset;
    r->offset += size;
    r->size -= size;
    if (r->size == 0) {
        memmove(r, r + 1, (b->free_count - (uint32_t)best - 1) * sizeof *r);
        b->free_count--;
    }
    b->live++;
    return true;
}

static bool block_give(struct asvk_block *b, uint64_t offset, uint64_t size) {
    uint32_t i = 0;
    while (i < b->free_count && b->free_list[i].offset < offset) i++;
    bool merge_prev = i > 0 && b->free_list[i - 1].offset + b->free_list[i - 1].size == offset;
    bool merge_next = i < b->free_count && offset + size == b->free_list[i].offset;
    if (merge_prev && merge_next) {
        b->free_list[i - 1].size += size + b->free_list[i].size;
        memmove(&b->free_list[i], &b->free_list[i + 1], (b->free_count - i - 1) * sizeof *b->free_list);
        b->free_count--;
    } else if (merge_prev) {
        b->free_list[i - 1].size += size;
    } else if (merge_next) {
        b->free_list[i].offset = offset;
        b->free_list[i].size += size;
    } else {
        if (b->free_count == b->free_cap) {
            uint32_t cap = b->free_cap * 2;
            void *p = realloc(b->free_list, cap * sizeof *b->free_list);
            if (!p) return false; /* the range leaks, but nothing breaks */
            b->free_list = p;
            b->free_cap = cap;
        }
        memmove(&b->free_list[i + 1], &b->free_list[i], (b->free_count - i) * sizeof *b->free_list);
        b->free_list[i] = (asvk_range){offset, size};
        b->free_count++;
    }
    b->live--;
    return true;
}

static asvk_status alloc(asvk_context *ctx, uint64_t bytes, bool large, asvk_buffer *out) {
    memset(out, 0, sizeof *out);
    if (bytes == 0) bytes = 16;
    uint64_t size = align_up(bytes, ctx->alignment);
    uint64_t max_range = ctx->info.max_storage_buffer_range;
    if (ctx->info.max_allocation_size && ctx->info.max_allocation_size < max_range) max_range = ctx->info.max_allocation_size;
    if (large && size > max_range && ctx->info.max_allocation_size && size <= ctx->info.max_allocation_size) {
        struct asvk_block *b; /* a block of its own, larger than a binding */
        asvk_status st = block_create(ctx, size, true, &b);
        if (st) return st;
        uint64_t offset;
        block_take(b, size, &offset);
        if (ctx->poison && b->mapped) memset(b->mapped + offset, 0xFF, size);
        out->block = b, out->offset = offset, out->size = align_up(bytes, 16);
        ctx->used += size;
        if (ctx->used > ctx->peak_used) ctx->peak_used = ctx->used;
        return ASVK_OK;
    }
    if (size > max_range)
        return asvk_error_set(ASVK_ERR_LIMIT,
                              "a tensor of %.1f MiB exceeds %s's largest bindable buffer (maxStorageBufferRange "
                              "%.1f MiB); lower --batch or the resolution",
                              bytes / MiB, ctx->info.name, max_range / MiB);
    uint64_t offset = 0;
    struct asvk_block *b = NULL;
    for (uint32_t i = 0; i < ctx->block_count && !b; i++)
        if (!ctx->blocks[i]->dedicated && block_take(ctx->blocks[i], size, &offset)) b = ctx->blocks[i];
    if (!b) {
        uint64_t block = DEFAULT_BLOCK < max_range ? DEFAULT_BLOCK : max_range / ctx->alignment * ctx->alignment;
        if (ctx->budget - (ctx->reserved < ctx->budget ? ctx->reserved : ctx->budget) < block)
            block = align_up(size, ctx->alignment); /* near the budget: only what is asked */
        bool dedicated = size > block / 2;
        asvk_status st = block_create(ctx, dedicated ? size : block, dedicated, &b);
        if (st) return st;
        block_take(b, size, &offset);
    }
    if (ctx->poison && b->mapped) memset(b->mapped + offset, 0xFF, size); /* NaN in fp32 and fp16 */
    out->block = b;
    out->offset = offset;
    out->size = align_up(bytes, 16);
    ctx->used += size;
    if (ctx->used > ctx->peak_used) ctx->peak_used = ctx->used;
    return ASVK_OK;
}

asvk_status asvk_buffer_alloc(asvk_context *ctx, uint64_t bytes, asvk_buffer *out) {
    return alloc(ctx, bytes, false, out);
}

asvk_status asvk_buffer_alloc_large(asvk_context *ctx, uint64_t bytes, asvk_buffer *out) {
    return alloc(ctx, bytes, true, out);
}

void asvk_buffer_free(asvk_context *ctx, asvk_buffer *buf) {
    if (!buf || !buf->block) return;
    uint64_t size = align_up(buf->size, ctx->alignment);
    struct asvk_block *b = buf->block;
    block_give(b, buf->offset, size);
    ctx->used -= size;
    if (b->dedicated && b->live == 0) {
        for (uint32_t i = 0; i < ctx->block_count; i++)
            if (ctx->blocks[i] == b) {
                memmove(&ctx->blocks[i], &ctx->blocks[i + 1], (ctx->block_count - i - 1) * sizeof *ctx->blocks);
                ctx->block_count--;
                break;
            }
        block_destroy(ctx, b);
    }
    memset(buf, 0, sizeof *buf);
}

asvk_buffer asvk_buffer_sub(asvk_buffer buf, uint64_t offset, uint64_t size) {
    asvk_buffer s = buf;
    s.offset += offset;
    s.size = size;
    return s;
}

void asvk_buffer_bindable(const asvk_context *ctx, asvk_buffer view, asvk_buffer *bind, uint32_t *elem_offset) {
    uint64_t a = ctx->info.min_storage_offset_alignment;
    if (ctx->info.min_texel_offset_alignment > a) a = ctx->info.min_texel_offset_alignment;
    if (a < 16) a = 16;
    uint64_t base = view.offset / a * a;
    *bind = view;
    bind->offset = base;
    bind->size = view.size + (view.offset - base);
    *elem_offset = (uint32_t)((view.offset - base) / asvk_buffer_elem_bytes(view));
}

void asvk_memory_stats_get(const asvk_context *ctx, asvk_memory_stats *out) {
    out->allocate_calls = ctx->allocate_calls;
    out->blocks = ctx->block_count;
    out->reserved = ctx->reserved;
    out->used = ctx->used;
    out->peak_used = ctx->peak_used;
    out->budget = ctx->budget;
}

/* ---- host <-> device ---- */

static asvk_status check_range(const asvk_context *ctx, asvk_buffer buf, uint64_t offset, uint64_t bytes) {
    if (!buf.block) return asvk_error_set(ASVK_ERR_INTERNAL, "copy to or from an unallocated buffer");
    if (offset + bytes > buf.size || buf.offset + offset + bytes > buf.block->size)
        return asvk_error_set(ASVK_ERR_INTERNAL, "copy of %llu bytes at %llu overruns a buffer of %llu bytes",
                              (unsigned long long)bytes, (unsigned long long)offset, (unsigned long long)buf.size);
    return ASVK_OK;
}

static asvk_status ensure_staging(asvk_context *ctx, uint64_t size) {
    if (ctx->staging_size >= size) return ASVK_OK;
    if (ctx->staging) ctx->vk.vkDestroyBuffer(ctx->device, ctx->staging, NULL);
    if (ctx->staging_memory) ctx->vk.vkFreeMemory(ctx->device, ctx->staging_memory, NULL);
    ctx->staging = VK_NULL_HANDLE;
    ctx->staging_memory = VK_NULL_HANDLE;
    ctx->staging_size = 0;
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                              .size = size,
                              .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT};
    ASVK_VK(ctx, ctx->vk.vkCreateBuffer(ctx->device, &bci, NULL, &ctx->staging));
    VkMemoryRequirements req;
    ctx->vk.vkGetBufferMemoryRequirements(ctx->device, ctx->staging, &req);
    VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                .allocationSize = req.size,
                                .memoryTypeIndex = ctx->staging_type};
    ctx->allocate_calls++;
    ASVK_VK(ctx, ctx->vk.vkAllocateMemory(ctx->device, &mai, NULL, &ctx->staging_memory));
    ASVK_VK(ctx, ctx->vk.vkBindBufferMemory(ctx->device, ctx->staging, ctx->staging_memory, 0));
    ASVK_VK(ctx, ctx->vk.vkMapMemory(ctx->device, ctx->staging_memory, 0, VK_WHOLE_SIZE, 0, (void **)&ctx->staging_mapped));
    ctx->staging_size = size;
    return ASVK_OK;
}

/* One staging copy, submitted and waited for. The leading barrier orders it
 * after earlier submissions' writes; the trailing one makes its writes
 * visible to the host (download) or to later submissions (upload). */
static asvk_status staged_copy(asvk_context *ctx, VkBuffer src, uint64_t src_off, VkBuffer dst, uint64_t dst_off,
                               uint64_t bytes) {
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .commandPool = ctx->transfer_pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 1};
    VkCommandBuffer cb;
    ASVK_VK(ctx, ctx->vk.vkAllocateCommandBuffers(ctx->device, &ai, &cb));
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    VkResult r = ctx->vk.vkBeginCommandBuffer(cb, &bi);
    if (r == VK_SUCCESS) {
        VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                              .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_HOST_WRITE_BIT,
                              .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
        ctx->vk.vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                                     VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
        VkBufferCopy region = {src_off, dst_off, bytes};
        ctx->vk.vkCmdCopyBuffer(cb, src, dst, 1, &region);
        VkMemoryBarrier after = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                                 .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                                 .dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_SHADER_READ_BIT |
                                                  VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                                                  VK_ACCESS_TRANSFER_WRITE_BIT};
        ctx->vk.vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT,
                                     VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                                     0, 1, &after, 0, NULL, 0, NULL);
        r = ctx->vk.vkEndCommandBuffer(cb);
    }
    if (r == VK_SUCCESS) {
        VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb};
        r = ctx->vk.vkQueueSubmit(ctx->queue, 1, &si, ctx->transfer_fence);
        if (r == VK_SUCCESS) r = ctx->vk.vkWaitForFences(ctx->device, 1, &ctx->transfer_fence, VK_TRUE, UINT64_MAX);
        ctx->vk.vkResetFences(ctx->device, 1, &ctx->transfer_fence);
    }
    ctx->vk.vkFreeCommandBuffers(ctx->device, ctx->transfer_pool, 1, &cb);
    if (r != VK_SUCCESS) return asvk_vk_fail(ctx, r, "a staging copy");
    return ASVK_OK;
}

static asvk_status settle(asvk_context *ctx) {
    return ctx->maybe_busy ? asvk_context_wait_idle(ctx) : ASVK_OK;
}

asvk_status asvk_buffer_upload(asvk_context *ctx, asvk_buffer dst, uint64_t offset, const void *src, uint64_t bytes) {
    asvk_status st = check_range(ctx, dst, offset, bytes);
    if (!st) st = settle(ctx);
    if (st || bytes == 0) return st;
    if (dst.block->mapped) {
        memcpy(dst.block->mapped + dst.offset + offset, src, bytes);
        return ASVK_OK;
    }
    for (uint64_t done = 0; done < bytes;) {
        uint64_t n = bytes - done < STAGING_CHUNK ? bytes - done : STAGING_CHUNK;
        if ((st = ensure_staging(ctx, n))) return st;
        memcpy(ctx->staging_mapped, (const uint8_t *)src + done, n);
        if ((st = staged_copy(ctx, ctx->staging, 0, dst.block->buffer, dst.offset + offset + done, n))) return st;
        done += n;
    }
    return ASVK_OK;
}

void *asvk_buffer_host_ptr(asvk_buffer b) {
    return b.block && b.block->mapped ? b.block->mapped + b.offset : NULL;
}

asvk_status asvk_buffer_download(asvk_context *ctx, asvk_buffer src, uint64_t offset, void *dst, uint64_t bytes) {
    asvk_status st = check_range(ctx, src, offset, bytes);
    if (!st) st = settle(ctx);
    if (st || bytes == 0) return st;
    if (src.block->mapped) {
        memcpy(dst, src.block->mapped + src.offset + offset, bytes);
        return ASVK_OK;
    }
    for (uint64_t done = 0; done < bytes;) {
        uint64_t n = bytes - done < STAGING_CHUNK ? bytes - done : STAGING_CHUNK;
        if ((st = ensure_staging(ctx, n))) return st;
        if ((st = staged_copy(ctx, src.block->buffer, src.offset + offset + done, ctx->staging, 0, n))) return st;
        memcpy((uint8_t *)dst + done, ctx->staging_mapped, n);
        done += n;
    }
    return ASVK_OK;
}
