/* Vulkan devices: listing, probing, and the engine context bound to one device. */
#ifndef ASVK_ENGINE_DEVICE_H
#define ASVK_ENGINE_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/status.h"

typedef enum {
    ASVK_DEVICE_CPU,        /* lavapipe, SwiftShader */
    ASVK_DEVICE_INTEGRATED, /* laptop and mobile GPUs */
    ASVK_DEVICE_DISCRETE,
    ASVK_DEVICE_VIRTUAL,
    ASVK_DEVICE_OTHER
} asvk_device_type;

/* What the engine probed on a device; nothing optional is assumed. */
typedef struct asvk_device_info {
    uint32_t index; /* position in the loader's enumeration */
    char name[256];
    char vendor[32];
    uint32_t vendor_id, device_id;
    asvk_device_type type;
    char driver[520];         /* driver name and info, e.g. "llvmpipe Mesa 22.3.6 (LLVM 15.0.6)" */
    uint32_t driver_version;  /* raw VkPhysicalDeviceProperties::driverVersion */
    char driver_version_str[32];
    uint32_t api_version;
    uint8_t uuid[16];
    /* features */
    uint32_t subgroup_size;
    bool subgroup_arithmetic; /* subgroupAdd & co. in compute shaders */
    bool storage16;           /* storageBuffer16BitAccess */
    bool fp16_arithmetic;     /* shaderFloat16 */
    bool push_descriptors;    /* VK_KHR_push_descriptor */
    bool timestamps;          /* timestamp queries on the compute queue */
    bool memory_budget_ext;   /* VK_EXT_memory_budget */
    double timestamp_period_ns;
    uint32_t timestamp_valid_bits;
    /* limits */
    uint64_t max_storage_buffer_range;
    uint64_t max_texel_buffer_elements;
    uint64_t max_allocation_size;
    uint32_t max_shared_memory;
    uint32_t max_workgroup_invocations;
    uint32_t max_workgroup_size[3];
    uint32_t max_workgroup_count[3];
    uint32_t max_push_constants;
    uint32_t max_stage_storage_buffers; /* maxPerStageDescriptorStorageBuffers */
    uint32_t max_stage_texel_buffers;   /* maxPerStageDescriptorSampledImages (uniform texel buffers count there) */
    uint32_t max_stage_storage_images;  /* maxPerStageDescriptorStorageImages (storage texel buffers count there) */
    uint32_t min_storage_offset_alignment;
    uint32_t min_texel_offset_alignment;
    /* memory */
    uint64_t device_memory_bytes; /* the heap the engine allocates tensors from */
    bool unified_memory;          /* that memory is host-visible and coherent */
} asvk_device_info;

const char *asvk_device_type_name(asvk_device_type t);

/* Path switches, from device capabilities, the quirk table (engine/quirks.c)
 * and the ASVK_DISABLE / ASVK_ENABLE environment lists. */
typedef struct asvk_switches {
    bool push_descriptors; /* else descriptor sets from pools */
    bool texel_inputs;     /* read-only tensors as uniform texel buffers */
    bool image_inputs;     /* with texel_inputs: fp32 ones as storage texel buffers read by imageLoad */
    bool host_mapped;      /* upload/download by memcpy into device memory, else staging */
    bool fp16;             /* 16-bit storage + arithmetic may be used */
    bool subgroup;         /* subgroup arithmetic may be used */
    bool timestamps;       /* timestamp queries may be used */
} asvk_switches;

typedef enum { ASVK_LOG_INFO, ASVK_LOG_WARNING, ASVK_LOG_VALIDATION } asvk_log_level;
typedef void (*asvk_log_fn)(void *user, asvk_log_level level, const char *message);

typedef struct asvk_context_options {
    const char *device;   /* index or name substring; NULL: $ASVK_DEVICE, else the first GPU, else any */
    bool validation;      /* enable VK_LAYER_KHRONOS_validation (also $ASVK_VALIDATION=1) */
    asvk_log_fn log;      /* warnings and validation messages; NULL: kept silent */
    void *log_user;
} asvk_context_options;

typedef struct asvk_context asvk_context;

/* Lists the devices the loader sees. *out is malloc'd; free() it. */
asvk_status asvk_devices_list(asvk_device_info **out, uint32_t *count);

asvk_status asvk_context_create(const asvk_context_options *opt, asvk_context **out);
/* Returns the number of validation messages over the context's whole life,
 * teardown included (where leaks are reported). */
uint32_t asvk_context_destroy(asvk_context *ctx);

const asvk_device_info *asvk_context_device(const asvk_context *ctx);
const asvk_switches *asvk_context_switches(const asvk_context *ctx);

/* Number of validation-layer messages seen so far (warnings and errors). */
uint32_t asvk_context_validation_count(const asvk_context *ctx);

/* Fails with ASVK_ERR_FEATURE and a clear message when a feature is missing
 * or switched off: "fp16", "subgroup", "timestamps", "push_descriptors". */
asvk_status asvk_context_require(const asvk_context *ctx, const char *feature);

/* Waits until the device has finished everything submitted. */
asvk_status asvk_context_wait_idle(asvk_context *ctx);

#endif
