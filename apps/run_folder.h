/* Run folders: config.json, log.jsonl, checkpoints. */
#ifndef ASVK_APPS_RUN_FOLDER_H
#define ASVK_APPS_RUN_FOLDER_H

#include <cjson/cJSON.h>

#include "runtime/trainer.h"

/* runs/<name>-YYYYmmdd-HHMMSS */
void run_default_dir(char *out, size_t n, const char *name);
/* Takes the run folder's lock (creating the folder and its parents) for the
 * life of the process: one process per run folder. Another process holding
 * it is ASVK_ERR_USAGE naming the folder and that process's PID. Taking it
 * again in the same process is a no-op. */
asvk_status run_lock(const char *dir);

/* Starts a run: takes the lock, then writes dir/config_name atomically. A
 * folder that holds a run (config_name there) is refused, naming --resume,
 * unless that run never saved progress (dir/progress absent: it was stopped,
 * failed or killed before its first checkpoint), which the new run then
 * replaces; `logs` (NULL-terminated names, may be NULL) are emptied then.
 * *replaced tells which (may be NULL). */
asvk_status run_create(const char *dir, const char *config_name, const cJSON *config, const char *progress,
                       const char *const *logs, bool *replaced);
/* True when dir/name exists. */
bool run_has(const char *dir, const char *name);
asvk_status run_read_json(const char *path, cJSON **out);

/* Appends one line to dir/name, flushed and synced. */
asvk_status run_append_line(const char *dir, const char *name, const char *line);
/* Keeps the leading lines of dir/name (JSON lines) whose number `key` is at
 * most `upto` and drops the rest: what a run killed after writing a line but
 * before saving its state wrote ahead of the state it resumes from. */
asvk_status run_jsonl_keep(const char *dir, const char *name, const char *key, double upto);

typedef struct run_log run_log;
asvk_status run_log_open(const char *dir, run_log **out);
/* One JSON line per epoch, flushed to disk. NaN values are written as null. */
void run_log_epoch(run_log *l, uint32_t epoch, const asvk_epoch_stats *s, double val_loss, double val_acc,
                   double test_loss, double test_acc);
void run_log_close(run_log *l);

#endif
