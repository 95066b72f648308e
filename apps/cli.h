/* Command-line plumbing shared by the commands: a per-command option table
 * drives both parsing and `asvk help <command>`, so every option is explained. */
#ifndef ASVK_APPS_CLI_H
#define ASVK_APPS_CLI_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>

#include "engine/engine.h"

/* The commit this binary was built from ("unknown" outside git; "-dirty" when
 * tracked files differed): build/gen/apps/git_commit.c, written at every build. */
extern const char asvk_git_commit[];

/* asvk_now_ns() when main() began (apps/main.c): start-up figures count from it. */
extern double asvk_main_ns;

#define CLI_MAX_OPTS 48
#define CLI_MAX_POS 8

typedef struct {
    const char *name; /* "--json" */
    const char *arg;  /* value placeholder ("N"), NULL for a flag */
    const char *help;
} cli_opt;

typedef struct cli_args cli_args;

typedef struct {
    const char *name;
    const char *summary;
    const char *usage;
    const char *details; /* paragraphs after the options, may be NULL */
    const cli_opt *opts; /* terminated by {0} */
    int (*run)(cli_args *a);
} cli_command;

struct cli_args {
    const cli_command *cmd;
    const char *value[CLI_MAX_OPTS];
    bool set[CLI_MAX_OPTS];
    const char *pos[CLI_MAX_POS];
    int npos;
};

/* Parses argv (after the command name); prints an error and returns 2 on bad usage. */
int cli_parse(const cli_command *cmd, int argc, char **argv, cli_args *out);
bool cli_flag(const cli_args *a, const char *name);
const char *cli_str(const cli_args *a, const char *name, const char *fallback);
/* Integer / float options with range checks; print an error and return false on bad input. */
bool cli_int(const cli_args *a, const char *name, long fallback, long lo, long hi, long *out);
bool cli_double(const cli_args *a, const char *name, double fallback, double lo, double hi, double *out);

void cli_print_help(FILE *f, const cli_command *cmd);

/* Prints "asvk: <message>" for a failed status and returns its exit code;
 * ASVK_ERR_CANCELLED (stopped by a signal at a safe point) prints nothing
 * and returns 130 or 143 (apps/interrupt.h). */
int cli_fail(asvk_status st);
int cli_usage_error(const cli_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Creates the context for --device, printing warnings and validation messages to stderr. */
asvk_status cli_context(const cli_args *a, asvk_context **ctx);
/* Destroys it; returns 1 if the validation layer spoke (so tests fail), else `rc`. */
int cli_context_done(asvk_context *ctx, int rc);

/* A run's saved options (config.json: each option's name without the
 * dashes, numbers, strings and booleans for flags) as parsed arguments of
 * `cmd`, so that --resume goes through the same parser as the command line.
 * Options from `first_invocation_opt` on in the table belong to one
 * invocation and are not read. Number strings live in store[i]. A missing
 * key or a wrong type is ASVK_ERR_USAGE naming `path`, but for the options
 * named in `absent` (NULL-terminated pairs "--option", "value", may be NULL):
 * options newer than some runs, which read as the value such a run used. */
asvk_status cli_args_from_json(const cli_command *cmd, const cJSON *j, const char *path,
                               const char *first_invocation_opt, const char *const *absent, cli_args *a,
                               char store[][64]);

/* The options a run in `dir` was started with (dir/file, e.g. config.json)
 * as arguments of cmd, for --resume: ASVK_ERR_USAGE "<dir> holds no <what>"
 * when the file is missing. The arguments point into *json (cJSON_Delete
 * it once they are parsed) and into store. */
asvk_status cli_saved_args(const cli_command *cmd, const char *dir, const char *file, const char *what,
                           const char *first_invocation_opt, cli_args *out, cJSON **json, char store[][64]);
/* The same, with `absent` as in cli_args_from_json. */
asvk_status cli_saved_args_absent(const cli_command *cmd, const char *dir, const char *file, const char *what,
                                  const char *first_invocation_opt, const char *const *absent, cli_args *out,
                                  cJSON **json, char store[][64]);

/* True when stderr is a terminal (progress lines are drawn there only). */
bool cli_tty(void);

#endif
