#include "apps/cli.h"

#include <cjson/cJSON.h>
#include <stdio.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apps/interrupt.h"
#include "apps/ranks.h"
#include "runtime/io/atomic_file.h"

static int find_opt(const cli_command *cmd, const char *name, size_t len) {
    for (int i = 0; cmd->opts && cmd->opts[i].name; i++)
        if (strlen(cmd->opts[i].name) == len && strncmp(cmd->opts[i].name, name, len) == 0) return i;
    return -1;
}

int cli_usage_error(const cli_args *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "asvk %s: ", a->cmd->name);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "; see 'asvk help %s'\n", a->cmd->name);
    return 2;
}

int cli_parse(const cli_command *cmd, int argc, char **argv, cli_args *out) {
    memset(out, 0, sizeof *out);
    out->cmd = cmd;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (strncmp(s, "--", 2) != 0 || strcmp(s, "--") == 0) {
            if (strcmp(s, "--") == 0) { i++; for (; i < argc; i++) { if (out->npos == CLI_MAX_POS) return cli_usage_error(out, "too many arguments"); out->pos[out->npos++] = argv[i]; } break; }
            if (out->npos == CLI_MAX_POS) return cli_usage_error(out, "too many arguments");
            out->pos[out->npos++] = s;
            continue;
        }
        const char *eq = strchr(s, '=');
        size_t len = eq ? (size_t)(eq - s) : strlen(s);
        int k = find_opt(cmd, s, len);
        if (k < 0) return cli_usage_error(out, "unknown option '%.*s'", (int)len, s);
        const cli_opt *o = &cmd->opts[k];
        if (o->arg) {
            if (eq) out->value[k] = eq + 1;
            else if (i + 1 < argc) out->value[k] = argv[++i];
            else return cli_usage_error(out, "option %s needs a value (%s)", o->name, o->arg);
        } else if (eq) {
            return cli_usage_error(out, "option %s takes no value", o->name);
        }
        out->set[k] = true;
    }
    return 0;
}

bool cli_flag(const cli_args *a, const char *name) {
    int k = find_opt(a->cmd, name, strlen(name));
    return k >= 0 && a->set[k];
}

const char *cli_str(const cli_args *a, const char *name, const char *fallback) {
    int k = find_opt(a->cmd, name, strlen(name));
    return k >= 0 && a->set[k] ? a->value[k] : fallback;
}

bool cli_int(const cli_args *a, const char *name, long fallback, long lo, long hi, long *out) {
    const char *s = cli_str(a, name, NULL);
    if (!s) { *out = fallback; return true; }
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        cli_usage_error(a, "%s must be an integer from %ld to %ld, not '%s'", name, lo, hi, s);
        return false;
    }
    *out = v;
    return true;
}

bool cli_double(const cli_args *a, const char *name, double fallback, double lo, double hi, double *out) {
    const char *s = cli_str(a, name, NULL);
    if (!s) { *out = fallback; return true; }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        cli_usage_error(a, "%s must be a number from %g to %g, not '%s'", name, lo, hi, s);
        return false;
    }
    *out = v;
    return true;
}

void cli_print_help(FILE *f, const cli_command *cmd) {
    fprintf(f, "asvk %s — %s\n\nusage: %s\n", cmd->name, cmd->summary, cmd->usage);
    if (cmd->opts && cmd->opts[0].name) {
        fprintf(f, "\noptions:\n");
        for (int i = 0; cmd->opts[i].name; i++) {
            char left[64];
            snprintf(left, sizeof left, "%s%s%s", cmd->opts[i].name, cmd->opts[i].arg ? " " : "",
                     cmd->opts[i].arg ? cmd->opts[i].arg : "");
            fprintf(f, "  %-24s %s\n", left, cmd->opts[i].help);
        }
    }
    if (cmd->details) fprintf(f, "\n%s\n", cmd->details);
}

int cli_fail(asvk_status st) {
    if (st == ASVK_ERR_CANCELLED) return interrupt_stopped(); /* main() prints the line that continues it */
    fprintf(stderr, "%s: %s\n", ranks_prefix(), asvk_error_message());
    return asvk_status_exit_code(st);
}

