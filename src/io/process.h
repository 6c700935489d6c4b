/* process.h: what the halves of the subprocess API share.
 *
 * process.c is the portable front (tide.h, "Subprocesses"): argument checks, the
 * record's life, waits, returncode, stop and release; process_communicate.c is
 * communicate(), on the streams alone. What only a host can do is behind the
 * tide__process_host_* calls below: posix_spawn and a pidfd or SIGCHLD natively
 * (posix/process_spawn.c, posix/process_reap.c), node:child_process on the JS
 * host (hostcall/host_process.c), TIDE_ENOSYS under WASI
 * (enosys/no_process.c).
 *
 * A record's life. It is freed when nothing holds it any more: the user's handle
 * (from the spawn's PTR until tide_process_release), the host's exit watcher
 * (until the exit is seen and the watcher's handle closed), and the stop timer
 * (from tide_process_stop until its handle closed). So a released child that
 * still runs is still watched, killed, and reaped, and its waits complete.
 */
#ifndef TIDE_IO_PROCESS_H
#define TIDE_IO_PROCESS_H

#include "queue.h"
#include "tide.h"

struct tide_process {
  tide_loop *loop;
  int pid;
  int returncode;          /* once exited */
  unsigned exited : 1;     /* the exit has been seen (and the child reaped) */
  unsigned released : 1;   /* tide_process_release was called */
  unsigned timer_live : 1; /* stop_timer was initialised and is not closed yet */
  unsigned holds;          /* see above; the record is freed at 0 */
  tide__qnode waiters;     /* waiter.link: tide_process_wait / stop futures */
  tide_stream *stdio[3];   /* pipes (the caller's; NULL once closed or communicate
                              took them: stream_owner.h) */
  tide_timer stop_timer;   /* SIGKILL after tide_process_stop's grace */
  union {
    struct {
      int pidfd;           /* -1: the exit is watched through SIGCHLD */
      tide_io pidfd_io;
      tide_signal sigchld;
      unsigned watching : 1; /* pidfd_io or sigchld is registered */
    } posix;
    struct {
      int id;              /* the host's handle for the child */
      tide_future exit_op; /* "tideloop:process_wait" */
      unsigned exit_op_live : 1;
    } js;
  } host;
};

/* A future the caller hands to a process call: pending, of this loop, and with
 * no producer yet: no cancel hook, and not a task's (only its coroutine
 * completes that). */
static inline int tide__process_future_usable(tide_loop *loop, const tide_future *f) {
  return f != NULL && f->priv_loop == loop && f->priv_state == TIDE_FUTURE_PENDING &&
         !(f->priv_flags & TIDE__FUTURE_TASK) && f->priv_pending.hook == NULL;
}

/* --- The front, for the hosts ------------------------------------------------ */

/* The child has exited with returncode (asyncio's: status, or -signal), and is
 * reaped: complete every wait, stop the stop timer. Once per record. */
void tide__process_exited(tide_process *p, int returncode);
/* The host opened p->stdio[]: from now on, a caller closing one of them
 * clears it there (the accessors then return NULL). */
void tide__process_own_streams(tide_process *p);
/* Take or drop a hold (see above); the last drop frees the record. */
void tide__process_hold(tide_process *p);
void tide__process_unhold(tide_process *p);

/* --- The host ------------------------------------------------------------------ */

/* Start the child that options describe (checked by the front: argv[0] set,
 * modes valid). p is zeroed but for loop, waiters and the user's hold. The host
 * completes spawned, now or later, with PTR p, or with an error after which it
 * drops the user's hold itself (so p is freed). Returns 0 once spawned is the
 * host's, or an error with spawned untouched and p still the front's. */
int tide__process_host_start(tide_process *p, const tide_process_options *options,
                             tide_future *spawned);
/* Send signum (1-64) to the running child (the front checks that it has not
 * exited). 0 or a TIDE_E* code. */
int tide__process_host_kill(tide_process *p, int signum);

#endif /* TIDE_IO_PROCESS_H */
