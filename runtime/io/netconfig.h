/* ProxylessNAS net.config import, used by asvk_arch_parse once it has told the
 * format apart (export is asvk_arch_to_netconfig in arch.h). */
#ifndef ASVK_RUNTIME_IO_NETCONFIG_H
#define ASVK_RUNTIME_IO_NETCONFIG_H

#include <cjson/cJSON.h>

#include "runtime/io/arch.h"
#include "runtime/io/motif.h"

/* Fills *out (initialised here) from a parsed net.config; `name` becomes the
 * architecture's name. Messages name the JSON path ("blocks[4].shortcut"). */
asvk_status asvk_arch_from_netconfig(const cJSON *root, const char *name, asvk_arch *out);
/* The same with AutoSpace Motif blocks read under a kernel reading other
 * than ASVK_MOTIF_READING_DEFAULT (runtime/io/motif.h). */
asvk_status asvk_arch_from_netconfig_reading(const cJSON *root, const char *name, asvk_motif_reading reading,
                                             asvk_arch *out);

/* The resolution in the once-for-all run.config beside a net.config
 * (its image_size; the largest of a list), 0 when there is none. A run.config
 * without a valid image_size is ASVK_ERR_USAGE naming it. */
asvk_status asvk_netconfig_run_resolution(const char *netconfig_path, uint32_t *resolution);

#endif
