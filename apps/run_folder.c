#include "apps/run_folder.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/io/atomic_file.h"

void run_default_dir(char *out, size_t n, const char *name) {
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    snprintf(out, n, "runs/%s-%s", name, stamp);
}

static asvk_status mkdirs(const char *path) {
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) && errno != EEXIST)
                return asvk_error_set(ASVK_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
            *p = '/';
        }
    if (mkdir(tmp, 0755) && errno != EEXIST) return asvk_error_set(ASVK_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    return ASVK_OK;
}

bool run_has(const char *dir, const char *name) {
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

/* The folders this process holds (their lock files stay open until exit,
 * which releases them however the process ends). */
static struct { dev_t dev; ino_t ino; } held[16];
static unsigned nheld;

asvk_status run_lock(const char *dir) {
    asvk_status st = mkdirs(dir);
    if (st) return st;
    struct stat ds;
    if (stat(dir, &ds)) return asvk_error_set(ASVK_ERR_IO, "cannot use %s: %s", dir, strerror(errno));
    for (unsigned i = 0; i < nheld; i++)
        if (held[i].dev == ds.st_dev && held[i].ino == ds.st_ino) return ASVK_OK;
    char path[1100];
    snprintf(path, sizeof path, "%s/.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return asvk_error_set(ASVK_ERR_IO, "cannot create the lock file %s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        int err = errno;
        char text[32] = "";
        ssize_t got = pread(fd, text, sizeof text - 1, 0);
        close(fd);
        if (err != EWOULDBLOCK)
            return asvk_error_set(ASVK_ERR_IO, "cannot lock %s: %s", path, strerror(err));
        long pid = got > 0 ? strtol(text, NULL, 10) : 0;
        if (pid > 0)
            return asvk_error_set(ASVK_ERR_USAGE, "%s is in use by another asvk process (PID %ld); wait for it to end, "
                                  "or stop it (kill %ld) and then continue with --resume", dir, pid, pid);
        return asvk_error_set(ASVK_ERR_USAGE, "%s is in use by another asvk process; wait for it to end", dir);
    }
    char text[32];
    int n = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) || pwrite(fd, text, (size_t)n, 0) != n) {
        close(fd);
        return asvk_error_set(ASVK_ERR_IO, "cannot write the lock file %s: %s", path, strerror(errno));
    }
    if (nheld < sizeof held / sizeof held[0]) held[nheld].dev = ds.st_dev, held[nheld++].ino = ds.st_ino;
    return ASVK_OK; /* fd stays open: the lock lasts as long as the process */
}

asvk_status run_create(const char *dir, const char *config_name, const cJSON *config, const char *progress,
                       const char *const *logs, bool *replaced) {
    asvk_status st = run_lock(dir);
    if (st) return st;
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", dir, config_name);
    bool had = access(path, F_OK) == 0;
    if (replaced) *replaced = had;
    if (had && run_has(dir, progress))
        return asvk_error_set(ASVK_ERR_USAGE, "%s already holds a run; continue it with --resume --run %s, or choose "
                              "another --run", dir, dir);
    for (uint32_t i = 0; had && logs && logs[i]; i++) {
        char log[1100];
        snprintf(log, sizeof log, "%s/%s", dir, logs[i]);
        if (access(log, F_OK) == 0 && (st = asvk_file_write_atomic(log, "", 0))) return st;
    }
    char *text = cJSON_Print(config);
    if (!text) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    st = asvk_file_write_atomic(path, text, strlen(text));
    free(text);
    return st;
}

asvk_status run_read_json(const char *path, cJSON **out) {
    char *text;
    size_t size;
    asvk_status st = asvk_file_read_all(path, 1 << 24, &text, &size);
    if (st) return st;
    *out = cJSON_ParseWithLength(text, size);
    free(text);
    if (!*out) return asvk_error_set(ASVK_ERR_USAGE, "%s is not valid JSON", path);
    return ASVK_OK;
}

struct run_log {
    FILE *f;
};

asvk_status run_log_open(const char *dir, run_log **out) {
    char path[1100];
    snprintf(path, sizeof path, "%s/log.jsonl", dir);
    run_log *l = calloc(1, sizeof *l);
    if (!l) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    l->f = fopen(path, "a");
    if (!l->f) {
        free(l);
        return asvk_error_set(ASVK_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    }
    *out = l;
    return ASVK_OK;
}

static void num(FILE *f, const char *key, double v, bool comma) {
    if (isfinite(v)) fprintf(f, "\"%s\":%.9g%s", key, v, comma ? "," : "");
    else fprintf(f, "\"%s\":null%s", key, comma ? "," : "");
}

void run_log_epoch(run_log *l, uint32_t epoch, const asvk_epoch_stats *s, double val_loss, double val_acc,
                   double test_loss, double test_acc) {
    fprintf(l->f, "{\"event\":\"epoch\",\"epoch\":%u,", epoch);
    num(l->f, "train_loss", s->loss, true);
    num(l->f, "train_acc", s->accuracy, true);
    num(l->f, "val_loss", val_loss, true);
    num(l->f, "val_acc", val_acc, true);
    num(l->f, "test_loss", test_loss, true);
    num(l->f, "test_acc", test_acc, true);
    num(l->f, "images_per_s", s->images_per_s, true);
    num(l->f, "seconds", s->seconds, true);
    fprintf(l->f, "\"steps\":%u}\n", s->steps);
    fflush(l->f);
    fsync(fileno(l->f));
}

void run_log_close(run_log *l) {
    if (!l) return;
    fclose(l->f);
    free(l);
}

asvk_status run_append_line(const char *dir, const char *name, const char *line) {
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "a");
    if (!f) return asvk_error_set(ASVK_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    fprintf(f, "%s\n", line);
    fflush(f);
    fsync(fileno(f));
    return fclose(f) ? asvk_error_set(ASVK_ERR_IO, "cannot write %s", path) : ASVK_OK;
}

asvk_status run_jsonl_keep(const char *dir, const char *name, const char *key, double upto) {
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (access(path, F_OK) != 0) return ASVK_OK;
    char *text = NULL;
    size_t size = 0;
    asvk_status st = asvk_file_read_all(path, 1u << 30, &text, &size);
    if (st) return st;
    size_t keep = 0;
    while (keep < size) {
        char *nl = memchr(text + keep, '\n', size - keep);
        if (!nl) break;
        cJSON *j = cJSON_ParseWithLength(text + keep, (size_t)(nl - text) - keep);
        const cJSON *v = j ? cJSON_GetObjectItemCaseSensitive(j, key) : NULL;
        bool ok = cJSON_IsNumber(v) && v->valuedouble <= upto;
        cJSON_Delete(j);
        if (!ok) break;
        keep = (size_t)(nl - text) + 1;
    }
    st = asvk_file_write_atomic(path, text, keep);
    free(text);
    return st;
}
