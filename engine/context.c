/* The engine context: instance, chosen device, queue, and what hangs off them. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

const char *asvk_vk_result_name(VkResult r) {
    switch (r) {
#define C(x) case x: return #x;
        C(VK_SUCCESS) C(VK_NOT_READY) C(VK_TIMEOUT) C(VK_INCOMPLETE)
        C(VK_ERROR_OUT_OF_HOST_MEMORY) C(VK_ERROR_OUT_OF_DEVICE_MEMORY)
        C(VK_ERROR_INITIALIZATION_FAILED) C(VK_ERROR_DEVICE_LOST) C(VK_ERROR_MEMORY_MAP_FAILED)
        C(VK_ERROR_LAYER_NOT_PRESENT) C(VK_ERROR_EXTENSION_NOT_PRESENT)
        C(VK_ERROR_FEATURE_NOT_PRESENT) C(VK_ERROR_INCOMPATIBLE_DRIVER)
        C(VK_ERROR_TOO_MANY_OBJECTS) C(VK_ERROR_FORMAT_NOT_SUPPORTED)
        C(VK_ERROR_FRAGMENTED_POOL) C(VK_ERROR_OUT_OF_POOL_MEMORY) C(VK_ERROR_UNKNOWN)
#undef C
    default: return "VkResult(unknown)";
    }
}

asvk_status asvk_vk_fail(const asvk_context *ctx, VkResult r, const char *call) {
    const char *dev = ctx ? ctx->info.name : "the device";
    if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
        return asvk_error_set(ASVK_ERR_OOM, "out of %s memory on %s (%s); lower --batch or the model size",
                              r == VK_ERROR_OUT_OF_DEVICE_MEMORY ? "device" : "host", dev, call);
    if (r == VK_ERROR_DEVICE_LOST)
        return asvk_error_set(ASVK_ERR_VULKAN, "the device %s was lost during %s; a driver or kernel "
                              "fault (try again, or another --device)", dev, call);
    return asvk_error_set(ASVK_ERR_VULKAN, "%s failed on %s: %s", call, dev, asvk_vk_result_name(r));
}

void asvk_log(const asvk_context *ctx, asvk_log_level level, const char *fmt, ...) {
    if (!ctx || !ctx->log) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ctx->log(ctx->log_user, level, buf);
}

static bool env_true(const char *name) {
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0 && strcmp(v, "false") != 0;
}

/* Enumerates physical devices of an instance and probes each. */
static asvk_status enumerate(VkInstance inst, VkPhysicalDevice **pds, asvk_device_info **infos,
                             uint32_t *count) {
    uint32_t n = 0;
    VkResult r = vkEnumeratePhysicalDevices(inst, &n, NULL);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE)
        return asvk_error_set(ASVK_ERR_VULKAN, "vkEnumeratePhysicalDevices failed: %s", asvk_vk_result_name(r));
    if (n == 0)
        return asvk_error_set(ASVK_ERR_NO_DEVICE,
                              "no Vulkan device found; install a GPU driver, or mesa-vulkan-drivers for "
                              "the CPU device lavapipe (check with 'vulkaninfo --summary')");
    *pds = calloc(n, sizeof **pds);
    *infos = calloc(n, sizeof **infos);
    if (!*pds || !*infos) return asvk_error_set(ASVK_ERR_OOM, "out of host memory listing devices");
    vkEnumeratePhysicalDevices(inst, &n, *pds);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t family = 0;
        asvk_pick_queue_family((*pds)[i], &family);
        asvk_probe((*pds)[i], i, family, &(*infos)[i]);
    }
    *count = n;
    return ASVK_OK;
}

asvk_status asvk_devices_list(asvk_device_info **out, uint32_t *count) {
    void *loader = NULL;
    asvk_status st = asvk_loader_open(&loader);
    if (st) return st;
    VkInstance inst;
    VkDebugUtilsMessengerEXT m;
    st = asvk_instance_create(false, NULL, &inst, &m);
    if (st) { asvk_loader_close(loader); return st; }
    VkPhysicalDevice *pds = NULL;
    st = enumerate(inst, &pds, out, count);
    free(pds);
    vkDestroyInstance(inst, NULL);
    asvk_loader_close(loader);
    return st;
}

static int type_rank(asvk_device_type t) {
    switch (t) {
    case ASVK_DEVICE_DISCRETE: return 0;
    case ASVK_DEVICE_INTEGRATED: return 1;
    case ASVK_DEVICE_VIRTUAL: return 2;
    case ASVK_DEVICE_CPU: return 3;
    default: return 4;
    }
}

