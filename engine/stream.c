/* Command streams: recording, automatic barriers, submit/replay, timestamps.
 *
 * Hazards: the stream keeps the buffer ranges read and written since the last
 * barrier. A new operation that reads a range written since then (RAW), or
 * writes a range read or written since then (WAR, WAW), gets one global
 * memory barrier first and the sets restart. Independent dispatches thus run
 * without barriers between them; dependent ones get exactly one. A global
 * VkMemoryBarrier (not per-buffer barriers) is what drivers handle best.
 *
 * Each recording starts with a barrier against earlier submissions (replays
 * included) and ends with one that makes its writes visible to the host. */
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"
#include "shaders/registry.h"

#define QUERIES_PER_POOL 64
#define SETS_PER_POOL 128

typedef struct { uint32_t block; uint64_t begin, end; } span;
typedef struct { VkBuffer buffer; uint64_t offset, range; VkFormat format; VkBufferView view; } view_entry;
typedef struct { span *v; uint32_t n, cap; } span_list;

struct asvk_stream {
    asvk_context *ctx;
    VkCommandPool pool;
    VkCommandBuffer cmd;
    VkFence fence;
    bool ended, in_flight, has_results;
    span_list reads, writes;
    view_entry *views;
    uint32_t view_count, view_cap;
    VkDescriptorPool *dpools;
    uint32_t dpool_count;
    VkQueryPool *qpools;
    uint32_t qpool_count, query_count;
    uint64_t *results;
    VkPipeline bound;
    asvk_stream_stats stats;
    asvk_buffer counters; /* COUNTER_RING zeroed counters for asvk_stream_counters */
    uint32_t counter_next;
    bool dry;             /* asvk_stream_dry_begin: collect pipelines, record nothing */
    uint32_t dry_counter; /* counter_next when the dry pass began */
};

/* Runs of counters for asvk_stream_counters, handed out in turn from a ring
 * (each run starts on a 16-byte boundary, a bindable range, and wraps to the
 * start rather than straddle the end). A counter comes round again only
 * after the rest of the ring; the hazard tracking then orders its two users,
 * since each writes it. */
#define COUNTER_RING (4u * ASVK_STREAM_COUNTERS_MAX)

static const VkPipelineStageFlags STAGES = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
static const VkAccessFlags WRITES = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
static const VkAccessFlags ALL = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                 VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;

static void barrier(asvk_stream *s, VkPipelineStageFlags src, VkAccessFlags src_access, VkPipelineStageFlags dst,
                    VkAccessFlags dst_access) {
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = src_access, .dstAccessMask = dst_access};
    s->ctx->vk.vkCmdPipelineBarrier(s->cmd, src, dst, 0, 1, &mb, 0, NULL, 0, NULL);
}

asvk_status asvk_stream_create(asvk_context *ctx, asvk_stream **out) {
    *out = NULL;
    asvk_stream *s = calloc(1, sizeof *s);
    if (!s) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    s->ctx = ctx;
    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .queueFamilyIndex = ctx->queue_family};
    VkResult r = ctx->vk.vkCreateCommandPool(ctx->device, &pci, NULL, &s->pool);
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .commandPool = s->pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 1};
    if (r == VK_SUCCESS) r = ctx->vk.vkAllocateCommandBuffers(ctx->device, &ai, &s->cmd);
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    if (r == VK_SUCCESS) r = ctx->vk.vkCreateFence(ctx->device, &fci, NULL, &s->fence);
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    if (r == VK_SUCCESS) r = ctx->vk.vkBeginCommandBuffer(s->cmd, &bi);
    if (r != VK_SUCCESS) {
        asvk_stream_destroy(s);
        return asvk_vk_fail(ctx, r, "creating a command stream");
    }
    barrier(s, STAGES | VK_PIPELINE_STAGE_HOST_BIT, WRITES | VK_ACCESS_HOST_WRITE_BIT, STAGES, ALL);
    *out = s;
    return ASVK_OK;
}

