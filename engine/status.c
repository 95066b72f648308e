#include "engine/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Thread-local so that loader threads and the main thread keep their own. */
static _Thread_local char message[2048];

const char *asvk_error_message(void) { return message; }

void asvk_error_clear(void) { message[0] = 0; }

asvk_status asvk_error_set(asvk_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return status;
}

asvk_status asvk_error_prefix(asvk_status status, const char *fmt, ...) {
    char prefix[512], old[sizeof message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, message, sizeof old);
    size_t np = strlen(prefix), no = strlen(old);
    if (np > sizeof message - 1) np = sizeof message - 1;
    if (no > sizeof message - 1 - np) no = sizeof message - 1 - np;
    memcpy(message, prefix, np);
    memcpy(message + np, old, no);
    message[np + no] = 0;
    return status;
}

int asvk_status_exit_code(asvk_status status) {
    if (status == ASVK_OK) return 0;
    return status == ASVK_ERR_USAGE ? 2 : 1;
}

const char *asvk_status_name(asvk_status status) {
    switch (status) {
    case ASVK_OK: return "ok";
    case ASVK_ERR_USAGE: return "usage";
    case ASVK_ERR_NO_LOADER: return "no-loader";
    case ASVK_ERR_NO_DEVICE: return "no-device";
    case ASVK_ERR_FEATURE: return "feature";
    case ASVK_ERR_OOM: return "out-of-memory";
    case ASVK_ERR_LIMIT: return "limit";
    case ASVK_ERR_VULKAN: return "vulkan";
    case ASVK_ERR_IO: return "io";
    case ASVK_ERR_INTERNAL: return "internal";
    case ASVK_ERR_CANCELLED: return "cancelled";
    }
    return "unknown";
}