static bool contains_nocase(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i])) i++;
        if (i == n) return true;
    }
    return n == 0;
}

static asvk_status select_device(const asvk_device_info *infos, uint32_t n, const char *spec,
                                 const char *source, uint32_t *chosen) {
    if (!spec || !*spec) {
        uint32_t best = 0;
        for (uint32_t i = 1; i < n; i++)
            if (type_rank(infos[i].type) < type_rank(infos[best].type)) best = i;
        *chosen = best;
        return ASVK_OK;
    }
    char list[1024] = "";
    for (uint32_t i = 0; i < n; i++) {
        size_t len = strlen(list);
        snprintf(list + len, sizeof list - len, "%s%u: %s", i ? ", " : "", i, infos[i].name);
    }
    bool digits = true;
    for (const char *p = spec; *p; p++) digits &= isdigit((unsigned char)*p) != 0;
    if (digits) {
        unsigned long idx = strtoul(spec, NULL, 10);
        if (idx >= n)
            return asvk_error_set(ASVK_ERR_USAGE,
                                  "no Vulkan device number %s (from %s): there %s %u (%s); see 'asvk devices'",
                                  spec, source, n == 1 ? "is" : "are", n, list);
        *chosen = (uint32_t)idx;
        return ASVK_OK;
    }
    for (uint32_t i = 0; i < n; i++)
        if (contains_nocase(infos[i].name, spec)) { *chosen = i; return ASVK_OK; }
    return asvk_error_set(ASVK_ERR_USAGE, "no Vulkan device name contains '%s' (from %s); devices: %s; "
                          "see 'asvk devices'", spec, source, list);
}

static asvk_status create_device(asvk_context *ctx) {
    const char *exts[8];
    uint32_t next = 0;
    if (ctx->sw.push_descriptors) exts[next++] = VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME;
    bool v12 = ctx->info.api_version >= VK_API_VERSION_1_2;
    if (ctx->sw.fp16 && !v12) exts[next++] = VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME;
    uint32_t n = 0;
    vkEnumerateDeviceExtensionProperties(ctx->physical, NULL, &n, NULL);
    VkExtensionProperties *p = calloc(n ? n : 1, sizeof *p);
    if (!p) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    vkEnumerateDeviceExtensionProperties(ctx->physical, NULL, &n, p);
    for (uint32_t i = 0; i < n; i++) {
        /* The spec requires enabling portability_subset where it is offered (MoltenVK). */
        if (strcmp(p[i].extensionName, "VK_KHR_portability_subset") == 0) exts[next++] = "VK_KHR_portability_subset";
        if (strcmp(p[i].extensionName, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME) == 0)
            exts[next++] = VK_EXT_MEMORY_BUDGET_EXTENSION_NAME;
    }
    free(p);

    VkPhysicalDeviceShaderFloat16Int8Features f16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES,
        .shaderFloat16 = ctx->sw.fp16};
    VkPhysicalDevice16BitStorageFeatures s16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
                                                .pNext = ctx->sw.fp16 ? &f16 : NULL,
                                                .storageBuffer16BitAccess = ctx->sw.fp16};
    VkPhysicalDeviceFeatures2 feats = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &s16};
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = ctx->queue_family,
                                   .queueCount = 1,
                                   .pQueuePriorities = &prio};
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                              .pNext = &feats,
                              .queueCreateInfoCount = 1,
                              .pQueueCreateInfos = &qci,
                              .enabledExtensionCount = next,
                              .ppEnabledExtensionNames = exts};
    ASVK_VK(ctx, vkCreateDevice(ctx->physical, &dci, NULL, &ctx->device));
    volkLoadDeviceTable(&ctx->vk, ctx->device);
    ctx->vk.vkGetDeviceQueue(ctx->device, ctx->queue_family, 0, &ctx->queue);
    return ASVK_OK;
}