void asvk_stream_destroy(asvk_stream *s) {
    if (!s) return;
    asvk_context *ctx = s->ctx;
    if (s->in_flight) ctx->vk.vkWaitForFences(ctx->device, 1, &s->fence, VK_TRUE, UINT64_MAX);
    for (uint32_t i = 0; i < s->view_count; i++) ctx->vk.vkDestroyBufferView(ctx->device, s->views[i].view, NULL);
    for (uint32_t i = 0; i < s->dpool_count; i++) ctx->vk.vkDestroyDescriptorPool(ctx->device, s->dpools[i], NULL);
    for (uint32_t i = 0; i < s->qpool_count; i++) ctx->vk.vkDestroyQueryPool(ctx->device, s->qpools[i], NULL);
    if (s->fence) ctx->vk.vkDestroyFence(ctx->device, s->fence, NULL);
    if (s->pool) ctx->vk.vkDestroyCommandPool(ctx->device, s->pool, NULL);
    if (s->counters.block) asvk_buffer_free(ctx, &s->counters);
    free(s->views);
    free(s->dpools);
    free(s->qpools);
    free(s->results);
    free(s->reads.v);
    free(s->writes.v);
    free(s);
}

/* ---- hazards ---- */

static bool overlaps(const span_list *l, span x) {
    for (uint32_t i = 0; i < l->n; i++)
        if (l->v[i].block == x.block && l->v[i].begin < x.end && x.begin < l->v[i].end) return true;
    return false;
}

static bool push_span(span_list *l, span x) {
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 32;
        void *p = realloc(l->v, cap * sizeof *l->v);
        if (!p) return false;
        l->v = p;
        l->cap = cap;
    }
    l->v[l->n++] = x;
    return true;
}

/* Records the barrier the accesses need (if any) and notes the accesses. */
static asvk_status track(asvk_stream *s, const span *r, uint32_t nr, const span *w, uint32_t nw) {
    bool hazard = false;
    for (uint32_t i = 0; i < nr && !hazard; i++) hazard = overlaps(&s->writes, r[i]);
    for (uint32_t i = 0; i < nw && !hazard; i++) hazard = overlaps(&s->writes, w[i]) || overlaps(&s->reads, w[i]);
    if (hazard) {
        barrier(s, STAGES, WRITES, STAGES, ALL);
        s->stats.barriers++;
        s->reads.n = s->writes.n = 0;
    }
    for (uint32_t i = 0; i < nr; i++)
        if (!push_span(&s->reads, r[i])) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    for (uint32_t i = 0; i < nw; i++)
        if (!push_span(&s->writes, w[i])) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    return ASVK_OK;
}

static uint64_t bind_range(const asvk_buffer *b) {
    uint64_t r = (b->size + 15) & ~15ull;
    return b->offset + r > b->block->size ? b->block->size - b->offset : r;
}

static asvk_status check_buffer(const asvk_stream *s, const asvk_buffer *b, uint32_t i, const char *what) {
    if (!b->block || b->size == 0)
        return asvk_error_set(ASVK_ERR_INTERNAL, "%s: binding %u is an empty or unallocated buffer", what, i);
    if (b->offset + b->size > b->block->size)
        return asvk_error_set(ASVK_ERR_INTERNAL, "%s: binding %u overruns its memory block", what, i);
    if (b->size > s->ctx->info.max_storage_buffer_range)
        return asvk_error_set(ASVK_ERR_INTERNAL, "%s: binding %u spans %llu bytes, more than %s binds (%llu)", what, i,
                              (unsigned long long)b->size, s->ctx->info.name,
                              (unsigned long long)s->ctx->info.max_storage_buffer_range);
    if (b->offset % s->ctx->info.min_storage_offset_alignment || b->offset % s->ctx->info.min_texel_offset_alignment)
        return asvk_error_set(ASVK_ERR_INTERNAL, "%s: binding %u at offset %llu breaks the device's offset alignment",
                              what, i, (unsigned long long)b->offset);
    return ASVK_OK;
}

/* A texel view of the binding: RGBA32F, or RGBA16F for an fp16 tensor
 * (texelFetch converts, so the shader reads both alike). */
