/* task.c: stackless tasks. A task is a future plus a step function resumed by the
 * loop, with the coroutine's state in a frame allocated together with the task.
 *
 * Resuming never allocates: a task waits on a future through its embedded waiter,
 * sleeps through its embedded timer entry (which needs no memory to go in the
 * heap: heap.h) and
 * becomes runnable through its embedded step runnable; the waiter and the step
 * are one runnable, its future's (internal.h). Cancellation is a flag
 * delivered as TIDE_ECANCELED at the next suspension point (see tide_task_cancel
 * in tide.h).
 */
#include <string.h>

#include "internal.h"

/* The frame follows the task, aligned for any object. */
#define FRAME_ALIGN 16
#define FRAME_OFFSET ((sizeof(tide_task) + FRAME_ALIGN - 1) / FRAME_ALIGN * FRAME_ALIGN)

/* Flags of task.c's own, after internal.h's TIDE__T_*: the task's references,
 * a bit each. The task is freed when none is left. */
enum {
  RUN_REF = TIDE__T_SLEEP_ARMED << 1, /* the running one, until the coroutine ends */
  OWNER_REF = RUN_REF << 1,           /* the spawner's, until tide_task_release */
  DISPATCH_REF = OWNER_REF << 1,      /* one of those two, lent to the dispatch */
  REFS = RUN_REF | OWNER_REF | DISPATCH_REF
};
_Static_assert(REFS <= UINT16_MAX, "a task's flags are 16 bits");

static void *frame_of(tide_task *t) { return (char *)t + FRAME_OFFSET; }

tide_task *tide__task_of(tide_future *f) {
  assert(f->priv_flags & TIDE__F_TASK);
  return (tide_task *)(void *)f;
}

static void task_free(tide_task *t) {
  tide_loop *loop = t->future.priv_loop;
  tide_future_release(&t->future);
  if (t->cleanup != NULL) t->cleanup(frame_of(t));
  if (t->side != NULL) tide__task_side_free(t);
  tide__q_remove(&t->link);
  loop->priv_registered--;
  tide__pool_free(loop, t, t->pool_slab);
}

/* Drop a reference (a REFS bit); the last one frees the task. */
static void drop(tide_task *t, unsigned ref) {
  assert(tide__task_has(t, ref));
  tide__task_clear_flags(t, ref);
  if (!tide__task_has(t, REFS)) task_free(t);
}

/* Lend a reference to the future's dispatch, which drops it once the waiters
 * were told (tide__task_dispatched). */
static void lend(tide_task *t, unsigned ref) {
  tide__task_clear_flags(t, ref);
  tide__task_set_flags(t, DISPATCH_REF);
}

/* The coroutine is done: drop the running reference, unless tasks or callbacks
 * wait on the task's future. Then the reference goes to the future's dispatch:
 * a task whose owner released it early is never freed under its awaiters. */
static void end_running(tide_task *t) {
  if (tide__q_linked(&t->future.priv_dispatch.link))
    lend(t, RUN_REF);
  else
    drop(t, RUN_REF);
}

void tide__task_dispatched(tide_future *f) {
  tide_task *t = tide__task_of(f);
  if (!tide__task_has(t, DISPATCH_REF) || tide__q_linked(&f->priv_dispatch.link))
    return;
  drop(t, DISPATCH_REF);
}

static void after_finish(tide_task *t) {
  assert(tide__task_has(t, TIDE__T_FINISHED) && "step returned DONE without finishing");
  end_running(t);
}

/* The coroutine is over (or never ran): its outcome is about to take the
 * storage of its timer entry and step function, so no sleep or open scope may
 * have the entry in the heap. */
static void finished(tide_task *t) {
  assert(!tide__heap_contains(tide__task_timer(t)));
  tide__task_set_flags(t, TIDE__T_FINISHED);
}

static void deliver_cancel(tide_task *t) {
  tide__task_clear_flags(t, TIDE__T_CANCEL_REQUESTED);
  tide__task_set_flags(t, TIDE__T_CANCEL_DELIVERED);
  t->coro.priv_rc = TIDE_ECANCELED;
}

