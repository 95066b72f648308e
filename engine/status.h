/* Status codes and the last error message of the calling thread.
 * Every function that can fail returns asvk_status and leaves one clear
 * sentence, with a hint, for asvk_error_message(). */
#ifndef ASVK_ENGINE_STATUS_H
#define ASVK_ENGINE_STATUS_H

typedef enum {
    ASVK_OK = 0,
    ASVK_ERR_USAGE,     /* bad option, bad input file, invalid argument (exit 2) */
    ASVK_ERR_NO_LOADER, /* the Vulkan loader library could not be opened */
    ASVK_ERR_NO_DEVICE, /* no Vulkan device, or none matching the selection */
    ASVK_ERR_FEATURE,   /* the device lacks a feature the work needs */
    ASVK_ERR_OOM,       /* out of device (or host) memory, or over the budget */
    ASVK_ERR_LIMIT,     /* a size beyond a device limit */
    ASVK_ERR_VULKAN,    /* a Vulkan call failed */
    ASVK_ERR_IO,        /* a file could not be read or written */
    ASVK_ERR_INTERNAL,  /* a bug in asvk */
    ASVK_ERR_CANCELLED  /* the caller asked to stop (a progress callback returned false) */
} asvk_status;

/* The message of the last failure on this thread ("" if none). */
const char *asvk_error_message(void);

/* Sets the message (printf-style) and returns `status`, so callers write
 * `return asvk_error_set(ASVK_ERR_USAGE, "...")`. */
asvk_status asvk_error_set(asvk_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefixes the current message with context ("loading x.json: "). */
asvk_status asvk_error_prefix(asvk_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void asvk_error_clear(void);

/* Process exit code for a status: 0 ok, 2 bad usage or input, 1 otherwise. */
int asvk_status_exit_code(asvk_status status);

const char *asvk_status_name(asvk_status status);

#endif