static asvk_status get_view(asvk_stream *s, const asvk_buffer *b, VkBufferView *out) {
    uint64_t range = bind_range(b);
    VkFormat format = b->half ? VK_FORMAT_R16G16B16A16_SFLOAT : VK_FORMAT_R32G32B32A32_SFLOAT;
    for (uint32_t i = 0; i < s->view_count; i++)
        if (s->views[i].buffer == b->block->buffer && s->views[i].offset == b->offset && s->views[i].range == range &&
            s->views[i].format == format) {
            *out = s->views[i].view;
            return ASVK_OK;
        }
    if (s->view_count == s->view_cap) {
        uint32_t cap = s->view_cap ? s->view_cap * 2 : 16;
        void *p = realloc(s->views, cap * sizeof *s->views);
        if (!p) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
        s->views = p;
        s->view_cap = cap;
    }
    VkBufferViewCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO,
                                 .buffer = b->block->buffer,
                                 .format = format,
                                 .offset = b->offset,
                                 .range = range};
    ASVK_VK(s->ctx, s->ctx->vk.vkCreateBufferView(s->ctx->device, &ci, NULL, out));
    s->views[s->view_count++] = (view_entry){b->block->buffer, b->offset, range, format, *out};
    return ASVK_OK;
}

static asvk_status alloc_set(asvk_stream *s, VkDescriptorSetLayout layout, VkDescriptorSet *out) {
    asvk_context *ctx = s->ctx;
    if (s->dpool_count) {
        VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                          .descriptorPool = s->dpools[s->dpool_count - 1],
                                          .descriptorSetCount = 1,
                                          .pSetLayouts = &layout};
        VkResult r = ctx->vk.vkAllocateDescriptorSets(ctx->device, &ai, out);
        if (r == VK_SUCCESS) return ASVK_OK;
        if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL)
            return asvk_vk_fail(ctx, r, "vkAllocateDescriptorSets");
    }
    void *p = realloc(s->dpools, (s->dpool_count + 1) * sizeof *s->dpools);
    if (!p) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    s->dpools = p;
    VkDescriptorPoolSize sizes[3] = {{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, SETS_PER_POOL * ASVK_MAX_BINDINGS},
                                     {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, SETS_PER_POOL * ASVK_MAX_BINDINGS},
                                     {VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER, SETS_PER_POOL * ASVK_MAX_BINDINGS}};
    VkDescriptorPoolCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                     .maxSets = SETS_PER_POOL,
                                     .poolSizeCount = ctx->sw.image_inputs ? 3 : 2,
                                     .pPoolSizes = sizes};
    ASVK_VK(ctx, ctx->vk.vkCreateDescriptorPool(ctx->device, &ci, NULL, &s->dpools[s->dpool_count]));
    s->dpool_count++;
    VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                      .descriptorPool = s->dpools[s->dpool_count - 1],
                                      .descriptorSetCount = 1,
                                      .pSetLayouts = &layout};
    ASVK_VK(ctx, ctx->vk.vkAllocateDescriptorSets(ctx->device, &ai, out));
    return ASVK_OK;
}

static asvk_status recording(const asvk_stream *s) {
    if (s->ended) return asvk_error_set(ASVK_ERR_INTERNAL, "a stream cannot be recorded into after it was ended or submitted");
    return ASVK_OK;
}

