/* Engine-private structures shared by the engine's .c files. */
#ifndef ASVK_ENGINE_INTERNAL_H
#define ASVK_ENGINE_INTERNAL_H

#include <time.h>
#include <volk.h>

#include "engine/device.h"
#include "engine/kernel.h"
#include "engine/memory.h"
#include "engine/stream.h"
#include "shaders/registry.h"

#define ASVK_MAX_BINDINGS 24 /* the mixture kernels use 18 */
#define ASVK_MAX_SPEC 24

typedef struct { uint64_t offset, size; } asvk_range;

struct asvk_block {
    VkDeviceMemory memory;
    VkBuffer buffer; /* one buffer over the whole block: every sub-range is bindable */
    uint64_t size;
    uint8_t *mapped; /* non-NULL when the memory is host-visible and coherent */
    uint32_t id;
    bool dedicated;  /* made for one large allocation; released when it is freed */
    asvk_range *free_list; /* sorted by offset, coalesced */
    uint32_t free_count, free_cap;
    uint32_t live;   /* allocations in use */
};

/* TEXEL: uniform texel buffer; IMAGE: storage texel buffer, read only (the
 * imageLoad variant); STORAGE: storage buffer */
typedef enum { ASVK_BIND_TEXEL, ASVK_BIND_STORAGE, ASVK_BIND_IMAGE } asvk_bind_type;
enum { ASVK_ACCESS_READ = 1, ASVK_ACCESS_WRITE = 2 };

typedef struct {
    uint32_t binding_count;
    asvk_bind_type type[ASVK_MAX_BINDINGS];
    uint8_t access[ASVK_MAX_BINDINGS];
    uint32_t push_size;
    uint32_t spec_count; /* SpecIds are 0..spec_count-1 */
} asvk_reflection;

typedef struct {
    bool ready;
    bool wanted; /* on the context's list of pipelines to build (asvk_kernel_want) */
    asvk_reflection refl;
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
    VkPipeline pipeline;
} asvk_pipeline_variant;

typedef struct {
    uint32_t mask; /* F16_MASK: bindings holding fp16 */
    int variant;   /* ASVK_SHADER_TEXEL or _SSBO: its fp16 form is built */
    asvk_pipeline_variant v;
} asvk_kernel_f16;

struct asvk_kernel {
    char name[64];
    uint32_t spec[ASVK_MAX_SPEC];
    uint32_t spec_count;
    uint64_t hash;
    const void *code; /* asvk_shader_code */
    /* fp32 forms by asvk_shader_variant: TEXEL, SSBO and IMAGE (the _F16
     * slots stay empty: fp16 forms are built per mask, below) */
    asvk_pipeline_variant variant[ASVK_SHADER_VARIANTS];
    asvk_kernel_f16 *f16;             /* fp16 forms, one per mask met */
    uint32_t f16_count, f16_cap;
};

struct asvk_context {
    void *loader; /* dlopen handle of libvulkan */
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    VkPhysicalDevice physical;
    VkDevice device;
    struct VolkDeviceTable vk;
    VkQueue queue;
    uint32_t queue_family;
    asvk_device_info info;
    asvk_switches sw;
    asvk_log_fn log;
    void *log_user;
    uint32_t validation_count;

    /* memory */
    uint32_t memory_type;  /* for tensors */
    uint32_t staging_type; /* host-visible, for the staging path */
    uint64_t budget;       /* bytes the engine may take from the device */
    uint64_t reserved;     /* bytes held in blocks */
    uint64_t used, peak_used;
    uint32_t allocate_calls;
    struct asvk_block **blocks;
    uint32_t block_count, block_cap, next_block_id;
    uint64_t alignment;
    VkBuffer staging;
    VkDeviceMemory staging_memory;
    uint8_t *staging_mapped;
    uint64_t staging_size;
    VkCommandPool transfer_pool;
    VkFence transfer_fence;
    bool maybe_busy; /* work was submitted and not yet waited for */
    bool poison;     /* ASVK_POISON: new buffers are filled with NaN */

    /* kernels */
    VkPipelineCache pipeline_cache;
    bool cache_dirty;
    char cache_path[1024];
    struct asvk_kernel **kernels;
    uint32_t kernel_count, kernel_cap;
    uint32_t pipelines_created;
    uint64_t pipeline_ns; /* spent creating shader modules and pipelines */
    struct asvk_kernel_want *wants; /* pipelines a stream's dry pass asked for, built together */
    uint32_t want_count, want_cap;
};

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t asvk_mono_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Turns a failed VkResult into a status with a message naming the call and device. */
asvk_status asvk_vk_fail(const asvk_context *ctx, VkResult r, const char *call);
#define ASVK_VK(ctx, call)                                                       \
    do {                                                                         \
        VkResult asvk_r_ = (call);                                               \
        if (asvk_r_ != VK_SUCCESS) return asvk_vk_fail((ctx), asvk_r_, #call);   \
    } while (0)

const char *asvk_vk_result_name(VkResult r);
void asvk_log(const asvk_context *ctx, asvk_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* loader.c */
asvk_status asvk_loader_open(void **handle);
void asvk_loader_close(void *handle);
asvk_status asvk_instance_create(bool validation, asvk_context *ctx_for_messages, VkInstance *out,
                                 VkDebugUtilsMessengerEXT *messenger);

/* probe.c */
void asvk_probe(VkPhysicalDevice pd, uint32_t index, uint32_t queue_family, asvk_device_info *info);
bool asvk_pick_queue_family(VkPhysicalDevice pd, uint32_t *family);

/* quirks.c */
void asvk_switches_resolve(const asvk_device_info *info, asvk_switches *sw, asvk_context *ctx);

/* reflect.c */
asvk_status asvk_reflect(const uint32_t *words, size_t count, asvk_reflection *out);

/* memory.c */
void asvk_memory_destroy_all(asvk_context *ctx);
asvk_status asvk_memory_init(asvk_context *ctx);

/* pipeline_cache.c */
void asvk_pipeline_cache_open(asvk_context *ctx);
void asvk_pipeline_cache_save(asvk_context *ctx);

/* kernel.c */
void asvk_kernels_destroy_all(asvk_context *ctx);
/* The pipeline of variant ASVK_SHADER_TEXEL, _SSBO or _IMAGE; with a nonzero
 * f16_mask (bit b: binding b holds fp16) the fp16-storage form of TEXEL or SSBO. */
asvk_status asvk_kernel_variant(asvk_context *ctx, struct asvk_kernel *k, int variant, uint32_t f16_mask,
                                asvk_pipeline_variant **out);
/* Puts that pipeline on the context's list instead of building it (nothing
 * when it is built or listed already); asvk_kernels_build_wanted builds the
 * list, on as many threads as the host has cores (up to 8). */
asvk_status asvk_kernel_want(asvk_context *ctx, struct asvk_kernel *k, int variant, uint32_t f16_mask);
asvk_status asvk_kernels_build_wanted(asvk_context *ctx);
VkDescriptorType asvk_descriptor_type(asvk_bind_type t);

#endif
