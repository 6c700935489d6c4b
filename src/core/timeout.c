/* timeout.c: timeout scopes (asyncio.timeout): one deadline over a block of a
 * task's awaits, in caller storage, with no allocation (the deadline goes in
 * the task's own heap entry: task_timer.c).
 *
 * A scope that expires cancels its task like any tide_task_cancel, which counts
 * one request. Ending the scope takes exactly that one back (uncancel), so a
 * cancellation from anyone else stays counted, stays pending or delivered, and
 * ends the task: only the scope's own request turns into TIDE_ETIMEDOUT. That is
 * the cancel-count rule asyncio added to Task (cancelling/uncancel) after
 * wait_for and timeouts swallowed outer cancellations.
 */
#include "internal.h"

static tide_loop *loop_of(const tide_timeout *scope) {
  return scope->priv_task->future.priv_loop;
}

/* The deadline passed: cancel the task. It is suspended (timers run from the
 * loop), so the request reaches what it awaits now, or its next await. */
static void expire(tide__runnable *r) {
  tide_timeout *scope = tide__container_of(r, tide_timeout, priv_fire);
  loop_of(scope)->priv_active_refs--;
  scope->priv_expired = 1;
  (void)tide_task_cancel(scope->priv_task);
}

/* A pending deadline is referenced work, as a sleep: armed (in the task's
 * entry) and also once due until expire ran. */
static void arm(tide_timeout *scope, uint64_t ms) {
  tide_loop *loop = loop_of(scope);
  scope->priv_deadline = tide__deadline(loop, ms);
  scope->priv_seq = loop->priv_timer_seq++;
  scope->priv_armed = 1;
  loop->priv_active_refs++;
  tide__task_timer_sync(scope->priv_task);
}

/* Due, its expiry may be queued in this very tick behind the completion that
 * makes it moot, and must then be taken out of the queue. */
static void disarm(tide_timeout *scope) {
  if (scope->priv_armed) {
    scope->priv_armed = 0;
    tide__task_timer_sync(scope->priv_task);
  } else if (tide__q_linked(&scope->priv_fire.link)) {
    tide__q_remove(&scope->priv_fire.link);
  } else {
    return;
  }
  loop_of(scope)->priv_active_refs--;
}

void tide_task_timeout_begin(tide_task *task, tide_timeout *scope, int64_t ms) {
  assert(task != NULL && scope != NULL);
  assert(!tide__task_has(task, TIDE__T_FINISHED) && "timeout scope on a finished task");
  tide__q_init(&scope->priv_fire.link);
  scope->priv_fire.run = expire;
  scope->priv_task = task;
  scope->priv_outer = task->timeouts;
  scope->priv_cancels_at_begin = tide_task_cancelling(task);
  scope->priv_open = 1;
  scope->priv_expired = 0;
  scope->priv_armed = 0;
  task->timeouts = scope;
  if (ms >= 0) arm(scope, (uint64_t)ms);
}

/* Close one scope: stop its deadline and withdraw its own request. Returns the
 * requests left on the task. */
static int close_scope(tide_timeout *scope) {
  tide_task *task = scope->priv_task;
  disarm(scope);
  task->timeouts = scope->priv_outer;
  scope->priv_outer = NULL;
  scope->priv_open = 0;
  return scope->priv_expired ? tide_task_uncancel(task) : tide_task_cancelling(task);
}

void tide_task_timeout_end(tide_task *task, tide_timeout *scope, int *rc) {
  (void)task; /* only the assertions read it: the scope knows its task */
  assert(scope->priv_open && scope->priv_task == task);
  assert(task->timeouts == scope && "timeout scopes must end innermost first");
  int left = close_scope(scope);
  /* asyncio's test: the request was the scope's, and none newer or older than
   * the scope is left (uncancel() <= cancelling-at-entry). Only a cancellation
   * that reached the body (rc TIDE_ECANCELED) is a timeout: a result that won
   * the race with the deadline stands. */
  if (scope->priv_expired && rc != NULL && *rc == TIDE_ECANCELED &&
      left <= scope->priv_cancels_at_begin)
    *rc = TIDE_ETIMEDOUT;
}

int tide_timeout_reschedule(tide_timeout *scope, int64_t ms) {
  if (!scope->priv_open || scope->priv_expired) return TIDE_ESTATE;
  disarm(scope);
  if (ms >= 0) arm(scope, (uint64_t)ms);
  return 0;
}

int tide_timeout_expired(const tide_timeout *scope) { return scope->priv_expired; }

/* A coroutine returned inside open scopes: close them as if ended, innermost
 * first, before its outcome is decided (their deadlines point into the frame). */
void tide__task_timeouts_close(tide_task *t) {
  while (t->timeouts != NULL) (void)close_scope(t->timeouts);
}