asvk_status asvk_stream_dispatch(asvk_stream *s, asvk_kernel *k, const asvk_buffer *bindings, uint32_t binding_count,
                                 const void *push, uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz) {
    asvk_context *ctx = s->ctx;
    asvk_status st = recording(s);
    if (st) return st;
    const asvk_reflection *base = &k->variant[ASVK_SHADER_SSBO].refl;
    if (binding_count != base->binding_count)
        return asvk_error_set(ASVK_ERR_INTERNAL, "kernel %s has %u bindings, %u given", k->name, base->binding_count, binding_count);
    if (push_bytes != base->push_size)
        return asvk_error_set(ASVK_ERR_INTERNAL, "kernel %s takes %u bytes of push constants, %u given", k->name,
                              base->push_size, push_bytes);
    const uint32_t *lim = ctx->info.max_workgroup_count;
    if (gx > lim[0] || gy > lim[1] || gz > lim[2])
        return asvk_error_set(ASVK_ERR_LIMIT, "kernel %s: %u x %u x %u workgroups exceed %s's limit %u x %u x %u",
                              k->name, gx, gy, gz, ctx->info.name, lim[0], lim[1], lim[2]);
    if (gx == 0 || gy == 0 || gz == 0) return ASVK_OK;

    bool texel = ctx->sw.texel_inputs;
    span r[ASVK_MAX_BINDINGS], w[ASVK_MAX_BINDINGS];
    uint32_t nr = 0, nw = 0, f16_mask = 0, inputs = 0;
    for (uint32_t i = 0; i < binding_count; i++) {
        if ((st = check_buffer(s, &bindings[i], i, k->name))) return st;
        if (bindings[i].half) {
            if (!ctx->sw.fp16)
                return asvk_error_set(ASVK_ERR_INTERNAL, "kernel %s: binding %u holds fp16 but fp16 storage is off on %s",
                                      k->name, i, ctx->info.name);
            f16_mask |= 1u << i;
        }
        span x = {bindings[i].block->id, bindings[i].offset, bindings[i].offset + bindings[i].size};
        if (base->access[i] & ASVK_ACCESS_READ) r[nr++] = x;
        if (base->access[i] & ASVK_ACCESS_WRITE) w[nw++] = x;
        if (base->access[i] == ASVK_ACCESS_READ) inputs++;
        if (base->access[i] == ASVK_ACCESS_READ &&
            bind_range(&bindings[i]) / (bindings[i].half ? 8 : 16) > ctx->info.max_texel_buffer_elements)
            texel = false; /* too large for a texel view: this dispatch reads through storage buffers */
    }
    /* fp32 inputs read by imageLoad where the device's storage-image limit
     * holds them all; fp16 ones through RGBA16F uniform texel views */
    int variant = !texel ? ASVK_SHADER_SSBO
                  : ctx->sw.image_inputs && !f16_mask && inputs <= ctx->info.max_stage_storage_images ? ASVK_SHADER_IMAGE
                                                                                                      : ASVK_SHADER_TEXEL;
    if (s->dry) return asvk_kernel_want(ctx, k, variant, f16_mask);
    asvk_pipeline_variant *v;
    if ((st = asvk_kernel_variant(ctx, k, variant, f16_mask, &v))) return st;
    if ((st = track(s, r, nr, w, nw))) return st;

    VkWriteDescriptorSet writes[ASVK_MAX_BINDINGS];
    VkDescriptorBufferInfo infos[ASVK_MAX_BINDINGS];
    VkBufferView views[ASVK_MAX_BINDINGS];
    for (uint32_t i = 0; i < binding_count; i++) {
        writes[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                           .dstBinding = i,
                                           .descriptorCount = 1};
        writes[i].descriptorType = asvk_descriptor_type(v->refl.type[i]);
        if (v->refl.type[i] != ASVK_BIND_STORAGE) {
            if ((st = get_view(s, &bindings[i], &views[i]))) return st;
            writes[i].pTexelBufferView = &views[i];
        } else {
            infos[i] = (VkDescriptorBufferInfo){bindings[i].block->buffer, bindings[i].offset, bind_range(&bindings[i])};
            writes[i].pBufferInfo = &infos[i];
        }
    }
    if (s->bound != v->pipeline) {
        ctx->vk.vkCmdBindPipeline(s->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, v->pipeline);
        s->bound = v->pipeline;
    }
    if (ctx->sw.push_descriptors) {
        ctx->vk.vkCmdPushDescriptorSetKHR(s->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, v->layout, 0, binding_count, writes);
    } else {
        VkDescriptorSet set;
        if ((st = alloc_set(s, v->set_layout, &set))) return st;
        for (uint32_t i = 0; i < binding_count; i++) writes[i].dstSet = set;
        ctx->vk.vkUpdateDescriptorSets(ctx->device, binding_count, writes, 0, NULL);
        ctx->vk.vkCmdBindDescriptorSets(s->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, v->layout, 0, 1, &set, 0, NULL);
    }
    if (push_bytes) ctx->vk.vkCmdPushConstants(s->cmd, v->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes, push);
    ctx->vk.vkCmdDispatch(s->cmd, gx, gy, gz);
    s->stats.dispatches++;
    return ASVK_OK;
}

asvk_status asvk_stream_copy(asvk_stream *s, asvk_buffer dst, asvk_buffer src) {
    asvk_status st = recording(s);
    if (st) return st;
    if (!dst.block || !src.block || src.size != dst.size || src.size % 4)
        return asvk_error_set(ASVK_ERR_INTERNAL, "stream copy: buffers missing or of unequal or odd sizes");
    if (s->dry) return ASVK_OK;
    span r = {src.block->id, src.offset, src.offset + src.size}, w = {dst.block->id, dst.offset, dst.offset + dst.size};
    if ((st = track(s, &r, 1, &w, 1))) return st;
    VkBufferCopy region = {src.offset, dst.offset, src.size};
    s->ctx->vk.vkCmdCopyBuffer(s->cmd, src.block->buffer, dst.block->buffer, 1, &region);
    s->stats.transfers++;
    return ASVK_OK;
}

