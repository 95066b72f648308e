/* Opening the Vulkan loader at run time and creating the instance.
 * The loader is dlopen'ed (not linked) so that a machine without it gets a
 * clear message; ASVK_VULKAN_LIBRARY names another loader library. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

/* ASVK_KEEP_LOADED=A.so[:B.so]: libraries (a driver) opened with
 * RTLD_NODELETE, so they stay mapped after the loader unloads them at
 * vkDestroyInstance. For leak checking: LeakSanitizer runs at exit, and the
 * memory an unloaded driver (lavapipe's LLVM) still held looks leaked and
 * cannot be attributed (scripts/test's sanitizer pass sets it). */
static void keep_loaded(void) {
    const char *list = getenv("ASVK_KEEP_LOADED");
    char name[1024];
    while (list && *list) {
        size_t n = strcspn(list, ":");
        if (n && n < sizeof name) {
            memcpy(name, list, n), name[n] = 0;
            (void)dlopen(name, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE); /* never closed; missing ones are ignored */
        }
        list += n + (list[n] == ':');
    }
}

asvk_status asvk_loader_open(void **handle) {
    keep_loaded();
    const char *path = getenv("ASVK_VULKAN_LIBRARY");
    const char *name = path && *path ? path : "libvulkan.so.1";
    void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return asvk_error_set(ASVK_ERR_NO_LOADER,
                              "the Vulkan loader (%s) could not be opened; install it with "
                              "'apt-get install libvulkan1 mesa-vulkan-drivers' (or scripts/setup.sh)",
                              name);
    PFN_vkGetInstanceProcAddr gipa = (PFN_vkGetInstanceProcAddr)dlsym(h, "vkGetInstanceProcAddr");
    if (!gipa) {
        dlclose(h);
        return asvk_error_set(ASVK_ERR_NO_LOADER,
                              "%s is not a Vulkan loader (no vkGetInstanceProcAddr); unset "
                              "ASVK_VULKAN_LIBRARY or point it at libvulkan.so.1",
                              name);
    }
    volkInitializeCustom(gipa);
    *handle = h;
    return ASVK_OK;
}

/* The loader is never unloaded: drivers and layers it pulled in (LLVM in
 * lavapipe among them) keep process-wide state and static destructors that
 * misbehave once unmapped, and leak reports from them could not be
 * attributed. dlopen of an open library only raises its reference count. */
void asvk_loader_close(void *handle) { (void)handle; }

static bool has_layer(const char *name) {
    uint32_t n = 0;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS) return false;
    VkLayerProperties *p = calloc(n ? n : 1, sizeof *p);
    bool found = false;
    if (p && vkEnumerateInstanceLayerProperties(&n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n; i++) found |= strcmp(p[i].layerName, name) == 0;
    free(p);
    return found;
}

static bool has_instance_ext(const char *name) {
    uint32_t n = 0;
    if (vkEnumerateInstanceExtensionProperties(NULL, &n, NULL) != VK_SUCCESS) return false;
    VkExtensionProperties *p = calloc(n ? n : 1, sizeof *p);
    bool found = false;
    if (p && vkEnumerateInstanceExtensionProperties(NULL, &n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n; i++) found |= strcmp(p[i].extensionName, name) == 0;
    free(p);
    return found;
}

/* Messages the validation layer sends; each one counts as a failure in tests. */
static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                 VkDebugUtilsMessageTypeFlagsEXT types,
                                                 const VkDebugUtilsMessengerCallbackDataEXT *data,
                                                 void *user) {
    asvk_context *ctx = user;
    if (!ctx) return VK_FALSE;
    ctx->validation_count++;
    if (ctx->log) {
        char buf[4096];
        snprintf(buf, sizeof buf, "validation %s: %s",
                 severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error" : "warning",
                 data && data->pMessage ? data->pMessage : "(no message)");
        ctx->log(ctx->log_user, ASVK_LOG_VALIDATION, buf);
    }
    return VK_FALSE;
}

