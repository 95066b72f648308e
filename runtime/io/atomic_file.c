#include "runtime/io/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Writes all of buf, retrying short writes and EINTR. */
static int write_full(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n) {
        ssize_t w = write(fd, p, n > (1u << 30) ? (1u << 30) : n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The folder of `path` ("." when it has none), for the fsync that makes the
 * rename itself durable. */
static void parent_dir(const char *path, char *out, size_t n) {
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(out, n, ".");
    else if (slash == path) snprintf(out, n, "/");
    else snprintf(out, n, "%.*s", (int)(slash - path), path);
}

asvk_status asvk_file_write_atomic_parts(const char *path, const asvk_file_part *parts, size_t count) {
    if (!path || !*path) return asvk_error_set(ASVK_ERR_USAGE, "no file name given to write");
    size_t len = strlen(path);
    char *tmp = malloc(len + 48);
    if (!tmp) return asvk_error_set(ASVK_ERR_OOM, "out of host memory writing '%s'", path);
    /* O_EXCL on a name unique to this process and attempt makes concurrent
     * writers (threads or processes) never share a temporary file; mode 0666
     * lets the umask decide the permissions, as for any new file. */
    int fd = -1;
    for (unsigned attempt = 0; attempt < 1000 && fd < 0; attempt++) {
        snprintf(tmp, len + 48, "%s.tmp.%ld.%u", path, (long)getpid(), attempt);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return asvk_error_set(ASVK_ERR_IO, "cannot write '%s': %s", path, strerror(e));
    }
    int e = 0;
    const char *what = "write";
    for (size_t i = 0; i < count && !e; i++)
        if (parts[i].size && write_full(fd, parts[i].data, parts[i].size)) e = errno;
    if (!e && fsync(fd)) e = errno, what = "fsync";
    if (close(fd) && !e) e = errno, what = "close";
    if (!e && rename(tmp, path)) e = errno, what = "rename";
    if (e) {
        unlink(tmp);
        free(tmp);
        return asvk_error_set(ASVK_ERR_IO, "cannot write '%s' (%s failed: %s)", path, what, strerror(e));
    }
    free(tmp);
    char dir[4096];
    parent_dir(path, dir, sizeof dir);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) { /* best effort: some file systems refuse fsync on folders */
        (void)fsync(dfd);
        close(dfd);
    }
    return ASVK_OK;
}

asvk_status asvk_file_write_atomic(const char *path, const void *data, size_t size) {
    asvk_file_part p = {data, size};
    return asvk_file_write_atomic_parts(path, &p, 1);
}

asvk_status asvk_file_read_all(const char *path, size_t max_size, char **data, size_t *size) {
    *data = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return asvk_error_set(ASVK_ERR_USAGE, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st)) {
        int e = errno;
        close(fd);
        return asvk_error_set(ASVK_ERR_IO, "cannot read '%s': %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return asvk_error_set(ASVK_ERR_USAGE, "cannot read '%s': it is a folder, not a file", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return asvk_error_set(ASVK_ERR_USAGE, "cannot read '%s': not a regular file", path);
    }
    if (max_size && (uint64_t)st.st_size > max_size) {
        close(fd);
        return asvk_error_set(ASVK_ERR_USAGE, "'%s' is %lld bytes, more than the %zu this kind of file may have",
                              path, (long long)st.st_size, max_size);
    }
    size_t n = (size_t)st.st_size;
    char *buf = malloc(n + 1);
    if (!buf) {
        close(fd);
        return asvk_error_set(ASVK_ERR_OOM, "out of host memory reading '%s' (%zu bytes)", path, n);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            free(buf);
            return asvk_error_set(ASVK_ERR_IO, "cannot read '%s': %s", path, strerror(e));
        }
        if (r == 0) break; /* shrank while reading: keep what is there */
        got += (size_t)r;
    }
    close(fd);
    buf[got] = 0;
    *data = buf;
    *size = got;
    return ASVK_OK;
}
