#include "tests/fuzz/common.h"

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The one piece of mutable global state: the scratch folder's name, made once. */
static char scratch[4096];

static int remove_entry(const char *path, const struct stat *s, int flag, struct FTW *f) {
    (void)s, (void)flag;
    if (f->level > 0) remove(path);
    return 0;
}

static void remove_scratch(void) {
    if (!scratch[0]) return;
    nftw(scratch, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    rmdir(scratch);
}

void fuzz_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz harness: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

const char *fuzz_dir(void) {
    if (scratch[0]) return scratch;
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/asvk-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(scratch)) fuzz_fail("cannot make a scratch folder %s: %s", scratch, strerror(errno));
    atexit(remove_scratch);
    return scratch;
}

char *fuzz_path(char *buf, size_t n, const char *rel) {
    if ((size_t)snprintf(buf, n, "%s/%s", fuzz_dir(), rel) >= n) fuzz_fail("path too long: %s", rel);
    return buf;
}

char *fuzz_write(char *buf, size_t n, const char *rel, const void *data, size_t size) {
    fuzz_path(buf, n, rel);
    /* make the folders of rel */
    for (char *p = buf + strlen(fuzz_dir()) + 1; (p = strchr(p, '/')); p++) {
        *p = 0;
        if (mkdir(buf, 0700) != 0 && errno != EEXIST) fuzz_fail("cannot make %s: %s", buf, strerror(errno));
        *p = '/';
    }
    FILE *f = fopen(buf, "wb");
    if (!f) fuzz_fail("cannot write %s: %s", buf, strerror(errno));
    if ((size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) fuzz_fail("cannot write %s", buf);
    return buf;
}

void fuzz_clean(void) {
    nftw(fuzz_dir(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void fuzz_split(const uint8_t *data, size_t size, const uint8_t **piece, size_t *len, size_t count) {
    for (size_t i = 0; i < count; i++) {
        size_t n = size;
        if (i + 1 < count) {
            n = size >= 2 ? (size_t)(data[0] | data[1] << 8) : 0;
            size_t skip = size >= 2 ? 2 : size;
            data += skip, size -= skip;
            if (n > size) n = size;
        }
        piece[i] = data, len[i] = n;
        data += n, size -= n;
    }
}