static void log_stderr(void *user, asvk_log_level level, const char *msg) {
    (void)user;
    if (level == ASVK_LOG_INFO && !getenv("ASVK_VERBOSE")) return;
    fprintf(stderr, "asvk: %s%s\n", level == ASVK_LOG_WARNING ? "warning: " : "", msg);
}

asvk_status cli_context(const cli_args *a, asvk_context **ctx) {
    char dev[16];
    asvk_context_options o = {.device = ranks_device(cli_str(a, "--device", NULL), dev, sizeof dev), .log = log_stderr};
    asvk_status st = asvk_context_create(&o, ctx);
    /* distributed: every rank gets here once; a rank without a device fails
     * alone, and ranks_close ends the job */
    if (!st && (st = ranks_announce(*ctx))) {
        asvk_context_destroy(*ctx);
        *ctx = NULL;
    }
    return st;
}

int cli_context_done(asvk_context *ctx, int rc) {
    if (!ctx) return rc;
    uint32_t n = asvk_context_destroy(ctx);
    if (n) {
        fprintf(stderr, "asvk: the Vulkan validation layer reported %u message%s (see above)\n", n, n == 1 ? "" : "s");
        return rc ? rc : 1;
    }
    return rc;
}

bool cli_tty(void) { return isatty(STDERR_FILENO); }

asvk_status cli_args_from_json(const cli_command *cmd, const cJSON *j, const char *path,
                               const char *first_invocation_opt, const char *const *absent, cli_args *a,
                               char store[][64]) {
    memset(a, 0, sizeof *a);
    a->cmd = cmd;
    const cli_opt *opts = cmd->opts;
    for (int i = 0; opts[i].name && strcmp(opts[i].name, first_invocation_opt) != 0; i++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, opts[i].name + 2);
        if (!x && !opts[i].arg) continue; /* a flag newer than the run (fp16): off, as it was */
        const char *was = NULL; /* an option newer than the run: what the run did without it */
        for (int k = 0; !x && absent && absent[k]; k += 2)
            if (strcmp(absent[k], opts[i].name) == 0) was = absent[k + 1];
        if (!x && was) {
            a->value[i] = was, a->set[i] = was[0] != '\0';
            continue;
        }
        if (!x) return asvk_error_set(ASVK_ERR_USAGE, "%s lacks '%s'; it was not written by this asvk", path,
                                      opts[i].name + 2);
        if (!opts[i].arg) {
            if (!cJSON_IsBool(x)) return asvk_error_set(ASVK_ERR_USAGE, "%s: '%s' must be true or false", path, opts[i].name + 2);
            a->set[i] = cJSON_IsTrue(x);
        } else if (cJSON_IsString(x)) {
            a->value[i] = x->valuestring, a->set[i] = x->valuestring[0] != '\0';
        } else if (cJSON_IsNumber(x)) {
            snprintf(store[i], 64, "%.17g", x->valuedouble);
            a->value[i] = store[i], a->set[i] = true;
        } else {
            return asvk_error_set(ASVK_ERR_USAGE, "%s: '%s' must be a number or a string", path, opts[i].name + 2);
        }
    }
    return ASVK_OK;
}

asvk_status cli_saved_args(const cli_command *cmd, const char *dir, const char *file, const char *what,
                           const char *first_invocation_opt, cli_args *out, cJSON **json, char store[][64]) {
    return cli_saved_args_absent(cmd, dir, file, what, first_invocation_opt, NULL, out, json, store);
}

asvk_status cli_saved_args_absent(const cli_command *cmd, const char *dir, const char *file, const char *what,
                                  const char *first_invocation_opt, const char *const *absent, cli_args *out,
                                  cJSON **json, char store[][64]) {
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    *json = NULL;
    if (access(path, F_OK) != 0)
        return asvk_error_set(ASVK_ERR_USAGE, "%s holds no %s (no %s); start one without --resume", dir, what, file);
    char *text;
    size_t size;
    asvk_status st = asvk_file_read_all(path, 1 << 24, &text, &size);
    if (st) return st;
    *json = cJSON_ParseWithLength(text, size);
    free(text);
    if (!*json) return asvk_error_set(ASVK_ERR_USAGE, "%s is not valid JSON", path);
    st = cli_args_from_json(cmd, *json, path, first_invocation_opt, absent, out, store);
    if (st) {
        cJSON_Delete(*json);
        *json = NULL;
    }
    return st;
}
