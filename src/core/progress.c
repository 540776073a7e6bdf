/* Progress display and interruption of long-running work: see progress.h. */
#include "core/progress.h"
#include "core/util.h"

#include <string.h>
#include <time.h>

bool show_progress(void) { return !ioc_quiet && isatty_err(); }

double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double mib(unsigned long long b) { return (double)b / (1024.0 * 1024.0); }

static volatile sig_atomic_t g_interrupted;
static const int caught_signals[3] = {SIGINT, SIGTERM, SIGHUP};

static void on_signal(int sig) { g_interrupted = sig; }

void interrupt_catch(struct sigsave *s)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	g_interrupted = 0;
	for (int i = 0; i < 3; i++)
		sigaction(caught_signals[i], &sa, &s->old[i]);
}

void interrupt_restore(struct sigsave *s)
{
	for (int i = 0; i < 3; i++)
		sigaction(caught_signals[i], &s->old[i], NULL);
}

int interrupt_pending(void) { return g_interrupted; }

int interrupt_check(void)
{
	if (!g_interrupted)
		return 0;
	ioc_err("interrupted by signal %d (%s)", (int)g_interrupted, strsignal(g_interrupted));
	return -1;
}
