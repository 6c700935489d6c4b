/* process.c: the portable front of the subprocess API (tide.h, "Subprocesses";
 * process.h says how the record lives and what the hosts do).
 *
 * A wait is a small waiter block on the record's list, with the future's cancel
 * hook on it: cancelling the wait unlinks the block and nothing else (the child
 * runs on, as asyncio's). The exit completes every waiter at once, so a future
 * never points at a record that is gone.
 */
#include <assert.h>
#include <string.h>

#include "process.h"
#include "stream_owner.h"

/* Signal numbers are 1-64 on every system the library runs on (Linux's NSIG is
 * 65); the host rejects one it does not have. */
#define MAX_SIGNUM 64

typedef struct waiter {
  tide__qnode link;
  tide_process *process;
  tide_future *future;
} waiter;

/* --- The record ------------------------------------------------------------------ */

void tide__process_hold(tide_process *p) {
  p->holds++;
}

void tide__process_own_streams(tide_process *p) {
  for (int i = 0; i < 3; i++)
    if (p->stdio[i] != NULL) tide__stream_set_owner(p->stdio[i], &p->stdio[i]);
}

void tide__process_unhold(tide_process *p) {
  assert(p->holds > 0);
  if (--p->holds > 0) return;
  assert(tide__q_empty(&p->waiters));
  /* The streams outlive the record: they must not clear a slot in it. */
  for (int i = 0; i < 3; i++)
    if (p->stdio[i] != NULL) tide__stream_set_owner(p->stdio[i], NULL);
  tide_loop_dealloc(p->loop, p);
}

int tide_process_spawn(tide_loop *loop, const tide_process_options *o,
                       tide_future *future) {
  assert(loop != NULL);
  if (o == NULL || o->argv == NULL || o->argv[0] == NULL || o->argv[0][0] == '\0')
    return TIDE_EINVAL;
  if (o->env_mode != TIDE_ENV_INHERIT && o->env_mode != TIDE_ENV_REPLACE)
    return TIDE_EINVAL;
  for (int i = 0; i < 3; i++) {
    int mode = o->stdio[i].mode;
    if (mode < TIDE_STDIO_INHERIT || mode > TIDE_STDIO_FD) return TIDE_EINVAL;
    if (mode == TIDE_STDIO_FD && o->stdio[i].fd < 0) return TIDE_EINVAL;
  }
  if (!tide__process_future_usable(loop, future)) return TIDE_EINVAL;
  tide_process *p = tide_loop_alloc(loop, sizeof *p);
  if (p == NULL) return TIDE_ENOMEM;
  memset(p, 0, sizeof *p);
  p->loop = loop;
  p->pid = -1;
  p->holds = 1; /* the user's, from the PTR on */
  tide__q_init(&p->waiters);
  int rc = tide__process_host_start(p, o, future);
  if (rc != 0) tide_loop_dealloc(loop, p);
  return rc;
}

int tide_process_pid(const tide_process *p) {
  assert(p != NULL);
  return p->pid;
}

tide_stream *tide_process_stdin(tide_process *p) {
  assert(p != NULL);
  return p->stdio[0];
}

tide_stream *tide_process_stdout(tide_process *p) {
  assert(p != NULL);
  return p->stdio[1];
}

tide_stream *tide_process_stderr(tide_process *p) {
  assert(p != NULL);
  return p->stdio[2];
}

int tide_process_returncode(const tide_process *p, int *returncode) {
  assert(p != NULL);
  if (!p->exited) return TIDE_EPENDING;
  if (returncode != NULL) *returncode = p->returncode;
  return 0;
}

/* --- Waits ------------------------------------------------------------------------ */

static void waiter_cancelled(tide_future *f, void *ud) {
  waiter *w = ud;
  (void)f;
  tide__q_remove(&w->link);
  tide_loop_dealloc(w->process->loop, w);
}

/* future completes with the returncode: at once if known, else at the exit. */
static int add_waiter(tide_process *p, tide_future *future) {
  if (p->exited) {
    tide_future_set_int(future, p->returncode);
    return 0;
  }
  waiter *w = tide_loop_alloc(p->loop, sizeof *w);
  if (w == NULL) return TIDE_ENOMEM;
  w->process = p;
  w->future = future;
  tide__q_insert_tail(&p->waiters, &w->link);
  tide_future_set_cancel_hook(future, waiter_cancelled, w);
  return 0;
}

int tide_process_wait(tide_process *p, tide_future *future) {
  assert(p != NULL && !p->released);
  if (!tide__process_future_usable(p->loop, future)) return TIDE_EINVAL;
  return add_waiter(p, future);
}

static void timer_closed(tide_handle *h) {
  tide_process *p = h->data;
  p->timer_live = 0;
  tide__process_unhold(p);
}

void tide__process_exited(tide_process *p, int returncode) {
  assert(!p->exited);
  p->exited = 1;
  p->returncode = returncode;
  while (!tide__q_empty(&p->waiters)) {
    waiter *w = tide__container_of(p->waiters.next, waiter, link);
    tide__q_remove(&w->link);
    tide_future_set_cancel_hook(w->future, NULL, NULL);
    tide_future_set_int(w->future, returncode);
    tide_loop_dealloc(p->loop, w);
  }
  if (p->timer_live && !tide_handle_is_closing(&p->stop_timer.handle))
    tide_handle_close(&p->stop_timer.handle, timer_closed);
}

/* --- Signals ---------------------------------------------------------------------- */

int tide_process_kill(tide_process *p, int signum) {
  assert(p != NULL && !p->released);
  if (signum < 1 || signum > MAX_SIGNUM) return TIDE_EINVAL;
  /* An exited child is reaped: its pid may be another process's by now. */
  if (p->exited) return TIDE_ESRCH;
  return tide__process_host_kill(p, signum);
}

static void grace_over(tide_timer *timer) {
  tide_process *p = timer->handle.data;
  if (!p->exited) (void)tide__process_host_kill(p, TIDE_SIGKILL);
}

int tide_process_stop(tide_process *p, uint64_t grace_ms, tide_future *future) {
  assert(p != NULL && !p->released);
  if (future != NULL && !tide__process_future_usable(p->loop, future)) return TIDE_EINVAL;
  if (p->exited) {
    if (future != NULL) tide_future_set_int(future, p->returncode);
    return 0;
  }
  /* Everything that can fail first, so a failure changes nothing. */
  if (!p->timer_live) {
    int rc = tide_timer_init(p->loop, &p->stop_timer);
    if (rc != 0) return rc;
    p->stop_timer.handle.data = p;
    p->timer_live = 1;
    tide__process_hold(p);
  }
  if (future != NULL) {
    int rc = add_waiter(p, future);
    if (rc != 0) return rc;
  }
  /* A second stop keeps the first deadline: the child has had its warning. */
  if (!tide_handle_is_active(&p->stop_timer.handle))
    (void)tide_timer_start(&p->stop_timer, grace_over, grace_ms, 0);
  (void)tide__process_host_kill(p, TIDE_SIGTERM);
  return 0;
}

void tide_process_release(tide_process *p) {
  assert(p != NULL && !p->released);
  p->released = 1;
  /* asyncio's transport close: a child nobody holds any more is killed, and the
   * exit watcher (its own hold) reaps it. */
  if (!p->exited) (void)tide__process_host_kill(p, TIDE_SIGKILL);
  tide__process_unhold(p);
}