asvk_status asvk_stream_counters(asvk_stream *s, uint32_t n, asvk_buffer *out) {
    if (n == 0 || n > ASVK_STREAM_COUNTERS_MAX)
        return asvk_error_set(ASVK_ERR_INTERNAL, "stream counters: %u requested, 1 to %u allowed", n,
                              ASVK_STREAM_COUNTERS_MAX);
    if (!s->counters.block) {
        static const uint32_t zero[COUNTER_RING];
        asvk_status st = asvk_buffer_alloc(s->ctx, sizeof zero, &s->counters);
        if (!st) st = asvk_buffer_upload(s->ctx, s->counters, 0, zero, sizeof zero);
        if (st) {
            if (s->counters.block) asvk_buffer_free(s->ctx, &s->counters);
            return st;
        }
    }
    uint32_t run = (n + 3u) & ~3u;
    if (s->counter_next + run > COUNTER_RING) s->counter_next = 0;
    *out = asvk_buffer_sub(s->counters, (uint64_t)s->counter_next * 4u, (uint64_t)run * 4u);
    s->counter_next += run;
    return ASVK_OK;
}

asvk_status asvk_stream_counter(asvk_stream *s, asvk_buffer *out) { return asvk_stream_counters(s, 1, out); }

asvk_status asvk_stream_fill_u32(asvk_stream *s, asvk_buffer dst, uint32_t pattern) {
    asvk_status st = recording(s);
    if (st) return st;
    if (!dst.block || dst.size % 4 || dst.offset % 4)
        return asvk_error_set(ASVK_ERR_INTERNAL, "stream fill: buffer missing or not a multiple of 4 bytes");
    if (s->dry) return ASVK_OK;
    span w = {dst.block->id, dst.offset, dst.offset + dst.size};
    if ((st = track(s, NULL, 0, &w, 1))) return st;
    s->ctx->vk.vkCmdFillBuffer(s->cmd, dst.block->buffer, dst.offset, dst.size, pattern);
    s->stats.transfers++;
    return ASVK_OK;
}

asvk_status asvk_stream_timestamp(asvk_stream *s, uint32_t *index) {
    asvk_context *ctx = s->ctx;
    asvk_status st = recording(s);
    if (st) return st;
    if ((st = asvk_context_require(ctx, "timestamps"))) return st;
    if (s->dry) return asvk_error_set(ASVK_ERR_INTERNAL, "a timestamp in a stream's dry pass");
    uint32_t q = s->query_count % QUERIES_PER_POOL;
    if (q == 0) {
        void *p = realloc(s->qpools, (s->qpool_count + 1) * sizeof *s->qpools);
        if (!p) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
        s->qpools = p;
        VkQueryPoolCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                    .queryType = VK_QUERY_TYPE_TIMESTAMP,
                                    .queryCount = QUERIES_PER_POOL};
        ASVK_VK(ctx, ctx->vk.vkCreateQueryPool(ctx->device, &ci, NULL, &s->qpools[s->qpool_count]));
        ctx->vk.vkCmdResetQueryPool(s->cmd, s->qpools[s->qpool_count], 0, QUERIES_PER_POOL);
        s->qpool_count++;
    }
    ctx->vk.vkCmdWriteTimestamp(s->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, s->qpools[s->qpool_count - 1], q);
    *index = s->query_count++;
    s->stats.timestamps++;
    return ASVK_OK;
}

asvk_status asvk_stream_dry_begin(asvk_stream *s) {
    asvk_status st = recording(s);
    if (st) return st;
    if (s->dry) return asvk_error_set(ASVK_ERR_INTERNAL, "a stream's dry pass begun twice");
    s->dry = true, s->dry_counter = s->counter_next;
    return ASVK_OK;
}

asvk_status asvk_stream_dry_end(asvk_stream *s) {
    if (!s->dry) return asvk_error_set(ASVK_ERR_INTERNAL, "a stream's dry pass ended without beginning");
    s->dry = false, s->counter_next = s->dry_counter;
    return asvk_kernels_build_wanted(s->ctx);
}

asvk_status asvk_stream_end(asvk_stream *s) {
    if (s->ended) return ASVK_OK;
    barrier(s, STAGES, WRITES, VK_PIPELINE_STAGE_HOST_BIT | STAGES, VK_ACCESS_HOST_READ_BIT | ALL);
    ASVK_VK(s->ctx, s->ctx->vk.vkEndCommandBuffer(s->cmd));
    s->ended = true;
    return ASVK_OK;
}

