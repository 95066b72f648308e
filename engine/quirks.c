/* Vendor quirks: the one data-driven table of (vendor, device, driver) ->
 * path switches, and the environment lists that override it:
 *   ASVK_DISABLE=push_descriptors,texel,image,host_map,fp16,subgroup,timestamps
 *   ASVK_ENABLE=texel,image      (only where the device is capable; image needs texel)
 * The test suite forces every fallback path on lavapipe through ASVK_DISABLE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

enum {
    SW_PUSH = 1 << 0,
    SW_TEXEL = 1 << 1,
    SW_HOSTMAP = 1 << 2,
    SW_FP16 = 1 << 3,
    SW_SUBGROUP = 1 << 4,
    SW_TIMESTAMPS = 1 << 5,
    SW_IMAGE = 1 << 6,
};

static const struct {
    const char *name;
    unsigned bit;
} switch_names[] = {
    {"push_descriptors", SW_PUSH}, {"texel", SW_TEXEL}, {"host_map", SW_HOSTMAP},
    {"fp16", SW_FP16},             {"subgroup", SW_SUBGROUP},
    {"timestamps", SW_TIMESTAMPS}, {"image", SW_IMAGE},
};

typedef struct {
    uint32_t vendor_id;   /* 0: any */
    int device_type;      /* -1: any, else asvk_device_type */
    uint32_t device_id;   /* 0: any */
    uint32_t driver_below;/* 0: any driver version; else only drivers older than this */
    unsigned on, off;     /* switches turned on (where capable) / off */
    const char *why;
} quirk;

/* Read top to bottom; later rows win. */
static const quirk quirks[] = {
    /* Texel fetches are the fast load path on CPU implementations: on lavapipe
     * 18-30x faster than storage-buffer loads (shared/notes/lavapipe-performance.md). */
    {0, ASVK_DEVICE_CPU, 0, 0, SW_TEXEL, 0, "texel fetch is the fast load path on CPU devices"},
    /* and there image loads are faster still: lavapipe calls a function per
     * texelFetch from a float texel buffer (SGEMM 1.2-1.3x, docs/perf.md) */
    {0, ASVK_DEVICE_CPU, 0, 0, SW_IMAGE, 0, "imageLoad is faster than texelFetch on CPU devices"},
    /* Mobile drivers with known fp16 miscompilations; fp16 stays opt-in there. */
    {0x13B5, -1, 0, 0, 0, SW_FP16, "ARM Mali drivers: known fp16 precision bugs"},
    {0x5143, -1, 0, 0, 0, SW_FP16, "Qualcomm Adreno drivers: known fp16 precision bugs"},
};

static unsigned parse_list(const char *env, asvk_context *ctx) {
    const char *s = getenv(env);
    unsigned bits = 0;
    if (!s) return 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        bool found = false;
        for (size_t i = 0; i < sizeof switch_names / sizeof switch_names[0]; i++)
            if (strcmp(t, switch_names[i].name) == 0) bits |= switch_names[i].bit, found = true;
        if (!found && ctx)
            asvk_log(ctx, ASVK_LOG_WARNING,
                     "%s: unknown switch '%s' ignored (known: push_descriptors, texel, image, host_map, fp16, subgroup, "
                     "timestamps)",
                     env, t);
    }
    return bits;
}

void asvk_switches_resolve(const asvk_device_info *info, asvk_switches *sw, asvk_context *ctx) {
    unsigned capable = SW_TEXEL | SW_IMAGE; /* their formats are checked by asvk_memory_init */
    if (info->push_descriptors) capable |= SW_PUSH;
    if (info->unified_memory) capable |= SW_HOSTMAP;
    if (info->storage16 && info->fp16_arithmetic) capable |= SW_FP16;
    if (info->subgroup_arithmetic) capable |= SW_SUBGROUP;
    if (info->timestamps) capable |= SW_TIMESTAMPS;

    /* Defaults before quirks: everything capable except texel and image inputs. */
    unsigned on = capable & ~(SW_TEXEL | SW_IMAGE);
    for (size_t i = 0; i < sizeof quirks / sizeof quirks[0]; i++) {
        const quirk *q = &quirks[i];
        if (q->vendor_id && q->vendor_id != info->vendor_id) continue;
        if (q->device_type >= 0 && (asvk_device_type)q->device_type != info->type) continue;
        if (q->device_id && q->device_id != info->device_id) continue;
        if (q->driver_below && info->driver_version >= q->driver_below) continue;
        on = (on | q->on) & ~q->off;
        if (ctx && q->off) asvk_log(ctx, ASVK_LOG_INFO, "quirk: %s", q->why);
    }
    on |= parse_list("ASVK_ENABLE", ctx);
    on &= ~parse_list("ASVK_DISABLE", ctx);
    on &= capable;
    if (!(on & SW_TEXEL)) on &= ~SW_IMAGE; /* the imageLoad variant is a form of the texel path */

    sw->push_descriptors = on & SW_PUSH;
    sw->texel_inputs = on & SW_TEXEL;
    sw->image_inputs = on & SW_IMAGE;
    sw->host_mapped = on & SW_HOSTMAP;
    sw->fp16 = on & SW_FP16;
    sw->subgroup = on & SW_SUBGROUP;
    sw->timestamps = on & SW_TIMESTAMPS;
}
