/*
 * The standard descriptors of exec and console (relay.c): a pseudo-terminal of the
 * jail's for the caller's terminals, pipes for everything else, and the relay between
 * them and the caller's descriptors.  Never the caller's own descriptors in the jail.
 */
#ifndef IOC_LINUX_RELAY_H
#define IOC_LINUX_RELAY_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>
#include <termios.h>

struct jstdio {
	bool tty[3];       /* the command's fd i is the jail's terminal (the caller's is one) */
	int child[3];      /* what the command gets as 0, 1, 2 */
	int slave, master; /* the jail's pseudo-terminal, -1 without */
	int in_w, out_r, err_r; /* iocell's ends of the pipes, -1 without */
	int tty_out; /* the caller's descriptor the terminal's output goes to (-1: none) */
	bool raw;    /* the caller's terminal is in raw mode (saved: how it was) */
	struct termios saved;
	bool sigs_blocked; /* the forwarded signals are blocked (oldmask: as they were) */
	sigset_t oldmask;
};

/* Everything -1: jstdio_close is then a no-op. */
void jstdio_init(struct jstdio *io);
/* Prepare the command's descriptors: a pseudo-terminal of the jail's devpts (opened
 * beneath rootfd, the jail's root as /proc/INIT/root; -1: none) for those of fds 0-2
 * that are terminals (console: all three, and an error without one), pipes for the
 * others; the caller's terminal goes raw and the forwarded signals are blocked.  -1 with
 * the error recorded (then jstdio_close). */
int jstdio_open(struct jstdio *io, int rootfd, bool console);
/* In the child, before it executes the command: a new session, the jail's terminal as
 * its controlling terminal, the descriptors on 0, 1, 2.  Only system calls (vfork). */
void jstdio_child(const struct jstdio *io);
/* In the parent after the fork: close the command's ends. */
void jstdio_close_child(struct jstdio *io);
/* Relay until the command (child, already forked and executed) has exited, then drain
 * and close everything (jstdio_close); the command's status (exit code, 128 + signal). */
int jstdio_relay(struct jstdio *io, pid_t child);
/* Close what is open, restore the caller's terminal and signal mask. */
void jstdio_close(struct jstdio *io);

#endif