asvk_status asvk_instance_create(bool validation, asvk_context *ctx, VkInstance *out,
                                 VkDebugUtilsMessengerEXT *messenger) {
    uint32_t loader_version = VK_API_VERSION_1_0;
    if (vkEnumerateInstanceVersion) vkEnumerateInstanceVersion(&loader_version);
    if (loader_version < VK_API_VERSION_1_1)
        return asvk_error_set(ASVK_ERR_NO_LOADER,
                              "the Vulkan loader supports only Vulkan %u.%u; asvk needs 1.1 or "
                              "newer (upgrade libvulkan1)",
                              VK_API_VERSION_MAJOR(loader_version), VK_API_VERSION_MINOR(loader_version));
    uint32_t api = loader_version >= VK_API_VERSION_1_3 ? VK_API_VERSION_1_3 : loader_version;

    const char *exts[4];
    uint32_t next = 0;
    VkInstanceCreateFlags flags = 0;
    if (has_instance_ext(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
        exts[next++] = VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME;
        flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
    }
    const char *layers[1] = {"VK_LAYER_KHRONOS_validation"};
    VkValidationFeatureEnableEXT enables[] = {VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
    /* Synchronization validation checks the stream's barriers; ASVK_VALIDATION_SYNC=0
     * turns it off (scripts/test does in the sanitizer pass, see there). */
    const char *sync = getenv("ASVK_VALIDATION_SYNC");
    VkValidationFeaturesEXT vfeatures = {.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
                                         .enabledValidationFeatureCount = sync && strcmp(sync, "0") == 0 ? 0 : 1,
                                         .pEnabledValidationFeatures = enables};
    VkDebugUtilsMessengerCreateInfoEXT mci = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_message,
        .pUserData = ctx};
    if (validation) {
        if (!has_layer(layers[0]))
            return asvk_error_set(ASVK_ERR_FEATURE,
                                  "validation was asked for but VK_LAYER_KHRONOS_validation is not "
                                  "installed; 'apt-get install vulkan-validationlayers' or unset "
                                  "ASVK_VALIDATION");
        if (!has_instance_ext(VK_EXT_DEBUG_UTILS_EXTENSION_NAME))
            return asvk_error_set(ASVK_ERR_FEATURE, "validation needs VK_EXT_debug_utils, which this loader lacks");
        exts[next++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
        /* Messages during vkCreateInstance go to this chained messenger. */
        vfeatures.pNext = &mci;
    }
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .pApplicationName = "asvk",
                             .pEngineName = "asvk",
                             .apiVersion = api};
    VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                               .pNext = validation ? &vfeatures : NULL,
                               .flags = flags,
                               .pApplicationInfo = &app,
                               .enabledLayerCount = validation ? 1 : 0,
                               .ppEnabledLayerNames = layers,
                               .enabledExtensionCount = next,
                               .ppEnabledExtensionNames = exts};
    VkResult r = vkCreateInstance(&ci, NULL, out);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
        return asvk_error_set(ASVK_ERR_NO_DEVICE,
                              "no Vulkan driver is installed (vkCreateInstance: "
                              "VK_ERROR_INCOMPATIBLE_DRIVER); for the CPU device install "
                              "mesa-vulkan-drivers (lavapipe)");
    if (r != VK_SUCCESS)
        return asvk_error_set(ASVK_ERR_VULKAN, "vkCreateInstance failed: %s; check the Vulkan "
                              "installation with 'vulkaninfo'", asvk_vk_result_name(r));
    volkLoadInstanceOnly(*out);
    *messenger = VK_NULL_HANDLE;
    if (validation) {
        r = vkCreateDebugUtilsMessengerEXT(*out, &mci, NULL, messenger);
        if (r != VK_SUCCESS) {
            vkDestroyInstance(*out, NULL);
            *out = VK_NULL_HANDLE;
            return asvk_error_set(ASVK_ERR_VULKAN, "vkCreateDebugUtilsMessengerEXT failed: %s",
                                  asvk_vk_result_name(r));
        }
    }
    return ASVK_OK;
}
