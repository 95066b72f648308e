#include "apps/interrupt.h"

#include "apps/ranks.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The handler may only touch these (sig_atomic_t); the rest is read and
 * written by the main thread alone. */
static volatile sig_atomic_t requested; /* the first signal's number, 0 before */
static volatile sig_atomic_t graceful;
static volatile sig_atomic_t follower; /* a rank other than 0: rank 0 speaks for the run */
static volatile sig_atomic_t parallel; /* under mpirun, which also sends SIGTERM when another rank ended */
static bool acknowledged;
static char resume[2048];

static void say(const char *s) {
    if (follower) return;
    ssize_t r = write(STDERR_FILENO, s, strlen(s));
    (void)r;
}

static void handler(int sig) {
    if (requested || !graceful) {
        say(requested ? "\nasvk: stopped at once (second signal); files are as the last safe point left them\n"
                      : "\nasvk: interrupted\n");
        _exit(128 + sig);
    }
    requested = sig;
    say(sig == SIGINT ? "\nasvk: Ctrl-C: stopping at the next safe point (press it again to stop at once)\n"
        : parallel    ? "\nasvk: SIGTERM from mpirun: stopping at the next safe point; if another rank ended, mpirun "
                        "names it, and this rank ends when the others cannot answer\n"
                      : "\nasvk: SIGTERM: stopping at the next safe point (a second signal stops at once)\n");
}

void interrupt_install(void) {
    follower = !ranks_leader();
    parallel = ranks_parallel();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART; /* reads and waits go on; the work checks the flag at its safe points */
    /* A SIGINT ignored on entry (a shell's background job, nohup-like
     * wrappers) stays ignored, as the shell meant. */
    struct sigaction old;
    if (sigaction(SIGINT, NULL, &old) == 0 && old.sa_handler != SIG_IGN) sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void interrupt_graceful(bool on) { graceful = on; }

/* Distributed: the ranks stop at the same safe point, so the question is
 * one collective (every rank asks at the same points: after each step, each
 * generation); a rank that cannot agree (another died) stops too. */
bool interrupt_requested(void) {
    if (!ranks_parallel()) return requested != 0;
    uint64_t any = requested != 0;
    if (asvk_dist_allreduce(ranks_dist(), &any, 1, ASVK_DIST_U64, ASVK_DIST_MAX, "a stop request")) {
        fprintf(stderr, "%s: %s\n", ranks_prefix(), asvk_error_message());
        return true;
    }
    return any != 0;
}

/* Appends s to out, in single quotes when the shell would split or expand it. */
static void quoted(char *out, size_t n, const char *s) {
    bool plain = *s != 0;
    for (const char *p = s; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-+=:,@", *p)) plain = false;
    size_t len = strlen(out);
    if (plain) {
        snprintf(out + len, n - len, "%s", s);
        return;
    }
    if (len + 1 < n) out[len++] = '\'';
    for (const char *p = s; *p && len + 5 < n; p++) {
        if (*p == '\'') memcpy(out + len, "'\\''", 4), len += 4;
        else out[len++] = *p;
    }
    if (len + 1 < n) out[len++] = '\'';
    out[len] = 0;
}

void interrupt_resume_with(const char *command, const char *dir, const char *device) {
    graceful = 1;
    if (resume[0]) return;
    snprintf(resume, sizeof resume, "continue with: %s --resume --run ", command);
    quoted(resume, sizeof resume, dir);
    if (device) {
        size_t len = strlen(resume);
        snprintf(resume + len, sizeof resume - len, " --device ");
        quoted(resume, sizeof resume, device);
    }
}

void interrupt_hint(const char *text) {
    if (!resume[0]) snprintf(resume, sizeof resume, "%s", text);
}

int interrupt_stopped(void) {
    acknowledged = true;
    return 128 + (requested ? requested : SIGINT);
}

void interrupt_report(void) {
    if (!acknowledged || follower) return;
    const char *name = requested == SIGTERM ? "SIGTERM" : "Ctrl-C";
    fflush(stdout);
    if (resume[0]) fprintf(stderr, "asvk: stopped by %s at a safe point; %s\n", name, resume);
    else fprintf(stderr, "asvk: stopped by %s before the run started; nothing was written\n", name);
}
