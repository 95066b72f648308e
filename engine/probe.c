/* Probing a physical device: properties, features, limits, memory. Optional
 * features are probed, never assumed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

static const char *vendor_name(uint32_t id) {
    switch (id) {
    case 0x1002: return "AMD";
    case 0x10DE: return "NVIDIA";
    case 0x8086: return "Intel";
    case 0x13B5: return "ARM";
    case 0x5143: return "Qualcomm";
    case 0x1010: return "ImgTec";
    case 0x106B: return "Apple";
    case 0x144D: return "Samsung";
    case 0x19E5: return "Huawei";
    case 0x10005: return "Mesa";
    case 0x1AE0: return "Google";
    default: return "unknown";
    }
}

const char *asvk_device_type_name(asvk_device_type t) {
    switch (t) {
    case ASVK_DEVICE_CPU: return "cpu";
    case ASVK_DEVICE_INTEGRATED: return "integrated";
    case ASVK_DEVICE_DISCRETE: return "discrete";
    case ASVK_DEVICE_VIRTUAL: return "virtual";
    default: return "other";
    }
}

/* Vendors encode driverVersion differently; this is what vendors' tools print. */
static void driver_version_string(uint32_t vendor, uint32_t v, char *out, size_t n) {
    if (vendor == 0x10DE)
        snprintf(out, n, "%u.%u.%u.%u", v >> 22, (v >> 14) & 0xff, (v >> 6) & 0xff, v & 0x3f);
    else
        snprintf(out, n, "%u.%u.%u", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v),
                 VK_API_VERSION_PATCH(v));
}

static bool has_ext(VkPhysicalDevice pd, const char *name) {
    uint32_t n = 0;
    if (vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL) != VK_SUCCESS) return false;
    VkExtensionProperties *p = calloc(n ? n : 1, sizeof *p);
    bool found = false;
    if (p && vkEnumerateDeviceExtensionProperties(pd, NULL, &n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n; i++) found |= strcmp(p[i].extensionName, name) == 0;
    free(p);
    return found;
}

/* A queue family that computes; timestamps and no graphics are preferred
 * (a compute-only family is the async-compute queue on discrete GPUs). */
bool asvk_pick_queue_family(VkPhysicalDevice pd, uint32_t *family) {
    uint32_t n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
    VkQueueFamilyProperties *q = calloc(n ? n : 1, sizeof *q);
    if (!q) return false;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, q);
    int best = -1, best_score = -1;
    for (uint32_t i = 0; i < n; i++) {
        if (!(q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) || q[i].queueCount == 0) continue;
        int score = (q[i].timestampValidBits ? 2 : 0) + (q[i].queueFlags & VK_QUEUE_GRAPHICS_BIT ? 0 : 1);
        if (score > best_score) best = (int)i, best_score = score;
    }
    free(q);
    if (best < 0) return false;
    *family = (uint32_t)best;
    return true;
}

