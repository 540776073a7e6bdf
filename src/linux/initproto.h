/*
 * Protocol between iocell and the jail's PID 1 (iocell-init, a small static binary
 * fexecve'd as the last step of jail creation, after pivot_root, capability reduction
 * and seccomp).
 *
 *   argv:  iocell-init TIMEOUT COMMAND [WALLCLOCK[:SIGNO]]
 *          TIMEOUT  seconds allowed for COMMAND (exec_start) to finish, 0 = unbounded
 *          COMMAND  the exec_start command line, run as /bin/sh -c COMMAND, or "none"
 *          WALLCLOCK optional (the wallclock limit): seconds > 0 after which the init
 *                   stops the jail as on SIGTERM (every process gets SIGTERM, SIGKILL
 *                   10 s later, the init exits when none is left); with :SIGNO it sends
 *                   that signal to every process once instead (SIGTERM/SIGINT: stop).
 *                   A line goes to the console log either way.
 *   fds:   0,1,2  /dev/null
 *          3      the console log (O_APPEND), where the init writes every line that
 *                 COMMAND and its descendants print, each prefixed by a timestamp
 *          4      status pipe: the init writes one line when COMMAND has finished:
 *                 "exit N" (exit status), "signal N", "timeout", or "error MESSAGE"
 *                 (e.g. no /bin/sh), then closes it.  With COMMAND "none": "exit 0"
 *                 at once.
 *
 *          5      (created by the init itself) the write end of its relay pipe, kept open
 *                 for its whole life: iocell opens /proc/INIT/fd/5 to give commands it
 *                 runs in the jail later (exec_stop, a soft restart's exec_start) the
 *                 same timestamped console log, and daemons they leave behind keep a
 *                 working stdout.
 *
 * The init then stays: it reaps every orphan, forwards SIGTERM, SIGINT, SIGHUP, SIGQUIT,
 * SIGUSR1, SIGUSR2 to every process of the jail (kill(-1, sig)) and, after SIGTERM or
 * SIGINT, exits once it has no children left.  It never exits on its own otherwise, so
 * the jail persists after a returning rc script (like FreeBSD's persist).
 */
#ifndef IOC_INITPROTO_H
#define IOC_INITPROTO_H

#define INIT_FD_LOG 3
#define INIT_FD_STATUS 4
#define INIT_FD_RELAY 5

/* Before that exec, the set-up process that becomes the init (src/linux/start.c) holds,
 * besides 0-4 as above, close-on-exec: */
#define SETUP_FD_INIT_BINARY 5 /* iocell-init, run with execveat(AT_EMPTY_PATH) */
#define SETUP_FD_ERROR 6       /* error pipe: a message there means the set-up failed */
#define SETUP_FD_SYNC 7        /* sync pipe: one byte from iocell at each step */

#endif