/* Run one step of the coroutine, with the outcome it resumes with in t->coro.priv_rc.
 * `won` says the operation it waited for finished with its own outcome (a future
 * completed, a sleep came due) before a cancellation could reach it. Then the
 * coroutine gets that outcome, never ECANCELED in its place (a lock it acquired
 * must not look lost), and the request stays pending for its next suspension
 * point or its end: the result that won the race, and the cancellation still
 * delivered, never both at once and never neither. */
static void resume(tide_task *t, int won) {
  tide_loop *loop = t->future.priv_loop;
  if (tide__task_has(t, TIDE__T_SLEEPING)) {
    tide__task_clear_flags(t, TIDE__T_SLEEPING);
    t->wait.awaiting = NULL; /* the sleep's key is no more */
    loop->priv_active_refs--;
  }
  if (tide__task_has(t, TIDE__T_CANCEL_REQUESTED)) {
    if (!tide__task_has(t, TIDE__T_STARTED)) {
      /* Cancelled before its first step: the coroutine never runs. */
      tide__task_clear_flags(t, TIDE__T_CANCEL_REQUESTED);
      finished(t);
      tide__future_cancel_now(&t->future);
      TIDE__DIAG(loop, TIDE__EV_FINISH, t, 0);
      end_running(t);
      return;
    }
    if (!won || t->coro.priv_rc == TIDE_ECANCELED) deliver_cancel(t);
  }
  tide__task_set_flags(t, TIDE__T_STARTED);
  tide_task *outer = loop->priv_current;
  loop->priv_current = t;
  TIDE__DIAG(loop, TIDE__EV_STEP_BEGIN, t, 0);
  int step = t->future.priv_task.fn(t, frame_of(t));
  TIDE__DIAG(loop, TIDE__EV_STEP_END, t, step);
  loop->priv_current = outer;
  if (step == TIDE__STEP_DONE) after_finish(t);
}

/* From the ready queue: the first step, a yield, or a sleep. A sleep that was
 * cancelled had its SLEEPING flag cleared by tide_task_cancel; one still flagged
 * came due by itself, so it won the race. */
void tide__task_step_run(tide__runnable *r) {
  tide_task *t = tide__container_of(r, tide_task, future.priv_dispatch);
  resume(t, tide__task_has(t, TIDE__T_SLEEPING));
}

/* The awaited future completed: its dispatch resumes the task directly (one hop
 * from completion to the coroutine, as asyncio's call_soon(task.__wakeup)). The
 * waiter it was is the task's step again. */
static void wake(tide__waiter *w, tide_future *f) {
  tide_task *t = tide__container_of(w, tide_task, future.priv_task_waiter);
  t->future.priv_dispatch.run = tide__task_step_run;
  t->wait.awaiting = NULL;
  t->coro.priv_rc = tide__future_outcome(f);
  TIDE__DIAG(f->priv_loop, TIDE__EV_WAKE, t, t->coro.priv_rc);
  resume(t, 1);
}

int tide_task_spawn(tide_loop *loop, tide_task_fn fn, const void *init_frame,
                    size_t frame_size, tide_task **out_task) {
  return tide_task_spawn_at(loop, fn, init_frame, frame_size, out_task, NULL, 0);
}

int tide_task_spawn_at(tide_loop *loop, tide_task_fn fn, const void *init_frame,
                       size_t frame_size, tide_task **out_task, const char *file,
                       int line) {
  assert(loop != NULL);
  if (fn == NULL || frame_size > SIZE_MAX - FRAME_OFFSET) return TIDE_EINVAL;
  void *slab;
  if (tide__heap_reserve_tasks(loop) != 0) return TIDE_ENOMEM;
  tide_task *t = tide__pool_alloc(loop, FRAME_OFFSET + frame_size, &slab);
  if (t == NULL) return TIDE_ENOMEM;
  /* One memset for the task and a frame given no initial value (the usual
   * spawn): a second one cost 17 instructions more per task (bench W4). */
  if (init_frame == NULL)
    memset(t, 0, FRAME_OFFSET + frame_size);
  else
    memset(t, 0, FRAME_OFFSET);
  t->pool_slab = slab;
  tide_future_init(loop, &t->future);
  t->future.priv_flags |= TIDE__F_TASK;
  /* The future's runnable is the step. */
  t->future.priv_dispatch.run = tide__task_step_run;
  t->future.priv_task.fn = fn;
  tide__heap_entry_init(tide__task_timer(t), NULL); /* no runnable: task_timer.c */
  if (file != NULL && tide__task_set_site(t, file, line) != 0) {
    tide__pool_free(loop, t, slab);
    return TIDE_ENOMEM;
  }
  tide__task_set_flags(t, RUN_REF);
  if (out_task != NULL) {
    tide__task_set_flags(t, OWNER_REF);
    *out_task = t;
  }
  if (frame_size > 0 && init_frame != NULL) memcpy(frame_of(t), init_frame, frame_size);
  t->id = ++loop->priv_task_seq;
  tide__q_insert_tail(&loop->priv_tasks, &t->link);
  loop->priv_registered++;
  tide__task_queue_step(t);
  TIDE__DIAG(loop, TIDE__EV_SPAWN, t, 0);
  return 0;
}