asvk_status asvk_context_create(const asvk_context_options *opt, asvk_context **out) {
    asvk_context_options defaults = {0};
    if (!opt) opt = &defaults;
    *out = NULL;
    asvk_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    ctx->log = opt->log;
    ctx->log_user = opt->log_user;
    bool validation = opt->validation || env_true("ASVK_VALIDATION");

    asvk_status st = asvk_loader_open(&ctx->loader);
    if (!st) st = asvk_instance_create(validation, ctx, &ctx->instance, &ctx->messenger);
    VkPhysicalDevice *pds = NULL;
    asvk_device_info *infos = NULL;
    uint32_t n = 0, chosen = 0;
    if (!st) st = enumerate(ctx->instance, &pds, &infos, &n);
    if (!st) {
        const char *spec = opt->device, *source = "--device";
        if (!spec || !*spec) spec = getenv("ASVK_DEVICE"), source = "ASVK_DEVICE";
        st = select_device(infos, n, spec, source, &chosen);
    }
    if (!st) {
        ctx->physical = pds[chosen];
        ctx->info = infos[chosen];
        if (ctx->info.api_version < VK_API_VERSION_1_1)
            st = asvk_error_set(ASVK_ERR_FEATURE, "%s supports only Vulkan %u.%u; asvk needs 1.1 or newer "
                                "(update the driver or pick another --device)", ctx->info.name,
                                VK_API_VERSION_MAJOR(ctx->info.api_version), VK_API_VERSION_MINOR(ctx->info.api_version));
        else if (!asvk_pick_queue_family(ctx->physical, &ctx->queue_family))
            st = asvk_error_set(ASVK_ERR_FEATURE, "%s has no compute queue; pick another --device", ctx->info.name);
    }
    free(pds);
    free(infos);
    if (!st) {
        asvk_switches_resolve(&ctx->info, &ctx->sw, ctx);
        st = create_device(ctx);
    }
    if (!st) st = asvk_memory_init(ctx);
    if (!st) asvk_pipeline_cache_open(ctx);
    if (st) {
        asvk_context_destroy(ctx);
        return st;
    }
    *out = ctx;
    return ASVK_OK;
}

uint32_t asvk_context_destroy(asvk_context *ctx) {
    if (!ctx) return 0;
    if (ctx->device) {
        ctx->vk.vkDeviceWaitIdle(ctx->device);
        asvk_kernels_destroy_all(ctx);
        asvk_pipeline_cache_save(ctx);
        if (ctx->pipeline_cache) ctx->vk.vkDestroyPipelineCache(ctx->device, ctx->pipeline_cache, NULL);
        asvk_memory_destroy_all(ctx);
        ctx->vk.vkDestroyDevice(ctx->device, NULL);
    }
    if (ctx->messenger) vkDestroyDebugUtilsMessengerEXT(ctx->instance, ctx->messenger, NULL);
    if (ctx->instance) vkDestroyInstance(ctx->instance, NULL);
    asvk_loader_close(ctx->loader);
    uint32_t n = ctx->validation_count;
    free(ctx);
    return n;
}

const asvk_device_info *asvk_context_device(const asvk_context *ctx) { return &ctx->info; }
const asvk_switches *asvk_context_switches(const asvk_context *ctx) { return &ctx->sw; }
uint32_t asvk_context_validation_count(const asvk_context *ctx) { return ctx->validation_count; }

asvk_status asvk_context_require(const asvk_context *ctx, const char *feature) {
    bool has = false, capable = false;
    const char *what = feature, *fix = "";
    if (strcmp(feature, "fp16") == 0) {
        capable = ctx->info.storage16 && ctx->info.fp16_arithmetic;
        has = ctx->sw.fp16;
        what = "16-bit storage and fp16 arithmetic";
        fix = "run in fp32 (drop --fp16)";
    } else if (strcmp(feature, "subgroup") == 0) {
        capable = ctx->info.subgroup_arithmetic;
        has = ctx->sw.subgroup;
        what = "subgroup arithmetic in compute shaders";
        fix = "the portable kernels are used without it";
    } else if (strcmp(feature, "timestamps") == 0) {
        capable = ctx->info.timestamps;
        has = ctx->sw.timestamps;
        what = "timestamp queries on its compute queue";
        fix = "timing needs another --device";
    } else if (strcmp(feature, "push_descriptors") == 0) {
        capable = ctx->info.push_descriptors;
        has = ctx->sw.push_descriptors;
        what = "VK_KHR_push_descriptor";
        fix = "descriptor sets are used instead";
    } else {
        return asvk_error_set(ASVK_ERR_INTERNAL, "unknown feature '%s' asked of the device", feature);
    }
    if (has) return ASVK_OK;
    if (capable)
        return asvk_error_set(ASVK_ERR_FEATURE, "%s has %s but it is switched off (ASVK_DISABLE or the "
                              "quirk table); %s", ctx->info.name, what, fix);
    return asvk_error_set(ASVK_ERR_FEATURE, "%s lacks %s; %s", ctx->info.name, what, fix);
}

asvk_status asvk_context_wait_idle(asvk_context *ctx) {
    ASVK_VK(ctx, ctx->vk.vkQueueWaitIdle(ctx->queue));
    ctx->maybe_busy = false;
    return ASVK_OK;
}
