#include "runtime/data/gzfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define GZ_CHUNK (1u << 16)

struct asvk_gzfile {
    FILE *file;
    char *path;
    bool gz;
    bool in_stream;  /* inside a gzip member (its end not yet seen) */
    bool file_eof;
    z_stream z;
    uint8_t in[GZ_CHUNK];
};

static bool has_gz_name(const char *path) {
    size_t n = strlen(path);
    return n >= 3 && (strcmp(path + n - 3, ".gz") == 0 || strcmp(path + n - 3, ".GZ") == 0);
}

/* Tops up the input buffer; false at the end of the file. */
static asvk_status refill(asvk_gzfile *f, bool *more) {
    *more = false;
    if (f->z.avail_in) {
        *more = true;
        return ASVK_OK;
    }
    if (f->file_eof) return ASVK_OK;
    size_t r = fread(f->in, 1, GZ_CHUNK, f->file);
    if (r < GZ_CHUNK) {
        if (ferror(f->file)) return asvk_error_set(ASVK_ERR_IO, "%s: read error: %s", f->path, strerror(errno));
        f->file_eof = true;
    }
    f->z.next_in = f->in;
    f->z.avail_in = (uInt)r;
    *more = r > 0;
    return ASVK_OK;
}

asvk_status asvk_gzfile_open(const char *path, asvk_gzfile **out) {
    *out = NULL;
    asvk_gzfile *f = calloc(1, sizeof *f);
    if (!f) return asvk_error_set(ASVK_ERR_OOM, "out of host memory opening %s", path);
    f->path = strdup(path);
    if (!f->path) {
        free(f);
        return asvk_error_set(ASVK_ERR_OOM, "out of host memory opening %s", path);
    }
    f->file = fopen(path, "rb");
    if (!f->file) {
        /* A path that names nothing is the caller's input being wrong (exit
         * 2); a file that is there but cannot be opened is not. */
        int e = errno;
        asvk_status st = e == ENOENT || e == ENOTDIR
                             ? asvk_error_set(ASVK_ERR_USAGE, "%s: no such file; check the path", path)
                             : asvk_error_set(ASVK_ERR_IO, "%s: cannot open: %s", path, strerror(e));
        free(f->path);
        free(f);
        return st;
    }
    bool more;
    asvk_status st = refill(f, &more);
    if (st) {
        asvk_gzfile_close(f);
        return st;
    }
    f->gz = f->z.avail_in >= 2 && f->in[0] == 0x1f && f->in[1] == 0x8b;
    if (!f->gz && has_gz_name(path)) {
        st = f->z.avail_in >= 2
                 ? asvk_error_set(ASVK_ERR_USAGE, "%s: not gzip data (it starts with bytes %02x %02x, not 1f 8b); "
                                                  "the file is damaged or misnamed", path, f->in[0], f->in[1])
                 : asvk_error_set(ASVK_ERR_USAGE, "%s: not gzip data (the file holds %u byte(s)); the file is "
                                                  "damaged or empty", path, f->z.avail_in);
        asvk_gzfile_close(f);
        return st;
    }
    if (f->gz) {
        /* 15 + 16: a gzip wrapper (not zlib, not raw deflate) with the largest window. */
        if (inflateInit2(&f->z, 15 + 16) != Z_OK) {
            f->gz = false;
            asvk_gzfile_close(f);
            return asvk_error_set(ASVK_ERR_OOM, "%s: cannot start zlib's inflate", path);
        }
        f->in_stream = true;
    }
    *out = f;
    return ASVK_OK;
}

void asvk_gzfile_close(asvk_gzfile *f) {
    if (!f) return;
    if (f->gz) inflateEnd(&f->z);
    if (f->file) fclose(f->file);
    free(f->path);
    free(f);
}

bool asvk_gzfile_compressed(const asvk_gzfile *f) { return f->gz; }

static asvk_status read_raw(asvk_gzfile *f, uint8_t *dst, size_t n, size_t *got) {
    while (*got < n) {
        bool more;
        asvk_status st = refill(f, &more);
        if (st) return st;
        if (!more) break;
        size_t k = f->z.avail_in < n - *got ? f->z.avail_in : n - *got;
        memcpy(dst + *got, f->z.next_in, k);
        f->z.next_in += k, f->z.avail_in -= (uInt)k, *got += k;
    }
    return ASVK_OK;
}

