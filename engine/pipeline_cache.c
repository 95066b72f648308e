/* The VkPipelineCache, persisted per device UUID so that pipelines (1-21 ms
 * each on lavapipe) are built once per machine. Location: $ASVK_CACHE_DIR,
 * else $XDG_CACHE_HOME/asvk, else ~/.cache/asvk; ASVK_CACHE_DIR=off keeps it
 * in memory. A stale or corrupt file is ignored, never trusted: its header
 * is checked against this device before the driver sees it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/internal.h"

static void cache_dir(char *out, size_t n) {
    const char *d = getenv("ASVK_CACHE_DIR");
    if (d && *d) { snprintf(out, n, "%s", d); return; }
    const char *x = getenv("XDG_CACHE_HOME");
    if (x && *x) { snprintf(out, n, "%s/asvk", x); return; }
    const char *h = getenv("HOME");
    if (h && *h) { snprintf(out, n, "%s/.cache/asvk", h); return; }
    out[0] = 0;
}

static int mkdirs(const char *path) {
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) && errno != EEXIST) return -1;
            *p = '/';
        }
    return mkdir(tmp, 0755) && errno != EEXIST ? -1 : 0;
}

static bool header_matches(const asvk_context *ctx, const uint8_t *data, size_t size) {
    if (size < 32) return false;
    uint32_t len, version, vendor, device;
    memcpy(&len, data, 4);
    memcpy(&version, data + 4, 4);
    memcpy(&vendor, data + 8, 4);
    memcpy(&device, data + 12, 4);
    VkPhysicalDeviceProperties p;
    vkGetPhysicalDeviceProperties(ctx->physical, &p);
    return len >= 32 && version == VK_PIPELINE_CACHE_HEADER_VERSION_ONE && vendor == p.vendorID &&
           device == p.deviceID && memcmp(data + 16, p.pipelineCacheUUID, VK_UUID_SIZE) == 0;
}

void asvk_pipeline_cache_open(asvk_context *ctx) {
    char dir[900];
    cache_dir(dir, sizeof dir);
    ctx->cache_path[0] = 0;
    if (dir[0] && strcmp(dir, "off") != 0) {
        char uuid[33];
        for (int i = 0; i < 16; i++) snprintf(uuid + 2 * i, 3, "%02x", ctx->info.uuid[i]);
        snprintf(ctx->cache_path, sizeof ctx->cache_path, "%s/pipelines-%s.bin", dir, uuid);
    }
    uint8_t *data = NULL;
    size_t size = 0;
    FILE *f = ctx->cache_path[0] ? fopen(ctx->cache_path, "rb") : NULL;
    if (f) {
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        if (n > 0 && n < (256l << 20) && (data = malloc((size_t)n)) && fread(data, 1, (size_t)n, f) == (size_t)n)
            size = (size_t)n;
        fclose(f);
        if (size && !header_matches(ctx, data, size)) {
            asvk_log(ctx, ASVK_LOG_WARNING, "pipeline cache %s is not for this device or driver; rebuilding it",
                     ctx->cache_path);
            size = 0;
        }
    }
    VkPipelineCacheCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
                                    .initialDataSize = size,
                                    .pInitialData = size ? data : NULL};
    if (ctx->vk.vkCreatePipelineCache(ctx->device, &ci, NULL, &ctx->pipeline_cache) != VK_SUCCESS) {
        ci.initialDataSize = 0;
        ci.pInitialData = NULL;
        if (ctx->vk.vkCreatePipelineCache(ctx->device, &ci, NULL, &ctx->pipeline_cache) != VK_SUCCESS)
            ctx->pipeline_cache = VK_NULL_HANDLE;
    }
    free(data);
}

/* Written to a temporary file and renamed, so a crash never leaves half a cache. */
void asvk_pipeline_cache_save(asvk_context *ctx) {
    if (!ctx->pipeline_cache || !ctx->cache_dirty || !ctx->cache_path[0]) return;
    size_t size = 0;
    if (ctx->vk.vkGetPipelineCacheData(ctx->device, ctx->pipeline_cache, &size, NULL) != VK_SUCCESS || !size) return;
    uint8_t *data = malloc(size);
    if (!data) return;
    if (ctx->vk.vkGetPipelineCacheData(ctx->device, ctx->pipeline_cache, &size, data) == VK_SUCCESS) {
        char dir[1024], tmp[1100];
        snprintf(dir, sizeof dir, "%s", ctx->cache_path);
        char *slash = strrchr(dir, '/');
        if (slash) *slash = 0;
        snprintf(tmp, sizeof tmp, "%s.tmp.%d", ctx->cache_path, (int)getpid());
        FILE *f = NULL;
        if (mkdirs(dir) == 0 && (f = fopen(tmp, "wb"))) {
            bool ok = fwrite(data, 1, size, f) == size;
            ok &= fflush(f) == 0 && fsync(fileno(f)) == 0;
            ok &= fclose(f) == 0;
            if (!ok || rename(tmp, ctx->cache_path) != 0) {
                remove(tmp);
                asvk_log(ctx, ASVK_LOG_WARNING, "could not save the pipeline cache to %s", ctx->cache_path);
            }
        } else {
            asvk_log(ctx, ASVK_LOG_WARNING, "could not create %s for the pipeline cache", dir);
        }
    }
    free(data);
}

const char *asvk_context_pipeline_cache_path(const asvk_context *ctx) { return ctx->cache_path; }