void tide_task_release(tide_task *t) {
  assert(tide__task_has(t, OWNER_REF) && "task released twice or detached");
  /* Finished, but done callbacks or awaiting tasks are still to be told (its
   * dispatch is queued or running): the reference goes to the dispatch, which
   * drops it once they were (tide__task_dispatched). Freeing now would drop
   * callbacks added after the end and keep those added before, depending on
   * whether the tick budget let the dispatch run before this call. */
  tide_future *f = &t->future;
  if (tide__task_has(t, TIDE__T_FINISHED) && !tide__task_has(t, DISPATCH_REF) &&
      (tide__q_linked(&f->priv_dispatch.link) || f->priv_loop->priv_dispatching == f)) {
    lend(t, OWNER_REF);
    return;
  }
  drop(t, OWNER_REF);
}

tide_future *tide_task_future(tide_task *t) { return &t->future; }
void *tide_task_frame(tide_task *t) { return frame_of(t); }
tide_loop *tide_task_loop(const tide_task *t) { return t->future.priv_loop; }
void tide_task_set_cleanup(tide_task *t, tide_frame_cleanup_fn cleanup) { t->cleanup = cleanup; }
int tide_task_done(const tide_task *t) { return tide_future_done(&t->future); }

int tide_task_cancel(tide_task *t) {
  if (tide__task_has(t, TIDE__T_FINISHED)) return TIDE_EALREADY;
  /* Counted even when one is pending: see tide_task_uncancel. */
  t->future.priv_task_cancels++;
  if (tide__task_has(t, TIDE__T_CANCEL_REQUESTED)) return 0;
  tide__task_set_flags(t, TIDE__T_CANCEL_REQUESTED);
  TIDE__DIAG(t->future.priv_loop, TIDE__EV_CANCEL, t, 0);
  tide_future *awaiting = tide__task_awaiting(t);
  if (awaiting != NULL) {
    /* asyncio's rule: cancelling a task cancels what it awaits; the task resumes
     * when that completes (a child task gets to clean up first). */
    (void)tide_future_cancel(awaiting);
  } else if (tide__task_has(t, TIDE__T_SLEEP_ARMED)) {
    tide_loop *loop = t->future.priv_loop;
    /* Cut short: it did not win. The sleep's outcome is TIDE_ECANCELED from
     * here on, even if the request is withdrawn (tide_task_uncancel) before
     * the task resumes: the sleep did not happen, so it must not report 0 (as
     * asyncio, where the cancelled sleep's future raises CancelledError into
     * the coroutine after uncancel() too). An awaited future needs no such
     * care: it is cancelled itself, and its outcome says so. */
    t->coro.priv_rc = TIDE_ECANCELED;
    tide__task_clear_flags(t, TIDE__T_SLEEPING | TIDE__T_SLEEP_ARMED);
    t->wait.awaiting = NULL;
    tide__task_timer_sync(t);
    loop->priv_active_refs--;
    tide__task_queue_step(t);
  }
  /* Otherwise the step is queued already (a sleep that came due, a yield, the
   * first step): resume() delivers the cancellation. */
  return 0;
}

int tide__task_cancel_from_future(tide_future *f) { return tide_task_cancel(tide__task_of(f)); }

int tide_task_cancelling(const tide_task *t) {
  return (int)t->future.priv_task_cancels;
}

/* Withdraw one request. Only the last one clears the flags, so whoever withdraws
 * its own request (a timeout scope, a task group) cannot swallow another one
 * that is still pending or was delivered. */
