/* Whole-file reads and crash-safe writes. A file asvk writes (architecture,
 * checkpoint, search space, log summary) is either the old one or the complete
 * new one, never a torn mix: the data goes to a temporary file beside the
 * target, is flushed with fsync, and replaces the target by rename(2). */
#ifndef ASVK_RUNTIME_IO_ATOMIC_FILE_H
#define ASVK_RUNTIME_IO_ATOMIC_FILE_H

#include <stddef.h>

#include "engine/status.h"

/* One piece of a file written by asvk_file_write_atomic_parts; pieces are
 * written in order, so large tensors need no copy into one buffer. */
typedef struct asvk_file_part {
    const void *data;
    size_t size;
} asvk_file_part;

/* Writes `size` bytes to `path` atomically (temp file in the same folder,
 * fsync, rename, fsync of the folder). On failure the target is untouched and
 * no temporary file is left. ASVK_ERR_IO names the path and the reason. */
asvk_status asvk_file_write_atomic(const char *path, const void *data, size_t size);
asvk_status asvk_file_write_atomic_parts(const char *path, const asvk_file_part *parts, size_t count);

/* Reads a whole file into a malloc'd buffer with a terminating NUL (not
 * counted in *size), so text parsers can use it directly; free() it.
 * A file that cannot be opened (missing, a folder, no permission) is bad
 * input: ASVK_ERR_USAGE; a failure while reading: ASVK_ERR_IO. `max_size`
 * (0: no limit) rejects files too large to be what the caller expects. */
asvk_status asvk_file_read_all(const char *path, size_t max_size, char **data, size_t *size);

#endif
