/* process_reap.h: watching a native child's exit (process_reap.c), for
 * process_spawn.c. */
#ifndef TIDE_IO_POSIX_PROCESS_REAP_H
#define TIDE_IO_POSIX_PROCESS_REAP_H

#include "process.h"

/* Before the spawn: in the SIGCHLD fallback, start watching SIGCHLD now, so an
 * exit that comes before posix_spawn returns is not missed. 0 or a TIDE_E*. */
int tide__reap_prepare(tide_process *p);
/* The spawn failed: undo tide__reap_prepare. */
void tide__reap_cancel(tide_process *p);
/* After the spawn (p->pid set): watch for the exit, through a pidfd where the
 * kernel has them. On failure the child is killed and reaped at once and a
 * TIDE_E* is returned. */
int tide__reap_watch(tide_process *p);

/* For the tests: 1 makes new children use the SIGCHLD fallback even where
 * pidfds exist, 0 goes back to pidfds. */
void tide__process_force_sigchld(int on);

#endif /* TIDE_IO_POSIX_PROCESS_REAP_H */
