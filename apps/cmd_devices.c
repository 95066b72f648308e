/* asvk devices: the Vulkan devices this machine has. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "apps/cli.h"
#include "apps/commands.h"

static const cli_opt opts[] = {
    {"--json", NULL, "print a JSON array instead of the table"},
    {0},
};

static void version_str(uint32_t v, char *out, size_t n) {
    snprintf(out, n, "%u.%u.%u", (v >> 22) & 0x7f, (v >> 12) & 0x3ff, v & 0xfff);
}

static int run(cli_args *a) {
    if (a->npos) return cli_usage_error(a, "unexpected argument '%s'", a->pos[0]);
    asvk_device_info *devs = NULL;
    uint32_t n = 0;
    asvk_status st = asvk_devices_list(&devs, &n);
    if (st) return cli_fail(st);
    if (cli_flag(a, "--json")) {
        cJSON *arr = cJSON_CreateArray();
        for (uint32_t i = 0; i < n; i++) {
            const asvk_device_info *d = &devs[i];
            char ver[32], uuid[40];
            version_str(d->api_version, ver, sizeof ver);
            for (int k = 0; k < 16; k++) snprintf(uuid + 2 * k, 3, "%02x", d->uuid[k]);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "index", d->index);
            cJSON_AddStringToObject(o, "name", d->name);
            cJSON_AddStringToObject(o, "vendor", d->vendor);
            cJSON_AddNumberToObject(o, "vendor_id", d->vendor_id);
            cJSON_AddNumberToObject(o, "device_id", d->device_id);
            cJSON_AddStringToObject(o, "type", asvk_device_type_name(d->type));
            cJSON_AddStringToObject(o, "driver", d->driver);
            cJSON_AddStringToObject(o, "driver_version", d->driver_version_str);
            cJSON_AddStringToObject(o, "vulkan", ver);
            cJSON_AddStringToObject(o, "uuid", uuid);
            cJSON_AddNumberToObject(o, "subgroup_size", d->subgroup_size);
            cJSON_AddBoolToObject(o, "subgroup_arithmetic", d->subgroup_arithmetic);
            cJSON_AddBoolToObject(o, "fp16_arithmetic", d->fp16_arithmetic);
            cJSON_AddBoolToObject(o, "storage16", d->storage16);
            cJSON_AddBoolToObject(o, "push_descriptors", d->push_descriptors);
            cJSON_AddBoolToObject(o, "timestamps", d->timestamps);
            cJSON_AddNumberToObject(o, "memory_bytes", (double)d->device_memory_bytes);
            cJSON_AddBoolToObject(o, "unified_memory", d->unified_memory);
            cJSON_AddNumberToObject(o, "max_storage_buffer_range", (double)d->max_storage_buffer_range);
            cJSON_AddNumberToObject(o, "max_texel_buffer_elements", (double)d->max_texel_buffer_elements);
            cJSON_AddNumberToObject(o, "shared_memory_bytes", d->max_shared_memory);
            cJSON_AddNumberToObject(o, "max_workgroup_invocations", d->max_workgroup_invocations);
            cJSON_AddItemToArray(arr, o);
        }
        char *text = cJSON_Print(arr);
        printf("%s\n", text);
        free(text);
        cJSON_Delete(arr);
    } else {
        printf("%-3s %-34s %-9s %-10s %-36s %-8s %-8s %-5s %s\n", "#", "name", "vendor", "type", "driver", "vulkan",
               "subgroup", "fp16", "memory");
        for (uint32_t i = 0; i < n; i++) {
            const asvk_device_info *d = &devs[i];
            char ver[32];
            version_str(d->api_version, ver, sizeof ver);
            printf("%-3u %-34.34s %-9s %-10s %-36.36s %-8s %-8u %-5s %.1f GiB\n", d->index, d->name, d->vendor,
                   asvk_device_type_name(d->type), d->driver, ver, d->subgroup_size,
                   d->fp16_arithmetic && d->storage16 ? "yes" : "no", d->device_memory_bytes / 1073741824.0);
        }
    }
    free(devs);
    return 0;
}

const cli_command cmd_devices = {
    "devices",
    "list the Vulkan devices asvk can run on",
    "asvk devices [--json]",
    "Pick one for any command with --device N (the number in the first column) or\n"
    "--device NAME (a case-insensitive substring of its name), or set ASVK_DEVICE.\n"
    "Without a choice asvk takes a discrete GPU, then an integrated one, then the\n"
    "CPU device (lavapipe). fp16 means 16-bit storage and fp16 arithmetic.",
    opts,
    run,
};