asvk_status asvk_stream_submit(asvk_stream *s) {
    asvk_context *ctx = s->ctx;
    asvk_status st = asvk_stream_end(s);
    if (st) return st;
    if (s->in_flight && (st = asvk_stream_wait(s))) return st;
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &s->cmd};
    ASVK_VK(ctx, ctx->vk.vkQueueSubmit(ctx->queue, 1, &si, s->fence));
    s->in_flight = true;
    s->has_results = false;
    ctx->maybe_busy = true;
    s->stats.submits++;
    return ASVK_OK;
}

asvk_status asvk_stream_wait(asvk_stream *s) {
    asvk_context *ctx = s->ctx;
    if (!s->in_flight) return ASVK_OK;
    ASVK_VK(ctx, ctx->vk.vkWaitForFences(ctx->device, 1, &s->fence, VK_TRUE, UINT64_MAX));
    ASVK_VK(ctx, ctx->vk.vkResetFences(ctx->device, 1, &s->fence));
    s->in_flight = false;
    if (s->query_count) {
        uint64_t *res = realloc(s->results, s->query_count * sizeof *res);
        if (!res) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
        s->results = res;
        for (uint32_t p = 0; p < s->qpool_count; p++) {
            uint32_t n = s->query_count - p * QUERIES_PER_POOL;
            if (n > QUERIES_PER_POOL) n = QUERIES_PER_POOL;
            ASVK_VK(ctx, ctx->vk.vkGetQueryPoolResults(ctx->device, s->qpools[p], 0, n, n * sizeof *res,
                                                       res + p * QUERIES_PER_POOL, sizeof *res,
                                                       VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT));
        }
        s->has_results = true;
    }
    return ASVK_OK;
}

asvk_status asvk_stream_poll(asvk_stream *s, bool *done) {
    *done = true;
    if (!s->in_flight) return ASVK_OK;
    VkResult r = s->ctx->vk.vkGetFenceStatus(s->ctx->device, s->fence);
    if (r == VK_NOT_READY) {
        *done = false;
        return ASVK_OK;
    }
    if (r != VK_SUCCESS) return asvk_vk_fail(s->ctx, r, "vkGetFenceStatus");
    return asvk_stream_wait(s);
}

asvk_status asvk_stream_run(asvk_stream *s) {
    asvk_status st = asvk_stream_submit(s);
    return st ? st : asvk_stream_wait(s);
}

asvk_status asvk_stream_elapsed_ns(asvk_stream *s, uint32_t from, uint32_t to, double *ns) {
    if (!s->has_results || from >= s->query_count || to >= s->query_count)
        return asvk_error_set(ASVK_ERR_INTERNAL, "timestamps %u..%u are not available (run and wait first)", from, to);
    uint32_t bits = s->ctx->info.timestamp_valid_bits;
    uint64_t mask = bits >= 64 ? ~0ull : (1ull << bits) - 1;
    uint64_t ticks = (s->results[to] - s->results[from]) & mask;
    *ns = (double)ticks * s->ctx->info.timestamp_period_ns;
    return ASVK_OK;
}

void asvk_stream_stats_get(const asvk_stream *s, asvk_stream_stats *out) { *out = s->stats; }

asvk_status asvk_stream_dispatch_linear(asvk_stream *s, asvk_kernel *k, const asvk_buffer *bindings,
                                        uint32_t binding_count, const void *push, uint32_t push_bytes,
                                        uint64_t groups) {
    uint64_t maxx = s->ctx->info.max_workgroup_count[0];
    uint64_t gx = groups < maxx ? groups : maxx;
    uint64_t gy = gx ? (groups + gx - 1) / gx : 0;
    if (gy > s->ctx->info.max_workgroup_count[1])
        return asvk_error_set(ASVK_ERR_LIMIT, "kernel %s: %llu workgroups exceed what %s can dispatch", k->name,
                              (unsigned long long)groups, s->ctx->info.name);
    return asvk_stream_dispatch(s, k, bindings, binding_count, push, push_bytes, (uint32_t)gx, (uint32_t)gy, 1);
}

asvk_context *asvk_stream_context(const asvk_stream *s) { return s->ctx; }