int tide_task_uncancel(tide_task *t) {
  if (t->future.priv_task_cancels > 0 && --t->future.priv_task_cancels == 0)
    tide__task_clear_flags(t, TIDE__T_CANCEL_REQUESTED | TIDE__T_CANCEL_DELIVERED);
  return (int)t->future.priv_task_cancels;
}

/* --- What the coroutine macros call ---------------------------------------- */

/* Suspend on a pending future: the task's runnable becomes its waiter. */
static void wait_on(tide_task *t, tide_future *f) {
  t->wait.awaiting = f;
  t->future.priv_task_waiter.notify = wake;
  tide__q_insert_tail(&f->priv_waiters, &t->future.priv_task_waiter.link);
  TIDE__DIAG(f->priv_loop, TIDE__EV_AWAIT, t, 0);
}

int tide__task_await(tide_task *t, tide_future *f) {
  assert(f != &t->future && "a task cannot await itself");
  assert(f->priv_loop == t->future.priv_loop);
  if (tide__task_has(t, TIDE__T_CANCEL_REQUESTED)) {
    if (f->priv_state == TIDE_FUTURE_PENDING && (f->priv_flags & TIDE__F_CANCEL_WAITS)) {
      /* A combinator's output: pass the request on and resume once what it
       * cancelled has finished (a task group's children clean up first), just
       * as if the request had come while already awaiting it. */
      wait_on(t, f);
      (void)tide_future_cancel(f);
      return 1;
    }
    deliver_cancel(t);
    return 0;
  }
  if (f->priv_state != TIDE_FUTURE_PENDING) {
    t->coro.priv_rc = tide__future_outcome(f);
    return 0;
  }
  wait_on(t, f);
  return 1;
}

int tide__task_yield(tide_task *t) {
  if (tide__task_has(t, TIDE__T_CANCEL_REQUESTED)) {
    deliver_cancel(t);
    return 0;
  }
  t->coro.priv_rc = 0;
  tide__task_queue_step(t);
  return 1;
}

int tide__task_sleep(tide_task *t, uint64_t ms) {
  if (ms == 0) return tide__task_yield(t);
  if (tide__task_has(t, TIDE__T_CANCEL_REQUESTED)) {
    deliver_cancel(t);
    return 0;
  }
  tide_loop *loop = t->future.priv_loop;
  t->coro.priv_rc = 0;
  tide__task_set_flags(t, TIDE__T_SLEEPING | TIDE__T_SLEEP_ARMED);
  t->wait.sleep.deadline = tide__deadline(loop, ms);
  t->wait.sleep.seq = loop->priv_timer_seq++;
  loop->priv_active_refs++;
  tide__task_timer_sync(t);
  TIDE__DIAG(loop, TIDE__EV_SLEEP, t, ms > INT32_MAX ? INT32_MAX : (int)ms);
  return 1;
}

/* A cancelled task stays cancelled whatever its coroutine returns, unless it
 * withdrew the cancellation (tide_task_uncancel). */
static int cancel_pending(const tide_task *t) {
  return tide__task_has(t, TIDE__T_CANCEL_REQUESTED | TIDE__T_CANCEL_DELIVERED);
}

int tide__task_finish(tide_task *t, const tide_value *value) {
  assert(!tide__task_has(t, TIDE__T_FINISHED));
  if (t->timeouts != NULL) tide__task_timeouts_close(t);
  finished(t);
  if (cancel_pending(t)) {
    if (value != NULL) {
      tide_value dropped = *value;
      tide__value_drop(&dropped);
    }
    tide__future_cancel_now(&t->future);
  } else {
    tide__future_complete(&t->future, value);
  }
  return TIDE__STEP_DONE;
}

/* An explicit error stands even after a cancellation (it is not silent);
 * TIDE_ECANCELED ends the task cancelled. */
int tide__task_finish_error(tide_task *t, int code, const char *message) {
  assert(!tide__task_has(t, TIDE__T_FINISHED));
  /* 0 (often an rc that turned out fine) would silently become a TIDE_EINVAL
   * failure: misuse, caught in debug builds (tide.h, TIDE_RETURN_ERROR). */
  assert(code < 0 && "TIDE_RETURN_ERROR needs a negative TIDE_E* code");
  if (t->timeouts != NULL) tide__task_timeouts_close(t);
  finished(t);
  tide__future_fail(&t->future, code, message);
  return TIDE__STEP_DONE;
}
