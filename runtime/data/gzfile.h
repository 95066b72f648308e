/* A file read as a byte stream that is gunzipped when its content is gzip
 * (found by the 1f 8b magic, not the name), so every dataset format accepts
 * both forms. zlib's gzread would silently pass a corrupt non-gzip file
 * through as raw bytes; this reader refuses a *.gz name without gzip content
 * and reports truncated or corrupt streams by file name. */
#ifndef ASVK_RUNTIME_DATA_GZFILE_H
#define ASVK_RUNTIME_DATA_GZFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/status.h"

typedef struct asvk_gzfile asvk_gzfile;

/* ASVK_ERR_IO when the file cannot be opened (the message names it). */
asvk_status asvk_gzfile_open(const char *path, asvk_gzfile **out);
void asvk_gzfile_close(asvk_gzfile *f);

bool asvk_gzfile_compressed(const asvk_gzfile *f);

/* Reads up to n bytes; *got < n only at the end of the data. A corrupt or
 * truncated gzip stream is ASVK_ERR_USAGE, a read error ASVK_ERR_IO. */
asvk_status asvk_gzfile_read(asvk_gzfile *f, void *dst, size_t n, size_t *got);

/* Reads up to `limit` bytes into a malloc'd buffer grown as data arrives,
 * so a header that claims more than the file holds costs only what is there. */
asvk_status asvk_gzfile_read_all(asvk_gzfile *f, uint64_t limit, uint8_t **data, uint64_t *size);

#endif