void asvk_probe(VkPhysicalDevice pd, uint32_t index, uint32_t queue_family, asvk_device_info *info) {
    memset(info, 0, sizeof *info);
    info->index = index;

    VkPhysicalDeviceProperties base;
    vkGetPhysicalDeviceProperties(pd, &base);
    bool v12 = base.apiVersion >= VK_API_VERSION_1_2;

    VkPhysicalDeviceDriverProperties driver = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    VkPhysicalDeviceSubgroupProperties subgroup = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceIDProperties id = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES};
    subgroup.pNext = &id;
    bool has_driver_props = v12 || has_ext(pd, VK_KHR_DRIVER_PROPERTIES_EXTENSION_NAME);
    if (has_driver_props) id.pNext = &driver;
    VkPhysicalDeviceProperties2 props = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                         .pNext = &subgroup};
    vkGetPhysicalDeviceProperties2(pd, &props);

    snprintf(info->name, sizeof info->name, "%s", base.deviceName);
    info->vendor_id = base.vendorID;
    info->device_id = base.deviceID;
    snprintf(info->vendor, sizeof info->vendor, "%s", vendor_name(base.vendorID));
    switch (base.deviceType) {
    case VK_PHYSICAL_DEVICE_TYPE_CPU: info->type = ASVK_DEVICE_CPU; break;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: info->type = ASVK_DEVICE_INTEGRATED; break;
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: info->type = ASVK_DEVICE_DISCRETE; break;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: info->type = ASVK_DEVICE_VIRTUAL; break;
    default: info->type = ASVK_DEVICE_OTHER;
    }
    info->driver_version = base.driverVersion;
    driver_version_string(base.vendorID, base.driverVersion, info->driver_version_str,
                          sizeof info->driver_version_str);
    if (has_driver_props && driver.driverName[0])
        snprintf(info->driver, sizeof info->driver, "%s %s", driver.driverName, driver.driverInfo);
    else
        snprintf(info->driver, sizeof info->driver, "%s", info->driver_version_str);
    info->api_version = base.apiVersion;
    memcpy(info->uuid, id.deviceUUID, 16);

    info->subgroup_size = subgroup.subgroupSize;
    info->subgroup_arithmetic = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                                (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);

    VkPhysicalDevice16BitStorageFeatures s16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
    VkPhysicalDeviceShaderFloat16Int8Features f16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
    bool has_f16 = v12 || has_ext(pd, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME);
    if (has_f16) s16.pNext = &f16;
    VkPhysicalDeviceFeatures2 feats = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &s16};
    vkGetPhysicalDeviceFeatures2(pd, &feats);
    info->storage16 = s16.storageBuffer16BitAccess;
    info->fp16_arithmetic = has_f16 && f16.shaderFloat16;
    info->push_descriptors = has_ext(pd, VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME);
    info->memory_budget_ext = has_ext(pd, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);

    uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, NULL);
    VkQueueFamilyProperties *q = calloc(nq ? nq : 1, sizeof *q);
    if (q) {
        vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, q);
        if (queue_family < nq) info->timestamp_valid_bits = q[queue_family].timestampValidBits;
        free(q);
    }
    info->timestamps = info->timestamp_valid_bits > 0 && base.limits.timestampPeriod > 0;
    info->timestamp_period_ns = base.limits.timestampPeriod;

    const VkPhysicalDeviceLimits *l = &base.limits;
    info->max_storage_buffer_range = l->maxStorageBufferRange;
    info->max_texel_buffer_elements = l->maxTexelBufferElements;
    info->max_shared_memory = l->maxComputeSharedMemorySize;
    info->max_workgroup_invocations = l->maxComputeWorkGroupInvocations;
    for (int i = 0; i < 3; i++) {
        info->max_workgroup_size[i] = l->maxComputeWorkGroupSize[i];
        info->max_workgroup_count[i] = l->maxComputeWorkGroupCount[i];
    }
    info->max_push_constants = l->maxPushConstantsSize;
    info->max_stage_storage_buffers = l->maxPerStageDescriptorStorageBuffers;
    info->max_stage_texel_buffers = l->maxPerStageDescriptorSampledImages;
    info->max_stage_storage_images = l->maxPerStageDescriptorStorageImages;
    info->min_storage_offset_alignment = (uint32_t)l->minStorageBufferOffsetAlignment;
    info->min_texel_offset_alignment = (uint32_t)l->minTexelBufferOffsetAlignment;

    VkPhysicalDeviceMaintenance3Properties m3 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &m3};
    vkGetPhysicalDeviceProperties2(pd, &p2);
    info->max_allocation_size = m3.maxMemoryAllocationSize;

    /* The heap of the first device-local type that storage buffers can use
     * (the engine makes the same choice in memory.c). */
    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(pd, &mp);
    for (uint32_t i = 0; i < mp.memoryTypeCount; i++) {
        VkMemoryPropertyFlags f = mp.memoryTypes[i].propertyFlags;
        if (!(f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)) continue;
        info->device_memory_bytes = mp.memoryHeaps[mp.memoryTypes[i].heapIndex].size;
        info->unified_memory = (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) && (f & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
        break;
    }
}