/* After a member ends: true when another gzip member follows. The two magic
 * bytes may straddle a buffer refill. */
static asvk_status next_member_follows(asvk_gzfile *f, bool *follows) {
    *follows = false;
    if (f->z.avail_in < 2 && !f->file_eof) {
        if (f->z.avail_in) f->in[0] = f->z.next_in[0];
        size_t have = f->z.avail_in;
        size_t r = fread(f->in + have, 1, GZ_CHUNK - have, f->file);
        if (r < GZ_CHUNK - have) {
            if (ferror(f->file)) return asvk_error_set(ASVK_ERR_IO, "%s: read error: %s", f->path, strerror(errno));
            f->file_eof = true;
        }
        f->z.next_in = f->in;
        f->z.avail_in = (uInt)(have + r);
    }
    *follows = f->z.avail_in >= 2 && f->z.next_in[0] == 0x1f && f->z.next_in[1] == 0x8b;
    return ASVK_OK;
}

static asvk_status read_gz(asvk_gzfile *f, uint8_t *dst, size_t n, size_t *got) {
    while (*got < n) {
        bool more;
        asvk_status st;
        if (!f->in_stream) {
            /* Another member may follow (concatenated gzip, as `cat a.gz
             * b.gz` makes); anything else is trailing padding, which gunzip
             * also ignores. */
            bool follows;
            if ((st = next_member_follows(f, &follows))) return st;
            if (!follows) {
                f->z.avail_in = 0;
                f->file_eof = true;
                break;
            }
            inflateReset(&f->z);
            f->in_stream = true;
        }
        if ((st = refill(f, &more))) return st;
        size_t want = n - *got;
        uInt chunk = want > (1u << 30) ? (1u << 30) : (uInt)want;
        f->z.next_out = dst + *got;
        f->z.avail_out = chunk;
        /* Called even without new input: inflate may still hold output
         * that did not fit last time. */
        int r = inflate(&f->z, Z_NO_FLUSH);
        size_t produced = chunk - f->z.avail_out;
        *got += produced;
        if (r == Z_STREAM_END) {
            f->in_stream = false;
        } else if (r == Z_DATA_ERROR || r == Z_NEED_DICT) {
            return asvk_error_set(ASVK_ERR_USAGE, "%s: corrupt gzip data (%s); the file is damaged", f->path,
                                  f->z.msg ? f->z.msg : "bad stream");
        } else if (r == Z_MEM_ERROR) {
            return asvk_error_set(ASVK_ERR_OOM, "%s: out of host memory while decompressing", f->path);
        } else if (r != Z_OK && r != Z_BUF_ERROR) {
            return asvk_error_set(ASVK_ERR_INTERNAL, "%s: zlib's inflate returned %d", f->path, r);
        } else if (!more && !produced) {
            return asvk_error_set(ASVK_ERR_USAGE, "%s: truncated gzip stream (the file ends inside it); the file "
                                                  "is damaged or incompletely downloaded", f->path);
        }
    }
    return ASVK_OK;
}

asvk_status asvk_gzfile_read(asvk_gzfile *f, void *dst, size_t n, size_t *got) {
    *got = 0;
    return f->gz ? read_gz(f, dst, n, got) : read_raw(f, dst, n, got);
}

asvk_status asvk_gzfile_read_all(asvk_gzfile *f, uint64_t limit, uint8_t **data, uint64_t *size) {
    *data = NULL, *size = 0;
    if (limit > SIZE_MAX / 2) limit = SIZE_MAX / 2;
    uint64_t cap = limit < (1u << 20) ? limit : (1u << 20), len = 0;
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf) return asvk_error_set(ASVK_ERR_OOM, "%s: out of host memory", f->path);
    for (;;) {
        size_t got;
        asvk_status st = asvk_gzfile_read(f, buf + len, (size_t)(cap - len), &got);
        if (st) {
            free(buf);
            return st;
        }
        len += got;
        if (len < cap || cap == limit) break;
        uint64_t ncap = cap * 2 < limit ? cap * 2 : limit;
        uint8_t *nb = realloc(buf, ncap);
        if (!nb) {
            free(buf);
            return asvk_error_set(ASVK_ERR_OOM, "%s: out of host memory after %llu bytes", f->path,
                                  (unsigned long long)len);
        }
        buf = nb, cap = ncap;
    }
    *data = buf, *size = len;
    return ASVK_OK;
}
