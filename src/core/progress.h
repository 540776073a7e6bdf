/*
 * Long-running work (fetching a release, exporting or importing an image): its progress
 * display on a terminal and its interruption by a signal.  While a fetch runs, SIGINT,
 * SIGTERM and SIGHUP only set a flag that the work checks at safe points, so that it can
 * undo what it has made instead of dying half-way.
 */
#ifndef IOC_PROGRESS_H
#define IOC_PROGRESS_H

#include <signal.h>
#include <stdbool.h>

/* Progress lines are shown: stderr is a terminal and --quiet was not given. */
bool show_progress(void);
/* Monotonic seconds, for rate-limiting progress lines. */
double now_mono(void);
/* Bytes as MiB, for progress lines. */
double mib(unsigned long long bytes);

/* Catch SIGINT, SIGTERM and SIGHUP (clearing the flag); restore puts the previous
 * handlers back. */
struct sigsave {
	struct sigaction old[3];
};
void interrupt_catch(struct sigsave *s);
void interrupt_restore(struct sigsave *s);
/* The signal caught since interrupt_catch, or 0. */
int interrupt_pending(void);
/* 0, or -1 with "interrupted by signal N (NAME)" recorded when a signal was caught. */
int interrupt_check(void);

#endif
