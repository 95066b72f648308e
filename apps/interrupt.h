/* Ctrl-C (SIGINT) and SIGTERM.
 *
 * Work with safe points (training steps, generations, search steps, latency
 * probes) turns on graceful mode: the first signal then only sets a flag
 * that its progress callbacks read, the work stops at the next safe point
 * with ASVK_ERR_CANCELLED, leaving its files consistent, and main() prints
 * one line with the command that continues it; the exit code is 130 (SIGINT)
 * or 143 (SIGTERM). Outside graceful mode, and at a second signal, the
 * process ends at once with a word on stderr and the same exit code. */
#ifndef ASVK_APPS_INTERRUPT_H
#define ASVK_APPS_INTERRUPT_H

#include <stdbool.h>

/* main(): before the command runs. */
void interrupt_install(void);
/* Graceful mode on or off (see above). */
void interrupt_graceful(bool on);
/* True once a signal asked to stop. */
bool interrupt_requested(void);
/* The run folder exists and can be resumed: turns graceful mode on (before,
 * there is nothing to keep, and a signal ends the process at once). Records
 * the command that continues the work, in full ("asvk train --resume --run
 * DIR"): the first call wins, so an outer command (the pipeline) names its
 * own. `dir` is quoted for the shell when it needs it; `device` (may be NULL)
 * is added as --device. */
void interrupt_resume_with(const char *command, const char *dir, const char *device);
/* A free-form hint instead, for work without a run folder ("nothing was
 * written; run the same command again"); the first call of either wins. */
void interrupt_hint(const char *text);
/* Acknowledges the stop (the work stopped at a safe point): returns the exit
 * code, 130 or 143. */
int interrupt_stopped(void);
/* main(): after the command, the one line when a stop was acknowledged. */
void interrupt_report(void);

#endif
